"""Property tests of PC inference as a trust-region step (docs/theory.md §4.2; §2.5.7, 2.5.17).

Every identity is checked against a computation that shares no code path with the tested one:

* the TR step, radius and value (block Cholesky of ``H_z``) against the activity gradient of the
  energy (``linpc.energy_activity_gradient``, prediction errors), the Gaussian-conditioning
  equilibrium (covariance recursion, no ``H_z``), SVD least squares on the dense ``Π^{1/2}D``
  (``linpc.verify.reference``), LAPACK's banded Cholesky and matrix-free products with ``H_z``;
* Δ* as the solution of the TR subproblem in the ``H_z`` metric against the generic dense solver;
* each term of the weight-gradient decomposition against ``scipy.differentiate.derivative`` of the
  function that defines it, evaluated with core code (``linpc.energy`` at the forward pass, the
  activity gradient, ``ActivityHessian.matvec``), and the sum against finite differences of the
  dense least-squares ``F*``;
* the interpolation along inference against ``linpc.gradient_flow_activities`` (its own
  ``expm_multiply`` from ``z(0) − z*``) and ``linpc.gradient_descent_inference`` (Euler steps on
  the prediction-error gradient), and its limits against exact results;
* the shallow-model escape prediction against ``scipy.differentiate.hessian`` and a gradient-descent
  simulation of BP and PC (exact equilibrium) from small random starts.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import linpc
from linpc.core import flatten_parameters, with_flat_parameters
from linpc.dynamics import shallow_escape_prediction
from linpc.numerics import (
    EPS,
    SAFETY,
    derivative_tolerance,
    roundoff_tolerance,
    solve_tolerance,
    stationarity_tolerance,
)
from linpc.testing import cases
from linpc.trust_region import (
    cosine_similarity,
    inference_interpolation,
    pc_trust_region_step,
    pc_trust_region_subproblem,
    weak_precision_gaps,
    weight_gradient_decomposition,
)
from linpc.verify import CaseContext, build_case
from linpc.verify import reference as ref

decays = st.one_of(st.just(0.0), st.floats(0.05, 2.0))


def with_decay(case, decay):
    return case.net if decay == 0 else case.net.replace(activity_decay=decay)


def kappa_dense(net) -> float:
    """κ(H_z) and κ(S) (when defined) from dense symmetric eigensolvers (small networks)."""
    w = np.linalg.eigvalsh(ref.dense_activity_hessian(net))
    k = w[-1] / w[0]
    if not net.activity_decay:
        s = np.linalg.eigvalsh(ref.dense_rescaling(net))
        k = max(k, s[-1] / s[0])
    return float(k)


def size_of(net) -> int:
    return max(net.n_activities, max(net.widths))


def gradient_change_bound(net, x, y, Z, D) -> float:
    """Bound on ‖∂F/∂θ(Z + D) − ∂F/∂θ(Z)‖ (exact, from the bilinear form of the gradient).

    ∂F_B/∂W_l = −(a_lπ_l/B) e_lᵀz_{l-1}; with z = Z + D the errors change by
    δe_l = d_l − d_{l-1}M_lᵀ (d_0 = d_L = 0), so the change is
    −(a_lπ_l/B)(δe_lᵀz_{l-1} + e_lᵀd_{l-1} + δe_lᵀd_{l-1}), bounded in Frobenius norm by
    (a_lπ_l/B)(‖δe_l‖‖z_{l-1}‖ + ‖e_l‖‖d_{l-1}‖ + ‖δe_l‖‖d_{l-1}‖) with ‖δe_l‖ ≤ ‖d_l‖ +
    ‖M_l‖₂‖d_{l-1}‖; a bias gradient −(a_lπ_l/B)Σ_i e_l changes by at most (a_lπ_l/B)√B‖δe_l‖.
    """
    B = x.shape[0]
    zs = [x, *net.split_activities(Z), y]
    es = linpc.prediction_errors(net, zs[1:-1], x, y)
    ds = [np.zeros_like(x), *net.split_activities(D), np.zeros_like(y)]
    bound = 0.0
    for l in range(1, net.n_layers + 1):
        de = np.linalg.norm(ds[l]) + np.linalg.norm(net.layer_map(l), 2) * np.linalg.norm(
            ds[l - 1])
        c = net.scalings[l - 1] * net.precisions[l - 1] / B
        bound += c * (de * np.linalg.norm(zs[l - 1]) + np.linalg.norm(es[l - 1])
                      * np.linalg.norm(ds[l - 1]) + de * np.linalg.norm(ds[l - 1]))
        if net.biases[l - 1] is not None:
            bound += c * np.sqrt(B) * de
    return float(bound)


# ------------------------------------------------------------------- TR step, radius, value
@given(cases(), decays)
def test_feedforward_gradient_has_only_the_last_block(case, decay):
    """g = ∇_zF(ẑ): g_l = 0 (l < H), g_H = −π_L M_Lᵀ r, with biases and any precisions (+ δẑ).

    Compared with the activity gradient of the energy evaluated from prediction errors at the
    forward pass (``linpc.energy_activity_gradient``), a different formula.
    """
    net = with_decay(case, decay)
    x, y = case.x, case.y
    tr = pc_trust_region_step(net, x, y, warn_if_error_above=None)
    zs = net.forward(x)
    g_ref = np.concatenate(linpc.energy_activity_gradient(net, zs[1:-1], x, y), axis=1)
    scale = (np.linalg.norm(g_ref) + net.output_precision * np.linalg.norm(tr.residual)
             * np.linalg.norm(net.layer_map(net.n_layers)) + decay * np.linalg.norm(
                 tr.feedforward))
    assert np.linalg.norm(tr.gradient - g_ref) <= roundoff_tolerance(size_of(net)) * scale
    if decay == 0:
        H = net.n_hidden
        off = net.activity_offsets
        assert np.all(tr.gradient[:, :off[H - 1]] == 0.0)


@given(cases(), decays)
def test_trust_region_value_is_equilibrated_energy(case, decay):
    """F* = F(ẑ) − ½gᵀH_z⁻¹g = λℓ − ½ρ² per sample (§2.5.7), for biases, per-layer precisions,
    skips and activity decay; the reference is SVD least squares on the dense system (and, without
    decay, Theorem 1's ½rᵀS⁻¹r)."""
    net = with_decay(case, decay)
    x, y = case.x, case.y
    tr = pc_trust_region_step(net, x, y, warn_if_error_above=None)
    lam = net.output_precision
    r = net.residual(x, y)
    if decay == 0:
        np.testing.assert_allclose(tr.feedforward_energies, 0.5 * lam * np.sum(r * r, axis=1),
                                   rtol=roundoff_tolerance(net.d_y), atol=0)
    F_svd = ref.dense_equilibrium(net, x, y)[1]
    k = kappa_dense(net)
    # the value is a difference λℓ − ½ρ²: its error is κ-scaled relative to the larger term
    tol = solve_tolerance(k, size_of(net)) * (tr.feedforward_energies + 0.5 * tr.radius**2
                                              + F_svd)
    assert np.all(np.abs(tr.energies - F_svd) <= tol)
    if decay == 0:
        F_thm = ref.dense_equilibrated_energy(net, x, y)
        assert np.all(np.abs(tr.energies - F_thm) <= tol)


@given(cases(), decays)
def test_step_is_equilibrium_minus_feedforward(case, decay):
    """Δ* = −H_z⁻¹g = z* − ẑ, with z* from Gaussian conditioning (no H_z; without decay) and from
    SVD least squares (with decay), and ρ² = gᵀH_z⁻¹g = Δ*ᵀH_zΔ* = −gᵀΔ* (matrix-free product)."""
    net = with_decay(case, decay)
    x, y = case.x, case.y
    tr = pc_trust_region_step(net, x, y, warn_if_error_above=None)
    n, k = size_of(net), kappa_dense(net)
    if decay == 0:
        zstar = np.concatenate(linpc.solve_equilibrium(net, x, y, method="gaussian",
                                                       warn_if_error_above=None).activities, axis=1)
        ctx = CaseContext(case)
        atol = 2 * ctx.z_abs_tol()
    else:
        zstar = ref.dense_equilibrium(net, x, y)[0]
        atol = 2 * solve_tolerance(k, n) * (np.linalg.norm(zstar) + np.linalg.norm(
            tr.feedforward))
    assert np.linalg.norm(tr.equilibrium - zstar) <= atol
    HD = linpc.ActivityHessian(net).matvec(tr.step.T).T
    quad = np.sum(tr.step * HD, axis=1)
    lin = -np.sum(tr.gradient * tr.step, axis=1)
    tol = solve_tolerance(k, n) * tr.radius**2 + roundoff_tolerance(n) * np.sum(
        np.abs(tr.step) * (np.abs(HD) + np.abs(tr.gradient)), axis=1)
    assert np.all(np.abs(quad - tr.radius**2) <= tol)
    assert np.all(np.abs(lin - tr.radius**2) <= tol)


@given(cases())
def test_schur_complement_identity_for_the_rescaling(case):
    """S⁻¹ = λI − λ²M_L[H_z⁻¹]_{HH}M_Lᵀ with per-layer precisions (§2.2.3, §4.2):
    [H_z⁻¹]_{HH}M_Lᵀ from LAPACK's banded Cholesky solve, S from Theorem 1's literal sum; and hence
    ½gᵀH_z⁻¹g = ½λ²rᵀM_L[H_z⁻¹]_{HH}M_Lᵀr (the TR radius) sample by sample."""
    net, x, y = case.net, case.x, case.y
    lam, L = net.output_precision, net.n_layers
    Hz = linpc.ActivityHessian(net)
    n, nH = net.n_activities, net.hidden_widths[-1]
    rhs = np.zeros((n, net.d_y))
    ML = net.layer_map(L)
    rhs[n - nH:] = ML.T
    X = Hz.solve(rhs, method="banded")[n - nH:]
    S_inv = lam * np.eye(net.d_y) - lam**2 * ML @ X
    S = ref.dense_rescaling(net)
    k = kappa_dense(net)
    assert np.linalg.norm(S_inv @ S - np.eye(net.d_y)) <= solve_tolerance(k, size_of(net)) * \
        np.sqrt(net.d_y) * max(1.0, lam * np.linalg.norm(S, 2))
    tr = pc_trust_region_step(net, x, y, hessian=Hz, warn_if_error_above=None)
    r = tr.residual
    half_rho2 = 0.5 * lam**2 * np.sum(r * (r @ (ML @ X).T), axis=1)
    assert np.all(np.abs(0.5 * tr.radius**2 - half_rho2) <= solve_tolerance(k, size_of(net))
                  * (0.5 * tr.radius**2 + lam * np.sum(r * r, axis=1)))


@settings(max_examples=30)
@given(cases(max_hidden=3, max_width=4), decays, st.sampled_from(["quadratic", "linear"]))
def test_step_solves_the_trust_region_subproblem_in_the_hz_metric(case, decay, model):
    """Δ* is the global solution of min gᵀΔ + ½ΔᵀH_zΔ (or min gᵀΔ) over ‖Δ‖_{H_z} ≤ ρ,
    ρ = ‖g‖_{H_z⁻¹}, found by the generic exact TR solver on the dense H_z: multiplier 0
    (quadratic; the Newton step just reaches the boundary) or 1 (linear), step = z* − ẑ
    (docs/theory.md §4.2)."""
    net = with_decay(case, decay)
    x, y = case.x, case.y
    tr = pc_trust_region_step(net, x, y, warn_if_error_above=None)
    i = int(np.argmax(tr.radius))
    if tr.radius[i] == 0:
        return
    res = pc_trust_region_subproblem(net, x, y, sample=i, model=model)
    n, k = net.n_activities, kappa_dense(net)
    Hd = ref.dense_activity_hessian(net)
    Hn = np.linalg.norm(Hd, 2)
    stat = stationarity_tolerance(n, Hn if model == "quadratic" else 0.0,
                                  np.linalg.norm(tr.gradient[i]), np.linalg.norm(res.step),
                                  res.multiplier, metric_norm=Hn, metric_condition=k)
    # the multiplier is determined by the stationarity residual along Δ*: |δμ|·‖H_zΔ*‖ ≤ stat
    mu_expected = 0.0 if model == "quadratic" else 1.0
    dmu = stat / np.linalg.norm(Hd @ tr.step[i]) + solve_tolerance(k, n)
    assert abs(res.multiplier - mu_expected) <= dmu
    # (1 + μ)H_zp = −g + s (quadratic) or μH_zp = −g + s (linear): p − Δ* = H_z⁻¹(s − δμ H_zp)/…
    dz = np.linalg.norm(res.step - tr.step[i])
    assert dz <= (stat + dmu * Hn * np.linalg.norm(res.step)) / np.linalg.eigvalsh(Hd)[0] + \
        solve_tolerance(k, n) * np.linalg.norm(tr.step[i])


# ------------------------------------------------------------------- gradient decomposition
@given(cases(), decays)
def test_decomposition_adds_up_to_the_envelope_gradient(case, decay):
    """BP + TR-step + curvature = ∇_θF* (envelope theorem, PC gradient at z* from Gaussian
    conditioning or least squares), and the BP term is λ∇ℒ (backprop) without activity decay."""
    net = with_decay(case, decay)
    x, y = case.x, case.y
    dec = weight_gradient_decomposition(net, x, y)
    if decay == 0:
        eq = linpc.solve_equilibrium(net, x, y, method="gaussian", warn_if_error_above=None)
        g_ref = linpc.energy_parameter_gradient(net, eq.activities, x, y).flat()
        bp = net.output_precision * linpc.mse_gradient(net, x, y).flat()
        assert np.linalg.norm(dec.bp.flat() - bp) <= roundoff_tolerance(
            net.n_layers * size_of(net)) * (np.linalg.norm(bp) + 1e-300) * 10
    else:
        Z = ref.dense_equilibrium(net, x, y)[0]
        g_ref = linpc.energy_parameter_gradient(net, net.split_activities(Z), x, y).flat()
    assert np.all(dec.stationarity.flat() == 0.0)
    k = kappa_dense(net)
    scale = sum(np.linalg.norm(t.flat()) for t in (dec.bp, dec.tr_step, dec.curvature))
    assert np.linalg.norm(dec.total().flat() - g_ref) <= solve_tolerance(k, size_of(net)) * \
        (scale + np.linalg.norm(g_ref)) * net.n_layers


@given(cases(), decays, st.floats(0.1, 3.0))
def test_decomposition_at_any_step_is_the_energy_gradient_there(case, decay, scale):
    """For an arbitrary activity step Δ, BP + TR + curvature + stationarity = ∂F/∂θ at ẑ + Δ
    (``linpc.energy_parameter_gradient``, prediction errors): the algebra of the decomposition
    holds off-equilibrium, where the stationarity term −(∂ẑ/∂θ)ᵀ∇_zF(ẑ+Δ) is nonzero."""
    net = with_decay(case, decay)
    x, y = case.x, case.y
    rng = np.random.default_rng(case.spec.seed + 11)
    D = scale * rng.standard_normal((x.shape[0], net.n_activities))
    dec = weight_gradient_decomposition(net, x, y, step=D)
    zhat = np.concatenate(net.forward(x)[1:-1], axis=1)
    g_ref = linpc.energy_parameter_gradient(net, net.split_activities(zhat + D), x, y).flat()
    terms = (dec.bp, dec.tr_step, dec.curvature, dec.stationarity)
    mag = sum(np.linalg.norm(t.flat()) for t in terms) + np.linalg.norm(g_ref)
    assert np.linalg.norm(dec.total().flat() - g_ref) <= roundoff_tolerance(
        net.n_layers * size_of(net) ** 2) * mag


@settings(max_examples=15)
@given(cases(max_hidden=3, max_width=4, max_batch=3), decays)
def test_each_decomposition_term_is_the_derivative_of_its_definition(case, decay):
    """Each term, along a random direction v, equals scipy.differentiate of its definition with Δ
    held fixed (§2.5.17):

    * BP term: θ ↦ F(ẑ(θ); θ) (``linpc.energy`` at the forward pass; = λℒ without decay);
    * TR term: θ ↦ ⟨g(θ), Δ*⟩, g(θ) = ∇_zF(ẑ(θ); θ) from ``linpc.energy_activity_gradient``;
    * curvature: θ ↦ ½Δ*ᵀH_z(θ)Δ* with ``ActivityHessian(net_θ).matvec``;
    * and the sum: θ ↦ F*(θ) by SVD least squares on the dense system.
    """
    net = with_decay(case, decay)
    x, y = case.x, case.y
    B = x.shape[0]
    dec = weight_gradient_decomposition(net, x, y)
    D = dec.step
    theta = flatten_parameters(net)
    rng = np.random.default_rng(case.spec.seed + 12)
    k = kappa_dense(net)

    def at(th):
        return with_flat_parameters(net, th)

    def f_bp(th):
        n_ = at(th)
        return linpc.energy(n_, n_.forward(x)[1:-1], x, y)

    def f_tr(th):
        n_ = at(th)
        g = np.concatenate(linpc.energy_activity_gradient(n_, n_.forward(x)[1:-1], x, y), axis=1)
        return float(np.sum(g * D)) / B

    def f_curv(th):
        return 0.5 * float(np.sum(D.T * linpc.ActivityHessian(at(th)).matvec(D.T))) / B

    def f_star(th):
        return float(np.mean(ref.dense_equilibrium(at(th), x, y)[1]))

    # evaluation-error scales (size of the terms each function sums before cancelling):
    # r = y − ŷ cancels ‖y‖ + ‖ŷ‖; ε_l = Δ_l − M_lΔ_{l-1} cancels ‖Δ_l‖ + ‖M_lΔ_{l-1}‖; F* carries κ
    zs = net.forward(x)
    r = y - zs[-1]
    cond_r = (np.linalg.norm(y) + np.linalg.norm(zs[-1])) / max(np.linalg.norm(r), 1e-300)
    g = np.concatenate(linpc.energy_activity_gradient(net, zs[1:-1], x, y), axis=1)
    Ds = [np.zeros_like(x), *net.split_activities(D), np.zeros_like(y)]
    curv_mag = sum(0.5 * p * (np.linalg.norm(Ds[l]) + np.linalg.norm(net.apply_layer(l, Ds[l - 1])))
                   ** 2 for l, p in enumerate(net.precisions, start=1)) / B
    n = size_of(net)
    checks = [(f_bp, dec.bp, abs(f_bp(theta)), n * cond_r),
              (f_tr, dec.tr_step, float(np.sum(np.abs(g * D))) / B, n * cond_r),
              (f_curv, dec.curvature, curv_mag, n),
              (f_star, dec.total(), abs(f_star(theta)), n * k)]
    for f, term, f_scale, cond in checks:
        v = rng.standard_normal(theta.size)
        v /= np.linalg.norm(v)
        df, err, step = ref.directional_derivative(f, theta, v)
        assert abs(df - term.flat() @ v) <= derivative_tolerance(err, step, f_scale, cond)


# ------------------------------------------------------------------- interpolation along inference
@given(cases(), decays)
def test_inference_start_gives_last_layer_bp_gradient_only(case, decay):
    """t = 0 (feedforward pass): hidden errors vanish, so the PC gradient is zero on W_1..W_{L-1}
    and their biases, and equals λ∂ℒ/∂W_L (λ∂ℒ/∂b_L) on the last layer (backprop); its cosine
    with ∇ℒ is ‖∇_{last}ℒ‖/‖∇ℒ‖ exactly."""
    net = with_decay(case, decay)
    x, y = case.x, case.y
    res = inference_interpolation(net, x, y, [0.0])
    g0 = linpc.ParameterArrays.from_flat(net, res.gradients[0])
    bp = linpc.mse_gradient(net, x, y)
    lam = net.output_precision
    for l in range(net.n_layers - 1):
        assert np.all(g0.weights[l] == 0.0)
        assert g0.biases[l] is None or np.all(g0.biases[l] == 0.0)
    tol = roundoff_tolerance(size_of(net))
    np.testing.assert_allclose(g0.weights[-1], lam * bp.weights[-1], rtol=tol,
                               atol=tol * lam * np.abs(bp.weights[-1]).max())
    if bp.biases[-1] is not None:
        np.testing.assert_allclose(g0.biases[-1], lam * bp.biases[-1], rtol=tol,
                                   atol=tol * lam * np.abs(bp.biases[-1]).max())
    last = np.concatenate([bp.weights[-1].ravel()] + ([] if bp.biases[-1] is None
                                                       else [bp.biases[-1]]))
    full = bp.norm()
    if full > 0:
        assert abs(res.cosine_bp[0] - np.linalg.norm(last) / full) <= 10 * tol


@settings(max_examples=25)
@given(cases(), st.floats(0.0, 2.0), st.sampled_from(["eigh", "expm"]))
def test_gradient_flow_path_matches_core_flow(case, log_t_scale, method):
    """z(t) = ẑ + Δ(t) (dense eigendecomposition of H_z, or incremental expm_multiply) equals
    ``linpc.gradient_flow_activities`` (one expm_multiply from z(0) − z* with its own z*), for a
    grid of times; at t = ∞ the PC gradient is ∇F*.

    Tolerance: both z* agree to the κ-scaled solve bound; expm_multiply (Al-Mohy & Higham 2011)
    delivers e^{−tA}v to a relative backward error of 2⁻⁵³ per Taylor step, ≲ (n + t‖H_z‖₁)·eps·‖v‖
    after accumulation (the eigh route is backward stable with ≲ n·eps·‖v‖).
    """
    net, x, y = case.net, case.x, case.y
    ev = linpc.ActivityHessian(net).extreme_eigenvalues()
    times = np.array([0.0, 0.1, 1.0, 10.0 ** log_t_scale]) / ev.lambda_min
    res = inference_interpolation(net, x, y, np.append(times, np.inf), method=method)
    ctx = CaseContext(case)
    zhat = np.concatenate(net.forward(x)[1:-1], axis=1)
    h1 = np.abs(linpc.ActivityHessian(net).to_dense()).sum(axis=0).max()
    for k, t in enumerate(times):
        core = np.concatenate(linpc.gradient_flow_activities(net, x, y, t), axis=1)
        tol = 2 * ctx.z_abs_tol() + SAFETY * (net.n_activities + t * h1) * EPS * \
            res.initial_distance
        assert np.linalg.norm(zhat + res.steps[k] - core) <= tol
    eq = linpc.solve_equilibrium(net, x, y, method="gaussian", warn_if_error_above=None)
    g_star = linpc.energy_parameter_gradient(net, eq.activities, x, y).flat()
    dz = np.concatenate(eq.activities, axis=1) - (zhat + res.steps[-1])
    assert np.linalg.norm(dz) <= 2 * ctx.z_abs_tol()
    assert np.linalg.norm(res.equilibrium_gradient - g_star) <= gradient_change_bound(
        net, x, y, zhat + res.steps[-1], dz) + roundoff_tolerance(
        size_of(net) * net.n_layers) * np.linalg.norm(g_star)
    assert np.array_equal(res.gradients[-1], res.equilibrium_gradient)
    assert abs(res.cosine_equilibrium[-1] - 1.0) <= roundoff_tolerance(net.n_parameters)


@given(cases(), decays)
def test_flow_converges_to_equilibrium_at_rate_lambda_min(case, decay):
    """‖z(t) − z*‖ ≤ e^{−λ_min(H_z) t}‖ẑ − z*‖ (H_z SPD), and the PC gradient error is bounded by
    the
    Lipschitz constant of the bilinear map z ↦ ∂F/∂θ times that distance (docs/theory.md §1.3)."""
    net = with_decay(case, decay)
    x, y = case.x, case.y
    Hz = linpc.ActivityHessian(net)
    ev = Hz.extreme_eigenvalues()
    times = np.array([1.0, 5.0, 20.0]) / ev.lambda_min
    res = inference_interpolation(net, x, y, times)
    d0 = res.initial_distance
    h1 = np.abs(Hz.to_dense()).sum(axis=0).max()
    for k, t in enumerate(times):
        bound = np.exp(-ev.lambda_min * t) * d0
        assert res.distances[k] <= bound * (1 + SAFETY * ev.error_min * t) + SAFETY * (
            net.n_activities + t * h1) * EPS * d0
    # the PC gradient is Lipschitz in z along the path (bilinear map z ↦ ∂F/∂θ, see helper)
    tr = pc_trust_region_step(net, x, y, warn_if_error_above=None)
    for k in range(len(times)):
        d = tr.feedforward + res.steps[k] - tr.equilibrium
        err = np.linalg.norm(res.gradients[k] - res.equilibrium_gradient)
        assert err <= gradient_change_bound(net, x, y, tr.equilibrium, d) + roundoff_tolerance(
            size_of(net) * net.n_layers) * (np.linalg.norm(res.equilibrium_gradient)
                                            + np.linalg.norm(res.gradients[k]))


@settings(max_examples=30)
@given(cases(max_hidden=4, max_width=5), decays, st.integers(1, 40))
def test_euler_path_matches_gradient_descent_inference(case, decay, T):
    """Δ_T = −(I − (I − ηH_z)^T)H_z⁻¹g equals T steps of ``linpc.gradient_descent_inference``
    (z ← z − η∇_zF from prediction errors) with η = 1/λ_max; also the gradients there.

    Each Euler step of either route rounds at ≲ SAFETY·n·eps·(‖z‖ + η‖H_z‖‖z‖), and with η < 2/λ_max
    the iteration does not amplify earlier errors; the two z* differ by the solve bound.
    """
    net = with_decay(case, decay)
    x, y = case.x, case.y
    ev = linpc.ActivityHessian(net).extreme_eigenvalues()
    eta = 1.0 / ev.lambda_max
    res = inference_interpolation(net, x, y, [T], step_size=eta)
    gd = linpc.gradient_descent_inference(net, x, y, step_size=eta, tol=1e-300, max_steps=T,
                                          eigenvalues=ev)
    # GD stops early only if the gradient vanishes exactly (e.g. κ = 1 and η = 1/λ: one step
    # lands on z*); the remaining Euler steps are then no-ops, so the comparison still holds
    assert gd.n_steps == T or (gd.converged and gd.grad_norms[-1] == 0.0)
    Z = np.concatenate(gd.activities, axis=1)
    zhat = np.concatenate(net.forward(x)[1:-1], axis=1)
    mag = np.linalg.norm(zhat) + 2 * res.initial_distance + np.linalg.norm(x) + np.linalg.norm(y)
    k, n = kappa_dense(net), size_of(net)
    tol = (T + 1) * SAFETY * n * EPS * 2 * mag + 2 * solve_tolerance(k, n) * mag
    assert np.linalg.norm(zhat + res.steps[0] - Z) <= tol


@settings(max_examples=30)
@given(cases(max_hidden=3, max_width=4))
def test_weak_precision_recovers_bp(case):
    """λ → 0: 0 ≤ λq_min/(1+λq_min)ℒ ≤ ℒ − F*/λ ≤ λq_max/(1+λq_max)ℒ (exact, Q ⪰ 0), hence O(λ);
    and ‖∇F*/λ − ∇ℒ‖ = O(λ): its log–log slope over the λ ≤ 1e-3 at which the gap is resolved
    (ten times the round-off floor below) is 1 ± 0.1 (docs/theory.md §2.3).

    F* and ∇F* come from the block Cholesky route at each λ; the bounds from the spectrum of
    Q = Σ_{l<L} π_l⁻¹M_{L:l+1}M_{L:l+1}ᵀ (Theorem 1's sum without its λ⁻¹I term).
    """
    net, x, y = case.net, case.x, case.y
    lams = np.logspace(-6, 0, 7)
    w = weak_precision_gaps(net, x, y, lams)
    Lm = linpc.mse_loss(net, x, y)
    net_k = [net.replace(precisions=np.append(net.precisions[:-1], lam)) for lam in lams]
    for gap, lo, hi, nk in zip(w.energy_gaps, w.lower_bounds, w.upper_bounds, net_k,
                               strict=True):
        k = kappa_dense(nk)
        # F*/λ ≤ ℒ carries the κ-scaled solve error relative to ℒ, ℒ its own round-off
        tol = (solve_tolerance(k, size_of(net)) + roundoff_tolerance(size_of(net))) * Lm
        assert lo - tol <= gap <= hi + tol
    # The slope is fitted where the gap stands out of the round-off floor. At small λ the hidden
    # errors e*_l = z*_l − M_l z*_{l−1} are O(λ) differences of O(1) activities, computed with an
    # absolute error ≲ (solve + round-off tolerance)·(|z_l| + |M_l||z_{l−1}|); the gradient
    # (a_l π_l/B) Σ e_l z_{l−1}ᵀ divided by λ carries that error times 1/λ.
    Ms, _ = ref.dense_layer_maps(net)
    zs = net.forward(x)
    mag = sum(a * p * np.linalg.norm(np.abs(zs[l]) + np.abs(zs[l - 1]) @ np.abs(M).T)
              * np.linalg.norm(zs[l - 1])
              for l, (a, p, M) in enumerate(zip(net.scalings, net.precisions, Ms, strict=True),
                                            start=1)) / x.shape[0]
    floors = [(solve_tolerance(kappa_dense(nk), size_of(net)) + roundoff_tolerance(size_of(net)))
              * mag / lam for lam, nk in zip(lams, net_k, strict=True)]
    use = [i for i in range(4) if w.gradient_gaps[i] > 10 * floors[i]]   # λ ≤ 1e-3
    if len(use) >= 2:
        slope = np.polyfit(np.log(lams[use]), np.log(w.gradient_gaps[use]), 1)[0]
        assert abs(slope - 1.0) <= 0.1


# ------------------------------------------------------------------- shallow saddle escape
def _one_unit_net(w1, w2, lam=1.0):
    return linpc.LinearPCN([[[w1]], [[w2]]], output_energy_scaling=lam)


@settings(max_examples=15)
@given(st.integers(0, 2**32 - 1), st.floats(0.3, 3.0), st.integers(4, 64))
def test_origin_hessians_of_the_shallow_model(seed, lam, B):
    """H_ℒ(0) and H_F*(0) of f(x) = w_2w_1x equal scipy.differentiate.hessian of ℒ and of the
    closed-form F* (core, block Cholesky); their bottom eigenvalues are the closed forms
    −|s_xy| and −(λ²s_yy + √(λ⁴s_yy² + 4λ²s_xy²))/2 (docs/theory.md §3.2)."""
    from scipy.differentiate import hessian

    rng = np.random.default_rng(seed)
    x = rng.normal(1.0, 0.5, B)
    y = rng.normal(0.0, 1.0) * x + 0.3 * rng.standard_normal(B)
    X, Y = x[:, None], y[:, None]
    pred = shallow_escape_prediction(x, y, output_precision=lam)

    def fn(kind):
        def f(w):
            out = np.empty(w.shape[1:])
            for idx in np.ndindex(*w.shape[1:]):
                net = _one_unit_net(w[(0, *idx)], w[(1, *idx)], lam)
                out[idx] = (linpc.mse_loss(net, X, Y) if kind == "loss" else
                            linpc.equilibrated_energy(net, X, Y, method="cholesky"))
            return out
        return f

    h0, maxiter = 0.1, 3
    for kind, Hpred in (("loss", pred.loss_hessian), ("energy", pred.energy_hessian)):
        res = hessian(fn(kind), np.zeros(2), initial_step=h0, maxiter=maxiter)
        f0 = float(fn(kind)(np.zeros((2, 1)))[0])
        hm = h0 / 2.0**maxiter
        tol = SAFETY * (float(np.max(res.error)) + 4 * EPS * abs(f0) / hm**2)
        assert np.max(np.abs(res.ddf - Hpred)) <= tol
    wl = np.linalg.eigvalsh(pred.loss_hessian)[0]
    wf = np.linalg.eigvalsh(pred.energy_hessian)[0]
    assert abs(wl - pred.loss_min_eigenvalue) <= SAFETY * 2 * EPS * abs(wl)
    assert abs(wf - pred.energy_min_eigenvalue) <= SAFETY * 2 * EPS * np.abs(
        pred.energy_hessian).sum()


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_escape_ratio_is_inverse_golden_ratio_for_y_equal_plus_minus_x(sign):
    """y = ±x: s_yy = |s_xy| = s, so the ratio 2|s_xy|/(s_yy + √(s_yy² + 4s_xy²)) = 2/(1+√5) = 1/φ
    (docs/theory.md §3.2 toy data), independent of the data distribution."""
    rng = np.random.default_rng(0)
    x = rng.normal(1.0, 0.1, 64)
    pred = shallow_escape_prediction(x, sign * x)
    phi = (1 + np.sqrt(5)) / 2
    assert abs(pred.eigenvalue_ratio - 1 / phi) <= SAFETY * 8 * EPS
    assert pred.eigenvalue_ratio < 1


def _escape_time(w0, rho, eta, grad):
    w, t = w0.copy(), 0
    while np.linalg.norm(w) < rho:
        w = w - eta * grad(w)
        t += 1
    return t


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_simulated_escape_times_match_prediction(seed):
    """GD on ℒ (BP) and on F* (PC at exact equilibrium) from w_0 = εu (random unit u), toy data
    x ~ N(1, 0.1²), y = −x (P1 Fig. 2, P2): the escape time to ‖w‖ = ρ is
    t = (log(ρ/ε) + a)/log(1 + η|λ_min|) + o with a = −log|⟨u, v⟩| and o ∈ [−δ, 1 + δ] (rounding up
    to a whole step; δ bounds the cubic terms of the gradient, Σ_t ηK‖w_t‖² ≤ ηKρ²/(1 − g⁻²) in log
    units, K = 4(s_xx + s_yy + 2|s_xy|), plus the decaying stable component). Hence
    |t_PC/t_BP − R_η| ≤ R_η(|a_PC − a_BP| + (1+δ)(log g_PC + log g_BP))
                        /(log(ρ/ε) + a_BP − δ log g_BP),
    R_η = log g_BP/log g_PC: the measured ratio converges to R_η as O(1/log(1/ε)), and
    R_η → |λ_min(H_ℒ)|/|λ_min(H_F*)| = 1/φ as η → 0.
    """
    rng = np.random.default_rng(seed)
    B, eta, rho = 64, 0.1, 0.01
    x = rng.normal(1.0, 0.1, B)
    y = -x
    X, Y = x[:, None], y[:, None]
    pred = shallow_escape_prediction(x, y)
    s_xx = float(np.mean(x * x))
    K = 4 * (s_xx + pred.s_yy + 2 * abs(pred.s_xy))

    def grad_bp(w):
        return linpc.mse_gradient(_one_unit_net(*w), X, Y).flat()

    def grad_pc(w):
        return linpc.equilibrated_energy_gradient(_one_unit_net(*w), X, Y,
                                                  method="gaussian").flat()

    R = pred.time_ratio(eta)
    gs = {"bp": 1 + eta * abs(pred.loss_min_eigenvalue),
          "pc": 1 + eta * abs(pred.energy_min_eigenvalue)}
    bounds = []
    for eps in (1e-4, 1e-8, 1e-12):
        u = rng.standard_normal(2)
        u /= np.linalg.norm(u)
        w0 = eps * u
        t_bp = _escape_time(w0, rho, eta, grad_bp)
        t_pc = _escape_time(w0, rho, eta, grad_pc)
        p_bp, p_pc = pred.escape_steps(w0, rho, eta)
        a = {"bp": -np.log(abs(pred.loss_escape_direction @ u)),
             "pc": -np.log(abs(pred.energy_escape_direction @ u))}
        delta = {k: eta * K * rho**2 / ((1 - g**-2) * np.log(g)) + eps / rho
                 for k, g in gs.items()}
        assert p_bp - delta["bp"] <= t_bp <= p_bp + 1 + delta["bp"]
        assert p_pc - delta["pc"] <= t_pc <= p_pc + 1 + delta["pc"]
        num = abs(a["pc"] - a["bp"]) + (1 + max(delta.values())) * (np.log(gs["pc"])
                                                                    + np.log(gs["bp"]))
        den = np.log(rho / eps) + a["bp"] - delta["bp"] * np.log(gs["bp"])
        bound = R * num / den
        assert abs(t_pc / t_bp - R) <= bound
        assert t_pc < t_bp
        bounds.append(bound)
    assert bounds[-1] < bounds[0]
    # η → 0: log(1 + ηa)/log(1 + ηb) = (a/b)(1 + η(b − a)/2 + O(η²))
    lam_l, lam_f = abs(pred.loss_min_eigenvalue), abs(pred.energy_min_eigenvalue)
    eta0 = 1e-6
    assert abs(pred.time_ratio(eta0) - pred.eigenvalue_ratio) <= pred.eigenvalue_ratio * eta0 * (
        abs(lam_f - lam_l))


def test_bad_inputs_are_rejected():
    """Clear errors for wrong step shapes, negative times, non-integer Euler steps, an out-of-range
    sample, a non-positive precision grid and non-scalar escape data."""
    case = build_case(linpc.verify.NetworkSpec((3, 4, 2), batch=3, seed=1))
    net, x, y = case.net, case.x, case.y
    with pytest.raises(ValueError, match="shape"):
        weight_gradient_decomposition(net, x, y, step=np.zeros((3, 5)))
    with pytest.raises(ValueError, match="≥ 0"):
        inference_interpolation(net, x, y, [-1.0])
    with pytest.raises(ValueError, match="integers"):
        inference_interpolation(net, x, y, [1.5], step_size=0.1)
    with pytest.raises(ValueError, match="step_size"):
        inference_interpolation(net, x, y, [1], step_size=0.0)
    with pytest.raises(IndexError, match="sample"):
        pc_trust_region_subproblem(net, x, y, sample=3)
    with pytest.raises(ValueError, match="model"):
        pc_trust_region_subproblem(net, x, y, model="cubic")
    with pytest.raises(ValueError, match="precisions"):
        weak_precision_gaps(net, x, y, [0.0])
    with pytest.raises(ValueError, match="scalar samples"):
        shallow_escape_prediction(np.ones((3, 2)), np.ones(3))
    with pytest.raises(ValueError, match="s_xy"):
        shallow_escape_prediction([1.0, -1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="different network"):
        pc_trust_region_step(net, x, y, hessian=linpc.ActivityHessian(net.replace()))
    assert np.isnan(cosine_similarity([1.0, 0.0], [0.0, 0.0]))
