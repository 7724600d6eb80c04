"""The mean squared error ℒ and its gradient (what backpropagation descends).

    ℒ(θ) = (1/2B) Σ_i ‖y_i − ŷ_i‖²,    ŷ = M_{L:1} x + (bias terms)

(sum over output units, mean over the batch, docs/theory.md §0). Its gradient backpropagates the
residual ``r = y − ŷ`` through the layer maps (:func:`linpc.core.backprop.backpropagate`):

    ∂ℒ/∂W_l = −(a_l/B) Σ_i (M_{L:l+1}ᵀ r_i) ẑ_{l-1,i}ᵀ,     ∂ℒ/∂b_l = −(a_l/B) Σ_i M_{L:l+1}ᵀ r_i.

The masked MSE ``ℒ_m = (1/2B) Σ_i ‖m_i ⊙ r_i‖²`` of the matrix-completion experiment (P1 Fig. 6)
backpropagates ``m ⊙ m ⊙ r`` instead. The Hessian notebooks of Innocenti et al. (2024) average
also over output units, i.e. use ``ℒ/d_y`` (docs/theory.md §0).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from linpc.core.backprop import backpropagate
from linpc.core.network import LinearPCN, check_network
from linpc.core.parameter_arrays import ParameterArrays
from linpc.numerics.threads import thread_policy
from linpc.numerics.types import Array
from linpc.numerics.validation import as_real_array, check_bool
from linpc.numerics.warnings import check_layer_finite

__all__ = ["masked_mse", "masked_mse_gradient", "mse_gradient", "mse_loss"]


@thread_policy
def mse_loss(net: LinearPCN, x: ArrayLike, y: ArrayLike, *, per_sample: bool = False):
    """``ℒ = (1/2B) Σ_i ‖y_i − ŷ_i‖²`` (or the per-sample ``½‖r_i‖²`` with ``per_sample=True``).

    Parameters
    ----------
    net : LinearPCN
        The network.
    x, y : array_like
        Batch ``(B, d_x)``, ``(B, d_y)``.
    per_sample : bool
        Return the ``(B,)`` array of ``½‖r_i‖²`` instead of the batch mean.

    Returns
    -------
    float or ndarray

    Raises
    ------
    LayerOverflowError
        When the forward pass or the loss leave the float64 range; the message names the layer
        (:mod:`linpc.numerics.warnings`).
    """
    check_network(net)
    per_sample = check_bool(per_sample, "per_sample")
    per = _half_squares(net, net.residual(x, y))
    return per if per_sample else float(np.mean(per))


def _half_squares(net: LinearPCN, r: Array) -> Array:
    """Per-sample ``½‖r_i‖²``, raising :class:`~linpc.numerics.warnings.LayerOverflowError` (at
    the output layer ``L``) instead of returning ``inf``."""
    with np.errstate(over="ignore", invalid="ignore"):
        per = 0.5 * np.sum(r * r, axis=1)
    L = net.n_layers
    check_layer_finite(per, what="the loss ½‖y − ŷ‖²", layer=L, n_layers=L, previous=r,
                       cause="the residual y − ŷ at the output layer is too large for float64")
    return per


@thread_policy
def mse_gradient(net: LinearPCN, x: ArrayLike, y: ArrayLike) -> ParameterArrays:
    """Gradient of ``ℒ`` w.r.t. the raw weights and biases (backpropagation of ``−r/B``).

    ``∂ℒ/∂W_l = −(a_l/B) Σ_i (M_{L:l+1}ᵀ r_i) ẑ_{l-1,i}ᵀ`` (module docstring).

    Returns
    -------
    ParameterArrays
        Same layout as the parameters (``.weights[l-1]`` ↔ ``W_l``).
    """
    return masked_mse_gradient(net, x, y)[1]


def _check_mask(mask: ArrayLike | None, shape: tuple[int, ...]) -> Array | None:
    if mask is None:
        return None
    m = as_real_array(mask, "mask")
    if m.shape != shape:
        raise ValueError(f"mask must have the shape of y, {shape}, got {m.shape}")
    return m


@thread_policy
def masked_mse(net: LinearPCN, x: ArrayLike, y: ArrayLike, mask: ArrayLike | None = None) -> float:
    """``ℒ_m = (1/2B) Σ_i ‖m_i ⊙ (y_i − ŷ_i)‖²`` (``ℒ`` when ``mask`` is None)."""
    check_network(net)
    r = net.residual(x, y)
    m = _check_mask(mask, r.shape)
    if m is not None:
        r = r * m
    return float(np.mean(_half_squares(net, r)))


@thread_policy
def masked_mse_gradient(net: LinearPCN, x: ArrayLike, y: ArrayLike,
                        mask: ArrayLike | None = None) -> tuple[float, ParameterArrays]:
    """``ℒ_m`` and its gradient, from one forward pass and one backpropagation.

    ``∂ℒ_m/∂W_l = −(a_l/B) Σ_i (M_{L:l+1}ᵀ (m_i ⊙ m_i ⊙ r_i)) ẑ_{l-1,i}ᵀ`` (biases likewise);
    with ``mask=None`` this is ``(ℒ, ∇ℒ)``.

    Returns
    -------
    value : float
        ``ℒ_m``.
    gradient : ParameterArrays
    """
    check_network(net)
    xa, ya = net.check_data(x, y)
    zs = net.forward(xa)
    r = ya - zs[-1]
    m = _check_mask(mask, r.shape)
    rm = r if m is None else r * m
    g = rm if m is None else rm * m
    value = float(np.mean(_half_squares(net, rm)))
    return value, backpropagate(net, zs, {net.n_layers: -g}, scale=1.0 / xa.shape[0])
