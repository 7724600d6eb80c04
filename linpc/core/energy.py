"""The predictive coding energy F and its derivatives at arbitrary activities.

    F(z; θ, x, y) = Σ_{l=1}^{L} (π_l/2) ‖e_l‖²,   e_l = z_l − M_l z_{l-1} − c_l,   z_0 = x, z_L = y,

batch energy ``F_B = (1/B) Σ_i F(z^(i))`` (jpc's ``pc_energy_fn`` convention: ½ per layer, sum over
units, mean over the batch; docs/theory.md §0). The activity gradient is per sample,

    ∂F/∂z_l = π_l e_l − π_{l+1} M_{l+1}ᵀ e_{l+1}        (docs/theory.md §1.1),

(jpc's activity gradients are those of the batch mean, i.e. 1/B times this), and the weight
gradient of the batch energy is

    ∂F_B/∂W_l = −(a_l π_l / B) Σ_i e_l^(i) z_{l-1}^(i)ᵀ,   ∂F_B/∂b_l = −(a_l π_l / B) Σ_i e_l^(i),

the same formula for residual layers since ∂M_l/∂W_l = a_l. With an activity decay ``δ > 0``
the energy gains ``(δ/2) Σ_{l=1}^{H} ‖z_l‖²`` and the activity gradient ``δ z_l``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from linpc.core.network import LinearPCN, check_network
from linpc.core.parameter_arrays import ParameterArrays
from linpc.numerics.threads import thread_policy
from linpc.numerics.types import Array
from linpc.numerics.validation import check_bool
from linpc.numerics.warnings import check_layer_finite

__all__ = [
    "energy", "energy_activity_gradient", "energy_parameter_gradient", "layer_energies",
    "prediction_errors",
]


def _activities(net: LinearPCN, z: Sequence[ArrayLike] | ArrayLike, batch: int) -> list[Array]:
    if isinstance(z, np.ndarray) and z.ndim == 2 and z.shape[1] == net.n_activities:
        # stacked activities of shape (B, n)
        return net.check_activities(net.split_activities(z), batch)
    return net.check_activities(z, batch)


def _full_activities(net: LinearPCN, z, x, y) -> list[Array]:
    check_network(net)
    xa, ya = net.check_data(x, y)
    zs = _activities(net, z, xa.shape[0])
    return [xa, *zs, ya]


def _errors(net: LinearPCN, zs: list[Array]) -> list[Array]:
    """``[e_1, …, e_L]`` from full activities ``[x, z_1, …, z_H, y]``, each checked for overflow
    (:class:`~linpc.numerics.warnings.LayerOverflowError` naming the layer)."""
    L = net.n_layers
    es = []
    for l in range(1, L + 1):
        with np.errstate(over="ignore", invalid="ignore"):      # reported below, by layer
            e = zs[l] - net.predict_layer(l, zs[l - 1])
        check_layer_finite(
            e, what="the prediction error", layer=l, n_layers=L, previous=zs[l - 1],
            cause=f"e_{l} = z_{l} − M_{l}z_{l - 1} − c_{l} is not representable: the activities "
                  "or the weights are too large for float64")
        es.append(e)
    return es


def _layer_terms(net: LinearPCN, es: list[Array]) -> list[Array]:
    """Per-sample energy of each layer, ``(π_l/2)‖e_l‖²``, checked for overflow."""
    L = net.n_layers
    out = []
    for l, (p, e) in enumerate(zip(net.precisions, es, strict=True), start=1):
        with np.errstate(over="ignore", invalid="ignore"):
            t = 0.5 * p * np.sum(e * e, axis=-1)
        check_layer_finite(
            t, what="the energy", layer=l, n_layers=L, previous=e,
            cause=f"the term (π_{l}/2)‖e_{l}‖² of layer {l} exceeds the float64 range: the "
                  "activities or the weights are too large for float64")
        out.append(t)
    return out


def _decay_terms(net: LinearPCN, zs: list[Array]) -> list[Array]:
    """Per-sample activity-decay energy ``(δ/2)‖z_l‖²`` of each hidden layer, checked."""
    out = []
    for l in range(1, net.n_hidden + 1):
        with np.errstate(over="ignore", invalid="ignore"):
            t = 0.5 * net.activity_decay * np.sum(zs[l] ** 2, axis=-1)
        check_layer_finite(t, what="the activity-decay energy", layer=l,
                           n_layers=net.n_hidden, unit="hidden layer", previous=zs[l],
                           cause=f"(δ/2)‖z_{l}‖² exceeds the float64 range: the activities are "
                                 "too large for float64")
        out.append(t)
    return out


@thread_policy
def prediction_errors(
    net: LinearPCN, z: Sequence[ArrayLike], x: ArrayLike, y: ArrayLike
) -> list[Array]:
    """Prediction errors ``[e_1, …, e_L]``, ``e_l = z_l − M_l z_{l-1} − c_l``, each ``(B, n_l)``.

    Parameters
    ----------
    net : LinearPCN
        The network.
    z : sequence of array_like
        Hidden activities ``[z_1, …, z_H]``, each of shape ``(B, n_l)``.
    x, y : array_like
        Clamped input ``(B, d_x)`` and target ``(B, d_y)``.
    """
    return _errors(net, _full_activities(net, z, x, y))


@thread_policy
def layer_energies(
    net: LinearPCN, z: Sequence[ArrayLike], x: ArrayLike, y: ArrayLike
) -> Array:
    """Batch-mean energy of each layer, ``(1/B) Σ_i (π_l/2)‖e_l^(i)‖²``, shape ``(L,)``.

    With an activity decay ``δ``, hidden layer ``l`` also carries ``(δ/2)‖z_l‖²``, so that the
    entries sum to :func:`energy`.
    """
    zs = _full_activities(net, z, x, y)
    es = _errors(net, zs)
    out = np.array([float(np.mean(t)) for t in _layer_terms(net, es)])
    if net.activity_decay:
        for l, t in enumerate(_decay_terms(net, zs), start=1):
            out[l - 1] += float(np.mean(t))
    return out


@thread_policy
def energy(
    net: LinearPCN,
    z: Sequence[ArrayLike],
    x: ArrayLike,
    y: ArrayLike,
    *,
    per_sample: bool = False,
) -> float | Array:
    """PC energy ``F_B = (1/B) Σ_i Σ_l (π_l/2)‖e_l^(i)‖²`` (docs/theory.md §0).

    Parameters
    ----------
    net : LinearPCN
    z : sequence of array_like
        Hidden activities ``[z_1, …, z_H]``.
    x, y : array_like
        Batch ``(B, d_x)``, ``(B, d_y)``.
    per_sample : bool
        Return the ``(B,)`` array of per-sample energies ``F(z^(i))`` instead of their mean.
    """
    per_sample = check_bool(per_sample, "per_sample")
    per, _ = _energy_and_activity_gradient(net, _full_activities(net, z, x, y))
    return per if per_sample else float(np.mean(per))


def _energy_and_activity_gradient(
    net: LinearPCN, zs: list[Array]
) -> tuple[Array, list[Array]]:
    """Per-sample energies and activity gradients from full activities ``[x, z_1..z_H, y]``.

    One pass over the layers, as a PC implementation computes them (errors first).
    """
    pi = net.precisions
    es = _errors(net, zs)
    per = sum(_layer_terms(net, es))
    with np.errstate(over="ignore", invalid="ignore"):
        grads = [pi[l - 1] * es[l - 1] - pi[l] * net.apply_layer_transpose(l + 1, es[l])
                 for l in range(1, net.n_hidden + 1)]
    for l, g in enumerate(grads, start=1):
        check_layer_finite(g, what="the activity gradient", layer=l, n_layers=net.n_hidden,
                           unit="hidden layer",
                           cause="the prediction errors or the weights are too large for float64")
    if net.activity_decay:
        d = net.activity_decay
        per = per + sum(_decay_terms(net, zs))
        grads = [g + d * zs[l] for l, g in enumerate(grads, start=1)]
    return per, grads


@thread_policy
def energy_activity_gradient(
    net: LinearPCN, z: Sequence[ArrayLike], x: ArrayLike, y: ArrayLike
) -> list[Array]:
    """Per-sample activity gradient ``∂F/∂z_l = π_l e_l − π_{l+1} M_{l+1}ᵀ e_{l+1}``, l = 1..H.

    This is the gradient of one sample's energy (not of the batch mean); the inference dynamics
    ``dz/dt = −∂F/∂z`` decouple over samples (docs/theory.md §1.1). It is affine in ``z``:
    ``∇_z F = H_z z − b`` with the activity Hessian ``H_z`` (:mod:`linpc.core.activity_hessian`).
    """
    return _energy_and_activity_gradient(net, _full_activities(net, z, x, y))[1]


@thread_policy
def energy_parameter_gradient(
    net: LinearPCN, z: Sequence[ArrayLike], x: ArrayLike, y: ArrayLike
) -> ParameterArrays:
    """Gradient of the batch energy w.r.t. the raw parameters at given activities.

    ``∂F_B/∂W_l = −(a_l π_l/B) Σ_i e_l z_{l-1}ᵀ`` and ``∂F_B/∂b_l = −(a_l π_l/B) Σ_i e_l``
    (docs/theory.md §1.1). At the inference equilibrium this is the PC weight update direction and,
    by the envelope theorem, the gradient of the equilibrated energy F*.

    Returns
    -------
    ParameterArrays
        ``.weights[l-1]`` has the shape of ``W_l``; ``.biases[l-1]`` is ``None`` for layers
        without bias.
    """
    zs = _full_activities(net, z, x, y)
    B = zs[0].shape[0]
    gw, gb = [], []
    for l, e in enumerate(_errors(net, zs), start=1):
        c = -net.scalings[l - 1] * net.precisions[l - 1] / B
        gw.append(c * (e.T @ zs[l - 1]))
        gb.append(None if net.biases[l - 1] is None else c * e.sum(axis=0))
    return ParameterArrays(tuple(gw), tuple(gb))
