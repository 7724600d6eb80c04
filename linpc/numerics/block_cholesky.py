"""Block-tridiagonal SPD matrices: block Cholesky factorisation and solves.

A symmetric block-tridiagonal matrix with diagonal blocks ``A_1..A_H`` (``A_l`` of size
``n_l × n_l``) and sub-diagonal blocks ``B_1..B_{H-1}`` (``B_l`` of size ``n_{l+1} × n_l``, the
block in row ``l+1``, column ``l``) factorises as ``A = G Gᵀ`` with ``G`` block lower-bidiagonal
[1]_:

    G_ll = chol(A_l − C_{l-1} C_{l-1}ᵀ),     C_l = B_l G_ll^{-T}    (the sub-diagonal block of G).

Cost ``O(Σ n_l³)`` for the factorisation and ``O(k Σ n_l²)`` for ``k`` right-hand sides, all in
level-3 BLAS/LAPACK kernels per block (``potrf``, ``trsm``, ``gemm``/``syrk``). SciPy has no
block-tridiagonal solver; LAPACK's banded Cholesky gives the same asymptotic cost but runs the
solve in level-2 BLAS, which is several times slower for wide layers with many right-hand sides
(``benchmarks/equilibrium.py`` measures both).

References
----------
.. [1] G. H. Golub, C. F. Van Loan, *Matrix Computations*, 4th ed., §4.5.4 (block tridiagonal
   systems) and §4.2 (Cholesky).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext

import numpy as np
import scipy.linalg.blas as _blas
import scipy.linalg.lapack as _lapack

from linpc.numerics.threads import kernel_threads, single_threaded_blas, thread_policy, worker_count
from linpc.numerics.types import Array
from linpc.numerics.validation import check_real_dtype

__all__ = ["BlockCholesky", "NotPositiveDefiniteError", "block_cholesky"]

#: Right-hand sides from which :meth:`BlockCholesky.solve` splits the columns over threads.
PARALLEL_SOLVE_MIN_COLUMNS = 16
#: Block width from which kernels run on single-threaded BLAS in parallel Python threads; below
#: it OpenBLAS is single-threaded anyway and thread start-up would dominate (toy networks).
PARALLEL_MIN_WIDTH = 128


class NotPositiveDefiniteError(np.linalg.LinAlgError):
    """The block Cholesky factorisation met a block that is not numerically positive definite."""


@thread_policy
class BlockCholesky:
    """Factor ``A = G Gᵀ`` of a block-tridiagonal SPD matrix (see module docstring).

    Attributes
    ----------
    diag_factors : list of ndarray
        Lower-triangular ``G_ll``.
    sub_factors : list of ndarray
        ``C_l = G_{l+1,l}`` of shape ``(n_{l+1}, n_l)``.
    norm1 : float
        ``‖A‖₁`` (exact, accumulated while the blocks were formed), for condition estimates.
    """

    def __init__(self, diag_factors: list[Array], sub_factors: list[Array], norm1: float) -> None:
        self.diag_factors = diag_factors
        self.sub_factors = sub_factors
        self.norm1 = float(norm1)
        self.widths = tuple(G.shape[0] for G in diag_factors)
        self.offsets = tuple(int(o) for o in np.concatenate([[0], np.cumsum(self.widths)]))
        self._rcond: float | None = None

    @property
    def shape(self) -> tuple[int, int]:
        n = self.offsets[-1]
        return (n, n)

    def _blocks(self, V: Array) -> list[Array]:
        o = self.offsets
        return [V[o[i]:o[i + 1]] for i in range(len(self.widths))]

    def _as_columns(self, V) -> tuple[Array, bool]:
        Va = check_real_dtype(V, "the right-hand side V")
        vec = Va.ndim == 1
        if vec:
            Va = Va[:, None]
        if Va.ndim != 2 or Va.shape[0] != self.offsets[-1]:
            raise ValueError(f"right-hand side must have {self.offsets[-1]} rows, got {Va.shape}")
        return Va, vec

    def solve_lower(self, V) -> Array:
        """``G⁻¹ V`` (forward substitution) for ``V`` of shape ``(n,)`` or ``(n, k)``."""
        Va, vec = self._as_columns(V)
        parts = self._blocks(Va)
        out = []
        for l, G in enumerate(self.diag_factors):
            rhs = parts[l] if l == 0 else parts[l] - self.sub_factors[l - 1] @ out[-1]
            out.append(_blas.dtrsm(1.0, G, rhs, lower=1))
        W = np.concatenate(out, axis=0)
        return W[:, 0] if vec else W

    def solve_upper(self, V) -> Array:
        """``G⁻ᵀ V`` (back substitution) for ``V`` of shape ``(n,)`` or ``(n, k)``."""
        Va, vec = self._as_columns(V)
        parts = self._blocks(Va)
        H = len(self.diag_factors)
        out: list[Array] = [None] * H  # type: ignore[list-item]
        for l in range(H - 1, -1, -1):
            rhs = parts[l] if l == H - 1 else parts[l] - self.sub_factors[l].T @ out[l + 1]
            out[l] = _blas.dtrsm(1.0, self.diag_factors[l], rhs, lower=1, trans_a=1)
        W = np.concatenate(out, axis=0)
        return W[:, 0] if vec else W

    def solve(self, V) -> Array:
        """``A⁻¹ V`` for ``V`` of shape ``(n,)`` or ``(n, k)``; never forms ``A⁻¹``.

        Many right-hand sides are split into column chunks solved concurrently, one Python thread
        per core, with single-threaded BLAS in each (:mod:`linpc.numerics.threads`).
        """
        Va, vec = self._as_columns(V)
        k = Va.shape[1]
        workers = worker_count()
        if max(self.widths) < PARALLEL_MIN_WIDTH:
            X = self.solve_upper(self.solve_lower(Va))
        elif workers == 1 or k < PARALLEL_SOLVE_MIN_COLUMNS:
            with single_threaded_blas():
                X = self.solve_upper(self.solve_lower(Va))
        else:
            bounds = np.linspace(0, k, workers + 1).astype(int)
            chunks = [Va[:, bounds[i]:bounds[i + 1]] for i in range(workers)]
            with single_threaded_blas(), kernel_threads(workers) as ex:
                parts = list(ex.map(lambda c: self.solve_upper(self.solve_lower(c)), chunks))
            X = np.concatenate(parts, axis=1)
        return X[:, 0] if vec else X

    def logdet(self) -> float:
        """``log det A = 2 Σ log diag(G)``."""
        return float(2.0 * sum(np.sum(np.log(np.diag(G))) for G in self.diag_factors))

    def rcond(self) -> float:
        """Estimate of the reciprocal 1-norm condition number ``1/(‖A‖₁ ‖A⁻¹‖₁)``.

        ``‖A⁻¹‖₁`` is estimated with Higham's block 1-norm estimator
        (:func:`scipy.sparse.linalg.onenormest`, the algorithm behind LAPACK's ``?pocon``) using
        solves with the factor, so it costs a handful of solves; like ``?pocon`` it is an estimate
        that is almost always within a factor 3 of the truth and never an overestimate of rcond.
        """
        if self._rcond is None:
            from scipy.sparse.linalg import LinearOperator, onenormest

            n = self.offsets[-1]
            if n <= 4:
                Ainv = self.solve(np.eye(n))
                inv_norm = np.abs(Ainv).sum(axis=0).max()
            else:
                op = LinearOperator((n, n), matvec=self.solve, rmatvec=self.solve,
                                    matmat=self.solve, dtype=np.float64)
                inv_norm = onenormest(op, t=2)
            self._rcond = 1.0 / (self.norm1 * inv_norm)
        return self._rcond


def _lower_fortran(A: Array) -> Array:
    """``A`` as a Fortran-ordered float64 array with a zero strict upper triangle.

    Blocks that already are (e.g. ``dsyrk`` output) pass through without a copy; the test looks at
    the first row and last column only, which is where a full symmetric block is never zero.
    """
    n = A.shape[0]
    lower = (A.flags.f_contiguous and A.dtype == np.float64
             and not (n > 1 and (np.any(A[0, 1:]) or np.any(A[:-1, -1]))))
    return A if lower else np.asfortranarray(np.tril(A), dtype=np.float64)


@thread_policy
def block_cholesky(
    diag_block: Callable[[int], Array],
    sub_block: Callable[[int], Array],
    widths: Sequence[int],
    *,
    what: str = "matrix",
) -> BlockCholesky:
    """Factor a block-tridiagonal SPD matrix given its blocks on demand.

    Parameters
    ----------
    diag_block : callable
        ``diag_block(i)`` returns the ``i``-th diagonal block (0-based), ``(n_i, n_i)``: either the
        full symmetric block or its lower triangle with a zero strict upper triangle (passed
        through without a copy when Fortran-ordered, as ``dsyrk`` returns it). It may be
        overwritten. It is called from a worker thread, one block ahead of the recursion.
    sub_block : callable
        ``sub_block(i)`` returns the block in row ``i+1``, column ``i``, ``(n_{i+1}, n_i)``; it
        may be overwritten.
    widths : sequence of int
        Block sizes.
    what : str
        Name of the matrix and its blocks for error messages (e.g. ``"activity Hessian"``).

    Raises
    ------
    NotPositiveDefiniteError
        If a Schur-complement block is not numerically positive definite; the message names the
        block.
    """
    H = len(widths)
    diag_f: list[Array] = []
    sub_f: list[Array] = []
    col_abs: list[Array | None] = [None] * H
    prev_CT: Array | None = None       # C_{i-1}ᵀ, Fortran-ordered (n_{i-1} × n_i)

    def lower_fortran(i: int) -> Array:
        return _lower_fortran(np.asarray(diag_block(i)))

    # The diagonal blocks (a syrk each) do not depend on the recursion: for wide blocks a worker
    # thread forms the next one while this thread updates, factors and solves the current one.
    # Narrow blocks run inline: threads and BLAS limits would cost more than they save.
    parallel = max(widths) >= PARALLEL_MIN_WIDTH and H > 1
    with (single_threaded_blas() if parallel else nullcontext()), \
            (kernel_threads(1) if parallel else nullcontext()) as ex:
        nxt = ex.submit(lower_fortran, 0) if parallel else None
        for i in range(H):
            if parallel:
                A = nxt.result()
                if i + 1 < H:
                    nxt = ex.submit(lower_fortran, i + 1)
            else:
                A = lower_fortran(i)
            absA = np.abs(A)
            cs = absA.sum(axis=0) + absA.sum(axis=1) - np.abs(np.diag(A))  # columns of symmetric A
            col_abs[i] = cs if col_abs[i] is None else col_abs[i] + cs
            if prev_CT is not None:
                # A ← A − C Cᵀ on the lower triangle (syrk: half the flops of a gemm)
                A = _blas.dsyrk(-1.0, prev_CT, beta=1.0, c=A, trans=1, lower=1, overwrite_c=1)
            G, info = _lapack.dpotrf(A, lower=1, clean=1, overwrite_a=1)
            if info != 0:
                raise NotPositiveDefiniteError(
                    f"block Cholesky of the {what} failed at diagonal block {i + 1} of {H} "
                    f"(leading minor {info}): the matrix is not numerically positive definite "
                    "(condition number ≳ 1/eps = 4.5e15, or the weights are not finite)"
                )
            diag_f.append(G)
            if i < H - 1:
                Bk = np.asarray(sub_block(i), dtype=np.float64)
                if Bk.shape != (widths[i + 1], widths[i]):
                    raise ValueError(
                        f"sub-diagonal block {i + 1} of the {what} has shape {Bk.shape}, "
                        f"expected {(widths[i + 1], widths[i])}"
                    )
                abs_b = np.abs(Bk)
                col_abs[i] = col_abs[i] + abs_b.sum(axis=0)    # below the diagonal, column i
                up = abs_b.sum(axis=1)                          # above the diagonal, column i+1
                col_abs[i + 1] = up if col_abs[i + 1] is None else col_abs[i + 1] + up
                # C = B G^{-T}  ⇔  G Cᵀ = Bᵀ (trsm from the left on Bᵀ, Fortran-ordered)
                CT = _blas.dtrsm(1.0, G, np.asfortranarray(Bk.T), lower=1, overwrite_b=1)
                sub_f.append(CT.T)
                prev_CT = CT
    if not all(np.all(np.isfinite(np.diag(G))) for G in diag_f):
        raise NotPositiveDefiniteError(f"non-finite Cholesky factor of the {what}")
    norm1 = max(float(c.max()) for c in col_abs)
    return BlockCholesky(diag_f, sub_f, norm1)
