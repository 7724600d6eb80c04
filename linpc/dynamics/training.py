"""Training loops: BP (GD on ℒ), PC with exact inference (GD on F*), PC with finite inference.

Three update rules, all on the raw parameters ``θ`` of a :class:`~linpc.LinearPCN`:

* ``"bp"`` — ``θ ← θ − η s_BP ∇ℒ`` (backpropagation), optionally with an output mask
  ``ℒ_m = (1/2B) Σ_i ‖m_i ⊙ r_i‖²``;
* ``"pc_exact"`` — ``θ ← θ − η s_PC ∇F*``: PC with inference run to its equilibrium (closed form,
  :func:`~linpc.equilibrated_energy_gradient`; envelope theorem);
* ``"pc_euler"`` — PC as the papers run it: ``T`` Euler steps ``z ← z − dt ∇_zF`` (per sample) from
  the feedforward pass, then ``θ ← θ − η s_PC ∂F_B/∂θ`` at the resulting activities
  (:func:`linpc.core.inference.pc_euler_gradient`).

**Batch conventions (docs/theory.md §0, §8.4).** linpc's canonical objectives are batch means
with ½: ``ℒ = (1/2B)Σ‖r‖²`` and ``F_B = (1/B)Σ F``. The scale factors ``(s_BP, s_PC)`` are

* ``convention="matched"``: ``(1, 1)``. Near the origin ``S ≈ λ⁻¹I``, so ``F* ≈ λℒ`` and the same
  ``η`` means the same effective step (like for like). The JAX notebooks of the chain toys
  (P1 Figs. 2/7 [P1]_) use this normalisation, so there the papers' setting *is* ``"matched"``.
* ``convention="pytorch"``: ``(2/d_y, B)``: BP descends PyTorch's ``nn.MSELoss()`` (mean over batch
  *and* outputs, no ½ = ``(2/d_y)ℒ``) while PC descends ``½ Σ_batch Σ_l ‖e_l‖²`` (summed over the
  batch = ``B·F_B``): the PyTorch notebooks of P1 Figs. 5–6. The "same learning rate" there gives PC
  a step ``B·d_y/2`` times larger (50 for the matrix-completion task).

Everything runs in seconds: inference is closed form (``"pc_exact"``) or a vectorised Euler loop
over the whole batch (``"pc_euler"``), and the networks are small. The experiments built on these
loops are in :mod:`linpc.dynamics.toys`, :mod:`linpc.dynamics.matrix_completion` and
:mod:`linpc.dynamics.escape`.

References
----------
.. [P1] Innocenti et al., NeurIPS 2024, arXiv:2408.11979, Figs. 2, 5–7.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from linpc.core.backprop import backpropagate
from linpc.core.equilibrium import equilibrated_energy_gradient, solve_equilibrium
from linpc.core.inference import pc_euler_gradient
from linpc.core.loss import masked_mse, masked_mse_gradient, mse_loss
from linpc.core.network import LinearPCN, check_network
from linpc.core.parameter_arrays import ParameterArrays
from linpc.numerics.threads import thread_policy
from linpc.numerics.types import Array
from linpc.numerics.validation import (
    as_real_array,
    check_choice,
    check_nonnegative_int,
    check_positive,
    check_positive_int,
    check_real,
    check_rng,
)
from linpc.numerics.warnings import LayerOverflowError

__all__ = ["DIVERGENCE_LOSS", "Trajectory", "escape_step", "gradient_scales", "train"]
Method = Literal["bp", "pc_exact", "pc_euler"]
Convention = Literal["matched", "pytorch"]
Data = tuple[ArrayLike, ArrayLike] | Callable[[np.random.Generator], tuple[Array, Array]]
#: A run stops as diverged when the tracked loss exceeds this (or is not finite, or a forward
#: pass or gradient leaves the float64 range: :class:`~linpc.numerics.LayerOverflowError`).
DIVERGENCE_LOSS = 1e12


@thread_policy
def gradient_scales(convention: str, *, batch: int, d_y: int) -> tuple[float, float]:
    """``(s_BP, s_PC)`` multiplying ``∇ℒ`` and ``∇F_B`` under a batch convention (module docstring).

    ``"matched"``: ``(1, 1)``; ``"pytorch"``: ``(2/d_y, B)`` (``nn.MSELoss`` vs
    ``½Σ_batchΣ_l‖e_l‖²``; docs/theory.md §0).
    """
    check_choice(convention, "convention", ("matched", "pytorch"))
    batch = check_positive_int(batch, "batch")
    d_y = check_positive_int(d_y, "d_y")
    if convention == "matched":
        return 1.0, 1.0
    if convention == "pytorch":
        return 2.0 / d_y, float(batch)
    raise ValueError(f"convention must be 'matched' or 'pytorch', got {convention!r}")


def _objective_gradient(net: LinearPCN, x: Array, y: Array, method: str, *, mask, steps: int,
                        dt: float) -> tuple[float, ParameterArrays]:
    if method == "bp":
        return masked_mse_gradient(net, x, y, mask)
    if method == "pc_exact":
        route = "cholesky" if net.activity_decay else "gaussian"
        eq = solve_equilibrium(net, x, y, method=route, warn_if_error_above=None)
        return eq.energy, equilibrated_energy_gradient(net, x, y, equilibrium=eq)
    if method == "pc_euler":
        return pc_euler_gradient(net, x, y, steps=steps, dt=dt)
    raise ValueError(f"method must be 'bp', 'pc_exact' or 'pc_euler', got {method!r}")


@dataclass(frozen=True)
class Trajectory:
    """A training run.

    Attributes
    ----------
    method : str
        ``"bp"``, ``"pc_exact"`` or ``"pc_euler"``.
    convention : str
        ``"matched"`` or ``"pytorch"`` (module docstring).
    learning_rate : float
        ``η``.
    gradient_scale : float
        ``s_BP`` or ``s_PC``: the update is ``η · gradient_scale · ∇``.
    losses : ndarray, shape (n_steps + 1,)
        Tracked loss at the weights *before* update ``t`` (``losses[0]`` = initial point, last entry
        = final weights).
    objectives : ndarray, shape (n_steps,)
        Value of the descended function on the batch of update ``t`` (``ℒ_m``, ``F*`` or
        ``F(z_T)``), in canonical units (batch mean, ½).
    grad_norms : ndarray, shape (n_steps,)
        Norm of the applied gradient ``gradient_scale · ∇`` at update ``t``.
    final : LinearPCN
        Network after the last update.
    escape_step : int or None
        First ``t`` with ``losses[t] < escape_threshold``.
    escape_threshold : float or None
    checkpoints : dict of float → (int, LinearPCN)
        For each requested threshold ``c``: the first ``t`` with ``losses[t] < c`` and the network.
    diverged : bool
        The loss became non-finite or exceeded :data:`DIVERGENCE_LOSS`.
    """

    method: str
    convention: str
    learning_rate: float
    gradient_scale: float
    losses: Array
    objectives: Array
    grad_norms: Array
    final: LinearPCN
    escape_step: int | None
    escape_threshold: float | None
    checkpoints: dict = field(default_factory=dict)
    diverged: bool = False

    @property
    def n_steps(self) -> int:
        """Number of updates performed."""
        return int(self.objectives.size)


@thread_policy
def escape_step(losses: ArrayLike, threshold: float) -> int | None:
    """First index ``t`` with ``losses[t] < threshold`` (``None`` if never)."""
    lo = np.asarray(losses)
    if lo.dtype.kind not in "biuf" or lo.ndim != 1:
        raise TypeError(f"losses must be a 1-D array of real numbers, got dtype {lo.dtype} and "
                        f"shape {lo.shape}")
    lo = lo.astype(np.float64)
    threshold = check_real(threshold, "threshold", finite=False)
    idx = np.flatnonzero(lo < threshold)
    return int(idx[0]) if idx.size else None


def _step(net: LinearPCN, grad: ParameterArrays, lr: float) -> LinearPCN:
    Ws = [W - lr * g for W, g in zip(net.weights, grad.weights, strict=True)]
    if net.has_biases:
        bs = [None if b is None else b - lr * g
              for b, g in zip(net.biases, grad.biases, strict=True)]
        return net.replace(weights=Ws, biases=bs)
    return net.replace(weights=Ws)


@thread_policy
def train(
    net: LinearPCN,
    data: Data,
    *,
    method: Method,
    learning_rate: float,
    n_steps: int,
    convention: Convention = "matched",
    bp_mask: ArrayLike | None = None,
    inference_steps: int = 20,
    inference_dt: float = 0.1,
    loss_fn: Callable[[LinearPCN], float] | None = None,
    loss_mask: ArrayLike | None = None,
    loss_scale: float = 1.0,
    escape_threshold: float | None = None,
    stop_below: float | None = None,
    checkpoints: Sequence[float] = (),
    rng: np.random.Generator | int | None = None,
) -> Trajectory:
    """Gradient descent with BP, exact PC or finite-inference PC (module docstring).

    Parameters
    ----------
    net : LinearPCN
        Starting point (its multipliers, skips and precisions are kept).
    data : (x, y) or callable
        A fixed batch, or a sampler ``sampler(rng) -> (x, y)`` drawing a fresh batch per update
        (:func:`~linpc.data.synthetic.toy_gaussian_sampler`).
    method : {"bp", "pc_exact", "pc_euler"}
    learning_rate : float
        ``η``.
    n_steps : int
        Maximum number of updates.
    convention : {"matched", "pytorch"}
        Gradient scales, :func:`gradient_scales`.
    bp_mask : array_like, optional
        Output mask of BP's loss (fixed data only). PC always clamps the unmasked ``y``.
    inference_steps, inference_dt : int, float
        Euler inference for ``"pc_euler"``.
    loss_fn : callable, optional
        Tracked loss ``loss_fn(net) -> float``. Default: ``loss_scale · ℒ_m`` on the fixed batch
        with the mask ``loss_mask`` (``bp_mask`` if not given), or ``ℒ`` on the current batch when
        ``data`` is a sampler. With fixed data and the default tracked loss, BP runs a fused loop
        that computes loss and gradient from one forward pass (same arithmetic, several times
        faster).
    loss_mask : array_like, optional
        Output mask of the default tracked loss.
    loss_scale : float
        Factor of the default tracked loss (e.g. ``2/d_y`` for PyTorch's ``nn.MSELoss`` units).
    escape_threshold : float, optional
        Record the first step with tracked loss below it.
    stop_below : float, optional
        Stop once the tracked loss is ``≤`` this.
    checkpoints : sequence of float
        Loss thresholds at which to keep the network (first crossing).
    rng : Generator, int or None
        Randomness of the fresh batches.

    Returns
    -------
    Trajectory
    """
    check_network(net)
    check_choice(method, "method", ("bp", "pc_exact", "pc_euler"))
    lr = check_positive(learning_rate, "learning_rate")
    n_steps = check_nonnegative_int(n_steps, "n_steps")
    check_choice(convention, "convention", ("matched", "pytorch"))
    inference_steps = check_nonnegative_int(inference_steps, "inference_steps")
    inference_dt = check_positive(inference_dt, "inference_dt")
    if loss_fn is not None and not callable(loss_fn):
        raise TypeError(f"loss_fn must be a callable loss_fn(net) -> float or None, got "
                        f"{type(loss_fn).__name__}")
    loss_scale = check_positive(loss_scale, "loss_scale")
    check_real(escape_threshold, "escape_threshold", allow_none=True)
    check_real(stop_below, "stop_below", allow_none=True)
    if isinstance(checkpoints, (str, bytes)) or not isinstance(checkpoints, (Sequence,
                                                                           np.ndarray)):
        raise TypeError(f"checkpoints must be a sequence of loss thresholds, got "
                        f"{type(checkpoints).__name__}")
    for i, c in enumerate(checkpoints):
        check_real(c, f"checkpoints[{i}]")
    gen = check_rng(rng)
    sampler = data if callable(data) else None
    if sampler is None:
        if isinstance(data, (str, bytes)) or not isinstance(data, Sequence) or len(data) != 2:
            raise TypeError("data must be a pair (x, y) or a sampler sampler(rng) -> (x, y), "
                            f"got {type(data).__name__}")
        xf, yf = net.check_data(*data)
        for mname, m in (("bp_mask", bp_mask), ("loss_mask", loss_mask)):
            if m is not None and as_real_array(m, mname).shape != yf.shape:
                raise ValueError(f"{mname} must have the shape of y, {yf.shape}, got "
                                 f"{np.shape(m)}")
    elif bp_mask is not None or loss_mask is not None:
        raise ValueError("bp_mask and loss_mask need fixed data (x, y), not a sampler")

    def batch() -> tuple[Array, Array]:
        if sampler is None:
            return xf, yf
        return net.check_data(*sampler(gen))

    x0, y0 = batch()
    B, d_y = x0.shape[0], net.d_y
    s_bp, s_pc = gradient_scales(convention, batch=B, d_y=d_y)
    scale = s_bp if method == "bp" else s_pc
    mask = bp_mask if method == "bp" else None
    track_mask = bp_mask if loss_mask is None else loss_mask
    if method == "bp" and sampler is None and loss_fn is None:
        return _train_bp_fused(net, xf, yf, mask=mask, track_mask=track_mask,
                               track_scale=float(loss_scale), lr=lr, scale=scale,
                               n_steps=int(n_steps), convention=convention,
                               escape_threshold=escape_threshold, stop_below=stop_below,
                               checkpoints=checkpoints)
    losses, objs, gnorms = [], [], []
    marks = sorted(float(c) for c in checkpoints)
    kept: dict = {}
    diverged = False
    cur = net
    xb, yb = x0, y0
    for t in range(int(n_steps) + 1):
        try:
            if loss_fn is not None:
                lt = float(loss_fn(cur))
            elif sampler is None:
                lt = float(loss_scale) * masked_mse(cur, xb, yb, track_mask)
            else:
                lt = mse_loss(cur, xb, yb)
        except LayerOverflowError:           # the weights left the float64 range: diverged
            lt = np.inf
        losses.append(lt)
        for c in marks:
            if c not in kept and lt < c:
                kept[c] = (t, cur)
        if not np.isfinite(lt) or lt > DIVERGENCE_LOSS:
            diverged = True
            break
        if (stop_below is not None and lt <= stop_below) or t == int(n_steps):
            break
        try:
            val, grad = _objective_gradient(cur, xb, yb, method, mask=mask,
                                            steps=inference_steps, dt=inference_dt)
        except LayerOverflowError:
            diverged = True
            break
        objs.append(val)
        gnorms.append(scale * grad.norm())
        cur = _step(cur, grad, lr * scale)
        if sampler is not None:
            xb, yb = batch()
    la = np.array(losses)
    esc = None if escape_threshold is None else escape_step(la, escape_threshold)
    return Trajectory(method, convention, lr, scale, la, np.array(objs), np.array(gnorms), cur,
                      esc, escape_threshold, kept, diverged)


def _train_bp_fused(net: LinearPCN, x: Array, y: Array, *, mask, track_mask, track_scale: float,
                    lr: float, scale: float, n_steps: int, convention: str,
                    escape_threshold: float | None, stop_below: float | None,
                    checkpoints: Sequence[float]) -> Trajectory:
    """BP on a fixed batch: tracked loss, objective and gradient from one forward pass per update.

    The arithmetic of the generic loop (:func:`linpc.core.loss.masked_mse_gradient`, then
    ``θ ← θ − η·s·∇``) without validating a new :class:`~linpc.LinearPCN` per update
    (:meth:`LinearPCN._with_parameters`); a non-finite loss stops the run as diverged.
    """
    L, B = net.n_layers, x.shape[0]
    Ws = [np.array(W) for W in net.weights]
    bs = [None if b is None else np.array(b) for b in net.biases]
    m = None if mask is None else np.asarray(mask, dtype=np.float64)
    tm = None if track_mask is None else np.asarray(track_mask, dtype=np.float64)
    marks = sorted(float(c) for c in checkpoints)
    kept: dict = {}
    losses, objs, gnorms = [], [], []
    diverged = False
    step = lr * scale

    def build() -> LinearPCN:
        return net.replace(weights=Ws, biases=bs if net.has_biases else None)

    for t in range(n_steps + 1):
        cur = net._with_parameters(Ws, bs)
        try:
            zs = cur._forward(x)
        except LayerOverflowError:           # the weights left the float64 range: diverged
            losses.append(np.inf)
            diverged = True
            break
        r = y - zs[-1]
        rt = r if tm is None else r * tm
        with np.errstate(over="ignore", invalid="ignore"):
            lt = track_scale * float(0.5 * np.mean(np.sum(rt * rt, axis=1)))
        losses.append(lt)
        for c in marks:
            if c not in kept and lt < c:
                kept[c] = (t, build())
        if not np.isfinite(lt) or lt > DIVERGENCE_LOSS:
            diverged = True
            break
        if (stop_below is not None and lt <= stop_below) or t == n_steps:
            break
        rm = r if m is None else r * m
        g = rm if m is None else rm * m
        try:
            grad = backpropagate(cur, zs, {L: -g}, scale=1.0 / B)
        except LayerOverflowError:
            diverged = True
            break
        objs.append(float(0.5 * np.mean(np.sum(rm * rm, axis=1))))
        gnorms.append(scale * grad.norm())
        Ws = [W - step * gW for W, gW in zip(Ws, grad.weights, strict=True)]
        bs = [None if b is None else b - step * gb
              for b, gb in zip(bs, grad.biases, strict=True)]
    la = np.array(losses)
    esc = None if escape_threshold is None else escape_step(la, escape_threshold)
    return Trajectory("bp", convention, lr, scale, la, np.array(objs), np.array(gnorms), build(),
                      esc, escape_threshold, kept, diverged)
