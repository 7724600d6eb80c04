"""Property tests of higher-order information in F* (docs/theory.md §5; §2.5.16).

* The Neumann series of ``F*`` is compared with the closed-form ``F*`` of the activity system (block
  Cholesky of ``H_z``, which never forms ``Q``): the exact remainder bound, the alternation of the
  partial sums around ``F*`` and the geometric rate, and a clear error outside the convergence
  radius. ``S = λ⁻¹I + Q`` is compared with Theorem 1's literal sum (``linpc.verify.reference``).
* The exact Taylor coefficients along ``θ + εV`` are compared with the core's ``F*``, ``ℒ`` and
  their gradients (envelope theorem, backprop), with ``scipy.differentiate`` of the directional
  gradient, with the exact polynomial ``ℒ(θ + εV)`` at finite ``ε``, and with a Cauchy-integral
  (FFT) evaluation of a dense complex-ε implementation of ``½tr(S(ε)⁻¹R(ε))`` written here.
* Orders of flatness at the origin (``H + 1`` for ℒ, 2 for F*; 2 and 2 with skips) and the closed
  forms of the first nonzero coefficients (docs/theory.md §3.1, §3.2 and the skip-network analogue).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import linpc
from linpc.core import ParameterArrays, flatten_parameters, with_flat_parameters
from linpc.landscape import (
    directional_taylor_coefficients,
    flatness_order,
    neumann_series,
    origin_flatness_orders,
    rescaling_series_matrix,
)
from linpc.numerics import EPS, SAFETY, derivative_tolerance, roundoff_tolerance, solve_tolerance
from linpc.testing import cases
from linpc.verify import NetworkSpec, build_case
from linpc.verify import reference as ref


def size_of(net) -> int:
    return max(net.n_activities, max(net.widths))


def kappa_dense(net) -> float:
    w = np.linalg.eigvalsh(ref.dense_activity_hessian(net))
    s = np.linalg.eigvalsh(ref.dense_rescaling(net))
    return float(max(w[-1] / w[0], s[-1] / s[0]))


def with_output_precision(net, lam):
    return net.replace(precisions=np.append(net.precisions[:-1], lam))


def chain_tolerance(net) -> float:
    """Round-off of products of up to L factors of sizes ≤ max width (Higham §3.5)."""
    return roundoff_tolerance(net.n_layers * max(net.widths))


# ------------------------------------------------------------------------------ Neumann series
@given(cases())
def test_rescaling_matrix_matches_theorem_1(case):
    """S = π_L⁻¹I + Q with Q = Σ_{l<L} π_l⁻¹M_{L:l+1}M_{L:l+1}ᵀ equals Theorem 1's S (explicit
    products, per-layer precisions; P1 Thm 1 generalised, docs/theory.md §2.1)."""
    net = case.net
    Q = rescaling_series_matrix(net)
    S = ref.dense_rescaling(net)
    lhs = np.eye(net.d_y) / net.output_precision + Q
    assert np.linalg.norm(lhs - S) <= chain_tolerance(net) * np.linalg.norm(S) * net.n_layers
    assert np.linalg.eigvalsh(Q)[0] >= -chain_tolerance(net) * np.linalg.norm(Q)


@given(cases(), st.floats(0.05, 0.95), st.integers(0, 12))
def test_neumann_partial_sums_converge_with_exact_bound(case, ratio, K):
    """Inside the radius (λ‖Q‖₂ = q < 1): |F* − F*_K| ≤ λℒq^{K+1}/(1+q), the partial sums alternate
    around F* (sign of F* − F*_K is (−1)^{K+1}, since Q ⪰ 0, R ⪰ 0), consecutive remainders shrink
    by at most q, and t_0 = λℒ. F* from the block Cholesky of H_z (no Q involved)."""
    base = case.net
    Q = rescaling_series_matrix(base)
    qn = float(np.linalg.eigvalsh(Q)[-1])
    assume(qn > 1e-8)
    net = with_output_precision(base, ratio / qn)
    x, y = case.x, case.y
    ns = neumann_series(net, x, y, K + 1)
    lam = net.output_precision
    F = linpc.solve_equilibrium(net, x, y, method="cholesky", warn_if_error_above=None).energy
    Lm = linpc.mse_loss(net, x, y)
    assert abs(ns.terms[0] - lam * Lm) <= roundoff_tolerance(net.d_y) * lam * Lm
    k = kappa_dense(net)
    floor = (solve_tolerance(k, size_of(net)) + roundoff_tolerance((K + 2) * net.d_y)) * lam * Lm
    rem = F - ns.partial_sums
    assert np.all(np.abs(rem) <= ns.error_bounds + floor)
    assert abs(ns.ratio - ratio) <= roundoff_tolerance(net.d_y) * 10
    for j in range(K + 2):
        assert (-1) ** (j + 1) * rem[j] >= -floor
    for j in range(K + 1):
        if abs(rem[j]) > 1e3 * floor:
            assert abs(rem[j + 1]) <= ratio * abs(rem[j]) + floor
    assert abs(ns.energy - F) <= floor


def test_neumann_series_outside_radius_is_an_error():
    """λ‖Q‖₂ ≥ 1: the series diverges and neumann_series says so (naming λ and ‖Q‖₂); an activity
    decay (F* ≠ ½rᵀS⁻¹r) and a negative order are rejected."""
    case = build_case(NetworkSpec((3, 4, 4, 2), "sp", weight_scale=1.5, batch=3, seed=2))
    net = case.net
    qn = float(np.linalg.eigvalsh(rescaling_series_matrix(net))[-1])
    with pytest.raises(ValueError, match="diverges"):
        neumann_series(with_output_precision(net, 1.0 / qn), case.x, case.y, 3)
    with pytest.raises(ValueError, match="diverges"):
        neumann_series(with_output_precision(net, 3.0 / qn), case.x, case.y, 3)
    with pytest.raises(ValueError, match="activity_decay"):
        neumann_series(net.replace(activity_decay=0.5), case.x, case.y, 3)
    with pytest.raises(ValueError, match="order"):
        neumann_series(net, case.x, case.y, -1)
    with pytest.raises(ValueError, match="shape"):
        directional_taylor_coefficients(net, case.x, case.y, [np.zeros((2, 2))] * 3, 3)


# ------------------------------------------------------------------------------ Taylor coefficients
def _random_direction(net, rng, with_biases: bool):
    V = ParameterArrays.from_flat(net, rng.standard_normal(net.n_parameters))
    if not with_biases:
        V = ParameterArrays(V.weights, tuple(None for _ in V.biases))
    return V


@settings(max_examples=30)
@given(cases(max_hidden=3, max_width=4, max_batch=4), st.booleans())
def test_taylor_coefficients_match_values_gradients_and_second_derivative(case, with_biases):
    """c_0 = F*(θ), ℒ(θ) (core); c_1 = ⟨∇F*, V⟩ (envelope theorem) and ⟨∇ℒ, V⟩ (backprop);
    2c_2(F*) = d/dε⟨∇F*(θ+εV), V⟩ at 0 by scipy.differentiate; and ℒ(θ+εV) = Σ_{k≤2L} c_k(ℒ)ε^k
    exactly (ℒ is a polynomial of degree 2L in ε) at ε = 0.3 and −0.7."""
    net, x, y = case.net, case.x, case.y
    rng = np.random.default_rng(case.spec.seed + 21)
    V = _random_direction(net, rng, with_biases and net.has_biases)
    v = V.flat() if with_biases and net.has_biases else np.concatenate(
        [W.ravel() for W in V.weights] + [np.zeros_like(b) for b in net.biases if b is not None])
    K = 2 * net.n_layers
    te = directional_taylor_coefficients(net, x, y, V, K)
    k = kappa_dense(net)
    n = size_of(net)
    F = linpc.solve_equilibrium(net, x, y, method="cholesky", warn_if_error_above=None).energy
    Lm = linpc.mse_loss(net, x, y)
    assert abs(te.energy[0] - F) <= solve_tolerance(k, n) * (F + Lm)
    assert abs(te.loss[0] - Lm) <= chain_tolerance(net) * Lm * 10
    gF = linpc.equilibrated_energy_gradient(net, x, y, method="gaussian").flat()
    gL = linpc.mse_gradient(net, x, y).flat()
    scale1 = np.linalg.norm(v) * (np.linalg.norm(gF) + np.linalg.norm(gL) + F + Lm)
    assert abs(te.energy[1] - gF @ v) <= solve_tolerance(k, n) * scale1 * net.n_layers
    assert abs(te.loss[1] - gL @ v) <= chain_tolerance(net) * scale1 * net.n_layers
    theta = flatten_parameters(net)

    def dgrad(t):
        t = np.asarray(t, float)
        vals = [linpc.equilibrated_energy_gradient(with_flat_parameters(net, theta + s * v), x, y,
                                                   method="gaussian").flat() @ v
                for s in t.ravel()]
        return np.array(vals).reshape(t.shape)

    from scipy.differentiate import derivative

    h0 = 1e-2
    res = derivative(dgrad, 0.0, initial_step=h0, tolerances={"rtol": 1e-12})
    step = h0 / 2.0 ** int(res.nit)
    assert abs(2 * te.energy[2] - float(res.df)) <= derivative_tolerance(
        float(res.error), step, abs(gF @ v) + np.linalg.norm(gF) * np.linalg.norm(v), k * n)
    for eps in (0.3, -0.7):
        Le = linpc.mse_loss(with_flat_parameters(net, theta + eps * v), x, y)
        poly = float(np.polyval(te.loss[::-1], eps))
        mag = float(np.sum(np.abs(te.loss) * abs(eps) ** np.arange(K + 1)))
        assert abs(Le - poly) <= chain_tolerance(net) * 10 * (mag + Le)


def _complex_energy(net, x, y, V, eps):
    """½⟨rᵀS⁻¹r⟩ at θ + εV for complex ε, from Theorem 1 with transposes (analytic continuation)."""
    Ms, cs = [], []
    for l in range(1, net.n_layers + 1):
        M = net.layer_map(l) + eps * net.scalings[l - 1] * V.weights[l - 1]
        c = net.layer_bias(l).astype(complex)
        if V.biases[l - 1] is not None:
            c = c + eps * net.scalings[l - 1] * V.biases[l - 1]
        Ms.append(M)
        cs.append(c)
    z = x.astype(complex)
    for M, c in zip(Ms, cs, strict=True):
        z = z @ M.T + c
    r = y - z
    S = np.eye(net.d_y, dtype=complex) / net.precisions[-1]
    P = np.eye(net.d_y, dtype=complex)
    for l in range(net.n_layers, 1, -1):
        P = P @ Ms[l - 1]
        S = S + P @ P.T / net.precisions[l - 2]
    return 0.5 * np.mean(np.sum(r * np.linalg.solve(S, r.T).T, axis=1))


@settings(max_examples=20)
@given(cases(max_hidden=3, max_width=3, max_batch=4))
def test_taylor_coefficients_match_cauchy_integral(case):
    """c_k(F*) = (1/2πi)∮F*(θ+εV)ε^{−k−1}dε, evaluated by the trapezoid rule on |ε| = ρ (an FFT of N
    complex values of a dense evaluation of ½tr(S(ε)⁻¹R(ε)) written in this test), k ≤ 6.

    The trapezoid rule is exact up to aliasing c_{k+N}ρ^N + …, estimated from the computed
    coefficients of order ≈ N/2 (ρ is halved until they are negligible), plus the FFT round-off
    N·eps·max|F|; dividing by ρ^k gives the tolerance of c_k.
    """
    net, x, y = case.net, case.x, case.y
    rng = np.random.default_rng(case.spec.seed + 22)
    V = _random_direction(net, rng, net.has_biases)
    V = ParameterArrays(tuple(W / np.linalg.norm(V.flat()) for W in V.weights),
                        tuple(None if b is None else b / np.linalg.norm(V.flat())
                              for b in V.biases))
    K, N = 6, 64
    te = directional_taylor_coefficients(net, x, y, V, K)
    rho = 0.5
    for _ in range(12):
        pts = rho * np.exp(2j * np.pi * np.arange(N) / N)
        vals = np.array([_complex_energy(net, x, y, V, e) for e in pts])
        chat = np.fft.fft(vals) / N                         # ĉ_j = c_j ρ^j + aliasing
        alias = float(np.max(np.abs(chat[N // 2 - 4:N // 2 + 1])))
        if alias <= 1e-14 * np.max(np.abs(vals)):
            break
        rho /= 2
    fft_err = SAFETY * N * EPS * float(np.max(np.abs(vals))) + alias
    kappa = kappa_dense(net)
    for kk in range(K + 1):
        ck = chat[kk].real / rho**kk
        assert abs(chat[kk].imag) / rho**kk <= fft_err * kappa / rho**kk + 1e-300
        tol = (fft_err * kappa + solve_tolerance(kappa, size_of(net)) * abs(chat[kk])) / rho**kk
        assert abs(te.energy[kk] - ck) <= tol + solve_tolerance(kappa, size_of(net)) * abs(ck)


# ------------------------------------------------------------------------------ flatness orders
@given(cases(skips=False, max_hidden=5, max_width=4), st.integers(0, 2**32 - 1))
def test_flatness_orders_at_origin_plain(case, seed):
    """Plain networks at θ = 0 along a generic weight direction V: ord ℒ = H + 1 with
    c_{H+1}(ℒ) = −tr(V_{L:1}Σ_xy) (multipliers included), and ord F* = 2 with
    c_2(F*) = λc_2(ℒ) − (λ²a_L²/(2π_{L-1})) tr(V_LᵀΣ_yyV_L) (docs/theory.md §3.1, §3.2, §5.1;
    c_2(ℒ) = 0 unless H = 1). Σ's are the uncentred moments of the batch."""
    net, x, y = case.net, case.x, case.y
    rng = np.random.default_rng(seed)
    V = [rng.standard_normal(W.shape) for W in net.weights]
    o_l, o_f, te = origin_flatness_orders(net, x, y, direction=V)
    B, L, a = x.shape[0], net.n_layers, net.scalings
    S_xy, S_yy = x.T @ y / B, y.T @ y / B
    VL1 = np.eye(net.d_y)
    for l in range(L, 0, -1):
        VL1 = VL1 @ (a[l - 1] * V[l - 1])
    c_loss = -np.trace(VL1 @ S_xy)
    lam = net.output_precision
    c2_energy = (lam * (c_loss if L == 2 else 0.0)
                 - lam**2 * a[-1] ** 2 / (2 * net.precisions[-2]) * np.trace(V[-1].T @ S_yy
                                                                              @ V[-1]))
    scale = np.linalg.norm(VL1) * np.linalg.norm(S_xy) + lam**2 * a[-1] ** 2 * np.linalg.norm(
        V[-1]) ** 2 * np.linalg.norm(S_yy) / net.precisions[-2]
    tol = chain_tolerance(net) * 10 * (scale + abs(te.energy[0]))
    assert abs(te.loss[L] - c_loss) <= tol
    assert abs(te.energy[2] - c2_energy) <= tol
    assume(abs(c_loss) > 1e3 * tol and abs(c2_energy) > 1e3 * tol)
    assert (o_l, o_f) == (net.n_hidden + 1, 2)
    assert np.all(te.loss[1:L] == 0.0) and te.energy[1] == 0.0


@given(cases(skips=True, max_hidden=5, max_width=4), st.integers(0, 2**32 - 1))
def test_flatness_orders_at_origin_with_skips(case, seed):
    """Identity skips on layers 2..L−1: at θ = 0 those layers are the identity, M_{L:1}(εV) =
    ε²a_La_1V_LV_1 + O(ε³), so ord ℒ = 2 (not H + 1) with c_2(ℒ) = −a_La_1tr(V_LV_1Σ_xy), and
    ord F* = 2 with c_2(F*) = λc_2(ℒ) − (λ²a_L²/2)(Σ_{l<L}π_l⁻¹)tr(V_LᵀΣ_yyV_L) (derived: every
    M_{L:l+1}, l < L, equals εa_LV_L + O(ε²) at the origin)."""
    net, x, y = case.net, case.x, case.y
    assume(net.use_skips)
    rng = np.random.default_rng(seed)
    V = [rng.standard_normal(W.shape) for W in net.weights]
    o_l, o_f, te = origin_flatness_orders(net, x, y, direction=V)
    B, a, lam = x.shape[0], net.scalings, net.output_precision
    S_xy, S_yy = x.T @ y / B, y.T @ y / B
    c2_loss = -a[-1] * a[0] * np.trace(V[-1] @ V[0] @ S_xy)
    c2_energy = lam * c2_loss - lam**2 * a[-1] ** 2 / 2 * np.sum(1 / net.precisions[:-1]) * \
        np.trace(V[-1].T @ S_yy @ V[-1])
    scale = (a[-1] * a[0] * np.linalg.norm(V[-1]) * np.linalg.norm(V[0]) * np.linalg.norm(S_xy)
             * (1 + lam) + lam**2 * a[-1] ** 2 * np.sum(1 / net.precisions[:-1])
             * np.linalg.norm(V[-1]) ** 2 * np.linalg.norm(S_yy))
    tol = chain_tolerance(net) * 10 * (scale + abs(te.energy[0]))
    assert abs(te.loss[2] - c2_loss) <= tol
    assert abs(te.energy[2] - c2_energy) <= tol
    assume(abs(c2_loss) > 1e3 * tol and abs(c2_energy) > 1e3 * tol)
    assert (o_l, o_f) == (2, 2)


def test_flatness_order_helper():
    """First k ≥ 1 above the threshold; None when all vanish; c_0 is ignored."""
    assert flatness_order([5.0, 0.0, 0.0, 1.0]) == 3
    assert flatness_order([5.0, 0.0, 0.0]) is None
    assert flatness_order([0.0, 1e-20, 2.0], atol=1e-10) == 2
