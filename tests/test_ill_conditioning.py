"""No silent wrong number (issue 11): ill-conditioned and overflowing networks.

* Extreme eigenvalues and condition numbers of the SPD activity Hessian are *certified or
  bounded*: when ``λ_min`` is below what float64 can resolve
  (:func:`linpc.numerics.tolerances.eigenvalue_floor`), ``λ_min`` is reported as an upper bound and
  ``κ`` as a lower bound with an :class:`~linpc.IllConditionedWarning`, never as a negative number.
  The independent route is exact arithmetic: ``H_z = DᵀΠD`` and ``S`` are formed from the float64
  weights in 60-digit ``mpmath`` (tiny networks), so the reference is the exact spectrum of the
  network that float64 holds, not of a rounded matrix.
* A forward pass, a covariance recursion, an energy or a loss that leaves the float64 range raises
  :class:`~linpc.numerics.LayerOverflowError` naming the layer (numbered as in the docs), instead
  of ``nan``/``inf`` or an error about an internal variable.
* The other findings of the audit (one test each): an indefinite ``S⁻¹`` from the Schur-complement
  route, round-off condition numbers of singular spectra, silent Lanczos non-convergence, the
  logarithm of non-positive numbers in slopes, an unresolved ``λ_min(S)`` in the PC/BP agreement.
"""

from __future__ import annotations

import math
import re
import warnings

import mpmath
import numpy as np
import pytest
import scipy.linalg as sla
from hypothesis import given, settings
from hypothesis import strategies as st

import linpc
from linpc.core.rescaled_mse import rescaled_mse_gradient_cosine
from linpc.landscape.flatness import flatness_slopes
from linpc.mupc import growth_exponent, part_condition_number, pc_bp_agreement
from linpc.numerics import (
    EPS,
    SAFETY,
    LayerOverflowError,
    NotConvergedWarning,
    eigenvalue_floor,
    eigenvalue_tolerance,
    lanczos_top_vector,
    solve_tolerance,
)
from linpc.testing import MAX_CONDITION, cases
from linpc.testing import networks as lt_networks
from linpc.verify import CaseContext
from linpc.verify.random_networks import activity_condition_number

DPS = 60       # digits of the exact reference: κ up to 1e40 still leaves 20 correct digits


# ------------------------------------------------------------------------ exact references
def _mp(v: float) -> mpmath.mpf:
    return mpmath.mpf(float(v))


def mp_layer_maps(net: linpc.LinearPCN) -> list[mpmath.matrix]:
    """``M_l = a_l W_l (+ I)`` in exact arithmetic from the float64 weights and multipliers."""
    Ms = []
    for W, a, skip in zip(net.weights, net.scalings, net.skips, strict=True):
        M = mpmath.matrix(*W.shape)
        for i in range(W.shape[0]):
            for j in range(W.shape[1]):
                M[i, j] = _mp(a) * _mp(W[i, j]) + (1 if skip and i == j else 0)
        Ms.append(M)
    return Ms


def mp_activity_hessian(net: linpc.LinearPCN) -> mpmath.matrix:
    """``H_z = DᵀΠD + δI`` (docs/theory.md §1.2.2) with ``D`` built block by block."""
    w = net.hidden_widths
    n, H = sum(w), net.n_hidden
    off = np.concatenate([[0], np.cumsum(w)]).astype(int)
    Ms = mp_layer_maps(net)
    D = mpmath.zeros(n + net.d_y, n)
    for i in range(n):
        D[i, i] = 1
    for l in range(2, net.n_layers + 1):
        r0, c0 = (int(off[l - 1]) if l <= H else n), int(off[l - 2])
        M = Ms[l - 1]
        for i in range(M.rows):
            for j in range(M.cols):
                D[r0 + i, c0 + j] -= M[i, j]
    P = mpmath.diag([_mp(net.precisions[l - 1]) for l in range(1, net.n_layers + 1)
                     for _ in range(net.widths[l])])
    A = D.T * P * D
    for i in range(n):
        A[i, i] += _mp(net.activity_decay)
    return A


def mp_rescaling(net: linpc.LinearPCN) -> mpmath.matrix:
    """``S = Σ_l π_l⁻¹ M_{L:l+1}M_{L:l+1}ᵀ`` (docs/theory.md §2.1.1), exactly."""
    Ms = mp_layer_maps(net)
    S = mpmath.zeros(net.d_y, net.d_y)
    P = mpmath.eye(net.d_y)
    for l in range(net.n_layers, 0, -1):
        S += P * P.T / _mp(net.precisions[l - 1])
        P = P * Ms[l - 1]
    return S


def mp_eigenvalues(A: mpmath.matrix) -> list[mpmath.mpf]:
    return sorted(mpmath.eigsy(A, eigvals_only=True))


def exact_extremes(net: linpc.LinearPCN) -> tuple[float, float, float]:
    """Exact ``(λ_min, λ_max, κ)`` of ``H_z``."""
    with mpmath.workdps(DPS):
        e = mp_eigenvalues(mp_activity_hessian(net))
        return float(e[0]), float(e[-1]), float(e[-1] / e[0])


def exact_equilibrium(net: linpc.LinearPCN, x: np.ndarray, y: np.ndarray):
    """Exact ``z*`` (rows ``(B, n)``) and ``F*`` per sample of a network without biases.

    ``z*`` solves ``H_z z* = b`` and ``F* = F(z*)`` is the energy at it, both in ``DPS`` digits.
    ``F*`` is not taken from ``½ rᵀS⁻¹r``: with weights of norm 1e9 the entries of ``S`` reach
    1e57 while its smallest eigenvalue is ≥ 1, and ``DPS`` digits would not resolve ``S⁻¹r`` (a
    draw with κ(H_z) = 1e6 lost all but 6 digits that way); ``κ(H_z)`` ≤ 1e14 leaves the solve for
    ``z*`` ≥ 40 correct digits.
    """
    assert not net.has_biases
    with mpmath.workdps(DPS):
        A = mp_activity_hessian(net)
        Ms = mp_layer_maps(net)
        pis = [_mp(p) for p in net.precisions]
        decay = _mp(net.activity_decay)
        Z, F = [], []
        for xi, yi in zip(x, y, strict=True):
            xv, yv = mpmath.matrix([_mp(v) for v in xi]), mpmath.matrix([_mp(v) for v in yi])
            blocks = [mpmath.zeros(w, 1) for w in net.hidden_widths]
            blocks[0] += pis[0] * (Ms[0] * xv)
            blocks[-1] += pis[-1] * (Ms[-1].T * yv)
            b = mpmath.matrix([v for blk in blocks for v in blk])
            z = mpmath.lu_solve(A, b)
            Z.append([float(v) for v in z])
            layers, k = [xv], 0
            for w in net.hidden_widths:
                layers.append(mpmath.matrix([z[k + i] for i in range(w)]))
                k += w
            layers.append(yv)
            energy = decay * sum(v**2 for v in z) / 2
            for l, (M, pi) in enumerate(zip(Ms, pis, strict=True), start=1):
                e = layers[l] - M * layers[l - 1]
                energy += pi * sum(v**2 for v in e) / 2
            F.append(float(energy))
        return np.array(Z), np.array(F)


def _record(fn, *args, **kwargs):
    """Call ``fn`` and return ``(result, warnings raised)`` (all warnings, none turned into
    errors)."""
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        out = fn(*args, **kwargs)
    return out, [w for w in rec]


def _scaled(net: linpc.LinearPCN, factor: float) -> linpc.LinearPCN:
    """``W_2, …, W_L`` multiplied by ``factor`` (``H_z`` does not depend on ``W_1``)."""
    return net.replace(weights=[net.weights[0], *(factor * W for W in net.weights[1:])])


#: Tiny ill-conditioned networks: κ(H_z) drawn up to MAX_CONDITION (then certified or rejected).
ILL = dict(condition=(1e6, MAX_CONDITION), max_hidden=4, max_width=5)


# ------------------------------------------------------------------------ the issue's case
def _issue_network() -> linpc.LinearPCN:
    """Three hidden layers of width 8 with weights scaled by 1e4 (exact κ(H_z) ≈ 3e23)."""
    Ws = linpc.init_weights([4, 8, 8, 8, 2], rng=np.random.default_rng(0))
    return linpc.LinearPCN([1e4 * W for W in Ws])


@pytest.mark.parametrize("method", ["banded", "dense", "lanczos"])
def test_issue_network_gives_bounds_not_a_negative_condition_number(method):
    """Before the fix every route returned a negative κ (e.g. −1.9e16, from λ_min = −6.4e-9)
    silently. Now: λ_min ≤ the returned upper bound, κ ≥ the returned lower bound (both checked
    against the exact spectrum), certified=False and an IllConditionedWarning saying so."""
    net = _issue_network()
    lo, hi, kappa = exact_extremes(net)
    assert lo > 0 and kappa > 1e20
    with pytest.warns(linpc.IllConditionedWarning, match="only the bounds"):
        ev = linpc.ActivityHessian(net).extreme_eigenvalues(method=method)
    assert not ev.certified
    assert 0 < lo <= ev.lambda_min == ev.error_min <= 1.5 * ev.floor
    assert 0 < ev.condition_number <= kappa
    assert abs(ev.lambda_max - hi) <= ev.error_max
    assert ev.floor == pytest.approx(eigenvalue_floor(net.n_activities, hi), rel=1e-6)


def test_issue_network_through_every_condition_number_function():
    """``condition_number()``, the jpc-style functions and the verify helper never return a
    negative κ: the first three return the lower bound with a warning, the helper ``inf``."""
    net = _issue_network()
    _, _, kappa = exact_extremes(net)
    for fn in (lambda: linpc.ActivityHessian(net).condition_number(),
               lambda: linpc.activity_hessian_condition_number(net.weights)):
        with pytest.warns(linpc.IllConditionedWarning):
            k = fn()
        assert 0 < k <= kappa
    with pytest.warns(linpc.IllConditionedWarning):
        lo, hi = linpc.activity_hessian_extreme_eigenvalues(net.weights)
    assert lo > 0 and hi > 0
    assert activity_condition_number(net) == math.inf


# ------------------------------------------------------------------------ certified or bounded
@settings(max_examples=30)
@given(cases(**ILL), st.sampled_from(["banded", "lanczos"]))
def test_drawn_ill_conditioned_spectra_are_certified(case, method):
    """κ(H_z) drawn up to 1e14 (certified by the strategy): both eigensolvers either certify λ_min
    — the exact eigenvalue lies within the reported error — or return bounds with a warning."""
    _check_against_exact(case.net, method)


@settings(max_examples=20)
@given(st.floats(12.0, 13.0), st.data())
def test_condition_ranges_beyond_1e12_are_met_exactly(log_lo, data):
    """linpc.testing draws κ(H_z) up to MAX_CONDITION = 1e14: the drawn network's exact κ (60
    digits) lies in the certified interval of the strategy's measurement, which meets the range."""
    lo, hi = 10.0**log_lo, 10.0 * 10.0**log_lo
    net = data.draw(lt_networks(condition=(lo, hi), widths=(1, 4), hidden_layers=(1, 3)))
    ev = linpc.ActivityHessian(net).extreme_eigenvalues(method="banded")
    assert ev.certified
    k_lo = (ev.lambda_max - ev.error_max) / (ev.lambda_min + ev.error_min)
    k_hi = (ev.lambda_max + ev.error_max) / (ev.lambda_min - ev.error_min)
    kappa = exact_extremes(net)[2]
    assert k_lo <= kappa * (1 + 1e-12) and kappa <= k_hi * (1 + 1e-12)
    assert lo <= ev.condition_number <= hi


@settings(max_examples=30)
@given(cases(max_hidden=4, max_width=5), st.floats(0.0, 6.0),
       st.sampled_from(["banded", "lanczos", "dense"]))
def test_spectra_beyond_float64_are_bounded(case, log_factor, method):
    """Weights of layers 2..L scaled by up to 1e6 (κ up to ~1e40): the same contract."""
    _check_against_exact(_scaled(case.net, 10.0**log_factor), method)


def _check_against_exact(net: linpc.LinearPCN, method: str) -> None:
    lo, hi, kappa = exact_extremes(net)
    ev, rec = _record(linpc.ActivityHessian(net).extreme_eigenvalues, method=method)
    kinds = {type(w.message) for w in rec}
    assert NotConvergedWarning not in kinds
    assert (linpc.IllConditionedWarning in kinds) == (not ev.certified)
    assert ev.lambda_min > 0 and ev.condition_number >= 1.0 - 1e-12
    assert abs(ev.lambda_max - hi) <= ev.error_max
    if ev.certified:
        assert ev.lambda_min >= ev.floor
        assert abs(ev.lambda_min - lo) <= ev.error_min
        k_lo = (ev.lambda_max - ev.error_max) / (ev.lambda_min + ev.error_min)
        k_hi = (ev.lambda_max + ev.error_max) / (ev.lambda_min - ev.error_min)
        assert k_lo <= kappa * (1 + 1e-12) and kappa <= k_hi * (1 + 1e-12)
    else:
        assert lo <= ev.lambda_min and ev.error_min == ev.lambda_min
        assert ev.condition_number <= kappa * (1 + 1e-12)


@settings(max_examples=20)
@given(cases(**ILL))
def test_certified_extremes_match_dense_eigvalsh(case):
    """The extended check at small sizes: certified banded and Lanczos extremes against dense
    ``scipy.linalg.eigvalsh`` of the explicit ``DᵀΠD`` (Weyl: both within their error bounds)."""
    net = case.net
    w = sla.eigvalsh(linpc.ActivityHessian(net).to_dense())
    tol = eigenvalue_tolerance(len(w), w[-1])
    for method in ("banded", "lanczos"):
        ev, _ = _record(linpc.ActivityHessian(net).extreme_eigenvalues, method=method)
        if ev.certified:
            assert abs(ev.lambda_min - w[0]) <= ev.error_min + tol
        assert abs(ev.lambda_max - w[-1]) <= ev.error_max + tol


def test_lanczos_certifies_lambda_min_from_below_on_a_medium_network():
    """Lanczos's λ_min is a Rayleigh quotient (an upper bound); the inertia check (a block
    Cholesky of H_z − σI) certifies the lower end: the dense spectrum lies inside
    [λ_min − error_min, λ_min + error_min], and the interval is tight (error ≪ λ_min)."""
    net = linpc.init_network((8,) + (12,) * 16 + (10,), param_type="sp", init="normal", rng=3)
    ev = linpc.ActivityHessian(net).extreme_eigenvalues(method="lanczos")
    w = sla.eigvalsh(linpc.ActivityHessian(net).to_dense())
    assert ev.certified
    assert abs(ev.lambda_min - w[0]) <= ev.error_min + eigenvalue_tolerance(len(w), w[-1])
    assert ev.error_min <= 1e-6 * ev.lambda_min


def test_lanczos_bounds_lambda_min_when_h_z_cannot_be_factored():
    """Before: NotPositiveDefiniteError from the factorisation the λ_min pass needs. Now the
    shifted factor of H_z + τI serves the pass, and the Rayleigh quotient of its vector bounds
    λ_min from above (checked against the exact spectrum), with the warning."""
    net = _issue_network()
    with pytest.raises(linpc.NotPositiveDefiniteError):
        linpc.ActivityHessian(net).factor()
    lo, hi, _ = exact_extremes(net)
    with pytest.warns(linpc.IllConditionedWarning):
        ev = linpc.ActivityHessian(net).extreme_eigenvalues(method="lanczos")
    assert not ev.certified and lo <= ev.lambda_min and abs(ev.lambda_max - hi) <= ev.error_max


def test_lanczos_warns_when_it_stops_before_converging():
    """Before: the last Ritz vector came back as if converged. Now NotConvergedWarning states the
    residual estimate; the result of extreme_eigenvalues still carries honest error bounds."""
    A = np.diag(np.linspace(1.0, 2.0, 400))          # clustered: 5 steps cannot converge
    with pytest.warns(NotConvergedWarning, match="max_steps = 5"):
        v = lanczos_top_vector(lambda u: A @ u, np.ones(400), tol=1e-12, max_steps=5)
    theta = float(v @ A @ v)
    assert 1.0 <= theta <= 2.0 and np.linalg.norm(A @ v - theta * v) > 1e-6
    net = linpc.init_network((3, 6, 6, 6, 2), rng=1)
    with pytest.warns(NotConvergedWarning):
        ev = linpc.ActivityHessian(net).extreme_eigenvalues(method="lanczos", tol=1e-300)
    w = sla.eigvalsh(linpc.ActivityHessian(net).to_dense())
    assert abs(ev.lambda_max - w[-1]) <= ev.error_max
    assert abs(ev.lambda_min - w[0]) <= ev.error_min


# ------------------------------------------------------------------------ identities at high κ
@settings(max_examples=20)
@given(cases(**ILL, biases=False, max_batch=3))
def test_equilibrium_routes_at_high_condition_numbers(case):
    """At κ(H_z) up to 1e13, the block Cholesky and banded routes meet the κ-scaled bound
    SAFETY·κ·n·eps against the *exact* z*, and F(z*) matches the exact F(z*). The Gaussian
    route, which works with S (κ(S) often ≫ κ(H_z), up to 1e40 here), agrees within its own
    κ(S)-scaled bound, or says that it cannot: a LinAlgError or an IllConditionedWarning."""
    net, x, y = case.net, case.x, case.y
    kappa = activity_condition_number(net)
    Z, F = exact_equilibrium(net, x, y)
    n = net.n_activities
    scale = max(np.linalg.norm(Z), 1e-300)
    for method in ("cholesky", "banded"):
        eq = linpc.solve_equilibrium(net, x, y, method=method, warn_if_error_above=None)
        Zc = np.concatenate(eq.activities, axis=1)
        assert np.linalg.norm(Zc - Z) <= solve_tolerance(kappa, n) * scale
        # F is stationary at z*: its error is the round-off of the prediction errors, ≤ n·eps
        # times Σ π_l (‖e_l‖ + ‖z_l‖ + ‖M_l‖‖z_{l−1}‖)², plus the second-order term of z*'s error
        assert np.all(np.abs(eq.energies - F) <= _energy_bound(net, eq, x, y, kappa))
    with mpmath.workdps(_rescaling_digits(net)):
        es = mp_eigenvalues(mp_rescaling(net))
        kappa_S = float(es[-1] / es[0])
    try:
        eq, rec = _record(linpc.solve_equilibrium, net, x, y, method="gaussian")
    except np.linalg.LinAlgError:
        assert kappa_S * EPS > 1e-4            # refused only when S is beyond float64
        return
    if any(isinstance(w.message, linpc.IllConditionedWarning) for w in rec):
        assert kappa_S * EPS > 1e-9            # warned: κ(S)·eps above the 1e-8 default
        return
    Zg = np.concatenate(eq.activities, axis=1)
    ctx = CaseContext(case)
    assert np.linalg.norm(Zg - Z) <= solve_tolerance(max(kappa, kappa_S), ctx.size) * max(
        scale, ctx.forward_growth)


def _rescaling_digits(net: linpc.LinearPCN) -> int:
    """Digits that resolve the spectrum of ``S`` to ``DPS`` digits: ``‖S‖ ≤ L·Π max(1, ‖M_l‖)²``
    while ``λ_min(S) ≥ 1/π_L``, so ``log10`` of that ratio more than ``DPS``."""
    growth = sum(max(0.0, math.log10(np.linalg.norm(net.layer_map(l), 2)))
                 for l in range(1, net.n_layers + 1))
    spread = max(0.0, math.log10(max(net.precisions[-1], 1.0)))
    return DPS + math.ceil(2 * growth + math.log10(net.n_layers) + spread) + 5


def _energy_bound(net, eq, x, y, kappa) -> np.ndarray:
    """Per-sample bound on |F(ẑ*) − F*| for a z* with relative error ≤ solve_tolerance(κ, n)."""
    zs = [x, *eq.activities, y]
    t = np.zeros(x.shape[0])
    for l in range(1, net.n_layers + 1):
        M = np.linalg.norm(net.layer_map(l), 2)
        mag = np.linalg.norm(zs[l], axis=1) + M * np.linalg.norm(zs[l - 1], axis=1)
        e = np.linalg.norm(eq.errors[l - 1], axis=1)
        t += net.precisions[l - 1] * (e + SAFETY * max(net.widths) * EPS * mag) * mag
    Z = np.concatenate(eq.activities, axis=1)
    dz = solve_tolerance(kappa, net.n_activities) * np.linalg.norm(Z, axis=1)
    lam_max = np.linalg.norm(linpc.ActivityHessian(net).to_dense(), 2)
    return SAFETY * max(net.widths) * EPS * t + lam_max * dz**2


# ------------------------------------------------------------------------ overflow
L_CHAIN = 40


def _chain(gain: float = 1e10, L: int = L_CHAIN) -> linpc.LinearPCN:
    """Width-1 chain, every effective map ``M_l = gain``: ``ẑ_l = gain^l x``."""
    return linpc.LinearPCN([np.array([[gain]])] * L, scalings=[1.0] * L)


def _first_overflow(gain: float) -> int:
    """First ``l`` with ``gain^l > 1.8e308`` (exactly, by logarithms)."""
    return math.floor(math.log10(np.finfo(float).max) / math.log10(gain)) + 1


FORWARD_CALLS = {
    "forward": lambda net, x, y: net.forward(x),
    "predict": lambda net, x, y: net.predict(x),
    "residual": lambda net, x, y: net.residual(x, y),
    "mse_loss": lambda net, x, y: linpc.mse_loss(net, x, y),
    "masked_mse": lambda net, x, y: linpc.core.masked_mse(net, x, y),
    "mse_gradient": lambda net, x, y: linpc.mse_gradient(net, x, y),
    "solve_equilibrium(gaussian)": lambda net, x, y: linpc.solve_equilibrium(
        net, x, y, method="gaussian"),
    "solve_equilibrium(cholesky)": lambda net, x, y: linpc.solve_equilibrium(
        net, x, y, method="cholesky", warn_if_error_above=None),
    "equilibrated_energy": lambda net, x, y: linpc.equilibrated_energy(net, x, y),
    "equilibrated_energy_gradient": lambda net, x, y: linpc.equilibrated_energy_gradient(
        net, x, y),
    "linear_equilib_energy": lambda net, x, y: linpc.linear_equilib_energy(
        net.weights, x, y, scalings=net.scalings),
    "compute_linear_equilib_energy_grads": lambda net, x, y:
        linpc.compute_linear_equilib_energy_grads(net.weights, x, y, scalings=net.scalings),
    "mse_hessian": lambda net, x, y: linpc.mse_hessian(net, x, y),
}


@pytest.mark.parametrize("name", sorted(FORWARD_CALLS))
def test_forward_overflow_names_the_layer(name):
    """Every gain-1e10 layer multiplies ẑ by 1e10: the forward pass leaves float64 at layer 31 of
    40. Before: nan with numpy's overflow warning (mse_loss, linear_equilib_energy), or "Eigenvalues
    did not converge". Now a LayerOverflowError names that layer (or, for the routes that first
    form S, the layer at which the products M_L⋯M_l overflow: 10 of 40)."""
    net, x, y = _chain(), np.ones((2, 1)), np.ones((2, 1))
    with pytest.raises(LayerOverflowError) as info:
        FORWARD_CALLS[name](net, x, y)
    msg = str(info.value)
    forward = _first_overflow(1e10)
    backward = L_CHAIN + 1 - _first_overflow(1e10)
    assert info.value.layer in (forward, backward) and info.value.n_layers == L_CHAIN
    assert f"overflows at layer {info.value.layer} of {L_CHAIN}" in msg
    assert "1.8e+308" in msg and "z_1" not in msg and "nan" not in msg


def test_rescaling_overflow_names_the_layer_of_the_backward_products():
    """S = Σ π_l⁻¹ M_{L:l+1}M_{L:l+1}ᵀ: the products from the output overflow at layer
    L + 1 − 31 = 10 of 40 (before: a matrix of nan)."""
    net = _chain()
    expected = L_CHAIN + 1 - _first_overflow(1e10)
    for fn in (lambda: linpc.equilibrium_rescaling(net),
               lambda: linpc.compute_linear_equilib_rescaling(net.weights, scalings=net.scalings),
               net.end_to_end_map):
        with pytest.raises(LayerOverflowError, match=f"at layer {expected} of {L_CHAIN}"):
            fn()


def test_gradient_error_names_a_layer_not_an_internal_variable():
    """The issue: the gradient's error named ``z_1``. With x = 1e300 and M_1 = 1e10 the
    right-hand side, hence z*, leaves float64 at hidden layer 1: the error says so."""
    net = linpc.LinearPCN([np.array([[1e10]]), np.array([[1.0]]), np.array([[1.0]])],
                          scalings=[1.0, 1.0, 1.0])
    x, y = np.full((1, 1), 1e300), np.ones((1, 1))
    for fn in (lambda: linpc.equilibrated_energy_gradient(net, x, y, method="cholesky"),
               lambda: linpc.solve_equilibrium(net, x, y, method="banded")):
        with pytest.raises(LayerOverflowError, match="at hidden layer 1 of 2") as info:
            fn()
        assert "z_1" not in str(info.value)


def test_energy_overflow_names_the_layer():
    """Activities of 1e200 at hidden layer 2 of a well-scaled network: the prediction error of
    layer 2 is representable but ½π‖e_2‖² is not; the energy functions name layer 2 (before:
    inf with numpy's warning). Activities times a weight of 1e200 overflow the prediction error of
    layer 3 itself."""
    net = linpc.init_network((2, 3, 3, 3, 2), rng=0)
    x, y = np.ones((1, 2)), np.ones((1, 2))
    zs = [np.zeros((1, 3)), np.full((1, 3), 1e200), np.zeros((1, 3))]
    for fn in (linpc.energy, linpc.layer_energies, linpc.energy_activity_gradient):
        with pytest.raises(LayerOverflowError, match="overflows at layer 2 of 4"):
            fn(net, zs, x, y)
    big = net.replace(weights=[*net.weights[:2], 1e200 * net.weights[2], net.weights[3]])
    for fn in (linpc.prediction_errors, linpc.energy_parameter_gradient, linpc.energy):
        with pytest.raises(LayerOverflowError, match="prediction error overflows at layer 3"):
            fn(big, zs, x, y)


def test_activity_hessian_block_overflow_names_the_hidden_layer():
    """W_3 = 1e160: M_3ᵀM_3 in the diagonal block of hidden layer 2 is not representable. Before:
    a Cholesky failure blaming non-finite weights, or LAPACK's "did not converge"."""
    net = linpc.init_network((2, 3, 3, 3, 2), rng=0)
    net = net.replace(weights=[*net.weights[:2], 1e160 * net.weights[2], net.weights[3]])
    hz = linpc.ActivityHessian(net)
    for fn in (hz.to_dense, hz.to_banded, hz.factor, hz.extreme_eigenvalues,
               lambda: linpc.solve_equilibrium(net, np.ones((1, 2)), np.ones((1, 2)))):
        with pytest.raises(LayerOverflowError, match="at hidden layer 2 of 3"):
            fn()


def test_loss_and_backpropagation_overflow():
    """A finite output whose square overflows (y = 1e200) and sources whose adjoint overflows:
    LayerOverflowError at the output layer, resp. the layer of the adjoint."""
    net = linpc.init_network((2, 3, 2), rng=0)
    x, y = np.ones((1, 2)), np.full((1, 2), 1e200)
    with pytest.raises(LayerOverflowError, match="loss ½‖y − ŷ‖² overflows at layer 2 of 2"):
        linpc.mse_loss(net, x, y)
    big = net.replace(weights=[net.weights[0], 1e10 * net.weights[1]])
    with pytest.raises(LayerOverflowError, match=r"adjoint M_2ᵀg_2\) overflows at layer 2 of 2"):
        linpc.core.backpropagate(big, big.forward(x), {2: np.full((1, 2), 1e300)})


def test_forward_norm_sample_overflow_names_the_layer():
    """Finding: sample_forward_norms squared finite activities into inf (x = 1e155: ‖x‖² =
    1e310), so the Monte Carlo mean and z-scores became inf/nan. Now the error names layer 0,
    the input."""
    with pytest.raises(LayerOverflowError, match="‖ẑ_0‖² of draw 0 overflows at layer 0 of 2"):
        linpc.mupc.sample_forward_norms((1, 2, 1), np.array([1e155]), n_draws=2, rng=0)


@pytest.mark.parametrize("method", ["bp", "pc_exact"])
def test_training_that_overflows_stops_as_diverged(method):
    """A learning rate of 1e200 throws the weights out of float64 in one step, so the next forward
    pass overflows; the run stops as diverged (it used to, through nan) instead of raising the
    new overflow error."""
    net = linpc.init_network((3, 4, 4, 2), rng=0)
    x = np.random.default_rng(0).standard_normal((8, 3))
    y = np.random.default_rng(1).standard_normal((8, 2))
    tr = linpc.train(net, (x, y), method=method, learning_rate=1e200, n_steps=20)
    assert tr.diverged and len(tr.losses) == 2 and not np.isfinite(tr.losses[-1])


# ------------------------------------------------------------------------ the other findings
def test_schur_complement_rescaling_refuses_an_indefinite_inverse():
    """Finding: S⁻¹ = λI − λ²M_L[H_z⁻¹]_HH M_Lᵀ cancels when ‖S‖ is large: at weights × 1000 it
    came back *indefinite* (exact λ_min(S⁻¹) ≈ 2e-17, computed −3e-16). Now it is refused below
    the cancellation floor 2·SAFETY·d_y·eps·λ, while the Gaussian route still returns S."""
    net = linpc.LinearPCN([1e3 * W for W in linpc.init_weights(
        [3, 6, 6, 6, 3], rng=np.random.default_rng(1))])
    with mpmath.workdps(DPS):
        exact_min = float(1 / mp_eigenvalues(mp_rescaling(net))[-1])
    assert exact_min < eigenvalue_floor(net.d_y, net.output_precision)
    for inverse in (True, False):
        with pytest.raises(np.linalg.LinAlgError, match="below the floor"):
            linpc.equilibrium_rescaling(net, method="cholesky", inverse=inverse)
    assert np.all(np.linalg.eigvalsh(linpc.equilibrium_rescaling(net)) > 0)


def _rank_one_output() -> linpc.LinearPCN:
    """One hidden unit, two outputs, ``M_2 = (3e7, 1e7)ᵀ``: ``S = I + M_2M_2ᵀ`` has exact
    eigenvalues 1 and 1 + 1e15, but round-off of size eps·‖S‖ ≈ 0.2 hides the 1."""
    return linpc.LinearPCN([np.array([[1.0]]), np.array([[3e7], [1e7]])], scalings=[1.0, 1.0])


def test_rescaling_condition_number_is_a_stated_lower_bound():
    """Finding: Equilibrium.condition_number of S was λ_max/λ_min of round-off eigenvalues. Now
    the ill-conditioning warning says "κ ≥" and the value is below the exact κ(S) = 1 + 1e15."""
    net = _rank_one_output()
    x, y = np.ones((2, 1)), np.array([[1.0, 2.0], [0.5, -1.0]])
    w = np.linalg.eigvalsh(linpc.equilibrium_rescaling(net))
    assert w[0] < eigenvalue_floor(2, w[-1])            # the exact 1 is not resolved
    with pytest.warns(linpc.IllConditionedWarning, match="κ ≥"):
        eq = linpc.solve_equilibrium(net, x, y, method="gaussian")
    assert 0 < eq.condition_number <= 1 + 1e15


def test_condition_number_of_a_singular_part_is_a_bound():
    """Finding: the off-diagonal part of H_z is singular when odd and even layers differ in total
    width; part_condition_number returned the round-off ratio (≈ 1e16). Now a lower bound with a
    warning, and the exact ∞ for an all-zero spectrum."""
    net = linpc.init_network((3, 4, 5, 4, 2), rng=0)               # widths 4 + 4 ≠ 5
    off = linpc.activity_hessian_part_eigenvalues(net, "off_diag")
    a = np.abs(off)
    delta = eigenvalue_tolerance(len(a), a.max())
    with pytest.warns(linpc.IllConditionedWarning, match="only the bounds"):
        k = part_condition_number(off)
    assert k == pytest.approx((a.max() - delta) / (a.min() + delta), rel=1e-12)
    with np.errstate(divide="ignore"):
        assert k < a.max() / a.min()
    assert part_condition_number(np.zeros(3)) == math.inf
    full = linpc.activity_hessian_part_eigenvalues(net, "full")
    assert part_condition_number(full) == full[-1] / full[0]      # resolved: no warning


def test_slopes_refuse_logarithms_of_non_positive_numbers():
    """Finding: growth_exponent returned nan for a zero or negative value (np.log), and the
    flatness slopes fitted log(0) when an increment underflowed. Now a ValueError names it."""
    with pytest.raises(ValueError, match=r"values must be finite and > 0.*index 1"):
        growth_exponent([1, 2, 4], [1.0, 0.0, 3.0])
    with pytest.raises(ValueError, match="depths must be finite"):
        growth_exponent([-1, 2], [1.0, 2.0])
    assert growth_exponent([1, 2, 4], [1.0, 4.0, 16.0]) == pytest.approx(2.0, rel=1e-12)
    H = 200
    widths = (2,) + (2,) * H + (2,)
    x, y = np.ones((2, 2)), np.ones((2, 2))
    with pytest.raises(ValueError, match="underflows float64"):
        flatness_slopes(widths, x, y, n_directions=1, eps=[1e-2, 1e-3], rng=0)


def test_agreement_reports_an_unresolved_rescaling_eigenvalue_as_a_bound():
    """Finding: pc_bp_agreement reported λ_min(S) from round-off (exactly 1 here, computed as
    noise of size eps·‖S‖). Now its upper bound, with the warning; likewise the accuracy estimate
    of the quotient-rule gradient warns instead of using a round-off κ(S)."""
    net = _rank_one_output()
    x, y = np.ones((2, 1)), np.array([[1.0, 2.0], [0.5, -1.0]])
    ag, rec = _record(pc_bp_agreement, net, x, y)
    assert any(isinstance(w.message, linpc.IllConditionedWarning) for w in rec)
    assert ag.rescaling_eigenvalues[0] >= 1.0
    assert ag.rescaling_eigenvalues[1] == pytest.approx(1 + 1e15, rel=1e-12)
    with pytest.warns(linpc.IllConditionedWarning):
        rescaled_mse_gradient_cosine(net, x, y)


def test_warnings_point_at_the_caller():
    """The bound warnings are attributed to the user's line, not to linpc's internals."""
    with pytest.warns(linpc.IllConditionedWarning) as rec:
        linpc.ActivityHessian(_issue_network()).extreme_eigenvalues(method="lanczos")
    assert all(re.search(r"test_ill_conditioning\.py$", w.filename) for w in rec)
