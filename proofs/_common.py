"""Shared helpers for the sympy derivation scripts in ``proofs/``.

Every script derives one theorem of ``theory.md`` from the *definition* of the predictive-coding
energy of a deep linear network (theory.md §0),

    F(z) = Σ_{l=1}^{L−1} ½‖z_l − M_l z_{l−1}‖² + (λ/2)‖y − M_L z_{L−1}‖²,   z_0 = x,

with M_l = a_l W_l (plain) or I + a_l W_l (residual, hidden-to-hidden only), using exact symbolic
or rational arithmetic only. This module provides

* :class:`Proof` — the reporter: ``check(statement, lhs, rhs)`` prints ``PASS``/``FAIL`` per
  statement, ``finish()`` exits with status 1 if any statement failed; it also parses the
  deliberate-defect switches (``--defect NAME`` or ``LINPC_PROOF_DEFECT=NAME[,NAME…]``);
* :func:`is_zero` — the exact zero test used by every check;
* :class:`LinearChain` — the network (weights, multipliers, λ, residual layers) and its energy;
* algebra on quadratic functions (:func:`quadratic_parts`, :func:`minimise_quadratic`,
  :func:`exact_inverse`), batch averages through symbolic second moments (:class:`Moments`,
  :func:`batch_mean`), Hessians of quadratic forms (:func:`quadratic_form_matrix`) and exact
  power series (:func:`minimum_series` for min_z F, :func:`mse_series` for ℓ).

Exactness policy (style.md §2.6). Floating point is never used. A difference is declared zero
only if (a) it is a polynomial / rational function of its symbols that is zero in the ring
QQ[symbols] / field QQ(symbols) — the same decision as ``sp.cancel(sp.together(diff)) == 0``,
computed with sympy's sparse polynomial arithmetic — or (b), for expressions with irrational
constants or trigonometric functions, the numerator of ``sp.together(diff)`` expands to 0 or
``diff.equals(0) is True``. Before that, the difference is evaluated at a few exact rational
points: a non-zero rational value is a certificate of inequality (this only speeds up failing
checks). Checks can therefore genuinely fail, and a pass is a proof of the identity.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import sympy as sp
from sympy.polys.matrices import DomainMatrix

DEFECT_ENV = "LINPC_PROOF_DEFECT"

# --------------------------------------------------------------------------------------------------
# exact zero test
# --------------------------------------------------------------------------------------------------


def is_zero(expr: sp.Expr | sp.MatrixBase | Sequence) -> bool:
    """Return True iff ``expr`` (scalar, Matrix or sequence of either) is exactly zero.

    Polynomials are converted into the ring QQ[symbols] and rational functions into the field
    QQ(symbols), where equality is decided exactly (canonical sparse representation; the same
    decision as ``sp.cancel(sp.together(expr)) == 0`` but faster). Other expressions (square
    roots, trigonometric values) count as zero only if the numerator of ``sp.together(expr)``
    expands to 0 or ``expr.equals(0) is True``; ``None`` (undecided) counts as *not* zero.
    """
    if isinstance(expr, sp.MatrixBase):
        return all(is_zero(e) for e in expr)
    if isinstance(expr, (list, tuple)):
        return all(is_zero(e) for e in expr)
    e = sp.sympify(expr)
    if e == 0:
        return True
    if e.is_Rational:
        return False
    gens = sorted(e.free_symbols, key=str)
    if gens and _nonzero_at_random_point(e, gens):
        return False
    if gens and e.is_rational_function(*gens):
        # polynomials: the ring QQ[gens]; rational functions: the field QQ(gens)
        domain = sp.QQ[tuple(gens)] if e.is_polynomial(*gens) else sp.QQ.frac_field(*gens)
        try:
            return domain.from_sympy(e) == domain.zero
        except (sp.polys.polyerrors.CoercionFailed, ValueError):  # irrational coefficients
            pass
    num, _ = sp.fraction(sp.together(e))
    if sp.expand(num) == 0:
        return True
    return e.equals(0) is True


def _nonzero_at_random_point(e: sp.Expr, gens: Sequence[sp.Symbol]) -> bool:
    """Exact certificate of non-zeroness: a rational point where e evaluates to a non-zero number.

    Positive rationals are used (symbols may carry positivity assumptions). Returns False when no
    certificate was found (e may still be non-zero; the exact test then decides).
    """
    rng = random.Random(1234567)
    for _ in range(3):
        point = {g: sp.Rational(rng.randint(1, 97), rng.randint(1, 13)) for g in gens}
        try:
            val = e.xreplace(point)
        except (ZeroDivisionError, ValueError):
            continue
        if val.is_Rational:
            return val != 0
        if val.has(sp.zoo, sp.nan, sp.oo):
            continue
        return False  # irrational value: leave the decision to the exact test
    return False


# --------------------------------------------------------------------------------------------------
# reporter and deliberate defects
# --------------------------------------------------------------------------------------------------


@dataclass
class Proof:
    """Reporter for one derivation script.

    ``defects`` maps the names of deliberately *wrong* variants of the script's claimed right-hand
    sides to a one-line description. A variant is switched on by ``--defect NAME`` on the command
    line (unknown names are an error, exit status 2) or by the environment variable
    ``LINPC_PROOF_DEFECT=NAME[,NAME…]`` (names unknown to this script are ignored, since the
    variable may be meant for another script). The script asks ``proof.defect(NAME)`` while it
    builds a claim; with a defect active, at least one check must print FAIL.
    """

    title: str
    defects: dict[str, str] = field(default_factory=dict)
    argv: Sequence[str] | None = None
    active: set[str] = field(init=False, default_factory=set)
    n_pass: int = field(init=False, default=0)
    n_fail: int = field(init=False, default=0)
    t0: float = field(init=False, default_factory=time.perf_counter)

    def __post_init__(self) -> None:
        parser = argparse.ArgumentParser(description=self.title)
        parser.add_argument(
            "--defect",
            action="append",
            default=[],
            metavar="NAME",
            help="swap in a named wrong variant of a claimed formula (repeatable)",
        )
        parser.add_argument(
            "--list-defects", action="store_true", help="print the defect names and exit"
        )
        args = parser.parse_args(self.argv)
        if args.list_defects:
            for name, doc in self.defects.items():
                print(f"{name}\t{doc}")
            raise SystemExit(0)
        unknown = [d for d in args.defect if d not in self.defects]
        if unknown:
            print(
                f"unknown defect(s) {unknown}; this script knows {sorted(self.defects)}",
                file=sys.stderr,
            )
            raise SystemExit(2)
        env = [d.strip() for d in os.environ.get(DEFECT_ENV, "").split(",") if d.strip()]
        self.active = set(args.defect) | {d for d in env if d in self.defects}
        print(f"== {self.title}")
        for name in sorted(self.active):
            print(f"DEFECT ACTIVE: {name} — {self.defects[name]}")

    def defect(self, name: str) -> bool:
        """True if the named wrong variant is switched on (the name must be declared)."""
        if name not in self.defects:
            raise KeyError(f"undeclared defect {name!r}")
        return name in self.active

    def check(self, statement: str, lhs, rhs=0) -> bool:
        """Record ``lhs == rhs`` exactly (scalars, matrices, or lists of them)."""
        if isinstance(lhs, (list, tuple)) or isinstance(rhs, (list, tuple)):
            lhs_l, rhs_l = list(lhs), list(rhs)
            ok = len(lhs_l) == len(rhs_l) and all(
                _same_shape(a, b) and is_zero(a - b) for a, b in zip(lhs_l, rhs_l, strict=True)
            )
        else:
            ok = _same_shape(lhs, rhs) and is_zero(lhs - rhs)
        return self._record(statement, ok)

    def check_true(self, statement: str, condition: bool) -> bool:
        """Record a condition that has been decided exactly by the caller."""
        return self._record(statement, condition is True or condition is sp.true)

    def _record(self, statement: str, ok: bool) -> bool:
        if ok:
            self.n_pass += 1
            print(f"PASS  {statement}", flush=True)
        else:
            self.n_fail += 1
            print(f"FAIL  {statement}", flush=True)
        return ok

    def finish(self) -> None:
        """Print a summary line and exit: status 0 iff every statement passed."""
        dt = time.perf_counter() - self.t0
        total = self.n_pass + self.n_fail
        print(f"-- {total} statements: {self.n_pass} passed, {self.n_fail} failed ({dt:.1f} s)")
        raise SystemExit(1 if self.n_fail or total == 0 else 0)


def _same_shape(a, b) -> bool:
    a_mat = isinstance(a, sp.MatrixBase)
    b_mat = isinstance(b, sp.MatrixBase)
    if a_mat and b_mat:
        return a.shape == b.shape
    if a_mat:
        return b == 0
    if b_mat:
        return a == 0
    return True


# --------------------------------------------------------------------------------------------------
# symbols and exact random numbers
# --------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------
# the network and its energy
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinearChain:
    """Deep linear PC network: weights W_1..W_L, multipliers a_1..a_L, output precision λ.

    ``residual`` holds the indices l (2 ≤ l ≤ L−1, square W_l) of layers with identity skips,
    M_l = I + a_l W_l; every other layer is plain, M_l = a_l W_l (theory.md §0).
    """

    W: tuple[sp.Matrix, ...]
    a: tuple[sp.Expr, ...]
    lam: sp.Expr = sp.S.One
    residual: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        if len(self.a) != len(self.W):
            raise ValueError("need one multiplier per layer")
        for l in range(2, self.L + 1):
            if self.W[l - 1].cols != self.W[l - 2].rows:
                raise ValueError(f"W_{l} and W_{l - 1} do not chain")
        for l in self.residual:
            if not 2 <= l <= self.L - 1 or self.W[l - 1].rows != self.W[l - 1].cols:
                raise ValueError(f"layer {l} cannot be residual")

    # sizes --------------------------------------------------------------------------------------
    @property
    def L(self) -> int:
        """Number of weight matrices."""
        return len(self.W)

    @property
    def H(self) -> int:
        """Number of hidden layers, L − 1."""
        return self.L - 1

    def width(self, l: int) -> int:
        """n_l (n_0 = d_x, n_L = d_y)."""
        return self.W[0].cols if l == 0 else self.W[l - 1].rows

    @property
    def hidden_widths(self) -> list[int]:
        return [self.width(l) for l in range(1, self.L)]

    # maps ---------------------------------------------------------------------------------------
    def M(self, l: int) -> sp.Matrix:
        """Effective map of layer l: a_l W_l, or I + a_l W_l for a residual layer."""
        Wl, al = self.W[l - 1], self.a[l - 1]
        if l in self.residual:
            return sp.eye(Wl.rows) + al * Wl
        return al * Wl

    def prod(self, k: int, l: int) -> sp.Matrix:
        """M_{k:l} = M_k M_{k−1} ⋯ M_l; the empty product M_{k:k+1} is I_{n_k}."""
        out = sp.eye(self.width(k))
        for m in range(k, l - 1, -1):
            out = out * self.M(m)
        return out

    def precision(self, l: int) -> sp.Expr:
        """Λ_l: 1 for hidden layers, λ for the output layer."""
        return self.lam if l == self.L else sp.Integer(1)

    # energy -------------------------------------------------------------------------------------
    def activity_symbols(self, name: str = "z") -> list[sp.Matrix]:
        """Free hidden activities z_1..z_H as symbol vectors ``z{l}_i``."""
        return [sym_vector(f"{name}{l}", self.width(l)) for l in range(1, self.L)]

    def errors(self, z: Sequence[sp.MatrixBase], x: sp.Matrix, y: sp.Matrix) -> list[sp.Matrix]:
        """Prediction errors e_l = z_l − M_l z_{l−1}, l = 1..L, with z_0 = x, z_L = y."""
        full = [x, *z, y]
        return [full[l] - self.M(l) * full[l - 1] for l in range(1, self.L + 1)]

    def energy(self, z: Sequence[sp.MatrixBase], x: sp.Matrix, y: sp.Matrix) -> sp.Expr:
        """F(z) = Σ_l ½ Λ_l ‖e_l‖² — the definition, theory.md §0."""
        errors = self.errors(z, x, y)
        return sum(
            (self.precision(l) * (e.T * e)[0, 0] / 2 for l, e in enumerate(errors, 1)),
            sp.Integer(0),
        )

    def feedforward(self, x: sp.Matrix) -> list[sp.Matrix]:
        """ẑ_l = M_{l:1} x for l = 1..H."""
        return [self.prod(l, 1) * x for l in range(1, self.L)]

    def residual_vec(self, x: sp.Matrix, y: sp.Matrix) -> sp.Matrix:
        """r = y − M_{L:1} x."""
        return y - self.prod(self.L, 1) * x

    def mse(self, x: sp.Matrix, y: sp.Matrix) -> sp.Expr:
        """Per-sample loss ℓ = ½‖y − M_{L:1}x‖² (ℒ is its batch mean)."""
        r = self.residual_vec(x, y)
        return (r.T * r)[0, 0] / 2

    def replace(self, **changes) -> LinearChain:
        """Copy with some fields replaced."""
        kw = {"W": self.W, "a": self.a, "lam": self.lam, "residual": self.residual}
        kw.update(changes)
        return LinearChain(**kw)

    @property
    def weight_entries(self) -> list[sp.Expr]:
        """Row-major vec of all weights, W_1 first (theory.md §0)."""
        return flat(self.W)


def rescaling_S(chain: LinearChain, layers: Iterable[int] | None = None) -> sp.Matrix:
    """S = λ⁻¹ I + Σ_{l ∈ layers} M_{L:l} M_{L:l}ᵀ; by default layers = 2..L (theory.md §2.1)."""
    L = chain.L
    layers = range(2, L + 1) if layers is None else layers
    S = sp.eye(chain.width(L)) / chain.lam
    for l in layers:
        P = chain.prod(L, l)
        S += P * P.T
    return S


# --------------------------------------------------------------------------------------------------
# quadratic functions of the activities
# --------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------
# batch averages through symbolic second moments
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Moments:
    """Uncentred second moments Σ_xx = XᵀX/B, Σ_yx = YᵀX/B, Σ_yy = YᵀY/B as free symbols."""

    Sxx: sp.Matrix
    Syx: sp.Matrix
    Syy: sp.Matrix

    @classmethod
    def symbolic(cls, dx: int, dy: int) -> Moments:
        return cls(sym_symmetric("sxx", dx), sym_matrix("syx", dy, dx), sym_symmetric("syy", dy))

    @property
    def Sxy(self) -> sp.Matrix:
        return self.Syx.T

    @property
    def joint(self) -> sp.Matrix:
        """Second moment of v = (x, y): [[Σ_xx, Σ_xy], [Σ_yx, Σ_yy]]."""
        return sp.Matrix(sp.BlockMatrix([[self.Sxx, self.Sxy], [self.Syx, self.Syy]]))

    @property
    def symbols(self) -> list[sp.Symbol]:
        return sorted(
            set().union(self.Sxx.free_symbols, self.Syx.free_symbols, self.Syy.free_symbols),
            key=str,
        )


def batch_mean(expr: sp.Expr, x: sp.Matrix, y: sp.Matrix, mom: Moments) -> sp.Expr:
    """Batch mean (1/B) Σ_i f(x_i, y_i) of a quadratic form f in v = (x, y).

    Writing f = Σ_{a≤b} c_ab v_a v_b, linearity of the mean gives Σ_{a≤b} c_ab Σ_ab with
    Σ = (1/B) Σ_i v_i v_iᵀ the joint uncentred second moment [[Σ_xx, Σ_xy], [Σ_yx, Σ_yy]].
    Raises if f is not a homogeneous quadratic in v.
    """
    v = list(x) + list(y)
    joint = mom.joint
    poly = sp.Poly(expr, *v)
    out = sp.Integer(0)
    for monom, coeff in poly.terms():
        if coeff == 0:
            continue
        if sum(monom) != 2:
            raise ValueError("not a homogeneous quadratic form in (x, y)")
        idx = [i for i, k in enumerate(monom) for _ in range(k)]
        out += coeff * joint[idx[0], idx[1]]
    return out


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


def mse_series(chain: LinearChain, x, y, t: sp.Symbol, order: int) -> list[sp.Expr]:
    """Taylor coefficients in t of ℓ = ½‖y − M_{L:1}(t) x‖² for weights polynomial in t.

    r(t) = Σ_k r_k t^k from the expanded residual, ℓ_k = ½ Σ_{i+j=k} r_iᵀ r_j.
    """
    r = chain.residual_vec(x, y).applyfunc(sp.expand)
    deg = max((sp.Poly(e, t).degree() for e in r if e != 0), default=0)
    rk = matrix_coefficients(r, t, max(deg, 0))
    out = []
    for k in range(order + 1):
        acc = sp.Integer(0)
        for i in range(k + 1):
            if i < len(rk) and k - i < len(rk):
                acc += (rk[i].T * rk[k - i])[0, 0]
        out.append(sp.expand(acc / 2))
    return out


# --------------------------------------------------------------------------------------------------
# exact power series
# --------------------------------------------------------------------------------------------------


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
