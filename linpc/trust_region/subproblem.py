"""An exact solver of the trust-region subproblem (any symmetric model Hessian, hard case included).

The trust-region (TR) subproblem is

    minimise  m(p) = gᵀp + ½ pᵀHp    subject to  ‖p‖_M ≤ Δ,        ‖p‖_M = √(pᵀMp),

for a symmetric ``H`` (indefinite allowed), a radius ``Δ > 0`` and an SPD metric ``M`` (default
``I``). A point ``p`` is a **global** minimiser iff there is a multiplier ``μ ≥ 0`` with
(Moré & Sorensen 1983 [1]_, Lemma 2.1 and Thm 3.1; Nocedal & Wright, *Numerical Optimization*,
2nd ed., Thm 4.1)

    (H + μM) p = −g,     μ (Δ − ‖p‖_M) = 0,     ‖p‖_M ≤ Δ,     H + μM ⪰ 0.

**Algorithm.** With the Cholesky factor ``M = LLᵀ`` and ``p = L⁻ᵀq`` the problem becomes the
Euclidean one with ``H̃ = L⁻¹HL⁻ᵀ``, ``g̃ = L⁻¹g`` (triangular solves, no inverse). One symmetric
eigendecomposition ``H̃ = V diag(w) Vᵀ`` (``w`` ascending, ``γ = Vᵀg̃``) reduces the conditions to
the scalar **secular equation** ``φ(μ) = ‖(H̃ + μI)⁻¹g̃‖ = (Σ_i γ_i²/(w_i + μ)²)^{1/2} = Δ`` on
``μ > max(0, −w_1)``, where ``φ`` decreases monotonically:

1. *interior*: ``w_1 > 0`` and ``φ(0) ≤ Δ`` ⇒ ``μ = 0``, ``q = −H̃⁻¹g̃`` (the Newton step);
2. *hard case*: ``w_1 ≤ 0`` and ``g̃`` has (numerically) no component in the bottom eigenspace
   ``B = {i : w_i ≤ w_1 + τ_w}`` (any multiplicity) and ``‖q_⊥‖ ≤ Δ`` with
   ``q_⊥ = −Σ_{i∉B} γ_i/(w_i − w_1) v_i``. Then ``μ = −w_1`` and ``q = q_⊥ + τ u``, ``u`` a unit
   vector of the bottom eigenspace (along ``−γ_B`` when that is nonzero), ``τ = (Δ² −
   ‖q_⊥‖²)^{1/2}``;
3. *easy (boundary) case*: otherwise the root ``μ* = μ_low + ν*`` of ``1/φ − 1/Δ`` is bracketed in
   ``ν ∈ [0, ‖g̃‖/Δ]`` and found with :func:`scipy.optimize.brentq` (``1/φ`` is nearly linear, so
   Brent's method converges fast). The unknown is the shift ``ν`` *from the pole* ``−w_1``, and the
   denominators are formed as ``(w_i − w_1) + ν``: near-hard cases (tiny ``γ_1``, root within
   ``1e-15`` of the pole) are then solved to full relative accuracy instead of drowning in the
   cancellation of ``w_1 + μ``.

The thresholds ``τ_w = SAFETY·n·eps·‖H̃‖₂`` (eigenvalues closer than this are one cluster, Weyl) and
``τ_g = τ_w Δ + SAFETY·n·eps·‖g̃‖`` (components of ``g̃`` below this are round-off) perturb the
problem by no more than the backward error of the eigendecomposition, so the returned point is the
exact global minimiser of a problem within ``O(n eps)`` of the given one: the KKT residuals
returned with it are at round-off level
(:func:`linpc.numerics.tolerances.stationarity_tolerance`).

SciPy has no public solver for this problem: ``minimize(method="trust-exact")`` uses the private,
"nearly exact" iterative solver of Conn, Gould & Toint [2]_ (stopping at 10 % boundary error).
In linpc the subproblem is also the step of PC inference (P2 [3]_;
:mod:`linpc.trust_region.pc_step`).

References
----------
.. [1] J. J. Moré, D. C. Sorensen, "Computing a trust region step", SIAM J. Sci. Stat. Comput. 4
   (1983) 553–572.
.. [2] A. R. Conn, N. I. M. Gould, Ph. L. Toint, *Trust-Region Methods*, SIAM 2000, §7.3.
.. [3] Innocenti, Singh, Buckley, "Understanding Predictive Coding as an Adaptive Trust-Region
   Method", arXiv:2305.18188 (P2); docs/theory.md §4.2 (PC inference as a TR step).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
from numpy.typing import ArrayLike
from scipy.optimize import brentq

from linpc.numerics.threads import thread_policy
from linpc.numerics.tolerances import EPS, SAFETY
from linpc.numerics.types import Array
from linpc.numerics.validation import as_real_array, check_positive, check_symmetric

__all__ = ["TrustRegionResult", "solve_trust_region_subproblem"]


@dataclass(frozen=True)
class TrustRegionResult:
    """Global minimiser of ``gᵀp + ½pᵀHp`` over ``‖p‖_M ≤ Δ`` with its optimality certificate.

    Attributes
    ----------
    step : ndarray, shape (n,)
        The minimiser ``p``.
    multiplier : float
        The Lagrange multiplier ``μ ≥ 0`` of the constraint.
    on_boundary : bool
        Whether the solution lies on the boundary (``μ > 0``, or the hard case); ``False`` for the
        interior Newton step.
    hard_case : bool
        Whether ``H + μM`` is singular at the solution with ``g`` orthogonal (to round-off) to the
        bottom eigenspace of ``H̃``, so that the step was completed along a bottom eigenvector.
    model_value : float
        ``m(p) = gᵀp + ½ pᵀHp``.
    step_norm : float
        ``‖p‖_M``.
    radius : float
        ``Δ``.
    stationarity : ndarray, shape (n,)
        KKT residual ``(H + μM)p + g``.
    complementarity : float
        ``μ(‖p‖_M − Δ)``.
    min_eigenvalue : float
        Smallest eigenvalue of ``H̃ + μI`` (``H̃ = L⁻¹HL⁻ᵀ``; ``= H`` without a metric). By
        Sylvester's law of inertia its sign is that of ``λ_min(H + μM)``; KKT requires it to be ``≥
        0``.
    eigenvalues : ndarray
        Spectrum ``w`` of ``H̃`` (ascending).
    iterations : int
        Function evaluations of the root finder (0 for the interior and hard cases).
    """

    step: Array
    multiplier: float
    on_boundary: bool
    hard_case: bool
    model_value: float
    step_norm: float
    radius: float
    stationarity: Array
    complementarity: float
    min_eigenvalue: float
    eigenvalues: Array
    iterations: int

    @property
    def stationarity_norm(self) -> float:
        """``‖(H + μM)p + g‖``."""
        return float(np.linalg.norm(self.stationarity))

    @property
    def kkt_residuals(self) -> tuple[float, float, float, float]:
        """``(‖(H+μM)p + g‖, |μ(‖p‖_M − Δ)|, max(0, ‖p‖_M − Δ), max(0, −λ_min(H̃ + μI)))``."""
        return (self.stationarity_norm, abs(self.complementarity),
                max(0.0, self.step_norm - self.radius), max(0.0, -self.min_eigenvalue))


@thread_policy
def solve_trust_region_subproblem(
    g: ArrayLike,
    H: ArrayLike,
    radius: float,
    *,
    metric: ArrayLike | None = None,
) -> TrustRegionResult:
    """Exactly minimise ``gᵀp + ½pᵀHp`` subject to ``‖p‖ ≤ radius`` (or ``‖p‖_M ≤ radius``).

    Parameters
    ----------
    g : array_like, shape (n,)
        Gradient of the model.
    H : array_like, shape (n, n)
        Symmetric model Hessian; may be indefinite or singular.
    radius : float
        Trust-region radius ``Δ > 0``.
    metric : array_like, shape (n, n), optional
        SPD matrix ``M`` defining the norm ``‖p‖_M = √(pᵀMp)``; handled by the change of variables
        ``p = L⁻ᵀq`` with the Cholesky factor ``M = LLᵀ`` (triangular solves, no inverse).

    Returns
    -------
    TrustRegionResult
        The global minimiser, multiplier, case flags, model value and KKT residuals.

    Raises
    ------
    ValueError
        Shapes that do not match, non-finite entries, an asymmetric ``H`` or ``metric`` (beyond
        :data:`~linpc.numerics.validation.SYMMETRY_RTOL`), ``radius ≤ 0`` or a metric that is not
        positive definite.
    TypeError
        Complex or non-numeric input.

    Notes
    -----
    Global optimality is characterised by the KKT conditions in the module docstring (Moré &
    Sorensen 1983, Lemma 2.1); the result reports their residuals. Cost: one ``O(n³)``
    eigendecomposition plus ``O(n)`` per root-finder iteration. In predictive coding this is the
    subproblem that inference solves in activity space, with ``H = M = H_z`` (docs/theory.md §4.2;
    Innocenti et al., arXiv:2305.18188).

    Examples
    --------
    >>> import numpy as np
    >>> res = solve_trust_region_subproblem(np.array([0.0, 1.0]), np.diag([-2.0, 1.0]), 1.0)
    >>> res.hard_case, round(res.multiplier, 12)
    (True, 2.0)
    """
    ga = as_real_array(g, "g")
    if ga.ndim != 1 or ga.size == 0:
        raise ValueError(f"g must be a non-empty 1-D array, got shape {ga.shape}")
    n = ga.size
    Ha = check_symmetric(as_real_array(H, "H"), "H", n)
    r = check_positive(radius, "radius")

    if metric is not None:
        Ma = check_symmetric(as_real_array(metric, "metric"), "metric", n)
        try:
            Lc = sla.cholesky(Ma, lower=True, check_finite=False)
        except np.linalg.LinAlgError:
            raise ValueError("metric must be symmetric positive definite (its Cholesky "
                             "factorisation failed)") from None
        X = sla.solve_triangular(Lc, Ha, lower=True, check_finite=False)          # L⁻¹H
        Ht = sla.solve_triangular(Lc, X.T, lower=True, check_finite=False)        # L⁻¹HL⁻ᵀ
        Ht = 0.5 * (Ht + Ht.T)
        gt = sla.solve_triangular(Lc, ga, lower=True, check_finite=False)
    else:
        Ma, Lc, Ht, gt = None, None, Ha, ga

    w, V = np.linalg.eigh(Ht)
    gam = V.T @ gt
    c, mu, boundary, hard, nfev = _solve_in_eigenbasis(w, gam, r, gt_norm=float(np.linalg.norm(gt)))
    q = V @ c

    p = q if Lc is None else sla.solve_triangular(Lc, q, lower=True, trans="T",
                                                  check_finite=False)
    Mp = p if Ma is None else Ma @ p
    step_norm = float(np.linalg.norm(q if Lc is None else Lc.T @ p))
    Hp = Ha @ p
    return TrustRegionResult(
        step=p,
        multiplier=float(mu),
        on_boundary=bool(boundary),
        hard_case=bool(hard),
        model_value=float(ga @ p + 0.5 * (p @ Hp)),
        step_norm=step_norm,
        radius=r,
        stationarity=Hp + mu * Mp + ga,
        complementarity=float(mu * (step_norm - r)),
        min_eigenvalue=float(w[0] + mu),
        eigenvalues=w,
        iterations=int(nfev),
    )


def _solve_in_eigenbasis(w: Array, gam: Array, r: float,
                         gt_norm: float) -> tuple[Array, float, bool, bool, int]:
    """Solve the Euclidean subproblem in the eigenbasis of ``H̃``.

    ``w``: ascending eigenvalues; ``gam = Vᵀg̃``. Returns the coefficients ``c`` of the step in the
    eigenbasis (``q = V c``), ``μ``, the boundary and hard-case flags and the number of secular
    function evaluations.
    """
    n = w.size
    w1 = float(w[0])
    tau_w = SAFETY * n * EPS * float(np.max(np.abs(w)))
    tau_g = tau_w * r + SAFETY * n * EPS * gt_norm

    # 1. interior Newton step
    if w1 > 0:
        c0 = -gam / w
        if np.linalg.norm(c0) <= r:
            return c0, 0.0, False, False, 0

    # shifted denominators d_i(ν) = base_i + ν, ν = μ − μ_low ≥ 0, computed without cancellation
    if w1 <= 0:
        mu_low = -w1
        base = w - w1                       # ≥ 0, exactly 0 for i = 0
    else:
        mu_low = 0.0
        base = w.copy()

    # 2. hard case: g̃ (numerically) orthogonal to the bottom eigenspace and ‖q_⊥‖ ≤ Δ
    if w1 <= 0:
        bottom = base <= tau_w
        g_bottom = float(np.linalg.norm(gam[bottom]))
        if g_bottom <= tau_g:
            c = np.zeros(n)
            rest = ~bottom
            c[rest] = -gam[rest] / base[rest]
            perp = float(np.linalg.norm(c))
            if perp <= r:
                u = np.zeros(n)
                if g_bottom > 0:
                    u[bottom] = -gam[bottom] / g_bottom
                else:
                    u[0] = 1.0
                c += np.sqrt(max(r * r - perp * perp, 0.0)) * u
                return c, mu_low, True, True, 0

    # 3. easy case: root of ψ(ν) = 1/φ(ν) − 1/Δ, increasing in ν, ψ(0) < 0 ≤ ψ(ν_hi)
    nfev = 0

    def psi(nu: float) -> float:
        nonlocal nfev
        nfev += 1
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ratio = np.where(gam == 0.0, 0.0, gam / (base + nu))
            phi = float(np.linalg.norm(ratio))
        return (0.0 if np.isinf(phi) else 1.0 / phi) - 1.0 / r

    gnorm = float(np.linalg.norm(gam))
    nu_hi = max(gnorm / r - float(base[0]), 0.0)
    if nu_hi == 0.0:
        nu_hi = max(gnorm / r, np.finfo(np.float64).tiny)
    while psi(nu_hi) < 0:                   # guard against round-off at the bracket end
        nu_hi *= 2.0
    if psi(0.0) >= 0:
        # φ(0) ≤ Δ although the tests above failed: possible only at round-off level. Then
        # γ_i = 0 wherever base_i = 0, and the exact solution is the interior step (w_1 > 0) or
        # the hard-case step completed along the exactly singular direction e_0 (w_1 ≤ 0).
        with np.errstate(divide="ignore", invalid="ignore"):
            c = np.where(gam == 0.0, 0.0, -gam / base)
        if w1 > 0:
            return c, 0.0, False, False, nfev
        c[0] += np.sqrt(max(r * r - float(c @ c), 0.0))
        return c, mu_low, True, True, nfev
    nu = brentq(psi, 0.0, nu_hi, xtol=np.finfo(np.float64).tiny, rtol=4 * EPS, maxiter=1000)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(gam == 0.0, 0.0, -gam / (base + nu))
    return c, mu_low + nu, True, False, nfev
