"""The saddle-escape toys of P1 Figs. 2 and 7: linear chains trained from near the origin.

Setting (docs/theory.md §7, read off the authors' notebooks): ``x ~ N(1, 0.1²)`` per coordinate,
``y = −x``, a fresh batch of ``B = 64`` per SGD step, weights ``N(0, 0.05²)``, learning rate
``0.4``; BP, PC with 20 Euler inference steps of 0.1, or PC with exact inference
(:func:`linpc.dynamics.training.train`).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from linpc.core.loss import mse_loss
from linpc.core.network import LinearPCN
from linpc.data.synthetic import toy_gaussian_sampler
from linpc.dynamics.training import Method, Trajectory, train
from linpc.numerics.threads import thread_policy
from linpc.numerics.validation import (
    check_choice,
    check_nonnegative,
    check_positive_int,
    check_rng,
    check_tolerance,
)

__all__ = ["run_toy", "toy_network"]


@thread_policy
def toy_network(n_hidden: int, *, width: int = 1, dim: int = 1, init_std: float = 0.05,
                rng: np.random.Generator | int | None = None) -> LinearPCN:
    """Linear chain ``dim → width → … → width → dim`` (SP), weights ``N(0, init_std²)``.

    ``n_hidden = 1, width = dim = 1``: P1's "1-MLP" ``ŷ = w_2w_1x``; ``n_hidden = 2``: the "2-MLP";
    ``n_hidden = 3, width = 4, dim = 3``: the "wide" network of Fig. 2(iii).
    """
    n_hidden = check_positive_int(n_hidden, "n_hidden")
    width, dim = check_positive_int(width, "width"), check_positive_int(dim, "dim")
    init_std = check_nonnegative(init_std, "init_std")
    gen = check_rng(rng)
    widths = [dim] + [width] * n_hidden + [dim]
    Ws = [init_std * gen.standard_normal((widths[l], widths[l - 1]))
          for l in range(1, len(widths))]
    return LinearPCN(Ws)


@thread_policy
def run_toy(
    method: Method,
    *,
    n_hidden: int = 1,
    width: int = 1,
    dim: int = 1,
    rng: np.random.Generator | int | None = 0,
    n_steps: int = 300,
    learning_rate: float = 0.4,
    batch: int = 64,
    init_std: float = 0.05,
    inference_steps: int = 20,
    inference_dt: float = 0.1,
    escape_threshold: float = 1e-3,
    convention: Literal["paper", "matched"] = "paper",
) -> Trajectory:
    """P1's saddle-escape toys (Figs. 2, 7): SGD from near the origin with fresh batches.

    Setting (docs/theory.md §7, read off the notebooks): ``x ~ N(1, 0.1²)`` per coordinate, ``y =
    −x``,
    ``B = 64`` fresh samples per step, weights ``N(0, 0.05²)``, SGD ``η = 0.4``; PC with 20 Euler
    steps of 0.1 (``"pc_euler"``) or exact inference (``"pc_exact"``). The tracked loss is the test
    loss ``½‖y − ŷ‖²`` at ``x = 1``, ``y = −1`` (all-ones vectors when ``dim > 1``); the escape step
    is the first with test loss below ``escape_threshold``.

    The JAX notebooks of these toys use batch means with ½ for both methods, so ``"paper"`` and
    ``"matched"`` are the same here (module docstring). The wide toy's (``n_hidden=3, width=4,
    dim=3``) training settings are not stated in the sources (docs/theory.md §7: unv); the defaults
    above are reused.

    Parameters
    ----------
    rng : Generator, int or None
        Draws the initial weights first, then one batch per step: BP and PC runs with the same
        seed start from the same weights and see the same batches.
    """
    check_choice(method, "method", ("bp", "pc_exact", "pc_euler"))
    check_choice(convention, "convention", ("paper", "matched"))
    dim = check_positive_int(dim, "dim")
    batch = check_positive_int(batch, "batch")
    check_tolerance(escape_threshold, "escape_threshold")
    gen = check_rng(rng)
    net = toy_network(n_hidden, width=width, dim=dim, init_std=init_std, rng=gen)
    xt = np.ones((1, dim))
    yt = -xt

    def test_loss(n: LinearPCN) -> float:
        return mse_loss(n, xt, yt)

    return train(net, toy_gaussian_sampler(batch, dim), method=method,
                 learning_rate=learning_rate, n_steps=n_steps, convention="matched",
                 inference_steps=inference_steps, inference_dt=inference_dt, loss_fn=test_loss,
                 escape_threshold=escape_threshold, rng=gen)
