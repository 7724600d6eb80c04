"""The jpc-compatible functions: names, keywords, shapes, and correctness in every configuration.

jpc's own helpers are known to be wrong in some configurations (docs/theory.md §8: ``gamma`` ignored
with
``"sp"``/``"ntp"``, the ``"ntp"`` output block with skips scaled by ``1/√(NL)``); here every
function is checked against matrices written out by hand from the parameterisation table.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import linpc
from linpc.numerics import EPS, SAFETY, solve_tolerance
from linpc.verify import reference as ref


@st.composite
def configs(draw):
    H = draw(st.integers(1, 4))
    skips = draw(st.booleans()) and H >= 2
    N = draw(st.integers(1, 5))
    hidden = [N] * H if skips else draw(st.lists(st.integers(1, 5), min_size=H, max_size=H))
    widths = [draw(st.integers(1, 4)), *hidden, draw(st.integers(1, 4))]
    return dict(widths=widths, param_type=draw(st.sampled_from(["sp", "ntp", "mupc"])),
                use_skips=skips, gamma=draw(st.one_of(st.none(), st.floats(0.5, 3.0))),
                lam=draw(st.one_of(st.none(), st.floats(0.2, 5.0))),
                seed=draw(st.integers(0, 2**31)), B=draw(st.integers(1, 5)))


def build(cfg):
    rng = np.random.default_rng(cfg["seed"])
    w = cfg["widths"]
    Ws = [rng.standard_normal((w[l], w[l - 1])) / np.sqrt(w[l - 1]) for l in range(1, len(w))]
    x = rng.standard_normal((cfg["B"], w[0]))
    y = rng.standard_normal((cfg["B"], w[-1]))
    kw = dict(param_type=cfg["param_type"], use_skips=cfg["use_skips"], gamma=cfg["gamma"],
              output_energy_scaling=cfg["lam"])
    return Ws, x, y, kw


def hand_maps(Ws, cfg):
    a = ref.reference_scalings(cfg["widths"], cfg["param_type"], cfg["use_skips"],
                               cfg["gamma"])
    L = len(Ws)
    Ms = []
    for l in range(1, L + 1):
        M = a[l - 1] * Ws[l - 1]
        if cfg["use_skips"] and 2 <= l <= L - 1:
            M = M + np.eye(M.shape[0])
        Ms.append(M)
    return Ms


@given(configs())
def test_scalings_follow_the_parameterisation_table(cfg):
    """net.scalings equals docs/theory.md §1.4's table (with γ dividing a_L for every type)."""
    Ws, _, _, kw = build(cfg)
    net = linpc.LinearPCN(Ws, **kw)
    expected = ref.reference_scalings(cfg["widths"], cfg["param_type"], cfg["use_skips"],
                                      cfg["gamma"])
    np.testing.assert_allclose(net.scalings, expected, rtol=4 * EPS, atol=0)


def test_jpc_convention_uses_the_first_hidden_width():
    """convention="jpc": N = n_1 for every layer after the first (jpc reads one width)."""
    widths = [7, 4, 9, 3, 2]
    a = linpc.layer_scalings(widths, "mupc", convention="jpc")
    np.testing.assert_allclose(a, [7 ** -0.5, 4 ** -0.5, 4 ** -0.5, 1 / 4], rtol=4 * EPS)
    a = linpc.layer_scalings(widths, "mupc")
    np.testing.assert_allclose(a, [7 ** -0.5, 4 ** -0.5, 9 ** -0.5, 1 / 3], rtol=4 * EPS)


@given(configs())
def test_activity_hessian_matches_hand_written_blocks(cfg):
    """compute_linear_activity_hessian: diag I + Λ_{l+1}M_{l+1}ᵀM_{l+1}, off-diag −M_{l+1} (§1.2),
    with M_l written by hand from the table — including "ntp" with skips and γ with "sp"/"ntp"."""
    Ws, _, _, kw = build(cfg)
    Ms = hand_maps(Ws, cfg)
    lam = 1.0 if cfg["lam"] is None else cfg["lam"]
    hidden = cfg["widths"][1:-1]
    H = len(hidden)
    off = np.concatenate([[0], np.cumsum(hidden)])
    expected = np.zeros((off[-1], off[-1]))
    for l in range(1, H + 1):
        s = slice(off[l - 1], off[l])
        p = lam if l == H else 1.0
        expected[s, s] = np.eye(hidden[l - 1]) + p * Ms[l].T @ Ms[l]
        if l < H:
            t = slice(off[l], off[l + 1])
            expected[t, s] = -Ms[l]
            expected[s, t] = -Ms[l].T
    got = linpc.compute_linear_activity_hessian(Ws, **kw)
    scale = max(1.0, np.abs(expected).max())
    assert np.max(np.abs(got - expected)) <= SAFETY * max(hidden) * EPS * scale
    d = linpc.compute_linear_activity_hessian(Ws, **kw, off_diag=False)
    o = linpc.compute_linear_activity_hessian(Ws, **kw, diag=False)
    np.testing.assert_array_equal(d + o, got)


@given(configs())
def test_energy_rescaling_solution_and_gradients_are_consistent(cfg):
    """linear_equilib_energy = mean ½rᵀS⁻¹r with S = λ⁻¹I + Σ M_{L:l}M_{L:l}ᵀ written by hand;
    the activity solution is the minimiser (energy there equals F*); the gradients are the PC
    gradient, checked by central differences along one random direction per layer."""
    Ws, x, y, kw = build(cfg)
    Ms = hand_maps(Ws, cfg)
    lam = 1.0 if cfg["lam"] is None else cfg["lam"]
    L = len(Ms)
    S = np.eye(Ms[-1].shape[0]) / lam
    P = np.eye(Ms[-1].shape[0])
    for l in range(L, 1, -1):
        P = P @ Ms[l - 1]
        S += P @ P.T
    M = P @ Ms[0]
    r = y - x @ M.T
    F_hand = 0.5 * np.mean(np.sum(r * np.linalg.solve(S, r.T).T, axis=1))
    F, S_got = linpc.linear_equilib_energy(Ws, x, y, **kw, return_rescaling=True)
    kappa = np.linalg.cond(S)
    assert abs(F - F_hand) <= SAFETY * kappa * 8 * EPS * L * max(F_hand, 1e-300) + 1e-300
    np.testing.assert_allclose(linpc.compute_linear_equilib_rescaling(Ws, **kw), S_got)
    assert np.max(np.abs(S_got - S)) <= SAFETY * L * 8 * EPS * np.abs(S).max()
    zs = linpc.compute_linear_activity_solution(Ws, x, y, **kw)
    assert [z.shape for z in zs] == [(x.shape[0], n) for n in cfg["widths"][1:-1]]
    net = linpc.LinearPCN(Ws, **kw)
    assert abs(linpc.energy(net, zs, x, y) - F_hand) <= 1e3 * SAFETY * kappa * EPS * max(
        F_hand, 1e-12)
    grads = linpc.compute_linear_equilib_energy_grads(Ws, x, y, **kw)
    assert [g.shape for g in grads] == [W.shape for W in Ws]
    from scipy.differentiate import derivative

    from linpc.numerics import derivative_tolerance

    rng = np.random.default_rng(cfg["seed"] + 1)
    h0 = 1e-2
    for l in range(L):
        V = rng.standard_normal(Ws[l].shape)

        def f(t, l=l, V=V):
            flat = np.asarray(t, float).ravel()
            vals = [linpc.linear_equilib_energy([W + (s * V if i == l else 0)
                                                 for i, W in enumerate(Ws)], x, y, **kw)
                    for s in flat]
            return np.array(vals).reshape(np.shape(t))

        res = derivative(f, 0.0, initial_step=h0)
        tol = derivative_tolerance(float(res.error), h0 / 2.0 ** int(res.nit), F_hand, kappa)
        assert abs(float(res.df) - np.sum(grads[l] * V)) <= tol


@settings(max_examples=10)
@given(configs())
def test_jpc_functions_accept_explicit_scalings(cfg):
    """scalings=[…] reproduces param_type exactly (how jpc's first-width convention is passed)."""
    Ws, x, y, kw = build(cfg)
    net = linpc.LinearPCN(Ws, **kw)
    F1 = linpc.linear_equilib_energy(Ws, x, y, **kw)
    F2 = linpc.linear_equilib_energy(Ws, x, y, scalings=list(net.scalings),
                                     use_skips=cfg["use_skips"],
                                     output_energy_scaling=cfg["lam"])
    assert F1 == F2


def test_explicit_scalings_and_gamma_compose():
    """γ divides a_L also when the scalings are given explicitly (documented behaviour)."""
    Ws = [np.ones((2, 2)), np.ones((1, 2))]
    net = linpc.LinearPCN(Ws, scalings=[0.5, 0.25], gamma=2.0)
    np.testing.assert_array_equal(net.scalings, [0.5, 0.125])


def test_reference_and_jpc_energy_agree_on_mupc_resnet():
    """A 6-layer μPC ResNet with λ = γ²NL, the limits-paper setting (docs/theory.md §1.4)."""
    rng = np.random.default_rng(3)
    N, L = 8, 6
    widths = [5] + [N] * (L - 1) + [3]
    Ws = linpc.init_weights(widths, param_type="mupc", rng=rng)
    gamma = 0.5
    lam = gamma**2 * N * L
    x, y = rng.standard_normal((4, 5)), rng.standard_normal((4, 3))
    F = linpc.linear_equilib_energy(Ws, x, y, param_type="mupc", use_skips=True, gamma=gamma,
                                    output_energy_scaling=lam)
    net = linpc.LinearPCN(Ws, param_type="mupc", use_skips=True, gamma=gamma,
                          output_energy_scaling=lam)
    F_ref = float(np.mean(ref.dense_equilibrium(net, x, y)[1]))
    kappa = np.linalg.cond(ref.dense_activity_hessian(net))
    assert abs(F - F_ref) <= solve_tolerance(kappa, net.n_activities) * F_ref
