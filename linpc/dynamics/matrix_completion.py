"""Saddle-to-saddle learning on linear matrix completion (P1 Fig. 6): BP and PC restarts.

BP runs from a small initialisation through the plateaus of rank 0, 1 and 2; PC is restarted from
the initialisation and from BP's weights at the rank-1 and rank-2 plateaus, and escapes each of
them (docs/theory.md §7, §8.4–8.5 for the notebook's conventions).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from linpc.core.network import LinearPCN
from linpc.data.synthetic import MatrixCompletionTask, matrix_completion
from linpc.dynamics.training import Convention, Trajectory, train
from linpc.numerics.threads import thread_policy
from linpc.numerics.validation import (
    check_choice,
    check_nonnegative,
    check_nonnegative_int,
    check_positive,
    check_positive_int,
    check_real,
    check_rng,
)

__all__ = ["MatrixCompletionRun", "run_matrix_completion"]


@dataclass(frozen=True)
class MatrixCompletionRun:
    """BP and PC on the matrix-completion task of P1 Fig. 6.

    Attributes
    ----------
    task : MatrixCompletionTask
    convention : str
        ``"paper"`` or ``"matched"`` (see :func:`run_matrix_completion`).
    bp : Trajectory
        BP from the small initialisation.
    checkpoint_steps : dict of str → int or None
        BP step at which each restart point was taken: ``"rank-0"`` (the initialisation, 0),
        ``"rank-1"`` (first loss < 1.1), ``"rank-2"`` (first loss < 0.15); ``None`` if not reached.
    pc : dict of str → Trajectory
        PC runs restarted from each reached checkpoint.
    """

    task: MatrixCompletionTask
    convention: str
    bp: Trajectory
    checkpoint_steps: dict
    pc: dict


@thread_policy
def run_matrix_completion(
    *,
    rng: np.random.Generator | int | None = 0,
    convention: Literal["paper", "matched"] = "paper",
    pc_method: Literal["pc_euler", "pc_exact"] = "pc_euler",
    width: int = 100,
    n_hidden: int = 3,
    init_std: float = 0.005,
    learning_rate: float = 1e-2,
    inference_steps: int = 50,
    inference_dt: float = 0.1,
    checkpoints: tuple[float, float] = (1.1, 0.15),
    stop_below: float = 1e-2,
    bp_steps: int = 100_000,
    pc_steps: int = 5_000,
) -> MatrixCompletionRun:
    """P1 Fig. 6: saddle-to-saddle BP and PC restarts on linear matrix completion.

    Task (:func:`~linpc.data.synthetic.matrix_completion`): rank-3 ``A B``, ``A ∈ R^{10×3}``, ``B ∈
    R^{3×10}`` Gaussian, mask ``rand > 0.2``, inputs = masked matrix (10 samples × 10 features);
    network
    ``10–100–100–100–10`` without biases, weights ``N(0, 0.005²)``, SGD ``η = 10⁻²``, PC with 50
    Euler steps of 0.1. BP runs from the initialisation and its weights are kept when the tracked
    loss first drops below 1.1 ("rank-1") and 0.15 ("rank-2"); PC is restarted from the
    initialisation ("rank-0") and both checkpoints; every run stops at loss ``≤ 10⁻²``. The tracked
    loss is the notebook's ``nn.MSELoss()(mask ⊙ ŷ, mask ⊙ target)`` (mean over all entries, no ½)
    for every run.

    Conventions:

    * ``"paper"`` — the notebook's setting: BP descends the *masked* PyTorch MSE (gradient scale
      ``2/d_y`` on linpc's ``ℒ_m``), PC clamps the output to the *unmasked* target and descends the
      batch-summed energy (scale ``B``); the two methods optimise different objectives and PC's
      effective step is ``B·d_y/2 = 50`` times BP's (docs/theory.md §8.4–8.5).
    * ``"matched"`` — like for like: both use the unmasked target and linpc's canonical
      normalisation (batch mean, ½), so near the origin ``F* ≈ ℒ`` and the same ``η`` is the same
      step.

    Returns
    -------
    MatrixCompletionRun
    """
    check_choice(convention, "convention", ("paper", "matched"))
    check_choice(pc_method, "pc_method", ("pc_euler", "pc_exact"))
    width, n_hidden = check_positive_int(width, "width"), check_positive_int(n_hidden, "n_hidden")
    init_std = check_nonnegative(init_std, "init_std")
    check_positive(learning_rate, "learning_rate")
    check_nonnegative_int(inference_steps, "inference_steps")
    check_positive(inference_dt, "inference_dt")
    if isinstance(checkpoints, (str, bytes)) or not isinstance(checkpoints, (tuple, list)) \
            or len(checkpoints) != 2:
        raise TypeError(f"checkpoints must be a pair of loss thresholds (rank-1, rank-2), got "
                        f"{checkpoints!r}")
    for i, c in enumerate(checkpoints):
        check_real(c, f"checkpoints[{i}]")
    check_real(stop_below, "stop_below")
    check_nonnegative_int(bp_steps, "bp_steps")
    check_nonnegative_int(pc_steps, "pc_steps")
    gen = check_rng(rng)
    task = matrix_completion(rng=gen)
    n = task.n
    widths = [n] + [width] * n_hidden + [n]
    Ws = [init_std * gen.standard_normal((widths[l], widths[l - 1]))
          for l in range(1, len(widths))]
    net0 = LinearPCN(Ws)
    x, y = task.inputs, task.target
    conv: Convention = "pytorch" if convention == "paper" else "matched"
    mask = task.mask if convention == "paper" else None

    # the tracked loss mean((mask ⊙ (ŷ − y))²) is (2/d_y) ℒ_mask (docs/theory.md §0)
    track = {"loss_mask": task.mask, "loss_scale": 2.0 / n}
    bp = train(net0, (x, y), method="bp", learning_rate=learning_rate, n_steps=bp_steps,
               convention=conv, bp_mask=mask, stop_below=stop_below, checkpoints=checkpoints,
               **track)
    steps = {"rank-0": 0}
    starts = {"rank-0": net0}
    for name, c in zip(("rank-1", "rank-2"), checkpoints, strict=True):
        if c in bp.checkpoints:
            steps[name], starts[name] = bp.checkpoints[c]
        else:
            steps[name] = None
    pcs = {}
    for name, start in starts.items():
        pcs[name] = train(start, (x, y), method=pc_method, learning_rate=learning_rate,
                          n_steps=pc_steps, convention=conv, inference_steps=inference_steps,
                          inference_dt=inference_dt, stop_below=stop_below, **track)
    return MatrixCompletionRun(task, convention, bp, steps, pcs)
