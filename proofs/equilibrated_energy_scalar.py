"""Equilibrated energy of scalar linear chains: F* = ℒ / s.

Theorem (P1 Thm 1, scalar case; docs/theory.md §2.3 "Scalar chain"). For a chain of scalar layers
with H = L − 1 hidden units, effective maps m_l (m_l = a_l w_l plain, m_l = 1 + a_l w_l residual)
and output precision λ, the minimum over the hidden activities of

    F(z) = Σ_{l=1}^{H} ½ (z_l − m_l z_{l−1})² + (λ/2) (y − m_L z_H)²,   z_0 = x,

is F* = ½ (y − m_L⋯m_1 x)² / s with s = λ⁻¹ + Σ_{l=2}^{L} Π_{k=l}^{L} m_k². For λ = 1 and
a_l = 1 this is F* = ℒ / (1 + Σ_{l≥2} Π_{k≥l} w_k²) (e.g. 2-MLP: s = 1 + w_3² + w_3² w_2²); the
batch version follows because s does not depend on the data.

Derivation: the stationarity equations ∂F/∂z_l = 0 (a linear system in z) are solved
symbolically with ``sp.solve``; the solution is substituted into F and compared exactly with
ℓ/s. The 1-hidden-unit equilibrium z* = (a_1 w_1 x + λ a_2 w_2 y)/(1 + λ a_2² w_2²) (docs/theory.md
§2.3, λ = 1 form in P2 / the pc-saddles notebooks) is checked as well.

Defects (``--defect NAME``): ``s_without_last_layer`` drops the l = L term (Π = m_L²) from s;
``s_from_first_layer`` starts the sum at l = 1 (includes m_1).
"""

from __future__ import annotations

import sympy as sp
from _algebra import positive_symbols  # scripts run as files: proofs/ is sys.path[0]
from _chain import LinearChain, Moments, batch_mean
from _proof import Proof

DEFECTS = {
    "s_without_last_layer": "s misses the l = L term m_L² (i.e. W_L W_Lᵀ)",
    "s_from_first_layer": "s sums from l = 1, including the first-layer product",
}


def scalar_chain(H: int, residual: bool = False) -> LinearChain:
    """Scalar chain with symbolic weights w_l, multipliers a_l and precision λ."""
    L = H + 1
    w = sp.symbols(f"w1:{L + 1}", real=True)
    a = positive_symbols(f"a1:{L + 1}")
    (lam,) = positive_symbols("lambda")
    res = frozenset(range(2, L)) if residual else frozenset()
    return LinearChain(tuple(sp.Matrix([[wl]]) for wl in w), a, lam, res)


def claimed_s(chain: LinearChain, proof: Proof) -> sp.Expr:
    """s = λ⁻¹ + Σ_{l=2}^{L} Π_{k=l}^{L} m_k² — the claimed rescaling (docs/theory.md §2.3)."""
    L = chain.L
    m = {l: chain.M(l)[0, 0] for l in range(1, L + 1)}
    first = 1 if proof.defect("s_from_first_layer") else 2
    last = L - 1 if proof.defect("s_without_last_layer") else L
    return 1 / chain.lam + sum(
        (sp.prod(m[k] ** 2 for k in range(l, L + 1)) for l in range(first, last + 1)),
        sp.Integer(0),
    )


def equilibrium(chain: LinearChain, x: sp.Symbol, y: sp.Symbol) -> tuple[dict, sp.Expr]:
    """Solve ∂F/∂z_l = 0 for all hidden units; return the solution and F at it."""
    z = [blk[0, 0] for blk in chain.activity_symbols()]
    F = chain.energy([sp.Matrix([[zl]]) for zl in z], sp.Matrix([[x]]), sp.Matrix([[y]]))
    sol = sp.solve([sp.diff(F, zl) for zl in z], z, dict=True)
    assert len(sol) == 1, "the stationarity system must have a unique solution"
    return sol[0], F.subs(sol[0])


def main() -> None:
    proof = Proof("scalar chains: F* = ℒ/s, s = λ⁻¹ + Σ_{l≥2} Π_{k≥l} m_k²", DEFECTS)
    x, y = sp.symbols("x y", real=True)

    for H in range(1, 5):
        chain = scalar_chain(H)
        sol, F_star = equilibrium(chain, x, y)
        ell = chain.mse(sp.Matrix([[x]]), sp.Matrix([[y]]))
        s = claimed_s(chain, proof)
        proof.check(
            f"F* = ℓ/s for the {H}-hidden-unit chain (symbolic w_l, a_l, λ)", F_star, ell / s
        )
        # SP, λ = 1: the form of the statement in P1 / docs/theory.md §2.3
        sp1 = {chain.lam: 1, **{al: 1 for al in chain.a}}
        w = [Wl[0, 0] for Wl in chain.W]
        s_sp = 1 + sum(sp.prod(w[k - 1] ** 2 for k in range(l, H + 2)) for l in range(2, H + 2))
        proof.check(
            f"F* = ℒ/(1 + Σ_(l≥2) Π_(k≥l) w_k²) for the {H}-hidden-unit chain (λ = a_l = 1)",
            F_star.subs(sp1),
            ell.subs(sp1) / s_sp,
        )
        if H == 1:
            a1, a2 = chain.a
            z1 = sol[chain.activity_symbols()[0][0, 0]]
            z1_claim = (a1 * w[0] * x + chain.lam * a2 * w[1] * y) / (
                1 + chain.lam * a2**2 * w[1] ** 2
            )
            proof.check(
                "1-MLP equilibrium z* = (a1 w1 x + λ a2 w2 y)/(1 + λ a2² w2²)", z1, z1_claim
            )
            mom = Moments.symbolic(1, 1)
            X, Y = sp.Matrix([[x]]), sp.Matrix([[y]])
            proof.check(
                "1-MLP batch: mean of F* over samples = ℒ/s with ℒ = ½(s_yy − 2m s_xy + m² s_xx)",
                batch_mean(F_star, X, Y, mom),
                batch_mean(ell, X, Y, mom) / s,
            )

    chain = scalar_chain(3, residual=True)
    _, F_star = equilibrium(chain, x, y)
    ell = chain.mse(sp.Matrix([[x]]), sp.Matrix([[y]]))
    proof.check(
        "F* = ℓ/s for a 3-hidden-unit residual chain (m_l = 1 + a_l w_l, l = 2, 3)",
        F_star,
        ell / claimed_s(chain, proof),
    )
    proof.finish()


if __name__ == "__main__":
    main()
