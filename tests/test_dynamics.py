"""Learning dynamics near saddles: gradients, finite inference, conventions, escape times.

Independent references: ``scipy.differentiate.jacobian`` of loss values for the masked and
PyTorch-normalised gradients; the closed form ``z* + (I − dt H_z)^T (z_0 − z*)`` (dense matrix
power) for Euler inference; the generic training loop for the fused BP loop; the linear-theory
escape rates from the origin Hessian spectra for the escape-time ratio (docs/theory.md §4.2).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from scipy.differentiate import jacobian

from linpc import ActivityHessian, LinearPCN, mse_gradient, solve_equilibrium
from linpc.core import (
    energy,
    euler_inference,
    flatten_parameters,
    masked_mse,
    masked_mse_gradient,
    pc_euler_gradient,
    with_flat_parameters,
)
from linpc.data import matrix_completion, toy_gaussian
from linpc.dynamics import escape_time_ratio, gradient_scales, run_matrix_completion, run_toy, train
from linpc.landscape import GOLDEN_RATIO, origin_network
from linpc.numerics import derivative_tolerance, solve_tolerance
from linpc.testing import cases
from linpc.verify import NetworkSpec, build_case


def _fd_gradient(fun, theta):
    """Gradient of a scalar function of θ by scipy.differentiate.jacobian, with tolerances."""
    def f(t):
        t = np.asarray(t, dtype=np.float64)
        flat = t.reshape(t.shape[0], -1)
        return np.array([fun(flat[:, i]) for i in range(flat.shape[1])]).reshape(t.shape[1:])

    res = jacobian(f, theta, initial_step=0.05, maxiter=6)
    f0 = abs(fun(theta)) + 1.0
    tol = np.array([derivative_tolerance(e, 0.05 / 64, f0) for e in np.abs(res.error)])
    return res.df, tol


@settings(max_examples=15)
@given(cases(max_hidden=3, max_width=4, max_batch=5))
def test_masked_mse_gradient(case):
    """``masked_mse_gradient`` = ∇ℒ (core backprop) without a mask, and = the FD gradient of the
    masked loss ``(1/2B)Σ‖m ⊙ r‖²`` with one (P1 Fig. 6's BP objective). The mask is real-valued
    (output weights in [0, 1)): a binary mask cannot tell ``m ⊙ r`` from ``m ⊙ m ⊙ r``."""
    net, x, y = case.net, case.x, case.y
    _v, g = masked_mse_gradient(net, x, y)
    np.testing.assert_allclose(g.flat(), mse_gradient(net, x, y).flat(), rtol=1e-13,
                               atol=1e-13 * max(1.0, np.abs(g.flat()).max()))
    mask = np.random.default_rng(case.spec.seed).random(y.shape)
    theta = flatten_parameters(net)
    _, gm = masked_mse_gradient(net, x, y, mask)
    df, tol = _fd_gradient(lambda t: masked_mse(with_flat_parameters(net, t), x, y, mask), theta)
    assert np.all(np.abs(gm.flat() - df) <= tol)


def test_pytorch_convention_scales():
    """``gradient_scales("pytorch")`` = (2/d_y, B): (2/d_y)∇ℒ_m is the FD gradient of
    nn.MSELoss-style mean((m ⊙ r)²) and B·∇F_B the FD gradient of the batch-summed energy
    ½Σ_batchΣ_l‖e_l‖² at fixed activities (docs/theory.md §0)."""
    case = build_case(NetworkSpec((3, 4, 2), "sp", batch=6, seed=2))
    net, x, y = case.net, case.x, case.y
    B, dy = x.shape[0], net.d_y
    s_bp, s_pc = gradient_scales("pytorch", batch=B, d_y=dy)
    assert gradient_scales("matched", batch=B, d_y=dy) == (1.0, 1.0)
    mask = np.ones_like(y)
    mask[0, 1] = 0.0
    theta = flatten_parameters(net)
    df, tol = _fd_gradient(lambda t: np.mean((mask * (y - with_flat_parameters(net, t).predict(x)))
                                             ** 2), theta)
    assert np.all(np.abs(s_bp * masked_mse_gradient(net, x, y, mask)[1].flat() - df) <= tol)
    zs = euler_inference(net, x, y, steps=3, dt=0.1)
    df, tol = _fd_gradient(lambda t: B * energy(with_flat_parameters(net, t), zs, x, y), theta)
    assert np.all(np.abs(s_pc * pc_euler_gradient(net, x, y, steps=3, dt=0.1)[1].flat() - df)
                  <= tol)
    with pytest.raises(ValueError, match="convention"):
        gradient_scales("paper", batch=B, d_y=dy)


@settings(max_examples=15)
@given(cases(max_hidden=4, max_width=4, max_batch=4))
def test_euler_inference_matches_matrix_power(case):
    """T Euler steps from the feedforward pass equal z* + (I − dt H_z)^T (z_0 − z*) (dense matrix
    power of the explicit H_z; z* by Gaussian conditioning), since ∇_zF = H_z z − b is affine."""
    net, x, y = case.net, case.x, case.y
    Hz = ActivityHessian(net)
    ev = Hz.extreme_eigenvalues()
    dt = 1.0 / ev.lambda_max
    T = 7
    z_T = np.concatenate(euler_inference(net, x, y, steps=T, dt=dt), axis=1)
    z0 = np.concatenate(net.forward(x)[1:-1], axis=1)
    zs = np.concatenate(solve_equilibrium(net, x, y, method="gaussian").activities, axis=1)
    A = np.linalg.matrix_power(np.eye(net.n_activities) - dt * Hz.to_dense(), T)
    expected = zs + (z0 - zs) @ A.T
    scale = np.abs(z0).max() + np.abs(zs).max() + 1.0
    tol = solve_tolerance(ev.condition_number, net.n_activities + T) * scale
    assert np.abs(z_T - expected).max() <= tol


def test_fused_bp_loop_equals_generic_loop():
    """The fused BP loop (fixed data, default tracked loss) reproduces the generic loop — losses,
    gradient norms, checkpoints and final weights — on a net with skips, biases and a mask."""
    rng = np.random.default_rng(0)
    task = matrix_completion(6, 2, rng=rng)
    Ws = [0.4 * rng.standard_normal(s) for s in [(5, 6), (5, 5), (5, 5), (6, 5)]]
    net = LinearPCN(Ws, biases=[rng.standard_normal(5), None, rng.standard_normal(5),
                                rng.standard_normal(6)], use_skips=True, param_type="mupc")
    x, y = task.inputs, task.target
    L0 = masked_mse(net, x, y, task.mask)
    kw = dict(method="bp", learning_rate=0.05, n_steps=150, bp_mask=task.mask,
              checkpoints=(0.95 * L0, 0.9 * L0), convention="pytorch")
    a = train(net, (x, y), **kw)
    b = train(net, (x, y), loss_fn=lambda n: masked_mse(n, x, y, task.mask), **kw)
    assert a.checkpoints.keys() == b.checkpoints.keys() and len(a.checkpoints) == 2
    assert [v[0] for v in a.checkpoints.values()] == [v[0] for v in b.checkpoints.values()]
    np.testing.assert_allclose(a.losses, b.losses, rtol=1e-13, atol=0)
    np.testing.assert_allclose(a.grad_norms, b.grad_norms, rtol=1e-12, atol=0)
    for W1, W2 in zip(a.final.weights, b.final.weights, strict=True):
        np.testing.assert_allclose(W1, W2, rtol=1e-12, atol=1e-14)


def test_training_is_reproducible_and_shares_batches():
    """A seed fixes the initial weights and the fresh batches: two runs agree exactly, and BP and PC
    runs with the same seed start from the same weights."""
    a = run_toy("pc_euler", n_hidden=2, rng=3, n_steps=30)
    b = run_toy("pc_euler", n_hidden=2, rng=3, n_steps=30)
    np.testing.assert_array_equal(a.losses, b.losses)
    c = run_toy("bp", n_hidden=2, rng=3, n_steps=30)
    assert a.losses[0] == c.losses[0]
    assert a.n_steps == 30 and a.losses.shape == (31,) and a.grad_norms.shape == (30,)


def test_chain_toys_pc_escapes_faster_for_two_hidden_layers():
    """P1 Figs. 2/7 (x ~ N(1, 0.1²), y = −x, B = 64 fresh, w ~ N(0, 0.05²), SGD 0.4, PC 20 Euler
    steps of 0.1): for the 2-MLP, PC (finite and exact inference) reaches test loss < 1e−3 in fewer
    steps than BP for each of 5 seeds; both escape for the 1-MLP. (The claim tested is the papers'
    qualitative one; docs/theory.md §7 reports BP 32–236 vs PC 27–46 / 24–40.)"""
    for seed in range(5):
        bp = run_toy("bp", n_hidden=2, rng=seed)
        for method in ("pc_euler", "pc_exact"):
            pc = run_toy(method, n_hidden=2, rng=seed)
            assert pc.escape_step is not None
            assert bp.escape_step is None or pc.escape_step < bp.escape_step, (seed, method)
        for method in ("bp", "pc_euler", "pc_exact"):
            assert run_toy(method, n_hidden=1, rng=seed).escape_step is not None


def test_escape_time_ratio_one_hidden_unit():
    """Escape-time ratio of the one-hidden-unit model (docs/theory.md §4.2).

    Near the origin GD grows the escape component by (1 + η|λ_min|) per step, so the escape step is
    s·log(1/ε) + C + q with q ∈ (−1, 0] from integer rounding; the fitted slope ratio must equal
    log(1+η|λ_min(∇²ℒ)|)/log(1+η|λ_min(∇²F*)|) within the bound that rounding alone allows
    (EscapeTimeFit.ratio_error), and that prediction tends to 2|s_xy|/(s_yy + √(s_yy²+4s_xy²)) =
    1/φ for y = −x as η → 0. Noisy targets (s_yy ≠ |s_xy|) and λ ≠ 1 test the general formula.
    """
    x, y = toy_gaussian(64, 1, rng=0)
    fit = escape_time_ratio(origin_network((1, 1, 1)), x, y, rng=1)
    assert abs(fit.ratio - fit.predicted_discrete) <= fit.ratio_error
    assert fit.predicted_flow == pytest.approx(1 / GOLDEN_RATIO, rel=1e-12)
    assert fit.ratio < 1   # PC escapes faster
    # the raw ratio approaches the slope ratio as O(1/log(1/ε)): monotone towards it here
    assert abs(fit.raw_ratios[-1] - fit.ratio) < abs(fit.raw_ratios[0] - fit.ratio)
    rng = np.random.default_rng(2)
    x2 = 1 + 0.1 * rng.standard_normal((64, 1))
    y2 = -0.6 * x2 + 0.4 * rng.standard_normal((64, 1))
    fit2 = escape_time_ratio(origin_network((1, 1, 1), output_energy_scaling=1.7), x2, y2,
                             learning_rate=0.05, eps=(1e-4, 1e-6, 1e-8, 1e-10, 1e-12), rng=3)
    assert abs(fit2.ratio - fit2.predicted_discrete) <= fit2.ratio_error
    assert fit2.ratio_error < 0.05 * fit2.ratio


def test_divergence_is_reported():
    """A step far beyond 2/λ_max stops the run with ``diverged=True`` (no silent inf/nan)."""
    x, y = toy_gaussian(16, 1, rng=0)
    net = LinearPCN([[[0.5]], [[0.5]]])
    tr = train(net, (x, y), method="bp", learning_rate=50.0, n_steps=500)
    assert tr.diverged and tr.n_steps < 500


@pytest.mark.slow
def test_matrix_completion_paper_setting():
    """P1 Fig. 6 in the paper's setting (≈ 15 s): BP plateaus at the rank-0 and rank-1 saddles
    (both checkpoints 1.1 and 0.15 are reached only after thousands of steps), while PC restarted
    from each of BP's saddle points reaches loss ≤ 1e−2 in fewer steps than BP spent on any plateau;
    the conventions are the notebook's (PC step B·d_y/2 = 50× BP's)."""
    r = run_matrix_completion(convention="paper", rng=0)
    assert r.bp.gradient_scale == pytest.approx(2 / 10) and r.pc["rank-0"].gradient_scale == 10
    s1, s2 = r.checkpoint_steps["rank-1"], r.checkpoint_steps["rank-2"]
    assert s1 is not None and s2 is not None and s1 > 1000 and s2 - s1 > 1000
    for name, tr in r.pc.items():
        assert not tr.diverged and tr.losses[-1] <= 1e-2, name
        assert tr.n_steps < min(s1, s2 - s1), (name, tr.n_steps)
    assert r.bp.losses[s1] < 1.1 <= r.bp.losses[s1 - 1]
