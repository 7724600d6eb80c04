"""The PC weight gradient as BP gradient + trust-region step + curvature change, exactly.

Differentiating the trust-region value of inference, ``F* = F(ẑ) + gᵀΔ* + ½Δ*ᵀH_zΔ*``
(:mod:`linpc.trust_region.pc_step`; docs/theory.md §4.2), with respect to the weights — the
``∂Δ*/∂θ`` term vanishes by stationarity — gives

    ∇_θF* = ∇_θ[F(ẑ(θ); θ)] + (∂g/∂θ)ᵀΔ* + ½Δ*ᵀ(∂H_z/∂θ)Δ*
          =     λ∇_θℓ       +  TR step      +  curvature change,

where ``g(θ) = ∇_zF(ẑ(θ); θ)`` is differentiated totally (through ``ẑ(θ)``, ``r(θ)`` and ``M_L``).
P2 [P2]_ describes PC's update as a BP direction plus a TR direction; the exact decomposition has
this third, curvature term, which is not small for SP networks (docs/theory.md §4.2, §2.5.17). The
BP and TR terms are backpropagations through the feedforward pass
(:func:`linpc.core.backprop.backpropagate`); the curvature term is local to each layer.

References
----------
.. [P2] Innocenti, Singh, Buckley, "Understanding Predictive Coding as an Adaptive Trust-Region
   Method", arXiv:2305.18188 (blog B1: "BP direction" + "TR direction").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from linpc.core.activity_hessian import ActivityHessian
from linpc.core.backprop import backpropagate
from linpc.core.network import LinearPCN, check_network
from linpc.core.parameter_arrays import ParameterArrays
from linpc.numerics.threads import thread_policy
from linpc.numerics.types import Array
from linpc.numerics.validation import as_real_array, check_instance
from linpc.trust_region.pc_step import PCTrustRegionStep, feedforward_gradient, pc_trust_region_step

__all__ = ["WeightGradientDecomposition", "weight_gradient_decomposition"]


@thread_policy
@dataclass(frozen=True)
class WeightGradientDecomposition:
    """Exact decomposition of the PC weight gradient into BP, TR-step and curvature terms.

    All terms are batch means with the layout of the parameters (``ParameterArrays``).

    Attributes
    ----------
    bp : ParameterArrays
        ``∇_θ[F(ẑ(θ); θ)]`` = ``λ∇_θℒ`` (the BP gradient scaled by the output precision; with an
        activity decay also ``δ ∇_θ ½‖ẑ‖²``).
    tr_step : ParameterArrays
        ``(∂g/∂θ)ᵀΔ``: the activity step mapped to weight space.
    curvature : ParameterArrays
        ``½Δᵀ(∂H_z/∂θ)Δ``: the change of the inference metric (zero for ``W_1`` and all biases).
    stationarity : ParameterArrays
        ``−(∂ẑ/∂θ)ᵀ∇_zF(ẑ + Δ)``: zero at the equilibrium ``Δ = Δ*``; nonzero for a general step,
        so that the four terms always add up to ``∂F/∂θ`` at ``z = ẑ + Δ``.
    step : ndarray, shape (B, n)
        The activity step ``Δ`` used (``Δ*`` by default).
    """

    bp: ParameterArrays
    tr_step: ParameterArrays
    curvature: ParameterArrays
    stationarity: ParameterArrays
    step: Array

    def total(self) -> ParameterArrays:
        """Sum of the four terms: ``∂F/∂θ`` at ``ẑ + Δ`` (``= ∇_θF*`` at ``Δ*``)."""
        terms = (self.bp, self.tr_step, self.curvature, self.stationarity)
        ws = tuple(sum(t.weights[i] for t in terms) for i in range(len(self.bp.weights)))
        bs = tuple(None if self.bp.biases[i] is None else sum(t.biases[i] for t in terms)
                   for i in range(len(self.bp.biases)))
        return ParameterArrays(ws, bs)


@thread_policy
def weight_gradient_decomposition(
    net: LinearPCN,
    x: ArrayLike,
    y: ArrayLike,
    *,
    step: ArrayLike | None = None,
    trust_region: PCTrustRegionStep | None = None,
) -> WeightGradientDecomposition:
    """The PC weight gradient as BP gradient + TR step mapped to weights + curvature change.

    Differentiating the trust-region value ``F* = F(ẑ) + gᵀΔ* + ½Δ*ᵀH_zΔ*`` (docs/theory.md §4.2,
    §2.5.17; P2) gives, per layer and averaged over the batch (``u = M_LΔ_H``,
    ``P_l = M_{L:l+1}``, ``ε_l = Δ_l − M_lΔ_{l-1}`` with ``Δ_0 = Δ_L = 0`` so ``ε_L = −u``):

    * BP term ``λ∇ℓ``: ``∂/∂W_l = −λa_l P_lᵀr ẑ_{l-1}ᵀ``, ``∂/∂b_l = −λa_l P_lᵀr``;
    * TR-step term ``(∂g/∂θ)ᵀΔ = ∇_θ[−λrᵀM_LΔ_H]``:
      ``∂/∂W_l = λa_l P_lᵀu ẑ_{l-1}ᵀ − [l = L] λa_L rΔ_Hᵀ``, ``∂/∂b_l = λa_l P_lᵀu``;
    * curvature term ``½Δᵀ(∂H_z/∂θ)Δ = ∇_θ ½Σ_l π_l‖ε_l‖²``: ``∂/∂W_l = −π_l a_l ε_l Δ_{l-1}ᵀ``
      (``l ≥ 2``; zero for ``W_1`` and for all biases).

    The same formulas hold for residual layers (``∂M_l/∂W_l = a_l``), any multipliers, widths,
    biases and per-layer precisions (which enter only the curvature term and ``Δ*``). With an
    activity decay ``δ``, the BP and TR terms also backpropagate ``δẑ_l`` and ``δΔ_l``. At
    ``Δ = Δ*`` the three terms add up to ``∇_θF*`` (the envelope-theorem gradient). For another
    step ``Δ`` a fourth term ``−(∂ẑ/∂θ)ᵀ∇_zF(ẑ + Δ)`` completes the sum to ``∂F/∂θ`` at ``ẑ + Δ``.

    Parameters
    ----------
    net : LinearPCN
    x, y : array_like
        Batch ``(B, d_x)``, ``(B, d_y)``.
    step : array_like, shape (B, n), optional
        Activity step ``Δ`` (stacked). Default ``Δ* = −H_z⁻¹g`` (exact inference).
    trust_region : PCTrustRegionStep, optional
        Precomputed :func:`pc_trust_region_step` of the same batch.

    Returns
    -------
    WeightGradientDecomposition

    References
    ----------
    .. [1] Innocenti, Singh, Buckley, arXiv:2305.18188 (blog B1: "BP direction" + "TR direction");
       docs/theory.md §4.2.
    """
    check_network(net)
    if trust_region is not None:
        check_instance(trust_region, PCTrustRegionStep, "trust_region")
    xa, ya = net.check_data(x, y)
    B, L, H = xa.shape[0], net.n_layers, net.n_hidden
    lam, pi, decay = net.output_precision, net.precisions, net.activity_decay
    zs = net.forward(xa)
    r = ya - zs[-1]
    if step is None:
        if trust_region is None:
            trust_region = pc_trust_region_step(net, xa, ya, warn_if_error_above=None)
        D = trust_region.step
    else:
        D = as_real_array(step, "step")
        if D.shape != (B, net.n_activities):
            raise ValueError(f"step must have shape (B, n) = ({B}, {net.n_activities}) (stacked "
                             f"hidden activities), got {D.shape}")
    Ds = [np.zeros((B, net.d_x)), *net.split_activities(D), np.zeros((B, net.d_y))]
    u = net.apply_layer(L, Ds[H])                                 # M_L Δ_H, (B, d_y)

    # BP term: sources −λr at the output (+ δẑ_l)
    src = {L: -lam * r}
    if decay:
        src.update({l: decay * zs[l] for l in range(1, H + 1)})
    bp = backpropagate(net, zs, src, scale=1.0 / B)

    # TR-step term: sources λu at the output (+ δΔ_l), plus the explicit W_L dependence of g_H
    src = {L: lam * u}
    if decay:
        src.update({l: decay * Ds[l] for l in range(1, H + 1)})
    tr = backpropagate(net, zs, src, scale=1.0 / B)
    tw = list(tr.weights)
    tw[L - 1] = tw[L - 1] - (lam * net.scalings[L - 1] / B) * (r.T @ Ds[H])
    tr_step = ParameterArrays(tuple(tw), tr.biases)

    # curvature term: ∇_θ ½Σ_l π_l‖Δ_l − M_lΔ_{l-1}‖² at fixed Δ
    cw = [np.zeros_like(net.weights[0])]
    for l in range(2, L + 1):
        eps_l = Ds[l] - net.apply_layer(l, Ds[l - 1])
        cw.append(-pi[l - 1] * net.scalings[l - 1] / B * (eps_l.T @ Ds[l - 1]))
    cb = tuple(None if b is None else np.zeros_like(b) for b in net.biases)
    curvature = ParameterArrays(tuple(cw), cb)

    # stationarity term (zero at Δ*): −(∂ẑ/∂θ)ᵀ∇_zF(ẑ + Δ)
    if step is None:
        stationarity = ParameterArrays.zeros_like(net)
    else:
        g = feedforward_gradient(net, zs, r)
        hz = ActivityHessian(net)
        grad_z = g + hz.matvec(D.T).T
        src = {l: -gl for l, gl in enumerate(net.split_activities(grad_z), start=1)}
        stationarity = backpropagate(net, zs, src, scale=1.0 / B)
    return WeightGradientDecomposition(bp, tr_step, curvature, stationarity, D)
