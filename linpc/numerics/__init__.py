"""Numerical machinery shared by every part of linpc; no predictive-coding concept lives here.

* :mod:`~linpc.numerics.tolerances` — machine epsilon and every named tolerance rule, each with
  the error bound that justifies it;
* :mod:`~linpc.numerics.warnings` — :class:`IllConditionedWarning` and when it is raised;
* :mod:`~linpc.numerics.validation` — input conversion and checks with messages that name the
  argument, layer and shapes;
* :mod:`~linpc.numerics.block_cholesky` — factorisation and solves of block-tridiagonal SPD
  matrices in level-3 BLAS kernels (Golub & Van Loan, *Matrix Computations*, §4.5);
* :mod:`~linpc.numerics.lanczos` — plain Lanczos for the top eigenvector in O(n) memory;
* :mod:`~linpc.numerics.threads` — BLAS thread limits for many small kernels;
* :mod:`~linpc.numerics.progress` — progress bars for long runs.
"""

from importlib import import_module as _import_module

from linpc.numerics.block_cholesky import *
from linpc.numerics.lanczos import *
from linpc.numerics.progress import *
from linpc.numerics.threads import *
from linpc.numerics.tolerances import *
from linpc.numerics.types import *
from linpc.numerics.validation import *
from linpc.numerics.warnings import *

#: The modules of the subpackage, each building only on those before it; each declares its
#: public names once, in its ``__all__``, and the subpackage re-exports them all.
MODULES = (
    "types",
    "tolerances", "warnings", "validation", "threads", "progress", "lanczos", "block_cholesky",
)
__all__ = [name for module in MODULES
           for name in _import_module(f"{__name__}.{module}").__all__]
