"""Parameterisations: the per-layer multipliers a_l of SP, NTP and μPC, and the output precision.

A layer computes ``M_l z_{l-1}`` with ``M_l = a_l W_l`` (plain) or ``M_l = I + a_l W_l`` (identity
skip, hidden-to-hidden layers only). The multipliers follow the μPC paper (Innocenti, Achour &
Buckley 2025, arXiv:2505.13124, Table 1) and jpc's ``_get_param_scalings`` (docs/theory.md §1.4):

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

The weight initialisers that go with each parameterisation are in
:mod:`linpc.core.initialisation`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from linpc.numerics.threads import thread_policy
from linpc.numerics.validation import (
    check_bool,
    check_choice,
    check_int,
    check_positive,
    check_widths,
)

__all__ = [
    "PARAM_TYPES", "ParamType", "check_param_type", "layer_scalings", "limits_output_precision",
]

#: Type of the ``param_type`` argument: standard, neural-tangent or μPC parameterisation.
ParamType = Literal["sp", "ntp", "mupc"]
#: The parameterisations of docs/theory.md §1.4, as accepted by ``param_type``.
PARAM_TYPES: tuple[str, ...] = ("sp", "ntp", "mupc")


@thread_policy
def check_param_type(param_type: str) -> str:
    """Return ``param_type`` if it is one of :data:`PARAM_TYPES`, else raise a ValueError."""
    if not isinstance(param_type, str):
        raise TypeError(f"param_type must be one of {', '.join(repr(p) for p in PARAM_TYPES)}, "
                        f"got {param_type!r} ({type(param_type).__name__})")
    if param_type not in PARAM_TYPES:
        extra = ' (jpc\'s old spelling "ntk" is "ntp" here)' if param_type == "ntk" else ""
        raise ValueError(
            f"unknown param_type {param_type!r}{extra}; expected one of "
            f"{', '.join(repr(p) for p in PARAM_TYPES)}"
        )
    return param_type


@thread_policy
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
    n = list(check_widths(widths, "widths", min_layers=1))
    L = len(n) - 1
    use_skips = check_bool(use_skips, "use_skips")
    check_positive(gamma, "gamma", allow_none=True)
    check_choice(convention, "convention", ("fan_in", "jpc"))
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


@thread_policy
def limits_output_precision(width: int, n_layers: int, gamma: float = 1.0) -> float:
    """The output precision ``λ = γ² N L`` that docs/theory.md §1.4 attributes to the limits-paper
    code.

    Reading of jpc's ``experiments/dmft/test_equilib_energy.py`` in docs/theory.md §1.4 (tagged
    [code, unv for the paper]); with ``a_L = 1/(γN)`` it makes the output term
    ``(λ/2)‖y − W_L z_H/(γN)‖² = (L/(2N))‖γN y − W_L z_H‖²``.

    .. warning::
       With unit hidden precisions this choice does **not** make PC approach BP as the width
       grows: ``1/λ`` is then small next to ``E[S] − 1/λ ≈ (e−1)L/N``, so the rescaling term of
       ``∇F*`` stays as large as ``∇ℒ`` (measured at H = 15, N = 128/256: cos(∇F*, ∇ℒ) =
       0.35/0.41 with skips, against 0.93/0.97 with λ = 1; ``figures/limits_fig2_toy_task.py``,
       panel (c)). The jpc scripts differ between versions: some pair ``γ²·width·depth`` with
       hidden precisions equal to the depth (``hidden_energy_scaling``; pass
       ``precisions=[L, …, L, γ²NL]`` to :class:`~linpc.LinearPCN`), some use ``γ²N``, and the
       limits-paper training script read for the figures keeps λ = 1, which is what linpc's
       figures use.

    Parameters
    ----------
    width : int
        ``N`` (jpc: the first hidden width).
    n_layers : int
        ``L``, the number of weight matrices.
    gamma : float
        ``γ > 0``.
    """
    N = check_int(width, "width", minimum=1)
    L = check_int(n_layers, "n_layers", minimum=2)
    g = check_positive(gamma, "gamma")
    return float(g * g * N * L)
