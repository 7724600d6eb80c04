"""Optimisers for weight updates in the training loops of the figures and dynamics.

Only Adam is needed (the papers train with Adam or plain SGD; SGD is one line). Updates are
functional: ``step`` returns new arrays and never modifies its inputs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from linpc.numerics.threads import thread_policy
from linpc.numerics.types import Array

__all__ = ["Adam"]


@thread_policy
class Adam:
    """Adam (Kingma & Ba, ICLR 2015, Algorithm 1) on a list of arrays.

    ``m ← β₁m + (1−β₁)g``, ``v ← β₂v + (1−β₂)g²``, ``p ← p − lr·m̂/(√v̂ + ε)`` with the bias
    corrections ``m̂ = m/(1−β₁ᵗ)``, ``v̂ = v/(1−β₂ᵗ)``. Defaults are those of optax (used by jpc):
    ``β = (0.9, 0.999)``, ``ε = 1e−8``.

    Parameters
    ----------
    params : sequence of ndarray
        The arrays to be optimised (only their shapes are used here).
    lr : float
        Learning rate.
    betas : (float, float)
    eps : float
    """

    def __init__(self, params: Sequence[Array], lr: float, *,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        if not lr > 0:
            raise ValueError(f"lr must be > 0, got {lr}")
        self.lr, self.betas, self.eps, self.t = float(lr), betas, float(eps), 0
        self.m = [np.zeros_like(np.asarray(p, dtype=np.float64)) for p in params]
        self.v = [np.zeros_like(m) for m in self.m]

    def step(self, params: Sequence[Array], grads: Sequence[Array]) -> list[Array]:
        """One update; returns the new parameters (the inputs are not modified)."""
        if len(params) != len(self.m) or len(grads) != len(self.m):
            raise ValueError(f"expected {len(self.m)} parameter and gradient arrays")
        self.t += 1
        b1, b2 = self.betas
        c1, c2 = 1.0 - b1**self.t, 1.0 - b2**self.t
        out = []
        for i, (p, g) in enumerate(zip(params, grads, strict=True)):
            self.m[i] = b1 * self.m[i] + (1.0 - b1) * g
            self.v[i] = b2 * self.v[i] + (1.0 - b2) * g * g
            out.append(p - self.lr * (self.m[i] / c1) / (np.sqrt(self.v[i] / c2) + self.eps))
        return out
