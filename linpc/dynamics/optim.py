"""Optimisers for weight updates in the training loops of the figures and dynamics.

Only Adam is needed (the papers train with Adam or plain SGD; SGD is one line). Updates are
functional: ``step`` returns new arrays and never modifies its inputs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from linpc.numerics.threads import thread_policy
from linpc.numerics.types import Array
from linpc.numerics.validation import as_real_array, check_positive, check_real

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
        lr = check_positive(lr, "lr")
        if isinstance(betas, (str, bytes)) or not isinstance(betas, (Sequence, np.ndarray)) \
                or len(betas) != 2:
            raise TypeError(f"betas must be a pair (β₁, β₂), got {betas!r}")
        betas = (check_real(betas[0], "betas[0] (β₁)"), check_real(betas[1], "betas[1] (β₂)"))
        for i, b in enumerate(betas):
            if not 0 <= b < 1:
                raise ValueError(f"betas[{i}] must be in [0, 1), got {b!r}")
        eps = check_positive(eps, "eps")
        if isinstance(params, (str, bytes)) or not isinstance(params, (Sequence, np.ndarray)):
            raise TypeError(f"params must be a sequence of arrays, got {type(params).__name__}")
        self.lr, self.betas, self.eps, self.t = lr, betas, eps, 0
        self.m = [np.zeros_like(as_real_array(p, f"params[{i}]")) for i, p in enumerate(params)]
        self.v = [np.zeros_like(m) for m in self.m]

    def step(self, params: Sequence[Array], grads: Sequence[Array]) -> list[Array]:
        """One update; returns the new parameters (the inputs are not modified)."""
        for name, arrs in (("params", params), ("grads", grads)):
            if isinstance(arrs, (str, bytes)) or not isinstance(arrs, (Sequence, np.ndarray)) \
                    or len(arrs) != len(self.m):
                raise ValueError(f"{name} must hold the {len(self.m)} arrays this Adam was "
                                 "built for")
        params = [as_real_array(p, f"params[{i}]") for i, p in enumerate(params)]
        grads = [as_real_array(g, f"grads[{i}]") for i, g in enumerate(grads)]
        for i, (p, g, m) in enumerate(zip(params, grads, self.m, strict=True)):
            if p.shape != m.shape or g.shape != m.shape:
                raise ValueError(f"params[{i}] and grads[{i}] must have shape {m.shape}, got "
                                 f"{p.shape} and {g.shape}")
        self.t += 1
        b1, b2 = self.betas
        c1, c2 = 1.0 - b1**self.t, 1.0 - b2**self.t
        out = []
        for i, (p, g) in enumerate(zip(params, grads, strict=True)):
            self.m[i] = b1 * self.m[i] + (1.0 - b1) * g
            self.v[i] = b2 * self.v[i] + (1.0 - b2) * g * g
            out.append(p - self.lr * (self.m[i] / c1) / (np.sqrt(self.v[i] / c2) + self.eps))
        return out
