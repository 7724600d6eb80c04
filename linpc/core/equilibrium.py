"""Closed-form inference equilibrium z*, equilibrated energy F*, rescaling S and ∇F*.

Two independent routes compute the same quantities (docs/theory.md §1.3, §2.2):

1. **The activity system** (``method="cholesky"``, or ``"banded"`` for LAPACK's banded Cholesky):
   ``∇_z F = H_z z − b = 0``, solved with one block Cholesky factorisation of the block-tridiagonal
   ``H_z`` for all samples; then ``F* = F(z*)`` and ``S⁻¹ = λI − λ² M_L [H_z⁻¹]_{HH} M_Lᵀ``
   with ``[H_z⁻¹]_{HH} = (G_HH G_HHᵀ)⁻¹`` read off the last diagonal block of the factor.
2. **Gaussian conditioning** (``method="gaussian"``): ``S`` from the covariance recursion and
   ``z*_l = ẑ_l + C_l S⁻¹ r`` (:mod:`linpc.core.gaussian`); never touches ``H_z``.

The equilibrated energy is the rescaled MSE of Innocenti et al. (NeurIPS 2024,
arXiv:2408.11979, Theorem 1), generalised to multipliers, skips, biases and precisions:

    F* = (1/2B) Σ_i r_iᵀ S⁻¹ r_i,    S = Σ_{l=1}^{L} π_l⁻¹ M_{L:l+1} M_{L:l+1}ᵀ.

Its gradient is, by the envelope theorem, the PC weight gradient evaluated at the equilibrium:
``∂F*/∂W_l = −(a_l π_l/B) Σ_i e*_l z*_{l-1}ᵀ`` (docs/theory.md §1.1, §2.5.5).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import scipy.linalg as sla
from numpy.typing import ArrayLike

from linpc.core.activity_hessian import ActivityHessian
from linpc.core.energy import energy_parameter_gradient, prediction_errors
from linpc.core.gaussian import cross_covariances, gaussian_conditioning, require_gaussian_chain
from linpc.core.network import LinearPCN, check_network
from linpc.core.parameter_arrays import ParameterArrays
from linpc.numerics.threads import thread_policy
from linpc.numerics.tolerances import eigenvalue_floor
from linpc.numerics.types import Array
from linpc.numerics.validation import check_bool, check_instance, check_tolerance
from linpc.numerics.warnings import (
    DEFAULT_ERROR_WARNING,
    check_layer_finite,
    spd_condition_number,
    warn_if_ill_conditioned,
)

__all__ = [
    "Equilibrium", "activity_rhs", "equilibrated_energy", "equilibrated_energy_gradient",
    "equilibrium_rescaling", "solve_equilibrium",
]
Method = Literal["auto", "cholesky", "banded", "gaussian"]


@dataclass(frozen=True)
class Equilibrium:
    """The inference equilibrium of a batch.

    Attributes
    ----------
    activities : list of ndarray
        ``z*_1, …, z*_H``, each ``(B, n_l)``.
    errors : list of ndarray
        ``e*_1, …, e*_L``, each ``(B, n_l)``.
    residual : ndarray
        Feedforward residual ``r = y − ŷ``, ``(B, d_y)``.
    rescaled_residual : ndarray
        ``δ = S⁻¹ r = π_L e*_L``, ``(B, d_y)`` (with an activity decay: ``π_L e*_L``).
    energies : ndarray
        Per-sample equilibrated energies ``F*_i = ½ r_iᵀ S⁻¹ r_i``, ``(B,)``.
    method : str
        Route used.
    condition_number : float or None
        Condition-number estimate of the system solved (``H_z`` for the activity routes, ``S`` for
        the Gaussian route); ``None`` when not estimated. For ``S``, when its smallest
        eigenvalue is below the floor that float64 can certify
        (:func:`linpc.numerics.tolerances.eigenvalue_floor`), a lower bound, which the
        ill-conditioning warning states as ``κ ≥ …``.
    """

    activities: list[Array]
    errors: list[Array]
    residual: Array
    rescaled_residual: Array
    energies: Array
    method: str
    condition_number: float | None = field(default=None)

    @property
    def energy(self) -> float:
        """Batch-mean equilibrated energy ``F* = (1/B) Σ_i F*_i``."""
        return float(np.mean(self.energies))


@thread_policy
def activity_rhs(net: LinearPCN, x: ArrayLike, y: ArrayLike) -> Array:
    """Right-hand side ``b`` of ``H_z z* = b`` for each sample, shape ``(B, n)``.

    ``b = −∇_z F(0)``: without biases ``b_1 = π_1 M_1 x``, ``b_H = π_L M_Lᵀ y`` (both if H = 1) and
    ``b_l = 0`` otherwise (docs/theory.md §1.3); biases add ``π_l c_l − π_{l+1} M_{l+1}ᵀ c_{l+1}``.
    """
    check_network(net)
    xa, ya = net.check_data(x, y)
    with np.errstate(over="ignore", invalid="ignore"):    # reported below, by layer
        b = _activity_rhs(net, xa, ya)
    for l, bl in enumerate(_layer_slices(net, b), start=1):
        check_layer_finite(
            bl, what="the right-hand side b = −∇_zF(0)", layer=l, n_layers=net.n_hidden,
            unit="hidden layer",
            cause="the data x, y or the weights acting on them are too large for float64")
    return b


def _activity_rhs(net: LinearPCN, xa: Array, ya: Array) -> Array:
    B, H, pi = xa.shape[0], net.n_hidden, net.precisions
    # prior means from the input and the biases: μ_1 = M_1 x + c_1, μ_l = c_l (l ≥ 2)
    mu = [net.predict_layer(1, xa)] + [net.layer_bias(l)[None, :] for l in range(2, H + 1)]
    b = []
    for l in range(1, H + 1):
        bl = np.broadcast_to(pi[l - 1] * mu[l - 1], (B, net.widths[l])).copy()
        if l < H and net.biases[l] is not None:
            bl -= pi[l] * net.apply_layer_transpose(l + 1, net.layer_bias(l + 1)[None, :])
        b.append(bl)
    b[-1] += pi[-1] * net.apply_layer_transpose(net.n_layers, ya - net.layer_bias(net.n_layers))
    return np.concatenate(b, axis=1)


def _check_options(warn_if_error_above, hessian, check_condition) -> bool:
    """Check the keywords shared by the equilibrium routines; returns ``check_condition``."""
    check_tolerance(warn_if_error_above, "warn_if_error_above", allow_none=True)
    if hessian is not None:
        check_instance(hessian, ActivityHessian, "hessian")
    return check_bool(check_condition, "check_condition")


def _resolve(net: LinearPCN, method: str) -> str:
    if method == "auto":
        if net.activity_decay:
            return "cholesky"
        return "gaussian" if net.d_y <= max(net.hidden_widths) else "cholesky"
    if method not in ("cholesky", "banded", "gaussian"):
        raise ValueError(
            f"unknown method {method!r}; expected 'auto', 'cholesky', 'banded' or 'gaussian'"
        )
    return method


def _spd_condition(A: Array) -> tuple[float, bool]:
    """2-norm condition number of a small SPD matrix (``d_y × d_y``) from its eigenvalues, and
    whether it is certified (else a lower bound; :func:`linpc.numerics.spd_condition_number`)."""
    w = np.linalg.eigvalsh(A)
    return spd_condition_number(w[0], w[-1], A.shape[0], "the rescaling S", warn=False)


def _layer_slices(net: LinearPCN, Z: Array) -> list[Array]:
    """Per-layer column blocks of stacked activities ``Z`` (B, n), unchecked: the overflow checks
    look at them before :meth:`LinearPCN.split_activities` would refuse non-finite values."""
    off = net.activity_offsets
    return [Z[:, off[i]:off[i + 1]] for i in range(net.n_hidden)]


def _check_equilibrium(net: LinearPCN, Z: Array) -> None:
    """Raise :class:`~linpc.numerics.warnings.LayerOverflowError` naming the first hidden layer
    whose equilibrium activities left the float64 range."""
    for l, z in enumerate(_layer_slices(net, Z), start=1):
        check_layer_finite(
            z, what="the equilibrium activities", layer=l, n_layers=net.n_hidden,
            unit="hidden layer",
            cause="the solution of H_z z* = b is not representable: the data x, y (or the "
                  "first or last weights acting on them) are too large for float64, or H_z is "
                  "numerically singular (see ActivityHessian(net).extreme_eigenvalues())")


def _energies(net: LinearPCN, errs: list[Array]) -> Array:
    """Per-sample ``Σ_l (π_l/2)‖e*_l‖²``, each layer's term checked for overflow."""
    L = net.n_layers
    total = np.zeros(errs[0].shape[0])
    for l, (p, e) in enumerate(zip(net.precisions, errs, strict=True), start=1):
        with np.errstate(over="ignore", invalid="ignore"):
            t = 0.5 * p * np.sum(e * e, axis=1)
        check_layer_finite(t, what="the equilibrated energy", layer=l, n_layers=L, previous=e,
                           cause=f"the term (π_{l}/2)‖e*_{l}‖² of layer {l} exceeds the float64 "
                                 "range: the data or the weights are too large for float64")
        total += t
    return total


@thread_policy
def solve_equilibrium(
    net: LinearPCN,
    x: ArrayLike,
    y: ArrayLike,
    *,
    method: Method = "cholesky",
    warn_if_error_above: float | None = DEFAULT_ERROR_WARNING,
    hessian: ActivityHessian | None = None,
    check_condition: bool = True,
) -> Equilibrium:
    """Exact inference equilibrium ``z* = argmin_z F`` for every sample of a batch.

    Parameters
    ----------
    net : LinearPCN
    x, y : array_like
        Batch ``(B, d_x)``, ``(B, d_y)`` (or one sample as 1-D arrays).
    method : {"cholesky", "banded", "gaussian", "auto"}
        ``"cholesky"``: block Cholesky of ``H_z`` (one factorisation, all samples as right-hand
        sides). ``"banded"``: LAPACK banded Cholesky of ``H_z``. ``"gaussian"``: conditioning in the
        linear-Gaussian model, ``z*_l = ẑ_l + C_l S⁻¹ r`` (docs/theory.md §1.3). ``"auto"``:
        Gaussian when ``d_y`` is at most the largest hidden width (cheaper), else Cholesky.
    warn_if_error_above : float or None
        Largest acceptable expected relative error: an :class:`~linpc.IllConditionedWarning`
        stating κ is raised when ``κ · eps`` exceeds it (default
        :data:`~linpc.numerics.warnings.DEFAULT_ERROR_WARNING`); ``None`` never warns.
    hessian : ActivityHessian, optional
        A precomputed ``H_z`` of ``net`` whose cached factor is reused.
    check_condition : bool
        Estimate the condition number (and warn, see ``warn_if_error_above``). Training
        loops that have checked it once may pass ``False`` to skip the estimate (a few solves).

    Returns
    -------
    Equilibrium
        Activities, errors, residual, ``δ = S⁻¹r``, per-sample ``F*`` and a condition estimate.

    Raises
    ------
    LayerOverflowError
        When the forward pass, the equilibrium activities or the energy leave the float64
        range: the message names the first such layer (:mod:`linpc.numerics.warnings`).
    numpy.linalg.LinAlgError
        When ``H_z`` (:class:`~linpc.NotPositiveDefiniteError`) or ``S`` is too ill-conditioned
        to be factored in float64.

    References
    ----------
    .. [1] Innocenti, Achour, Singh, Buckley, "Only Strict Saddles in the Energy Landscape of
       Predictive Coding Networks?", NeurIPS 2024, arXiv:2408.11979, Theorem 1.
    """
    check_network(net)
    check_condition = _check_options(warn_if_error_above, hessian, check_condition)
    xa, ya = net.check_data(x, y)
    method = _resolve(net, method)
    if method == "gaussian":
        acts, errs, r, delta, _, S = gaussian_conditioning(net, xa, ya)
        kappa = None
        if check_condition:
            kappa, certified = _spd_condition(S)
            warn_if_ill_conditioned(kappa, warn_if_error_above, "the rescaling S",
                                    lower_bound=not certified)
        _check_equilibrium(net, np.concatenate(acts, axis=1))
        with np.errstate(over="ignore", invalid="ignore"):
            energies = 0.5 * np.sum(r * delta, axis=1)
        check_layer_finite(energies, what="the equilibrated energy ½rᵀS⁻¹r", layer=net.n_layers,
                           n_layers=net.n_layers, previous=r,
                           cause="the residual is too large for float64")
        return Equilibrium(acts, errs, r, delta, energies, method, kappa)

    Hz = hessian if hessian is not None else ActivityHessian(net)
    if Hz.net is not net:
        raise ValueError("hessian was built for a different network")
    b = activity_rhs(net, xa, ya)
    kappa = None
    if method == "cholesky":
        Z = Hz.factor().solve(b.T).T
        if check_condition:
            kappa = 1.0 / Hz.rcond_estimate()
            warn_if_ill_conditioned(kappa, warn_if_error_above, "the activity Hessian H_z")
    else:
        Z = Hz.solve(b.T, method="banded").T
    _check_equilibrium(net, Z)
    zs = net.split_activities(Z)
    errs = prediction_errors(net, zs, xa, ya)
    pi = net.precisions
    energies = _energies(net, errs)
    if net.activity_decay:
        energies = energies + 0.5 * net.activity_decay * np.sum(Z * Z, axis=1)
    r = ya - net.forward(xa)[-1]
    return Equilibrium(zs, errs, r, pi[-1] * errs[-1], energies, method, kappa)


@thread_policy
def equilibrium_rescaling(
    net: LinearPCN,
    *,
    method: Literal["gaussian", "cholesky"] = "gaussian",
    inverse: bool = False,
    hessian: ActivityHessian | None = None,
) -> Array:
    """The rescaling ``S`` (or ``S⁻¹``) of the equilibrated energy, shape ``(d_y, d_y)``.

    ``S = Σ_{l=1}^{L} π_l⁻¹ M_{L:l+1} M_{L:l+1}ᵀ``; for the papers' setting (unit hidden precisions,
    output precision λ) ``S = λ⁻¹ I + Σ_{l=2}^{L} M_{L:l} M_{L:l}ᵀ`` (Innocenti et al. 2024,
    Theorem 1; docs/theory.md §2.1).

    Parameters
    ----------
    method : {"gaussian", "cholesky"}
        ``"gaussian"``: covariance recursion of the linear-Gaussian model. ``"cholesky"``: the
        Schur-complement identity ``S⁻¹ = λI − λ² M_L [H_z⁻¹]_{HH} M_Lᵀ`` (docs/theory.md §2.2.3)
        with ``[H_z⁻¹]_{HH}`` from the last block of the block Cholesky factor of ``H_z``.
    inverse : bool
        Return ``S⁻¹`` instead of ``S``. Route 1 computes ``S⁻¹`` natively, route 2 ``S``; the other
        is obtained by a Cholesky solve of the small ``d_y × d_y`` matrix.
    hessian : ActivityHessian, optional
        Reuse a factorised ``H_z`` (``method="cholesky"``).

    Raises
    ------
    numpy.linalg.LinAlgError
        With ``method="cholesky"``, when the computed ``S⁻¹`` has an eigenvalue below the floor
        ``2·SAFETY·d_y·eps·λ`` (:func:`linpc.numerics.tolerances.eigenvalue_floor`) of the
        cancellation ``λI − λ²(…)``: ``S`` is then too large for this route, whose result would
        be round-off (even indefinite); the Gaussian route has no such cancellation.
    LayerOverflowError
        When the covariance recursion leaves the float64 range (naming the layer).
    """
    check_network(net)
    inverse = check_bool(inverse, "inverse")
    _check_options(None, hessian, True)
    I = np.eye(net.d_y)
    require_gaussian_chain(net, "the rescaling S")
    if method == "gaussian":
        S = cross_covariances(net)[1]
        if not inverse:
            return S
        return _spd_inverse(S, "S")
    if method != "cholesky":
        raise ValueError(f"method must be 'gaussian' or 'cholesky', got {method!r}")
    Hz = hessian if hessian is not None else ActivityHessian(net)
    G_HH = Hz.factor().diag_factors[-1]
    ML_T = net.layer_map(net.n_layers).T                  # (n_H, d_y)
    K = sla.solve_triangular(G_HH, ML_T, lower=True, check_finite=False)
    lam = net.output_precision
    S_inv = lam * I - lam * lam * (K.T @ K)
    S_inv = 0.5 * (S_inv + S_inv.T)
    # S⁻¹ is the difference of two terms of norm ≤ λ: eigenvalues below the floor of that
    # cancellation are round-off (possibly negative), never a certified S⁻¹ or S
    w = np.linalg.eigvalsh(S_inv)
    floor = eigenvalue_floor(net.d_y, lam)
    if not w[0] >= floor:
        raise np.linalg.LinAlgError(
            f"S⁻¹ = λI − λ²M_L[H_z⁻¹]_HH M_Lᵀ cannot be resolved in float64: its computed "
            f"smallest eigenvalue {w[0]:.3g} is below the floor {floor:.3g} of the cancellation "
            f"between its two terms (2·SAFETY·d_y·eps·λ, λ = {lam:.3g}), i.e. ‖S‖ ≳ "
            f"{1 / floor:.2g}; use method='gaussian', which forms S without cancellation"
        )
    return S_inv if inverse else _spd_inverse(S_inv, "S⁻¹")


def _spd_inverse(A: Array, name: str) -> Array:
    """Inverse of a small SPD matrix by a Cholesky solve against the identity."""
    try:
        cf = sla.cho_factor(A, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        raise np.linalg.LinAlgError(
            f"{name} is not numerically positive definite (shape {A.shape}); the network's "
            "rescaling is too ill-conditioned for float64"
        ) from None
    Ainv = sla.cho_solve(cf, np.eye(A.shape[0]), check_finite=False)
    return 0.5 * (Ainv + Ainv.T)


@thread_policy
def equilibrated_energy(
    net: LinearPCN,
    x: ArrayLike,
    y: ArrayLike,
    *,
    per_sample: bool = False,
    method: Method = "auto",
    warn_if_error_above: float | None = DEFAULT_ERROR_WARNING,
) -> float | Array:
    """Equilibrated energy ``F* = min_z F = (1/2B) Σ_i r_iᵀ S⁻¹ r_i`` (a rescaled MSE).

    Parameters
    ----------
    net : LinearPCN
    x, y : array_like
        Batch ``(B, d_x)``, ``(B, d_y)``.
    per_sample : bool
        Return the ``(B,)`` per-sample values ``½ r_iᵀ S⁻¹ r_i``.
    method : {"auto", "cholesky", "banded", "gaussian"}
        Route (see :func:`solve_equilibrium`).
    warn_if_error_above : float or None
        Largest acceptable expected relative error ``κ·eps`` (see :func:`solve_equilibrium`).

    References
    ----------
    .. [1] Innocenti et al., NeurIPS 2024, arXiv:2408.11979, Theorem 1; docs/theory.md §2.1.
    """
    check_network(net)
    per_sample = check_bool(per_sample, "per_sample")
    eq = solve_equilibrium(net, x, y, method=method, warn_if_error_above=warn_if_error_above)
    return eq.energies if per_sample else eq.energy


@thread_policy
def equilibrated_energy_gradient(
    net: LinearPCN,
    x: ArrayLike,
    y: ArrayLike,
    *,
    method: Method = "auto",
    warn_if_error_above: float | None = DEFAULT_ERROR_WARNING,
    equilibrium: Equilibrium | None = None,
    check_condition: bool = True,
) -> ParameterArrays:
    """Gradient of ``F*`` w.r.t. the raw weights and biases: the PC update at equilibrium.

    By the envelope theorem (``∂F/∂z = 0`` at ``z*``), ``∇_θ F* = ∂F/∂θ |_{z = z*}``:

        ∂F*/∂W_l = −(a_l π_l / B) Σ_i e*_l z*_{l-1}ᵀ,     ∂F*/∂b_l = −(a_l π_l / B) Σ_i e*_l

    (docs/theory.md §1.1 and §2.5.5). No differentiation through a solver is involved.

    Parameters
    ----------
    equilibrium : Equilibrium, optional
        A precomputed equilibrium of the same batch.
    check_condition : bool
        Passed to :func:`solve_equilibrium`.
    """
    check_network(net)
    check_condition = _check_options(warn_if_error_above, None, check_condition)
    if equilibrium is not None:
        check_instance(equilibrium, Equilibrium, "equilibrium")
    eq = equilibrium if equilibrium is not None else solve_equilibrium(
        net, x, y, method=method, warn_if_error_above=warn_if_error_above,
        check_condition=check_condition)
    return energy_parameter_gradient(net, eq.activities, x, y)
