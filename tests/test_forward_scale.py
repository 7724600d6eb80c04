"""Forward-pass scale at initialisation versus depth and width (docs/theory.md §1.4).

The exact second moments ``E‖ẑ_l‖² = ‖x‖² Π g_k`` are checked against (i) docs/theory.md's μPC
formulas, transcribed separately, and (ii) Monte Carlo over independently initialised networks
(actual weight matrices and forward passes), with tolerances of ``MONTE_CARLO_SIGMAS`` standard
errors of the sample mean.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from linpc.mupc import (
    expected_forward_norms,
    forward_scale_point,
    layer_gains,
    mupc_forward_norms,
    sample_forward_norms,
)
from linpc.numerics import MONTE_CARLO_SIGMAS, roundoff_tolerance
from linpc.reproduce import Grid, run_sweep


@given(N=st.integers(1, 512), H=st.integers(1, 200), D=st.integers(1, 1000),
       d_y=st.integers(1, 20), x2=st.floats(0.1, 10.0))
def test_general_moments_reduce_to_the_mupc_formulas(N, H, D, d_y, x2):
    """Product of per-layer gains = docs/theory.md's E‖z_1‖² = N‖x‖²/D, E‖z_l‖² =
    (1+1/L)^{l−1}E‖z_1‖²,
    E‖ŷ‖² = d_y E‖z_H‖²/N² for μPC with skips, and the hidden norms stay below e·E‖z_1‖²."""
    widths = (D,) + (N,) * H + (d_y,)
    general = expected_forward_norms(widths, param_type="mupc", use_skips=True, x_norm2=x2)
    formula = mupc_forward_norms(N, D, H + 1, d_y, x2)
    assert np.allclose(general, formula, rtol=roundoff_tolerance(4 * H + 8), atol=0)
    assert np.all(general[1:-1] <= np.e * general[1] * (1 + roundoff_tolerance(4 * H)))


def test_qualitative_forward_behaviour_of_the_other_parameterisations():
    """Exact gains: SP uniform shrinks by 1/3 per equal-width layer, SP normal preserves the norm,
    SP uniform with skips grows by 4/3, NTP with jpc's uniform default loses 1/(3N) per hidden
    layer, μPC without skips preserves it (g = 1)."""
    w = (8,) + (16,) * 6 + (4,)
    g = layer_gains(w, param_type="sp", init="uniform")
    assert np.allclose(g[1:-1], 1 / 3)
    assert np.allclose(layer_gains(w, param_type="sp", init="normal")[1:-1], 1.0)
    assert np.allclose(layer_gains(w, param_type="sp", init="uniform", use_skips=True)[1:-1],
                       4 / 3)
    assert np.allclose(layer_gains(w, param_type="ntp")[1:-1], 1 / 48)
    assert np.allclose(layer_gains(w, param_type="mupc")[1:-1], 1.0)
    with pytest.raises(ValueError, match="square"):
        layer_gains((3, 4, 5, 2), use_skips=True)


SETTINGS = [
    dict(param_type="mupc", use_skips=True, init="default"),
    dict(param_type="mupc", use_skips=False, init="default"),
    dict(param_type="sp", use_skips=False, init="uniform"),
    dict(param_type="sp", use_skips=False, init="normal"),
    dict(param_type="sp", use_skips=True, init="uniform"),
    dict(param_type="ntp", use_skips=False, init="default"),
    dict(param_type="ntp", use_skips=True, init="standard_normal"),
    dict(param_type="sp", use_skips=True, init="orthogonal"),
]


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: "-".join(map(str, s.values())))
@pytest.mark.parametrize("widths", [(5, 24, 24, 24, 24, 3), (10, 16, 16, 16, 16, 16, 16, 2)])
def test_monte_carlo_forward_norms_match_the_exact_moments(setting, widths):
    """Mean of ‖ẑ_l‖² over 300 independent initialisations is within 5 standard errors of
    ‖x‖²Π g_k at every layer (SP, NTP, μPC; with and without skips; four initialisers).

    Widths ≥ 16 and depth ≤ 6 keep the log-norm spread below ≈ 1, where 300 draws make the
    sample mean approximately normal (the norms are products of per-layer factors).
    """
    rng = np.random.default_rng(zlib.crc32(repr((widths, setting)).encode()))
    x = rng.standard_normal(widths[0])
    s = sample_forward_norms(widths, x, n_draws=300, rng=rng, **setting)
    # an orthogonal layer with n_out ≥ n_in preserves ‖z‖ exactly: then only round-off remains
    floor = roundoff_tolerance(len(widths) * max(widths)) * s.expected
    assert np.all(np.abs(s.mean - s.expected) <= MONTE_CARLO_SIGMAS * s.standard_error + floor)


def test_unequal_widths_and_jpc_convention_by_monte_carlo():
    """With unequal hidden widths the fan-in and jpc conventions give different gains; both match
    Monte Carlo (NTP and μPC, normal weights)."""
    widths = (6, 20, 8, 30, 4)
    x = np.ones(6)
    for conv in ("fan_in", "jpc"):
        for pt in ("ntp", "mupc"):
            s = sample_forward_norms(widths, x, n_draws=400, param_type=pt,
                                     init="standard_normal", convention=conv, rng=11)
            z = np.abs(s.z_scores[1:])
            assert np.all(z <= MONTE_CARLO_SIGMAS), (conv, pt, z)
    a = expected_forward_norms(widths, param_type="mupc", init="standard_normal")
    b = expected_forward_norms(widths, param_type="mupc", init="standard_normal",
                               convention="jpc")
    assert not np.allclose(a, b)


def test_mupc_forward_pass_is_depth_stable_and_sp_is_not():
    """Sweep over depth (H = 4, 16, 64) at N = 32 (linpc.reproduce.sweeps, 60 draws per point):
    under μPC
    the exact E‖z_H‖²/E‖z_1‖² = (1+1/L)^{H−1} ≤ e and the sampled norms match it at every depth
    (per-layer fluctuations are O(1/√(NL)), so the spread stays small); SP-uniform decays like
    3^{−(H−1)} and SP-uniform with skips grows like (4/3)^{H−1}; their samples are checked at
    H = 4 only, since deeper products of O(1)-spread factors are too heavy-tailed for 60 draws."""
    grid = Grid.product({"param_type_skips": ["mupc", "sp", "sp_skips"], "H": [4, 16, 64]},
                        fixed={"N": 32, "d_x": 10, "d_y": 5, "n_draws": 60})

    def point(p, rng):
        pt, skips, init = {"mupc": ("mupc", True, "default"), "sp": ("sp", False, "uniform"),
                           "sp_skips": ("sp", True, "uniform")}[p["param_type_skips"]]
        q = dict(p, param_type=pt, use_skips=skips, init=init)
        return forward_scale_point(q, rng)

    res = run_sweep("test-forward", point, grid, progress=False)
    for i, name in enumerate(["mupc", "sp", "sp_skips"]):
        for j, H in enumerate([4, 16, 64]):
            r = res.results[i * 3 + j]
            mean, se, exp = r["mean"], r["standard_error"], r["expected"]
            if name == "mupc" or H == 4:
                assert np.all(np.abs(mean - exp)[1:] <= MONTE_CARLO_SIGMAS * se[1:])
            ratio = exp[H] / exp[1]
            if name == "mupc":
                assert ratio == pytest.approx((1 + 1 / (H + 1)) ** (H - 1), rel=1e-12)
                assert ratio <= np.e
            elif name == "sp":
                assert ratio == pytest.approx(3.0 ** -(H - 1), rel=1e-12)
            else:
                assert ratio == pytest.approx((4 / 3) ** (H - 1), rel=1e-12)


def test_bad_input():
    """Shape and draw-count errors name the expectation."""
    with pytest.raises(ValueError, match=r"x must have shape \(3,\)"):
        sample_forward_norms((3, 4, 2), np.ones(4), n_draws=5)
    with pytest.raises(ValueError, match="n_draws"):
        sample_forward_norms((3, 4, 2), np.ones(3), n_draws=1)
