"""Bad input gets a clear error (which layer, which shape, what was expected), never a number."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import linpc


def _ws(*shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in shapes]


def test_layers_that_do_not_chain_name_the_layer_and_both_shapes():
    with pytest.raises(ValueError, match=r"weights\[2\] \(W_3, the weights of layer 3\) has "
                       r"shape \(2, 5\).*layer 2 has width n_2 = 4 \(weights\[1\] has shape "
                       r"\(4, 3\)\); weights\[2\] must have shape \(2, 4\)"):
        linpc.LinearPCN(_ws((3, 2), (4, 3), (2, 5)))


def test_needs_a_hidden_layer_and_2d_weights():
    with pytest.raises(ValueError, match="at least 2 weight matrices"):
        linpc.LinearPCN(_ws((3, 2)))
    with pytest.raises(ValueError, match=r"weights\[1\] \(W_2, .*\) must be 2-D"):
        linpc.LinearPCN([np.ones((3, 2)), np.ones(3)])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_weights_and_data_are_rejected(bad):
    Ws = _ws((3, 2), (2, 3))
    Ws[1][0, 1] = bad
    with pytest.raises(ValueError, match=r"weights\[1\] \(W_2, the weights of layer 2\) "
                       r"contains a non-finite value"):
        linpc.LinearPCN(Ws)
    net = linpc.LinearPCN(_ws((3, 2), (2, 3)))
    x = np.ones((4, 2))
    x[2, 0] = bad
    with pytest.raises(ValueError, match="x contains a non-finite value"):
        linpc.solve_equilibrium(net, x, np.ones((4, 2)))


def test_complex_input_is_rejected_not_cast():
    with pytest.raises(TypeError, match="complex"):
        linpc.LinearPCN([np.ones((3, 2), complex), np.ones((2, 3))])


def test_data_with_wrong_columns_rows_or_dimension():
    net = linpc.LinearPCN(_ws((5, 3), (4, 5), (2, 4)))
    with pytest.raises(ValueError, match=r"x has 4 columns .* W_1 has shape \(5, 3\).*\(B, 3\)"):
        linpc.equilibrated_energy(net, np.ones((6, 4)), np.ones((6, 2)))
    with pytest.raises(ValueError, match=r"y has 3 columns .* W_L has shape \(2, 4\)"):
        linpc.equilibrated_energy(net, np.ones((6, 3)), np.ones((6, 3)))
    with pytest.raises(ValueError, match=r"same number of rows.*x has 6, y has 5"):
        linpc.equilibrated_energy(net, np.ones((6, 3)), np.ones((5, 2)))
    with pytest.raises(ValueError, match="1-D y is only accepted together with a 1-D x"):
        linpc.equilibrated_energy(net, np.ones((6, 3)), np.ones(2))
    with pytest.raises(ValueError, match="looks transposed"):
        linpc.equilibrated_energy(net, np.ones((3, 6)), np.ones((6, 2)))
    # one sample as 1-D vectors is accepted
    F = linpc.equilibrated_energy(net, np.ones(3), np.ones(2))
    assert np.isfinite(F)


def test_skips_need_square_hidden_layers():
    with pytest.raises(ValueError, match=r"use_skips=True needs square.*weights\[1\] \(W_2, "
                       r"the weights of layer 2\) has shape \(4, 5\)"):
        linpc.LinearPCN(_ws((5, 3), (4, 5), (2, 4)), use_skips=True)


@pytest.mark.parametrize("kw,match", [
    ({"output_energy_scaling": 0.0}, "output_energy_scaling must be finite and > 0"),
    ({"output_energy_scaling": -1.0}, "output_energy_scaling must be finite and > 0"),
    ({"precisions": [1.0, 0.0]}, r"π_2"),
    ({"precisions": [1.0]}, "one entry per layer"),
    ({"scalings": [1.0, -2.0]}, r"a_2"),
    ({"scalings": [1.0, np.nan]}, r"scalings\[1\] \(a_2\) must be finite and > 0, got nan"),
    ({"gamma": 0.0}, "gamma must be finite and > 0"),
    ({"param_type": "mup"}, "unknown param_type 'mup'"),
    ({"param_type": "ntk"}, '"ntk" is "ntp"'),
    ({"param_type": "mupc", "scalings": [1.0, 1.0]}, "either param_type"),
    ({"output_energy_scaling": 2.0, "precisions": [1.0, 2.0]}, "either output_energy_scaling"),
    ({"activity_decay": -0.1}, "activity_decay must be finite"),
])
def test_bad_options_are_rejected(kw, match):
    with pytest.raises((ValueError, TypeError), match=match):
        linpc.LinearPCN(_ws((3, 2), (2, 3)), **kw)


def test_bad_biases_name_the_layer():
    with pytest.raises(ValueError, match=r"biases\[1\] \(b_2, the bias of layer 2\) must have "
                       r"shape \(2,\)"):
        linpc.LinearPCN(_ws((3, 2), (2, 3)), biases=[None, np.ones(3)])


def test_activities_with_wrong_shapes():
    net = linpc.LinearPCN(_ws((3, 2), (4, 3), (2, 4)))
    with pytest.raises(ValueError, match="z must hold activities for the 2 hidden layers"):
        linpc.energy(net, [np.ones((1, 3))], np.ones((1, 2)), np.ones((1, 2)))
    with pytest.raises(ValueError, match=r"z\[1\] \(z_2, .*\) must have shape \(B, 4\)"):
        linpc.energy(net, [np.ones((1, 3)), np.ones((1, 5))], np.ones((1, 2)), np.ones((1, 2)))


def test_ill_conditioning_is_reported_with_kappa():
    """κ(H_z) = 1 + σ_max(W_2)² = 1 + 1e12 for one hidden layer of width 4 > d_y = 2
    (docs/theory.md §1.2): an error of 1e-8 is unattainable and a warning states κ (the 1-norm
    estimate is within a factor n of the 2-norm κ)."""
    rng = np.random.default_rng(0)
    U, _ = np.linalg.qr(rng.standard_normal((2, 2)))
    V, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    W2 = U @ np.diag([1e6, 1.0]) @ V[:2]                     # singular values 1e6 and 1
    net = linpc.LinearPCN([rng.standard_normal((4, 3)), W2])
    x, y = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    with pytest.warns(linpc.IllConditionedWarning, match=r"κ ≈ [0-9.]+e\+1[12]"):
        eq = linpc.solve_equilibrium(net, x, y, method="cholesky", warn_if_error_above=1e-8)
    assert 1e12 / 4 <= eq.condition_number <= 4 * 1e12
    # a well-conditioned network gives no warning at all
    good = linpc.LinearPCN(_ws((3, 2), (2, 3)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        linpc.solve_equilibrium(good, np.ones((2, 2)), np.ones((2, 2)))


def test_gaussian_route_refuses_activity_decay():
    net = linpc.LinearPCN(_ws((3, 2), (2, 3)), activity_decay=0.5)
    with pytest.raises(ValueError, match="activity_decay"):
        linpc.solve_equilibrium(net, np.ones((1, 2)), np.ones((1, 2)), method="gaussian")
    with pytest.raises(ValueError, match="activity_decay"):
        linpc.equilibrium_rescaling(net)


def test_divergent_step_size_warns():
    net = linpc.LinearPCN(_ws((3, 2), (2, 3)))
    lam_max = linpc.ActivityHessian(net).extreme_eigenvalues().lambda_max
    with pytest.warns(RuntimeWarning, match="diverges"):
        res = linpc.gradient_descent_inference(net, np.ones((1, 2)), np.ones((1, 2)),
                                               step_size=2.5 / lam_max, max_steps=20)
    assert not res.converged
