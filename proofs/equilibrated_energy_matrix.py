"""Equilibrated energy and closed-form equilibrium of deep linear PCNs (matrix case).

Theorem (P1 Thm 1 with general multipliers and output precision; docs/theory.md §2.1 and §1.3). For
any linear chain M_1, …, M_L (plain M_l = a_l W_l or residual M_l = I + a_l W_l) and precision λ,

    F* = min_z F = ½ rᵀ S⁻¹ r,   r = y − M_{L:1} x,   S = λ⁻¹ I + Σ_{l=2}^{L} M_{L:l} M_{L:l}ᵀ,

per sample; over a batch F* = ½ tr(S⁻¹ R) with R = Σ_yy − M Σ_xy − Σ_yx Mᵀ + M Σ_xx Mᵀ,
M = M_{L:1}. The minimiser and its prediction errors are (δ := S⁻¹ r)

    z*_l = M_{l:1} x + C_l δ,   C_l = Σ_{k=1}^{l} M_{l:k+1} M_{L:k+1}ᵀ,
    e*_l = M_{L:l+1}ᵀ δ  (l < L),   λ e*_L = δ.

Derivation: F is built from its definition with explicit symbolic matrices; its gradient and
Hessian in the activities are read off by differentiation, and ∂F/∂z = 0 is solved exactly
(Cramer's rule, so every intermediate is a polynomial). The solution is substituted into F and
into the errors e_l = z_l − M_l z_{l−1} and compared with the closed forms above. Uniqueness of the
stationary point follows from H_z ≻ 0 (activity_hessian.py); here we also check the determinant
identity det H_z = λ^{d_y} det S, which shows directly that H_z is invertible (S ⪰ λ⁻¹ I ≻ 0).

Cases: (A) fully symbolic 2×2 weights, x, y, a_l, λ, one hidden layer (+ the batch trace form
through symbolic second moments); (B) fully symbolic 2×2 weights, x, y and λ, two hidden layers
(a_l = 1: for plain layers with symbolic W_l a multiplier only rescales free symbols); (C) two
hidden layers with a residual middle layer and non-square input/output (symbolic W_2, a_2, x, y,
λ); (D) three hidden layers, two residual, widths (2, 3, 3, 3, 2), exact rational weights and
multipliers, symbolic x, y, λ.

Defects (``--defect NAME``): ``drop_WL_term`` — S without the M_L M_Lᵀ term;
``C_missing_last_term`` — C_l summed only to k = l − 1; ``e_L_without_lambda`` — claim e*_L = S⁻¹r.
"""

from __future__ import annotations

import random

import sympy as sp
from _algebra import (  # scripts run as files: proofs/ is sys.path[0]
    exact_det,
    flat,
    minimise_quadratic,
    positive_symbols,
    quadratic_parts,
    rational_matrix,
    split,
    sym_matrix,
    sym_vector,
)
from _chain import LinearChain, Moments, batch_mean, rescaling_S
from _proof import Proof

DEFECTS = {
    "drop_WL_term": "S = λ⁻¹I + Σ_{l=2}^{L−1} M_{L:l}M_{L:l}ᵀ (the W_L W_Lᵀ term dropped)",
    "C_missing_last_term": "C_l = Σ_{k=1}^{l−1} M_{l:k+1}M_{L:k+1}ᵀ (last term dropped)",
    "e_L_without_lambda": "claim e*_L = S⁻¹ r instead of λ e*_L = S⁻¹ r",
}


# ------------------------------------------------------------------------------------------------
# the claimed closed forms (the right-hand sides under test)
# ------------------------------------------------------------------------------------------------


def claimed_S(chain: LinearChain, proof: Proof) -> sp.Matrix:
    """S = λ⁻¹ I + Σ_{l=2}^{L} M_{L:l} M_{L:l}ᵀ."""
    last = chain.L - 1 if proof.defect("drop_WL_term") else chain.L
    return rescaling_S(chain, range(2, last + 1))


def claimed_C(chain: LinearChain, l: int, proof: Proof) -> sp.Matrix:
    """C_l = Σ_{k=1}^{l} M_{l:k+1} M_{L:k+1}ᵀ."""
    top = l - 1 if proof.defect("C_missing_last_term") else l
    C = sp.zeros(chain.width(l), chain.width(chain.L))
    for k in range(1, top + 1):
        C += chain.prod(l, k + 1) * chain.prod(chain.L, k + 1).T
    return C


def claimed_errors(chain: LinearChain, delta: sp.Matrix, proof: Proof) -> list[sp.Matrix]:
    """e*_l = M_{L:l+1}ᵀ δ for l < L and e*_L = δ/λ."""
    out = [chain.prod(chain.L, l + 1).T * delta for l in range(1, chain.L)]
    out.append(delta if proof.defect("e_L_without_lambda") else delta / chain.lam)
    return out


# ------------------------------------------------------------------------------------------------


def derive_and_check(
    proof: Proof, chain: LinearChain, x: sp.Matrix, y: sp.Matrix, label: str
) -> sp.Expr:
    """Solve ∂F/∂z = 0 from the definition of F and compare with every closed form."""
    z = chain.activity_symbols()
    F = chain.energy(z, x, y)
    q = quadratic_parts(F, flat(z))
    z_star_flat, F_star = minimise_quadratic(q)
    z_star = split(z_star_flat, chain.hidden_widths)

    S = claimed_S(chain, proof)
    S_inv = S.adjugate() / S.det()  # exact inverse of the small matrix S
    r = chain.residual_vec(x, y)
    delta = S_inv * r

    proof.check(
        f"{label}: det H_z = λ^(d_y) det S (H_z invertible)",
        exact_det(q.A),
        chain.lam ** chain.width(chain.L) * S.det(),
    )
    proof.check(f"{label}: F* = F(z*) = ½ rᵀS⁻¹r", F_star, (r.T * delta)[0, 0] / 2)
    for l in range(1, chain.L):
        proof.check(
            f"{label}: z*_{l} = M_({l}:1) x + C_{l} S⁻¹r",
            z_star[l - 1],
            chain.prod(l, 1) * x + claimed_C(chain, l, proof) * delta,
        )
    errors = chain.errors(z_star, x, y)
    claims = claimed_errors(chain, delta, proof)
    for l in range(1, chain.L):
        proof.check(f"{label}: e*_{l} = M_(L:{l + 1})ᵀ S⁻¹r", errors[l - 1], claims[l - 1])
    proof.check(f"{label}: λ e*_L = S⁻¹r", chain.lam * errors[-1], chain.lam * claims[-1])
    return F_star


def main() -> None:
    proof = Proof("matrix chains: F* = ½rᵀS⁻¹r, z*_l = M_(l:1)x + C_l S⁻¹r, e*_l", DEFECTS)
    lam = positive_symbols("lambda")[0]
    rng = random.Random(20240816)

    # (A) one hidden layer, everything symbolic, d_x = d_y = N = 2
    a1, a2 = positive_symbols("a1 a2")
    chain = LinearChain((sym_matrix("u", 2, 2), sym_matrix("v", 2, 2)), (a1, a2), lam)
    x, y = sym_vector("x", 2), sym_vector("y", 2)
    F_star = derive_and_check(proof, chain, x, y, "(A) H=1, 2×2 symbolic")
    mom = Moments.symbolic(2, 2)
    S = claimed_S(chain, proof)
    M = chain.prod(chain.L, 1)
    R = mom.Syy - M * mom.Sxy - mom.Syx * M.T + M * mom.Sxx * M.T
    proof.check(
        "(A) batch mean of F* = ½ tr(S⁻¹R), R = Σ_yy − MΣ_xy − Σ_yxMᵀ + MΣ_xxMᵀ",
        batch_mean(F_star, x, y, mom),
        (S.adjugate() * R).trace() / (2 * S.det()),
    )

    # (B) two hidden layers, everything symbolic, 2×2. For plain layers with fully symbolic W_l,
    # a multiplier only rescales free symbols (M_l = a_l W_l ranges over all matrices either way),
    # so a_l = 1 loses no generality here; λ stays symbolic.
    one = sp.Integer(1)
    chain = LinearChain(
        (sym_matrix("u", 2, 2), sym_matrix("v", 2, 2), sym_matrix("w", 2, 2)), (one,) * 3, lam
    )
    derive_and_check(proof, chain, x, y, "(B) H=2, 2×2 symbolic")

    # (C) two hidden layers, residual middle layer, d_x = 3, N = 2, d_y = 1
    chain = LinearChain(
        (rational_matrix(rng, 2, 3), sym_matrix("v", 2, 2), rational_matrix(rng, 1, 2)),
        (sp.Rational(1, 2), sp.Symbol("a2", positive=True), sp.Rational(2, 3)),
        lam,
        frozenset({2}),
    )
    derive_and_check(proof, chain, sym_vector("x", 3), sym_vector("y", 1), "(C) H=2 residual")

    # (D) three hidden layers, layers 2 and 3 residual, widths (2, 3, 3, 3, 2)
    widths = (2, 3, 3, 3, 2)
    chain = LinearChain(
        tuple(rational_matrix(rng, widths[l], widths[l - 1]) for l in range(1, 5)),
        (sp.Rational(1, 2), sp.Rational(3, 4), sp.Rational(2, 3), sp.Rational(3, 2)),
        lam,
        frozenset({2, 3}),
    )
    derive_and_check(proof, chain, x, y, "(D) H=3 residual, rational W")
    proof.finish()


if __name__ == "__main__":
    main()
