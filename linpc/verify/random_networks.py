"""Random networks and data for property checks (``linpc verify`` and the test-suite).

A :class:`NetworkSpec` records the *structure* of a case (depth, widths, parameterisation, skips,
precisions, biases, batch size, weight scale) and a seed; :func:`build_case` turns it into a
network and a batch with ``numpy.random.default_rng(seed)``, so every case is reproducible from
its spec alone (hypothesis can draw specs and shrink them; :mod:`linpc.testing` does).

Optional fields beyond the structure: an activity decay ``δ``, a target condition number
``κ(H_z)`` reached by rescaling the weights of layers ``2..L`` (:func:`rescale_to_condition`),
and the input scale and target noise of the batch (:func:`make_batch`). Their defaults build
exactly the arrays of a spec without them.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np

from linpc.core.activity_hessian import ActivityHessian
from linpc.core.initialisation import init_weights
from linpc.core.network import LinearPCN
from linpc.numerics.types import Array
from linpc.numerics.warnings import IllConditionedWarning

__all__ = [
    "CONDITION_RTOL", "Case", "NetworkSpec", "activity_condition_number", "build_case",
    "draw_spec", "make_batch", "rescale_to_condition",
]
PrecisionMode = Literal["unit", "output", "layers"]

#: Relative accuracy with which :func:`rescale_to_condition` hits a target ``κ(H_z)``: it stops
#: once ``|log κ − log κ_target| ≤ log(1 + CONDITION_RTOL)``.
CONDITION_RTOL = 1e-3
#: Bracketing: the factor of layers ``2..L`` is multiplied or divided by this step …
_BRACKET_STEP = 4.0
#: … at most this many times (factors ``4^±16``, i.e. ``2e-10 … 4e9``).
_BRACKET_STEPS = 16
#: Bisection steps on ``log f`` after bracketing (each halves an interval of width ``log 4``).
_BISECTION_STEPS = 60


@dataclass(frozen=True)
class NetworkSpec:
    """Structure of a random test case.

    Attributes
    ----------
    widths : tuple of int
        ``(d_x, n_1, …, n_H, d_y)``; with skips the hidden widths must be equal.
    param_type : {"sp", "ntp", "mupc"}
    use_skips : bool
    biases : bool
        Draw a bias for every layer.
    precision_mode : {"unit", "output", "layers"}
        All ones; only ``λ = π_L ≠ 1``; or every ``π_l`` random in ``[0.5, 2]``.
    output_precision : float
        ``λ`` when ``precision_mode == "output"``.
    gamma : float or None
    weight_scale : float
        Multiplies the raw weights drawn from the parameterisation's init (``N(0, 1/fan_in)`` for
        SP,
        ``N(0, 1)`` otherwise); for residual layers it is further divided by ``√H`` to keep the
        forward pass and ``κ(H_z)`` moderate at depth.
    batch : int
    seed : int
    activity_decay : float
        ``δ ≥ 0`` of the activity regulariser (:class:`~linpc.LinearPCN`); default 0.
    condition : float or None
        Target ``κ(H_z)``: the weights of layers ``2..L`` are rescaled by a common factor found
        by bisection (:func:`rescale_to_condition`). ``None`` (default): no rescaling. When the
        target cannot be reached, the network with the closest ``κ`` found is built, so check
        ``κ`` if it matters (:mod:`linpc.testing` does).
    x_scale : float
        Standard deviation of the inputs ``x`` (default 1).
    noise : float
        Standard deviation of the noise added to the teacher's targets (default 0.5).
    """

    widths: tuple[int, ...]
    param_type: str = "sp"
    use_skips: bool = False
    biases: bool = False
    precision_mode: PrecisionMode = "unit"
    output_precision: float = 1.0
    gamma: float | None = None
    weight_scale: float = 1.0
    batch: int = 4
    seed: int = 0
    activity_decay: float = 0.0
    condition: float | None = None
    x_scale: float = 1.0
    noise: float = 0.5

    @property
    def n_hidden(self) -> int:
        return len(self.widths) - 2

    def describe(self) -> str:
        """Short human-readable label."""
        parts = [f"H={self.n_hidden}", f"w={list(self.widths)}", self.param_type]
        if self.use_skips:
            parts.append("skips")
        if self.biases:
            parts.append("bias")
        if self.precision_mode == "output":
            parts.append(f"λ={self.output_precision:g}")
        elif self.precision_mode == "layers":
            parts.append("π_l")
        if self.gamma is not None:
            parts.append(f"γ={self.gamma:g}")
        if self.activity_decay:
            parts.append(f"δ={self.activity_decay:g}")
        if self.condition is not None:
            parts.append(f"κ→{self.condition:.3g}")
        if self.x_scale != 1.0 or self.noise != 0.5:
            parts.append(f"x_scale={self.x_scale:g} noise={self.noise:g}")
        parts.append(f"B={self.batch}")
        parts.append(f"seed={self.seed}")
        return " ".join(parts)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Case:
    """A network with a batch of data, built from a spec."""

    spec: NetworkSpec
    net: LinearPCN
    x: Array
    y: Array

    def __repr__(self) -> str:
        # the arrays are rebuilt from the spec: print the code that rebuilds the case
        return f"build_case({self.spec!r})"


def make_batch(
    rng: np.random.Generator,
    d_x: int,
    d_y: int,
    batch: int,
    *,
    x_scale: float = 1.0,
    noise: float = 0.5,
) -> tuple[Array, Array]:
    """A batch ``x (B, d_x)``, ``y (B, d_y)`` with ``x ~ N(0, x_scale²)``, ``y = T x + noise``.

    The teacher ``T`` has ``N(0, 1/d_x)`` entries and the noise is ``N(0, noise²)``, so residuals
    are generic (not realisable), as the theorems assume. Draws ``x``, then ``T``, then the noise
    from ``rng``.
    """
    x = x_scale * rng.standard_normal((batch, d_x))
    T = rng.standard_normal((d_y, d_x)) / np.sqrt(d_x)
    y = x @ T.T + noise * rng.standard_normal((batch, d_y))
    return x, y


def activity_condition_number(net: LinearPCN) -> float:
    """``κ(H_z)`` from LAPACK's banded symmetric eigensolver (exact to backward stability).

    ``inf`` when float64 cannot certify ``λ_min`` (below
    :func:`linpc.numerics.tolerances.eigenvalue_floor`, e.g. a non-positive computed ``λ_min``),
    without the :class:`~linpc.IllConditionedWarning` that
    :meth:`~linpc.ActivityHessian.extreme_eigenvalues` gives then: ``κ`` is at least about
    ``1/(2·SAFETY·n·eps)`` there, and the rescaling and the strategies only need to know that.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IllConditionedWarning)
        ext = ActivityHessian(net).extreme_eigenvalues(method="banded")
    return ext.condition_number if ext.certified else math.inf


def rescale_to_condition(
    net: LinearPCN, target: float, *, rtol: float = CONDITION_RTOL
) -> tuple[LinearPCN, float]:
    """Scale ``W_2, …, W_L`` by one factor ``f`` so that ``κ(H_z)`` is close to ``target``.

    ``H_z`` does not depend on ``W_1``, and at ``f = 0`` it is block diagonal (without skips:
    ``κ = max π_l / min π_l`` over the hidden layers, plus the decay ``δ``), while ``κ`` typically
    grows without bound as ``f → ∞``. Starting from ``f = 1`` the factor is multiplied (or
    divided) by 4 until ``κ`` crosses the target (at most 16 times), then ``log f`` is bisected
    until ``|log κ − log target| ≤ log(1 + rtol)``. ``κ`` is continuous in ``f``, so a crossing
    is always found when the bracket exists.

    Returns
    -------
    (LinearPCN, float)
        The rescaled network (biases, multipliers, skips, precisions and decay unchanged) and its
        ``κ(H_z)`` (:func:`activity_condition_number`). When no factor in ``[4⁻¹⁶, 4¹⁶]`` brackets
        the target (``κ`` at ``f → 0`` already above it, e.g. unequal precisions or a chain of
        identity skips; or ``κ`` bounded as ``f → ∞``, which happens when no hidden layer is
        wider than the next one, ``n_l ≤ n_{l+1}`` with ``n_{H+1} = d_y``, e.g. one hidden
        layer no wider than ``d_y``, docs/theory.md §1.2.4), the network with the closest ``κ``
        among those tried is returned.
    """
    if not target >= 1:
        raise ValueError(f"a condition number is ≥ 1, got target {target!r}")
    log_target, log_tol = math.log(target), math.log1p(rtol)
    Ws = net.weights
    tried: list[tuple[float, float, LinearPCN]] = []     # (|log κ − log target|, κ, net)

    def at(t: float) -> tuple[float, LinearPCN]:
        f = math.exp(t)
        scaled = net.replace(weights=[Ws[0], *(f * W for W in Ws[1:])])
        kappa = activity_condition_number(scaled)
        tried.append((abs(math.log(kappa) - log_target), kappa, scaled))
        return kappa, scaled

    def done(kappa: float) -> bool:
        return abs(math.log(kappa) - log_target) <= log_tol

    step = math.log(_BRACKET_STEP)
    t_in = 0.0
    kappa, scaled = at(t_in)
    if done(kappa):
        return scaled, kappa
    direction = 1.0 if kappa < target else -1.0    # move f up to raise κ, down to lower it
    t_out = None
    for _ in range(_BRACKET_STEPS):
        t = t_in + direction * step
        kappa, scaled = at(t)
        if done(kappa):
            return scaled, kappa
        if (kappa > target) == (direction > 0):
            t_out = t
            break
        t_in = t
    if t_out is not None:
        # invariant: κ(t_in) is on the starting side of the target, κ(t_out) on the other
        for _ in range(_BISECTION_STEPS):
            t = 0.5 * (t_in + t_out)
            kappa, scaled = at(t)
            if done(kappa):
                return scaled, kappa
            if (kappa > target) == (direction > 0):
                t_out = t
            else:
                t_in = t
    _, kappa, scaled = min(tried, key=lambda e: e[0])
    return scaled, kappa


def build_case(spec: NetworkSpec) -> Case:
    """Build the network and data of ``spec`` deterministically from ``spec.seed``.

    The targets are ``y = T x + noise`` for a random teacher ``T`` (:func:`make_batch`), so
    residuals are generic (not realisable), as the theorems assume. With ``spec.condition`` the
    weights of layers ``2..L`` are then rescaled towards that ``κ(H_z)``
    (:func:`rescale_to_condition`); this draws nothing from the generator, so the batch is the
    same with or without it.
    """
    rng = np.random.default_rng(spec.seed)
    widths = tuple(int(w) for w in spec.widths)
    H = len(widths) - 2
    init = "normal" if spec.param_type == "sp" else "standard_normal"
    Ws = init_weights(widths, param_type=spec.param_type, init=init, rng=rng)
    for l in range(1, H + 2):
        s = spec.weight_scale
        if spec.use_skips and 2 <= l <= H:
            s /= np.sqrt(H)
        Ws[l - 1] = Ws[l - 1] * s
    biases = None
    if spec.biases:
        biases = [0.3 * rng.standard_normal(w) for w in widths[1:]]
    kwargs: dict = {}
    if spec.precision_mode == "output":
        kwargs["output_energy_scaling"] = spec.output_precision
    elif spec.precision_mode == "layers":
        kwargs["precisions"] = rng.uniform(0.5, 2.0, size=H + 1)
    net = LinearPCN(Ws, biases=biases, param_type=spec.param_type, use_skips=spec.use_skips,
                    gamma=spec.gamma, activity_decay=spec.activity_decay, **kwargs)
    x, y = make_batch(rng, widths[0], widths[-1], spec.batch, x_scale=spec.x_scale,
                      noise=spec.noise)
    if spec.condition is not None:
        net, _ = rescale_to_condition(net, spec.condition)
    return Case(spec, net, x, y)


def draw_spec(
    rng: np.random.Generator,
    *,
    max_hidden: int = 8,
    max_width: int = 8,
    max_batch: int = 16,
    seed: int | None = None,
) -> NetworkSpec:
    """Draw a random spec covering every configuration the core supports."""
    H = int(rng.integers(1, max_hidden + 1))
    use_skips = bool(H >= 2 and rng.random() < 0.35)
    d_x = int(rng.integers(1, max_width + 1))
    d_y = int(rng.integers(1, max_width + 1))
    if use_skips:
        hidden = [int(rng.integers(1, max_width + 1))] * H
    else:
        hidden = [int(rng.integers(1, max_width + 1)) for _ in range(H)]
    param_type = str(rng.choice(["sp", "ntp", "mupc"]))
    mode = str(rng.choice(["unit", "output", "layers"], p=[0.4, 0.35, 0.25]))
    return NetworkSpec(
        widths=(d_x, *hidden, d_y),
        param_type=param_type,
        use_skips=use_skips,
        biases=bool(rng.random() < 0.4),
        precision_mode=mode,  # type: ignore[arg-type]
        output_precision=float(np.exp(rng.uniform(np.log(0.2), np.log(5.0)))),
        gamma=float(rng.uniform(0.5, 2.0)) if rng.random() < 0.25 else None,
        weight_scale=float(rng.uniform(0.5, 1.5)),
        batch=int(rng.integers(1, max_batch + 1)),
        seed=int(rng.integers(0, 2**31 - 1)) if seed is None else seed,
    )
