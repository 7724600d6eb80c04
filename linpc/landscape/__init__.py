"""The landscapes of ``F*`` and ``ℒ`` over the weights: Hessians, spectra, saddles, higher orders.

The equilibrated energy ``F*`` is what PC descends at equilibrium, the MSE ``ℒ`` what
backpropagation descends. Their degenerate (non-strict) saddles differ: the origin and the other
zero-rank saddles of ``ℒ`` are strict saddles of ``F*`` (Innocenti, Achour, Singh, Buckley,
"Only Strict Saddles in the Energy Landscape of Predictive Coding Networks?", NeurIPS 2024,
arXiv:2408.11979, Theorems 2–3; docs/theory.md §3), and ``F*`` carries information of every order
in the weights (docs/theory.md §5).

* :mod:`~linpc.landscape.hessians` — exact Hessians of ``F*`` (Schur complement of the joint
  ``(z, θ)`` Hessian) and ``ℒ`` (Gauss–Newton + residual), dense or matrix-free;
* :mod:`~linpc.landscape.hessian_spectrum` — extreme eigenvalues and inertia with accuracy bounds;
* :mod:`~linpc.landscape.critical_points` — classification of a critical point with stated
  tolerances;
* :mod:`~linpc.landscape.origin` — closed forms at ``θ = 0`` and the golden-ratio curvature;
* :mod:`~linpc.landscape.zero_rank` — the other zero-rank saddles and the ``W_L = 0`` identities;
* :mod:`~linpc.landscape.expansions` — the Neumann series of ``F*`` and exact Taylor coefficients;
* :mod:`~linpc.landscape.flatness` — orders of flatness, exact and measured.
"""

from importlib import import_module as _import_module

from linpc.landscape.critical_points import *
from linpc.landscape.expansions import *
from linpc.landscape.flatness import *
from linpc.landscape.hessian_spectrum import *
from linpc.landscape.hessians import *
from linpc.landscape.origin import *
from linpc.landscape.zero_rank import *

#: The modules of the subpackage, each building only on those before it; each declares its
#: public names once, in its ``__all__``, and the subpackage re-exports them all.
MODULES = (
    "hessians", "hessian_spectrum", "critical_points", "origin", "zero_rank", "expansions",
    "flatness",
)
__all__ = [name for module in MODULES
           for name in _import_module(f"{__name__}.{module}").__all__]
