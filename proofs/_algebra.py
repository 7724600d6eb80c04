"""Exact symbolic algebra for the derivations: symbols, quadratic functions, power series.

Symbols and exact pseudo-random rationals (:func:`sym_matrix`, :func:`rational_matrix`, …), block
helpers (:func:`flat`, :func:`stack`, :func:`split`), algebra on quadratic functions of the
activities (:func:`quadratic_parts`, :func:`minimise_quadratic`, :func:`exact_inverse`,
:func:`quadratic_form_matrix`) and exact power series (:func:`minimum_series` for ``min_z F``).
Nothing here is floating point.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sympy as sp
from _proof import is_zero  # scripts run as files: proofs/ is sys.path[0]
from sympy.polys.matrices import DomainMatrix

__all__ = [
    "Quadratic", "exact_det", "exact_inverse", "flat", "matrix_coefficients", "minimise_quadratic",
    "minimum_series", "positive_symbols", "quadratic_form_matrix", "quadratic_parts",
    "rational_matrix", "reconstruct", "split", "stack", "sym_matrix", "sym_symmetric",
    "sym_vector",
]


def sym_matrix(name: str, rows: int, cols: int) -> sp.Matrix:
    """Matrix of independent real symbols ``name_ij`` (1-based indices)."""
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}_{i + 1}{j + 1}", real=True))


def sym_vector(name: str, n: int) -> sp.Matrix:
    """Column vector of real symbols ``name_i``."""
    return sp.Matrix(n, 1, lambda i, _: sp.Symbol(f"{name}_{i + 1}", real=True))


def sym_symmetric(name: str, n: int) -> sp.Matrix:
    """Symmetric matrix of real symbols ``name_ij`` (i ≤ j)."""

    def entry(i: int, j: int) -> sp.Symbol:
        i, j = min(i, j), max(i, j)
        return sp.Symbol(f"{name}_{i + 1}{j + 1}", real=True)

    return sp.Matrix(n, n, entry)


def positive_symbols(names: str) -> tuple[sp.Symbol, ...]:
    """Positive real symbols (multipliers a_l, precision λ)."""
    out = sp.symbols(names, positive=True)
    return out if isinstance(out, tuple) else (out,)


def rational_matrix(rng: random.Random, rows: int, cols: int, den: int = 3) -> sp.Matrix:
    """Deterministic pseudo-random matrix with small exact rational entries."""
    return sp.Matrix(
        rows, cols, lambda *_: sp.Rational(rng.randint(-4 * den, 4 * den), rng.randint(1, den))
    )


def flat(blocks: Iterable[sp.MatrixBase]) -> list[sp.Expr]:
    """Concatenate the entries of matrices (row-major, numpy ``ravel`` order)."""
    out: list[sp.Expr] = []
    for blk in blocks:
        out.extend(list(blk))
    return out


def stack(blocks: Sequence[sp.MatrixBase]) -> sp.Matrix:
    """Vertical concatenation of column vectors (or matrices) as one Matrix."""
    return sp.Matrix.vstack(*blocks)


def split(vec: sp.MatrixBase, sizes: Sequence[int]) -> list[sp.Matrix]:
    """Split a column vector into consecutive blocks of the given sizes."""
    out, start = [], 0
    for n in sizes:
        out.append(sp.Matrix(vec[start : start + n, :]))
        start += n
    return out


@dataclass
class Quadratic:
    """F(v) = F0 − bᵀv + ½ vᵀ A v, read off an expression by differentiation."""

    F0: sp.Expr
    b: sp.Matrix
    A: sp.Matrix


def quadratic_parts(F: sp.Expr, v: Sequence[sp.Symbol]) -> Quadratic:
    """Constant, linear and quadratic parts of a polynomial F of degree ≤ 2 in the symbols v.

    A = ∇²F (constant), b = −∇F(0), F0 = F(0). The caller may verify the reconstruction with
    :func:`reconstruct`.
    """
    v = list(v)
    zero = dict.fromkeys(v, 0)
    grad = sp.Matrix([sp.diff(F, s) for s in v])
    A = sp.Matrix(len(v), len(v), lambda i, j: sp.expand(sp.diff(grad[i], v[j])))
    b = -grad.subs(zero).applyfunc(sp.expand)
    return Quadratic(sp.expand(F.subs(zero)), b, A)


def reconstruct(q: Quadratic, v: Sequence[sp.Symbol]) -> sp.Expr:
    """F0 − bᵀv + ½ vᵀ A v."""
    vv = sp.Matrix(list(v))
    return q.F0 - (q.b.T * vv)[0, 0] + (vv.T * q.A * vv)[0, 0] / 2


def exact_det(A: sp.MatrixBase) -> sp.Expr:
    """Determinant computed over the polynomial ring of the entries' symbols."""
    dm = DomainMatrix.from_Matrix(sp.Matrix(A))
    return dm.domain.to_sympy(dm.det())


def exact_inverse(A: sp.MatrixBase) -> tuple[sp.Matrix, sp.Expr]:
    """Fraction-free inverse: (N, d) with A N = d I, computed over the polynomial ring."""
    dm = DomainMatrix.from_Matrix(sp.Matrix(A))
    N, d = dm.inv_den()
    return N.to_Matrix(), dm.domain.to_sympy(d)


def minimise_quadratic(q: Quadratic) -> tuple[sp.Matrix, sp.Expr]:
    """Stationary point v* = A⁻¹ b (the solution of ∇F = A v − b = 0) and the value F(v*).

    The linear system is solved exactly and fraction-free over the polynomial ring of its
    symbols (``DomainMatrix.solve_den``: v* = num/den with A·num = den·b), so that every
    intermediate is a polynomial. The value is F(v*) = F0 − ½ bᵀ v*.
    """
    A_dm, b_dm = DomainMatrix.from_Matrix(q.A).unify(DomainMatrix.from_Matrix(q.b))
    num_dm, den_dm = A_dm.solve_den(b_dm)
    num = num_dm.to_Matrix()
    den = A_dm.domain.to_sympy(den_dm)
    if is_zero(den):
        raise ZeroDivisionError("singular quadratic form")
    v_star = num / den
    value = q.F0 - (q.b.T * num)[0, 0] / (2 * den)
    return v_star, value


def quadratic_form_matrix(expr: sp.Expr, v: Sequence[sp.Symbol]) -> sp.Matrix:
    """Symmetric H with expr = ½ vᵀ H v (i.e. the Hessian of a homogeneous quadratic form).

    Read off the monomial coefficients; raises if expr is not a homogeneous quadratic in v.
    """
    v = list(v)
    H = sp.zeros(len(v), len(v))
    for monom, coeff in sp.Poly(expr, *v).terms():
        if coeff == 0:
            continue
        if sum(monom) != 2:
            raise ValueError("not a homogeneous quadratic form")
        idx = [i for i, k in enumerate(monom) for _ in range(k)]
        i, j = idx
        if i == j:
            H[i, i] += 2 * coeff
        else:
            H[i, j] += coeff
            H[j, i] += coeff
    return H


def matrix_coefficients(mat: sp.MatrixBase, t: sp.Symbol, degree: int) -> list[sp.Matrix]:
    """Coefficient matrices A_0..A_degree of a matrix polynomial in t (raises if degree too low)."""
    mat = sp.Matrix(mat).applyfunc(sp.expand)
    coeffs = [sp.zeros(*mat.shape) for _ in range(degree + 1)]
    for idx, e in enumerate(mat):
        poly = sp.Poly(e, t)
        if poly.degree() > degree:
            raise ValueError("matrix polynomial has higher degree than requested")
        for k in range(degree + 1):
            coeffs[k][idx] = poly.coeff_monomial(t**k)
    return coeffs


def minimum_series(q: Quadratic, t: sp.Symbol, order: int) -> list[sp.Expr]:
    """Taylor coefficients in t of min_v F = F0(t) − ½ b(t)ᵀ A(t)⁻¹ b(t).

    ``q`` holds the parts of a quadratic F(v; t) whose coefficients are polynomials in t, with
    A(0) invertible. With A(t) = Σ_j A_j t^j and A_0 N = d I (fraction-free inverse), the
    coefficients of A(t)⁻¹ = Σ_k B_k t^k are B_k = C_k / d^{k+1}, where C_0 = N and
    C_k = −N Σ_{j=1}^{k} A_j C_{k−j} d^{j−1} (from A(t)A(t)⁻¹ = I). The recursion runs on
    polynomial matrices over QQ[symbols] (``DomainMatrix``), so it stays exact and fast.
    """

    def degree(m: sp.MatrixBase) -> int:
        return max((sp.Poly(e, t).degree() for e in m if e != 0), default=0)

    A_k = matrix_coefficients(q.A, t, degree(q.A))
    b_k = matrix_coefficients(q.b, t, degree(q.b))
    gens = sorted(set().union(*(m.free_symbols for m in A_k + b_k)) - {t}, key=str) or [
        sp.Dummy("unused")
    ]
    ring = sp.QQ[tuple(gens)]

    def dm(m: sp.MatrixBase) -> DomainMatrix:
        return DomainMatrix.from_Matrix(sp.Matrix(m)).convert_to(ring)

    A = [dm(m) for m in A_k]
    b = [dm(m) for m in b_k]
    N_sym, d_sym = exact_inverse(A_k[0])
    N, d = dm(N_sym), ring.from_sympy(d_sym)
    C = [N]
    for k in range(1, order + 1):
        acc = None
        for j in range(1, min(k, len(A) - 1) + 1):
            term = (A[j] * C[k - j]) * (d ** (j - 1))
            acc = term if acc is None else acc + term
        C.append(-(N * acc) if acc is not None else N.zeros(N.shape, ring))
    F0 = sp.Poly(sp.expand(q.F0), t)
    out = []
    for k in range(order + 1):
        # quad_k = Σ_{i+j+m=k} b_iᵀ B_j b_m = (Σ b_iᵀ C_j b_m d^{k−j}) / d^{k+1}
        num = ring.zero
        for i in range(min(k, len(b) - 1) + 1):
            for j in range(k - i + 1):
                m = k - i - j
                if m < len(b):
                    num += (b[i].transpose() * C[j] * b[m]).to_list()[0][0] * d ** (k - j)
        quad = ring.to_sympy(num) / d_sym ** (k + 1)
        out.append(F0.coeff_monomial(t**k) - quad / 2)
    return out
