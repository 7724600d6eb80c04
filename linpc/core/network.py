"""The deep linear predictive coding network: weights, multipliers, skips, precisions.

One object describes the model of docs/theory.md §0. Layer ``l = 1..L`` maps ``z_{l-1}`` to the
prediction

    μ_l(z_{l-1}) = M_l z_{l-1} + c_l,     M_l = a_l W_l  (plain)  or  I + a_l W_l  (identity skip),

with raw weights ``W_l`` of shape ``(n_l, n_{l-1})``, multiplier ``a_l > 0`` and effective bias
``c_l = a_l b_l`` (the multiplier scales the whole affine layer, as in jpc). The energy of a sample
with input ``x = z_0`` and target ``y = z_L`` clamped is

    F(z) = Σ_{l=1}^{L} (π_l / 2) ‖z_l − μ_l(z_{l-1})‖²,

with layer precisions ``π_l > 0``; the papers use ``π_l = 1`` and an output precision
``λ = π_L`` (jpc's ``output_energy_scaling``). Arrays are batch-first: activities of layer ``l``
have shape ``(B, n_l)``. Layer numbers in messages and docstrings are 1-based as in the papers;
Python lists are 0-based (``weights[l - 1]`` is ``W_l``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from linpc.core.parameterisation import ParamType, check_param_type, layer_scalings
from linpc.numerics.threads import thread_policy
from linpc.numerics.types import Array
from linpc.numerics.validation import (
    as_real_array,
    check_biases,
    check_bool,
    check_data,
    check_instance,
    check_int,
    check_nonnegative,
    check_positive,
    check_real_dtype,
    check_weights,
    layer_label,
)
from linpc.numerics.warnings import check_layer_finite

__all__ = ["LinearPCN"]


@thread_policy
class LinearPCN:
    """A deep linear predictive coding network (immutable).

    Parameters
    ----------
    weights : sequence of array_like
        Raw weights ``[W_1, …, W_L]``, ``W_l`` of shape ``(n_l, n_{l-1})``, ``L ≥ 2`` (at least one
        hidden layer).
        The network keeps private read-only copies: the caller's arrays stay writeable and are
        never modified.
    biases : sequence of (array_like or None), optional
        Raw biases ``b_l`` of shape ``(n_l,)``; ``None`` (or a ``None`` entry) means no bias.
    param_type : {"sp", "ntp", "mupc"}
        Parameterisation giving the multipliers ``a_l`` per fan-in
        (:func:`linpc.core.parameterisation.layer_scalings`). Ignored when ``scalings`` is given.
    scalings : sequence of float, optional
        Explicit multipliers ``[a_1, …, a_L]`` (e.g. jpc's first-hidden-width convention). Cannot be
        combined with a ``param_type`` other than ``"sp"``.
    use_skips : bool
        Identity skips on the hidden-to-hidden layers ``2..L-1`` (these must be square).
    gamma : float, optional
        Divides ``a_L`` (jpc's ``gamma``), also when ``scalings`` is given.
    output_energy_scaling : float, optional
        Output precision ``λ = π_L`` (jpc's name); default 1.
    precisions : sequence of float, optional
        All layer precisions ``[π_1, …, π_L]`` (the general case); cannot be combined with
        ``output_energy_scaling``.
    activity_decay : float
        Weight ``δ ≥ 0`` of an activity regulariser ``(δ/2) Σ_{l=1}^{H} ‖z_l‖²`` added to the energy
        (jpc's ``activity_decay``); it adds ``δ I`` to every diagonal block of ``H_z``. With
        ``δ > 0`` the energy is no longer a Gaussian chain, so only the activity-system routes
        apply.

    Notes
    -----
    The effective layer maps ``M_l`` are never stored: layers are applied from the raw weights, so
    a 128-layer width-512 network costs the memory of its weights only.
    """

    def __init__(
        self,
        weights: Sequence[ArrayLike],
        *,
        biases: Sequence[ArrayLike | None] | None = None,
        param_type: ParamType = "sp",
        scalings: Sequence[float] | None = None,
        use_skips: bool = False,
        gamma: float | None = None,
        output_energy_scaling: float | None = None,
        precisions: Sequence[float] | None = None,
        activity_decay: float = 0.0,
    ) -> None:
        # private float64 copies: the caller's arrays are never frozen, aliased or modified
        Ws = check_weights(weights, "weights")
        L = len(Ws)
        widths = (Ws[0].shape[1], *(W.shape[0] for W in Ws))
        use_skips = check_bool(use_skips, "use_skips")
        check_positive(gamma, "gamma", allow_none=True)
        check_positive(output_energy_scaling, "output_energy_scaling", allow_none=True)
        decay = check_nonnegative(activity_decay, "activity_decay")

        skips = tuple(use_skips and 2 <= l <= L - 1 for l in range(1, L + 1))
        for l, s in enumerate(skips, start=1):
            if s and Ws[l - 1].shape[0] != Ws[l - 1].shape[1]:
                raise ValueError(
                    f"use_skips=True needs square hidden-to-hidden layers (identity skips on "
                    f"layers 2..L-1), but {layer_label('weights', l)} has shape "
                    f"{Ws[l - 1].shape}"
                )

        if scalings is not None:
            if param_type != "sp":
                raise ValueError(
                    f"give either param_type={param_type!r} or explicit scalings, not both"
                )
            a = np.array(check_real_dtype(scalings, "scalings"), ndmin=1)
            if a.shape != (L,):
                raise ValueError(f"scalings must have one entry per layer (L = {L}), got {a.shape}")
            for l, al in enumerate(a, start=1):
                check_positive(al, f"scalings[{l - 1}] (a_{l})")
            if gamma is not None:
                a[-1] /= check_positive(gamma, "gamma")
        else:
            check_param_type(param_type)
            a = layer_scalings(widths, param_type, use_skips=use_skips, gamma=gamma)

        if precisions is not None:
            if output_energy_scaling is not None:
                raise ValueError("give either output_energy_scaling or precisions, not both")
            pi = np.array(check_real_dtype(precisions, "precisions"), ndmin=1)
            if pi.shape != (L,):
                raise ValueError(
                    f"precisions must have one entry per layer (L = {L}), got {pi.shape}"
                )
            for l, p in enumerate(pi, start=1):
                check_positive(p, f"precisions[{l - 1}] (π_{l})")
        else:
            pi = np.ones(L)
            if output_energy_scaling is not None:
                pi[-1] = check_positive(output_energy_scaling, "output_energy_scaling")

        bs: list[Array | None] = [None] * L
        if biases is not None:
            bs = check_biases(biases, widths, "biases")

        for arr in Ws:
            arr.setflags(write=False)
        for arr in (a, pi):
            arr.setflags(write=False)
        for b in bs:
            if b is not None:
                b.setflags(write=False)
        self._weights = tuple(Ws)
        self._biases = tuple(bs)
        self._scalings = a
        self._skips = skips
        self._precisions = pi
        self._widths = widths
        self._param_type = param_type if scalings is None else "explicit"
        self._activity_decay = decay

    # ------------------------------------------------------------------ structure
    @property
    def weights(self) -> tuple[Array, ...]:
        """Raw weights ``(W_1, …, W_L)`` (read-only arrays)."""
        return self._weights

    @property
    def biases(self) -> tuple[Array | None, ...]:
        """Raw biases ``(b_1, …, b_L)``; ``None`` where a layer has no bias."""
        return self._biases

    @property
    def has_biases(self) -> bool:
        """Whether any layer has a bias."""
        return any(b is not None for b in self._biases)

    @property
    def scalings(self) -> Array:
        """Multipliers ``(a_1, …, a_L)`` (γ already applied to ``a_L``)."""
        return self._scalings

    @property
    def skips(self) -> tuple[bool, ...]:
        """``skips[l-1]`` is True when layer ``l`` is residual, ``M_l = I + a_l W_l``."""
        return self._skips

    @property
    def use_skips(self) -> bool:
        """Whether any layer carries an identity skip."""
        return any(self._skips)

    @property
    def precisions(self) -> Array:
        """Layer precisions ``(π_1, …, π_L)``."""
        return self._precisions

    @property
    def output_precision(self) -> float:
        """Output precision ``λ = π_L``."""
        return float(self._precisions[-1])

    @property
    def activity_decay(self) -> float:
        """Weight ``δ`` of the activity regulariser ``(δ/2) Σ_{l≤H} ‖z_l‖²`` (0 = none)."""
        return self._activity_decay

    @property
    def param_type(self) -> str:
        """The parameterisation name, or ``"explicit"`` when scalings were given."""
        return self._param_type

    @property
    def widths(self) -> tuple[int, ...]:
        """``(n_0, n_1, …, n_L)``."""
        return self._widths

    @property
    def n_layers(self) -> int:
        """``L``, the number of weight matrices."""
        return len(self._weights)

    @property
    def n_hidden(self) -> int:
        """``H = L - 1``, the number of hidden (free) layers."""
        return len(self._weights) - 1

    @property
    def d_x(self) -> int:
        """Input dimension ``n_0``."""
        return self._widths[0]

    @property
    def d_y(self) -> int:
        """Output dimension ``n_L``."""
        return self._widths[-1]

    @property
    def hidden_widths(self) -> tuple[int, ...]:
        """``(n_1, …, n_H)``."""
        return self._widths[1:-1]

    @property
    def n_activities(self) -> int:
        """``n = Σ_{l=1}^{H} n_l``, the size of the activity vector of one sample."""
        return int(sum(self.hidden_widths))

    @property
    def activity_offsets(self) -> tuple[int, ...]:
        """Start index of each hidden layer in the stacked activity vector, plus the end."""
        return tuple(int(o) for o in np.concatenate([[0], np.cumsum(self.hidden_widths)]))

    @property
    def n_parameters(self) -> int:
        """Number of raw parameters (weights, then biases that are present)."""
        return int(sum(W.size for W in self._weights)
                   + sum(b.size for b in self._biases if b is not None))

    def __repr__(self) -> str:
        skips = ", use_skips=True" if self.use_skips else ""
        bias = ", biases" if self.has_biases else ""
        prec = ""
        if not np.all(self._precisions[:-1] == 1):
            prec = f", precisions={self._precisions.tolist()}"
        elif self._precisions[-1] != 1:
            prec = f", λ={self._precisions[-1]:g}"
        if self._activity_decay:
            prec += f", activity_decay={self._activity_decay:g}"
        return (f"LinearPCN(widths={list(self._widths)}, param_type={self._param_type!r}"
                f"{skips}{bias}{prec})")

    def replace(
        self,
        *,
        weights: Sequence[ArrayLike] | None = None,
        biases: Sequence[ArrayLike | None] | str | None = "keep",
        precisions: Sequence[float] | None = None,
        activity_decay: float | None = None,
    ) -> LinearPCN:
        """A copy with new weights/biases/precisions/decay and the same multipliers and skips.

        The multipliers are kept as numbers (not recomputed from ``param_type``), so perturbing
        the weights never changes the parameterisation.
        """
        if isinstance(biases, str) and biases != "keep":
            raise ValueError(f"biases must be a sequence, None or 'keep', got {biases!r}")
        new = LinearPCN(
            self._weights if weights is None else weights,
            biases=self._biases if isinstance(biases, str) else biases,
            scalings=self._scalings,
            use_skips=self.use_skips,
            precisions=self._precisions if precisions is None else precisions,
            activity_decay=self._activity_decay if activity_decay is None else activity_decay,
        )
        if new.widths != self.widths:
            raise ValueError(f"replace() cannot change widths: {self.widths} -> {new.widths}")
        new._param_type = self._param_type
        return new

    def _with_parameters(self, weights: Sequence[Array], biases: Sequence[Array | None]
                         ) -> LinearPCN:
        """A copy with new raw weights and biases of the same shapes, *without* validation.

        The fast path of training loops (:mod:`linpc.dynamics.training`) that update float64
        arrays of unchanged shapes and detect non-finite values through their loss; everything
        else goes through :meth:`replace`.
        """
        new = object.__new__(LinearPCN)
        new.__dict__.update(self.__dict__)
        new._weights = tuple(weights)
        new._biases = tuple(biases)
        return new

    # ------------------------------------------------------------------ layer maps
    def _check_layer(self, l: int) -> None:
        check_int(l, "the layer index l")
        if not 1 <= l <= self.n_layers:
            raise IndexError(f"layer index must be in 1..{self.n_layers}, got {l}")

    def layer_map(self, l: int) -> Array:
        """Dense effective map ``M_l`` (shape ``(n_l, n_{l-1})``) of layer ``l`` (1-based)."""
        self._check_layer(l)
        M = self._scalings[l - 1] * self._weights[l - 1]
        if self._skips[l - 1]:
            M = M + np.eye(M.shape[0])
        return M

    def layer_bias(self, l: int) -> Array:
        """Effective bias ``c_l = a_l b_l`` of layer ``l`` (zeros if the layer has no bias)."""
        self._check_layer(l)
        b = self._biases[l - 1]
        if b is None:
            return np.zeros(self._widths[l])
        return self._scalings[l - 1] * b

    def apply_layer(self, l: int, Z: Array) -> Array:
        """``Z M_lᵀ`` for a batch ``Z`` of shape ``(B, n_{l-1})`` (no bias)."""
        out = self._scalings[l - 1] * (Z @ self._weights[l - 1].T)
        if self._skips[l - 1]:
            out += Z
        return out

    def apply_layer_transpose(self, l: int, E: Array) -> Array:
        """``E M_l`` for a batch ``E`` of shape ``(B, n_l)``: the map ``M_lᵀ`` applied row-wise."""
        out = self._scalings[l - 1] * (E @ self._weights[l - 1])
        if self._skips[l - 1]:
            out += E
        return out

    def predict_layer(self, l: int, Z: Array) -> Array:
        """The prediction ``μ_l(z_{l-1}) = M_l z_{l-1} + c_l`` for a batch ``Z``."""
        out = self.apply_layer(l, Z)
        if self._biases[l - 1] is not None:
            out += self._scalings[l - 1] * self._biases[l - 1]
        return out

    # ------------------------------------------------------------------ data and forward pass
    def check_data(self, x: ArrayLike, y: ArrayLike | None = None) -> tuple[Array, Array | None]:
        """Validate and convert a batch; see :func:`linpc.numerics.validation.check_data`."""
        return check_data(x, y, self.d_x, self.d_y, self._weights[0].shape,
                          self._weights[-1].shape)

    def forward(self, x: ArrayLike) -> list[Array]:
        """Feedforward pass ``[ẑ_0 = x, ẑ_1, …, ẑ_L = ŷ]``, each of shape ``(B, n_l)``.

        ``ẑ_l = M_l ẑ_{l-1} + c_l``; this is the usual initialisation of PC inference, at which all
        hidden prediction errors vanish.

        Raises
        ------
        LayerOverflowError
            If the pass leaves the float64 range (``|ẑ_l| > 1.8e308``): the message names the
            first such layer ``l`` (1-based) instead of returning ``inf``/``nan``.
        """
        xa, _ = self.check_data(x)
        return self._forward(np.array(xa))      # ẑ_0 is a copy, never the caller's x

    def _forward(self, xa: Array) -> list[Array]:
        """:meth:`forward` of an already validated float64 batch.

        Raises :class:`~linpc.numerics.warnings.LayerOverflowError` naming the first layer whose
        prediction leaves the float64 range, instead of returning ``inf``/``nan``.
        """
        zs = [xa]
        L = self.n_layers
        for l in range(1, L + 1):
            with np.errstate(over="ignore", invalid="ignore"):   # reported below, by layer
                z = self.predict_layer(l, zs[-1])
            check_layer_finite(
                z, what="the forward pass", layer=l, n_layers=L, previous=zs[-1],
                cause=f"the weights are too large for float64 (the prediction "
                      f"M_{l}ẑ_{l - 1} + c_{l} of layer {l} is not representable); rescale the "
                      f"weights W_1..W_{l} or the input x")
            zs.append(z)
        return zs

    def predict(self, x: ArrayLike) -> Array:
        """Network output ``ŷ = M_{L:1} x + (bias terms)``, shape ``(B, d_y)``."""
        return self.forward(x)[-1]

    def residual(self, x: ArrayLike, y: ArrayLike) -> Array:
        """Feedforward residual ``r = y − ŷ``, shape ``(B, d_y)``."""
        xa, ya = self.check_data(x, y)
        return ya - self.forward(xa)[-1]

    def output_maps(self) -> list[Array]:
        """Backward products ``P_l = M_{L:l+1}``, ``l = 0..L`` (``P_L = I``), shape ``(d_y, n_l)``.

        ``P_l`` maps layer ``l`` to the output; ``P_0 = M_{L:1}`` is the end-to-end map. Computed
        from the output side at cost ``O(d_y Σ n_l n_{l-1})``; raises
        :class:`~linpc.numerics.warnings.LayerOverflowError` if a product leaves the float64
        range.
        """
        Ps = [np.eye(self.d_y)]
        L = self.n_layers
        for l in range(L, 0, -1):
            with np.errstate(over="ignore", invalid="ignore"):
                P = self.apply_layer_transpose(l, Ps[-1])
            check_layer_finite(
                P, what="the product of the layer maps from the output", layer=l, n_layers=L,
                previous=Ps[-1],
                cause=f"M_L⋯M_{l} is not representable: the weights W_{l}..W_L are too large "
                      "for float64; rescale them")
            Ps.append(P)
        return Ps[::-1]

    def end_to_end_map(self) -> Array:
        """``M_{L:1} = M_L ⋯ M_1``, shape ``(d_y, d_x)``."""
        return self.output_maps()[0]

    # ------------------------------------------------------------------ activity layout
    def split_activities(self, z: ArrayLike) -> list[Array]:
        """Split stacked activities of shape ``(B, n)`` (or ``(n,)``) into per-layer arrays."""
        za = as_real_array(z, "z")
        squeeze = za.ndim == 1
        za = np.atleast_2d(za)
        if za.shape[-1] != self.n_activities:
            raise ValueError(
                f"stacked activities must have {self.n_activities} columns "
                f"(hidden widths {list(self.hidden_widths)}), got shape {za.shape}"
            )
        off = self.activity_offsets
        parts = [za[:, off[i]:off[i + 1]] for i in range(self.n_hidden)]
        return [p[0] for p in parts] if squeeze else parts

    def stack_activities(self, zs: Sequence[ArrayLike]) -> Array:
        """Stack per-layer activities ``[z_1, …, z_H]`` (each ``(B, n_l)``) into ``(B, n)``."""
        arrs = self.check_activities(zs)
        return np.concatenate(arrs, axis=1)

    def check_activities(self, zs: Sequence[ArrayLike], batch: int | None = None, *,
                         name: str = "z") -> list[Array]:
        """Validate hidden activities ``[z_1, …, z_H]`` with shapes ``(B, n_l)``.

        ``name`` is the argument as the caller's function calls it (``"z"``, ``"z0"``), for the
        messages: ``z[1] (z_2, the activities of hidden layer 2) must have shape (B, 4)``.
        """
        if isinstance(zs, (str, bytes)) or not isinstance(zs, (Sequence, np.ndarray)):
            raise TypeError(f"{name} must be a list [z_1, ..., z_H] of {self.n_hidden} arrays, "
                            f"got {type(zs).__name__}")
        if len(zs) != self.n_hidden:
            raise ValueError(
                f"{name} must hold activities for the {self.n_hidden} hidden layers "
                f"[z_1, ..., z_H], got {len(zs)} arrays"
            )
        out = []
        for l, z in enumerate(zs, start=1):
            label = layer_label(name, l, "z", "activities")
            za = as_real_array(z, label)
            if za.ndim == 1:
                za = za[None, :]
            if za.ndim != 2 or za.shape[1] != self._widths[l]:
                raise ValueError(
                    f"{label} must have shape (B, {self._widths[l]}), got {np.shape(z)}"
                )
            if batch is not None and za.shape[0] != batch:
                raise ValueError(f"{label} has {za.shape[0]} rows but the batch has {batch}")
            out.append(za)
        return out


def check_network(net: object, name: str = "net") -> LinearPCN:
    """Return ``net`` if it is a :class:`LinearPCN`, else raise a TypeError naming ``name``.

    The functions of :mod:`linpc.jpc` take the plain weight list ``Ws`` instead.
    """
    return check_instance(net, LinearPCN, name, hint=(
        "; build one with linpc.LinearPCN(Ws, ...) (the functions of linpc.jpc take the weight "
        "list Ws)"))
