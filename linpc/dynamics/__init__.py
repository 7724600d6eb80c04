"""Learning dynamics near saddles: BP and PC training, the papers' toy experiments, escape times.

* :mod:`~linpc.dynamics.training` — gradient descent with BP, PC with exact inference and PC with
  finite Euler inference, under the papers' batch conventions;
* :mod:`~linpc.dynamics.optim` — Adam;
* :mod:`~linpc.dynamics.toys` — the linear-chain toys of P1 Figs. 2 and 7;
* :mod:`~linpc.dynamics.matrix_completion` — the saddle-to-saddle experiment of P1 Fig. 6;
* :mod:`~linpc.dynamics.escape` — predicted and measured escape times from the origin
  (P2's shallow-model theorem; docs/theory.md §4.2).

References: P1 = Innocenti et al., NeurIPS 2024, arXiv:2408.11979; P2 = Innocenti, Singh,
Buckley, arXiv:2305.18188.
"""

from importlib import import_module as _import_module

from linpc.dynamics.escape import *
from linpc.dynamics.matrix_completion import *
from linpc.dynamics.optim import *
from linpc.dynamics.toys import *
from linpc.dynamics.training import *

#: The modules of the subpackage, each building only on those before it; each declares its
#: public names once, in its ``__all__``, and the subpackage re-exports them all.
MODULES = ("training", "optim", "toys", "matrix_completion", "escape")
__all__ = [name for module in MODULES
           for name in _import_module(f"{__name__}.{module}").__all__]
