"""The public hypothesis strategies of :mod:`linpc.testing`, tested as a user would rely on them.

Every drawn network is checked against the options requested (drawn themselves, so the whole
option space is covered); ``condition=(lo, hi)`` is checked by an independent route (numpy's dense
``eigvalsh`` of ``H_z`` against the strategy's LAPACK banded eigensolver); what a failing example
prints rebuilds the same arrays; and the example of the module docstring and of
``docs/testing.md`` is executed, so the documentation cannot rot.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.errors import FailedHealthCheck, InvalidArgument, Unsatisfiable

import linpc
from linpc import testing as lt
from linpc.core.parameterisation import PARAM_TYPES, layer_scalings
from linpc.numerics.tolerances import eigenvalue_tolerance, roundoff_tolerance
from linpc.verify import Case, NetworkSpec, build_case
from linpc.verify.random_networks import (
    CONDITION_RTOL,
    activity_condition_number,
    make_batch,
    rescale_to_condition,
)

ROOT = Path(__file__).resolve().parent.parent
SWITCHES = st.sampled_from([None, True, False])


# ---------------------------------------------------------------------------- helpers
def _int_range(draw, lo: int, hi: int):
    """An int or a (min, max) pair within [lo, hi], as a user would pass it."""
    a = draw(st.integers(lo, hi))
    if draw(st.booleans()):
        return a
    return (a, draw(st.integers(a, hi)))


def _bounds(value, default):
    """The (lo, hi) a range argument means."""
    if value is None:
        return default
    return (value, value) if isinstance(value, int | float) else tuple(value)


@st.composite
def network_options(draw) -> dict:
    """Keyword arguments of :func:`linpc.testing.networks`, covering every option."""
    opts: dict = {
        "hidden_layers": _int_range(draw, 1, 4),
        "widths": _int_range(draw, 1, 5),
        "param_types": tuple(draw(st.lists(st.sampled_from(PARAM_TYPES), min_size=1,
                                           unique=True))),
        "skips": draw(SWITCHES),
        "biases": draw(SWITCHES),
        "precisions": tuple(draw(st.lists(st.sampled_from(lt.PRECISION_MODES), min_size=1,
                                          unique=True))),
        "gamma": draw(SWITCHES | st.floats(0.5, 2.0) | st.tuples(st.just(0.7), st.just(1.3))),
        "activity_decay": draw(SWITCHES | st.floats(0.01, 1.0)
                               | st.tuples(st.just(0.1), st.just(0.5))),
    }
    if opts["skips"] and _bounds(opts["hidden_layers"], None)[1] < 2:
        opts["hidden_layers"] = (1, 3)
    for name in ("d_x", "d_y"):
        if draw(st.booleans()):
            opts[name] = _int_range(draw, 1, 6)
    return opts


def _check_network(net: linpc.LinearPCN, opts: dict) -> None:
    """``net`` respects every option in ``opts`` (the keyword arguments of ``networks``)."""
    h_lo, h_hi = _bounds(opts.get("hidden_layers"), (1, 4))
    w_lo, w_hi = _bounds(opts.get("widths"), (1, 8))
    if opts.get("skips"):
        h_lo = max(h_lo, 2)
    assert h_lo <= net.n_hidden <= h_hi
    assert all(w_lo <= n <= w_hi for n in net.hidden_widths)
    for name, value in (("d_x", net.d_x), ("d_y", net.d_y)):
        lo, hi = _bounds(opts.get(name), (w_lo, w_hi))
        assert lo <= value <= hi, name
    assert net.param_type in opts.get("param_types", PARAM_TYPES)
    assert all(isinstance(W, np.ndarray) and W.dtype == np.float64 for W in net.weights)
    # skips: forced, excluded, and identity skips only with equal (square) hidden layers
    if opts.get("skips") is True:
        assert net.use_skips
    if opts.get("skips") is False:
        assert not net.use_skips
    if net.use_skips:
        assert len(set(net.hidden_widths)) == 1 and net.n_hidden >= 2
    has = [b is not None for b in net.biases]
    if opts.get("biases") is True:
        assert all(has)
    if opts.get("biases") is False:
        assert not any(has)
    # precisions: consistent with one of the allowed modes
    pi = net.precisions
    modes = set()
    if np.all(pi == 1):
        modes.add("unit")
    if np.all(pi[:-1] == 1) and lt.OUTPUT_PRECISION_RANGE[0] <= pi[-1] \
            <= lt.OUTPUT_PRECISION_RANGE[1]:
        modes.add("output")
    if np.all((pi >= 0.5) & (pi <= 2.0)):
        modes.add("layers")
    assert modes & set(opts.get("precisions", lt.PRECISION_MODES)), pi
    # γ divides a_L: recover it from the multipliers of the parameterisation
    base = layer_scalings(net.widths, net.param_type, use_skips=net.use_skips)
    np.testing.assert_array_equal(net.scalings[:-1], base[:-1])
    gamma = base[-1] / net.scalings[-1]
    _check_option(gamma, opts.get("gamma"), lt.GAMMA_RANGE, off=1.0)
    _check_option(net.activity_decay, opts.get("activity_decay", None),
                  lt.ACTIVITY_DECAY_RANGE, off=0.0)


def _check_option(value: float, option, default: tuple[float, float], *, off: float) -> None:
    """``value`` is exactly ``off`` when the option is off, else in the option's range."""
    if option is False:
        assert value == off
        return
    # γ is recovered through two divisions (a_L/γ in LinearPCN, then base/a_L here)
    rel = roundoff_tolerance(2)
    lo, hi = default if option in (None, True) else _bounds(option, None)
    inside = lo * (1 - rel) <= value <= hi * (1 + rel)
    assert inside or (option is None and value == off), (value, option)


def _kappa_interval(net: linpc.LinearPCN) -> tuple[float, float]:
    """κ(H_z) from numpy's dense ``eigvalsh`` (an independent LAPACK driver), as an interval
    that contains the exact κ and the strategy's banded estimate: each eigenvalue of either
    route is within ``eigenvalue_tolerance(n, ‖H_z‖₂)`` of the exact one (Weyl)."""
    w = np.linalg.eigvalsh(linpc.ActivityHessian(net).to_dense())
    e = 2 * eigenvalue_tolerance(len(w), w[-1])
    assert w[0] > e, "H_z numerically singular"
    return (w[-1] - e) / (w[0] + e), (w[-1] + e) / (w[0] - e)


# ---------------------------------------------------------------------------- networks
@given(network_options(), st.data())
def test_networks_respect_every_requested_option(opts, data):
    net = data.draw(lt.networks(**opts))
    assert isinstance(net, linpc.LinearPCN)
    _check_network(net, opts)


@given(st.data())
def test_default_networks_cover_the_documented_ranges(data):
    _check_network(data.draw(lt.networks()), {})


@given(st.data())
def test_forced_skips_give_residual_networks_with_equal_hidden_widths(data):
    net = data.draw(lt.networks(skips=True, widths=(1, 6)))
    assert net.use_skips and net.n_hidden >= 2
    assert len(set(net.hidden_widths)) == 1
    assert net.skips == tuple(2 <= l <= net.n_layers - 1 for l in range(1, net.n_layers + 1))


# ---------------------------------------------------------------------------- condition
@given(st.floats(0.0, 8.0), st.floats(1.0, 4.0), st.data())
def test_condition_range_is_met_by_an_independent_measurement(log_lo, decades, data):
    """κ(H_z) of the drawn network lies in [lo, hi] for ranges from well- to ill-conditioned
    (lo up to 1e8): measured with dense ``eigvalsh``, not with the strategy's banded solver."""
    lo = 10.0**log_lo
    hi = lo * 10.0**decades
    net = data.draw(lt.networks(condition=(lo, hi), widths=(1, 6), hidden_layers=(1, 3)))
    k_lo, k_hi = _kappa_interval(net)
    assert k_hi >= lo and k_lo <= hi, (k_lo, k_hi, lo, hi)


@given(st.sampled_from([(1.0, 10.0), (1e2, 1e6), (1e5, 1e7)]), st.data())
def test_condition_with_every_other_option(bounds, data):
    """Targeting composes with skips, biases, precisions, γ and activity decay."""
    opts = data.draw(network_options())
    net = data.draw(lt.networks(condition=bounds, **opts))
    _check_network(net, opts)
    k_lo, k_hi = _kappa_interval(net)
    assert k_hi >= bounds[0] and k_lo <= bounds[1]


def _at_factor(net: linpc.LinearPCN, f: float) -> linpc.LinearPCN:
    return net.replace(weights=[net.weights[0], *(f * W for W in net.weights[1:])])


@pytest.mark.parametrize(("widths", "skips"), [
    ((3, 6, 2), False), ((2, 5, 3, 1), False), ((1, 8, 1, 8, 3), False),
    ((4, 7, 7, 7, 2), False), ((4, 7, 7, 7, 2), True), ((2, 6, 6, 3), True),
])
@pytest.mark.parametrize("target", [2.0, 30.0, 1e2, 1e4, 1e6, 1e9])
def test_rescaling_reaches_any_target_when_a_hidden_layer_narrows(widths, skips, target):
    """Bisection, not rejection: when some hidden layer is wider than the next one (κ unbounded
    in the factor), every target above κ at factor 0 (1 without skips; 6.9 and 16.4 for the
    identity chains of 2 and 3 hidden layers) is hit to CONDITION_RTOL, by one common factor on
    W_2..W_L; below it, the factor-0 limit is returned."""
    net0 = build_case(NetworkSpec(widths, use_skips=skips, seed=7)).net
    net = build_case(NetworkSpec(widths, use_skips=skips, seed=7, condition=target)).net
    kappa, kappa0 = activity_condition_number(net), activity_condition_number(_at_factor(net0, 0))
    if target >= kappa0 * (1 + CONDITION_RTOL):
        assert abs(math.log(kappa / target)) <= math.log1p(CONDITION_RTOL)
    else:
        assert skips and kappa0 > 6
        assert kappa == pytest.approx(kappa0, rel=CONDITION_RTOL) and kappa >= target
    np.testing.assert_array_equal(net.weights[0], net0.weights[0])
    f = net.weights[1].flat[0] / net0.weights[1].flat[0]
    for W, W0 in zip(net.weights[1:], net0.weights[1:], strict=True):
        np.testing.assert_allclose(W, f * W0, rtol=roundoff_tolerance(2), atol=0)


def test_rescaling_stops_at_the_limits_it_cannot_cross():
    """Below κ at factor 0 (the ratio of the hidden precisions) and above the finite limit of a
    network whose hidden layer is no wider than the output (docs/theory.md §1.2.4:
    κ → σ_max²/σ_min² of M_2), the closest network is returned, on the right side of the target
    (the strategies then reject it)."""
    net = build_case(NetworkSpec((3, 4, 5, 2), precision_mode="layers", seed=2)).net
    pi = net.precisions[:-1]
    kappa0 = max(pi) / min(pi)
    assert activity_condition_number(_at_factor(net, 0.0)) == pytest.approx(kappa0, rel=1e-12)
    assert kappa0 > 1.1
    _, kappa = rescale_to_condition(net, 1.0)
    assert kappa0 * (1 - 1e-9) <= kappa <= kappa0 * (1 + CONDITION_RTOL)

    net = build_case(NetworkSpec((3, 4, 6), seed=2)).net
    s = np.linalg.svd(net.layer_map(2), compute_uv=False)
    limit = (s[0] / s[-1]) ** 2
    _, kappa = rescale_to_condition(net, 10 * limit)
    # κ increases towards the limit; both sides carry eigen/singular-value round-off
    slack = 4 * eigenvalue_tolerance(net.n_activities, limit)
    assert limit * (1 - CONDITION_RTOL) <= kappa <= limit + slack


def test_unreachable_condition_is_rejected_not_returned():
    """One hidden unit and one output: H_z is 1×1, κ = 1 for every factor, so (10, 100) is out of
    reach; hypothesis reports that instead of passing a network outside the range."""
    strategy = lt.networks(hidden_layers=1, widths=1, condition=(10.0, 100.0))

    @given(strategy)
    def never(net):  # pragma: no cover - must not be reached
        raise AssertionError(f"drew {net!r}")

    with pytest.raises((Unsatisfiable, FailedHealthCheck)):
        never()


# ---------------------------------------------------------------------------- batches
@given(st.integers(1, 6), st.integers(1, 6), st.data())
def test_batches_have_the_right_shapes_dtype_and_are_finite(d_x, d_y, data):
    size = _int_range(data.draw, 1, 12)
    x_scale = data.draw(st.floats(0.1, 10.0) | st.tuples(st.just(0.5), st.just(2.0)))
    noise = data.draw(st.floats(0.0, 2.0))
    x, y = data.draw(lt.batches((d_x, d_y), batch_size=size, x_scale=x_scale, noise=noise))
    lo, hi = _bounds(size, None)
    assert lo <= x.shape[0] <= hi
    assert x.shape == (x.shape[0], d_x) and y.shape == (x.shape[0], d_y)
    for a in (x, y):
        assert isinstance(a, np.ndarray) and a.dtype == np.float64 and np.all(np.isfinite(a))


@given(st.data())
def test_batches_fit_a_network(data):
    net = data.draw(lt.networks())
    x, y = data.draw(lt.batches(net))
    assert x.shape[1] == net.d_x and y.shape[1] == net.d_y and 1 <= x.shape[0] <= 16
    linpc.solve_equilibrium(net, x, y)           # a valid batch for the network


@given(st.integers(0, 2**32 - 1), st.floats(0.1, 10.0), st.floats(0.0, 2.0))
def test_batches_follow_the_documented_recipe(seed, x_scale, noise):
    """``x = x_scale·N(0, 1)``, ``y = T x + noise·N(0, 1)`` with ``T ~ N(0, 1/d_x)``, drawn in this
    order from ``default_rng(seed)`` (bit for bit); ``noise=0`` gives realisable targets."""
    d_x, d_y, B = 3, 2, 5
    x, y = make_batch(np.random.default_rng(seed), d_x, d_y, B, x_scale=x_scale, noise=noise)
    rng = np.random.default_rng(seed)
    x_ref = x_scale * rng.standard_normal((B, d_x))
    T = rng.standard_normal((d_y, d_x)) / np.sqrt(d_x)
    np.testing.assert_array_equal(x, x_ref)
    np.testing.assert_array_equal(y, x_ref @ T.T + noise * rng.standard_normal((B, d_y)))
    x0, y0 = make_batch(np.random.default_rng(seed), d_x, d_y, B, x_scale=x_scale, noise=0.0)
    np.testing.assert_array_equal(y0, x0 @ T.T)


# ---------------------------------------------------------------------------- specs and cases
@given(st.integers(1, 4), st.integers(1, 5), st.integers(1, 6),
       st.lists(st.sampled_from(lt.PRECISION_MODES), min_size=1, unique=True), st.data())
def test_cases_accept_the_test_suite_keywords(max_hidden, max_width, max_batch, modes, data):
    case = data.draw(lt.cases(max_hidden=max_hidden, max_width=max_width, max_batch=max_batch,
                              precision_modes=tuple(modes)))
    assert isinstance(case, Case)
    net, spec = case.net, case.spec
    assert 1 <= net.n_hidden <= max_hidden and max(net.widths) <= max_width
    assert 1 <= spec.batch <= max_batch and spec.precision_mode in modes
    assert net.activity_decay == 0.0                   # cases() default: no decay
    assert case.x.shape == (spec.batch, net.d_x) and case.y.shape == (spec.batch, net.d_y)
    assert case.x.dtype == case.y.dtype == np.float64


@given(st.data())
def test_specs_build_into_the_requested_cases(data):
    opts = data.draw(network_options())
    spec = data.draw(lt.specs(condition=(1e2, 1e4), batch_size=(2, 3), **opts))
    assert isinstance(spec, NetworkSpec) and spec.condition is not None
    case = build_case(spec)
    _check_network(case.net, opts)
    assert 2 <= spec.batch <= 3
    k_lo, k_hi = _kappa_interval(case.net)
    assert k_hi >= 1e2 and k_lo <= 1e4


# ---------------------------------------------------------------------------- reproducibility
def _same_network(a: linpc.LinearPCN, b: linpc.LinearPCN) -> bool:
    return (a.widths == b.widths and a.skips == b.skips
            and a.activity_decay == b.activity_decay
            and all(np.array_equal(u, v) for u, v in zip(a.weights, b.weights, strict=True))
            and all((u is None and v is None) or np.array_equal(u, v)
                    for u, v in zip(a.biases, b.biases, strict=True))
            and np.array_equal(a.scalings, b.scalings)
            and np.array_equal(a.precisions, b.precisions))


@given(lt.cases(activity_decay=None, gamma=None, x_scale=(0.5, 2.0), noise=(0.0, 1.0)))
def test_a_printed_case_rebuilds_the_same_arrays(case):
    """``repr(case)`` is ``build_case(NetworkSpec(...))``: evaluating it (the same seed) gives
    bit-identical weights, biases, precisions and data."""
    again = eval(repr(case), {"build_case": build_case, "NetworkSpec": NetworkSpec})
    assert again.spec == case.spec and _same_network(again.net, case.net)
    assert np.array_equal(again.x, case.x) and np.array_equal(again.y, case.y)


@given(st.data())
def test_the_notes_of_networks_and_batches_rebuild_them(data):
    """What hypothesis prints for a failing example (the notes) rebuilds the same arrays."""
    notes: list[str] = []
    with mock.patch.object(lt, "_note", notes.append):
        net = data.draw(lt.networks(condition=data.draw(st.sampled_from([None, (1e2, 1e4)]))))
        x, y = data.draw(lt.batches(net, x_scale=(0.5, 2.0)))
    assert len(notes) == 2
    namespace = {"build_case": build_case, "NetworkSpec": NetworkSpec, "make_batch": make_batch,
                 "np": np}
    net2 = eval(notes[0].removeprefix("linpc.testing.networks drew "), namespace)
    x2, y2 = eval(notes[1].removeprefix("linpc.testing.batches drew "), namespace)
    assert _same_network(net, net2)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)


@given(st.integers(0, 2**32 - 1), st.integers(1, 5), st.integers(1, 5), st.integers(1, 8))
def test_same_seed_same_batch(seed, d_x, d_y, batch):
    a = make_batch(np.random.default_rng(seed), d_x, d_y, batch)
    b = make_batch(np.random.default_rng(seed), d_x, d_y, batch)
    assert all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))


# ---------------------------------------------------------------------------- arguments
@pytest.mark.parametrize("make", [
    lambda: lt.networks(widths=(3, 1)),
    lambda: lt.networks(widths=0),
    lambda: lt.networks(hidden_layers=(1.0, 2.0)),
    lambda: lt.networks(skips=True, hidden_layers=1),
    lambda: lt.networks(param_types=("ntk",)),
    lambda: lt.networks(precisions=()),
    lambda: lt.networks(biases="yes"),
    lambda: lt.networks(gamma=(2.0, 1.0)),
    lambda: lt.networks(activity_decay=-0.1),
    lambda: lt.networks(condition=(0.5, 10.0)),
    lambda: lt.networks(condition=(10.0, 10.0)),
    lambda: lt.networks(condition=(10.0, 10 * lt.MAX_CONDITION)),
    lambda: lt.networks(weight_scale=0.0),
    lambda: lt.cases(max_hidden=3, hidden_layers=(1, 2)),
    lambda: lt.specs(precisions=("unit",), precision_modes=("unit",)),
    lambda: lt.batches((0, 2)),
    lambda: lt.batches((2, 2), noise=-1.0),
    lambda: lt.batches((2, 2), batch_size=(4, 2)),
])
def test_invalid_arguments_are_refused_when_the_strategy_is_made(make):
    with pytest.raises(InvalidArgument):
        make()


# ---------------------------------------------------------------------------- layering
def test_import_linpc_imports_neither_linpc_testing_nor_hypothesis():
    code = ("import sys, linpc; bad = [m for m in ('linpc.testing', 'hypothesis') "
            "if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# ---------------------------------------------------------------------------- documentation
def _run_example(code: str, where: str) -> list[str]:
    """Execute ``code`` and call every ``test_*`` function it defines (hypothesis tests, run with
    the profile loaded by conftest.py); returns their names."""
    namespace: dict = {"__name__": "example"}
    exec(compile(code, where, "exec"), namespace)
    names = sorted(n for n in namespace if n.startswith("test_"))
    for name in names:
        namespace[name]()
    return names


def test_the_module_docstring_example_works():
    """The doctest-style example of linpc.testing, executed as written (prompts stripped)."""
    lines = re.findall(r"^(?:>>>|\.\.\.)(?: (.*))?$", lt.__doc__, flags=re.M)
    names = _run_example("\n".join(lines), "<linpc.testing example>")
    assert names == ["test_my_energy_matches_linpc", "test_my_inference_reaches_the_equilibrium"]


def test_the_docs_page_example_works():
    """docs/testing.md: its python blocks, in order, form the example; executed as written."""
    text = (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```$", text, flags=re.M | re.S)
    names = _run_example("\n".join(blocks), "<docs/testing.md>")
    assert "test_my_energy_matches_linpc" in names
    assert "test_my_inference_reaches_the_equilibrium" in names
