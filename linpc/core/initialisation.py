"""Weight initialisers of the parameterisations, their variances, and initialised networks.

The multipliers ``a_l`` of SP, NTP and μPC are in :mod:`linpc.core.parameterisation`; this module
draws the raw weights that the papers' code pairs with them (docs/theory.md §1.4):

* :func:`init_weights` — ``U(±1/√fan_in)``, ``N(0, 1/fan_in)``, ``N(0, 1)`` or Haar-orthogonal
  raw weights; ``"default"`` is the papers' choice for each parameterisation (:func:`resolve_init`);
* :func:`init_variances` — the per-entry variance ``v_l`` of each initialiser, which with ``a_l``
  fixes every second moment at initialisation (:mod:`linpc.mupc.forward_scale`,
  :mod:`linpc.mupc.limits`);
* :func:`init_network` — an initialised :class:`~linpc.LinearPCN` in one call, in the per-fan-in
  or jpc's first-hidden-width convention.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from linpc.core.network import LinearPCN
from linpc.core.parameterisation import (
    ParamType,
    check_param_type,
    layer_scalings,
    limits_output_precision,
)
from linpc.numerics.threads import thread_policy
from linpc.numerics.types import Array
from linpc.numerics.validation import (
    check_bool,
    check_choice,
    check_nonnegative,
    check_positive,
    check_rng,
    check_widths,
)

__all__ = [
    "INIT_NAMES", "InitName", "init_network", "init_variances", "init_weights", "resolve_init",
]
#: Type of the ``init`` argument of :func:`linpc.core.initialisation.init_weights`.
InitName = Literal["default", "uniform", "normal", "standard_normal", "orthogonal"]
#: Initialisers of :func:`linpc.core.initialisation.init_weights`.
INIT_NAMES: tuple[str, ...] = ("default", "uniform", "normal", "standard_normal", "orthogonal")


@thread_policy
def resolve_init(param_type: str, init: str = "default") -> str:
    """The initialiser ``init="default"`` stands for: ``N(0, 1)`` for μPC, ``U(±1/√fan_in)`` else.

    This is the rule of :func:`linpc.core.initialisation.init_weights` (jpc's ``make_mlp`` re-draws
    ``N(0, 1)`` weights only for ``"mupc"``; docs/theory.md §8.8(d)).
    """
    check_param_type(param_type)
    if not isinstance(init, str):
        raise TypeError(f"init must be one of {', '.join(INIT_NAMES)}, got {init!r} "
                        f"({type(init).__name__})")
    if init not in INIT_NAMES:
        raise ValueError(f"unknown init {init!r}; expected one of {', '.join(INIT_NAMES)}")
    if init == "default":
        return "standard_normal" if param_type == "mupc" else "uniform"
    return init


@thread_policy
def init_weights(
    widths: Sequence[int],
    *,
    param_type: ParamType = "sp",
    init: InitName = "default",
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
    widths = check_widths(widths, "widths", min_layers=1)
    init = resolve_init(param_type, init)
    gen = check_rng(rng)
    Ws = []
    for l in range(1, len(widths)):
        shape = (widths[l], widths[l - 1])
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
        else:  # pragma: no cover - resolve_init accepts only the names above
            raise AssertionError(init)
        Ws.append(np.asarray(W, dtype=np.float64))
    return Ws


@thread_policy
def init_variances(
    widths: Sequence[int],
    *,
    param_type: ParamType = "sp",
    init: InitName = "default",
) -> Array:
    """Per-entry variance ``v_l = Var((W_l)_{ij})`` of the raw weights drawn by ``init_weights``.

    ===================== ====================================================================
    init                  ``v_l``
    ===================== ====================================================================
    ``"uniform"``         ``1/(3 n_{l-1})`` (``U(±b)`` has variance ``b²/3``)
    ``"normal"``          ``1/n_{l-1}``
    ``"standard_normal"`` ``1``
    ``"orthogonal"``      ``1/max(n_l, n_{l-1})`` (entry of a Haar orthogonal matrix of that size)
    ===================== ====================================================================

    For all four, the entries have mean zero and ``E[W X Wᵀ] = v_l tr(X) I`` and
    ``E[Wᵀ W] = v_l n_l I`` for any fixed ``X`` (independent entries, or Haar invariance), which is
    all the second-moment formulas of :mod:`linpc.mupc.forward_scale` and :mod:`linpc.mupc.limits`
    use.

    Returns
    -------
    ndarray, shape (L,)
    """
    n = list(check_widths(widths, "widths", min_layers=1))
    kind = resolve_init(param_type, init)
    v = np.empty(len(n) - 1)
    for l in range(1, len(n)):
        fan_in, fan_out = n[l - 1], n[l]
        v[l - 1] = {"uniform": 1.0 / (3.0 * fan_in), "normal": 1.0 / fan_in,
                    "standard_normal": 1.0, "orthogonal": 1.0 / max(fan_in, fan_out)}[kind]
    return v


@thread_policy
def init_network(
    widths: Sequence[int],
    *,
    param_type: ParamType = "sp",
    use_skips: bool = False,
    init: InitName = "default",
    gamma: float | None = None,
    output_energy_scaling: float | Literal["limits"] | None = None,
    convention: Literal["fan_in", "jpc"] = "fan_in",
    activity_decay: float = 0.0,
    rng: np.random.Generator | int | None = None,
) -> LinearPCN:
    """A freshly initialised network in a parameterisation (no biases).

    Parameters
    ----------
    widths : sequence of int
        ``(n_0, …, n_L)``.
    param_type : {"sp", "ntp", "mupc"}
        Multipliers (:func:`linpc.core.parameterisation.layer_scalings`).
    use_skips : bool
        Identity skips on layers ``2..L-1`` (μPC's architecture; NTP/μPC then use ``1/√(NL)``).
    init : str
        Weight initialiser (:func:`linpc.core.initialisation.init_weights`); ``"default"`` is
        ``N(0, 1)`` for μPC and ``U(±1/√fan_in)`` otherwise.
    gamma : float, optional
        Divides ``a_L``.
    output_energy_scaling : float or "limits", optional
        Output precision ``λ``; ``"limits"`` uses :func:`limits_output_precision` with ``N = n_1``,
        ``L`` and ``γ`` (default 1).
    convention : {"fan_in", "jpc"}
        Multipliers per fan-in, or from the first hidden width as jpc does (docs/theory.md §1.4).
    activity_decay : float
        ``δ ≥ 0`` of the activity regulariser.
    rng : numpy Generator, int or None
        Source of randomness (SPEC 7).

    Returns
    -------
    LinearPCN
    """
    check_param_type(param_type)
    w = check_widths(widths, "widths", min_layers=2)
    check_bool(use_skips, "use_skips")
    check_positive(gamma, "gamma", allow_none=True)
    check_choice(convention, "convention", ("fan_in", "jpc"))
    check_nonnegative(activity_decay, "activity_decay")
    if not isinstance(output_energy_scaling, str):
        check_positive(output_energy_scaling, "output_energy_scaling", allow_none=True)
    kind = resolve_init(param_type, init)
    Ws = init_weights(w, param_type=param_type, init=kind, rng=rng)
    lam: float | None
    if isinstance(output_energy_scaling, str):
        if output_energy_scaling != "limits":
            raise ValueError(
                f"output_energy_scaling must be a positive number or 'limits', got "
                f"{output_energy_scaling!r}"
            )
        lam = limits_output_precision(w[1], len(w) - 1, 1.0 if gamma is None else gamma)
    else:
        lam = output_energy_scaling
    if convention == "fan_in":
        return LinearPCN(Ws, param_type=param_type, use_skips=use_skips, gamma=gamma,
                         output_energy_scaling=lam, activity_decay=activity_decay)
    if convention != "jpc":
        raise ValueError(f"convention must be 'fan_in' or 'jpc', got {convention!r}")
    a = layer_scalings(w, param_type, use_skips=use_skips, convention="jpc")
    net = LinearPCN(Ws, scalings=a, use_skips=use_skips, gamma=gamma,
                    output_energy_scaling=lam, activity_decay=activity_decay)
    return net
