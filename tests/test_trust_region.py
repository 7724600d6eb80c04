"""Tests of the exact trust-region subproblem solver (``linpc.trust_region``).

The solver is checked against three references that share none of its code:

* the **global-optimality certificate** (Moré & Sorensen 1983, Lemma 2.1; Nocedal & Wright Thm 4.1):
  ``(H + μM)p = −g``, ``μ ≥ 0``, ``‖p‖_M ≤ Δ``, ``μ(Δ − ‖p‖_M) = 0``, ``H + μM ⪰ 0``, each
  recomputed here from ``H``, ``g``, ``M`` and the returned ``p``, ``μ`` (``numpy.linalg.eigvalsh``
  for the last);
* a **high-precision reference** (mpmath, 60 digits): eigendecomposition of the same float ``H`` and
  bisection on the secular equation, i.e. the exact solution of the very problem passed in;
* **``scipy.optimize.minimize(method="trust-constr")``** with ``NonlinearConstraint(‖p‖², 0, Δ²)``,
  an interior-point/SQP method: a local solver can only do worse than the global minimum.

Problems are built from a drawn seed with a prescribed spectrum: definite, indefinite, singular,
the hard case (``g`` orthogonal to a bottom eigenspace of multiplicity 1 to n), and near-hard cases
(bottom components of ``g`` of relative size 1e-2 … 1e-15). Tolerances are the named rules
:func:`linpc.numerics.stationarity_tolerance` and
:func:`~linpc.numerics.model_value_tolerance` and :func:`linpc.numerics.eigenvalue_tolerance`.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import NonlinearConstraint, minimize
from scipy.stats import ortho_group

from linpc.numerics import (
    EPS,
    SAFETY,
    eigenvalue_tolerance,
    model_value_tolerance,
    stationarity_tolerance,
)
from linpc.trust_region import solve_trust_region_subproblem
from linpc.verify import reference as ref

KINDS = ("definite", "indefinite", "singular", "hard", "near_hard", "zero_gradient")


def build_problem(n: int, seed: int, kind: str, log_radius: float, multiplicity: int = 1,
                  log_tiny: float = -8.0):
    """A TR problem ``(g, H, Δ, info)`` with a prescribed spectrum
    (:func:`linpc.verify.reference.trust_region_problem`)."""
    return ref.trust_region_problem(n, seed, kind, log_radius, multiplicity=multiplicity,
                                    log_tiny=log_tiny)


def kkt_check(g, H, r, res, M=None):
    """Assert the global-optimality certificate, recomputed from scratch."""
    n = g.size
    M_ = np.eye(n) if M is None else M
    p, mu = res.step, res.multiplier
    Hn = np.linalg.norm(H, 2)
    Mw = np.linalg.eigvalsh(M_)
    Mn, kM = Mw[-1], Mw[-1] / Mw[0]
    pn = float(np.sqrt(p @ M_ @ p))
    stat = np.linalg.norm((H + mu * M_) @ p + g)
    tol = stationarity_tolerance(n, Hn, np.linalg.norm(g), np.linalg.norm(p), mu,
                                 metric_norm=Mn, metric_condition=kM)
    assert stat <= tol, (stat, tol)
    assert mu >= 0
    # boundary: the root finder's relative accuracy (4 eps on ν) and the metric transform
    rtol = SAFETY * n * EPS * kM
    assert pn <= r * (1 + rtol)
    if mu > 0:
        assert abs(pn - r) <= rtol * r, (pn, r)
    # H + μM ⪰ 0 up to the Weyl bound of the eigensolver applied to H + μM
    lam_min = np.linalg.eigvalsh(H + mu * M_)[0]
    assert lam_min >= -eigenvalue_tolerance(n, Hn + mu * Mn) * kM, lam_min
    # the reported residuals are what they claim to be
    assert abs(res.model_value - (g @ p + 0.5 * p @ H @ p)) <= SAFETY * n * EPS * (
        np.linalg.norm(g) * np.linalg.norm(p) + Hn * np.linalg.norm(p) ** 2)
    assert np.linalg.norm(res.stationarity - ((H + mu * M_) @ p + g)) <= tol


def mp_reference_value(g, H, r, dps: int = 60) -> float:
    """Optimal model value of the given (float) problem, in 60-digit arithmetic (mpmath).

    Eigendecomposition with ``mpmath.eigsy``; then either the interior Newton step, or bisection
    (400 halvings) for the root of ``1/φ(μ) − 1/Δ`` on ``(max(0, −w_1), ‖g‖/Δ + |w_1|]``, or, if
    ``φ`` stays below ``Δ`` at the pole (exact hard case), the hard-case value
    ``m(p_⊥) + ½w_1τ²``.
    """
    with mpmath.workdps(dps):
        A = mpmath.matrix(H.tolist())
        E, Qm = mpmath.eigsy(A)
        n = len(g)
        w = [E[i] for i in range(n)]
        gv = mpmath.matrix(g.tolist())
        gam = [sum(Qm[j, i] * gv[j] for j in range(n)) for i in range(n)]
        R = mpmath.mpf(r)
        w1 = min(w)

        def phi(mu):
            return mpmath.sqrt(sum((gi / (wi + mu)) ** 2 for gi, wi in zip(gam, w, strict=True)))

        def value(c):
            return sum(gi * ci + wi * ci * ci / 2 for gi, wi, ci in zip(gam, w, c, strict=True))

        if w1 > 0 and phi(0) <= R:
            return float(value([-gi / wi for gi, wi in zip(gam, w, strict=True)]))
        lo = max(mpmath.mpf(0), -w1)
        if all(gi == 0 for gi, wi in zip(gam, w, strict=True) if wi == w1) and \
                phi(lo + mpmath.mpf(10) ** (-dps + 5)) <= R:
            c = [mpmath.mpf(0) if wi == w1 else -gi / (wi - w1)
                 for gi, wi in zip(gam, w, strict=True)]
            tau2 = R * R - sum(ci * ci for ci in c)
            return float(value(c) + w1 * tau2 / 2)
        hi = mpmath.sqrt(sum(gi * gi for gi in gam)) / R + abs(w1) + 1
        for _ in range(400):
            mid = (lo + hi) / 2
            if mid == lo or mid == hi:
                break
            f = phi(mid)
            if f > R:
                lo = mid
            else:
                hi = mid
        mu = (lo + hi) / 2
        return float(value([-gi / (wi + mu) for gi, wi in zip(gam, w, strict=True)]))


@st.composite
def problems(draw, kinds=KINDS, max_n: int = 7):
    n = draw(st.integers(1, max_n))
    kind = draw(st.sampled_from(kinds))
    return dict(n=n, seed=draw(st.integers(0, 2**32 - 1)), kind=kind,
                log_radius=draw(st.floats(-1.5, 1.5)),
                multiplicity=draw(st.integers(1, n)),
                log_tiny=draw(st.floats(-15.0, -2.0)))


@given(problems())
def test_solution_satisfies_global_optimality_certificate(prob):
    """KKT + second-order condition (H + μI ⪰ 0) hold: p is a *global* minimiser (Moré–Sorensen).

    This is necessary and sufficient for global optimality of the TR subproblem, including the
    indefinite, singular and hard cases, so checking it from scratch is a complete test.
    """
    g, H, r, _ = build_problem(**prob)
    res = solve_trust_region_subproblem(g, H, r)
    kkt_check(g, H, r, res)
    assert res.step.dtype == np.float64


@settings(max_examples=30)
@given(problems())
def test_optimal_value_matches_60_digit_reference(prob):
    """The model value equals that of a 60-digit solution of the same float problem (mpmath).

    Near-hard cases (bottom components of g down to 1e-15 relative) are where root finding on
    w_1 + μ in float64 loses all accuracy; the solver's shifted variable and hard-case threshold
    must still deliver the optimal value to the backward-error bound.
    """
    g, H, r, _ = build_problem(**prob)
    res = solve_trust_region_subproblem(g, H, r)
    ref = mp_reference_value(g, H, r)
    tol = model_value_tolerance(g.size, np.linalg.norm(H, 2), np.linalg.norm(g), r)
    assert abs(res.model_value - ref) <= tol, (res.model_value, ref, tol)


@given(st.integers(2, 7), st.integers(0, 2**32 - 1), st.integers(1, 7), st.floats(0.05, 1.5))
def test_hard_case_matches_closed_form(n, seed, multiplicity, log_radius):
    """Constructed hard case: g ⊥ bottom eigenspace (multiplicity 1..n), Δ ≥ ‖p_⊥‖.

    Exact solution: μ = −w_1, p = p_⊥ + τu with u in the bottom eigenspace,
    τ = √(Δ² − ‖p_⊥‖²), value m(p_⊥) + ½w_1τ² (Moré–Sorensen §3). The component of p outside
    the bottom eigenspace is unique (= p_⊥); inside it only its norm τ is determined.
    """
    m = min(multiplicity, n)
    g, H, r, info = build_problem(n, seed, "hard", log_radius, multiplicity=m)
    res = solve_trust_region_subproblem(g, H, r)
    assert res.hard_case and res.on_boundary
    Hn = np.linalg.norm(H, 2)
    gap = float(np.min(info["w_rest"]) - info["w1"]) if m < n else 1.0   # ≥ 0.1 by construction
    assert abs(res.multiplier + info["w1"]) <= eigenvalue_tolerance(n, Hn)
    Ub = info["bottom"]
    p_in = Ub @ (Ub.T @ res.step)
    p_out = res.step - p_in
    tau = np.sqrt(max(r * r - info["p_perp"] @ info["p_perp"], 0.0))
    # p_⊥ = −(H − w_1I)^†g has forward error ≲ (backward error)/gap
    fwd = stationarity_tolerance(n, Hn, np.linalg.norm(g), r, abs(info["w1"])) / gap
    assert np.linalg.norm(p_out - info["p_perp"]) <= fwd
    assert abs(np.linalg.norm(p_in) - tau) <= fwd + SAFETY * n * EPS * r
    pp = info["p_perp"]
    exact = g @ pp + 0.5 * pp @ H @ pp + 0.5 * info["w1"] * tau**2
    assert abs(res.model_value - exact) <= model_value_tolerance(n, Hn, np.linalg.norm(g), r)


@pytest.mark.parametrize("log_tiny", [-2.0, -6.0, -10.0, -13.0, -15.0, -17.0])
@pytest.mark.parametrize("multiplicity", [1, 3])
def test_near_hard_case_is_continuous(log_tiny, multiplicity):
    """Bottom components of g of relative size 10^k (k = −2 … −17) around a multiple bottom
    eigenvalue: the optimal value is continuous in g, so it must be within ‖δg‖Δ of the exact
    hard-case value of the unperturbed problem (Lipschitz bound) and the certificate must hold.
    """
    n = 6
    g, H, r, info = build_problem(n, 7, "near_hard", 0.3, multiplicity=multiplicity,
                                  log_tiny=log_tiny)
    res = solve_trust_region_subproblem(g, H, r)
    kkt_check(g, H, r, res)
    pp = info["p_perp"]
    tau2 = r * r - pp @ pp
    Ub = info["bottom"]
    g0 = g - Ub @ (Ub.T @ g)
    exact0 = g0 @ pp + 0.5 * pp @ H @ pp + 0.5 * info["w1"] * tau2
    dg = np.linalg.norm(g - g0)
    tol = model_value_tolerance(n, np.linalg.norm(H, 2), np.linalg.norm(g), r) + dg * r
    assert abs(res.model_value - exact0) <= tol


@settings(max_examples=20)
@given(problems(kinds=("definite", "indefinite", "hard", "near_hard"), max_n=5))
def test_never_worse_than_trust_constr(prob):
    """scipy's trust-constr (random start) finds a local solution; the global minimum is ≤ it.

    trust-constr's point may violate the constraint slightly: scaling it back onto the ball
    changes m by at most (‖g‖ + ‖H‖‖p‖)(‖p‖ − Δ), which is added to its value.
    """
    g, H, r, _ = build_problem(**prob)
    res = solve_trust_region_subproblem(g, H, r)
    rng = np.random.default_rng(prob["seed"] + 1)
    x0 = rng.standard_normal(g.size)
    x0 *= 0.5 * r / np.linalg.norm(x0)
    con = NonlinearConstraint(lambda p: p @ p, 0.0, r * r, jac=lambda p: 2 * p,
                              hess=lambda p, v: 2 * v[0] * np.eye(p.size))
    tc = minimize(lambda p: g @ p + 0.5 * p @ H @ p, x0, jac=lambda p: g + H @ p,
                  hess=lambda p: H, method="trust-constr", constraints=[con],
                  options={"gtol": 1e-12, "xtol": 1e-14, "maxiter": 3000})
    p = tc.x
    m_tc = g @ p + 0.5 * p @ H @ p
    viol = max(0.0, np.linalg.norm(p) - r)
    slack = (np.linalg.norm(g) + np.linalg.norm(H, 2) * np.linalg.norm(p)) * viol
    tol = model_value_tolerance(g.size, np.linalg.norm(H, 2), np.linalg.norm(g), r)
    assert res.model_value <= m_tc + slack + tol
    assert res.step_norm <= r * (1 + SAFETY * g.size * EPS)


def _spd(n, rng, log_cond):
    Q = ortho_group.rvs(n, random_state=rng) if n > 1 else np.ones((1, 1))
    s = np.logspace(0, log_cond, n)
    M = Q @ np.diag(s) @ Q.T
    return 0.5 * (M + M.T)


@settings(max_examples=30)
@given(problems(), st.floats(0.0, 3.0))
def test_metric_norm_matches_symmetric_square_root_transform(prob, log_cond):
    """‖p‖_M ≤ Δ: the Cholesky change of variables vs an explicit M^{-1/2} (eigh) transform.

    The optimal value is unique, so solving min (M^{-½}g)ᵀq + ½qᵀM^{-½}HM^{-½}q, ‖q‖ ≤ Δ (a
    different factorisation of the metric) must give the same value; the certificate is checked in
    the metric: (H + μM)p = −g, ‖p‖_M ≤ Δ, H + μM ⪰ 0.
    """
    g, H, r, _ = build_problem(**prob)
    rng = np.random.default_rng(prob["seed"] + 2)
    M = _spd(g.size, rng, log_cond)
    res = solve_trust_region_subproblem(g, H, r, metric=M)
    kkt_check(g, H, r, res, M)
    s, U = np.linalg.eigh(M)
    Mih = U @ np.diag(s**-0.5) @ U.T
    res2 = solve_trust_region_subproblem(Mih @ g, 0.5 * (Mih @ H @ Mih + (Mih @ H @ Mih).T), r)
    kM = s[-1] / s[0]
    tol = model_value_tolerance(g.size, np.linalg.norm(H, 2) / s[0], np.linalg.norm(g)
                                / np.sqrt(s[0]), r, metric_condition=kM)
    assert abs(res.model_value - res2.model_value) <= tol


def test_interior_newton_step_and_documented_example():
    """A definite H with a large radius gives the Newton step −H⁻¹g with μ = 0 (checked with an
    LU solve); the docstring's hard case diag(−2, 1), g = (0, 1), Δ = 1 has, by hand, μ = 2,
    p = (±√8/3, −1/3) and value gᵀp + ½pᵀHp = −1/3 + ½(−2·8/9 + 1/9) = −7/6."""
    H = np.array([[2.0, 0.5], [0.5, 1.0]])
    g = np.array([1.0, -1.0])
    res = solve_trust_region_subproblem(g, H, 100.0)
    assert not res.on_boundary and res.multiplier == 0.0
    np.testing.assert_allclose(res.step, -np.linalg.solve(H, g), rtol=SAFETY * 2 * EPS * 3)
    res = solve_trust_region_subproblem([0.0, 1.0], np.diag([-2.0, 1.0]), 1.0)
    assert res.hard_case
    assert abs(res.multiplier - 2.0) <= SAFETY * EPS * 2
    assert abs(abs(res.step[0]) - np.sqrt(8) / 3) <= SAFETY * EPS
    assert abs(res.step[1] + 1 / 3) <= SAFETY * EPS
    assert abs(res.model_value + 7 / 6) <= SAFETY * 4 * EPS


def test_linear_model_with_metric_has_unit_multiplier():
    """H = 0 (linear model), metric M, radius ρ = ‖g‖_{M⁻¹}: p = −M⁻¹g with μ = 1 (closed form)."""
    rng = np.random.default_rng(5)
    M = _spd(6, rng, 2.0)
    g = rng.standard_normal(6)
    p_exact = -np.linalg.solve(M, g)
    rho = float(np.sqrt(-g @ p_exact))
    res = solve_trust_region_subproblem(g, np.zeros((6, 6)), rho, metric=M)
    kM = np.linalg.cond(M)
    assert abs(res.multiplier - 1.0) <= SAFETY * 6 * EPS * kM
    np.testing.assert_allclose(res.step, p_exact, rtol=0, atol=SAFETY * 6 * EPS * kM
                               * np.linalg.norm(p_exact))


@pytest.mark.parametrize(
    ("args", "kwargs", "exc", "match"),
    [
        (([1.0, 2.0], [[1.0, 0.0], [0.5, 1.0]], 1.0), {}, ValueError, "symmetric"),
        (([1.0, 2.0], [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], 1.0), {}, ValueError, "shape"),
        (([1.0, 2.0], np.eye(2), 0.0), {}, ValueError, "radius"),
        (([1.0, 2.0], np.eye(2), -1.0), {}, ValueError, "radius"),
        (([1.0, 2.0], np.eye(2), np.inf), {}, ValueError, "radius"),
        (([1.0, np.nan], np.eye(2), 1.0), {}, ValueError, "non-finite"),
        (([1.0, 2.0], [[1.0, np.inf], [np.inf, 1.0]], 1.0), {}, ValueError, "non-finite"),
        (([[1.0, 2.0]], np.eye(2), 1.0), {}, ValueError, "1-D"),
        (([1.0, 2.0], np.eye(2), 1.0), {"metric": -np.eye(2)}, ValueError, "positive definite"),
        (([1.0, 2.0], np.eye(2), 1.0), {"metric": np.eye(3)}, ValueError, "shape"),
        (([1.0, 2.0], np.eye(2) * (1 + 0j), 1.0), {}, TypeError, "complex"),
        (([1.0, 2.0], np.eye(2), "big"), {}, TypeError, "radius"),
    ],
)
def test_bad_input_is_rejected_with_a_clear_message(args, kwargs, exc, match):
    """Asymmetric or mis-shaped H, non-finite data, radius ≤ 0 or infinite, a non-SPD metric and
    complex input are errors that name the problem."""
    with pytest.raises(exc, match=match):
        solve_trust_region_subproblem(*args, **kwargs)
