"""μPC and the conditioning of inference with depth and width (docs/theory.md §1.4, §6).

μPC (Innocenti, Achour, Buckley, "μPC: Scaling Predictive Coding to 100+ Layer Networks",
NeurIPS 2025, arXiv:2505.13124) keeps the forward pass stable with depth; the activity Hessian
``H_z`` stays ill-conditioned, with ``κ(H_z) = Θ(H²)`` at large width, so gradient-descent
inference slows down with depth. Under μPC the energy approaches the MSE and PC approaches BP when
width ≫ depth (Innocenti, Achour, Bogacz, arXiv:2602.07697).

* :mod:`~linpc.mupc.forward_scale` — exact second moments of the forward pass at initialisation;
* :mod:`~linpc.mupc.tridiagonal_limit` — the depth limit ``T_H ⊗ I`` and its closed-form spectrum;
* :mod:`~linpc.mupc.conditioning` — spectra of ``H_z`` and its parts at initialisation;
* :mod:`~linpc.mupc.inference_speed` — inference steps predicted from ``κ`` and measured;
* :mod:`~linpc.mupc.activity_decay` — the exact effects of an activity regulariser;
* :mod:`~linpc.mupc.limits` — ``E[S]`` at initialisation, energy → MSE and PC → BP.
"""

from importlib import import_module as _import_module

from linpc.mupc.activity_decay import *
from linpc.mupc.conditioning import *
from linpc.mupc.forward_scale import *
from linpc.mupc.inference_speed import *
from linpc.mupc.limits import *
from linpc.mupc.tridiagonal_limit import *

#: The modules of the subpackage, each building only on those before it; each declares its
#: public names once, in its ``__all__``, and the subpackage re-exports them all.
MODULES = (
    "forward_scale", "tridiagonal_limit", "conditioning", "inference_speed", "activity_decay",
    "limits",
)
__all__ = [name for module in MODULES
           for name in _import_module(f"{__name__}.{module}").__all__]
