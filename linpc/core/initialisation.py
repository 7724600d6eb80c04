"""Options of a parameterisation beyond the multipliers: weight scale, output precision, decay.

:mod:`linpc.parameterisation` gives the multipliers ``a_l`` of SP, NTP and μPC and the raw weight
initialisers. This module adds what the papers' code sets alongside them (theory.md §1.4):

* the per-entry variance ``v_l`` of each initialiser (:func:`init_variances`), which with ``a_l``
  fixes every second moment at initialisation (:mod:`linpc.forward_scale`,
  :mod:`linpc.mupc_limits`);
* the output precision ``λ = γ² N L`` of the limits-paper code (:func:`limits_output_precision`);
* one call that builds an initialised network in a parameterisation (:func:`init_network`), in
  the per-fan-in or jpc's first-hidden-width convention;
* the activity decay ``(δ/2) Σ_{l≤H} ‖z_l‖²`` (a model option of :class:`~linpc.LinearPCN`) and its
  exact effects, derived here:

  - ``H_z(δ) = H_z(0) + δ I``: every eigenvalue shifts by ``δ``, so
    ``κ(δ) = (λ_max + δ)/(λ_min + δ)`` decreases with ``δ``;
  - ``z*(δ) = (H_z + δI)⁻¹ b``: ``‖z*(δ)‖`` decreases strictly (``‖z*‖² = Σ_k b_k²/(μ_k + δ)²``
    in the eigenbasis of ``H_z``) and ``dz*/dδ = −(H_z + δI)⁻¹ z*``;
  - ``F*(δ) = min_z F = F(0) − ½ bᵀ(H_z + δI)⁻¹ b`` (``F(0)`` the energy at ``z = 0``) increases
    and is concave in ``δ``, with ``dF*/dδ = ½‖z*(δ)‖²`` (envelope theorem,
    :func:`activity_decay_sensitivity`) and ``F*(δ) → F(z = 0)`` as ``δ → ∞``;
  - one hidden layer: completing the square turns the decay into a shrunken Gaussian prior, giving
    the closed form of :func:`one_hidden_layer_decay_equilibrium`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import scipy.linalg as sla
from numpy.typing import ArrayLike, NDArray

from ._validation import check_positive
from .network import LinearPCN
from .parameterisation import ParamType, check_param_type, init_weights, layer_scalings

__all__ = [
    "INIT_NAMES",
    "activity_decay_sensitivity",
    "init_network",
    "init_variances",
    "limits_output_precision",
    "one_hidden_layer_decay_equilibrium",
    "resolve_init",
]

Array = NDArray[np.float64]
InitName = Literal["default", "uniform", "normal", "standard_normal", "orthogonal"]
#: Initialisers of :func:`linpc.parameterisation.init_weights`.
INIT_NAMES: tuple[str, ...] = ("default", "uniform", "normal", "standard_normal", "orthogonal")


def resolve_init(param_type: str, init: str = "default") -> str:
    """The initialiser ``init="default"`` stands for: ``N(0, 1)`` for μPC, ``U(±1/√fan_in)`` else.

    This is the rule of :func:`linpc.parameterisation.init_weights` (jpc's ``make_mlp`` re-draws
    ``N(0, 1)`` weights only for ``"mupc"``; theory.md §8 item 8(d)).
    """
    check_param_type(param_type)
    if init not in INIT_NAMES:
        raise ValueError(f"unknown init {init!r}; expected one of {', '.join(INIT_NAMES)}")
    if init == "default":
        return "standard_normal" if param_type == "mupc" else "uniform"
    return init


def init_variances(
    widths: Sequence[int],
    *,
    param_type: ParamType = "sp",
    init: InitName = "default",
) -> Array:
    """Per-entry variance ``v_l = Var((W_l)_{ij})`` of the raw weights drawn by ``init_weights``.

    ================== ====================================================
    init               ``v_l``
    ================== ====================================================
    ``"uniform"``      ``1/(3 n_{l-1})`` (``U(±b)`` has variance ``b²/3``)
    ``"normal"``       ``1/n_{l-1}``
    ``"standard_normal"`` ``1``
    ``"orthogonal"``   ``1/max(n_l, n_{l-1})`` (entry of a Haar orthogonal matrix of that size)
    ================== ====================================================

    For all four, the entries have mean zero and ``E[W X Wᵀ] = v_l tr(X) I`` and
    ``E[Wᵀ W] = v_l n_l I`` for any fixed ``X`` (independent entries, or Haar invariance), which is
    all the second-moment formulas of :mod:`linpc.forward_scale` and :mod:`linpc.mupc_limits` use.

    Returns
    -------
    ndarray, shape (L,)
    """
    n = [int(w) for w in widths]
    if len(n) < 2 or min(n) < 1:
        raise ValueError(f"widths must list at least n_0 and n_1, all ≥ 1; got {list(widths)}")
    kind = resolve_init(param_type, init)
    v = np.empty(len(n) - 1)
    for l in range(1, len(n)):
        fan_in, fan_out = n[l - 1], n[l]
        v[l - 1] = {"uniform": 1.0 / (3.0 * fan_in), "normal": 1.0 / fan_in,
                    "standard_normal": 1.0, "orthogonal": 1.0 / max(fan_in, fan_out)}[kind]
    return v


def limits_output_precision(width: int, n_layers: int, gamma: float = 1.0) -> float:
    """The output precision ``λ = γ² N L`` that theory.md §1.4 attributes to the limits-paper code.

    Reading of jpc's ``experiments/dmft/test_equilib_energy.py`` in theory.md §1.4 (tagged [code,
    unv for the paper]); with ``a_L = 1/(γN)`` it makes the output term
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
    if int(width) < 1 or int(n_layers) < 2:
        raise ValueError(f"need width ≥ 1 and n_layers ≥ 2, got {width}, {n_layers}")
    g = check_positive(gamma, "gamma")
    return float(g * g * int(width) * int(n_layers))


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
        Multipliers (:func:`linpc.parameterisation.layer_scalings`).
    use_skips : bool
        Identity skips on layers ``2..L-1`` (μPC's architecture; NTP/μPC then use ``1/√(NL)``).
    init : str
        Weight initialiser (:func:`linpc.parameterisation.init_weights`); ``"default"`` is
        ``N(0, 1)`` for μPC and ``U(±1/√fan_in)`` otherwise.
    gamma : float, optional
        Divides ``a_L``.
    output_energy_scaling : float or "limits", optional
        Output precision ``λ``; ``"limits"`` uses :func:`limits_output_precision` with ``N = n_1``,
        ``L`` and ``γ`` (default 1).
    convention : {"fan_in", "jpc"}
        Multipliers per fan-in, or from the first hidden width as jpc does (theory.md §1.4).
    activity_decay : float
        ``δ ≥ 0`` of the activity regulariser.
    rng : numpy Generator, int or None
        Source of randomness (SPEC 7).

    Returns
    -------
    LinearPCN
    """
    check_param_type(param_type)
    w = tuple(int(v) for v in widths)
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


def one_hidden_layer_decay_equilibrium(
    net: LinearPCN, x: ArrayLike, y: ArrayLike
) -> tuple[Array, Array]:
    """Closed-form equilibrium of a one-hidden-layer network with activity decay ``δ``.

    Per sample, with prior mean ``m = M_1 x + c_1`` and precisions ``π_1``, ``λ = π_2``,

        F(z) = (π_1/2)‖z − m‖² + (δ/2)‖z‖² + (λ/2)‖y − M_2 z − c_2‖².

    Completing the square, ``(π_1/2)‖z − m‖² + (δ/2)‖z‖² = (p/2)‖z − m̃‖² + (π_1 δ/(2p))‖m‖²`` with
    ``p = π_1 + δ`` and ``m̃ = π_1 m/p``: a Gaussian prior ``N(m̃, p⁻¹ I)`` shrunk towards 0. The
    marginal of ``y`` (theory.md §2.2 item 1) then gives

        F* = (π_1 δ/(2p)) ‖m‖² + ½ r̃ᵀ S̃⁻¹ r̃,    r̃ = y − M_2 m̃ − c_2,    S̃ = λ⁻¹ I + M_2 M_2ᵀ/p,
        z* = m̃ + p⁻¹ M_2ᵀ S̃⁻¹ r̃.

    At ``δ = 0`` this is Theorem 1 of Innocenti et al. (NeurIPS 2024, arXiv:2408.11979) for one
    hidden layer. Only ``d_y × d_y`` systems are solved: the route never touches ``H_z``.

    Returns
    -------
    z : ndarray, shape (B, n_1)
        Equilibrium activities.
    F : ndarray, shape (B,)
        Per-sample equilibrated energies.
    """
    if net.n_hidden != 1:
        raise ValueError(f"one_hidden_layer_decay_equilibrium needs H = 1, got H = {net.n_hidden}")
    xa, ya = net.check_data(x, y)
    pi1, lam = float(net.precisions[0]), float(net.precisions[1])
    delta = net.activity_decay
    p = pi1 + delta
    m = net.predict_layer(1, xa)                       # (B, n_1)
    m_t = (pi1 / p) * m
    r_t = ya - net.predict_layer(2, m_t)               # y − M_2 m̃ − c_2
    M2 = net.layer_map(2)
    S_t = np.eye(net.d_y) / lam + (M2 @ M2.T) / p
    cf = sla.cho_factor(S_t, lower=True, check_finite=False)
    d = sla.cho_solve(cf, r_t.T, check_finite=False).T   # S̃⁻¹ r̃, (B, d_y)
    z = m_t + (d @ M2) / p
    F = 0.5 * pi1 * delta / p * np.sum(m * m, axis=1) + 0.5 * np.sum(r_t * d, axis=1)
    return z, F


def activity_decay_sensitivity(net: LinearPCN, x: ArrayLike, y: ArrayLike) -> float:
    """``dF*/dδ = ½ ⟨‖z*(δ)‖²⟩`` (batch mean) at the network's activity decay ``δ``.

    ``F*(δ) = min_z [F(z) + (δ/2)‖z‖²]``; the minimiser does not move to first order in the value
    (envelope theorem), so the derivative is the partial derivative of the objective at ``z*``.
    Since ``F*(δ) = F(0) − ½ bᵀ(H_z + δI)⁻¹b``, also ``d²F*/dδ² = −⟨z*ᵀ(H_z + δI)⁻¹z*⟩ < 0``.
    """
    from .equilibrium import solve_equilibrium

    eq = solve_equilibrium(net, x, y, method="cholesky", rtol=1.0)
    Z = np.concatenate(eq.activities, axis=1)
    return float(0.5 * np.mean(np.sum(Z * Z, axis=1)))
