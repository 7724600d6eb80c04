"""linpc: exact, fast verification of the theory of deep linear predictive coding networks.

A flat namespace over small modules, one concept each (see README.md for the map). Names that
researchers know from jpc (``linear_equilib_energy``, ``compute_linear_equilib_rescaling``,
``compute_linear_activity_hessian``, ``compute_linear_activity_solution``,
``compute_linear_equilib_energy_grads``) are plain functions of ``(Ws, x, y, *, ...)``.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .activity import ActivityHessian, ExtremeEigenvalues, activity_hessian
from .blocktridiag import BlockCholesky, NotPositiveDefiniteError, block_cholesky
from .conditioning import IllConditionedWarning
from .energy import (
    energy,
    energy_activity_gradient,
    energy_parameter_gradient,
    layer_energies,
    prediction_errors,
)
from .equilibrium import (
    Equilibrium,
    activity_rhs,
    equilibrated_energy,
    equilibrated_energy_gradient,
    equilibrium_rescaling,
    solve_equilibrium,
)
from .gaussian import cross_covariances, output_covariance, sample_gaussian_model
from .inference import (
    InferenceResult,
    contraction_factor,
    gradient_descent_inference,
    gradient_flow_activities,
    optimal_step_size,
    steps_to_tolerance,
)
from .jpc_compat import (
    compute_linear_activity_hessian,
    compute_linear_activity_solution,
    compute_linear_equilib_energy_grads,
    compute_linear_equilib_rescaling,
    linear_equilib_energy,
)
from .loss import mse_gradient, mse_loss
from .network import LinearPCN
from .parameterisation import PARAM_TYPES, init_weights, layer_scalings
from .parameters import ParameterArrays, flatten_parameters, with_flat_parameters

__all__ = [
    "PARAM_TYPES",
    "ActivityHessian",
    "BlockCholesky",
    "Equilibrium",
    "ExtremeEigenvalues",
    "IllConditionedWarning",
    "InferenceResult",
    "LinearPCN",
    "NotPositiveDefiniteError",
    "ParameterArrays",
    "__version__",
    "activity_hessian",
    "activity_rhs",
    "block_cholesky",
    "compute_linear_activity_hessian",
    "compute_linear_activity_solution",
    "compute_linear_equilib_energy_grads",
    "compute_linear_equilib_rescaling",
    "contraction_factor",
    "cross_covariances",
    "energy",
    "energy_activity_gradient",
    "energy_parameter_gradient",
    "equilibrated_energy",
    "equilibrated_energy_gradient",
    "equilibrium_rescaling",
    "flatten_parameters",
    "gradient_descent_inference",
    "gradient_flow_activities",
    "init_weights",
    "layer_energies",
    "layer_scalings",
    "linear_equilib_energy",
    "mse_gradient",
    "mse_loss",
    "optimal_step_size",
    "output_covariance",
    "prediction_errors",
    "sample_gaussian_model",
    "solve_equilibrium",
    "steps_to_tolerance",
    "with_flat_parameters",
]
