"""Property tests of the core identities of docs/theory.md §2.5 (items 1–6 and 8–15).

Each test draws the *structure* of a network (depth, widths, parameterisation, skips, biases,
precisions, batch) with hypothesis and builds it from a drawn seed. Every identity is checked by
routes that do not share the code path of the compared quantity:

* block Cholesky of ``H_z`` (route 1), LAPACK banded Cholesky, Gaussian conditioning with the
  covariance recursion (route 2), SVD least squares on the dense ``Π^{1/2}D`` and Theorem 1's
  literal sum of products (``linpc.verify.reference``), gradient-descent inference and the exact
  flow,
  ``scipy.differentiate`` and Monte Carlo sampling of the generative model.

Tolerances are the named rules of ``linpc.numerics.tolerances`` (κ-scaled forward errors, Weyl
bounds, finite-difference error estimates, Wishart standard deviations).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.linalg as sla
from hypothesis import given, settings
from hypothesis import strategies as st

import linpc
from linpc.numerics import (
    EPS,
    SAFETY,
    IllConditionedWarning,
    derivative_tolerance,
    eigenvalue_tolerance,
    solve_tolerance,
    spd_condition_number,
    wishart_sigma,
)
from linpc.testing import MAX_CONDITION, cases, specs
from linpc.verify import IDENTITIES, CaseContext, build_case
from linpc.verify import reference as ref


def kappa_dense(net: linpc.LinearPCN) -> float:
    """max(κ(H_z), κ(S)) from dense symmetric eigensolvers (small networks only): certified, or
    its lower bound when a smallest eigenvalue is below the float64 floor (never a round-off or
    negative ratio)."""
    w = np.linalg.eigvalsh(ref.dense_activity_hessian(net))
    s = np.linalg.eigvalsh(ref.dense_rescaling(net))
    return float(max(spd_condition_number(w[0], w[-1], len(w), "H_z", warn=False)[0],
                     spd_condition_number(s[0], s[-1], len(s), "S", warn=False)[0]))


def size_of(net: linpc.LinearPCN) -> int:
    return max(net.n_activities, max(net.widths))


#: Ill-conditioned draws: κ(H_z) in [1e8, 1e14], certified by the strategy (in float64 at most
#: about 2.3e14/n; the rescaling then rejects what it cannot certify).
ILL_CONDITIONED = cases(condition=(1e8, MAX_CONDITION), max_hidden=4, max_width=5)


# -------------------------------------------------------------------------------- item 1
@given(cases())
def test_equilibrated_energy_is_rescaled_mse(case):
    """F(z*) with z* from the block Cholesky equals ½ rᵀS⁻¹r with Theorem 1's S (P1 Thm 1).

    The two sides share nothing: one minimises the energy by solving H_z z = b and evaluates the
    prediction errors; the other forms S = Σ π_l⁻¹ M_{L:l+1}M_{L:l+1}ᵀ by explicit products.
    """
    net, x, y = case.net, case.x, case.y
    F_closed = ref.dense_equilibrated_energy(net, x, y)
    F_chol = linpc.solve_equilibrium(net, x, y, method="cholesky",
                                     warn_if_error_above=None).energies
    F_svd = ref.dense_equilibrium(net, x, y)[1]
    ctx = CaseContext(case)
    tol = ctx.energy_abs_tol()
    assert np.all(np.abs(F_chol - F_closed) <= tol)
    assert np.all(np.abs(F_svd - F_closed) <= tol)


@given(cases(max_hidden=3, max_width=4))
def test_energy_after_gradient_descent_inference_matches_closed_form(case):
    """Converged gradient-descent inference (what a PC practitioner runs) reaches F* (P1 Fig. 1).

    GD stops when ‖g‖ ≤ tol‖g₀‖; then 0 ≤ F(z) − F* = ½gᵀH_z⁻¹g ≤ ‖g‖²/(2λ_min) per sample, which
    with round-off is the whole tolerance.
    """
    net, x, y = case.net, case.x, case.y
    res = linpc.gradient_descent_inference(net, x, y, tol=1e-10, max_steps=200_000)
    assert res.converged
    assert res.n_steps <= res.predicted_steps
    F_closed = float(np.mean(ref.dense_equilibrated_energy(net, x, y)))
    gap = res.energies[-1] - F_closed
    bound = res.grad_norms[-1] ** 2 / (2 * res.eigenvalues.lambda_min) / x.shape[0]
    roundoff = float(np.mean(CaseContext(case).energy_abs_tol()))
    assert -roundoff <= gap <= bound + roundoff


# -------------------------------------------------------------------------------- item 2
@settings(max_examples=20)
@given(specs(max_hidden=3, max_width=3, max_batch=1))
def test_activity_hessian_is_the_hessian_of_the_energy(spec):
    """The block formula of H_z equals scipy.differentiate.hessian of F (docs/theory.md §1.2).

    F is evaluated by ``linpc.energy`` (prediction errors), differentiated numerically; the
    Hessian is assembled from the closed-form blocks. Also H_z = DᵀΠD with D built explicitly.
    """
    from scipy.differentiate import hessian

    case = build_case(spec)
    net, x, y = case.net, case.x[:1], case.y[:1]
    n = net.n_activities
    z0 = np.random.default_rng(spec.seed).standard_normal(n)

    def F(z):
        flat = z.reshape(n, -1).T                 # scipy passes (n, ...) arrays
        vals = linpc.energy(net, net.split_activities(flat),
                            np.repeat(x, len(flat), 0), np.repeat(y, len(flat), 0),
                            per_sample=True)
        return vals.reshape(z.shape[1:])

    h0, maxiter = 0.5, 4
    res = hessian(F, z0, initial_step=h0, maxiter=maxiter)
    Hz = linpc.ActivityHessian(net).to_dense()
    scale = np.linalg.norm(Hz, 2)
    # F is exactly quadratic: no truncation error, only the cancellation of a second difference,
    # ≲ eps·|F|/h² at the smallest step h = h0/2^maxiter (plus scipy's own error estimate)
    f_scale = float(F(z0[:, None])[0]) + scale * (np.linalg.norm(z0) + h0) ** 2
    h_min = h0 / 2.0**maxiter
    tol = SAFETY * (float(np.max(res.error)) + EPS * f_scale / h_min**2)
    assert np.max(np.abs(res.ddf - Hz)) <= tol
    assert np.max(np.abs(ref.dense_activity_hessian(net) - Hz)) <= SAFETY * n * EPS * scale


@given(st.one_of(cases(), ILL_CONDITIONED))
def test_activity_gradient_is_affine(case):
    """∇_zF(z) = H_z z − b for arbitrary z (docs/theory.md §1.2): matvec + rhs vs prediction
    errors."""
    net, x, y = case.net, case.x, case.y
    rng = np.random.default_rng(case.spec.seed + 11)
    Z = rng.standard_normal((x.shape[0], net.n_activities))
    g = np.concatenate(linpc.energy_activity_gradient(net, net.split_activities(Z), x, y), axis=1)
    Hz = linpc.ActivityHessian(net)
    b = linpc.activity_rhs(net, x, y)
    g2 = Hz.matvec(Z.T).T - b
    # both sides round at the level of the terms they add: ‖H_z‖‖z‖, ‖b‖ and the clamped data
    # entering through M_1 x and M_Lᵀ y (and the biases)
    Ms, cs = ref.dense_layer_maps(net)
    H_norm = np.linalg.norm(ref.dense_activity_hessian(net), 2)
    magnitude = (H_norm * np.linalg.norm(Z) + np.linalg.norm(b)
                 + np.linalg.norm(Ms[0]) * np.linalg.norm(x) + np.linalg.norm(Ms[-1])
                 * np.linalg.norm(y) + np.sqrt(x.shape[0]) * sum(np.linalg.norm(c) for c in cs))
    tol = SAFETY * size_of(net) * EPS * magnitude
    assert np.linalg.norm(g - g2) <= tol


# -------------------------------------------------------------------------------- items 3, 4
@given(cases())
def test_routes_agree_on_the_equilibrium(case):
    """z* by block Cholesky = LAPACK banded Cholesky = Gaussian conditioning = SVD least squares.

    z*_l = M_{l:1}x + C_l S⁻¹r (docs/theory.md §1.3) is the Gaussian route; normwise forward errors
    of backward-stable solvers are bounded by SAFETY·κ·n·eps·‖(x, z*, y)‖.
    """
    ctx = CaseContext(case)
    zc = np.concatenate(ctx.eq_chol.activities, axis=1)
    zb = np.concatenate(linpc.solve_equilibrium(case.net, case.x, case.y,
                                                method="banded").activities, axis=1)
    zg = np.concatenate(ctx.eq_gauss.activities, axis=1)
    zd = ref.dense_equilibrium(case.net, case.x, case.y)[0]
    tol = 2 * ctx.z_abs_tol()
    for other in (zb, zg, zd):
        assert np.linalg.norm(other - zc) <= tol


@given(cases())
def test_equilibrium_errors_are_backpropagated_rescaled_residuals(case):
    """e*_l = π_l⁻¹ M_{L:l+1}ᵀ S⁻¹ r and π_L e*_L = S⁻¹ r (docs/theory.md §1.3), via the verify
    row."""
    comps = IDENTITIES["2.5.3"].check(CaseContext(case))
    assert all(c.ok for c in comps), [(c.error, c.tolerance) for c in comps if not c.ok]


@given(ILL_CONDITIONED)
def test_activity_routes_agree_on_ill_conditioned_networks(case):
    """κ(H_z) up to 1e14: block Cholesky = LAPACK banded Cholesky = SVD least squares on Π^{1/2}D
    within the κ-scaled bound 2·SAFETY·κ(H_z)·n·eps·‖(x, z*, y)‖, κ being the certified one of the
    system these routes solve. (The Gaussian route and Theorem 1's closed form work with S, whose
    κ is often far beyond float64 at these draws: tests/test_ill_conditioning.py plays them
    against exact arithmetic.)"""
    ctx = CaseContext(case)
    assert ctx.eig.certified
    tol = 2 * solve_tolerance(ctx.eig.condition_number, ctx.size) * max(ctx.activity_norm,
                                                                        ctx.forward_growth)
    zc = np.concatenate(ctx.eq_chol.activities, axis=1)
    zb = np.concatenate(linpc.solve_equilibrium(case.net, case.x, case.y, method="banded",
                                                warn_if_error_above=None).activities, axis=1)
    zd = ref.dense_equilibrium(case.net, case.x, case.y)[0]
    for other in (zb, zd):
        assert np.linalg.norm(other - zc) <= tol


# -------------------------------------------------------------------------------- item 5
@settings(max_examples=20)
@given(specs(max_hidden=3, max_width=4, max_batch=4))
def test_envelope_theorem_gradient_matches_finite_differences(spec):
    """∇_θF* equals the PC weight gradient at z* (envelope theorem, docs/theory.md §2.5.5).

    The full gradient (every weight and bias) is compared with ``scipy.differentiate.jacobian``
    of Theorem 1's closed form F*(θ), which never solves for z*.
    """
    from scipy.differentiate import jacobian

    case = build_case(spec)
    net, x, y = case.net, case.x, case.y
    theta = linpc.flatten_parameters(net)
    g = linpc.equilibrated_energy_gradient(net, x, y, method="cholesky",
                                           warn_if_error_above=None).flat()

    def F(T):
        T2 = T.reshape(T.shape[0], -1)
        vals = [np.mean(ref.dense_equilibrated_energy(linpc.with_flat_parameters(net, t), x, y))
                for t in T2.T]
        return np.array(vals).reshape(T.shape[1:])

    res = jacobian(F, theta, initial_step=1e-2)
    F0 = float(F(theta[:, None])[0])
    kappa = kappa_dense(net)
    step = 1e-2 / 2.0 ** np.max(res.nit)
    tol = derivative_tolerance(float(np.max(res.error)), step, F0, kappa)
    assert np.max(np.abs(res.df - g)) <= tol


# -------------------------------------------------------------------------------- item 6
@given(cases())
def test_woodbury_form_of_the_inverse_rescaling(case):
    """S⁻¹ = λI − λ²M_L[H_z⁻¹]_{HH}M_Lᵀ (docs/theory.md §2.2.3) against Theorem 1's S.

    Route 1 reads [H_z⁻¹]_{HH} = (G_HH G_HHᵀ)⁻¹ off the last block of the block Cholesky factor;
    the reference forms S by explicit products; their product must be the identity to κ·n·eps.
    """
    net = case.net
    S_inv = linpc.equilibrium_rescaling(net, method="cholesky", inverse=True)
    S = ref.dense_rescaling(net)
    tol = solve_tolerance(kappa_dense(net), size_of(net))
    assert np.linalg.norm(S_inv @ S - np.eye(net.d_y)) <= tol * np.sqrt(net.d_y)
    S_g = linpc.equilibrium_rescaling(net, method="gaussian")
    assert np.linalg.norm(S_g - S) <= tol * np.linalg.norm(S)


# -------------------------------------------------------------------------------- item 8
@given(cases())
def test_energy_bounds_and_positive_definite_activity_hessian(case):
    """ℒ/λ_max(S) ≤ F* ≤ ℒ/λ_min(S) ≤ π_Lℒ and λ_min(H_z) > 0 (docs/theory.md §2.3, §1.2)."""
    comps = IDENTITIES["2.5.8"].check(CaseContext(case))
    assert all(c.ok for c in comps)
    Hd = ref.dense_activity_hessian(case.net)
    w = np.linalg.eigvalsh(Hd)
    assert w[0] > eigenvalue_tolerance(len(w), w[-1])


@given(st.one_of(cases(max_hidden=3, max_width=4), ILL_CONDITIONED))
def test_banded_and_lanczos_extreme_eigenvalues_match_dense(case):
    """Extreme eigenvalues of H_z: banded (dsbevx) and Lanczos vs dense eigh (Weyl bound), also
    at κ up to 1e14; a result that is not certified warns (and is then a bound, within the same
    distance of the dense eigenvalue)."""
    Hz = linpc.ActivityHessian(case.net)
    w = np.linalg.eigvalsh(ref.dense_activity_hessian(case.net))
    tol = eigenvalue_tolerance(len(w), w[-1])
    for method in ("banded", "lanczos"):
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            ev = Hz.extreme_eigenvalues(method=method)
        assert bool(rec) == (not ev.certified)
        assert all(issubclass(r.category, IllConditionedWarning) for r in rec)
        assert abs(ev.lambda_min - w[0]) <= tol + ev.error_min
        assert abs(ev.lambda_max - w[-1]) <= tol + ev.error_max
        assert ev.condition_number > 0


# -------------------------------------------------------------------------------- item 9
@given(specs(max_hidden=6, max_width=1, precision_modes=("unit", "output"), biases=False))
def test_scalar_chain_closed_form(spec):
    """Scalar chain: F* = ℒ/(λ⁻¹ + Σ_{l≥2} Π_{k≥l} (a_k w_k)²) (P1; docs/theory.md §2.3), by
    hand."""
    case = build_case(spec)
    net = case.net
    w = np.array([W[0, 0] for W in net.weights])
    a = net.scalings
    if net.use_skips:
        m = [a[i] * w[i] + (1.0 if net.skips[i] else 0.0) for i in range(len(w))]
    else:
        m = list(a * w)
    m = np.array(m)
    ell = 0.5 * np.mean((case.y[:, 0] - np.prod(m) * case.x[:, 0]) ** 2)
    s = 1 / net.output_precision + sum(np.prod(m[l - 1:] ** 2) for l in range(2, len(m) + 1))
    F = linpc.solve_equilibrium(net, case.x, case.y, warn_if_error_above=None).energy
    tol = SAFETY * 4 * len(m) * EPS * max(1.0, float(np.max(m ** 2))) ** len(m)
    assert abs(F - ell / s) <= tol * max(ell / s, 1e-300)


# -------------------------------------------------------------------------------- items 10–12
@given(cases())
def test_orthogonal_invariance_and_general_basis_change(case):
    """F* is invariant under orthogonal changes of hidden basis, not under general ones; ℒ is
    invariant under both (docs/theory.md §2.4)."""
    comps = IDENTITIES["2.5.10"].check(CaseContext(case))
    assert all(c.ok for c in comps)


@given(cases())
def test_zero_last_layer_gives_scaled_mse_and_gradient(case):
    """W_L = 0 ⇒ F* = λℒ and ∇F* = λ∇ℒ (docs/theory.md §3.3; BP gradient by backpropagation)."""
    comps = IDENTITIES["2.5.11"].check(CaseContext(case))
    assert all(c.ok for c in comps)


@given(cases(max_hidden=3, max_width=4))
def test_activity_hessian_is_independent_of_first_layer_biases_and_data(case):
    """H_z probed from ∇_zF is the same for other W_1, biases and data (docs/theory.md §1.2)."""
    comps = IDENTITIES["2.5.12"].check(CaseContext(case))
    assert all(c.ok for c in comps)


# -------------------------------------------------------------------------------- item 13
@settings(max_examples=5)
@given(specs(max_hidden=3, max_width=3, precision_modes=("unit", "output", "layers")))
def test_rescaling_is_the_covariance_of_the_generative_model(spec):
    """S = Cov(y | x) of z_l = M_l z_{l-1} + c_l + ε_l, ε_l ~ N(0, π_l⁻¹I) (docs/theory.md §2.2).

    A Monte Carlo estimate from 100 000 draws matches S entrywise within 5 Wishart standard
    deviations, and the sample mean matches the feedforward output within 5 standard errors.
    """
    case = build_case(spec)
    net = case.net
    n = 100_000
    _, ys = linpc.core.sample_gaussian_model(net, case.x[0], n, rng=spec.seed)
    S = ref.dense_rescaling(net)
    emp = np.cov(ys, rowvar=False).reshape(net.d_y, net.d_y)
    assert np.all(np.abs(emp - S) <= 5 * wishart_sigma(S, n))
    mean_sig = np.sqrt(np.diag(S) / n)
    assert np.all(np.abs(ys.mean(0) - net.predict(case.x[:1])[0]) <= 5 * mean_sig)


# -------------------------------------------------------------------------------- item 14
@given(cases(skips=True, max_hidden=5))
def test_residual_networks_satisfy_the_same_identities(case):
    """Residual nets (M_l = I + a_lW_l): items 1, 3, 4, 6 hold unchanged (§2.5.14)."""
    comps = IDENTITIES["2.5.14"].check(CaseContext(case))
    assert all(c.ok for c in comps)


# -------------------------------------------------------------------------------- item 15
@given(cases(max_hidden=3, max_width=4))
def test_weak_output_precision_recovers_backprop(case):
    """λ → 0: F*/λ − ℒ = O(λ) and ∇F*/λ − ∇ℒ = O(λ) (docs/theory.md §2.3): log–log slope 1 ± 0.1."""
    comps = IDENTITIES["2.5.15"].check(CaseContext(case))
    assert all(c.ok for c in comps), [(c.error, c.tolerance) for c in comps]


# -------------------------------------------------------------------------------- inference
@settings(max_examples=20)
@given(cases(max_hidden=3, max_width=3, max_batch=3))
def test_gradient_flow_matches_dense_matrix_exponential(case):
    """z(t) = z* + e^{−tH_z}(z(0) − z*) by expm_multiply vs scipy.linalg.expm on dense H_z."""
    net, x, y = case.net, case.x, case.y
    t = 0.7
    zt = np.concatenate(linpc.gradient_flow_activities(net, x, y, t), axis=1)
    Hd = ref.dense_activity_hessian(net)
    zs, _ = ref.dense_equilibrium(net, x, y)
    z0 = np.concatenate(net.forward(x)[1:-1], axis=1)
    expected = zs + (sla.expm(-t * Hd) @ (z0 - zs).T).T
    ctx = CaseContext(case)
    assert np.linalg.norm(zt - expected) <= 4 * ctx.z_abs_tol()


@given(cases(max_hidden=3, max_width=4))
def test_gradient_descent_contracts_as_predicted_by_kappa(case):
    """GD with the optimal step contracts ‖∇_zF‖ by at least ρ = (κ−1)/(κ+1) per step."""
    net, x, y = case.net, case.x, case.y
    res = linpc.gradient_descent_inference(net, x, y, tol=1e-8)
    ev = res.eigenvalues
    kappa = ev.condition_number
    assert res.contraction == pytest.approx((kappa - 1) / (kappa + 1), rel=1e-12, abs=1e-15)
    ctx = CaseContext(case)
    floor = SAFETY * ctx.size * EPS * ev.lambda_max * max(ctx.activity_norm, ctx.forward_growth)
    steps = res.recorded_steps
    assert np.all(res.grad_norms <= res.contraction ** steps * res.grad_norms[0] + floor)


@settings(max_examples=10)
@given(cases(max_hidden=64, max_width=4, max_batch=8))
def test_routes_agree_on_deep_networks(case):
    """The equilibrium routes agree up to 64 hidden layers (κ-scaled normwise bound)."""
    ctx = CaseContext(case)
    zc = np.concatenate(ctx.eq_chol.activities, axis=1)
    zg = np.concatenate(ctx.eq_gauss.activities, axis=1)
    assert np.linalg.norm(zg - zc) <= 2 * ctx.z_abs_tol()
    F_closed = ref.dense_equilibrated_energy(case.net, case.x, case.y)
    assert np.all(np.abs(ctx.eq_chol.energies - F_closed) <= ctx.energy_abs_tol())
