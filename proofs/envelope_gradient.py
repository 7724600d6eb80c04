"""Weight gradient of the equilibrated energy (envelope theorem).

Theorem (docs/theory.md §1.1 and §2.5.5; P1 §3, P2 §3): per sample,

    ∂F*/∂W_l = −a_l Λ_l e*_l z*_{l−1}ᵀ,   l = 1..L,

i.e. the PC weight update evaluated at the inference equilibrium z* is the exact gradient of
F*(θ) = ½ rᵀS⁻¹r (Λ_l = 1 for hidden layers, Λ_L = λ; the same formula holds for residual layers
because ∂M_l/∂W_l = a_l). Over a batch both sides are averaged, so the per-sample statement is
the whole content.

Derivation, from the definition of F:
1. the partial derivative of F with respect to W_l at *arbitrary* activities is
   −a_l Λ_l e_l z_{l−1}ᵀ (the PC learning rule);
2. z*(θ) is obtained by solving ∂F/∂z = 0; the total derivative of F*(θ) = F(z*(θ), θ) equals
   the partial derivative at z* (envelope theorem, since ∂F/∂z = 0 there);
3. the derivative of the closed form ½ rᵀS⁻¹r (S = λ⁻¹I + Σ_{l≥2} M_{L:l}M_{L:l}ᵀ) equals
   −a_l Λ_l e*_l z*_{l−1}ᵀ with z* from step 2.
Cases: a scalar chain with three hidden units (all symbolic); one hidden layer with fully symbolic
2×2 weights; two hidden layers with a residual middle layer and d_x = 3, where the differentiated
W_l and λ are symbolic and the other layers and the sample (x, y) are exact rationals.

Defects (``--defect NAME``): ``no_lambda_last_layer`` — omit Λ_L = λ in the last-layer rule;
``feedforward_activities`` — evaluate the rule at the feedforward pass ẑ instead of z*.
"""

from __future__ import annotations

import random

import sympy as sp
from _algebra import (  # scripts run as files: proofs/ is sys.path[0]
    flat,
    minimise_quadratic,
    positive_symbols,
    quadratic_parts,
    rational_matrix,
    split,
    sym_matrix,
    sym_vector,
)
from _chain import LinearChain, rescaling_S
from _proof import Proof

DEFECTS = {
    "no_lambda_last_layer": "last-layer rule −a_L e_L z_Hᵀ without the precision λ",
    "feedforward_activities": "rule evaluated at the feedforward pass ẑ instead of z*",
}


def pc_rule(chain: LinearChain, z: list[sp.Matrix], x, y, l: int, proof: Proof) -> sp.Matrix:
    """Claimed −a_l Λ_l e_l z_{l−1}ᵀ at activities z (z_0 = x)."""
    e = chain.errors(z, x, y)[l - 1]
    prev = ([x, *z])[l - 1]
    prec = chain.precision(l)
    if l == chain.L and proof.defect("no_lambda_last_layer"):
        prec = 1
    return -chain.a[l - 1] * prec * e * prev.T


def grad_wrt(expr: sp.Expr, W: sp.Matrix) -> sp.Matrix:
    """Matrix of partial derivatives ∂expr/∂W_ij (same shape as W)."""
    return W.applyfunc(lambda w: sp.diff(expr, w))


def verify(proof: Proof, chain: LinearChain, x, y, layers, label: str) -> None:
    z = chain.activity_symbols()
    F = chain.energy(z, x, y)
    q = quadratic_parts(F, flat(z))
    z_star_flat, F_star = minimise_quadratic(q)  # F* = F0 − ½ bᵀ z* = F(z*), a single fraction
    z_star = split(z_star_flat, chain.hidden_widths)
    at_star = dict(zip(flat(z), flat(z_star), strict=True))
    S = rescaling_S(chain)
    r = chain.residual_vec(x, y)
    closed = (r.T * S.adjugate() * r)[0, 0] / (2 * S.det())
    z_eval = chain.feedforward(x) if proof.defect("feedforward_activities") else z_star
    for l in layers:
        W = chain.W[l - 1]
        partial = grad_wrt(F, W)
        proof.check(
            f"{label}: ∂F/∂W_{l} = −a_l Λ_l e_l z_(l−1)ᵀ at any z (PC rule)",
            partial,
            pc_rule(chain, z, x, y, l, proof),
        )
        proof.check(
            f"{label}: d F(z*(θ), θ)/dW_{l} = ∂F/∂W_{l} at z* (envelope theorem)",
            grad_wrt(F_star, W),
            partial.xreplace(at_star),
        )
        proof.check(
            f"{label}: ∂(½rᵀS⁻¹r)/∂W_{l} = −a_l Λ_l e*_l z*_(l−1)ᵀ",
            grad_wrt(closed, W),
            pc_rule(chain, z_eval, x, y, l, proof),
        )


def main() -> None:
    proof = Proof("envelope theorem: ∂F*/∂W_l = −a_l Λ_l e*_l z*_(l−1)ᵀ", DEFECTS)
    lam = positive_symbols("lambda")[0]

    # scalar chain, three hidden units, everything symbolic
    w = sp.symbols("w1:5", real=True)
    chain = LinearChain(tuple(sp.Matrix([[wl]]) for wl in w), positive_symbols("a1:5"), lam)
    x, y = sp.Matrix([[sp.Symbol("x", real=True)]]), sp.Matrix([[sp.Symbol("y", real=True)]])
    verify(proof, chain, x, y, range(1, 5), "scalar H=3")

    # one hidden layer, fully symbolic 2×2
    chain = LinearChain(
        (sym_matrix("u", 2, 2), sym_matrix("v", 2, 2)), positive_symbols("a1:3"), lam
    )
    x, y = sym_vector("x", 2), sym_vector("y", 2)
    verify(proof, chain, x, y, (1, 2), "H=1 2×2 symbolic")

    # two hidden layers, residual middle layer, non-square input (d_x = 3); the differentiated
    # W_l and λ are symbolic, the other layers and the sample (x, y) are exact rationals
    rng = random.Random(7)
    base = (rational_matrix(rng, 2, 3), rational_matrix(rng, 2, 2), rational_matrix(rng, 2, 2))
    a = (sp.Rational(1, 2), sp.Rational(2, 3), sp.Rational(3, 2))
    x, y = rational_matrix(rng, 3, 1), rational_matrix(rng, 2, 1)
    for l, name in zip((1, 2, 3), "uvw", strict=True):
        W = list(base)
        W[l - 1] = sym_matrix(name, *base[l - 1].shape)
        chain = LinearChain(tuple(W), a, lam, frozenset({2}))
        verify(proof, chain, x, y, (l,), f"H=2 residual (symbolic W_{l})")
    proof.finish()


if __name__ == "__main__":
    main()
