"""``linpc verify`` rows for the landscape theory (docs/theory.md §3, §4.2, §5.1): keys ``3.x``.

Each row compares an implementation with an independent computation:

* 3.1, 3.2 — Hessian-vector products of ``F*`` (Schur complement) and ``ℒ`` (forward-over-reverse)
  against ``scipy.differentiate.derivative`` of the closed-form gradients (envelope-theorem PC
  gradient, backpropagation) along random directions;
* 3.3 — the Schur complement against a *probed* joint ``(Z, θ)`` Hessian of the batch energy
  (5-point differences of the exact gradients, exact for their cubic polynomial form) reduced by a
  dense solve;
* 3.4–3.5 — the origin theorems: numerical Hessians at ``θ = 0`` vs the closed-form blocks and
  spectra computed from ``d × d`` moment matrices; the golden ratio for ``y = −x``;
* 3.6 — ``∇²F* = λ∇²ℒ − λ²a_L²(R ⊗ G)`` at ``W_L = 0`` (the right side never solves for ``z*``);
* 3.7 — zero-rank saddles: strict for ``F*``, non-strict for ``ℒ``, exact ``λ_min`` and counts;
* 3.8 — orders of flatness (log–log slopes);
* 3.9 — the escape-time ratio of the one-hidden-layer model;
* 3.10 — ``F*`` and ``ℒ`` have different critical points (docs/theory.md §2.4, §3.3).
"""

from __future__ import annotations

import numpy as np

from linpc.core.energy import energy_activity_gradient, energy_parameter_gradient
from linpc.core.equilibrium import equilibrated_energy_gradient, solve_equilibrium
from linpc.core.loss import mse_gradient
from linpc.core.network import LinearPCN
from linpc.core.parameter_arrays import flatten_parameters, with_flat_parameters
from linpc.data.moments import second_moments
from linpc.data.synthetic import toy_gaussian
from linpc.dynamics.escape import escape_time_ratio
from linpc.landscape.critical_points import classify_critical_point, gradient_roundoff_tolerance
from linpc.landscape.flatness import flatness_slopes
from linpc.landscape.hessians import EquilibratedEnergyHessian, MSEHessian
from linpc.landscape.origin import GOLDEN_RATIO, origin_hessians, origin_network, origin_spectra
from linpc.landscape.zero_rank import (
    last_layer_gram,
    other_saddle,
    zero_last_layer_energy_hessian,
    zero_rank_curvature_bound,
    zero_rank_point,
)
from linpc.numerics.tolerances import (
    EPS,
    SAFETY,
    assembly_tolerance,
    derivative_tolerance,
    eigenvalue_tolerance,
)
from linpc.verify.framework import CaseContext, Comparison, identity
from linpc.verify.random_networks import NetworkSpec

__all__: list[str] = []

#: Parameter-count limit of the rows that assemble dense Hessians on battery cases.
DENSE_LIMIT = 600


def _params(spec: NetworkSpec) -> int:
    w = spec.widths
    P = sum(w[l] * w[l - 1] for l in range(1, len(w)))
    return P + (sum(w[1:]) if spec.biases else 0)


def _small_p(spec: NetworkSpec) -> bool:
    return _params(spec) <= DENSE_LIMIT and sum(spec.widths[1:-1]) <= 200


def _fd_hvp(ctx: CaseContext, grad, hvp, gtol: float, n_dir: int, seed: int) -> list[Comparison]:
    """Compare ``hvp(v)`` with ``d/dt grad(θ + t v)`` (``scipy.differentiate.jacobian``)."""
    from scipy.differentiate import jacobian

    net = ctx.net
    theta = flatten_parameters(net)
    rng = np.random.default_rng(ctx.spec.seed + seed)
    out = []
    for _ in range(n_dir):
        v = rng.standard_normal(theta.size)
        v /= np.linalg.norm(v)

        def f(t, v=v):
            t = np.asarray(t, dtype=np.float64)          # shape (1, ...)
            flat = t.reshape(-1)
            vals = np.stack([grad(with_flat_parameters(net, theta + s * v)) for s in flat],
                            axis=-1)
            return vals.reshape((theta.size, *t.shape[1:]))

        h0 = 0.05
        res = jacobian(f, np.zeros(1), initial_step=h0, maxiter=6,
                       tolerances={"rtol": 1e-12, "atol": 0.0})
        df, errest = res.df[:, 0], np.abs(res.error[:, 0])
        step = h0 / 2.0 ** np.asarray(res.nit[:, 0], dtype=float)
        hv = hvp(v)
        tol = np.array([derivative_tolerance(float(e), float(s), gtol / (SAFETY * EPS), 1.0)
                        for e, s in zip(errest, step, strict=True)])
        err = np.abs(hv - df)
        i = int(np.argmax(err / tol))
        out.append(Comparison(float(err[i]), float(tol[i])))
    return out


@identity("3.1", rule="fd", source="P1 Thm 1; docs/theory.md §3", budget="small", applies=_small_p)
def _check_energy_hvp(ctx: CaseContext) -> list[Comparison]:
    """∇²F* v (Schur complement F_θθ − F_θz H_z⁻¹F_zθ) = d/dt ∇F*(θ+tv) (scipy.differentiate of the
    envelope gradient)"""
    net = ctx.net
    op = EquilibratedEnergyHessian(net, ctx.x, ctx.y, hessian=ctx.hessian, warn_if_error_above=None)

    def grad(n: LinearPCN) -> np.ndarray:
        eq = solve_equilibrium(n, ctx.x, ctx.y, method="cholesky", warn_if_error_above=None)
        return equilibrated_energy_gradient(n, ctx.x, ctx.y, equilibrium=eq).flat()

    gtol = gradient_roundoff_tolerance(net, ctx.x, ctx.y, objective="energy", kappa=ctx.kappa)
    return _fd_hvp(ctx, grad, op.apply, gtol, 2, 31)


@identity("3.2", rule="fd", source="docs/theory.md §3.1", budget="small", applies=_small_p)
def _check_mse_hvp(ctx: CaseContext) -> list[Comparison]:
    """∇²ℒ v (Gauss–Newton + residual term) = d/dt ∇ℒ(θ+tv) (scipy.differentiate of
    backpropagation)"""
    net = ctx.net
    op = MSEHessian(net, ctx.x, ctx.y)

    def grad(n: LinearPCN) -> np.ndarray:
        return mse_gradient(n, ctx.x, ctx.y).flat()

    gtol = gradient_roundoff_tolerance(net, ctx.x, ctx.y, objective="mse")
    return _fd_hvp(ctx, grad, op.apply, gtol, 2, 32)


@identity("3.3", rule="solve", source="docs/theory.md §3", budget="small",
          applies=lambda s: _small_p(s) and s.batch * sum(s.widths[1:-1]) + _params(s) <= 400)
def _check_schur(ctx: CaseContext) -> list[Comparison]:
    """∇²F* = Schur complement of the probed joint (Z, θ) Hessian of F_B (dense solve); the
    operators of ∇²F* and ∇²ℒ are symmetric"""
    net, x, y = ctx.net, ctx.x, ctx.y
    B, n, P = x.shape[0], net.n_activities, net.n_parameters
    eq = ctx.eq_chol
    Z0 = np.concatenate(eq.activities, axis=1).ravel()
    th0 = flatten_parameters(net)
    u0 = np.concatenate([Z0, th0])

    def grad(u: np.ndarray) -> np.ndarray:
        nn = with_flat_parameters(net, u[B * n:])
        zs = nn.split_activities(u[:B * n].reshape(B, n))
        gz = np.concatenate(energy_activity_gradient(nn, zs, x, y), axis=1).ravel() / B
        gt = energy_parameter_gradient(nn, zs, x, y).flat()
        return np.concatenate([gz, gt])

    m = u0.size
    J = np.empty((m, m))
    mag = 0.0
    h = 1.0
    for j in range(m):
        e = np.zeros(m)
        e[j] = h
        gp, gm = grad(u0 + e), grad(u0 - e)
        gp2, gm2 = grad(u0 + 2 * e), grad(u0 - 2 * e)
        # 5-point stencil: exact for polynomials of degree ≤ 4 (∇F_B is cubic in (Z, θ))
        J[:, j] = (8 * (gp - gm) - (gp2 - gm2)) / (12 * h)
        mag = max(mag, float(np.max(np.abs(np.concatenate([gp, gm, gp2, gm2])))))
    J = 0.5 * (J + J.T)
    Jzz, Jzt, Jtt = J[:B * n, :B * n], J[:B * n, B * n:], J[B * n:, B * n:]
    schur = Jtt - Jzt.T @ np.linalg.solve(Jzz, Jzt)
    op = EquilibratedEnergyHessian(net, x, y, equilibrium=eq, hessian=ctx.hessian)
    Hd = op.to_dense()
    # probe round-off: 18 eps·max|g| per entry (stencil weights) amplified by the solve (κ)
    probe = SAFETY * 18 * EPS * mag * ctx.kappa * (1 + np.abs(Jzt).max()) ** 2
    tol = op.roundoff_tolerance() + probe
    # the operators themselves (products with the identity, not symmetrised) are symmetric
    Hm = MSEHessian(net, x, y)
    raw_f = op @ np.eye(P)
    raw_m = Hm @ np.eye(P)
    return [Comparison(float(np.abs(schur - Hd).max()), tol),
            Comparison(float(np.abs(raw_f - raw_f.T).max()), op.roundoff_tolerance()),
            Comparison(float(np.abs(raw_m - raw_m.T).max()), Hm.roundoff_tolerance())]


def _origin_cases(rng: np.random.Generator):
    """Networks for the origin rows: H = 1..4, unequal widths, multipliers, λ, precisions."""
    cases = []
    for H, widths in ((1, (2, 6, 3)), (1, (4, 3, 2)), (2, (3, 4, 5, 2)), (3, (2, 3, 3, 4, 3)),
                      (4, (3, 2, 4, 3, 2, 2))):
        L = H + 1
        kw = dict(scalings=rng.uniform(0.5, 2.0, L), precisions=rng.uniform(0.5, 2.0, L))
        x = rng.standard_normal((16, widths[0])) + 0.5
        y = x @ rng.standard_normal((widths[0], widths[-1])) + 0.3 * rng.standard_normal(
            (16, widths[-1]))
        cases.append((origin_network(widths, **kw), x, y))
    return cases


@identity("3.4", rule="eigen", source="P1 Thm 2, Figs. 3–4, 8; docs/theory.md §3.1–3.2",
          budget="one")
def _check_origin(ctx: CaseContext) -> list[Comparison]:
    """origin: numerical ∇²F*(0), ∇²ℒ(0) = closed-form blocks; spectra = spec(K)×N / ±a₁a₂σ(Σ_yx)×N
    (H=1), −λ²a_L²λ(Σ_yy)/π_H ×n_H / 0 (H≥2)"""
    rng = np.random.default_rng(ctx.spec.seed + 34)
    out = []
    for net, x, y in _origin_cases(rng):
        for mean_out in (False, True):
            oh = origin_hessians(net, x, y, mean_over_outputs=mean_out)
            e_pred, m_pred = origin_spectra(net, x, y, mean_over_outputs=mean_out)
            HFop = EquilibratedEnergyHessian(net, x, y)
            HLop = MSEHessian(net, x, y, mean_over_outputs=mean_out)
            for op, closed, pred in ((HFop, oh.energy, e_pred), (HLop, oh.mse, m_pred)):
                Hd = op.to_dense()
                t_entry = op.roundoff_tolerance()
                out.append(Comparison(float(np.abs(Hd - closed).max()), t_entry))
                w = np.linalg.eigvalsh(Hd)
                norm2 = max(abs(w[0]), abs(w[-1]), 1e-300)
                out.append(Comparison(float(np.abs(w - pred.full()).max()),
                                      t_entry + 2 * eigenvalue_tolerance(w.size, norm2)))
    return out


@identity("3.5", rule="eigen", source="P1 Fig. 3; docs/theory.md §3.2", budget="one")
def _check_golden(ctx: CaseContext) -> list[Comparison]:
    """toy y = −x, H = 1: λ_min(∇²F*(0))/λ_min(∇²ℒ(0)) = φ = (1+√5)/2; F*: σ_k(Σ_xx)(−1±√5)/2"""
    out = []
    for d, N in ((1, 1), (2, 10), (3, 4)):
        x, y = toy_gaussian(64, d, rng=ctx.spec.seed + 35 + d)
        net = origin_network((d, N, d))
        HF = EquilibratedEnergyHessian(net, x, y)
        HL = MSEHessian(net, x, y)
        wf = np.linalg.eigvalsh(HF.to_dense())
        wl = np.linalg.eigvalsh(HL.to_dense())
        tf = HF.roundoff_tolerance() + eigenvalue_tolerance(wf.size, abs(wf[0]))
        tl = HL.roundoff_tolerance() + eigenvalue_tolerance(wl.size, abs(wl[0]))
        ratio = wf[0] / wl[0]
        out.append(Comparison(abs(ratio - GOLDEN_RATIO), (tf + GOLDEN_RATIO * tl) / abs(wl[0])))
        s = np.linalg.eigvalsh(second_moments(x, y).xx)
        pred = np.sort(np.repeat(np.concatenate([s * (-1 + np.sqrt(5)) / 2,
                                                 s * (-1 - np.sqrt(5)) / 2]), N))
        out.append(Comparison(float(np.abs(wf - pred).max()), tf))
    return out


@identity("3.6", rule="solve", source="docs/theory.md §3.3", budget="small", applies=_small_p)
def _check_last_layer_zero(ctx: CaseContext) -> list[Comparison]:
    """W_L = 0: ∇F* = λ∇ℒ and ∇²F* (Schur) = λ∇²ℒ − λ²a_L²(R ⊗ G), G = Σ_l
    π_l⁻¹M_{L−1:l+1}M_{L−1:l+1}ᵀ"""
    net = ctx.net
    Ws = list(net.weights)
    Ws[-1] = np.zeros_like(Ws[-1])
    n0 = net.replace(weights=Ws)
    op = EquilibratedEnergyHessian(n0, ctx.x, ctx.y, warn_if_error_above=None)
    HF = op.to_dense()
    HL = MSEHessian(n0, ctx.x, ctx.y)
    pred = zero_last_layer_energy_hessian(n0, ctx.x, ctx.y)
    lam = n0.output_precision
    G = last_layer_gram(n0)
    r = n0.residual(ctx.x, ctx.y)
    corr_scale = lam * lam * n0.scalings[-1] ** 2 * np.abs(r.T @ r / r.shape[0]).sum() * np.abs(
        G).sum(axis=1).max()
    tol = (op.roundoff_tolerance() + lam * HL.roundoff_tolerance()
           + assembly_tolerance(n0.n_parameters, corr_scale))
    g_pc = equilibrated_energy_gradient(n0, ctx.x, ctx.y, equilibrium=op.equilibrium).flat()
    g_bp = mse_gradient(n0, ctx.x, ctx.y).flat()
    gtol = (gradient_roundoff_tolerance(n0, ctx.x, ctx.y, objective="energy", kappa=op.kappa)
            + lam * gradient_roundoff_tolerance(n0, ctx.x, ctx.y, objective="mse"))
    return [Comparison(float(np.abs(HF - pred).max()), tol),
            Comparison(float(np.linalg.norm(g_pc - lam * g_bp)), gtol)]


@identity("3.7", rule="eigen", source="P1 Thm 3, Figs. 9–10; docs/theory.md §3.3", budget="one")
def _check_zero_rank(ctx: CaseContext) -> list[Comparison]:
    """zero-rank saddles (W_L = 0, M_{L−1:1} = 0): critical for ℒ and F*; F* strict with λ_min ≤
    −λ²a_L²λ_max(Σ_yy)λ_max(G) (= for P1's 'other saddle', H = 3, 4, with rank(Σ_yy)·n_H negative
    eigenvalues); ℒ non-strict"""
    rng = np.random.default_rng(ctx.spec.seed + 37)
    out = []
    for H in (3, 4):
        widths = (3,) + (4,) * H + (3,)
        Ws = [rng.standard_normal((widths[l], widths[l - 1])) / np.sqrt(widths[l - 1])
              for l in range(1, H + 2)]
        net = LinearPCN(Ws, scalings=rng.uniform(0.5, 2.0, H + 1),
                        output_energy_scaling=float(rng.uniform(0.5, 2.0)))
        x, y = toy_gaussian(64, 3, rng=rng)
        s = other_saddle(net)
        cf = classify_critical_point(s, x, y, objective="energy")
        cl = classify_critical_point(s, x, y, objective="mse")
        bound = zero_rank_curvature_bound(s, x, y)
        out.append(Comparison(0.0 if (cf.kind == "strict saddle" and cl.kind == "non-strict")
                              else 1.0, 0.0))
        out.append(Comparison(abs(cf.lambda_min - bound), cf.eigenvalue_tolerance))
        rank = int(np.linalg.matrix_rank(second_moments(x, y).yy))
        out.append(Comparison(abs(cf.n_negative - rank * widths[H]), 0.0))
    # the general family: (a) plain, W_1 projected on ker M_{L-1:2} (no layer vanishes);
    # (b) residual hidden layers, M_2 = I + a_2W_2 = 0; both with λ ≠ 1 and an output bias
    x = rng.standard_normal((20, 3))
    y = rng.standard_normal((20, 2)) + 0.7
    for widths, skips, method in (((3, 6, 4, 4, 2), False, "kernel"),
                                  ((3, 4, 4, 4, 2), True, "zero_layer")):
        Ws = [rng.standard_normal((widths[l], widths[l - 1])) / 2 for l in range(1, 5)]
        biases = [None, None, None, rng.standard_normal(2)]
        net = LinearPCN(Ws, biases=biases, use_skips=skips, output_energy_scaling=1.5)
        p = zero_rank_point(net, method=method, layer=2, y=y)
        cf = classify_critical_point(p, x, y, objective="energy")
        cl = classify_critical_point(p, x, y, objective="mse")
        out.append(Comparison(0.0 if (cf.kind == "strict saddle" and cl.is_critical) else 1.0,
                              0.0))
        out.append(Comparison(max(0.0, cf.lambda_min - zero_rank_curvature_bound(p, x, y)),
                              cf.eigenvalue_tolerance))
    return out


@identity("3.8", rule="slope", source="P1, blog B2, P4 abstract; docs/theory.md §5.1", budget="one")
def _check_flatness(ctx: CaseContext) -> list[Comparison]:
    """orders of flatness at 0: |ℒ(εV)−ℒ(0)| ~ ε^{H+1}, |F*(εV)−F*(0)| ~ ε², ‖∇ℒ‖ ~ ε^H, ‖∇F*‖ ~ ε
    (log–log slopes, H = 1..4)"""
    out = []
    for H in (1, 2, 3, 4):
        widths = (2,) + (3,) * H + (2,)
        x, y = toy_gaussian(32, 2, rng=ctx.spec.seed + 38 + H)
        fo = flatness_slopes(widths, x, y, n_directions=2, rng=ctx.spec.seed + H)
        out.append(Comparison(fo.max_slope_error(), 0.1))
    return out


@identity("3.9", rule="escape-time slopes: bound from integer rounding of escape steps",
          source="P2; docs/theory.md §4.2", budget="one")
def _check_escape(ctx: CaseContext) -> list[Comparison]:
    """escape-time ratio t_PC/t_BP of the one-hidden-unit model =
    log(1+η|λ_min(∇²ℒ)|)/log(1+η|λ_min(∇²F*)|) (→ 2|s_xy|/(s_yy+√(s_yy²+4s_xy²)) = 1/φ)"""
    x, y = toy_gaussian(64, 1, rng=ctx.spec.seed + 39)
    fit = escape_time_ratio(origin_network((1, 1, 1)), x, y, rng=ctx.spec.seed + 40)
    return [Comparison(abs(fit.ratio - fit.predicted_discrete), fit.ratio_error)]


def _not_critical(cf) -> Comparison:
    """Pass iff ``cf`` says "not critical" with a gradient far (10⁶×) above its round-off bound."""
    ok = cf.kind == "not critical" and cf.gradient_norm > 1e6 * cf.gradient_tolerance
    return Comparison(0.0 if ok else 1.0, 0.0)


@identity("3.10", rule="gradient round-off bound (running error, Higham §3.3)",
          source="docs/theory.md §2.4, §3.3, §8.9", budget="one")
def _check_critical_sets(ctx: CaseContext) -> list[Comparison]:
    """critical sets differ: an MSE minimiser with r ≠ 0 and a zero-rank ℒ-critical point with W_L ≠
    0 are not critical for F* (gradient ≫ tolerance)"""
    rng = np.random.default_rng(ctx.spec.seed + 41)
    out = []
    # (a) H = 1, N ≥ d_y: W_2 W_1 = least-squares solution M* (r ≠ 0 for noisy data)
    dx, N, dy, B = 3, 4, 2, 30
    x = rng.standard_normal((B, dx))
    y = x @ rng.standard_normal((dx, dy)) + 0.5 * rng.standard_normal((B, dy))
    Mstar = np.linalg.lstsq(x, y, rcond=None)[0].T          # (d_y, d_x)
    W2 = rng.standard_normal((dy, N))
    W1 = np.linalg.pinv(W2) @ Mstar
    net = LinearPCN([W1, W2])
    cl = classify_critical_point(net, x, y, objective="mse")
    cf = classify_critical_point(net, x, y, objective="energy")
    out.append(Comparison(0.0 if cl.is_critical else 1.0, 0.0))
    out.append(_not_critical(cf))
    # (b) zero rank with W_L ≠ 0: W_1 = 0 and the columns of W_2 in ker Σ_yxᵀ (needs d_y > d_x)
    dx, N, dy = 2, 3, 4
    x = rng.standard_normal((B, dx))
    y = rng.standard_normal((B, dy))
    K = np.linalg.svd(second_moments(x, y).yx)[0][:, dx:]  # left null space of Σ_yx
    W2 = K @ rng.standard_normal((dy - dx, N))
    net = LinearPCN([np.zeros((N, dx)), W2])
    cl = classify_critical_point(net, x, y, objective="mse")
    cf = classify_critical_point(net, x, y, objective="energy")
    out.append(Comparison(0.0 if cl.is_critical else 1.0, 0.0))
    out.append(_not_critical(cf))
    return out
