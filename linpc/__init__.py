"""linpc: exact, fast verification of the theory of deep linear predictive coding networks.

The flat namespace is the curated API: the model, its equilibrium (``z*``, ``F*``, ``S``), the
Hessians of ``F*`` and ``ℒ``, the conditioning of inference, the trust-region solver, and the
functions named as in jpc. Everything else lives in subpackages by theory area, each a namespace
of its own (``linpc.landscape.zero_rank_point``, ``linpc.mupc.inference_speed``):

==========================  ==================================================================
subpackage                  theory (sections of ``docs/theory.md``)
==========================  ==================================================================
:mod:`linpc.core`           network, energy, MSE, activity Hessian, equilibrium, inference (§0–2)
:mod:`linpc.landscape`      Hessians, spectra, saddles of ``F*`` and ``ℒ``, higher orders (§3, §5)
:mod:`linpc.trust_region`   PC inference as a trust-region method (§4)
:mod:`linpc.mupc`           μPC, conditioning of inference with depth, PC → BP limits (§1.4, §6)
:mod:`linpc.dynamics`       BP and PC training near saddles, the papers' toy experiments (§4.2, §7)
:mod:`linpc.data`           the papers' synthetic data sets and their second moments
:mod:`linpc.numerics`       tolerances, warnings, validation, block Cholesky, Lanczos, threads
:mod:`linpc.jpc`            every jpc-compatible function of ``(Ws, x, y)``
:mod:`linpc.verify`         the battery behind ``linpc verify`` and the dense references
:mod:`linpc.reproduce`      ``linpc reproduce``: sweeps, figure contract, report
:mod:`linpc.testing`        hypothesis strategies for property-testing PC code against linpc
==========================  ==================================================================

Section numbers refer to ``docs/theory.md``, the mathematics that the code implements.
"""

from linpc import core, data, dynamics, jpc, landscape, mupc, numerics, trust_region
from linpc._version import __version__
from linpc.core.activity_hessian import ActivityHessian, ExtremeEigenvalues
from linpc.core.energy import (
    energy,
    energy_activity_gradient,
    energy_parameter_gradient,
    layer_energies,
    prediction_errors,
)
from linpc.core.equilibrium import (
    Equilibrium,
    activity_rhs,
    equilibrated_energy,
    equilibrated_energy_gradient,
    equilibrium_rescaling,
    solve_equilibrium,
)
from linpc.core.inference import (
    InferenceResult,
    euler_inference,
    gradient_descent_inference,
    gradient_flow_activities,
    optimal_step_size,
    steps_to_tolerance,
)
from linpc.core.initialisation import init_network, init_weights
from linpc.core.loss import mse_gradient, mse_loss
from linpc.core.network import LinearPCN
from linpc.core.parameter_arrays import ParameterArrays, flatten_parameters, with_flat_parameters
from linpc.core.parameterisation import PARAM_TYPES, layer_scalings
from linpc.core.rescaled_mse import rescaled_mse_gradient
from linpc.data.moments import second_moments
from linpc.data.synthetic import toy_gaussian
from linpc.dynamics.optim import Adam
from linpc.dynamics.training import Trajectory, train
from linpc.jpc import (
    activity_hessian_condition_number,
    activity_hessian_extreme_eigenvalues,
    compute_linear_activity_hessian,
    compute_linear_activity_solution,
    compute_linear_equilib_energy_grads,
    compute_linear_equilib_rescaling,
    equilib_energy_hessian,
    linear_equilib_energy,
    mse_loss_hessian,
)
from linpc.landscape.critical_points import CriticalPointClassification, classify_critical_point
from linpc.landscape.expansions import directional_taylor_coefficients, neumann_series
from linpc.landscape.flatness import origin_flatness_orders
from linpc.landscape.hessian_spectrum import HessianSpectrum, hessian_spectrum
from linpc.landscape.hessians import (
    EquilibratedEnergyHessian,
    MSEHessian,
    equilibrated_energy_hessian,
    mse_hessian,
)
from linpc.landscape.origin import GOLDEN_RATIO, origin_hessians, origin_network, origin_spectra
from linpc.landscape.zero_rank import other_saddle, zero_rank_point
from linpc.mupc.conditioning import activity_hessian_part_eigenvalues
from linpc.mupc.forward_scale import expected_forward_norms
from linpc.mupc.inference_speed import inference_speed
from linpc.mupc.limits import expected_rescaling, pc_bp_agreement
from linpc.mupc.tridiagonal_limit import tridiagonal_limit_spectrum
from linpc.numerics.block_cholesky import BlockCholesky, NotPositiveDefiniteError
from linpc.numerics.warnings import IllConditionedWarning
from linpc.trust_region.gradient_decomposition import (
    WeightGradientDecomposition,
    weight_gradient_decomposition,
)
from linpc.trust_region.interpolation import inference_interpolation, weak_precision_gaps
from linpc.trust_region.pc_step import PCTrustRegionStep, pc_trust_region_step
from linpc.trust_region.subproblem import TrustRegionResult, solve_trust_region_subproblem

__all__ = [
    "GOLDEN_RATIO", "PARAM_TYPES", "ActivityHessian", "Adam", "BlockCholesky",
    "CriticalPointClassification", "EquilibratedEnergyHessian", "Equilibrium",
    "ExtremeEigenvalues", "HessianSpectrum", "IllConditionedWarning", "InferenceResult",
    "LinearPCN", "MSEHessian", "NotPositiveDefiniteError", "PCTrustRegionStep", "ParameterArrays",
    "Trajectory", "TrustRegionResult", "WeightGradientDecomposition", "__version__",
    "activity_hessian_condition_number", "activity_hessian_extreme_eigenvalues",
    "activity_hessian_part_eigenvalues", "activity_rhs", "classify_critical_point",
    "compute_linear_activity_hessian", "compute_linear_activity_solution",
    "compute_linear_equilib_energy_grads", "compute_linear_equilib_rescaling", "core", "data",
    "directional_taylor_coefficients", "dynamics", "energy", "energy_activity_gradient",
    "energy_parameter_gradient", "equilib_energy_hessian", "equilibrated_energy",
    "equilibrated_energy_gradient", "equilibrated_energy_hessian", "equilibrium_rescaling",
    "euler_inference", "expected_forward_norms", "expected_rescaling", "flatten_parameters",
    "gradient_descent_inference", "gradient_flow_activities", "hessian_spectrum",
    "inference_interpolation", "inference_speed", "init_network", "init_weights", "jpc",
    "landscape", "layer_energies", "layer_scalings", "linear_equilib_energy", "mse_gradient",
    "mse_hessian", "mse_loss", "mse_loss_hessian", "mupc", "neumann_series", "numerics",
    "optimal_step_size", "origin_flatness_orders", "origin_hessians", "origin_network",
    "origin_spectra", "other_saddle", "pc_bp_agreement", "pc_trust_region_step",
    "prediction_errors", "rescaled_mse_gradient", "second_moments", "solve_equilibrium",
    "solve_trust_region_subproblem", "steps_to_tolerance", "toy_gaussian", "train",
    "tridiagonal_limit_spectrum", "trust_region", "weak_precision_gaps",
    "weight_gradient_decomposition", "with_flat_parameters", "zero_rank_point",
]
