"""Reporting ill-conditioning: a warning class and the accuracy rule used by the solvers."""

from __future__ import annotations

import warnings

import numpy as np
from scipy.linalg import LinAlgWarning

__all__ = ["IllConditionedWarning", "expected_relative_error", "warn_if_ill_conditioned"]

EPS = float(np.finfo(np.float64).eps)


class IllConditionedWarning(LinAlgWarning):
    """A linear system is too ill-conditioned for the accuracy that was requested.

    Subclasses :class:`scipy.linalg.LinAlgWarning`, so filters on SciPy's warning apply.
    """


def expected_relative_error(kappa: float, n: int = 1) -> float:
    """First-order forward error bound ``κ · n · eps`` of a backward-stable solve.

    A backward-stable Cholesky solve returns the exact solution of a system perturbed by a
    relative ``O(n eps)``; the relative forward error is then at most about ``κ`` times that
    (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., Thm 7.2 and §10.1). The
    linear factor ``n`` is pessimistic in practice; it is kept so the bound is a bound.
    """
    return float(kappa) * max(int(n), 1) * EPS


def warn_if_ill_conditioned(kappa: float, rtol: float, what: str, *, stacklevel: int = 3) -> None:
    """Warn with :class:`IllConditionedWarning` when ``κ·eps`` exceeds the requested ``rtol``.

    The test uses ``κ·eps`` (not the pessimistic ``κ·n·eps``): if even that exceeds ``rtol``, no
    float64 algorithm can be trusted to deliver ``rtol``.
    """
    if not np.isfinite(kappa) or kappa * EPS > rtol:
        warnings.warn(
            f"{what} is ill-conditioned: condition number κ ≈ {kappa:.3g}, so the expected "
            f"relative error of the solution is ≈ κ·eps = {kappa * EPS:.2g}, above the requested "
            f"rtol = {rtol:.2g}",
            IllConditionedWarning,
            stacklevel=stacklevel,
        )
