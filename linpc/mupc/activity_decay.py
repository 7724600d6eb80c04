"""Activity decay ``(δ/2) Σ_{l≤H} ‖z_l‖²``: its exact effects on the inference landscape.

The activity regulariser is a model option of :class:`~linpc.LinearPCN` (jpc's
``activity_decay``), one of the remedies for ill-conditioned inference discussed with μPC
(docs/theory.md §6.2). Its effects are exact and derived here:

- ``H_z(δ) = H_z(0) + δ I``: every eigenvalue shifts by ``δ``, so
  ``κ(δ) = (λ_max + δ)/(λ_min + δ)`` decreases with ``δ``;
- ``z*(δ) = (H_z + δI)⁻¹ b``: ``‖z*(δ)‖`` decreases strictly (``‖z*‖² = Σ_k b_k²/(μ_k + δ)²``
  in the eigenbasis of ``H_z``) and ``dz*/dδ = −(H_z + δI)⁻¹ z*``;
- ``F*(δ) = min_z F = F(0) − ½ bᵀ(H_z + δI)⁻¹ b`` (``F(0)`` the energy at ``z = 0``) increases
  and is concave in ``δ``, with ``dF*/dδ = ½‖z*(δ)‖²`` (envelope theorem,
  :func:`activity_decay_sensitivity`) and ``F*(δ) → F(z = 0)`` as ``δ → ∞``;
- one hidden layer: completing the square turns the decay into a shrunken Gaussian prior, giving
  the closed form of :func:`one_hidden_layer_decay_equilibrium`.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla
from numpy.typing import ArrayLike

from linpc.core.equilibrium import solve_equilibrium
from linpc.core.network import LinearPCN, check_network
from linpc.numerics.threads import thread_policy
from linpc.numerics.types import Array

__all__ = ["activity_decay_sensitivity", "one_hidden_layer_decay_equilibrium"]


@thread_policy
def one_hidden_layer_decay_equilibrium(
    net: LinearPCN, x: ArrayLike, y: ArrayLike
) -> tuple[Array, Array]:
    """Closed-form equilibrium of a one-hidden-layer network with activity decay ``δ``.

    Per sample, with prior mean ``m = M_1 x + c_1`` and precisions ``π_1``, ``λ = π_2``,

        F(z) = (π_1/2)‖z − m‖² + (δ/2)‖z‖² + (λ/2)‖y − M_2 z − c_2‖².

    Completing the square, ``(π_1/2)‖z − m‖² + (δ/2)‖z‖² = (p/2)‖z − m̃‖² + (π_1 δ/(2p))‖m‖²`` with
    ``p = π_1 + δ`` and ``m̃ = π_1 m/p``: a Gaussian prior ``N(m̃, p⁻¹ I)`` shrunk towards 0. The
    marginal of ``y`` (docs/theory.md §2.2.1) then gives

        F* = (π_1 δ/(2p)) ‖m‖² + ½ r̃ᵀ S̃⁻¹ r̃,    r̃ = y − M_2 m̃ − c_2,    S̃ = λ⁻¹ I + M_2 M_2ᵀ/p,
        z* = m̃ + p⁻¹ M_2ᵀ S̃⁻¹ r̃.

    At ``δ = 0`` this is Theorem 1 of Innocenti et al. (NeurIPS 2024, arXiv:2408.11979) for one
    hidden layer. Only ``d_y × d_y`` systems are solved: the route never touches ``H_z``.

    Returns
    -------
    z : ndarray, shape (B, n_1)
        Equilibrium activities.
    F : ndarray, shape (B,)
        Per-sample equilibrated energies.
    """
    check_network(net)
    if net.n_hidden != 1:
        raise ValueError(f"one_hidden_layer_decay_equilibrium needs H = 1, got H = {net.n_hidden}")
    xa, ya = net.check_data(x, y)
    pi1, lam = float(net.precisions[0]), float(net.precisions[1])
    delta = net.activity_decay
    p = pi1 + delta
    m = net.predict_layer(1, xa)                       # (B, n_1)
    m_t = (pi1 / p) * m
    r_t = ya - net.predict_layer(2, m_t)               # y − M_2 m̃ − c_2
    M2 = net.layer_map(2)
    S_t = np.eye(net.d_y) / lam + (M2 @ M2.T) / p
    cf = sla.cho_factor(S_t, lower=True, check_finite=False)
    d = sla.cho_solve(cf, r_t.T, check_finite=False).T   # S̃⁻¹ r̃, (B, d_y)
    z = m_t + (d @ M2) / p
    F = 0.5 * pi1 * delta / p * np.sum(m * m, axis=1) + 0.5 * np.sum(r_t * d, axis=1)
    return z, F


@thread_policy
def activity_decay_sensitivity(net: LinearPCN, x: ArrayLike, y: ArrayLike) -> float:
    """``dF*/dδ = ½ ⟨‖z*(δ)‖²⟩`` (batch mean) at the network's activity decay ``δ``.

    ``F*(δ) = min_z [F(z) + (δ/2)‖z‖²]``; the minimiser does not move to first order in the value
    (envelope theorem), so the derivative is the partial derivative of the objective at ``z*``.
    Since ``F*(δ) = F(0) − ½ bᵀ(H_z + δI)⁻¹b``, also ``d²F*/dδ² = −⟨z*ᵀ(H_z + δI)⁻¹z*⟩ < 0``.
    """
    check_network(net)
    eq = solve_equilibrium(net, x, y, method="cholesky", warn_if_error_above=None)
    Z = np.concatenate(eq.activities, axis=1)
    return float(0.5 * np.mean(np.sum(Z * Z, axis=1)))
