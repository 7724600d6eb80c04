"""P3 Fig. 3: the condition number ``κ(H_z)`` of the inference landscape during training
(Innocenti, Achour & Buckley, "μPC", NeurIPS 2025, arXiv:2505.13124, §3; jpc
``experiments/mupc_paper/train_pcn.py``; docs/theory.md §1.3, §6.1).

Setup (jpc's μPC-paper training scripts, linear networks): width ``N = 128``, ``H = 8`` hidden
layers and 8 GD inference steps (the defaults of ``train_pcn_no_metrics.py``; the stored
``train_pcn.py`` defaults to ``H = 32`` and 32 steps), identity skips, ``W ~ N(0, 1)``, μPC
multipliers, no biases, Adam (lr 0.1, β = (0.9, 0.999)) on the PC weight gradient ``∂F_B/∂W`` at
the activities reached by inference, batch ``B = 64``, inference from the feedforward pass with
jpc's activity learning rate 0.5. jpc's energy is the batch *mean* and these scripts pass
``optax.sgd(0.5)`` unchanged, so the per-sample step is ``η = 0.5/B ≈ 0.0078`` (docs/theory.md §0
says jpc experiments compensate with ``η·B``: true for the limits-paper scripts, not for these).
``--quick``: ``N = 32``, ``H = 4``, 30 iterations. Four runs, one seed, 150 training iterations
(the paper: one MNIST epoch, 3 seeds):

* **μPC, 8 GD steps, η = 0.5/B** — the script as written (finite inference);
* **μPC, exact z\\*** — closed-form inference (block Cholesky, :func:`linpc.solve_equilibrium`);
* **μPC, 8 GD steps, η = 0.5** — jpc's rate read as a per-sample step; it exceeds
  ``2/λ_max(H_z) ≈ 0.39`` from the start, so inference diverges along the top eigenvectors;
* **SP** (no skips, ``U(±1/√fan_in)``, multipliers 1), 8 GD steps, ``η = 0.5/B``, Adam lr 0.01
  (lr 0.1 makes SP training diverge within a few iterations).

MNIST cannot be downloaded: synthetic one-hot class data with MNIST's shapes stand in
(:func:`linpc.data.one_hot_classes`, ``d_x = 784``, 10 classes, inputs scaled to unit variance per
pixel like normalised MNIST). ``κ`` is the per-sample ``H_z`` (data-independent), computed at
every checkpoint by Lanczos with its Ritz residual (``method="lanczos"``).

Checks (each fails if the theory or linpc were wrong):

1. at the first and last checkpoint of every run, Lanczos ``λ_min``, ``λ_max`` agree with a dense
   ``eigh`` of ``H_z`` within the Lanczos Ritz residual plus the dense Weyl bound;
2. the 8 GD inference steps actually taken in training (``linpc.energy_activity_gradient``,
   i.e. the energy's gradient, not ``H_z``) have gradient norms ``‖g_t‖`` equal to the spectral
   prediction ``‖(I − ηH_z)^t g_0‖`` (:func:`linpc.mupc.spectral_gradient_norms`,
   dense eigendecomposition) to round-off amplified by ``max_k |1 − ημ_k|^t``;
3. at the final weights, GD with the optimal step ``2/(λ_min + λ_max)`` on 8 samples needs
   exactly the number of steps the spectral formula predicts to reach ``‖g_t‖ ≤ 10⁻⁶‖g_0‖``
   (± 1 for a threshold crossing at round-off level), and never more than the κ bound
   ``⌈log 10⁻⁶ / log((κ−1)/(κ+1))⌉`` (docs/theory.md §1.3). Runs whose bound exceeds
   ``MAX_CHECK_STEPS`` are not run to tolerance (stated in the figure).
"""

from __future__ import annotations

import numpy as np

import linpc
from linpc.core import (
    ActivityHessian,
    contraction_factor,
    init_network,
    optimal_step_size,
    steps_to_tolerance,
)
from linpc.data import one_hot_classes
from linpc.dynamics import Adam
from linpc.mupc import spectral_gradient_norms, tridiagonal_limit_condition_number
from linpc.numerics import EPS, SAFETY, eigenvalue_tolerance
from linpc.reproduce import Check, FigureSpec, Grid, figure_main

SPEC = FigureSpec(
    name="mupc_fig3_conditioning_during_training",
    title="condition number of the activity Hessian during training (μPC vs SP, GD vs exact "
          "inference)",
    source="P3 Fig. 3",
    check="Lanczos κ vs dense eigh (Ritz + Weyl bound); ‖g_t‖ of the training's GD inference vs "
          "the spectral formula; GD steps to 1e-6 vs the exact spectral count and the κ bound",
    runtime="quick ≈ 3–6 s / full ≈ 21–36 s (2 cores, unloaded – oversubscribed)",
    data="synthetic one-hot classes with MNIST shapes (d_x = 784, 10 classes), B = 64",
)

BATCH = 64
D_X, D_Y = 784, 10
JPC_ACTIVITY_LR = 0.5
N_INFER = 8
TOL = 1e-6
CHECK_BATCH = 8
MAX_CHECK_STEPS = 20_000
INIT_SEED, DATA_SEED = 0, 1
#: run name → (param_type, use_skips, init, Adam lr, inference, per-sample activity step)
RUNS = {
    "mupc_gd": ("mupc", True, "standard_normal", 0.1, "gd", JPC_ACTIVITY_LR / BATCH),
    "mupc_exact": ("mupc", True, "standard_normal", 0.1, "exact", None),
    "mupc_gd_per_sample": ("mupc", True, "standard_normal", 0.1, "gd", JPC_ACTIVITY_LR),
    "sp_gd": ("sp", False, "uniform", 0.01, "gd", JPC_ACTIVITY_LR / BATCH),
}
LABELS = {"mupc_gd": "μPC, 8 GD steps, η = 0.5/B (jpc)",
          "mupc_exact": "μPC, exact z*",
          "mupc_gd_per_sample": "μPC, 8 GD steps, η = 0.5",
          "sp_gd": "SP, 8 GD steps, η = 0.5/B"}


def _gd_inference(net, x, y, eta: float, steps: int) -> tuple[list[np.ndarray], np.ndarray]:
    """``steps`` GD updates ``z ← z − η ∇_zF`` (per sample) from the feedforward pass."""
    zs = net.forward(x)[1:-1]
    norms = []
    for t in range(steps + 1):
        g = linpc.energy_activity_gradient(net, zs, x, y)
        norms.append(float(np.sqrt(sum(float(np.sum(gl * gl)) for gl in g))))
        if t < steps:
            zs = [z - eta * gl for z, gl in zip(zs, g, strict=True)]
    return zs, np.array(norms)


def _checkpoint_checks(net, x, y, eta, gd_norms) -> dict:
    """Dense extremes, spectral prediction of the 8 GD steps, steps to tolerance (check batch)."""
    hz = ActivityHessian(net)
    dense = hz.extreme_eigenvalues(method="dense")
    out = {"dense": np.array([dense.lambda_min, dense.lambda_max])}
    if gd_norms is not None:
        pred = spectral_gradient_norms(net, x, y, np.arange(gd_norms.size), step_size=eta)
        out["gd_pred"] = pred
        out["gd_growth"] = max(1.0, contraction_factor(eta, dense.lambda_min, dense.lambda_max))
    return out


def train_point(point: dict, rng: np.random.Generator) -> dict:
    """Train one run; κ(H_z) at checkpoints, with the checks' raw numbers at the ends."""
    param_type, skips, init, lr, inference, eta = RUNS[point["run"]]
    N, H, iters, every = int(point["N"]), int(point["H"]), int(point["iterations"]), \
        int(point["every"])
    widths = (D_X,) + (N,) * H + (D_Y,)
    X, Y, _ = one_hot_classes(iters * BATCH, D_Y, D_X, rng=np.random.default_rng(DATA_SEED))
    X = X / np.sqrt(2.0)                 # unit variance per pixel, like normalised MNIST
    net = init_network(widths, param_type=param_type, use_skips=skips, init=init,
                       rng=np.random.default_rng(INIT_SEED))
    Ws = list(net.weights)
    opt = Adam(Ws, lr)
    checkpoints = sorted(set(range(0, iters, every)) | {iters - 1})
    ends = (checkpoints[0], checkpoints[-1])
    rec: dict[str, list] = {k: [] for k in ("it", "kappa", "lmin", "lmax", "emin", "emax")}
    loss = np.full(iters, np.nan)
    out: dict[str, np.ndarray] = {}
    for it in range(iters):
        x, y = X[it * BATCH:(it + 1) * BATCH], Y[it * BATCH:(it + 1) * BATCH]
        net = net.replace(weights=Ws)
        zs_ff = net.forward(x)
        loss[it] = 0.5 * np.mean(np.sum((y - zs_ff[-1]) ** 2, axis=1))
        if not np.isfinite(loss[it]):
            break
        if inference == "exact":
            zs, gd_norms = linpc.solve_equilibrium(net, x, y).activities, None
        else:
            zs, gd_norms = _gd_inference(net, x, y, eta, N_INFER)
        if it in checkpoints:
            ev = ActivityHessian(net).extreme_eigenvalues(method="lanczos")
            for k, v in zip(rec, (it, ev.condition_number, ev.lambda_min, ev.lambda_max,
                                  ev.error_min, ev.error_max), strict=True):
                rec[k].append(v)
            if it in ends:
                tag = "first" if it == ends[0] else "last"
                chk = _checkpoint_checks(net, x, y, eta, gd_norms)
                out[f"{tag}_lanczos"] = np.array([ev.lambda_min, ev.lambda_max])
                out[f"{tag}_lanczos_err"] = np.array([ev.error_min, ev.error_max])
                out[f"{tag}_dense"] = chk["dense"]
                if gd_norms is not None:
                    out[f"{tag}_gd_norms"] = gd_norms
                    out[f"{tag}_gd_pred"] = chk["gd_pred"]
                    out[f"{tag}_gd_growth"] = chk["gd_growth"]
                if tag == "last":
                    out.update(_steps_to_tolerance(net, X[:CHECK_BATCH], Y[:CHECK_BATCH], ev))
        grads = linpc.energy_parameter_gradient(net, zs, x, y).weights
        Ws = opt.step(Ws, list(grads))
    out.update({k: np.array(v, dtype=np.float64) for k, v in rec.items()})
    out["loss"] = loss
    out["n_check"] = np.float64(N * H)
    return out


def _steps_to_tolerance(net, x, y, ev) -> dict:
    """GD with the optimal step to ``‖g_t‖ ≤ TOL‖g_0‖``: measured, exact spectral count, κ bound."""
    eta = optimal_step_size(ev.lambda_min, ev.lambda_max)
    bound = steps_to_tolerance(contraction_factor(eta, ev.lambda_min, ev.lambda_max), TOL)
    if bound is None or bound > MAX_CHECK_STEPS:
        return {"steps_bound": np.float64(np.nan if bound is None else bound),
                "steps_measured": np.float64(np.nan), "steps_exact": np.float64(np.nan)}
    res = linpc.gradient_descent_inference(net, x, y, step_size=eta, tol=TOL,
                                           max_steps=bound + 10, eigenvalues=ev,
                                           record_every=10**9)
    g = spectral_gradient_norms(net, x, y, np.arange(bound + 11), step_size=eta)
    hit = np.nonzero(g <= TOL * g[0])[0]
    exact = float(hit[0]) if hit.size else np.nan
    return {"steps_bound": np.float64(bound), "steps_measured": np.float64(res.n_steps),
            "steps_exact": np.float64(exact)}


def make(ctx) -> list[Check]:
    from linpc.reproduce.plotting import COLORS, new_figure

    N, H = (32, 4) if ctx.quick else (128, 8)
    iters, every = (30, 3) if ctx.quick else (150, 5)
    grid = Grid.product({"run": list(RUNS)},
                        fixed={"N": N, "H": H, "iterations": iters, "every": every})
    res = ctx.sweep("mupc_fig3_training", train_point, grid)

    # ---------------------------------------------------------------- checks
    worst_eig, worst_gd, worst_exact, worst_bound = 0.0, 0.0, 0.0, 0.0
    skipped = []
    for run in RUNS:
        r = res.lookup(run=run)
        n = int(r["n_check"])
        for tag in ("first", "last"):
            dense = r[f"{tag}_dense"]
            tol = r[f"{tag}_lanczos_err"] + eigenvalue_tolerance(n, float(dense[1]))
            worst_eig = max(worst_eig, float(np.max(np.abs(r[f"{tag}_lanczos"] - dense) / tol)))
            if f"{tag}_gd_norms" in r:
                meas, pred = r[f"{tag}_gd_norms"], r[f"{tag}_gd_pred"]
                t = np.arange(meas.size)
                tol = SAFETY * (t + 1) * n * EPS * float(r[f"{tag}_gd_growth"]) ** t
                worst_gd = max(worst_gd, float(np.max(np.abs(meas - pred) / pred / tol)))
        if np.isfinite(r["steps_measured"]):
            worst_exact = max(worst_exact, abs(float(r["steps_measured"] - r["steps_exact"])))
            worst_bound = max(worst_bound, float(r["steps_measured"] / r["steps_bound"]))
        else:
            skipped.append(run)
    if len(skipped) == len(RUNS):
        worst_exact = worst_bound = np.nan        # nothing was checked: fail loudly

    # ---------------------------------------------------------------- figure
    colors = {"mupc_gd": COLORS["pc"], "mupc_exact": COLORS["pc_exact"],
              "mupc_gd_per_sample": COLORS["other"], "sp_gd": COLORS["bp"]}
    fig, axes = new_figure(2, 3, width=7.2, height=4.9)
    ax_k, ax_l, ax_loss = axes[0]
    ax_g, ax_s, ax_leg = axes[1]
    for run in RUNS:
        r = res.lookup(run=run)
        c = colors[run]
        ax_k.plot(r["it"], r["kappa"], "-", color=c, label=LABELS[run])
        ax_l.plot(r["it"], r["lmax"], "-", color=c)
        ax_l.plot(r["it"], r["lmin"], "--", color=c)
        ax_loss.plot(np.arange(r["loss"].size), r["loss"], color=c, lw=1.0)
        for tag, i in (("first", 0), ("last", -1)):
            d = r[f"{tag}_dense"]
            ax_k.plot(r["it"][i], d[1] / d[0], "x", color=COLORS["theory"], ms=5)
    ax_k.axhline(tridiagonal_limit_condition_number(H), ls=":", color=COLORS["theory"], lw=1.0,
                 label=r"$\kappa(T_H)$ (μPC small-branch limit)")
    ax_k.plot([], [], "x", color=COLORS["theory"], label="dense eigh (check 1)")
    ax_k.set_yscale("log")
    ax_k.set_xlabel("training iteration")
    ax_k.set_ylabel(r"$\kappa(H_z)$ (Lanczos)")
    ax_l.axhline(2.0 / JPC_ACTIVITY_LR, ls=":", color=colors["mupc_gd_per_sample"], lw=1.0,
                 label="2/η = 4: GD stable iff λ_max < 2/η (η = 0.5)")
    ax_l.plot([], [], "-", color="0.4", label=r"$\lambda_{\max}(H_z)$ (middle panel)")
    ax_l.plot([], [], "--", color="0.4", label=r"$\lambda_{\min}(H_z)$ (middle panel)")
    ax_l.set_yscale("log")
    ax_l.set_xlabel("training iteration")
    ax_l.set_ylabel("extreme eigenvalues")
    ax_loss.set_yscale("log")
    ax_loss.set_xlabel("training iteration")
    ax_loss.set_ylabel("MSE at the feedforward pass")

    for run in RUNS:
        r = res.lookup(run=run)
        if "last_gd_norms" not in r:
            continue
        meas, pred = r["last_gd_norms"], r["last_gd_pred"]
        t = np.arange(meas.size)
        ax_g.plot(t, pred / pred[0], "-", color=colors[run], lw=1.0)
        ax_g.plot(t, meas / meas[0], "o", color=colors[run], ms=3, mfc="none")
    ax_g.plot([], [], "o", color="0.4", mfc="none", label="‖g_t‖ measured (training's GD)")
    ax_g.plot([], [], "-", color="0.4", label=r"$\|(I-\eta H_z)^t g_0\|$ (eigenbasis)")
    ax_g.set_yscale("log")
    ax_g.set_xlabel("inference step t (final weights)")
    ax_g.set_ylabel(r"$\|g_t\| / \|g_0\|$")

    names = [run for run in RUNS if run not in skipped]
    xs = np.arange(len(names))
    for k, (key, lab, off, col) in enumerate((
            ("steps_measured", "measured GD", -0.25, COLORS["pc"]),
            ("steps_exact", "exact (eigenbasis)", 0.0, COLORS["pc_exact"]),
            ("steps_bound", "κ bound ⌈log tol/log ρ⌉", 0.25, COLORS["theory"]))):
        vals = [float(res.lookup(run=run)[key]) for run in names]
        ax_s.bar(xs + off, vals, width=0.25, color=col, alpha=0.35 + 0.2 * k, label=lab)
    short = {"mupc_gd": "μPC\nη=.5/B", "mupc_exact": "μPC\nz*",
             "mupc_gd_per_sample": "μPC\nη=.5", "sp_gd": "SP\nη=.5/B"}
    ax_s.set_xticks(xs, [short[n] for n in names], fontsize=6)
    ax_s.set_yscale("log")
    ax_s.set_ylabel(r"GD steps to $\|g\| \leq 10^{-6}\|g_0\|$")
    ax_s.set_title("optimal step η*, final weights"
                   + ("\nnot run (κ bound > 2·10⁴ steps): " + ", ".join(short[n].replace("\n", " ")
                                                                for n in skipped)
                      if skipped else ""), fontsize=6.5)
    ax_s.set_ylim(top=ax_s.get_ylim()[1] * 4)
    ax_s.legend(loc="upper right", fontsize=5.5)

    ax_leg.axis("off")
    handles, labels = [], []
    for a in (ax_k, ax_l, ax_g):
        h, lab = a.get_legend_handles_labels()
        handles += h
        labels += lab
    ax_leg.legend(handles, labels, loc="center", fontsize=6, title=f"N = {N}, H = {H}, B = {BATCH}",
                  title_fontsize=7)
    ctx.save(fig)

    return [
        Check("Lanczos λ_min, λ_max vs dense eigh at first/last checkpoint, worst |Δλ|/(Ritz "
              "residual + Weyl bound)", worst_eig, 1.0,
              "Krylov–Weinstein: an eigenvalue lies within ‖Hv − θv‖ of θ; dense: "
              "eigenvalue_tolerance(n, λ_max)"),
        Check("‖g_t‖ of the training's 8 GD inference steps vs ‖(I − ηH_z)^t g_0‖ (eigenbasis), "
              "worst relative error / tolerance", worst_gd, 1.0,
              "SAFETY·(t+1)·n·eps·max(1, ρ(η))^t: round-off of t affine steps, amplified by the "
              "largest |1 − ημ_k|"),
        Check("GD steps to ‖g‖ ≤ 1e-6‖g_0‖: |measured − exact spectral count| (worst run)",
              worst_exact, 1.0,
              "exact arithmetic gives equality; ±1 for a threshold crossing at round-off level"),
        Check("GD steps measured / κ bound ⌈log tol / log((κ−1)/(κ+1))⌉ (worst run)",
              worst_bound, 1.0, "‖g_t‖ ≤ ρ^t‖g_0‖ with ρ = (κ−1)/(κ+1) (docs/theory.md §1.3)"),
    ]


if __name__ == "__main__":
    raise SystemExit(figure_main(SPEC, make))
