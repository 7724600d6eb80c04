"""Spectrum of T_H and the small-branch limit of the residual activity Hessian.

Theorem (docs/theory.md §6.2; P3 conditioning analysis). Let T_H = tridiag(−1, 2, −1) ∈ R^{H×H} with
last diagonal entry 1. Then

    spec T_H = { 4 sin²((2k−1)π / (2(2H+1))) : k = 1..H },
    κ(T_H) = cos²(π/(2H+1)) / sin²(π/(2(2H+1)))   (≈ (4H+2)²/π²),

and for a residual network (M_l = I + a_l W_l, 2 ≤ l ≤ L−1) whose branches vanish, a_l → 0 for
2 ≤ l ≤ L (so a_l‖W_l‖ → 0 and λa_L²‖W_L‖² → 0), the activity Hessian tends to T_H ⊗ I_N; plain
networks with vanishing weights instead give H_z → I.

Derivation:
1. Eigenvectors: with μ = 2 − 2cos θ = 4 sin²(θ/2) and v_j = sin(jθ), the rows 1..H−1 of
   (T_H − μI)v vanish identically and row H equals sin((H+1)θ) − sin(Hθ) = 2cos((2H+1)θ/2)sin(θ/2)
   (checked exactly after rewriting the trigonometric functions as exponentials, for each H ≤ 6);
   it vanishes for θ_k = (2k−1)π/(2H+1), k = 1..H, where v ≠ 0 (v_1 = sin θ_k > 0).
2. Independently, each claimed eigenvalue is a root of the characteristic polynomial det(mI − T_H):
   its minimal polynomial over Q divides it. The H angles θ_k/2 are distinct in (0, π/2), where
   sin² is increasing, so the claimed values are H distinct eigenvalues — the whole spectrum —
   with μ_1 smallest and μ_H largest; κ = μ_H/μ_1 is compared with the closed form exactly (the
   minimal polynomial of the difference is X).
3. The residual activity Hessian is derived by differentiating the energy with branch multipliers
   a_l = ε (symbolic W_l, λ) and evaluated at ε = 0.

Defects (``--defect NAME``): ``T_last_entry_2`` — T_H with last diagonal entry 2 (the Dirichlet
matrix); ``eig_angle_k`` — eigenvalues 4 sin²(kπ/(2(2H+1))).
"""

from __future__ import annotations

from itertools import pairwise

import sympy as sp
from _algebra import (  # scripts run as files: proofs/ is sys.path[0]
    flat,
    positive_symbols,
    quadratic_parts,
    sym_matrix,
    sym_vector,
)
from _chain import LinearChain
from _proof import Proof, is_zero

DEFECTS = {
    "T_last_entry_2": "T_H with last diagonal entry 2 instead of 1",
    "eig_angle_k": "eigenvalues 4 sin²(kπ/(2(2H+1))) instead of (2k−1)π",
}

H_MAX = 6


def claimed_T(H: int, proof: Proof) -> sp.Matrix:
    """tridiag(−1, 2, −1) with last diagonal entry 1."""
    T = sp.zeros(H, H)
    for i in range(H):
        T[i, i] = 2
        if i + 1 < H:
            T[i, i + 1] = T[i + 1, i] = -1
    T[H - 1, H - 1] = 2 if proof.defect("T_last_entry_2") else 1
    return T


def claimed_angle(H: int, k: int, proof: Proof) -> sp.Rational:
    """The eigenvalue is 4 sin²(angle·π) with angle = (2k−1)/(2(2H+1))."""
    num = k if proof.defect("eig_angle_k") else 2 * k - 1
    return sp.Rational(num, 2 * (2 * H + 1))


def claimed_kappa(H: int) -> sp.Expr:
    return sp.cos(sp.pi / (2 * H + 1)) ** 2 / sp.sin(sp.pi / (2 * (2 * H + 1))) ** 2


def exp_form_is_zero(e: sp.Expr) -> bool:
    """Exact zero test for trigonometric polynomials: rewrite as exponentials and expand."""
    return is_zero(sp.expand(sp.expand(e.rewrite(sp.exp)), power_exp=True))


def algebraic_is_zero(e: sp.Expr) -> bool:
    """Exact zero test for an algebraic number: its minimal polynomial over Q is X."""
    X = sp.Symbol("X")
    return sp.minimal_polynomial(e, X) == X


def spectrum(proof: Proof, H: int) -> None:
    T = claimed_T(H, proof)
    theta = sp.Symbol("theta", real=True)
    v = sp.Matrix([sp.sin(j * theta) for j in range(1, H + 1)])
    res = T * v - (2 - 2 * sp.cos(theta)) * v
    target = sp.zeros(H, 1)
    target[H - 1] = 2 * sp.cos((2 * H + 1) * theta / 2) * sp.sin(theta / 2)
    proof.check_true(
        f"H={H}: (T_H − 4sin²(θ/2) I) sin(jθ) = (0, …, 0, 2cos((2H+1)θ/2) sin(θ/2))",
        all(exp_form_is_zero(e) for e in res - target),
    )
    m = sp.Symbol("m")
    charpoly = sp.Poly((m * sp.eye(H) - T).det(), m)
    angles = [claimed_angle(H, k, proof) for k in range(1, H + 1)]
    roots = all(
        sp.rem(charpoly, sp.Poly(sp.minimal_polynomial(4 * sp.sin(a * sp.pi) ** 2, m), m)).is_zero
        for a in angles
    )
    distinct = all(bool(0 < a < b < sp.Rational(1, 2)) for a, b in pairwise(angles))
    proof.check_true(
        f"H={H}: 4sin²((2k−1)π/(2(2H+1))), k = 1..H, are H distinct roots of det(mI − T_H)",
        roots and distinct and bool(0 < angles[0] < sp.Rational(1, 2)),
    )
    mu = [4 * sp.sin(a * sp.pi) ** 2 for a in angles]
    proof.check_true(
        f"H={H}: κ(T_H) = μ_H/μ_1 = cos²(π/(2H+1)) / sin²(π/(2(2H+1)))",
        algebraic_is_zero(mu[-1] / mu[0] - claimed_kappa(H)),
    )


def residual_limit(proof: Proof, H: int, N: int) -> None:
    eps = sp.Symbol("epsilon", positive=True)
    lam, a1 = positive_symbols("lambda a1")
    L = H + 1
    W = [sym_matrix("u", N, 2)] + [sym_matrix(f"w{l}", N, N) for l in range(2, L)]
    W.append(sym_matrix("q", 2, N))
    a = (a1,) + (eps,) * (L - 1)
    chain = LinearChain(tuple(W), a, lam, frozenset(range(2, L)))
    z = chain.activity_symbols()
    q = quadratic_parts(chain.energy(z, sym_vector("x", 2), sym_vector("y", 2)), flat(z))
    proof.check(
        f"residual H={H}, N={N}: H_z → T_H ⊗ I_N as the branch multipliers a_l → 0 (l ≥ 2)",
        q.A.subs(eps, 0),
        sp.kronecker_product(claimed_T(H, proof), sp.eye(N)),
    )
    plain = chain.replace(residual=frozenset())
    qp = quadratic_parts(plain.energy(z, sym_vector("x", 2), sym_vector("y", 2)), flat(z))
    proof.check(f"plain H={H}, N={N}: H_z → I as a_l → 0 (l ≥ 2)", qp.A.subs(eps, 0), sp.eye(H * N))


def main() -> None:
    proof = Proof("T_H = tridiag(−1, 2, −1) (last entry 1): spectrum, κ, residual limit", DEFECTS)
    for H in range(1, H_MAX + 1):
        spectrum(proof, H)
    residual_limit(proof, 3, 2)
    residual_limit(proof, 4, 2)
    proof.finish()


if __name__ == "__main__":
    main()
