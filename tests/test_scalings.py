"""Parameterisations (docs/theory.md §1.4) and the activity decay option (its effect on H_z, z*,
F*).

Independent references: hand-written per-layer multipliers (literal numbers for a worked example
and a transcription of the table for drawn widths), sample variances of the initialisers, the
dense least-squares equilibrium of ``linpc.verify.reference`` (which builds the decay rows √δ·I
explicitly), dense eigensolvers, ``scipy.differentiate`` and a closed form for one hidden layer
derived by completing the square.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.differentiate import derivative

import linpc
from linpc.core import energy, init_network, init_variances, layer_scalings, limits_output_precision
from linpc.mupc import activity_decay_sensitivity, one_hidden_layer_decay_equilibrium
from linpc.numerics import (
    MONTE_CARLO_SIGMAS,
    derivative_tolerance,
    eigenvalue_tolerance,
    roundoff_tolerance,
    solve_tolerance,
)
from linpc.testing import specs
from linpc.verify import NetworkSpec, build_case
from linpc.verify import reference as ref


# ------------------------------------------------------------------------------ multipliers
def test_worked_example_of_the_multiplier_table():
    """MNIST-shaped ResNet 784-128-128-128-10 (L = 4), multipliers typed in by hand.

    μPC: a_1 = 1/√784 = 1/28, a_2 = a_3 = 1/√(128·4) = 1/√512, a_4 = 1/128 (÷γ = 2 → 1/256);
    NTP: same but a_4 = 1/√128; SP: all 1.
    """
    w = (784, 128, 128, 128, 10)
    r512 = 1 / 22.627416997969522  # 1/√512
    assert np.allclose(layer_scalings(w, "mupc", use_skips=True),
                       [1 / 28, r512, r512, 1 / 128], rtol=roundoff_tolerance(4), atol=0)
    assert np.allclose(layer_scalings(w, "mupc", use_skips=True, gamma=2.0),
                       [1 / 28, r512, r512, 1 / 256], rtol=roundoff_tolerance(4), atol=0)
    r128 = 1 / 11.313708498984761  # 1/√128
    assert np.allclose(layer_scalings(w, "ntp", use_skips=True),
                       [1 / 28, r512, r512, r128], rtol=roundoff_tolerance(4), atol=0)
    assert np.allclose(layer_scalings(w, "mupc", use_skips=False),
                       [1 / 28, r128, r128, 1 / 128],
                       rtol=roundoff_tolerance(4), atol=0)
    assert np.all(layer_scalings(w, "sp") == 1.0)


@given(widths=st.lists(st.integers(1, 50), min_size=3, max_size=8),
       pt=st.sampled_from(["sp", "ntp", "mupc"]), skips=st.booleans(),
       gamma=st.one_of(st.none(), st.floats(0.25, 4.0)),
       conv=st.sampled_from(["fan_in", "jpc"]))
def test_multipliers_match_the_table_for_unequal_widths(widths, pt, skips, gamma, conv):
    """Per fan-in and jpc's first-hidden-width convention, with and without skips and γ: the
    library multipliers equal the table written out per layer (they differ when widths differ)."""
    a = layer_scalings(widths, pt, use_skips=skips, gamma=gamma, convention=conv)
    np.testing.assert_allclose(a, ref.reference_scalings(widths, pt, skips, gamma, conv),
                               rtol=roundoff_tolerance(4), atol=0)


@given(st.lists(st.integers(1, 12), min_size=2, max_size=5), st.integers(0, 2**32 - 1),
       st.sampled_from(["sp", "ntp", "mupc"]), st.one_of(st.none(), st.floats(0.5, 2.0)))
def test_init_network_uses_the_convention(hidden, seed, pt, gamma):
    """init_network: fan-in multipliers by default, jpc's (first hidden width) on request; γ
    divides a_L once; the limits precision is γ²NL."""
    widths = (3, *hidden, 2)
    net = init_network(widths, param_type=pt, gamma=gamma, rng=seed)
    np.testing.assert_allclose(net.scalings,
                               ref.reference_scalings(widths, pt, False, gamma, "fan_in"),
                               rtol=roundoff_tolerance(4), atol=0)
    jn = init_network(widths, param_type=pt, gamma=gamma, convention="jpc", rng=seed)
    np.testing.assert_allclose(jn.scalings,
                               ref.reference_scalings(widths, pt, False, gamma, "jpc"),
                               rtol=roundoff_tolerance(4), atol=0)
    lim = init_network(widths, param_type=pt, gamma=gamma, output_energy_scaling="limits",
                       rng=seed)
    g = 1.0 if gamma is None else gamma
    assert lim.output_precision == pytest.approx(g * g * hidden[0] * (len(widths) - 1),
                                                 rel=1e-15)


def test_limits_output_precision_and_errors():
    """λ = γ²NL (jpc limits-paper code): N = 64, L = 8, γ = 0.5 gives 128."""
    assert limits_output_precision(64, 8, 0.5) == 128.0
    with pytest.raises(ValueError, match="gamma"):
        limits_output_precision(64, 8, 0.0)
    with pytest.raises(ValueError, match="'limits'"):
        init_network((2, 3, 2), output_energy_scaling="limit")
    with pytest.raises(ValueError, match="unknown init"):
        init_variances((2, 3, 2), init="he")


@pytest.mark.parametrize("init", ["uniform", "normal", "standard_normal", "orthogonal"])
@pytest.mark.parametrize("shape", [(40, 30), (30, 40)])
def test_init_variances_match_sampled_weights(init, shape):
    """v_l of init_variances = sample variance of the entries drawn by init_weights, within
    5 standard errors (standard error of the mean of W_ij² from its sample fourth moment, over
    40 independent matrices); the entries have mean zero."""
    widths = (shape[1], shape[0])
    v = init_variances(widths, init=init)[0]
    rng = np.random.default_rng(7)
    W = np.stack([linpc.init_weights(widths, init=init, rng=rng)[0] for _ in range(40)])
    sq = (W ** 2).ravel()
    se = sq.std(ddof=1) / np.sqrt(sq.size)
    assert abs(sq.mean() - v) <= MONTE_CARLO_SIGMAS * se
    m = W.ravel()
    assert abs(m.mean()) <= MONTE_CARLO_SIGMAS * m.std(ddof=1) / np.sqrt(m.size)


# ------------------------------------------------------------------------------ activity decay
decay = st.floats(0.05, 3.0)


def _f_scale(net, x, y, z):
    """Magnitude of the energy terms: F(z = 0) + λ_max(H_z)‖z*‖² per sample."""
    zs = [np.zeros((x.shape[0], w)) for w in net.hidden_widths]
    F0 = energy(net, zs, x, y, per_sample=True)
    lam_max = linpc.ActivityHessian(net).extreme_eigenvalues(method="banded").lambda_max
    return F0 + lam_max * np.sum(z * z, axis=1)


@given(specs(max_hidden=4, max_width=5), decay)
def test_decay_equilibrium_matches_dense_least_squares(spec, delta):
    """F*(δ) and z*(δ) from the block Cholesky of H_z + δI equal the SVD least-squares solution of
    the dense system with the decay rows √δ·I (linpc.verify.reference), to κ-scaled solve
    accuracy."""
    case = build_case(spec)
    net = case.net.replace(activity_decay=delta)
    eq = linpc.solve_equilibrium(net, case.x, case.y, method="cholesky", warn_if_error_above=None)
    Z = np.concatenate(eq.activities, axis=1)
    Zd, Fd = ref.dense_equilibrium(net, case.x, case.y)
    kappa = linpc.ActivityHessian(net).condition_number(method="banded")
    tol = solve_tolerance(kappa, max(net.n_activities, max(net.widths)))
    assert np.linalg.norm(Z - Zd) <= 2 * tol * max(np.linalg.norm(Z), np.linalg.norm(Zd))
    assert np.all(np.abs(eq.energies - Fd) <= tol * _f_scale(net, case.x, case.y, Z))


@given(specs(max_hidden=4, max_width=5), decay)
def test_decay_shifts_every_eigenvalue_of_the_activity_hessian(spec, delta):
    """H_z(δ) = H_z(0) + δI: the dense Hessian of the decayed energy (from linpc.verify.reference's
    least-squares matrix, AᵀA) minus that without decay is δI, so the whole spectrum shifts by δ
    and κ(δ) = (λ_max + δ)/(λ_min + δ) < κ(0)."""
    net0 = build_case(spec).net
    net = net0.replace(activity_decay=delta)
    H0 = ref.dense_activity_hessian(net0)
    Hd = ref.dense_activity_hessian(net)
    n = H0.shape[0]
    w0, wd = np.linalg.eigvalsh(H0), np.linalg.eigvalsh(Hd)
    tol = eigenvalue_tolerance(n, wd[-1])
    assert np.max(np.abs(wd - (w0 + delta))) <= 2 * tol
    ev = linpc.ActivityHessian(net).extreme_eigenvalues(method="banded")
    assert abs(ev.lambda_min - (w0[0] + delta)) <= 2 * tol
    assert abs(ev.lambda_max - (w0[-1] + delta)) <= 2 * tol
    if w0[-1] - w0[0] > 100 * tol:
        assert ev.condition_number < w0[-1] / w0[0]


@settings(max_examples=10)
@given(specs(max_hidden=3, max_width=4, max_batch=3), decay)
def test_decay_sensitivity_is_half_squared_activity_norm(spec, delta):
    """Envelope theorem: dF*/dδ = ½⟨‖z*(δ)‖²⟩, against scipy.differentiate of δ ↦ F*(δ)."""
    case = build_case(spec)
    net = case.net.replace(activity_decay=delta)

    def F(d):
        d = np.asarray(d, dtype=np.float64)
        vals = [linpc.solve_equilibrium(net.replace(activity_decay=float(v)), case.x, case.y,
                                        method="cholesky", warn_if_error_above=None).energy
                for v in d.ravel()]
        return np.array(vals).reshape(d.shape)

    h0 = 0.01
    res = derivative(F, delta, initial_step=h0, tolerances={"rtol": 1e-12})
    kappa = linpc.ActivityHessian(net).condition_number(method="banded")
    Z = np.concatenate(linpc.solve_equilibrium(net, case.x, case.y, warn_if_error_above=None,
                                               method="cholesky").activities, axis=1)
    scale = float(np.mean(_f_scale(net, case.x, case.y, Z)))
    tol = derivative_tolerance(float(res.error), h0 / 2.0 ** int(res.nit), scale, kappa)
    assert abs(float(res.df) - activity_decay_sensitivity(net, case.x, case.y)) <= tol


@given(specs(max_hidden=4, max_width=5, max_batch=3))
def test_decay_shrinks_activities_and_raises_energy(spec):
    """Along δ = 0, 0.1, …, 10⁴ (per sample): ‖z*(δ)‖ decreases, F*(δ) increases, F* is concave
    (second differences ≤ 0 up to round-off) and tends to F(z = 0) as δ → ∞ at rate ‖b‖²/(2δ)."""
    case = build_case(spec)
    deltas = np.array([0.0, 0.1, 0.3, 1.0, 3.0, 10.0, 1e4])
    Zn, F = [], []
    for d in deltas:
        eq = linpc.solve_equilibrium(case.net.replace(activity_decay=d), case.x, case.y,
                                     method="cholesky", warn_if_error_above=None)
        Zn.append(np.linalg.norm(np.concatenate(eq.activities, axis=1), axis=1))
        F.append(eq.energies)
    Zn, F = np.array(Zn), np.array(F)
    zs = [np.zeros((case.x.shape[0], w)) for w in case.net.hidden_widths]
    F0 = energy(case.net, zs, case.x, case.y, per_sample=True)
    ev = linpc.ActivityHessian(case.net).extreme_eigenvalues(method="banded")
    tol = solve_tolerance(ev.condition_number, case.net.n_activities) \
        * (F0 + ev.lambda_max * Zn[0] ** 2)
    # relative forward error of each solve ≤ solve_tolerance; ‖z*(δ)‖ ≤ ‖z*(0)‖
    assert np.all(np.diff(Zn, axis=0)
                  <= 2 * solve_tolerance(ev.condition_number, case.net.n_activities) * Zn[0])
    assert np.all(np.diff(F, axis=0) >= -tol)
    slopes = np.diff(F[:-1], axis=0) / np.diff(deltas[:-1])[:, None]
    assert np.all(np.diff(slopes, axis=0) <= 2 * tol / np.min(np.diff(deltas)))
    b = linpc.activity_rhs(case.net, case.x, case.y)
    gap = F0 - F[-1]
    assert np.all(gap >= -tol)
    assert np.all(gap <= 0.5 * np.sum(b * b, axis=1) / deltas[-1] + tol)


@given(specs(max_hidden=1, max_width=6), decay)
def test_one_hidden_layer_closed_form_with_decay(spec, delta):
    """H = 1: F* = (π₁δ/2p)‖m‖² + ½r̃ᵀS̃⁻¹r̃, z* = m̃ + p⁻¹M₂ᵀS̃⁻¹r̃ (p = π₁ + δ, m̃ = π₁m/p) —
    only d_y × d_y solves — equals the block Cholesky equilibrium; at δ = 0 it is Theorem 1."""
    case = build_case(spec)
    for d in (delta, 0.0):
        net = case.net.replace(activity_decay=d)
        z, F = one_hidden_layer_decay_equilibrium(net, case.x, case.y)
        eq = linpc.solve_equilibrium(net, case.x, case.y, method="cholesky",
                                     warn_if_error_above=None)
        Z = eq.activities[0]
        S = np.eye(net.d_y) / net.output_precision + net.layer_map(2) @ net.layer_map(2).T \
            / (net.precisions[0] + d)
        kappa = max(linpc.ActivityHessian(net).condition_number(method="banded"),
                    np.linalg.cond(S))
        tol = solve_tolerance(kappa, max(net.widths))
        assert np.linalg.norm(z - Z) <= 2 * tol * max(np.linalg.norm(Z), np.linalg.norm(z))
        assert np.all(np.abs(F - eq.energies) <= tol * _f_scale(net, case.x, case.y, Z))
    with pytest.raises(ValueError, match="H = 1"):
        one_hidden_layer_decay_equilibrium(build_case(NetworkSpec((2, 3, 3, 2))).net,
                                           np.zeros((1, 2)), np.zeros((1, 2)))


def test_orthogonal_init_has_orthonormal_rows_or_columns_and_haar_signs():
    """init="orthogonal": WᵀW = I (tall) or WWᵀ = I (wide) to round-off, and the entries have the
    Haar moments E[W_ij] = 0, E[W_ij²] = 1/max(n_l, n_{l-1}) (5 standard errors over draws)."""
    from linpc.numerics import EPS, SAFETY

    widths = [12, 5, 5, 9]
    draws = [linpc.init_weights(widths, init="orthogonal", rng=s) for s in range(400)]
    for W in draws[0]:
        k = min(W.shape)
        G = W.T @ W if W.shape[0] >= W.shape[1] else W @ W.T
        assert np.abs(G - np.eye(k)).max() <= SAFETY * max(W.shape) * EPS
    for layer in range(3):
        Ws = np.stack([d[layer] for d in draws])              # (draws, n_l, n_{l-1})
        m = max(Ws.shape[1:])
        mean, second = Ws.mean(axis=0), (Ws**2).mean(axis=0)
        se1 = np.sqrt(1.0 / m / len(draws))
        se2 = np.sqrt((Ws**2).var(axis=0) / len(draws))
        assert np.all(np.abs(mean) <= 5 * se1)
        assert np.all(np.abs(second - 1.0 / m) <= 5 * se2)
