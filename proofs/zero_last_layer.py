"""Equilibrated energy near points with a zero last layer (W_L = 0).

Theorem (docs/theory.md §3.3; the sufficient form of P1's zero-rank-saddle theorem). At any θ with
W_L = 0 (plain last layer; earlier layers arbitrary, plain or residual),

    F*(θ+δ) = λℒ(θ+δ) − (λ²a_L²/2) tr(δ_L G δ_Lᵀ Σ_yy) + O(‖δ‖³),
    G = I_{n_H} + Σ_{l=2}^{L−1} M_{L−1:l} M_{L−1:l}ᵀ  (evaluated at θ),

hence ∇F*(θ) = λ∇ℒ(θ) and H_{F*}(θ) = λH_ℒ(θ) − P with P = λ²a_L² (Σ_yy ⊗ G) on the W_L block
(row-major vec) and 0 elsewhere. For the "other saddle" of the P1 Hessian notebook (all layers 0
except W_{L−1}, H ≥ 3) this gives H_ℒ(θ) = 0 while H_{F*}(θ) has the single block
−λ²a_L² Σ_yy ⊗ (I + M_{L−1}M_{L−1}ᵀ), and both gradients vanish.

Derivation: the network with weights θ + tδ (δ fully symbolic) is built; F(z) is read as a
quadratic in the activities; F*(t) = F0 − ½ bᵀH_z⁻¹b is expanded exactly to second order in t
(H_z(0) is the activity Hessian at θ, whose determinant is 1 when W_L = 0); batch means are taken
through symbolic second moments. The t and t² coefficients are δᵀ∇F* and ½ δᵀH_{F*}δ.

Defects (``--defect NAME``): ``G_without_identity`` — G = Σ_{l=2}^{L−1} M_{L−1:l}M_{L−1:l}ᵀ;
``P_kron_order`` — P = λ²a_L² (G ⊗ Σ_yy) (column-major convention).
"""

from __future__ import annotations

import random

import sympy as sp
from _algebra import (  # scripts run as files: proofs/ is sys.path[0]
    flat,
    minimum_series,
    positive_symbols,
    quadratic_form_matrix,
    quadratic_parts,
    rational_matrix,
    sym_matrix,
    sym_vector,
)
from _chain import LinearChain, Moments, batch_mean, mse_series
from _proof import Proof

DEFECTS = {
    "G_without_identity": "G = Σ_{l=2}^{L−1} M_{L−1:l}M_{L−1:l}ᵀ (identity term dropped)",
    "P_kron_order": "P = λ²a_L² (G ⊗ Σ_yy) instead of Σ_yy ⊗ G",
}

T = sp.Symbol("t", real=True)


def claimed_G(chain: LinearChain, proof: Proof) -> sp.Matrix:
    """G = I + Σ_{l=2}^{L−1} M_{L−1:l} M_{L−1:l}ᵀ at θ."""
    L = chain.L
    G = (
        sp.zeros(chain.width(L - 1))
        if proof.defect("G_without_identity")
        else sp.eye(chain.width(L - 1))
    )
    for l in range(2, L):
        P = chain.prod(L - 1, l)
        G += P * P.T
    return G


def claimed_P(chain: LinearChain, mom: Moments, proof: Proof) -> sp.Matrix:
    """P = λ²a_L² Σ_yy ⊗ G on the W_L block, 0 elsewhere."""
    G = claimed_G(chain, proof)
    blockP = (
        sp.kronecker_product(G, mom.Syy)
        if proof.defect("P_kron_order")
        else (sp.kronecker_product(mom.Syy, G))
    )
    n = sum(W.rows * W.cols for W in chain.W)
    P = sp.zeros(n, n)
    P[n - blockP.rows :, n - blockP.cols :] = chain.lam**2 * chain.a[-1] ** 2 * blockP
    return P


def verify(proof: Proof, theta: LinearChain, label: str, other_saddle: bool = False) -> None:
    """θ has W_L = 0; compare the second-order expansions of F* and λℒ along θ + tδ."""
    L = theta.L
    assert all(e == 0 for e in theta.W[-1])
    dirs = tuple(sym_matrix(f"d{l}", W.rows, W.cols) for l, W in enumerate(theta.W, 1))
    moved = theta.replace(W=tuple(W + T * D for W, D in zip(theta.W, dirs, strict=True)))
    mom = Moments.symbolic(theta.width(0), theta.width(L))
    x, y = sym_vector("x", theta.width(0)), sym_vector("y", theta.width(L))
    z = moved.activity_symbols()
    q = quadratic_parts(moved.energy(z, x, y), flat(z))
    F = [batch_mean(c, x, y, mom) for c in minimum_series(q, T, 2)]
    Lc = [batch_mean(c, x, y, mom) for c in mse_series(moved, x, y, T, 2)]
    dL = dirs[-1]
    G = claimed_G(theta, proof)
    proof.check(f"{label}: F*(θ) = λℒ(θ)", F[0], theta.lam * Lc[0])
    proof.check(
        f"{label}: ∇F*(θ) = λ∇ℒ(θ) (t¹ coefficients along every δ)", F[1], theta.lam * Lc[1]
    )
    proof.check(
        f"{label}: F*(θ+δ) = λℒ(θ+δ) − (λ²a_L²/2) tr(δ_L G δ_Lᵀ Σ_yy) + O(δ³)",
        F[2],
        theta.lam * Lc[2] - theta.lam**2 * theta.a[-1] ** 2 * (dL * G * dL.T * mom.Syy).trace() / 2,
    )
    params = flat(dirs)
    HF, HL = quadratic_form_matrix(F[2], params), quadratic_form_matrix(Lc[2], params)
    proof.check(
        f"{label}: H_F*(θ) = λH_ℒ(θ) − P, P = λ²a_L²(Σ_yy ⊗ G) on the W_L block",
        HF,
        theta.lam * HL - claimed_P(theta, mom, proof),
    )
    if other_saddle:
        proof.check(
            f"{label}: ∇ℒ(θ) = ∇F*(θ) = 0 and H_ℒ(θ) = 0 (non-strict for ℒ)",
            [Lc[1], F[1], HL],
            [0, 0, sp.zeros(*HL.shape)],
        )
        ML1 = theta.M(L - 1)
        block = (
            -(theta.lam**2)
            * theta.a[-1] ** 2
            * sp.kronecker_product(mom.Syy, sp.eye(ML1.rows) + ML1 * ML1.T)
        )
        n = HF.rows
        claim = sp.zeros(n, n)
        claim[n - block.rows :, n - block.cols :] = block
        proof.check(
            f"{label}: H_F*(θ) = single block −λ²a_L² Σ_yy ⊗ (I + M_(L−1)M_(L−1)ᵀ)", HF, claim
        )


def main() -> None:
    proof = Proof("W_L = 0: ∇F* = λ∇ℒ, H_F* = λH_ℒ − λ²a_L²(Σ_yy ⊗ G)", DEFECTS)
    lam = positive_symbols("lambda")[0]
    a3 = positive_symbols("a1:4")
    Z = sp.zeros(2, 2)

    # H = 2, W_1 and W_2 fully symbolic (plain), W_3 = 0
    theta = LinearChain((sym_matrix("u", 2, 2), sym_matrix("v", 2, 2), Z), a3, lam)
    verify(proof, theta, "H=2 plain, symbolic W_1, W_2")
    # H = 2, residual middle layer
    verify(proof, theta.replace(residual=frozenset({2})), "H=2 residual, symbolic W_1, W_2")
    # H = 3, rational earlier layers, non-square widths 2-3-2-2-2
    rng = random.Random(33)
    W = (
        rational_matrix(rng, 3, 2),
        rational_matrix(rng, 2, 3),
        rational_matrix(rng, 2, 2),
        sp.zeros(2, 2),
    )
    a4 = (sp.Rational(1, 2), sp.Rational(2, 3), sp.Rational(1, 3), sp.Symbol("a4", positive=True))
    verify(proof, LinearChain(W, a4, lam), "H=3 plain, rational W_1..W_3")
    # the P1 "other saddle": all layers 0 except W_{L−1}, H = 3
    W = (sp.zeros(2, 2), sp.zeros(2, 2), sym_matrix("w", 2, 2), sp.zeros(2, 2))
    verify(
        proof, LinearChain(W, positive_symbols("a1:5"), lam), "other saddle H=3", other_saddle=True
    )
    proof.finish()


if __name__ == "__main__":
    main()
