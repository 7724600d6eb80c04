"""∇F* by the quotient rule on ½tr(S⁻¹R) equals the envelope-theorem gradient at z*.

Two routes that share nothing but the forward pass: one differentiates Theorem 1's closed form
(an S-weighted backpropagation plus the derivative of the rescaling), the other evaluates the PC
weight gradient at the equilibrium found by block Cholesky of H_z (docs/theory.md §2.5.5).
"""

from __future__ import annotations

import numpy as np
from hypothesis import given

import linpc
from linpc.core import rescaled_mse_gradient, rescaled_mse_gradient_cosine
from linpc.numerics import roundoff_tolerance
from linpc.testing import cases
from linpc.verify import CaseContext


@given(cases(biases=False))
def test_quotient_rule_gradient_equals_envelope_gradient(case):
    """A + C (quotient rule) = ∂F/∂θ at z* (envelope), within the κ-scaled bound of the
    envelope route (as in verify row 2.5.11) plus the quotient route's own round-off."""
    net, x, y = case.net, case.x, case.y
    A, C = rescaled_mse_gradient(net, x, y)
    ctx = CaseContext(case)
    g_env = linpc.equilibrated_energy_gradient(net, x, y, equilibrium=ctx.eq_chol).flat()
    B = x.shape[0]
    tol = sum(a * p / B * 2 * (1 + m) * max(ctx.activity_norm, ctx.forward_growth)
              * ctx.z_abs_tol()
              for a, p, m in zip(net.scalings, net.precisions, ctx.layer_norms, strict=True))
    q = rescaled_mse_gradient_cosine(net, x, y)
    tol += 2 * q["eps"] * (np.linalg.norm(A.flat()) + np.linalg.norm(C.flat()))
    assert np.linalg.norm(A.flat() + C.flat() - g_env) <= tol


@given(cases(biases=False, precision_modes=("unit",)))
def test_rescaling_term_vanishes_when_the_last_layer_is_zero(case):
    """W_L = 0 ⇒ S = λ⁻¹I is constant to first order in W_L, so C = 0 and A = λ∇ℒ (§3.3)."""
    net = case.net
    Ws = list(net.weights)
    Ws[-1] = np.zeros_like(Ws[-1])
    n0 = net.replace(weights=Ws)
    A, C = rescaled_mse_gradient(n0, case.x, case.y)
    assert np.all(C.flat() == 0.0)
    bp = linpc.mse_gradient(n0, case.x, case.y).flat()
    lam = n0.output_precision
    # S = λ⁻¹I exactly, so δ = λr up to one Cholesky solve of a diagonal matrix; both sides then
    # sum the same B products: round-off of a length-(B + d_y) chain
    tol = roundoff_tolerance(case.x.shape[0] + n0.d_y) * lam * np.abs(bp).max()
    assert np.max(np.abs(A.flat() - lam * bp)) <= tol
