"""Spectra of the parameter Hessians of ``F*`` and ``ℒ``: extreme eigenvalues, inertia, accuracy.

Two methods:

* ``"dense"`` — assemble the Hessian (:meth:`~linpc.landscape.hessians.ParameterHessian.to_dense`)
  and call LAPACK's symmetric eigensolver (``numpy.linalg.eigvalsh``). All eigenvalues; the numbers
  of negative, zero and positive eigenvalues are counted with an explicit zero tolerance
  (default: :func:`~linpc.numerics.tolerances.assembly_tolerance` of the assembly plus the
  eigensolver's Weyl bound :func:`~linpc.numerics.tolerances.eigenvalue_tolerance`). Small networks
  only.
* ``"lanczos"`` — ARPACK's implicitly restarted Lanczos (``scipy.sparse.linalg.eigsh``) on the
  matrix-free operator: once for the spectral radius ``ρ`` (``which="LM"``), then for the smallest
  and largest algebraic eigenvalues of the *shifted* operator ``A + σI``, ``σ = 1.5ρ`` (positive
  definite). The shift matters at saddles: ARPACK projects its start vector onto the range of the
  operator, so for a singular Hessian whose nonzero eigenvalues are all negative (the origin of
  ``F*`` for H ≥ 2) the unshifted ``"LA"`` run misses the eigenvalue 0 of the null space and
  returns a negative "λ_max". An identically zero operator is detected and reported as such.
  The accuracy reported is the Ritz residual norm ``‖Av − θv‖`` of the
  returned unit vector: some eigenvalue of ``A`` lies within that distance of ``θ``
  (Parlett, *The Symmetric Eigenvalue Problem*, Thm 4.5.1), which is a bound on the distance to
  *an* eigenvalue, not necessarily the extreme one (Lanczos converges to the extremes in
  practice). **Inertia (eigenvalue counts) is available only with the dense method**: Krylov
  methods do not resolve multiplicities, and the Hessians at saddles have eigenvalues of
  multiplicity ``N`` (docs/theory.md §3.2).

References
----------
P1 (Innocenti et al., NeurIPS 2024, arXiv:2408.11979): Hessian spectra at saddles, Figs. 3–4,
8–10; docs/theory.md §3.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.sparse.linalg import LinearOperator, eigsh

from linpc.landscape.hessians import DENSE_HESSIAN_BYTES_LIMIT, ParameterHessian
from linpc.numerics.threads import thread_policy
from linpc.numerics.tolerances import eigenvalue_tolerance
from linpc.numerics.types import Array
from linpc.numerics.validation import (
    as_real_array,
    check_choice,
    check_instance,
    check_int,
    check_positive_int,
    check_symmetric,
    check_tolerance,
)

__all__ = [
    "DENSE_SPECTRUM_LIMIT", "HessianSpectrum", "block_sparse_spectrum", "count_inertia",
    "hessian_spectrum",
]

#: ``method="auto"`` uses the dense eigensolver up to this many parameters, Lanczos above.
DENSE_SPECTRUM_LIMIT = 3000


@dataclass(frozen=True)
class HessianSpectrum:
    """Spectrum of a parameter Hessian with the accuracy achieved.

    Attributes
    ----------
    lambda_min, lambda_max : float
        Smallest and largest eigenvalue.
    error_min, error_max : float
        Absolute accuracy: dense — the round-off bound (assembly + eigensolver); Lanczos — the
        Ritz residual norm of the returned eigenpair.
    zero_tolerance : float
        Eigenvalues with ``|λ| ≤ zero_tolerance`` are counted as zero.
    n_negative, n_zero, n_positive : int or None
        Inertia (dense method only; ``None`` for Lanczos).
    eigenvalues : ndarray or None
        All eigenvalues, ascending (dense only).
    method : str
        ``"dense"`` or ``"lanczos"``.
    objective : str
        ``"energy"`` (``∇²F*``), ``"mse"`` (``∇²ℒ``) or ``""`` for a plain matrix.
    """

    lambda_min: float
    lambda_max: float
    error_min: float
    error_max: float
    zero_tolerance: float
    n_negative: int | None
    n_zero: int | None
    n_positive: int | None
    eigenvalues: Array | None
    method: str
    objective: str


@thread_policy
def count_inertia(eigenvalues: Array, zero_tolerance: float) -> tuple[int, int, int]:
    """``(#λ < −tol, #|λ| ≤ tol, #λ > tol)`` for a list of eigenvalues."""
    w = as_real_array(eigenvalues, "eigenvalues")
    zero_tolerance = check_tolerance(zero_tolerance, "zero_tolerance", allow_zero=True)
    neg = int(np.sum(w < -zero_tolerance))
    pos = int(np.sum(w > zero_tolerance))
    return neg, int(w.size - neg - pos), pos


@thread_policy
def hessian_spectrum(
    hessian: ParameterHessian | Array,
    *,
    method: Literal["auto", "dense", "lanczos"] = "auto",
    zero_tolerance: float | None = None,
    tol: float = 1e-10,
    ncv: int | None = None,
    maxiter: int | None = None,
) -> HessianSpectrum:
    """Extreme eigenvalues (and, dense, the inertia) of a Hessian of ``F*`` or ``ℒ``.

    Parameters
    ----------
    hessian : ParameterHessian or ndarray
        A matrix-free Hessian (:func:`~linpc.equilibrated_energy_hessian` with
        ``matrix_free=True``, or :func:`~linpc.mse_hessian`) or a dense symmetric array.
    method : {"auto", "dense", "lanczos"}
        ``"auto"``: dense up to :data:`DENSE_SPECTRUM_LIMIT` parameters (and always for an
        array), else Lanczos.
    zero_tolerance : float, optional
        Threshold below which ``|λ|`` counts as zero. Default: the assembly round-off bound of the
        operator (:meth:`~linpc.landscape.hessians.ParameterHessian.roundoff_tolerance`) plus
        ``eigenvalue_tolerance(P, ‖A‖₂)``; for a plain array only the latter.
    tol : float
        Relative tolerance of ARPACK (Lanczos).
    ncv : int, optional
        Number of Lanczos vectors (default ``min(P − 1, 40)``).
    maxiter : int, optional
        ARPACK restarts limit.

    Returns
    -------
    HessianSpectrum
    """
    is_op = isinstance(hessian, ParameterHessian)
    if not is_op:
        hessian = as_real_array(hessian, "hessian", ndim=2)
    objective = hessian.objective if is_op else ""
    P = hessian.shape[0]
    if hessian.shape != (P, P) or P == 0:
        raise ValueError(f"hessian must be a non-empty square matrix, got shape {hessian.shape}")
    if not is_op:
        hessian = check_symmetric(hessian, "hessian", P)
    check_choice(method, "method", ("auto", "dense", "lanczos"))
    check_tolerance(zero_tolerance, "zero_tolerance", allow_none=True, allow_zero=True)
    check_tolerance(tol, "tol", allow_zero=True)
    check_int(ncv, "ncv", minimum=2, allow_none=True)
    check_positive_int(maxiter, "maxiter", allow_none=True)
    if method == "auto":
        method = "dense" if (not is_op or P <= DENSE_SPECTRUM_LIMIT) else "lanczos"
    if method == "dense":
        if is_op:
            if P * P * 8 * 3 > DENSE_HESSIAN_BYTES_LIMIT:
                raise MemoryError(f"P = {P} parameters is too large for the dense method; use "
                                  "method='lanczos'")
            A = hessian.to_dense()
            assembly = hessian.roundoff_tolerance()
        else:
            A = np.asarray(hessian, dtype=np.float64)
            assembly = 0.0
        w = np.linalg.eigvalsh(A)
        norm2 = float(max(abs(w[0]), abs(w[-1])))
        err = assembly + eigenvalue_tolerance(P, norm2)
        zt = err if zero_tolerance is None else float(zero_tolerance)
        neg, zero, pos = count_inertia(w, zt)
        return HessianSpectrum(float(w[0]), float(w[-1]), err, err, zt, neg, zero, pos, w,
                               "dense", objective)
    if method != "lanczos":
        raise ValueError(f"method must be 'auto', 'dense' or 'lanczos', got {method!r}")
    if P < 3:
        return hessian_spectrum(hessian, method="dense", zero_tolerance=zero_tolerance)
    op: LinearOperator = hessian if is_op else LinearOperator(
        (P, P), matvec=lambda v: hessian @ v, dtype=np.float64)
    v0 = np.random.default_rng(12345).standard_normal(P)   # fixed start: reproducible results
    k_ncv = min(P - 1, 40) if ncv is None else int(ncv)
    if not np.any(op @ v0):
        # A v0 = 0 for a random v0: the operator is (almost surely) identically zero
        lo = hi = elo = ehi = 0.0
    else:
        rho = float(abs(eigsh(op, k=1, which="LM", tol=tol, v0=v0, ncv=k_ncv, maxiter=maxiter,
                              return_eigenvectors=False)[0]))
        sigma = 1.5 * rho
        shifted = LinearOperator((P, P), matvec=lambda v: op @ v + sigma * v,
                                 matmat=lambda V: op @ V + sigma * V, dtype=np.float64)
        out = []
        for which in ("SA", "LA"):
            _theta, vec = eigsh(shifted, k=1, which=which, tol=tol, v0=v0, ncv=k_ncv,
                                maxiter=maxiter)
            v = vec[:, 0] / np.linalg.norm(vec[:, 0])
            Av = op @ v                               # Rayleigh quotient of the unshifted A
            th = float(v @ Av)
            out.append((th, float(np.linalg.norm(Av - th * v))))
        (lo, elo), (hi, ehi) = out
    if zero_tolerance is not None:
        zt = float(zero_tolerance)
    else:
        zt = (hessian.roundoff_tolerance() if is_op else 0.0) + eigenvalue_tolerance(
            P, max(abs(lo), abs(hi)))
    return HessianSpectrum(lo, hi, elo, ehi, zt, None, None, None, None, "lanczos", objective)


@thread_policy
def block_sparse_spectrum(hessian: ParameterHessian, *, chunk: int = 512) -> dict:
    """All eigenvalues of a matrix-free Hessian whose nonzero pattern splits into small blocks.

    Hessians at saddles are very sparse (at the origin only a few parameter blocks couple,
    docs/theory.md §3.2–3.3), so all eigenvalues are reachable without a dense ``P × P`` matrix: the
    operator is applied to ``chunk`` unit vectors at a time; entries at or below the assembly
    round-off bound (:meth:`~linpc.landscape.hessians.ParameterHessian.roundoff_tolerance`) are
    dropped, keeping the absolute row and column sums of what is dropped; the symmetrised sparse
    matrix is permuted into the connected components of its nonzero pattern and each component is
    diagonalised densely.

    Every returned eigenvalue is within ``error`` of an eigenvalue of the exact Hessian (Weyl):
    ``error = roundoff + ‖E‖₂ + eigenvalue_tolerance(max block, ‖A‖₂)`` with the dropped part
    bounded by ``‖E‖₂ ≤ √(‖E‖₁ ‖E‖_∞)`` (Hölder).

    Returns
    -------
    dict
        ``eigenvalues`` (ascending), ``error``, ``roundoff``, ``dropped``, ``n_blocks``,
        ``max_block`` (largest component diagonalised densely).
    """
    import scipy.sparse as sps
    from scipy.sparse.csgraph import connected_components

    check_instance(hessian, ParameterHessian, "hessian")
    chunk = check_positive_int(chunk, "chunk")
    P = hessian.shape[0]
    tol = hessian.roundoff_tolerance()
    rows, cols, vals = [], [], []
    drop_row, drop_col = np.zeros(P), np.zeros(P)
    for s in range(0, P, int(chunk)):
        k = min(int(chunk), P - s)
        E = np.zeros((P, k))
        E[s + np.arange(k), np.arange(k)] = 1.0
        A = np.asarray(hessian.matmat(E))
        absA = np.abs(A)
        keep = absA > tol
        r, c = np.nonzero(keep)
        rows.append(r)
        cols.append(c + s)
        vals.append(A[r, c])
        small = np.where(keep, 0.0, absA)
        drop_row += small.sum(axis=1)
        drop_col[s:s + k] = small.sum(axis=0)
    Asp = sps.csr_array((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                        shape=(P, P))
    S = ((Asp + Asp.T) * 0.5).tocsr()
    dropped = float(np.sqrt(drop_row.max() * drop_col.max()))
    n_blocks, labels = connected_components(S, directed=False)
    order = np.argsort(labels, kind="stable")
    groups = np.split(order, np.flatnonzero(np.diff(labels[order])) + 1)
    diag = S.diagonal()
    eigs, max_size = [], 1
    for idx in groups:
        if idx.size == 1:
            eigs.append(diag[idx])
        else:
            eigs.append(np.linalg.eigvalsh(S[idx][:, idx].toarray()))
            max_size = max(max_size, idx.size)
    w = np.sort(np.concatenate(eigs))
    norm2 = float(np.abs(w).max()) if w.size else 0.0
    return {"eigenvalues": w, "error": tol + dropped + eigenvalue_tolerance(max_size, norm2),
            "roundoff": tol, "dropped": dropped, "n_blocks": int(n_blocks),
            "max_block": int(max_size)}
