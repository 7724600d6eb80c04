"""Input checking shared by the public functions.

Every public entry point converts its inputs here, so that bad input fails early with a message
that names the offending argument, layer and shapes, instead of producing a silently wrong number.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["SYMMETRY_RTOL", "as_real_array", "check_data", "check_positive", "check_symmetric"]

#: Largest relative asymmetry ``max|A − Aᵀ| / max|A|`` accepted as round-off (and removed by
#: symmetrising); anything larger is a caller error. ``1e-10`` is far above the ``O(n eps)``
#: asymmetry of matrices assembled in floating point, and far below any intended asymmetry.
SYMMETRY_RTOL = 1e-10


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
