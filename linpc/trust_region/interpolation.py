"""The PC weight gradient along inference: from the feedforward pass (BP-like) to ∇F* (TR).

PC inference started at the feedforward pass ``ẑ`` follows, for a linear PCN, the exact path
(docs/theory.md §1.3, §4.2)

    gradient flow:   Δ(t) = z(t) − ẑ = −(I − e^{−tH_z}) H_z⁻¹ g,
    Euler, step η:   Δ_T  = −(I − (I − ηH_z)^T) H_z⁻¹ g,

a spectral filter between a gradient step (``Δ(t) ≈ −tg`` for small ``t``) and the trust-region
(Newton) step ``Δ* = −H_z⁻¹g`` (``t → ∞``; Euler only when ``η < 2/λ_max(H_z)``). The PC weight
update
is the energy gradient at the current activities, ``∂F/∂θ |_{ẑ + Δ(t)}``:

* at ``t = 0`` every hidden error is 0, so only the last layer has a gradient, and it is the
  BP gradient scaled by the output precision: ``∂F/∂W_L = λ ∂ℒ/∂W_L`` (and ``∂F/∂b_L = λ∂ℒ/∂b_L``),
  all other layers 0;
* as ``t → ∞`` it converges to ``∇_θF*`` (at rate ``e^{−λ_min(H_z) t}``);
* independently of time, weak output precision recovers BP: ``F*/λ = ½⟨rᵀ(I + λQ)⁻¹r⟩`` with
  ``Q = Σ_{l<L} π_l⁻¹M_{L:l+1}M_{L:l+1}ᵀ`` ⪰ 0, hence the exact two-sided bound
  ``λq_min/(1+λq_min) ℒ ≤ ℒ − F*/λ ≤ λq_max/(1+λq_max) ℒ`` (``q`` = extreme eigenvalues of ``Q``),
  so ``F*/λ − ℒ = O(λ)`` and likewise ``∇F*/λ − ∇ℒ = O(λ)`` (docs/theory.md §2.3, §2.5.15).

This makes P2's "PC interpolates between BP and the TR direction" (abstract; docs/theory.md §8.11)
exact for linear networks, in inference time and in precision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy.sparse.linalg import expm_multiply

from linpc.core.activity_hessian import ActivityHessian
from linpc.core.energy import energy_parameter_gradient
from linpc.core.equilibrium import solve_equilibrium
from linpc.core.gaussian import require_gaussian_chain
from linpc.core.loss import mse_gradient, mse_loss
from linpc.core.network import LinearPCN, check_network
from linpc.landscape.expansions import rescaling_series_matrix
from linpc.numerics.threads import thread_policy
from linpc.numerics.types import Array
from linpc.numerics.validation import as_real_array, check_choice, check_positive
from linpc.trust_region.pc_step import pc_trust_region_step

__all__ = [
    "InferenceInterpolation", "WeakPrecisionGaps", "cosine_similarity", "inference_interpolation",
    "weak_precision_gaps",
]

#: Largest number of activities for which ``method="auto"`` computes the flow from a dense
#: eigendecomposition of ``H_z`` (≈ 0.5 s for n = 2000 on 2 cores); above it, ``expm_multiply``.
EIGH_MAX_ACTIVITIES = 2000


@thread_policy
def cosine_similarity(a: ArrayLike, b: ArrayLike) -> float:
    """``⟨a, b⟩/(‖a‖‖b‖)``; ``nan`` when either vector is zero."""
    a = as_real_array(a, "a").ravel()
    b = as_real_array(b, "b").ravel()
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same number of entries, got {a.size} and "
                         f"{b.size}")
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return float("nan")
    return float(np.clip((a @ b) / (na * nb), -1.0, 1.0))


@dataclass(frozen=True)
class InferenceInterpolation:
    """PC weight gradients along an inference path, with their cosines to BP and to ∇F*.

    Attributes
    ----------
    times : ndarray, shape (T,)
        Inference times ``t`` (gradient flow) or numbers of Euler steps ``T``, as given.
    method : str
        ``"flow (eigh)"``, ``"flow (expm)"`` or ``"euler"``.
    step_size : float or None
        Euler step ``η`` (``None`` for the flow).
    gradients : ndarray, shape (T, P)
        Flat PC weight gradients ``∂F_B/∂θ`` at ``ẑ + Δ(t)`` (linpc's parameter order).
    bp_gradient : ndarray, shape (P,)
        ``∇_θℒ`` (backpropagation).
    equilibrium_gradient : ndarray, shape (P,)
        ``∇_θF*`` (PC at exact equilibrium).
    distances : ndarray, shape (T,)
        ``‖z(t) − z*‖_F`` over the batch.
    initial_distance : float
        ``‖ẑ − z*‖_F = ‖Δ*‖_F``.
    steps : ndarray, shape (T, B, n)
        The activity steps ``Δ(t) = z(t) − ẑ`` (stacked hidden layers); ``Δ(0) = 0`` exactly.
    """

    times: Array
    method: str
    step_size: float | None
    gradients: Array
    bp_gradient: Array
    equilibrium_gradient: Array
    distances: Array
    initial_distance: float
    steps: Array

    @property
    def cosine_bp(self) -> Array:
        """Cosine of each PC gradient with the BP gradient ``∇ℒ``, shape ``(T,)``."""
        return np.array([cosine_similarity(g, self.bp_gradient) for g in self.gradients])

    @property
    def cosine_equilibrium(self) -> Array:
        """Cosine of each PC gradient with ``∇F*``, shape ``(T,)``."""
        return np.array([cosine_similarity(g, self.equilibrium_gradient)
                         for g in self.gradients])


@thread_policy
def inference_interpolation(
    net: LinearPCN,
    x: ArrayLike,
    y: ArrayLike,
    times: ArrayLike,
    *,
    step_size: float | None = None,
    method: Literal["auto", "eigh", "expm"] = "auto",
) -> InferenceInterpolation:
    """PC weight gradient after inference time ``t`` (or ``T`` Euler steps) from the forward pass.

    Gradient flow (``step_size=None``): ``z(t) = z* + e^{−tH_z}(ẑ − z*)``, either with one symmetric
    eigendecomposition ``H_z = VΛVᵀ`` (``method="eigh"``: ``O(n³)`` once, then ``O(n²B)`` per time,
    backward stable for every ``t``) or, for the sorted grid, by propagating ``z(t_k) − z*`` to
    ``t_{k+1}`` with :func:`scipy.sparse.linalg.expm_multiply` on the sparse block-tridiagonal
    ``H_z`` (``method="expm"``: no dense matrix, cost ``∝ max t·‖H_z‖₁`` matrix-vector products);
    ``"auto"`` uses ``"eigh"`` up to :data:`EIGH_MAX_ACTIVITIES` activities. ``t = inf`` gives
    ``z*``. Euler (``step_size=η``): ``z_T − z* = (I − ηH_z)^T(ẑ − z*)``, the iterate of
    ``z ← z − η∇_zF`` per sample, as ``V(I − ηΛ)^TVᵀ`` with the same eigendecomposition
    (``"eigh"``) or by ``T`` matrix-free products with ``H_z`` (``"expm"`` route, large
    networks). Then the PC gradient ``∂F_B/∂θ`` at ``z(t)``
    (:func:`linpc.energy_parameter_gradient`). Theory.md §4.2 (interpolation along inference); P2.

    Parameters
    ----------
    net : LinearPCN
    x, y : array_like
        Batch ``(B, d_x)``, ``(B, d_y)``.
    times : array_like
        Times ``t ≥ 0`` (may include ``inf``) for the flow, or step counts ``T ≥ 0`` (integers)
        for Euler; any order (results follow the given order).
    step_size : float, optional
        Euler step ``η > 0``; a step ``≥ 2/λ_max(H_z)`` diverges (not checked here).
    method : {"auto", "eigh", "expm"}
        ``"eigh"``: one dense eigendecomposition for all times (flow and Euler); ``"expm"``:
        matrix-free (``expm_multiply`` for the flow, repeated products for Euler).

    Returns
    -------
    InferenceInterpolation
    """
    check_network(net)
    check_choice(method, "method", ("auto", "eigh", "expm"))
    xa, ya = net.check_data(x, y)
    t = np.atleast_1d(as_real_array(times, "times", allow_inf=True))
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f"times must be a non-empty 1-D array, got shape {np.shape(times)}")
    if np.any(t < 0):
        raise ValueError("times must be ≥ 0")
    if step_size is not None:
        eta = check_positive(step_size, "step_size")
        if np.any(~np.isfinite(t)) or np.any(t != np.round(t)):
            raise ValueError("with step_size (Euler), times are numbers of steps: finite integers")
    Hz = ActivityHessian(net)
    tr = pc_trust_region_step(net, xa, ya, hessian=Hz, warn_if_error_above=None)
    zstar = tr.equilibrium
    D0 = -tr.step.T                                   # ẑ − z*, columns = samples
    order = np.argsort(t, kind="stable")
    Ds = np.empty((t.size, *D0.shape))
    if method not in ("auto", "eigh", "expm"):
        raise ValueError(f"method must be 'auto', 'eigh' or 'expm', got {method!r}")
    if method == "auto":
        method = "eigh" if net.n_activities <= EIGH_MAX_ACTIVITIES else "expm"
    if method == "eigh":
        # one eigendecomposition serves every time: e^{−tλ} (flow) or (1 − ηλ)^T (Euler)
        lam, V = np.linalg.eigh(Hz.to_dense())
        C = V.T @ D0
        for k in range(t.size):
            if step_size is None:
                Ds[k] = 0.0 if np.isinf(t[k]) else V @ (np.exp(-t[k] * lam)[:, None] * C)
            else:
                Ds[k] = V @ (((1.0 - eta * lam) ** int(t[k]))[:, None] * C)
    elif step_size is None:
        A = Hz.to_sparse()
        cur, t_cur = D0, 0.0
        for k in order:
            tk = t[k]
            if np.isinf(tk):
                cur, t_cur = np.zeros_like(D0), tk
            elif tk > t_cur:
                cur = expm_multiply(-(tk - t_cur) * A, cur)
                t_cur = tk
            Ds[k] = cur
    else:
        cur, s_cur = D0, 0
        for k in order:
            for _ in range(int(t[k]) - s_cur):
                cur = cur - eta * Hz.matvec(cur)
            s_cur = int(t[k])
            Ds[k] = cur
    grads = np.empty((t.size, net.n_parameters))
    steps = np.empty((t.size, *tr.step.shape))
    for k in range(t.size):
        # Δ(t) = (z(t) − z*) − (ẑ − z*): exactly 0 at t = 0 and exactly Δ* at t = ∞
        steps[k] = (Ds[k] - D0).T if t[k] > 0 else 0.0
        Z = tr.feedforward + steps[k]
        grads[k] = energy_parameter_gradient(net, net.split_activities(Z), xa, ya).flat()
    g_eq = energy_parameter_gradient(net, net.split_activities(zstar), xa, ya).flat()
    return InferenceInterpolation(
        times=t, method=f"flow ({method})" if step_size is None else "euler",
        step_size=None if step_size is None else float(step_size),
        gradients=grads, bp_gradient=mse_gradient(net, xa, ya).flat(),
        equilibrium_gradient=g_eq,
        distances=np.array([np.linalg.norm(Dk) for Dk in Ds]),
        initial_distance=float(np.linalg.norm(D0)),
        steps=steps,
    )


@dataclass(frozen=True)
class WeakPrecisionGaps:
    """How far PC at output precision ``λ`` is from BP, for a grid of ``λ``.

    Attributes
    ----------
    precisions : ndarray, shape (K,)
        Output precisions ``λ``.
    energy_gaps : ndarray, shape (K,)
        ``ℒ − F*/λ`` (≥ 0).
    gradient_gaps : ndarray, shape (K,)
        ``‖∇F*/λ − ∇ℒ‖``.
    lower_bounds, upper_bounds : ndarray, shape (K,)
        Exact bounds ``λq_min/(1+λq_min) ℒ`` and ``λq_max/(1+λq_max) ℒ`` on the energy gap,
        with ``q_min, q_max`` the extreme eigenvalues of ``Q`` (module docstring).
    loss : float
        ``ℒ``.
    """

    precisions: Array
    energy_gaps: Array
    gradient_gaps: Array
    lower_bounds: Array
    upper_bounds: Array
    loss: float


@thread_policy
def weak_precision_gaps(net: LinearPCN, x: ArrayLike, y: ArrayLike,
                        precisions: ArrayLike) -> WeakPrecisionGaps:
    """PC → BP as the output precision ``λ → 0``: gaps ``ℒ − F*/λ`` and ``‖∇F*/λ − ∇ℒ‖``.

    For each ``λ`` the network's output precision is replaced (hidden precisions, weights and
    biases kept), ``F*`` and ``∇F*`` are computed in closed form (block Cholesky + envelope
    theorem). With ``S = λ⁻¹I + Q``, ``F*/λ = (1/2B)Σ rᵀ(I + λQ)⁻¹r``, so the energy gap is
    ``(1/2B)Σ rᵀλQ(I + λQ)⁻¹r ∈ [λq_min/(1+λq_min), λq_max/(1+λq_max)]·ℒ``: ``O(λ)`` (docs/theory.md
    §2.3 "precision limits", §2.5.15).

    Parameters
    ----------
    precisions : array_like
        Output precisions ``λ > 0``.
    """
    check_network(net)
    xa, ya = net.check_data(x, y)
    require_gaussian_chain(net, "weak_precision_gaps")
    lams = np.atleast_1d(as_real_array(precisions, "precisions"))
    if lams.ndim != 1 or np.any(~np.isfinite(lams)) or np.any(lams <= 0):
        raise ValueError("precisions must be a 1-D array of finite values > 0")
    ell = mse_loss(net, xa, ya)
    g_bp = mse_gradient(net, xa, ya).flat()
    q = np.linalg.eigvalsh(rescaling_series_matrix(net))
    q_min, q_max = max(float(q[0]), 0.0), max(float(q[-1]), 0.0)
    e_gap, g_gap = [], []
    for lam in lams:
        pi = np.array(net.precisions, copy=True)
        pi[-1] = lam
        nl = net.replace(precisions=pi)
        eq = solve_equilibrium(nl, xa, ya, method="cholesky", warn_if_error_above=None)
        e_gap.append(ell - eq.energy / lam)
        g = energy_parameter_gradient(nl, eq.activities, xa, ya).flat()
        g_gap.append(float(np.linalg.norm(g / lam - g_bp)))
    return WeakPrecisionGaps(
        precisions=lams, energy_gaps=np.array(e_gap), gradient_gaps=np.array(g_gap),
        lower_bounds=lams * q_min / (1 + lams * q_min) * ell,
        upper_bounds=lams * q_max / (1 + lams * q_max) * ell, loss=ell,
    )
