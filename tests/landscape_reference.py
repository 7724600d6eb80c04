"""Vectorised closed forms of ``ℒ`` and ``F*`` for finite-difference references in the tests.

Written from the definitions (Theorem 1 of Innocenti et al. 2024, docs/theory.md §2.1),
independently of linpc's implementation: the parameters of ``K`` points are stacked as the columns
of ``θ`` (shape
``(P, K)``, linpc's parameter order), every layer map is formed for all points at once, and

    ℒ = (1/2B) Σ_i ‖r_i‖²,   F* = (1/2B) Σ_i r_iᵀ S⁻¹ r_i,
    S = Σ_{l=1}^{L} π_l⁻¹ M_{L:l+1}M_{L:l+1}ᵀ,

with ``S⁻¹ r`` by ``numpy.linalg.solve`` on the stacked matrices. ``scipy.differentiate`` calls its
function with thousands of abscissae; evaluating them in one batched pass keeps the reference
Hessians fast.
"""

from __future__ import annotations

import numpy as np

from linpc import LinearPCN


def _layer_maps(net: LinearPCN, thetas: np.ndarray):
    K = thetas.shape[1]
    Ms, cs, pos = [], [], 0
    for l, W in enumerate(net.weights):
        Wk = thetas[pos:pos + W.size].T.reshape(K, *W.shape)
        pos += W.size
        M = net.scalings[l] * Wk
        if net.skips[l]:
            M = M + np.eye(W.shape[0])
        Ms.append(M)
    for l, b in enumerate(net.biases):
        if b is None:
            cs.append(np.zeros((K, net.widths[l + 1])))
        else:
            cs.append(net.scalings[l] * thetas[pos:pos + b.size].T)
            pos += b.size
    assert pos == thetas.shape[0]
    return Ms, cs


def closed_forms(net: LinearPCN, x: np.ndarray, y: np.ndarray, thetas) -> tuple:
    """``(ℒ, F*)`` at the parameter points ``thetas`` of shape ``(P, ...)``; outputs ``(...)``."""
    T = np.asarray(thetas, dtype=np.float64)
    shape = T.shape[1:]
    T2 = T.reshape(T.shape[0], -1)
    K = T2.shape[1]
    Ms, cs = _layer_maps(net, T2)
    Z = np.broadcast_to(x, (K, *x.shape))
    for M, c in zip(Ms, cs, strict=True):
        Z = Z @ M.transpose(0, 2, 1) + c[:, None, :]
    r = y[None] - Z                                        # (K, B, d_y)
    mse = 0.5 * np.mean(np.sum(r * r, axis=2), axis=1)
    pi = net.precisions
    L = net.n_layers
    P = np.broadcast_to(np.eye(net.d_y), (K, net.d_y, net.d_y))
    S = P @ P.transpose(0, 2, 1) / pi[L - 1]
    for l in range(L, 1, -1):                              # P_{l-1} = P_l M_l
        P = P @ Ms[l - 1]
        S = S + P @ P.transpose(0, 2, 1) / pi[l - 2]
    sol = np.linalg.solve(S, r.transpose(0, 2, 1))        # (K, d_y, B)
    F = 0.5 * np.mean(np.sum(r.transpose(0, 2, 1) * sol, axis=1), axis=1)
    return mse.reshape(shape), F.reshape(shape)
