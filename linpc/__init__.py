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
from .expansions import (
    NeumannSeries,
    TaylorExpansion,
    directional_taylor_coefficients,
    flatness_order,
    neumann_series,
    origin_flatness_orders,
    rescaling_series_matrix,
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
from .inference_interpolation import (
    InferenceInterpolation,
    WeakPrecisionGaps,
    inference_interpolation,
    weak_precision_gaps,
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
from .pc_trust_region import (
    PCTrustRegionStep,
    WeightGradientDecomposition,
    pc_trust_region_step,
    pc_trust_region_subproblem,
    weight_gradient_decomposition,
)
from .shallow_escape import ShallowEscapePrediction, shallow_escape_prediction
from .trust_region import TrustRegionResult, solve_trust_region_subproblem

__all__ = [
    "PARAM_TYPES",
    "ActivityHessian",
    "BlockCholesky",
    "Equilibrium",
    "ExtremeEigenvalues",
    "IllConditionedWarning",
    "InferenceInterpolation",
    "InferenceResult",
    "LinearPCN",
    "NeumannSeries",
    "NotPositiveDefiniteError",
    "PCTrustRegionStep",
    "ParameterArrays",
    "ShallowEscapePrediction",
    "TaylorExpansion",
    "TrustRegionResult",
    "WeakPrecisionGaps",
    "WeightGradientDecomposition",
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
    "directional_taylor_coefficients",
    "energy",
    "energy_activity_gradient",
    "energy_parameter_gradient",
    "equilibrated_energy",
    "equilibrated_energy_gradient",
    "equilibrium_rescaling",
    "flatness_order",
    "flatten_parameters",
    "gradient_descent_inference",
    "gradient_flow_activities",
    "inference_interpolation",
    "init_weights",
    "layer_energies",
    "layer_scalings",
    "linear_equilib_energy",
    "mse_gradient",
    "mse_loss",
    "neumann_series",
    "optimal_step_size",
    "origin_flatness_orders",
    "output_covariance",
    "pc_trust_region_step",
    "pc_trust_region_subproblem",
    "prediction_errors",
    "rescaling_series_matrix",
    "sample_gaussian_model",
    "shallow_escape_prediction",
    "solve_equilibrium",
    "solve_trust_region_subproblem",
    "steps_to_tolerance",
    "weak_precision_gaps",
    "weight_gradient_decomposition",
    "with_flat_parameters",
]
