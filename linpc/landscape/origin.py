"""The origin ``θ = 0``: closed-form Hessians and spectra of ``F*`` and ``ℒ``, and curvature ratios.

All statements are for the parameter order of :mod:`linpc.core.parameter_arrays` (row-major
``W_l``), under which the Hessian of ``½ tr(A W C Wᵀ)`` is ``A ⊗ C``, and the uncentred moments
``Σ_xx = XᵀX/B``, ``Σ_yx = YᵀX/B``, ``Σ_yy = YᵀY/B`` (docs/theory.md §0).

**Origin (plain networks, no biases; docs/theory.md §3.1–3.2).** With multipliers ``a_l``, output
precision ``λ = π_L`` and hidden precisions ``π_l``: ``S = λ⁻¹I + π_H⁻¹ a_L² W_LW_Lᵀ + O(‖θ‖⁴)``,
so

    F*(θ) = (λ/2) tr Σ_yy − λ tr(MΣ_xy) − (λ²a_L²/(2π_H)) tr(W_Lᵀ Σ_yy W_L) + O(‖θ‖³),
    ℒ(θ)  = ½ tr Σ_yy − tr(MΣ_xy) + ½ tr(MΣ_xxMᵀ),        M = M_{L:1} (degree L in θ).

* ``H = 1``: ``∂²/∂(W_1)_{jb}∂(W_2)_{ij} = −λa_1a_2(Σ_yx)_{ib}`` (``F*``; without λ for ``ℒ``), the
  ``W_2`` block of ``∇²F*(0)`` is ``−(λ²a_2²/π_1) Σ_yy ⊗ I_N``. Spectrum of ``∇²F*(0)``: ``spec(K)``
  with multiplicity ``N = n_1``, ``K = −[[0, λa_1a_2Σ_xy], [λa_1a_2Σ_yx, (λ²a_2²/π_1)Σ_yy]]``; of
  ``∇²ℒ(0)``: ``±a_1a_2σ_k(Σ_yx)`` (×N) and zeros.
* ``H ≥ 2``: ``∇²ℒ(0) = 0``; ``∇²F*(0)`` has the single block ``−(λ²a_L²/π_H) Σ_yy ⊗ I_{n_H}``
  (``W_L``), spectrum ``−(λ²a_L²/π_H) λ_k(Σ_yy)`` (×n_H) and zeros: **the origin is a strict
  saddle of F* for every depth** while it is non-strict for ℒ (P1, Theorem 2 [P1]_;
  docs/theory.md §3.2).

Other zero-rank saddles are in :mod:`linpc.landscape.zero_rank`, the orders of flatness at the
origin in :mod:`linpc.landscape.flatness`. The curvature ratios predict the escape-time ratio of
the one-hidden-unit model [P2]_ (:mod:`linpc.dynamics.escape`).

References
----------
.. [P1] Innocenti, Achour, Singh, Buckley, NeurIPS 2024, arXiv:2408.11979, Theorem 2,
   Figs. 3–4, 8; blog B2.
.. [P2] Innocenti, Singh, Buckley, arXiv:2305.18188 (one-hidden-unit escape).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
from numpy.typing import ArrayLike, NDArray

from linpc.core.gaussian import require_gaussian_chain
from linpc.core.network import LinearPCN, check_network
from linpc.data.moments import second_moments
from linpc.numerics.threads import thread_policy
from linpc.numerics.tolerances import eigenvalue_tolerance
from linpc.numerics.types import Array
from linpc.numerics.validation import check_bool, check_positive, check_real, check_widths

__all__ = [
    "GOLDEN_RATIO", "OriginHessians", "PredictedSpectrum", "one_unit_curvature_ratio",
    "origin_curvature_ratio", "origin_hessians", "origin_network", "origin_spectra",
    "require_plain",
]
#: φ = (1 + √5)/2: ratio of the most negative origin eigenvalues of ``∇²F*`` and ``∇²ℒ`` for the
#: toy data ``y = ±x`` with one hidden layer (docs/theory.md §3.2).
GOLDEN_RATIO = (1.0 + np.sqrt(5.0)) / 2.0


@thread_policy
def require_plain(net: LinearPCN, what: str) -> None:
    """Raise a ValueError naming ``what`` unless ``net`` is plain (no skips) and a Gaussian chain.

    With identity skips ``M_l = I`` at ``W_l = 0``, so ``θ = 0`` is not the zero-rank origin of the
    theorems (docs/theory.md §3.1–3.2).
    """
    check_network(net)
    if net.use_skips:
        raise ValueError(
            f"{what} is stated for plain networks: with identity skips M_l = I at W_l = 0, so "
            "θ = 0 is not the zero-rank origin (docs/theory.md §3.1–3.2)"
        )
    require_gaussian_chain(net, what)


@thread_policy
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
        given = [k for k, v in (("param_type", param_type != "sp"), ("scalings", scalings),
                                ("gamma", gamma), ("output_energy_scaling", output_energy_scaling),
                                ("precisions", precisions)) if v is not None and v is not False]
        if given:
            raise ValueError(f"{', '.join(given)} apply only when net_or_widths is a list of "
                             "widths; a network keeps its own multipliers and precisions")
        net = net_or_widths
        zeros = [np.zeros_like(W) for W in net.weights]
        return net.replace(weights=zeros, biases=None)
    widths = check_widths(net_or_widths, "net_or_widths", min_layers=2)
    Ws = [np.zeros((widths[l], widths[l - 1])) for l in range(1, len(widths))]
    return LinearPCN(Ws, param_type=param_type, scalings=scalings, gamma=gamma,
                     output_energy_scaling=output_energy_scaling, precisions=precisions)


def _origin_and_moments(net_or_widths, x, y, what: str, network_keywords: dict,
                        mean_over_outputs: bool = False):
    """The origin network (checked to be plain) and the uncentred moments of the batch."""
    net = origin_network(net_or_widths, **network_keywords)
    require_plain(net, what)
    check_bool(mean_over_outputs, "mean_over_outputs")
    xa, ya = net.check_data(x, y)
    return net, second_moments(xa, ya)


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


@thread_policy
def origin_hessians(
    net_or_widths: LinearPCN | Sequence[int],
    x: ArrayLike,
    y: ArrayLike,
    *,
    mean_over_outputs: bool = False,
    **network_keywords,
) -> OriginHessians:
    """Closed-form ``∇²F*(0)`` and ``∇²ℒ(0)`` for one or several hidden layers (docs/theory.md
    §3.1–3.2).

    Only ``Σ_yx`` (one hidden layer) and ``Σ_yy`` enter; ``Σ_xx`` does not. See the module
    docstring for the blocks.

    Parameters
    ----------
    net_or_widths : LinearPCN or sequence of int
        See :func:`origin_network` (weights are ignored: the Hessians are those at ``θ = 0``).
    x, y : array_like
        Batch ``(B, d_x)``, ``(B, d_y)``.
    mean_over_outputs : bool
        Divide the MSE Hessian by ``d_y`` (the Hessian notebooks' convention, docs/theory.md §0).
    **network_keywords
        Passed to :func:`origin_network` when widths are given.

    Returns
    -------
    OriginHessians

    References
    ----------
    P1 (arXiv:2408.11979) Theorem 2, Figs. 3, 4, 8; docs/theory.md §3.1–3.2.
    """
    net, mom = _origin_and_moments(net_or_widths, x, y, "the origin Hessian formula",
                                   network_keywords, mean_over_outputs)
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


@thread_policy
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
    w = np.array(w, dtype=np.float64)
    if w.size:
        w[np.abs(w) <= eigenvalue_tolerance(w.size, np.max(np.abs(w)))] = 0.0
    return w


@thread_policy
def origin_spectra(
    net_or_widths: LinearPCN | Sequence[int],
    x: ArrayLike,
    y: ArrayLike,
    *,
    mean_over_outputs: bool = False,
    **network_keywords,
) -> tuple[PredictedSpectrum, PredictedSpectrum]:
    """Predicted spectra of ``∇²F*(0)`` and ``∇²ℒ(0)`` with multiplicities (docs/theory.md §3.2).

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
    net, mom = _origin_and_moments(net_or_widths, x, y, "the origin spectrum formula",
                                   network_keywords, mean_over_outputs)
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


@thread_policy
def origin_curvature_ratio(net_or_widths: LinearPCN | Sequence[int], x: ArrayLike,
                           y: ArrayLike, **network_keywords) -> float:
    """``λ_min(∇²F*(0)) / λ_min(∇²ℒ(0))`` from the predicted spectra (``inf`` when ``H ≥ 2``).

    For the toy data ``y = ±x`` with one hidden layer and ``λ = a_l = π_l = 1`` this is the golden
    ratio ``φ = (1+√5)/2`` (docs/theory.md §3.2): ``F*`` is more negatively curved at the origin.
    """
    e, m = origin_spectra(net_or_widths, x, y, **network_keywords)
    if m.lambda_min == 0.0:
        return float("inf")
    return e.lambda_min / m.lambda_min


@thread_policy
def one_unit_curvature_ratio(s_xy: float, s_yy: float, *, output_precision: float = 1.0) -> float:
    """``|λ_min(∇²ℒ(0))| / |λ_min(∇²F*(0))|`` for the one-hidden-unit model ``ŷ = w_2w_1x``.

    ``∇²ℒ(0) = −[[0, s_xy], [s_xy, 0]]``, ``∇²F*(0) = −[[0, λs_xy], [λs_xy, λ²s_yy]]``, hence

        ratio = 2|s_xy| / (λ²s_yy + √(λ⁴s_yy² + 4λ²s_xy²))     (= 1/φ for y = ±x, λ = 1).

    For gradient descent with a small step started near 0 it predicts the ratio of the escape
    times ``t_PC / t_BP`` (docs/theory.md §4.2; P2).
    """
    s_xy = check_real(s_xy, "s_xy")
    s_yy = check_real(s_yy, "s_yy")
    if s_yy < 0:
        raise ValueError(f"s_yy = ⟨y²⟩ must be ≥ 0, got {s_yy!r}")
    lam = check_positive(output_precision, "output_precision")
    return 2 * abs(s_xy) / (lam * lam * s_yy + np.sqrt(lam**4 * s_yy**2 + 4 * lam**2 * s_xy**2))


# ---------------------------------------------------------------------------------------------
# other zero-rank points
# ---------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------
# W_L = 0: ∇F* = λ∇ℒ, ∇²F* = λ∇²ℒ − λ²a_L²(R ⊗ G)
# ---------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------
# orders of flatness
# ---------------------------------------------------------------------------------------------
