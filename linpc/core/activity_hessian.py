"""The activity Hessian H_z: block-tridiagonal structure, factorisation and spectrum.

F is quadratic in the hidden activities ``z = (z_1, …, z_H)``, so ``∇_z F = H_z z − b`` with a
constant, data-independent Hessian (per sample, *not* divided by B; docs/theory.md §1.2):

    (H_z)_{l,l}   = π_l I + π_{l+1} M_{l+1}ᵀ M_{l+1}          l = 1..H
    (H_z)_{l+1,l} = −π_{l+1} M_{l+1},   (H_z)_{l,l+1} = −π_{l+1} M_{l+1}ᵀ      l = 1..H-1

and ``H_z = Dᵀ Π D`` with ``D`` block lower-bidiagonal (identity blocks on the diagonal of the
first n rows, ``−M_{l+1}`` below them, last block row ``(0, …, 0, −M_L)``) and
``Π = diag(π_1 I, …, π_L I)``; the top of ``D`` is unit lower-triangular, so ``H_z ≻ 0`` and the
inference landscape of a linear PCN is strictly convex. With ``π_l = 1`` for ``l < L`` and
``π_L = λ`` this is the Hessian of Innocenti et al. (μPC, NeurIPS 2025, arXiv:2505.13124, §3) and
of jpc's ``compute_linear_activity_hessian``. ``H_z`` does not depend on ``W_1``, the biases or
the data. An activity decay ``(δ/2)Σ‖z_l‖²`` adds ``δ I`` to every diagonal block.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.linalg as sla
import scipy.linalg.blas as _blas
import scipy.sparse as sp

from linpc.core.network import LinearPCN, check_network
from linpc.numerics.block_cholesky import BlockCholesky, NotPositiveDefiniteError, block_cholesky
from linpc.numerics.lanczos import LANCZOS_MAX_STEPS, lanczos_top_vector
from linpc.numerics.threads import thread_policy
from linpc.numerics.tolerances import eigenvalue_tolerance
from linpc.numerics.types import Array
from linpc.numerics.validation import (
    check_bool,
    check_choice,
    check_real_dtype,
    check_tolerance,
)
from linpc.numerics.warnings import (
    IllConditionedWarning,
    check_layer_finite,
    spd_condition_number,
    user_stacklevel,
)

__all__ = ["ActivityHessian", "ExtremeEigenvalues"]

#: ``eigvals_banded`` reduces the band to tridiagonal form in O(n² u) operations; above this many
#: (≈ 30 ms on a 2-core machine) the "auto" eigenvalue method switches to Lanczos, which is then
#: faster (n = 1024, u = 255: banded 0.35 s, Lanczos 0.02 s).
BANDED_EIGEN_WORK_LIMIT = 5e7
#: Largest dense matrix ``to_dense`` builds without ``force=True`` (bytes).
DENSE_BYTES_LIMIT = 2 * 1024**3


@dataclass(frozen=True)
class ExtremeEigenvalues:
    """Extreme eigenvalues of an SPD matrix with the accuracy achieved.

    Attributes
    ----------
    lambda_min, lambda_max : float
        Smallest and largest eigenvalue. When ``certified`` is False, ``lambda_min`` is an *upper
        bound*: the smallest eigenvalue lies in ``(0, lambda_min]``.
    condition_number : float
        ``κ = λ_max / λ_min`` (2-norm condition number); when ``certified`` is False, a *lower
        bound* ``(λ_max − δ)/lambda_min`` of ``κ`` (``δ`` the backward error of the computation).
        Never negative.
    error_min, error_max : float
        Absolute error bounds: an eigenvalue lies within this distance of the reported value.
        For ``"banded"``/``"dense"`` the backward-stable bound ``δ = SAFETY·n·eps·‖A‖₂``; for
        ``"lanczos"`` the Ritz residual norm ``‖A v − θ v‖`` of the returned unit vector plus
        ``δ`` (the round-off of evaluating it), and for ``λ_min`` the distance to the lower bound
        certified by a Cholesky factorisation of ``A − σI`` (an inertia check). When
        ``certified`` is False, ``error_min = lambda_min``.
    method : str
        ``"banded"`` (LAPACK ``dsbevx`` via ``scipy.linalg.eigvals_banded``), ``"lanczos"`` (Lanczos
        on matrix-vector products and on solves with the block Cholesky factor) or ``"dense"``.
    certified : bool
        Whether ``λ_min`` was resolved: at least the floor
        :func:`linpc.numerics.tolerances.eigenvalue_floor` (twice the backward error) and, for
        Lanczos, certified from below by the inertia check. If not, ``lambda_min`` and
        ``condition_number`` are bounds and an :class:`~linpc.IllConditionedWarning` said so.
    floor : float
        The smallest ``λ_min`` that the computation could certify (0 when not computed).
    """

    lambda_min: float
    lambda_max: float
    condition_number: float
    error_min: float
    error_max: float
    method: str
    certified: bool = True
    floor: float = 0.0

    def __iter__(self):
        return iter((self.lambda_min, self.lambda_max))


@thread_policy
class ActivityHessian:
    """The per-sample activity Hessian ``H_z`` of a :class:`~linpc.LinearPCN`.

    Blocks are formed on demand from the raw weights; the dense ``(n × n)`` matrix is never built
    unless :meth:`to_dense` is called. One block Cholesky factorisation (:meth:`factor`) is cached
    and reused for every right-hand side (all samples at once).

    Parameters
    ----------
    net : LinearPCN
        The network; ``H_z`` depends on ``M_2, …, M_L`` and the precisions only.
    """

    def __init__(self, net: LinearPCN) -> None:
        self.net = check_network(net)
        self._factor: BlockCholesky | None = None

    # ------------------------------------------------------------------ structure
    @property
    def widths(self) -> tuple[int, ...]:
        """Block sizes ``(n_1, …, n_H)``."""
        return self.net.hidden_widths

    @property
    def shape(self) -> tuple[int, int]:
        n = self.net.n_activities
        return (n, n)

    @property
    def offsets(self) -> tuple[int, ...]:
        return self.net.activity_offsets

    @property
    def bandwidth(self) -> int:
        """Half-bandwidth ``u = max_l (n_l + n_{l+1}) − 1`` (``n_1 − 1`` when H = 1)."""
        w = self.widths
        if len(w) == 1:
            return w[0] - 1
        return max(w[i] + w[i + 1] for i in range(len(w) - 1)) - 1

    def diagonal_block(self, l: int, *, lower_only: bool = False) -> Array:
        """``(H_z)_{l,l} = π_l I + π_{l+1} M_{l+1}ᵀ M_{l+1}`` for hidden layer ``l`` (1-based).

        With ``lower_only=True`` only the lower triangle is filled (the upper is zero), at half the
        cost (``syrk`` instead of ``gemm``); this is what the factorisation reads.
        """
        net = self.net
        lower_only = check_bool(lower_only, "lower_only")
        if not 1 <= l <= net.n_hidden:
            raise IndexError(f"hidden layer index must be in 1..{net.n_hidden}, got {l}")
        a = net.scalings[l]
        W = net.weights[l]          # W_{l+1}
        p_next = net.precisions[l]  # π_{l+1}
        with np.errstate(over="ignore", invalid="ignore"):     # reported below, by layer
            if lower_only:
                G = _blas.dsyrk(p_next * a * a, W, trans=1, lower=1)
            else:
                G = (p_next * a * a) * (W.T @ W)
            if net.skips[l]:
                S = (p_next * a) * W
                G += np.tril(S + S.T) if lower_only else S + S.T
                G[np.diag_indices_from(G)] += p_next
        G[np.diag_indices_from(G)] += net.precisions[l - 1] + net.activity_decay
        check_layer_finite(
            G, what="the activity Hessian H_z (its diagonal block)", layer=l,
            n_layers=net.n_hidden, unit="hidden layer",
            cause=f"π_{l + 1}M_{l + 1}ᵀM_{l + 1} is not representable: W_{l + 1} is too large "
                  "for float64; rescale it")
        return G

    def lower_block(self, l: int) -> Array:
        """``(H_z)_{l+1,l} = −π_{l+1} M_{l+1}``, shape ``(n_{l+1}, n_l)``, for ``l = 1..H-1``."""
        net = self.net
        if not 1 <= l <= net.n_hidden - 1:
            raise IndexError(f"sub-diagonal block index must be in 1..{net.n_hidden - 1}, got {l}")
        return -net.precisions[l] * net.layer_map(l + 1)

    def block(self, i: int, j: int) -> Array:
        """Block ``(i, j)`` of ``H_z`` (1-based hidden-layer indices)."""
        H = self.net.n_hidden
        if not (1 <= i <= H and 1 <= j <= H):
            raise IndexError(f"block indices must be in 1..{H}, got ({i}, {j})")
        if i == j:
            return self.diagonal_block(i)
        if i == j + 1:
            return self.lower_block(j)
        if j == i + 1:
            return self.lower_block(i).T
        return np.zeros((self.widths[i - 1], self.widths[j - 1]))

    # ------------------------------------------------------------------ views
    def to_dense(self, *, diag: bool = True, off_diag: bool = True, force: bool = False) -> Array:
        """Dense ``H_z`` (block order ``z_1..z_H``); ``diag``/``off_diag`` select block parts.

        ``diag=False`` or ``off_diag=False`` zero the diagonal or off-diagonal blocks, as jpc's
        switches of the same names do (used in the μPC paper's analysis of the two parts).
        """
        diag, off_diag = check_bool(diag, "diag"), check_bool(off_diag, "off_diag")
        force = check_bool(force, "force")
        n = self.shape[0]
        if n * n * 8 > DENSE_BYTES_LIMIT and not force:
            raise MemoryError(
                f"dense H_z would take {n * n * 8 / 2**30:.1f} GiB (n = {n}); use the banded or "
                "block views, or pass force=True"
            )
        A = np.zeros((n, n))
        o = self.offsets
        H = self.net.n_hidden
        for l in range(1, H + 1):
            s = slice(o[l - 1], o[l])
            if diag:
                A[s, s] = self.diagonal_block(l)
            if off_diag and l < H:
                t = slice(o[l], o[l + 1])
                Bk = self.lower_block(l)
                A[t, s] = Bk
                A[s, t] = Bk.T
        return A

    def to_banded(self) -> Array:
        """Lower banded storage ``ab`` (LAPACK), ``ab[i, j] = H_z[j + i, j]``, ``i = 0..u``."""
        u = self.bandwidth
        n = self.shape[0]
        ab = np.zeros((u + 1, n))
        o = self.offsets
        H = self.net.n_hidden
        for l in range(1, H + 1):
            D = self.diagonal_block(l)
            i, j = np.tril_indices(D.shape[0])
            ab[i - j, o[l - 1] + j] = D[i, j]
            if l < H:
                Bk = self.lower_block(l)
                i, j = np.indices(Bk.shape)
                r, c = o[l] + i, o[l - 1] + j
                ab[r - c, c] = Bk
        return ab

    def to_sparse(self) -> sp.csr_array:
        """``H_z`` as a ``scipy.sparse`` CSR array (block-tridiagonal sparsity)."""
        H = self.net.n_hidden
        rows = []
        for i in range(1, H + 1):
            row = []
            for j in range(1, H + 1):
                row.append(sp.csr_array(self.block(i, j)) if abs(i - j) <= 1 else None)
            rows.append(row)
        return sp.csr_array(sp.block_array(rows, format="csr"))

    # ------------------------------------------------------------------ products and solves
    def matvec(self, V) -> Array:
        """``H_z V`` for ``V`` of shape ``(n,)`` or ``(n, k)``, as ``Dᵀ Π D V`` (O(k Σ n_l²))."""
        net = self.net
        Va = check_real_dtype(V, "V")
        vec = Va.ndim == 1
        Z = (Va[:, None] if vec else Va).T            # rows = vectors
        zs = net.split_activities(Z)
        H, pi = net.n_hidden, net.precisions
        # (D v)_l = v_l − M_l v_{l-1} (v_0 = 0), (D v)_L = −M_L v_H
        dv = [zs[0]] + [zs[l - 1] - net.apply_layer(l, zs[l - 2]) for l in range(2, H + 1)]
        dv.append(-net.apply_layer(H + 1, zs[H - 1]))
        out = [pi[l - 1] * dv[l - 1] - pi[l] * net.apply_layer_transpose(l + 1, dv[l])
               + net.activity_decay * zs[l - 1] for l in range(1, H + 1)]
        R = np.concatenate(out, axis=1).T
        return R[:, 0] if vec else R

    def factor(self) -> BlockCholesky:
        """Block Cholesky factor ``H_z = G Gᵀ`` (cached), O(Σ n_l³) once."""
        if self._factor is None:
            self._factor = block_cholesky(
                lambda i: self.diagonal_block(i + 1, lower_only=True),
                lambda i: self.lower_block(i + 1),
                self.widths,
                what="activity Hessian H_z",
            )
        return self._factor

    def solve(self, V, *, method: Literal["block", "banded"] = "block") -> Array:
        """``H_z⁻¹ V`` for ``V`` of shape ``(n,)`` or ``(n, k)``, without forming an inverse.

        ``method="block"`` uses the cached block Cholesky factor (level-3 BLAS per block);
        ``method="banded"`` uses LAPACK's banded Cholesky (``cholesky_banded`` +
        ``cho_solve_banded``), an independent implementation of the same factorisation.
        """
        check_choice(method, "method", ("block", "banded"))
        if method == "block":
            return self.factor().solve(V)
        if method == "banded":
            cb = sla.cholesky_banded(self.to_banded(), lower=True, check_finite=False)
            return sla.cho_solve_banded((cb, True), check_real_dtype(V, "V"),
                                        check_finite=False)
        raise ValueError(f"method must be 'block' or 'banded', got {method!r}")

    def rcond_estimate(self) -> float:
        """Reciprocal 1-norm condition number estimate from the factor (like LAPACK ``?pocon``)."""
        return self.factor().rcond()

    # ------------------------------------------------------------------ spectrum
    def extreme_eigenvalues(
        self,
        *,
        method: Literal["auto", "banded", "lanczos", "dense"] = "auto",
        tol: float = 1e-12,
    ) -> ExtremeEigenvalues:
        """Smallest and largest eigenvalue of ``H_z`` and ``κ(H_z)``, without a dense eigensolve.

        Parameters
        ----------
        method : {"auto", "banded", "lanczos", "dense"}
            ``"banded"``: LAPACK ``dsbevx`` on the band (two calls with index selection); exact to
            backward stability, cost O(n² u). ``"lanczos"``: plain Lanczos
            (:func:`linpc.numerics.lanczos.lanczos_top_vector`) on ``H_z`` for ``λ_max`` and on
            ``H_z⁻¹`` (solves with the block Cholesky factor) for ``λ_min``, each reported as the
            Rayleigh quotient of the Ritz vector with its true residual; cost O(Σ n_l³) plus O(Σ
            n_l²) per iteration, memory O(n) beyond
            :data:`~linpc.numerics.lanczos.LANCZOS_BASIS_BYTES`, for large networks. ``"dense"``:
            ``scipy.linalg.eigh`` with index selection, small matrices only (reference).
            ``"auto"`` picks ``"banded"`` when ``n² u`` is below :data:`BANDED_EIGEN_WORK_LIMIT`,
            else ``"lanczos"``.
        tol : float
            Relative tolerance of the Lanczos iteration: it stops when the residual estimate of
            the extreme Ritz pair is at most ``tol·|θ|``.

        Returns
        -------
        ExtremeEigenvalues
            With the error bounds achieved. ``λ_min`` is *certified* or *bounded*: below the floor
            :func:`linpc.numerics.tolerances.eigenvalue_floor` (``2·SAFETY·n·eps·λ_max``) no
            float64 computation can tell ``H_z`` from a singular matrix, so ``λ_min`` is then
            returned as an upper bound and ``κ`` as a lower bound, with ``certified=False`` and an
            :class:`~linpc.IllConditionedWarning` (never a negative ``κ`` of this positive
            definite matrix, docs/theory.md §1.2.2). Lanczos's ``λ_min`` (a Rayleigh quotient,
            an upper bound) is certified from below by an inertia check: a block Cholesky
            factorisation of ``H_z − σI`` that succeeds proves ``λ_min > σ − δ``. When ``H_z``
            itself cannot be factored, Lanczos runs on ``(H_z + τI)⁻¹`` for the bound.

        Raises
        ------
        LayerOverflowError
            When a block of ``H_z`` leaves the float64 range (naming the hidden layer).
        """
        check_choice(method, "method", ("auto", "banded", "lanczos", "dense"))
        tol = check_tolerance(tol, "tol")
        n, u = self.shape[0], self.bandwidth
        if method == "auto":
            small = float(n) * n * u <= BANDED_EIGEN_WORK_LIMIT or n <= 64
            method = "banded" if small else "lanczos"
        if method in ("banded", "dense"):
            if method == "banded":
                ab = self.to_banded()
                lo = sla.eigvals_banded(ab, lower=True, select="i", select_range=(0, 0),
                                        check_finite=False)[0]
                hi = sla.eigvals_banded(ab, lower=True, select="i", select_range=(n - 1, n - 1),
                                        check_finite=False)[0]
            else:
                A = self.to_dense()
                lo = sla.eigh(A, eigvals_only=True, subset_by_index=[0, 0])[0]
                hi = sla.eigh(A, eigvals_only=True, subset_by_index=[n - 1, n - 1])[0]
            err = eigenvalue_tolerance(n, abs(hi))   # backward stability + Weyl
            return _certified(float(lo), float(hi), err, err, err, method, n)
        if method == "lanczos":
            return self._lanczos_extremes(tol)
        raise ValueError(f"unknown method {method!r}; expected auto, banded, lanczos or dense")

    def _shifted_factor(self, shift: float) -> BlockCholesky:
        """Block Cholesky factor of ``H_z − shift·I`` (not cached); raises
        :class:`~linpc.NotPositiveDefiniteError` when it is not numerically positive definite."""

        def diag(i: int) -> Array:
            G = self.diagonal_block(i + 1, lower_only=True)
            G[np.diag_indices_from(G)] -= shift
            return G

        return block_cholesky(diag, lambda i: self.lower_block(i + 1), self.widths,
                              what=f"shifted activity Hessian H_z − ({shift:.3g})I")

    def _lanczos_extremes(self, tol: float) -> ExtremeEigenvalues:
        n = self.shape[0]
        if n <= 2:
            return self.extreme_eigenvalues(method="dense")
        rng = np.random.default_rng(12345)  # fixed start vector: results are reproducible
        v0 = rng.standard_normal(n)
        matvec = _stacked_matvec(self.net) or self.matvec
        max_steps = int(min(max(10 * n, 200), LANCZOS_MAX_STEPS))

        def rayleigh(v: Array) -> tuple[float, float]:
            Av = matvec(v)
            theta = float(v @ Av)
            return theta, float(np.linalg.norm(Av - theta * v))

        # λ_max: Lanczos on H_z; its Rayleigh quotient is a lower bound of λ_max
        hi, ehi = rayleigh(lanczos_top_vector(matvec, v0, tol=tol, max_steps=max_steps))
        delta = eigenvalue_tolerance(n, hi + ehi)      # backward error of every route below
        # λ_min: Lanczos on H_z⁻¹ (solves with the cached block Cholesky factor), whose largest
        # eigenvalue 1/λ_min is well separated from the rest. When H_z is too ill-conditioned to
        # be factored, H_z + τI (τ = the floor) has the same eigenvectors and is factored instead.
        try:
            solve = self.factor().solve
        except NotPositiveDefiniteError:
            solve = None
            for k in range(8):
                try:
                    solve = self._shifted_factor(-2.0 * delta * 4.0**k).solve
                    break
                except NotPositiveDefiniteError:
                    continue
            if solve is None:
                raise
        lo, elo = rayleigh(lanczos_top_vector(solve, v0, tol=tol, max_steps=max_steps))
        # The Rayleigh quotient bounds λ_min from above (λ_min ≤ lo + δ); a lower bound needs an
        # inertia check: a Cholesky factorisation of H_z − σI that succeeds proves λ_min > σ − δ.
        lower = None
        if lo >= 2.0 * delta:
            sigmas = [lo - elo - 2.0 * delta] if lo - elo - 2.0 * delta > 0.5 * lo else []
            for sigma in [*sigmas, 0.5 * lo]:
                try:
                    self._shifted_factor(sigma)
                except NotPositiveDefiniteError:
                    continue
                lower = sigma - delta
                break
        if lower is None:
            return _certified(lo, hi, delta, ehi + delta, delta, "lanczos", n, resolved=False)
        return _certified(lo, hi, max(lo - lower, delta), ehi + delta, delta, "lanczos", n)

    def condition_number(self, **kwargs) -> float:
        """``κ(H_z) = λ_max/λ_min`` (see :meth:`extreme_eigenvalues` for methods); a lower bound,
        with an :class:`~linpc.IllConditionedWarning`, when ``λ_min`` cannot be certified."""
        return self.extreme_eigenvalues(**kwargs).condition_number


def _certified(lo: float, hi: float, error_min: float, error_max: float, delta: float,
               method: str, n: int, *, resolved: bool = True) -> ExtremeEigenvalues:
    """The result for computed ``λ̃_min = lo``, ``λ̃_max = hi`` with backward error ``δ``.

    Certified when ``lo`` is at least the floor ``2δ``
    (:func:`~linpc.numerics.tolerances.eigenvalue_floor`) and, for Lanczos, ``resolved`` (an
    inertia check bounded ``λ_min`` from below); otherwise the bounds ``λ_min ≤ max(lo, 0) + δ``
    and ``κ ≥ (hi − δ)/(max(lo, 0) + δ)`` with an :class:`~linpc.IllConditionedWarning`
    (:func:`linpc.numerics.warnings.spd_condition_number`).
    """
    floor = 2.0 * delta
    what = "the activity Hessian H_z"
    if resolved or lo < floor:
        kappa, ok = spd_condition_number(lo, hi, n, what, error=delta)
        if ok and resolved:
            return ExtremeEigenvalues(lo, hi, kappa, error_min, error_max, method, True, floor)
    upper = max(lo, 0.0) + delta
    kappa = (hi - delta) / upper
    if not resolved and lo >= floor:
        warnings.warn(
            f"λ_min of {what} could not be certified: the Lanczos estimate {lo:.3g} has no "
            f"lower bound (the inertia check, a Cholesky factorisation of H_z − σI, failed), so "
            f"only the bounds λ_min ≤ {upper:.3g} and κ ≥ {kappa:.3g} are returned; use "
            "method='banded'",
            IllConditionedWarning, stacklevel=user_stacklevel(),
        )
    return ExtremeEigenvalues(upper, hi, kappa, upper, error_max, method, False, floor)


#: Widest equal hidden layers for which :func:`_stacked_matvec` stacks a copy of the weights; above
#: it the per-layer BLAS calls are large and their Python overhead is negligible.
STACKED_MATVEC_MAX_WIDTH = 256


def _stacked_matvec(net: LinearPCN):
    """``V ↦ H_z V`` with the hidden-to-hidden layers stacked into one ``(H−1, N, N)`` array.

    For deep narrow networks the per-layer matvec of :meth:`ActivityHessian.matvec` is dominated by
    the Python overhead of ``2H`` small BLAS calls; batching them with ``np.matmul`` (in chunks of
    16 layers, so that each chunk of weights is reused from cache for ``M`` and ``Mᵀ``) makes one
    product 3–4× faster at ``H = 1024, N = 64``. Same formula ``H_z v = Dᵀ Π D v`` as
    :meth:`ActivityHessian.matvec`. Returns ``None`` (use the per-layer product) unless all hidden
    widths are equal, ``N ≤`` :data:`STACKED_MATVEC_MAX_WIDTH` and ``H ≥ 4``.
    """
    hw = net.hidden_widths
    H = net.n_hidden
    if H < 4 or len(set(hw)) != 1 or hw[0] > STACKED_MATVEC_MAX_WIDTH:
        return None
    N = hw[0]
    A = np.stack([net.scalings[l - 1] * net.weights[l - 1] for l in range(2, H + 1)])
    skip = np.array(net.skips[1:H], dtype=np.float64)[:, None, None]
    ML = net.scalings[-1] * net.weights[-1]            # last layer: never residual
    pi = np.asarray(net.precisions)
    pi_h = pi[:H, None, None]                          # π_1..π_H
    pi_next = pi[1:H, None, None]                      # π_2..π_H
    decay = net.activity_decay
    chunk = 16

    def matvec(V) -> Array:
        Va = np.asarray(V, dtype=np.float64)
        X = Va.reshape(H, N, -1)
        # (Dv)_1 = v_1, (Dv)_l = v_l − M_l v_{l−1} (l = 2..H), (Dv)_L = −M_L v_H
        # (H_z v)_l = π_l (Dv)_l − π_{l+1} M_{l+1}ᵀ (Dv)_{l+1} + δ v_l
        out = np.empty_like(X)
        out[0] = pi_h[0] * X[0]
        for s in range(0, H - 1, chunk):
            e = min(s + chunk, H - 1)
            Ac = A[s:e]
            d = X[s + 1:e + 1] - np.matmul(Ac, X[s:e]) - skip[s:e] * X[s:e]
            out[s + 1:e + 1] = pi_h[s + 1:e + 1] * d
            out[s:e] -= pi_next[s:e] * (np.matmul(Ac.transpose(0, 2, 1), d) + skip[s:e] * d)
        out[-1] += pi[H] * (ML.T @ (ML @ X[-1]))
        if decay:
            out += decay * X
        return out.reshape(Va.shape)

    return matvec
