"""P3 appendix toy experiments: inference landscapes of 1-MLPs, 2-MLPs and a deep, wide MLP
(Innocenti, Achour & Buckley, "μPC", NeurIPS 2025, arXiv:2505.13124, App.; jpc
``experiments/mupc_paper/toy_experiments.ipynb``; docs/theory.md §1.2, §6.2).

Data as in the notebook: ``x ~ N(1, 0.1²)``, ``y = +x`` (the μPC notebook's sign; P1 uses
``−x``), one fixed batch of ``B = 64`` (:func:`linpc.data.toy_gaussian`); output precision
``λ = 1``. The energy is jpc's batch mean with ½ per layer. As in the notebook, the 1-MLP and
2-MLP landscapes use one activity value shared by all samples, ``F_B(z) = (1/B)Σ_i F(z; x_i,
y_i)``, whose Hessian is the per-sample ``H_z`` and whose minimiser is the batch mean of ``z*``.

* **1-MLP** ``x → z → y`` (one hidden unit): ``F_B(z) = ⟨½(z − w_1x)² + ½(y − w_2z)²⟩``,
  ``H_z = 1 + w_2²``: changing ``w_1`` only moves the minimum, changing ``w_2`` changes the
  curvature (all weights 1 except the one varied, as in the notebook).
* **2-MLP** ``x → z_1 → z_2 → y`` (``w = 1``): ``H_z = [[1 + m_2², −m_2], [−m_2, 1 + λm_3²]]``
  with ``m_l = a_lw_l`` (plus 1 for an identity skip), hence in closed form
  ``λ_± = (d_1 + d_2)/2 ± √(((d_1 − d_2)/2)² + m_2²)``. Panels: SP (``a = 1``), the notebook's
  "μPC" described as ``a_2 = 3``, a large output multiplier ``a_3 = 3``, and what jpc's μPC code
  path actually builds for this net (identity skip on layer 2, ``a_2 = 1/√(NL) = 1/√3``; the
  notebook's ``skip_model = ... if "μP" else None`` is always true, so its SP panels also carry
  that skip). The notebook's remark "no notable differences at small depth" holds: κ stays O(1).
* **deep MLP**: width 128 (``--quick``: 32), ``L = 16`` weight layers (jpc ``depth=16``, so
  ``H = 15`` hidden layers), ``d_x = d_y = 1``, one sample. Contours of
  ``F(z* + α v̂_min + β v̂_max) − F*`` over ``α, β ∈ [−2, 2]`` with ``v̂_min``, ``v̂_max`` the
  extreme eigenvectors of ``H_z`` (ARPACK, :func:`scipy.sparse.linalg.eigsh`, on linpc's
  matrix-free ``H_z`` products and block-Cholesky solves). Settings: SP (default
  ``U(±1/√fan_in)``), SP + identity skips, μPC (``W ~ N(0, 1)``, as in P3), and μPC multipliers
  on the default uniform init (what the notebook's cell builds; its branches are tiny, so
  ``κ ≈ κ(T_H)``).

Checks (each fails if the theory or linpc were wrong):

1. the curvature of every plotted 1-D slice, ``d²F_B/dz²`` by ``scipy.differentiate.hessian`` of
   linpc's energy, equals ``1 + w_2²`` and linpc's ``H_z``;
2. the Hessian of every plotted 2-MLP surface (``scipy.differentiate.hessian``) equals the closed
   form above, and linpc's ``κ(H_z)`` equals the closed-form ``λ_+/λ_−``;
3. for the deep MLPs, the curvature of the energy along ``v̂_min`` and ``v̂_max``
   (``scipy.differentiate.hessian`` of linpc's energy, i.e. ``v̂ᵀH_zv̂`` exactly since ``F`` is
   quadratic) equals linpc's Lanczos ``λ_min``, ``λ_max`` within the finite-difference tolerance
   plus ARPACK's residual ``‖H_zv̂ − θv̂‖`` plus the Lanczos error bound.
"""

from __future__ import annotations

import numpy as np
from scipy.differentiate import hessian
from scipy.sparse.linalg import LinearOperator, eigsh

import linpc
from linpc.core import ActivityHessian, init_network
from linpc.data import toy_gaussian
from linpc.mupc import tridiagonal_limit_condition_number
from linpc.numerics import eigenvalue_tolerance, second_derivative_tolerance
from linpc.reproduce import Check, FigureSpec, Grid, figure_main

SPEC = FigureSpec(
    name="mupc_toy_landscapes",
    title="inference landscapes: 1-MLP, 2-MLP (SP vs larger multipliers), deep MLP slices along "
          "the extreme eigenvectors of H_z",
    source="P3 appendix toy figures (jpc toy_experiments.ipynb)",
    check="FD curvature of every plotted slice vs the eigenvalues of H_z (closed form 1 + w₂², "
          "2×2 closed form, Lanczos for the deep nets); 2-MLP κ vs closed form",
    runtime="quick ≈ 3–7 s / full ≈ 5–10 s (2 cores, unloaded – oversubscribed)",
    data="synthetic toy Gaussian x ~ N(1, 0.1²), y = +x, B = 64 (deep MLP: one sample)",
)

BATCH = 64
DATA_SEED, DEEP_DATA_SEED, DEEP_INIT_SEED = 54829, 19235, 0
LAMBDA = 1.0
#: scipy.differentiate.hessian (initial step, step factor, iterations): F is quadratic, so the
#: order-8 stencil is exact and only cancellation matters; steps 0.25 → 0.0625
FD_STEP = (0.25, 2.0, 2)
#: length of the operation chain of one energy value per unit of width (products, errors,
#: squares, sums) for the cancellation term of the FD tolerance
ENERGY_OPS_PER_WIDTH = 4
ONE_MLP = {"w1": (0.1, 1.0, 2.0), "w2": (0.1, 1.0, 2.0)}
TWO_MLP = {"sp": ("SP, a = (1, 1, 1)", dict(scalings=[1.0, 1.0, 1.0])),
           "a2": ("notebook's \"μPC\": a₂ = 3", dict(scalings=[1.0, 3.0, 1.0])),
           "a3": ("output multiplier a₃ = 3", dict(scalings=[1.0, 1.0, 3.0])),
           "jpc_mupc": ("jpc μPC code: skip, a₂ = 1/√3", dict(param_type="mupc", use_skips=True))}
DEEP = {"sp": ("SP", "sp", False, "uniform"),
        "sp_skips": ("SP + skips", "sp", True, "uniform"),
        "mupc": ("μPC, W ~ N(0, 1)", "mupc", True, "standard_normal"),
        "mupc_uniform": ("μPC multipliers, U init (notebook)", "mupc", True, "uniform")}
DEEP_L = 16
DOMAIN = 2.0


def toy_batch(seed: int = DATA_SEED, batch: int = BATCH) -> tuple[np.ndarray, np.ndarray]:
    """``x ~ N(1, 0.1²)``, ``y = +x`` (the μPC toy notebook)."""
    return toy_gaussian(batch, 1, sign=+1.0, rng=seed)


def _fd_curvature(net, x, y, z0: np.ndarray, v: np.ndarray) -> tuple[float, float, float]:
    """``d²/dt² F_B(z0 + t v)`` at 0 by ``scipy.differentiate.hessian``; with error, min step."""
    B = x.shape[0]
    z0 = np.asarray(z0, dtype=np.float64)

    def g(t: np.ndarray) -> np.ndarray:
        flat = np.asarray(t[0], dtype=np.float64).ravel()
        out = np.empty(flat.size)
        for k, tk in enumerate(flat):
            Z = np.broadcast_to(z0 + tk * v, (B, v.size))
            out[k] = linpc.energy(net, net.split_activities(Z), x, y)
        return out.reshape(np.shape(t[0]))

    h0, factor, iters = FD_STEP
    res = hessian(g, np.zeros(1), initial_step=h0, step_factor=factor, maxiter=iters)
    return float(res.ddf[0, 0]), float(res.error[0, 0]), h0 / factor**iters


def _fd_tolerance(net, x, y, z0, v, err, step) -> float:
    """:func:`linpc.numerics.second_derivative_tolerance` with the energy's magnitude at the
    stencil's widest point as the cancellation scale."""
    Z = np.broadcast_to(z0 + FD_STEP[0] * 4 * v, (x.shape[0], v.size))   # order-8 half-width 4h
    f_scale = max(abs(linpc.energy(net, net.split_activities(Z), x, y)), 1.0)
    ops = ENERGY_OPS_PER_WIDTH * max(net.widths)
    return second_derivative_tolerance(err, step, f_scale, f_condition=ops)


# ------------------------------------------------------------------------ point functions
def one_mlp_point(point: dict, rng: np.random.Generator) -> dict:
    """``F_B(z)`` on a grid for one 1-MLP, its minimiser and the FD curvature there."""
    x, y = toy_batch()
    w1, w2 = float(point["w1"]), float(point["w2"])
    net = linpc.LinearPCN([[[w1]], [[w2]]], output_energy_scaling=LAMBDA)
    zs = np.linspace(-3.0, 3.0, int(point["grid"]))
    F = np.array([linpc.energy(net, [np.full((BATCH, 1), z)], x, y) for z in zs])
    zbar = float(np.mean(linpc.solve_equilibrium(net, x, y).activities[0]))
    Fbar = linpc.energy(net, [np.full((BATCH, 1), zbar)], x, y)
    v = np.ones(1)
    curv, err, step = _fd_curvature(net, x, y, np.array([zbar]), v)
    return {"z": zs, "F": F, "zbar": zbar, "Fbar": Fbar, "curvature": curv,
            "fd_tol": _fd_tolerance(net, x, y, np.array([zbar]), v, err, step),
            "hz": float(ActivityHessian(net).diagonal_block(1)[0, 0])}


def _two_mlp(name: str) -> linpc.LinearPCN:
    return linpc.LinearPCN([[[1.0]], [[1.0]], [[1.0]]], output_energy_scaling=LAMBDA,
                           **TWO_MLP[name][1])


def two_mlp_closed_form(net: linpc.LinearPCN) -> tuple[np.ndarray, float]:
    """``H_z`` of a scalar 2-MLP and its condition number from the 2×2 eigenvalue formula."""
    m2 = net.scalings[1] * float(net.weights[1][0, 0]) + (1.0 if net.skips[1] else 0.0)
    m3 = net.scalings[2] * float(net.weights[2][0, 0])
    d1, d2 = 1.0 + m2 * m2, 1.0 + net.output_precision * m3 * m3
    Hz = np.array([[d1, -m2], [-m2, d2]])
    mid, rad = 0.5 * (d1 + d2), np.hypot(0.5 * (d1 - d2), m2)
    return Hz, (mid + rad) / (mid - rad)


def two_mlp_point(point: dict, rng: np.random.Generator) -> dict:
    """``F_B(z_1, z_2)`` on a grid, the FD Hessian at the minimiser and linpc's eigenvalues."""
    x, y = toy_batch()
    net = _two_mlp(point["net"])
    n = int(point["grid"])
    g = np.linspace(-DOMAIN, DOMAIN, n)
    Z1, Z2 = np.meshgrid(g, g)                           # surface[i, j] at (z1 = g[j], z2 = g[i])
    xs = np.repeat(x, Z1.size, axis=0)
    ys = np.repeat(y, Z1.size, axis=0)
    zz = [np.tile(Z1.reshape(-1, 1), (BATCH, 1)), np.tile(Z2.reshape(-1, 1), (BATCH, 1))]
    per = linpc.energy(net, zz, xs, ys, per_sample=True)            # sample-major blocks
    surface = per.reshape(BATCH, n, n).mean(axis=0)
    zbar = np.array([float(np.mean(a)) for a in linpc.solve_equilibrium(net, x, y).activities])

    def f(w: np.ndarray) -> np.ndarray:
        a, b = np.asarray(w[0]), np.asarray(w[1])
        out = np.empty(a.shape)
        for idx in np.ndindex(a.shape):
            out[idx] = linpc.energy(net, [np.full((BATCH, 1), zbar[0] + a[idx]),
                                          np.full((BATCH, 1), zbar[1] + b[idx])], x, y)
        return out

    h0, factor, iters = FD_STEP
    res = hessian(f, np.zeros(2), initial_step=h0, step_factor=factor, maxiter=iters)
    ev = ActivityHessian(net).extreme_eigenvalues(method="banded")
    w, V = np.linalg.eigh(ActivityHessian(net).to_dense())
    f_scale = max(abs(float(f(np.full((2, 1), 4 * h0))[0])), 1.0)
    tol = second_derivative_tolerance(float(np.max(res.error)), h0 / factor**iters, f_scale,
                                      f_condition=ENERGY_OPS_PER_WIDTH)
    return {"surface": surface, "grid": g, "zbar": zbar, "fd_hessian": res.ddf,
            "fd_tol": tol, "kappa": ev.condition_number, "eigvals": w, "eigvecs": V}


def _deep_net(name: str, width: int) -> linpc.LinearPCN:
    _, pt, skips, init = DEEP[name]
    widths = (1,) + (width,) * (DEEP_L - 1) + (1,)
    return init_network(widths, param_type=pt, use_skips=skips, init=init,
                        rng=np.random.default_rng(DEEP_INIT_SEED))


def _extreme_vectors(hz: ActivityHessian) -> tuple[np.ndarray, np.ndarray]:
    """Unit eigenvectors for λ_min and λ_max by ARPACK (independent of linpc's Lanczos)."""
    n = hz.shape[0]
    start = np.ones(n) / np.sqrt(n)
    A = LinearOperator((n, n), matvec=hz.matvec, dtype=np.float64)
    Ainv = LinearOperator((n, n), matvec=hz.solve, dtype=np.float64)
    _, vmax = eigsh(A, k=1, which="LA", tol=1e-13, v0=start)
    _, vmin = eigsh(Ainv, k=1, which="LA", tol=1e-13, v0=start)
    return vmin[:, 0] / np.linalg.norm(vmin[:, 0]), vmax[:, 0] / np.linalg.norm(vmax[:, 0])


def deep_point(point: dict, rng: np.random.Generator) -> dict:
    """Energy slice through ``z*`` along the extreme eigenvectors, and the checks' numbers."""
    x, y = toy_batch(DEEP_DATA_SEED, 1)
    net = _deep_net(point["net"], int(point["width"]))
    hz = ActivityHessian(net)
    ev = hz.extreme_eigenvalues(method="lanczos")
    vmin, vmax = _extreme_vectors(hz)
    zstar = linpc.solve_equilibrium(net, x, y, hessian=hz).activities
    z0 = np.concatenate(zstar, axis=1)[0]
    Fstar = linpc.energy(net, zstar, x, y)
    n = int(point["grid"])
    g = np.linspace(-DOMAIN, DOMAIN, n)
    A, Bt = np.meshgrid(g, g)                            # rows: β (v_max), columns: α (v_min)
    Z = z0[None, :] + A.reshape(-1, 1) * vmin[None, :] + Bt.reshape(-1, 1) * vmax[None, :]
    G = Z.shape[0]
    per = linpc.energy(net, net.split_activities(Z), np.repeat(x, G, axis=0),
                       np.repeat(y, G, axis=0), per_sample=True)
    out = {"surface": (per - Fstar).reshape(n, n), "grid": g,
           "lanczos": np.array([ev.lambda_min, ev.lambda_max]),
           "lanczos_err": np.array([ev.error_min, ev.error_max])}
    curv, tol, resid = [], [], []
    for v in (vmin, vmax):
        c, err, step = _fd_curvature(net, x, y, z0, v)
        curv.append(c)
        tol.append(_fd_tolerance(net, x, y, z0, v, err, step))
        Hv = hz.matvec(v)
        resid.append(float(np.linalg.norm(Hv - (v @ Hv) * v)))
    out.update({"curvature": np.array(curv), "fd_tol": np.array(tol),
                "arpack_residual": np.array(resid)})
    return out


# ------------------------------------------------------------------------ figure
def make(ctx) -> list[Check]:
    from matplotlib.colors import LogNorm

    from linpc.reproduce.plotting import COLORS, new_figure

    grid1, grid2, grid3 = (41, 31, 25) if ctx.quick else (61, 41, 41)
    width = 32 if ctx.quick else 128
    one = ctx.sweep("mupc_toy_1mlp", one_mlp_point,
                    [{"w1": w1, "w2": 1.0, "grid": grid1} for w1 in ONE_MLP["w1"]]
                    + [{"w1": 1.0, "w2": w2, "grid": grid1} for w2 in ONE_MLP["w2"] if w2 != 1.0])
    two = ctx.sweep("mupc_toy_2mlp", two_mlp_point,
                    Grid.product({"net": list(TWO_MLP)}, fixed={"grid": grid2}))
    deep = ctx.sweep("mupc_toy_deep", deep_point,
                     Grid.product({"net": list(DEEP)}, fixed={"width": width, "grid": grid3}))

    # ---------------------------------------------------------------- checks
    worst1 = 0.0
    scatter = []                                   # (eigenvalue, FD curvature) for panel (d)
    for p, r in zip(one.points, one.results, strict=True):
        theory = 1.0 + LAMBDA * p["w2"] ** 2
        worst1 = max(worst1, abs(float(r["curvature"]) - theory) / float(r["fd_tol"]),
                     abs(float(r["hz"]) - theory) / float(r["fd_tol"]))
        scatter.append((theory, float(r["curvature"]), "1-MLP"))
    worst2_h, worst2_k = 0.0, 0.0
    for p, r in zip(two.points, two.results, strict=True):
        Hz, kappa = two_mlp_closed_form(_two_mlp(p["net"]))
        worst2_h = max(worst2_h, float(np.max(np.abs(r["fd_hessian"] - Hz))) / float(r["fd_tol"]))
        lam = np.linalg.eigvalsh(Hz)
        e = eigenvalue_tolerance(2, float(lam[-1]))
        worst2_k = max(worst2_k, abs(float(r["kappa"]) - kappa) / kappa
                       / (e / lam[0] + e / lam[-1]))
        for k in range(2):
            u = r["eigvecs"][:, k]
            scatter.append((float(r["eigvals"][k]), float(u @ r["fd_hessian"] @ u), "2-MLP"))
    worst3 = 0.0
    for r in deep.results:
        tol = r["fd_tol"] + r["arpack_residual"] + r["lanczos_err"]
        worst3 = max(worst3, float(np.max(np.abs(r["curvature"] - r["lanczos"]) / tol)))
        for k in range(2):
            scatter.append((float(r["lanczos"][k]), float(r["curvature"][k]), "deep"))

    # ---------------------------------------------------------------- figure
    fig, axes = new_figure(3, 4, width=7.4, height=6.4)
    blues = {0.1: 0.45, 1.0: 0.7, 2.0: 1.0}
    for j, which in enumerate(("w1", "w2")):
        ax = axes[0][j]
        for p, r in sorted(zip(one.points, one.results, strict=True),
                           key=lambda pr: pr[0][which]):
            other = "w2" if which == "w1" else "w1"
            if p[other] != 1.0:
                continue
            val = p[which]
            ax.plot(r["z"], r["F"], color=COLORS["bp"], alpha=blues[val],
                    label=f"w{which[1]} = {val:g}  (H_z = {1 + p['w2'] ** 2:g})")
            ax.plot(r["zbar"], r["Fbar"], "*", color=COLORS["extra"], ms=7, mec="k", mew=0.4)
        ax.set_xlabel("z (shared by the batch)")
        ax.set_ylabel(r"$F_B(z)$" if j == 0 else "")
        ax.set_title(f"1-MLP, vary w{which[1]}")
        ax.legend(loc="upper center", fontsize=5.5)
    axes[0][0].plot([], [], "*", color=COLORS["extra"], mec="k", mew=0.4, label="minimiser")

    # (c) 2-MLP κ against a multiplier: closed form vs linpc
    ax = axes[0][2]
    a_grid = np.geomspace(0.1, 10.0, 41)
    for key, lab, col in (("a2", "a₂ (hidden)", COLORS["pc"]), ("a3", "a₃ (output)",
                                                                  COLORS["pc_exact"])):
        cf, lp = [], []
        for a in a_grid:
            sc = [1.0, a, 1.0] if key == "a2" else [1.0, 1.0, a]
            net = linpc.LinearPCN([[[1.0]], [[1.0]], [[1.0]]], scalings=sc)
            cf.append(two_mlp_closed_form(net)[1])
            lp.append(ActivityHessian(net).condition_number(method="banded"))
        ax.plot(a_grid, cf, "-", color=col, lw=1.0, label=f"closed form, vary {lab}")
        ax.plot(a_grid[::5], lp[::5], "o", color=col, ms=3, mfc="none", label="linpc")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("multiplier")
    ax.set_ylabel(r"$\kappa(H_z)$, 2-MLP, w = 1")
    ax.set_title("2-MLP conditioning")
    ax.set_ylim(top=ax.get_ylim()[1] * 20)
    ax.legend(loc="upper left", fontsize=5.5)

    # (d) check scatter: FD curvature vs eigenvalue
    ax = axes[0][3]
    marks = {"1-MLP": ("o", COLORS["bp"]), "2-MLP": ("s", COLORS["pc"]),
             "deep": ("^", COLORS["other"])}
    for kind, (mk, col) in marks.items():
        pts = np.array([(a, b) for a, b, k in scatter if k == kind])
        ax.plot(pts[:, 0], pts[:, 1], mk, color=col, ms=3.5, mfc="none", label=kind)
    lim = np.array([min(a for a, _, _ in scatter) / 2, max(a for a, _, _ in scatter) * 2])
    ax.plot(lim, lim, "-", color=COLORS["theory"], lw=0.8, label="curvature = eigenvalue")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"eigenvalue of $H_z$ (theory / linpc)")
    ax.set_ylabel("FD curvature of the slice")
    ax.set_title("checks 1–3")
    ax.legend(loc="upper left", fontsize=5.5)

    # row 2: 2-MLP contours
    for j, (p, r) in enumerate(zip(two.points, two.results, strict=True)):
        ax = axes[1][j]
        g = r["grid"]
        ax.contourf(g, g, r["surface"], levels=16, cmap="viridis")
        ax.plot(*r["zbar"], "o", color="yellow", mec="k", mew=0.4, ms=4)
        for k in range(2):
            vec = r["eigvecs"][:, k] / np.sqrt(r["eigvals"][k])
            ax.annotate("", xy=r["zbar"] + vec, xytext=r["zbar"],
                        arrowprops=dict(arrowstyle="->", color="white", lw=0.8))
        ax.set_title(TWO_MLP[p["net"]][0], fontsize=7)
        ax.text(0.03, 0.04, rf"$\kappa$ = {r['kappa']:.3g}", transform=ax.transAxes,
                color="white", fontsize=7)
        ax.set_xlabel(r"$z_1$")
        ax.set_ylabel(r"$z_2$" if j == 0 else "")
        ax.set_aspect("equal")

    # row 3: deep MLP slices
    for j, (p, r) in enumerate(zip(deep.points, deep.results, strict=True)):
        ax = axes[2][j]
        g = r["grid"]
        surf = np.maximum(r["surface"], 0.0)
        top = float(surf.max())
        ax.contourf(g, g, surf + top * 1e-6, levels=np.geomspace(top * 1e-6, top * 1.0001, 17),
                    norm=LogNorm(), cmap="viridis")
        ax.plot(0, 0, "o", color="yellow", mec="k", mew=0.4, ms=4)
        lo, hi = r["lanczos"]
        ax.set_title(DEEP[p["net"]][0], fontsize=6.5)
        ax.text(0.03, 0.04, rf"$\kappa$ = {hi / lo:.3g}", transform=ax.transAxes,
                color="black", fontsize=7,
                bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none", alpha=0.8))
        ax.set_xlabel(r"$\alpha$ along $\hat v_{\min}$")
        ax.set_ylabel(r"$\beta$ along $\hat v_{\max}$" if j == 0 else "")
        ax.set_aspect("equal")
    fig.suptitle(f"row 2: F_B over a shared (z₁, z₂), arrows = eigenvectors of H_z scaled by "
                 f"1/√λ\nrow 3: log-spaced contours of F − F* of a deep MLP (N = {width}, "
                 f"L = {DEEP_L}, κ(T_{DEEP_L - 1}) = "
                 f"{tridiagonal_limit_condition_number(DEEP_L - 1):.0f})", fontsize=7)
    ctx.save(fig)

    rule_fd = ("linpc.numerics.second_derivative_tolerance: scipy.differentiate error estimate + "
               "cancellation; F is quadratic so the stencil is exact")
    return [
        Check("1-MLP: FD curvature of F_B(z) and linpc H_z vs 1 + w₂² (worst / tolerance)",
              worst1, 1.0, rule_fd),
        Check("2-MLP: FD Hessian of the plotted surface vs closed-form H_z (worst entry / "
              "tolerance)", worst2_h, 1.0, rule_fd),
        Check("2-MLP: linpc κ vs closed-form λ₊/λ₋ (relative error / propagated eigenvalue "
              "bound)", worst2_k, 1.0, "e/λ_min + e/λ_max, e = eigenvalue_tolerance(2, λ_max)"),
        Check("deep MLP: FD curvature along v̂_min, v̂_max vs Lanczos λ_min, λ_max (worst / "
              "(FD tol + ARPACK residual + Lanczos error))", worst3, 1.0,
              "Rayleigh quotient of an approximate eigenvector lies within its residual of an "
              "eigenvalue; " + rule_fd),
    ]


if __name__ == "__main__":
    raise SystemExit(figure_main(SPEC, make))
