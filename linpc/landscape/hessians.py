"""Hessians of the equilibrated energy F* and of the MSE ℒ with respect to all parameters.

Parameter order (:mod:`linpc.core.parameter_arrays`): ``W_1, …, W_L`` row-major, then the biases
that are present. Both Hessians are exact; no finite differences are used.

**Equilibrated energy (Schur complement).** Per sample, the energy
``F(z, θ) = Σ_l (π_l/2)‖e_l‖² (+ (δ/2)Σ_{l≤H}‖z_l‖²)``, ``e_l = z_l − M_l z_{l-1} − c_l``, is a sum
of squares of errors that are affine in ``z`` and, for fixed ``z``, linear in ``θ``: ``e_l`` depends
on ``(W_l, b_l)`` only, through ``−a_l (W_l z_{l-1} + b_l)``. Hence the joint Hessian
``∇²_{(z,θ)}F = JᵀΠJ + Σ_l π_l e_l·∂²e_l`` has a second-order term only in the ``θz`` blocks
(``∂²e_l/∂W_l∂z_{l-1} = −a_l``), ``F_θθ`` is block-diagonal over layers, and with
``F*(θ) = F(z*(θ), θ)``, ``∂z*/∂θ = −H_z⁻¹F_zθ`` (implicit function theorem):

    ∇²F* = (1/B) Σ_i [ F_θθ − F_θz H_z⁻¹ F_zθ ]_i        evaluated at z = z*_i(θ)

(docs/theory.md §3, after [P1]_ and [P4]_; the gradient, by the envelope theorem,
is ``F_θ`` at ``z*``). For a direction ``V = (dW, db)`` and ``ε_l := −a_l(dW_l z_{l-1} + db_l)``:

    (F_zθ V)_l   = π_l ε_l − π_{l+1} M_{l+1}ᵀ ε_{l+1} − π_{l+1} a_{l+1} dW_{l+1}ᵀ e_{l+1}   (l ≤ H)
    (F_θθ V)_{W_l} = −a_l π_l ε_l z_{l-1}ᵀ,   (F_θθ V)_{b_l} = −a_l π_l ε_l
    (F_θz u)_{W_l} = −a_l π_l [(u_l − M_l u_{l-1}) z_{l-1}ᵀ + e_l u_{l-1}ᵀ]     (u_0 = u_L = 0)

so one Hessian-vector product costs a few layer products per sample and one solve with ``B``
right-hand sides, using the block Cholesky factor of ``H_z`` cached by
:class:`~linpc.core.activity_hessian.ActivityHessian` (one factorisation for all samples and
directions). An activity decay ``δ`` only enters ``H_z`` (it does not depend on ``θ``), so the same
formula gives the Hessian of ``min_z F_δ``.

**MSE (forward-over-reverse by hand).** ``ℒ = (1/2B) Σ_i ‖r_i‖²``. With the feedforward pass
``ẑ_l``, the backpropagated output errors ``g_L = ŷ − y``, ``g_{l-1} = M_lᵀ g_l`` and the tangents
``dẑ_l = M_l dẑ_{l-1} + a_l(dW_l ẑ_{l-1} + db_l)``, ``dg_L = dẑ_L``,
``dg_{l-1} = M_lᵀ dg_l + a_l dW_lᵀ g_l``:

    (∇²ℒ V)_{W_l} = (a_l/B) Σ_i [dg_l ẑ_{l-1}ᵀ + g_l dẑ_{l-1}ᵀ],   (∇²ℒ V)_{b_l} = (a_l/B) Σ_i dg_l.

The part without ``g`` in the tangents (``dg_{l-1} = M_lᵀ dg_l``, no ``g_l dẑ_{l-1}ᵀ``) is the
Gauss–Newton matrix ``JᵀJ/B``; the rest is the residual term. ``mean_over_outputs=True`` divides by
``d_y``: the MSE convention of the Hessian notebooks of Innocenti et al. (2024) [P1]_,
docs/theory.md §0.

References
----------
.. [P1] F. Innocenti, E. M. Achour, R. Singh, C. L. Buckley, "Only Strict Saddles in the Energy
   Landscape of Predictive Coding Networks?", NeurIPS 2024, arXiv:2408.11979 (Theorems 1–3,
   Figs. 3, 4, 8–10).
.. [P4] F. Innocenti, PhD thesis, arXiv:2510.23323.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy.sparse.linalg import LinearOperator

from linpc.core.activity_hessian import ActivityHessian
from linpc.core.backprop import backpropagate
from linpc.core.equilibrium import Equilibrium, solve_equilibrium
from linpc.core.network import LinearPCN, check_network
from linpc.core.parameter_arrays import ParameterArrays
from linpc.numerics.threads import thread_policy
from linpc.numerics.tolerances import assembly_tolerance
from linpc.numerics.types import Array
from linpc.numerics.validation import as_real_array, check_bool, check_instance, check_tolerance
from linpc.numerics.warnings import DEFAULT_ERROR_WARNING

__all__ = [
    "DENSE_HESSIAN_BYTES_LIMIT", "EquilibratedEnergyHessian", "MSEHessian", "ParameterHessian",
    "equilibrated_energy_hessian", "equilibrated_energy_hvp", "mse_hessian", "mse_hvp",
]
Objective = Literal["energy", "mse"]

#: Largest dense Hessian (bytes) that :meth:`ParameterHessian.to_dense` builds without
#: ``force=True`` (a 16 000-parameter network).
DENSE_HESSIAN_BYTES_LIMIT = 2 * 1024**3
#: Number of floats of per-sample work arrays allowed per block of directions in ``matmat``.
_CHUNK_FLOATS = 1 << 22


def _sym_norm_bound(A: Array) -> float:
    """``‖A‖_∞`` (max absolute row sum): an upper bound of ``‖A‖₂`` for symmetric ``A``."""
    return float(np.abs(A).sum(axis=1).max()) if A.size else 0.0


@thread_policy
class ParameterHessian(LinearOperator):
    """A symmetric Hessian over the flat parameter vector of a network (``LinearOperator``).

    Subclasses implement :meth:`_apply_parts`, which maps a block of directions to the two parts
    whose sum is the Hessian applied to them. Products with ``(P,)`` vectors or ``(P, k)``
    blocks are exact and matrix-free (``@``, ``matvec``, ``matmat``); :meth:`to_dense` assembles the
    matrix for small networks by applying it to the identity in blocks.

    Attributes
    ----------
    net : LinearPCN
    objective : {"energy", "mse"}
        ``"energy"`` for ``∇²F*``, ``"mse"`` for ``∇²ℒ``.
    part_names : tuple of str
        Names of the two summed parts.
    """

    objective: str = ""
    part_names: tuple[str, str] = ("", "")

    def __init__(self, net: LinearPCN, x: ArrayLike, y: ArrayLike) -> None:
        check_network(net)
        xa, ya = net.check_data(x, y)
        self.net = net
        self.x = np.array(xa)           # private copies: the operator keeps them
        self.y = np.array(ya)
        self.batch = xa.shape[0]
        P = net.n_parameters
        super().__init__(dtype=np.dtype(np.float64), shape=(P, P))
        self._dense_parts: tuple[Array, Array] | None = None

    # ------------------------------------------------------------------ to implement
    def _apply_parts(self, dW: list[Array], db: list[Array | None]):  # pragma: no cover
        raise NotImplementedError

    @property
    def kappa(self) -> float:
        """Condition number entering the round-off bound (``κ(H_z)`` for ``F*``, 1 for ``ℒ``)."""
        return 1.0

    @property
    def n_activities(self) -> int:
        return 0

    # ------------------------------------------------------------------ products
    def _split(self, V: Array) -> tuple[list[Array], list[Array | None]]:
        k = V.shape[1]
        net = self.net
        dW, db, pos = [], [], 0
        for W in net.weights:
            dW.append(V[pos:pos + W.size].T.reshape(k, *W.shape))
            pos += W.size
        for b in net.biases:
            if b is None:
                db.append(None)
            else:
                db.append(V[pos:pos + b.size].T)
                pos += b.size
        return dW, db

    def _join(self, rW: list[Array], rb: list[Array | None], k: int) -> Array:
        parts = [R.reshape(k, -1) for R in rW] + [R for R in rb if R is not None]
        return np.concatenate(parts, axis=1).T

    def _chunk(self) -> int:
        widths = sum(self.net.widths)
        return max(1, _CHUNK_FLOATS // max(1, 4 * self.batch * widths))

    def _apply_block(self, V: Array, parts: bool) -> Array | tuple[Array, Array]:
        k = V.shape[1]
        outs_t, outs_a = [], []
        step = self._chunk()
        for s in range(0, k, step):
            Vc = np.ascontiguousarray(V[:, s:s + step])
            dW, db = self._split(Vc)
            (aW, ab), (bW, bb) = self._apply_parts(dW, db)
            kc = Vc.shape[1]
            A = self._join(aW, ab, kc)
            Bp = self._join(bW, bb, kc)
            if parts:
                outs_t.append(A)
                outs_a.append(Bp)
            else:
                outs_t.append(A + Bp)
        if parts:
            return np.concatenate(outs_t, axis=1), np.concatenate(outs_a, axis=1)
        return np.concatenate(outs_t, axis=1)

    def _matmat(self, X):
        Xa = np.asarray(X, dtype=np.float64)
        return self._apply_block(Xa, parts=False)

    def _matvec(self, x):
        xa = np.asarray(x, dtype=np.float64).reshape(-1, 1)
        return self._apply_block(xa, parts=False)[:, 0]

    def _rmatvec(self, x):
        return self._matvec(x)

    def _rmatmat(self, X):
        return self._matmat(X)

    def _adjoint(self):
        return self

    def apply(self, direction: ParameterArrays | ArrayLike) -> Array:
        """Hessian-vector product with a flat vector or :class:`~linpc.ParameterArrays`."""
        v = direction.flat() if isinstance(direction, ParameterArrays) else as_real_array(
            direction, "direction")
        if v.ndim not in (1, 2) or v.shape[0] != self.shape[0]:
            raise ValueError(
                f"direction must have shape ({self.shape[0]},) or ({self.shape[0]}, k) in the "
                f"parameter order of {self.net!r}, got {v.shape}"
            )
        return self._matvec(v) if v.ndim == 1 else self._matmat(v)

    # ------------------------------------------------------------------ dense
    def _check_dense(self, force: bool) -> None:
        P = self.shape[0]
        if P * P * 8 * 3 > DENSE_HESSIAN_BYTES_LIMIT and not force:
            raise MemoryError(
                f"a dense {P}×{P} Hessian and its parts would take "
                f"{3 * P * P * 8 / 2**30:.1f} GiB; "
                "use the matrix-free operator (matrix_free=True) or pass force=True"
            )

    def dense_parts(self, *, force: bool = False) -> tuple[Array, Array]:
        """The two summed parts as dense symmetric matrices (cached), see :attr:`part_names`."""
        force = check_bool(force, "force")
        if self._dense_parts is None:
            self._check_dense(force)
            A, Bp = self._apply_block(np.eye(self.shape[0]), parts=True)
            self._dense_parts = (0.5 * (A + A.T), 0.5 * (Bp + Bp.T))
        return self._dense_parts

    def to_dense(self, *, force: bool = False) -> Array:
        """Dense ``(P, P)`` Hessian (exactly symmetrised), assembled from Hessian-vector products.
        """
        A, Bp = self.dense_parts(force=force)
        return A + Bp

    def roundoff_tolerance(self) -> float:
        """:func:`~linpc.numerics.tolerances.assembly_tolerance` for this Hessian (dense parts:
        ``‖·‖_∞`` bounds).

        For networks too large for a dense assembly the parts' 2-norms are estimated with a
        Lanczos run (``eigsh``, ``which="LM"``, relative tolerance 1e-3) instead.
        """
        P = self.shape[0]
        if self._dense_parts is not None or P * P * 8 * 3 <= DENSE_HESSIAN_BYTES_LIMIT // 8:
            A, Bp = self.dense_parts()
            scale = _sym_norm_bound(A) + _sym_norm_bound(Bp)
        else:
            scale = self._part_norm(0) + self._part_norm(1)
        return assembly_tolerance(P, scale, kappa=self.kappa, n_solve=self.n_activities)

    def _part_norm(self, which: int) -> float:
        from scipy.sparse.linalg import eigsh

        P = self.shape[0]

        def mv(v):
            return self._apply_block(np.asarray(v, float).reshape(P, -1), parts=True)[which]

        op = LinearOperator((P, P), matvec=mv, matmat=mv, dtype=np.float64)
        v0 = np.random.default_rng(2024).standard_normal(P)
        if not np.any(mv(v0)):       # an identically zero part (e.g. ∇²ℒ's parts at θ = 0)
            return 0.0
        w = eigsh(op, k=1, which="LM", tol=1e-3, v0=v0, ncv=min(P - 1, 20),
                  return_eigenvectors=False)
        return float(abs(w[0])) * 1.01


class EquilibratedEnergyHessian(ParameterHessian):
    """``∇²F*(θ)`` as the Schur complement ``F_θθ − F_θz H_z⁻¹ F_zθ`` at the equilibrium.

    Built once per ``(net, x, y)``: the equilibrium ``z*`` (block Cholesky) and the factor of
    ``H_z`` are cached; every product then costs ``O(k B Σ n_l n_{l-1})`` for ``k`` directions
    plus one block solve with ``k·B`` right-hand sides (module docstring).

    Parameters
    ----------
    net : LinearPCN
        Any configuration: multipliers, skips, biases, per-layer precisions, activity decay.
    x, y : array_like
        Batch ``(B, d_x)``, ``(B, d_y)``.
    equilibrium : Equilibrium, optional
        A precomputed equilibrium of ``(net, x, y)`` (any route).
    hessian : ActivityHessian, optional
        ``H_z`` of ``net`` with a cached factor.
    warn_if_error_above : float or None
        Largest acceptable expected relative error ``κ·eps`` of the equilibrium solve
        (:func:`~linpc.solve_equilibrium`); ``None`` never warns.

    Attributes
    ----------
    part_names : ("F_θθ", "−F_θz H_z⁻¹ F_zθ")
    """

    objective = "energy"
    part_names = ("F_θθ", "−F_θz H_z⁻¹ F_zθ")

    def __init__(self, net: LinearPCN, x: ArrayLike, y: ArrayLike, *,
                 equilibrium: Equilibrium | None = None,
                 hessian: ActivityHessian | None = None,
                 warn_if_error_above: float | None = DEFAULT_ERROR_WARNING) -> None:
        check_tolerance(warn_if_error_above, "warn_if_error_above", allow_none=True)
        if equilibrium is not None:
            check_instance(equilibrium, Equilibrium, "equilibrium")
        if hessian is not None:
            check_instance(hessian, ActivityHessian, "hessian")
        super().__init__(net, x, y)
        Hz = hessian if hessian is not None else ActivityHessian(net)
        if Hz.net is not net:
            raise ValueError("hessian was built for a different network")
        eq = equilibrium if equilibrium is not None else solve_equilibrium(
            net, self.x, self.y, method="cholesky", hessian=Hz,
            warn_if_error_above=warn_if_error_above)
        self.equilibrium = eq
        self.activity_hessian = Hz
        self._factor = Hz.factor()
        self._Z = [self.x, *eq.activities, self.y]
        self._E = list(eq.errors)
        self._kappa: float | None = None

    @property
    def kappa(self) -> float:
        """Estimate of ``κ(H_z)`` (1-norm, from the factor)."""
        if self._kappa is None:
            self._kappa = 1.0 / self.activity_hessian.rcond_estimate()
        return self._kappa

    @property
    def n_activities(self) -> int:
        return self.net.n_activities

    def _apply_parts(self, dW, db):
        net, Z, E = self.net, self._Z, self._E
        a, pi = net.scalings, net.precisions
        L, H, B = net.n_layers, net.n_hidden, self.batch
        k = dW[0].shape[0]
        # ε_l = de_l for the direction (z fixed): −a_l (dW_l z_{l-1} + db_l), shape (k, B, n_l)
        eps = []
        for l in range(1, L + 1):
            t = np.matmul(Z[l - 1], dW[l - 1].transpose(0, 2, 1))
            if db[l - 1] is not None:
                t += db[l - 1][:, None, :]
            eps.append(-a[l - 1] * t)
        # F_zθ V, per sample (k, B, n_l), l = 1..H
        rhs = []
        for l in range(1, H + 1):
            r = pi[l - 1] * eps[l - 1] - pi[l] * net.apply_layer_transpose(l + 1, eps[l])
            r -= (pi[l] * a[l]) * np.matmul(E[l], dW[l])
            rhs.append(r)
        n = net.n_activities
        R = np.concatenate(rhs, axis=2).reshape(k * B, n)
        U = self._factor.solve(R.T).T.reshape(k, B, n)
        off = net.activity_offsets
        u = [None] + [U[:, :, off[i]:off[i + 1]] for i in range(H)] + [None]
        gW, gb, sW, sb = [], [], [], []
        for l in range(1, L + 1):
            c = -a[l - 1] * pi[l - 1] / B
            # du_l = u_l − M_l u_{l-1}
            if l <= H:
                du = u[l] if l == 1 else u[l] - net.apply_layer(l, u[l - 1])
            else:
                du = -net.apply_layer(l, u[l - 1])
            Zt = Z[l - 1]
            gW.append(c * np.matmul(eps[l - 1].transpose(0, 2, 1), Zt))
            s = np.matmul(du.transpose(0, 2, 1), Zt)
            if l >= 2:
                s += np.matmul(E[l - 1].T, u[l - 1])
            sW.append(-c * s)
            if db[l - 1] is None:
                gb.append(None)
                sb.append(None)
            else:
                gb.append(c * eps[l - 1].sum(axis=1))
                sb.append(-c * du.sum(axis=1))
        return (gW, gb), (sW, sb)


class MSEHessian(ParameterHessian):
    """``∇²ℒ(θ)`` by a hand-written forward-over-reverse pass (Gauss–Newton + residual term).

    Parameters
    ----------
    net : LinearPCN
    x, y : array_like
    mean_over_outputs : bool
        Use ``ℒ/d_y`` (mean over batch *and* outputs): the convention of the Hessian notebooks
        of P1 (docs/theory.md §0), whose MSE eigenvalues are ``1/d_y`` times linpc's.

    Attributes
    ----------
    part_names : ("Gauss–Newton JᵀJ/B", "residual term")
    """

    objective = "mse"
    part_names = ("Gauss–Newton JᵀJ/B", "residual term")

    def __init__(self, net: LinearPCN, x: ArrayLike, y: ArrayLike, *,
                 mean_over_outputs: bool = False) -> None:
        mean_over_outputs = check_bool(mean_over_outputs, "mean_over_outputs")
        super().__init__(net, x, y)
        self.mean_over_outputs = mean_over_outputs
        self._Zh = net.forward(self.x)
        # backpropagated output errors G_l = M_{L:l+1}ᵀ(ŷ − y), l = 0..L
        _, self._G = backpropagate(net, self._Zh, {net.n_layers: self._Zh[-1] - self.y},
                                   return_adjoints=True)

    def _apply_parts(self, dW, db):
        net, Zh, G = self.net, self._Zh, self._G
        a, L, B = net.scalings, net.n_layers, self.batch
        scale = 1.0 / B / (net.d_y if self.mean_over_outputs else 1)
        # forward tangents dẑ_l, shape (k, B, n_l); dẑ_0 = 0
        dz: list = [None]
        for l in range(1, L + 1):
            t = np.matmul(Zh[l - 1], dW[l - 1].transpose(0, 2, 1))
            if db[l - 1] is not None:
                t += db[l - 1][:, None, :]
            t *= a[l - 1]
            if l >= 2:
                t += net.apply_layer(l, dz[l - 1])
            dz.append(t)
        # Gauss–Newton part: backpropagate the output tangent dẑ_L
        gn = backpropagate(net, Zh, {L: dz[L]}, scale=scale)
        # residual part: the tangent of the backward pass, whose sources are a_l G_l dW_l on layer
        # l − 1, plus the explicit term G_lᵀ dẑ_{l−1} of each weight block
        rs = backpropagate(net, Zh, {l - 1: a[l - 1] * np.matmul(G[l], dW[l - 1])
                                     for l in range(2, L + 1)}, scale=scale)
        rsW = list(rs.weights)
        for l in range(2, L + 1):
            rsW[l - 1] = rsW[l - 1] + (a[l - 1] * scale) * np.matmul(G[l].T, dz[l - 1])
        return (list(gn.weights), list(gn.biases)), (rsW, list(rs.biases))


# ---------------------------------------------------------------------------------------------
# net-based functions
# ---------------------------------------------------------------------------------------------
@thread_policy
def equilibrated_energy_hessian(
    net: LinearPCN,
    x: ArrayLike,
    y: ArrayLike,
    *,
    matrix_free: bool = False,
    equilibrium: Equilibrium | None = None,
    warn_if_error_above: float | None = DEFAULT_ERROR_WARNING,
) -> Array | EquilibratedEnergyHessian:
    """Hessian of the equilibrated energy ``F*`` w.r.t. all weights (and biases).

    ``∇²F* = (1/B)Σ_i [F_θθ − F_θz H_z⁻¹ F_zθ]_i`` at ``z = z*`` (Schur complement of the joint
    ``(z, θ)`` Hessian of ``F``; module docstring), for every configuration of
    :class:`~linpc.LinearPCN`. ``F* = (1/2B)Σ rᵀS⁻¹r`` is P1's Theorem 1.

    Parameters
    ----------
    net : LinearPCN
    x, y : array_like
        Batch ``(B, d_x)``, ``(B, d_y)``.
    matrix_free : bool
        Return an :class:`EquilibratedEnergyHessian` (a ``scipy.sparse.linalg.LinearOperator``
        with exact products) instead of a dense ``(P, P)`` array.
    equilibrium : Equilibrium, optional
        Precomputed equilibrium.
    warn_if_error_above : float or None
        Largest acceptable expected relative error ``κ·eps`` of the equilibrium solve
        (:func:`~linpc.solve_equilibrium`); ``None`` never warns.

    Returns
    -------
    ndarray of shape (P, P), or EquilibratedEnergyHessian

    References
    ----------
    P1 (arXiv:2408.11979) Theorem 1 and Figs. 3–4, 8–10; docs/theory.md §3.
    """
    matrix_free = check_bool(matrix_free, "matrix_free")
    op = EquilibratedEnergyHessian(net, x, y, equilibrium=equilibrium,
                                   warn_if_error_above=warn_if_error_above)
    return op if matrix_free else op.to_dense()


@thread_policy
def mse_hessian(
    net: LinearPCN,
    x: ArrayLike,
    y: ArrayLike,
    *,
    matrix_free: bool = False,
    mean_over_outputs: bool = False,
) -> Array | MSEHessian:
    """Hessian of the MSE ``ℒ = (1/2B)Σ‖y − ŷ‖²`` w.r.t. all weights (and biases).

    Gauss–Newton part plus residual term by a forward-over-reverse pass (module docstring).

    Parameters
    ----------
    matrix_free : bool
        Return an :class:`MSEHessian` ``LinearOperator`` instead of a dense array.
    mean_over_outputs : bool
        Hessian of ``ℒ/d_y`` (the P1 Hessian notebooks' MSE, docs/theory.md §0).

    References
    ----------
    P1 (arXiv:2408.11979) Figs. 3–4 and 8–10; docs/theory.md §3.1.
    """
    matrix_free = check_bool(matrix_free, "matrix_free")
    op = MSEHessian(net, x, y, mean_over_outputs=mean_over_outputs)
    return op if matrix_free else op.to_dense()


@thread_policy
def equilibrated_energy_hvp(net: LinearPCN, x: ArrayLike, y: ArrayLike,
                            direction: ParameterArrays | ArrayLike) -> Array:
    """Exact Hessian-vector product ``∇²F* v`` (flat ``(P,)`` or ``(P, k)`` directions).

    One equilibrium solve and one block solve with ``B·k`` right-hand sides; for many products
    with the same ``(net, x, y)`` build :class:`EquilibratedEnergyHessian` once instead.
    """
    return EquilibratedEnergyHessian(net, x, y).apply(direction)


@thread_policy
def mse_hvp(net: LinearPCN, x: ArrayLike, y: ArrayLike,
            direction: ParameterArrays | ArrayLike, *, mean_over_outputs: bool = False) -> Array:
    """Exact Hessian-vector product ``∇²ℒ v`` (flat ``(P,)`` or ``(P, k)`` directions)."""
    return MSEHessian(net, x, y, mean_over_outputs=mean_over_outputs).apply(direction)
