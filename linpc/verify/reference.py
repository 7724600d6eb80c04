"""Dense, deliberately naive reference implementations (small networks only).

These are written from the definitions, share no computation with the fast routes (they read only
the raw attributes of a :class:`~linpc.LinearPCN`: weights, biases, multipliers, skip flags and
precisions) and use different algorithms, so that :mod:`linpc.verify` and the tests can play
them against the block-Cholesky and Gaussian routes:

* the energy as a weighted least-squares problem ``F(z) = ½‖Π^{1/2}(D z − c)‖²`` with explicit
  dense ``D`` (docs/theory.md §2.2.3), minimised with ``numpy.linalg.lstsq`` (SVD);
* the rescaling ``S`` as the literal sum of products of Theorem 1 (``numpy.linalg.multi_dot``);
* the activity Hessian as ``Dᵀ Π D``;
* the multipliers of SP / NTP / μPC as a layer-by-layer table (:func:`reference_scalings`);
* generators and probes for checks: trust-region problems with a prescribed spectrum
  (:func:`trust_region_problem`), directional finite differences (:func:`directional_derivative`).

Cost is cubic in the total number of activities: use for ``n ≲ 2000``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from linpc.core.network import LinearPCN
from linpc.numerics.types import Array

__all__ = [
    "dense_activity_hessian", "dense_equilibrated_energy", "dense_equilibrium", "dense_layer_maps",
    "dense_least_squares_system", "dense_mse", "dense_rescaling", "directional_derivative",
    "haar_orthogonal", "reference_scalings", "trust_region_problem",
]


def dense_layer_maps(net: LinearPCN) -> tuple[list[Array], list[Array]]:
    """Explicit ``M_l = a_l W_l (+ I)`` and effective biases ``c_l = a_l b_l`` from the raw data."""
    Ms, cs = [], []
    for W, a, skip, b in zip(net.weights, net.scalings, net.skips, net.biases, strict=True):
        M = a * np.array(W)
        if skip:
            M = M + np.eye(W.shape[0])
        Ms.append(M)
        cs.append(np.zeros(W.shape[0]) if b is None else a * np.array(b))
    return Ms, cs


def dense_least_squares_system(net: LinearPCN, x_i: ArrayLike, y_i: ArrayLike):
    """``(A, c)`` with ``F(z) = ½‖A z − c‖²`` for one sample, ``A = Π^{1/2} D`` (dense).

    Rows of block ``l`` are ``√π_l (z_l − M_l z_{l-1} − c_l)``, with ``z_0 = x``, ``z_L = y`` moved
    to
    the right-hand side.
    """
    Ms, cs = dense_layer_maps(net)
    n_h = net.hidden_widths
    H, L = net.n_hidden, net.n_layers
    offs = np.concatenate([[0], np.cumsum(n_h)]).astype(int)
    n = int(offs[-1])
    decay = net.activity_decay
    rows = int(sum(net.widths[1:])) + (n if decay else 0)
    A = np.zeros((rows, n))
    c = np.zeros(rows)
    x_i = np.asarray(x_i, dtype=np.float64)
    y_i = np.asarray(y_i, dtype=np.float64)
    r0 = 0
    for l in range(1, L + 1):
        nl = net.widths[l]
        s = np.sqrt(net.precisions[l - 1])
        rs = slice(r0, r0 + nl)
        if l < L:        # √π_l (z_l − M_l z_{l-1} − c_l), z_0 = x on the right-hand side
            A[rs, offs[l - 1]:offs[l]] = s * np.eye(nl)
            if l >= 2:
                A[rs, offs[l - 2]:offs[l - 1]] = -s * Ms[l - 1]
            c[rs] = s * (cs[l - 1] + (Ms[0] @ x_i if l == 1 else 0.0))
        else:            # −√π_L (y − M_L z_H − c_L) = √π_L (M_L z_H − (y − c_L))
            A[rs, offs[H - 1]:offs[H]] = s * Ms[L - 1]
            c[rs] = s * (y_i - cs[L - 1])
        r0 += nl
    if decay:            # √δ z_l = 0 rows of the activity regulariser
        A[r0:, :] = np.sqrt(decay) * np.eye(n)
    return A, c


def dense_activity_hessian(net: LinearPCN) -> Array:
    """``H_z = Aᵀ A`` (= ``Dᵀ Π D``) from the dense least-squares matrix (data-independent)."""
    A, _ = dense_least_squares_system(net, np.zeros(net.d_x), np.zeros(net.d_y))
    return A.T @ A


def dense_equilibrium(net: LinearPCN, x: ArrayLike, y: ArrayLike) -> tuple[Array, Array]:
    """Equilibria by least squares (SVD), per sample: stacked ``z*`` (B, n) and ``F*`` (B,)."""
    xa, ya = np.atleast_2d(np.asarray(x, float)), np.atleast_2d(np.asarray(y, float))
    Z, F = [], []
    for xi, yi in zip(xa, ya, strict=True):
        A, c = dense_least_squares_system(net, xi, yi)
        z, *_ = np.linalg.lstsq(A, c, rcond=None)
        res = A @ z - c
        Z.append(z)
        F.append(0.5 * res @ res)
    return np.array(Z), np.array(F)


def dense_rescaling(net: LinearPCN) -> Array:
    """``S = Σ_{l=1}^{L} π_l⁻¹ M_{L:l+1} M_{L:l+1}ᵀ`` by explicit products (Theorem 1 literally)."""
    Ms, _ = dense_layer_maps(net)
    L = net.n_layers
    S = np.zeros((net.d_y, net.d_y))
    for l in range(1, L + 1):
        chain = Ms[l:][::-1]                      # M_L, …, M_{l+1}
        if not chain:
            P = np.eye(net.d_y)
        elif len(chain) == 1:
            P = chain[0]
        else:
            P = np.linalg.multi_dot(chain)
        S += P @ P.T / net.precisions[l - 1]
    return S


def _dense_output(net: LinearPCN, x: Array) -> Array:
    Ms, cs = dense_layer_maps(net)
    z = np.atleast_2d(np.asarray(x, float)).T
    for M, c in zip(Ms, cs, strict=True):
        z = M @ z + c[:, None]
    return z.T


def dense_equilibrated_energy(net: LinearPCN, x: ArrayLike, y: ArrayLike) -> Array:
    """Per-sample ``½ rᵀS⁻¹r`` with ``S`` from :func:`dense_rescaling` (``numpy.linalg.solve``)."""
    r = np.atleast_2d(np.asarray(y, float)) - _dense_output(net, x)
    S = dense_rescaling(net)
    return 0.5 * np.sum(r * np.linalg.solve(S, r.T).T, axis=1)


def dense_mse(net: LinearPCN, x: ArrayLike, y: ArrayLike) -> float:
    """``ℒ = (1/2B) Σ ‖y − ŷ‖²`` with the dense forward pass."""
    r = np.atleast_2d(np.asarray(y, float)) - _dense_output(net, x)
    return float(0.5 * np.mean(np.sum(r * r, axis=1)))


def reference_scalings(widths, param_type, use_skips=False, gamma=None, convention="fan_in"):
    """The multipliers of docs/theory.md §1.4 written out layer by layer (no code shared with
    :func:`linpc.core.parameterisation.layer_scalings`).

    ``convention="fan_in"`` uses each layer's fan-in, ``"jpc"`` the first hidden width for every
    layer after the first; ``gamma`` divides ``a_L``.
    """
    L = len(widths) - 1
    out = []
    for l in range(1, L + 1):
        fan = widths[l - 1] if (convention == "fan_in" or l == 1) else widths[1]
        if param_type == "sp":
            a = 1.0
        elif l == 1:
            a = fan ** -0.5
        elif l < L:
            a = (fan * L) ** -0.5 if use_skips else fan ** -0.5
        else:
            a = 1.0 / fan if param_type == "mupc" else fan ** -0.5
        if l == L and gamma is not None:
            a = a / gamma
        out.append(a)
    return np.array(out)


def haar_orthogonal(rng: np.random.Generator, n: int) -> Array:
    """A Haar-distributed ``n × n`` orthogonal matrix: QR of a Gaussian with the signs of
    ``diag(R)`` fixed (Mezzadri 2007, Notices AMS 54)."""
    Q, R = np.linalg.qr(rng.standard_normal((n, n)))
    return Q * np.sign(np.diag(R))


def trust_region_problem(n: int, rng: np.random.Generator | int, kind: str, log_radius: float, *,
                         multiplicity: int = 1, log_tiny: float = -8.0):
    """A trust-region problem ``(g, H, Δ, info)`` with a prescribed spectrum, for checking solvers.

    ``H = Q diag(w) Qᵀ`` with a Haar-random orthogonal ``Q`` and ``w`` by ``kind``: ``"definite"``
    (``w ∈ [0.1, 3]``), ``"indefinite"`` and ``"zero_gradient"`` (``w ∈ [−2, 2]``; the latter with
    ``g = 0``), ``"singular"`` (one zero eigenvalue), ``"hard"`` and ``"near_hard"`` (the bottom
    eigenvalue ``w_1 < 0`` with the given multiplicity, ``g`` in the complement of its eigenspace,
    plus a component of relative size ``10^log_tiny`` in it for ``"near_hard"``). ``Δ`` is
    ``10^log_radius`` times ``‖p_⊥‖``, ``p_⊥ = −(H − w_1I)^†g``, for the hard kinds (the hard case
    proper needs ``Δ ≥ ‖p_⊥‖``) and ``10^log_radius`` otherwise.

    Returns
    -------
    g : ndarray, shape (n,)
    H : ndarray, shape (n, n)
    radius : float
    info : dict or None
        For the hard kinds: ``p_perp``, ``w1``, ``bottom`` (an orthonormal basis of the bottom
        eigenspace), ``gam_rest`` and ``w_rest`` (the other eigen-coefficients of ``g``).
    """
    gen = np.random.default_rng(rng)
    Q = haar_orthogonal(gen, n) if n > 1 else np.ones((1, 1))
    m = min(max(int(multiplicity), 1), n)
    if kind == "definite":
        w = gen.uniform(0.1, 3.0, n)
    elif kind in ("indefinite", "zero_gradient"):
        w = gen.uniform(-2.0, 2.0, n)
    elif kind == "singular":
        w = np.concatenate([[0.0], gen.uniform(0.1, 3.0, n - 1)])
    elif kind in ("hard", "near_hard"):
        w1 = -gen.uniform(0.2, 2.0)
        w = np.concatenate([np.full(m, w1), w1 + gen.uniform(0.1, 3.0, n - m)])
    else:
        raise ValueError(f"unknown kind {kind!r}")
    order = np.argsort(w)
    w, Q = w[order], Q[:, order]
    H = Q @ np.diag(w) @ Q.T
    H = 0.5 * (H + H.T)
    gam = gen.standard_normal(n)
    info = None
    scale = 1.0
    if kind in ("hard", "near_hard"):
        gam[:m] = 0.0
        c_perp = np.zeros(n)
        c_perp[m:] = -gam[m:] / (w[m:] - w[0])
        p_perp = Q @ c_perp
        info = {"p_perp": p_perp, "w1": w[0], "bottom": Q[:, :m], "gam_rest": gam[m:],
                "w_rest": w[m:]}
        if kind == "near_hard":
            tiny = gen.standard_normal(m)
            gam[:m] = 10.0**log_tiny * np.linalg.norm(gam) * tiny / np.linalg.norm(tiny)
        scale = max(np.linalg.norm(p_perp), 1e-3)
    g = np.zeros(n) if kind == "zero_gradient" else Q @ gam
    return g, H, scale * 10.0**log_radius, info


def directional_derivative(f, theta: Array, v: Array,
                           h0: float = 1e-2) -> tuple[float, float, float]:
    """``d/dt f(θ + t v)`` at ``t = 0`` by ``scipy.differentiate.derivative`` (Richardson).

    Returns
    -------
    derivative : float
    error : float
        ``scipy.differentiate``'s error estimate.
    step : float
        The final step ``h0 / 2^nit``, for the cancellation term of
        :func:`linpc.numerics.tolerances.derivative_tolerance`.
    """
    from scipy.differentiate import derivative

    def fun(t):
        t = np.asarray(t, float)
        return np.array([f(theta + s * v) for s in t.ravel()]).reshape(t.shape)

    res = derivative(fun, 0.0, initial_step=h0, tolerances={"rtol": 1e-12})
    return float(res.df), float(res.error), h0 / 2.0 ** int(res.nit)
