"""Public building blocks that the identities rest on, each against an independent computation.

* :func:`linpc.core.backprop.backpropagate` (the one reverse-mode sweep behind ``∇ℒ``, the masked
  MSE, the BP and TR terms of the gradient decomposition, the S-weighted part of ``∇F*`` and the MSE
  Hessian) against ``scipy.differentiate`` of ``Σ_i Σ_l ⟨s_l, ẑ_l(θ)⟩`` with the forward pass
  written from the dense layer maps of :mod:`linpc.verify.reference`;
* :func:`linpc.core.energy.layer_energies` against the definition ``(π_l/2)‖e_l‖²`` (+ the decay);
* :class:`linpc.NotPositiveDefiniteError` from the block Cholesky factorisation, naming the block.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import linpc
from linpc.core import backpropagate, flatten_parameters, layer_energies, with_flat_parameters
from linpc.numerics import (
    block_cholesky,
    derivative_tolerance,
    roundoff_tolerance,
    solve_tolerance,
    stationarity_tolerance,
)
from linpc.verify import build_case, draw_spec
from linpc.verify import reference as ref


def _case(seed: int):
    rng = np.random.default_rng(seed)
    return build_case(draw_spec(rng, max_hidden=4, max_width=5, max_batch=4, seed=seed))


def _sourced_sum(net: linpc.LinearPCN, x: np.ndarray, sources: dict[int, np.ndarray]) -> float:
    """``Σ_i Σ_l ⟨s_l^(i), ẑ_l^(i)⟩`` with the forward pass from the explicit dense layer maps."""
    Ms, cs = ref.dense_layer_maps(net)
    z, total = x, 0.0
    for l, (M, c) in enumerate(zip(Ms, cs, strict=True), start=1):
        z = z @ M.T + c
        if l in sources:
            total += float(np.sum(sources[l] * z))
    return total


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_backpropagate_is_the_gradient_of_the_sourced_forward_pass(seed):
    """``⟨backpropagate(sources), v⟩ = d/dt Σ⟨s_l, ẑ_l(θ + tv)⟩`` for sources on random layers, any
    configuration (skips, biases, multipliers), within the finite-difference tolerance."""
    case = _case(seed)
    net, x = case.net, case.x
    rng = np.random.default_rng(seed + 1)
    layers = sorted(set(rng.integers(1, net.n_layers + 1, size=3).tolist()))
    sources = {l: rng.standard_normal((x.shape[0], net.widths[l])) for l in layers}
    grad = backpropagate(net, net.forward(x), sources).flat()
    theta = flatten_parameters(net)
    v = rng.standard_normal(theta.size)
    v /= np.linalg.norm(v)

    def f(t: np.ndarray) -> float:
        return _sourced_sum(with_flat_parameters(net, t), x, sources)

    df, err, step = ref.directional_derivative(f, theta, v)
    scale = abs(f(theta)) + float(np.sum([np.abs(s).sum() for s in sources.values()]))
    assert abs(grad @ v - df) <= derivative_tolerance(err, step, scale)


def test_backpropagate_broadcasts_leading_axes_and_rejects_bad_layers():
    """A stack of ``k`` source sets gives the ``k`` gradients of the sets one by one, exactly (the
    same arithmetic per slice); sources on a layer outside ``1..L`` are an error."""
    case = _case(3)
    net, x = case.net, case.x
    rng = np.random.default_rng(4)
    k, L = 3, net.n_layers
    stacked = {L: rng.standard_normal((k, x.shape[0], net.d_y))}
    zs = net.forward(x)
    together = backpropagate(net, zs, stacked)
    for i in range(k):
        one = backpropagate(net, zs, {L: stacked[L][i]})
        for a, b in zip(together.weights, one.weights, strict=True):
            np.testing.assert_allclose(a[i], b, rtol=roundoff_tolerance(sum(net.widths)), atol=0)
    with pytest.raises(ValueError, match="sources"):
        backpropagate(net, zs, {L + 1: np.zeros((x.shape[0], 1))})


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), decay=st.sampled_from([0.0, 0.3]))
def test_layer_energies_follow_the_definition_and_sum_to_the_energy(seed, decay):
    """``(1/B) Σ_i (π_l/2)‖z_l − M_l z_{l−1} − c_l‖²`` per layer (+ ``(δ/2)‖z_l‖²`` on hidden
    layers), with the maps written out densely, at arbitrary activities."""
    case = _case(seed)
    net = case.net.replace(activity_decay=decay)
    rng = np.random.default_rng(seed + 2)
    zs = [rng.standard_normal((case.x.shape[0], n)) for n in net.hidden_widths]
    got = layer_energies(net, zs, case.x, case.y)
    Ms, cs = ref.dense_layer_maps(net)
    full = [case.x, *zs, case.y]
    want = np.array([0.5 * p * np.mean(np.sum((full[l] - full[l - 1] @ M.T - c) ** 2, axis=1))
                     for l, (p, M, c) in enumerate(zip(net.precisions, Ms, cs, strict=True),
                                                   start=1)])
    want[:-1] += [0.5 * decay * np.mean(np.sum(z * z, axis=1)) for z in zs]
    tol = roundoff_tolerance(4 * sum(net.widths))
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * float(np.max(want)))
    assert abs(got.sum() - linpc.energy(net, zs, case.x, case.y)) <= tol * float(got.sum())


def test_block_cholesky_names_the_block_that_is_not_positive_definite():
    """A block-tridiagonal matrix whose second Schur complement is indefinite: the factorisation
    stops there with :class:`linpc.NotPositiveDefiniteError` naming block 2 of 3."""
    diag = [np.eye(2), np.eye(2), np.eye(2)]
    sub = [2.0 * np.eye(2), np.zeros((2, 2))]          # A_2 − B_1 B_1ᵀ = I − 4I < 0
    with pytest.raises(linpc.NotPositiveDefiniteError, match="block 2 of 3"):
        block_cholesky(lambda i: diag[i].copy(), lambda i: sub[i].copy(), [2, 2, 2],
                       what="test matrix")


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_log_determinant_of_the_activity_hessian_is_that_of_the_rescaling(seed):
    """``log det H_z = log det S + Σ_l n_l log π_l`` (docs/theory.md §2.2.3: ``S`` is the Schur
    complement of the activity system): the block Cholesky ``logdet`` against ``S`` from the
    covariance recursion of the Gaussian model, a route that never touches ``H_z``."""
    net = _case(seed).net
    got = linpc.ActivityHessian(net).factor().logdet()
    sign, logdet_S = np.linalg.slogdet(linpc.core.output_covariance(net))
    want = logdet_S + sum(n * np.log(p) for n, p in zip(net.widths[1:], net.precisions,
                                                         strict=True))
    assert sign > 0
    kappa = linpc.ActivityHessian(net).condition_number()
    # log det has absolute error ≈ Σ relative errors of the pivots ≤ n·(κ-scaled solve error)
    assert abs(got - want) <= solve_tolerance(kappa, net.n_activities) * max(1.0, abs(want))


def test_trust_region_result_reports_its_kkt_residuals():
    """``kkt_residuals`` are the four optimality residuals recomputed from the step: stationarity,
    complementarity, feasibility, and the sign of ``λ_min(H + μI)``."""
    g, H, r, _ = ref.trust_region_problem(5, 1, "indefinite", 0.0)
    res = linpc.solve_trust_region_subproblem(g, H, r)
    p, mu = res.step, res.multiplier
    want = (np.linalg.norm((H + mu * np.eye(5)) @ p + g), abs(mu * (np.linalg.norm(p) - r)),
            max(0.0, np.linalg.norm(p) - r), max(0.0, -np.linalg.eigvalsh(H + mu * np.eye(5))[0]))
    tol = stationarity_tolerance(5, np.linalg.norm(H, 2), np.linalg.norm(g), np.linalg.norm(p), mu)
    np.testing.assert_allclose(res.kkt_residuals, want, rtol=0, atol=tol)
    assert max(res.kkt_residuals) <= tol


def test_classification_flags_the_strict_saddle_at_the_origin():
    """At θ = 0 with two hidden layers the origin is a strict saddle of F* (P1 Theorem 2) and a
    non-strict critical point of ℒ: ``is_critical`` and ``is_strict_saddle`` say so."""
    rng = np.random.default_rng(5)
    net = linpc.origin_network((3, 4, 4, 2))
    x, y = rng.standard_normal((16, 3)), rng.standard_normal((16, 2))
    f = linpc.classify_critical_point(net, x, y, objective="energy")
    m = linpc.classify_critical_point(net, x, y, objective="mse")
    assert f.is_critical and f.is_strict_saddle
    assert m.is_critical and not m.is_strict_saddle and m.kind == "non-strict"
