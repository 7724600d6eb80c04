"""jpc-compatible theory functions: plain functions of ``(Ws, x, y, *, …)``.

These mirror the names and keywords of jpc's theoretical tools (thebuckleylab/jpc,
``jpc/_core/_analytical.py``) on numpy arrays: ``Ws`` is a list of ``(out, in)`` weight matrices,
data are batch-first, energies are normalised by ``1/(2B)``. They are built on
:class:`linpc.LinearPCN` and are correct in every configuration, including those where jpc's own
helpers are not (theory.md §8: ``gamma`` with ``"sp"``/``"ntp"``, ``"ntp"`` with skips): the
multipliers are always those of :func:`linpc.parameterisation.layer_scalings` (per fan-in), or
``scalings`` when given, with ``gamma`` dividing ``a_L``.

Common keywords
---------------
param_type : {"sp", "ntp", "mupc"}
    Parameterisation (default ``"sp"``).
scalings : sequence of float, optional
    Explicit multipliers ``[a_1, …, a_L]`` (reproduces jpc's first-hidden-width convention).
use_skips : bool
    Identity skips on hidden-to-hidden layers.
gamma : float, optional
    Divides ``a_L``.
output_energy_scaling : float, optional
    Output precision ``λ``.
biases : sequence, optional
    Raw biases (a linpc extension; jpc's theory assumes none).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .activity import ActivityHessian
from .equilibrium import (
    equilibrated_energy,
    equilibrated_energy_gradient,
    equilibrium_rescaling,
    solve_equilibrium,
)
from .network import LinearPCN

__all__ = [
    "compute_linear_activity_hessian",
    "compute_linear_activity_solution",
    "compute_linear_equilib_energy_grads",
    "compute_linear_equilib_rescaling",
    "linear_equilib_energy",
]

Array = NDArray[np.float64]


def network_from_jpc_keywords(
    Ws: Sequence[ArrayLike],
    *,
    param_type: str = "sp",
    scalings: Sequence[float] | None = None,
    use_skips: bool = False,
    gamma: float | None = None,
    output_energy_scaling: float | None = None,
    biases: Sequence[ArrayLike | None] | None = None,
    activity_decay: float = 0.0,
) -> LinearPCN:
    """The :class:`~linpc.LinearPCN` that jpc's keywords describe (shared by every jpc-style
    function of linpc, so the keywords mean the same everywhere)."""
    return LinearPCN(Ws, biases=biases, param_type=param_type, scalings=scalings,
                     use_skips=use_skips, gamma=gamma,
                     output_energy_scaling=output_energy_scaling, activity_decay=activity_decay)


def linear_equilib_energy(
    Ws: Sequence[ArrayLike],
    x: ArrayLike,
    y: ArrayLike,
    *,
    param_type: str = "sp",
    scalings: Sequence[float] | None = None,
    use_skips: bool = False,
    gamma: float | None = None,
    output_energy_scaling: float | None = None,
    biases: Sequence[ArrayLike | None] | None = None,
    return_rescaling: bool = False,
) -> float | tuple[float, Array]:
    """Equilibrated energy of a deep linear PCN, ``F* = (1/2B) Σ_i r_iᵀ S⁻¹ r_i``.

    ``r_i = y_i − M_{L:1} x_i`` and ``S = λ⁻¹ I + Σ_{l=2}^{L} M_{L:l} M_{L:l}ᵀ`` with effective
    layer
    maps ``M_l`` (multipliers, skips). Equals the PC energy at the inference equilibrium for any
    weights (Innocenti et al., NeurIPS 2024, arXiv:2408.11979, Theorem 1).

    Parameters
    ----------
    Ws : sequence of array_like
        ``[W_1, …, W_L]``, ``W_l`` of shape ``(n_l, n_{l-1})``.
    x, y : array_like
        ``(B, d_x)`` and ``(B, d_y)``.
    return_rescaling : bool
        Also return ``S``.
    **keywords
        See the module docstring.

    Returns
    -------
    float, or (float, ndarray)
        ``F*`` (batch mean), and ``S`` of shape ``(d_y, d_y)`` if requested.
    """
    net = network_from_jpc_keywords(Ws, param_type=param_type, scalings=scalings,
                                    use_skips=use_skips, gamma=gamma,
                                    output_energy_scaling=output_energy_scaling, biases=biases)
    F = equilibrated_energy(net, x, y, method="gaussian")
    if return_rescaling:
        return F, equilibrium_rescaling(net, method="gaussian")
    return F


def compute_linear_equilib_rescaling(
    Ws: Sequence[ArrayLike],
    *,
    param_type: str = "sp",
    scalings: Sequence[float] | None = None,
    use_skips: bool = False,
    gamma: float | None = None,
    output_energy_scaling: float | None = None,
) -> Array:
    """The rescaling ``S = λ⁻¹ I + Σ_{l=2}^{L} M_{L:l} M_{L:l}ᵀ``, shape ``(d_y, d_y)``.

    References
    ----------
    .. [1] Innocenti et al., NeurIPS 2024, arXiv:2408.11979, Theorem 1; theory.md §2.1.
    """
    net = network_from_jpc_keywords(Ws, param_type=param_type, scalings=scalings,
                                    use_skips=use_skips, gamma=gamma,
                                    output_energy_scaling=output_energy_scaling)
    return equilibrium_rescaling(net, method="gaussian")


def compute_linear_activity_hessian(
    Ws: Sequence[ArrayLike],
    *,
    param_type: str = "sp",
    scalings: Sequence[float] | None = None,
    use_skips: bool = False,
    gamma: float | None = None,
    output_energy_scaling: float | None = None,
    diag: bool = True,
    off_diag: bool = True,
) -> Array:
    """Dense per-sample activity Hessian ``H_z = ∂²F/∂z∂z`` (block order ``z_1..z_H``).

    Diagonal blocks ``I + Λ_{l+1} M_{l+1}ᵀ M_{l+1}``, off-diagonal blocks ``−M_{l+1}`` (below) and
    ``−M_{l+1}ᵀ`` (above), ``Λ_L = λ`` (theory.md §1.2; Innocenti et al. 2025, arXiv:2505.13124).
    ``diag``/``off_diag`` keep only those parts (jpc's switches). For large networks use
    :class:`linpc.ActivityHessian` (banded/block views, factorisation, spectrum) instead.
    """
    net = network_from_jpc_keywords(Ws, param_type=param_type, scalings=scalings,
                                    use_skips=use_skips, gamma=gamma,
                                    output_energy_scaling=output_energy_scaling)
    return ActivityHessian(net).to_dense(diag=diag, off_diag=off_diag)


def compute_linear_activity_solution(
    Ws: Sequence[ArrayLike],
    x: ArrayLike,
    y: ArrayLike,
    *,
    param_type: str = "sp",
    scalings: Sequence[float] | None = None,
    use_skips: bool = False,
    gamma: float | None = None,
    output_energy_scaling: float | None = None,
    biases: Sequence[ArrayLike | None] | None = None,
) -> list[Array]:
    """Equilibrium activities ``z* = H_z⁻¹ b``: a list of ``H`` arrays of shape ``(B, n_l)``.

    Solved with one block Cholesky factorisation of ``H_z`` for the whole batch (no inverse and no
    ridge term, unlike jpc's ``inv(A + εI)``).
    """
    net = network_from_jpc_keywords(Ws, param_type=param_type, scalings=scalings,
                                    use_skips=use_skips, gamma=gamma,
                                    output_energy_scaling=output_energy_scaling, biases=biases)
    return solve_equilibrium(net, x, y, method="cholesky").activities


def compute_linear_equilib_energy_grads(
    Ws: Sequence[ArrayLike],
    x: ArrayLike,
    y: ArrayLike,
    *,
    param_type: str = "sp",
    scalings: Sequence[float] | None = None,
    use_skips: bool = False,
    gamma: float | None = None,
    output_energy_scaling: float | None = None,
) -> list[Array]:
    """Gradient of ``F*`` w.r.t. each raw ``W_l``: a list of ``L`` arrays shaped like ``Ws``.

    By the envelope theorem, ``∂F*/∂W_l = −(a_l Λ_l / B) Σ_i e*_l z*_{l-1}ᵀ`` (the PC weight
    gradient
    at the inference equilibrium; theory.md §2.5 item 5).
    """
    net = network_from_jpc_keywords(Ws, param_type=param_type, scalings=scalings,
                                    use_skips=use_skips, gamma=gamma,
                                    output_energy_scaling=output_energy_scaling)
    return list(equilibrated_energy_gradient(net, x, y, method="gaussian").weights)
