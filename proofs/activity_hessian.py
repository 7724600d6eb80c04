"""Activity Hessian of a deep linear PCN: block-tridiagonal form and factorisation H_z = DᵀΛ̃D.

Theorem (docs/theory.md §1.2; jpc ``compute_linear_activity_hessian``; P3 §3 with multipliers). The
energy F is quadratic in z = (z_1, …, z_H) with constant Hessian

    (H_z)_{l,l} = I + Λ_{l+1} M_{l+1}ᵀ M_{l+1},
    (H_z)_{l,l+1} = −M_{l+1}ᵀ,   (H_z)_{l+1,l} = −M_{l+1},

all other blocks zero (Λ_{l+1} = 1 for hidden layers, λ for the output layer). Explicitly, plain
layers give diagonal blocks I + a_{l+1}² W_{l+1}ᵀW_{l+1} (last: I + λ a_L² W_LᵀW_L) and off-diagonal
−a_{l+1} W_{l+1}ᵀ; residual hidden layers give 2I + a(W + Wᵀ) + a² WᵀW and −(I + aW)ᵀ. Moreover
H_z = DᵀΛ̃D with D block lower-bidiagonal (identities on the diagonal of the first n rows,
−M_{l+1} below them, last block row (0, …, 0, −M_L)), Λ̃ = diag(I, …, I, λI); the top n×n part
of D is unit lower-triangular, so vᵀH_z v ≥ ‖D_top v‖² > 0 for v ≠ 0: H_z ≻ 0 (strictly convex
inference).
H_z depends neither on the data nor on W_1 (nor a_1). The gradient is ∇_zF = H_z z − b with
b_1 = M_1 x, b_H = λ M_Lᵀ y (both if H = 1), other b_l = 0, and F = ½(Dz − c)ᵀΛ̃(Dz − c) with
c = (M_1 x, 0, …, 0, −y), b = DᵀΛ̃c (docs/theory.md §2.2.3).

Derivation: the Hessian and gradient are obtained by differentiating F (built from its definition
with explicit symbolic matrices, multipliers and λ) and compared entry by entry with the claims.

Defects (``--defect NAME``): ``offdiag_sign`` — off-diagonal blocks +M_{l+1}ᵀ;
``last_block_without_lambda`` — last diagonal block I + M_LᵀM_L; ``residual_diag_2a`` — residual
diagonal 2I + 2a(W + Wᵀ) + a²WᵀW (the jpc activity-decay slip, docs/theory.md §8.8c).
"""

from __future__ import annotations

import sympy as sp
from _algebra import (  # scripts run as files: proofs/ is sys.path[0]
    flat,
    positive_symbols,
    quadratic_parts,
    reconstruct,
    stack,
    sym_matrix,
    sym_vector,
)
from _chain import LinearChain
from _proof import Proof

DEFECTS = {
    "offdiag_sign": "off-diagonal blocks +M_{l+1}ᵀ instead of −M_{l+1}ᵀ",
    "last_block_without_lambda": "last diagonal block I + M_LᵀM_L (λ dropped)",
    "residual_diag_2a": "residual diagonal 2I + 2a(W+Wᵀ) + a²WᵀW",
}


# ------------------------------------------------------------------------------------------------
# claimed formulas
# ------------------------------------------------------------------------------------------------


def assemble(blocks: dict[tuple[int, int], sp.Matrix], widths: list[int]) -> sp.Matrix:
    """Dense matrix from blocks (1-based layer indices); missing blocks are zero."""
    H = len(widths)
    rows = []
    for i in range(1, H + 1):
        rows.append(
            [blocks.get((i, j), sp.zeros(widths[i - 1], widths[j - 1])) for j in range(1, H + 1)]
        )
    return sp.Matrix(sp.BlockMatrix(rows))


def claimed_Hz(chain: LinearChain, proof: Proof) -> sp.Matrix:
    """General block formula in terms of the effective maps M_l."""
    H, blocks = chain.H, {}
    sign = 1 if proof.defect("offdiag_sign") else -1
    for l in range(1, H + 1):
        M = chain.M(l + 1)
        prec = chain.precision(l + 1)
        if l == H and proof.defect("last_block_without_lambda"):
            prec = 1
        blocks[l, l] = sp.eye(chain.width(l)) + prec * M.T * M
        if l < H:
            blocks[l, l + 1] = sign * M.T
            blocks[l + 1, l] = sign * M
    return assemble(blocks, chain.hidden_widths)


def claimed_Hz_explicit(chain: LinearChain, proof: Proof) -> sp.Matrix:
    """Explicit plain / residual block formulas in terms of W_l, a_l and λ (docs/theory.md §1.2)."""
    H, blocks = chain.H, {}
    for l in range(1, H + 1):
        W, a = chain.W[l], chain.a[l]  # layer l + 1
        n = chain.width(l)
        if l == H:
            blocks[l, l] = sp.eye(n) + chain.lam * a**2 * W.T * W
        elif l + 1 in chain.residual:
            k = 2 if proof.defect("residual_diag_2a") else 1
            blocks[l, l] = 2 * sp.eye(n) + k * a * (W + W.T) + a**2 * W.T * W
        else:
            blocks[l, l] = sp.eye(n) + a**2 * W.T * W
        if l < H:
            off = (sp.eye(n) + a * W).T if l + 1 in chain.residual else a * W.T
            blocks[l, l + 1] = -off
            blocks[l + 1, l] = -off.T
    return assemble(blocks, chain.hidden_widths)


def factor_D(chain: LinearChain) -> tuple[sp.Matrix, sp.Matrix]:
    """D ∈ R^{(n+d_y)×n} and Λ̃ = diag(I, …, I, λ I_{d_y})."""
    H, widths = chain.H, chain.hidden_widths
    rows = []
    for i in range(1, H + 1):  # block row i: z_i − M_i z_{i−1}
        row = []
        for j in range(1, H + 1):
            if j == i:
                row.append(sp.eye(widths[i - 1]))
            elif j == i - 1:
                row.append(-chain.M(i))
            else:
                row.append(sp.zeros(widths[i - 1], widths[j - 1]))
        rows.append(row)
    dy = chain.width(chain.L)
    rows.append([sp.zeros(dy, widths[j - 1]) for j in range(1, H)] + [-chain.M(chain.L)])
    D = sp.Matrix(sp.BlockMatrix(rows))
    n = sum(widths)
    Lam = sp.diag(sp.eye(n), chain.lam * sp.eye(dy))
    return D, Lam


def claimed_b(chain: LinearChain, x: sp.Matrix, y: sp.Matrix) -> sp.Matrix:
    """b_1 = M_1 x, b_H = λ M_Lᵀ y (added if H = 1), other blocks 0."""
    blocks = [sp.zeros(n, 1) for n in chain.hidden_widths]
    blocks[0] += chain.M(1) * x
    blocks[-1] += chain.lam * chain.M(chain.L).T * y
    return stack(blocks)


# ------------------------------------------------------------------------------------------------


def verify(proof: Proof, chain: LinearChain, label: str) -> None:
    x, y = sym_vector("x", chain.width(0)), sym_vector("y", chain.width(chain.L))
    z = chain.activity_symbols()
    zv = flat(z)
    F = chain.energy(z, x, y)
    q = quadratic_parts(F, zv)
    proof.check(
        f"{label}: F is exactly quadratic in z (F = F0 − bᵀz + ½zᵀH_z z)", F, reconstruct(q, zv)
    )
    Hz = q.A
    proof.check(
        f"{label}: H_z = block formula in M_l (diag I + Λ M_{{l+1}}ᵀM_{{l+1}}, "
        "off-diag −M_{l+1}ᵀ)",
        Hz,
        claimed_Hz(chain, proof),
    )
    proof.check(
        f"{label}: H_z = explicit W_l, a_l, λ block formula", Hz, claimed_Hz_explicit(chain, proof)
    )
    D, Lam = factor_D(chain)
    proof.check(f"{label}: H_z = DᵀΛ̃D", Hz, D.T * Lam * D)
    n = Hz.shape[0]
    top = D[:n, :]
    unit_lower = top.is_lower and all(top[i, i] == 1 for i in range(n))
    proof.check_true(f"{label}: top n×n block of D is unit lower-triangular (det 1)", unit_lower)
    v = sp.Matrix(sp.symbols(f"v1:{n + 1}", real=True))
    bottom = D[n:, :] * v
    proof.check(
        f"{label}: vᵀH_z v = ‖D_top v‖² + λ‖M_L v_H‖² (so H_z ≻ 0)",
        (v.T * Hz * v)[0, 0],
        (v.T * top.T * top * v)[0, 0] + chain.lam * (bottom.T * bottom)[0, 0],
    )
    data = set(x) | set(y) | set(chain.W[0]) | {chain.a[0]}
    proof.check_true(f"{label}: H_z independent of x, y, W_1 and a_1", not (Hz.free_symbols & data))
    grad = sp.Matrix([sp.diff(F, s) for s in zv])
    b = claimed_b(chain, x, y)
    proof.check(
        f"{label}: ∇_zF = H_z z − b, b_1 = M_1x, b_H = λM_Lᵀy", grad, Hz * sp.Matrix(zv) - b
    )
    c = stack([chain.M(1) * x] + [sp.zeros(w, 1) for w in chain.hidden_widths[1:]] + [-y])
    res = D * sp.Matrix(zv) - c
    proof.check(
        f"{label}: F = ½(Dz − c)ᵀΛ̃(Dz − c) and b = DᵀΛ̃c",
        [F, b],
        [(res.T * Lam * res)[0, 0] / 2, D.T * Lam * c],
    )


def main() -> None:
    proof = Proof("activity Hessian H_z: blocks, DᵀΛ̃D factorisation, positivity", DEFECTS)
    lam = positive_symbols("lambda")[0]

    # plain, three hidden layers of unequal widths (so a wrong transpose cannot pass)
    widths = (2, 3, 2, 3, 2)
    W = tuple(sym_matrix(n, widths[l], widths[l - 1]) for l, n in enumerate("uvwq", 1))
    verify(proof, LinearChain(W, positive_symbols("a1:5"), lam), "plain H=3, widths 2-3-2-3-2")

    # residual hidden-to-hidden layers 2 and 3 (square N = 2), plain input/output layers
    W = (sym_matrix("u", 2, 3), sym_matrix("v", 2, 2), sym_matrix("w", 2, 2), sym_matrix("q", 1, 2))
    verify(
        proof,
        LinearChain(W, positive_symbols("a1:5"), lam, frozenset({2, 3})),
        "residual H=3, widths 3-2-2-2-1",
    )

    # one hidden layer: H_z = I + λ M_2ᵀ M_2, b = M_1 x + λ M_2ᵀ y
    W = (sym_matrix("u", 3, 2), sym_matrix("v", 2, 3))
    chain = LinearChain(W, positive_symbols("a1:3"), lam)
    verify(proof, chain, "H=1, widths 2-3-2")
    z = chain.activity_symbols()
    x, y = sym_vector("x", 2), sym_vector("y", 2)
    q = quadratic_parts(chain.energy(z, x, y), flat(z))
    proof.check("H=1: H_z = I + λ M_2ᵀM_2", q.A, claimed_Hz(chain, proof))
    w1, w2 = sp.symbols("w1 w2", real=True)
    scalar = LinearChain((sp.Matrix([[w1]]), sp.Matrix([[w2]])), (1, 1), sp.Integer(1))
    zs = scalar.activity_symbols()
    F = scalar.energy(zs, sp.Matrix([[sp.Symbol("x")]]), sp.Matrix([[sp.Symbol("y")]]))
    proof.check(
        "scalar 1-MLP (λ = 1): H_z = 1 + w_2²",
        sp.diff(F, zs[0][0], 2),
        claimed_Hz(scalar, proof)[0, 0],
    )
    proof.check(
        "scalar 1-MLP (λ = 1): H_z = 1 + w_2² (explicit)", sp.diff(F, zs[0][0], 2), 1 + w2**2
    )
    proof.finish()


if __name__ == "__main__":
    main()
