"""Named tolerances, each with the bound that justifies it (float64, ``eps = 2.2e-16``).

Every comparison in ``linpc verify`` and in the tests uses one of these rules, so a tolerance is
never a bare number. References: N. J. Higham, *Accuracy and Stability of Numerical Algorithms*,
2nd ed. (SIAM 2002), cited as [Higham].
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "EPS",
    "MONTE_CARLO_SIGMAS",
    "RULES",
    "SAFETY",
    "derivative_tolerance",
    "eigenvalue_tolerance",
    "roundoff_tolerance",
    "solve_tolerance",
    "wishart_sigma",
]

EPS = float(np.finfo(np.float64).eps)
#: Safety factor applied to first-order error bounds (they hold up to O(eps²) terms and modest
#: constants that the bounds leave implicit).
SAFETY = 10.0
#: Number of standard deviations allowed for Monte Carlo estimates (two-sided p ≈ 6e-7 per entry).
MONTE_CARLO_SIGMAS = 5.0


def roundoff_tolerance(n_ops: int) -> float:
    """Relative tolerance for two evaluations of the same well-conditioned algebraic expression.

    Each of ``n_ops`` floating-point operations along a chain of products/sums contributes a
    relative error of at most ``eps`` ([Higham] §3.1, ``γ_n = n eps/(1 − n eps)``); the tolerance is
    ``SAFETY · n_ops · eps``.
    """
    return SAFETY * max(int(n_ops), 1) * EPS


def solve_tolerance(kappa: float, n: int) -> float:
    """Relative forward-error tolerance for comparing solutions of an SPD system.

    Cholesky (and QR least squares) are backward stable: the computed solution solves a system
    perturbed by a relative ``O(n eps)`` ([Higham] Thm 10.3, §20), so its relative forward error is
    at most about ``κ · n · eps`` ([Higham] Thm 7.2). Two such solutions differ by at most twice
    that; the tolerance is ``SAFETY · κ · n · eps``.
    """
    return SAFETY * float(kappa) * max(int(n), 1) * EPS


def eigenvalue_tolerance(n: int, norm2: float) -> float:
    """Absolute tolerance for symmetric eigenvalues: ``SAFETY · n · eps · ‖A‖₂``.

    A backward-stable symmetric eigensolver returns the eigenvalues of ``A + E`` with
    ``‖E‖₂ = O(n eps ‖A‖₂)``, and by Weyl's inequality each eigenvalue moves by at most ``‖E‖₂``
    ([Higham] §3; Golub & Van Loan Thm 8.1.5). Small eigenvalues therefore have large *relative*
    errors; compare absolutely.
    """
    return SAFETY * max(int(n), 1) * EPS * float(norm2)


def derivative_tolerance(error_estimate: float, step: float, f_scale: float,
                         f_condition: float = 1.0) -> float:
    """Tolerance for analytic vs finite-difference derivatives (``scipy.differentiate``).

    Two error sources: truncation, estimated by ``scipy.differentiate`` from the difference of its
    last two Richardson-extrapolated iterates (``error_estimate``), and cancellation, which for a
    difference quotient with final step ``step`` of a function of size ``f_scale`` evaluated with
    relative error ``f_condition · eps`` is at most about ``f_condition · eps · f_scale / step``
    (times the sum of the absolute stencil weights, absorbed in ``SAFETY``). The tolerance is
    ``SAFETY`` times their sum; the error estimate alone can underestimate once round-off
    dominates.
    """
    return SAFETY * (float(error_estimate)
                     + float(f_condition) * EPS * abs(float(f_scale)) / float(step))


def wishart_sigma(S: np.ndarray, n_samples: int) -> np.ndarray:
    """Standard deviation of each entry of a sample covariance of ``n_samples`` Gaussian draws.

    For ``y ~ N(μ, S)`` and the covariance estimate with known mean,
    ``Var(Ŝ_ij) = (S_ij² + S_ii S_jj)/n`` (Wishart moments; Anderson, *An Introduction to
    Multivariate Statistical Analysis*, 3rd ed., Thm 7.3.2). With the sample mean subtracted the
    variance is the same to first order in ``1/n``.
    """
    d = np.diag(S)
    return np.sqrt((S * S + np.outer(d, d)) / int(n_samples))


#: Human-readable statements of the rules, printed by ``linpc verify``.
RULES = {
    "roundoff": "SAFETY·k·eps, k = length of the operation chain (Higham §3.1)",
    "solve": "SAFETY·κ·n·eps: backward-stable SPD solve, κ-scaled forward error "
             "(Higham Thm 7.2, 10.3)",
    "eigen": "SAFETY·n·eps·‖A‖₂ absolute (Weyl + backward stability)",
    "fd": "SAFETY·(scipy.differentiate error estimate + cond·eps·|f|/h), h = final step",
    "mc": f"{MONTE_CARLO_SIGMAS:g}σ, σ² = (S_ij² + S_ii S_jj)/n (Wishart)",
    "gd": "GD stops at ‖g‖ ≤ tol‖g₀‖ ⇒ ‖z − z*‖ ≤ ‖g‖/λ_min; energy gap ≤ ‖g‖²/(2λ_min)",
    "slope": "log–log slope within ±0.1 of the predicted order",
    "exact": "structural: must hold exactly (0 error)",
}
