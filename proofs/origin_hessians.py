"""Hessians of the MSE ℒ and of the equilibrated energy F* at the origin θ = 0.

Theorem (P1 origin-Hessian theorem, validated by P1 Figs. 3–4 and 8; docs/theory.md §3.1, §3.2,
§5.1), plain deep linear networks, uncentred moments Σ_xx, Σ_yx, Σ_yy, row-major vec:

* one hidden layer (H = 1): H_ℒ(0) has only the W_1–W_2 cross entries
  ∂²ℒ/∂(W_1)_{jb}∂(W_2)_{ij'} = −a_1a_2(Σ_yx)_{ib}δ_{jj'}; H_{F*}(0) has the cross entries
  −λa_1a_2(Σ_yx)_{ib}δ_{jj'} and the W_2 block −λ²a_2² Σ_yy ⊗ I_N. Grouping the parameters by
  hidden unit (row j of W_1, column j of W_2) gives H_{F*}(0) = ⊕_{j=1}^{N} K with
  K = −[[0, λa_1a_2Σ_xy], [λa_1a_2Σ_yx, λ²a_2²Σ_yy]] = λK_ℒ − diag(0, λ²a_2²Σ_yy),
  K_ℒ = −a_1a_2[[0, Σ_xy], [Σ_yx, 0]]; so spec H_{F*}(0) = spec K, each eigenvalue N times;
* H ≥ 2: H_ℒ(0) = 0 and H_{F*}(0) = blockdiag(0, …, 0, −λ²a_L² Σ_yy ⊗ I_{n_H}) — a strict saddle
  of F* (whenever Σ_yy ≠ 0) at every depth;
* to second order F*(θ) = (λ/2)trΣ_yy − λ tr(MΣ_xy) − (λ²a_L²/2) tr(W_LᵀΣ_yyW_L) + O(‖θ‖³);
* order of flatness: along θ = tV, ℒ(tV) − ℒ(0) = −t^{H+1} tr(V_{L:1}Σ_xy)
  + ½ t^{2(H+1)} tr(V_{L:1}Σ_xxV_{L:1}ᵀ) with V_{L:1} = a_LV_L⋯a_1V_1: all derivatives of orders
  1..H vanish and the first non-zero one has order H + 1, while F*(tV) − F*(0) already has a
  non-zero t² term for every H.

Derivation: the network with weights tW (W fully symbolic) is built; F(z) is read as a quadratic
in the activities; F*(t) = F0 − ½ bᵀH_z⁻¹b is expanded exactly in powers of t (Neumann series
of H_z(t)⁻¹ around H_z(0) = I); each per-sample coefficient is a quadratic form in (x, y) whose
batch mean is taken through symbolic second moments. The t² coefficient is ½ θᵀ H(0) θ, so its
Hessian in the weight entries is the Hessian at the origin. ℒ is the batch mean of ½‖y − Mx‖².

Defects (``--defect NAME``): ``K_without_Syy_block`` — W_L block of H_{F*}(0) claimed 0 (K
without λ²a_L²Σ_yy); ``kron_order`` — W_L block claimed I ⊗ Σ_yy (column-major convention);
``mse_flat_order_H`` — claim that ℒ's first non-zero derivative has order H.
"""

from __future__ import annotations

import sympy as sp
from _algebra import (  # scripts run as files: proofs/ is sys.path[0]
    flat,
    minimum_series,
    positive_symbols,
    quadratic_form_matrix,
    quadratic_parts,
    sym_matrix,
    sym_vector,
)
from _chain import LinearChain, Moments, batch_mean, mse_series
from _proof import Proof, is_zero

DEFECTS = {
    "K_without_Syy_block": "W_L block of H_F*(0) claimed 0 (K without the λ²a_L²Σ_yy block)",
    "kron_order": "W_L block of H_F*(0) claimed −λ²a_L² I ⊗ Σ_yy (column-major convention)",
    "mse_flat_order_H": "claim: first non-zero derivative of ℒ at 0 has order H (not H+1)",
}

T = sp.Symbol("t", real=True)


class OriginSetup:
    """Plain chain with symbolic weights W (direction), multipliers, λ and moments."""

    def __init__(self, widths: tuple[int, ...], names: str = "uvwqpr") -> None:
        L = len(widths) - 1
        self.widths = widths
        self.W = tuple(sym_matrix(names[l], widths[l + 1], widths[l]) for l in range(L))
        self.a = positive_symbols(f"a1:{L + 1}")
        self.lam = positive_symbols("lambda")[0]
        self.chain = LinearChain(self.W, self.a, self.lam)
        self.scaled = LinearChain(tuple(T * W for W in self.W), self.a, self.lam)
        self.mom = Moments.symbolic(widths[0], widths[-1])
        self.x, self.y = sym_vector("x", widths[0]), sym_vector("y", widths[-1])
        self.params = flat(self.W)

    @property
    def L(self) -> int:
        return len(self.W)

    def energy_series(self, order: int) -> list[sp.Expr]:
        """Batch-mean Taylor coefficients of F*(tW) in t, derived from the energy."""
        z = self.scaled.activity_symbols()
        q = quadratic_parts(self.scaled.energy(z, self.x, self.y), flat(z))
        return [batch_mean(c, self.x, self.y, self.mom) for c in minimum_series(q, T, order)]

    def mse_series(self, order: int) -> list[sp.Expr]:
        """Batch-mean Taylor coefficients of ℒ(tW) = mean ½‖y − M(tW)x‖²."""
        return [
            batch_mean(c, self.x, self.y, self.mom)
            for c in mse_series(self.scaled, self.x, self.y, T, order)
        ]

    def hessian(self, c2: sp.Expr) -> sp.Matrix:
        """Hessian at 0 from the t² coefficient c2 = ½ θᵀHθ."""
        return quadratic_form_matrix(c2, self.params)

    def offsets(self) -> list[int]:
        sizes = [W.rows * W.cols for W in self.W]
        return [sum(sizes[:l]) for l in range(len(sizes) + 1)]


def claimed_WL_block(s: OriginSetup, proof: Proof) -> sp.Matrix:
    """−λ²a_L² Σ_yy ⊗ I_{n_H} (row-major vec of W_L)."""
    nH = s.widths[-2]
    if proof.defect("K_without_Syy_block"):
        return sp.zeros(s.widths[-1] * nH, s.widths[-1] * nH)
    if proof.defect("kron_order"):
        return -(s.lam**2) * s.a[-1] ** 2 * sp.kronecker_product(sp.eye(nH), s.mom.Syy)
    return -(s.lam**2) * s.a[-1] ** 2 * sp.kronecker_product(s.mom.Syy, sp.eye(nH))


def claimed_cross_H1(s: OriginSetup, scale: sp.Expr) -> sp.Matrix:
    """Cross entries ∂²/∂(W_1)_{jb}∂(W_2)_{ij'} = −scale (Σ_yx)_{ib} δ_{jj'} as a full matrix."""
    dx, N, dy = s.widths
    off = s.offsets()
    Hm = sp.zeros(off[-1], off[-1])
    for j in range(N):
        for b in range(dx):
            for i in range(dy):
                p1 = off[0] + j * dx + b  # (W_1)_{jb}, row-major
                p2 = off[1] + i * N + j  # (W_2)_{ij}, row-major
                Hm[p1, p2] = Hm[p2, p1] = -scale * s.mom.Syx[i, b]
    return Hm


def claimed_HF_H1(s: OriginSetup, proof: Proof) -> sp.Matrix:
    a1, a2 = s.a
    Hm = claimed_cross_H1(s, s.lam * a1 * a2)
    off = s.offsets()
    Hm[off[1] : off[2], off[1] : off[2]] = claimed_WL_block(s, proof)
    return Hm


def claimed_K(s: OriginSetup, proof: Proof) -> tuple[sp.Matrix, sp.Matrix]:
    """K (for F*) and K_ℒ (for ℒ) of size (d_x + d_y)²."""
    a1, a2 = s.a
    dx, dy = s.widths[0], s.widths[-1]
    yy = sp.zeros(dy, dy) if proof.defect("K_without_Syy_block") else s.mom.Syy
    K = -sp.Matrix(
        sp.BlockMatrix(
            [
                [sp.zeros(dx, dx), s.lam * a1 * a2 * s.mom.Sxy],
                [s.lam * a1 * a2 * s.mom.Syx, s.lam**2 * a2**2 * yy],
            ]
        )
    )
    KL = (
        -a1
        * a2
        * sp.Matrix(sp.BlockMatrix([[sp.zeros(dx, dx), s.mom.Sxy], [s.mom.Syx, sp.zeros(dy, dy)]]))
    )
    return K, KL


def unit_permutation(s: OriginSetup) -> sp.Matrix:
    """P with (Pθ) = (unit 1 params, …, unit N params), unit j = (row j of W_1, column j of W_2)."""
    dx, N, dy = s.widths
    off = s.offsets()
    order = []
    for j in range(N):
        order += [off[0] + j * dx + b for b in range(dx)]
        order += [off[1] + i * N + j for i in range(dy)]
    P = sp.zeros(len(order), len(order))
    for row, col in enumerate(order):
        P[row, col] = 1
    return P


def one_hidden_layer(proof: Proof) -> None:
    s = OriginSetup((3, 2, 2))
    F = s.energy_series(2)
    Lc = s.mse_series(2)
    M = s.chain.prod(2, 1)
    WL = s.W[-1]
    proof.check(
        "H=1: F*(0) = (λ/2) tr Σ_yy = λ ℒ(0)",
        [F[0], F[0]],
        [s.lam * s.mom.Syy.trace() / 2, s.lam * Lc[0]],
    )
    proof.check("H=1: ∇F*(0) = 0 and ∇ℒ(0) = 0 (the origin is critical)", [F[1], Lc[1]], [0, 0])
    proof.check(
        "H=1: F* = (λ/2)trΣ_yy − λ tr(MΣ_xy) − (λ²a_2²/2) tr(W_2ᵀΣ_yyW_2) + O(θ³)",
        F[2],
        -s.lam * (M * s.mom.Sxy).trace()
        - s.lam**2 * s.a[-1] ** 2 * (WL.T * s.mom.Syy * WL).trace() / 2,
    )
    HF, HL = s.hessian(F[2]), s.hessian(Lc[2])
    proof.check(
        "H=1: H_ℒ(0) = cross entries −a_1a_2(Σ_yx)_ib δ_jj' only",
        HL,
        claimed_cross_H1(s, s.a[0] * s.a[1]),
    )
    proof.check(
        "H=1: H_F*(0) = cross −λa_1a_2(Σ_yx)_ib δ_jj' + W_2 block −λ²a_2²Σ_yy⊗I_N",
        HF,
        claimed_HF_H1(s, proof),
    )
    K, KL = claimed_K(s, proof)
    P = unit_permutation(s)
    N = s.widths[1]
    proof.check(
        "H=1: P H_F*(0) Pᵀ = I_N ⊗ K (spec = spec K, each N times)",
        P * HF * P.T,
        sp.kronecker_product(sp.eye(N), K),
    )
    proof.check("H=1: P H_ℒ(0) Pᵀ = I_N ⊗ K_ℒ", P * HL * P.T, sp.kronecker_product(sp.eye(N), KL))
    dx = s.widths[0]
    proof.check(
        "H=1: K = λK_ℒ − diag(0, λ²a_2²Σ_yy)",
        K,
        s.lam * KL - sp.diag(sp.zeros(dx, dx), s.lam**2 * s.a[1] ** 2 * s.mom.Syy),
    )


def deep(proof: Proof, widths: tuple[int, ...]) -> None:
    s = OriginSetup(widths)
    H = s.L - 1
    F = s.energy_series(2)
    WL = s.W[-1]
    proof.check(f"H={H}: ∇F*(0) = 0", F[1], 0)
    proof.check(
        f"H={H}: F* = (λ/2)trΣ_yy − (λ²a_L²/2) tr(W_LᵀΣ_yyW_L) + O(θ³)",
        [F[0], F[2]],
        [
            s.lam * s.mom.Syy.trace() / 2,
            -(s.lam**2) * s.a[-1] ** 2 * (WL.T * s.mom.Syy * WL).trace() / 2,
        ],
    )
    HF = s.hessian(F[2])
    off = s.offsets()
    claim = sp.zeros(off[-1], off[-1])
    claim[off[-2] :, off[-2] :] = claimed_WL_block(s, proof)
    proof.check(f"H={H}: H_F*(0) = blockdiag(0, …, 0, −λ²a_L² Σ_yy ⊗ I_(n_H))", HF, claim)
    Lc = s.mse_series(2)
    proof.check(
        f"H={H}: ∇ℒ(0) = 0 and H_ℒ(0) = 0 (vanishing MSE Hessian)",
        [Lc[1], s.hessian(Lc[2])],
        [0, sp.zeros(off[-1], off[-1])],
    )


def order_of_flatness(proof: Proof, widths: tuple[int, ...]) -> None:
    s = OriginSetup(widths)
    H, L = s.L - 1, s.L
    Lc = s.mse_series(2 * L + 1)
    VL1 = s.chain.prod(L, 1)  # V_{L:1} = a_L V_L ⋯ a_1 V_1 with V = the symbolic weights
    first = H if proof.defect("mse_flat_order_H") else L
    claim = [sp.Integer(0)] * (2 * L + 2)
    claim[0] = s.mom.Syy.trace() / 2
    claim[first] += -(VL1 * s.mom.Sxy).trace()
    claim[2 * L] += (VL1 * s.mom.Sxx * VL1.T).trace() / 2
    proof.check(
        f"H={H}: ℒ(tV) − ℒ(0) = −t^(H+1) tr(V_(L:1)Σ_xy) + ½t^(2H+2) tr(V_(L:1)Σ_xxV_(L:1)ᵀ) "
        "(derivatives of order 1..H vanish)",
        Lc,
        claim,
    )
    proof.check_true(
        f"H={H}: the order-(H+1) term −tr(V_(L:1)Σ_xy) is not identically 0", not is_zero(Lc[L])
    )
    F = s.energy_series(2)
    proof.check_true(
        f"H={H}: F*(tV) − F*(0) has a non-zero t² term (order of flatness 2)",
        is_zero(F[1]) and not is_zero(F[2]),
    )


def main() -> None:
    proof = Proof("Hessians of ℒ and F* at the origin; order of flatness", DEFECTS)
    one_hidden_layer(proof)
    deep(proof, (2, 2, 3, 2))
    deep(proof, (2, 1, 2, 2, 2))
    for widths in ((2, 2, 2), (2, 2, 1, 2), (1, 2, 1, 2, 1), (1, 1, 1, 1, 1, 1)):
        order_of_flatness(proof, widths)
    proof.finish()


if __name__ == "__main__":
    main()
