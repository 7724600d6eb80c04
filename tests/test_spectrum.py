"""Conditioning of the activity Hessian (docs/theory.md §6.2; μPC paper arXiv:2505.13124, §3–4).

Independent references: dense symmetric eigensolvers on ``linpc.verify.reference``'s ``DᵀΠD`` and on
jpc-style dense Hessians, LAPACK's tridiagonal solver, singular values, Weyl's inequality, and —
for the depth/width trends — sweeps recomputed here (never the numbers of docs/theory.md's table).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sla
from hypothesis import given, settings
from hypothesis import strategies as st

import linpc
from linpc.core import init_network
from linpc.core.activity_hessian import _stacked_matvec
from linpc.jpc import activity_hessian_condition_number, activity_hessian_extreme_eigenvalues
from linpc.mupc import (
    activity_hessian_part_eigenvalues,
    conditioning_point,
    growth_exponent,
    part_condition_number,
    residual_branch_scale,
    small_branch_bound,
    small_branch_deviation,
    tridiagonal_limit_condition_number,
    tridiagonal_limit_matrix,
    tridiagonal_limit_spectrum,
)
from linpc.numerics import eigenvalue_tolerance, lanczos_top_vector, roundoff_tolerance
from linpc.reproduce.conditioning_table import conditioning_table
from linpc.testing import cases, specs
from linpc.verify import build_case
from linpc.verify import reference as ref


# ------------------------------------------------------------------------------ T_H
@pytest.mark.parametrize("H", [1, 2, 3, 8, 31, 127, 500])
def test_tridiagonal_limit_closed_form_matches_lapack(H):
    """λ_k(T_H) = 4 sin²((2k−1)π/(2(2H+1))) and κ(T_H) = cos²(π/(2H+1))/sin²(π/(2(2H+1))) agree
    with LAPACK's tridiagonal eigensolver (and, for small H, dense eigh of the explicit matrix)."""
    d, e = tridiagonal_limit_matrix(H)
    w = sla.eigvalsh_tridiagonal(d, e)
    eigs, kappa = tridiagonal_limit_spectrum(H)
    tol = eigenvalue_tolerance(H, 4.0)
    assert np.max(np.abs(w - eigs)) <= tol
    assert abs(w[-1] / w[0] - kappa) <= kappa * (tol / w[0] + tol / w[-1])
    if H <= 127:
        T = np.diag(d) + np.diag(e, 1) + np.diag(e, -1)
        assert T[-1, -1] == 1.0 and (H == 1 or T[0, 0] == 2.0)
        assert np.max(np.abs(np.linalg.eigvalsh(T) - eigs)) <= tol


def test_tridiagonal_condition_number_grows_like_h_squared():
    """κ(T_H) = (4H+2)²/π² − 11/3 + O(1/H²) (expand cos²(2y)/sin²(y), y = π/(2(2H+1))), so
    κ(T_H)·π²/(4H+2)² → 1 with relative error ≈ 2.26/H²: κ(T_H) = Θ(H²)."""
    for H in (8, 32, 128, 1024):
        k = tridiagonal_limit_condition_number(H)
        assert abs(k - ((4 * H + 2) ** 2 / np.pi**2 - 11 / 3)) <= 1.0 / H
        assert abs(k * np.pi**2 / (4 * H + 2) ** 2 - 1) <= 3.0 / H**2
    with pytest.raises(ValueError, match="integer ≥ 1"):
        tridiagonal_limit_spectrum(0)


# ------------------------------------------------------------------------------ small branches
@pytest.mark.parametrize("H,N,lam", [(1, 6, 1.0), (2, 4, 1.0), (5, 3, 2.5), (12, 4, 0.5)])
def test_small_branch_limit_is_t_h_kron_identity(H, N, lam):
    """Residual branches scaled by s → 0: ‖H_z − T_H⊗I‖₂ (exact, banded eig of the difference)
    stays below 4ε + ε² and vanishes at rate exactly O(s) (O(s²) when H = 1: only λM_LᵀM_L);
    ‖H_z(s)/s − (T_H⊗I)/s − E₁‖ = O(s) with E₁ the linear term (G + Gᵀ, −G) built densely here;
    κ(H_z) → κ(T_H) within the Weyl bound."""
    base = init_network((3,) + (N,) * H + (2,), param_type="mupc", use_skips=True,
                        output_energy_scaling=lam, rng=H * 100 + N)
    d, e = tridiagonal_limit_matrix(H)
    T = np.kron(np.diag(d) + np.diag(e, 1) + np.diag(e, -1), np.eye(N))
    scales = 10.0 ** -np.arange(1, 6)
    devs, lin = [], []
    for s in scales:
        net = base.replace(weights=[base.weights[0]] + [s * W for W in base.weights[1:]])
        dev = small_branch_deviation(net)
        Hd = ref.dense_activity_hessian(net)
        assert dev <= small_branch_bound(net) + eigenvalue_tolerance(H * N, 4.0)
        assert abs(dev - np.linalg.norm(Hd - T, 2)) <= eigenvalue_tolerance(H * N, 4.0)
        # first-order term: diag blocks G_{l+1} + G_{l+1}ᵀ, off-diagonal −G_{l+1}
        E1 = np.zeros_like(T)
        for l in range(1, H):
            G = net.scalings[l] * base.weights[l]          # a_{l+1} W_{l+1} (unscaled W)
            i, j = slice((l - 1) * N, l * N), slice(l * N, (l + 1) * N)
            E1[i, i] += G + G.T
            E1[j, i] -= G
            E1[i, j] -= G.T
        lin.append(np.linalg.norm((Hd - T) / s - E1, 2))
        devs.append(dev)
        ev = linpc.ActivityHessian(net).extreme_eigenvalues(method="banded")
        lo, hi = tridiagonal_limit_spectrum(H)[0][[0, -1]]
        if dev < lo:
            assert (hi - dev) / (lo + dev) - 1e-12 <= ev.condition_number \
                <= (hi + dev) / (lo - dev) + 1e-12
    order = 2.0 if H == 1 else 1.0
    assert abs(growth_exponent(scales, devs) - order) <= 0.05
    if H > 1:   # the remainder after the linear term is O(s): slope 1 of lin vs s
        assert abs(growth_exponent(scales[:-1], lin[:-1]) - 1.0) <= 0.1
    assert residual_branch_scale(net) == pytest.approx(scales[-1]
                                                       * residual_branch_scale(base), rel=1e-12)


def test_small_branch_needs_residual_equal_width_unit_precision_networks():
    """Plain networks tend to I, not T_H: the limit functions refuse them with a clear message."""
    net = init_network((3, 4, 4, 2), param_type="sp", rng=0)
    with pytest.raises(ValueError, match="use_skips"):
        small_branch_deviation(net)
    with pytest.raises(ValueError, match="activity decay"):
        small_branch_bound(init_network((3, 4, 4, 2), param_type="mupc", use_skips=True,
                                        activity_decay=1.0, rng=0))


# ------------------------------------------------------------------------------ eigensolvers
@given(cases(max_hidden=5, max_width=5))
def test_banded_extremes_match_dense_eigh(case):
    """LAPACK banded (dsbevx) extremes = dense eigh of DᵀΠD (linpc.verify.reference) within the Weyl
    bound SAFETY·n·eps·‖H‖₂; the jpc-style functions return the same numbers."""
    net = case.net
    w = np.linalg.eigvalsh(ref.dense_activity_hessian(net))
    tol = eigenvalue_tolerance(len(w), w[-1])
    lo, hi = activity_hessian_extreme_eigenvalues(
        net.weights, scalings=net.scalings, use_skips=net.use_skips,
        output_energy_scaling=net.output_precision, method="banded")
    if np.all(net.precisions[:-1] == 1):
        assert abs(lo - w[0]) <= tol and abs(hi - w[-1]) <= tol
    ev = linpc.ActivityHessian(net).extreme_eigenvalues(method="banded")
    assert abs(ev.lambda_min - w[0]) <= tol and abs(ev.lambda_max - w[-1]) <= tol


MEDIUM = [
    dict(widths=(8,) + (16,) * 32 + (10,), param_type="mupc", use_skips=True),
    dict(widths=(8,) + (32,) * 16 + (10,), param_type="sp", init="normal"),
    dict(widths=(8,) + (24,) * 12 + (10,), param_type="sp", init="uniform", use_skips=True),
    dict(widths=(8, 40, 17, 33, 25, 8, 41, 29, 10), param_type="ntp", init="standard_normal"),
    dict(widths=(8,) + (20,) * 24 + (10,), param_type="mupc", use_skips=True,
         activity_decay=0.3, output_energy_scaling=4.0),
]


@pytest.mark.parametrize("cfg", MEDIUM, ids=["mupc-32x16", "sp-normal-16x32", "sp-skips-12x24",
                                              "ntp-unequal", "mupc-decay-lambda"])
def test_lanczos_matches_banded_on_medium_networks(cfg):
    """Two-pass Lanczos (H_z for λ_max, H_z⁻¹ via block Cholesky for λ_min) agrees with LAPACK
    banded eigenvalues within its own Ritz residual plus the banded error bound; covers the
    stacked (equal widths) and per-layer (unequal widths) products, decay and λ ≠ 1."""
    cfg = dict(cfg)
    widths = cfg.pop("widths")
    net = init_network(widths, rng=len(widths), **cfg)
    hz = linpc.ActivityHessian(net)
    b = hz.extreme_eigenvalues(method="banded")
    lz = hz.extreme_eigenvalues(method="lanczos")
    assert abs(lz.lambda_min - b.lambda_min) <= lz.error_min + b.error_min
    assert abs(lz.lambda_max - b.lambda_max) <= lz.error_max + b.error_max
    assert lz.error_max <= 1e-10 * lz.lambda_max and lz.error_min <= 1e-10 * lz.lambda_max


@given(specs(max_hidden=8, max_width=6, skips=True), st.floats(0.0, 2.0))
def test_stacked_matvec_equals_dense_product(spec, decay):
    """The batched product used by Lanczos for deep equal-width networks equals H_z V computed
    densely from DᵀΠD (linpc.verify.reference), for vectors and blocks of vectors."""
    net = build_case(spec).net.replace(activity_decay=decay)
    mv = _stacked_matvec(net)
    if mv is None:
        assert net.n_hidden < 4
        return
    Hd = ref.dense_activity_hessian(net)
    V = np.random.default_rng(spec.seed % 2**32).standard_normal((net.n_activities, 3))
    scale = np.linalg.norm(Hd, 2) * np.linalg.norm(V)
    assert np.linalg.norm(mv(V) - Hd @ V) <= roundoff_tolerance(4 * net.n_activities) * scale
    assert np.linalg.norm(mv(V[:, 0]) - Hd @ V[:, 0]) <= roundoff_tolerance(
        4 * net.n_activities) * scale


@given(st.integers(2, 12), st.integers(1, 8), st.floats(0.2, 5.0), st.integers(0, 2**32 - 1))
def test_one_hidden_layer_condition_number_closed_form(N, d_y, lam, seed):
    """H = 1: H_z = I + λM₂ᵀM₂, so λ_max = 1 + λσ_max(M₂)², λ_min = 1 + λσ_min(M₂)² if d_y ≥ N
    else 1 (singular values from LAPACK's SVD)."""
    rng = np.random.default_rng(seed)
    Ws = [rng.standard_normal((N, 3)), rng.standard_normal((d_y, N))]
    sv = np.linalg.svd(Ws[1], compute_uv=False)
    lo_exp = 1 + lam * sv[-1] ** 2 if d_y >= N else 1.0
    hi_exp = 1 + lam * sv[0] ** 2
    lo, hi = activity_hessian_extreme_eigenvalues(Ws, output_energy_scaling=lam)
    tol = eigenvalue_tolerance(N, hi_exp)
    assert abs(lo - lo_exp) <= tol and abs(hi - hi_exp) <= tol
    kappa = activity_hessian_condition_number(Ws, output_energy_scaling=lam)
    assert kappa == pytest.approx(hi_exp / lo_exp, rel=tol / lo_exp * 2 + 1e-14)


# ------------------------------------------------------------------------------ parts of H_z
@settings(max_examples=20)
@given(cases(max_hidden=5, max_width=5))
def test_diagonal_and_off_diagonal_parts(case):
    """Block-diagonal part: spectrum = dense eigh of to_dense(off_diag=False). Off-diagonal part:
    = dense eigh of to_dense(diag=False), symmetric about 0 (bipartite layer graph). Weyl:
    λ_min(H_z) ≥ λ_min(D) + λ_min(O) and λ_max(H_z) ≤ λ_max(D) + λ_max(O)."""
    net = case.net
    hz = linpc.ActivityHessian(net)
    full = activity_hessian_part_eigenvalues(net, "full")
    dg = activity_hessian_part_eigenvalues(net, "diag")
    off = activity_hessian_part_eigenvalues(net, "off_diag")
    n = hz.shape[0]
    tol = eigenvalue_tolerance(n, max(abs(full[-1]), abs(dg[-1]), 1.0))
    assert np.max(np.abs(dg - np.linalg.eigvalsh(hz.to_dense(off_diag=False)))) <= tol
    assert np.max(np.abs(off - np.linalg.eigvalsh(hz.to_dense(diag=False)))) <= tol
    assert np.max(np.abs(off + off[::-1])) <= 2 * tol
    assert full[0] >= dg[0] + off[0] - 3 * tol
    assert full[-1] <= dg[-1] + off[-1] + 3 * tol
    # rank of the bipartite coupling ≤ 2·min(n_odd, n_even): |n_odd − n_even| zero eigenvalues
    n_odd, n_even = sum(net.hidden_widths[0::2]), sum(net.hidden_widths[1::2])
    if net.n_hidden == 1:                 # no coupling blocks: the part is exactly 0
        assert not np.any(off) and part_condition_number(off) == np.inf
    elif n_odd != n_even:
        assert np.min(np.abs(off)) <= tol
        # singular in exact arithmetic: never a round-off ratio, a bound with a warning
        with pytest.warns(linpc.IllConditionedWarning, match="only the bounds"):
            kappa = part_condition_number(off)
        delta = eigenvalue_tolerance(n, np.max(np.abs(off)))
        assert kappa == pytest.approx((np.max(np.abs(off)) - delta)
                                      / (np.min(np.abs(off)) + delta), rel=1e-12)
    elif np.min(np.abs(off)) >= 2 * eigenvalue_tolerance(n, np.max(np.abs(off))):
        assert part_condition_number(off) == np.max(np.abs(off)) / np.min(np.abs(off))


# ------------------------------------------------------------------------------ trends (§6.2)
@pytest.fixture(scope="module")
def trend_table():
    """κ medians over 3 seeds at H = 1, 2, 4, 8, 16 and N = 4, 16, 64 (recomputed here)."""
    return conditioning_table(depths=(1, 2, 4, 8, 16), widths=(4, 16, 64), n_seeds=3, d_x=8,
                              progress=False, seed=2024)


def test_condition_number_grows_with_depth_for_every_parameterisation(trend_table):
    """Medians over seeds of κ(H_z) increase with depth (H = 1 → 8 at N = 16 and 64, and on to
    H = 16 except for SP's default uniform init, whose forward signal decays and κ saturates)."""
    for name, med in trend_table.median.items():
        for j in (1, 2):
            col = med[:, j] if name != "sp_uniform" else med[:4, j]
            assert np.all(np.diff(col) > 0), (name, col)


def test_condition_number_increases_with_width_beyond_one_hidden_layer(trend_table):
    """For H ≥ 2, κ is larger at N = 64 than at N = 4 for every setting; at H = 1 under μPC it
    decreases to 1 (κ = 1 + σ_max(W_2/N)², with σ_max = O(√N))."""
    for name, med in trend_table.median.items():
        assert np.all(med[1:, 2] > med[1:, 0]), name
    mu = trend_table.median["mupc"][0]
    assert mu[0] > mu[1] > mu[2] > 1.0


def test_identity_skips_with_sp_weights_explode_with_depth(trend_table):
    """At H = 16, N = 64 identity skips with SP's uniform weights raise κ by more than 100× over
    the same weights without skips, and from H = 4 to 16 κ grows more than 3× faster than under
    μPC (whose branches are scaled by 1/√(NL))."""
    med = trend_table.median
    assert med["sp_uniform_skips"][4, 2] > 100 * med["sp_uniform"][4, 2]
    growth_sp = med["sp_uniform_skips"][4, 2] / med["sp_uniform_skips"][2, 2]
    growth_mu = med["mupc"][4, 2] / med["mupc"][2, 2]
    assert growth_sp > 3 * growth_mu


def test_mupc_condition_number_is_quadratic_in_depth():
    """Under μPC at N = 64 (medians of 3 seeds, H = 4 … 32): κ/κ(T_H) stays in [2, 8] (the table's
    "(4–5)·κ(T_H)") and the log–log slope of κ against H is 2 ± 0.3: Θ(H²) growth."""
    tab = conditioning_table(depths=(4, 8, 16, 32), widths=(64,), settings=("mupc",),
                             n_seeds=3, d_x=8, progress=False, seed=7, max_width={})
    med = tab.median["mupc"][:, 0]
    ratio = med / np.array([tridiagonal_limit_condition_number(H) for H in (4, 8, 16, 32)])
    assert np.all((ratio > 2) & (ratio < 8)), ratio
    assert abs(growth_exponent((4, 8, 16, 32), med) - 2) <= 0.3


def test_two_pass_lanczos_regenerates_the_same_ritz_vector():
    """With no memory for the Lanczos basis, pass 2 regenerates the vectors from the stored
    coefficients: the Ritz vector equals the one accumulated from the kept basis (same arithmetic),
    and on a deep μPC network (H = 128, clustered top of the spectrum) its Rayleigh quotient
    matches LAPACK's banded λ_max within the true residual."""

    net = init_network((8,) + (16,) * 128 + (10,), param_type="mupc", use_skips=True, rng=5)
    hz = linpc.ActivityHessian(net)
    mv = _stacked_matvec(net)
    v0 = np.random.default_rng(1).standard_normal(hz.shape[0])
    y1 = lanczos_top_vector(mv, v0, tol=1e-12, max_steps=5000)
    y2 = lanczos_top_vector(mv, v0, tol=1e-12, max_steps=5000, basis_bytes=0)
    assert np.linalg.norm(y1 - y2) <= roundoff_tolerance(hz.shape[0])
    b = hz.extreme_eigenvalues(method="banded")
    Ay = hz.matvec(y2)
    theta = float(y2 @ Ay)
    res = float(np.linalg.norm(Ay - theta * y2))
    assert abs(theta - b.lambda_max) <= res + b.error_max
    assert res <= 1e-11 * theta


def test_conditioning_point_reports_parts_consistently():
    """The sweep point function's optional parts obey Weyl's inequalities with the full spectrum:
    λ_min ≥ diag_min − ρ(off), λ_max ≤ diag_max + ρ(off) (off-diagonal spectrum symmetric)."""
    for setting in ("mupc", "sp_normal"):
        out = conditioning_point({"setting": setting, "H": 6, "N": 8, "d_x": 5, "d_y": 3,
                                  "parts": True}, np.random.default_rng(3))
        tol = eigenvalue_tolerance(48, out["lambda_max"])
        assert out["lambda_min"] >= out["diag_min"] - out["off_radius"] - 3 * tol
        assert out["lambda_max"] <= out["diag_max"] + out["off_radius"] + 3 * tol
        assert out["kappa"] == pytest.approx(out["lambda_max"] / out["lambda_min"], rel=1e-14)
