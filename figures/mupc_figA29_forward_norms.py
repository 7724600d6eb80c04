"""P3 Fig. A.29: forward-pass activity norms at initialisation versus depth and width, for SP,
SP with skips, orthogonal initialisation and μPC (Depth-μP) (Innocenti, Achour & Buckley, "μPC",
NeurIPS 2025, arXiv:2505.13124, App. A; jpc ``experiments/mupc_paper/test_mlp_fwd_pass.py``;
docs/theory.md §1.4; :mod:`linpc.mupc.forward_scale`).

Setup: linear networks ``784 → N → … → N → 10`` with ``L`` weight layers, no biases, one fixed
unit-norm input, Monte Carlo over independent initialisations (``N_DRAWS`` networks per point,
each built with :func:`linpc.core.init_network` and run with ``LinearPCN.forward``). The
paper's grid (widths ``2^7..2^10``, depths ``2^4..2^9``, every setting) does not fit the budget;
with multipliers that do not depend on ``L`` (SP, SP + skips, orthogonal) the hidden layers of a
depth-``L`` network are distributed like the first ``L − 1`` layers of any deeper one, so one
deep network per setting gives the whole depth profile; μPC's ``a_l = 1/√(NL)`` depends on
``L``, so it gets one network per depth. Full run: ``N = 128`` with SP/SP + skips at
``L = 512``, μPC at ``L ∈ {16, 64, 512}``, μPC without skips at ``L = 128``, orthogonal at
``L = 64`` (its Haar draws cost a QR per layer), and the width sweep ``N ∈ {128, 256, 512}`` at
``L = 16``. ``--quick`` uses ``N = 64``, depths ≤ 64, 24 draws and no orthogonal network (the
784 × 784 QR of its first layer alone costs ≈ 0.1 s per draw).

Theory (exact for every width and depth, docs/theory.md §1.4): with per-entry weight variance
``v_l`` and multiplier ``a_l``, ``E[‖z_l‖² | z_{l−1}] = g_l ‖z_{l−1}‖²`` with ``g_l = a_l² v_l n_l``
(plain) or ``1 + a_l² v_l n_l`` (identity skip), so ``E‖z_l‖² = ‖x‖² Π_{k≤l} g_k``
(:func:`linpc.mupc.expected_forward_norms`); μPC: ``E‖z_l‖² = (1 + 1/L)^{l−1} N‖x‖²/D``
(≤ ``e·N‖x‖²/D``, depth-stable).

Checks (each fails if the theory or linpc were wrong):

1. ``E‖z_l‖²``: Monte Carlo mean within ``5`` standard errors of the formula, for every recorded
   layer whose per-draw spread is moderate. The products of many random layer gains are
   heavy-tailed (log-normal-like), and a sample of ``N_DRAWS`` cannot estimate the mean of a
   distribution whose coefficient of variation is large: the test is applied where the a-priori
   bound ``CV²(‖z_l‖²) ≤ Π_k m_k/g_k² − 1 ≤ 1``, with ``m_k`` the Gaussian second moment of the
   layer gain (an upper bound for uniform and Haar weights, derived below), and the excluded
   layers are drawn as open markers;
2. per-layer gains, for every layer of every network: the mean over draws of
   ``ρ_l = ‖z_l‖²/‖z_{l−1}‖²`` is within ``5`` standard errors (plus a round-off floor
   ``roundoff_tolerance(n_{l−1})·g_l``, needed where ``ρ_l ≡ 1`` as for orthogonal square layers)
   of ``g_l``. ``E[ρ_l | z_{l−1}] = g_l`` exactly, and ``ρ_l`` is light-tailed (``CV² ≲ 2/n_l``),
   so this tests the formula at every depth, including where check 1 cannot;
3. the separate transcription of docs/theory.md §1.4's μPC formulas
   (:func:`linpc.mupc.mupc_forward_norms`) equals the product of gains for every μPC
   network, to round-off.

Second-moment bound used in check 1 [der]: for a unit vector ``u`` and ``W`` with i.i.d.
symmetric zero-mean entries of variance ``v`` and kurtosis ``≤ 3``,
``E‖Wu‖⁴ = n(n−1)v² + n E(wᵀu)⁴ ≤ v² n(n+2)`` (``E(wᵀu)⁴ = 3v² − (3 − κ₄)v²Σu_i⁴``); for Haar
(semi-)orthogonal ``W`` (``n ≤ m`` rows of an ``m × m`` Haar matrix, ``v = 1/m``), ``‖Wu‖²`` is
``Beta(n/2, (m−n)/2)`` with ``E‖Wu‖⁴ = n(n+2)/(m(m+2))`` (used exactly), or exactly 1 when
``n ≥ m``.
A residual layer has ``ρ = 1 + 2a uᵀWu + a²‖Wu‖²``, ``E(uᵀWu)² = v`` and odd moments vanish, so
``E ρ² ≤ 1 + 4a²v + 2a²vn + a⁴v²n(n+2) =: m``. By the tower property
``E‖z_l‖⁴ ≤ ‖x‖⁴ Π_k m_k``.
"""

from __future__ import annotations

import numpy as np

from linpc.core import init_variances, layer_scalings
from linpc.mupc import mupc_forward_norms, sample_forward_norms
from linpc.numerics import MONTE_CARLO_SIGMAS, roundoff_tolerance
from linpc.reproduce import Check, FigureSpec, figure_main

SPEC = FigureSpec(
    name="mupc_figA29_forward_norms",
    title="forward-pass activity norms at initialisation vs depth and width (SP, skips, "
          "orthogonal, μPC)",
    source="P3 Fig. A.29",
    check="Monte Carlo E‖z_l‖² vs the exact gain product of docs/theory.md §1.4 within 5 SE (where "
          "CV² ≤ 1); per-layer gains within 5 SE at every layer; μPC closed form vs gain product",
    runtime="quick ≈ 3–5 s / full ≈ 20–32 s (2 cores, unloaded – oversubscribed)",
    data="one fixed unit-norm input of MNIST's dimension (784); no data set needed",
)

D_X, D_Y = 784, 10
N_DRAWS = {"quick": 24, "full": 32}
#: setting → (param_type, use_skips, init, label)
SETTINGS = {
    "sp": ("sp", False, "uniform", "SP, U(±1/√fan_in)"),
    "sp_skips": ("sp", True, "uniform", "SP + skips"),
    "orthogonal": ("sp", False, "orthogonal", "SP, orthogonal init"),
    "mupc_no_skips": ("mupc", False, "standard_normal", "μPC without skips"),
    "mupc": ("mupc", True, "standard_normal", "μPC (Depth-μP, skips)"),
}
CV2_MAX = 1.0


def _widths(point: dict) -> tuple[int, ...]:
    return (D_X,) + (int(point["N"]),) * (int(point["L"]) - 1) + (D_Y,)


def cv2_bound(widths, param_type: str, use_skips: bool, init: str) -> np.ndarray:
    """A-priori bound on ``CV²(‖z_l‖²)``, ``l = 0..L`` (module docstring)."""
    n = list(widths)
    a = layer_scalings(n, param_type, use_skips=use_skips)
    v = init_variances(n, param_type=param_type, init=init)
    ratio = np.empty(len(n) - 1)
    for k in range(1, len(n)):
        nk, ak2, vk = n[k], a[k - 1] ** 2, v[k - 1]
        if init == "orthogonal":         # exact: ‖Wu‖² ~ Beta(n_k/2, (n_{k−1}−n_k)/2) or ≡ 1
            m_in = n[k - 1]
            ratio[k - 1] = m_in * (nk + 2) / (nk * (m_in + 2)) if nk < m_in else 1.0
            continue
        if use_skips and 2 <= k <= len(n) - 2:
            g = 1.0 + ak2 * vk * nk
            m = 1.0 + 4 * ak2 * vk + 2 * ak2 * vk * nk + ak2**2 * vk**2 * nk * (nk + 2)
        else:
            g = ak2 * vk * nk
            m = ak2**2 * vk**2 * nk * (nk + 2)
        ratio[k - 1] = m / g**2
    return np.concatenate([[0.0], np.cumprod(ratio) - 1.0])


def forward_point(point: dict, rng: np.random.Generator) -> dict:
    """Squared norms ``‖z_l‖²`` of one input over ``n_draws`` initialisations, and the theory."""
    param_type, skips, init, _ = SETTINGS[point["setting"]]
    widths = _widths(point)
    x = rng.standard_normal(D_X)
    x /= np.linalg.norm(x)
    s = sample_forward_norms(widths, x, n_draws=int(point["n_draws"]), param_type=param_type,
                             use_skips=skips, init=init, rng=rng)
    out = {"norms": s.norms, "expected": s.expected,
           "cv2_bound": cv2_bound(widths, param_type, skips, init)}
    if param_type == "mupc" and skips:
        out["mupc_formula"] = mupc_forward_norms(int(point["N"]), D_X, int(point["L"]), D_Y)
    return out


def _points(quick: bool) -> tuple[list[dict], dict]:
    if quick:
        n0, deep, mu_depths, ortho_L, widths, wide_L = 64, 64, (16, 64), 16, (64, 128), 8
    else:
        n0, deep, mu_depths, ortho_L, widths, wide_L = 128, 512, (16, 64, 512), 64, \
            (128, 256, 512), 16
    depth_pts = [{"setting": "sp", "L": deep, "N": n0}, {"setting": "sp_skips", "L": deep, "N": n0},
                 {"setting": "mupc_no_skips", "L": min(deep, 128), "N": n0}]
    if not quick:            # a Haar draw costs a 784 × 784 QR per network: full run only
        depth_pts.append({"setting": "orthogonal", "L": ortho_L, "N": n0})
    depth_pts += [{"setting": "mupc", "L": L, "N": n0} for L in mu_depths]
    width_pts = [{"setting": s, "L": wide_L, "N": N} for s in ("sp", "sp_skips", "mupc")
                 for N in widths]
    pts, seen = [], set()
    for p in depth_pts + width_pts:
        q = dict(p, n_draws=N_DRAWS["quick" if quick else "full"])
        key = (q["setting"], q["L"], q["N"])
        if key not in seen:
            seen.add(key)
            pts.append(q)
    layout = {"n0": n0, "deep": deep, "mu_depths": mu_depths, "ortho_L": ortho_L,
              "widths": widths, "wide_L": wide_L}
    return pts, layout


def _stats(r: dict) -> dict:
    """Monte Carlo means, standard errors and z-scores of ‖z_l‖² and of the layer gains."""
    norms, expected = r["norms"], r["expected"]
    n = norms.shape[0]
    mean = norms.mean(axis=0)
    se = norms.std(axis=0, ddof=1) / np.sqrt(n)
    ratios = norms[:, 1:] / norms[:, :-1]
    gains = expected[1:] / expected[:-1]
    r_mean = ratios.mean(axis=0)
    r_se = ratios.std(axis=0, ddof=1) / np.sqrt(n)
    return {"mean": mean, "se": se, "ratio_mean": r_mean, "ratio_se": r_se, "gains": gains}


def make(ctx) -> list[Check]:
    from linpc.reproduce.plotting import COLORS, new_figure

    pts, lay = _points(ctx.quick)
    res = ctx.sweep("mupc_figA29_forward", forward_point, pts, version="2")

    # ---------------------------------------------------------------- checks
    z_norm, z_norm_full, z_gain = [], [], []
    n_tested, n_excluded, worst_formula = 0, 0, 0.0
    for p, r in zip(res.points, res.results, strict=True):
        st = _stats(r)
        tested = (r["cv2_bound"] <= CV2_MAX) & (np.arange(r["expected"].size) > 0)
        n_tested += int(tested.sum())
        n_excluded += int((~tested[1:]).sum())
        with np.errstate(divide="ignore", invalid="ignore"):   # layer 0 (the input): SE = 0
            z = (st["mean"] - r["expected"]) / st["se"]
        z_norm.append(z[tested])
        z_norm_full.append((tested, z))
        floor = np.array([roundoff_tolerance(w) for w in _widths(p)[:-1]]) * st["gains"]
        dev = st["ratio_mean"] - st["gains"]
        z_gain.append(dev / (st["ratio_se"] + floor / MONTE_CARLO_SIGMAS))   # signed
        if "mupc_formula" in r:
            rel = np.abs(r["mupc_formula"] - r["expected"]) / r["expected"]
            worst_formula = max(worst_formula, float(rel.max()) / roundoff_tolerance(p["L"]))
    z_norm_all = np.concatenate(z_norm)
    z_gain_all = np.concatenate(z_gain)

    # ---------------------------------------------------------------- figure
    colors = {"sp": COLORS["bp"], "sp_skips": COLORS["other"], "orthogonal": COLORS["extra"],
              "mupc_no_skips": COLORS["pc_exact"], "mupc": COLORS["pc"]}
    fig, axes = new_figure(2, 2, width=6.6, height=5.4)
    n0 = lay["n0"]

    def _markers(ax, l_idx, r, st, scale, color, x_of=lambda l: l):
        tested = r["cv2_bound"][l_idx] <= CV2_MAX
        xs = np.array([x_of(l) for l in l_idx])
        ys, es = st["mean"][l_idx] / scale, st["se"][l_idx] / scale
        ax.errorbar(xs[tested], ys[tested], yerr=es[tested], fmt="o", color=color, ms=3,
                    elinewidth=0.8, capsize=1.5)
        ax.plot(xs[~tested], ys[~tested], "o", color=color, ms=3, mfc="none")

    # (a) depth profile of the deepest networks
    ax = axes[0][0]
    deepest = [("sp", lay["deep"]), ("sp_skips", lay["deep"]), ("orthogonal", lay["ortho_L"]),
               ("mupc_no_skips", min(lay["deep"], 128)), ("mupc", max(lay["mu_depths"]))]
    for s, L in deepest:
        if not any(p["setting"] == s and p["L"] == L for p in res.points):
            continue
        r = res.lookup(setting=s, L=L, N=n0)
        st = _stats(r)
        ls = np.arange(1, L + 1)
        nl = np.array(_widths({"N": n0, "L": L})[1:], dtype=float)
        ax.plot(ls, r["expected"][1:] / nl, "-", color=colors[s], lw=1.0,
                label=f"{SETTINGS[s][3]} (L = {L})")
        l_idx = np.unique(np.concatenate([2 ** np.arange(int(np.log2(L)) + 1),
                                          np.linspace(1, L, 9).astype(int)]))
        _markers(ax, l_idx, r, st, nl[l_idx - 1], colors[s])
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("layer l")
    ax.set_ylabel(r"$E\|z_l\|^2 / n_l$")
    ax.set_title(f"depth profile, N = {n0}")
    ax.plot([], [], "o", color="0.4", ms=3, mfc="none",
            label=f"open: not tested (CV² bound > {CV2_MAX:g})")
    ax.legend(loc="lower left", fontsize=5.5)

    # (b) μPC depth stability
    ax = axes[0][1]
    shades = np.linspace(0.4, 1.0, len(lay["mu_depths"]))
    for L, alpha in zip(lay["mu_depths"], shades, strict=True):
        r = res.lookup(setting="mupc", L=L, N=n0)
        st = _stats(r)
        ls = np.arange(1, L)
        ax.plot(ls / L, r["expected"][1:L] / n0, "-", color=COLORS["pc"], alpha=float(alpha),
                lw=1.0, label=f"L = {L}")
        l_idx = np.unique(np.linspace(1, L - 1, min(L - 1, 12)).astype(int))
        _markers(ax, l_idx, r, st, n0, COLORS["pc"], x_of=lambda l, L=L: l / L)
    ax.axhline(np.e / D_X, ls="--", color=COLORS["theory"], lw=1.0,
               label=r"bound $e\,\|x\|^2/D$")
    ax.axhline(1.0 / D_X, ls=":", color=COLORS["theory"], lw=1.0,
               label=r"$E\|z_1\|^2/N = \|x\|^2/D$")
    ax.set_xlabel("relative depth l / L (hidden layers)")
    ax.set_ylabel(r"$E\|z_l\|^2 / N$")
    ax.set_title(r"μPC: $(1+1/L)^{l-1}\,\|x\|^2/D$ per unit")
    ax.set_ylim(0, 1.25 * np.e / D_X)
    ax.legend(loc="lower right", fontsize=6)

    # (c) width dependence at fixed depth
    ax = axes[1][0]
    Lw, wl = lay["wide_L"], np.array(lay["widths"], dtype=float)
    for s in ("sp", "sp_skips", "mupc"):
        for which, mk, ls_ in (("hidden", "o", "-"), ("output", "s", "--")):
            th, mc, se = [], [], []
            for N in lay["widths"]:
                r = res.lookup(setting=s, L=Lw, N=N)
                st = _stats(r)
                idx, scale = (Lw - 1, N) if which == "hidden" else (Lw, D_Y)
                th.append(r["expected"][idx] / scale)
                mc.append(st["mean"][idx] / scale)
                se.append(st["se"][idx] / scale)
            ax.plot(wl, th, ls_, color=colors[s], lw=1.0)
            ax.errorbar(wl, mc, yerr=se, fmt=mk, color=colors[s], ms=3, elinewidth=0.8,
                        capsize=1.5)
    ax.plot([], [], "-o", color="0.4", ms=3, label=r"last hidden layer, $E\|z_H\|^2/N$")
    ax.plot([], [], "--s", color="0.4", ms=3, label=r"output, $E\|\hat y\|^2/d_y$")
    for s in ("sp", "sp_skips", "mupc"):
        ax.plot([], [], "-", color=colors[s], label=SETTINGS[s][3])
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("width N")
    ax.set_ylabel("mean squared activity per unit")
    ax.set_title(f"width dependence, L = {Lw}")
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, hi * 1e3)
    ax.legend(loc="upper center", fontsize=5.5, ncol=2)

    # (d) the statistics behind checks 1 and 2, along depth
    ax = axes[1][1]
    for p, zg, zn in zip(res.points, z_gain, z_norm_full, strict=True):
        L = p["L"]
        ax.plot(np.arange(1, L + 1) / L, zg, ".", color="0.6", ms=1.5, alpha=0.6)
        tested = zn[0]
        if tested.any():
            ax.plot(np.nonzero(tested)[0] / L, zn[1][tested], "-",
                    color=colors[p["setting"]], lw=0.9, alpha=0.8)
    ax.plot([], [], ".", color="0.6", label="layer gains: (mean ρ_l − g_l)/SE")
    for s in SETTINGS:
        ax.plot([], [], "-", color=colors[s], label=f"E‖z_l‖², {SETTINGS[s][3]}")
    for sgn in (-1, 1):
        ax.axhline(sgn * MONTE_CARLO_SIGMAS, ls=":", color=COLORS["theory"], lw=1.0)
    ax.set_ylim(-7.5, 12.5)
    ax.set_xlabel("relative depth l / L")
    ax.set_ylabel("(MC mean − theory) / SE")
    n_draws = res.points[0]["n_draws"]
    ax.set_title(f"{n_draws} draws per network; tolerance ±5 SE")
    ax.legend(loc="upper center", fontsize=5, ncol=2)
    ctx.save(fig)

    return [
        Check(f"E‖z_l‖²: max |MC mean − formula| / SE over {n_tested} layers with CV² ≤ "
              f"{CV2_MAX:g} ({n_excluded} heavy-tailed layers not tested)",
              float(np.max(np.abs(z_norm_all))), MONTE_CARLO_SIGMAS,
              "MONTE_CARLO_SIGMAS standard errors (CLT over independent initialisations)"),
        Check(f"per-layer gains ‖z_l‖²/‖z_(l−1)‖²: max |mean − g_l| / (SE + round-off floor/5) "
              f"over {z_gain_all.size} layers", float(np.max(np.abs(z_gain_all))),
              MONTE_CARLO_SIGMAS,
              "E[ρ_l | z_(l−1)] = g_l exactly; 5 SE plus roundoff_tolerance(n_(l−1))·g_l"),
        Check("μPC: docs/theory.md §1.4 closed form vs product of layer gains, max relative "
              "difference / roundoff_tolerance(L)", worst_formula, 1.0,
              "roundoff: SAFETY·L·eps for a product of L factors"),
    ]


if __name__ == "__main__":
    raise SystemExit(figure_main(SPEC, make))
