"""``linpc verify`` rows for PC as a trust-region method and higher-order information
(docs/theory.md
§4, §5; §2.5.7, 2.5.16, 2.5.17): keys ``2.5.7``, ``2.5.16``, ``2.5.17``, ``4.1``–``4.4``, ``5.1``,
``5.2``.

Each row compares an implementation with a computation that shares no code path with it:

* 2.5.7 — the TR step/value (block Cholesky) vs Theorem 1's ½rᵀS⁻¹r (explicit products), the
  Gaussian-conditioning equilibrium and the activity gradient from prediction errors;
* 2.5.16 — Neumann partial sums vs ``F*`` of the activity system, with the exact remainder bound
  and the alternation of the partial sums;
* 2.5.17 — the gradient decomposition vs the envelope-theorem gradient and, term by term, vs
  ``scipy.differentiate`` of each term's definition (core energy, activity gradient, ``H_z``
  products) and of the SVD least-squares ``F*``;
* 4.1 — the exact TR solver on constructed problems (definite, indefinite, singular, hard cases of
  multiplicity 1–3, near-hard cases) vs the KKT certificate and a 60-digit mpmath reference;
* 4.2 — Δ* as the solution of the TR subproblem in the ``H_z`` metric (generic dense solver);
* 4.3 — interpolation along inference: ``t = 0`` (last-layer BP gradient only), ``t = ∞`` (∇F*),
  the path vs ``linpc.gradient_flow_activities`` and the ``e^{−λ_min t}`` contraction;
* 4.4 — predicted escape steps of BP and PC in the one-hidden-unit model vs simulated GD;
* 5.1 — orders of flatness at the origin from exact Taylor coefficients, and the closed-form
  first nonzero coefficients; 5.2 — the Taylor coefficients vs core values and gradients.
"""

from __future__ import annotations

import numpy as np

from linpc.core.energy import energy, energy_activity_gradient, energy_parameter_gradient
from linpc.core.equilibrium import equilibrated_energy_gradient, solve_equilibrium
from linpc.core.gaussian import output_covariance
from linpc.core.inference import gradient_flow_activities
from linpc.core.loss import mse_gradient, mse_loss
from linpc.core.network import LinearPCN
from linpc.core.parameter_arrays import ParameterArrays, flatten_parameters, with_flat_parameters
from linpc.dynamics.escape import shallow_escape_prediction
from linpc.landscape.expansions import (
    directional_taylor_coefficients,
    neumann_series,
    rescaling_series_matrix,
)
from linpc.landscape.flatness import origin_flatness_orders
from linpc.numerics.tolerances import (
    EPS,
    SAFETY,
    derivative_tolerance,
    eigenvalue_tolerance,
    model_value_tolerance,
    roundoff_tolerance,
    stationarity_tolerance,
)
from linpc.numerics.warnings import spd_condition_number
from linpc.trust_region.gradient_decomposition import weight_gradient_decomposition
from linpc.trust_region.interpolation import inference_interpolation
from linpc.trust_region.pc_step import pc_trust_region_step, pc_trust_region_subproblem
from linpc.trust_region.subproblem import solve_trust_region_subproblem
from linpc.verify import reference as ref
from linpc.verify.framework import CaseContext, Comparison, identity
from linpc.verify.random_networks import NetworkSpec

__all__: list[str] = []

SMALL = 200


def _small(spec: NetworkSpec) -> bool:
    return sum(spec.widths[1:-1]) <= SMALL


def _tiny(spec: NetworkSpec) -> bool:
    """Cases for finite differences of dense least squares (a few ms per evaluation)."""
    return sum(spec.widths[1:-1]) <= 40 and spec.batch <= 64


def _rescaled_S_condition(net: LinearPCN) -> float:
    w = np.linalg.eigvalsh(output_covariance(net))
    return spd_condition_number(w[0], w[-1], net.d_y, "the rescaling S", warn=False)[0]


# ------------------------------------------------------------------------------------- 2.5.7
@identity("2.5.7", rule="solve", source="P2; docs/theory.md §4.2, §2.5.7")
def _check_tr_value(ctx: CaseContext) -> list[Comparison]:
    """TR value F* = λℓ − ½gᵀH_z⁻¹g (block Cholesky) = ½rᵀS⁻¹r (Theorem 1); Δ* = −H_z⁻¹g = z* − ẑ
    (Gaussian z*); g = ∇_zF(ẑ) has only g_H = −λM_Lᵀr"""
    net, x, y = ctx.net, ctx.x, ctx.y
    tr = pc_trust_region_step(net, x, y, hessian=ctx.hessian, warn_if_error_above=None)
    r = y - ref._dense_output(net, x)                 # Theorem 1: ½rᵀS⁻¹r, S by explicit products
    F_thm = 0.5 * np.sum(r * np.linalg.solve(ctx.S, r.T).T, axis=1)
    # the value is a difference λℓ − ½ρ²: κ-scaled error relative to the larger term
    tol = ctx.energy_abs_tol() + ctx.solve_tol() * (tr.feedforward_energies + 0.5 * tr.radius**2)
    i = int(np.argmax(np.abs(tr.energies - F_thm) / tol))
    out = [Comparison(float(abs(tr.energies[i] - F_thm[i])), float(tol[i]))]
    zg = np.concatenate(ctx.eq_gauss.activities, axis=1)
    out.append(Comparison(float(np.linalg.norm(tr.equilibrium - zg)), 2 * ctx.z_abs_tol()))
    zs = net.forward(x)
    g_ref = np.concatenate(energy_activity_gradient(net, zs[1:-1], x, y), axis=1)
    scale = np.linalg.norm(g_ref) + net.output_precision * np.linalg.norm(tr.residual) * \
        ctx.layer_norms[-1]
    out.append(Comparison(float(np.linalg.norm(tr.gradient - g_ref)),
                          roundoff_tolerance(ctx.size) * scale))
    return out


# ------------------------------------------------------------------------------------ 2.5.16
@identity("2.5.16", rule="solve", source="P1 Thm 1, P4 abstract; docs/theory.md §5.2, §2.5.16")
def _check_neumann(ctx: CaseContext) -> list[Comparison]:
    """Neumann series F* = Σ_k (−1)^kλ^{k+1}½tr(Q^kR) at λ‖Q‖₂ = ½: |F* − F*_K| ≤
    λℒ(λ‖Q‖)^{K+1}/(1+λ‖Q‖), partial sums alternate (vs block-Cholesky F*)"""
    base = ctx.net
    qn = float(np.linalg.eigvalsh(rescaling_series_matrix(base))[-1])
    if qn <= 1e-12:
        return [Comparison(0.0, 0.0)]
    net = base.replace(precisions=np.append(base.precisions[:-1], 0.5 / qn))
    K = 12
    ns = neumann_series(net, ctx.x, ctx.y, K)
    eq = solve_equilibrium(net, ctx.x, ctx.y, method="cholesky", warn_if_error_above=None)
    lam = net.output_precision
    kappa = max(eq.condition_number, _rescaled_S_condition(net))   # κ₁(H_z) estimate, κ(S)
    floor = SAFETY * (kappa * ctx.size + (K + 2) * net.d_y) * EPS * lam * ns.loss
    rem = eq.energy - ns.partial_sums
    out = [Comparison(float(np.max(np.abs(rem) - ns.error_bounds)), floor)]
    signs = np.array([(-1) ** (k + 1) for k in range(K + 1)])
    out.append(Comparison(float(max(0.0, -np.min(signs * rem))), floor))
    return out


# ------------------------------------------------------------------------------------ 2.5.17
@identity("2.5.17", rule="fd", source="P2 (blog B1); docs/theory.md §4.2, §2.5.17", budget="small",
          applies=_tiny)
def _check_decomposition(ctx: CaseContext) -> list[Comparison]:
    """∇F* = λ∇ℒ + (∂g/∂θ)ᵀΔ* + ½Δ*ᵀ(∂H_z/∂θ)Δ*: sum = envelope gradient; each term =
    scipy.differentiate of its definition; sum = FD of SVD least-squares F*"""
    net = ctx.net
    dec = weight_gradient_decomposition(net, ctx.x, ctx.y)
    g_env = equilibrated_energy_gradient(net, ctx.x, ctx.y, equilibrium=ctx.eq_gauss).flat()
    mag = sum(np.linalg.norm(t.flat()) for t in (dec.bp, dec.tr_step, dec.curvature))
    out = [Comparison(float(np.linalg.norm(dec.total().flat() - g_env)),
                      ctx.solve_tol() * (mag + np.linalg.norm(g_env)) * net.n_layers
                      * max(1.0, ctx.forward_growth))]
    # finite differences on at most 8 samples (the identity holds for any batch)
    x, y = ctx.x[:8], ctx.y[:8]
    B = x.shape[0]
    dec = weight_gradient_decomposition(net, x, y)
    D = dec.step
    theta = flatten_parameters(net)
    rng = np.random.default_rng(ctx.spec.seed + 71)
    zs = net.forward(x)
    r = y - zs[-1]
    cond_r = (np.linalg.norm(y) + np.linalg.norm(zs[-1])) / max(np.linalg.norm(r), 1e-300)
    g = np.concatenate(energy_activity_gradient(net, zs[1:-1], x, y), axis=1)
    Ds = [np.zeros_like(x), *net.split_activities(D), np.zeros_like(y)]
    curv_mag = sum(0.5 * p * (np.linalg.norm(Ds[l]) + np.linalg.norm(net.apply_layer(l, Ds[l - 1])))
                   ** 2 for l, p in enumerate(net.precisions, start=1)) / B

    def at(th):
        return with_flat_parameters(net, th)

    def f_bp(th):
        n_ = at(th)
        return energy(n_, n_.forward(x)[1:-1], x, y)

    def f_tr(th):
        n_ = at(th)
        gg = np.concatenate(energy_activity_gradient(n_, n_.forward(x)[1:-1], x, y), axis=1)
        return float(np.sum(gg * D)) / B

    def f_curv(th):
        from linpc.core.activity_hessian import ActivityHessian

        return 0.5 * float(np.sum(D.T * ActivityHessian(at(th)).matvec(D.T))) / B

    def f_star(th):
        return float(np.mean(ref.dense_equilibrium(at(th), x, y)[1]))

    n = ctx.size
    for f, term, f_scale, cond in (
            (f_bp, dec.bp, abs(f_bp(theta)), n * cond_r),
            (f_tr, dec.tr_step, float(np.sum(np.abs(g * D))) / B, n * cond_r),
            (f_curv, dec.curvature, curv_mag, n),
            (f_star, dec.total(), abs(f_star(theta)), n * ctx.kappa)):
        v = rng.standard_normal(theta.size)
        v /= np.linalg.norm(v)
        df, err, step = ref.directional_derivative(f, theta, v)
        out.append(Comparison(abs(df - float(term.flat() @ v)),
                              derivative_tolerance(err, step, f_scale, cond)))
    return out


# ------------------------------------------------------------------------------------------ 4.1
def _mp_value(g, H, r):
    """60-digit optimal value of the same float problem (mpmath eigsy + bisection)."""
    import mpmath

    with mpmath.workdps(60):
        E, Qm = mpmath.eigsy(mpmath.matrix(H.tolist()))
        n = len(g)
        w = [E[i] for i in range(n)]
        gam = [sum(Qm[j, i] * mpmath.mpf(float(g[j])) for j in range(n)) for i in range(n)]
        R = mpmath.mpf(r)

        def phi(mu):
            return mpmath.sqrt(sum((gi / (wi + mu)) ** 2 for gi, wi in zip(gam, w, strict=True)))

        def val(c):
            return sum(gi * ci + wi * ci * ci / 2 for gi, wi, ci in zip(gam, w, c, strict=True))

        w1 = min(w)
        if w1 > 0 and phi(0) <= R:
            return float(val([-gi / wi for gi, wi in zip(gam, w, strict=True)]))
        lo = max(mpmath.mpf(0), -w1)
        hi = mpmath.sqrt(sum(gi * gi for gi in gam)) / R + abs(w1) + 1
        for _ in range(400):
            mid = (lo + hi) / 2
            if mid in (lo, hi):
                break
            lo, hi = (mid, hi) if phi(mid) > R else (lo, mid)
        mu = (lo + hi) / 2
        return float(val([-gi / (wi + mu) for gi, wi in zip(gam, w, strict=True)]))


@identity("4.1",
          rule="backward-error bounds of the eigensolver (trust_region module: "
          "stationarity_tolerance, model_value_tolerance; Weyl)",
          source="Moré & Sorensen 1983; P2; docs/theory.md §4.2", budget="one")
def _check_tr_solver(ctx: CaseContext) -> list[Comparison]:
    """exact TR subproblem solver: KKT certificate ((H+μI)p = −g, ‖p‖ ≤ Δ, μ(Δ−‖p‖) = 0, H+μI ⪰ 0)
    and 60-digit optimal value; definite/indefinite/singular/hard (mult. 1–3)/near-hard problems"""
    rng = np.random.default_rng(ctx.spec.seed + 72)
    out = []
    probs = []
    for kind in ("definite", "indefinite", "singular"):
        for n in (1, 3, 6):
            probs.append(ref.trust_region_problem(n, rng, kind,
                                                  rng.uniform(-1.5, 1.5) / np.log(10.0))[:3])
    for m in (1, 2, 3):
        probs.append(ref.trust_region_problem(6, rng, "hard", np.log10(2.0), multiplicity=m)[:3])
        for lt in (-4.0, -10.0, -15.0):
            probs.append(ref.trust_region_problem(6, rng, "near_hard", np.log10(2.0),
                                                  multiplicity=m, log_tiny=lt)[:3])
    for i, (g, H, r) in enumerate(probs):
        res = solve_trust_region_subproblem(g, H, r)
        n = g.size
        Hn = float(np.linalg.norm(H, 2))
        p, mu = res.step, res.multiplier
        out.append(Comparison(float(np.linalg.norm((H + mu * np.eye(n)) @ p + g)),
                              stationarity_tolerance(n, Hn, np.linalg.norm(g),
                                                     np.linalg.norm(p), mu)))
        out.append(Comparison(max(0.0, float(np.linalg.norm(p)) - r), SAFETY * n * EPS * r))
        out.append(Comparison(abs(mu * (float(np.linalg.norm(p)) - r)),
                              SAFETY * n * EPS * r * max(mu, 1.0)))
        out.append(Comparison(max(0.0, -float(np.linalg.eigvalsh(H + mu * np.eye(n))[0])),
                              eigenvalue_tolerance(n, Hn + mu)))
        if n == 6 or i % 3 == 0:
            out.append(Comparison(abs(res.model_value - _mp_value(g, H, r)),
                                  model_value_tolerance(n, Hn, np.linalg.norm(g), r)))
    return out


# ------------------------------------------------------------------------------------------ 4.2
@identity("4.2", rule="solve + stationarity_tolerance", source="P2; docs/theory.md §4.2",
          budget="small", applies=lambda s: sum(s.widths[1:-1]) <= 120)
def _check_pc_tr_subproblem(ctx: CaseContext) -> list[Comparison]:
    """Δ* = z* − ẑ solves min gᵀΔ + ½ΔᵀH_zΔ (μ = 0) and min gᵀΔ (μ = 1) over ‖Δ‖_{H_z} ≤ ρ =
    ‖g‖_{H_z⁻¹} (generic dense TR solver, sample with the largest ρ)"""
    net, x, y = ctx.net, ctx.x, ctx.y
    tr = pc_trust_region_step(net, x, y, hessian=ctx.hessian, warn_if_error_above=None)
    i = int(np.argmax(tr.radius))
    if tr.radius[i] == 0:
        return [Comparison(0.0, 0.0)]
    Hd = ctx.hessian.to_dense()
    Hn, lmin = ctx.eig.lambda_max, ctx.eig.lambda_min
    n = ctx.n
    out = []
    for model, mu_exp in (("quadratic", 0.0), ("linear", 1.0)):
        res = pc_trust_region_subproblem(net, x, y, sample=i, model=model, hessian=ctx.hessian)
        stat = stationarity_tolerance(n, Hn if model == "quadratic" else 0.0,
                                      np.linalg.norm(tr.gradient[i]), np.linalg.norm(res.step),
                                      res.multiplier, metric_norm=Hn,
                                      metric_condition=ctx.eig.condition_number)
        dmu = stat / np.linalg.norm(Hd @ tr.step[i]) + ctx.solve_tol()
        out.append(Comparison(abs(res.multiplier - mu_exp), dmu))
        out.append(Comparison(float(np.linalg.norm(res.step - tr.step[i])),
                              (stat + dmu * Hn * np.linalg.norm(res.step)) / lmin
                              + ctx.solve_tol() * np.linalg.norm(tr.step[i])))
    return out


# ------------------------------------------------------------------------------------------ 4.3
@identity("4.3", rule="exact / roundoff / solve", source="P2 abstract; docs/theory.md §4.2, §8.11",
          budget="small", applies=lambda s: sum(s.widths[1:-1]) <= 120)
def _check_interpolation(ctx: CaseContext) -> list[Comparison]:
    """PC gradient along inference: t = 0 → only W_L (b_L), = λ∇_{W_L}ℒ; t = ∞ → ∇F*; z(t) =
    linpc.gradient_flow_activities; ‖z(t) − z*‖ ≤ e^{−λ_min t}‖ẑ − z*‖"""
    net, x, y = ctx.net, ctx.x, ctx.y
    lmin = ctx.eig.lambda_min
    times = np.array([0.0, 1.0 / lmin, 5.0 / lmin, np.inf])
    res = inference_interpolation(net, x, y, times)
    g0 = ParameterArrays.from_flat(net, res.gradients[0])
    hidden = [g0.weights[l] for l in range(net.n_layers - 1)] + [
        b for b in g0.biases[:-1] if b is not None]
    out = [Comparison(float(max((np.abs(a).max() for a in hidden), default=0.0)), 0.0)]
    bp = mse_gradient(net, x, y)
    lam = net.output_precision
    out.append(Comparison(float(np.linalg.norm(g0.weights[-1] - lam * bp.weights[-1])),
                          roundoff_tolerance(ctx.size) * lam * np.linalg.norm(bp.weights[-1])))
    g_star = equilibrated_energy_gradient(net, x, y, equilibrium=ctx.eq_chol).flat()
    out.append(Comparison(float(np.linalg.norm(res.gradients[-1] - g_star)),
                          roundoff_tolerance(ctx.size * net.n_layers) * np.linalg.norm(g_star)
                          + ctx.solve_tol() * np.linalg.norm(g_star) * net.n_layers
                          * max(1.0, ctx.forward_growth)))
    zhat = np.concatenate(net.forward(x)[1:-1], axis=1)
    h1 = ctx.hessian.factor().norm1
    t = times[1]
    core = np.concatenate(gradient_flow_activities(net, x, y, t), axis=1)
    out.append(Comparison(float(np.linalg.norm(zhat + res.steps[1] - core)),
                          2 * ctx.z_abs_tol() + SAFETY * (ctx.n + t * h1) * EPS
                          * res.initial_distance))
    for k in (1, 2):
        bound = np.exp(-lmin * times[k]) * res.initial_distance * (
            1 + SAFETY * ctx.eig.error_min * times[k])
        out.append(Comparison(max(0.0, float(res.distances[k] - bound)),
                              SAFETY * (ctx.n + times[k] * h1) * EPS * res.initial_distance))
    return out


# ------------------------------------------------------------------------------------------ 4.4
@identity("4.4", rule="derived offset bound (shallow_escape module docstring)",
          source="P2 shallow-model theorem; docs/theory.md §4.2", budget="one")
def _check_escape_steps(ctx: CaseContext) -> list[Comparison]:
    """one-hidden-unit model: simulated GD escape steps of BP (ℒ) and PC (F*) from εu lie in [t_pred
    − δ, t_pred + 1 + δ], t_pred = log(ρ/|⟨εu, v⟩|)/log(1 + η|λ_min|); t_PC < t_BP"""
    rng = np.random.default_rng(ctx.spec.seed + 73)
    B, eta, rho = 64, 0.1, 0.01
    x = rng.normal(1.0, 0.1, B)
    y = -x
    X, Y = x[:, None], y[:, None]
    pred = shallow_escape_prediction(x, y)
    K = 4 * (float(np.mean(x * x)) + pred.s_yy + 2 * abs(pred.s_xy))
    out = []

    def run(w0, pc):
        w, t = w0.copy(), 0
        while np.linalg.norm(w) < rho and t < 10_000:
            net = LinearPCN([[[w[0]]], [[w[1]]]])
            gr = (equilibrated_energy_gradient(net, X, Y, method="gaussian") if pc
                  else mse_gradient(net, X, Y))
            w = w - eta * gr.flat()
            t += 1
        return t

    for eps in (1e-4, 1e-10):
        u = rng.standard_normal(2)
        u /= np.linalg.norm(u)
        w0 = eps * u
        p_bp, p_pc = pred.escape_steps(w0, rho, eta)
        for t_pred, lam_min, pc in ((p_bp, pred.loss_min_eigenvalue, False),
                                    (p_pc, pred.energy_min_eigenvalue, True)):
            gfac = 1 + eta * abs(lam_min)
            delta = eta * K * rho**2 / ((1 - gfac**-2) * np.log(gfac)) + eps / rho
            t = run(w0, pc)
            out.append(Comparison(max(0.0, t - (t_pred + 1 + delta), (t_pred - delta) - t),
                                  0.0))
        out.append(Comparison(0.0 if run(w0, True) < run(w0, False) else 1.0, 0.0))
    return out


# ------------------------------------------------------------------------------------------ 5.1
@identity("5.1", rule="roundoff (chain of L products)",
          source="P1, blog B4, P4 abstract; docs/theory.md §5.1", budget="one")
def _check_flatness_orders(ctx: CaseContext) -> list[Comparison]:
    """orders of flatness at θ = 0 from exact Taylor coefficients: plain ord ℒ = H+1 (c_{H+1} =
    −tr(V_{L:1}Σ_xy)), ord F* = 2 (c_2 = λc_2(ℒ) − λ²a_L²tr(V_LᵀΣ_yyV_L)/(2π_{L−1})); with skips ord
    ℒ = 2"""
    rng = np.random.default_rng(ctx.spec.seed + 74)
    out = []
    for H in (1, 2, 3, 4, 6):
        widths = (3, *tuple(int(w) for w in rng.integers(2, 5, H)), 2)
        net = LinearPCN([rng.standard_normal((widths[l], widths[l - 1]))
                         for l in range(1, H + 2)], param_type="ntp",
                        precisions=rng.uniform(0.5, 2.0, H + 1))
        x = rng.standard_normal((16, 3))
        y = x @ rng.standard_normal((3, 2)) + 0.3 * rng.standard_normal((16, 2))
        V = [rng.standard_normal(W.shape) for W in net.weights]
        o_l, o_f, te = origin_flatness_orders(net, x, y, direction=V)
        a, L, lam = net.scalings, net.n_layers, net.output_precision
        VL1 = np.eye(2)
        for l in range(L, 0, -1):
            VL1 = VL1 @ (a[l - 1] * V[l - 1])
        S_xy, S_yy = x.T @ y / 16, y.T @ y / 16
        c_l = -np.trace(VL1 @ S_xy)
        c_f = (lam * (c_l if L == 2 else 0.0) - lam**2 * a[-1] ** 2 / (2 * net.precisions[-2])
               * np.trace(V[-1].T @ S_yy @ V[-1]))
        scale = abs(te.energy[0]) + np.linalg.norm(VL1) * np.linalg.norm(S_xy) + lam**2 * \
            a[-1] ** 2 * np.linalg.norm(V[-1]) ** 2 * np.linalg.norm(S_yy) / net.precisions[-2]
        tol = roundoff_tolerance(L * max(widths)) * 10 * scale
        out.append(Comparison(abs(te.loss[L] - c_l), tol))
        out.append(Comparison(abs(te.energy[2] - c_f), tol))
        out.append(Comparison(0.0 if (o_l, o_f) == (H + 1, 2) else 1.0, 0.0))
    for H in (2, 4):
        net = LinearPCN([rng.standard_normal((3, 3)) for _ in range(H + 1)], param_type="mupc",
                        use_skips=True)
        x = rng.standard_normal((16, 3))
        y = x @ rng.standard_normal((3, 3))
        o_l, o_f, _ = origin_flatness_orders(net, x, y, rng=rng)
        out.append(Comparison(0.0 if (o_l, o_f) == (2, 2) else 1.0, 0.0))
    return out


# ------------------------------------------------------------------------------------------ 5.2
@identity("5.2", rule="solve / roundoff", source="docs/theory.md §5.2", budget="small",
          applies=lambda s: sum(s.widths[1:-1]) <= 120)
def _check_taylor(ctx: CaseContext) -> list[Comparison]:
    """exact Taylor coefficients of F*(θ+εV), ℒ(θ+εV): c_0 = F*, ℒ; c_1 = ⟨∇F*, V⟩ (envelope), ⟨∇ℒ,
    V⟩ (backprop); ℒ(θ+εV) = Σ_{k≤2L} c_kε^k at ε = ½"""
    net, x, y = ctx.net, ctx.x, ctx.y
    rng = np.random.default_rng(ctx.spec.seed + 75)
    v = rng.standard_normal(net.n_parameters)
    v /= np.linalg.norm(v)
    V = ParameterArrays.from_flat(net, v)
    K = 2 * net.n_layers
    te = directional_taylor_coefficients(net, x, y, V, K)
    F = ctx.eq_chol.energy
    Lm = mse_loss(net, x, y)
    gF = energy_parameter_gradient(net, ctx.eq_chol.activities, x, y).flat()
    gL = mse_gradient(net, x, y).flat()
    chain = roundoff_tolerance(net.n_layers * max(net.widths)) * max(1.0, ctx.forward_growth)
    out = [Comparison(abs(te.energy[0] - F), float(np.sum(ctx.energy_abs_tol())) / x.shape[0]
                      + ctx.solve_tol() * (F + Lm)),
           Comparison(abs(te.loss[0] - Lm), chain * Lm),
           Comparison(abs(te.energy[1] - gF @ v), ctx.solve_tol() * net.n_layers
                      * max(1.0, ctx.forward_growth) * (np.linalg.norm(gF) + F + Lm)),
           Comparison(abs(te.loss[1] - gL @ v), chain * net.n_layers * (np.linalg.norm(gL) + Lm))]
    eps = 0.5
    Le = mse_loss(with_flat_parameters(net, flatten_parameters(net) + eps * v), x, y)
    mag = float(np.sum(np.abs(te.loss) * eps ** np.arange(K + 1)))
    out.append(Comparison(abs(Le - float(np.polyval(te.loss[::-1], eps))), chain * 10 * (mag + Le)))
    return out
