"""Inference speed: gradient-descent steps predicted from κ(H_z) and measured (docs/theory.md §1.3).

Independent references: the exact gradient-norm sequence from a dense eigendecomposition of H_z
(``spectral_gradient_norms``), which predicts the measured count to the step, and the rigorous
bound ‖g_t‖ ≤ ρ^t‖g_0‖, which the measured count can never exceed.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import linpc
from linpc.core import init_network
from linpc.mupc import (
    exact_steps_to_tolerance,
    inference_speed,
    inference_speed_point,
    spectral_gradient_norms,
)
from linpc.numerics import EPS, SAFETY
from linpc.reproduce import Grid, run_sweep
from linpc.testing import cases


@given(cases(max_hidden=4, max_width=5, max_batch=4), st.sampled_from([1e-2, 1e-5, 1e-8]))
def test_measured_steps_never_exceed_the_kappa_bound_and_match_the_exact_count(case, tol):
    """measured ≤ ⌈log tol/log ρ⌉ with ρ = (κ−1)/(κ+1) (optimal step), and measured equals the
    first t with ‖g_t‖ ≤ tol‖g_0‖ computed from the eigendecomposition of H_z (±1 step, for the
    round-off of comparing two nearly equal norms at the crossing)."""
    net, x, y = case.net, case.x, case.y
    kappa = linpc.ActivityHessian(net).condition_number()
    if kappa > 1e4:        # keep the example fast; nothing in the identity depends on κ
        return
    sp = inference_speed(net, x, y, tol=tol)
    assert sp.converged
    assert sp.measured <= sp.predicted
    assert sp.contraction == pytest.approx((kappa - 1) / (kappa + 1), rel=1e-9, abs=1e-15)
    exact = exact_steps_to_tolerance(net, x, y, tol=tol, step_size=sp.step_size)
    assert abs(sp.measured - exact) <= 1


@given(cases(max_hidden=3, max_width=4, max_batch=3), st.floats(0.2, 1.9))
def test_gradient_norm_trajectory_matches_the_spectral_formula(case, frac):
    """For a fixed step η = frac/λ_max the recorded ‖g_t‖ of gradient-descent inference equals
    √(Σ_k (1−ημ_k)^{2t}(u_kᵀg_0)²) along the trajectory (relative round-off ∝ t·κ·eps)."""
    net, x, y = case.net, case.x, case.y
    ev = linpc.ActivityHessian(net).extreme_eigenvalues(method="dense")
    if ev.condition_number > 1e3:
        return
    eta = frac / ev.lambda_max
    res = linpc.gradient_descent_inference(net, x, y, step_size=eta, tol=1e-9, max_steps=400,
                                           eigenvalues=ev)
    pred = spectral_gradient_norms(net, x, y, res.recorded_steps, step_size=eta)
    t = res.recorded_steps
    # each step adds round-off ≲ n·eps·(λ_max‖Z‖ + ‖b‖) to the gradient; the iteration map is a
    # contraction (η < 2/λ_max), so these add up at most linearly in t
    Z = np.concatenate(linpc.solve_equilibrium(net, x, y, warn_if_error_above=None).activities,
                       axis=1)
    Z0 = np.concatenate(net.forward(x)[1:-1], axis=1)
    b = linpc.activity_rhs(net, x, y)
    scale = ev.lambda_max * max(np.linalg.norm(Z), np.linalg.norm(Z0)) + np.linalg.norm(b)
    floor = SAFETY * (t + 1) * net.n_activities * EPS * scale
    assert np.all(np.abs(res.grad_norms - pred) <= floor)


def test_fixed_step_sizes_obey_the_contraction_bound():
    """With a practitioner's fixed step (jpc-style η = 0.1 and η = 1/λ_max) the measured count stays
    below ⌈log tol/log ρ(η)⌉; a divergent step (≥ 2/λ_max) has no prediction and a warning."""
    net = init_network((6,) + (8,) * 4 + (3,), param_type="mupc", use_skips=True, rng=4)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((5, 6)), rng.standard_normal((5, 3))
    ev = linpc.ActivityHessian(net).extreme_eigenvalues()
    for eta in (0.1, 1 / ev.lambda_max):
        sp = inference_speed(net, x, y, tol=1e-6, step_size=eta)
        assert sp.converged and sp.measured <= sp.predicted
    with pytest.warns(RuntimeWarning, match="diverges"):
        sp = inference_speed(net, x, y, tol=1e-6, step_size=2.5 / ev.lambda_max, max_steps=50)
    assert sp.predicted is None and not sp.converged


def test_inference_steps_grow_with_depth_and_follow_kappa():
    """Over depth H = 1, 2, 4, 8 at N = 16 (medians of 3 seeds, tol 1e-6): measured steps grow
    with depth for μPC (skips) and for SP (uniform init, no skips), never exceed the κ prediction,
    and are at least a tenth of it — the κ-based count is the right order of magnitude, so
    inference time grows with κ(H_z) = Θ(H²) under μPC."""
    grid = Grid.product({"setting": ["mupc", "sp_uniform"], "H": [1, 2, 4, 8],
                         "replicate": [0, 1, 2]},
                        fixed={"N": 16, "d_x": 10, "d_y": 4, "B": 4, "tol": 1e-6})
    res = run_sweep("test-inference-speed", inference_speed_point, grid, progress=False)
    measured = res.array("measured")
    predicted = res.array("predicted")
    assert np.all(measured <= predicted) and np.all(res.array("converged"))
    assert np.all(measured >= predicted / 10)
    med = np.median(measured, axis=2)
    assert np.all(np.diff(med, axis=1) > 0), med
