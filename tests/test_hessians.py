"""Hessians of F* (Schur complement) and ℒ (forward-over-reverse) against independent references.

References used here, none sharing code with :mod:`linpc.landscape.hessians`:

* ``scipy.differentiate.hessian`` of the closed forms ``F* = (1/2B)Σ rᵀS⁻¹r`` and ``ℒ``
  (vectorised in ``tests/landscape_reference.py``) on small networks in every configuration;
* ``scipy.differentiate.jacobian`` of the closed-form gradients (envelope-theorem PC gradient,
  backpropagation) along random directions on larger networks;
* with an activity decay (no closed form in ``S``): ``scipy.differentiate.hessian`` of ``F*``
  computed by SVD least squares (``linpc.verify.reference.dense_equilibrium``) on a random 2-D
  subspace.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from landscape_reference import closed_forms
from scipy.differentiate import hessian, jacobian

import linpc
import linpc.landscape.hessians as hmod
from linpc import LinearPCN, equilibrated_energy_gradient, mse_gradient
from linpc.core import ParameterArrays, flatten_parameters, with_flat_parameters
from linpc.jpc import equilib_energy_hessian, mse_loss_hessian
from linpc.landscape import (
    EquilibratedEnergyHessian,
    MSEHessian,
    equilibrated_energy_hessian,
    equilibrated_energy_hvp,
    gradient_roundoff_tolerance,
    hessian_spectrum,
    mse_hessian,
    mse_hvp,
)
from linpc.numerics import (
    EPS,
    SAFETY,
    derivative_tolerance,
    eigenvalue_tolerance,
    second_derivative_tolerance,
)
from linpc.testing import cases
from linpc.verify import NetworkSpec, build_case
from linpc.verify import reference as ref

H0, H0_ALT, MAXITER = 0.1, 0.25, 5
MIN_STEP = H0 / 2.0**MAXITER     # smallest step scipy.differentiate may use (step_factor 2)


def _fd_hessian(fun, theta):
    """``scipy.differentiate.hessian`` of ``fun`` at ``theta`` and an honest error estimate.

    scipy's ``error`` is the change between the last two *outer* iterates and ignores the error of
    the nested (inner) Jacobian; it was observed to underestimate the true error by 60× on a
    single entry (checked against 50-digit arithmetic). The estimate used here adds the
    disagreement of a second, independent run with another initial step (0.25 instead of 0.1).
    """
    r1 = hessian(fun, theta, initial_step=H0, maxiter=MAXITER)
    r2 = hessian(fun, theta, initial_step=H0_ALT, maxiter=MAXITER)
    err = np.abs(r1.error) + np.abs(r2.error) + np.abs(r1.ddf - r2.ddf)
    return r1.ddf, err


def _assert_fd_match(H, ddf, err, f_scale):
    tol = np.vectorize(lambda e: second_derivative_tolerance(e, MIN_STEP, f_scale))(err)
    bad = np.abs(H - ddf) > tol
    assert not bad.any(), (
        f"{bad.sum()} entries differ; worst |ΔH| = {np.abs(H - ddf).max():.3g}, "
        f"tol there {tol.ravel()[np.argmax(np.abs(H - ddf))]:.3g}")


@settings(max_examples=20)
@given(cases(max_hidden=3, max_width=3, max_batch=4))
def test_hessians_match_fd_of_closed_forms(case):
    """Dense ∇²F* (Schur complement) and ∇²ℒ equal scipy.differentiate.hessian of the closed forms.

    ``F* = (1/2B)Σ rᵀS⁻¹r`` (P1 Theorem 1) and ``ℒ``, for every configuration the core supports
    (multipliers, skips, λ, per-layer precisions, unequal widths, biases). This is the defining
    property of the Hessians; the references differentiate function *values* only.
    """
    net, x, y = case.net, case.x, case.y
    theta = flatten_parameters(net)
    ddf_L, err_L = _fd_hessian(lambda t: closed_forms(net, x, y, t)[0], theta)
    ddf_F, err_F = _fd_hessian(lambda t: closed_forms(net, x, y, t)[1], theta)
    HF = equilibrated_energy_hessian(net, x, y)
    HL = mse_hessian(net, x, y)
    assert HF.dtype == np.float64 and HF.shape == (net.n_parameters,) * 2
    Lv, Fv = closed_forms(net, x, y, theta[:, None])
    _assert_fd_match(HL, ddf_L, err_L, float(Lv[0]))
    _assert_fd_match(HF, ddf_F, err_F, float(Fv[0]))


LARGE = [
    NetworkSpec((10, 30, 30, 30, 30, 5), "mupc", use_skips=True, biases=True, batch=32, seed=21),
    NetworkSpec((20, 40, 25, 35, 8), "sp", precision_mode="layers", batch=16, seed=22),
    NetworkSpec((8,) + (24,) * 8 + (3,), "ntp", use_skips=True, precision_mode="output",
                output_precision=3.0, gamma=1.5, batch=8, seed=23),
]


@pytest.mark.parametrize("spec", LARGE, ids=lambda s: s.describe())
def test_hvp_match_fd_on_large_networks(spec):
    """As below on networks with 2 000–7 000 parameters (skips, biases, precisions, depth 8)."""
    _check_hvp_fd(build_case(spec))


@settings(max_examples=15)
@given(cases(max_hidden=6, max_width=8, max_batch=12))
def test_hvp_match_fd_of_closed_form_gradients(case):
    """∇²F* v and ∇²ℒ v equal d/dt of the closed-form gradients at θ + tv (random networks).

    The gradients are the envelope-theorem PC gradient at the Gaussian-route equilibrium and
    backpropagation; their derivative along ``v`` is taken by ``scipy.differentiate.jacobian``.
    """
    _check_hvp_fd(case)


def _check_hvp_fd(case):
    net, x, y = case.net, case.x, case.y
    theta = flatten_parameters(net)
    rng = np.random.default_rng(case.spec.seed)
    v = rng.standard_normal(theta.size)
    v /= np.linalg.norm(v)

    def grads(t):
        t = np.asarray(t, dtype=np.float64)
        gF, gL = [], []
        for s in t.ravel():
            n = with_flat_parameters(net, theta + s * v)
            gF.append(equilibrated_energy_gradient(n, x, y, method="gaussian").flat())
            gL.append(mse_gradient(n, x, y).flat())
        return np.stack(gF, -1), np.stack(gL, -1)

    opF = EquilibratedEnergyHessian(net, x, y, warn_if_error_above=None)
    opL = MSEHessian(net, x, y)
    for k, op, obj in ((0, opF, "energy"), (1, opL, "mse")):
        def f(t, k=k):
            return grads(t)[k].reshape((theta.size, *np.shape(t)[1:]))

        res = jacobian(f, np.zeros(1), initial_step=0.05, maxiter=6,
                       tolerances={"rtol": 1e-12, "atol": 0.0})
        gtol = gradient_roundoff_tolerance(net, x, y, objective=obj, kappa=opF.kappa)
        step = 0.05 / 2.0**6
        tol = np.array([derivative_tolerance(e, step, gtol / (SAFETY * EPS))
                        for e in np.abs(res.error[:, 0])])
        err = np.abs(op @ v - res.df[:, 0])
        assert np.all(err <= tol), (obj, err.max(), tol[np.argmax(err / tol)])


def test_activity_decay_energy_hessian():
    """With an activity decay δ the Schur complement is the Hessian of min_z F_δ.

    There is no rescaling S here, so the reference is ``scipy.differentiate.hessian`` of F*
    computed by SVD least squares on the explicit system (``reference.dense_equilibrium``), on a
    random 2-D subspace ``θ + s v + t w``: it must equal ``[v w]ᵀ ∇²F* [v w]``.
    """
    rng = np.random.default_rng(7)
    Ws = [rng.standard_normal((4, 3)), rng.standard_normal((4, 4)) / 2, rng.standard_normal((2, 4))]
    net = LinearPCN(Ws, biases=[rng.standard_normal(4), None, rng.standard_normal(2)],
                    use_skips=True, param_type="ntp", activity_decay=0.7,
                    output_energy_scaling=1.8)
    x, y = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    theta = flatten_parameters(net)
    V = np.linalg.qr(rng.standard_normal((theta.size, 2)))[0]

    def F(st):
        st = np.asarray(st, dtype=np.float64)
        flat = st.reshape(2, -1)
        out = [np.mean(ref.dense_equilibrium(with_flat_parameters(net, theta + V @ c), x, y)[1])
               for c in flat.T]
        return np.array(out).reshape(st.shape[1:])

    ddf, err = _fd_hessian(F, np.zeros(2))
    H = equilibrated_energy_hessian(net, x, y)
    _assert_fd_match(V.T @ H @ V, ddf, err, float(F(np.zeros((2, 1)))[0]))


def test_matrix_free_products_agree_with_dense(monkeypatch):
    """matvec, matmat (in many small chunks and in one), ``@``, ``.T`` and the HVP helpers agree.

    The dense matrix is assembled with the default chunking; the products below are recomputed
    with one direction per chunk, so chunking and the LinearOperator plumbing are exercised.
    """
    case = build_case(NetworkSpec((3, 5, 4, 2), "mupc", biases=True, precision_mode="layers",
                                  batch=6, seed=11))
    net, x, y = case.net, case.x, case.y
    HF = equilibrated_energy_hessian(net, x, y)
    HL = mse_hessian(net, x, y)
    rng = np.random.default_rng(0)
    V = rng.standard_normal((net.n_parameters, 5))
    monkeypatch.setattr(hmod, "_CHUNK_FLOATS", 1)
    opF = equilibrated_energy_hessian(net, x, y, matrix_free=True)
    opL = mse_hessian(net, x, y, matrix_free=True)
    for op, H in ((opF, HF), (opL, HL)):
        tol = op.roundoff_tolerance() * np.abs(V).sum(axis=0).max()
        np.testing.assert_allclose(op.matmat(V), H @ V, rtol=0, atol=tol)
        np.testing.assert_allclose(op @ V[:, 0], H @ V[:, 0], rtol=0, atol=tol)
        np.testing.assert_allclose(op.T @ V[:, 1], H @ V[:, 1], rtol=0, atol=tol)
        np.testing.assert_allclose(op.rmatvec(V[:, 2]), H @ V[:, 2], rtol=0, atol=tol)
    p = ParameterArrays.from_flat(net, V[:, 3])
    np.testing.assert_allclose(equilibrated_energy_hvp(net, x, y, p), HF @ V[:, 3], rtol=0,
                               atol=opF.roundoff_tolerance() * np.abs(V[:, 3]).sum())
    np.testing.assert_allclose(mse_hvp(net, x, y, V[:, 3]), HL @ V[:, 3], rtol=0,
                               atol=opL.roundoff_tolerance() * np.abs(V[:, 3]).sum())


@settings(max_examples=20)
@given(cases(max_hidden=4, max_width=4, max_batch=5))
def test_operators_are_symmetric(case):
    """The raw operators (products with the identity, before symmetrisation) are symmetric.

    Both Hessians are second derivatives, hence symmetric; the Schur-complement formula computes
    ``F_θz H_z⁻¹ F_zθ`` through two *different* code paths (``F_zθ V`` and ``F_θz u``), so symmetry
    of the raw product checks that they are adjoint.
    """
    for op in (EquilibratedEnergyHessian(case.net, case.x, case.y, warn_if_error_above=None),
               MSEHessian(case.net, case.x, case.y)):
        raw = op @ np.eye(op.shape[0])
        assert np.abs(raw - raw.T).max() <= op.roundoff_tolerance()


def test_jpc_style_functions_build_the_same_network():
    """``equilib_energy_hessian(Ws, …)`` / ``mse_loss_hessian(Ws, …)`` equal the net-based ones, and
    ``mean_over_outputs`` divides the MSE Hessian by d_y (the P1 notebooks' convention)."""
    rng = np.random.default_rng(3)
    Ws = [rng.standard_normal((4, 3)), rng.standard_normal((4, 4)), rng.standard_normal((2, 4))]
    x, y = rng.standard_normal((7, 3)), rng.standard_normal((7, 2))
    kw = dict(param_type="mupc", use_skips=True, gamma=1.3, output_energy_scaling=2.5)
    net = LinearPCN(Ws, **kw)
    np.testing.assert_array_equal(equilib_energy_hessian(Ws, x, y, **kw),
                                  equilibrated_energy_hessian(net, x, y))
    np.testing.assert_array_equal(mse_loss_hessian(Ws, x, y, **kw), mse_hessian(net, x, y))
    np.testing.assert_allclose(mse_loss_hessian(Ws, x, y, mean_over_outputs=True, **kw),
                               mse_hessian(net, x, y) / 2, rtol=4 * EPS, atol=0)
    op = equilib_energy_hessian(Ws, x, y, matrix_free=True, **kw)
    assert isinstance(op, EquilibratedEnergyHessian) and op.shape == (net.n_parameters,) * 2


def test_lanczos_extremes_match_dense_spectrum():
    """Lanczos λ_min/λ_max of the matrix-free ∇²F*, ∇²ℒ equal the dense eigh extremes within the
    reported accuracy (Ritz residual + dense round-off bound); inertia is reported only dense."""
    case = build_case(NetworkSpec((6, 10, 10, 10, 4), "sp", biases=True, batch=20, seed=5))
    for op in (EquilibratedEnergyHessian(case.net, case.x, case.y),
               MSEHessian(case.net, case.x, case.y)):
        d = hessian_spectrum(op, method="dense")
        lz = hessian_spectrum(op, method="lanczos")
        assert lz.n_negative is None and lz.eigenvalues is None
        assert d.n_negative + d.n_zero + d.n_positive == op.shape[0]
        assert abs(lz.lambda_min - d.lambda_min) <= lz.error_min + d.error_min
        assert abs(lz.lambda_max - d.lambda_max) <= lz.error_max + d.error_max
        w = np.linalg.eigvalsh(op.to_dense())
        assert d.error_min >= eigenvalue_tolerance(w.size, abs(w).max())
        assert d.n_negative == int(np.sum(w < -d.zero_tolerance))


def test_bad_input_errors(monkeypatch):
    """Wrong direction shapes and oversize dense requests raise errors that say what is wrong."""
    case = build_case(NetworkSpec((2, 3, 2), "sp", batch=3, seed=1))
    op = EquilibratedEnergyHessian(case.net, case.x, case.y)
    with pytest.raises(ValueError, match="parameter order"):
        op.apply(np.ones(op.shape[0] + 1))
    with pytest.raises(ValueError, match=r"y must have shape"):
        mse_hessian(case.net, case.x, case.y[:, :1].ravel())
    monkeypatch.setattr(hmod, "DENSE_HESSIAN_BYTES_LIMIT", 10)
    with pytest.raises(MemoryError, match="matrix_free=True"):
        equilibrated_energy_hessian(case.net, case.x, case.y)
    with pytest.raises(ValueError, match="param_type"):
        equilib_energy_hessian(case.net.weights, case.x, case.y, param_type="ntk")


@pytest.mark.parametrize("objective", ["energy", "mse"])
@given(st.integers(0, 2**31 - 1))
@settings(max_examples=5)
def test_hessian_is_linear_operator_of_float64(objective, seed):
    """Operators are float64 ``LinearOperator``s of shape (P, P) whose products are linear."""
    case = build_case(NetworkSpec((2, 3, 3, 2), "sp", batch=4, seed=seed))
    op = (EquilibratedEnergyHessian if objective == "energy" else MSEHessian)(
        case.net, case.x, case.y)
    assert op.dtype == np.float64 and op.shape == (case.net.n_parameters,) * 2
    rng = np.random.default_rng(seed)
    u, v = rng.standard_normal((2, op.shape[0]))
    lhs = op @ (2.0 * u - 3.0 * v)
    rhs = 2.0 * (op @ u) - 3.0 * (op @ v)
    np.testing.assert_allclose(lhs, rhs, rtol=0,
                               atol=op.roundoff_tolerance() * (2 * np.abs(u) + 3 * np.abs(v)).sum())


def test_block_sparse_spectrum_matches_dense_eigenvalues():
    """All eigenvalues of ∇²F* at P1's "other saddle" (sparse: one nonzero block) by
    block_sparse_spectrum equal those of the dense Hessian within both methods' Weyl bounds."""
    from linpc.landscape import block_sparse_spectrum
    from linpc.numerics import eigenvalue_tolerance

    rng = np.random.default_rng(7)
    x = rng.standard_normal((16, 3))
    y = rng.standard_normal((16, 2))
    Ws = linpc.init_weights([3, 4, 4, 4, 2], init="normal", rng=rng)
    net = linpc.other_saddle(linpc.LinearPCN(Ws))
    op = linpc.equilibrated_energy_hessian(net, x, y, matrix_free=True)
    bs = block_sparse_spectrum(op, chunk=7)
    dense = np.linalg.eigvalsh(op.to_dense())
    tol = bs["error"] + op.roundoff_tolerance() + eigenvalue_tolerance(dense.size,
                                                                       np.abs(dense).max())
    assert bs["n_blocks"] > 1
    assert np.max(np.abs(bs["eigenvalues"] - dense)) <= tol
