"""Escape from the origin saddle: PC (GD on F*) against BP (GD on ℒ), predicted and measured.

Model ``f(x) = w_2w_1x`` (scalar input, one hidden unit, scalar output; SP, no biases), data
``(x_i, y_i)``, uncentred moments ``s_xy = ⟨xy⟩``, ``s_yy = ⟨y²⟩`` (docs/theory.md §0). At the
origin (docs/theory.md §3.2 scalar case, §4.2; P2's shallow-model theorem [P2]_; P1 Fig. 2 [P1]_)

    H_ℒ(0)  = −[[0, s_xy], [s_xy, 0]],                  λ_min = −|s_xy|,
    H_F*(0) = −[[0, λs_xy], [λs_xy, λ²s_yy]],           λ_min = −(λ²s_yy + √(λ⁴s_yy² + 4λ²s_xy²))/2,

(``F* = ℒ/(λ⁻¹ + w_2²)``, output precision ``λ``). Gradient descent with step ``η`` from ``w_0``
near the origin follows the linearisation ``w_t ≈ (I − ηH(0))^t w_0`` until ``‖w_t‖`` reaches a
radius ``ρ``; the component along the bottom eigenvector ``v`` grows as ``(1 + η|λ_min|)^t`` and
the others do not grow, so the escape time is ::

    t_esc = log(ρ/|⟨w_0, v⟩|) / log(1 + η|λ_min|) + O(1),

and, as the start scale ``ε = ‖w_0‖ → 0``, ::

    t_PC/t_BP → log(1 + η|λ_min(H_ℒ)|) / log(1 + η|λ_min(H_F*)|)
              → |λ_min(H_ℒ)| / |λ_min(H_F*)| = 2|s_xy| / (s_yy + √(s_yy² + 4s_xy²))   (η → 0, λ =
              1),

which is ``1/φ ≈ 0.618`` for ``y = ±x`` (φ the golden ratio). The ``O(1)`` offsets (the ``log|⟨u,
v⟩|`` of the random start, rounding to whole steps, the transient of the stable component and the
cubic terms of the gradients) make the finite-ε ratio converge with error ``O(1/log(1/ε))``.

:func:`shallow_escape_prediction` gives the predicted ratios of the one-hidden-unit model from the
data moments; :func:`escape_time_ratio` measures the escape times of full-batch BP and exact PC
for any one-hidden-layer network and fits the ``log(1/ε)`` slopes, whose ratio is free of the
``O(1)`` offsets (docs/theory.md §4.2).

References
----------
.. [P1] Innocenti et al., NeurIPS 2024, arXiv:2408.11979, Fig. 2.
.. [P2] Innocenti, Singh, Buckley, arXiv:2305.18188 (the shallow-model escape theorem).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from linpc.core.loss import mse_loss
from linpc.core.network import LinearPCN, check_network
from linpc.dynamics.training import train
from linpc.landscape.origin import origin_network, origin_spectra
from linpc.numerics.threads import thread_policy
from linpc.numerics.types import Array
from linpc.numerics.validation import (
    as_real_array,
    check_positive,
    check_positive_int,
    check_rng,
    check_tolerance,
    layer_label,
)

__all__ = [
    "EscapeTimeFit", "ShallowEscapePrediction", "escape_time_ratio", "shallow_escape_prediction",
]


@thread_policy
@dataclass(frozen=True)
class ShallowEscapePrediction:
    """Origin curvature of ℒ and F* in the one-hidden-unit model and the predicted escape times.

    Attributes
    ----------
    s_xy, s_yy : float
        Uncentred data moments ``⟨xy⟩``, ``⟨y²⟩``.
    output_precision : float
        ``λ``.
    loss_hessian, energy_hessian : ndarray, shape (2, 2)
        ``H_ℒ(0)`` and ``H_F*(0)`` in the parameter order ``(w_1, w_2)``.
    loss_min_eigenvalue, energy_min_eigenvalue : float
        ``λ_min(H_ℒ(0)) = −|s_xy|`` and ``λ_min(H_F*(0))``.
    loss_escape_direction, energy_escape_direction : ndarray, shape (2,)
        Unit bottom eigenvectors ``v``.
    """

    s_xy: float
    s_yy: float
    output_precision: float
    loss_hessian: Array
    energy_hessian: Array
    loss_min_eigenvalue: float
    energy_min_eigenvalue: float
    loss_escape_direction: Array
    energy_escape_direction: Array

    @property
    def eigenvalue_ratio(self) -> float:
        """``|λ_min(H_ℒ)|/|λ_min(H_F*)|``: predicted ``t_PC/t_BP`` for small steps (flow limit)."""
        return abs(self.loss_min_eigenvalue) / abs(self.energy_min_eigenvalue)

    def time_ratio(self, step_size: float) -> float:
        """``log(1 + η|λ_min(H_ℒ)|)/log(1 + η|λ_min(H_F*)|)``: the ``ε → 0`` limit of t_PC/t_BP."""
        eta = _check_step(step_size)
        return (np.log1p(eta * abs(self.loss_min_eigenvalue))
                / np.log1p(eta * abs(self.energy_min_eigenvalue)))

    def escape_steps(self, start: ArrayLike, radius: float, step_size: float
                     ) -> tuple[float, float]:
        """Predicted escape times ``(t_BP, t_PC)`` (in steps, real-valued) from ``w_0 = start``.

        ``t = log(ρ/|⟨w_0, v⟩|)/log(1 + η|λ_min|)`` for each Hessian: the number of steps for the
        unstable component of the linearised dynamics to reach ``ρ``.
        """
        w0 = as_real_array(start, "start")
        if w0.shape != (2,):
            raise ValueError(f"start must be (w_1, w_2), shape (2,), got {w0.shape}")
        eta = _check_step(step_size)
        rho = check_positive(radius, "radius")
        out = []
        for v, lam in ((self.loss_escape_direction, self.loss_min_eigenvalue),
                       (self.energy_escape_direction, self.energy_min_eigenvalue)):
            c = abs(float(v @ w0))
            if c == 0 or lam >= 0:
                out.append(np.inf)
            else:
                out.append(float(np.log(rho / c) / np.log1p(eta * abs(lam))))
        return out[0], out[1]


def _check_step(step_size: float) -> float:
    return check_positive(step_size, "step_size")


def _bottom(Hm: Array) -> tuple[float, Array]:
    w, V = np.linalg.eigh(Hm)
    return float(w[0]), V[:, 0]


@thread_policy
def shallow_escape_prediction(x: ArrayLike, y: ArrayLike, *,
                              output_precision: float = 1.0) -> ShallowEscapePrediction:
    """Predict the PC/BP saddle-escape ratio of the model ``f(x) = w_2w_1x`` from data moments.

    ``t_PC/t_BP ≈ |λ_min(H_ℒ(0))|/|λ_min(H_F*(0))| = 2|s_xy|/(s_yy + √(s_yy² + 4s_xy²))`` for
    ``λ = 1`` (docs/theory.md §4.2; Innocenti et al., arXiv:2305.18188, shallow-model theorem; P1
    Fig. 2); see the module docstring for the general-λ Hessians and the finite-step ratio.

    Parameters
    ----------
    x, y : array_like
        Scalar samples, shape ``(B,)`` or ``(B, 1)``.
    output_precision : float
        ``λ > 0`` (papers: 1).

    Returns
    -------
    ShallowEscapePrediction
    """
    xa = as_real_array(x, "x")
    ya = as_real_array(y, "y")
    if xa.ndim == 2 and xa.shape[1] == 1:
        xa = xa[:, 0]
    if ya.ndim == 2 and ya.shape[1] == 1:
        ya = ya[:, 0]
    if xa.ndim != 1 or ya.ndim != 1 or xa.shape != ya.shape or xa.size == 0:
        raise ValueError(f"x and y must be scalar samples of equal length, shapes (B,) or (B, 1); "
                         f"got {np.shape(x)} and {np.shape(y)}")
    lam = check_positive(output_precision, "output_precision")
    s_xy = float(np.mean(xa * ya))
    s_yy = float(np.mean(ya * ya))
    if s_xy == 0:
        raise ValueError("s_xy = ⟨xy⟩ = 0: the origin is not a strict saddle of ℒ (no escape "
                         "direction at second order), the ratio is undefined")
    HL = -np.array([[0.0, s_xy], [s_xy, 0.0]])
    HF = -np.array([[0.0, lam * s_xy], [lam * s_xy, lam * lam * s_yy]])
    lL, vL = _bottom(HL)
    lF, vF = _bottom(HF)
    # closed forms, exact in exact arithmetic (the eigensolver's values agree to round-off)
    lL = -abs(s_xy)
    lF = -0.5 * (lam * lam * s_yy + np.sqrt(lam**4 * s_yy**2 + 4 * lam * lam * s_xy**2))
    return ShallowEscapePrediction(s_xy, s_yy, lam, HL, HF, lL, float(lF), vL, vF)


@dataclass(frozen=True)
class EscapeTimeFit:
    """Escape times of full-batch GD on ``ℒ`` (BP) and ``F*`` (exact PC) from ``θ = ε u``.

    Linear theory near the saddle: the component along the most negative Hessian eigenvector grows
    by ``1 + η|λ_min|`` per step, so the escape step is ``t(ε) = s log(1/ε) + C + q`` with slope
    ``s = 1/log(1 + η|λ_min|)``, a constant ``C`` (overlap of ``u`` with the eigenvector and the
    non-linear phase, both independent of ``ε`` as ``ε → 0``) and an integer-rounding term
    ``q ∈ (−1, 0]``. The ratio of the fitted slopes therefore estimates
    ``log(1 + η|λ_min(∇²ℒ)|)/log(1 + η|λ_min(∇²F*)|)`` with an error bounded by the rounding alone,
    while the raw ratio ``t_PC/t_BP`` approaches it only as ``O(1/log(1/ε))``.

    Attributes
    ----------
    eps : ndarray
    steps_bp, steps_pc : ndarray of int
        Escape steps (first ``ℒ < threshold``).
    slope_bp, slope_pc : float
        Least-squares slopes of the escape step against ``log(1/ε)``.
    slope_error_bp, slope_error_pc : float
        Bounds ``½ Σ_k |w_k|`` on the slope error from the rounding ``q_k`` (``w_k`` the
        least-squares weights), i.e. ``|slope − s| ≤ slope_error`` up to ``O(ε²)`` effects.
    ratio : float
        ``slope_pc / slope_bp`` (the escape-time ratio ``t_PC/t_BP`` as ``ε → 0``).
    ratio_error : float
        Propagated bound on ``|ratio − predicted_discrete|``.
    predicted_discrete : float
        ``log(1 + η|λ_min(∇²ℒ(0))|) / log(1 + η|λ_min(∇²F*(0))|)``.
    predicted_flow : float
        ``|λ_min(∇²ℒ(0))| / |λ_min(∇²F*(0))|`` (the ``η → 0`` limit; docs/theory.md §4.2).
    raw_ratios : ndarray
        ``steps_pc / steps_bp`` per ``ε``.
    """

    eps: Array
    steps_bp: NDArray[np.int64]
    steps_pc: NDArray[np.int64]
    slope_bp: float
    slope_pc: float
    slope_error_bp: float
    slope_error_pc: float
    ratio: float
    ratio_error: float
    predicted_discrete: float
    predicted_flow: float
    raw_ratios: Array


@thread_policy
def escape_time_ratio(
    net: LinearPCN,
    x: ArrayLike,
    y: ArrayLike,
    *,
    eps: ArrayLike = (1e-3, 1e-5, 1e-7, 1e-9, 1e-11),
    direction: Sequence[ArrayLike] | None = None,
    learning_rate: float = 0.1,
    threshold: float | None = None,
    max_steps: int = 20_000,
    rng: np.random.Generator | int | None = 0,
) -> EscapeTimeFit:
    """Fit escape times of BP and exact PC from ``θ = εu`` near the origin (one hidden layer).

    Parameters
    ----------
    net : LinearPCN
        Plain, no biases, ``H = 1``; only its multipliers and precisions are used.
    x, y : array_like
        Fixed batch (full-batch GD, ``convention="matched"``).
    eps : array_like
        Start scales; they should span several decades.
    direction : sequence of array_like, optional
        ``u`` as per-layer arrays (normalised); default a Gaussian draw from ``rng``.
    learning_rate : float
        ``η`` (the same for both methods).
    threshold : float, optional
        Escape when ``ℒ < threshold``; default ``ℒ(0)/2``.
    max_steps : int
        Cap per run.

    Returns
    -------
    EscapeTimeFit
    """
    check_network(net)
    eta = check_positive(learning_rate, "learning_rate")
    check_tolerance(threshold, "threshold", allow_none=True)
    max_steps = check_positive_int(max_steps, "max_steps")
    e = as_real_array(eps, "eps", ndim=1)
    if e.size < 2 or np.any(e <= 0):
        raise ValueError(f"eps must hold at least 2 start scales > 0 (for a slope), got "
                         f"{e.tolist()}")
    if net.n_hidden != 1:
        raise ValueError(f"escape_time_ratio is for one hidden layer (BP's linear escape needs a "
                         f"negative eigenvalue of ∇²ℒ(0)), got H = {net.n_hidden}")
    net0 = origin_network(net)
    xa, ya = net0.check_data(x, y)
    gen = check_rng(rng)
    if direction is None:
        U = [gen.standard_normal(W.shape) for W in net0.weights]
    else:
        if isinstance(direction, (str, bytes)) or len(direction) != net0.n_layers:
            raise ValueError(f"direction must hold one array per layer (L = {net0.n_layers})")
        U = [as_real_array(u, layer_label("direction", l, "u", "direction"))
             for l, u in enumerate(direction, start=1)]
        for l, (u, W) in enumerate(zip(U, net0.weights, strict=True), start=1):
            if u.shape != W.shape:
                raise ValueError(f"{layer_label('direction', l, 'u', 'direction')} must have "
                                 f"shape {W.shape}, got {u.shape}")
        if not any(np.any(u) for u in U):
            raise ValueError("direction must not be zero")
    nrm = np.sqrt(sum(np.sum(u * u) for u in U))
    U = [u / nrm for u in U]
    L0 = mse_loss(net0, xa, ya)
    thr = 0.5 * L0 if threshold is None else float(threshold)
    t_bp, t_pc = [], []
    for ej in e:
        start = net0.replace(weights=[ej * u for u in U])
        for method, out in (("bp", t_bp), ("pc_exact", t_pc)):
            tr = train(start, (xa, ya), method=method, learning_rate=learning_rate,
                       n_steps=max_steps, stop_below=np.nextafter(thr, 0.0),
                       escape_threshold=thr)
            if tr.escape_step is None:
                raise RuntimeError(f"{method} did not escape within {max_steps} steps from "
                                   f"ε = {ej:g}; raise max_steps or the learning rate")
            out.append(tr.escape_step)
    ell = np.log(1.0 / e)
    w = (ell - ell.mean()) / np.sum((ell - ell.mean()) ** 2)
    sb = float(w @ np.array(t_bp))
    sp = float(w @ np.array(t_pc))
    db = dp = 0.5 * float(np.sum(np.abs(w)))
    ratio = sp / sb
    ratio_err = (dp + abs(ratio) * db) / (sb - db)
    spec_e, spec_m = origin_spectra(net0, xa, ya)
    lf, lm = abs(spec_e.lambda_min), abs(spec_m.lambda_min)
    pred_d = np.log1p(eta * lm) / np.log1p(eta * lf)
    return EscapeTimeFit(e, np.array(t_bp), np.array(t_pc), sb, sp, db, dp, ratio, ratio_err,
                         float(pred_d), lm / lf, np.array(t_pc) / np.array(t_bp))
