"""Origin theorems, other zero-rank saddles, classification, flatness orders (docs/theory.md §3,
§5).

Independent references: ``scipy.differentiate.hessian`` of the closed forms at the constructed
points; the Schur-complement and forward-over-reverse Hessians (themselves checked against
finite differences in ``test_hessians.py``) against closed-form blocks; spectra of the ``P × P``
Hessians against eigenvalues of the ``d × d`` moment matrices; docs/theory.md's gradient formula at
zero-rank ℒ-critical points against the envelope gradient.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from landscape_reference import closed_forms
from scipy.differentiate import hessian

from linpc import LinearPCN, equilibrated_energy_gradient, mse_gradient
from linpc.core import flatten_parameters, output_covariance
from linpc.data import one_hot_classes, second_moments, toy_gaussian
from linpc.landscape import (
    GOLDEN_RATIO,
    EquilibratedEnergyHessian,
    MSEHessian,
    classify_critical_point,
    equilibrated_energy_hessian,
    flatness_slopes,
    hessian_spectrum,
    last_layer_correction,
    last_layer_gram,
    mse_hessian,
    one_unit_curvature_ratio,
    origin_curvature_ratio,
    origin_hessians,
    origin_network,
    origin_spectra,
    other_saddle,
    zero_last_layer_energy_hessian,
    zero_rank_curvature_bound,
    zero_rank_point,
)
from linpc.numerics import eigenvalue_tolerance, second_derivative_tolerance
from linpc.testing import cases
from linpc.verify import reference as ref


@st.composite
def origin_setups(draw, max_hidden=4):
    """Widths, multipliers, precisions and data for the origin theorems (plain, no biases)."""
    H = draw(st.integers(1, max_hidden))
    widths = tuple(draw(st.lists(st.integers(1, 4), min_size=H + 2, max_size=H + 2)))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    L = H + 1
    kw = {"scalings": rng.uniform(0.3, 2.0, L)}
    if draw(st.booleans()):
        kw["precisions"] = rng.uniform(0.5, 2.0, L)
    else:
        kw["output_energy_scaling"] = float(rng.uniform(0.3, 3.0))
    B = draw(st.integers(1, 8))
    x = rng.standard_normal((B, widths[0])) + rng.uniform(-1, 1)
    y = rng.standard_normal((B, widths[-1])) + x[:, :1] * rng.standard_normal(widths[-1])
    return origin_network(widths, **kw), x, y


@settings(max_examples=30)
@given(origin_setups())
def test_origin_blocks_match_numerical_hessians(setup):
    """The closed-form ∇²F*(0), ∇²ℒ(0) (docs/theory.md §3.1–3.2) equal the numerical Hessians at θ
    = 0.

    For one hidden layer only the W_1–W_L cross blocks (−λa_1a_2Σ_yx) and the W_L block
    (−λ²a_L²/π_H Σ_yy ⊗ I) are nonzero; for H ≥ 2 only the W_L block of F* — so Σ_xx never enters
    and ℒ is flat to second order. Any λ, multipliers, precisions and widths.
    """
    net, x, y = setup
    oh = origin_hessians(net, x, y)
    for op, closed in ((EquilibratedEnergyHessian(net, x, y), oh.energy),
                       (MSEHessian(net, x, y), oh.mse)):
        assert np.abs(op.to_dense() - closed).max() <= op.roundoff_tolerance()


@settings(max_examples=6)
@given(origin_setups(max_hidden=3))
def test_origin_blocks_match_fd_hessian(setup):
    """The closed-form origin blocks equal scipy.differentiate.hessian of the closed forms at 0."""
    net, x, y = setup
    theta = flatten_parameters(net)
    oh = origin_hessians(net, x, y)
    Lv, Fv = closed_forms(net, x, y, theta[:, None])
    for k, closed, f0 in ((0, oh.mse, Lv[0]), (1, oh.energy, Fv[0])):
        # two independent step sequences: their disagreement is part of the FD error estimate
        # (scipy's own estimate ignores the inner Jacobian's error; see test_hessians._fd_hessian)
        r1, r2 = (hessian(lambda t, k=k: closed_forms(net, x, y, t)[k], theta, initial_step=h,
                          maxiter=5) for h in (0.1, 0.25))
        err = np.abs(r1.error) + np.abs(r2.error) + np.abs(r1.ddf - r2.ddf)
        tol = np.vectorize(lambda e, f0=f0: second_derivative_tolerance(e, 0.1 / 32, f0))(err)
        assert np.all(np.abs(r1.ddf - closed) <= tol)


@settings(max_examples=30)
@given(origin_setups(), st.booleans())
def test_origin_spectra_with_multiplicities(setup, mean_over_outputs):
    """Eigenvalues of the P × P origin Hessians = the predicted spectra from d × d matrices.

    H = 1: spec(K) × n_1 for F*, ±a_1a_2σ_k(Σ_yx) × n_1 and zeros for ℒ; H ≥ 2: −λ²a_L²λ_k(Σ_yy)/π_H
    × n_H and zeros for F*, all zeros for ℒ. ``mean_over_outputs`` divides ℒ's by d_y.
    """
    net, x, y = setup
    oh = origin_hessians(net, x, y, mean_over_outputs=mean_over_outputs)
    pe, pm = origin_spectra(net, x, y, mean_over_outputs=mean_over_outputs)
    for A, pred in ((oh.energy, pe), (oh.mse, pm)):
        w = np.linalg.eigvalsh(A)
        assert pred.size == w.size
        scale = max(np.abs(w).max(), np.abs(pred.values).max(), 1e-300)
        assert np.abs(w - pred.full()).max() <= 2 * eigenvalue_tolerance(w.size, scale)
    if net.n_hidden >= 2:
        assert pm.lambda_min == 0.0 and pm.lambda_max == 0.0
        lam, aL, piH = net.output_precision, net.scalings[-1], net.precisions[-2]
        ev = np.linalg.eigvalsh(second_moments(x, y).yy)
        assert pe.lambda_min == pytest.approx(-lam**2 * aL**2 * ev[-1] / piH, rel=1e-12)
    # Weyl consequences for H = 1 (docs/theory.md §3.2): λ_min(F*) ≤ λ·λ_min(ℒ), λ_max(F*) ≤
    # λ·λ_max(ℒ)
    if net.n_hidden == 1 and net.precisions[0] == 1 and not mean_over_outputs:
        lam = net.output_precision
        tol = eigenvalue_tolerance(oh.energy.shape[0], np.abs(pe.values).max() + 1.0)
        assert pe.lambda_min <= lam * pm.lambda_min + tol
        assert pe.lambda_max <= lam * pm.lambda_max + tol


def test_toy_origin_golden_ratio_and_fig3_prediction():
    """P1 Fig. 3 (toy y = −x, d = 2, N = 10, B = 64): ∇²F*(0) has eigenvalues σ_k(Σ_xx)(−1 ± √5)/2
    (×10) and ∇²ℒ(0)/d_y (the notebook's MSE) ±σ_k(Σ_xx)/d_y (×10); the ratio of the most
    negative eigenvalues of ∇²F*(0) and ∇²ℒ(0) is the golden ratio (docs/theory.md §3.2)."""
    x, y = toy_gaussian(64, 2, rng=0)
    net = origin_network((2, 10, 2))
    wf = np.linalg.eigvalsh(equilibrated_energy_hessian(net, x, y))
    wl = np.linalg.eigvalsh(mse_hessian(net, x, y, mean_over_outputs=True))
    s = np.linalg.eigvalsh(second_moments(x, y).xx)
    tol = eigenvalue_tolerance(40, np.abs(wf).max())
    np.testing.assert_allclose(wf, np.sort(np.repeat(np.r_[s * (-1 + 5**0.5) / 2,
                                                          s * (-1 - 5**0.5) / 2], 10)),
                               rtol=0, atol=tol)
    np.testing.assert_allclose(wl, np.sort(np.repeat(np.r_[s, -s] / 2, 10)), rtol=0, atol=tol)
    assert wf[0] / (2 * wl[0]) == pytest.approx(GOLDEN_RATIO, rel=1e-13)
    assert origin_curvature_ratio(net, x, y) == pytest.approx(GOLDEN_RATIO, rel=1e-13)
    assert origin_curvature_ratio((2, 3, 3, 2), x, y) == np.inf


def test_one_unit_curvature_ratio_matches_hessians():
    """|λ_min(∇²ℒ(0))|/|λ_min(∇²F*(0))| of the one-hidden-unit model = 2|s_xy|/(λ²s_yy + √(…))
    (docs/theory.md §4.2), checked on the numerical Hessians with noisy targets and λ ≠ 1."""
    rng = np.random.default_rng(4)
    x = 1 + 0.1 * rng.standard_normal((50, 1))
    y = -0.7 * x + 0.3 * rng.standard_normal((50, 1))
    m = second_moments(x, y)
    for lam in (1.0, 0.4, 2.5):
        net = origin_network((1, 1, 1), output_energy_scaling=lam)
        wf = np.linalg.eigvalsh(equilibrated_energy_hessian(net, x, y))
        wl = np.linalg.eigvalsh(mse_hessian(net, x, y))
        pred = one_unit_curvature_ratio(float(m.yx[0, 0]), float(m.yy[0, 0]), output_precision=lam)
        assert abs(wl[0]) / abs(wf[0]) == pytest.approx(pred, rel=1e-12)
    assert one_unit_curvature_ratio(-2.0, 2.0) == pytest.approx(1 / GOLDEN_RATIO, rel=1e-15)


def test_one_hot_origin_spectrum():
    """One-hot targets (synthetic MNIST-1D shapes, H = 2, 4): ∇²F*(0) has eigenvalues −B_c/B, each
    with multiplicity n_H, plus zeros (docs/theory.md §3.2, P1 Fig. 4)."""
    x, y, labels = one_hot_classes(64, 10, 40, rng=1)
    counts = np.bincount(labels, minlength=10)
    for widths in ((40, 5, 5, 10), (40, 5, 5, 5, 5, 10)):
        net = origin_network(widths)
        op = EquilibratedEnergyHessian(net, x, y)
        sp = hessian_spectrum(op, method="dense")
        nH = widths[-2]
        expected = np.sort(np.r_[np.repeat(-counts / 64, nH), np.zeros(op.shape[0] - 10 * nH)])
        np.testing.assert_allclose(sp.eigenvalues, expected, rtol=0, atol=sp.error_min)
        assert sp.n_negative == nH * np.count_nonzero(counts)


@settings(max_examples=25)
@given(cases(max_hidden=4, max_width=4, max_batch=6))
def test_zero_last_layer_identities(case):
    """At W_L = 0: ∇F* = λ∇ℒ and ∇²F* = λ∇²ℒ − λ²a_L²(R ⊗ G) (docs/theory.md §3.3), any
    configuration.

    The left sides use the equilibrium (Schur complement, envelope gradient); the right sides only
    the feedforward pass (MSE Hessian, backprop) and the Gram matrix G, checked against Theorem 1's
    S of the network truncated after layer L−1.
    """
    net = case.net
    Ws = list(net.weights)
    Ws[-1] = np.zeros_like(Ws[-1])
    n0 = net.replace(weights=Ws)
    x, y = case.x, case.y
    lam = n0.output_precision
    op = EquilibratedEnergyHessian(n0, x, y, warn_if_error_above=None)
    HL = MSEHessian(n0, x, y)
    P = last_layer_correction(n0, x, y)
    tol = op.roundoff_tolerance() + lam * HL.roundoff_tolerance() + eigenvalue_tolerance(
        P.shape[0], np.abs(P).sum(axis=1).max())
    assert np.abs(op.to_dense() - zero_last_layer_energy_hessian(n0, x, y)).max() <= tol
    gF = equilibrated_energy_gradient(n0, x, y, method="gaussian").flat()
    gL = mse_gradient(n0, x, y).flat()
    np.testing.assert_allclose(gF, lam * gL, rtol=1e-12, atol=1e-12 * max(1.0, np.abs(gF).max()))
    # G: the literal sum Σ_{l=1}^{L-1} π_l⁻¹ M_{L-1:l+1} M_{L-1:l+1}ᵀ from the dense layer maps
    Ms, _ = ref.dense_layer_maps(n0)
    L = n0.n_layers
    G = np.zeros((n0.widths[L - 1],) * 2)
    for l in range(1, L):
        Pl = np.eye(n0.widths[L - 1])
        for k in range(L - 1, l, -1):
            Pl = Pl @ Ms[k - 1]
        G += Pl @ Pl.T / n0.precisions[l - 1]
    np.testing.assert_allclose(last_layer_gram(n0), G, rtol=1e-12, atol=1e-12 * np.abs(G).max())


@pytest.mark.parametrize("H", [3, 4])
@pytest.mark.parametrize("seed", [0, 1])
def test_other_saddle_is_strict_for_energy_only(H, seed):
    """P1's "other saddle" (all layers 0 except W_{L−1}, random W_{L−1}), H = 3, 4 (Figs. 9–10):
    critical for both; ∇²ℒ = 0 (non-strict), ∇²F* strict with λ_min = −λ²a_L²λ_max(Σ_yy)λ_max(G),
    G = I + a_{L−1}²W_{L−1}W_{L−1}ᵀ, and rank(Σ_yy)·n_H negative eigenvalues (docs/theory.md
    §3.3)."""
    rng = np.random.default_rng(seed)
    widths = (3,) + (4,) * H + (3,)
    net = LinearPCN([rng.standard_normal((widths[l], widths[l - 1])) for l in range(1, H + 2)],
                    scalings=rng.uniform(0.5, 1.5, H + 1), output_energy_scaling=1.3)
    x, y = toy_gaussian(64, 3, rng=rng)
    s = other_saddle(net)
    assert all(np.all(W == 0) for i, W in enumerate(s.weights) if i != H - 1)
    cf = classify_critical_point(s, x, y, objective="energy")
    cl = classify_critical_point(s, x, y, objective="mse")
    assert cf.kind == "strict saddle" and cl.kind == "non-strict", (cf, cl)
    assert np.abs(mse_hessian(s, x, y)).max() == 0.0
    Wh = s.weights[H - 1]
    a = s.scalings
    G = np.eye(4) + a[H - 1] ** 2 * Wh @ Wh.T
    lam = s.output_precision
    expected = -lam**2 * a[-1] ** 2 * np.linalg.eigvalsh(second_moments(x, y).yy)[-1] * \
        np.linalg.eigvalsh(G)[-1]
    assert abs(cf.lambda_min - expected) <= cf.eigenvalue_tolerance
    assert zero_rank_curvature_bound(s, x, y) == pytest.approx(expected, rel=1e-12)
    assert cf.n_negative == np.linalg.matrix_rank(second_moments(x, y).yy) * 4


def test_other_saddle_h2_is_strict_for_mse_too():
    """For H = 2 the same point is already strict for ℒ (cross term δW_3W_2δW_1; docs/theory.md
    §3.3)."""
    rng = np.random.default_rng(2)
    net = LinearPCN([rng.standard_normal((3, 2)), rng.standard_normal((3, 3)),
                     rng.standard_normal((2, 3))])
    x, y = toy_gaussian(32, 2, rng=rng)
    s = other_saddle(net)
    assert classify_critical_point(s, x, y, objective="mse").kind == "strict saddle"
    assert classify_critical_point(s, x, y, objective="energy").kind == "strict saddle"


@pytest.mark.parametrize("skips,method", [(False, "kernel"), (True, "zero_layer"),
                                          (False, "zero_layer")])
def test_zero_rank_family(skips, method):
    """W_L = 0 and M_{L−1:1} = 0 (no layer zero, a residual layer with M = 0, or a zero layer),
    with an output bias at its optimum ⟨y⟩/a_L: critical for ℒ and F*, and
    λ_min(∇²F*) ≤ −λ²a_L²λ_max(R)λ_max(G) < 0 (docs/theory.md §3.3, P1 Thm 3)."""
    rng = np.random.default_rng(5)
    widths = (3, 6, 4, 4, 2) if method == "kernel" else (3, 4, 4, 4, 2)
    Ws = [rng.standard_normal((widths[l], widths[l - 1])) / 2 for l in range(1, 5)]
    net = LinearPCN(Ws, biases=[None, None, None, rng.standard_normal(2)], use_skips=skips,
                    output_energy_scaling=0.8, param_type="ntp")
    x = rng.standard_normal((25, 3))
    y = rng.standard_normal((25, 2)) + 1.0
    p = zero_rank_point(net, method=method, layer=2, y=y)
    # M_{L-1:1} = 0: the feedforward activity of layer L−1 vanishes for every input
    assert np.abs(p.forward(x)[-2]).max() <= 1e-13 * np.abs(x).max()
    cf = classify_critical_point(p, x, y, objective="energy")
    cl = classify_critical_point(p, x, y, objective="mse")
    assert cl.is_critical and cf.kind == "strict saddle", (cf, cl)
    assert cf.lambda_min <= zero_rank_curvature_bound(p, x, y) + cf.eigenvalue_tolerance


def test_mse_minimiser_is_not_critical_for_energy():
    """An MSE minimiser with r ≠ 0 (W_2W_1 = least-squares solution) is not critical for F*
    (docs/theory.md §2.4): the classifier says so, with the gradient norm, instead of a saddle
    type."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal((40, 3))
    y = x @ rng.standard_normal((3, 2)) + 0.5 * rng.standard_normal((40, 2))
    Mstar = np.linalg.lstsq(x, y, rcond=None)[0].T
    W2 = rng.standard_normal((2, 4))
    net = LinearPCN([np.linalg.pinv(W2) @ Mstar, W2])
    cl = classify_critical_point(net, x, y, objective="mse")
    cf = classify_critical_point(net, x, y, objective="energy")
    assert cl.kind == "non-strict" and cl.n_negative == 0   # degenerate minimum (GL(N) orbit)
    # ℒ is constant on the orbit (GW_1, W_2G⁻¹): its tangents (AW_1, −W_2A) span zero modes
    W1, W2 = net.weights
    T = np.array([np.r_[(A @ W1).ravel(), (-W2 @ A).ravel()]
                  for A in np.eye(16).reshape(16, 4, 4)]).T
    r = np.linalg.matrix_rank(T)
    HL = MSEHessian(net, x, y)
    assert np.abs(HL @ T).max() <= HL.roundoff_tolerance() * np.abs(T).sum(axis=0).max()
    assert cl.n_zero >= r
    assert cf.kind == "not critical" and cf.gradient_norm > 1e8 * cf.gradient_tolerance
    assert "‖∇F*‖" in cf.note


def test_zero_rank_mse_critical_point_with_nonzero_last_layer():
    """Zero rank (M_{L:1} = 0) with W_L ≠ 0 and ∇ℒ = 0 is not F*-critical: the envelope gradient
    equals docs/theory.md §3.3's ∇_{W_L}F* = −a_L²S⁻¹Σ_yyS⁻¹W_LG and is nonzero."""
    rng = np.random.default_rng(9)
    x = rng.standard_normal((30, 2))
    y = rng.standard_normal((30, 4))
    m = second_moments(x, y)
    K = np.linalg.svd(m.yx)[0][:, 2:]               # ker Σ_yxᵀ: W_2ᵀΣ_yx = 0 ⇒ ∇_{W_1}ℒ = 0
    W2 = K @ rng.standard_normal((2, 3))
    net = LinearPCN([np.zeros((3, 2)), W2], scalings=[1.0, 0.7])
    assert classify_critical_point(net, x, y, objective="mse").is_critical
    cf = classify_critical_point(net, x, y, objective="energy")
    assert cf.kind == "not critical"
    S = output_covariance(net)
    aL = 0.7
    G = last_layer_gram(net)
    Sinv = np.linalg.inv(S)
    predicted = -aL**2 * Sinv @ m.yy @ Sinv @ W2 @ G
    g = equilibrated_energy_gradient(net, x, y, method="cholesky").weights[-1]
    np.testing.assert_allclose(g, predicted, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("H", [1, 2, 3, 4])
def test_flatness_orders(H):
    """Orders of flatness at 0 (docs/theory.md §5.1): log–log slopes of |ℒ(εV) − ℒ(0)| → H+1,
    |F*(εV) − F*(0)| → 2, ‖∇ℒ(εV)‖ → H, ‖∇F*(εV)‖ → 1, each within ±0.1 with straight fits."""
    x, y = toy_gaussian(32, 2, rng=H)
    fo = flatness_slopes((2,) + (3,) * H + (2,), x, y, n_directions=3, rng=10 + H,
                         output_energy_scaling=1.5)
    assert fo.predicted == {"mse": H + 1, "energy": 2, "mse_gradient": H, "energy_gradient": 1}
    assert fo.max_slope_error() <= 0.1, fo.slopes
    for k in fo.residuals:
        assert np.all(fo.residuals[k] < 0.05), (k, fo.residuals[k])


def test_constructor_errors():
    """Constructors and identities refuse points where their statements do not apply."""
    net1 = LinearPCN([np.ones((2, 2)), np.ones((1, 2))])
    with pytest.raises(ValueError, match="at least 2 hidden layers"):
        other_saddle(net1)
    with pytest.raises(ValueError, match="W_L = 0"):
        last_layer_correction(net1, np.ones((3, 2)), np.ones((3, 1)))
    square = LinearPCN([np.ones((2, 2)), np.eye(2), np.ones((1, 2))])
    with pytest.raises(ValueError, match="null space"):
        zero_rank_point(square, method="kernel")
    skip = LinearPCN([np.ones((2, 2)), np.eye(2), np.ones((1, 2))], use_skips=True)
    with pytest.raises(ValueError, match="plain networks"):
        origin_hessians(skip, np.ones((3, 2)), np.ones((3, 1)))
    with pytest.raises(ValueError, match="layer must be in"):
        zero_rank_point(square, layer=3)
