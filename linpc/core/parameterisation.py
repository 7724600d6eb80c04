"""Parameterisations: per-layer multipliers a_l (SP, NTP, μPC) and matching weight initialisers.

A layer computes ``M_l z_{l-1}`` with ``M_l = a_l W_l`` (plain) or ``M_l = I + a_l W_l`` (identity
skip, hidden-to-hidden layers only). The multipliers follow the μPC paper (Innocenti, Achour &
Buckley 2025, arXiv:2505.13124, Table 1) and jpc's ``_get_param_scalings`` (theory.md §1.4):

============  =========  ===================================================  ===========
name          a_1        a_l, 2 ≤ l ≤ L-1                                     a_L
============  =========  ===================================================  ===========
``"sp"``      1          1                                                    1
``"ntp"``     1/√n_0     1/√n_{l-1}  (1/√(n_{l-1} L) with skips)              1/√n_{L-1}
``"mupc"``    1/√n_0     1/√n_{l-1}  (1/√(n_{l-1} L) with skips)              1/n_{L-1}
============  =========  ===================================================  ===========

with L the number of weight matrices; ``gamma`` divides a_L for every parameterisation (as jpc's
``gamma`` option does). linpc uses the fan-in ``n_{l-1}`` of each layer ("fan_in" convention);
jpc reads one width N from the first hidden layer and uses it for every layer after the first
("jpc" convention). The two coincide when all hidden layers have the same width.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from ._validation import check_positive

__all__ = ["PARAM_TYPES", "check_param_type", "init_weights", "layer_scalings"]

ParamType = Literal["sp", "ntp", "mupc"]
PARAM_TYPES: tuple[str, ...] = ("sp", "ntp", "mupc")


def check_param_type(param_type: str) -> str:
    """Return ``param_type`` if it is one of :data:`PARAM_TYPES`, else raise a ValueError."""
    if param_type not in PARAM_TYPES:
        extra = ' (jpc\'s old spelling "ntk" is "ntp" here)' if param_type == "ntk" else ""
        raise ValueError(
            f"unknown param_type {param_type!r}{extra}; expected one of "
            f"{', '.join(repr(p) for p in PARAM_TYPES)}"
        )
    return param_type


def layer_scalings(
    widths: Sequence[int],
    param_type: ParamType = "sp",
    *,
    use_skips: bool = False,
    gamma: float | None = None,
    convention: Literal["fan_in", "jpc"] = "fan_in",
) -> NDArray[np.float64]:
    """Per-layer multipliers ``a_1, …, a_L`` of a parameterisation.

    Parameters
    ----------
    widths : sequence of int
        Layer widths ``(n_0, n_1, …, n_L)`` with ``n_0 = d_x`` and ``n_L = d_y``.
    param_type : {"sp", "ntp", "mupc"}
        Standard, neural-tangent or μPC parameterisation (table in the module docstring).
    use_skips : bool
        Whether the hidden-to-hidden layers ``2..L-1`` carry identity skips; changes the hidden
        multiplier of NTP and μPC from ``1/√N`` to ``1/√(N L)`` (Depth-μP).
    gamma : float, optional
        Divides ``a_L`` (jpc's output scaling ``γ``).
    convention : {"fan_in", "jpc"}
        ``"fan_in"`` uses each layer's fan-in ``n_{l-1}``; ``"jpc"`` uses the first hidden width
        ``n_1`` for every layer after the first, as jpc does.

    Returns
    -------
    ndarray, shape (L,)
        The multipliers ``a_l``.

    References
    ----------
    .. [1] F. Innocenti, E. M. Achour, C. L. Buckley, "μPC: Scaling Predictive Coding to 100+ Layer
       Networks", NeurIPS 2025, arXiv:2505.13124, Table 1.
    """
    check_param_type(param_type)
    n = [int(w) for w in widths]
    L = len(n) - 1
    if L < 1:
        raise ValueError(f"widths must list at least n_0 and n_1, got {list(widths)}")
    if convention not in ("fan_in", "jpc"):
        raise ValueError(f"convention must be 'fan_in' or 'jpc', got {convention!r}")
    a = np.ones(L, dtype=np.float64)
    if param_type != "sp":
        for l in range(1, L + 1):
            fan_in = n[l - 1] if (convention == "fan_in" or l == 1) else n[1]
            if l == 1:
                a[0] = 1.0 / np.sqrt(fan_in)
            elif l < L:
                a[l - 1] = 1.0 / np.sqrt(fan_in * (L if use_skips else 1))
            else:
                a[l - 1] = 1.0 / (fan_in if param_type == "mupc" else np.sqrt(fan_in))
    if gamma is not None:
        a[-1] /= check_positive(gamma, "gamma")
    return a


def init_weights(
    widths: Sequence[int],
    *,
    param_type: ParamType = "sp",
    init: Literal["default", "uniform", "normal", "standard_normal", "orthogonal"] = "default",
    rng: np.random.Generator | int | None = None,
) -> list[NDArray[np.float64]]:
    """Draw raw weight matrices ``W_l`` of shape ``(n_l, n_{l-1})``.

    ``init="default"`` picks the initialisation used with each parameterisation in the papers' code:
    the framework default ``U(±1/√fan_in)`` for SP and NTP (jpc keeps it for NTP) and
    ``N(0, 1)`` for μPC (``W_ij ~ N(0, 1)``, the multipliers carry the scale). Explicit choices:
    ``"uniform"`` (``U(±1/√fan_in)``), ``"normal"`` (``N(0, 1/fan_in)``), ``"standard_normal"``
    (``N(0, 1)``) and ``"orthogonal"`` (Haar-random semi-orthogonal).

    Parameters
    ----------
    widths : sequence of int
        ``(n_0, …, n_L)``.
    param_type : {"sp", "ntp", "mupc"}
        Only used to resolve ``init="default"``.
    init : str
        The distribution (see above).
    rng : numpy Generator, int or None
        Source of randomness (SPEC 7); an int seeds ``np.random.default_rng``.

    Returns
    -------
    list of ndarray
        ``[W_1, …, W_L]``.
    """
    check_param_type(param_type)
    gen = np.random.default_rng(rng)
    if init == "default":
        init = "standard_normal" if param_type == "mupc" else "uniform"
    Ws = []
    for l in range(1, len(widths)):
        shape = (int(widths[l]), int(widths[l - 1]))
        fan_in = shape[1]
        if init == "uniform":
            bound = 1.0 / np.sqrt(fan_in)
            W = gen.uniform(-bound, bound, size=shape)
        elif init == "normal":
            W = gen.standard_normal(shape) / np.sqrt(fan_in)
        elif init == "standard_normal":
            W = gen.standard_normal(shape)
        elif init == "orthogonal":
            # reduced QR of a tall Gaussian, signs fixed by diag(R): Haar on the Stiefel manifold
            m, k = max(shape), min(shape)
            Q, R = np.linalg.qr(gen.standard_normal((m, k)))
            Q = Q * np.sign(np.diag(R))
            W = Q if shape[0] >= shape[1] else Q.T
        else:
            raise ValueError(
                f"unknown init {init!r}; expected 'default', 'uniform', 'normal', "
                "'standard_normal' or 'orthogonal'"
            )
        Ws.append(np.asarray(W, dtype=np.float64))
    return Ws
