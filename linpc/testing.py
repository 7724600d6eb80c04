"""Hypothesis strategies for property-testing predictive coding code against linpc.

Composable strategies in the style of :mod:`hypothesis.extra.numpy` that draw deep linear PCNs and
data covering every configuration linpc supports (depth, widths, SP/NTP/μPC, identity skips,
biases, layer precisions, ``γ``, activity decay, a prescribed conditioning of inference):

=====================  =================================================================
strategy               draws
=====================  =================================================================
:func:`networks`       a :class:`~linpc.LinearPCN`
:func:`batches`        a batch ``(x, y)`` for a network or for ``(d_x, d_y)``
:func:`cases`          a :class:`~linpc.verify.random_networks.Case`: ``.spec``, ``.net``,
                       ``.x``, ``.y``
:func:`specs`          a :class:`~linpc.verify.random_networks.NetworkSpec` (unbuilt)
=====================  =================================================================

Arrays are never drawn element by element (mostly-constant arrays are singular and shrink
badly): a strategy draws the *structure* of a case and a seed, and builds the arrays from
``numpy.random.default_rng(seed)`` (:func:`linpc.verify.random_networks.build_case`), so
examples shrink towards small networks and seed 0, and every failure is reproducible. A failing
:class:`~linpc.verify.random_networks.Case` prints as ``build_case(NetworkSpec(...))``, the code
that rebuilds it; :func:`networks` and :func:`batches` add a hypothesis note with the same code.

``condition=(lo, hi)`` asks for ``κ(H_z)`` (the condition number of the activity Hessian, which
sets the speed and the accuracy of inference) in ``[lo, hi]``: a target is drawn log-uniformly
and the weights of layers ``2..L`` are rescaled by a factor found by bisection
(:func:`linpc.verify.random_networks.rescale_to_condition`); see :func:`networks` for when a
range cannot be reached.

hypothesis is an optional dependency (``pip install linpc[test]``); ``import linpc`` does not
import this module.

Examples
--------
Property-test your own PC energy and inference, written with numpy for a plain network
``F = (1/B) Σ_i Σ_l ½‖z_l − W_l z_{l-1}‖²`` (SP, no skips, biases, precisions or decay), against
linpc, with tolerances from :mod:`linpc.numerics.tolerances` (run the tests with pytest; the
walk-through is in ``docs/testing.md``):

>>> import numpy as np
>>> from hypothesis import given, strategies as st
>>> import linpc
>>> from linpc.numerics.tolerances import roundoff_tolerance, solve_tolerance
>>> from linpc.testing import batches, networks
>>>
>>> def my_energy(Ws, zs, x, y):
...     # (1/B) Σ_i Σ_l ½‖z_l − W_l z_{l-1}‖² with z_0 = x, z_L = y
...     acts = [x, *zs, y]
...     return sum(0.5 * np.sum((acts[l + 1] - acts[l] @ W.T) ** 2)
...                for l, W in enumerate(Ws)) / len(x)
>>>
>>> def my_inference(Ws, x, y, step, n_steps):
...     # gradient descent on the hidden activities, from zero
...     zs = [np.zeros((len(x), W.shape[0])) for W in Ws[:-1]]
...     for _ in range(n_steps):
...         es = [b - a @ W.T for a, b, W in zip([x, *zs], [*zs, y], Ws)]
...         zs = [z - step * (e - e_up @ W_up)
...               for z, e, e_up, W_up in zip(zs, es, es[1:], Ws[1:])]
...     return zs
>>>
>>> PLAIN = dict(param_types=("sp",), skips=False, biases=False, precisions=("unit",),
...              gamma=False, activity_decay=False)     # the model my_energy implements
>>>
>>> @given(networks(**PLAIN), st.data())
... def test_my_energy_matches_linpc(net, data):
...     x, y = data.draw(batches(net))
...     rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
...     zs = [rng.standard_normal((len(x), n)) for n in net.hidden_widths]
...     Ws = list(net.weights)
...     # each error is a dot product of fan-in + 1 terms; F sums B·(n_1 + … + n_L) squares,
...     # each at most (|z_l| + |W_l||z_{l-1}|)²: the scale of the round-off of both routes
...     n_ops = max(net.widths) + 1 + len(x) * sum(net.widths[1:])
...     scale = sum(np.sum((np.abs(b) + np.abs(a) @ np.abs(W).T) ** 2)
...                 for a, b, W in zip([x, *zs], [*zs, y], Ws)) / len(x)
...     error = abs(my_energy(Ws, zs, x, y) - linpc.energy(net, zs, x, y))
...     assert error <= roundoff_tolerance(n_ops) * scale
>>>
>>> @given(networks(**PLAIN, condition=(1.0, 100.0)), st.data())
... def test_my_inference_reaches_the_equilibrium(net, data):
...     x, y = data.draw(batches(net))
...     lam = linpc.ActivityHessian(net).extreme_eigenvalues()
...     kappa = lam.condition_number
...     tol = solve_tolerance(kappa, net.n_activities)
...     # from z = 0, gradient descent with the optimal step contracts ‖z − z*‖ by
...     # (κ − 1)/(κ + 1) per step: run until the iteration error is below tol/2 · ‖z*‖
...     step = linpc.optimal_step_size(lam.lambda_min, lam.lambda_max)
...     n_steps = linpc.steps_to_tolerance((kappa - 1) / (kappa + 1), tol / 2)
...     zs = my_inference(list(net.weights), x, y, step, n_steps)
...     z_star = net.stack_activities(linpc.solve_equilibrium(net, x, y).activities)
...     error = np.linalg.norm(net.stack_activities(zs) - z_star)
...     assert error <= tol * np.linalg.norm(z_star)
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from hypothesis import assume, note
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from linpc.core.network import LinearPCN
from linpc.core.parameterisation import PARAM_TYPES
from linpc.numerics.types import Array
from linpc.verify.random_networks import (
    CONDITION_RTOL,
    Case,
    NetworkSpec,
    activity_condition_number,
    build_case,
    make_batch,
)

__all__ = [
    "ACTIVITY_DECAY_RANGE", "GAMMA_RANGE", "MAX_CONDITION", "OUTPUT_PRECISION_RANGE",
    "PRECISION_MODES", "batches", "cases", "networks", "specs",
]
IntRange = int | tuple[int, int]
FloatRange = float | tuple[float, float]

#: Precision modes: all ``π_l = 1``; only the output precision ``λ = π_L ≠ 1`` (drawn in
#: :data:`OUTPUT_PRECISION_RANGE`); every ``π_l`` drawn uniformly in ``[0.5, 2]``.
PRECISION_MODES = ("unit", "output", "layers")
#: Range of the output precision ``λ`` in the ``"output"`` mode.
OUTPUT_PRECISION_RANGE = (0.2, 5.0)
#: Range of ``γ`` drawn for ``gamma=True`` (or ``None``, when it is on).
GAMMA_RANGE = (0.5, 2.0)
#: Range of the activity decay ``δ`` drawn for ``activity_decay=True`` (or ``None``, when on).
ACTIVITY_DECAY_RANGE = (0.01, 1.0)
#: Largest upper end of ``condition``. ``κ(H_z)`` is measured with LAPACK's banded eigensolver
#: and counts only when certified (``λ_min`` at least :func:`linpc.numerics.eigenvalue_floor`,
#: ``2·SAFETY·n·eps·λ_max``, so that ``κ`` is known to a factor 3; at most about ``2.3e14/n`` for
#: ``n`` activities, e.g. ``1.1e13`` at ``n = 20``): a target above what the drawn size can certify
#: yields the largest certified ``κ`` the rescaling finds, and a range that lies wholly above it
#: is rejected.
MAX_CONDITION = 1e14
_SEEDS = st.integers(0, 2**32 - 1)


# ---------------------------------------------------------------------------- argument checks
def _int_range(value: object, name: str, *, lowest: int = 1) -> tuple[int, int]:
    """``value`` (an int or a ``(min, max)`` pair of ints) as a checked ``(lo, hi)``."""
    def is_int(v: object) -> bool:
        return isinstance(v, numbers.Integral) and not isinstance(v, bool | np.bool_)

    if is_int(value):
        lo = hi = int(value)  # type: ignore[call-overload]
    elif isinstance(value, Sequence) and len(value) == 2 and all(is_int(v) for v in value):
        lo, hi = int(value[0]), int(value[1])
    else:
        raise InvalidArgument(f"{name} must be an int or a (min, max) pair of ints, "
                              f"got {value!r}")
    if not lowest <= lo <= hi:
        raise InvalidArgument(f"{name}={value!r}: need {lowest} ≤ min ≤ max")
    return lo, hi


def _float_range(value: object, name: str, *, lowest: float = 0.0,
                 strict: bool = True) -> tuple[float, float]:
    """``value`` (a float or a ``(lo, hi)`` pair) as a checked ``(lo, hi)``, ``lo > lowest``
    (``≥`` when not ``strict``)."""
    def is_real(v: object) -> bool:
        return isinstance(v, numbers.Real) and not isinstance(v, bool | np.bool_)

    if is_real(value):
        lo = hi = float(value)  # type: ignore[arg-type]
    elif isinstance(value, Sequence) and len(value) == 2 and all(is_real(v) for v in value):
        lo, hi = float(value[0]), float(value[1])
    else:
        raise InvalidArgument(f"{name} must be a number or a (lo, hi) pair, got {value!r}")
    ok = (lo > lowest if strict else lo >= lowest) and lo <= hi and math.isfinite(hi)
    if not ok:
        bound = ">" if strict else "≥"
        raise InvalidArgument(f"{name}={value!r}: need finite {bound} {lowest:g}, lo ≤ hi")
    return lo, hi


def _switch(value: object, name: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise InvalidArgument(f"{name} must be None (draw both ways), True or False, got {value!r}")


def _option(value: object, name: str, default: tuple[float, float]
            ) -> tuple[bool | None, tuple[float, float]]:
    """``None``: on or off, drawn; ``False``: off; ``True``: on in ``default``; a number or a
    ``(lo, hi)`` pair: on, in that range. Returns ``(on, range)`` with ``on=None`` for both."""
    if value is None:
        return None, default
    if isinstance(value, bool):
        return value, default
    return True, _float_range(value, name)


def _choices(value: object, name: str, allowed: Sequence[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    try:
        out = tuple(value)  # type: ignore[arg-type]
    except TypeError:
        out = ()
    if not out or any(v not in allowed for v in out):
        raise InvalidArgument(f"{name} must be a non-empty sequence of {tuple(allowed)}, "
                              f"got {value!r}")
    return out


def _condition(value: object) -> tuple[float, float] | None:
    if value is None:
        return None
    lo, hi = _float_range(value, "condition", lowest=1.0, strict=False)
    if hi > MAX_CONDITION:
        raise InvalidArgument(f"condition={value!r}: κ(H_z) above {MAX_CONDITION:g} cannot be "
                              f"certified in float64 (MAX_CONDITION)")
    if hi < lo * (1 + CONDITION_RTOL) ** 2:
        raise InvalidArgument(f"condition={value!r} is narrower than the accuracy of the "
                              f"rescaling: need hi ≥ lo·(1 + {CONDITION_RTOL:g})²")
    return lo, hi


@dataclass(frozen=True)
class _Config:
    hidden: tuple[int, int]
    width: tuple[int, int]
    d_x: tuple[int, int]
    d_y: tuple[int, int]
    batch: tuple[int, int]
    param_types: tuple[str, ...]
    skips: bool | None
    biases: bool | None
    precisions: tuple[str, ...]
    gamma: tuple[bool | None, tuple[float, float]]
    activity_decay: tuple[bool | None, tuple[float, float]]
    condition: tuple[float, float] | None
    weight_scale: tuple[float, float]
    x_scale: tuple[float, float]
    noise: tuple[float, float]


def _config(*, hidden_layers, widths, d_x, d_y, batch_size, param_types, skips, biases,
            precisions, gamma, activity_decay, condition, weight_scale, x_scale,
            noise) -> _Config:
    skips = _switch(skips, "skips")
    hidden = _int_range(hidden_layers, "hidden_layers")
    if skips:
        if hidden[1] < 2:
            raise InvalidArgument(f"skips=True needs at least 2 hidden layers (identity skips "
                                  f"sit on layers 2..L-1), got hidden_layers={hidden_layers!r}")
        hidden = (max(hidden[0], 2), hidden[1])
    width = _int_range(widths, "widths")
    return _Config(
        hidden=hidden,
        width=width,
        d_x=width if d_x is None else _int_range(d_x, "d_x"),
        d_y=width if d_y is None else _int_range(d_y, "d_y"),
        batch=_int_range(batch_size, "batch_size"),
        param_types=_choices(param_types, "param_types", PARAM_TYPES),
        skips=skips,
        biases=_switch(biases, "biases"),
        precisions=_choices(precisions, "precisions", PRECISION_MODES),
        gamma=_option(gamma, "gamma", GAMMA_RANGE),
        activity_decay=_option(activity_decay, "activity_decay", ACTIVITY_DECAY_RANGE),
        condition=_condition(condition),
        weight_scale=_float_range(weight_scale, "weight_scale"),
        x_scale=_float_range(x_scale, "x_scale"),
        noise=_float_range(noise, "noise", strict=False),
    )


def _legacy(new: object, old: int | None, new_name: str, old_name: str, default: IntRange
            ) -> object:
    """``max_hidden=k`` (etc.) is shorthand for ``hidden_layers=(1, k)``."""
    if old is not None and new is not None:
        raise InvalidArgument(f"give {new_name} or {old_name}, not both")
    if old is not None:
        return (1, old)
    return default if new is None else new


# ---------------------------------------------------------------------------- drawing
def _draw_float(draw, bounds: tuple[float, float]) -> float:
    lo, hi = bounds
    return lo if lo == hi else draw(st.floats(lo, hi))


def _draw_option(draw, option: tuple[bool | None, tuple[float, float]]) -> float | None:
    on, bounds = option
    if on is None:
        on = draw(st.booleans())
    return _draw_float(draw, bounds) if on else None


def _draw_int(draw, bounds: tuple[int, int]) -> int:
    lo, hi = bounds
    return lo if lo == hi else draw(st.integers(lo, hi))


@st.composite
def _raw_specs(draw, cfg: _Config) -> NetworkSpec:
    """A spec with every option of ``cfg``; the condition target is not yet checked."""
    H = _draw_int(draw, cfg.hidden)
    use_skips = draw(st.booleans()) if cfg.skips is None else cfg.skips
    use_skips = bool(use_skips and H >= 2)
    d_x = _draw_int(draw, cfg.d_x)
    d_y = _draw_int(draw, cfg.d_y)
    if use_skips:
        hidden = [_draw_int(draw, cfg.width)] * H
    else:
        hidden = [_draw_int(draw, cfg.width) for _ in range(H)]
    param_type = draw(st.sampled_from(cfg.param_types))
    biases = draw(st.booleans()) if cfg.biases is None else cfg.biases
    mode = draw(st.sampled_from(cfg.precisions))
    output_precision = _draw_float(draw, OUTPUT_PRECISION_RANGE) if mode == "output" else 1.0
    gamma = _draw_option(draw, cfg.gamma)
    decay = _draw_option(draw, cfg.activity_decay)
    target = None
    if cfg.condition is not None:
        # log-uniform in the range shrunk by the rescaling's accuracy, so that a hit lies inside
        a, b = cfg.condition[0] * (1 + CONDITION_RTOL), cfg.condition[1] / (1 + CONDITION_RTOL)
        target = min(max(math.exp(draw(st.floats(math.log(a), math.log(b)))), a), b)
    return NetworkSpec(
        widths=(d_x, *hidden, d_y),
        param_type=param_type,
        use_skips=use_skips,
        biases=biases,
        precision_mode=mode,
        output_precision=output_precision,
        gamma=gamma,
        weight_scale=_draw_float(draw, cfg.weight_scale),
        batch=_draw_int(draw, cfg.batch),
        seed=draw(_SEEDS),
        activity_decay=0.0 if decay is None else decay,
        condition=target,
        x_scale=_draw_float(draw, cfg.x_scale),
        noise=_draw_float(draw, cfg.noise),
    )


def _check_condition(case: Case, cfg: _Config) -> None:
    """Reject ``case`` when its ``κ(H_z)`` missed the requested range (unreachable target)."""
    if cfg.condition is not None:
        lo, hi = cfg.condition
        kappa = activity_condition_number(case.net)
        assume(lo <= kappa <= hi)


@st.composite
def _specs(draw, cfg: _Config) -> NetworkSpec:
    spec = draw(_raw_specs(cfg))
    if cfg.condition is not None:
        _check_condition(build_case(spec), cfg)
    return spec


@st.composite
def _cases(draw, cfg: _Config) -> Case:
    case = build_case(draw(_raw_specs(cfg)))
    _check_condition(case, cfg)
    return case


def _note(text: str) -> None:
    try:
        note(text)
    except InvalidArgument:         # drawn outside a test, e.g. by strategy.example()
        pass


@st.composite
def _networks(draw, cfg: _Config) -> LinearPCN:
    case = draw(_cases(cfg))
    _note(f"linpc.testing.networks drew {case!r}.net")
    return case.net


@st.composite
def _batches(draw, d_x: int, d_y: int, batch: tuple[int, int], x_scale: tuple[float, float],
             noise: tuple[float, float]) -> tuple[Array, Array]:
    B = _draw_int(draw, batch)
    xs, ns = _draw_float(draw, x_scale), _draw_float(draw, noise)
    seed = draw(_SEEDS)
    _note(f"linpc.testing.batches drew make_batch(np.random.default_rng({seed}), {d_x}, {d_y}, "
          f"{B}, x_scale={xs!r}, noise={ns!r})")
    return make_batch(np.random.default_rng(seed), d_x, d_y, B, x_scale=xs, noise=ns)


# ---------------------------------------------------------------------------- public strategies
def networks(
    *,
    hidden_layers: IntRange = (1, 4),
    widths: IntRange = (1, 8),
    d_x: IntRange | None = None,
    d_y: IntRange | None = None,
    param_types: Sequence[str] = PARAM_TYPES,
    skips: bool | None = None,
    biases: bool | None = None,
    precisions: Sequence[str] = PRECISION_MODES,
    gamma: bool | FloatRange | None = None,
    activity_decay: bool | FloatRange | None = None,
    condition: tuple[float, float] | None = None,
    weight_scale: FloatRange = (0.5, 1.5),
) -> st.SearchStrategy[LinearPCN]:
    """Strategy of deep linear PCNs (:class:`~linpc.LinearPCN`, float64, at least one hidden
    layer).

    Draws the structure (depth, widths, parameterisation, skips, biases, precisions, ``γ``,
    ``δ``, weight scale, a target ``κ(H_z)``) and a seed, and builds the weights, biases and
    layer precisions from ``numpy.random.default_rng(seed)`` with
    :func:`linpc.verify.random_networks.build_case`. For a failing example hypothesis prints a
    note with the code that rebuilds the network, ``build_case(NetworkSpec(...)).net``.
    Examples shrink towards one hidden layer, width 1, SP and seed 0.

    Parameters
    ----------
    hidden_layers : int or (int, int)
        Number ``H = L − 1`` of hidden layers, or its range ``(min, max)``, ``min ≥ 1``.
    widths : int or (int, int)
        Width (range) of every hidden layer, and of ``d_x`` and ``d_y`` unless given.
    d_x, d_y : int or (int, int), optional
        Input and output dimension (ranges); default ``widths``.
    param_types : sequence of {"sp", "ntp", "mupc"}
        Parameterisations to draw from (the multipliers ``a_l``,
        :func:`linpc.core.parameterisation.layer_scalings`).
    skips : bool or None
        Identity skips on the hidden-to-hidden layers: ``None`` draws both; ``True`` forces them
        (then at least 2 hidden layers are drawn, all hidden widths equal); ``False`` excludes.
    biases : bool or None
        A bias on every layer (``0.3·N(0, 1)`` entries); ``None`` draws both.
    precisions : sequence of {"unit", "output", "layers"}
        Precision modes to draw from: all ``π_l = 1``; only ``λ = π_L`` drawn in ``[0.2, 5]``;
        every ``π_l`` uniform in ``[0.5, 2]`` (drawn from the seed).
    gamma : None, bool, float or (float, float)
        jpc's output scaling ``γ`` (divides ``a_L``): ``None`` draws with or without it,
        ``False`` excludes it, ``True`` draws it in ``[0.5, 2]``, a number fixes it, a pair is
        a range (always on).
    activity_decay : None, bool, float or (float, float)
        Activity decay ``δ`` (``(δ/2)Σ‖z_l‖²`` added to the energy, so the model is no longer a
        Gaussian chain): as ``gamma``, with default range ``[0.01, 1]``; off means ``δ = 0``.
    condition : (float, float), optional
        Range ``[lo, hi]`` (``1 ≤ lo``, ``hi ≤ MAX_CONDITION = 1e14``) of ``κ(H_z)``, the 2-norm
        condition number of the activity Hessian. A target is drawn log-uniformly in the range
        and the weights of layers ``2..L`` are multiplied by a common factor ``f`` found by
        bisection on ``log f`` until ``κ`` is within a relative ``1e-3`` of the target
        (:func:`linpc.verify.random_networks.rescale_to_condition`); the strategy then measures
        ``κ`` (LAPACK banded eigensolver) and *rejects* the example (``hypothesis.assume``) if it
        is outside the range or not certified in float64 (above about ``2.3e14/n`` for ``n``
        activities, :data:`MAX_CONDITION`). A range can be out of reach of the rescaling. As
        ``f → 0``, ``κ`` tends to that of the block-diagonal limit: without skips
        ``(max π_l + δ)/(min π_l + δ)`` over the hidden layers (1 for unit precisions), with
        skips that of a chain of identity maps, which grows with depth. As ``f → ∞``, ``κ``
        grows without bound only when some hidden layer is wider than the next one
        (``n_l > n_{l+1}``, ``n_{H+1} = d_y``, so that ``M_{l+1}`` has a kernel); otherwise it
        tends to a finite limit fixed by the drawn weights (for one hidden layer see
        docs/theory.md §1.2.4), with or without an activity decay. Draws that miss the range
        are rejected, so a range that no allowed structure reaches fails the test with
        hypothesis' ``Unsatisfiable`` or ``FailedHealthCheck``; for large ``κ`` allow a hidden
        layer wider than ``d_y`` or than the next hidden layer. Costs a few dozen banded
        eigensolves per example (milliseconds for tens of activities).
    weight_scale : float or (float, float)
        Multiplies the raw weights from the parameterisation's initialisation (``N(0, 1/fan_in)``
        for SP, ``N(0, 1)`` otherwise); with skips the residual layers are further divided by
        ``√H``.

    Returns
    -------
    SearchStrategy of LinearPCN
    """
    cfg = _config(hidden_layers=hidden_layers, widths=widths, d_x=d_x, d_y=d_y, batch_size=1,
                  param_types=param_types, skips=skips, biases=biases, precisions=precisions,
                  gamma=gamma, activity_decay=activity_decay, condition=condition,
                  weight_scale=weight_scale, x_scale=1.0, noise=0.5)
    return _networks(cfg)


def batches(
    net_or_dims: LinearPCN | tuple[int, int],
    *,
    batch_size: IntRange = (1, 16),
    x_scale: FloatRange = 1.0,
    noise: FloatRange = 0.5,
) -> st.SearchStrategy[tuple[Array, Array]]:
    """Strategy of batches ``(x, y)``, float64 arrays of shapes ``(B, d_x)`` and ``(B, d_y)``.

    Draws the batch size and a seed (and ``x_scale``/``noise`` when ranges are given) and builds
    ``x ~ N(0, x_scale²)``, ``y = T x + noise·N(0, 1)`` for a random linear teacher ``T`` from
    ``numpy.random.default_rng(seed)``, as :func:`~linpc.verify.random_networks.build_case` does
    (:func:`linpc.verify.random_networks.make_batch`). For a failing example hypothesis prints a
    note with the ``make_batch`` call that rebuilds the batch.

    Parameters
    ----------
    net_or_dims : LinearPCN or (int, int)
        The network (its ``d_x``, ``d_y`` are used) or the dimensions ``(d_x, d_y)``.
    batch_size : int or (int, int)
        Batch size ``B`` or its range.
    x_scale : float or (float, float)
        Standard deviation of the inputs ``x ~ N(0, x_scale²)`` (fixed, or a range to draw from).
    noise : float or (float, float)
        Standard deviation of the Gaussian noise on the targets ``y = T x + noise``, ``T`` with
        ``N(0, 1/d_x)`` entries, so residuals are generic (not realisable), as the theorems
        assume; ``noise=0`` makes the targets realisable.

    Returns
    -------
    SearchStrategy of (ndarray, ndarray)
    """
    if isinstance(net_or_dims, LinearPCN):
        dims = (net_or_dims.d_x, net_or_dims.d_y)
    else:
        ok = (isinstance(net_or_dims, Sequence) and len(net_or_dims) == 2
              and all(isinstance(d, numbers.Integral) and not isinstance(d, bool) and d >= 1
                      for d in net_or_dims))
        if not ok:
            raise InvalidArgument(f"net_or_dims must be a LinearPCN or a pair (d_x, d_y) of "
                                  f"positive ints, got {net_or_dims!r}")
        dims = (int(net_or_dims[0]), int(net_or_dims[1]))
    return _batches(*dims, _int_range(batch_size, "batch_size"),
                    _float_range(x_scale, "x_scale"),
                    _float_range(noise, "noise", strict=False))


def specs(
    *,
    hidden_layers: IntRange | None = None,
    widths: IntRange | None = None,
    d_x: IntRange | None = None,
    d_y: IntRange | None = None,
    batch_size: IntRange | None = None,
    param_types: Sequence[str] = PARAM_TYPES,
    skips: bool | None = None,
    biases: bool | None = None,
    precisions: Sequence[str] | None = None,
    gamma: bool | FloatRange | None = None,
    activity_decay: bool | FloatRange | None = False,
    condition: tuple[float, float] | None = None,
    weight_scale: FloatRange = (0.5, 1.5),
    x_scale: FloatRange = 1.0,
    noise: FloatRange = 0.5,
    max_hidden: int | None = None,
    max_width: int | None = None,
    max_batch: int | None = None,
    precision_modes: Sequence[str] | None = None,
) -> st.SearchStrategy[NetworkSpec]:
    """Strategy of :class:`~linpc.verify.random_networks.NetworkSpec`: the structure and seed
    of a case, not yet built.

    ``build_case(spec)`` (:func:`linpc.verify.random_networks.build_case`) builds it
    deterministically; use this strategy to change a spec before building it, and :func:`cases`
    otherwise. With ``condition`` the spec is built once here to check that ``κ(H_z)`` lands in
    the range (examples that miss it are rejected), so ``build_case(spec)`` satisfies every
    requested option.

    Parameters
    ----------
    hidden_layers, widths, d_x, d_y, param_types, skips, biases, precisions
        As for :func:`networks`, except the default sizes: ``(1, 4)`` hidden layers of widths in
        ``(1, 5)`` (smaller than for :func:`networks`: linpc's test-suite runs hundreds of
        identities on them).
    gamma, activity_decay, condition, weight_scale
        As for :func:`networks`, except ``activity_decay=False`` by default (no decay).
    batch_size : int or (int, int), optional
        Batch size (range); default ``(1, 6)``.
    x_scale, noise : float or (float, float)
        As for :func:`batches`.
    max_hidden, max_width, max_batch : int, optional
        Shorthands for ``hidden_layers=(1, max_hidden)``, ``widths=(1, max_width)``,
        ``batch_size=(1, max_batch)``; give one of each pair, not both.
    precision_modes : sequence of str, optional
        Alias of ``precisions``.

    Returns
    -------
    SearchStrategy of NetworkSpec
    """
    return _specs(_legacy_config(**locals()))


def cases(**keywords) -> st.SearchStrategy[Case]:
    """Strategy of built cases: a network with a batch, drawn as :func:`specs` and built with
    :func:`~linpc.verify.random_networks.build_case`.

    Each :class:`~linpc.verify.random_networks.Case` (frozen) has ``.spec``, ``.net``, ``.x``
    ``(B, d_x)`` and ``.y`` ``(B, d_y)``, and prints as ``build_case(NetworkSpec(...))``, the code
    that rebuilds it. The batch comes from the same generator as the network (after it). Takes
    the keyword arguments of :func:`specs` (same names, defaults and meaning).

    Returns
    -------
    SearchStrategy of Case
    """
    bound = inspect.signature(specs).bind(**keywords)      # the same keywords and defaults
    bound.apply_defaults()
    return _cases(_legacy_config(**bound.arguments))


def _legacy_config(*, hidden_layers, widths, d_x, d_y, batch_size, param_types, skips, biases,
                   precisions, gamma, activity_decay, condition, weight_scale, x_scale, noise,
                   max_hidden, max_width, max_batch, precision_modes) -> _Config:
    if precisions is not None and precision_modes is not None:
        raise InvalidArgument("give precisions or precision_modes, not both")
    return _config(
        hidden_layers=_legacy(hidden_layers, max_hidden, "hidden_layers", "max_hidden", (1, 4)),
        widths=_legacy(widths, max_width, "widths", "max_width", (1, 5)),
        d_x=d_x,
        d_y=d_y,
        batch_size=_legacy(batch_size, max_batch, "batch_size", "max_batch", (1, 6)),
        param_types=param_types,
        skips=skips,
        biases=biases,
        precisions=(precisions if precisions is not None
                    else precision_modes if precision_modes is not None else PRECISION_MODES),
        gamma=gamma,
        activity_decay=activity_decay,
        condition=condition,
        weight_scale=weight_scale,
        x_scale=x_scale,
        noise=noise,
    )
