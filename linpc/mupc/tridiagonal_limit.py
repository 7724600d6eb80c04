"""The depth limit of μPC's inference landscape: ``H_z → T_H ⊗ I`` as residual branches vanish.

For residual networks whose branches shrink (``a_l‖W_l‖ → 0`` on hidden layers and
``λ a_L² ‖W_L‖² → 0``), ``H_z → T_H ⊗ I_N`` with ``T_H = tridiag(−1, 2, −1)`` whose last diagonal
entry is 1 (docs/theory.md §6.2). This is the conditioning that μPC [P3]_ inherits at depth.

**Tridiagonal limit** [der]. ``T_H`` is the second-difference matrix with a Dirichlet condition at
the input end and a Neumann condition at the output end; with ``θ_k = (2k − 1)π/(2(2H + 1))``
its eigenvectors are ``v_j = sin(2jθ_k)`` and its eigenvalues ``4 sin² θ_k``, ``k = 1..H``. Hence

    κ(T_H) = cos²(π/(2H+1)) / sin²(π/(2(2H+1))) = (4H + 2)²/π² · (1 + O(1/H²)),

a ``Θ(H²)`` growth that μPC inherits: at great depth ``κ(H_z)/κ(T_H)`` stays bounded, at about
3.3–4.3 for widths 32–64 and 5–5.5 for widths ≥ 128 (measured; docs/theory.md §6.2.1, §6.2.3).

**Small-branch bound** [der]. ``E := H_z − T_H ⊗ I`` has diagonal blocks ``G + Gᵀ + GᵀG``
(``G = a_{l+1}W_{l+1}``, ``l < H``) and ``λ M_LᵀM_L`` (``l = H``) and off-diagonal blocks ``−G``.
With ``ε`` bounding ``‖a_l W_l‖₂`` (``2 ≤ l ≤ H``) and ``√λ ‖M_L‖₂``, the block-diagonal part has
norm ``≤ 2ε + ε²`` and the block off-diagonal part ``≤ 2ε``, so ``‖E‖₂ ≤ 4ε + ε²``
(:func:`small_branch_bound`), and every eigenvalue of ``H_z`` is within ``‖E‖₂`` of one of
``T_H ⊗ I`` (Weyl). The rate is exactly first order: ``‖E‖₂/ε`` tends to the norm of the linear
part ``(G + Gᵀ, −G)`` as the branches shrink.

References
----------
.. [P3] Innocenti, Achour, Buckley, "μPC: Scaling Predictive Coding to 100+ Layer Networks",
   NeurIPS 2025, arXiv:2505.13124, §3–4.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla

from linpc.core.activity_hessian import ActivityHessian
from linpc.core.network import LinearPCN, check_network
from linpc.numerics.threads import thread_policy
from linpc.numerics.types import Array
from linpc.numerics.validation import check_int

__all__ = [
    "residual_branch_scale", "small_branch_bound", "small_branch_deviation",
    "tridiagonal_limit_condition_number", "tridiagonal_limit_matrix", "tridiagonal_limit_spectrum",
]


@thread_policy
def tridiagonal_limit_matrix(H: int) -> tuple[Array, Array]:
    """Diagonal and off-diagonal of ``T_H = tridiag(−1, 2, −1)`` with last diagonal entry 1."""
    H = _check_depth(H)
    d = np.full(H, 2.0)
    d[-1] = 1.0
    return d, -np.ones(H - 1)


@thread_policy
def tridiagonal_limit_spectrum(H: int) -> tuple[Array, float]:
    """Eigenvalues of ``T_H`` and its condition number ``κ(T_H)`` in closed form.

    ``λ_k = 4 sin²((2k − 1)π/(2(2H + 1)))``, ``k = 1..H`` (ascending), and
    ``κ(T_H) = cos²(π/(2H+1))/sin²(π/(2(2H+1)))`` (module docstring; docs/theory.md §6.2). ``T_H ⊗
    I_N`` is the limit of ``H_z`` for residual networks whose branches vanish.

    Returns
    -------
    eigenvalues : ndarray, shape (H,)
    kappa : float
    """
    H = _check_depth(H)
    k = np.arange(1, H + 1)
    eigs = 4.0 * np.sin((2 * k - 1) * np.pi / (2 * (2 * H + 1))) ** 2
    return eigs, tridiagonal_limit_condition_number(H)


@thread_policy
def tridiagonal_limit_condition_number(H: int) -> float:
    """``κ(T_H) = cos²(π/(2H+1)) / sin²(π/(2(2H+1)))`` ``≈ (4H + 2)²/π²``."""
    H = _check_depth(H)
    return float(np.cos(np.pi / (2 * H + 1)) ** 2 / np.sin(np.pi / (2 * (2 * H + 1))) ** 2)


def _check_depth(H) -> int:
    return check_int(H, "the number of hidden layers H", minimum=1)


def _check_small_branch_net(net: LinearPCN) -> None:
    check_network(net)
    H = net.n_hidden
    if H >= 2 and not all(net.skips[1:H]):
        raise ValueError("the tridiagonal limit T_H ⊗ I needs identity skips on every hidden "
                         "layer 2..H (use_skips=True); plain networks tend to I instead")
    if len(set(net.hidden_widths)) != 1:
        raise ValueError(f"the tridiagonal limit needs equal hidden widths, got "
                         f"{net.hidden_widths}")
    if not np.all(net.precisions[:-1] == 1.0) or net.activity_decay:
        raise ValueError("the tridiagonal limit T_H ⊗ I assumes unit hidden precisions and no "
                         "activity decay")


@thread_policy
def residual_branch_scale(net: LinearPCN) -> float:
    """``ε = max(max_{2≤l≤H} a_l‖W_l‖₂, √λ a_L‖W_L‖₂)``: how far ``H_z`` is from ``T_H ⊗ I``."""
    _check_small_branch_net(net)
    H = net.n_hidden
    norms = [net.scalings[l - 1] * np.linalg.norm(net.weights[l - 1], 2) for l in range(2, H + 1)]
    norms.append(np.sqrt(net.output_precision) * net.scalings[-1]
                 * np.linalg.norm(net.weights[-1], 2))
    return float(max(norms))


@thread_policy
def small_branch_bound(net: LinearPCN) -> float:
    """Upper bound ``4ε + ε²`` on ``‖H_z − T_H ⊗ I‖₂`` (module docstring), ``ε`` from
    :func:`residual_branch_scale`."""
    eps = residual_branch_scale(net)
    return 4.0 * eps + eps * eps


@thread_policy
def small_branch_deviation(net: LinearPCN) -> float:
    """``‖H_z − T_H ⊗ I_N‖₂``, exactly (banded eigensolver on the difference; ``O(n² u)``).

    Requires identity skips on the hidden layers, equal hidden widths, unit hidden precisions.
    """
    _check_small_branch_net(net)
    hz = ActivityHessian(net)
    ab = hz.to_banded()
    H, N = net.n_hidden, net.hidden_widths[0]
    d, _ = tridiagonal_limit_matrix(H)
    ab[0] -= np.repeat(d, N)
    if H > 1:
        ab[N, : (H - 1) * N] += 1.0           # blocks (l+1, l) of T_H ⊗ I are −I
    w = sla.eigvals_banded(ab, lower=True, check_finite=False)
    return float(np.max(np.abs(w)))
