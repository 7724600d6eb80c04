"""Type aliases shared by every module of linpc.

``Array`` is the float64 numpy array that linpc computes with throughout (inputs are converted to
float64 by :mod:`linpc.numerics.validation`; there is no other precision).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["Array"]

#: A float64 numpy array, the only floating-point type linpc computes with.
Array = NDArray[np.float64]
