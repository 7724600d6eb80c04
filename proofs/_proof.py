"""The reporter of a derivation script and the exact zero test behind every check.

* :class:`Proof` — ``check(statement, lhs, rhs)`` prints ``PASS``/``FAIL`` per statement,
  ``finish()`` exits with status 1 if any statement failed; it also parses the deliberate-defect
  switches (``--defect NAME`` or ``LINPC_PROOF_DEFECT=NAME[,NAME…]``);
* :func:`is_zero` — the exact zero test.

Exactness policy. Floating point is never used. A difference is declared zero
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
from collections.abc import Sequence
from dataclasses import dataclass, field

import sympy as sp

__all__ = ["DEFECT_ENV", "Proof", "is_zero"]


DEFECT_ENV = "LINPC_PROOF_DEFECT"


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
