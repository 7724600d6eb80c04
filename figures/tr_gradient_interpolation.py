"""P2: the PC weight gradient moves from the BP gradient to the trust-region direction ∇F* over
inference time (Innocenti, Singh & Buckley, arXiv:2305.18188, abstract: PC "interpolates" between
BP and a TR direction; docs/theory.md §4.2 "Interpolation along inference", §8.11).

For a linear PCN, inference from the feedforward pass ``ẑ`` follows exactly (docs/theory.md §1.3,
§4.2)

    gradient flow:  z(t) − z* = e^{−tH_z}(ẑ − z*),
    Euler, step η:  z_T − z* = (I − ηH_z)^T(ẑ − z*),

and the PC weight update is ``g(t) = ∂F/∂θ`` at ``z(t)`` (``linpc.inference_interpolation``):

* ``t = 0``: all hidden errors vanish, so only the last layer has a gradient and it equals
  ``λ∇_{W_L}ℒ`` — the BP gradient of the last layer only; hence ``cos(g(0), ∇ℒ) = ‖∇_{W_L}ℒ‖/‖∇ℒ‖``;
* ``t → ∞``: ``g(t) → ∇F*`` (envelope theorem), at the rate of ``‖z(t) − z*‖``;
* for every step ``Δ = z − ẑ``, ``g = λ∇ℒ + (∂g_z/∂θ)ᵀΔ + ½Δᵀ(∂H_z/∂θ)Δ − (∂ẑ/∂θ)ᵀ∇_zF(ẑ + Δ)``
  (BP term + TR step mapped to the weights + curvature change + a stationarity term that vanishes
  at ``Δ* = z* − ẑ``; ``linpc.weight_gradient_decomposition``).

Networks: d_x = 10, d_y = 4, width N, H ∈ {1, 3, 7} hidden layers, SP (default uniform init) and
μPC (N(0, 1) weights, identity skips); data from a noisy linear teacher, B = 32.

Checks (each fails if the theory or linpc were wrong):

1. **convergence bound, every t (flow and Euler).** With ``D = z − z*``, ``ε_l = D_l − M_lD_{l−1}``
   (``D_0 = D_L = 0``), the exact identity
   ``g_l(z) − g_l(z*) = −(a_lπ_l/B)Σ_i [ε_l z*_{l−1}ᵀ + e*_l D_{l−1}ᵀ + ε_l D_{l−1}ᵀ]`` and
   ``‖D_l‖, ‖D_{l−1}‖ ≤ δ_i``, ``‖ε_l‖ ≤ c_lδ_i`` (``c_1 = 1``, ``c_L = ‖M_L‖₂``, else
   ``√(1 + ‖M_l‖₂²)``) give

       ‖g_l(t) − ∇_lF*‖ ≤ (a_lπ_l/B) Σ_i [c_lδ_i‖z*_{l−1,i}‖ + (‖e*_{l,i}‖ + c_lδ_i)δ_i [l ≥ 2]],

   with ``δ_i = e^{−λ_min t}‖ẑ_i − z*_i‖`` (flow) or ``ρ(η)^T‖ẑ_i − z*_i‖``,
   ``ρ = max|1 − ηλ|`` (Euler), plus round-off: ``2·solve_tolerance(κ, n)·‖z*_i‖ +
   roundoff_tolerance(n)·(‖ẑ_i‖ + ‖ẑ_i − z*_i‖)`` added to ``δ_i`` (Euler: the contraction
   factor times ``1 + roundoff_tolerance(n)·T``) and ``roundoff_tolerance`` of the gradient's
   summed magnitudes. ``z*``, ``e*`` and
   ``∇F*`` come from the Gaussian-conditioning route, ``λ_min`` from the banded eigensolver
   (lowered by its error bound), independently of the path computed by linpc.
2. **t = 0**: hidden-layer gradients exactly 0, last layer ``= λ∇_{W_L}ℒ`` (``linpc.mse_gradient``).
3. **decomposition**: the four terms at ``Δ(t)`` add up to ``g(t)`` for every t, and at ``t = ∞``
   to ``∇F*`` of the Gaussian route.
"""

from __future__ import annotations

import numpy as np

import linpc
from linpc.data import linear_teacher
from linpc.numerics import roundoff_tolerance, solve_tolerance
from linpc.reproduce import Check, FigureSpec, figure_main
from linpc.trust_region import cosine_similarity

SPEC = FigureSpec(
    name="tr_gradient_interpolation",
    title="PC weight gradient along inference: from BP (t = 0) to the TR direction ∇F* (t = ∞)",
    source="P2 (abstract: PC interpolates BP and TR directions); docs/theory.md §4.2",
    check="‖g(t) − ∇F*‖ vs the e^{−λ_min t} (flow) / ρ^T (Euler) propagation bound, every t; "
          "g(0) = λ∇_{W_L}ℒ only; BP + TR + curvature (+ stationarity) terms sum to g(t), ∇F*",
    runtime="quick ≈ 4 s / full ≈ 10 s",
    data="synthetic noisy linear teacher (d_x = 10, d_y = 4, B = 32)",
)

D_X, D_Y, BATCH, NOISE = 10, 4, 32, 0.5
DEPTHS = (1, 3, 7)
PARAMS = ("sp", "mupc")
T_MAX_EXP = 4                      # inference times 10⁻³ … 10⁴ (μPC, H = 7 has λ_min ≈ 10⁻²)


def build_network(point: dict, rng: np.random.Generator):
    """The network and batch of a sweep point (weights and data from the point's stream)."""
    H, N, param = point["H"], point["width"], point["param"]
    widths = [D_X] + [N] * H + [D_Y]
    Ws = linpc.init_weights(widths, param_type=param, rng=rng)
    net = linpc.LinearPCN(Ws, param_type=param, use_skips=param == "mupc")
    x, y, _ = linear_teacher(BATCH, D_X, D_Y, noise=NOISE, rng=rng)
    return net, x, y


def deviation_bound(net: linpc.LinearPCN, x, y, eq, delta: np.ndarray, norms: list[float]
                    ) -> np.ndarray:
    """Bound on ``‖g_l(z) − ∇_lF*‖`` per layer given ``‖z_i − z*_i‖ ≤ delta[i]`` (docstring, 1)."""
    B, L = x.shape[0], net.n_layers
    zs = [x, *eq.activities, y]
    es = [zs[l] - net.predict_layer(l, zs[l - 1]) for l in range(1, L + 1)]
    out = np.zeros(L)
    for l in range(1, L + 1):
        c = 1.0 if l == 1 else (norms[l - 1] if l == L else np.hypot(1.0, norms[l - 1]))
        zprev = np.linalg.norm(zs[l - 1], axis=1)
        term = c * delta * zprev
        if l >= 2:
            term = term + (np.linalg.norm(es[l - 1], axis=1) + c * delta) * delta
        out[l - 1] = net.scalings[l - 1] * net.precisions[l - 1] / B * np.sum(term)
    return out


def gradient_magnitude(net: linpc.LinearPCN, x, y, eq) -> float:
    """``‖(a_lπ_l/B)Σ_i ‖e*_{l,i}‖‖z*_{l−1,i}‖‖_l``: size of the summed products in ∇F*."""
    zs = [x, *eq.activities, y]
    B = x.shape[0]
    mags = [net.scalings[l - 1] * net.precisions[l - 1] / B
            * np.sum(np.linalg.norm(zs[l] - net.predict_layer(l, zs[l - 1]), axis=1)
                     * np.linalg.norm(zs[l - 1], axis=1)) for l in range(1, net.n_layers + 1)]
    return float(np.linalg.norm(mags))


def interpolation_point(point: dict, rng: np.random.Generator) -> dict:
    """Flow and Euler paths of one network: cosines, distances to ∇F*, bounds, decomposition."""
    net, x, y = build_network(point, rng)
    B, L, n = BATCH, net.n_layers, net.n_activities
    eig = linpc.ActivityHessian(net).extreme_eigenvalues()
    lam_min = eig.lambda_min - eig.error_min
    eq = linpc.solve_equilibrium(net, x, y, method="gaussian")          # independent route
    g_star = linpc.equilibrated_energy_gradient(net, x, y, equilibrium=eq).flat()
    g_bp = linpc.mse_gradient(net, x, y)
    zhat = np.concatenate(net.forward(x)[1:-1], axis=1)
    zstar = np.concatenate(eq.activities, axis=1)
    d0 = np.linalg.norm(zhat - zstar, axis=1)
    # round-off in z(t): both equilibria (κ-scaled solve error) and forming ẑ + (z(t) − ẑ)
    z_round = (2 * solve_tolerance(eig.condition_number, n) * np.linalg.norm(zstar, axis=1)
               + roundoff_tolerance(n) * (np.linalg.norm(zhat, axis=1) + d0))
    norms = [float(np.linalg.norm(net.layer_map(l), 2)) for l in range(1, L + 1)]
    g_mag = gradient_magnitude(net, x, y, eq)
    k_ops = B + L * max(net.widths)
    g_round = roundoff_tolerance(k_ops) * g_mag

    def bounds(contraction: np.ndarray) -> np.ndarray:
        return np.array([np.linalg.norm(deviation_bound(net, x, y, eq, c * d0 + z_round, norms))
                         + g_round for c in contraction])

    t = np.concatenate([[0.0], np.logspace(-3, T_MAX_EXP, point["n_times"]), [np.inf]])
    flow = linpc.inference_interpolation(net, x, y, t)
    out = {"t": t, "lambda_min": eig.lambda_min, "lambda_max": eig.lambda_max,
           "cos_bp": flow.cosine_bp, "cos_eq": np.array([cosine_similarity(g, g_star)
                                                         for g in flow.gradients])}
    out["dist"] = np.linalg.norm(flow.gradients - g_star, axis=1)
    out["bound"] = bounds(np.exp(-lam_min * t))
    out["g_star_norm"] = float(np.linalg.norm(g_star))
    out["cos_bp_t0_theory"] = float(np.linalg.norm(g_bp.weights[-1]) / g_bp.norm())
    out["cos_bp_inf_theory"] = cosine_similarity(g_star, g_bp.flat())

    # Euler with η = 1/λ_max (the largest step whose iteration matrix I − ηH_z is PSD), at most
    # point["euler_steps"] steps (linpc's Euler route costs one H_z product per step)
    eta = 1.0 / eig.lambda_max
    T_max = min(10.0**T_MAX_EXP / eta, point["euler_steps"])
    T = np.unique(np.round(np.logspace(0, np.log10(T_max), point["n_times"] // 2)))
    eul = linpc.inference_interpolation(net, x, y, T, step_size=eta)
    rho = max(abs(1 - eta * lam_min), abs(1 - eta * (eig.lambda_max + eig.error_max)))
    out.update({"euler_t": T * eta, "euler_cos_bp": eul.cosine_bp,
                "euler_cos_eq": np.array([cosine_similarity(g, g_star) for g in eul.gradients]),
                "euler_dist": np.linalg.norm(eul.gradients - g_star, axis=1),
                # rounding in step s is contracted by the later steps: factor (1 + T·k·eps)
                "euler_bound": bounds(rho**T * (1 + roundoff_tolerance(n) * T))})

    # t = 0: hidden layers exactly 0, last layer λ∇_{W_L}ℒ
    g0 = linpc.ParameterArrays.from_flat(net, flow.gradients[0])
    out["t0_hidden_max"] = float(max(np.max(np.abs(w)) for w in g0.weights[:-1]))
    r = net.residual(x, y)
    zH = net.forward(x)[-2]
    mag = (net.scalings[-1] * net.output_precision / B
           * np.sum(np.linalg.norm(r, axis=1) * np.linalg.norm(zH, axis=1)))
    out["t0_last_error"] = float(np.linalg.norm(g0.weights[-1]
                                                - net.output_precision * g_bp.weights[-1]) / mag)

    # decomposition at Δ(t): norms of the terms, and sum vs g(t)
    terms = {"bp": [], "tr_step": [], "curvature": [], "stationarity": []}
    sum_err = []
    for k in range(t.size):
        dec = linpc.weight_gradient_decomposition(net, x, y, step=flow.steps[k])
        parts = {name: getattr(dec, name).flat() for name in terms}
        for name, v in parts.items():
            terms[name].append(np.linalg.norm(v))
        scale = sum(np.linalg.norm(v) for v in parts.values())
        sum_err.append(np.linalg.norm(dec.total().flat() - flow.gradients[k]) / scale)
    for name, v in terms.items():
        out[f"term_{name}"] = np.array(v)
    out["sum_error"] = np.array(sum_err)
    out["g_norm"] = np.linalg.norm(flow.gradients, axis=1)
    dec_star = linpc.weight_gradient_decomposition(net, x, y)
    out["sum_star_error"] = float(np.linalg.norm(dec_star.total().flat() - g_star))
    out["sum_star_bound"] = float(bounds(np.array([0.0]))[0])
    out["k_ops"] = k_ops
    return out


def make(ctx) -> list[Check]:
    from matplotlib.lines import Line2D

    from linpc.reproduce import Grid
    from linpc.reproduce.plotting import COLORS, new_figure

    width, n_times, euler_steps = (16, 31, 1000) if ctx.quick else (32, 61, 5000)
    grid = Grid.product({"param": list(PARAMS), "H": list(DEPTHS)},
                        fixed={"width": width, "n_times": n_times, "euler_steps": euler_steps})
    res = ctx.sweep("tr_gradient_interpolation", interpolation_point, grid, version="1")

    worst_ratio, worst_t0, worst_sum, worst_star, k_max = 0.0, 0.0, 0.0, 0.0, 1
    for p in grid.points():
        r = res.lookup(param=p["param"], H=p["H"])
        worst_ratio = max(worst_ratio, float(np.max(r["dist"] / r["bound"])),
                          float(np.max(r["euler_dist"] / r["euler_bound"])))
        worst_t0 = max(worst_t0, float(r["t0_last_error"]))
        worst_sum = max(worst_sum, float(np.max(r["sum_error"])))
        worst_star = max(worst_star, float(r["sum_star_error"] / r["sum_star_bound"]))
        k_max = max(k_max, int(r["k_ops"]))
        if r["t0_hidden_max"] != 0.0:
            worst_t0 = np.inf

    depth_colors = {1: COLORS["bp"], 3: COLORS["pc_exact"], 7: COLORS["pc"]}
    fig, axes = new_figure(2, 3, width=7.0, height=4.8, sharex=True)
    for i, param in enumerate(PARAMS):
        for H in DEPTHS:
            r = res.lookup(param=param, H=H)
            t, col = r["t"], depth_colors[H]
            sl = slice(1, -1)                                  # finite t > 0 on the log axis
            ax = axes[i][0]
            ax.plot(t[sl], r["cos_bp"][sl], color=col)
            ax.plot(t[sl], r["cos_eq"][sl], color=col, ls="--")
            ax.plot(r["euler_t"], r["euler_cos_bp"], "o", color=col, ms=2.2, mfc="none",
                    mew=0.6)
            ax.plot(t[1], r["cos_bp_t0_theory"], ">", color=col, ms=5, mec="k", mew=0.4,
                    clip_on=False)
            ax.plot(t[-2], r["cos_bp_inf_theory"], "<", color=col, ms=5, mec="k", mew=0.4,
                    clip_on=False)
            ax = axes[i][1]
            nrm = r["g_star_norm"]
            ax.loglog(t[sl], r["dist"][sl] / nrm, color=col)
            ax.loglog(t[sl], r["bound"][sl] / nrm, color=col, ls=":", lw=1.0)
            ax.loglog(r["euler_t"], r["euler_dist"] / nrm, "o", color=col, ms=2.2, mfc="none",
                      mew=0.6)
        ax = axes[i][0]
        ax.set_xscale("log")
        ax.set_ylim(-0.05, 1.05)
        ax.set_ylabel(f"{'SP' if param == 'sp' else 'μPC'}\ncosine similarity")
        axes[i][1].set_ylabel("‖g(t) − ∇F*‖ / ‖∇F*‖")
        axes[i][1].set_ylim(1e-14, 1e1)
        r = res.lookup(param=param, H=3)
        ax = axes[i][2]
        nrm = r["g_star_norm"]
        for name, col, lab in (("bp", COLORS["bp"], "BP term λ∇ℒ"),
                               ("tr_step", COLORS["pc"], "TR step (∂g_z/∂θ)ᵀΔ"),
                               ("curvature", COLORS["pc_exact"], "curvature ½Δᵀ∂H_zΔ"),
                               ("stationarity", COLORS["other"], "stationarity")):
            ax.loglog(r["t"][1:-1], r[f"term_{name}"][1:-1] / nrm, color=col, label=lab)
        ax.loglog(r["t"][1:-1], r["g_norm"][1:-1] / nrm, color="k", lw=0.9, ls="--",
                  label="‖g(t)‖ (their sum)")
        ax.set_ylabel("‖term‖ / ‖∇F*‖   (H = 3)")
        ax.set_ylim(1e-4, 1e1)
    axes[0][0].set_title("cosine of g(t) with ∇ℒ (BP) and ∇F*", fontsize=8)
    axes[0][1].set_title("distance of g(t) to ∇F*", fontsize=8)
    axes[0][2].set_title("g(t) = BP + TR step + curvature + stationarity", fontsize=8)
    h_handles = [Line2D([], [], color=depth_colors[H]) for H in DEPTHS]
    axes[0][1].legend(h_handles, [f"H = {H}" for H in DEPTHS], loc="lower left", fontsize=6.5)
    grey = "0.35"
    axes[1][0].legend(
        [Line2D([], [], color=grey), Line2D([], [], color=grey, ls="--"),
         Line2D([], [], color=grey, ls="", marker="o", mfc="none", ms=3),
         Line2D([], [], color=grey, ls="", marker=">", mec="k", ms=4),
         Line2D([], [], color=grey, ls="", marker="<", mec="k", ms=4)],
        ["cos(g(t), ∇ℒ)", "cos(g(t), ∇F*)", "Euler, η = 1/λ_max, t = Tη",
         r"theory t = 0: $\|\nabla_{W_L}\mathcal{L}\|/\|\nabla\mathcal{L}\|$",
         "theory t = ∞: cos(∇F*, ∇ℒ)"],
        loc="lower right", fontsize=5.5, handlelength=1.5)
    axes[1][1].legend(
        [Line2D([], [], color=grey), Line2D([], [], color=grey, ls=":"),
         Line2D([], [], color=grey, ls="", marker="o", mfc="none", ms=3)],
        ["gradient flow", r"bound ($e^{-\lambda_{\min} t}$)", "Euler"], loc="lower left",
        fontsize=6)
    axes[0][2].legend(loc="lower left", fontsize=6)
    for ax in axes[1]:
        ax.set_xlabel("inference time t")
    ctx.save(fig)

    return [
        Check("‖g(t) − ∇F*‖ / bound(t), flow (e^{−λ_min t}) and Euler (ρ^T), all t, nets",
              worst_ratio, 1.0,
              "propagation of ‖z(t) − z*‖ ≤ e^{−λ_min t}‖ẑ − z*‖ through the exact gradient "
              "difference (module docstring, check 1), with 2·solve_tolerance(κ, n)‖z*‖ and "
              "roundoff_tolerance of the summed magnitudes"),
        Check("t = 0: ‖g_L(0) − λ∇_{W_L}ℒ‖ / Σ_i‖r_i‖‖ẑ_H,i‖ (hidden layers exactly 0)",
              worst_t0, roundoff_tolerance(BATCH + width),
              "round-off SAFETY·k·eps, k = B + N (one product and a batch sum)"),
        Check("BP + TR + curvature + stationarity terms vs g(t): max ‖sum − g(t)‖ / Σ‖terms‖",
              worst_sum, roundoff_tolerance(k_max),
              "round-off SAFETY·k·eps, k = B + L·max n (backpropagation chain and batch sum)"),
        Check("terms at Δ* vs ∇F* (Gaussian route): ‖sum − ∇F*‖ / bound(∞)", worst_star, 1.0,
              "check-1 bound at t = ∞ (round-off only)"),
    ]


if __name__ == "__main__":
    raise SystemExit(figure_main(SPEC, make))
