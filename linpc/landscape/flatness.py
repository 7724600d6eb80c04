"""Orders of flatness at the origin: exact (Taylor coefficients) and measured (log–log slopes).

**Orders of flatness** (docs/theory.md §5.1; P1; blog B4): ``ord_0 f`` = the first ``k ≥ 1`` with
``c_k ≠ 0``. At the origin of a plain network, ``ℒ(εV) − ℒ(0) = −ε^{L}tr(V_{L:1}Σ_xy) + O(ε^{2L})``
(the multipliers included in ``V_{L:1} = a_LV_L⋯a_1V_1``), so ``ord_0 ℒ = H + 1``, while
``F*(εV) = F*(0) − (λ²a_L²/(2π_{L-1})) tr(V_LᵀΣ_yyV_L) ε² + …`` (``H ≥ 2``; for ``H = 1`` also
``−λa_1a_2 tr(V_2V_1Σ_xy)ε²``), so ``ord_0 F* = 2`` for every depth. With identity skips the
origin has ``M_l = I`` on residual layers and ``M_{L:1}(εV) = ε²a_La_1V_LV_1 + O(ε³)``: then
``ord_0 ℒ = 2`` as well.

Two independent measurements of these orders:

* :func:`origin_flatness_orders` — exact, from the directional Taylor coefficients of
  :func:`linpc.landscape.expansions.directional_taylor_coefficients` (:func:`flatness_order` reads
  the first nonzero one);
* :func:`flatness_slopes` — measured, the log–log slopes of ``|ℒ(εV) − ℒ(0)|``,
  ``|F*(εV) − F*(0)|``, ``‖∇ℒ(εV)‖`` and ``‖∇F*(εV)‖`` over a range of ``ε``, predicted to be
  ``H + 1``, ``2``, ``H`` and ``1`` for plain networks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from linpc.core.equilibrium import equilibrated_energy_gradient, solve_equilibrium
from linpc.core.gaussian import cross_covariances
from linpc.core.loss import mse_gradient
from linpc.core.network import LinearPCN, check_network
from linpc.core.parameter_arrays import ParameterArrays
from linpc.landscape.expansions import TaylorExpansion, directional_taylor_coefficients
from linpc.landscape.origin import origin_network, require_plain
from linpc.numerics.threads import thread_policy
from linpc.numerics.tolerances import roundoff_tolerance
from linpc.numerics.types import Array
from linpc.numerics.validation import as_real_array, check_positive_int, check_rng, check_tolerance

__all__ = ["FlatnessSlopes", "flatness_order", "flatness_slopes", "origin_flatness_orders"]


@thread_policy
@dataclass(frozen=True)
class FlatnessSlopes:
    """Measured orders of flatness at the origin along random directions (docs/theory.md §5.1).

    Attributes
    ----------
    eps : ndarray
        Step sizes ``ε`` (log-spaced).
    values : dict of str → ndarray (n_directions, n_eps)
        ``"mse"``: ``|ℒ(εV) − ℒ(0)|``; ``"energy"``: ``|F*(εV) − F*(0)|``; ``"mse_gradient"``:
        ``‖∇ℒ(εV)‖``; ``"energy_gradient"``: ``‖∇F*(εV)‖``.
    slopes : dict of str → ndarray (n_directions,)
        Least-squares slopes of ``log value`` against ``log ε``.
    residuals : dict of str → ndarray (n_directions,)
        Root-mean-square residual of each log–log fit (a straight line has 0).
    predicted : dict of str → int
        ``H + 1``, ``2``, ``H`` and ``1``.
    """

    eps: Array
    values: dict
    slopes: dict
    residuals: dict
    predicted: dict

    def max_slope_error(self) -> float:
        """``max |slope − predicted|`` over quantities and directions."""
        return float(max(np.max(np.abs(self.slopes[k] - self.predicted[k])) for k in self.slopes))


def _increments(net: LinearPCN, x: Array, y: Array) -> tuple[float, float]:
    """``ℒ − ℒ(0)`` and ``F* − F*(0)`` without cancellation (``F*(0) = λℒ(0) = (λ/2)⟨‖y‖²⟩``).

    ``ℒ − ℒ(0) = ⟨½‖ŷ‖² − yᵀŷ⟩``; with ``S = λ⁻¹(I + λQ)``,
    ``S⁻¹ = λI − λ²Q(I + λQ)⁻¹`` so ``F* − F*(0) = λ(ℒ − ℒ(0)) − (λ²/2)⟨rᵀQ(I + λQ)⁻¹r⟩``.
    """
    yhat = net.predict(x)
    dL = float(np.mean(0.5 * np.sum(yhat * yhat, axis=1) - np.sum(y * yhat, axis=1)))
    lam = net.output_precision
    _, S = cross_covariances(net)
    Q = S - np.eye(net.d_y) / lam
    r = y - yhat
    A = np.eye(net.d_y) + lam * Q
    t = np.linalg.solve(A, r.T)                     # (I + λQ)⁻¹ r
    corr = float(np.mean(np.sum((Q @ t) * r.T, axis=0)))
    return dL, lam * dL - 0.5 * lam * lam * corr


@thread_policy
def flatness_slopes(
    net_or_widths: LinearPCN | Sequence[int],
    x: ArrayLike,
    y: ArrayLike,
    *,
    n_directions: int = 3,
    eps: ArrayLike | None = None,
    rng: np.random.Generator | int | None = None,
    **network_keywords,
) -> FlatnessSlopes:
    """Log–log slopes of ``ℒ``, ``F*`` and their gradient norms along ``θ = εV`` (docs/theory.md
    §5.1).

    Predicted: ``ord ℒ = H + 1``, ``ord F* = 2`` (every ``H``), ``‖∇ℒ‖ = Θ(ε^H)``, ``‖∇F*‖ = Θ(ε)``
    (P1 and blog B2: "order-flatness equals the number of hidden layers"; thesis P4 abstract:
    PC uses "arbitrarily higher-order information"). The increments are computed without
    cancellation (``_increments``), so ``ε`` can be small enough for the leading order to dominate.

    Parameters
    ----------
    net_or_widths : LinearPCN or sequence of int
        Multipliers and precisions of the network (weights ignored; plain, no biases).
    x, y : array_like
        Batch.
    n_directions : int
        Number of random unit directions ``V`` (Gaussian, normalised over all parameters).
    eps : array_like, optional
        Step sizes; default ``logspace(-3, -1.5, 7)``.
    rng : Generator, int or None
        Source of the directions.

    Returns
    -------
    FlatnessSlopes
    """
    n_directions = check_positive_int(n_directions, "n_directions")
    e = np.logspace(-3, -1.5, 7) if eps is None else as_real_array(eps, "eps", ndim=1)
    if e.size < 2 or np.any(e <= 0):
        raise ValueError(f"eps must hold at least 2 step sizes > 0 (for a log–log slope), got "
                         f"{e.tolist()}")
    net0 = origin_network(net_or_widths, **network_keywords)
    require_plain(net0, "the flatness orders")
    xa, ya = net0.check_data(x, y)
    gen = check_rng(rng)
    H = net0.n_hidden
    keys = ("mse", "energy", "mse_gradient", "energy_gradient")
    vals = {k: np.zeros((n_directions, e.size)) for k in keys}
    for d in range(n_directions):
        V = [gen.standard_normal(W.shape) for W in net0.weights]
        nrm = np.sqrt(sum(np.sum(v * v) for v in V))
        V = [v / nrm for v in V]
        for j, ej in enumerate(e):
            nt = net0.replace(weights=[ej * v for v in V])
            dL, dF = _increments(nt, xa, ya)
            vals["mse"][d, j] = abs(dL)
            vals["energy"][d, j] = abs(dF)
            vals["mse_gradient"][d, j] = mse_gradient(nt, xa, ya).norm()
            eq = solve_equilibrium(nt, xa, ya, method="gaussian")
            vals["energy_gradient"][d, j] = equilibrated_energy_gradient(
                nt, xa, ya, equilibrium=eq).norm()
    slopes, resid = {}, {}
    le = np.log(e)
    for k in keys:
        s, r = np.zeros(n_directions), np.zeros(n_directions)
        for d in range(n_directions):
            if not np.all(vals[k][d] > 0):      # underflow (or exact 0): no logarithm
                j = int(np.argmin(vals[k][d] > 0))
                raise ValueError(
                    f"the {k.replace('_', ' ')} increment is {vals[k][d][j]!r} at ε = {e[j]:g} "
                    f"(direction {d}): it underflows float64 (the increments decay like a power "
                    f"of ε up to ε^{H + 1}), so no log–log slope can be fitted; use larger eps")
            lv = np.log(vals[k][d])
            coef = np.polyfit(le, lv, 1)
            s[d] = coef[0]
            r[d] = float(np.sqrt(np.mean((np.polyval(coef, le) - lv) ** 2)))
        slopes[k], resid[k] = s, r
    predicted = {"mse": H + 1, "energy": 2, "mse_gradient": H, "energy_gradient": 1}
    return FlatnessSlopes(e, vals, slopes, resid, predicted)


@thread_policy
def flatness_order(coefficients: ArrayLike, *, atol: float | None = None) -> int | None:
    """Order of flatness: the first ``k ≥ 1`` with ``|c_k| > atol`` (``None`` if none up to ``K``).

    ``atol`` defaults to ``SAFETY·K·eps·max_k |c_k|``, the round-off level of coefficients computed
    by ``K``-term recursions of that magnitude; at the origin of a plain network the vanishing
    coefficients are exact zeros (products with zero matrices), so the default only matters at
    other base points.
    """
    c = as_real_array(coefficients, "coefficients", ndim=1)
    if c.size == 0:
        raise ValueError("coefficients must hold at least c_0")
    check_tolerance(atol, "atol", allow_none=True, allow_zero=True)
    K = c.size - 1
    if atol is None:
        atol = roundoff_tolerance(K) * float(np.max(np.abs(c)))
    for k in range(1, K + 1):
        if abs(c[k]) > atol:
            return k
    return None


@thread_policy
def origin_flatness_orders(
    net: LinearPCN,
    x: ArrayLike,
    y: ArrayLike,
    *,
    direction: ParameterArrays | Sequence[ArrayLike] | None = None,
    rng: np.random.Generator | int | None = None,
) -> tuple[int | None, int | None, TaylorExpansion]:
    """Orders of flatness of ``ℒ`` and ``F*`` at the origin ``θ = 0`` of ``net``'s architecture.

    The origin keeps the multipliers, skips and precisions of ``net`` and sets all weights and
    biases to 0. Along a generic direction (default: standard normal weights from ``rng``, no bias
    component) docs/theory.md §5.1 predicts ``ord ℒ = H + 1`` and ``ord F* = 2`` for plain networks
    (P1; blog B4: the escape direction of ℒ's saddle appears at order ``H + 1``, but in the
    curvature of ``F*``); with identity skips ``ord ℒ = 2`` (module docstring). The expansion runs
    to order ``max(2L, 4)``.

    Returns
    -------
    ord_loss, ord_energy : int or None
    expansion : TaylorExpansion
    """
    check_network(net)
    origin = net.replace(weights=[np.zeros_like(W) for W in net.weights],
                         biases=[None if b is None else np.zeros_like(b) for b in net.biases]
                         if net.has_biases else None)
    gen = check_rng(rng)
    if direction is None:
        direction = [gen.standard_normal(W.shape) for W in net.weights]
    exp = directional_taylor_coefficients(origin, x, y, direction, max(2 * net.n_layers, 4))
    return flatness_order(exp.loss), flatness_order(exp.energy), exp
