"""Uncentred second moments of a batch, the data statistics of the saddle theorems.

``Σ_xx = XᵀX/B``, ``Σ_yx = YᵀX/B``, ``Σ_yy = YᵀY/B`` (batch-first ``X``, ``Y``) are *uncentred*, as
in the papers' notebooks (docs/theory.md §0, §8.10): with centred covariances the origin formulas
of docs/theory.md §3 would only hold for zero-mean data, and the toy data have mean 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from linpc.numerics.threads import thread_policy
from linpc.numerics.types import Array
from linpc.numerics.validation import as_real_array

__all__ = ["SecondMoments", "second_moments"]


@dataclass(frozen=True)
class SecondMoments:
    """Uncentred empirical second moments of a batch (docs/theory.md §0).

    Attributes
    ----------
    xx : ndarray, shape (d_x, d_x)
        ``Σ_xx = XᵀX/B``.
    yx : ndarray, shape (d_y, d_x)
        ``Σ_yx = YᵀX/B``.
    yy : ndarray, shape (d_y, d_y)
        ``Σ_yy = YᵀY/B``.
    """

    xx: Array
    yx: Array
    yy: Array

    @property
    def xy(self) -> Array:
        """``Σ_xy = Σ_yxᵀ``."""
        return self.yx.T


@thread_policy
def second_moments(x, y) -> SecondMoments:
    """``Σ_xx = XᵀX/B``, ``Σ_yx = YᵀX/B``, ``Σ_yy = YᵀY/B`` (uncentred, batch-first data)."""
    xa = np.atleast_2d(as_real_array(x, "x"))
    ya = np.atleast_2d(as_real_array(y, "y"))
    for name, a in (("x", xa), ("y", ya)):
        if a.ndim != 2:
            raise ValueError(f"{name} must have shape (B, d), got {a.shape}")
    if xa.shape[0] != ya.shape[0]:
        raise ValueError(
            f"x and y must have the same number of rows, got {xa.shape} and {ya.shape}")
    B = xa.shape[0]
    return SecondMoments(xa.T @ xa / B, ya.T @ xa / B, ya.T @ ya / B)
