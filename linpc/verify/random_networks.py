"""Random networks and data for property checks (``linpc verify`` and the test-suite).

A :class:`NetworkSpec` records the *structure* of a case (depth, widths, parameterisation, skips,
precisions, biases, batch size, weight scale) and a seed; :func:`build_case` turns it into a
network and a batch with ``numpy.random.default_rng(seed)``, so every case is reproducible from
its spec alone (hypothesis can draw specs and shrink them).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from .network import LinearPCN
from .parameterisation import init_weights

__all__ = ["Case", "NetworkSpec", "build_case", "draw_spec"]

Array = NDArray[np.float64]
PrecisionMode = Literal["unit", "output", "layers"]


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


def build_case(spec: NetworkSpec) -> Case:
    """Build the network and data of ``spec`` deterministically from ``spec.seed``.

    The targets are ``y = T x + noise`` for a random teacher ``T``, so residuals are generic (not
    realisable), as the theorems assume.
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
                    gamma=spec.gamma, **kwargs)
    x = rng.standard_normal((spec.batch, widths[0]))
    T = rng.standard_normal((widths[-1], widths[0])) / np.sqrt(widths[0])
    y = x @ T.T + 0.5 * rng.standard_normal((spec.batch, widths[-1]))
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
