"""PC inference as an adaptive trust-region method (docs/theory.md §4).

For a linear PCN the energy is exactly quadratic in the activities, so inference from the
feedforward pass is one exact trust-region (Newton) step in activity space with the metric
``H_z``, and the PC weight gradient decomposes exactly into a BP term, a trust-region term and a
curvature term (Innocenti, Singh, Buckley, "Understanding Predictive Coding as an Adaptive
Trust-Region Method", arXiv:2305.18188).

* :mod:`~linpc.trust_region.subproblem` — an exact solver of the trust-region subproblem for any
  symmetric model Hessian, hard case included, with its KKT certificate;
* :mod:`~linpc.trust_region.pc_step` — inference as the trust-region step, its radius and value;
* :mod:`~linpc.trust_region.gradient_decomposition` — ``∇F* = λ∇ℒ + TR step + curvature``;
* :mod:`~linpc.trust_region.interpolation` — the PC gradient along inference time, from BP to
  ``∇F*``, and the weak-precision limit PC → BP.
"""

from importlib import import_module as _import_module

from linpc.trust_region.gradient_decomposition import *
from linpc.trust_region.interpolation import *
from linpc.trust_region.pc_step import *
from linpc.trust_region.subproblem import *

#: The modules of the subpackage, each building only on those before it; each declares its
#: public names once, in its ``__all__``, and the subpackage re-exports them all.
MODULES = ("subproblem", "pc_step", "gradient_decomposition", "interpolation")
__all__ = [name for module in MODULES
           for name in _import_module(f"{__name__}.{module}").__all__]
