"""PC inference as a trust-region step in activity space; the exact weight-gradient decomposition.

For a linear PCN the energy is exactly quadratic in the hidden activities, so around the
feedforward pass ``ẑ`` (theory.md §4.2; Innocenti, Singh & Buckley, arXiv:2305.18188, P2)

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
  ``S⁻¹ = λI − λ²M_L[H_z⁻¹]_{HH}M_Lᵀ`` with ``S = Σ_l π_l⁻¹ M_{L:l+1}M_{L:l+1}ᵀ``;
* **weight gradient** (differentiate the value; the ``∂Δ*/∂θ`` term vanishes by stationarity)

      ∇_θF* = ∇_θ[F(ẑ(θ); θ)] + (∂g/∂θ)ᵀΔ* + ½Δ*ᵀ(∂H_z/∂θ)Δ*
            =     λ∇_θℓ       +  TR step      +  curvature change,

  where ``g(θ) = ∇_zF(ẑ(θ); θ)`` is differentiated totally (through ``ẑ(θ)``, ``r(θ)`` and
  ``M_L``). :func:`weight_gradient_decomposition` returns each term in closed form, per layer,
  averaged over the batch.

Everything uses the block Cholesky factor of ``H_z`` (:class:`linpc.ActivityHessian`); no dense
``H_z`` is formed except in :func:`pc_trust_region_subproblem`, which hands the subproblem of one
sample to the generic dense solver :func:`linpc.trust_region.solve_trust_region_subproblem`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .activity import ActivityHessian
from .conditioning import warn_if_ill_conditioned
from .equilibrium import DEFAULT_RTOL
from .network import LinearPCN
from .parameters import ParameterArrays
from .trust_region import TrustRegionResult, solve_trust_region_subproblem

__all__ = [
    "PCTrustRegionStep",
    "WeightGradientDecomposition",
    "pc_trust_region_step",
    "pc_trust_region_subproblem",
    "weight_gradient_decomposition",
]

Array = NDArray[np.float64]


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


def _feedforward_gradient(net: LinearPCN, zs: list[Array], r: Array) -> Array:
    """``g = ∇_zF(ẑ)`` in closed form: ``g_H = −π_L M_Lᵀr`` (+ ``δẑ``), other blocks 0."""
    B = r.shape[0]
    blocks = [np.zeros((B, n)) for n in net.hidden_widths]
    blocks[-1] = -net.output_precision * net.apply_layer_transpose(net.n_layers, r)
    if net.activity_decay:
        blocks = [gl + net.activity_decay * z for gl, z in zip(blocks, zs[1:-1], strict=True)]
    return np.concatenate(blocks, axis=1)


def pc_trust_region_step(
    net: LinearPCN,
    x: ArrayLike,
    y: ArrayLike,
    *,
    hessian: ActivityHessian | None = None,
    rtol: float = DEFAULT_RTOL,
) -> PCTrustRegionStep:
    """PC inference from the feedforward pass as an exact trust-region (Newton) step.

    Computes, per sample, ``g = ∇_zF(ẑ)`` (``g_H = −λM_Lᵀr``), ``Δ* = −H_z⁻¹g``,
    ``ρ = ‖g‖_{H_z⁻¹}`` and the value ``F* = λℓ − ½ρ²`` (theory.md §4.2 and §2.5 item 7; P2), with
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
    rtol : float
        Requested relative accuracy; :class:`~linpc.IllConditionedWarning` when
        ``κ(H_z)·eps > rtol``.

    Returns
    -------
    PCTrustRegionStep

    References
    ----------
    .. [1] Innocenti, Singh, Buckley, "Understanding Predictive Coding as an Adaptive Trust-Region
       Method", arXiv:2305.18188; theory.md §4.2.
    """
    xa, ya = net.check_data(x, y)
    Hz = hessian if hessian is not None else ActivityHessian(net)
    if Hz.net is not net:
        raise ValueError("hessian was built for a different network")
    zs = net.forward(xa)
    r = ya - zs[-1]
    g = _feedforward_gradient(net, zs, r)
    fac = Hz.factor()
    kappa = 1.0 / Hz.rcond_estimate()
    warn_if_ill_conditioned(kappa, rtol, "the activity Hessian H_z")
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
    ``min gᵀΔ`` s.t. ``‖Δ‖_{H_z} ≤ ρ`` (theory.md §4.2), with ``ρ = ‖g‖_{H_z⁻¹}``. Both are solved
    by ``Δ* = −H_z⁻¹g = z* − ẑ``: the first with multiplier ``μ = 0`` (the Newton step reaches the
    boundary exactly), the second with ``μ = 1``. This builds the dense ``H_z`` (small networks);
    it exists to check the TR reading of inference with an independent, generic solver.

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
    if model not in ("quadratic", "linear"):
        raise ValueError(f"model must be 'quadratic' or 'linear', got {model!r}")
    xa, ya = net.check_data(x, y)
    if not -xa.shape[0] <= sample < xa.shape[0]:
        raise IndexError(f"sample {sample} out of range for a batch of {xa.shape[0]}")
    i = range(xa.shape[0])[sample]
    tr = pc_trust_region_step(net, xa[i:i + 1], ya[i:i + 1], hessian=hessian, rtol=1.0)
    Hd = tr.hessian.to_dense()
    g = tr.gradient[0]
    rho = float(tr.radius[0])
    if rho == 0.0:
        raise ValueError(f"sample {sample} has g = 0 (zero residual): the trust region is a point")
    H = Hd if model == "quadratic" else np.zeros_like(Hd)
    return solve_trust_region_subproblem(g, H, rho, metric=Hd)


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


def _backprop(net: LinearPCN, zs: list[Array], sources: dict[int, Array]
              ) -> tuple[list[Array], list[Array | None]]:
    """``∇_θ Σ_i Σ_l ⟨s_l^(i), ẑ_l^(i)(θ)⟩`` (batch *sum*) for sources ``s_l`` on layers 1..L.

    Reverse mode through the forward pass ``ẑ_l = M_lẑ_{l-1} + c_l``: adjoint ``a_L = s_L``,
    ``a_l = s_l + M_{l+1}ᵀa_{l+1}``; then ``∂/∂W_l = a_l · a_lᵀ ẑ_{l-1}`` (multiplier ``a_l``) and
    ``∂/∂b_l = a_l Σ_i a_l^(i)``.
    """
    L = net.n_layers
    B = zs[0].shape[0]
    gw: list[Array] = [None] * L  # type: ignore[list-item]
    gb: list[Array | None] = [None] * L
    adj = np.zeros((B, net.widths[L]))
    for l in range(L, 0, -1):
        if l in sources:
            adj = adj + sources[l]
        a = net.scalings[l - 1]
        gw[l - 1] = a * (adj.T @ zs[l - 1])
        if net.biases[l - 1] is not None:
            gb[l - 1] = a * adj.sum(axis=0)
        if l > 1:
            adj = net.apply_layer_transpose(l, adj)
    return gw, gb


def _scaled(gw, gb, c: float) -> ParameterArrays:
    return ParameterArrays(tuple(c * W for W in gw),
                           tuple(None if b is None else c * b for b in gb))


def weight_gradient_decomposition(
    net: LinearPCN,
    x: ArrayLike,
    y: ArrayLike,
    *,
    step: ArrayLike | None = None,
    trust_region: PCTrustRegionStep | None = None,
) -> WeightGradientDecomposition:
    """The PC weight gradient as BP gradient + TR step mapped to weights + curvature change.

    Differentiating the trust-region value ``F* = F(ẑ) + gᵀΔ* + ½Δ*ᵀH_zΔ*`` (theory.md §4.2,
    §2.5 item 17; P2) gives, per layer and averaged over the batch (``u = M_LΔ_H``,
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
       theory.md §4.2.
    """
    xa, ya = net.check_data(x, y)
    B, L, H = xa.shape[0], net.n_layers, net.n_hidden
    lam, pi, decay = net.output_precision, net.precisions, net.activity_decay
    zs = net.forward(xa)
    r = ya - zs[-1]
    if step is None:
        tr = trust_region if trust_region is not None else pc_trust_region_step(net, xa, ya,
                                                                                 rtol=1.0)
        D = tr.step
    else:
        D = np.asarray(step, dtype=np.float64)
        if D.shape != (B, net.n_activities):
            raise ValueError(f"step must have shape (B, n) = ({B}, {net.n_activities}) (stacked "
                             f"hidden activities), got {D.shape}")
    Ds = [np.zeros((B, net.d_x)), *net.split_activities(D), np.zeros((B, net.d_y))]
    u = net.apply_layer(L, Ds[H])                                 # M_L Δ_H, (B, d_y)

    # BP term: sources −λr at the output (+ δẑ_l)
    src = {L: -lam * r}
    if decay:
        src.update({l: decay * zs[l] for l in range(1, H + 1)})
    bp = _scaled(*_backprop(net, zs, src), 1.0 / B)

    # TR-step term: sources λu at the output (+ δΔ_l), plus the explicit W_L dependence of g_H
    src = {L: lam * u}
    if decay:
        src.update({l: decay * Ds[l] for l in range(1, H + 1)})
    gw, gb = _backprop(net, zs, src)
    gw[L - 1] = gw[L - 1] - lam * net.scalings[L - 1] * (r.T @ Ds[H])
    tr_step = _scaled(gw, gb, 1.0 / B)

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
        g = _feedforward_gradient(net, zs, r)
        hz = ActivityHessian(net)
        grad_z = g + hz.matvec(D.T).T
        src = {l: -gl for l, gl in enumerate(net.split_activities(grad_z), start=1)}
        stationarity = _scaled(*_backprop(net, zs, src), 1.0 / B)
    return WeightGradientDecomposition(bp, tr_step, curvature, stationarity, D)
