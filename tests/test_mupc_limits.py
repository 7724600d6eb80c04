"""Energy → MSE and PC → BP under μPC when width ≫ depth (docs/theory.md §6.3; limits paper P5).

Independent references: Monte Carlo over initialisations for E[S] (each S from the Gaussian
covariance recursion of a drawn network), exact rational arithmetic for the geometric-sum identity,
the bounds ℒ/λ_max(S) ≤ F* ≤ ℒ/λ_min(S) (S by the recursion, F* by the block Cholesky route), and
width/depth trends recomputed through linpc.reproduce.sweeps.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from linpc.mupc import (
    agreement_point,
    expected_rescaling,
    mupc_expected_rescaling,
    pc_bp_agreement,
    sample_rescalings,
)
from linpc.numerics import MONTE_CARLO_SIGMAS, roundoff_tolerance
from linpc.reproduce import Grid, run_sweep
from linpc.testing import cases
from linpc.verify import CaseContext


@given(st.integers(2, 300))
def test_geometric_sum_identity_exactly(L):
    """Σ_{j=0}^{L−2} (1 + 1/L)^j = L((1 + 1/L)^{L−1} − 1), in exact rational arithmetic: the step
    from the per-layer moments to docs/theory.md's closed form of E[S]."""
    q = Fraction(L + 1, L)
    assert sum(q**j for j in range(L - 1)) == L * (q ** (L - 1) - 1)


@given(N=st.integers(1, 2048), H=st.integers(1, 64), gamma=st.floats(0.25, 4.0),
       lam=st.floats(0.1, 10.0), skips=st.booleans())
def test_general_moment_formula_reduces_to_closed_form(N, H, gamma, lam, skips):
    """expected_rescaling (sum over layers of products of per-layer gains) equals the closed form
    λ⁻¹ + (L/(γ²N))((1+1/L)^{L−1} − 1) with skips and λ⁻¹ + (L − 1)/(γ²N) without."""
    widths = (7,) + (N,) * H + (3,)
    s = expected_rescaling(widths, param_type="mupc", use_skips=skips, gamma=gamma,
                           output_energy_scaling=lam)
    c = mupc_expected_rescaling(N, H + 1, gamma=gamma, output_energy_scaling=lam,
                                use_skips=skips)
    assert s == pytest.approx(c, rel=roundoff_tolerance(4 * H + 8))


@pytest.mark.parametrize("N,H", [(4, 1), (16, 3), (32, 7), (8, 15)])
def test_expected_rescaling_at_mupc_init_by_monte_carlo(N, H):
    """Mean over 300 μPC initialisations of S's diagonal (covariance recursion per network) is
    within 5 standard errors of 1 + (L/N)((1+1/L)^{L−1} − 1); off-diagonal means are 0 within 5
    standard errors. (The formula of docs/theory.md §6.3, re-derived in linpc.mupc.limits,
    holds.)"""
    widths = (6,) + (N,) * H + (3,)
    S = sample_rescalings(widths, n_draws=300, rng=1000 * N + H)
    diag = np.diagonal(S, axis1=1, axis2=2).mean(axis=1)        # one number per network
    pred = mupc_expected_rescaling(N, H + 1)
    assert abs(diag.mean() - pred) <= MONTE_CARLO_SIGMAS * diag.std(ddof=1) / np.sqrt(300)
    for i, j in ((0, 1), (0, 2), (1, 2)):
        off = S[:, i, j]
        assert abs(off.mean()) <= MONTE_CARLO_SIGMAS * off.std(ddof=1) / np.sqrt(300)


@pytest.mark.parametrize("cfg", [
    dict(widths=(5, 12, 7, 9, 3), param_type="ntp", use_skips=False, init="uniform"),
    dict(widths=(5, 10, 10, 10, 2), param_type="sp", use_skips=True, init="normal"),
    dict(widths=(5, 8, 8, 8, 8, 2), param_type="mupc", use_skips=True, init="orthogonal",
         gamma=2.0, output_energy_scaling=3.0),
])
def test_general_expected_rescaling_by_monte_carlo(cfg):
    """The second-moment formula s = λ⁻¹ + a_L²v_L Σ n_{l−1}Π g_k also holds for other
    parameterisations, unequal widths, orthogonal weights, γ and λ (400 networks, 5 SE)."""
    S = sample_rescalings(n_draws=400, rng=5, **cfg)
    diag = np.diagonal(S, axis1=1, axis2=2).mean(axis=1)
    pred = expected_rescaling(**cfg)
    assert abs(diag.mean() - pred) <= MONTE_CARLO_SIGMAS * diag.std(ddof=1) / np.sqrt(400)


@given(cases(max_hidden=4, max_width=5, precision_modes=("unit", "output")))
def test_energy_ratio_lies_between_rescaling_bounds(case):
    """F*/(λℒ) ∈ [1/(λ λ_max(S)), 1/(λ λ_min(S))] (docs/theory.md §2.3), F* by block Cholesky and S
    by the covariance recursion; the cosine of ∇F* and ∇ℒ is a cosine.

    Tolerance: the κ-scaled forward error of the solves, plus the cancellation in the residual
    ``r = y − ŷ`` that both ``F*`` and ``ℒ`` are quadratic in: ``r`` is computed with absolute
    error ≲ roundoff·(scale of the forward pass), a relative error of that over ``‖r‖``, doubled
    in ``‖r‖²``."""
    ctx = CaseContext(case)
    ag = pc_bp_agreement(case.net, case.x, case.y)
    lam = case.net.output_precision
    lo, hi = ag.rescaling_eigenvalues
    r = float(np.linalg.norm(case.net.residual(case.x, case.y)))
    n_ops = case.net.n_layers * max(case.net.widths)
    tol = ctx.solve_tol()       # SAFETY·max(κ(H_z), κ(S))·n·eps
    if np.isfinite(ag.energy_ratio):
        tol += 2 * roundoff_tolerance(n_ops) * ctx.forward_growth / r
        assert 1 / (lam * hi) * (1 - tol) <= ag.energy_ratio <= 1 / (lam * lo) * (1 + tol)
    if np.isfinite(ag.gradient_cosine):
        assert abs(ag.gradient_cosine) <= 1 + roundoff_tolerance(case.net.n_parameters)


@pytest.fixture(scope="module")
def agreement():
    """Medians over 3 seeds on N ∈ {4, 16, 64, 256}, H ∈ {1, 3, 7} (d_x = 20, d_y = 3, B = 16)."""
    grid = Grid.product({"H": [1, 3, 7], "N": [4, 16, 64, 256], "replicate": [0, 1, 2]},
                        fixed={"d_x": 20, "d_y": 3, "B": 16})
    return run_sweep("test-agreement", agreement_point, grid, progress=False, seed=3)


def test_energy_tends_to_mse_at_rate_depth_over_width(agreement):
    """At fixed depth, median F*/ℒ increases towards 1 with width, and at N ≥ 64 it equals
    1/E[S] = 1/(1 + (L/N)((1+1/L)^{L−1} − 1)) up to a quarter of the gap 1 − 1/E[S] (S fluctuates
    around its mean by about N^{−1/2} times its O(L/N) offset)."""
    ratio = agreement.reduce("energy_ratio", "replicate")
    pred = 1 / agreement.reduce("expected_rescaling", "replicate")
    assert np.all(np.diff(ratio, axis=1) > 0)
    assert np.all(np.abs(ratio[:, 2:] - pred[:, 2:]) <= 0.25 * (1 - pred[:, 2:]))


def test_pc_gradient_tends_to_bp_gradient_with_width(agreement):
    """Median cosine(∇F*, ∇ℒ) increases with width at every depth and exceeds 0.95 at N = 256;
    the relative difference ‖∇F* − ∇ℒ‖/‖∇ℒ‖ shrinks with width; deeper networks need more width
    (cosine at N = 64 decreases with depth)."""
    cos = agreement.reduce("gradient_cosine", "replicate")
    rel = agreement.reduce("relative_gradient_difference", "replicate")
    assert np.all(np.diff(cos, axis=1) > 0)
    assert np.all(cos[:, -1] > 0.95)
    assert np.all(np.diff(rel, axis=1) < 0)
    assert np.all(np.diff(cos[:, 2]) < 0)
