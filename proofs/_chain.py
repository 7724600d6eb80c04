"""The deep linear PC network of the derivations, its energy, and batch averages.

Every script derives one theorem of ``docs/theory.md`` from the *definition* of the
predictive-coding energy of a deep linear network (docs/theory.md §0),

    F(z) = Σ_{l=1}^{L−1} ½‖z_l − M_l z_{l−1}‖² + (λ/2)‖y − M_L z_{L−1}‖²,   z_0 = x,

with M_l = a_l W_l (plain) or I + a_l W_l (residual, hidden-to-hidden only). :class:`LinearChain`
is that network and its energy, :func:`rescaling_S` the rescaling of Theorem 1 written as a sum of
products, :class:`Moments` and :func:`batch_mean` batch averages through symbolic uncentred second
moments, :func:`mse_series` the exact power series of the loss along a direction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sympy as sp
from _algebra import (  # scripts run as files: proofs/ is sys.path[0]
    flat,
    matrix_coefficients,
    sym_matrix,
    sym_symmetric,
    sym_vector,
)

__all__ = ["LinearChain", "Moments", "batch_mean", "mse_series", "rescaling_S"]


@dataclass(frozen=True)
class LinearChain:
    """Deep linear PC network: weights W_1..W_L, multipliers a_1..a_L, output precision λ.

    ``residual`` holds the indices l (2 ≤ l ≤ L−1, square W_l) of layers with identity skips,
    M_l = I + a_l W_l; every other layer is plain, M_l = a_l W_l (docs/theory.md §0).
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
        """F(z) = Σ_l ½ Λ_l ‖e_l‖² — the definition, docs/theory.md §0."""
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
        """Row-major vec of all weights, W_1 first (docs/theory.md §0)."""
        return flat(self.W)


def rescaling_S(chain: LinearChain, layers: Iterable[int] | None = None) -> sp.Matrix:
    """S = λ⁻¹ I + Σ_{l ∈ layers} M_{L:l} M_{L:l}ᵀ; by default layers = 2..L (docs/theory.md
    §2.1)."""
    L = chain.L
    layers = range(2, L + 1) if layers is None else layers
    S = sp.eye(chain.width(L)) / chain.lam
    for l in layers:
        P = chain.prod(L, l)
        S += P * P.T
    return S


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
