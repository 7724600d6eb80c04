"""Neumann-series expansion of the equilibrated energy ("arbitrarily higher-order information").

Theorem (docs/theory.md §5.2; thesis abstract and P1 discussion). With
Q = Σ_{l=2}^{L} M_{L:l} M_{L:l}ᵀ (so S = λ⁻¹I + Q) and λ‖Q‖ < 1,

    S⁻¹ = λ Σ_{k≥0} (−λQ)^k   ⇒   F* = Σ_{k≥0} (−1)^k λ^{k+1} ½ tr(Q^k R),

with R = (1/B) Σ_i r_i r_iᵀ (per sample: ½ rᵀQ^k r). For plain networks the k-th term is
O(‖θ‖^{2k}) beyond the O(1) of R, so truncating after K terms leaves an O(‖θ‖^{2K+2}) error.

Derivation, from the definition of F:
1. F(z) is read as a quadratic in the activities; since H_z, b and F(0) are polynomials in λ and
   H_z(λ = 0) is invertible (unit-triangular factor), F*(λ) = F0 − ½ bᵀH_z⁻¹b is analytic at
   λ = 0 and its Taylor coefficients are computed exactly. The claim is that the coefficient of
   λ^{k+1} is (−1)^k ½ rᵀQ^k r (and the λ⁰ coefficient vanishes). Because F* = ½rᵀS⁻¹r is analytic
   in λ on |λ|‖Q‖ < 1, equality of all Taylor coefficients is exactly the Neumann-series
   statement; we check k = 0..3, per sample and (through symbolic moments) for the batch trace form.
2. For plain weights scaled by t (λ fixed and symbolic), the t-series of F*(tθ) derived from the
   energy agrees with the truncated Neumann sum Σ_{k≤K} up to and including order t^{2K+1}.

Defects (``--defect NAME``): ``neumann_power_k`` — terms λ^k instead of λ^{k+1};
``neumann_no_alternation`` — the sign (−1)^k dropped.
"""

from __future__ import annotations

import random

import sympy as sp
from _algebra import (  # scripts run as files: proofs/ is sys.path[0]
    flat,
    minimum_series,
    positive_symbols,
    quadratic_parts,
    rational_matrix,
    sym_matrix,
    sym_vector,
)
from _chain import LinearChain, Moments, batch_mean, rescaling_S
from _proof import Proof

DEFECTS = {
    "neumann_power_k": "k-th term λ^k instead of λ^(k+1)",
    "neumann_no_alternation": "k-th term without the sign (−1)^k",
}

K_MAX = 3


def Q_matrix(chain: LinearChain) -> sp.Matrix:
    """Q = S − λ⁻¹I = Σ_{l=2}^{L} M_{L:l} M_{L:l}ᵀ."""
    return (rescaling_S(chain) - sp.eye(chain.width(chain.L)) / chain.lam).applyfunc(sp.expand)


def claimed_term(chain: LinearChain, Q: sp.Matrix, r: sp.Matrix, k: int, proof: Proof):
    """(−1)^k λ^{k+1} ½ rᵀQ^k r; returns (power of λ, coefficient)."""
    sign = 1 if proof.defect("neumann_no_alternation") else (-1) ** k
    power = k if proof.defect("neumann_power_k") else k + 1
    return power, sign * (r.T * Q**k * r)[0, 0] / 2


def lambda_series(
    proof: Proof, chain: LinearChain, x, y, label: str, K: int = K_MAX, mom=None
) -> None:
    """Taylor coefficients in λ of F* (from the energy) against the Neumann terms k = 0..K."""
    lam = chain.lam
    z = chain.activity_symbols()
    q = quadratic_parts(chain.energy(z, x, y), flat(z))
    coeffs = minimum_series(q, lam, K + 1)
    Q = Q_matrix(chain).subs(lam, 1)  # Q does not depend on λ
    assert lam not in Q.free_symbols
    r = chain.residual_vec(x, y)
    claim = [sp.Integer(0)] * (K + 2)
    for k in range(K + 1):
        power, term = claimed_term(chain, Q, r, k, proof)
        claim[power] += term
    proof.check(
        f"{label}: [λ^0] F* = 0 and [λ^(k+1)] F* = (−1)^k ½ rᵀQ^k r, k = 0..{K}", coeffs, claim
    )
    if mom is not None:
        got = [batch_mean(c, x, y, mom) for c in coeffs[1:]]
        M = chain.prod(chain.L, 1)
        R = mom.Syy - M * mom.Sxy - mom.Syx * M.T + M * mom.Sxx * M.T
        want = []
        for k in range(K + 1):
            sign = 1 if proof.defect("neumann_no_alternation") else (-1) ** k
            want.append(sign * (Q**k * R).trace() / 2)
        if proof.defect("neumann_power_k"):
            want = [*want[1:], sp.Integer(0)]
        proof.check(f"{label}: batch: [λ^(k+1)] F* = (−1)^k ½ tr(Q^k R), k = 0..{K}", got, want)


def scaling_series(proof: Proof, widths: tuple[int, ...], K: int, label: str) -> None:
    """Plain weights tW: F*(tW) and the truncated Neumann sum agree through order t^{2K+1}."""
    t = sp.Symbol("t", real=True)
    lam = positive_symbols("lambda")[0]
    names = "uvwq"[: len(widths) - 1]
    W = tuple(sym_matrix(n, widths[l + 1], widths[l]) for l, n in enumerate(names))
    chain = LinearChain(tuple(t * Wl for Wl in W), (1,) * len(W), lam)
    x, y = sym_vector("x", widths[0]), sym_vector("y", widths[-1])
    z = chain.activity_symbols()
    order = 2 * K + 1
    F = minimum_series(quadratic_parts(chain.energy(z, x, y), flat(z)), t, order)
    Q = Q_matrix(chain)
    r = chain.residual_vec(x, y)
    total = sum(
        (lam**p * c for p, c in (claimed_term(chain, Q, r, k, proof) for k in range(K + 1))),
        sp.Integer(0),
    )
    poly = sp.Poly(sp.expand(total), t)
    truncated = [poly.coeff_monomial(t**j) for j in range(order + 1)]
    proof.check(
        f"{label}: F*(tθ) = Σ_(k≤{K}) (−1)^k λ^(k+1) ½ rᵀQ^k r + O(t^{2 * K + 2})", F, truncated
    )


def main() -> None:
    proof = Proof("Neumann series F* = Σ_k (−1)^k λ^(k+1) ½ tr(Q^k R)", DEFECTS)
    lam = positive_symbols("lambda")[0]
    one = sp.Integer(1)
    x, y = sym_vector("x", 2), sym_vector("y", 2)
    chain = LinearChain((sym_matrix("u", 2, 2), sym_matrix("v", 2, 2)), (one, one), lam)
    lambda_series(proof, chain, x, y, "H=1 2×2 symbolic", mom=Moments.symbolic(2, 2))
    chain = LinearChain(
        (sym_matrix("u", 2, 2), sym_matrix("v", 2, 2), sym_matrix("w", 2, 2)), (one, one, one), lam
    )
    lambda_series(proof, chain, x, y, "H=2 2×2 symbolic", K=2)
    rng = random.Random(5)
    chain = LinearChain(
        (
            rational_matrix(rng, 3, 2),
            rational_matrix(rng, 3, 3),
            rational_matrix(rng, 3, 3),
            rational_matrix(rng, 2, 3),
        ),
        (sp.Rational(1, 2), sp.Rational(1, 3), sp.Rational(1, 2), sp.Rational(2, 3)),
        lam,
        frozenset({2, 3}),
    )
    lambda_series(proof, chain, x, y, "H=3 residual, rational W")
    scaling_series(proof, (2, 2, 1), 2, "H=1 widths 2-2-1")
    scaling_series(proof, (1, 2, 2, 1), 1, "H=2 widths 1-2-2-1")
    proof.finish()


if __name__ == "__main__":
    main()
