"""``linpc verify`` rows 2.5.x: the equilibrium identities of docs/theory.md §2.5.

Each row plays routes that share no code path for the compared quantity against each other:

* **block Cholesky** of ``H_z`` (:mod:`linpc.core.equilibrium`, route 1) and **LAPACK banded
  Cholesky**;
* **Gaussian conditioning** with the covariance recursion (:mod:`linpc.core.gaussian`, route 2);
* **dense reference**: least squares by SVD on the explicit ``Π^{1/2} D`` and Theorem 1's sum of
  products (:mod:`linpc.verify.reference`);
* **iterative inference** (gradient descent and the exact flow, :mod:`linpc.core.inference`);
* **finite differences** (``scipy.differentiate``) and **Monte Carlo** sampling of the model.

Every comparison returns an error and a tolerance from :mod:`linpc.numerics.tolerances`. Rows
2.5.7, 2.5.16 and 2.5.17 (trust region, Neumann series) are in
:mod:`linpc.verify.trust_region_checks`.
"""

from __future__ import annotations

import numpy as np
from scipy.differentiate import derivative
from scipy.stats import ortho_group

from linpc.core.energy import energy_activity_gradient, energy_parameter_gradient
from linpc.core.equilibrium import (
    activity_rhs,
    equilibrated_energy_gradient,
    equilibrium_rescaling,
    solve_equilibrium,
)
from linpc.core.gaussian import sample_gaussian_model
from linpc.core.inference import (
    contraction_factor,
    gradient_descent_inference,
    gradient_flow_activities,
    optimal_step_size,
    steps_to_tolerance,
)
from linpc.core.loss import mse_gradient, mse_loss
from linpc.core.network import LinearPCN
from linpc.core.parameter_arrays import flatten_parameters, with_flat_parameters
from linpc.numerics.tolerances import (
    EPS,
    MONTE_CARLO_SIGMAS,
    SAFETY,
    derivative_tolerance,
    wishart_sigma,
)
from linpc.numerics.types import Array
from linpc.verify import reference as ref
from linpc.verify.framework import IDENTITIES, SMALL, CaseContext, Comparison, identity, rel_err
from linpc.verify.random_networks import Case, NetworkSpec

__all__: list[str] = []


def _small(spec: NetworkSpec) -> bool:
    return sum(spec.widths[1:-1]) <= SMALL


@identity("2.5.1", rule="solve", source="P1 Thm 1; docs/theory.md §2.1")
def _check_energy_closed_form(ctx: CaseContext) -> list[Comparison]:
    """F(z*) = (1/2B)Σ rᵀS⁻¹r (block Cholesky z*, LAPACK banded z*, SVD least squares vs Theorem 1's
    S)"""
    F_formula = ref.dense_equilibrated_energy(ctx.net, ctx.x, ctx.y)
    tol = ctx.energy_abs_tol()

    def worst(F: Array) -> Comparison:
        i = int(np.argmax(np.abs(F - F_formula) / tol))
        return Comparison(float(abs(F[i] - F_formula[i])), float(tol[i]))

    out = [worst(ctx.eq_chol.energies)]
    eq_band = solve_equilibrium(ctx.net, ctx.x, ctx.y, method="banded")
    out.append(worst(eq_band.energies))
    if ctx.n <= SMALL:
        out.append(worst(ctx.dense[1]))
    return out


@identity("2.5.1b", rule="gd", source="P1 Fig. 1; docs/theory.md §2.5.1", budget="small",
          applies=lambda s: _small(s) and s.n_hidden <= 16)
def _check_energy_iterative(ctx: CaseContext) -> list[Comparison]:
    """F at converged gradient-descent inference = (1/2B)Σ rᵀS⁻¹r"""
    ev = ctx.eig
    tol = 1e-9
    rho = contraction_factor(optimal_step_size(ev.lambda_min, ev.lambda_max), ev.lambda_min,
                             ev.lambda_max)
    predicted = steps_to_tolerance(rho, tol)
    max_steps = 3000
    res = gradient_descent_inference(ctx.net, ctx.x, ctx.y, tol=tol, eigenvalues=ev,
                                     max_steps=max_steps)
    F_formula = ref.dense_equilibrated_energy(ctx.net, ctx.x, ctx.y)
    B = ctx.x.shape[0]
    # E(z) − F* = ½ (z−z*)ᵀH(z−z*) = ½ gᵀH⁻¹g ≤ ‖g‖²/(2λ_min) per sample; mean over the batch
    gap_bound = res.grad_norms[-1] ** 2 / (2 * ev.lambda_min) / B
    roundoff = float(np.mean(ctx.energy_abs_tol()))
    gap = res.energies[-1] - float(np.mean(F_formula))
    comps = [Comparison(max(0.0, gap - gap_bound), roundoff),      # upper bound on the gap
             Comparison(max(0.0, -gap), roundoff)]                  # F* is a minimum
    # ‖g_T‖ ≤ ρ^T ‖g_0‖ (+ the round-off of evaluating the gradient)
    g_floor = SAFETY * ctx.size * EPS * ev.lambda_max * max(ctx.activity_norm, ctx.forward_growth)
    comps.append(Comparison(max(0.0, res.grad_norms[-1] - rho ** res.n_steps * res.grad_norms[0]),
                            g_floor))
    if predicted is not None and predicted <= max_steps:
        comps.append(Comparison(0.0 if res.converged else 1.0, 0.0))
    # the exact gradient flow at a late time agrees with z* to e^{-λ_min t}‖z(0) − z*‖
    t = 40.0 / ev.lambda_min
    zt = np.concatenate(gradient_flow_activities(ctx.net, ctx.x, ctx.y, t), axis=1)
    zs = np.concatenate(ctx.eq_chol.activities, axis=1)
    z0 = np.concatenate(ctx.net.forward(ctx.x)[1:-1], axis=1)
    comps.append(Comparison(float(np.linalg.norm(zt - zs)),
                            np.exp(-40.0) * float(np.linalg.norm(z0 - zs)) + 2 * ctx.z_abs_tol()))
    return comps


@identity("2.5.2", rule="roundoff", source="docs/theory.md §1.2", budget="small", applies=_small)
def _check_activity_hessian(ctx: CaseContext) -> list[Comparison]:
    """H_z block formula = probed Hessian of F (any data, any z) = DᵀΠD; ∇_zF = H_z z − b"""
    net, n = ctx.net, ctx.n
    Hd = ctx.hessian.to_dense()
    scale = np.linalg.norm(Hd, 2)
    rng = np.random.default_rng(ctx.spec.seed + 1)
    z = rng.standard_normal(n)

    def grad(v: Array) -> Array:
        zs = net.split_activities(v[None, :])
        return np.concatenate(energy_activity_gradient(net, zs, ctx.x[:1], ctx.y[:1]), axis=1)[0]

    g0 = grad(z)
    probed = np.column_stack([grad(z + e) - g0 for e in np.eye(n)])
    tol = SAFETY * n * EPS * (scale + np.linalg.norm(g0)) / scale
    out = [Comparison(rel_err(probed, Hd), tol),
           Comparison(rel_err(ref.dense_activity_hessian(net), Hd), SAFETY * n * EPS),
           Comparison(rel_err(ctx.hessian.matvec(np.eye(n)), Hd), SAFETY * n * EPS)]
    b = activity_rhs(net, ctx.x[:1], ctx.y[:1])[0]
    gz = Hd @ z - b
    out.append(Comparison(rel_err(gz, g0), SAFETY * n * EPS * (scale * np.linalg.norm(z)
                                                               + np.linalg.norm(b))
                          / max(np.linalg.norm(g0), 1e-300)))
    bands = ctx.hessian.to_banded()
    u = ctx.hessian.bandwidth
    dense_band = np.zeros_like(bands)
    for i in range(u + 1):
        dense_band[i, : n - i] = np.diag(Hd, -i)
    out.append(Comparison(float(np.abs(bands - dense_band).max()), 0.0))
    return out


@identity("2.5.3", rule="solve", source="docs/theory.md §1.3")
def _check_errors(ctx: CaseContext) -> list[Comparison]:
    """e*_l = π_l⁻¹ M_{L:l+1}ᵀ S⁻¹ r (errors at the Cholesky z*; S by Theorem 1)"""
    Ms, _ = ref.dense_layer_maps(ctx.net)
    r = ctx.y - ref._dense_output(ctx.net, ctx.x)
    delta = np.linalg.solve(ctx.S, r.T).T
    dn = np.linalg.norm(delta)
    out = []
    L = ctx.net.n_layers
    for l in range(1, L + 1):
        P = np.eye(ctx.net.d_y)
        for k in range(L, l, -1):
            P = P @ Ms[k - 1]
        expected = delta @ P / ctx.net.precisions[l - 1]
        # formula side: δ carries κ(S)·eps and the forward residual's round-off; P_l the round-off
        # of an (L−l)-fold product, bounded by Π ‖M_k‖
        chain = float(np.prod(ctx.layer_norms[l:]))
        formula_tol = SAFETY * ctx.size * EPS * (L * chain * dn + np.linalg.norm(P) * (
            ctx.kappa * dn + np.linalg.norm(np.linalg.solve(ctx.S, np.eye(ctx.net.d_y)), 2)
            * ctx.forward_growth)) / ctx.net.precisions[l - 1]
        err = float(np.linalg.norm(ctx.eq_chol.errors[l - 1] - expected))
        out.append(Comparison(err, ctx.error_abs_tol(l) + formula_tol))
    return out


@identity("2.5.4", rule="solve", source="docs/theory.md §1.3, §2.2")
def _check_activities(ctx: CaseContext) -> list[Comparison]:
    """z*_l = M_{l:1}x + C_l S⁻¹r (Gaussian conditioning) = block Cholesky z* = SVD least squares"""
    zc = np.concatenate(ctx.eq_chol.activities, axis=1)
    zg = np.concatenate(ctx.eq_gauss.activities, axis=1)
    out = [Comparison(float(np.linalg.norm(zg - zc)), 2 * ctx.z_abs_tol())]
    if ctx.n <= SMALL:
        out.append(Comparison(float(np.linalg.norm(ctx.dense[0] - zc)), 2 * ctx.z_abs_tol()))
    return out


@identity("2.5.5", rule="fd", source="docs/theory.md §1.1, §2.5.5", budget="small", applies=_small)
def _check_envelope(ctx: CaseContext) -> list[Comparison]:
    """envelope theorem: ∇_θF* = PC gradient at z* (vs scipy.differentiate of Theorem 1's F*, one
    direction per layer and bias)"""
    net = ctx.net
    g = equilibrated_energy_gradient(net, ctx.x, ctx.y, equilibrium=ctx.eq_chol).flat()
    theta = flatten_parameters(net)
    rng = np.random.default_rng(ctx.spec.seed + 2)
    # one random unit direction supported on each layer's weights (and on each bias)
    blocks = []
    pos = 0
    for W in net.weights:
        blocks.append((pos, W.size))
        pos += W.size
    for b in net.biases:
        if b is not None:
            blocks.append((pos, b.size))
            pos += b.size
    out = []
    F0 = float(np.mean(ref.dense_equilibrated_energy(net, ctx.x, ctx.y)))
    for start, size in blocks:
        v = np.zeros_like(theta)
        v[start:start + size] = rng.standard_normal(size)
        v /= np.linalg.norm(v)

        def f(t, v=v):
            t = np.asarray(t, float)
            flat = t.ravel()
            vals = [np.mean(ref.dense_equilibrated_energy(with_flat_parameters(net, theta + s * v),
                                                          ctx.x, ctx.y)) for s in flat]
            return np.array(vals).reshape(t.shape)

        h0 = 1e-2
        res = derivative(f, 0.0, initial_step=h0, tolerances={"rtol": 1e-12})
        step = h0 / 2.0 ** int(res.nit)
        out.append(Comparison(abs(float(res.df) - float(g @ v)),
                              derivative_tolerance(float(res.error), step, F0, ctx.kappa)))
    return out


@identity("2.5.6", rule="solve", source="docs/theory.md §2.2.3")
def _check_woodbury(ctx: CaseContext) -> list[Comparison]:
    """S⁻¹ = λI − λ²M_L[H_z⁻¹]_{HH}M_Lᵀ (Schur complement of the Cholesky factor) and S (covariance
    recursion) vs Theorem 1's sum"""
    S_inv = equilibrium_rescaling(ctx.net, method="cholesky", inverse=True, hessian=ctx.hessian)
    d = ctx.net.d_y
    out = [Comparison(rel_err(S_inv @ ctx.S, np.eye(d)), ctx.solve_tol())]
    S_g = equilibrium_rescaling(ctx.net, method="gaussian")
    out.append(Comparison(rel_err(S_g, ctx.S), ctx.solve_tol()))
    return out


@identity("2.5.8", rule="solve", source="docs/theory.md §2.3")
def _check_bounds(ctx: CaseContext) -> list[Comparison]:
    """ℒ/λ_max(S) ≤ F* ≤ ℒ/λ_min(S) ≤ π_Lℒ; λ_min(H_z) > 0"""
    w = np.linalg.eigvalsh(ctx.S)
    lam = ctx.net.output_precision
    Lmse = mse_loss(ctx.net, ctx.x, ctx.y)
    F = ctx.eq_chol.energy
    # F(z*) carries the evaluation round-off of energy_abs_tol; ℒ/λ(S) a κ(S)-scaled error
    tol = float(np.max(ctx.energy_abs_tol())) + ctx.solve_tol() * Lmse * lam
    out = [Comparison(max(0.0, Lmse / w[-1] - F), tol),
           Comparison(max(0.0, F - Lmse / w[0]), tol),
           Comparison(max(0.0, Lmse / w[0] - lam * Lmse), tol),
           Comparison(0.0 if ctx.eig.lambda_min > ctx.eig.error_min else 1.0, 0.0)]
    return out


def _scalar_chain_case(ctx: CaseContext) -> bool:
    return all(w == 1 for w in ctx.spec.widths)


@identity("2.5.9", rule="roundoff", source="P1; docs/theory.md §2.3", budget="one")
def _check_scalar_chain(ctx: CaseContext) -> list[Comparison]:
    """scalar chain: F* = ℒ/(λ⁻¹ + Σ_{l≥2} Π_{k≥l} (a_k w_k)²)"""
    out = []
    rng = np.random.default_rng(ctx.spec.seed + 3)
    for H in range(1, 9):
        w = rng.normal(0, 1.2, size=H + 1)
        a = rng.uniform(0.5, 2.0, size=H + 1)
        lam = float(rng.uniform(0.3, 3.0))
        net = LinearPCN([[[wi]] for wi in w], scalings=a, output_energy_scaling=lam)
        x = rng.standard_normal((7, 1))
        y = rng.standard_normal((7, 1))
        m = np.prod(a * w)
        ell = 0.5 * np.mean((y[:, 0] - m * x[:, 0]) ** 2)
        s = 1 / lam + sum(np.prod((a[l - 1:] * w[l - 1:]) ** 2) for l in range(2, H + 2))
        F = solve_equilibrium(net, x, y, method="cholesky").energy
        out.append(Comparison(rel_err(F, ell / s), SAFETY * 4 * (H + 2) * EPS
                              * max(1.0, float(np.max((a * w) ** 2)) ** (H + 1))))
    return out


@identity("2.5.10", rule="solve", source="docs/theory.md §2.4")
def _check_invariance(ctx: CaseContext) -> list[Comparison]:
    """orthogonal invariance F*(QW_k, W_{k+1}Qᵀ) = F*; generic G changes F* but not ℒ"""
    net = ctx.net
    rng = np.random.default_rng(ctx.spec.seed + 4)
    H = net.n_hidden

    def transformed(mats: list[Array]) -> LinearPCN:
        # z_k → Q_k z_k: W_k → Q_k W_k Q_{k-1}⁻¹ (Q_0 = Q_L = I), c_k → Q_k c_k; residual layers
        # need Q_k = Q_{k-1}, which the caller ensures (one Q for all hidden layers).
        Ws, bs = [], []
        for l in range(1, H + 2):
            Ql = mats[l] if l <= H else np.eye(net.d_y)
            Qp = mats[l - 1] if l >= 2 else np.eye(net.d_x)
            Ws.append(Ql @ net.weights[l - 1] @ np.linalg.inv(Qp))
            b = net.biases[l - 1]
            bs.append(None if b is None else Ql @ b)
        return net.replace(weights=Ws, biases=bs if net.has_biases else None)

    def draw(kind: str) -> list[Array]:
        def one(n: int) -> Array:
            if kind == "orth":
                return ortho_group.rvs(n, random_state=rng) if n > 1 else np.array([[-1.0]])
            return np.eye(n) + 0.5 * rng.standard_normal((n, n))
        if net.use_skips:
            Q = one(net.hidden_widths[0])
            return [None] + [Q] * H
        return [None] + [one(n) for n in net.hidden_widths]

    F0 = ctx.eq_chol.energy
    L0 = mse_loss(net, ctx.x, ctx.y)
    nq = transformed(draw("orth"))
    Fq = solve_equilibrium(nq, ctx.x, ctx.y, warn_if_error_above=None).energy
    out = [Comparison(rel_err(Fq, F0), ctx.solve_tol())]
    ng = transformed(draw("general"))
    Fg = solve_equilibrium(ng, ctx.x, ctx.y, warn_if_error_above=None).energy
    Lg = mse_loss(ng, ctx.x, ctx.y)
    out.append(Comparison(rel_err(Lg, L0), ctx.solve_tol() * 10))
    # "changes F*": for a generic G the relative change must exceed 100 tolerances
    change = rel_err(Fg, F0)
    out.append(Comparison(0.0 if change > 100 * ctx.solve_tol() else 1.0, 0.0))
    return out


@identity("2.5.11", rule="solve", source="docs/theory.md §3.3")
def _check_zero_last_layer(ctx: CaseContext) -> list[Comparison]:
    """W_L = 0 ⇒ F* = λℒ and ∇F* = λ∇ℒ"""
    net = ctx.net
    Ws = list(net.weights)
    Ws[-1] = np.zeros_like(Ws[-1])
    n0 = net.replace(weights=Ws)
    c0 = CaseContext(Case(ctx.spec, n0, ctx.x, ctx.y))
    lam = n0.output_precision
    F = c0.eq_chol.energy
    Lm = mse_loss(n0, ctx.x, ctx.y)
    g_pc = equilibrated_energy_gradient(n0, ctx.x, ctx.y, equilibrium=c0.eq_chol).flat()
    g_bp = mse_gradient(n0, ctx.x, ctx.y).flat()
    B = ctx.x.shape[0]
    # ∂F/∂W_l = −(a_l π_l/B) e_lᵀ z_{l-1}: perturbing z by δz perturbs it by at most
    # (a_l π_l/B)(‖Δe_l‖‖z_{l-1}‖ + ‖e_l‖‖δz‖) ≤ (a_l π_l/B) 2(1+‖M_l‖) ‖(x,z,y)‖ ‖δz‖
    # (+ the forward pass)
    g_tol = sum(a * p / B * 2 * (1 + m) * max(c0.activity_norm, c0.forward_growth) * c0.z_abs_tol()
                for a, p, m in zip(n0.scalings, n0.precisions, c0.layer_norms, strict=True))
    return [Comparison(abs(F - lam * Lm), float(np.max(c0.energy_abs_tol()))),
            Comparison(float(np.linalg.norm(g_pc - lam * g_bp)), g_tol)]


@identity("2.5.12", rule="roundoff", source="docs/theory.md §1.2", budget="small", applies=_small)
def _check_independence(ctx: CaseContext) -> list[Comparison]:
    """H_z unchanged when W_1, the biases or the data change (probed from ∇_zF)"""
    net, n = ctx.net, ctx.n
    rng = np.random.default_rng(ctx.spec.seed + 5)
    Ws = list(net.weights)
    Ws[0] = rng.standard_normal(Ws[0].shape)
    bs = [rng.standard_normal(w) for w in net.widths[1:]]
    other = net.replace(weights=Ws, biases=bs)
    x2 = rng.standard_normal((1, net.d_x))
    y2 = rng.standard_normal((1, net.d_y))

    def probe(nn: LinearPCN, x, y) -> Array:
        def grad(v):
            return np.concatenate(energy_activity_gradient(nn, nn.split_activities(v[None, :]),
                                                           x, y), axis=1)[0]
        g0 = grad(np.zeros(n))
        return np.column_stack([grad(e) - g0 for e in np.eye(n)]), np.linalg.norm(g0)

    H1, s1 = probe(net, ctx.x[:1], ctx.y[:1])
    H2, s2 = probe(other, x2, y2)
    scale = np.linalg.norm(H1, 2)
    return [Comparison(rel_err(H1, H2), SAFETY * n * EPS * (scale + s1 + s2) / scale)]


@identity("2.5.13", rule="mc", source="docs/theory.md §2.2.1", budget="one",
          applies=lambda s: s.widths[-1] <= 6)
def _check_monte_carlo(ctx: CaseContext) -> list[Comparison]:
    """S = Cov(y) of the linear-Gaussian model (Monte Carlo, 200 000 draws)"""
    n_samples = 200_000
    _, ys = sample_gaussian_model(ctx.net, ctx.x[0], n_samples, rng=ctx.spec.seed + 6)
    emp = np.cov(ys, rowvar=False).reshape(ctx.net.d_y, ctx.net.d_y)
    sig = wishart_sigma(ctx.S, n_samples)
    z = np.abs(emp - ctx.S) / sig
    mean_err = np.abs(ys.mean(axis=0) - ref._dense_output(ctx.net, ctx.x[:1])[0])
    mean_sig = np.sqrt(np.diag(ctx.S) / n_samples)
    return [Comparison(float(z.max()), MONTE_CARLO_SIGMAS),
            Comparison(float((mean_err / mean_sig).max()), MONTE_CARLO_SIGMAS)]


@identity("2.5.14", rule="solve", source="docs/theory.md §2.5.14", applies=lambda s: s.use_skips)
def _check_residual(ctx: CaseContext) -> list[Comparison]:
    """residual nets (M_l = I + a_lW_l): F*, e*, z*, Woodbury via 2.5.1–2.5.6"""
    out = []
    for key in ("2.5.1", "2.5.3", "2.5.4", "2.5.6"):
        out.extend(IDENTITIES[key].check(ctx))
    return out


@identity("2.5.15", rule="slope", source="docs/theory.md §2.3", budget="small", applies=_small)
def _check_weak_precision(ctx: CaseContext) -> list[Comparison]:
    """λ → 0: |F*/λ − ℒ| and ‖∇F*/λ − ∇ℒ‖ are O(λ) (log–log slope 1)"""
    net = ctx.net
    # S = λ⁻¹I + Q with Q = Σ_{l<L} π_l⁻¹ M_{L:l+1}M_{L:l+1}ᵀ independent of λ = π_L, so
    # S⁻¹ = λ(I + λQ)⁻¹ and F*/λ − ℒ = −(λ/2)tr(QR) + O((λ‖Q‖)²): probe λ‖Q‖ ∈ [1e-5, 1e-2],
    # where the O(λ) term is far above round-off and the O(λ²) term 100× below it.
    pi = np.array(net.precisions, copy=True)
    pi[-1] = 1.0
    q = float(np.linalg.norm(equilibrium_rescaling(net.replace(precisions=pi)) - np.eye(net.d_y),
                             2))
    Lm = mse_loss(net, ctx.x, ctx.y)
    gb = mse_gradient(net, ctx.x, ctx.y).flat()
    lams = np.logspace(-5, -2, 4) / max(q, 1e-300)
    dF, dG = [], []
    for lam in lams:
        pi[-1] = lam
        nl = net.replace(precisions=pi)
        eq = solve_equilibrium(nl, ctx.x, ctx.y, method="gaussian", warn_if_error_above=None)
        dF.append(abs(eq.energy / lam - Lm))
        g = energy_parameter_gradient(nl, eq.activities, ctx.x, ctx.y).flat()
        dG.append(np.linalg.norm(g / lam - gb))
    out = []
    for d, scale in ((dF, Lm), (dG, np.linalg.norm(gb))):
        d = np.asarray(d)
        floor = SAFETY * ctx.size * EPS * ctx.kappa * max(scale, 1e-300)
        if q == 0 or np.all(d <= floor):   # Q = 0 (e.g. W_L = 0) or no residual: exact, not O(λ)
            out.append(Comparison(float(d.max()), floor))
        else:
            slope = np.polyfit(np.log(lams), np.log(d), 1)[0]
            out.append(Comparison(abs(slope - 1.0), 0.1))
    return out
