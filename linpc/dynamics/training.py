"""Learning dynamics near saddles: BP (GD on ℒ), PC with exact inference (GD on F*), PC with
finite inference; the toy and matrix-completion experiments of P1 (theory.md §4.2, §7, §8).

Three update rules, all on the raw parameters ``θ`` of a :class:`~linpc.LinearPCN`:

* ``"bp"`` — ``θ ← θ − η s_BP ∇ℒ`` (backpropagation), optionally with an output mask
  ``ℒ_m = (1/2B) Σ_i ‖m_i ⊙ r_i‖²``;
* ``"pc_exact"`` — ``θ ← θ − η s_PC ∇F*``: PC with inference run to its equilibrium (closed form,
  :func:`~linpc.equilibrated_energy_gradient`; envelope theorem);
* ``"pc_euler"`` — PC as the papers run it: ``T`` Euler steps ``z ← z − dt ∇_zF`` (per sample) from
  the feedforward pass, then ``θ ← θ − η s_PC ∂F_B/∂θ`` at the resulting activities.

**Batch conventions (theory.md §0, §8 item 4).** linpc's canonical objectives are batch means
with ½: ``ℒ = (1/2B)Σ‖r‖²`` and ``F_B = (1/B)Σ F``. The scale factors ``(s_BP, s_PC)`` are

* ``convention="matched"``: ``(1, 1)``. Near the origin ``S ≈ λ⁻¹I``, so ``F* ≈ λℒ`` and the same
  ``η`` means the same effective step (like for like). The JAX notebooks of the chain toys
  (P1 Figs. 2/7) use this normalisation, so there the papers' setting *is* ``"matched"``.
* ``convention="pytorch"``: ``(2/d_y, B)``: BP descends PyTorch's ``nn.MSELoss()`` (mean over batch
  *and* outputs, no ½ = ``(2/d_y)ℒ``) while PC descends ``½ Σ_batch Σ_l ‖e_l‖²`` (summed over the
  batch = ``B·F_B``): the PyTorch notebooks of P1 Figs. 5–6. The "same learning rate" there gives PC
  a step ``B·d_y/2`` times larger (50 for the matrix-completion task).

Everything runs in seconds: inference is closed form (``"pc_exact"``) or a vectorised Euler loop
over the whole batch (``"pc_euler"``), and the networks are small.

References
----------
.. [P1] Innocenti et al., NeurIPS 2024, arXiv:2408.11979, Figs. 2, 5–7.
.. [P2] Innocenti, Singh, Buckley, arXiv:2305.18188 (escape of the one-hidden-unit model).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .data import MatrixCompletionTask, matrix_completion, toy_gaussian_sampler
from .energy import energy_parameter_gradient
from .equilibrium import equilibrated_energy_gradient, solve_equilibrium
from .loss import mse_loss
from .network import LinearPCN
from .parameters import ParameterArrays
from .saddles import origin_spectra

__all__ = [
    "EscapeTimeFit",
    "MatrixCompletionRun",
    "Trajectory",
    "escape_step",
    "escape_time_ratio",
    "euler_inference",
    "gradient_scales",
    "masked_mse",
    "masked_mse_gradient",
    "pc_euler_gradient",
    "run_matrix_completion",
    "run_toy",
    "toy_network",
    "train",
]

Array = NDArray[np.float64]
Method = Literal["bp", "pc_exact", "pc_euler"]
Convention = Literal["matched", "pytorch"]
Data = tuple[ArrayLike, ArrayLike] | Callable[[np.random.Generator], tuple[Array, Array]]
#: A run stops as diverged when the tracked loss exceeds this (or is not finite).
DIVERGENCE_LOSS = 1e12


def gradient_scales(convention: str, *, batch: int, d_y: int) -> tuple[float, float]:
    """``(s_BP, s_PC)`` multiplying ``∇ℒ`` and ``∇F_B`` under a batch convention (module docstring).

    ``"matched"``: ``(1, 1)``; ``"pytorch"``: ``(2/d_y, B)`` (``nn.MSELoss`` vs
    ``½Σ_batchΣ_l‖e_l‖²``; theory.md §0).
    """
    if convention == "matched":
        return 1.0, 1.0
    if convention == "pytorch":
        return 2.0 / d_y, float(batch)
    raise ValueError(f"convention must be 'matched' or 'pytorch', got {convention!r}")


def masked_mse(net: LinearPCN, x: ArrayLike, y: ArrayLike, mask: ArrayLike | None = None) -> float:
    """``ℒ_m = (1/2B) Σ_i ‖m_i ⊙ (y_i − ŷ_i)‖²`` (``ℒ`` when ``mask`` is None)."""
    r = net.residual(x, y)
    if mask is not None:
        r = r * np.asarray(mask, dtype=np.float64)
    return float(0.5 * np.mean(np.sum(r * r, axis=1)))


def masked_mse_gradient(net: LinearPCN, x: ArrayLike, y: ArrayLike,
                        mask: ArrayLike | None = None) -> tuple[float, ParameterArrays]:
    """``ℒ_m`` and its gradient by backpropagation of the masked residual.

    ``∂ℒ_m/∂W_l = −(a_l/B) Σ_i (M_{L:l+1}ᵀ (m_i ⊙ m_i ⊙ r_i)) ẑ_{l-1,i}ᵀ`` (biases likewise); with
    ``mask=None`` this is :func:`~linpc.mse_gradient`.
    """
    xa, ya = net.check_data(x, y)
    zs = net.forward(xa)
    B = xa.shape[0]
    r = ya - zs[-1]
    if mask is not None:
        m = np.asarray(mask, dtype=np.float64)
        if m.shape != r.shape:
            raise ValueError(f"mask must have the shape of y, {r.shape}, got {m.shape}")
        r = r * m
        g = r * m
    else:
        g = r
    value = float(0.5 * np.mean(np.sum(r * r, axis=1)))
    gw: list = [None] * net.n_layers
    gb: list = [None] * net.n_layers
    for l in range(net.n_layers, 0, -1):
        c = -net.scalings[l - 1] / B
        gw[l - 1] = c * (g.T @ zs[l - 1])
        if net.biases[l - 1] is not None:
            gb[l - 1] = c * g.sum(axis=0)
        g = net.apply_layer_transpose(l, g)
    return value, ParameterArrays(tuple(gw), tuple(gb))


def euler_inference(net: LinearPCN, x: ArrayLike, y: ArrayLike, *, steps: int, dt: float,
                    z0: Sequence[ArrayLike] | None = None) -> list[Array]:
    """``steps`` Euler steps ``z ← z − dt ∇_zF`` (per-sample gradient) from the feedforward pass.

    ``∇_{z_l}F = π_l e_l − π_{l+1} M_{l+1}ᵀ e_{l+1} (+ δ z_l)`` (theory.md §1.1), the whole batch at
    once. Since the gradient is affine, the iterate equals ``z* + (I − dt H_z)^T (z_0 − z*)``;
    it converges iff ``dt < 2/λ_max(H_z)``. P1 uses 20 steps of 0.1 (toys) and 50 steps of 0.1
    (matrix completion), which do not fully equilibrate (theory.md §8 item 6).

    Returns
    -------
    list of ndarray
        ``z_1, …, z_H`` after ``steps`` steps, each ``(B, n_l)``.
    """
    xa, ya = net.check_data(x, y)
    T = int(steps)
    if T < 0:
        raise ValueError(f"steps must be ≥ 0, got {steps}")
    H, L, pi, decay = net.n_hidden, net.n_layers, net.precisions, net.activity_decay
    zs = net.forward(xa)[1:-1] if z0 is None else net.check_activities(z0, xa.shape[0])
    Z = [xa, *[np.array(z, dtype=np.float64) for z in zs], ya]
    for _ in range(T):
        es = [Z[l] - net.predict_layer(l, Z[l - 1]) for l in range(1, L + 1)]
        for l in range(1, H + 1):
            g = pi[l - 1] * es[l - 1] - pi[l] * net.apply_layer_transpose(l + 1, es[l])
            if decay:
                g = g + decay * Z[l]
            Z[l] = Z[l] - dt * g
    return Z[1:-1]


def pc_euler_gradient(net: LinearPCN, x: ArrayLike, y: ArrayLike, *, steps: int,
                      dt: float) -> tuple[float, ParameterArrays]:
    """Energy ``F_B`` and PC weight gradient ``∂F_B/∂θ`` after ``steps`` Euler inference steps."""
    from .energy import energy

    zs = euler_inference(net, x, y, steps=steps, dt=dt)
    return float(energy(net, zs, x, y)), energy_parameter_gradient(net, zs, x, y)


def _objective_gradient(net: LinearPCN, x: Array, y: Array, method: str, *, mask, steps: int,
                        dt: float) -> tuple[float, ParameterArrays]:
    if method == "bp":
        return masked_mse_gradient(net, x, y, mask)
    if method == "pc_exact":
        route = "cholesky" if net.activity_decay else "gaussian"
        eq = solve_equilibrium(net, x, y, method=route, rtol=1.0)
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


def escape_step(losses: ArrayLike, threshold: float) -> int | None:
    """First index ``t`` with ``losses[t] < threshold`` (``None`` if never)."""
    lo = np.asarray(losses, dtype=np.float64)
    idx = np.flatnonzero(lo < threshold)
    return int(idx[0]) if idx.size else None


def _step(net: LinearPCN, grad: ParameterArrays, lr: float) -> LinearPCN:
    Ws = [W - lr * g for W, g in zip(net.weights, grad.weights, strict=True)]
    if net.has_biases:
        bs = [None if b is None else b - lr * g
              for b, g in zip(net.biases, grad.biases, strict=True)]
        return net.replace(weights=Ws, biases=bs)
    return net.replace(weights=Ws)


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
        (:func:`~linpc.data.toy_gaussian_sampler`).
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
    gen = np.random.default_rng(rng)
    lr = float(learning_rate)
    if not lr > 0:
        raise ValueError(f"learning_rate must be > 0, got {learning_rate}")
    sampler = data if callable(data) else None
    if sampler is None:
        xf, yf = net.check_data(*data)
        if bp_mask is not None and np.shape(bp_mask) != yf.shape:
            raise ValueError(f"bp_mask must have the shape of y, {yf.shape}, got "
                             f"{np.shape(bp_mask)}")
    elif bp_mask is not None:
        raise ValueError("bp_mask needs fixed data (x, y), not a sampler")

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
        if loss_fn is not None:
            lt = float(loss_fn(cur))
        elif sampler is None:
            lt = float(loss_scale) * masked_mse(cur, xb, yb, track_mask)
        else:
            lt = mse_loss(cur, xb, yb)
        losses.append(lt)
        for c in marks:
            if c not in kept and lt < c:
                kept[c] = (t, cur)
        if not np.isfinite(lt) or lt > DIVERGENCE_LOSS:
            diverged = True
            break
        if (stop_below is not None and lt <= stop_below) or t == int(n_steps):
            break
        val, grad = _objective_gradient(cur, xb, yb, method, mask=mask, steps=inference_steps,
                                        dt=inference_dt)
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
    """BP on a fixed batch with loss and gradient from one forward pass (raw arrays).

    The same arithmetic as :func:`masked_mse_gradient` and :func:`_step` (``M_l = a_l W_l (+ I)``,
    ``c_l = a_l b_l``), without rebuilding a :class:`~linpc.LinearPCN` per update; networks are
    built only for checkpoints and the result.
    """
    a, skips, L, B = net.scalings, net.skips, net.n_layers, x.shape[0]
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
        zs = [x]
        for l in range(L):
            z = a[l] * (zs[-1] @ Ws[l].T)
            if skips[l]:
                z += zs[-1]
            if bs[l] is not None:
                z += a[l] * bs[l]
            zs.append(z)
        r = y - zs[-1]
        rt = r if tm is None else r * tm
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
        objs.append(float(0.5 * np.mean(np.sum(rm * rm, axis=1))))
        g = rm if m is None else rm * m
        gw, gb = [None] * L, [None] * L
        for l in range(L - 1, -1, -1):
            c = -a[l] / B
            gw[l] = c * (g.T @ zs[l])
            if bs[l] is not None:
                gb[l] = c * g.sum(axis=0)
            if l > 0:
                gn = a[l] * (g @ Ws[l])
                if skips[l]:
                    gn += g
                g = gn
        sq = sum(float(np.sum(G * G)) for G in gw) + sum(
            float(np.sum(G * G)) for G in gb if G is not None)
        gnorms.append(scale * np.sqrt(sq))
        for l in range(L):
            Ws[l] = Ws[l] - step * gw[l]
            if bs[l] is not None:
                bs[l] = bs[l] - step * gb[l]
    la = np.array(losses)
    esc = None if escape_threshold is None else escape_step(la, escape_threshold)
    return Trajectory("bp", convention, lr, scale, la, np.array(objs), np.array(gnorms), build(),
                      esc, escape_threshold, kept, diverged)


# ---------------------------------------------------------------------------------------------
# the toys of P1 Figs. 2 and 7
# ---------------------------------------------------------------------------------------------
def toy_network(n_hidden: int, *, width: int = 1, dim: int = 1, init_std: float = 0.05,
                rng: np.random.Generator | int | None = None) -> LinearPCN:
    """Linear chain ``dim → width → … → width → dim`` (SP), weights ``N(0, init_std²)``.

    ``n_hidden = 1, width = dim = 1``: P1's "1-MLP" ``ŷ = w_2w_1x``; ``n_hidden = 2``: the "2-MLP";
    ``n_hidden = 3, width = 4, dim = 3``: the "wide" network of Fig. 2(iii).
    """
    gen = np.random.default_rng(rng)
    widths = [int(dim)] + [int(width)] * int(n_hidden) + [int(dim)]
    Ws = [init_std * gen.standard_normal((widths[l], widths[l - 1]))
          for l in range(1, len(widths))]
    return LinearPCN(Ws)


def run_toy(
    method: Method,
    *,
    n_hidden: int = 1,
    width: int = 1,
    dim: int = 1,
    rng: np.random.Generator | int | None = 0,
    n_steps: int = 300,
    learning_rate: float = 0.4,
    batch: int = 64,
    init_std: float = 0.05,
    inference_steps: int = 20,
    inference_dt: float = 0.1,
    escape_threshold: float = 1e-3,
    convention: Literal["paper", "matched"] = "paper",
) -> Trajectory:
    """P1's saddle-escape toys (Figs. 2, 7): SGD from near the origin with fresh batches.

    Setting (theory.md §7, read off the notebooks): ``x ~ N(1, 0.1²)`` per coordinate, ``y = −x``,
    ``B = 64`` fresh samples per step, weights ``N(0, 0.05²)``, SGD ``η = 0.4``; PC with 20 Euler
    steps of 0.1 (``"pc_euler"``) or exact inference (``"pc_exact"``). The tracked loss is the test
    loss ``½‖y − ŷ‖²`` at ``x = 1``, ``y = −1`` (all-ones vectors when ``dim > 1``); the escape step
    is the first with test loss below ``escape_threshold``.

    The JAX notebooks of these toys use batch means with ½ for both methods, so ``"paper"`` and
    ``"matched"`` are the same here (module docstring). The wide toy's (``n_hidden=3, width=4,
    dim=3``) training settings are not stated in the sources (theory.md §7: unv); the defaults
    above are reused.

    Parameters
    ----------
    rng : Generator, int or None
        Draws the initial weights first, then one batch per step: BP and PC runs with the same
        seed start from the same weights and see the same batches.
    """
    if convention not in ("paper", "matched"):
        raise ValueError(f"convention must be 'paper' or 'matched', got {convention!r}")
    gen = np.random.default_rng(rng)
    net = toy_network(n_hidden, width=width, dim=dim, init_std=init_std, rng=gen)
    xt = np.ones((1, dim))
    yt = -xt

    def test_loss(n: LinearPCN) -> float:
        return mse_loss(n, xt, yt)

    return train(net, toy_gaussian_sampler(batch, dim), method=method,
                 learning_rate=learning_rate, n_steps=n_steps, convention="matched",
                 inference_steps=inference_steps, inference_dt=inference_dt, loss_fn=test_loss,
                 escape_threshold=escape_threshold, rng=gen)


# ---------------------------------------------------------------------------------------------
# matrix completion (P1 Fig. 6)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MatrixCompletionRun:
    """BP and PC on the matrix-completion task of P1 Fig. 6.

    Attributes
    ----------
    task : MatrixCompletionTask
    convention : str
        ``"paper"`` or ``"matched"`` (see :func:`run_matrix_completion`).
    bp : Trajectory
        BP from the small initialisation.
    checkpoint_steps : dict of str → int or None
        BP step at which each restart point was taken: ``"rank-0"`` (the initialisation, 0),
        ``"rank-1"`` (first loss < 1.1), ``"rank-2"`` (first loss < 0.15); ``None`` if not reached.
    pc : dict of str → Trajectory
        PC runs restarted from each reached checkpoint.
    """

    task: MatrixCompletionTask
    convention: str
    bp: Trajectory
    checkpoint_steps: dict
    pc: dict


def run_matrix_completion(
    *,
    rng: np.random.Generator | int | None = 0,
    convention: Literal["paper", "matched"] = "paper",
    pc_method: Literal["pc_euler", "pc_exact"] = "pc_euler",
    width: int = 100,
    n_hidden: int = 3,
    init_std: float = 0.005,
    learning_rate: float = 1e-2,
    inference_steps: int = 50,
    inference_dt: float = 0.1,
    checkpoints: tuple[float, float] = (1.1, 0.15),
    stop_below: float = 1e-2,
    bp_steps: int = 100_000,
    pc_steps: int = 5_000,
) -> MatrixCompletionRun:
    """P1 Fig. 6: saddle-to-saddle BP and PC restarts on linear matrix completion.

    Task (:func:`~linpc.data.matrix_completion`): rank-3 ``A B``, ``A ∈ R^{10×3}``, ``B ∈ R^{3×10}``
    Gaussian, mask ``rand > 0.2``, inputs = masked matrix (10 samples × 10 features); network
    ``10–100–100–100–10`` without biases, weights ``N(0, 0.005²)``, SGD ``η = 10⁻²``, PC with 50
    Euler steps of 0.1. BP runs from the initialisation and its weights are kept when the tracked
    loss first drops below 1.1 ("rank-1") and 0.15 ("rank-2"); PC is restarted from the
    initialisation ("rank-0") and both checkpoints; every run stops at loss ``≤ 10⁻²``. The tracked
    loss is the notebook's ``nn.MSELoss()(mask ⊙ ŷ, mask ⊙ target)`` (mean over all entries, no ½)
    for every run.

    Conventions:

    * ``"paper"`` — the notebook's setting: BP descends the *masked* PyTorch MSE (gradient scale
      ``2/d_y`` on linpc's ``ℒ_m``), PC clamps the output to the *unmasked* target and descends the
      batch-summed energy (scale ``B``); the two methods optimise different objectives and PC's
      effective step is ``B·d_y/2 = 50`` times BP's (theory.md §8 items 4–5).
    * ``"matched"`` — like for like: both use the unmasked target and linpc's canonical
      normalisation (batch mean, ½), so near the origin ``F* ≈ ℒ`` and the same ``η`` is the same
      step.

    Returns
    -------
    MatrixCompletionRun
    """
    if convention not in ("paper", "matched"):
        raise ValueError(f"convention must be 'paper' or 'matched', got {convention!r}")
    gen = np.random.default_rng(rng)
    task = matrix_completion(rng=gen)
    n = task.n
    widths = [n] + [int(width)] * int(n_hidden) + [n]
    Ws = [init_std * gen.standard_normal((widths[l], widths[l - 1]))
          for l in range(1, len(widths))]
    net0 = LinearPCN(Ws)
    x, y = task.inputs, task.target
    conv: Convention = "pytorch" if convention == "paper" else "matched"
    mask = task.mask if convention == "paper" else None

    # the tracked loss mean((mask ⊙ (ŷ − y))²) is (2/d_y) ℒ_mask (theory.md §0)
    track = {"loss_mask": task.mask, "loss_scale": 2.0 / n}
    bp = train(net0, (x, y), method="bp", learning_rate=learning_rate, n_steps=bp_steps,
               convention=conv, bp_mask=mask, stop_below=stop_below, checkpoints=checkpoints,
               **track)
    steps = {"rank-0": 0}
    starts = {"rank-0": net0}
    for name, c in zip(("rank-1", "rank-2"), checkpoints, strict=True):
        if c in bp.checkpoints:
            steps[name], starts[name] = bp.checkpoints[c]
        else:
            steps[name] = None
    pcs = {}
    for name, start in starts.items():
        pcs[name] = train(start, (x, y), method=pc_method, learning_rate=learning_rate,
                          n_steps=pc_steps, convention=conv, inference_steps=inference_steps,
                          inference_dt=inference_dt, stop_below=stop_below, **track)
    return MatrixCompletionRun(task, convention, bp, steps, pcs)


# ---------------------------------------------------------------------------------------------
# escape-time ratio of the one-hidden-layer model (theory.md §4.2)
# ---------------------------------------------------------------------------------------------
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
        ``|λ_min(∇²ℒ(0))| / |λ_min(∇²F*(0))|`` (the ``η → 0`` limit; theory.md §4.2).
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
    if net.n_hidden != 1:
        raise ValueError(f"escape_time_ratio is for one hidden layer (BP's linear escape needs a "
                         f"negative eigenvalue of ∇²ℒ(0)), got H = {net.n_hidden}")
    from .saddles import origin_network

    net0 = origin_network(net)
    xa, ya = net0.check_data(x, y)
    gen = np.random.default_rng(rng)
    if direction is None:
        U = [gen.standard_normal(W.shape) for W in net0.weights]
    else:
        U = [np.asarray(u, dtype=np.float64) for u in direction]
    nrm = np.sqrt(sum(np.sum(u * u) for u in U))
    U = [u / nrm for u in U]
    L0 = mse_loss(net0, xa, ya)
    thr = 0.5 * L0 if threshold is None else float(threshold)
    e = np.asarray(eps, dtype=np.float64)
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
    eta = float(learning_rate)
    pred_d = np.log1p(eta * lm) / np.log1p(eta * lf)
    return EscapeTimeFit(e, np.array(t_bp), np.array(t_pc), sb, sp, db, dp, ratio, ratio_err,
                         float(pred_d), lm / lf, np.array(t_pc) / np.array(t_bp))
