"""P3 Figs. 2 and 4: spectrum and condition number of the activity Hessian ``H_z`` at
initialisation, over width and depth (Innocenti, Achour & Buckley, "μPC", NeurIPS 2025,
arXiv:2505.13124, §3; jpc ``experiments/mupc_paper/analyse_activity_hessian.py``; docs/theory.md
§1.2, §6.2).

Setup (from the authors' script, linear networks): input/output shapes of MNIST (``d_x = 784``,
``d_y = 10``), widths ``N = 2^0 … 2^k``, ``H ∈ {1, 2, 4, 8}`` hidden layers, 3 seeds, three
parameterisations — SP with the framework-default ``U(±1/√fan_in)`` initialisation without and
with identity skips, and μPC (``W ~ N(0, 1)``, ``a_1 = 1/√D``, ``a_l = 1/√(NL)``, ``a_L = 1/N``,
skips). ``H_z`` depends neither on the data nor on ``W_1`` (docs/theory.md §1.2), so the paper's
"one MNIST sample" does not enter; no data are drawn. The paper's widths go to ``2^10``; here the
full run stops at ``2^8`` (``--quick``: ``2^6``) to fit the budget (λ at ``N = 512`` costs ≈ 1 s per
network on 2 cores).

Row 1 (P3 Fig. 2): histograms of all eigenvalues of ``H_z`` (block formula, LAPACK banded
eigensolver), of its block-diagonal part ``D`` (blocks ``I + M_{l+1}ᵀM_{l+1}``) and of its
off-diagonal part ``O`` (blocks ``−M_{l+1}``), for ``N = 128`` (quick: 32) and ``H = 8`` (``H = 2``
is computed and checked too); the black outline is the spectrum of the naive dense reference
``DᵀΠD`` (:func:`linpc.verify.reference.dense_activity_hessian`, LAPACK ``dsyevd``).
Row 2 (P3 Fig. 4): heat maps of the median ``κ(H_z)`` over width and depth per parameterisation
(colour log κ, numbers the medians). Row 3: ``κ`` against depth at the largest width and against
width at ``H = 8``, with the small-branch reference
``κ(T_H) = cos²(π/(2H+1))/sin²(π/(2(2H+1)))`` (docs/theory.md §6.2; the limit of ``H_z`` for
residual networks whose branches vanish), and μPC's ratio ``κ/κ(T_H)``.

Checks (each fails if the theory or linpc were wrong):

1. every eigenvalue of ``H_z``, ``D`` and ``O`` from linpc (banded / block eigensolvers) equals
   the eigenvalue of the same rank of the dense reference (assembled independently from ``D``
   and ``Π``) within the Weyl bound ``eigenvalue_tolerance(n, ‖A‖₂)``; the Lanczos extreme
   eigenvalues (``method="lanczos"``) within their Ritz residual plus that bound;
2. ``κ`` increases with depth, ``κ(H=1) < κ(H=2) < κ(H=4) < κ(H=8)`` for the median over seeds,
   for every parameterisation and every width ``N ≥ 4`` (the range of docs/theory.md §6.2's table;
   the qualitative fact is asserted, no table value is copied);
3. ``H = 1``: ``H_z = I + λM_2ᵀM_2`` so ``κ = (1 + λσ_max(M_2)²)/(1 + λσ_min(M_2)²·[N ≤ d_y])``
   (docs/theory.md §1.2: ``1 + λσ_max²`` when ``N > d_y``), with σ from the SVD of the reference
   ``M_2``, against linpc's ``κ`` for every ``H = 1`` network of the sweep, to the first-order
   propagation of both eigenvalue bounds.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla

from linpc.core import ActivityHessian, init_network
from linpc.mupc import (
    CONDITIONING_SETTINGS,
    activity_hessian_part_eigenvalues,
    tridiagonal_limit_condition_number,
)
from linpc.numerics import eigenvalue_tolerance
from linpc.reproduce import Check, FigureSpec, Grid, figure_main
from linpc.verify.reference import dense_activity_hessian, dense_layer_maps

SPEC = FigureSpec(
    name="mupc_fig2_activity_hessian_spectrum",
    title="spectrum and condition number of the activity Hessian H_z at init, over width and depth",
    source="P3 Figs. 2 and 4",
    check="banded/Lanczos eigenvalues of H_z, D, O vs a dense reference (Weyl bound); κ increases "
          "with H for every parameterisation (N ≥ 4); H = 1: κ = (1+λσ_max²)/(1+λσ_min²[N≤d_y])",
    runtime="quick ≈ 3–6 s / full ≈ 15–26 s (2 cores, unloaded – oversubscribed)",
    data="none needed: H_z is data-independent (MNIST shapes d_x = 784, d_y = 10)",
)

SETTINGS = ("sp_uniform", "sp_uniform_skips", "mupc")
LABELS = {"sp_uniform": "SP", "sp_uniform_skips": "SP + skips", "mupc": "μPC"}
DEPTHS = (1, 2, 4, 8)
D_X, D_Y = 784, 10
N_SEEDS = 3
#: depths whose full spectra are computed (and checked); the last one is plotted
SPECTRUM_DEPTHS = (2, 8)


def _network(point: dict, rng: np.random.Generator):
    s = CONDITIONING_SETTINGS[point["setting"]]
    H, N = int(point["H"]), int(point["N"])
    widths = (int(point["d_x"]),) + (N,) * H + (int(point["d_y"]),)
    return init_network(widths, param_type=s["param_type"], use_skips=s["use_skips"],
                        init=s["init"], rng=rng)


def _block_mask(widths: tuple[int, ...]) -> np.ndarray:
    blk = np.repeat(np.arange(len(widths)), widths)
    return blk[:, None] == blk[None, :]


def spectrum_point(point: dict, rng: np.random.Generator) -> dict:
    """All eigenvalues of ``H_z``, ``D``, ``O`` by linpc and by the dense reference."""
    net = _network(point, rng)
    hz = ActivityHessian(net)
    out = {"full": activity_hessian_part_eigenvalues(net, "full"),
           "diag": activity_hessian_part_eigenvalues(net, "diag"),
           "off_diag": activity_hessian_part_eigenvalues(net, "off_diag")}
    A = dense_activity_hessian(net)                     # DᵀΠD from the raw dense D
    mask = _block_mask(net.hidden_widths)
    out["ref_full"] = np.linalg.eigvalsh(A)
    out["ref_diag"] = np.linalg.eigvalsh(np.where(mask, A, 0.0))
    out["ref_off_diag"] = np.linalg.eigvalsh(np.where(mask, 0.0, A))
    ev = hz.extreme_eigenvalues(method="lanczos")
    out["lanczos"] = np.array([ev.lambda_min, ev.lambda_max])
    out["lanczos_error"] = np.array([ev.error_min, ev.error_max])
    return out


def kappa_point(point: dict, rng: np.random.Generator) -> dict:
    """``κ(H_z)`` (linpc's default eigensolver) and, for ``H = 1``, the SVD closed form."""
    net = _network(point, rng)
    ev = ActivityHessian(net).extreme_eigenvalues()
    out = {"kappa": ev.condition_number, "lambda_min": ev.lambda_min,
           "lambda_max": ev.lambda_max, "error_min": ev.error_min, "error_max": ev.error_max,
           "kappa_svd": np.nan}
    if net.n_hidden == 1:
        M2 = dense_layer_maps(net)[0][1]                # (d_y, N), independent of linpc's blocks
        sig = sla.svdvals(M2)
        lam = net.output_precision
        lo = 1.0 + lam * sig[-1] ** 2 if M2.shape[1] <= M2.shape[0] else 1.0
        out["kappa_svd"] = (1.0 + lam * sig[0] ** 2) / lo
        out["sigma_max"] = float(sig[0])
    return out


def _spectrum_checks(res, cases) -> tuple[float, float]:
    """Worst ratio of eigenvalue discrepancy to its Weyl bound (parts; Lanczos extremes)."""
    worst_parts, worst_lanczos = 0.0, 0.0
    for p in cases:
        r = res.lookup(**p)
        n = r["ref_full"].size
        for part in ("full", "diag", "off_diag"):
            ref = r[f"ref_{part}"]
            tol = eigenvalue_tolerance(n, float(np.max(np.abs(ref))))
            worst_parts = max(worst_parts, float(np.max(np.abs(np.sort(r[part]) - ref))) / tol)
        ref = r["ref_full"][[0, -1]]
        tol = r["lanczos_error"] + eigenvalue_tolerance(n, float(ref[-1]))
        worst_lanczos = max(worst_lanczos, float(np.max(np.abs(r["lanczos"] - ref) / tol)))
    return worst_parts, worst_lanczos


def make(ctx) -> list[Check]:
    from matplotlib.colors import LogNorm

    from linpc.reproduce.plotting import COLORS, new_figure

    widths = [2**k for k in range(7 if ctx.quick else 9)]
    n_spec = 32 if ctx.quick else 128

    # ---------------------------------------------------------------- computations
    spec_grid = Grid.product({"setting": list(SETTINGS), "H": list(SPECTRUM_DEPTHS)},
                             fixed={"N": n_spec, "d_x": D_X, "d_y": D_Y})
    sres = ctx.sweep("mupc_fig2_spectrum", spectrum_point, spec_grid)
    worst_parts, worst_lanczos = _spectrum_checks(sres, spec_grid.points())

    grid = Grid.product({"setting": list(SETTINGS), "H": list(DEPTHS), "N": widths,
                         "replicate": list(range(N_SEEDS))}, fixed={"d_x": D_X, "d_y": D_Y})
    kres = ctx.sweep("mupc_fig2_kappa", kappa_point, grid)
    med = kres.reduce("kappa", "replicate")             # (setting, H, N)
    kappa_all = kres.array("kappa")

    # check 2: κ increases with depth (median over seeds), every setting, N ≥ 4
    violations = []
    for i, s in enumerate(SETTINGS):
        for k, N in enumerate(widths):
            if N < 4:
                continue
            d = np.diff(med[i, :, k])
            violations += [(s, N, DEPTHS[h + 1]) for h in np.nonzero(d <= 0)[0]]

    # check 3: H = 1 closed form
    worst_h1 = 0.0
    for r, p in zip(kres.results, kres.points, strict=True):
        if p["H"] != 1:
            continue
        n = max(p["N"], D_Y)
        e = 2.0 * eigenvalue_tolerance(n, float(r["lambda_max"]))
        rel_tol = e / float(r["lambda_max"]) + e / float(r["lambda_min"])
        rel = abs(float(r["kappa"]) - float(r["kappa_svd"])) / float(r["kappa_svd"])
        worst_h1 = max(worst_h1, rel / rel_tol)

    # ---------------------------------------------------------------- row 1: spectra (Fig. 2)
    fig, axes = new_figure(3, 3, width=7.0, height=7.0)
    H_spec = SPECTRUM_DEPTHS[-1]
    part_style = {"full": (r"$H_z$ (banded eigensolver)", COLORS["pc"]),
                  "diag": ("diagonal blocks D", COLORS["bp"]),
                  "off_diag": ("off-diagonal blocks O", COLORS["pc_exact"])}
    for i, s in enumerate(SETTINGS):
        r = sres.lookup(setting=s, H=H_spec)
        ax = axes[0][i]
        lo = min(r["off_diag"].min(), r["full"].min())
        hi = max(r["full"].max(), r["diag"].max())
        bins = np.linspace(lo, hi, 41)
        ax.hist(r["full"], bins=bins, density=True, color=part_style["full"][1], alpha=0.35,
                label=part_style["full"][0])
        ax.hist(r["ref_full"], bins=bins, density=True, histtype="step", color=COLORS["theory"],
                lw=0.8, label=r"$H_z$, dense $D^\top\Pi D$ reference")
        for part in ("diag", "off_diag"):
            lab, col = part_style[part]
            ax.hist(r[part], bins=bins, density=True, histtype="step", color=col, lw=1.1,
                    label=lab)
        kappa = r["full"][-1] / r["full"][0]
        ax.set_title(f"{LABELS[s]}, N = {n_spec}, H = {H_spec}")
        ax.text(0.98, 0.95, rf"$\kappa(H_z)$ = {kappa:.3g}" + "\n"
                + rf"$\lambda_{{\min}}$ = {r['full'][0]:.2g}",
                transform=ax.transAxes, ha="right", va="top", fontsize=7)
        ax.set_xlabel("eigenvalue")
        if i == 0:
            ax.set_ylabel("eigenvalue density")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncol=4, fontsize=6.5)

    # ---------------------------------------------------------------- row 2: κ heat maps (Fig. 4)
    norm = LogNorm(vmin=1.0, vmax=max(10.0, float(np.nanmax(med))))
    for i, s in enumerate(SETTINGS):
        ax = axes[1][i]
        ax.imshow(med[i], origin="lower", aspect="auto", cmap="viridis", norm=norm)
        for h in range(len(DEPTHS)):
            for k in range(len(widths)):
                v = med[i, h, k]
                txt = f"{v:.2g}" if v < 100 else f"{v:.0f}"
                ax.text(k, h, txt, ha="center", va="center", fontsize=5,
                        color="white" if norm(v) < 0.55 else "black")
        ax.set_xticks(range(len(widths)), [str(w) for w in widths], fontsize=6)
        ax.set_yticks(range(len(DEPTHS)), [str(d) for d in DEPTHS])
        ax.set_xlabel("width N")
        if i == 0:
            ax.set_ylabel("hidden layers H")
        ax.set_title(rf"{LABELS[s]}: median $\kappa(H_z)$, {N_SEEDS} seeds")

    # ---------------------------------------------------------------- row 3: κ vs H and N
    colors = {"sp_uniform": COLORS["bp"], "sp_uniform_skips": COLORS["other"],
              "mupc": COLORS["pc"]}
    kmax = len(widths) - 1
    ax = axes[2][0]
    hs = np.arange(1, max(DEPTHS) + 1)
    t_h = np.array([tridiagonal_limit_condition_number(int(h)) for h in hs])
    ax.plot(hs, t_h, "--", color=COLORS["theory"], lw=1.1, label=r"$\kappa(T_H)$")
    for i, s in enumerate(SETTINGS):
        ax.plot(DEPTHS, med[i, :, kmax], "o-", color=colors[s], label=LABELS[s], ms=3)
        for rep in range(N_SEEDS):
            ax.plot(DEPTHS, kappa_all[i, :, kmax, rep], ".", color=colors[s], ms=2.5, alpha=0.6)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(DEPTHS, [str(d) for d in DEPTHS])
    ax.set_xlabel("hidden layers H")
    ax.set_ylabel(rf"$\kappa(H_z)$ at N = {widths[kmax]}")
    ax.legend(loc="upper left", fontsize=6)

    ax = axes[2][1]
    h_idx = len(DEPTHS) - 1
    ax.axhline(tridiagonal_limit_condition_number(DEPTHS[h_idx]), ls="--",
               color=COLORS["theory"], lw=1.1)
    for i, s in enumerate(SETTINGS):
        ax.plot(widths, med[i, h_idx, :], "o-", color=colors[s], label=LABELS[s], ms=3)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("width N")
    ax.set_ylabel(rf"$\kappa(H_z)$ at H = {DEPTHS[h_idx]}")

    ax = axes[2][2]
    i_mu = SETTINGS.index("mupc")
    shades = np.linspace(0.35, 1.0, len(DEPTHS) - 1)
    for h, H in enumerate(DEPTHS[1:], start=1):
        ax.plot(widths, med[i_mu, h, :] / tridiagonal_limit_condition_number(H), "o-",
                color=COLORS["pc"], alpha=float(shades[h - 1]), ms=3, label=f"H = {H}")
    ax.axhline(1.0, ls="--", color=COLORS["theory"], lw=1.1)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("width N")
    ax.set_ylabel(r"μPC: $\kappa(H_z)\,/\,\kappa(T_H)$")
    ax.legend(loc="upper left", fontsize=6)
    ctx.save(fig)

    return [
        Check("eigenvalues of H_z, D, O (banded/block) vs dense DᵀΠD reference, worst "
              "|Δλ|/Weyl bound", worst_parts, 1.0,
              "eigenvalue_tolerance(n, ‖A‖₂) = SAFETY·n·eps·‖A‖₂ (Weyl + backward stability)"),
        Check("Lanczos λ_min, λ_max vs dense reference, worst |Δλ|/(Ritz residual + Weyl bound)",
              worst_lanczos, 1.0,
              "an eigenvalue lies within ‖Av − θv‖ of the Ritz value θ (Krylov–Weinstein), plus "
              "the reference's Weyl bound"),
        Check("depth-monotonicity violations of median κ (H = 1→2→4→8, every setting, N ≥ 4)",
              float(len(violations)), 0.0,
              "exact: docs/theory.md §6.2 qualitative fact, κ increases with depth"
              + (f" — violated at {violations}" if violations else "")),
        Check("H = 1: |κ − (1+λσ_max²)/(1+λσ_min²[N≤d_y])|/κ relative to the propagated "
              "eigenvalue bounds (worst network)", worst_h1, 1.0,
              "docs/theory.md §1.2; tolerance e/λ_max + e/λ_min, e = 2·eigenvalue_tolerance"),
    ]


if __name__ == "__main__":
    raise SystemExit(figure_main(SPEC, make))
