"""Energy → MSE and PC → BP under μPC when width ≫ depth (docs/theory.md §6.3).

The equilibrated energy is the rescaled MSE ``F* = (1/2B) Σ_i r_iᵀ S⁻¹ r_i`` with
``S = λ⁻¹ I + Σ_{l=2}^{L} M_{L:l} M_{L:l}ᵀ`` (Innocenti et al., NeurIPS 2024, arXiv:2408.11979,
Theorem 1). When ``S → λ⁻¹ I`` the energy becomes ``λℒ`` and, by the envelope theorem, the PC
weight gradient at equilibrium becomes ``λ`` times the backpropagation gradient. The limits paper
(Innocenti, Achour & Bogacz, arXiv:2602.07697) shows that under μPC this happens when width ≫
depth. At initialisation the rate follows from second moments alone [der]:

**Expected rescaling.** For zero-mean weights with per-entry variance ``v_l``
(:func:`linpc.core.initialisation.init_variances`) and any fixed ``X``, ``E[W X Wᵀ] = v tr(X) I``,
so a plain layer maps ``E tr(M X Mᵀ) = g tr X`` and a residual one ``E tr((I + aW) X (I + aW)ᵀ) = g
tr X`` with the forward gains ``g_l`` of :func:`linpc.mupc.forward_scale.layer_gains`. With the
output layer plain,

    E[S] = s·I_{d_y},    s = λ⁻¹ + a_L² v_L Σ_{l=2}^{L} n_{l−1} Π_{k=l}^{L−1} g_k

(:func:`expected_rescaling`). For μPC with skips (``v = 1``, ``g_k = 1 + 1/L`` for ``2 ≤ k ≤ L−1``,
``a_L = 1/(γN)``, width ``N``) the sum is geometric:

    s = λ⁻¹ + (L/(γ²N)) ((1 + 1/L)^{L−1} − 1)   ≈   λ⁻¹ + (e − 1) L/(γ²N),

which is docs/theory.md's ``1 + (L/N)((1 + 1/L)^{L−1} − 1)`` at ``λ = γ = 1`` (re-derived: correct).
Without skips (``a_l = 1/√N``, ``g = 1``) it is ``λ⁻¹ + (L − 1)/(γ²N)``. So ``S → λ⁻¹I`` and
``F* → λℒ`` at rate ``L/N``. Across initialisations ``S`` fluctuates around its mean by
``O(N^{−3/2})`` per entry at fixed depth, about ``N^{−1/2}`` times the offset ``E[S] − λ⁻¹``
(measured: 0.14–0.16 of the offset at ``N = 64`` for ``H = 3`` and ``15``), so single networks
follow the mean at large width.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from linpc.core.equilibrium import (
    equilibrated_energy_gradient,
    equilibrium_rescaling,
    solve_equilibrium,
)
from linpc.core.initialisation import InitName, init_network, init_variances
from linpc.core.loss import mse_gradient, mse_loss
from linpc.core.network import LinearPCN, check_network
from linpc.core.parameterisation import ParamType, layer_scalings
from linpc.mupc.forward_scale import layer_gains
from linpc.numerics.threads import thread_policy
from linpc.numerics.tolerances import eigenvalue_tolerance
from linpc.numerics.types import Array
from linpc.numerics.validation import (
    check_bool,
    check_int,
    check_positive,
    check_positive_int,
    check_rng,
    check_widths,
)
from linpc.numerics.warnings import spd_condition_number

__all__ = [
    "Agreement", "agreement_point", "expected_rescaling", "mupc_expected_rescaling",
    "pc_bp_agreement", "sample_rescalings",
]


@thread_policy
def expected_rescaling(
    widths: Sequence[int],
    *,
    param_type: ParamType = "mupc",
    use_skips: bool = True,
    init: InitName = "default",
    gamma: float | None = None,
    output_energy_scaling: float | None = None,
    convention: Literal["fan_in", "jpc"] = "fan_in",
) -> float:
    """``s`` with ``E[S] = s·I`` over random initialisations (module docstring; exact).

    ``s = λ⁻¹ + a_L² v_L Σ_{l=2}^{L} n_{l−1} Π_{k=l}^{L−1} g_k``; unit hidden precisions.

    Parameters
    ----------
    widths : sequence of int
        ``(n_0, …, n_L)``.
    param_type, use_skips, init, gamma, convention
        The parameterisation and initialiser (as in :func:`linpc.core.initialisation.init_network`).
    output_energy_scaling : float, optional
        ``λ`` (default 1).
    """
    n = list(check_widths(widths, "widths", min_layers=2))
    L = len(n) - 1
    lam = check_positive(output_energy_scaling, "output_energy_scaling", allow_none=True)
    lam = 1.0 if lam is None else lam
    a = layer_scalings(n, param_type, use_skips=use_skips, gamma=gamma, convention=convention)
    v = init_variances(n, param_type=param_type, init=init)
    g = layer_gains(n, param_type=param_type, use_skips=use_skips, init=init, gamma=gamma,
                    convention=convention)
    total = 0.0
    for l in range(2, L + 1):
        total += n[l - 1] * float(np.prod(g[l - 1:L - 1]))   # g_l … g_{L−1}
    return 1.0 / lam + a[-1] ** 2 * v[-1] * total


@thread_policy
def mupc_expected_rescaling(
    width: int,
    n_layers: int,
    *,
    gamma: float | None = None,
    output_energy_scaling: float | None = None,
    use_skips: bool = True,
) -> float:
    """Closed form of ``E[S]/I`` at μPC initialisation (``W ~ N(0, 1)``, equal widths ``N``).

    ``λ⁻¹ + (L/(γ²N))((1 + 1/L)^{L−1} − 1)`` with skips, ``λ⁻¹ + (L − 1)/(γ²N)`` without (module
    docstring; docs/theory.md §6.3 for ``λ = γ = 1``).
    """
    N = check_positive_int(width, "width")
    L = check_int(n_layers, "n_layers", minimum=2)
    lam = check_positive(output_energy_scaling, "output_energy_scaling", allow_none=True)
    lam = 1.0 if lam is None else lam
    gamma = check_positive(gamma, "gamma", allow_none=True)
    g2 = 1.0 if gamma is None else gamma**2
    if check_bool(use_skips, "use_skips"):
        return 1.0 / lam + L / (g2 * N) * ((1.0 + 1.0 / L) ** (L - 1) - 1.0)
    return 1.0 / lam + (L - 1) / (g2 * N)


@thread_policy
def sample_rescalings(
    widths: Sequence[int],
    *,
    n_draws: int,
    param_type: ParamType = "mupc",
    use_skips: bool = True,
    init: InitName = "default",
    gamma: float | None = None,
    output_energy_scaling: float | None = None,
    rng: np.random.Generator | int | None = None,
) -> Array:
    """``S`` for ``n_draws`` independent initialisations, shape ``(n_draws, d_y, d_y)``.

    Each ``S`` comes from the Gaussian covariance recursion of the drawn network
    (:func:`linpc.equilibrium_rescaling`), not from the moment formula.
    """
    widths = check_widths(widths, "widths", min_layers=2)
    n_draws = check_positive_int(n_draws, "n_draws")
    gen = check_rng(rng)
    out = np.empty((n_draws, widths[-1], widths[-1]))
    for i in range(int(n_draws)):
        net = init_network(widths, param_type=param_type, use_skips=use_skips, init=init,
                           gamma=gamma, output_energy_scaling=output_energy_scaling, rng=gen)
        out[i] = equilibrium_rescaling(net, method="gaussian")
    return out


@dataclass(frozen=True)
class Agreement:
    """How close PC at equilibrium is to backpropagation for one network and batch.

    Attributes
    ----------
    energy_ratio : float
        ``F*/(λℒ)`` (1 when ``S = λ⁻¹ I``); by docs/theory.md §2.3 it lies in
        ``[1/(λ λ_max(S)), 1/(λ λ_min(S))]``.
    gradient_cosine : float
        Cosine between the PC gradient at equilibrium ``∇F*`` (envelope theorem) and the BP
        gradient ``∇ℒ`` over all weights.
    relative_gradient_difference : float
        ``‖∇F*/λ − ∇ℒ‖ / ‖∇ℒ‖``.
    rescaling_eigenvalues : ndarray, shape (2,)
        ``λ_min(S), λ_max(S)``; when ``λ_min(S)`` is below what float64 can certify
        (:func:`linpc.numerics.tolerances.eigenvalue_floor`), its upper bound, with an
        :class:`~linpc.IllConditionedWarning`.
    """

    energy_ratio: float
    gradient_cosine: float
    relative_gradient_difference: float
    rescaling_eigenvalues: Array


@thread_policy
def pc_bp_agreement(net: LinearPCN, x: ArrayLike, y: ArrayLike) -> Agreement:
    """Energy ratio and gradient alignment of PC (at the exact equilibrium) and BP.

    ``F*`` and ``∇F*`` come from the block-Cholesky equilibrium (route 1), ``S`` from the
    covariance recursion (route 2), ``ℒ`` and ``∇ℒ`` from backpropagation (:mod:`linpc.core.loss`).
    """
    check_network(net)
    eq = solve_equilibrium(net, x, y, method="cholesky", warn_if_error_above=None)
    lam = net.output_precision
    L_mse = mse_loss(net, x, y)
    g_pc = equilibrated_energy_gradient(net, x, y, equilibrium=eq).flat()
    g_bp = mse_gradient(net, x, y).flat()
    nb = float(np.linalg.norm(g_bp))
    npc = float(np.linalg.norm(g_pc))
    cos = float(g_pc @ g_bp / (npc * nb)) if npc > 0 and nb > 0 else float("nan")
    S = equilibrium_rescaling(net, method="gaussian")
    w = np.linalg.eigvalsh(S)
    _, certified = spd_condition_number(w[0], w[-1], net.d_y, "the rescaling S")
    if not certified:       # round-off (possibly ≤ 0): report the upper bound, as warned
        w[0] = max(w[0], 0.0) + eigenvalue_tolerance(net.d_y, w[-1])
    return Agreement(
        energy_ratio=float(eq.energy / (lam * L_mse)) if L_mse > 0 else float("nan"),
        gradient_cosine=cos,
        relative_gradient_difference=float(np.linalg.norm(g_pc / lam - g_bp) / nb)
        if nb > 0 else float("nan"),
        rescaling_eigenvalues=np.array([w[0], w[-1]]),
    )


@thread_policy
def agreement_point(point: dict, rng: np.random.Generator) -> dict:
    """Sweep point function (:mod:`linpc.reproduce.sweeps`): PC vs BP at μPC initialisation.

    ``point`` keys: ``H``, ``N``, ``d_x``, ``d_y``, ``B``; optional ``param_type`` (default
    ``"mupc"``), ``use_skips`` (default True). Data: ``x ~ N(0, I)``, ``y = T x/√d_x + ε`` with a
    random teacher ``T ~ N(0, 1)`` and noise ``ε ~ N(0, 0.25 I)`` (generic, non-realisable).

    Returns
    -------
    dict
        ``energy_ratio``, ``gradient_cosine``, ``relative_gradient_difference``,
        ``rescaling_min``, ``rescaling_max`` and the prediction ``expected_rescaling``.
    """
    H, N = int(point["H"]), int(point["N"])
    d_x, d_y, B = int(point["d_x"]), int(point["d_y"]), int(point["B"])
    widths = (d_x,) + (N,) * H + (d_y,)
    pt = point.get("param_type", "mupc")
    skips = bool(point.get("use_skips", True))
    net = init_network(widths, param_type=pt, use_skips=skips, rng=rng)
    x = rng.standard_normal((B, d_x))
    T = rng.standard_normal((d_y, d_x))
    y = x @ T.T / np.sqrt(d_x) + 0.5 * rng.standard_normal((B, d_y))
    ag = pc_bp_agreement(net, x, y)
    return {"energy_ratio": ag.energy_ratio, "gradient_cosine": ag.gradient_cosine,
            "relative_gradient_difference": ag.relative_gradient_difference,
            "rescaling_min": ag.rescaling_eigenvalues[0],
            "rescaling_max": ag.rescaling_eigenvalues[1],
            "expected_rescaling": expected_rescaling(widths, param_type=pt, use_skips=skips)}
