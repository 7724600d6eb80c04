"""Input checking shared by the public functions.

Every public entry point converts its inputs here, so that bad input fails early with a message
that names the offending argument, layer and shapes, instead of producing a silently wrong number.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["as_real_array", "check_data", "check_positive"]


def as_real_array(a: ArrayLike, name: str, *, ndim: int | None = None) -> NDArray[np.float64]:
    """Convert ``a`` to a float64 array, rejecting complex, non-numeric and non-finite input.

    Integer and boolean inputs are converted exactly; complex and object arrays are rejected
    rather than cast, since casting would drop information silently.
    """
    arr = np.asarray(a)
    if arr.dtype.kind == "c":
        raise TypeError(f"{name} is complex ({arr.dtype}); linpc works with real float64 arrays")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} has dtype {arr.dtype}; expected a real numeric array")
    arr = np.asarray(arr, dtype=np.float64)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(
            f"{name} contains a non-finite value ({arr[tuple(bad)]!r} at index {tuple(bad)})"
        )
    return arr


def check_positive(value: float, name: str) -> float:
    """Return ``value`` as a float after checking that it is finite and > 0."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a positive real number, got {value!r}") from None
    if not np.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be finite and > 0, got {value!r}")
    return v


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
    if xa.shape[1] != d_x:
        hint = ""
        if xa.shape[0] == d_x:
            hint = " (it looks transposed: linpc expects batch-first data, rows = samples)"
        raise ValueError(
            f"x has {xa.shape[1]} columns but the first layer W_1 has shape "
            f"{tuple(first_layer_shape)}, so x must have shape (B, {d_x}){hint}"
        )
    if ya is not None:
        if ya.shape[1] != d_y:
            hint = ""
            if ya.shape[0] == d_y:
                hint = " (it looks transposed: linpc expects batch-first data, rows = samples)"
            raise ValueError(
                f"y has {ya.shape[1]} columns but the last layer W_L has shape "
                f"{tuple(last_layer_shape)}, so y must have shape (B, {d_y}){hint}"
            )
        if ya.shape[0] != xa.shape[0]:
            raise ValueError(
                f"x and y must have the same number of rows (samples): x has {xa.shape[0]}, "
                f"y has {ya.shape[0]}"
            )
    if xa.shape[0] == 0:
        raise ValueError("the batch is empty (x has 0 rows)")
    return xa, ya
