"""Zero-rank saddles beyond the origin, and the exact identities at ``W_L = 0``.

**W_L = 0 (docs/theory.md §3.3).** ``S(θ+δ) = λ⁻¹I + a_L²δ_L G δ_Lᵀ + O(δ³)`` with the Gram matrix
``G = Σ_{l=1}^{L-1} π_l⁻¹ M_{L-1:l+1}M_{L-1:l+1}ᵀ`` (``= I + Σ_{l=2}^{L-1}M_{L-1:l}M_{L-1:l}ᵀ`` for
unit precisions), hence ``∇F* = λ∇ℒ`` and ``∇²F* = λ∇²ℒ − λ²a_L²(R ⊗ G)`` on the ``W_L`` block,
with ``R = ⟨r rᵀ⟩`` the residual second moment (``= Σ_yy`` without an output bias). At the
zero-rank points ``W_L = 0``, ``M_{L-1:1} = 0`` (the origin, P1's "other saddle" with only
``W_{L-1} ≠ 0``, …) both gradients vanish and ``λ_min(∇²F*) ≤ −λ²a_L² λ_max(R) λ_max(G) < 0``: they
are strict saddles of ``F*`` (P1, Theorem 3 [P1]_), while for ``H ≥ 3`` they are non-strict for
``ℒ``.

References
----------
.. [P1] Innocenti, Achour, Singh, Buckley, NeurIPS 2024, arXiv:2408.11979, Theorem 3,
   Figs. 9–10.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import scipy.linalg as sla
from numpy.typing import ArrayLike

from linpc.core.gaussian import require_gaussian_chain
from linpc.core.network import LinearPCN, check_network
from linpc.landscape.hessians import mse_hessian
from linpc.numerics.threads import thread_policy
from linpc.numerics.types import Array
from linpc.numerics.validation import as_real_array, check_choice, check_int

__all__ = [
    "last_layer_correction", "last_layer_gram", "other_saddle", "zero_last_layer_energy_hessian",
    "zero_rank_curvature_bound", "zero_rank_point",
]


def _set_biases(net: LinearPCN, y: ArrayLike | None) -> list | None:
    """Zero hidden biases; the output bias (if any) set to its optimum ``⟨y⟩/a_L`` if y is given.
    """
    if y is not None:
        ya = np.atleast_2d(as_real_array(y, "y"))
        if ya.ndim != 2 or ya.shape[1] != net.d_y or ya.shape[0] == 0:
            raise ValueError(f"y must have shape (B, d_y) = (B, {net.d_y}), got {np.shape(y)}")
    if not net.has_biases:
        return None
    bs: list = [None if b is None else np.zeros_like(b) for b in net.biases]
    if bs[-1] is not None and y is not None:
        bs[-1] = ya.mean(axis=0) / net.scalings[-1]
    return bs


@thread_policy
def other_saddle(net: LinearPCN, *, hidden_weight: ArrayLike | None = None,
                 y: ArrayLike | None = None) -> LinearPCN:
    """P1's "other saddle": all weights zero except ``W_{L-1}`` (needs ``H ≥ 2``, plain layers).

    ``W_{L-1}`` is ``hidden_weight`` or the network's own ``W_{L-1}``. This is the zero-rank point
    of ``init_type="other_saddle"`` in P1's ``Hessian_Analysis_of_DLNs.ipynb`` (Figs. 9–10). For
    ``H ≥ 3``, ``∇²ℒ = 0`` there (non-strict) while ``∇²F*`` has the single block
    ``−λ²a_L²(Σ_yy ⊗ G)``, ``G = π_{L-1}⁻¹I + π_{L-2}⁻¹a_{L-1}²W_{L-1}W_{L-1}ᵀ`` (docs/theory.md
    §3.3).

    Parameters
    ----------
    hidden_weight : array_like, optional
        ``W_{L-1}`` of shape ``(n_{L-1}, n_{L-2})``.
    y : array_like, optional
        Targets; when the network has an output bias it is set to its optimum ``⟨y⟩/a_L``
        (needed for the point to be critical); all other biases are zero.
    """
    check_network(net)
    L = net.n_layers
    if L < 3:
        raise ValueError(f"the 'other saddle' needs at least 2 hidden layers (L ≥ 3), got L = {L}")
    if net.skips[L - 2]:
        raise ValueError(f"layer {L - 1} is residual (M = I + aW): zeroing the other layers does "
                         "not give a zero-rank point of this form; use zero_rank_point")
    require_gaussian_chain(net, "the zero-rank saddle results")
    Ws = [np.zeros_like(W) for W in net.weights]
    if hidden_weight is None:
        Ws[L - 2] = np.array(net.weights[L - 2])
    else:
        Wh = as_real_array(hidden_weight, "hidden_weight")
        if Wh.shape != net.weights[L - 2].shape:
            raise ValueError(f"hidden_weight must have the shape of W_{L - 1}, "
                             f"{net.weights[L - 2].shape}, got {Wh.shape}")
        Ws[L - 2] = Wh
    return net.replace(weights=Ws, biases=_set_biases(net, y))


@thread_policy
def zero_rank_point(
    net: LinearPCN,
    *,
    method: Literal["zero_layer", "kernel"] = "zero_layer",
    layer: int = 1,
    y: ArrayLike | None = None,
) -> LinearPCN:
    """A point of the family ``W_L = 0``, ``M_{L-1:1} = 0`` (critical for ``ℒ`` and ``F*``).

    The other weights of ``net`` are kept except:

    * ``method="zero_layer"``: layer ``layer`` (``1 ≤ layer ≤ L−1``) gets ``M_layer = 0``
      (``W = 0`` for a plain layer, ``W = −I/a`` for a residual one);
    * ``method="kernel"``: ``W_1`` is projected onto the null space of ``M_{L-1:2}``, so that no
      layer vanishes but ``M_{L-1:1} = 0`` (needs ``dim ker M_{L-1:2} ≥ 1``, e.g.
      ``n_1 > n_{L-1}``).

    At such a point both gradients vanish (data-independently, without biases) and
    ``λ_min(∇²F*) ≤ −λ²a_L² λ_max(Σ_yy) λ_max(G) < 0`` (docs/theory.md §3.3; P1 Theorem 3).

    Parameters
    ----------
    y : array_like, optional
        With an output bias, set it to ``⟨y⟩/a_L`` (hidden biases are zeroed).
    """
    check_network(net)
    check_choice(method, "method", ("zero_layer", "kernel"))
    check_int(layer, "layer")
    require_gaussian_chain(net, "the zero-rank saddle results")
    L = net.n_layers
    Ws = [np.array(W) for W in net.weights]
    Ws[L - 1] = np.zeros_like(Ws[L - 1])
    if method == "zero_layer":
        if not 1 <= layer <= L - 1:
            raise ValueError(f"layer must be in 1..{L - 1} (a layer below the output), got {layer}")
        if net.skips[layer - 1]:
            Ws[layer - 1] = -np.eye(Ws[layer - 1].shape[0]) / net.scalings[layer - 1]
        else:
            Ws[layer - 1] = np.zeros_like(Ws[layer - 1])
    elif method == "kernel":
        tmp = net.replace(weights=Ws)
        # M_{L-1:2} = P maps z_1 to z_{L-1}; compute it densely from the layer maps
        Mprod = np.eye(net.widths[1])
        for l in range(2, L):
            Mprod = tmp.layer_map(l) @ Mprod
        N = sla.null_space(Mprod)
        if N.shape[1] == 0:
            raise ValueError(
                f"M_{{L-1:2}} (shape {Mprod.shape}) has a trivial null space, so W_1 cannot be "
                "projected onto it; use method='zero_layer' or a network with n_1 > n_{L-1}"
            )
        Ws[0] = N @ (N.T @ Ws[0])
    else:
        raise ValueError(f"method must be 'zero_layer' or 'kernel', got {method!r}")
    return net.replace(weights=Ws, biases=_set_biases(net, y))


@thread_policy
def last_layer_gram(net: LinearPCN) -> Array:
    """``G = Σ_{l=1}^{L-1} π_l⁻¹ M_{L-1:l+1} M_{L-1:l+1}ᵀ`` (``n_H × n_H``): the covariance of
    ``z_{L-1}`` in the linear-Gaussian model of the first ``L−1`` layers.

    Recursion ``G_1 = π_1⁻¹ I``, ``G_l = M_l G_{l-1} M_lᵀ + π_l⁻¹ I`` (the covariance recursion of
    :mod:`linpc.core.gaussian`); for unit precisions ``G = I + Σ_{l=2}^{L-1} M_{L-1:l}M_{L-1:l}ᵀ``
    (docs/theory.md §3.3).
    """
    check_network(net)
    pi = net.precisions
    G = np.eye(net.widths[1]) / pi[0]
    for l in range(2, net.n_layers):
        G = net.apply_layer(l, net.apply_layer(l, G).T) + np.eye(net.widths[l]) / pi[l - 1]
    return 0.5 * (G + G.T)


def _require_zero_last_layer(net: LinearPCN) -> None:
    check_network(net)
    if np.any(net.weights[-1] != 0):
        raise ValueError(
            f"this identity holds at W_L = 0 only; W_{net.n_layers} has "
            f"{int(np.count_nonzero(net.weights[-1]))} nonzero entries"
        )
    require_gaussian_chain(net, "the W_L = 0 identities")


@thread_policy
def last_layer_correction(net: LinearPCN, x: ArrayLike, y: ArrayLike) -> Array:
    """``P = λ²a_L² (R ⊗ G)`` on the ``W_L`` block (dense ``(P, P)``, zero elsewhere), at
    ``W_L = 0``.

    ``R = (1/B)Σ r_i r_iᵀ`` is the residual second moment (``= Σ_yy`` without an output bias) and
    ``G`` is :func:`last_layer_gram`. Then ``∇²F* = λ∇²ℒ − P`` (docs/theory.md §3.3).
    """
    _require_zero_last_layer(net)
    r = net.residual(x, y)
    R = r.T @ r / r.shape[0]
    G = last_layer_gram(net)
    P = net.n_parameters
    start = sum(W.size for W in net.weights[:-1])
    out = np.zeros((P, P))
    s = slice(start, start + net.weights[-1].size)
    lam, aL = net.output_precision, net.scalings[-1]
    out[s, s] = lam * lam * aL * aL * np.kron(R, G)
    return out


@thread_policy
def zero_last_layer_energy_hessian(net: LinearPCN, x: ArrayLike, y: ArrayLike) -> Array:
    """``λ∇²ℒ − λ²a_L²(R ⊗ G)``: the Hessian of ``F*`` at any point with ``W_L = 0`` (dense).

    Computed from the MSE Hessian (:func:`~linpc.mse_hessian`) and the correction
    :func:`last_layer_correction`; no equilibrium is involved, which makes it an independent
    route to ``∇²F*`` at these points (docs/theory.md §3.3).
    """
    check_network(net)
    HL = mse_hessian(net, x, y)
    return net.output_precision * HL - last_layer_correction(net, x, y)


@thread_policy
def zero_rank_curvature_bound(net: LinearPCN, x: ArrayLike, y: ArrayLike) -> float:
    """``−λ²a_L² λ_max(R) λ_max(G)``: an upper bound of ``λ_min(∇²F*)`` at ``W_L = 0``,
    ``M_{L-1:1} = 0`` (where the ``W_L`` block of ``∇²ℒ`` vanishes; docs/theory.md §3.3).

    Equality holds when ``∇²ℒ = 0`` (P1's "other saddle" with ``H ≥ 3``).
    """
    _require_zero_last_layer(net)
    r = net.residual(x, y)
    R = r.T @ r / r.shape[0]
    G = last_layer_gram(net)
    lam, aL = net.output_precision, net.scalings[-1]
    return float(-lam * lam * aL * aL * np.linalg.eigvalsh(R)[-1] * np.linalg.eigvalsh(G)[-1])
