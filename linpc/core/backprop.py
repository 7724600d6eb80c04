"""Backpropagation through the feedforward pass: the one reverse-mode sweep of linpc.

Every weight gradient that differentiates *through the feedforward pass*
``ẑ_l = M_l ẑ_{l-1} + c_l`` (``M_l = a_lW_l`` or ``I + a_lW_l``, ``c_l = a_lb_l``) is the
backpropagation of some *sources* ``s_l`` placed on the layers:

    ∇_θ Σ_i Σ_l ⟨s_l^(i), ẑ_l^(i)(θ)⟩:     g_L = s_L,     g_{l-1} = s_{l-1} + M_lᵀ g_l,

    ∂/∂W_l = a_l Σ_i g_l^(i) ẑ_{l-1}^(i)ᵀ,      ∂/∂b_l = a_l Σ_i g_l^(i),

the same formula for residual layers since ``∂M_l/∂W_l = a_l`` (docs/theory.md §0). The MSE
gradient is the source ``s_L = −r/B`` (:func:`linpc.core.loss.mse_gradient`); the masked MSE, the
S-weighted BP part of ``∇F*`` (:mod:`linpc.core.rescaled_mse`), the BP and TR terms of the
weight-gradient decomposition (:mod:`linpc.trust_region.gradient_decomposition`), the MSE
Hessian-vector product (:mod:`linpc.landscape.hessians`) and the running-error bound of a
gradient (:mod:`linpc.landscape.critical_points`) are other sources through the same function.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from linpc.core.network import LinearPCN, check_network
from linpc.core.parameter_arrays import ParameterArrays
from linpc.numerics.threads import thread_policy
from linpc.numerics.types import Array
from linpc.numerics.validation import check_bool, check_real
from linpc.numerics.warnings import check_layer_finite

__all__ = ["backpropagate"]

_OVERFLOW = "the weights, the activations or the sources are too large for float64"


@thread_policy
def backpropagate(
    net: LinearPCN,
    activations: Sequence[Array],
    sources: Mapping[int, Array],
    *,
    scale: float = 1.0,
    return_adjoints: bool = False,
) -> ParameterArrays | tuple[ParameterArrays, list[Array]]:
    """Gradient of ``scale · Σ_i Σ_l ⟨s_l^(i), ẑ_l^(i)(θ)⟩`` w.r.t. the raw weights and biases.

    Reverse mode through ``ẑ_l = M_l ẑ_{l-1} + c_l`` (module docstring): the adjoints are
    ``g_L = s_L``, ``g_{l-1} = s_{l-1} + M_lᵀ g_l`` and the gradient blocks are
    ``scale · a_l Σ_i g_l ẑ_{l-1}ᵀ`` (weights) and ``scale · a_l Σ_i g_l`` (biases).

    Parameters
    ----------
    net : LinearPCN
        The network whose layer maps are differentiated.
    activations : sequence of ndarray
        Feedforward activities ``[ẑ_0 = x, ẑ_1, …, ẑ_L]`` (``ẑ_L`` is not read), each
        ``(B, n_l)``, as returned by :meth:`LinearPCN.forward`.
    sources : mapping of int to ndarray
        ``{l: s_l}`` for layers ``1 ≤ l ≤ L``, each ``(…, B, n_l)``; leading axes (several
        directions at once) broadcast through the whole computation.
    scale : float
        Multiplies the result (e.g. ``1/B`` for batch means).
    return_adjoints : bool
        Also return the adjoints ``[g_0, g_1, …, g_L]`` (``g_0 = M_1ᵀ g_1``).

    Returns
    -------
    ParameterArrays
        ``.weights[l-1]`` of shape ``(…, n_l, n_{l-1})``; ``.biases[l-1]`` is ``None`` for layers
        without a bias. With ``return_adjoints``, a pair ``(gradient, adjoints)``.
    """
    check_network(net)
    scale = check_real(scale, "scale")
    return_adjoints = check_bool(return_adjoints, "return_adjoints")
    L = net.n_layers
    if isinstance(activations, (str, bytes)) or not isinstance(activations, (Sequence,
                                                                           np.ndarray)) \
            or len(activations) != L + 1:
        raise ValueError(f"activations must be the feedforward activities [ẑ_0, ..., ẑ_L] "
                         f"({L + 1} arrays, as returned by LinearPCN.forward)")
    if not isinstance(sources, Mapping):
        raise TypeError(f"sources must be a mapping {{layer: array}}, got "
                        f"{type(sources).__name__}")
    if not sources or any(not 1 <= l <= L for l in sources):
        raise ValueError(f"sources must be a non-empty mapping of layers 1..{L} to arrays, got "
                         f"layers {sorted(sources)}")
    lead = np.shape(next(iter(sources.values())))[:-1]
    adj = np.zeros((*lead, net.widths[L]))
    adjoints: list[Array] = [adj] * (L + 1)
    gw: list[Array] = [adj] * L
    gb: list[Array | None] = [None] * L
    for l in range(L, 0, -1):
        if l in sources:
            adj = adj + sources[l]
        adjoints[l] = adj
        c = scale * net.scalings[l - 1]
        with np.errstate(over="ignore", invalid="ignore"):     # reported below, by layer
            gw[l - 1] = c * np.matmul(np.swapaxes(adj, -1, -2), activations[l - 1])
            if net.biases[l - 1] is not None:
                gb[l - 1] = c * adj.sum(axis=-2)
            nxt = net.apply_layer_transpose(l, adj)
        check_layer_finite(gw[l - 1], what=f"backpropagation (the gradient of W_{l})", layer=l,
                           n_layers=L, previous=adj, cause=_OVERFLOW)
        check_layer_finite(nxt, what=f"backpropagation (the adjoint M_{l}ᵀg_{l})", layer=l,
                           n_layers=L, previous=adj, cause=_OVERFLOW)
        adj = nxt
    adjoints[0] = adj
    grad = ParameterArrays(tuple(gw), tuple(gb))
    return (grad, adjoints) if return_adjoints else grad
