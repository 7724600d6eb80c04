"""PC inference as an exact trust-region step; the Woodbury form of S⁻¹.

Theorem (P2, exact linear version: docs/theory.md §4.2 and §2.2.3). Let ẑ_l = M_{l:1}x be the
feedforward pass, g = ∇_zF(ẑ), H_z the activity Hessian and ℓ = ½‖r‖², r = y − M_{L:1}x. Then,
per sample,

* F(ẑ) = λℓ and g has the single non-zero block g_H = −λ M_Lᵀ r;
* F(ẑ + Δ) = λℓ + gᵀΔ + ½ ΔᵀH_zΔ exactly (F is quadratic in the activities);
* z* − ẑ = Δ* := −H_z⁻¹g, and Δ* solves the trust-region subproblem
  min {gᵀΔ : ΔᵀH_zΔ ≤ ρ²} with ρ² = gᵀH_z⁻¹g (gᵀΔ* = −ρ², Δ*ᵀH_zΔ* = ρ², KKT g + μH_zΔ* = 0 with
  μ = 1 ≥ 0; by Cauchy–Schwarz in the H_z metric, gᵀΔ ≥ −ρ‖Δ‖_{H_z} ≥ −ρ² on the ellipsoid);
* value identity F* = λℓ − ½ gᵀH_z⁻¹g = ½ rᵀS⁻¹r, equivalently the Woodbury-type identity
  S⁻¹ = λI − λ² M_L [H_z⁻¹]_{HH} M_Lᵀ;
* Schur-complement form F* = ½ (cᵀΛ̃c − bᵀH_z⁻¹b), c = (M_1x, 0, …, 0, −y).

Derivation: F, g and H_z are computed from the definition of the energy by differentiation;
H_z⁻¹ is computed exactly (fraction-free, A·N = d·I); every identity is checked as an exact
rational-function identity. Cases: one hidden layer with fully symbolic 2×2 weights, multipliers
and λ; two hidden layers with fully symbolic 2×2 weights and λ; two hidden layers with a residual
middle layer and d_x = 3, d_y = 1 (symbolic W_2, λ, x, y; rational W_1, W_3).

Defects (``--defect NAME``): ``woodbury_sign`` — S⁻¹ = λI + λ²M_L[H_z⁻¹]_{HH}M_Lᵀ;
``value_plus_sign`` — F* = λℓ + ½ gᵀH_z⁻¹g.
"""

from __future__ import annotations

import random

import sympy as sp
from _algebra import (  # scripts run as files: proofs/ is sys.path[0]
    exact_inverse,
    flat,
    minimise_quadratic,
    positive_symbols,
    quadratic_parts,
    rational_matrix,
    stack,
    sym_matrix,
    sym_vector,
)
from _chain import LinearChain, rescaling_S
from _proof import Proof

DEFECTS = {
    "woodbury_sign": "S⁻¹ = λI + λ²M_L[H_z⁻¹]_HH M_Lᵀ (wrong sign)",
    "value_plus_sign": "F* = λℓ + ½ gᵀH_z⁻¹g (wrong sign)",
}


def claimed_value(lam_ell: sp.Expr, g: sp.Matrix, Hinv: sp.Matrix, proof: Proof) -> sp.Expr:
    """λℓ − ½ gᵀH_z⁻¹g."""
    sign = 1 if proof.defect("value_plus_sign") else -1
    return lam_ell + sign * (g.T * Hinv * g)[0, 0] / 2


def claimed_S_inverse(chain: LinearChain, Hinv_HH: sp.Matrix, proof: Proof) -> sp.Matrix:
    """λI − λ² M_L [H_z⁻¹]_{HH} M_Lᵀ."""
    sign = 1 if proof.defect("woodbury_sign") else -1
    ML = chain.M(chain.L)
    return chain.lam * sp.eye(ML.rows) + sign * chain.lam**2 * ML * Hinv_HH * ML.T


def verify(proof: Proof, chain: LinearChain, x, y, label: str) -> None:
    z = chain.activity_symbols()
    zv = flat(z)
    F = chain.energy(z, x, y)
    q = quadratic_parts(F, zv)
    Hz = q.A
    z_hat = stack(chain.feedforward(x))
    at_hat = dict(zip(zv, z_hat, strict=True))
    r = chain.residual_vec(x, y)
    ell = (r.T * r)[0, 0] / 2
    lam = chain.lam
    g = sp.Matrix([sp.diff(F, s) for s in zv]).xreplace(at_hat)

    proof.check(f"{label}: F(ẑ) = λℓ at the feedforward pass", F.xreplace(at_hat), lam * ell)
    nH = chain.width(chain.H)
    g_claim = stack([sp.zeros(sum(chain.hidden_widths) - nH, 1), -lam * chain.M(chain.L).T * r])
    proof.check(f"{label}: g = ∇_zF(ẑ) = (0, …, 0, −λM_Lᵀr)", g, g_claim)
    D = sp.Matrix(sp.symbols(f"D1:{len(zv) + 1}", real=True))
    moved = dict(zip(zv, z_hat + D, strict=True))
    proof.check(
        f"{label}: F(ẑ + Δ) = λℓ + gᵀΔ + ½ΔᵀH_zΔ (exact)",
        F.xreplace(moved),
        lam * ell + (g.T * D)[0, 0] + (D.T * Hz * D)[0, 0] / 2,
    )

    N, d = exact_inverse(Hz)  # H_z N = d I, so H_z⁻¹ = N/d
    Hinv = N / d
    z_star, F_star = minimise_quadratic(q)
    u = (N * g).applyfunc(sp.expand)  # Δ* = −H_z⁻¹g = −u/d
    step = -u / d
    proof.check(f"{label}: z* − ẑ = −H_z⁻¹g (z* from ∂F/∂z = 0)", z_star - z_hat, step)
    # KKT of min{gᵀΔ : ΔᵀH_zΔ ≤ ρ²}: g + μ H_zΔ* = 0 with μ = 1; multiplied by d this is the
    # polynomial identity d·g = H_z u. It implies Δ*ᵀH_zΔ* = −gᵀΔ* = gᵀH_z⁻¹g = ρ² (active).
    proof.check(
        f"{label}: TR step Δ* = −H_z⁻¹g satisfies KKT g + 1·H_zΔ* = 0 (ρ² = gᵀH_z⁻¹g)",
        d * g - Hz * u,
        sp.zeros(len(zv), 1),
    )
    value = claimed_value(lam * ell, g, Hinv, proof)
    proof.check(f"{label}: F* = F(z*) = λℓ − ½gᵀH_z⁻¹g", F_star, value)
    S = rescaling_S(chain)
    proof.check(
        f"{label}: λℓ − ½gᵀH_z⁻¹g = ½rᵀS⁻¹r", value, (r.T * S.adjugate() * r)[0, 0] / (2 * S.det())
    )
    off = sum(chain.hidden_widths) - nH
    Hinv_HH = N[off:, off:] / d
    proof.check(
        f"{label}: S · (λI − λ²M_L[H_z⁻¹]_HH M_Lᵀ) = I (Woodbury form of S⁻¹)",
        S * claimed_S_inverse(chain, Hinv_HH, proof),
        sp.eye(S.rows),
    )
    c = stack([chain.M(1) * x] + [sp.zeros(w, 1) for w in chain.hidden_widths[1:]] + [-y])
    Lam = sp.diag(sp.eye(len(zv)), lam * sp.eye(chain.width(chain.L)))
    proof.check(
        f"{label}: F* = ½(cᵀΛ̃c − bᵀH_z⁻¹b) (Schur complement)",
        F_star,
        ((c.T * Lam * c)[0, 0] - (q.b.T * Hinv * q.b)[0, 0]) / 2,
    )


def main() -> None:
    proof = Proof("trust-region value F* = λℓ − ½gᵀH_z⁻¹g; Woodbury form of S⁻¹", DEFECTS)
    lam = positive_symbols("lambda")[0]
    x, y = sym_vector("x", 2), sym_vector("y", 2)
    chain = LinearChain(
        (sym_matrix("u", 2, 2), sym_matrix("v", 2, 2)), positive_symbols("a1:3"), lam
    )
    verify(proof, chain, x, y, "H=1 2×2 symbolic")
    one = sp.Integer(1)
    chain = LinearChain(
        (sym_matrix("u", 2, 2), sym_matrix("v", 2, 2), sym_matrix("w", 2, 2)), (one, one, one), lam
    )
    verify(proof, chain, x, y, "H=2 2×2 symbolic")
    rng = random.Random(11)
    chain = LinearChain(
        (rational_matrix(rng, 2, 3), sym_matrix("v", 2, 2), rational_matrix(rng, 1, 2)),
        (sp.Rational(1, 2), sp.Rational(1, 3), sp.Rational(2, 1)),
        lam,
        frozenset({2}),
    )
    verify(proof, chain, sym_vector("x", 3), sym_vector("y", 1), "H=2 residual 3-2-2-1")
    proof.finish()


if __name__ == "__main__":
    main()
