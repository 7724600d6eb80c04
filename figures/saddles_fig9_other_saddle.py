"""P1 Figs. 9–10: the zero-rank saddle other than the origin — all weights zero except W_{L−1} —
is non-strict for ℒ and strict for F* (Innocenti et al., NeurIPS 2024, arXiv:2408.11979, Figs.
9–10, Theorem 3; docs/theory.md §3.3).

Setup: H ∈ {3, 4} hidden layers; toy Gaussian data (Fig. 9: ``x ~ N(1, 0.1²)``, ``y = −x``,
d = 3, N = 4, B = 64, as the Fig. 8 configurations) and one-hot class data with MNIST (d_x = 784)
and MNIST-1D (d_x = 40) shapes (Fig. 10: 10 classes, B = 64, width N = 5; the data sets cannot be
downloaded, :func:`linpc.data.one_hot_classes` draws Gaussian class clusters with the same
shapes). The point is P1's ``init_type="other_saddle"``: the default initialisation
``U(±1/√fan_in)`` with every layer but ``W_{L−1}`` set to zero
(:func:`linpc.landscape.other_saddle`).

Theory (docs/theory.md §3.3, λ = a_l = 1): both gradients vanish; ``∇²ℒ = 0`` (H ≥ 3: non-strict);
``∇²F*`` has the single nonzero block ``−Σ_yy ⊗ G`` on W_L with ``G = I + W_{L−1}W_{L−1}ᵀ``, so its
spectrum is ``{−λ_i(Σ_yy) μ_j(G)}`` and zeros, ``λ_min = −λ_max(Σ_yy)(1 + σ_max(W_{L−1})²)``, with
``rank(Σ_yy)·N`` negative eigenvalues. The MSE Hessian is that of ``ℒ/d_y`` (the notebook's
convention, docs/theory.md §0); it is zero either way.

Numerics: the Hessians are formed from all P exact Hessian-vector products (Schur complement for
F*, forward-over-reverse for ℒ) and diagonalised exactly by blocks (``block_spectrum``, as in the
Fig. 4 script: column blocks sparsified at the round-off bound, connected components of the
nonzero pattern, dense ``eigvalsh`` per component; P ≤ 4045, never a dense P×P matrix). The
predicted spectrum uses only the d_y×d_y and N×N matrices.

Checks: both gradients vanish within their round-off bounds (the point is critical for both);
``‖∇²ℒ‖₂`` is zero within its error bound; the full sorted spectrum of ``∇²F*`` equals the
predicted multiset and ``λ_min`` the closed form with σ_max(W_{L−1}), within the Weyl bound; the
number of negative eigenvalues is ``rank(Σ_yy)·N``. ``--quick`` omits the MNIST-shaped data.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import svdvals

from linpc import LinearPCN, equilibrated_energy_gradient, init_weights, mse_gradient
from linpc.data import one_hot_classes, second_moments, toy_gaussian
from linpc.landscape import (
    EquilibratedEnergyHessian,
    MSEHessian,
    block_sparse_spectrum,
    gradient_roundoff_tolerance,
    last_layer_gram,
    other_saddle,
)
from linpc.numerics import eigenvalue_tolerance
from linpc.reproduce import Check, FigureSpec, figure_main

SPEC = FigureSpec(
    name="saddles_fig9_other_saddle",
    title="the other zero-rank saddle (only W_{L−1} ≠ 0): ℒ flat, F* strict",
    source="P1 Figs. 9–10",
    check="both gradients 0; ‖∇²ℒ‖ = 0; spectrum of ∇²F* (exact block decomposition) vs "
          "{−λ_i(Σ_yy)μ_j(I + WWᵀ)} ∪ 0, λ_min vs −λ_max(Σ_yy)(1 + σ_max(W)²), #neg = rank(Σ_yy)·N",
    runtime="quick ≈ 3 s / full ≈ 6 s CPU (wall 6 s / 15 s at load 4.5 on 2 cores)",
    data="toy Gaussian x ~ N(1, 0.1²), y = −x (as in the paper); synthetic one-hot classes with "
         "MNIST (d_x = 784) and MNIST-1D (d_x = 40) shapes",
)

#: data set → (d_x, d_y, width N)
DATASETS = {"toy": (3, 3, 4), "MNIST-like": (784, 10, 5), "MNIST-1D-like": (40, 10, 5)}
DEPTHS = (3, 4)


def saddle_point(point: dict, rng: np.random.Generator) -> dict:
    """Gradients, numerical and predicted Hessian spectra at the other saddle."""
    d_x, d_y, N = DATASETS[point["dataset"]]
    H = point["H"]
    if point["dataset"] == "toy":
        x, y = toy_gaussian(64, d_x, rng=rng)
    else:
        x, y, _ = one_hot_classes(64, d_y, d_x, rng=rng)
    widths = (d_x,) + (N,) * H + (d_y,)
    s = other_saddle(LinearPCN(init_weights(widths, init="uniform", rng=rng)))
    W = s.weights[H - 1]                       # W_{L−1}, the only nonzero layer
    op_f = EquilibratedEnergyHessian(s, x, y)
    op_l = MSEHessian(s, x, y, mean_over_outputs=True)
    bf, bl = block_sparse_spectrum(op_f), block_sparse_spectrum(op_l)
    m = second_moments(x, y)
    ev_yy = np.linalg.eigvalsh(m.yy)
    G = last_layer_gram(s)
    lam, aL = s.output_precision, s.scalings[-1]
    pred = -lam * lam * aL * aL * np.outer(ev_yy, np.linalg.eigvalsh(G)).ravel()
    pred_full = np.sort(np.r_[pred, np.zeros(s.n_parameters - pred.size)])
    gF = equilibrated_energy_gradient(s, x, y).norm()
    gL = mse_gradient(s, x, y).norm()
    return {
        "P": s.n_parameters,
        "energy_eigs": bf["eigenvalues"], "energy_err": bf["error"],
        "mse_eigs": bl["eigenvalues"], "mse_err": bl["error"],
        "pred": pred_full,
        "pred_tol": eigenvalue_tolerance(pred.size, float(np.abs(pred).max())),
        "lambda_min_formula": float(-lam * lam * aL * aL * ev_yy[-1]
                                    * (1.0 + float(svdvals(W)[0]) ** 2)),
        "rank_yy_times_N": int(np.linalg.matrix_rank(m.yy)) * N,
        "grad_energy": gF, "grad_energy_tol": gradient_roundoff_tolerance(
            s, x, y, objective="energy", kappa=op_f.kappa),
        "grad_mse": gL, "grad_mse_tol": gradient_roundoff_tolerance(s, x, y, objective="mse"),
    }


def _ratio(error: float, tolerance: float) -> float:
    if error == 0.0:
        return 0.0
    return float(error / tolerance) if tolerance > 0 else float("inf")


def make(ctx) -> list[Check]:
    import matplotlib.pyplot as plt

    from linpc.reproduce.plotting import COLORS, new_figure

    names = ["toy", "MNIST-1D-like"] if ctx.quick else ["toy", "MNIST-like", "MNIST-1D-like"]
    points = [{"dataset": ds, "H": H} for ds in names for H in DEPTHS]
    res = ctx.sweep("saddles_fig9_other_saddle", saddle_point, points)

    fig, axes = new_figure(len(names), len(DEPTHS), width=6.4, height=2.2 * len(names) + 0.7)
    worst = {"grad": (0.0, ""), "mse": (0.0, ""), "spec": (0.0, ""), "lmin": (0.0, "")}
    count_mismatch = 0
    for p, r in zip(res.points, res.results, strict=True):
        i, j = names.index(p["dataset"]), DEPTHS.index(p["H"])
        d_x, _, N = DATASETS[p["dataset"]]
        tag = f"{p['dataset']}, H={p['H']}"
        ax = axes[i][j]
        lo = min(r["pred"].min(), r["energy_eigs"].min())
        bins = np.linspace(1.08 * lo, -0.08 * lo, 45)
        ax.hist(r["mse_eigs"], bins=bins, color=COLORS["bp"], alpha=0.55,
                label="∇²ℒ/d_y numerical")
        ax.hist(r["energy_eigs"], bins=bins, color=COLORS["pc"], alpha=0.55,
                label="∇²F* numerical")
        ax.hist(r["pred"], bins=bins, histtype="step", color=COLORS["theory"], lw=1.0,
                label="∇²F* theory (−Σ_yy ⊗ G)")
        ax.axvline(r["lambda_min_formula"], color=COLORS["theory"], ls=":", lw=0.8)
        ax.set_yscale("log")
        ax.set_ylim(0.7, 40 * r["P"])
        ax.set_title(f"{p['dataset']}: H={p['H']}, N={N}, d_x={d_x}  (P={int(r['P'])})")
        ax.set_xlabel("eigenvalue at the other saddle")
        if j == 0:
            ax.set_ylabel("count")
        nneg = int(np.sum(r["energy_eigs"] < -r["energy_err"]))
        ax.text(0.03, 0.97, f"λ_min(F*) = {r['energy_eigs'][0]:.4f}\n−λ_max(Σ_yy)(1+σ²_max) = "
                f"{r['lambda_min_formula']:.4f}\n{nneg} negative (rank Σ_yy · N = "
                f"{int(r['rank_yy_times_N'])}); ‖∇²ℒ‖ = {np.abs(r['mse_eigs']).max():.1g}",
                transform=ax.transAxes, va="top", fontsize=6)
        if p["dataset"] == "toy":
            ax.text(0.84, 0.55, "the uncentred toy Σ_yy ≈ 11ᵀ has two\neigenvalues ≈ 0.01: "
                    f"{2 * N} of the negative\neigenvalues sit next to 0",
                    transform=ax.transAxes, ha="right", va="top", fontsize=6)

        def upd(key, v, what):
            if v >= worst[key][0]:
                worst[key] = (v, what)

        upd("grad", max(_ratio(float(r["grad_energy"]), float(r["grad_energy_tol"])),
                        _ratio(float(r["grad_mse"]), float(r["grad_mse_tol"]))), tag)
        upd("mse", _ratio(float(np.abs(r["mse_eigs"]).max()), float(r["mse_err"])), tag)
        upd("spec", _ratio(float(np.abs(r["energy_eigs"] - r["pred"]).max()),
                           float(r["energy_err"]) + float(r["pred_tol"])), tag)
        upd("lmin", _ratio(abs(float(r["energy_eigs"][0]) - float(r["lambda_min_formula"])),
                           float(r["energy_err"]) + float(r["pred_tol"])), tag)
        count_mismatch += abs(nneg - int(r["rank_yy_times_N"]))
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=3, fontsize=7)
    ctx.save(fig)
    plt.close("all")
    return [
        Check(f"‖∇F*‖, ‖∇ℒ‖ at the other saddle / round-off bound (worst: {worst['grad'][1]})",
              worst["grad"][0], 1.0,
              "critical for both (docs/theory.md §3.3); tol = gradient_roundoff_tolerance "
              "(running-error bound, Higham §3.3)"),
        Check(f"‖∇²ℒ/d_y‖₂ / its error bound (worst: {worst['mse'][1]})", worst["mse"][0], 1.0,
              "H ≥ 3: ∇²ℒ = 0 (non-strict); bound = assembly round-off + eigensolver (Weyl)"),
        Check(f"sorted spectrum of ∇²F* vs {{−λ_i(Σ_yy)μ_j(G)}} ∪ 0, max |Δ|/err (worst: "
              f"{worst['spec'][1]})", worst["spec"][0], 1.0,
              "docs/theory.md §3.3; err = block-spectrum bound + eigenvalue_tolerance of the "
              "predicted products"),
        Check(f"λ_min(∇²F*) vs −λ_max(Σ_yy)(1 + σ_max(W_{{L−1}})²), |Δ|/err (worst: "
              f"{worst['lmin'][1]})", worst["lmin"][0], 1.0,
              "docs/theory.md §3.3 / P1 Theorem 3; same error bound"),
        Check("number of negative eigenvalues of ∇²F* vs rank(Σ_yy)·N, |Δ| summed over "
              "configurations", count_mismatch, 0, "exact (zero threshold = the error bound)"),
    ]


if __name__ == "__main__":
    raise SystemExit(figure_main(SPEC, make))
