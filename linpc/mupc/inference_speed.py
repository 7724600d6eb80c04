"""How many gradient-descent inference steps a network needs: predicted from κ and measured.

Gradient descent on the activities, ``z ← z − η ∇_z F``, has gradients
``g_t = (I − η H_z)^t g_0`` (docs/theory.md §1.3), so with ``ρ(η) = max(|1 − ηλ_min|, |1 −
ηλ_max|)``

    ‖g_t‖ ≤ ρ^t ‖g_0‖   ⇒   steps to ‖g_t‖ ≤ tol‖g_0‖  ≤  ⌈log tol / log ρ⌉,

and at the best fixed step ``η* = 2/(λ_min + λ_max)``, ``ρ = (κ − 1)/(κ + 1)``, i.e. about
``(κ/2) ln(1/tol)`` steps: inference time grows like ``κ(H_z)``, hence like ``H²`` under μPC
(:mod:`linpc.mupc.conditioning`; Innocenti et al., μPC, NeurIPS 2025, arXiv:2505.13124, §3–4). The
bound is attained when ``g_0`` has weight on the extreme eigenvectors; from the feedforward
initialisation (no activity decay) only the last block of ``g_0 = −(0, …, 0, λ M_Lᵀ r)`` is
non-zero, which generically touches them.

Exactly, with ``H_z = Σ_k μ_k u_k u_kᵀ``: ``‖g_t‖² = Σ_k (1 − ημ_k)^{2t} (u_kᵀ g_0)²``
(:func:`spectral_gradient_norms`, dense, small networks), which predicts the measured count to
the step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from linpc.core.activity_hessian import ActivityHessian
from linpc.core.energy import energy_activity_gradient
from linpc.core.inference import (
    contraction_factor,
    gradient_descent_inference,
    optimal_step_size,
    steps_to_tolerance,
)
from linpc.core.initialisation import init_network
from linpc.core.network import LinearPCN, check_network
from linpc.mupc.conditioning import CONDITIONING_SETTINGS
from linpc.numerics.threads import thread_policy
from linpc.numerics.types import Array
from linpc.numerics.validation import (
    as_real_array,
    check_nonnegative_int,
    check_positive,
    check_positive_int,
    check_tolerance,
)

__all__ = [
    "InferenceSpeed", "exact_steps_to_tolerance", "inference_speed", "inference_speed_point",
    "spectral_gradient_norms",
]


@dataclass(frozen=True)
class InferenceSpeed:
    """Predicted and measured inference steps for one network and batch.

    Attributes
    ----------
    predicted : int or None
        ``⌈log tol / log ρ⌉`` from the extreme eigenvalues (an upper bound on ``measured``);
        ``None`` if the step diverges (``ρ ≥ 1``).
    measured : int
        Gradient-descent steps until ``‖g_t‖ ≤ tol ‖g_0‖`` (batch Frobenius norm).
    converged : bool
        Whether ``measured`` reached the tolerance within the step cap.
    kappa : float
        ``κ(H_z)``.
    step_size : float
        ``η``.
    contraction : float
        ``ρ(η)``.
    """

    predicted: int | None
    measured: int
    converged: bool
    kappa: float
    step_size: float
    contraction: float


@thread_policy
def inference_speed(
    net: LinearPCN,
    x: ArrayLike,
    y: ArrayLike,
    *,
    tol: float = 1e-6,
    step_size: float | None = None,
    max_steps: int | None = None,
) -> InferenceSpeed:
    """Steps of gradient-descent inference from the feedforward pass, predicted and measured.

    Parameters
    ----------
    net : LinearPCN
    x, y : array_like
        Clamped batch.
    tol : float
        Relative gradient reduction ``‖g_t‖ ≤ tol‖g_0‖``.
    step_size : float, optional
        ``η``; default the optimal ``2/(λ_min + λ_max)``.
    max_steps : int, optional
        Cap on the steps (default ``2·predicted + 100``).
    """
    check_network(net)
    tol = check_tolerance(tol, "tol", below_one=True)
    check_positive(step_size, "step_size", allow_none=True)
    check_nonnegative_int(max_steps, "max_steps", allow_none=True)
    ev = ActivityHessian(net).extreme_eigenvalues()
    eta = optimal_step_size(ev.lambda_min, ev.lambda_max) if step_size is None else step_size
    rho = contraction_factor(eta, ev.lambda_min, ev.lambda_max)
    predicted = steps_to_tolerance(rho, tol)
    res = gradient_descent_inference(net, x, y, step_size=eta, tol=tol, max_steps=max_steps,
                                     eigenvalues=ev, record_every=10**9)
    return InferenceSpeed(predicted, res.n_steps, res.converged, ev.condition_number, eta, rho)


def _spectral_weights(net: LinearPCN, x: ArrayLike, y: ArrayLike, step_size: float):
    """``(c², |1 − ημ|)``: squared eigen-coefficients of ``g_0`` and the per-mode factors."""
    check_network(net)
    step_size = check_positive(step_size, "step_size")
    xa, ya = net.check_data(x, y)
    zs = net.forward(xa)[1:-1]
    g0 = np.concatenate(energy_activity_gradient(net, zs, xa, ya), axis=1)   # (B, n)
    mu, U = np.linalg.eigh(ActivityHessian(net).to_dense())
    c2 = np.sum((g0 @ U) ** 2, axis=0)                                        # (n,)
    return c2, np.abs(1.0 - step_size * mu)


def _norms_from_weights(c2: Array, factors: Array, steps: ArrayLike) -> Array:
    t = np.asarray(steps, dtype=np.float64)
    with np.errstate(under="ignore"):
        return np.sqrt(np.sum(c2[None, :] * factors[None, :] ** (2 * t[:, None]), axis=1))


@thread_policy
def spectral_gradient_norms(
    net: LinearPCN, x: ArrayLike, y: ArrayLike, steps: ArrayLike, *, step_size: float
) -> Array:
    """``‖g_t‖`` (batch Frobenius norm) after ``t`` gradient-descent steps, from the eigenbasis.

    ``‖g_t‖² = Σ_i Σ_k (1 − ημ_k)^{2t} (u_kᵀ g_0^{(i)})²`` with the dense eigendecomposition of
    ``H_z`` and ``g_0`` the activity gradient at the feedforward pass. Small networks only
    (``O(n³)``); an independent route to the iteration count.
    """
    t = as_real_array(steps, "steps")
    if np.any(t < 0):
        raise ValueError("steps must be ≥ 0")
    c2, factors = _spectral_weights(net, x, y, step_size)
    return _norms_from_weights(c2, factors, t)


@thread_policy
def exact_steps_to_tolerance(
    net: LinearPCN, x: ArrayLike, y: ArrayLike, *, tol: float, step_size: float,
    max_steps: int = 1_000_000,
) -> int | None:
    """First ``t`` with ``‖g_t‖ ≤ tol ‖g_0‖`` from the spectral formula of
    :func:`spectral_gradient_norms` (one eigendecomposition, then bisection on the monotone
    sequence); ``None`` if not reached within ``max_steps``."""
    tol = check_tolerance(tol, "tol")
    max_steps = check_positive_int(max_steps, "max_steps")
    c2, factors = _spectral_weights(net, x, y, step_size)

    def ok(t: int) -> bool:
        g = _norms_from_weights(c2, factors, [0, t])
        return bool(g[1] <= tol * g[0])

    if ok(0):
        return 0
    if not ok(max_steps):
        return None
    lo, hi = 0, 1
    while not ok(hi):
        lo, hi = hi, min(2 * hi, max_steps)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi


@thread_policy
def inference_speed_point(point: dict, rng: np.random.Generator) -> dict:
    """Sweep point function (:mod:`linpc.reproduce.sweeps`): inference steps at initialisation.

    ``point`` keys: ``H``, ``N``, ``d_x``, ``d_y``, ``B``, ``tol`` and either ``setting`` (a key of
    :data:`linpc.mupc.conditioning.CONDITIONING_SETTINGS`) or ``param_type``, ``use_skips`` and
    optionally
    ``init``. Data ``x ~ N(0, I)``, ``y ~ N(0, I)``.

    Returns
    -------
    dict
        ``predicted`` (−1 if divergent), ``measured``, ``converged``, ``kappa``.
    """
    H, N = int(point["H"]), int(point["N"])
    widths = (int(point["d_x"]),) + (N,) * H + (int(point["d_y"]),)
    s = CONDITIONING_SETTINGS[point["setting"]] if "setting" in point else point
    net = init_network(widths, param_type=s["param_type"], use_skips=bool(s["use_skips"]),
                       init=s.get("init", "default"), rng=rng)
    B = int(point["B"])
    x = rng.standard_normal((B, widths[0]))
    y = rng.standard_normal((B, widths[-1]))
    sp = inference_speed(net, x, y, tol=float(point["tol"]))
    return {"predicted": -1 if sp.predicted is None else sp.predicted, "measured": sp.measured,
            "converged": sp.converged, "kappa": sp.kappa}
