"""PC inference as one exact trust-region (Newton) step in activity space.

For a linear PCN the energy is exactly quadratic in the hidden activities, so around the
feedforward pass ``ẑ`` (docs/theory.md §4.2; Innocenti, Singh & Buckley, arXiv:2305.18188, P2)

    F(ẑ + Δ) = F(ẑ) + gᵀΔ + ½ ΔᵀH_zΔ,     g = ∇_zF(ẑ),     F(ẑ) = λℓ,   ℓ = ½‖r‖²,

per sample, with ``λ = π_L`` the output precision and ``r = y − ŷ`` the feedforward residual
(biases included). At ``ẑ`` every hidden prediction error vanishes, so only the last block of the
gradient is nonzero, and it does not involve the hidden precisions or the biases explicitly:

    g_l = 0 (l < H),     g_H = −π_L M_Lᵀ r.

(With an activity decay ``(δ/2)Σ‖z_l‖²``: ``g_l = δẑ_l`` for all ``l`` plus the above, and
``F(ẑ) = λℓ + (δ/2)‖ẑ‖²``.) Inference minimises this model exactly:

* **step** ``Δ* = −H_z⁻¹g = z* − ẑ``; it solves the trust-region subproblem
  ``min gᵀΔ + ½ΔᵀH_zΔ`` s.t. ``‖Δ‖_{H_z} ≤ ρ`` (and its linear version ``min gᵀΔ``), with the
  adaptive radius ``ρ = ‖g‖_{H_z⁻¹} = ‖Δ*‖_{H_z}`` and the Fisher/Gauss–Newton metric ``H_z``;
* **value** ``F* = F(ẑ) − ½gᵀH_z⁻¹g = λℓ − ½ρ²``; equivalently (Schur complement)
  ``S⁻¹ = λI − λ²M_L[H_z⁻¹]_{HH}M_Lᵀ`` with ``S = Σ_l π_l⁻¹ M_{L:l+1}M_{L:l+1}ᵀ``.

The weight gradient that follows from the value is decomposed in
:mod:`linpc.trust_region.gradient_decomposition`.

Everything uses the block Cholesky factor of ``H_z`` (:class:`linpc.ActivityHessian`); no dense
``H_z`` is formed except in :func:`pc_trust_region_subproblem`, which hands the subproblem of one
sample to the generic dense solver
:func:`linpc.trust_region.subproblem.solve_trust_region_subproblem`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from linpc.core.activity_hessian import ActivityHessian
from linpc.core.network import LinearPCN, check_network
from linpc.numerics.threads import thread_policy
from linpc.numerics.types import Array
from linpc.numerics.validation import check_choice, check_instance, check_int, check_tolerance
from linpc.numerics.warnings import DEFAULT_ERROR_WARNING, warn_if_ill_conditioned
from linpc.trust_region.subproblem import TrustRegionResult, solve_trust_region_subproblem

__all__ = [
    "PCTrustRegionStep", "feedforward_gradient", "pc_trust_region_step",
    "pc_trust_region_subproblem",
]


@dataclass(frozen=True)
class PCTrustRegionStep:
    """PC inference as one trust-region step in activity space, for every sample of a batch.

    Attributes
    ----------
    feedforward : ndarray, shape (B, n)
        Stacked feedforward activities ``ẑ = (ẑ_1, …, ẑ_H)``.
    gradient : ndarray, shape (B, n)
        ``g = ∇_zF(ẑ)`` per sample (only the last block nonzero without activity decay).
    step : ndarray, shape (B, n)
        ``Δ* = −H_z⁻¹g = z* − ẑ``.
    radius : ndarray, shape (B,)
        ``ρ = ‖g‖_{H_z⁻¹} = ‖Δ*‖_{H_z}``, computed as ``‖G⁻¹g‖`` with the Cholesky factor ``G``.
    residual : ndarray, shape (B, d_y)
        Feedforward residual ``r = y − ŷ``.
    feedforward_energies : ndarray, shape (B,)
        ``F(ẑ) = λ‖r‖²/2`` (plus ``(δ/2)‖ẑ‖²`` with activity decay).
    energies : ndarray, shape (B,)
        Trust-region value ``F* = F(ẑ) − ½ρ²`` per sample.
    condition_number : float
        Estimate ``1/rcond`` of ``κ₁(H_z)`` from the factor.
    hessian : ActivityHessian
        The (factorised) activity Hessian used.
    """

    feedforward: Array
    gradient: Array
    step: Array
    radius: Array
    residual: Array
    feedforward_energies: Array
    energies: Array
    condition_number: float
    hessian: ActivityHessian

    @property
    def energy(self) -> float:
        """Batch-mean trust-region value ``F* = (1/B)Σ_i F*_i``."""
        return float(np.mean(self.energies))

    @property
    def equilibrium(self) -> Array:
        """``z* = ẑ + Δ*``, shape ``(B, n)``."""
        return self.feedforward + self.step


@thread_policy
def feedforward_gradient(net: LinearPCN, zs: list[Array], r: Array) -> Array:
    """The activity gradient at the feedforward pass, ``g = ∇_zF(ẑ)``, in closed form.

    Every hidden prediction error vanishes at ``ẑ``, so ``g_l = 0`` for ``l < H`` and
    ``g_H = −π_L M_Lᵀ r`` (plus ``δẑ_l`` on every block with an activity decay ``δ``;
    docs/theory.md §4.2).

    Parameters
    ----------
    net : LinearPCN
        The network.
    zs : list of ndarray
        Feedforward activities ``[x, ẑ_1, …, ẑ_L]`` (:meth:`LinearPCN.forward`).
    r : ndarray, shape (B, d_y)
        Feedforward residual ``y − ŷ``.

    Returns
    -------
    ndarray, shape (B, n)
        ``g`` per sample, hidden layers stacked.
    """
    check_network(net)
    B = r.shape[0]
    blocks = [np.zeros((B, n)) for n in net.hidden_widths]
    blocks[-1] = -net.output_precision * net.apply_layer_transpose(net.n_layers, r)
    if net.activity_decay:
        blocks = [gl + net.activity_decay * z for gl, z in zip(blocks, zs[1:-1], strict=True)]
    return np.concatenate(blocks, axis=1)


@thread_policy
def pc_trust_region_step(
    net: LinearPCN,
    x: ArrayLike,
    y: ArrayLike,
    *,
    hessian: ActivityHessian | None = None,
    warn_if_error_above: float | None = DEFAULT_ERROR_WARNING,
) -> PCTrustRegionStep:
    """PC inference from the feedforward pass as an exact trust-region (Newton) step.

    Computes, per sample, ``g = ∇_zF(ẑ)`` (``g_H = −λM_Lᵀr``), ``Δ* = −H_z⁻¹g``,
    ``ρ = ‖g‖_{H_z⁻¹}`` and the value ``F* = λℓ − ½ρ²`` (docs/theory.md §4.2 and §2.5.7; P2), with
    one block Cholesky factorisation ``H_z = GGᵀ`` for the whole batch: ``ρ = ‖G⁻¹g‖`` and
    ``Δ* = −G⁻ᵀ(G⁻¹g)``. Cost ``O(Σ n_l³ + B Σ n_l²)``; no dense ``H_z``.

    Parameters
    ----------
    net : LinearPCN
        Any configuration (multipliers, skips, biases, precisions, activity decay).
    x, y : array_like
        Batch ``(B, d_x)``, ``(B, d_y)``.
    hessian : ActivityHessian, optional
        A precomputed (possibly factorised) ``H_z`` of ``net``.
    warn_if_error_above : float or None
        Largest acceptable expected relative error: :class:`~linpc.IllConditionedWarning` when
        ``κ(H_z)·eps`` exceeds it; ``None`` never warns.

    Returns
    -------
    PCTrustRegionStep

    References
    ----------
    .. [1] Innocenti, Singh, Buckley, "Understanding Predictive Coding as an Adaptive Trust-Region
       Method", arXiv:2305.18188; docs/theory.md §4.2.
    """
    check_network(net)
    check_tolerance(warn_if_error_above, "warn_if_error_above", allow_none=True)
    if hessian is not None:
        check_instance(hessian, ActivityHessian, "hessian")
    xa, ya = net.check_data(x, y)
    Hz = hessian if hessian is not None else ActivityHessian(net)
    if Hz.net is not net:
        raise ValueError("hessian was built for a different network")
    zs = net.forward(xa)
    r = ya - zs[-1]
    g = feedforward_gradient(net, zs, r)
    fac = Hz.factor()
    kappa = 1.0 / Hz.rcond_estimate()
    warn_if_ill_conditioned(kappa, warn_if_error_above, "the activity Hessian H_z")
    Y = fac.solve_lower(g.T)                       # G⁻¹g, columns = samples
    radius = np.sqrt(np.sum(Y * Y, axis=0))
    step = -fac.solve_upper(Y).T                   # −G⁻ᵀG⁻¹g
    zhat = np.concatenate(zs[1:-1], axis=1)
    F0 = 0.5 * net.output_precision * np.sum(r * r, axis=1)
    if net.activity_decay:
        F0 = F0 + 0.5 * net.activity_decay * np.sum(zhat * zhat, axis=1)
    return PCTrustRegionStep(
        feedforward=zhat, gradient=g, step=step, radius=radius, residual=r,
        feedforward_energies=F0, energies=F0 - 0.5 * radius**2, condition_number=kappa,
        hessian=Hz,
    )


@thread_policy
def pc_trust_region_subproblem(
    net: LinearPCN,
    x: ArrayLike,
    y: ArrayLike,
    *,
    sample: int = 0,
    model: Literal["quadratic", "linear"] = "quadratic",
    hessian: ActivityHessian | None = None,
) -> TrustRegionResult:
    """Solve one sample's inference trust-region subproblem with the exact dense TR solver.

    ``model="quadratic"``: ``min gᵀΔ + ½ΔᵀH_zΔ`` s.t. ``‖Δ‖_{H_z} ≤ ρ``; ``model="linear"``:
    ``min gᵀΔ`` s.t. ``‖Δ‖_{H_z} ≤ ρ`` (docs/theory.md §4.2), with ``ρ = ‖g‖_{H_z⁻¹}``. Both are
    solved by ``Δ* = −H_z⁻¹g = z* − ẑ``: the first with multiplier ``μ = 0`` (the Newton step
    reaches the boundary exactly), the second with ``μ = 1``. This builds the dense ``H_z`` (small
    networks); it exists to check the TR reading of inference with an independent, generic solver.

    Parameters
    ----------
    sample : int
        Row of the batch.
    model : {"quadratic", "linear"}
    hessian : ActivityHessian, optional

    Returns
    -------
    TrustRegionResult
    """
    check_network(net)
    check_choice(model, "model", ("quadratic", "linear"))
    check_int(sample, "sample")
    xa, ya = net.check_data(x, y)
    if not -xa.shape[0] <= sample < xa.shape[0]:
        raise IndexError(f"sample {sample} out of range for a batch of {xa.shape[0]}")
    i = range(xa.shape[0])[sample]
    tr = pc_trust_region_step(net, xa[i:i + 1], ya[i:i + 1], hessian=hessian,
                              warn_if_error_above=None)
    Hd = tr.hessian.to_dense()
    g = tr.gradient[0]
    rho = float(tr.radius[0])
    if rho == 0.0:
        raise ValueError(f"sample {sample} has g = 0 (zero residual): the trust region is a point")
    H = Hd if model == "quadratic" else np.zeros_like(Hd)
    return solve_trust_region_subproblem(g, H, rho, metric=Hd)
