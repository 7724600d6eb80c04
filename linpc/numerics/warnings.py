"""Reporting numerical trouble: ill-conditioning, unresolved eigenvalues, non-convergence, overflow.

A closed-form solve with condition number ``κ`` delivers a relative forward error of about
``κ·eps`` at best ([Higham] Thm 7.2). The solvers of linpc estimate ``κ`` and compare ``κ·eps``
with the caller's largest acceptable error, the keyword ``warn_if_error_above`` (default
:data:`DEFAULT_ERROR_WARNING`; ``None`` never warns): ill-conditioning is reported, never hidden.

No silent wrong number: a condition number of an SPD matrix is either certified or returned as a
bound with an :class:`IllConditionedWarning` (:func:`spd_condition_number`, with the floor of
:func:`linpc.numerics.tolerances.eigenvalue_floor`); an iteration that stops before its tolerance
warns with :class:`NotConvergedWarning`; a quantity that leaves the float64 range raises
:class:`LayerOverflowError`, naming the layer (:func:`check_layer_finite`).
"""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np
from scipy.linalg import LinAlgWarning

from linpc.numerics.tolerances import EPS, eigenvalue_floor, eigenvalue_tolerance

__all__ = [
    "DEFAULT_ERROR_WARNING", "FLOAT64_MAX", "IllConditionedWarning", "LayerOverflowError",
    "NotConvergedWarning", "check_layer_finite", "spd_condition_number", "user_stacklevel",
    "warn_if_ill_conditioned",
]

#: Default largest acceptable expected relative error ``κ·eps`` of a closed-form solve: beyond
#: ``1e-8`` fewer than half of the float64 digits can be trusted.
DEFAULT_ERROR_WARNING = 1e-8
#: The largest float64, ``1.8e308``: beyond it a result overflows to ``inf`` (and then ``nan``).
FLOAT64_MAX = float(np.finfo(np.float64).max)


#: The directory of the linpc package: frames inside it are skipped by :func:`user_stacklevel`.
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def user_stacklevel() -> int:
    """The ``stacklevel`` that makes a warning raised by the calling function point at the first
    frame outside linpc (the user's call), however deep inside linpc the warning is raised."""
    frame = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR + os.sep):
        frame = frame.f_back
        level += 1
    return level


class IllConditionedWarning(LinAlgWarning):
    """A linear system is too ill-conditioned for the accuracy that was requested.

    Subclasses :class:`scipy.linalg.LinAlgWarning`, so filters on SciPy's warning apply.
    """


class NotConvergedWarning(LinAlgWarning):
    """An iteration stopped (at its step limit) before reaching the requested tolerance.

    The value returned is the last iterate, with the accuracy actually achieved stated in the
    message (and, where the result has one, in its error bound). Subclasses
    :class:`scipy.linalg.LinAlgWarning`.
    """


class LayerOverflowError(OverflowError):
    """A quantity of one layer left the float64 range (``|·| > 1.8e308``): the number would be
    ``inf`` or ``nan``.

    Raised instead of returning it; the message names the computation and the layer (1-based, as
    in the docs). Subclasses :class:`OverflowError`.

    Attributes
    ----------
    layer : int
        The layer at which the overflow first happens.
    n_layers : int
        The number of layers counted (``L`` for layers, ``H`` for hidden layers).
    """

    def __init__(self, message: str, *, layer: int, n_layers: int) -> None:
        super().__init__(message)
        self.layer = int(layer)
        self.n_layers = int(n_layers)


def check_layer_finite(values: np.ndarray, *, what: str, layer: int, n_layers: int,
                       cause: str, previous: np.ndarray | None = None,
                       unit: str = "layer") -> None:
    """Raise :class:`LayerOverflowError` unless every entry of ``values`` is finite.

    The test first sums ``values`` (no temporary array) and looks at the entries only when the
    sum is not finite, so the check costs one pass over the layer.

    Parameters
    ----------
    values : ndarray
        The quantity of the layer (e.g. the forward activities of layer ``layer``).
    what : str
        What overflows, for the message (e.g. ``"the forward pass"``).
    layer, n_layers : int
        The layer (1-based, as in the docs) and the number of layers counted.
    cause : str
        The explanation and the remedy appended to the message.
    previous : ndarray, optional
        The input of the layer; its largest magnitude is reported.
    unit : str
        ``"layer"`` (layers ``1..L``) or ``"hidden layer"`` (``1..H``), for the message.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.sum(values)
    if np.isfinite(total) or np.all(np.isfinite(values)):
        return
    detail = ""
    if previous is not None and previous.size:
        detail = f"; the largest magnitude entering it is {float(np.max(np.abs(previous))):.3g}"
    raise LayerOverflowError(
        f"{what} overflows at {unit} {layer} of {n_layers} (|value| > {FLOAT64_MAX:.2g}, the "
        f"largest float64{detail}): {cause}",
        layer=layer, n_layers=n_layers,
    )


def spd_condition_number(lambda_min: float, lambda_max: float, n: int, what: str, *,
                         error: float | None = None, warn: bool = True) -> tuple[float, bool]:
    """``κ = λ_max/λ_min`` of an SPD matrix from computed extreme eigenvalues: certified or a bound.

    With ``δ`` the absolute error of the eigenvalues (default
    :func:`~linpc.numerics.tolerances.eigenvalue_tolerance` ``(n, λ_max)``), ``λ_min`` is resolved
    when ``λ̃_min ≥ 2δ`` (:func:`~linpc.numerics.tolerances.eigenvalue_floor`); then ``κ =
    λ̃_max/λ̃_min`` is returned with ``certified=True``. Otherwise (including a negative or zero
    computed ``λ_min``, which is round-off for an SPD matrix) the lower bound
    ``κ ≥ (λ̃_max − δ)/(max(λ̃_min, 0) + δ)`` is returned with ``certified=False`` and, when
    ``warn``, an :class:`IllConditionedWarning` that says so.

    Parameters
    ----------
    lambda_min, lambda_max : float
        Computed extreme eigenvalues.
    n : int
        Order of the matrix.
    what : str
        Name of the matrix for the message.
    error : float, optional
        Absolute error bound of the computed eigenvalues.
    warn : bool
        Warn when the result is a bound (the warning points at the caller outside linpc).

    Returns
    -------
    (float, bool)
        ``κ`` (or its lower bound) and whether it is certified.
    """
    lo, hi = float(lambda_min), float(lambda_max)
    delta = eigenvalue_tolerance(n, abs(hi)) if error is None else float(error)
    floor = eigenvalue_floor(n, abs(hi)) if error is None else 2.0 * delta
    if lo >= floor and lo > 0:
        return hi / lo, True
    upper = max(lo, 0.0) + delta
    kappa = (hi - delta) / upper if upper > 0 else np.inf
    if warn:
        warnings.warn(
            f"{what} is too ill-conditioned for float64 to resolve its smallest eigenvalue: the "
            f"computed λ_min = {lo:.3g} is below the floor {floor:.3g} that can be certified "
            f"(twice the error bound {delta:.3g} of its computed eigenvalues, n = {n}; "
            f"linpc.numerics.eigenvalue_floor), so only the bounds λ_min ≤ {upper:.3g} and "
            f"κ ≥ {kappa:.3g} are returned",
            IllConditionedWarning, stacklevel=user_stacklevel(),
        )
    return kappa, False


def warn_if_ill_conditioned(kappa: float, error_above: float | None, what: str, *,
                            stacklevel: int = 3, lower_bound: bool = False) -> None:
    """Warn with :class:`IllConditionedWarning` when ``κ·eps`` exceeds ``error_above``.

    The test uses ``κ·eps`` (not the pessimistic ``κ·n·eps`` of
    :func:`linpc.numerics.tolerances.solve_tolerance`): if even that exceeds the acceptable error,
    no float64 algorithm can be trusted to deliver it. A non-finite ``κ`` always warns;
    ``error_above=None`` never does.

    Parameters
    ----------
    kappa : float
        Condition number estimate of the system solved.
    error_above : float or None
        Largest acceptable expected relative error.
    what : str
        Name of the system for the message (e.g. ``"the activity Hessian H_z"``).
    stacklevel : int
        Smallest level passed to :func:`warnings.warn`; the warning points at the first frame
        outside linpc (:func:`user_stacklevel`) when that is further out.
    lower_bound : bool
        ``kappa`` is only a lower bound (:func:`spd_condition_number`); the message says so.
    """
    if error_above is None:
        return
    if not np.isfinite(kappa) or kappa * EPS > error_above:
        approx = "≥" if lower_bound else "≈"
        warnings.warn(
            f"{what} is ill-conditioned: condition number κ {approx} {kappa:.3g}, so the expected "
            f"relative error of the solution is ≈ κ·eps = {kappa * EPS:.2g}, above the acceptable "
            f"{error_above:.2g} (warn_if_error_above)",
            IllConditionedWarning,
            stacklevel=max(stacklevel, user_stacklevel()),
        )
