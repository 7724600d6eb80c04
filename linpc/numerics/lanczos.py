"""Plain Lanczos for the top eigenvector of a symmetric operator, in O(n) memory.

Used for the extreme eigenvalues of the activity Hessian
(:meth:`linpc.ActivityHessian.extreme_eigenvalues`): on ``H_z`` for ``λ_max`` and on ``H_z⁻¹``
(block Cholesky solves) for ``λ_min``. The caller evaluates the true residual of the returned
vector, so no error bound rests on the iteration's own estimate of its accuracy [1]_, [2]_.

References
----------
.. [1] C. C. Paige, "Accuracy and effective convergence of the Lanczos algorithm for the symmetric
   eigenproblem", Linear Algebra Appl. 34 (1980) 235–258.
.. [2] B. N. Parlett, *The Symmetric Eigenvalue Problem*, SIAM 1998, ch. 13.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg as sla

from linpc.numerics.threads import thread_policy
from linpc.numerics.tolerances import EPS
from linpc.numerics.types import Array
from linpc.numerics.warnings import NotConvergedWarning, user_stacklevel

__all__ = ["LANCZOS_BASIS_BYTES", "LANCZOS_MAX_STEPS", "lanczos_top_vector"]


#: Cap on the Lanczos steps of one extreme eigenvalue (each pass).
LANCZOS_MAX_STEPS = 20_000


#: Memory for keeping the Lanczos vectors (one pass); beyond it they are regenerated (two passes).
LANCZOS_BASIS_BYTES = 64 * 1024**2


@thread_policy
def lanczos_top_vector(matvec, v0: Array, *, tol: float, max_steps: int,
                        check_every: int = 10,
                        basis_bytes: float = LANCZOS_BASIS_BYTES) -> Array:
    """Unit vector approximating the top eigenvector of a symmetric operator (plain Lanczos).

    Pass 1 runs the three-term Lanczos recurrence from ``v0`` without reorthogonalisation (memory
    O(n); the loss of orthogonality creates spurious copies of converged Ritz values but does not
    prevent or falsify the convergence of the extreme one: Paige 1980, Lin. Alg. Appl. 34) and
    stops when the residual estimate ``β_k |s_k|`` of the top Ritz pair of ``T_k`` is at most
    ``tol·|θ|`` (ARPACK's criterion), or on breakdown (an invariant subspace); stopping at
    ``max_steps`` before that warns with :class:`~linpc.numerics.warnings.NotConvergedWarning`.
    The Ritz vector ``y = Q_k s`` is accumulated from the Lanczos vectors kept in memory while they
    fit in ``basis_bytes``; beyond that a second pass regenerates them from the stored coefficients
    (same arithmetic, memory O(n)). The caller evaluates the true residual ``‖A y − θ y‖`` of
    ``y``, so no error bound rests on the estimate. Compared with ARPACK's implicitly restarted
    Lanczos this needs about half the products for the clustered top of the spectrum of deep
    networks (no restarts) and no O(n·ncv) reorthogonalisation per step.
    """
    n = v0.size
    q = v0 / np.linalg.norm(v0)
    q_prev = np.zeros(n)
    alphas: list[float] = []
    betas: list[float] = []
    beta = 0.0
    anorm = 0.0
    s = np.ones(1)
    basis: list[Array] | None = [q]
    converged = False
    estimate = theta = np.nan
    for j in range(max_steps):
        w = matvec(q)
        if j:
            w -= beta * q_prev
        a = float(q @ w)
        w -= a * q
        beta = float(np.linalg.norm(w))
        alphas.append(a)
        betas.append(beta)
        anorm = max(anorm, abs(a) + beta)
        k = j + 1
        breakdown = beta <= 10 * k * EPS * anorm
        if breakdown or k % check_every == 0 or k == max_steps or k == n:
            if k == 1:
                theta, s = alphas[0], np.ones(1)
            else:
                w_, S_ = sla.eigh_tridiagonal(np.array(alphas), np.array(betas[:-1]),
                                              select="i", select_range=(k - 1, k - 1))
                theta, s = float(w_[0]), S_[:, 0]
            estimate = beta * abs(s[-1])
            converged = breakdown or estimate <= tol * abs(theta)
            if converged or k == max_steps:
                break
        q_prev, q = q, w / beta
        if basis is not None:
            basis.append(q)
            if len(basis) * n * 8 > basis_bytes:
                basis = None
    if not converged:
        warnings.warn(
            f"Lanczos stopped at max_steps = {max_steps} steps before converging: the residual "
            f"estimate {estimate:.3g} of the top Ritz pair exceeds tol·|θ| = "
            f"{tol * abs(theta):.3g}; the last Ritz vector is returned (its true residual "
            "bounds its accuracy)",
            NotConvergedWarning, stacklevel=user_stacklevel(),
        )
    k = s.size
    if basis is not None:
        y = s[0] * basis[0]
        for j in range(1, k):
            y += s[j] * basis[j]
        return y / np.linalg.norm(y)
    # pass 2: the same recurrence with the stored coefficients, accumulating y = Σ_j s_j q_j
    q = v0 / np.linalg.norm(v0)
    q_prev = np.zeros(n)
    y = s[0] * q
    for j in range(k - 1):
        w = matvec(q)
        if j:
            w -= betas[j - 1] * q_prev
        w -= alphas[j] * q
        q_prev, q = q, w / betas[j]
        y += s[j + 1] * q
    return y / np.linalg.norm(y)
