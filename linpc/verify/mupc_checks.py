"""``linpc verify`` rows 6.x: parameterisations, activity decay, conditioning of H_z, μPC limits.

Registered with :func:`linpc.verify.framework.identity` when ``run_verify`` imports this module.
Rows that build their own networks (``budget="one"``) run once and are sized to take well under a
second; the others run on the battery's random cases. Each compares independent computations (see
each row's title) with a named tolerance rule.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla

from linpc.core.activity_hessian import ActivityHessian
from linpc.core.energy import energy
from linpc.core.equilibrium import solve_equilibrium
from linpc.core.initialisation import init_network
from linpc.core.network import LinearPCN
from linpc.core.parameterisation import layer_scalings
from linpc.mupc.activity_decay import activity_decay_sensitivity, one_hidden_layer_decay_equilibrium
from linpc.mupc.conditioning import conditioning_point, growth_exponent
from linpc.mupc.forward_scale import (
    expected_forward_norms,
    mupc_forward_norms,
    sample_forward_norms,
)
from linpc.mupc.inference_speed import exact_steps_to_tolerance, inference_speed
from linpc.mupc.limits import expected_rescaling, mupc_expected_rescaling, sample_rescalings
from linpc.mupc.tridiagonal_limit import (
    small_branch_bound,
    small_branch_deviation,
    tridiagonal_limit_condition_number,
    tridiagonal_limit_matrix,
    tridiagonal_limit_spectrum,
)
from linpc.numerics.tolerances import (
    MONTE_CARLO_SIGMAS,
    derivative_tolerance,
    eigenvalue_tolerance,
    roundoff_tolerance,
    solve_tolerance,
)
from linpc.verify import reference as ref
from linpc.verify.framework import SMALL, CaseContext, Comparison, identity

__all__: list[str] = []

_DECAY = 0.5
_MC_RULE = (f"{MONTE_CARLO_SIGMAS:g}σ, σ = sample standard error over independent "
            "initialisations (ddof 1)")


def _small(spec) -> bool:
    return sum(spec.widths[1:-1]) <= SMALL


@identity("6.1", rule="roundoff", source="P3 Table 1; jpc _get_param_scalings; docs/theory.md §1.4",
          budget="one")
def _check_scalings(ctx: CaseContext) -> list[Comparison]:
    """multipliers a_l of SP/NTP/μPC (per fan-in and jpc's first-hidden-width convention, γ) =
    hand-written table; LinearPCN uses them"""
    rng = np.random.default_rng(ctx.spec.seed + 61)
    out = []
    for _ in range(30):
        L = int(rng.integers(2, 7))
        widths = tuple(int(w) for w in rng.integers(1, 40, size=L + 1))
        for pt in ("sp", "ntp", "mupc"):
            for skips in (False, True):
                for conv in ("fan_in", "jpc"):
                    gamma = None if rng.random() < 0.5 else float(rng.uniform(0.5, 3))
                    a = layer_scalings(widths, pt, use_skips=skips, gamma=gamma, convention=conv)
                    h = ref.reference_scalings(widths, pt, skips, gamma, conv)
                    out.append(Comparison(float(np.max(np.abs(a / h - 1))), roundoff_tolerance(4)))
        sq = (widths[0],) + (widths[1],) * (L - 1) + (widths[-1],)
        net = init_network(sq, param_type="mupc", use_skips=True, rng=rng)
        out.append(Comparison(float(np.max(np.abs(net.scalings / ref.reference_scalings(
            sq, "mupc", True, None, "fan_in") - 1))), roundoff_tolerance(4)))
    return out


@identity("6.2", rule="solve", source="docs/theory.md §6.2 remedies; jpc activity_decay",
          budget="small", applies=_small)
def _check_decay(ctx: CaseContext) -> list[Comparison]:
    """activity decay δ: F*(δ), z*(δ) by block Cholesky = SVD least squares; H_z(δ) spectrum =
    H_z(0) + δ; dF*/dδ = ½‖z*‖² (scipy.differentiate); H = 1 closed form"""
    from scipy.differentiate import derivative

    net = ctx.net.replace(activity_decay=_DECAY)
    x, y = ctx.x, ctx.y
    hz = ActivityHessian(net)
    ev = hz.extreme_eigenvalues(method="banded")
    n = max(net.n_activities, max(net.widths))
    eq = solve_equilibrium(net, x, y, method="cholesky", warn_if_error_above=None)
    Z = np.concatenate(eq.activities, axis=1)
    Zd, Fd = ref.dense_equilibrium(net, x, y)
    z_scale = np.linalg.norm(Z, axis=1)
    F0 = _energy_at_zero(net, x, y)
    f_scale = F0 + ev.lambda_max * z_scale**2
    tol_f = solve_tolerance(ev.condition_number, n) * f_scale
    out = [Comparison(float(np.max(np.abs(eq.energies - Fd) / tol_f)), 1.0),
           Comparison(float(np.linalg.norm(Z - Zd)),
                      2 * solve_tolerance(ev.condition_number, n)
                      * max(float(np.linalg.norm(Z)), float(np.linalg.norm(Zd))))]
    ev0 = ctx.hessian.extreme_eigenvalues(method="banded")
    etol = eigenvalue_tolerance(net.n_activities, ev.lambda_max)
    out.append(Comparison(abs(ev.lambda_min - ev0.lambda_min - _DECAY), 2 * etol))
    out.append(Comparison(abs(ev.lambda_max - ev0.lambda_max - _DECAY), 2 * etol))

    def F_of(delta):
        d = np.asarray(delta, dtype=np.float64)
        vals = [solve_equilibrium(net.replace(activity_decay=float(v)), x, y, method="cholesky",
                                  warn_if_error_above=None).energy for v in d.ravel()]
        return np.array(vals).reshape(d.shape)

    h0 = 0.05
    res = derivative(F_of, _DECAY, initial_step=h0, tolerances={"rtol": 1e-12})
    dF = activity_decay_sensitivity(net, x, y)
    out.append(Comparison(abs(float(res.df) - dF), derivative_tolerance(
        float(res.error), h0 / 2.0 ** int(res.nit), float(np.mean(f_scale)),
        ev.condition_number)))
    if net.n_hidden == 1:
        zc, Fc = one_hidden_layer_decay_equilibrium(net, x, y)
        out.append(Comparison(float(np.max(np.abs(Fc - eq.energies) / tol_f)), 1.0))
        out.append(Comparison(float(np.linalg.norm(zc - Z)), 2 * solve_tolerance(
            ev.condition_number, n) * max(float(np.linalg.norm(Z)), 1e-300)))
    return out


def _energy_at_zero(net: LinearPCN, x, y) -> np.ndarray:
    """Per-sample ``F(z = 0)`` (all hidden activities zero): the ``δ → ∞`` limit of ``F*(δ)``."""
    zs = [np.zeros((x.shape[0], w)) for w in net.hidden_widths]
    return energy(net, zs, x, y, per_sample=True)


@identity("6.3", rule="eigen", source="docs/theory.md §6.2 (small-branch limit)", budget="one")
def _check_tridiagonal(ctx: CaseContext) -> list[Comparison]:
    """κ(T_H) and λ_k(T_H) = 4sin²((2k−1)π/(2(2H+1))) vs LAPACK eigvalsh_tridiagonal, H = 1..200"""
    out = []
    for H in [*range(1, 65), 100, 127, 200]:
        d, e = tridiagonal_limit_matrix(H)
        w = sla.eigvalsh_tridiagonal(d, e)
        eigs, kappa = tridiagonal_limit_spectrum(H)
        tol = eigenvalue_tolerance(H, 4.0)
        out.append(Comparison(float(np.max(np.abs(w - eigs))), tol))
        # κ from the numerical extremes: relative error ≤ tol/λ_min + tol/λ_max
        out.append(Comparison(abs(w[-1] / w[0] - kappa) / kappa, tol / w[0] + tol / w[-1]))
    return out


@identity("6.4", rule="slope", source="docs/theory.md §6.2 [der]", budget="one")
def _check_small_branch(ctx: CaseContext) -> list[Comparison]:
    """small-branch limit: ‖H_z − T_H⊗I‖₂ (banded eig) ≤ 4ε + ε², and = O(ε) with a constant rate
    (μPC ResNet, branches scaled by s = 10⁻¹…10⁻⁴)"""
    out = []
    rng = np.random.default_rng(ctx.spec.seed + 64)
    for H, N in ((1, 5), (3, 4), (6, 3)):
        base = init_network((4,) + (N,) * H + (2,), param_type="mupc", use_skips=True,
                            output_energy_scaling=2.0, rng=rng)
        scales = 10.0 ** -np.arange(1, 5)
        devs = []
        for s in scales:
            Ws = [base.weights[0]] + [s * W for W in base.weights[1:]]
            net = base.replace(weights=Ws)
            dev = small_branch_deviation(net)
            devs.append(dev)
            out.append(Comparison(max(0.0, dev - small_branch_bound(net)),
                                  eigenvalue_tolerance(net.n_activities, 4.0)))
        order = 2.0 if H == 1 else 1.0      # H = 1: only the output block λM_LᵀM_L = O(s²)
        slope = growth_exponent(scales, devs)
        out.append(Comparison(abs(slope - order), 0.1))
    return out


@identity("6.5", rule="eigen", source="docs/theory.md §6.2; P3 §3", budget="small", applies=_small)
def _check_extremes(ctx: CaseContext) -> list[Comparison]:
    """extreme eigenvalues of H_z: LAPACK banded = dense eigh (Weyl); two-pass Lanczos = banded
    within its Ritz residual"""
    hz = ctx.hessian
    w = np.linalg.eigvalsh(ref.dense_activity_hessian(ctx.net))
    tol = eigenvalue_tolerance(len(w), w[-1])
    b = hz.extreme_eigenvalues(method="banded")
    out = [Comparison(abs(b.lambda_min - w[0]), tol), Comparison(abs(b.lambda_max - w[-1]), tol)]
    if ctx.n >= 3:
        lz = hz.extreme_eigenvalues(method="lanczos")
        out += [Comparison(abs(lz.lambda_min - w[0]), tol + lz.error_min),
                Comparison(abs(lz.lambda_max - w[-1]), tol + lz.error_max)]
    return out


@identity("6.6", rule=_MC_RULE, source="docs/theory.md §1.4", budget="one")
def _check_forward_scale(ctx: CaseContext) -> list[Comparison]:
    """forward pass at μPC init: Monte Carlo E‖ẑ_l‖² (400 networks) = (1+1/L)^{l−1}N‖x‖²/D and d_y
    E‖z_H‖²/N² (z-scores)"""
    rng = np.random.default_rng(ctx.spec.seed + 66)
    N, H, D, d_y = 16, 6, 5, 3
    widths = (D,) + (N,) * H + (d_y,)
    x = rng.standard_normal(D)
    s = sample_forward_norms(widths, x, n_draws=400, param_type="mupc", use_skips=True, rng=rng)
    formula = mupc_forward_norms(N, D, H + 1, d_y, float(x @ x))
    out = [Comparison(float(np.max(np.abs(formula - s.expected) / formula)), roundoff_tolerance(
        2 * H + 4))]
    z = np.abs(s.mean - formula)[1:] / s.standard_error[1:]
    out.append(Comparison(float(z.max()), MONTE_CARLO_SIGMAS))
    sp = expected_forward_norms(widths, param_type="sp", init="uniform")
    out.append(Comparison(abs(sp[H] / sp[1] - (1 / 3) ** (H - 1)), roundoff_tolerance(2 * H)))
    return out


@identity("6.7", rule=_MC_RULE, source="docs/theory.md §6.3 [der]", budget="one")
def _check_expected_rescaling(ctx: CaseContext) -> list[Comparison]:
    """E[S] at μPC init: Monte Carlo (300 networks) = 1 + (L/N)((1+1/L)^{L−1} − 1) = the general
    second-moment formula"""
    rng = np.random.default_rng(ctx.spec.seed + 67)
    out = []
    for N, H in ((8, 3), (16, 7)):
        widths = (6,) + (N,) * H + (3,)
        S = sample_rescalings(widths, n_draws=300, rng=rng)
        diag = np.diagonal(S, axis1=1, axis2=2).mean(axis=1)
        s_pred = mupc_expected_rescaling(N, H + 1)
        out.append(Comparison(abs(expected_rescaling(widths) - s_pred) / s_pred,
                              roundoff_tolerance(4 * H)))
        se = diag.std(ddof=1) / np.sqrt(diag.size)
        out.append(Comparison(abs(diag.mean() - s_pred) / se, MONTE_CARLO_SIGMAS))
        off = S[:, 0, 1]
        out.append(Comparison(abs(off.mean()) / (off.std(ddof=1) / np.sqrt(off.size)),
                              MONTE_CARLO_SIGMAS))
    return out


def _conditioning_medians(setting: str, depths, N: int, seed: int) -> np.ndarray:
    """Median over three initialisations (seeds ``[seed, H, replicate]``) of ``κ(H_z)`` per
    depth."""
    med = []
    for H in depths:
        point = {"setting": setting, "H": int(H), "N": N, "d_x": 8, "d_y": 10}
        kappas = [conditioning_point(point, np.random.default_rng([seed, int(H), rep]))["kappa"]
                  for rep in range(3)]
        med.append(float(np.median(kappas)))
    return np.array(med)


@identity("6.8", rule="structural facts (0 error) and log–log slope within ±0.3 of 2",
          source="docs/theory.md §6.2 table; P3 §3–4", budget="one")
def _check_growth(ctx: CaseContext) -> list[Comparison]:
    """κ(H_z) grows with depth (median of 3 seeds, every setting); μPC: κ/κ(T_H) in [2, 8] and
    log–log slope ≈ 2 (Θ(H²))"""
    out = []
    depths = (1, 2, 4, 8)
    for setting in ("sp_uniform", "sp_normal", "sp_uniform_skips", "mupc", "mupc_no_skips"):
        med = _conditioning_medians(setting, depths, 16, ctx.spec.seed)
        out.append(Comparison(0.0 if np.all(np.diff(med) > 0) else 1.0, 0.0))
    deep = (4, 8, 16)
    med = _conditioning_medians("mupc", deep, 32, ctx.spec.seed)
    ratio = med / np.array([tridiagonal_limit_condition_number(H) for H in deep])
    out.append(Comparison(0.0 if np.all((ratio > 2) & (ratio < 8)) else 1.0, 0.0))
    out.append(Comparison(abs(growth_exponent(deep, med) - 2.0), 0.3))
    return out


@identity("6.9", rule="structural: measured ≤ predicted (0 error); |measured − exact| ≤ 1 step",
          source="docs/theory.md §1.3; P3 §3", budget="small",
          applies=lambda s: sum(s.widths[1:-1]) <= 60 and s.n_hidden <= 8)
def _check_inference_steps(ctx: CaseContext) -> list[Comparison]:
    """GD inference steps: measured ≤ ⌈log tol/log ρ⌉ (from κ), and = the exact count from the
    eigendecomposition of H_z (±1)"""
    ev = ctx.eig
    if ev.condition_number > 1e4:     # keep the row fast; the identity does not depend on κ
        return []
    sp = inference_speed(ctx.net, ctx.x, ctx.y, tol=1e-6)
    out = [Comparison(0.0 if sp.converged else 1.0, 0.0),
           Comparison(float(max(0, sp.measured - sp.predicted)), 0.0)]
    exact = exact_steps_to_tolerance(ctx.net, ctx.x, ctx.y, tol=1e-6, step_size=sp.step_size)
    out.append(Comparison(float(abs(sp.measured - exact)), 1.0))
    return out
