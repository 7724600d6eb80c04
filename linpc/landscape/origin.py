"""Saddles of ``ℒ`` and ``F*``: the origin theorems, other zero-rank saddles, orders of flatness.

All statements are for the parameter order of :mod:`linpc.parameters` (row-major ``W_l``), under
which the Hessian of ``½ tr(A W C Wᵀ)`` is ``A ⊗ C``, and the uncentred moments ``Σ_xx = XᵀX/B``,
``Σ_yx = YᵀX/B``, ``Σ_yy = YᵀY/B`` (theory.md §0).

**Origin (plain networks, no biases; theory.md §3.1–3.2).** With multipliers ``a_l``, output
precision ``λ = π_L`` and hidden precisions ``π_l``: ``S = λ⁻¹I + π_H⁻¹ a_L² W_LW_Lᵀ + O(‖θ‖⁴)``, so

    F*(θ) = (λ/2) tr Σ_yy − λ tr(MΣ_xy) − (λ²a_L²/(2π_H)) tr(W_Lᵀ Σ_yy W_L) + O(‖θ‖³),
    ℒ(θ)  = ½ tr Σ_yy − tr(MΣ_xy) + ½ tr(MΣ_xxMᵀ),        M = M_{L:1} (degree L in θ).

* ``H = 1``: ``∂²/∂(W_1)_{jb}∂(W_2)_{ij} = −λa_1a_2(Σ_yx)_{ib}`` (``F*``; without λ for ``ℒ``), the
  ``W_2`` block of ``∇²F*(0)`` is ``−(λ²a_2²/π_1) Σ_yy ⊗ I_N``. Spectrum of ``∇²F*(0)``: ``spec(K)``
  with multiplicity ``N = n_1``, ``K = −[[0, λa_1a_2Σ_xy], [λa_1a_2Σ_yx, (λ²a_2²/π_1)Σ_yy]]``; of
  ``∇²ℒ(0)``: ``±a_1a_2σ_k(Σ_yx)`` (×N) and zeros.
* ``H ≥ 2``: ``∇²ℒ(0) = 0``; ``∇²F*(0)`` has the single block ``−(λ²a_L²/π_H) Σ_yy ⊗ I_{n_H}``
  (``W_L``), spectrum ``−(λ²a_L²/π_H) λ_k(Σ_yy)`` (×n_H) and zeros: **the origin is a strict
  saddle of F* for every depth** while it is non-strict for ℒ (P1, Theorem 2 as read in
  theory.md §2.1).

**W_L = 0 (theory.md §3.3).** ``S(θ+δ) = λ⁻¹I + a_L²δ_L G δ_Lᵀ + O(δ³)`` with the Gram matrix
``G = Σ_{l=1}^{L-1} π_l⁻¹ M_{L-1:l+1}M_{L-1:l+1}ᵀ`` (``= I + Σ_{l=2}^{L-1}M_{L-1:l}M_{L-1:l}ᵀ`` for
unit precisions), hence ``∇F* = λ∇ℒ`` and ``∇²F* = λ∇²ℒ − λ²a_L²(R ⊗ G)`` on the ``W_L`` block, with
``R = ⟨r rᵀ⟩`` the residual second moment (``= Σ_yy`` without an output bias). At the zero-rank
points ``W_L = 0``, ``M_{L-1:1} = 0`` (the origin, P1's "other saddle" with only ``W_{L-1} ≠ 0``, …)
both gradients vanish and ``λ_min(∇²F*) ≤ −λ²a_L² λ_max(R) λ_max(G) < 0`` (P1, Theorem 3).

**Orders of flatness (theory.md §5.1).** Along ``θ = εV``: ``ℒ(εV) − ℒ(0) = Θ(ε^{H+1})``,
``F*(εV) − F*(0) = Θ(ε²)``, ``‖∇ℒ(εV)‖ = Θ(ε^H)``, ``‖∇F*(εV)‖ = Θ(ε)``; :func:`flatness_orders`
measures the four log–log slopes.

References
----------
.. [P1] Innocenti, Achour, Singh, Buckley, NeurIPS 2024, arXiv:2408.11979, Theorems 2–3,
   Figs. 3–4, 8–10; blog B2.
.. [P2] Innocenti, Singh, Buckley, arXiv:2305.18188 (one-hidden-unit escape).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.linalg as sla
from numpy.typing import ArrayLike, NDArray

from .data import second_moments
from .equilibrium import equilibrated_energy_gradient, solve_equilibrium
from .gaussian import cross_covariances
from .hessians import mse_hessian
from .loss import mse_gradient
from .network import LinearPCN

__all__ = [
    "GOLDEN_RATIO",
    "FlatnessOrders",
    "OriginHessians",
    "PredictedSpectrum",
    "flatness_orders",
    "last_layer_correction",
    "last_layer_gram",
    "one_unit_curvature_ratio",
    "origin_curvature_ratio",
    "origin_hessians",
    "origin_network",
    "origin_spectra",
    "other_saddle",
    "zero_last_layer_energy_hessian",
    "zero_rank_curvature_bound",
    "zero_rank_point",
]

Array = NDArray[np.float64]
#: φ = (1 + √5)/2: ratio of the most negative origin eigenvalues of ``∇²F*`` and ``∇²ℒ`` for the
#: toy data ``y = ±x`` with one hidden layer (theory.md §3.2).
GOLDEN_RATIO = (1.0 + np.sqrt(5.0)) / 2.0


# ---------------------------------------------------------------------------------------------
# the origin
# ---------------------------------------------------------------------------------------------
def _check_plain(net: LinearPCN, what: str) -> None:
    if net.use_skips:
        raise ValueError(
            f"{what} is stated for plain networks: with identity skips M_l = I at W_l = 0, so "
            "θ = 0 "
            "is not the zero-rank origin (theory.md §3.1–3.2)"
        )
    if net.activity_decay:
        raise ValueError(f"{what} is stated for activity_decay = 0 (theory.md §3)")


def origin_network(
    net_or_widths: LinearPCN | Sequence[int],
    *,
    param_type: str = "sp",
    scalings: Sequence[float] | None = None,
    gamma: float | None = None,
    output_energy_scaling: float | None = None,
    precisions: Sequence[float] | None = None,
) -> LinearPCN:
    """The origin ``θ = 0`` of a network (all weights zero, no biases), same multipliers.

    Parameters
    ----------
    net_or_widths : LinearPCN or sequence of int
        A network (its multipliers, skips and precisions are kept, its weights and biases
        discarded) or the widths ``(d_x, n_1, …, n_H, d_y)``; the remaining keywords are then those
        of :class:`~linpc.LinearPCN`.
    """
    if isinstance(net_or_widths, LinearPCN):
        net = net_or_widths
        zeros = [np.zeros_like(W) for W in net.weights]
        return net.replace(weights=zeros, biases=None)
    widths = [int(w) for w in net_or_widths]
    if len(widths) < 3:
        raise ValueError(f"widths must be (d_x, n_1, ..., n_H, d_y) with H ≥ 1, got {widths}")
    Ws = [np.zeros((widths[l], widths[l - 1])) for l in range(1, len(widths))]
    return LinearPCN(Ws, param_type=param_type, scalings=scalings, gamma=gamma,
                     output_energy_scaling=output_energy_scaling, precisions=precisions)


@dataclass(frozen=True)
class OriginHessians:
    """Analytic Hessians of ``F*`` and ``ℒ`` at ``θ = 0`` (dense, linpc's parameter order).

    Attributes
    ----------
    energy : ndarray, shape (P, P)
        ``∇²F*(0)``.
    mse : ndarray, shape (P, P)
        ``∇²ℒ(0)`` (divided by ``d_y`` if ``mean_over_outputs``).
    net : LinearPCN
        The origin network (zero weights) the blocks refer to.
    """

    energy: Array
    mse: Array
    net: LinearPCN


def origin_hessians(
    net_or_widths: LinearPCN | Sequence[int],
    x: ArrayLike,
    y: ArrayLike,
    *,
    mean_over_outputs: bool = False,
    **network_keywords,
) -> OriginHessians:
    """Closed-form ``∇²F*(0)`` and ``∇²ℒ(0)`` for one or several hidden layers (theory.md §3.1–3.2).

    Only ``Σ_yx`` (one hidden layer) and ``Σ_yy`` enter; ``Σ_xx`` does not. See the module
    docstring for the blocks.

    Parameters
    ----------
    net_or_widths : LinearPCN or sequence of int
        See :func:`origin_network` (weights are ignored: the Hessians are those at ``θ = 0``).
    x, y : array_like
        Batch ``(B, d_x)``, ``(B, d_y)``.
    mean_over_outputs : bool
        Divide the MSE Hessian by ``d_y`` (the Hessian notebooks' convention, theory.md §0).
    **network_keywords
        Passed to :func:`origin_network` when widths are given.

    Returns
    -------
    OriginHessians

    References
    ----------
    P1 (arXiv:2408.11979) Theorem 2, Figs. 3, 4, 8; theory.md §3.1–3.2.
    """
    net = origin_network(net_or_widths, **network_keywords)
    _check_plain(net, "the origin Hessian formula")
    xa, ya = net.check_data(x, y)
    mom = second_moments(xa, ya)
    a, pi, lam = net.scalings, net.precisions, net.output_precision
    L, H = net.n_layers, net.n_hidden
    P = net.n_parameters
    offs = np.concatenate([[0], np.cumsum([W.size for W in net.weights])]).astype(int)
    HF = np.zeros((P, P))
    HL = np.zeros((P, P))
    nH = net.widths[H]
    # W_L block of F*: −(λ² a_L² / π_H) Σ_yy ⊗ I_{n_H}
    sL = slice(offs[L - 1], offs[L])
    HF[sL, sL] = -(lam * lam * a[-1] ** 2 / pi[H - 1]) * np.kron(mom.yy, np.eye(nH))
    if H == 1:
        n1, dx, dy = net.widths[1], net.d_x, net.d_y
        # [(j, b), (i, j')] = c (Σ_yx)_{ib} δ_{jj'}  (W_1 rows (j, b), W_2 columns (i, j'))
        cross = np.einsum("jk,bi->jbik", np.eye(n1), mom.xy).reshape(n1 * dx, dy * n1)
        c = -a[0] * a[1]
        s1 = slice(offs[0], offs[1])
        HF[s1, sL] = lam * c * cross
        HF[sL, s1] = lam * c * cross.T
        cm = c / (net.d_y if mean_over_outputs else 1)
        HL[s1, sL] = cm * cross
        HL[sL, s1] = cm * cross.T
    return OriginHessians(HF, HL, net)


@dataclass(frozen=True)
class PredictedSpectrum:
    """A spectrum given by distinct values with multiplicities.

    Attributes
    ----------
    values : ndarray
        Eigenvalues (not necessarily distinct; zeros included as one entry).
    multiplicities : ndarray of int
        Multiplicity of each entry; they sum to the matrix size.
    """

    values: Array
    multiplicities: NDArray[np.int64]

    @property
    def size(self) -> int:
        return int(self.multiplicities.sum())

    def full(self) -> Array:
        """All eigenvalues with multiplicity, ascending."""
        return np.sort(np.repeat(self.values, self.multiplicities))

    @property
    def lambda_min(self) -> float:
        return float(np.min(self.values[self.multiplicities > 0]))

    @property
    def lambda_max(self) -> float:
        return float(np.max(self.values[self.multiplicities > 0]))


def _snap_zeros(w: Array) -> Array:
    """Set eigenvalues below the eigensolver's Weyl bound to exact zeros.

    ``K`` (H = 1) has a null space of dimension at least ``d_x − rank Σ_yx`` and ``Σ_yy`` one of
    dimension ``d_y − rank Y``; LAPACK returns those eigenvalues as ±O(n·eps·‖A‖), which would be
    miscounted as negative or positive. Anything within ``eigenvalue_tolerance(n, ‖A‖₂)`` of zero is
    exactly zero in exact arithmetic up to that bound.
    """
    from .tolerances import eigenvalue_tolerance

    w = np.array(w, dtype=np.float64)
    if w.size:
        w[np.abs(w) <= eigenvalue_tolerance(w.size, np.max(np.abs(w)))] = 0.0
    return w


def origin_spectra(
    net_or_widths: LinearPCN | Sequence[int],
    x: ArrayLike,
    y: ArrayLike,
    *,
    mean_over_outputs: bool = False,
    **network_keywords,
) -> tuple[PredictedSpectrum, PredictedSpectrum]:
    """Predicted spectra of ``∇²F*(0)`` and ``∇²ℒ(0)`` with multiplicities (theory.md §3.2).

    * ``H = 1``: ``F*``: ``spec(K)`` each ×``n_1``, ``K`` the ``(d_x + d_y)`` matrix of the module
      docstring; ``ℒ``: ``±a_1a_2σ_k(Σ_yx)`` (``k ≤ min(d_x, d_y)``) each ×``n_1``, and
      ``n_1(d_x + d_y − 2 min(d_x, d_y))`` zeros.
    * ``H ≥ 2``: ``F*``: ``−(λ²a_L²/π_H) λ_k(Σ_yy)`` each ×``n_H``, and zeros; ``ℒ``: all zeros.

    The eigenvalues are computed from the ``d × d`` moment matrices only (``eigvalsh`` of ``K`` or
    ``Σ_yy``, ``svdvals`` of ``Σ_yx``), independently of the ``P × P`` Hessian.

    Returns
    -------
    (energy, mse) : tuple of PredictedSpectrum
    """
    net = origin_network(net_or_widths, **network_keywords)
    _check_plain(net, "the origin spectrum formula")
    xa, ya = net.check_data(x, y)
    mom = second_moments(xa, ya)
    a, pi, lam = net.scalings, net.precisions, net.output_precision
    H, P = net.n_hidden, net.n_parameters
    dx, dy, nH = net.d_x, net.d_y, net.widths[H]
    mse_scale = 1.0 / dy if mean_over_outputs else 1.0
    if H == 1:
        c = lam * a[0] * a[1]
        K = -np.block([[np.zeros((dx, dx)), c * mom.xy],
                       [c * mom.yx, (lam * lam * a[1] ** 2 / pi[0]) * mom.yy]])
        kv = _snap_zeros(np.linalg.eigvalsh(K))
        energy = PredictedSpectrum(kv, np.full(kv.size, nH, dtype=np.int64))
        s = sla.svdvals(mom.yx)
        r = min(dx, dy)
        vals = np.concatenate([a[0] * a[1] * s * mse_scale, -a[0] * a[1] * s * mse_scale, [0.0]])
        mult = np.concatenate([np.full(r, nH), np.full(r, nH), [nH * (dx + dy - 2 * r)]])
        mse = PredictedSpectrum(vals, mult.astype(np.int64))
    else:
        ev = -(lam * lam * a[-1] ** 2 / pi[H - 1]) * _snap_zeros(np.linalg.eigvalsh(mom.yy))
        energy = PredictedSpectrum(np.concatenate([ev, [0.0]]),
                                   np.array([nH] * dy + [P - nH * dy], dtype=np.int64))
        mse = PredictedSpectrum(np.array([0.0]), np.array([P], dtype=np.int64))
    return energy, mse


def origin_curvature_ratio(net_or_widths: LinearPCN | Sequence[int], x: ArrayLike,
                           y: ArrayLike, **network_keywords) -> float:
    """``λ_min(∇²F*(0)) / λ_min(∇²ℒ(0))`` from the predicted spectra (``inf`` when ``H ≥ 2``).

    For the toy data ``y = ±x`` with one hidden layer and ``λ = a_l = π_l = 1`` this is the golden
    ratio ``φ = (1+√5)/2`` (theory.md §3.2): ``F*`` is more negatively curved at the origin.
    """
    e, m = origin_spectra(net_or_widths, x, y, **network_keywords)
    if m.lambda_min == 0.0:
        return float("inf")
    return e.lambda_min / m.lambda_min


def one_unit_curvature_ratio(s_xy: float, s_yy: float, *, output_precision: float = 1.0) -> float:
    """``|λ_min(∇²ℒ(0))| / |λ_min(∇²F*(0))|`` for the one-hidden-unit model ``ŷ = w_2w_1x``.

    ``∇²ℒ(0) = −[[0, s_xy], [s_xy, 0]]``, ``∇²F*(0) = −[[0, λs_xy], [λs_xy, λ²s_yy]]``, hence

        ratio = 2|s_xy| / (λ²s_yy + √(λ⁴s_yy² + 4λ²s_xy²))     (= 1/φ for y = ±x, λ = 1).

    For gradient descent with a small step started near 0 it predicts the ratio of the escape
    times ``t_PC / t_BP`` (theory.md §4.2; P2).
    """
    lam = float(output_precision)
    return 2 * abs(s_xy) / (lam * lam * s_yy + np.sqrt(lam**4 * s_yy**2 + 4 * lam**2 * s_xy**2))


# ---------------------------------------------------------------------------------------------
# other zero-rank points
# ---------------------------------------------------------------------------------------------
def _set_biases(net: LinearPCN, y: ArrayLike | None) -> list | None:
    """Zero hidden biases; the output bias (if any) set to its optimum ``⟨y⟩/a_L`` if y is given.
    """
    if not net.has_biases:
        return None
    bs: list = [None if b is None else np.zeros_like(b) for b in net.biases]
    if bs[-1] is not None and y is not None:
        ya = np.atleast_2d(np.asarray(y, dtype=np.float64))
        bs[-1] = ya.mean(axis=0) / net.scalings[-1]
    return bs


def other_saddle(net: LinearPCN, *, hidden_weight: ArrayLike | None = None,
                 y: ArrayLike | None = None) -> LinearPCN:
    """P1's "other saddle": all weights zero except ``W_{L-1}`` (needs ``H ≥ 2``, plain layers).

    ``W_{L-1}`` is ``hidden_weight`` or the network's own ``W_{L-1}``. This is the zero-rank point
    of ``init_type="other_saddle"`` in P1's ``Hessian_Analysis_of_DLNs.ipynb`` (Figs. 9–10). For
    ``H ≥ 3``, ``∇²ℒ = 0`` there (non-strict) while ``∇²F*`` has the single block
    ``−λ²a_L²(Σ_yy ⊗ G)``, ``G = π_{L-1}⁻¹I + π_{L-2}⁻¹a_{L-1}²W_{L-1}W_{L-1}ᵀ`` (theory.md §3.3).

    Parameters
    ----------
    hidden_weight : array_like, optional
        ``W_{L-1}`` of shape ``(n_{L-1}, n_{L-2})``.
    y : array_like, optional
        Targets; when the network has an output bias it is set to its optimum ``⟨y⟩/a_L``
        (needed for the point to be critical); all other biases are zero.
    """
    L = net.n_layers
    if L < 3:
        raise ValueError(f"the 'other saddle' needs at least 2 hidden layers (L ≥ 3), got L = {L}")
    if net.skips[L - 2]:
        raise ValueError(f"layer {L - 1} is residual (M = I + aW): zeroing the other layers does "
                         "not give a zero-rank point of this form; use zero_rank_point")
    _check_plain_decay(net)
    Ws = [np.zeros_like(W) for W in net.weights]
    if hidden_weight is None:
        Ws[L - 2] = np.array(net.weights[L - 2])
    else:
        Wh = np.asarray(hidden_weight, dtype=np.float64)
        if Wh.shape != net.weights[L - 2].shape:
            raise ValueError(f"hidden_weight must have the shape of W_{L - 1}, "
                             f"{net.weights[L - 2].shape}, got {Wh.shape}")
        Ws[L - 2] = Wh
    return net.replace(weights=Ws, biases=_set_biases(net, y))


def _check_plain_decay(net: LinearPCN) -> None:
    if net.activity_decay:
        raise ValueError("zero-rank saddle results are stated for activity_decay = 0")


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
    ``λ_min(∇²F*) ≤ −λ²a_L² λ_max(Σ_yy) λ_max(G) < 0`` (theory.md §3.3; P1 Theorem 3).

    Parameters
    ----------
    y : array_like, optional
        With an output bias, set it to ``⟨y⟩/a_L`` (hidden biases are zeroed).
    """
    _check_plain_decay(net)
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


# ---------------------------------------------------------------------------------------------
# W_L = 0: ∇F* = λ∇ℒ, ∇²F* = λ∇²ℒ − λ²a_L²(R ⊗ G)
# ---------------------------------------------------------------------------------------------
def last_layer_gram(net: LinearPCN) -> Array:
    """``G = Σ_{l=1}^{L-1} π_l⁻¹ M_{L-1:l+1} M_{L-1:l+1}ᵀ`` (``n_H × n_H``): the covariance of
    ``z_{L-1}`` in the linear-Gaussian model of the first ``L−1`` layers.

    Recursion ``G_1 = π_1⁻¹ I``, ``G_l = M_l G_{l-1} M_lᵀ + π_l⁻¹ I`` (architecture.md, route 2);
    for unit precisions ``G = I + Σ_{l=2}^{L-1} M_{L-1:l}M_{L-1:l}ᵀ`` (theory.md §3.3).
    """
    pi = net.precisions
    G = np.eye(net.widths[1]) / pi[0]
    for l in range(2, net.n_layers):
        G = net.apply_layer(l, net.apply_layer(l, G).T) + np.eye(net.widths[l]) / pi[l - 1]
    return 0.5 * (G + G.T)


def _require_zero_last_layer(net: LinearPCN) -> None:
    if np.any(net.weights[-1] != 0):
        raise ValueError(
            f"this identity holds at W_L = 0 only; W_{net.n_layers} has "
            f"{int(np.count_nonzero(net.weights[-1]))} nonzero entries"
        )
    if net.activity_decay:
        raise ValueError(
            "the W_L = 0 identities are stated for activity_decay = 0 (theory.md §3.3)")


def last_layer_correction(net: LinearPCN, x: ArrayLike, y: ArrayLike) -> Array:
    """``P = λ²a_L² (R ⊗ G)`` on the ``W_L`` block (dense ``(P, P)``, zero elsewhere), at
    ``W_L = 0``.

    ``R = (1/B)Σ r_i r_iᵀ`` is the residual second moment (``= Σ_yy`` without an output bias) and
    ``G`` is :func:`last_layer_gram`. Then ``∇²F* = λ∇²ℒ − P`` (theory.md §3.3).
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


def zero_last_layer_energy_hessian(net: LinearPCN, x: ArrayLike, y: ArrayLike) -> Array:
    """``λ∇²ℒ − λ²a_L²(R ⊗ G)``: the Hessian of ``F*`` at any point with ``W_L = 0`` (dense).

    Computed from the MSE Hessian (:func:`~linpc.mse_hessian`) and the correction
    :func:`last_layer_correction`; no equilibrium is involved, which makes it an independent
    route to ``∇²F*`` at these points (theory.md §3.3).
    """
    HL = mse_hessian(net, x, y)
    return net.output_precision * HL - last_layer_correction(net, x, y)


def zero_rank_curvature_bound(net: LinearPCN, x: ArrayLike, y: ArrayLike) -> float:
    """``−λ²a_L² λ_max(R) λ_max(G)``: an upper bound of ``λ_min(∇²F*)`` at ``W_L = 0``,
    ``M_{L-1:1} = 0`` (where the ``W_L`` block of ``∇²ℒ`` vanishes; theory.md §3.3).

    Equality holds when ``∇²ℒ = 0`` (P1's "other saddle" with ``H ≥ 3``).
    """
    _require_zero_last_layer(net)
    r = net.residual(x, y)
    R = r.T @ r / r.shape[0]
    G = last_layer_gram(net)
    lam, aL = net.output_precision, net.scalings[-1]
    return float(-lam * lam * aL * aL * np.linalg.eigvalsh(R)[-1] * np.linalg.eigvalsh(G)[-1])


# ---------------------------------------------------------------------------------------------
# orders of flatness
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FlatnessOrders:
    """Measured orders of flatness at the origin along random directions (theory.md §5.1).

    Attributes
    ----------
    eps : ndarray
        Step sizes ``ε`` (log-spaced).
    values : dict of str → ndarray (n_directions, n_eps)
        ``"mse"``: ``|ℒ(εV) − ℒ(0)|``; ``"energy"``: ``|F*(εV) − F*(0)|``; ``"mse_gradient"``:
        ``‖∇ℒ(εV)‖``; ``"energy_gradient"``: ``‖∇F*(εV)‖``.
    slopes : dict of str → ndarray (n_directions,)
        Least-squares slopes of ``log value`` against ``log ε``.
    residuals : dict of str → ndarray (n_directions,)
        Root-mean-square residual of each log–log fit (a straight line has 0).
    predicted : dict of str → int
        ``H + 1``, ``2``, ``H`` and ``1``.
    """

    eps: Array
    values: dict
    slopes: dict
    residuals: dict
    predicted: dict

    def max_slope_error(self) -> float:
        """``max |slope − predicted|`` over quantities and directions."""
        return float(max(np.max(np.abs(self.slopes[k] - self.predicted[k])) for k in self.slopes))


def _increments(net: LinearPCN, x: Array, y: Array) -> tuple[float, float]:
    """``ℒ − ℒ(0)`` and ``F* − F*(0)`` without cancellation (``F*(0) = λℒ(0) = (λ/2)⟨‖y‖²⟩``).

    ``ℒ − ℒ(0) = ⟨½‖ŷ‖² − yᵀŷ⟩``; with ``S = λ⁻¹(I + λQ)``,
    ``S⁻¹ = λI − λ²Q(I + λQ)⁻¹`` so ``F* − F*(0) = λ(ℒ − ℒ(0)) − (λ²/2)⟨rᵀQ(I + λQ)⁻¹r⟩``.
    """
    yhat = net.predict(x)
    dL = float(np.mean(0.5 * np.sum(yhat * yhat, axis=1) - np.sum(y * yhat, axis=1)))
    lam = net.output_precision
    _, S = cross_covariances(net)
    Q = S - np.eye(net.d_y) / lam
    r = y - yhat
    A = np.eye(net.d_y) + lam * Q
    t = np.linalg.solve(A, r.T)                     # (I + λQ)⁻¹ r
    corr = float(np.mean(np.sum((Q @ t) * r.T, axis=0)))
    return dL, lam * dL - 0.5 * lam * lam * corr


def flatness_orders(
    net_or_widths: LinearPCN | Sequence[int],
    x: ArrayLike,
    y: ArrayLike,
    *,
    n_directions: int = 3,
    eps: ArrayLike | None = None,
    rng: np.random.Generator | int | None = None,
    **network_keywords,
) -> FlatnessOrders:
    """Log–log slopes of ``ℒ``, ``F*`` and their gradient norms along ``θ = εV`` (theory.md §5.1).

    Predicted: ``ord ℒ = H + 1``, ``ord F* = 2`` (every ``H``), ``‖∇ℒ‖ = Θ(ε^H)``, ``‖∇F*‖ = Θ(ε)``
    (P1 and blog B2: "order-flatness equals the number of hidden layers"; thesis P4 abstract:
    PC uses "arbitrarily higher-order information"). The increments are computed without
    cancellation (``_increments``), so ``ε`` can be small enough for the leading order to dominate.

    Parameters
    ----------
    net_or_widths : LinearPCN or sequence of int
        Multipliers and precisions of the network (weights ignored; plain, no biases).
    x, y : array_like
        Batch.
    n_directions : int
        Number of random unit directions ``V`` (Gaussian, normalised over all parameters).
    eps : array_like, optional
        Step sizes; default ``logspace(-3, -1.5, 7)``.
    rng : Generator, int or None
        Source of the directions.

    Returns
    -------
    FlatnessOrders
    """
    net0 = origin_network(net_or_widths, **network_keywords)
    _check_plain(net0, "the flatness orders")
    xa, ya = net0.check_data(x, y)
    gen = np.random.default_rng(rng)
    e = np.logspace(-3, -1.5, 7) if eps is None else np.asarray(eps, dtype=np.float64)
    H = net0.n_hidden
    keys = ("mse", "energy", "mse_gradient", "energy_gradient")
    vals = {k: np.zeros((n_directions, e.size)) for k in keys}
    for d in range(n_directions):
        V = [gen.standard_normal(W.shape) for W in net0.weights]
        nrm = np.sqrt(sum(np.sum(v * v) for v in V))
        V = [v / nrm for v in V]
        for j, ej in enumerate(e):
            nt = net0.replace(weights=[ej * v for v in V])
            dL, dF = _increments(nt, xa, ya)
            vals["mse"][d, j] = abs(dL)
            vals["energy"][d, j] = abs(dF)
            vals["mse_gradient"][d, j] = mse_gradient(nt, xa, ya).norm()
            eq = solve_equilibrium(nt, xa, ya, method="gaussian")
            vals["energy_gradient"][d, j] = equilibrated_energy_gradient(
                nt, xa, ya, equilibrium=eq).norm()
    slopes, resid = {}, {}
    le = np.log(e)
    for k in keys:
        s, r = np.zeros(n_directions), np.zeros(n_directions)
        for d in range(n_directions):
            lv = np.log(vals[k][d])
            coef = np.polyfit(le, lv, 1)
            s[d] = coef[0]
            r[d] = float(np.sqrt(np.mean((np.polyval(coef, le) - lv) ** 2)))
        slopes[k], resid[k] = s, r
    predicted = {"mse": H + 1, "energy": 2, "mse_gradient": H, "energy_gradient": 1}
    return FlatnessOrders(e, vals, slopes, resid, predicted)
