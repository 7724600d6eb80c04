"""Iterative inference as a practitioner runs it, and the exact gradient flow.

PC inference is gradient descent on the activities, ``z ← z − η ∇_z F`` (per sample), started at
the feedforward pass ``ẑ`` (docs/theory.md §1.1). Since ``∇_z F = H_z z − b`` is affine, the
iterates satisfy ``z_t − z* = (I − η H_z)^t (z_0 − z*)`` and the gradient ``g_t = (I − η H_z)^t
g_0``, so
``‖g_t‖ ≤ ρ^t ‖g_0‖`` with contraction factor ::

    ρ(η) = max(|1 − η λ_min|, |1 − η λ_max|),

which is < 1 iff ``0 < η < 2/λ_max``. The best fixed step ``η* = 2/(λ_min + λ_max)`` gives
``ρ = (κ − 1)/(κ + 1)``, ``κ = κ(H_z)``, hence about ``(κ/2) ln(1/tol)`` steps to reduce the
gradient by ``tol`` (docs/theory.md §1.3; Innocenti et al. 2025, arXiv:2505.13124, §3). The gradient
flow
``dz/dt = −∇_z F`` has the closed form ``z(t) = z* + e^{−t H_z}(z(0) − z*)``.

Two loops run gradient descent: :func:`gradient_descent_inference` until a tolerance, with the
step and the contraction factor from the spectrum of ``H_z``, and :func:`euler_inference` for a
fixed number of steps of a given size, as the papers' PC training does. Both take the activity
gradient from :mod:`linpc.core.energy`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.sparse.linalg import expm_multiply

from linpc.core.activity_hessian import ActivityHessian, ExtremeEigenvalues
from linpc.core.energy import _energy_and_activity_gradient, energy, energy_parameter_gradient
from linpc.core.equilibrium import solve_equilibrium
from linpc.core.network import LinearPCN, check_network
from linpc.core.parameter_arrays import ParameterArrays
from linpc.numerics.threads import thread_policy
from linpc.numerics.types import Array
from linpc.numerics.validation import (
    check_instance,
    check_nonnegative_int,
    check_positive,
    check_positive_int,
    check_real,
    check_tolerance,
)
from linpc.numerics.warnings import user_stacklevel

__all__ = [
    "InferenceResult", "contraction_factor", "euler_inference", "gradient_descent_inference",
    "gradient_flow_activities", "optimal_step_size", "pc_euler_gradient", "steps_to_tolerance",
]


@thread_policy
def optimal_step_size(lambda_min: float, lambda_max: float) -> float:
    """Best fixed gradient-descent step ``η* = 2/(λ_min + λ_max)`` for a quadratic."""
    lo, hi = _check_eigenvalues(lambda_min, lambda_max)
    return 2.0 / (lo + hi)


def _check_eigenvalues(lambda_min, lambda_max) -> tuple[float, float]:
    """The extreme eigenvalues of an SPD matrix: finite and > 0."""
    return check_positive(lambda_min, "lambda_min"), check_positive(lambda_max, "lambda_max")


@thread_policy
def contraction_factor(step_size: float, lambda_min: float, lambda_max: float) -> float:
    """``ρ(η) = max(|1 − η λ_min|, |1 − η λ_max|)``: per-step contraction of GD on a quadratic."""
    step_size = check_positive(step_size, "step_size")
    lambda_min, lambda_max = _check_eigenvalues(lambda_min, lambda_max)
    return max(abs(1.0 - step_size * lambda_min), abs(1.0 - step_size * lambda_max))


@thread_policy
def steps_to_tolerance(rho: float, tol: float) -> int | None:
    """Steps ``t ≥ 1`` with ``ρ^t ≤ tol``: ``⌈log(tol)/log(ρ)⌉`` (``None`` if ``ρ ≥ 1``).

    With the optimal step, ``ρ = (κ−1)/(κ+1)`` and ``t ≈ (κ/2) ln(1/tol)``.
    """
    tol = check_tolerance(tol, "tol", below_one=True)
    rho = check_real(rho, "rho", finite=False)
    if rho < 0:
        raise ValueError(f"rho must be ≥ 0 (a contraction factor), got {rho!r}")
    if rho >= 1:
        return None
    if rho == 0:
        return 1
    return max(1, math.ceil(math.log(tol) / math.log(rho) - 1e-12))


@dataclass(frozen=True)
class InferenceResult:
    """Outcome of gradient-descent inference.

    Attributes
    ----------
    activities : list of ndarray
        Final hidden activities ``z_1..z_H``, each ``(B, n_l)``.
    energies : ndarray
        Batch-mean energy ``F_B`` at the recorded steps.
    grad_norms : ndarray
        Frobenius norm over the batch of the per-sample activity gradients at the recorded steps.
    recorded_steps : ndarray of int
        Step indices of ``energies`` and ``grad_norms`` (0 = initial point; the last step is
        always recorded).
    n_steps : int
        Number of updates performed.
    converged : bool
        Whether ``‖g_t‖ ≤ tol ‖g_0‖`` was reached.
    step_size : float
        ``η``.
    contraction : float
        ``ρ(η)``; the gradient norm is guaranteed to shrink at least this fast per step.
    eigenvalues : ExtremeEigenvalues
        Extreme eigenvalues and ``κ`` of ``H_z`` used for ``η`` and ``ρ``.
    predicted_steps : int or None
        Steps predicted by ``κ`` (via ``ρ``) to reach ``tol``: ``⌈log tol / log ρ⌉``.
    """

    activities: list[Array]
    energies: Array
    grad_norms: Array
    recorded_steps: Array
    n_steps: int
    converged: bool
    step_size: float
    contraction: float
    eigenvalues: ExtremeEigenvalues
    predicted_steps: int | None

    @property
    def condition_number(self) -> float:
        return self.eigenvalues.condition_number


@thread_policy
def gradient_descent_inference(
    net: LinearPCN,
    x: ArrayLike,
    y: ArrayLike,
    *,
    step_size: float | None = None,
    tol: float = 1e-10,
    max_steps: int | None = None,
    z0: Sequence[ArrayLike] | None = None,
    record_every: int = 1,
    eigenvalues: ExtremeEigenvalues | None = None,
) -> InferenceResult:
    """Gradient descent on the activities, ``z ← z − η ∇_z F`` (per sample), until converged.

    Parameters
    ----------
    net : LinearPCN
    x, y : array_like
        Clamped batch.
    step_size : float, optional
        ``η``; default the optimal fixed step ``2/(λ_min + λ_max)`` of ``H_z``. A step
        ``≥ 2/λ_max`` (divergent) triggers a ``RuntimeWarning``. Note that jpc's gradients are of
        the
        batch mean, so jpc's activity learning rate ``η_jpc`` corresponds to ``η = η_jpc / B``.
    tol : float
        Stop when the batch gradient norm has shrunk by ``tol``: ``‖g_t‖ ≤ tol ‖g_0‖``.
    max_steps : int, optional
        Cap on the updates; default ``2 × predicted + 100`` (or 10 000 when divergent).
    z0 : sequence of array_like, optional
        Initial activities; default the feedforward pass.
    record_every : int
        Record energy and gradient norm every this many steps.
    eigenvalues : ExtremeEigenvalues, optional
        Precomputed extreme eigenvalues of ``H_z``.

    Returns
    -------
    InferenceResult
    """
    check_network(net)
    check_positive(step_size, "step_size", allow_none=True)
    tol = check_tolerance(tol, "tol")
    max_steps = check_nonnegative_int(max_steps, "max_steps", allow_none=True)
    record_every = check_positive_int(record_every, "record_every")
    if eigenvalues is not None:
        check_instance(eigenvalues, ExtremeEigenvalues, "eigenvalues")
    xa, ya = net.check_data(x, y)
    ev = eigenvalues if eigenvalues is not None else ActivityHessian(net).extreme_eigenvalues()
    eta = optimal_step_size(ev.lambda_min, ev.lambda_max) if step_size is None else float(step_size)
    rho = contraction_factor(eta, ev.lambda_min, ev.lambda_max)
    if eta >= 2.0 / ev.lambda_max:
        warnings.warn(
            f"step size η = {eta:.4g} ≥ 2/λ_max(H_z) = {2.0 / ev.lambda_max:.4g}: gradient-descent "
            "inference diverges along the top eigenvector of H_z",
            RuntimeWarning, stacklevel=user_stacklevel(),
        )
    predicted = steps_to_tolerance(rho, tol) if 0 < tol < 1 else None
    if max_steps is None:
        max_steps = 10_000 if predicted is None else 2 * predicted + 100
    zs = net.forward(xa)[1:-1] if z0 is None else net.check_activities(z0, xa.shape[0],
                                                                        name="z0")
    Z = np.concatenate(zs, axis=1)

    def grad_and_energy(Zc: Array) -> tuple[Array, float]:
        per, grads = _energy_and_activity_gradient(net, [xa, *net.split_activities(Zc), ya])
        return np.concatenate(grads, axis=1), float(np.mean(per))

    G, E = grad_and_energy(Z)
    g0 = float(np.linalg.norm(G))
    energies, norms, rec = [E], [g0], [0]
    converged = g0 == 0.0
    t = 0
    while not converged and t < max_steps:
        Z = Z - eta * G
        t += 1
        G, E = grad_and_energy(Z)
        gn = float(np.linalg.norm(G))
        converged = gn <= tol * g0
        if not np.isfinite(gn):
            break
        if t % record_every == 0 or converged or t == max_steps:
            energies.append(E)
            norms.append(gn)
            rec.append(t)
    return InferenceResult(
        activities=net.split_activities(Z),
        energies=np.array(energies),
        grad_norms=np.array(norms),
        recorded_steps=np.array(rec),
        n_steps=t,
        converged=bool(converged),
        step_size=eta,
        contraction=rho,
        eigenvalues=ev,
        predicted_steps=predicted,
    )


@thread_policy
def gradient_flow_activities(
    net: LinearPCN,
    x: ArrayLike,
    y: ArrayLike,
    t: float,
    *,
    z0: Sequence[ArrayLike] | None = None,
) -> list[Array]:
    """Exact gradient-flow activities ``z(t) = z* + e^{−t H_z}(z(0) − z*)`` of ``dz/dt = −∇_z F``.

    Uses :func:`scipy.sparse.linalg.expm_multiply` (Al-Mohy & Higham 2011) on the sparse
    block-tridiagonal ``H_z``; no matrix exponential is formed. ``z(0)`` defaults to the feedforward
    pass, from which ``z(t) − ẑ = −(I − e^{−t H_z}) H_z⁻¹ g`` with ``g = ∇_z F(ẑ)``
    (docs/theory.md §1.3).

    Parameters
    ----------
    t : float
        Time ``≥ 0`` (``t = ∞`` returns ``z*``).
    z0 : sequence of array_like, optional
        Initial activities.

    Returns
    -------
    list of ndarray
        ``z_1(t), …, z_H(t)``, each ``(B, n_l)``.
    """
    check_network(net)
    t = check_real(t, "t", finite=False)
    if not t >= 0:
        raise ValueError(f"time t must be ≥ 0, got {t}")
    xa, ya = net.check_data(x, y)
    zs = net.forward(xa)[1:-1] if z0 is None else net.check_activities(z0, xa.shape[0],
                                                                        name="z0")
    Hz = ActivityHessian(net)
    eq = solve_equilibrium(net, xa, ya, method="cholesky", hessian=Hz)
    Zs = np.concatenate(eq.activities, axis=1)
    if np.isinf(t):
        return eq.activities
    D = (np.concatenate(zs, axis=1) - Zs).T
    A = Hz.to_sparse()
    Zt = Zs + expm_multiply(-t * A, D).T
    return net.split_activities(Zt)


@thread_policy
def euler_inference(net: LinearPCN, x: ArrayLike, y: ArrayLike, *, steps: int, dt: float,
                    z0: Sequence[ArrayLike] | None = None) -> list[Array]:
    """``steps`` Euler steps ``z ← z − dt ∇_zF`` (per-sample gradient) from the feedforward pass.

    ``∇_{z_l}F = π_l e_l − π_{l+1} M_{l+1}ᵀ e_{l+1} (+ δ z_l)`` (docs/theory.md §1.1), the whole
    batch at once. Since the gradient is affine, the iterate equals ``z* + (I − dt H_z)^T (z_0 −
    z*)``; it converges iff ``dt < 2/λ_max(H_z)``. P1 uses 20 steps of 0.1 (toys) and 50 steps of
    0.1 (matrix completion), which do not fully equilibrate (docs/theory.md §8.6).

    Returns
    -------
    list of ndarray
        ``z_1, …, z_H`` after ``steps`` steps, each ``(B, n_l)``.
    """
    check_network(net)
    T = check_nonnegative_int(steps, "steps")
    dt = check_positive(dt, "dt")
    xa, ya = net.check_data(x, y)
    zs = net.forward(xa)[1:-1] if z0 is None else net.check_activities(z0, xa.shape[0],
                                                                        name="z0")
    Z = [xa, *[np.array(z, dtype=np.float64) for z in zs], ya]
    for _ in range(T):
        _, grads = _energy_and_activity_gradient(net, Z)
        Z = [xa, *(z - dt * g for z, g in zip(Z[1:-1], grads, strict=True)), ya]
    return Z[1:-1]


@thread_policy
def pc_euler_gradient(net: LinearPCN, x: ArrayLike, y: ArrayLike, *, steps: int,
                      dt: float) -> tuple[float, ParameterArrays]:
    """Energy ``F_B`` and PC weight gradient ``∂F_B/∂θ`` after ``steps`` Euler inference steps.

    The update direction of PC as the papers run it (P1 Figs. 2, 5–7): inference by
    :func:`euler_inference` from the feedforward pass, then the weight gradient of the batch energy
    at the resulting activities (docs/theory.md §1.1).
    """
    check_network(net)
    zs = euler_inference(net, x, y, steps=steps, dt=dt)
    return float(energy(net, zs, x, y)), energy_parameter_gradient(net, zs, x, y)
