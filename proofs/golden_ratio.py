"""Golden-ratio escape curvature at the origin for the y = −x toy (one hidden layer).

Theorem (docs/theory.md §3.2 "Toy data", §4.2 "Saddle escape"; P1 Figs. 2–3 toy, P2 shallow model).
With one hidden layer, λ = a_l = 1 and data y = −x (so Σ_yx = −Σ_xx, Σ_yy = Σ_xx), the Hessians at
θ = 0 have spectra

    H_{F*}(0):  σ_k(Σ_xx)·(−1 ± √5)/2,     H_ℒ(0):  ±σ_k(Σ_xx),     each N times,

so the ratio of the most negative eigenvalues is λ_min(H_{F*})/λ_min(H_ℒ) = φ = (1 + √5)/2. In
the scalar model (d_x = d_y = N = 1) H_{F*}(0) = −[[0, s_xy], [s_xy, s_yy]] has eigenvalues
(−s_yy ± √(s_yy² + 4s_xy²))/2, and the predicted escape-time ratio of P2 is
|λ_min(H_ℒ)|/|λ_min(H_{F*})| = 2|s_xy|/(s_yy + √(s_yy² + 4s_xy²)), which is 1/φ for y = ±x.

Derivation: the Hessians are derived from the energy as in ``origin_hessians.py`` (weights tW,
F*(t) expanded exactly to order t², batch means through second moments, here the toy moments
(Σ_xx, −Σ_xx, Σ_xx) with symbolic symmetric Σ_xx). Their characteristic polynomials are compared
with det(μ²I + μΣ_xx − Σ_xx²)^N (F*) and det(μ²I − Σ_xx²)^N (ℒ): for symmetric Σ_xx with
eigenvalues σ_k these are Π_k (μ² + σ_kμ − σ_k²)^N and Π_k (μ² − σ_k²)^N, whose roots are the
claimed spectra; the most negative roots are −φσ_max and −σ_max because σ_k ≥ 0 and
(−1 + √5)/2 > 0. An exact rational spot check uses four explicit samples x_i and y_i = −x_i
(Σ_xx with eigenvalues 1/2 and 5/2) and averages the per-sample energy coefficients directly.

Defects (``--defect NAME``): ``K_without_Syy_block`` — drop the λ²Σ_yy block, i.e. claim the factor
μ²I − Σ_xx² for F* (ratio 1); ``golden_conjugate`` — claim the ratio (√5 − 1)/2.
"""

from __future__ import annotations

import sympy as sp
from _algebra import (  # scripts run as files: proofs/ is sys.path[0]
    flat,
    minimum_series,
    quadratic_form_matrix,
    quadratic_parts,
    sym_matrix,
    sym_symmetric,
    sym_vector,
)
from _chain import LinearChain, Moments, batch_mean, mse_series
from _proof import Proof, is_zero
from sympy.polys.matrices import DomainMatrix

DEFECTS = {
    "K_without_Syy_block": "F* Hessian factor μ²I − Σ_xx² (the λ²Σ_yy block dropped)",
    "golden_conjugate": "ratio of most negative eigenvalues claimed (√5 − 1)/2",
}

T = sp.Symbol("t", real=True)
MU = sp.Symbol("mu")
PHI = (1 + sp.sqrt(5)) / 2


def origin_hessians(d: int, N: int, average) -> tuple[sp.Matrix, sp.Matrix]:
    """H_F*(0) and H_ℒ(0) for H = 1, λ = a = 1, from the energy; ``average`` takes the batch mean
    of a per-sample quadratic form in (x, y)."""
    W = (sym_matrix("u", N, d), sym_matrix("v", d, N))
    one = sp.Integer(1)
    scaled = LinearChain(tuple(T * Wl for Wl in W), (one, one), one)
    x, y = sym_vector("x", d), sym_vector("y", d)
    z = scaled.activity_symbols()
    q = quadratic_parts(scaled.energy(z, x, y), flat(z))
    F2 = average(minimum_series(q, T, 2)[2], x, y)
    L2 = average(mse_series(scaled, x, y, T, 2)[2], x, y)
    params = flat(W)
    return quadratic_form_matrix(F2, params), quadratic_form_matrix(L2, params)


def charpoly(A: sp.MatrixBase) -> sp.Expr:
    """det(μI − A) computed over the polynomial ring of the entries."""
    dm = DomainMatrix.from_Matrix(sp.Matrix(A))
    coeffs = dm.charpoly()
    n = len(coeffs) - 1
    return sum(dm.domain.to_sympy(c) * MU ** (n - i) for i, c in enumerate(coeffs))


def claimed_factor(S: sp.Matrix, proof: Proof) -> sp.Matrix:
    """μ²I + μΣ_xx − Σ_xx² (its determinant is the charpoly of K)."""
    n = S.rows
    if proof.defect("K_without_Syy_block"):
        return MU**2 * sp.eye(n) - S * S
    return MU**2 * sp.eye(n) + MU * S - S * S


def claimed_ratio(proof: Proof) -> sp.Expr:
    return (sp.sqrt(5) - 1) / 2 if proof.defect("golden_conjugate") else PHI


def main() -> None:
    proof = Proof("golden ratio: λ_min(H_F*(0)) / λ_min(H_ℒ(0)) = φ for y = −x", DEFECTS)
    d, N = 2, 2

    # symbolic Σ_xx, toy moments Σ_yx = −Σ_xx, Σ_yy = Σ_xx
    S = sym_symmetric("s", d)
    toy = Moments(S, -S, S)
    HF, HL = origin_hessians(d, N, lambda e, x, y: batch_mean(e, x, y, toy))
    proof.check(
        f"toy y=−x, d={d}, N={N}: det(μI − H_F*(0)) = det(μ²I + μΣ_xx − Σ_xx²)^N",
        charpoly(HF),
        claimed_factor(S, proof).det() ** N,
    )
    proof.check(
        f"toy y=−x, d={d}, N={N}: det(μI − H_ℒ(0)) = det(μ²I − Σ_xx²)^N",
        charpoly(HL),
        (MU**2 * sp.eye(d) - S * S).det() ** N,
    )
    sigma = sp.Symbol("sigma", positive=True)
    f_roots = [sigma * (-1 + sp.sqrt(5)) / 2, sigma * (-1 - sp.sqrt(5)) / 2]
    factor = claimed_factor(sp.Matrix([[sigma]]), proof)[0, 0]
    proof.check_true(
        "μ² + σμ − σ² has roots σ(−1 ± √5)/2 (F*); μ² − σ² has roots ±σ (ℒ)",
        all(is_zero(factor.subs(MU, r)) for r in f_roots)
        and all(is_zero((MU**2 - sigma**2).subs(MU, r)) for r in (sigma, -sigma)),
    )
    ratio = (-sigma * PHI) / (-sigma)
    proof.check(
        "ratio of most negative eigenvalues (−φσ_max)/(−σ_max) = φ = (1 + √5)/2",
        ratio,
        claimed_ratio(proof),
    )

    # rational spot check: four explicit samples x_i, y_i = −x_i
    xs = [sp.Matrix([1, 2]), sp.Matrix([2, 1]), sp.Matrix([-1, 0]), sp.Matrix([0, -1])]
    Sxx = sum((v * v.T for v in xs), sp.zeros(2, 2)) / len(xs)
    proof.check(
        "spot data: Σ_xx = mean x xᵀ = [[3/2, 1], [1, 3/2]] (eigenvalues 1/2, 5/2)",
        Sxx,
        sp.Matrix([[sp.Rational(3, 2), 1], [1, sp.Rational(3, 2)]]),
    )

    def sample_mean(e, x, y):
        return sum(
            (e.subs(dict(zip(list(x) + list(y), list(v) + list(-v), strict=True))) for v in xs),
            sp.Integer(0),
        ) / len(xs)

    HF_r, HL_r = origin_hessians(d, N, sample_mean)
    s1, s2 = sp.Rational(1, 2), sp.Rational(5, 2)
    proof.check(
        "spot data: det(μI − H_F*(0)) = ((μ² + σ₁μ − σ₁²)(μ² + σ₂μ − σ₂²))², σ = 1/2, 5/2",
        charpoly(HF_r),
        claimed_factor(sp.diag(s1, s2), proof).det() ** N,
    )
    proof.check(
        "spot data: det(μI − H_ℒ(0)) = ((μ² − σ₁²)(μ² − σ₂²))²",
        charpoly(HL_r),
        ((MU**2 - s1**2) * (MU**2 - s2**2)) ** N,
    )
    lmin_F = -s2 * PHI
    lmin_L = -s2
    proof.check_true(
        "spot data: −(5/2)φ is an eigenvalue of H_F*(0) and −5/2 of H_ℒ(0)",
        is_zero(charpoly(HF_r).subs(MU, lmin_F)) and is_zero(charpoly(HL_r).subs(MU, lmin_L)),
    )
    proof.check(
        "spot data: λ_min(H_F*(0)) / λ_min(H_ℒ(0)) = φ", lmin_F / lmin_L, claimed_ratio(proof)
    )

    # scalar model (d_x = d_y = N = 1) with general moments, λ = a = 1
    sxy, syy = sp.symbols("s_xy s_yy", real=True)
    scal = Moments(
        sp.Matrix([[sp.Symbol("s_xx", positive=True)]]), sp.Matrix([[sxy]]), sp.Matrix([[syy]])
    )
    HF1, HL1 = origin_hessians(1, 1, lambda e, x, y: batch_mean(e, x, y, scal))
    proof.check(
        "scalar: H_F*(0) = −[[0, s_xy], [s_xy, s_yy]], H_ℒ(0) = −[[0, s_xy], [s_xy, 0]]",
        [HF1, HL1],
        [-sp.Matrix([[0, sxy], [sxy, syy]]), -sp.Matrix([[0, sxy], [sxy, 0]])],
    )
    disc = sp.sqrt(syy**2 + 4 * sxy**2)
    proof.check_true(
        "scalar: eigenvalues of H_F*(0) are (−s_yy ± √(s_yy² + 4s_xy²))/2",
        all(is_zero(charpoly(HF1).subs(MU, (-syy + s * disc) / 2)) for s in (1, -1)),
    )
    s = sp.Symbol("s", positive=True)
    esc = 2 * s / (s + sp.sqrt(s**2 + 4 * s**2))
    proof.check(
        "scalar, y = ±x (s_yy = |s_xy| = s): escape-time ratio 2|s_xy|/(s_yy + √(…)) = 1/φ",
        esc,
        1 / claimed_ratio(proof),
    )
    proof.finish()


if __name__ == "__main__":
    main()
