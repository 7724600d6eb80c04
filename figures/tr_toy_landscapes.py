"""P2 toy model: the MSE landscape, the energy landscape during inference, and the equilibrated
energy, with BP and PC gradient-descent trajectories (Innocenti, Singh & Buckley, arXiv:2305.18188;
blog B1 figures ``bp_loss_land``, ``pc_energy_infer_dynamics``, ``pc_energy_land``; docs/theory.md
§4.3 and the P2 row of §7).

Model ``f(x) = w_2w_1x`` (one hidden unit, no biases, λ = 1), data ``x ~ N(1, 0.1²)``,
``y = −x`` (P1's sign), one fixed batch of ``B = 64``, so the landscapes are deterministic
functions of ``(w_1, w_2)``. With ``s_xx = ⟨x²⟩``, ``s_xy = ⟨xy⟩``, ``s_yy = ⟨y²⟩`` (uncentred):

* ``ℒ(w) = ½⟨(y − w_2w_1x)²⟩``,   ``F*(w) = ℒ(w)/(λ⁻¹ + w_2²)`` (docs/theory.md §2.3);
* inference is the gradient flow ``dz/dt = −∂F/∂z`` from the feedforward pass ``ẑ = w_1x``. The
  activity Hessian is the scalar ``H_z = 1 + λw_2²`` (§1.2), so ``z(t) − z* = e^{−tH_z}(ẑ − z*)``
  and, per sample and hence for the batch mean,

      F(z(t); w) = F*(w) + e^{−2(1 + λw_2²)t} (λℒ(w) − F*(w))                         (1)

  (§1.3: ``F(z) − F* = ½(z − z*)ᵀH_z(z − z*)``). The energy landscape seen by the weights therefore
  moves from ``λℒ`` (``t = 0``) to ``F*`` (``t = ∞``). At the origin (derived from (1) and §3.2,
  λ = 1): ``λℒ − F* = ½s_yy w_2² + O(‖w‖⁴)``, hence

      ∇²F(z(t); ·)(0) = ∇²ℒ(0) − (1 − e^{−2t}) diag(0, s_yy),  ∇²ℒ(0) = −[[0, s_xy], [s_xy, 0]]  (2)

  — inference flattens the trap direction (positive eigenvalue |s_xy| → |s_xy|/φ for ``y = ±x``)
  and steepens the escape direction (−|s_xy| → −φ|s_xy|), φ the golden ratio.
* BP is gradient descent on ℒ (``linpc.mse_gradient``), PC gradient descent on ``F*`` (the PC
  weight gradient at the exact equilibrium, ``linpc.equilibrated_energy_gradient``), from the
  same starts (``‖w_0‖ = 10⁻³``, and a point near ℒ's trap line ``w_1 = w_2`` that draws BP
  towards the saddle), same step ``η = 0.1``.

Panels: the four surfaces (white dashed: the global minima ``w_1w_2 = −1``; white dotted: the
level set through the saddle value ``λℒ(0)``; ×: the saddle), with the BP trajectories on ℒ and
the PC trajectories on ``F*``; slices along ℒ's trap and escape eigenvectors at the four times with
the quadratic models of (2); the training losses; and the escape steps against the start scale.

Checks (each fails if the theory or linpc were wrong):

1. every plotted surface value ``F(z(t); w)`` — computed by linpc's exact gradient flow
   (``gradient_flow_activities``: ``expm_multiply`` on the activity Hessian) and ``linpc.energy``,
   or by ``linpc.equilibrated_energy`` at ``t = ∞`` — equals the scalar closed form (1), to
   round-off relative to the magnitudes of the intermediate quantities. (1) is the contraction
   bound ``F(z(t)) − F* ≤ e^{−2λ_min(H_z)t}(F(ẑ) − F*)`` of §1.3, attained for one hidden unit;
2. the Hessian of each plotted surface at the origin, by ``scipy.differentiate.hessian`` of
   linpc's values, equals (2) (``t = 0``: ∇²ℒ(0); ``t = ∞``: ∇²F*(0) of §3.2, the matrices of
   ``linpc.dynamics.shallow_escape_prediction``);
3. saddle escape: from ``w_0 = εu`` the component ``p_t = ⟨w_t, v⟩`` along the bottom eigenvector
   ``v`` of the respective origin Hessian grows by ``g = 1 + η|λ_min|`` per step up to the
   gradient's cubic remainder ``R(w) = ∇f(w) − ∇²f(0)w``, so the first step with ``|p_t| ≥ ρ``
   lies in ``[t_pred − δ, t_pred + 1 + δ]``, ``t_pred = log(ρ/|p_0|)/log g``
   (``ShallowEscapePrediction.escape_steps``) and
   ``δ = Σ_{s<t} −log(1 − ηc‖w_s‖³/(g|p_s|)) / log g``, with the a-priori constants (λ = 1;
   derived here by expanding ``∇ℒ`` and ``∇F* = ∇ℒ/(1 + w_2²) − 2w_2ℒ e_2/(1 + w_2²)²`` around 0,
   using ``|w_1w_2| ≤ ‖w‖²/2`` and ``|w_2| ≤ ‖w‖``)

       ‖R_ℒ(w)‖ ≤ ½s_xx‖w‖³,     ‖R_F*(w)‖ ≤ (2|s_xy| + ½s_xx + 2s_yy + (¼s_xx + s_yy)‖w‖²)‖w‖³.

   Both escape times scale like ``log(1/ε)/log g``, so ``t_PC/t_BP → log g_BP/log g_PC``
   (→ ``1/φ`` as ``η → 0``; docs/theory.md §4.2).
"""

from __future__ import annotations

import numpy as np

import linpc
from linpc.data import second_moments, toy_gaussian
from linpc.numerics import roundoff_tolerance, second_derivative_tolerance
from linpc.reproduce import Check, FigureSpec, figure_main

SPEC = FigureSpec(
    name="tr_toy_landscapes",
    title="one-hidden-unit model: ℒ, the energy during inference F(z(t); w), F*, and BP/PC escape",
    source="P2 toy figures (blog B1: bp_loss_land, pc_energy_infer_dynamics, pc_energy_land)",
    check="surfaces F(z(t); w) vs the scalar closed form F* + e^{−2(1+w₂²)t}(λℒ − F*); origin "
          "Hessians (scipy.differentiate) vs docs/theory.md §3.2; GD escape steps vs linear theory",
    runtime="quick ≈ 5 s / full ≈ 15 s",
    data="synthetic toy Gaussian x ~ N(1, 0.1²), y = −x, B = 64 (one fixed batch), as in P1/P2",
)

BATCH = 64
DATA_SEED = 0
LAMBDA = 1.0                       # output precision of P1–P3
STEP = 0.1                         # GD step η for BP and PC
#: starts of the plotted trajectories (BP and PC from the same start): ‖w_0‖ = 10⁻³ at 0.3 rad,
#: next to the saddle, and a start near ℒ's trap line (w_1 ≈ w_2), which draws BP to the saddle
STARTS = {"small": (1e-3 * np.cos(0.3), 1e-3 * np.sin(0.3)), "trap": (0.8, 0.76)}
N_TRAJECTORY = 100                 # GD steps plotted
ESCAPE_RADIUS = 0.05               # ρ: escape when |⟨w_t, v⟩| ≥ ρ
ESCAPE_DIRECTION_ANGLE = 0.3       # u = (cos, sin) of this angle (radians) for the ε study
W_LIM = 1.6                        # landscapes on [−W_LIM, W_LIM]²
SLICE_LIM = 0.8
TIMES = ("0", "0.25", "1", "inf")  # inference times of the panels (strings: JSON has no ∞)
#: operation-chain length for round-off of one surface value: expm_multiply's truncated Taylor
#: series has degree ≤ 55 (Al-Mohy & Higham 2011, m_max = 55), then errors, squares and a pairwise
#: sum of 64 terms (6 levels).
SURFACE_OPS = 64
#: scipy.differentiate.hessian settings (initial step, step factor, iterations): the surfaces are
#: analytic in a disc of radius 1 around 0 (poles at w_2 = ±i), so an order-8 stencil with steps
#: 0.1 → 0.025 has negligible truncation error and little cancellation
FD_STEP = (0.1, 2.0, 2)


def toy_data(seed: int = DATA_SEED) -> tuple[np.ndarray, np.ndarray]:
    """The fixed batch: ``x ~ N(1, 0.1²)``, ``y = −x``, shape ``(64, 1)`` each."""
    return toy_gaussian(BATCH, 1, sign=-1.0, rng=seed)


def one_unit_net(w1: float, w2: float) -> linpc.LinearPCN:
    """``f(x) = w_2w_1x`` as a linear PCN (SP, output precision λ)."""
    return linpc.LinearPCN([[[float(w1)]], [[float(w2)]]], output_energy_scaling=LAMBDA)


def energy_after_inference(w1: float, w2: float, t: float, x, y) -> float:
    """``F(z(t); w)``: the batch energy after inference time ``t`` from the feedforward pass."""
    net = one_unit_net(w1, w2)
    if np.isinf(t):
        return linpc.equilibrated_energy(net, x, y)
    z = net.forward(x)[1:-1] if t == 0 else linpc.gradient_flow_activities(net, x, y, t)
    return linpc.energy(net, z, x, y)


# ------------------------------------------------------------------------ closed forms (theory)
def closed_forms(w1, w2, x, y, t: float) -> dict:
    """Scalar closed forms on arrays of weights: ℒ, F*, (1), and a round-off scale.

    ``scale`` bounds the sum over the batch of the squared magnitudes of every intermediate of the
    energy along the flow (``|ẑ|``, ``|z*|``, ``|y|``, ``|w_2 z|``): a computed value ``F`` has
    absolute round-off ≲ ``k·eps·scale`` for an operation chain of length ``k``.
    """
    w1 = np.asarray(w1, dtype=np.float64)[..., None]
    w2 = np.asarray(w2, dtype=np.float64)[..., None]
    xs, ys = x[:, 0], y[:, 0]
    r = ys - w2 * w1 * xs
    loss = 0.5 * np.mean(r * r, axis=-1)
    s = 1.0 / LAMBDA + w2[..., 0] ** 2
    fstar = loss / s
    decay = 0.0 if np.isinf(t) else np.exp(-2.0 * (1.0 + LAMBDA * w2[..., 0] ** 2) * t)
    zhat = np.abs(w1 * xs)
    zstar = np.abs((w1 * xs + LAMBDA * w2 * ys) / (1.0 + LAMBDA * w2 * w2))
    zmax = zhat + zstar
    scale = np.mean(zmax**2 + LAMBDA * (np.abs(ys) + np.abs(w2) * zmax) ** 2, axis=-1)
    return {"loss": loss, "fstar": fstar, "energy": fstar + decay * (LAMBDA * loss - fstar),
            "scale": scale}


def origin_hessian_at_time(x, y, t: float) -> np.ndarray:
    """(2): ``∇²ℒ(0) − (1 − e^{−2t}) diag(0, s_yy)`` (λ = 1); ``t = ∞`` gives ∇²F*(0)."""
    pred = linpc.dynamics.shallow_escape_prediction(x, y, output_precision=LAMBDA)
    weight = 1.0 if np.isinf(t) else 1.0 - np.exp(-2.0 * t)
    return pred.loss_hessian - weight * np.diag([0.0, pred.s_yy])


# ------------------------------------------------------------------------------ point functions
def _vectorised(fun):
    """Wrap a scalar function of ``(w_1, w_2)`` for ``scipy.differentiate`` (trailing axes)."""
    def f(w):
        w = np.asarray(w, dtype=np.float64)
        out = np.empty(w.shape[1:])
        for idx in np.ndindex(*w.shape[1:]):
            out[idx] = fun(w[(0, *idx)], w[(1, *idx)])
        return out
    return f


def landscape_at_time(point: dict, rng: np.random.Generator) -> dict:
    """Surface ``F(z(t); w)`` on the grid, two slices through 0, and its FD Hessian at 0."""
    from scipy.differentiate import hessian

    x, y = toy_data(point["data_seed"])
    t = float(point["t"])
    n, m = point["grid"], point["slice_points"]
    w = np.linspace(-W_LIM, W_LIM, n)
    surface = np.array([[energy_after_inference(w1, w2, t, x, y) for w1 in w] for w2 in w])
    pred = linpc.dynamics.shallow_escape_prediction(x, y, output_precision=LAMBDA)
    v = pred.loss_escape_direction                    # ℒ's escape direction; trap ⟂ v
    u = np.array([v[1], -v[0]])
    s = np.linspace(-SLICE_LIM, SLICE_LIM, m)
    trap = np.array([energy_after_inference(*(si * u), t, x, y) for si in s])
    escape = np.array([energy_after_inference(*(si * v), t, x, y) for si in s])
    h0, factor, iters = FD_STEP
    res = hessian(_vectorised(lambda a, b: energy_after_inference(a, b, t, x, y)),
                  np.zeros(2), initial_step=h0, step_factor=factor, maxiter=iters)
    return {"surface": surface, "trap_slice": trap, "escape_slice": escape,
            "fd_hessian": res.ddf, "fd_error": res.error, "fd_min_step": h0 / factor**iters,
            "trap_direction": u, "escape_direction": v}


def _gd(w0: np.ndarray, steps: int, pc: bool, x, y, stop_radius: float | None = None,
        v: np.ndarray | None = None) -> np.ndarray:
    """Gradient descent on ℒ (BP) or F* (PC) with step η; optional stop when |⟨w, v⟩| ≥ ρ."""
    w = np.array(w0, dtype=np.float64)
    traj = [w.copy()]
    for _ in range(steps):
        net = one_unit_net(*w)
        grad = (linpc.equilibrated_energy_gradient(net, x, y) if pc
                else linpc.mse_gradient(net, x, y))
        w = w - STEP * grad.flat()
        traj.append(w.copy())
        if stop_radius is not None and abs(w @ v) >= stop_radius:
            break
    return np.array(traj)


def gd_dynamics(point: dict, rng: np.random.Generator) -> dict:
    """BP and PC trajectories from each of STARTS, and escape steps from ``εu`` for each ε."""
    if LAMBDA != 1.0:
        raise ValueError("the cubic-remainder constants of the escape bound are derived for λ = 1")
    x, y = toy_data(point["data_seed"])
    mom = second_moments(x, y)
    sxx, sxy, syy = float(mom.xx[0, 0]), float(mom.yx[0, 0]), float(mom.yy[0, 0])
    pred = linpc.dynamics.shallow_escape_prediction(x, y, output_precision=LAMBDA)
    out: dict = {}
    for start, w0 in STARTS.items():
        for name, pc in (("bp", False), ("pc", True)):
            traj = _gd(np.array(w0), point["n_trajectory"], pc, x, y)
            out[f"{name}_{start}_trajectory"] = traj
            out[f"{name}_{start}_loss"] = np.array([linpc.mse_loss(one_unit_net(*w), x, y)
                                                    for w in traj])
    u = np.array([np.cos(ESCAPE_DIRECTION_ANGLE), np.sin(ESCAPE_DIRECTION_ANGLE)])
    eps = np.asarray(point["eps"], dtype=np.float64)
    for name, pc, v, lam_min in (
            ("bp", False, pred.loss_escape_direction, pred.loss_min_eigenvalue),
            ("pc", True, pred.energy_escape_direction, pred.energy_min_eigenvalue)):
        g = 1.0 + STEP * abs(lam_min)
        t_esc, t_pred, delta = [], [], []
        for e in eps:
            w0 = e * u
            traj = _gd(w0, 100_000, pc, x, y, stop_radius=ESCAPE_RADIUS, v=v)
            p = traj @ v
            nrm = np.linalg.norm(traj, axis=1)
            if pc:
                c = 2 * abs(sxy) + 0.5 * sxx + 2 * syy + (0.25 * sxx + syy) * nrm**2
            else:
                c = 0.5 * sxx * np.ones_like(nrm)
            ratio = STEP * c[:-1] * nrm[:-1] ** 3 / (g * np.abs(p[:-1]))
            delta.append(float(np.sum(-np.log1p(-ratio)) / np.log(g))
                         if np.all(ratio < 1) else np.inf)
            t_esc.append(len(traj) - 1)
            t_pred.append(pred.escape_steps(w0, ESCAPE_RADIUS, STEP)[1 if pc else 0])
        out[f"{name}_escape_steps"] = np.array(t_esc)
        out[f"{name}_predicted_steps"] = np.array(t_pred)
        out[f"{name}_offset_bound"] = np.array(delta)
    out["eps"] = eps
    return out


# ------------------------------------------------------------------------------------ the figure
def make(ctx) -> list[Check]:
    from matplotlib.colors import LogNorm
    from matplotlib.lines import Line2D

    from linpc.reproduce.plotting import COLORS, new_figure

    x, y = toy_data()
    grid = 21 if ctx.quick else 81
    slice_points = 21 if ctx.quick else 61
    eps = [1e-2, 1e-4, 1e-6] if ctx.quick else [1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8]
    points = [{"t": t, "grid": grid, "slice_points": slice_points, "data_seed": DATA_SEED}
              for t in TIMES]
    land = ctx.sweep("tr_toy_landscapes", landscape_at_time, points, version="1")
    dyn = ctx.sweep("tr_toy_dynamics", gd_dynamics,
                    [{"data_seed": DATA_SEED, "n_trajectory": N_TRAJECTORY, "eps": eps}],
                    version="1")
    dyn = dyn.results[0]

    # ---- check 1: surfaces vs the scalar closed form (1)
    w = np.linspace(-W_LIM, W_LIM, grid)
    W1, W2 = np.meshgrid(w, w)                        # surface[i, j] = F at (w1 = w[j], w2 = w[i])
    surf_err = 0.0
    for t in TIMES:
        cf = closed_forms(W1, W2, x, y, float(t))
        r = land.lookup(t=t)
        surf_err = max(surf_err, float(np.max(np.abs(r["surface"] - cf["energy"]) / cf["scale"])))
    # ---- check 2: origin Hessians, FD vs (2)
    hess_err, hess_tol = 0.0, np.inf
    f_scale = float(closed_forms(0.0, 0.0, x, y, 0.0)["scale"])
    for t in TIMES:
        r = land.lookup(t=t)
        H_pred = origin_hessian_at_time(x, y, float(t))
        hess_err = max(hess_err, float(np.max(np.abs(r["fd_hessian"] - H_pred))))
        hess_tol = min(hess_tol, second_derivative_tolerance(
            float(np.max(r["fd_error"])), float(r["fd_min_step"]), f_scale,
            f_condition=SURFACE_OPS))
    # ---- check 3: escape steps in the linear-theory window
    excess, bound = 0.0, np.inf
    for name in ("bp", "pc"):
        te, tp = dyn[f"{name}_escape_steps"], dyn[f"{name}_predicted_steps"]
        excess = max(excess, float(np.max(np.maximum(0.0, np.maximum(tp - te, te - tp - 1)))))
        bound = min(bound, float(np.min(dyn[f"{name}_offset_bound"])))

    # ---- plot
    pred = linpc.dynamics.shallow_escape_prediction(x, y, output_precision=LAMBDA)
    fig, axes = new_figure(2, 4, width=7.2, height=4.6,
                           gridspec_kw={"height_ratios": [1.0, 1.1]})
    t_colors = {"0": COLORS["bp"], "0.25": COLORS["extra"], "1": COLORS["other"],
                "inf": COLORS["pc"]}
    t_label = {"0": "t = 0 (λℒ)", "0.25": "t = 0.25", "1": "t = 1", "inf": "t = ∞ (F*)"}
    levels = np.geomspace(2e-3, 8.0, 25)
    norm = LogNorm(vmin=levels[0], vmax=levels[-1])
    hyper = np.linspace(1.0 / W_LIM, W_LIM, 100)
    styles = {"small": dict(marker=None), "trap": dict(marker=".", ms=2.5)}
    cs = None
    for k, t in enumerate(TIMES):
        ax = axes[0][k]
        S = np.clip(land.lookup(t=t)["surface"], levels[0], levels[-1])
        cs = ax.contourf(W1, W2, S, levels=levels, norm=norm, cmap="viridis")
        ax.contour(W1, W2, S, levels=[pred.s_yy / 2 * LAMBDA], colors="w", linewidths=0.6,
                   linestyles=":")
        for sgn in (1, -1):
            ax.plot(sgn * hyper, -sgn / hyper, color="w", lw=0.8, ls="--")
        ax.plot(0, 0, marker="x", color="w", ms=5, mew=1.2)
        ax.set_title({"0": "t = 0:  F(ẑ; w) = λℒ(w)", "inf": "t = ∞:  F*(w)"}.get(
            t, f"t = {t}:  F(z(t); w)"), fontsize=8)
        ax.set_xlim(-W_LIM, W_LIM)
        ax.set_ylim(-W_LIM, W_LIM)
        ax.set_aspect("equal")
        ax.set_xlabel("$w_1$")
        if k == 0:
            ax.set_ylabel("$w_2$")
        else:
            ax.set_yticklabels([])
    for k, name, col in ((0, "bp", COLORS["bp"]), (3, "pc", COLORS["pc"])):
        ax = axes[0][k]
        for start in STARTS:
            tr = dyn[f"{name}_{start}_trajectory"]
            ax.plot(tr[:, 0], tr[:, 1], "-", color="w", lw=2.4)
            ax.plot(tr[:, 0], tr[:, 1], "-", color=col, lw=1.2, **styles[start])
            ax.plot(*tr[0], marker="o", color="w", ms=3.5, mec="k", mew=0.6)
        ax.text(0.03, 0.03, "GD on ℒ (BP)" if name == "bp" else "GD on F* (PC)",
                transform=ax.transAxes, fontsize=7, color="k",
                bbox=dict(boxstyle="round,pad=0.2", fc="w", ec="none", alpha=0.85))
    cb = fig.colorbar(cs, ax=axes[0].tolist(), shrink=0.85, pad=0.01, aspect=15)
    cb.set_label("energy (loss)")
    cb.set_ticks([1e-2, 1e-1, 1, 5])
    cb.set_ticklabels(["0.01", "0.1", "1", "5"])

    s = np.linspace(-SLICE_LIM, SLICE_LIM, slice_points)
    r0 = land.lookup(t="0")
    dirs = {"trap": r0["trap_direction"], "escape": r0["escape_direction"]}
    F0 = LAMBDA * pred.s_yy / 2                          # F(z(t); 0) = λℒ(0) for every t
    for k, which in ((0, "trap"), (1, "escape")):
        ax = axes[1][k]
        d = dirs[which]
        for t in TIMES:
            ax.plot(s, land.lookup(t=t)[f"{which}_slice"] - F0, color=t_colors[t],
                    label=t_label[t])
            curv = float(d @ origin_hessian_at_time(x, y, float(t)) @ d)
            ax.plot(s, 0.5 * curv * s * s, color="k", lw=0.7, ls="--")
        ax.axhline(0.0, color="0.6", lw=0.5)
        ax.set_xlabel(f"s   (w = s·v$_{{{which}}}$)")
        ax.set_xticks([-0.6, 0.0, 0.6])
        ax.set_title(f"ℒ's {which} direction", fontsize=8)
    axes[1][0].set_ylim(-0.04, 0.5)
    axes[1][1].set_ylim(-0.55, 0.04)
    axes[1][0].set_ylabel("F(z(t); w) − F(z(t); 0)")
    axes[1][0].legend(loc="upper center", fontsize=6.5, handlelength=1.2)
    (theory,) = axes[1][1].plot([], [], color="k", lw=0.7, ls="--")
    axes[1][1].legend([theory], ["½s²vᵀ∇²F(0)v\n(theory, eq. 2)"], loc="lower center",
                      fontsize=6.5, handlelength=1.6)

    ax = axes[1][2]
    for name, col in (("bp", COLORS["bp"]), ("pc", COLORS["pc"])):
        for start, ls in (("small", "-"), ("trap", "--")):
            ax.semilogy(dyn[f"{name}_{start}_loss"], color=col, ls=ls)
    proxies = [Line2D([], [], color=COLORS["bp"]), Line2D([], [], color=COLORS["pc"]),
               Line2D([], [], color="0.3"), Line2D([], [], color="0.3", ls="--")]
    ax.legend(proxies, ["BP", "PC", "‖w₀‖ = 10⁻³", f"w₀ = {STARTS['trap']}"],
              loc="lower left", fontsize=6, handlelength=1.6)
    ax.set_xlim(0, N_TRAJECTORY)
    ax.set_ylim(1e-9, 3.0)
    ax.set_xlabel("training step (η = 0.1)")
    ax.set_ylabel("MSE ℒ(w)")
    ax.set_title("training loss", fontsize=8)

    ax = axes[1][3]
    e = dyn["eps"]
    for name, col, lab in (("bp", COLORS["bp"], "BP"), ("pc", COLORS["pc"], "PC")):
        tp = dyn[f"{name}_predicted_steps"]
        ax.fill_between(e, tp, tp + 1, color=col, alpha=0.3, lw=0)
        ax.plot(e, tp + 0.5, color=col, lw=0.8, ls="--")
        ax.plot(e, dyn[f"{name}_escape_steps"], "o", color=col, ms=3, label=f"{lab}: GD")
    ax.plot([], [], color="0.3", ls="--", lw=0.8, label="linear theory")
    ax.set_xscale("log")
    ax.set_xlabel("start scale ε   (w₀ = εu)")
    ax.set_ylabel(f"first step with |⟨w, v⟩| ≥ {ESCAPE_RADIUS}")
    ax.set_title(f"escape time (t_PC/t_BP → {pred.time_ratio(STEP):.3f})", fontsize=8)
    ax.legend(loc="lower left", fontsize=6, handlelength=1.2)
    ctx.save(fig)

    return [
        Check("surfaces F(z(t); w) (linpc flow/F*) vs closed form F* + e^{−2(1+w₂²)t}(λℒ − F*): "
              "max abs error / scale over grid and t", surf_err, roundoff_tolerance(SURFACE_OPS),
              f"round-off SAFETY·k·eps, k = {SURFACE_OPS} (expm_multiply Taylor degree ≤ 55 + "
              "errors, squares, pairwise batch sum), relative to Σ of squared intermediates"),
        Check("origin Hessians of the 4 surfaces (scipy.differentiate) vs ∇²ℒ(0) − "
              "(1 − e^{−2t})diag(0, s_yy): max abs entry error", hess_err, hess_tol,
              "linpc.numerics.second_derivative_tolerance (truncation estimate + cancellation "
              f"{SURFACE_OPS}·eps·F/h², h = smallest step), smallest over t"),
        Check("GD escape steps outside the linear-theory window [t_pred, t_pred + 1] (BP and PC, "
              "all ε), in steps", excess, bound,
              "δ = Σ −log(1 − ηc‖w‖³/(g|p|))/log g with the a-priori cubic-remainder constants c "
              "(module docstring); smallest δ over runs"),
    ]


if __name__ == "__main__":
    raise SystemExit(figure_main(SPEC, make))
