"""Input checking shared by the public functions.

Every public entry point converts its inputs here, so that bad input fails early with a message
that names the offending argument, layer and shapes, instead of producing a silently wrong number.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "SYMMETRY_RTOL", "as_real_array", "check_biases", "check_bool", "check_choice", "check_data",
    "check_instance", "check_int", "check_nonnegative", "check_nonnegative_int", "check_positive",
    "check_positive_int", "check_real", "check_real_dtype", "check_rng", "check_symmetric",
    "check_tolerance", "check_weights", "check_widths", "layer_label",
]

#: Largest relative asymmetry ``max|A − Aᵀ| / max|A|`` accepted as round-off (and removed by
#: symmetrising); anything larger is a caller error. ``1e-10`` is far above the ``O(n eps)``
#: asymmetry of matrices assembled in floating point, and far below any intended asymmetry.
SYMMETRY_RTOL = 1e-10


def _show(value: object) -> str:
    """``repr`` of a value with numpy scalars shown as Python numbers (``nan``, not
    ``np.float64(nan)``)."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    return repr(value.item() if isinstance(value, np.generic) else value)


def _kind(value: object) -> str:
    """``repr(value)`` and its type, for messages: ``'no' (str)``."""
    text = _show(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def as_real_array(
    a: ArrayLike, name: str, *, ndim: int | None = None, copy: bool = False,
    allow_inf: bool = False,
) -> NDArray[np.float64]:
    """Convert ``a`` to a float64 array, rejecting complex, non-numeric and non-finite input.

    Integer and boolean inputs are converted exactly; complex, object and string arrays are
    rejected rather than cast, since casting would drop information silently (or turn the text
    ``"1"`` into a number).

    Parameters
    ----------
    a : array_like
        The input.
    name : str
        How the public API calls it, for the messages (``"x"``, ``"weights[1] (W_2, …)"``).
    ndim : int, optional
        Required number of dimensions.
    copy : bool
        Always return a new array (never a view of, or the same object as, the caller's array),
        for results that linpc keeps.
    allow_inf : bool
        Accept ``±inf`` (``nan`` is always rejected).
    """
    if isinstance(a, np.ndarray):
        arr = a
    else:
        try:
            arr = np.asarray(a)
        except ValueError as exc:   # ragged nested sequences
            raise ValueError(f"{name} is not a rectangular array ({exc})") from None
    _check_dtype(arr, name)
    arr = np.array(arr, dtype=np.float64, copy=True if copy else None)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    bad_mask = np.isnan(arr) if allow_inf else ~np.isfinite(arr)
    if np.any(bad_mask):
        bad = tuple(int(i) for i in np.argwhere(bad_mask)[0])
        what = "a nan" if allow_inf else "a non-finite value"
        raise ValueError(f"{name} contains {what} ({float(arr[bad])!r} at index {bad})")
    return arr


def check_real_dtype(a: ArrayLike, name: str) -> NDArray[np.float64]:
    """``a`` as float64 after checking only its dtype (real numeric), not its values.

    For the fast paths of operators (products and solves inside iterations), where a scan for
    non-finite values would cost as much as the operation and ``inf`` may be meaningful.
    """
    arr = np.asarray(a)
    _check_dtype(arr, name)
    return arr.astype(np.float64, copy=False)


def _check_dtype(arr: np.ndarray, name: str) -> None:
    """Refuse complex, object, string and other non-real dtypes (never cast them)."""
    if arr.dtype.kind == "c":
        raise TypeError(f"{name} is complex ({arr.dtype}); linpc works with real float64 arrays")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} has dtype {arr.dtype}; expected a real numeric array")


def check_instance(value: object, cls: type | tuple[type, ...], name: str, *,
                   hint: str = "") -> object:
    """Return ``value`` if it is an instance of ``cls``, else raise a TypeError naming ``name``."""
    if not isinstance(value, cls):
        names = " or ".join(c.__name__ for c in (cls if isinstance(cls, tuple) else (cls,)))
        raise TypeError(f"{name} must be a {names}, got {type(value).__name__}{hint}")
    return value


def check_bool(value: object, name: str) -> bool:
    """A switch: ``True`` or ``False`` (``numpy.bool_`` too); anything else is a TypeError.

    Strings and numbers are refused rather than interpreted: ``bool("no")`` is ``True``.
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {_kind(value)}")


def check_choice(value: object, name: str, choices: Sequence[str]) -> str:
    """A string option: one of ``choices`` (TypeError for a non-string, ValueError otherwise)."""
    listed = ", ".join(repr(c) for c in choices)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {listed}, got {_kind(value)}")
    if value not in choices:
        raise ValueError(f"{name} must be one of {listed}, got {value!r}")
    return value


def check_int(value: object, name: str, *, minimum: int | None = None,
              maximum: int | None = None, allow_none: bool = False) -> int | None:
    """An integer (``int`` or a numpy integer) within ``[minimum, maximum]``.

    ``bool``, floats (also integer-valued ones such as ``3.0``) and strings are TypeErrors: a
    count or width that is not an integer is a caller error, never truncated.
    """
    if value is None and allow_none:
        return None
    bounds = "" if minimum is None else f" ≥ {minimum}"
    if maximum is not None:
        bounds = f" in {minimum}..{maximum}" if minimum is not None else f" ≤ {maximum}"
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iu":
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer{bounds}, got {_kind(value)}")
    v = int(value)
    if (minimum is not None and v < minimum) or (maximum is not None and v > maximum):
        raise ValueError(f"{name} must be an integer{bounds}, got {v}")
    return v


def check_positive_int(value: object, name: str, *, allow_none: bool = False) -> int | None:
    """A count or width ``≥ 1`` (:func:`check_int`)."""
    return check_int(value, name, minimum=1, allow_none=allow_none)


def check_nonnegative_int(value: object, name: str, *, allow_none: bool = False) -> int | None:
    """A count ``≥ 0`` (:func:`check_int`)."""
    return check_int(value, name, minimum=0, allow_none=allow_none)


def check_real(value: object, name: str, *, finite: bool = True,
               allow_none: bool = False) -> float | None:
    """A real number (``int``, ``float``, numpy real scalar or 0-d array) as a float.

    ``bool``, strings and complex numbers are TypeErrors; ``nan`` is always a ValueError, ``±inf``
    unless ``finite=False``.
    """
    if value is None and allow_none:
        return None
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (complex, np.complexfloating)):
        raise TypeError(f"{name} must be a real number, got the complex {_show(value)}")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.number)):
        raise TypeError(f"{name} must be a real number, got {_kind(value)}")
    v = float(value)
    if np.isnan(v) or (finite and not np.isfinite(v)):
        raise ValueError(f"{name} must be a finite real number, got {_show(value)}")
    return v


def _check_bounded_below(value: object, name: str, *, strict: bool,
                         allow_none: bool) -> float | None:
    """``value`` as a float, finite and > 0 (``strict``) or ≥ 0; ``None`` if allowed."""
    if value is None and allow_none:
        return None
    bound = "> 0" if strict else "≥ 0"
    try:
        v = check_real(value, name, finite=False)
    except TypeError:
        kind = "a positive real number" if strict else "a real number ≥ 0"
        raise TypeError(f"{name} must be {kind}, got {_kind(value)}") from None
    except ValueError:
        v = np.nan
    if not np.isfinite(v) or v < 0 or (strict and v == 0):
        raise ValueError(f"{name} must be finite and {bound}, got {_show(value)}")
    return v


def check_positive(value: object, name: str, *, allow_none: bool = False) -> float | None:
    """Return ``value`` as a float after checking that it is a finite real number > 0."""
    return _check_bounded_below(value, name, strict=True, allow_none=allow_none)


def check_nonnegative(value: object, name: str, *, allow_none: bool = False) -> float | None:
    """Return ``value`` as a float after checking that it is a finite real number ≥ 0."""
    return _check_bounded_below(value, name, strict=False, allow_none=allow_none)


def check_tolerance(value: object, name: str, *, allow_none: bool = False,
                    allow_zero: bool = False, below_one: bool = False) -> float | None:
    """A tolerance (or step size, learning rate, precision): a finite real number ``> 0``.

    ``allow_zero`` admits 0 (e.g. "count exact zeros only"); ``below_one`` requires ``< 1`` (a
    relative reduction); ``allow_none`` admits ``None`` (e.g. "never warn").
    """
    if value is None and allow_none:
        return None
    v = (check_nonnegative if allow_zero else check_positive)(value, name)
    if below_one and not v < 1:
        raise ValueError(f"{name} must be < 1 (a relative reduction), got {_show(value)}")
    return v


def check_rng(rng: object, name: str = "rng") -> np.random.Generator:
    """``numpy.random.default_rng(rng)`` after checking that ``rng`` is a valid seed (SPEC 7).

    Accepted: ``None``, a non-negative integer, a ``numpy.random.Generator`` (returned as is, so
    its stream continues), ``BitGenerator`` or ``SeedSequence``.
    """
    if rng is None or isinstance(rng, (np.random.Generator, np.random.BitGenerator,
                                       np.random.SeedSequence)):
        return np.random.default_rng(rng)
    if isinstance(rng, (bool, np.bool_)) or not isinstance(rng, (int, np.integer)):
        raise TypeError(f"{name} must be a numpy Generator, an integer seed ≥ 0 or None, got "
                        f"{_kind(rng)}")
    if rng < 0:
        raise ValueError(f"{name} must be an integer seed ≥ 0, got {rng}")
    return np.random.default_rng(int(rng))


def _width_label(name: str, i: int, n: int) -> str:
    """``widths[1] (n_1, the width of layer 1)`` for entry ``i`` of ``n`` widths."""
    if i == 0:
        role = "n_0 = d_x, the input width"
    elif i == n - 1:
        role = f"n_{i} = d_y, the output width"
    else:
        role = f"n_{i}, the width of hidden layer {i}"
    return f"{name}[{i}] ({role})"


def check_widths(widths: object, name: str = "widths", *,
                 min_layers: int = 1) -> tuple[int, ...]:
    """Layer widths ``(n_0, …, n_L)``: at least ``min_layers + 1`` positive integers.

    Every entry must be an ``int`` or a numpy integer ``≥ 1``; ``2.7``, ``0``, ``-1``, ``True``
    and ``"3"`` are refused with a message naming the entry and its layer.
    """
    if isinstance(widths, (str, bytes)) or not isinstance(widths, (Sequence, np.ndarray)):
        raise TypeError(f"{name} must be a sequence of positive integers (n_0, …, n_L), got "
                        f"{_kind(widths)}")
    if isinstance(widths, np.ndarray) and widths.ndim != 1:
        raise ValueError(f"{name} must be 1-D (n_0, …, n_L), got shape {widths.shape}")
    n = len(widths)
    out = tuple(check_positive_int(w, _width_label(name, i, n)) for i, w in enumerate(widths))
    if n < min_layers + 1:
        hidden = " (input, hidden and output widths)" if min_layers >= 2 else ""
        raise ValueError(f"{name} must list at least {min_layers + 1} widths{hidden}, got "
                         f"{list(out)}")
    return out


def layer_label(name: str, l: int, symbol: str = "W", what: str = "weights") -> str:
    """How messages name layer ``l`` (1-based) of a per-layer argument:
    ``weights[1] (W_2, the weights of layer 2)``."""
    return f"{name}[{l - 1}] ({symbol}_{l}, the {what} of layer {l})"


def check_weights(weights: object, name: str = "weights") -> list[NDArray[np.float64]]:
    """Validate raw weights ``[W_1, …, W_L]``: private float64 copies that chain.

    ``W_l`` must be a finite real 2-D array of shape ``(n_l, n_{l-1})`` with no empty dimension,
    and there must be at least two of them (one hidden layer). The returned arrays are new
    (never the caller's), so that linpc can keep them read-only without freezing the caller's
    arrays. Messages name the entry as the caller passed it and the layer:
    ``Ws[2] (W_3, the weights of layer 3) has shape (4, 5), but layer 2 has width 6 …``.
    """
    if isinstance(weights, np.ndarray) and weights.ndim != 1:
        raise TypeError(f"{name} must be a sequence of 2-D arrays [W_1, ..., W_L], not one "
                        f"{weights.ndim}-D array")
    if isinstance(weights, (str, bytes, Mapping)) or not isinstance(weights, Iterable):
        raise TypeError(f"{name} must be a sequence of 2-D arrays [W_1, ..., W_L], got "
                        f"{type(weights).__name__}")
    Ws = [as_real_array(W, layer_label(name, l), copy=True)
          for l, W in enumerate(weights, start=1)]
    L = len(Ws)
    if L < 2:
        raise ValueError(f"a PCN needs at least 2 weight matrices (one hidden layer); {name} has "
                         f"{L}")
    for l, W in enumerate(Ws, start=1):
        if W.ndim != 2:
            raise ValueError(f"{layer_label(name, l)} must be 2-D with shape (n_{l}, n_{l - 1}), "
                             f"got shape {W.shape}")
        if 0 in W.shape:
            raise ValueError(f"{layer_label(name, l)} has an empty dimension: shape {W.shape}")
    for l in range(2, L + 1):
        prev, W = Ws[l - 2], Ws[l - 1]
        if W.shape[1] != prev.shape[0]:
            hint = ""
            if W.shape[0] == prev.shape[0]:
                hint = (f" (is it transposed? W_{l} has shape (n_{l}, n_{l - 1}) = "
                        "(outputs, inputs))")
            raise ValueError(
                f"layers do not chain: {layer_label(name, l)} has shape {W.shape} (it expects "
                f"{W.shape[1]} inputs), but layer {l - 1} has width n_{l - 1} = {prev.shape[0]} "
                f"({name}[{l - 2}] has shape {prev.shape}); {name}[{l - 1}] must have shape "
                f"({W.shape[0]}, {prev.shape[0]}){hint}"
            )
    return Ws


def check_biases(biases: object, widths: Sequence[int],
                 name: str = "biases") -> list[NDArray[np.float64] | None]:
    """Validate raw biases ``[b_1, …, b_L]`` (``None`` entries for layers without a bias).

    ``b_l`` must be a finite real array of shape ``(n_l,)``; returns private float64 copies.
    """
    L = len(widths) - 1
    if isinstance(biases, (str, bytes, np.ndarray)) or not isinstance(biases, Sequence):
        raise TypeError(f"{name} must be a sequence of L = {L} arrays or None entries "
                        f"[b_1, ..., b_L], got {type(biases).__name__}")
    if len(biases) != L:
        raise ValueError(f"{name} must have one entry per layer (L = {L}), got {len(biases)}")
    out: list[NDArray[np.float64] | None] = []
    for l, b in enumerate(biases, start=1):
        if b is None:
            out.append(None)
            continue
        label = layer_label(name, l, "b", "bias")
        ba = as_real_array(b, label, copy=True)
        if ba.shape != (widths[l],):
            raise ValueError(f"{label} must have shape ({widths[l]},), got {ba.shape}")
        out.append(ba)
    return out


def check_data(
    x: ArrayLike, y: ArrayLike | None, d_x: int, d_y: int, first_layer_shape: Sequence[int],
    last_layer_shape: Sequence[int],
) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
    """Validate a batch ``x`` of shape (B, d_x) and ``y`` of shape (B, d_y).

    A single sample may be given as 1-D ``x`` and ``y`` (treated as B = 1). Mixing a 1-D array with
    a 2-D batch is an error, since it is ambiguous. ``y`` may be ``None`` where only the input is
    needed.
    """
    xa = as_real_array(x, "x")
    ya = None if y is None else as_real_array(y, "y")
    if xa.ndim == 1 and (ya is None or ya.ndim == 1):
        xa = xa[None, :]
        ya = None if ya is None else ya[None, :]
    if xa.ndim != 2:
        raise ValueError(f"x must have shape (B, d_x) = (B, {d_x}), got shape {xa.shape}")
    if ya is not None and ya.ndim != 2:
        raise ValueError(
            f"y must have shape (B, d_y) = ({xa.shape[0]}, {d_y}), got shape {ya.shape}"
            + ("; a 1-D y is only accepted together with a 1-D x (one sample)"
               if ya.ndim == 1 else "")
        )
    _check_columns(xa, "x", d_x, "the first layer W_1", first_layer_shape)
    if ya is not None:
        _check_columns(ya, "y", d_y, "the last layer W_L", last_layer_shape)
        if ya.shape[0] != xa.shape[0]:
            raise ValueError(
                f"x and y must have the same number of rows (samples): x has {xa.shape[0]}, "
                f"y has {ya.shape[0]}"
            )
    if xa.shape[0] == 0:
        raise ValueError("the batch is empty (x has 0 rows)")
    return xa, ya


def check_symmetric(A: NDArray[np.float64], name: str, n: int) -> NDArray[np.float64]:
    """Return the symmetric part of an ``(n, n)`` matrix after checking it is symmetric.

    Raises a ValueError naming ``name`` when the shape is not ``(n, n)`` or the relative asymmetry
    exceeds :data:`SYMMETRY_RTOL`.
    """
    if A.shape != (n, n):
        raise ValueError(f"{name} must have shape ({n}, {n}) to match g of shape ({n},), "
                         f"got {A.shape}")
    scale = float(np.max(np.abs(A))) if A.size else 0.0
    asym = float(np.max(np.abs(A - A.T))) if A.size else 0.0
    if asym > SYMMETRY_RTOL * scale:
        raise ValueError(
            f"{name} must be symmetric: max|{name} − {name}ᵀ| = {asym:.3g} exceeds "
            f"SYMMETRY_RTOL·max|{name}| = {SYMMETRY_RTOL * scale:.3g}"
        )
    return 0.5 * (A + A.T)


def _check_columns(a: NDArray[np.float64], name: str, d: int, layer: str,
                   layer_shape: Sequence[int]) -> None:
    """Raise a ValueError unless the batch ``a`` has ``d`` columns (naming the layer and shapes)."""
    if a.shape[1] != d:
        hint = ""
        if a.shape[0] == d:
            hint = " (it looks transposed: linpc expects batch-first data, rows = samples)"
        raise ValueError(
            f"{name} has {a.shape[1]} columns but {layer} has shape {tuple(layer_shape)}, so "
            f"{name} must have shape (B, {d}){hint}"
        )
