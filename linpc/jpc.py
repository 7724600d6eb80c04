"""Every jpc-compatible function: plain functions of ``(Ws, x, y, *, …)`` with jpc's names.

These mirror the names and keywords of jpc's theoretical tools (thebuckleylab/jpc,
``jpc/_core/_analytical.py``) on numpy arrays: ``Ws`` is a list of ``(out, in)`` weight matrices,
data are batch-first, energies are normalised by ``1/(2B)``. Each builds a
:class:`linpc.LinearPCN` with :func:`network_from_jpc_keywords` and calls the native function of
the theory area it belongs to, so the keywords mean the same everywhere and these shims add no
mathematics of their own:

=========================================  ===========================================
jpc name                                   native computation
=========================================  ===========================================
``linear_equilib_energy``                  :func:`~linpc.core.equilibrium.equilibrated_energy`
``compute_linear_equilib_rescaling``       :func:`~linpc.core.equilibrium.equilibrium_rescaling`
``compute_linear_activity_hessian``        :meth:`~linpc.ActivityHessian.to_dense`
``compute_linear_activity_solution``       :func:`~linpc.core.equilibrium.solve_equilibrium`
``compute_linear_equilib_energy_grads``    :func:`~linpc.equilibrated_energy_gradient`
``equilib_energy_hessian``                 :func:`~linpc.equilibrated_energy_hessian`
``mse_loss_hessian``                       :func:`~linpc.landscape.hessians.mse_hessian`
``activity_hessian_extreme_eigenvalues``   :meth:`~linpc.ActivityHessian.extreme_eigenvalues`
``activity_hessian_condition_number``      :meth:`~linpc.ActivityHessian.extreme_eigenvalues`
=========================================  ===========================================

They are correct in every configuration, including those where jpc's own helpers are not
(docs/theory.md §8.8: ``gamma`` with ``"sp"``/``"ntp"``, ``"ntp"`` with skips): the multipliers
are always those of :func:`linpc.core.parameterisation.layer_scalings` (per fan-in), or
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

import re
from collections.abc import Sequence
from typing import Literal

from numpy.typing import ArrayLike

from linpc.core.activity_hessian import ActivityHessian
from linpc.core.equilibrium import (
    equilibrated_energy,
    equilibrated_energy_gradient,
    equilibrium_rescaling,
    solve_equilibrium,
)
from linpc.core.network import LinearPCN
from linpc.landscape.hessians import (
    EquilibratedEnergyHessian,
    MSEHessian,
    equilibrated_energy_hessian,
    mse_hessian,
)
from linpc.numerics.threads import thread_policy
from linpc.numerics.types import Array
from linpc.numerics.validation import check_bool, check_choice, check_tolerance

__all__ = [
    "activity_hessian_condition_number", "activity_hessian_extreme_eigenvalues",
    "compute_linear_activity_hessian", "compute_linear_activity_solution",
    "compute_linear_equilib_energy_grads", "compute_linear_equilib_rescaling",
    "equilib_energy_hessian", "linear_equilib_energy", "mse_loss_hessian",
    "network_from_jpc_keywords",
]
EigenMethod = Literal["auto", "banded", "lanczos", "dense"]


@thread_policy
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
    function of linpc, so the keywords mean the same everywhere).

    Bad input raises the network's TypeError or ValueError, with the weights named as the caller
    passed them: ``Ws[2] (W_3, the weights of layer 3) has shape …``.
    """
    try:
        return LinearPCN(Ws, biases=biases, param_type=param_type, scalings=scalings,
                         use_skips=use_skips, gamma=gamma,
                         output_energy_scaling=output_energy_scaling,
                         activity_decay=activity_decay)
    except (TypeError, ValueError) as exc:
        # LinearPCN calls its argument ``weights``; the jpc functions call it ``Ws``
        raise type(exc)(_WEIGHTS_NAME.sub("Ws", str(exc))) from None


#: ``weights`` where LinearPCN's messages name its argument (``weights[1] (W_2, …)``,
#: ``weights must be …``, ``weights has 1``), not in prose such as "the weights of layer 2".
_WEIGHTS_NAME = re.compile(r"\bweights(?=\[| must| has )")


@thread_policy
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
    return_rescaling = check_bool(return_rescaling, "return_rescaling")
    net = network_from_jpc_keywords(Ws, param_type=param_type, scalings=scalings,
                                    use_skips=use_skips, gamma=gamma,
                                    output_energy_scaling=output_energy_scaling, biases=biases)
    F = equilibrated_energy(net, x, y, method="gaussian")
    if return_rescaling:
        return F, equilibrium_rescaling(net, method="gaussian")
    return F


@thread_policy
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
    .. [1] Innocenti et al., NeurIPS 2024, arXiv:2408.11979, Theorem 1; docs/theory.md §2.1.
    """
    net = network_from_jpc_keywords(Ws, param_type=param_type, scalings=scalings,
                                    use_skips=use_skips, gamma=gamma,
                                    output_energy_scaling=output_energy_scaling)
    return equilibrium_rescaling(net, method="gaussian")


@thread_policy
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
    ``−M_{l+1}ᵀ`` (above), ``Λ_L = λ`` (docs/theory.md §1.2; Innocenti et al. 2025,
    arXiv:2505.13124).
    ``diag``/``off_diag`` keep only those parts (jpc's switches). For large networks use
    :class:`linpc.ActivityHessian` (banded/block views, factorisation, spectrum) instead.
    """
    diag, off_diag = check_bool(diag, "diag"), check_bool(off_diag, "off_diag")
    net = network_from_jpc_keywords(Ws, param_type=param_type, scalings=scalings,
                                    use_skips=use_skips, gamma=gamma,
                                    output_energy_scaling=output_energy_scaling)
    return ActivityHessian(net).to_dense(diag=diag, off_diag=off_diag)


@thread_policy
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


@thread_policy
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
    at the inference equilibrium; docs/theory.md §2.5.5).
    """
    net = network_from_jpc_keywords(Ws, param_type=param_type, scalings=scalings,
                                    use_skips=use_skips, gamma=gamma,
                                    output_energy_scaling=output_energy_scaling)
    return list(equilibrated_energy_gradient(net, x, y, method="gaussian").weights)


@thread_policy
def activity_hessian_extreme_eigenvalues(
    Ws: Sequence[ArrayLike],
    *,
    param_type: str = "sp",
    scalings: Sequence[float] | None = None,
    use_skips: bool = False,
    gamma: float | None = None,
    output_energy_scaling: float | None = None,
    activity_decay: float = 0.0,
    method: EigenMethod = "auto",
    tol: float = 1e-12,
) -> tuple[float, float]:
    """Smallest and largest eigenvalue ``(λ_min, λ_max)`` of the per-sample activity Hessian.

    ``H_z`` has diagonal blocks ``I + λ_{l+1} M_{l+1}ᵀ M_{l+1}`` (``λ_{l+1} = 1`` except the output
    precision ``λ_L = λ``), plus ``δ I`` with an activity decay, and off-diagonal blocks
    ``−M_{l+1}`` (docs/theory.md §1.2; Innocenti et al., μPC, NeurIPS 2025, arXiv:2505.13124). It
    depends on ``W_2, …, W_L`` only. No dense matrix is formed.

    Parameters
    ----------
    Ws : sequence of array_like
        ``[W_1, …, W_L]``, ``W_l`` of shape ``(n_l, n_{l-1})``.
    param_type, scalings, use_skips, gamma, output_energy_scaling, activity_decay
        As in :class:`linpc.LinearPCN` (jpc's keywords).
    method : {"auto", "banded", "lanczos", "dense"}
        See :meth:`linpc.ActivityHessian.extreme_eigenvalues`; ``"auto"`` uses LAPACK's banded
        eigensolver while ``n² u`` is small and Lanczos with block Cholesky solves beyond.
    tol : float
        Relative tolerance of the Lanczos iteration.

    Returns
    -------
    (float, float)
        ``(λ_min, λ_max)``. For the accuracy achieved use
        ``linpc.ActivityHessian(net).extreme_eigenvalues()``, which also returns error bounds.
        When ``H_z`` is too ill-conditioned for float64 to resolve ``λ_min`` (below
        :func:`linpc.numerics.tolerances.eigenvalue_floor`), ``λ_min`` is an upper bound and an
        :class:`~linpc.IllConditionedWarning` says so (never a negative eigenvalue).
    """
    check_choice(method, "method", ("auto", "banded", "lanczos", "dense"))
    check_tolerance(tol, "tol")
    net = network_from_jpc_keywords(Ws, param_type=param_type, scalings=scalings,
                                    use_skips=use_skips, gamma=gamma,
                                    output_energy_scaling=output_energy_scaling,
                                    activity_decay=activity_decay)
    ev = ActivityHessian(net).extreme_eigenvalues(method=method, tol=tol)
    return float(ev.lambda_min), float(ev.lambda_max)


@thread_policy
def activity_hessian_condition_number(
    Ws: Sequence[ArrayLike],
    *,
    param_type: str = "sp",
    scalings: Sequence[float] | None = None,
    use_skips: bool = False,
    gamma: float | None = None,
    output_energy_scaling: float | None = None,
    activity_decay: float = 0.0,
    method: EigenMethod = "auto",
    tol: float = 1e-12,
) -> float:
    """``κ(H_z) = λ_max(H_z)/λ_min(H_z)``, the 2-norm condition number of inference.

    Gradient-descent inference with the best fixed step contracts the error by
    ``(κ − 1)/(κ + 1)`` per step (docs/theory.md §1.3). Keywords as in
    :func:`activity_hessian_extreme_eigenvalues`. When ``λ_min`` is below what float64 can
    resolve, a lower bound of ``κ`` is returned with an :class:`~linpc.IllConditionedWarning`
    (:attr:`linpc.ExtremeEigenvalues.certified`); never a negative number.
    """
    net = network_from_jpc_keywords(Ws, param_type=param_type, scalings=scalings,
                                    use_skips=use_skips, gamma=gamma,
                                    output_energy_scaling=output_energy_scaling,
                                    activity_decay=activity_decay)
    return float(ActivityHessian(net).extreme_eigenvalues(method=method,
                                                          tol=tol).condition_number)


@thread_policy
def equilib_energy_hessian(
    Ws: Sequence[ArrayLike],
    x: ArrayLike,
    y: ArrayLike,
    *,
    param_type: str = "sp",
    scalings: Sequence[float] | None = None,
    use_skips: bool = False,
    gamma: float | None = None,
    output_energy_scaling: float | None = None,
    matrix_free: bool = False,
    biases: Sequence[ArrayLike | None] | None = None,
) -> Array | EquilibratedEnergyHessian:
    """Hessian of jpc's ``linear_equilib_energy`` w.r.t. all weights, in linpc's order.

    ``F* = (1/2B)Σ_i r_iᵀS⁻¹r_i``, ``S = λ⁻¹I + Σ_{l=2}^{L} M_{L:l}M_{L:l}ᵀ`` (P1 Theorem 1), with
    the multipliers of ``param_type`` (or ``scalings``), identity skips, ``gamma`` and output
    precision ``λ = output_energy_scaling``. Parameter order: ``W_1..W_L`` row-major (then the
    biases, if given). Computed as the Schur complement of the joint ``(z, θ)`` Hessian
    (:func:`equilibrated_energy_hessian`).

    Parameters
    ----------
    Ws : sequence of array_like
        ``[W_1, …, W_L]``, ``W_l`` of shape ``(n_l, n_{l-1})``.
    x, y : array_like
        ``(B, d_x)``, ``(B, d_y)``.
    matrix_free : bool
        Return a ``LinearOperator`` with exact products instead of a dense ``(P, P)`` array.
    biases : sequence, optional
        Raw biases (a linpc extension).

    Returns
    -------
    ndarray of shape (P, P), or EquilibratedEnergyHessian
    """
    matrix_free = check_bool(matrix_free, "matrix_free")
    net = network_from_jpc_keywords(Ws, param_type=param_type, scalings=scalings,
                                    use_skips=use_skips, gamma=gamma,
                                    output_energy_scaling=output_energy_scaling, biases=biases)
    return equilibrated_energy_hessian(net, x, y, matrix_free=matrix_free)


@thread_policy
def mse_loss_hessian(
    Ws: Sequence[ArrayLike],
    x: ArrayLike,
    y: ArrayLike,
    *,
    param_type: str = "sp",
    scalings: Sequence[float] | None = None,
    use_skips: bool = False,
    gamma: float | None = None,
    output_energy_scaling: float | None = None,
    matrix_free: bool = False,
    biases: Sequence[ArrayLike | None] | None = None,
    mean_over_outputs: bool = False,
) -> Array | MSEHessian:
    """Hessian of the MSE ``ℒ = (1/2B)Σ‖y − M_{L:1}x‖²`` w.r.t. all weights (linpc's order).

    Same keywords as :func:`equilib_energy_hessian` (``output_energy_scaling`` is accepted for
    symmetry and does not affect ``ℒ``); ``mean_over_outputs=True`` gives the Hessian of ``ℒ/d_y``,
    the convention of P1's Hessian notebooks (docs/theory.md §0).
    """
    matrix_free = check_bool(matrix_free, "matrix_free")
    mean_over_outputs = check_bool(mean_over_outputs, "mean_over_outputs")
    net = network_from_jpc_keywords(Ws, param_type=param_type, scalings=scalings,
                                    use_skips=use_skips, gamma=gamma,
                                    output_energy_scaling=output_energy_scaling, biases=biases)
    return mse_hessian(net, x, y, matrix_free=matrix_free, mean_over_outputs=mean_over_outputs)
