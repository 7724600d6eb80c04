"""Reporting ill-conditioning: a warning class and the rule that decides when to raise it.

A closed-form solve with condition number ``κ`` delivers a relative forward error of about
``κ·eps`` at best ([Higham] Thm 7.2). The solvers of linpc estimate ``κ`` and compare ``κ·eps``
with the caller's largest acceptable error, the keyword ``warn_if_error_above`` (default
:data:`DEFAULT_ERROR_WARNING`; ``None`` never warns): ill-conditioning is reported, never hidden.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.linalg import LinAlgWarning

from linpc.numerics.tolerances import EPS

__all__ = ["DEFAULT_ERROR_WARNING", "IllConditionedWarning", "warn_if_ill_conditioned"]

#: Default largest acceptable expected relative error ``κ·eps`` of a closed-form solve: beyond
#: ``1e-8`` fewer than half of the float64 digits can be trusted.
DEFAULT_ERROR_WARNING = 1e-8


class IllConditionedWarning(LinAlgWarning):
    """A linear system is too ill-conditioned for the accuracy that was requested.

    Subclasses :class:`scipy.linalg.LinAlgWarning`, so filters on SciPy's warning apply.
    """


def warn_if_ill_conditioned(kappa: float, error_above: float | None, what: str, *,
                            stacklevel: int = 3) -> None:
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
        Passed to :func:`warnings.warn` (3 points at the caller of the solver).
    """
    if error_above is None:
        return
    if not np.isfinite(kappa) or kappa * EPS > error_above:
        warnings.warn(
            f"{what} is ill-conditioned: condition number κ ≈ {kappa:.3g}, so the expected "
            f"relative error of the solution is ≈ κ·eps = {kappa * EPS:.2g}, above the acceptable "
            f"{error_above:.2g} (warn_if_error_above)",
            IllConditionedWarning,
            stacklevel=stacklevel,
        )
