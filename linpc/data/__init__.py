"""Data of the papers' linear-network experiments, generated locally (nothing is downloaded).

* :mod:`~linpc.data.synthetic` — the toy Gaussian ``y = ±x`` (P1 Figs. 2, 3, 7–9; P3), one-hot
  class data with the shapes of MNIST and MNIST-1D (P1 Figs. 4, 10), a linear teacher, and the
  rank-3 matrix-completion task (P1 Fig. 6);
* :mod:`~linpc.data.moments` — the uncentred second moments ``Σ_xx``, ``Σ_yx``, ``Σ_yy`` that the
  saddle theorems are stated in (docs/theory.md §0, §3).
"""

from importlib import import_module as _import_module

from linpc.data.moments import *
from linpc.data.synthetic import *

#: The modules of the subpackage, each building only on those before it; each declares its
#: public names once, in its ``__all__``, and the subpackage re-exports them all.
MODULES = ("synthetic", "moments")
__all__ = [name for module in MODULES
           for name in _import_module(f"{__name__}.{module}").__all__]
