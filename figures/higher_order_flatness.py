"""Thesis "higher-order information": at the origin saddle of a deep linear network the MSE is flat
to order H + 1, the equilibrated energy only to order 2 (Innocenti, PhD thesis arXiv:2510.23323,
abstract; P1 arXiv:2408.11979 and blog B2: "order-flatness equals the number of hidden layers";
blog B4; docs/theory.md §5.1, §3.1–3.2).

Along ``θ = εV`` (plain network, no biases, λ = 1, unit random direction ``V``):

    ℒ(εV) − ℒ(0)   = −ε^{H+1} tr(V_{L:1}Σ_xy) + ½ε^{2(H+1)} tr(V_{L:1}Σ_xxV_{L:1}ᵀ)      (§3.1)
    F*(εV) − F*(0) = ε²c_2 + O(ε³),  c_2 = −λtr(V_2V_1Σ_xy)[H = 1] − (λ²/2)tr(V_LᵀΣ_yyV_L)  (§3.2)
    ‖∇ℒ(εV)‖ = Θ(ε^H),    ‖∇F*(εV)‖ = ε‖∇²F*(0)V‖ + O(ε²) = Θ(ε).

The plot shows the four quantities against ε on log–log axes for H = 1..4 (toy Gaussian data
``x ~ N(1, 0.1²)``, ``y = −x`` in d = 2, width 3, B = 64: P1's toy setting), measured in closed
form without cancellation: ``ℒ(εV) − ℒ(0) = ⟨½‖ŷ‖² − yᵀŷ⟩`` and, with ``Q`` from
``linpc.landscape.rescaling_series_matrix``, ``F* − F*(0) = λ(ℒ − ℒ(0)) − (λ²/2)⟨rᵀQ(I + λQ)⁻¹r⟩``
(Theorem 1 rearranged); gradients from ``linpc.mse_gradient`` and the envelope-theorem
``linpc.equilibrated_energy_gradient``.

Exact series (an independent algorithm: power-series arithmetic): ``c_k`` of ℒ and F* along V from
``linpc.directional_taylor_coefficients``; the vector coefficients ``G_k`` of
``∇f(εV) = Σ_k ε^kG_k`` by polarisation — ``⟨G_k, e_j⟩`` is the coefficient of ``β¹`` in the
degree-(k+1) polynomial ``β ↦ c_{k+1}(V + βe_j)``, interpolated exactly at ``k + 2`` or more
Chebyshev nodes.

Checks (each fails if the theory or linpc were wrong):

1. **slopes.** With leading order ``p`` and ``m(ε) = |c_p|ε^p(1 + ρ(ε))``,
   ``|ρ(ε)| ≤ r(ε) = Σ_{p<k≤K}|c_k/c_p|ε^{k−p}`` (+ the last term again as a tail allowance; for
   gradients ``‖G_k‖/‖G_p‖``), the least-squares slope over ``x_j = log ε_j`` deviates from ``p`` by
   at most ``max_j(−log(1 − r_j) + η_j)·Σ_j|x_j − x̄| / Σ_j(x_j − x̄)²`` (``η_j``: round-off of the
   measured value, ``roundoff_tolerance`` times the condition number of its batch sums).
   Reported as the worst ratio |slope − p| / bound over H and directions.
2. **values vs the exact series** (leading coefficient and all higher terms): the measured
   ``m(ε)`` equals ``|Σ_{1≤k≤K}c_kε^k|`` (``‖Σ_{k<K'}G_kε^k‖`` for gradients) up to the last
   computed term (a tail allowance; zero for ℒ, which is a polynomial of degree 2L) and the
   round-off of both routes.
3. **exact coefficients vs docs/theory.md closed forms**: ``c_{H+1}(ℒ) = −tr(V_{L:1}Σ_xy)``,
   ``c_2(F*)`` above, ``G_1(F*) = ∇²F*(0)V`` (``linpc.landscape.origin_hessians``) and
   ``G_H(ℒ)_l = −V_{L:l+1}ᵀΣ_yxV_{l−1:1}ᵀ`` (the gradient of ``−tr(V_{L:1}Σ_xy)``); round-off
   tolerance, amplified for the polarised vectors by ``‖vander⁻¹‖_∞·√P``.
4. **activity route.** ``F*(εV)`` from the block-Cholesky equilibrium (``linpc.solve_equilibrium``,
   no use of Theorem 1) equals ``F*(0) + (F*(εV) − F*(0))`` measured above, within
   ``2·solve_tolerance(κ, n)·F*(0)``.
"""

from __future__ import annotations

from functools import reduce

import numpy as np

import linpc
from linpc.data import second_moments, toy_gaussian
from linpc.landscape import origin_hessians, origin_network
from linpc.numerics import roundoff_tolerance, solve_tolerance
from linpc.reproduce import Check, FigureSpec, figure_main

SPEC = FigureSpec(
    name="higher_order_flatness",
    title="orders of flatness at the origin: ℒ ~ ε^{H+1}, F* ~ ε²; ‖∇ℒ‖ ~ ε^H, ‖∇F*‖ ~ ε",
    source="thesis (P4) abstract 'arbitrarily higher-order information'; P1/blog B2; "
           "docs/theory.md §5",
    check="log–log slopes vs H+1, 2, H, 1 (tolerance from the exact higher Taylor terms); measured "
          "values vs the exact Taylor series; leading coefficients vs docs/theory.md closed forms; "
          "F* by the activity route",
    runtime="quick ≈ 4 s / full ≈ 10 s",
    data="synthetic toy Gaussian x ~ N(1, 0.1²), y = −x, d = 2, B = 64 (P1's toy setting)",
)

DIM, WIDTH, BATCH, DATA_SEED = 2, 3, 64, 0
DEPTHS = (1, 2, 3, 4)
LAMBDA = 1.0
QUANTITIES = ("loss", "energy", "loss_gradient", "energy_gradient")
LABELS = {"loss": "|ℒ(εV) − ℒ(0)|", "energy": "|F*(εV) − F*(0)|",
          "loss_gradient": "‖∇ℒ(εV)‖", "energy_gradient": "‖∇F*(εV)‖"}
#: the same without ASCII "|" (report tables use it as a separator)
CHECK_LABELS = {"loss": "ℒ(εV) − ℒ(0)", "energy": "F*(εV) − F*(0)",
                "loss_gradient": "‖∇ℒ(εV)‖", "energy_gradient": "‖∇F*(εV)‖"}
THEORY = {"loss": r"$\propto\varepsilon^{H+1}$", "energy": r"$\propto\varepsilon^{2}$",
          "loss_gradient": r"$\propto\varepsilon^{H}$", "energy_gradient": r"$\propto\varepsilon$"}


def predicted_order(quantity: str, H: int) -> int:
    """docs/theory.md §5.1: H + 1, 2, H, 1."""
    return {"loss": H + 1, "energy": 2, "loss_gradient": H, "energy_gradient": 1}[quantity]


def toy_data():
    return toy_gaussian(BATCH, DIM, sign=-1.0, rng=DATA_SEED)


def origin(H: int) -> linpc.LinearPCN:
    return origin_network([DIM] + [WIDTH] * H + [DIM], output_energy_scaling=LAMBDA)


def _ops(net: linpc.LinearPCN) -> int:
    """Length of the longest operation chain of a measured value: batch sum + layer products."""
    return BATCH + net.n_layers * max(net.widths)


def measured(net: linpc.LinearPCN, x, y) -> tuple[dict, dict]:
    """Increments and gradient norms at ``net`` (= εV), and their relative round-off levels."""
    lam = net.output_precision
    zs = net.forward(x)
    yhat = zs[-1]
    dL = float(np.mean(0.5 * np.sum(yhat * yhat, axis=1) - np.sum(y * yhat, axis=1)))
    magL = float(np.mean(0.5 * np.sum(yhat * yhat, axis=1) + np.sum(np.abs(y * yhat), axis=1)))
    Q = linpc.landscape.rescaling_series_matrix(net)
    r = y - yhat
    u = np.linalg.solve(np.eye(net.d_y) + lam * Q, r.T)         # (I + λQ)⁻¹r
    Qu = Q @ u
    corr = float(np.mean(np.sum(Qu * r.T, axis=0)))
    magQ = float(np.mean(np.sum(np.abs(Qu * r.T), axis=0)))
    dF = lam * dL - 0.5 * lam * lam * corr
    # gradient norms and the magnitudes of their batch sums
    gL = linpc.mse_gradient(net, x, y)
    Ps = net.output_maps()
    magGL = np.linalg.norm([net.scalings[l - 1] / BATCH
                            * np.sum(np.linalg.norm(r @ Ps[l], axis=1)
                                     * np.linalg.norm(zs[l - 1], axis=1))
                            for l in range(1, net.n_layers + 1)])
    eq = linpc.solve_equilibrium(net, x, y, method="gaussian")
    gF = linpc.equilibrated_energy_gradient(net, x, y, equilibrium=eq)
    za = [x, *eq.activities, y]
    magGF = np.linalg.norm([net.scalings[l - 1] * net.precisions[l - 1] / BATCH
                            * np.sum(np.linalg.norm(za[l] - net.predict_layer(l, za[l - 1]),
                                                    axis=1) * np.linalg.norm(za[l - 1], axis=1))
                            for l in range(1, net.n_layers + 1)])
    vals = {"loss": abs(dL), "energy": abs(dF), "loss_gradient": gL.norm(),
            "energy_gradient": gF.norm(), "energy_signed": dF}
    k = roundoff_tolerance(_ops(net))
    cond = {"loss": k * magL / abs(dL), "energy": k * (lam * magL + 0.5 * lam * lam * magQ)
            / abs(dF), "loss_gradient": k * magGL / vals["loss_gradient"],
            "energy_gradient": k * magGF / vals["energy_gradient"]}
    return vals, cond


def chebyshev_nodes(n: int) -> np.ndarray:
    """``n`` Chebyshev points of the first kind in [−1, 1]."""
    return np.cos(np.pi * (np.arange(n) + 0.5) / n)


def gradient_series(net0: linpc.LinearPCN, x, y, V: list[np.ndarray], order: int
                    ) -> tuple[np.ndarray, np.ndarray, float, np.ndarray, np.ndarray]:
    """Vector Taylor coefficients ``G_k`` (k = 0..order−1) of ``∇ℒ(εV)`` and ``∇F*(εV)``.

    ``⟨G_k, e_j⟩`` = coefficient of ``β¹`` in ``c_{k+1}(V + βe_j)`` (a polynomial of degree
    ``k + 1`` in β), from exact interpolation at ``order + 1`` Chebyshev nodes in [−1, 1].

    Returns ``G_loss``, ``G_energy`` (shape ``(order, P)``), the ∞-norm of the inverse Vandermonde
    matrix (the amplification of errors in the ``c_k(β_m)``) and the largest ``|c_{k+1}(β_m)|``
    per ``k`` for ℒ and F* (the scale of those errors).
    """
    nodes = chebyshev_nodes(order + 1)
    vander = np.vander(nodes, order + 1, increasing=True)
    amp = float(np.linalg.norm(np.linalg.inv(vander), np.inf))  # 9–11 × 9–11 reference matrix
    sizes = [W.size for W in V]
    P = sum(sizes)
    flatV = np.concatenate([v.ravel() for v in V])
    GL = np.zeros((order, P))
    GF = np.zeros((order, P))
    magL = np.zeros(order)
    magF = np.zeros(order)
    for j in range(P):
        cL = np.zeros((order + 1, order + 1))
        cF = np.zeros((order + 1, order + 1))
        for m, beta in enumerate(nodes):
            d = flatV.copy()
            d[j] += beta
            dirs = np.split(d, np.cumsum(sizes)[:-1])
            ex = linpc.directional_taylor_coefficients(
                net0, x, y, [a.reshape(W.shape) for a, W in zip(dirs, V, strict=True)], order)
            cL[m], cF[m] = ex.loss, ex.energy
        coefL = np.linalg.solve(vander, cL)              # [power of β, power of ε]
        coefF = np.linalg.solve(vander, cF)
        GL[:, j] = coefL[1, 1:]
        GF[:, j] = coefF[1, 1:]
        magL = np.maximum(magL, np.max(np.abs(cL[:, 1:]), axis=0))
        magF = np.maximum(magF, np.max(np.abs(cF[:, 1:]), axis=0))
    return GL, GF, amp, magL, magF


def relative_tail(coefs: np.ndarray, p: int, eps: np.ndarray) -> np.ndarray:
    """``r(ε) = Σ_{p<k≤K}|c_k/c_p|ε^{k−p}`` plus the last term again (tail allowance)."""
    c = np.abs(np.asarray(coefs, dtype=np.float64)) / abs(coefs[p])
    K = c.size - 1
    ks = np.arange(p + 1, K + 1)
    terms = c[ks][None, :] * eps[:, None] ** (ks - p)[None, :]
    return terms.sum(axis=1) + terms[:, -1]


def slope_bound_factor(x: np.ndarray) -> float:
    """``Σ|x_j − x̄| / Σ(x_j − x̄)²``: LS-slope change per unit of max |perturbation of log m|."""
    d = x - x.mean()
    return float(np.sum(np.abs(d)) / np.sum(d * d))


def flatness_point(point: dict, rng: np.random.Generator) -> dict:
    """One depth and one random direction: measured curves, exact series, closed forms."""
    H = point["H"]
    x, y = toy_data()
    net0 = origin(H)
    L = net0.n_layers
    V = [rng.standard_normal(W.shape) for W in net0.weights]
    nrm = np.sqrt(sum(float(np.sum(v * v)) for v in V))
    V = [v / nrm for v in V]
    eps = np.logspace(point["log_eps_min"], point["log_eps_max"], point["n_eps"])
    out: dict = {"eps": eps}
    vals = {q: np.zeros(eps.size) for q in QUANTITIES}
    conds = {q: np.zeros(eps.size) for q in QUANTITIES}
    act_err, act_tol = 0.0, 0.0
    F0 = LAMBDA * 0.5 * float(np.mean(np.sum(y * y, axis=1)))        # F*(0) = λℒ(0)
    for j, e in enumerate(eps):
        net = net0.replace(weights=[e * v for v in V])
        v_j, c_j = measured(net, x, y)
        for q in QUANTITIES:
            vals[q][j], conds[q][j] = v_j[q], c_j[q]
        eq = linpc.solve_equilibrium(net, x, y, method="cholesky")
        act_err = max(act_err, abs(eq.energy - (F0 + v_j["energy_signed"])))
        act_tol = max(act_tol, 2 * solve_tolerance(eq.condition_number, net.n_activities) * F0)
    for q in QUANTITIES:
        out[q], out[f"{q}_roundoff"] = vals[q], conds[q]
    order = max(2 * L, 12)
    ex = linpc.directional_taylor_coefficients(net0, x, y, V, order)
    out["c_loss"], out["c_energy"] = ex.loss, ex.energy
    GL, GF, amp, magL, magF = gradient_series(net0, x, y, V, max(2 * L, 8))
    out["G_loss_norms"] = np.linalg.norm(GL, axis=1)
    out["G_energy_norms"] = np.linalg.norm(GF, axis=1)
    # the exact series evaluated on the ε grid, with their round-off levels (relative)
    tol = roundoff_tolerance(_ops(net0))
    pw = eps[:, None] ** np.arange(order + 1)[None, :]
    for q, c in (("loss", ex.loss), ("energy", ex.energy)):
        T = np.abs(pw[:, 1:] @ c[1:])
        out[f"{q}_series"] = T
        out[f"{q}_series_roundoff"] = tol * (np.abs(pw[:, 1:]) @ np.abs(c[1:])) / T
        out[f"{q}_series_tail"] = np.abs(c[-1]) * eps**order / T
    Kg = GL.shape[0]
    pg = eps[:, None] ** np.arange(Kg)[None, :]
    for q, G, mag in (("loss_gradient", GL, magL), ("energy_gradient", GF, magF)):
        T = np.linalg.norm(pg @ G, axis=1)
        out[f"{q}_series"] = T
        out[f"{q}_series_roundoff"] = (tol * amp * np.sqrt(G.shape[1]) * (pg @ mag)
                                       + tol * (pg @ np.linalg.norm(G, axis=1))) / T
        out[f"{q}_series_tail"] = np.linalg.norm(G[-1]) * eps ** (Kg - 1) / T
    out["activity_error"], out["activity_tolerance"] = act_err, act_tol

    # closed forms of docs/theory.md §3.1–3.2 (a_l = 1, λ = 1)
    mom = second_moments(x, y)
    VL1 = np.linalg.multi_dot(V[::-1])
    cp_loss = -float(np.trace(VL1 @ mom.xy))
    cp_energy = -0.5 * LAMBDA**2 * float(np.trace(V[-1].T @ mom.yy @ V[-1]))
    if H == 1:
        cp_energy -= LAMBDA * float(np.trace(V[1] @ V[0] @ mom.xy))
    G1_energy = origin_hessians(net0, x, y).energy @ np.concatenate([v.ravel() for v in V])
    GH_loss = []
    for l in range(1, L + 1):
        left = reduce(np.matmul, V[l:][::-1], np.eye(DIM))                 # V_{L:l+1}
        right = reduce(np.matmul, V[:l - 1][::-1], np.eye(V[l - 1].shape[1]))  # V_{l−1:1}
        GH_loss.append(-(left.T @ mom.yx @ right.T).ravel())
    GH_loss = np.concatenate(GH_loss)
    # errors relative to their round-off tolerances: series coefficients carry ≲ k·eps of the
    # magnitudes summed in them; the polarised ones are amplified by ‖vander⁻¹‖_∞ (√P for norms)
    tol = roundoff_tolerance(_ops(net0))
    P = net0.n_parameters
    out["closed_form_ratios"] = np.array([
        abs(ex.loss[H + 1] - cp_loss) / (tol * np.linalg.norm(VL1) * np.linalg.norm(mom.xy)),
        abs(ex.energy[2] - cp_energy) / (tol * (np.linalg.norm(mom.yy)
                                                + (np.linalg.norm(mom.xy) if H == 1 else 0.0))),
        np.linalg.norm(GF[1] - G1_energy) / (tol * amp * np.sqrt(P) * magF[1]),
        np.linalg.norm(GL[H] - GH_loss) / (tol * amp * np.sqrt(P) * magL[H])])
    return out


def analyse(r: dict, H: int) -> dict:
    """Fitted slopes and their bounds, and the values-vs-series ratios of one sweep point."""
    eps = r["eps"]
    le = np.log(eps)
    fac = slope_bound_factor(le)
    out = {}
    for q in QUANTITIES:
        p = predicted_order(q, H)
        if q in ("loss", "energy"):
            coefs = r[f"c_{q}"]
        else:
            coefs = r[f"G_{q.split('_')[0]}_norms"]
        tail = relative_tail(coefs, p, eps)
        eta = r[f"{q}_roundoff"]
        if np.any(tail + eta >= 1):
            raise ValueError(f"H = {H}, {q}: the higher Taylor terms are not small on the fitted ε "
                             f"range (r = {np.max(tail):.3g}); lower the ε range")
        slope = float(np.polyfit(le, np.log(r[q]), 1)[0])
        bound = float(np.max(-np.log1p(-tail) + eta)) * fac
        series_err = np.abs(r[q] / r[f"{q}_series"] - 1.0)
        series_tol = r[f"{q}_series_tail"] + r[f"{q}_series_roundoff"] + eta
        out[q] = {"slope": slope, "p": p, "slope_ratio": abs(slope - p) / bound,
                  "slope_bound": bound, "leading": abs(float(coefs[p])),
                  "series_ratio": float(np.max(series_err / series_tol)),
                  "series_error": float(np.max(series_err))}
    return out


def make(ctx) -> list[Check]:
    from linpc.reproduce import Grid
    from linpc.reproduce.plotting import COLORS, new_figure

    n_dir = 1 if ctx.quick else 3
    n_eps = 7 if ctx.quick else 13
    grid = Grid.product({"H": list(DEPTHS), "direction": list(range(n_dir))},
                        fixed={"log_eps_min": -3.0, "log_eps_max": -1.0, "n_eps": n_eps})
    res = ctx.sweep("higher_order_flatness", flatness_point, grid, version="1")

    analysis = {(p["H"], p["direction"]): analyse(res.lookup(H=p["H"], direction=p["direction"]),
                                                 p["H"]) for p in grid.points()}
    colors = {1: COLORS["bp"], 2: COLORS["pc_exact"], 3: COLORS["extra"], 4: COLORS["pc"]}
    fig, axes = new_figure(2, 2, width=6.0, height=5.0, sharex=True)
    for ax, q in zip(axes.ravel(), QUANTITIES, strict=True):
        for H in DEPTHS:
            r = res.lookup(H=H, direction=0)
            a = analysis[(H, 0)][q]
            slopes = [analysis[(H, d)][q]["slope"] for d in range(n_dir)]
            rng_txt = (f"{slopes[0]:.3f}" if n_dir == 1
                       else f"{min(slopes):.3f}–{max(slopes):.3f}")
            ax.loglog(r["eps"], r[q], "o", color=colors[H], ms=3.5,
                      label=f"H = {H}: slope {rng_txt} (theory {a['p']})")
            ax.loglog(r["eps"], a["leading"] * r["eps"] ** a["p"], "--", color=colors[H], lw=0.8)
        ax.set_title(f"{LABELS[q]}   {THEORY[q]}", fontsize=8)
        # leave free room for the legend: above the data (F*, rising to the right) or below (ℒ)
        data = np.concatenate([res.lookup(H=H, direction=0)[q] for H in DEPTHS])
        lo, hi = np.log10(data.min()), np.log10(data.max())
        span = hi - lo
        if q.startswith("energy"):
            ax.set_ylim(10 ** (lo - 0.05 * span), 10 ** (hi + 0.6 * span))
        else:
            ax.set_ylim(10 ** (lo - 0.65 * span), 10 ** (hi + 0.05 * span))
        ax.legend(loc="upper left" if q.startswith("energy") else "lower right", fontsize=6)
    for ax in axes[1]:
        ax.set_xlabel("ε   (θ = εV, ‖V‖ = 1)")
    axes[0][0].set_ylabel("increment at the origin")
    axes[1][0].set_ylabel("gradient norm")
    axes[0][0].plot([], [], "k--", lw=0.8, label=r"exact leading term $|c_p|\varepsilon^p$")
    axes[0][0].legend(loc="lower right", fontsize=6)
    ctx.save(fig)

    checks = []
    for q in QUANTITIES:
        worst = max(analysis[k][q]["slope_ratio"] for k in analysis)
        wk = max(analysis, key=lambda k: analysis[k][q]["slope_ratio"])
        a = analysis[wk][q]
        order = {"loss": "H+1", "energy": "2", "loss_gradient": "H", "energy_gradient": "1"}[q]
        checks.append(Check(
            f"log–log slope of {CHECK_LABELS[q]} vs {order}: worst abs(slope − p) / bound over "
            "H, V",
            worst, 1.0,
            "LS-slope bound from the exact higher Taylor terms over ε ∈ [1e-3, 1e-1] (module "
            f"docstring, check 1); worst case H = {wk[0]}: abs(slope − p) = "
            f"{abs(a['slope'] - a['p']):.2g}, bound {a['slope_bound']:.2g}"))
    worst_ser = max(((k, q) for k in analysis for q in QUANTITIES),
                    key=lambda kq: analysis[kq[0]][kq[1]]["series_ratio"])
    a = analysis[worst_ser[0]][worst_ser[1]]
    checks.append(Check(
        "measured values (closed form, envelope gradient) vs exact Taylor series Σ_k c_kε^k "
        "(‖Σ_k G_kε^k‖): worst relative error / tolerance", a["series_ratio"], 1.0,
        "last series term (tail allowance; 0 for ℒ, a polynomial) + round-off of both routes; "
        f"worst: H = {worst_ser[0][0]}, {CHECK_LABELS[worst_ser[1]]}, relative error "
        f"{a['series_error']:.2g}"))
    cf = [res.lookup(H=p["H"], direction=p["direction"]) for p in grid.points()]
    checks.append(Check(
        "exact series coefficients vs docs/theory.md closed forms (c_{H+1}(ℒ), c_2(F*), ∇²F*(0)V, "
        "G_H(ℒ)): worst error / round-off tolerance",
        max(float(np.max(r["closed_form_ratios"])) for r in cf), 1.0,
        "roundoff_tolerance(B + L·max n) of the summed magnitudes; polarised vectors × "
        "‖vander⁻¹‖_∞·√P (interpolation at Chebyshev nodes)"))
    checks.append(Check(
        "F*(εV) by block Cholesky (activity route) vs F*(0) + measured increment: worst abs error",
        max(float(r["activity_error"]) for r in cf),
        min(float(r["activity_tolerance"]) for r in cf),
        "2·solve_tolerance(κ(H_z), n)·F*(0) (SAFETY·κ·n·eps)"))
    return checks


if __name__ == "__main__":
    raise SystemExit(figure_main(SPEC, make))
