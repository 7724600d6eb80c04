"""The mean squared error ℒ and its gradient (what backpropagation descends).

    ℒ(θ) = (1/2B) Σ_i ‖y_i − ŷ_i‖²,    ŷ = M_{L:1} x + (bias terms)

(sum over output units, mean over the batch, theory.md §0). Its gradient backpropagates the
residual ``r = y − ŷ`` through the layer maps:

    ∂ℒ/∂W_l = −(a_l/B) Σ_i (M_{L:l+1}ᵀ r_i) ẑ_{l-1,i}ᵀ,     ∂ℒ/∂b_l = −(a_l/B) Σ_i M_{L:l+1}ᵀ r_i.

Note that the Hessian notebooks of Innocenti et al. (2024) average also over output units, i.e.
use ``ℒ/d_y`` (theory.md §0).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .network import LinearPCN
from .parameters import ParameterArrays

__all__ = ["mse_gradient", "mse_loss"]

Array = NDArray[np.float64]


def mse_loss(net: LinearPCN, x: ArrayLike, y: ArrayLike, *, per_sample: bool = False):
    """``ℒ = (1/2B) Σ_i ‖y_i − ŷ_i‖²`` (or the per-sample ``½‖r_i‖²`` with ``per_sample=True``)."""
    r = net.residual(x, y)
    per = 0.5 * np.sum(r * r, axis=1)
    return per if per_sample else float(np.mean(per))


def mse_gradient(net: LinearPCN, x: ArrayLike, y: ArrayLike) -> ParameterArrays:
    """Gradient of ``ℒ`` w.r.t. the raw weights and biases (backpropagation), see module docstring.

    Returns
    -------
    ParameterArrays
        Same layout as the parameters (``.weights[l-1]`` ↔ ``W_l``).
    """
    xa, ya = net.check_data(x, y)
    zs = net.forward(xa)
    B = xa.shape[0]
    g = ya - zs[-1]                       # backpropagated residual at the output, rows
    gw: list[Array] = [None] * net.n_layers  # type: ignore[list-item]
    gb: list[Array | None] = [None] * net.n_layers
    for l in range(net.n_layers, 0, -1):
        c = -net.scalings[l - 1] / B
        gw[l - 1] = c * (g.T @ zs[l - 1])
        if net.biases[l - 1] is not None:
            gb[l - 1] = c * g.sum(axis=0)
        g = net.apply_layer_transpose(l, g)
    return ParameterArrays(tuple(gw), tuple(gb))
