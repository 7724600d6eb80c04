"""Higher-order information in F*: its Neumann series and exact directional Taylor coefficients.

**Neumann series** (docs/theory.md §5.2, §2.5.16). With ``λ = π_L`` and per-layer precisions,
the rescaling of Theorem 1 (Innocenti et al., NeurIPS 2024, arXiv:2408.11979, P1) is

    S = λ⁻¹I + Q,     Q = Σ_{l=1}^{L-1} π_l⁻¹ M_{L:l+1} M_{L:l+1}ᵀ ⪰ 0

(for unit hidden precisions ``Q = Σ_{l=2}^{L} M_{L:l}M_{L:l}ᵀ``). Hence ``S⁻¹ = λ(I + λQ)⁻¹`` and,
for ``λ‖Q‖₂ < 1``,

    S⁻¹ = λ Σ_{k≥0} (−λQ)^k,      F* = ½tr(S⁻¹R) = Σ_{k≥0} (−1)^k λ^{k+1} ½tr(Q^k R),

``R = (1/B)Σ_i r_ir_iᵀ``. The remainder after the ``k = K`` term is
``F* − F*_K = ½λ tr((−λQ)^{K+1}(I + λQ)⁻¹R)``; since ``Q ⪰ 0`` and ``R ⪰ 0`` its sign is
``(−1)^{K+1}`` (the partial sums alternate around ``F*``) and ::

    |F* − F*_K| ≤ λℒ (λ‖Q‖₂)^{K+1} / (1 + λ‖Q‖₂),      ℒ = ½tr R.

For plain layers ``Q = O(‖θ‖²)``, so the ``k``-th term is ``O(‖θ‖^{2k})``: ``F*`` carries
information of every order in the weights although inference only uses second-order information in
the activities (thesis abstract, P4; docs/theory.md §5).

**Exact directional Taylor coefficients.** Along ``θ + εV`` every layer map is affine in ``ε``
(``M_l(ε) = M_l + εa_lV_l``), so ``ŷ``, ``r``, ``R`` and ``Q`` are polynomials in ``ε`` and
``S(ε)⁻¹`` is the power series ``C_0 = S_0⁻¹``, ``C_k = −S_0⁻¹Σ_{j=1}^{k} S_jC_{k−j}``. This gives
the coefficients ``c_k = f^{(k)}(0)/k!`` of ``f(ε) = ℒ(θ + εV)`` and ``F*(θ + εV)`` to any order,
exactly up to round-off, at any base point (not only at the origin) and for every configuration.

The orders of flatness that these coefficients reveal are in :mod:`linpc.landscape.flatness`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
from numpy.typing import ArrayLike

from linpc.core.gaussian import require_gaussian_chain
from linpc.core.network import LinearPCN, check_network
from linpc.core.parameter_arrays import ParameterArrays
from linpc.numerics.threads import thread_policy
from linpc.numerics.types import Array
from linpc.numerics.validation import as_real_array, check_nonnegative_int, layer_label

__all__ = [
    "NeumannSeries", "TaylorExpansion", "directional_taylor_coefficients", "neumann_series",
    "rescaling_series_matrix",
]


@thread_policy
def rescaling_series_matrix(net: LinearPCN) -> Array:
    """``Q = Σ_{l=1}^{L-1} π_l⁻¹ M_{L:l+1}M_{L:l+1}ᵀ``, so that ``S = π_L⁻¹I + Q`` (``d_y × d_y``).

    Unit hidden precisions give docs/theory.md §5's ``Q = Σ_{l=2}^{L} M_{L:l}M_{L:l}ᵀ``. Built from
    the backward products ``P_l = M_{L:l+1}`` (:meth:`LinearPCN.output_maps`), ``O(d_y Σ n_l
    n_{l-1})``.
    """
    check_network(net)
    require_gaussian_chain(net, "the rescaling S")
    Ps = net.output_maps()
    Q = np.zeros((net.d_y, net.d_y))
    for l in range(1, net.n_layers):
        Q += (Ps[l] @ Ps[l].T) / net.precisions[l - 1]
    return 0.5 * (Q + Q.T)


@dataclass(frozen=True)
class NeumannSeries:
    """Terms, partial sums and error bounds of the Neumann series of ``F*``.

    Attributes
    ----------
    terms : ndarray, shape (K+1,)
        ``t_k = (−1)^k λ^{k+1} ½tr(Q^kR)``, ``k = 0..K`` (``t_0 = λℒ``).
    partial_sums : ndarray, shape (K+1,)
        ``F*_K = Σ_{k≤K} t_k``.
    error_bounds : ndarray, shape (K+1,)
        ``λℒ q^{K+1}/(1 + q)`` with ``q = λ‖Q‖₂``: ``|F* − F*_K| ≤ error_bounds[K]``.
    ratio : float
        ``q = λ‖Q‖₂ < 1`` (the series' convergence factor).
    energy : float
        Closed form ``F* = ½tr(S⁻¹R)`` (Cholesky solve with ``S = λ⁻¹I + Q``).
    loss : float
        ``ℒ = ½tr R``.
    """

    terms: Array
    partial_sums: Array
    error_bounds: Array
    ratio: float
    energy: float
    loss: float

    @property
    def order(self) -> int:
        return self.terms.size - 1


@thread_policy
def neumann_series(net: LinearPCN, x: ArrayLike, y: ArrayLike, order: int) -> NeumannSeries:
    """Neumann series ``F* = Σ_k (−1)^kλ^{k+1}½tr(Q^kR)`` of the equilibrated energy, to ``order``.

    See the module docstring for the series, its alternating remainder and the bound
    ``|F* − F*_K| ≤ λℒ(λ‖Q‖₂)^{K+1}/(1 + λ‖Q‖₂)`` (docs/theory.md §5.2, §2.5.16; derived here
    for per-layer precisions, ``Q = Σ_{l<L} π_l⁻¹M_{L:l+1}M_{L:l+1}ᵀ``).

    Parameters
    ----------
    net : LinearPCN
        Without activity decay.
    x, y : array_like
        Batch ``(B, d_x)``, ``(B, d_y)``.
    order : int
        Highest power ``K ≥ 0`` of ``Q``.

    Raises
    ------
    ValueError
        If ``λ‖Q‖₂ ≥ 1``: the series diverges (the spectral radius of ``λQ`` is ``λ‖Q‖₂``).
    """
    check_network(net)
    K = check_nonnegative_int(order, "order")
    xa, ya = net.check_data(x, y)
    Q = rescaling_series_matrix(net)
    lam = net.output_precision
    q = lam * max(float(np.linalg.eigvalsh(Q)[-1]), 0.0)
    if q >= 1.0:
        raise ValueError(
            f"the Neumann series of F* diverges: λ‖Q‖₂ = {q:.6g} ≥ 1 (λ = {lam:.6g}, "
            f"‖Q‖₂ = {q / lam:.6g}); it converges only for λ‖Q‖₂ < 1 (smaller weights or a smaller "
            "output precision)"
        )
    r = net.residual(xa, ya)
    R = (r.T @ r) / r.shape[0]
    ell = 0.5 * float(np.trace(R))
    terms = np.empty(K + 1)
    A = R
    for k in range(K + 1):
        terms[k] = (-lam) ** k * lam * 0.5 * float(np.trace(A))
        A = Q @ A
    S = np.eye(net.d_y) / lam + Q
    F = 0.5 * float(np.trace(sla.cho_solve(sla.cho_factor(S, lower=True), R)))
    ks = np.arange(K + 1)
    return NeumannSeries(terms=terms, partial_sums=np.cumsum(terms),
                         error_bounds=lam * ell * q ** (ks + 1) / (1 + q), ratio=q,
                         energy=F, loss=ell)


# ------------------------------------------------------------------------- Taylor coefficients
def _series_matmul(A: Array, B: Array, K: int) -> Array:
    """Cauchy product of truncated matrix series ``A[k]``, ``B[k]`` (first axis = power of ε)."""
    out = np.zeros((K + 1, A.shape[1], B.shape[2]))
    for k in range(K + 1):
        for j in range(k + 1):
            out[k] += A[j] @ B[k - j]
    return out


def _direction_arrays(net: LinearPCN, direction) -> tuple[list[Array], list[Array | None]]:
    if isinstance(direction, ParameterArrays):
        Vw, Vb = list(direction.weights), list(direction.biases)
    elif isinstance(direction, (str, bytes)) or not isinstance(direction, (Sequence, np.ndarray)):
        raise TypeError(f"direction must be a ParameterArrays or a sequence of L = "
                        f"{net.n_layers} arrays [V_1, ..., V_L], got {type(direction).__name__}")
    else:
        Vw, Vb = list(direction), [None] * net.n_layers
    if len(Vw) != net.n_layers:
        raise ValueError(f"direction must have one weight array per layer (L = {net.n_layers}), "
                         f"got {len(Vw)}")
    Vw = [as_real_array(V, layer_label("direction", l, "V", "direction"))
          for l, V in enumerate(Vw, start=1)]
    for l, (V, W) in enumerate(zip(Vw, net.weights, strict=True), start=1):
        if V.shape != W.shape:
            raise ValueError(f"direction for W_{l} must have shape {W.shape}, got {V.shape}")
    if len(Vb) != net.n_layers:
        raise ValueError("direction.biases must have one entry per layer")
    out_b: list[Array | None] = []
    for l, (v, b) in enumerate(zip(Vb, net.biases, strict=True), start=1):
        if v is None:
            out_b.append(None)
            continue
        if b is None:
            raise ValueError(f"direction has a bias for layer {l}, which has no bias parameter")
        v = as_real_array(v, f"direction.biases[{l - 1}]")
        if v.shape != b.shape:
            raise ValueError(f"direction for b_{l} must have shape {b.shape}, got {v.shape}")
        out_b.append(v)
    return Vw, out_b


@dataclass(frozen=True)
class TaylorExpansion:
    """Taylor coefficients of ``ℒ(θ + εV)`` and ``F*(θ + εV)`` in ``ε``.

    Attributes
    ----------
    loss : ndarray, shape (K+1,)
        ``c_k(ℒ)``; ``ℒ`` is a polynomial in ``ε`` (degree ``2L`` for plain networks without
        biases), so these are exact for every ``K``.
    energy : ndarray, shape (K+1,)
        ``c_k(F*) = (1/k!) dᵏF*(θ + εV)/dεᵏ |_{ε=0}``.
    """

    loss: Array
    energy: Array

    @property
    def order(self) -> int:
        return self.loss.size - 1


@thread_policy
def directional_taylor_coefficients(
    net: LinearPCN,
    x: ArrayLike,
    y: ArrayLike,
    direction: ParameterArrays | Sequence[ArrayLike],
    order: int,
) -> TaylorExpansion:
    """Exact Taylor coefficients of ``ℒ`` and ``F*`` along ``θ + εV`` up to ``ε^order``.

    Power-series arithmetic (module docstring): the forward pass ``ẑ_l(ε)``, the backward products
    ``P_l(ε) = M_{L:l+1}(ε)``, ``R(ε)`` and ``Q(ε)`` are truncated polynomial series with matrix
    coefficients (``M_l(ε) = M_l + εa_lV_l``, ``c_l(ε) = a_l(b_l + εβ_l)``); ``S(ε)⁻¹`` is inverted
    as a power series with one Cholesky factorisation of ``S(0)``; ``c_k(F*) = ½Σ_j
    tr(C_jR_{k−j})``, ``c_k(ℒ) = ½tr R_k``. Cost ``O(K² (L d_y² max n_l + B d_y²))``. Theory.md §5
    (higher-order information); the ``k``-th directional derivative is ``k! c_k``.

    Parameters
    ----------
    net : LinearPCN
        Base point ``θ`` (any configuration without activity decay).
    x, y : array_like
        Batch.
    direction : ParameterArrays or sequence of arrays
        ``V`` (weights, and optionally biases for layers that have one).
    order : int
        Highest power ``K ≥ 0``.

    Returns
    -------
    TaylorExpansion
    """
    check_network(net)
    require_gaussian_chain(net, "the Taylor expansion of F*")
    K = check_nonnegative_int(order, "order")
    xa, ya = net.check_data(x, y)
    Vw, Vb = _direction_arrays(net, direction)
    L, B, a = net.n_layers, xa.shape[0], net.scalings

    # forward pass: ẑ_l[k] = ẑ_{l-1}[k] M_lᵀ + a_l ẑ_{l-1}[k-1] V_lᵀ + c_l[k]
    z = np.zeros((K + 1, B, net.d_x))
    z[0] = xa
    for l in range(1, L + 1):
        nz = np.zeros((K + 1, B, net.widths[l]))
        for k in range(K + 1):
            nz[k] = net.apply_layer(l, z[k])
            if k >= 1:
                nz[k] += a[l - 1] * (z[k - 1] @ Vw[l - 1].T)
        nz[0] += net.layer_bias(l)
        if Vb[l - 1] is not None and K >= 1:
            nz[1] += a[l - 1] * Vb[l - 1]
        z = nz
    res = -z
    res[0] += ya                                        # r(ε) = y − ŷ(ε)
    Rs = np.zeros((K + 1, net.d_y, net.d_y))
    for k in range(K + 1):
        for j in range(k + 1):
            Rs[k] += res[j].T @ res[k - j]
    Rs /= B

    # backward products P_{l-1}(ε) = P_l(ε) M_l(ε), P_L = I; Q(ε) = Σ_{l<L} π_l⁻¹ P_l P_lᵀ
    P = np.zeros((K + 1, net.d_y, net.d_y))
    P[0] = np.eye(net.d_y)
    Qs = np.zeros((K + 1, net.d_y, net.d_y))
    for l in range(L, 1, -1):
        nP = np.zeros((K + 1, net.d_y, net.widths[l - 1]))
        for k in range(K + 1):
            nP[k] = net.apply_layer_transpose(l, P[k])
            if k >= 1:
                nP[k] += a[l - 1] * (P[k - 1] @ Vw[l - 1])
        P = nP                                           # P_{l-1}
        Qs += _series_matmul(P, np.transpose(P, (0, 2, 1)), K) / net.precisions[l - 2]

    # S(ε)⁻¹ as a power series
    S0 = np.eye(net.d_y) / net.output_precision + Qs[0]
    cf = sla.cho_factor(0.5 * (S0 + S0.T), lower=True)
    C = np.zeros((K + 1, net.d_y, net.d_y))
    C[0] = sla.cho_solve(cf, np.eye(net.d_y))
    for k in range(1, K + 1):
        acc = sum(Qs[j] @ C[k - j] for j in range(1, k + 1))
        C[k] = -sla.cho_solve(cf, acc)
    energy = np.array([0.5 * sum(float(np.sum(C[j] * Rs[k - j].T)) for j in range(k + 1))
                       for k in range(K + 1)])
    loss = np.array([0.5 * float(np.trace(Rs[k])) for k in range(K + 1)])
    return TaylorExpansion(loss=loss, energy=energy)
