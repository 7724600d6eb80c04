"""P1 Fig. 1: the theoretical equilibrated energy F* against the numerically equilibrated energy
during training (Innocenti et al., NeurIPS 2024, arXiv:2408.11979, Theorem 1 and Fig. 1).

Setup (docs/theory.md §7, from the authors' notebook): linear MLPs without biases, H ∈ {2, 5, 10}
hidden layers, one-hot targets (d_y = 10), batch 64, Adam (lr 1e−3) on the PC weight gradient at
the numerically equilibrated activities, default (uniform) initialisation. MNIST, Fashion-MNIST and
CIFAR-10 cannot be downloaded here: synthetic class data with the same shapes stand in
(d_x = 784, 784, 3072). The full run uses width 64 and 30 iterations (the paper: width 300, 100
iterations); ``--quick`` uses width 32, 8 iterations, one data set.

Inference is what a PC practitioner runs: gradient descent on the activities from the feedforward
pass with the optimal fixed step, until the gradient has shrunk by 1e−6. The check is
Theorem 1 with an honest tolerance: 0 ≤ F(z) − F* ≤ ‖g‖²/(2λ_min(H_z)) per sample (plus
round-off), so the plotted gap must lie below that bound at every iteration.
"""

from __future__ import annotations

import numpy as np

import linpc
from linpc.data import one_hot_classes
from linpc.dynamics import Adam
from linpc.numerics import roundoff_tolerance
from linpc.reproduce import Check, FigureSpec, Grid, figure_main

SPEC = FigureSpec(
    name="saddles_fig1_equilibrated_energy",
    title="theoretical F* vs numerically equilibrated energy during training",
    source="P1 Fig. 1",
    check="max over training of (F(z_GD) − F*) / (‖g‖²/(2λ_min) + round-off) ≤ 1",
    runtime="quick ≈ 2 s / full ≈ 35 s",
    data="synthetic one-hot classes with MNIST / Fashion-MNIST / CIFAR-10 shapes",
)

DATASETS = {"MNIST-like": (784, 0), "Fashion-MNIST-like": (784, 1), "CIFAR-10-like": (3072, 2)}


def train_and_compare(point: dict, rng: np.random.Generator) -> dict:
    """One panel: train with PC (GD inference) and record numerical and theoretical energies."""
    d_x, data_seed = DATASETS[point["dataset"]]
    H, N, iters = point["H"], point["width"], point["iterations"]
    x_all, y_all, _ = one_hot_classes(1024, 10, d_x, rng=np.random.default_rng(data_seed))
    x_all = x_all / np.sqrt(d_x)                      # normalised inputs, as in the paper
    Ws = linpc.init_weights([d_x] + [N] * H + [10], param_type="sp", init="uniform", rng=rng)
    opt = Adam(Ws, lr=1e-3)
    numerical, theory, bound, roundoff, steps = [], [], [], [], []
    for _ in range(iters):
        idx = rng.choice(x_all.shape[0], size=64, replace=False)
        x, y = x_all[idx], y_all[idx]
        net = linpc.LinearPCN(Ws)
        res = linpc.gradient_descent_inference(net, x, y, tol=1e-6, max_steps=20_000)
        F_star = linpc.equilibrated_energy(net, x, y, method="gaussian")
        lam_min = res.eigenvalues.lambda_min
        numerical.append(res.energies[-1])
        theory.append(F_star)
        # 0 ≤ F(z) − F* = ½ gᵀH_z⁻¹g ≤ ‖g‖²/(2λ_min), per sample; ‖g‖ is the batch norm
        bound.append(res.grad_norms[-1] ** 2 / (2 * lam_min) / x.shape[0])
        roundoff.append(roundoff_tolerance(N * (H + 1)) * abs(F_star))
        steps.append(res.n_steps)
        grads = linpc.energy_parameter_gradient(net, res.activities, x, y).weights
        Ws = opt.step(list(Ws), list(grads))
    return {"numerical": np.array(numerical), "theory": np.array(theory),
            "bound": np.array(bound), "roundoff": np.array(roundoff), "steps": np.array(steps)}


def make(ctx) -> list[Check]:
    from linpc.reproduce.plotting import COLORS, new_figure

    datasets = ["MNIST-like"] if ctx.quick else list(DATASETS)
    depths = [2, 5] if ctx.quick else [2, 5, 10]
    width, iters = (32, 8) if ctx.quick else (64, 30)
    grid = Grid.product({"dataset": datasets, "H": depths},
                        fixed={"width": width, "iterations": iters})
    res = ctx.sweep("saddles_fig1", train_and_compare, grid)

    fig, axes = new_figure(len(datasets), len(depths), width=2.2 * len(depths) + 0.6,
                           height=1.9 * len(datasets) + 0.5, sharex=True)
    worst = 0.0
    for i, ds in enumerate(datasets):
        for j, H in enumerate(depths):
            r = res.lookup(dataset=ds, H=H)
            ax = axes[i][j]
            t = np.arange(1, len(r["theory"]) + 1)
            ax.plot(t, r["numerical"], color=COLORS["pc"], lw=2.5, alpha=0.6,
                    label="numerical (GD inference)")
            ax.plot(t, r["theory"], "--", color=COLORS["theory"], lw=1.2,
                    label="theory  F* = ½⟨rᵀS⁻¹r⟩")
            gap = r["numerical"] - r["theory"]
            # 0 ≤ gap ≤ bound, both up to round-off
            viol = np.maximum(gap / (r["bound"] + r["roundoff"]), -gap / r["roundoff"])
            worst = max(worst, float(np.max(viol)))
            if i == 0:
                ax.set_title(f"H = {H}")
            if j == 0:
                ax.set_ylabel(f"{ds}\nenergy")
            if i == len(datasets) - 1:
                ax.set_xlabel("training iteration")
    axes[0][0].legend(loc="best")
    ctx.save(fig)
    return [Check("F(z_GD) − F* relative to its bound ‖g‖²/(2λ_min) (worst panel, iteration)",
                  worst, 1.0, "0 ≤ F(z) − F* ≤ ½gᵀH_z⁻¹g ≤ ‖g‖²/(2λ_min) (docs/theory.md §1.3), "
                  "plus round-off SAFETY·k·eps·F*")]


if __name__ == "__main__":
    raise SystemExit(figure_main(SPEC, make))
