"""The linear predictive coding network and its inference equilibrium (docs/theory.md §0–§2).

The model :class:`LinearPCN` (multipliers of SP / NTP / μPC, identity skips, biases, precisions,
activity decay), the energy ``F`` and the MSE ``ℒ`` with their gradients, the block-tridiagonal
activity Hessian ``H_z``, and the equilibrium computed two independent ways: by block Cholesky of
``H_z`` and by Gaussian conditioning in the linear-Gaussian model. The equilibrated energy is the
rescaled MSE ``F* = (1/2B) Σ_i r_iᵀS⁻¹r_i`` of Innocenti et al. (NeurIPS 2024, arXiv:2408.11979,
Theorem 1). Iterative inference (gradient descent, the exact flow) converges to it.

Modules, in the order they build on each other: :mod:`~linpc.core.parameterisation`
(multipliers), :mod:`~linpc.core.network` (the model), :mod:`~linpc.core.initialisation`
(weight initialisers), :mod:`~linpc.core.parameter_arrays` (the flat parameter vector θ),
:mod:`~linpc.core.energy`, :mod:`~linpc.core.backprop` (the one reverse-mode sweep),
:mod:`~linpc.core.loss`, :mod:`~linpc.core.activity_hessian`, :mod:`~linpc.core.gaussian`,
:mod:`~linpc.core.equilibrium`, :mod:`~linpc.core.rescaled_mse` (``∇F*`` by the quotient rule),
:mod:`~linpc.core.inference`.
"""

from importlib import import_module as _import_module

from linpc.core.activity_hessian import *
from linpc.core.backprop import *
from linpc.core.energy import *
from linpc.core.equilibrium import *
from linpc.core.gaussian import *
from linpc.core.inference import *
from linpc.core.initialisation import *
from linpc.core.loss import *
from linpc.core.network import *
from linpc.core.parameter_arrays import *
from linpc.core.parameterisation import *
from linpc.core.rescaled_mse import *

#: The modules of the subpackage, each building only on those before it; each declares its
#: public names once, in its ``__all__``, and the subpackage re-exports them all.
MODULES = (
    "parameterisation", "network", "initialisation", "parameter_arrays", "energy", "backprop",
    "loss", "activity_hessian", "gaussian", "equilibrium", "rescaled_mse", "inference",
)
__all__ = [name for module in MODULES
           for name in _import_module(f"{__name__}.{module}").__all__]
