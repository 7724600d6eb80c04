"""Named tolerances, each with the bound that justifies it (float64, ``eps = 2.2e-16``).

Every comparison in ``linpc verify``, the figures and the tests uses one of these rules, so a
tolerance is never a bare number, and every module takes machine epsilon from here (:data:`EPS`).
Relative rules: :func:`roundoff_tolerance` (a chain of operations), :func:`solve_tolerance` (an SPD
solve, κ-scaled). Absolute rules: :func:`assembly_tolerance` (a sum of products and solves, e.g. a
Hessian or a gradient), :func:`eigenvalue_tolerance` (Weyl), :func:`eigenvalue_floor` (the smallest
eigenvalue of an SPD matrix that float64 can certify), :func:`derivative_tolerance` and
:func:`second_derivative_tolerance` (finite differences), :func:`stationarity_tolerance` and
:func:`model_value_tolerance` (the trust-region solver), :func:`wishart_sigma` (Monte Carlo).

References: N. J. Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed. (SIAM 2002),
cited as [Higham]; G. H. Golub, C. F. Van Loan, *Matrix Computations*, 4th ed.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "EPS", "MONTE_CARLO_SIGMAS", "RULES", "SAFETY", "assembly_tolerance", "derivative_tolerance",
    "eigenvalue_floor", "eigenvalue_tolerance", "model_value_tolerance", "roundoff_tolerance",
    "second_derivative_tolerance", "solve_tolerance", "stationarity_tolerance", "wishart_sigma",
]

#: Machine epsilon of float64, ``2⁻⁵²``: the unit of every rule below.
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


def assembly_tolerance(n_terms: int, scale: float, *, kappa: float = 1.0,
                       n_solve: int = 0) -> float:
    """Absolute round-off bound of a quantity assembled from sums of products and SPD solves.

    ``SAFETY · (P + κ·n) · eps · scale = scale · (roundoff_tolerance(P) + solve_tolerance(κ, n))``,
    with ``P`` the number of accumulated terms per entry (e.g. the parameters of a Hessian, or the
    widths along a gradient's chain of products), ``n`` the size of the SPD system solved on the
    way (the activities per sample) with condition number ``κ`` (``κ(H_z)``), and ``scale`` an upper
    bound of the 2-norms of the terms that are *summed* (for ``∇²F*``: ``‖F_θθ‖₂ +
    ‖F_θz H_z⁻¹F_zθ‖₂``; for ``∇²ℒ``: ``‖Gauss–Newton‖₂ + ‖residual term‖₂``; for a gradient: the
    running-error magnitude of :func:`linpc.landscape.critical_points.gradient_roundoff_tolerance`).

    Justification: each product is backward stable with relative error ``O(eps)`` per accumulated
    term ([Higham] §3.5); a solve carries a relative forward error ``≲ κ·n·eps`` ([Higham]
    Thm 7.2, 10.3), and the assembled quantity depends smoothly on it, so the computed value is
    ``exact + E`` with ``‖E‖₂ ≲ (P + κn)·eps·scale``. For a symmetric matrix the same bound holds
    for every eigenvalue by Weyl's inequality. The parts are used as the scale (not their sum)
    because they may cancel.
    """
    return SAFETY * (max(int(n_terms), 1) + float(kappa) * int(n_solve)) * EPS * float(scale)


def eigenvalue_tolerance(n: int, norm2: float) -> float:
    """Absolute tolerance for symmetric eigenvalues: ``SAFETY · n · eps · ‖A‖₂``.

    A backward-stable symmetric eigensolver returns the eigenvalues of ``A + E`` with
    ``‖E‖₂ = O(n eps ‖A‖₂)``, and by Weyl's inequality each eigenvalue moves by at most ``‖E‖₂``
    ([Higham] §3; Golub & Van Loan Thm 8.1.5). Small eigenvalues therefore have large *relative*
    errors; compare absolutely.
    """
    return SAFETY * max(int(n), 1) * EPS * float(norm2)


def eigenvalue_floor(n: int, norm2: float) -> float:
    """Smallest eigenvalue of an SPD matrix that float64 can certify: ``2·eigenvalue_tolerance``.

    Every float64 route to an extreme eigenvalue (a symmetric eigensolver, Lanczos with
    Cholesky solves, the Rayleigh quotient of a vector) works with ``A + E`` for some
    ``‖E‖₂ ≤ δ = eigenvalue_tolerance(n, ‖A‖₂) = SAFETY·n·eps·‖A‖₂`` (backward stability; a
    Cholesky factorisation of ``A − σI`` likewise factors a matrix within ``δ`` of it, [Higham]
    Thm 10.3), so a computed eigenvalue ``λ̃`` only says ``|λ − λ̃| ≤ δ`` (Weyl). An SPD matrix
    with ``λ_min ≤ δ`` is indistinguishable from a singular one, and the computed ``λ̃_min`` may
    be negative. The floor is ``2δ``: when ``λ̃_min ≥ 2δ``, ``λ_min ∈ [λ̃_min − δ, λ̃_min + δ]``
    is certified positive, within a factor ``[1/2, 3/2]`` of ``λ̃_min``, and so is
    ``κ = λ_max/λ_min`` within a factor 3; below the floor only the bounds ``λ_min ≤ max(λ̃_min,
    0) + δ`` and ``κ ≥ (λ̃_max − δ)/(max(λ̃_min, 0) + δ)`` hold. In terms of ``κ``: certified
    condition numbers reach about ``1/(2·SAFETY·n·eps) ≈ 2.3e14/n``.
    """
    return 2.0 * eigenvalue_tolerance(n, norm2)


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


def second_derivative_tolerance(error_estimate: float, step: float, f_scale: float,
                                f_condition: float = 1.0) -> float:
    """Tolerance for an analytic Hessian entry vs ``scipy.differentiate.hessian``.

    Two error sources, as in :func:`derivative_tolerance` but for a second
    difference quotient: truncation, estimated by ``scipy.differentiate`` (``error_estimate``, the
    change between its last two iterates), and cancellation: ``f`` of size ``f_scale`` evaluated
    with relative error ``f_condition · eps``, differenced twice with final step ``step``, gives at
    most about ``f_condition · eps · f_scale / step²`` (times the ℓ1 norm of the nested stencil
    weights, absorbed in ``SAFETY``). Returns ``SAFETY`` times their sum. Pass the *smallest* step
    the algorithm may have used (``initial_step / step_factor**maxiter``) when the final step is
    not reported.
    """
    return SAFETY * (float(error_estimate)
                     + float(f_condition) * EPS * abs(float(f_scale)) / float(step) ** 2)


def wishart_sigma(S: np.ndarray, n_samples: int) -> np.ndarray:
    """Standard deviation of each entry of a sample covariance of ``n_samples`` Gaussian draws.

    For ``y ~ N(μ, S)`` and the covariance estimate with known mean,
    ``Var(Ŝ_ij) = (S_ij² + S_ii S_jj)/n`` (Wishart moments; Anderson, *An Introduction to
    Multivariate Statistical Analysis*, 3rd ed., Thm 7.3.2). With the sample mean subtracted the
    variance is the same to first order in ``1/n``.
    """
    d = np.diag(S)
    return np.sqrt((S * S + np.outer(d, d)) / int(n_samples))


def stationarity_tolerance(n: int, H_norm: float, g_norm: float, step_norm: float,
                           multiplier: float, *, metric_norm: float = 1.0,
                           metric_condition: float = 1.0) -> float:
    """Bound on ``‖(H + μM)p + g‖`` for a step from
    :func:`linpc.trust_region.subproblem.solve_trust_region_subproblem`.

    The eigendecomposition is backward stable (``H̃ + E = V diag(w) Vᵀ``, ``‖E‖ ≤ c n eps ‖H̃‖``);
    the componentwise solve ``q = −γ/(w + μ)`` adds ``O(eps)`` relative error per component; the
    hard-case thresholds ``τ_w``, ``τ_g`` (:mod:`linpc.trust_region.subproblem`) are of the same
    size. Together
    ``‖(H̃ + μI)q + g̃‖ ≤ 4·SAFETY·n·eps·(‖g̃‖ + (‖H̃‖ + μ)‖q‖)`` (the factor 4 counts the four
    contributions). The metric's triangular solves are backward stable with constant ``κ(M)``
    ([Higham] Thm 8.5), which multiplies the bound; ``‖H̃‖ ≤ ‖H‖ ‖M⁻¹‖`` and back-transforming
    by ``L`` (norm ``‖M‖^{1/2}``) give, in the original variables,

        4·SAFETY·n·eps·κ(M)·(‖g‖ + (‖H‖ + μ‖M‖)‖p‖).
    """
    return (4.0 * SAFETY * max(int(n), 1) * EPS * float(metric_condition)
            * (float(g_norm) + (float(H_norm) + float(multiplier) * float(metric_norm))
               * float(step_norm)))


def model_value_tolerance(n: int, H_norm: float, g_norm: float, radius: float, *,
                          metric_condition: float = 1.0) -> float:
    """Bound on the difference of the optimal model values of two backward-stable solutions.

    The optimal value ``m*(g, H)`` of the TR subproblem is Lipschitz in the data on the ball of
    radius ``Δ``: ``|m*(g+δg, H+δH) − m*(g, H)| ≤ ‖δg‖Δ + ½‖δH‖Δ²`` (both minima are over the same
    ball). Each of two compared solvers solves a problem within a relative ``SAFETY·n·eps·κ(M)`` of
    the given one (:func:`stationarity_tolerance`), so their values differ by at most
    ``2·SAFETY·n·eps·κ(M)·(‖g‖Δ + ½‖H‖Δ²)`` in the Euclidean norm of the transformed problem; the
    tolerance is that bound (with ``‖·‖`` of the original data and ``Δ`` the radius).
    """
    return (2.0 * SAFETY * max(int(n), 1) * EPS * float(metric_condition)
            * (float(g_norm) * float(radius) + 0.5 * float(H_norm) * float(radius) ** 2))


#: Human-readable statements of the rules, printed by ``linpc verify``.
RULES = {
    "roundoff": "SAFETY·k·eps, k = length of the operation chain (Higham §3.1)",
    "solve": "SAFETY·κ·n·eps: backward-stable SPD solve, κ-scaled forward error "
             "(Higham Thm 7.2, 10.3)",
    "eigen": "SAFETY·n·eps·‖A‖₂ absolute (Weyl + backward stability)",
    "floor": "λ_min of an SPD matrix certified only when ≥ 2·SAFETY·n·eps·‖A‖₂; below: bounds",
    "fd": "SAFETY·(scipy.differentiate error estimate + cond·eps·|f|/h), h = final step",
    "mc": f"{MONTE_CARLO_SIGMAS:g}σ, σ² = (S_ij² + S_ii S_jj)/n (Wishart)",
    "gd": "GD stops at ‖g‖ ≤ tol‖g₀‖ ⇒ ‖z − z*‖ ≤ ‖g‖/λ_min; energy gap ≤ ‖g‖²/(2λ_min)",
    "slope": "log–log slope within ±0.1 of the predicted order",
    "exact": "structural: must hold exactly (0 error)",
}
