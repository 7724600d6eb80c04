"""The bad-input battery of the library: every kind of bad value is refused, by name.

Each case calls a public routine with one bad argument and asserts both the exception type and
that the message names the argument (and the layer or entry, where there is one) in the words of
the public API. The aliasing tests check that no routine freezes, modifies or keeps a live view
of the caller's arrays. The rules are those of :mod:`linpc.numerics.validation`: switches are
bools, widths and counts are integers, tolerances, step sizes, learning rates and precisions are
finite and positive, arrays are real and finite.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import linpc
from linpc import data, dynamics, jpc, landscape, mupc, trust_region
from linpc.core import backpropagate, init_variances, layer_scalings, sample_gaussian_model
from linpc.numerics import validation as V

RNG = np.random.default_rng(0)
WIDTHS = [3, 4, 4, 2]
WS = linpc.init_weights(WIDTHS, rng=1)
NET = linpc.LinearPCN(WS)
SQUARE = [RNG.standard_normal((4, 3)), RNG.standard_normal((4, 4)), RNG.standard_normal((2, 4))]
X, Y = RNG.standard_normal((5, 3)), RNG.standard_normal((5, 2))
Z = NET.forward(X)[1:-1]
X1 = 1 + 0.1 * RNG.standard_normal((8, 1))


def _ws(*shapes):
    return [RNG.standard_normal(s) for s in shapes]


def _case(id_, func, exc, match):
    return pytest.param(func, exc, match, id=id_)


# ------------------------------------------------------------------------------------ switches
#: (name, callable taking the switch value): every public bool keyword.
SWITCHES = [
    ("LinearPCN.use_skips", "use_skips", lambda v: linpc.LinearPCN(SQUARE, use_skips=v)),
    ("init_network.use_skips", "use_skips", lambda v: linpc.init_network(WIDTHS, use_skips=v)),
    ("layer_scalings.use_skips", "use_skips", lambda v: layer_scalings(WIDTHS, "ntp",
                                                                       use_skips=v)),
    ("energy.per_sample", "per_sample", lambda v: linpc.energy(NET, Z, X, Y, per_sample=v)),
    ("mse_loss.per_sample", "per_sample", lambda v: linpc.mse_loss(NET, X, Y, per_sample=v)),
    ("equilibrated_energy.per_sample", "per_sample",
     lambda v: linpc.equilibrated_energy(NET, X, Y, per_sample=v)),
    ("solve_equilibrium.check_condition", "check_condition",
     lambda v: linpc.solve_equilibrium(NET, X, Y, check_condition=v)),
    ("equilibrium_rescaling.inverse", "inverse",
     lambda v: linpc.equilibrium_rescaling(NET, inverse=v)),
    ("equilibrated_energy_hessian.matrix_free", "matrix_free",
     lambda v: linpc.equilibrated_energy_hessian(NET, X, Y, matrix_free=v)),
    ("mse_hessian.mean_over_outputs", "mean_over_outputs",
     lambda v: linpc.mse_hessian(NET, X, Y, mean_over_outputs=v)),
    ("ActivityHessian.to_dense.diag", "diag",
     lambda v: linpc.ActivityHessian(NET).to_dense(diag=v)),
    ("origin_hessians.mean_over_outputs", "mean_over_outputs",
     lambda v: linpc.origin_hessians(WIDTHS, X, Y, mean_over_outputs=v)),
    ("expected_rescaling.use_skips", "use_skips",
     lambda v: linpc.expected_rescaling([3, 4, 4, 2], use_skips=v)),
    ("one_hot_classes.balanced", "balanced", lambda v: data.one_hot_classes(4, balanced=v)),
    ("backpropagate.return_adjoints", "return_adjoints",
     lambda v: backpropagate(NET, NET.forward(X), {3: Y}, return_adjoints=v)),
    ("jpc.linear_equilib_energy.use_skips", "use_skips",
     lambda v: jpc.linear_equilib_energy(SQUARE, X, Y, use_skips=v)),
    ("jpc.linear_equilib_energy.return_rescaling", "return_rescaling",
     lambda v: jpc.linear_equilib_energy(WS, X, Y, return_rescaling=v)),
    ("jpc.compute_linear_activity_hessian.off_diag", "off_diag",
     lambda v: jpc.compute_linear_activity_hessian(WS, off_diag=v)),
    ("jpc.mse_loss_hessian.matrix_free", "matrix_free",
     lambda v: jpc.mse_loss_hessian(WS, X, Y, matrix_free=v)),
]


@pytest.mark.parametrize("bad", ["no", "False", 1, 0, None])
@pytest.mark.parametrize(("name", "func"), [pytest.param(n, f, id=i) for i, n, f in SWITCHES])
def test_switches_accept_only_bools(name, func, bad):
    """``bool("no")`` is True: a string (or a number, or None) for a switch is a TypeError naming
    the switch, never read as true or false."""
    with pytest.raises(TypeError, match=rf"{name} must be True or False, got {bad!r}"):
        func(bad)


@pytest.mark.parametrize("ok", [True, False, np.True_, np.False_])
def test_switches_accept_python_and_numpy_bools(ok):
    net = linpc.LinearPCN(SQUARE, use_skips=ok)
    assert net.use_skips is bool(ok)
    assert isinstance(jpc.linear_equilib_energy(WS, X, Y, return_rescaling=ok),
                      tuple if ok else float)


# ------------------------------------------------------------------------------------ widths
WIDTH_ROUTINES = [
    ("init_weights", lambda w: linpc.init_weights(w)),
    ("init_network", lambda w: linpc.init_network(w)),
    ("init_variances", lambda w: init_variances(w)),
    ("layer_scalings", lambda w: layer_scalings(w, "mupc")),
    ("origin_network", lambda w: linpc.origin_network(w)),
    ("expected_rescaling", lambda w: linpc.expected_rescaling(w)),
    ("expected_forward_norms", lambda w: linpc.expected_forward_norms(w)),
    ("sample_rescalings", lambda w: mupc.sample_rescalings(w, n_draws=2)),
]
BAD_WIDTHS = [
    ([5, 2.7, 3], TypeError, r"\[1\] \(n_1, the width of hidden layer 1\) must be an integer ≥ 1,"
                             r" got 2\.7 \(float\)"),
    ([5, 3.0, 3], TypeError, r"\[1\] \(n_1, .*\) must be an integer ≥ 1, got 3\.0"),
    ([5, 0, 3], ValueError, r"\[1\] \(n_1, .*\) must be an integer ≥ 1, got 0"),
    ([5, -1, 3], ValueError, r"\[1\] \(n_1, .*\) must be an integer ≥ 1, got -1"),
    ([5, True, 3], TypeError, r"\[1\] \(n_1, .*\) must be an integer ≥ 1, got True \(bool\)"),
    ([5, "3", 3], TypeError, r"\[1\] \(n_1, .*\) must be an integer ≥ 1, got '3' \(str\)"),
    ([5, 4, 0], ValueError, r"\[2\] \(n_2 = d_y, the output width\) must be an integer ≥ 1"),
    ([0, 4, 3], ValueError, r"\[0\] \(n_0 = d_x, the input width\) must be an integer ≥ 1"),
]


@pytest.mark.parametrize(("widths", "exc", "match"), BAD_WIDTHS,
                         ids=[repr(w) for w, _, _ in BAD_WIDTHS])
@pytest.mark.parametrize(("name", "func"), WIDTH_ROUTINES, ids=[n for n, _ in WIDTH_ROUTINES])
def test_widths_must_be_positive_integers_named_by_entry(name, func, widths, exc, match):
    """2.7 is not truncated to 2, 0 does not reach the random generator (which raised an
    OverflowError), and the message names the entry and its layer."""
    argument = "net_or_widths" if name == "origin_network" else "widths"
    with pytest.raises(exc, match=rf"{argument}{match}"):
        func(widths)


@pytest.mark.parametrize("widths", ["534", 5, None, np.ones((2, 2), int)])
def test_widths_must_be_a_sequence(widths):
    with pytest.raises((TypeError, ValueError), match="widths"):
        linpc.init_weights(widths)


def test_integer_widths_of_any_integer_type_are_accepted():
    for widths in ([3, 4, 2], np.array([3, 4, 2]), [np.int64(3), np.int32(4), 2], (3, 4, 2)):
        Ws = linpc.init_weights(widths, rng=0)
        assert [W.shape for W in Ws] == [(4, 3), (2, 4)]


# ------------------------------------------------------------------- tolerances and counts
NAN, INF = float("nan"), float("inf")
TOLERANCES = [
    # (id, argument, call with the value) — each must be finite and > 0
    ("solve_equilibrium", "warn_if_error_above",
     lambda v: linpc.solve_equilibrium(NET, X, Y, warn_if_error_above=v)),
    ("equilibrated_energy", "warn_if_error_above",
     lambda v: linpc.equilibrated_energy(NET, X, Y, warn_if_error_above=v)),
    ("pc_trust_region_step", "warn_if_error_above",
     lambda v: linpc.pc_trust_region_step(NET, X, Y, warn_if_error_above=v)),
    ("extreme_eigenvalues", "tol",
     lambda v: linpc.ActivityHessian(NET).extreme_eigenvalues(tol=v)),
    ("jpc.activity_hessian_condition_number", "tol",
     lambda v: jpc.activity_hessian_condition_number(WS, tol=v)),
    ("gradient_descent_inference.tol", "tol",
     lambda v: linpc.gradient_descent_inference(NET, X, Y, tol=v)),
    ("gradient_descent_inference.step_size", "step_size",
     lambda v: linpc.gradient_descent_inference(NET, X, Y, step_size=v)),
    ("euler_inference.dt", "dt", lambda v: linpc.euler_inference(NET, X, Y, steps=2, dt=v)),
    ("inference_speed.tol", "tol", lambda v: linpc.inference_speed(NET, X, Y, tol=v)),
    ("inference_interpolation.step_size", "step_size",
     lambda v: linpc.inference_interpolation(NET, X, Y, [1], step_size=v)),
    ("solve_trust_region_subproblem.radius", "radius",
     lambda v: linpc.solve_trust_region_subproblem(np.ones(2), np.eye(2), v)),
    ("train.learning_rate", "learning_rate",
     lambda v: linpc.train(NET, (X, Y), method="bp", learning_rate=v, n_steps=1)),
    ("train.inference_dt", "inference_dt",
     lambda v: linpc.train(NET, (X, Y), method="pc_euler", learning_rate=0.1, n_steps=1,
                           inference_dt=v)),
    ("Adam.lr", "lr", lambda v: linpc.Adam(WS, v)),
    ("Adam.eps", "eps", lambda v: linpc.Adam(WS, 0.1, eps=v)),
    ("LinearPCN.output_energy_scaling", "output_energy_scaling",
     lambda v: linpc.LinearPCN(WS, output_energy_scaling=v)),
    ("LinearPCN.gamma", "gamma", lambda v: linpc.LinearPCN(WS, param_type="mupc", gamma=v)),
    ("LinearPCN.precisions", r"precisions\[1\] \(π_2\)",
     lambda v: linpc.LinearPCN(WS, precisions=[1.0, v, 1.0])),
    ("LinearPCN.scalings", r"scalings\[2\] \(a_3\)",
     lambda v: linpc.LinearPCN(WS, scalings=[1.0, 1.0, v])),
    ("jpc.linear_equilib_energy.output_energy_scaling", "output_energy_scaling",
     lambda v: jpc.linear_equilib_energy(WS, X, Y, output_energy_scaling=v)),
    ("limits_output_precision.gamma", "gamma",
     lambda v: linpc.core.limits_output_precision(4, 3, v)),
    ("escape_steps.radius", "radius",
     lambda v: dynamics.shallow_escape_prediction(X1, -X1).escape_steps([0.1, 0.1], v, 0.1)),
    ("shallow_escape_prediction.output_precision", "output_precision",
     lambda v: dynamics.shallow_escape_prediction(X1, -X1, output_precision=v)),
]


@pytest.mark.parametrize("bad", [0.0, -1e-3, NAN, INF])
@pytest.mark.parametrize(("name", "func"), [pytest.param(n, f, id=i) for i, n, f in TOLERANCES])
def test_tolerances_step_sizes_and_precisions_must_be_finite_and_positive(name, func, bad):
    with pytest.raises(ValueError, match=rf"{name} must be finite and > 0"):
        func(bad)


@pytest.mark.parametrize("bad", ["1e-8", True, 1j, [1e-8]])
@pytest.mark.parametrize(("name", "func"), [pytest.param(n, f, id=i)
                                            for i, n, f in TOLERANCES[:8]])
def test_tolerances_must_be_real_numbers(name, func, bad):
    """A string is not parsed, True is not 1, a complex or a list is not a number."""
    with pytest.raises(TypeError, match=rf"{name} must be a (positive )?real number"):
        func(bad)


COUNTS = [
    # (id, argument, call with the value, minimum)
    ("gradient_descent_inference.max_steps", "max_steps",
     lambda v: linpc.gradient_descent_inference(NET, X, Y, max_steps=v), 0),
    ("gradient_descent_inference.record_every", "record_every",
     lambda v: linpc.gradient_descent_inference(NET, X, Y, record_every=v), 1),
    ("euler_inference.steps", "steps", lambda v: linpc.euler_inference(NET, X, Y, steps=v,
                                                                       dt=0.1), 0),
    ("train.n_steps", "n_steps",
     lambda v: linpc.train(NET, (X, Y), method="bp", learning_rate=0.1, n_steps=v), 0),
    ("train.inference_steps", "inference_steps",
     lambda v: linpc.train(NET, (X, Y), method="pc_euler", learning_rate=0.1, n_steps=1,
                           inference_steps=v), 0),
    ("neumann_series.order", "order", lambda v: linpc.neumann_series(NET, X, Y, v), 0),
    ("directional_taylor_coefficients.order", "order",
     lambda v: linpc.directional_taylor_coefficients(NET, X, Y, WS, v), 0),
    ("sample_gaussian_model.n_samples", "n_samples",
     lambda v: sample_gaussian_model(NET, X[0], v), 1),
    ("sample_forward_norms.n_draws", "n_draws",
     lambda v: mupc.sample_forward_norms(WIDTHS, X[0], n_draws=v), 2),
    ("tridiagonal_limit_spectrum.H", "hidden layers H",
     lambda v: linpc.tridiagonal_limit_spectrum(v), 1),
    ("toy_gaussian.batch", "batch", lambda v: linpc.toy_gaussian(v), 1),
    ("hessian_spectrum.maxiter", "maxiter",
     lambda v: linpc.hessian_spectrum(linpc.mse_hessian(NET, X, Y, matrix_free=True),
                                      method="lanczos", maxiter=v), 1),
    ("flatness_slopes.n_directions", "n_directions",
     lambda v: landscape.flatness_slopes(WIDTHS, X, Y, n_directions=v), 1),
    ("run_toy.n_hidden", "n_hidden", lambda v: dynamics.run_toy("bp", n_hidden=v, n_steps=1), 1),
]


@pytest.mark.parametrize(("name", "func", "minimum"),
                         [pytest.param(n, f, m, id=i) for i, n, f, m in COUNTS])
@pytest.mark.parametrize("kind", ["float", "bool", "str", "below"])
def test_counts_must_be_integers_not_truncated(name, func, minimum, kind):
    """2.7 steps are not 2 steps, True is not 1 step, "3" is not 3 steps, and counts below
    their minimum are refused."""
    bad, exc = {"float": (2.7, TypeError), "bool": (True, TypeError), "str": ("3", TypeError),
                "below": (minimum - 1, ValueError)}[kind]
    with pytest.raises(exc, match=rf"{name} must be an integer ≥ {minimum}, got {bad!r}"):
        func(bad)


@pytest.mark.parametrize(("func", "match"), [
    (lambda: linpc.LinearPCN(WS, activity_decay=-0.1), "activity_decay must be finite and ≥ 0"),
    (lambda: linpc.LinearPCN(WS, activity_decay="0.1"), "activity_decay must be a real number"),
    (lambda: linpc.steps_to_tolerance(0.5, 1.5), r"tol must be < 1"),
    (lambda: linpc.steps_to_tolerance(-0.5, 0.1), r"rho must be ≥ 0"),
    (lambda: linpc.optimal_step_size(-1.0, 2.0), "lambda_min must be finite and > 0"),
    (lambda: linpc.hessian_spectrum(np.eye(3), zero_tolerance=-1.0),
     "zero_tolerance must be finite and ≥ 0"),
    (lambda: linpc.classify_critical_point(NET, X, Y, gradient_tolerance=NAN),
     "gradient_tolerance must be finite and ≥ 0"),
    (lambda: linpc.gradient_flow_activities(NET, X, Y, -1.0), "time t must be ≥ 0"),
    (lambda: linpc.gradient_flow_activities(NET, X, Y, "1"), "t must be a real number"),
    (lambda: linpc.Adam(WS, 0.1, betas=(0.9, 1.0)), r"betas\[1\] must be in \[0, 1\)"),
    (lambda: data.matrix_completion(observed_threshold="0.2"),
     "observed_threshold must be a real number"),
    (lambda: linpc.toy_gaussian(4, std=-0.1), "std must be finite and ≥ 0"),
    (lambda: data.linear_teacher(4, 3, 2, noise=-1.0), "noise must be finite and ≥ 0"),
], ids=["decay<0", "decay-str", "tol>=1", "rho<0", "lambda<0", "zero_tol<0", "gtol-nan", "t<0",
        "t-str", "beta=1", "threshold-str", "std<0", "noise<0"])
def test_other_numbers_out_of_their_range(func, match):
    with pytest.raises((TypeError, ValueError), match=match):
        func()


@pytest.mark.parametrize("bad", ["seed", 2.5, -1, True])
@pytest.mark.parametrize(("func",), [
    (lambda r: linpc.init_weights(WIDTHS, rng=r),),
    (lambda r: linpc.toy_gaussian(4, rng=r),),
    (lambda r: linpc.train(NET, (X, Y), method="bp", learning_rate=0.1, n_steps=1, rng=r),),
    (lambda r: sample_gaussian_model(NET, X[0], 3, rng=r),),
], ids=["init_weights", "toy_gaussian", "train", "sample_gaussian_model"])
def test_seeds_must_be_generators_or_non_negative_integers(func, bad):
    with pytest.raises((TypeError, ValueError), match=r"rng must be .*(Generator|seed ≥ 0)"):
        func(bad)


# ------------------------------------------------------------------------------ string options
@pytest.mark.parametrize(("func", "name"), [
    (lambda v: linpc.solve_equilibrium(NET, X, Y, method=v), "method"),
    (lambda v: linpc.equilibrium_rescaling(NET, method=v), "method"),
    (lambda v: linpc.ActivityHessian(NET).extreme_eigenvalues(method=v), "method"),
    (lambda v: linpc.hessian_spectrum(np.eye(2), method=v), "method"),
    (lambda v: linpc.classify_critical_point(NET, X, Y, objective=v), "objective"),
    (lambda v: linpc.activity_hessian_part_eigenvalues(NET, v), "part"),
    (lambda v: linpc.train(NET, (X, Y), method=v, learning_rate=0.1, n_steps=1), "method"),
    (lambda v: linpc.train(NET, (X, Y), method="bp", learning_rate=0.1, n_steps=1,
                           convention=v), "convention"),
    (lambda v: linpc.LinearPCN(WS, param_type=v), "param_type"),
    (lambda v: linpc.init_weights(WIDTHS, init=v), "init"),
    (lambda v: linpc.init_network(WIDTHS, convention=v), "convention"),
], ids=["solve_equilibrium", "equilibrium_rescaling", "extreme_eigenvalues", "hessian_spectrum",
        "classify_critical_point", "part_eigenvalues", "train.method", "train.convention",
        "param_type", "init", "init_network.convention"])
@pytest.mark.parametrize("bad", ["nope", 3, None])
def test_string_options_name_the_argument(func, name, bad):
    with pytest.raises((TypeError, ValueError), match=rf"{name}"):
        func(bad)


# -------------------------------------------------------------------- shapes naming the layer
@pytest.mark.parametrize(("func", "match"), [
    (lambda: linpc.LinearPCN(_ws((4, 3), (4, 5), (2, 4))),
     r"weights\[1\] \(W_2, the weights of layer 2\) has shape \(4, 5\) .*but layer 1 has width "
     r"n_1 = 4 \(weights\[0\] has shape \(4, 3\)\); weights\[1\] must have shape \(4, 4\)"),
    (lambda: jpc.linear_equilib_energy(_ws((3, 3), (6, 3), (4, 5)), X, Y),
     r"Ws\[2\] \(W_3, the weights of layer 3\) has shape \(4, 5\) .*but layer 2 has width "
     r"n_2 = 6 \(Ws\[1\] has shape \(6, 3\)\)"),
    (lambda: jpc.compute_linear_activity_hessian(_ws((4, 3), (4, 4), (4, 2))),
     r"Ws\[2\] \(W_3, .*\) has shape \(4, 2\).*is it transposed\?"),
    (lambda: jpc.compute_linear_equilib_rescaling([np.ones((3, 2))]),
     r"at least 2 weight matrices .*Ws has 1"),
    (lambda: jpc.compute_linear_equilib_rescaling(np.ones((3, 3))),
     r"Ws must be a sequence of 2-D arrays"),
    (lambda: linpc.LinearPCN([np.ones((3, 2)), np.ones(3)]),
     r"weights\[1\] \(W_2, the weights of layer 2\) must be 2-D"),
    (lambda: linpc.LinearPCN(WS, biases=[None, np.ones(3), None]),
     r"biases\[1\] \(b_2, the bias of layer 2\) must have shape \(4,\), got \(3,\)"),
    (lambda: linpc.LinearPCN(WS, biases=[None, None]), "biases must have one entry per layer"),
    (lambda: linpc.LinearPCN(WS, precisions=[1.0, 1.0]), "precisions must have one entry"),
    (lambda: linpc.LinearPCN(_ws((4, 3), (5, 4), (2, 5)), use_skips=True),
     r"use_skips=True needs square .*weights\[1\] \(W_2, .*\) has shape \(5, 4\)"),
    (lambda: jpc.linear_equilib_energy(_ws((4, 3), (5, 4), (2, 5)), X, Y, use_skips=True),
     r"use_skips=True needs square .*Ws\[1\] \(W_2, .*\) has shape \(5, 4\)"),
    (lambda: linpc.energy(NET, [Z[0], Z[1][:, :3]], X, Y),
     r"z\[1\] \(z_2, the activities of layer 2\) must have shape \(B, 4\)"),
    (lambda: linpc.gradient_descent_inference(NET, X, Y, z0=[Z[0]]),
     r"z0 must hold activities for the 2 hidden layers"),
    (lambda: linpc.directional_taylor_coefficients(NET, X, Y, [np.ones((4, 3))] * 3, 2),
     r"direction for W_2 must have shape \(4, 4\)"),
    (lambda: linpc.other_saddle(NET, hidden_weight=np.ones((3, 3))),
     r"hidden_weight must have the shape of W_2"),
    (lambda: linpc.weight_gradient_decomposition(NET, X, Y, step=np.ones((5, 7))),
     r"step must have shape \(B, n\) = \(5, 8\)"),
    (lambda: linpc.solve_trust_region_subproblem(np.ones(2), np.eye(3), 1.0),
     r"H must have shape \(2, 2\)"),
    (lambda: linpc.with_flat_parameters(NET, np.ones(3)),
     r"flat parameter vector must have shape \(36,\)"),
], ids=["chain", "jpc-chain", "jpc-transposed", "jpc-one-layer", "jpc-one-array", "not-2d",
        "bias-shape", "bias-count", "precisions-count", "skips", "jpc-skips", "activity-shape",
        "z0-count", "direction-shape", "hidden_weight", "step-shape", "tr-shape", "theta-size"])
def test_wrong_shapes_name_the_argument_and_the_layer(func, match):
    with pytest.raises(ValueError, match=match) if "Ws must" not in match else \
            pytest.raises(TypeError, match=match):
        func()


@pytest.mark.parametrize(("func", "match"), [
    (lambda: linpc.solve_equilibrium(NET, X.T, Y),
     r"x has 5 columns but the first layer W_1 has shape \(4, 3\).*looks transposed"),
    (lambda: linpc.mse_loss(NET, X, Y.T), r"y must have shape \(B, d_y\)|y has .* columns"),
    (lambda: linpc.equilibrated_energy(NET, X[:, :2], Y),
     r"x has 2 columns but the first layer W_1 has shape \(4, 3\)"),
    (lambda: linpc.equilibrated_energy(NET, X, Y[:4]), r"x has 5, y has 4"),
    (lambda: jpc.compute_linear_activity_solution(WS, X.T, Y.T), r"x .*looks transposed"),
], ids=["x.T", "y.T", "x-columns", "rows", "jpc-both-transposed"])
def test_transposed_or_misshaped_data(func, match):
    with pytest.raises(ValueError, match=match):
        func()


# ------------------------------------------------------------------- values and dtypes
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize(("func", "match"), [
    (lambda Ws: linpc.LinearPCN(Ws), r"weights\[2\] \(W_3, the weights of layer 3\) contains a "
                                     r"non-finite value"),
    (lambda Ws: jpc.linear_equilib_energy(Ws, X, Y),
     r"Ws\[2\] \(W_3, the weights of layer 3\) contains a non-finite value"),
    (lambda Ws: jpc.activity_hessian_extreme_eigenvalues(Ws),
     r"Ws\[2\] \(W_3, .*\) contains a non-finite value \(.* at index \(1, 2\)\)"),
], ids=["LinearPCN", "jpc.linear_equilib_energy", "jpc.extreme_eigenvalues"])
def test_non_finite_weights_name_the_layer_and_the_entry(func, match, bad):
    Ws = [W.copy() for W in WS]
    Ws[2][1, 2] = bad
    with pytest.raises(ValueError, match=match):
        func(Ws)


BAD_DTYPES = {
    "complex": np.ones((4, 3), complex),
    "object": np.array([[object()] * 3] * 4, dtype=object),
    "str": np.full((4, 3), "1.0"),
}


@pytest.mark.parametrize("dtype", list(BAD_DTYPES))
@pytest.mark.parametrize(("func", "name"), [
    (lambda A: linpc.LinearPCN([A, WS[1], WS[2]]), r"weights\[0\] \(W_1, the weights of layer 1\)"),
    (lambda A: jpc.compute_linear_equilib_energy_grads([A, WS[1], WS[2]], X, Y), r"Ws\[0\]"),
    (lambda A: linpc.mse_loss(NET, A[:, :3].T[:1], Y[:1]), "x"),
    (lambda A: linpc.solve_equilibrium(NET, X[:4], A[:, :2]), "y"),
    (lambda A: linpc.solve_trust_region_subproblem(np.ones(3), A[:3], 1.0), "H"),
    (lambda A: linpc.hessian_spectrum(A[:3]), "hessian"),
    (lambda A: linpc.LinearPCN(WS, precisions=A[0]), "precisions"),
    (lambda A: linpc.with_flat_parameters(NET, A.ravel()), "theta"),
    (lambda A: linpc.gradient_descent_inference(NET, X[:4], Y[:4], z0=[A[:, :4].T, Z[1][:4]]),
     r"z0\[0\] \(z_1"),
    (lambda A: landscape.flatness_order(A[0]), "coefficients"),
], ids=["weights", "jpc.Ws", "x", "y", "H", "hessian", "precisions", "theta", "z0",
        "coefficients"])
def test_complex_object_and_string_arrays_are_refused_not_cast(func, name, dtype):
    """A complex array would lose its imaginary part, a string array would be parsed: both are
    TypeErrors naming the argument."""
    with pytest.raises(TypeError, match=rf"^{name}.* (is complex|has dtype)"):
        func(BAD_DTYPES[dtype])


@pytest.mark.parametrize(("func", "name"), [
    (lambda v: linpc.solve_equilibrium(v, X, Y), "net"),
    (lambda v: linpc.mse_loss(v, X, Y), "net"),
    (lambda v: linpc.ActivityHessian(v), "net"),
    (lambda v: linpc.equilibrated_energy_hessian(v, X, Y), "net"),
    (lambda v: linpc.pc_trust_region_step(v, X, Y), "net"),
    (lambda v: linpc.train(v, (X, Y), method="bp", learning_rate=0.1, n_steps=1), "net"),
    (lambda v: linpc.solve_equilibrium(NET, X, Y, hessian=v), "hessian"),
    (lambda v: linpc.equilibrated_energy_gradient(NET, X, Y, equilibrium=v), "equilibrium"),
], ids=["solve_equilibrium", "mse_loss", "ActivityHessian", "hessian", "pc_trust_region_step",
        "train", "solve_equilibrium.hessian", "gradient.equilibrium"])
def test_objects_of_the_wrong_kind_are_named(func, name):
    """Passing the weight list where a network is expected says so, instead of an
    AttributeError deep inside."""
    with pytest.raises(TypeError, match=rf"^{name} must be a "):
        func(list(WS))


def test_origin_network_refuses_keywords_it_would_ignore():
    with pytest.raises(ValueError, match="param_type apply only when net_or_widths is a list"):
        linpc.origin_network(NET, param_type="mupc")


def test_replace_refuses_an_unknown_bias_sentinel():
    with pytest.raises(ValueError, match="biases must be a sequence, None or 'keep'"):
        NET.replace(biases="none")


# ---------------------------------------------------------------------- aliasing and freezing
def test_linear_pcn_neither_freezes_nor_aliases_the_callers_arrays():
    """The issue's case: ``LinearPCN(Ws)`` made the caller's arrays read-only, so a later
    ``W -= lr * g`` failed far from the cause; and a network sharing memory with the caller would
    change silently when the caller's array is updated."""
    Ws = [W.copy() for W in WS]
    bs = [None, np.ones(4), np.zeros(2)]
    a, pi = np.array([1.0, 0.5, 0.25]), np.array([1.0, 2.0, 3.0])
    net = linpc.LinearPCN(Ws, biases=bs, scalings=a, precisions=pi)
    before = net.predict(X)
    for arr in (*Ws, bs[1], bs[2], a, pi):
        assert arr.flags.writeable
        arr -= 0.1 * np.ones_like(arr)           # the caller's update works …
    np.testing.assert_array_equal(net.predict(X), before)   # … and does not reach the network
    assert not any(W.flags.writeable for W in net.weights)   # the network's own copies are frozen
    flat = linpc.flatten_parameters(net)
    net2 = linpc.with_flat_parameters(net, flat)
    flat[:] = 0.0
    np.testing.assert_array_equal(net2.predict(X), before)


def _routines_taking_arrays():
    """(name, call(arrays)) for every public routine that takes caller arrays."""
    def H_and_g(A):
        return A["g"], A["H"]

    mask = np.ones((5, 2))
    mask[0, 0] = 0.0
    return [
        ("LinearPCN", lambda A: linpc.LinearPCN(A["Ws"], biases=A["bs"], precisions=A["pi"])),
        ("replace", lambda A: NET.replace(weights=A["Ws"])),
        ("with_flat_parameters", lambda A: linpc.with_flat_parameters(NET, A["theta"])),
        ("forward", lambda A: NET.forward(A["x"])),
        ("energy", lambda A: linpc.energy(NET, A["z"], A["x"], A["y"])),
        ("energy_parameter_gradient",
         lambda A: linpc.energy_parameter_gradient(NET, A["z"], A["x"], A["y"])),
        ("mse_gradient", lambda A: linpc.mse_gradient(NET, A["x"], A["y"])),
        ("masked_mse", lambda A: linpc.core.masked_mse(NET, A["x"], A["y"], A["mask"])),
        ("solve_equilibrium", lambda A: linpc.solve_equilibrium(NET, A["x"], A["y"])),
        ("equilibrated_energy_gradient",
         lambda A: linpc.equilibrated_energy_gradient(NET, A["x"], A["y"])),
        ("gradient_descent_inference",
         lambda A: linpc.gradient_descent_inference(NET, A["x"], A["y"], z0=A["z"])),
        ("euler_inference",
         lambda A: linpc.euler_inference(NET, A["x"], A["y"], steps=3, dt=0.1, z0=A["z"])),
        ("gradient_flow_activities",
         lambda A: linpc.gradient_flow_activities(NET, A["x"], A["y"], 0.5, z0=A["z"])),
        ("equilibrated_energy_hessian",
         lambda A: linpc.equilibrated_energy_hessian(NET, A["x"], A["y"])),
        ("mse_hvp", lambda A: landscape.mse_hvp(NET, A["x"], A["y"], A["theta"])),
        ("hessian_spectrum", lambda A: linpc.hessian_spectrum(A["H"])),
        ("solve_trust_region_subproblem",
         lambda A: linpc.solve_trust_region_subproblem(*H_and_g(A), 0.5, metric=A["M"])),
        ("pc_trust_region_step", lambda A: linpc.pc_trust_region_step(NET, A["x"], A["y"])),
        ("weight_gradient_decomposition",
         lambda A: linpc.weight_gradient_decomposition(NET, A["x"], A["y"], step=A["step"])),
        ("inference_interpolation",
         lambda A: linpc.inference_interpolation(NET, A["x"], A["y"], A["times"])),
        ("weak_precision_gaps",
         lambda A: linpc.weak_precision_gaps(NET, A["x"], A["y"], A["lams"])),
        ("directional_taylor_coefficients",
         lambda A: linpc.directional_taylor_coefficients(NET, A["x"], A["y"], A["Ws"], 3)),
        ("other_saddle", lambda A: linpc.other_saddle(NET, hidden_weight=A["Ws"][1], y=A["y"])),
        ("origin_hessians", lambda A: linpc.origin_hessians(NET, A["x"], A["y"])),
        ("second_moments", lambda A: linpc.second_moments(A["x"], A["y"])),
        ("train", lambda A: linpc.train(NET, (A["x"], A["y"]), method="pc_exact",
                                        learning_rate=0.05, n_steps=2)),
        ("train.bp_mask", lambda A: linpc.train(NET, (A["x"], A["y"]), method="bp",
                                                learning_rate=0.05, n_steps=2,
                                                bp_mask=A["mask"])),
        ("Adam.step", lambda A: linpc.Adam(A["Ws"], 0.1).step(A["Ws"], A["Ws"])),
        ("sample_forward_norms",
         lambda A: mupc.sample_forward_norms(WIDTHS, A["x"][0], n_draws=2, rng=0)),
        ("jpc.linear_equilib_energy",
         lambda A: jpc.linear_equilib_energy(A["Ws"], A["x"], A["y"], return_rescaling=True)),
        ("jpc.compute_linear_activity_solution",
         lambda A: jpc.compute_linear_activity_solution(A["Ws"], A["x"], A["y"])),
        ("jpc.compute_linear_equilib_energy_grads",
         lambda A: jpc.compute_linear_equilib_energy_grads(A["Ws"], A["x"], A["y"])),
        ("jpc.equilib_energy_hessian",
         lambda A: jpc.equilib_energy_hessian(A["Ws"], A["x"], A["y"])),
        ("jpc.mse_loss_hessian", lambda A: jpc.mse_loss_hessian(A["Ws"], A["x"], A["y"])),
        ("jpc.activity_hessian_condition_number",
         lambda A: jpc.activity_hessian_condition_number(A["Ws"])),
        ("jpc.compute_linear_activity_hessian",
         lambda A: jpc.compute_linear_activity_hessian(A["Ws"])),
        ("jpc.compute_linear_equilib_rescaling",
         lambda A: jpc.compute_linear_equilib_rescaling(A["Ws"])),
        ("shallow_escape_prediction",
         lambda A: dynamics.shallow_escape_prediction(A["x1"], -A["x1"])),
        ("cosine_similarity", lambda A: trust_region.cosine_similarity(A["theta"], A["theta"])),
    ]


def _caller_arrays():
    Hm = RNG.standard_normal((3, 3))
    return {
        "Ws": [W.copy() for W in WS], "bs": [None, np.ones(4), None],
        "pi": np.array([1.0, 2.0, 0.5]), "theta": linpc.flatten_parameters(NET).copy(),
        "x": X.copy(), "y": Y.copy(), "z": [z.copy() for z in Z],
        "mask": np.where(RNG.random((5, 2)) > 0.3, 1.0, 0.0), "H": Hm + Hm.T,
        "g": np.ones(3), "M": 2.0 * np.eye(3), "step": RNG.standard_normal((5, 8)),
        "times": np.array([0.0, 1.0, np.inf]), "lams": np.array([0.1, 0.01]),
        "x1": X1.copy(),
    }


def _flat_arrays(A):
    out = []
    for key, v in A.items():
        for i, arr in enumerate(v if isinstance(v, list) else [v]):
            if arr is not None:
                out.append((f"{key}[{i}]", arr))
    return out


@pytest.mark.parametrize(("name", "call"), _routines_taking_arrays(),
                         ids=[n for n, _ in _routines_taking_arrays()])
def test_public_routines_leave_the_callers_arrays_writeable_and_unchanged(name, call):
    A = _caller_arrays()
    snapshot = [(k, a.copy()) for k, a in _flat_arrays(A)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = call(A)
    for (k, before), (_, after) in zip(snapshot, _flat_arrays(A), strict=True):
        assert after.flags.writeable, f"{name} froze the caller's {k}"
        np.testing.assert_array_equal(after, before, err_msg=f"{name} modified the caller's {k}")
    # nothing that the routine returns or keeps may be a live view of the caller's arrays
    kept = result if isinstance(result, (list, tuple)) else [result]
    kept_arrays = [r for r in kept if isinstance(r, np.ndarray)]
    if isinstance(result, linpc.LinearPCN):
        kept_arrays += [*result.weights, *(b for b in result.biases if b is not None)]
    for r in kept_arrays:
        for k, a in _flat_arrays(A):
            assert not np.shares_memory(r, a), f"{name} returned a view of the caller's {k}"


# ---------------------------------------------------------------------- the shared checkers
@pytest.mark.parametrize(("check", "good", "expected"), [
    (V.check_bool, np.True_, True),
    (V.check_int, np.int64(3), 3),
    (V.check_int, np.array(4), 4),
    (V.check_real, np.float32(0.5), 0.5),
    (V.check_real, np.array(2.5), 2.5),
    (V.check_positive, 3, 3.0),
    (V.check_nonnegative, 0, 0.0),
    (V.check_tolerance, 1e-12, 1e-12),
], ids=["bool", "int", "int-0d", "real", "real-0d", "positive", "nonnegative", "tolerance"])
def test_checkers_accept_numpy_scalars(check, good, expected):
    out = check(good, "arg")
    assert out == expected and type(out) is type(expected)


def test_checkers_allow_none_only_when_asked():
    assert V.check_tolerance(None, "tol", allow_none=True) is None
    with pytest.raises(TypeError, match="tol must be a positive real number, got None"):
        V.check_tolerance(None, "tol")
    assert V.check_int(None, "n", allow_none=True) is None
    with pytest.raises(TypeError, match="n must be an integer, got None"):
        V.check_int(None, "n")


def test_as_real_array_copies_only_when_asked():
    a = np.ones(3)
    assert V.as_real_array(a, "a") is a
    b = V.as_real_array(a, "a", copy=True)
    assert not np.shares_memory(a, b)
    assert np.array_equal(V.as_real_array([1.0, np.inf], "t", allow_inf=True), [1.0, np.inf])
    with pytest.raises(ValueError, match=r"t contains a nan \(nan at index \(0,\)\)"):
        V.as_real_array([np.nan, np.inf], "t", allow_inf=True)
    with pytest.raises(ValueError, match="not a rectangular array"):
        V.as_real_array([[1.0, 2.0], [3.0]], "r")
