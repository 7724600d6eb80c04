"""The linear-Gaussian model behind the energy, and inference as Gaussian conditioning.

The energy is, up to a constant, the negative log-density of the chain (docs/theory.md §2.2)

    z_l = M_l z_{l-1} + c_l + ε_l,   ε_l ~ N(0, π_l⁻¹ I),   l = 1..L,   z_0 = x,   z_L = y.

Minimising a joint Gaussian quadratic form over some coordinates leaves the marginal quadratic
form of the others, so the equilibrium is the posterior mean and the equilibrated energy is the
marginal of ``y``: ``y | x ~ N(ŷ, S)`` with

    S = Cov(y) = Σ_{l=1}^{L} π_l⁻¹ M_{L:l+1} M_{L:l+1}ᵀ
      (= λ⁻¹ I + Σ_{l=2}^{L} M_{L:l}M_{L:l}ᵀ when π_l = 1 for l < L),

which is the rescaling of Innocenti et al. (NeurIPS 2024, arXiv:2408.11979, Theorem 1). The
cross-covariances ``C_l = Cov(z_l, y)`` follow the recursion

    C_0 = 0,   C_l = M_l C_{l-1} + π_l⁻¹ M_{L:l+1}ᵀ,   and   S = M_L C_H + π_L⁻¹ I,

and conditioning on ``y`` gives ``z*_l = ẑ_l + C_l S⁻¹ r`` and ``e*_l = π_l⁻¹ M_{L:l+1}ᵀ S⁻¹ r``
(docs/theory.md §1.3). Everything here costs ``O(d_y Σ n_l n_{l-1})`` and never touches ``H_z``: it
is an independent route to the quantities of :mod:`linpc.core.equilibrium`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from linpc.core.network import LinearPCN, check_network
from linpc.numerics.threads import thread_policy
from linpc.numerics.types import Array
from linpc.numerics.validation import check_positive_int, check_rng
from linpc.numerics.warnings import check_layer_finite

__all__ = [
    "cross_covariances", "gaussian_conditioning", "output_covariance", "require_gaussian_chain",
    "sample_gaussian_model",
]


@thread_policy
def require_gaussian_chain(net: LinearPCN, what: str) -> None:
    """Raise a ValueError naming ``what`` unless the energy of ``net`` is a Gaussian chain.

    With an activity decay ``(δ/2)Σ‖z_l‖²`` (``δ > 0``) the energy is not the negative
    log-density of the linear-Gaussian model, so the rescaling ``S``, ``F* = ½rᵀS⁻¹r`` and every
    statement built on them do not apply; the activity-system routes still do.
    """
    check_network(net)
    if net.activity_decay:
        raise ValueError(
            f"{what} needs activity_decay = 0: with an activity decay the energy is not the "
            "negative log-density of a Gaussian chain, so the rescaling S and F* = ½rᵀS⁻¹r do not "
            "apply (docs/theory.md §2); the activity-system route (method='cholesky') does"
        )


@thread_policy
def cross_covariances(net: LinearPCN) -> tuple[list[Array], Array]:
    """Cross-covariances ``C_l = Cov(z_l, y)`` (``l = 1..H``) and ``S = Cov(y)``.

    Returns
    -------
    Cs : list of ndarray
        ``C_l`` of shape ``(n_l, d_y)``.
    S : ndarray, shape (d_y, d_y)
        Output covariance (the rescaling), symmetrised.
    """
    check_network(net)
    require_gaussian_chain(net, "the covariance recursion")
    Ps = net.output_maps()                 # P_l = M_{L:l+1}, (d_y, n_l)
    pi = net.precisions
    CT = np.zeros((net.d_y, net.d_x))      # C_0ᵀ = Cov(y, z_0) = 0 (x is fixed)
    Cs = []
    L = net.n_layers
    cause = ("the weights are too large for float64: the covariances of the Gaussian model "
             "(docs/theory.md §2.2) are not representable; rescale the weights")
    for l in range(1, net.n_hidden + 1):
        # C_lᵀ = C_{l-1}ᵀ M_lᵀ + π_l⁻¹ P_l
        with np.errstate(over="ignore", invalid="ignore"):
            C_next = net.apply_layer(l, CT) + Ps[l] / pi[l - 1]
        check_layer_finite(C_next, what="the covariance recursion C_l = Cov(z_l, y)", layer=l,
                           n_layers=L, previous=CT, cause=cause)
        CT = C_next
        Cs.append(CT.T)
    with np.errstate(over="ignore", invalid="ignore"):
        S = net.apply_layer(net.n_layers, CT) + np.eye(net.d_y) / pi[-1]   # Sᵀ = C_HᵀM_Lᵀ + I/π_L
    check_layer_finite(S, what="the rescaling S = Cov(y)", layer=L, n_layers=L, previous=CT,
                       cause=cause)
    return Cs, 0.5 * (S + S.T)


@thread_policy
def output_covariance(net: LinearPCN) -> Array:
    """The rescaling ``S = Cov(y | x)`` of the Gaussian model by the covariance recursion.

    ``S = Σ_{l=1}^{L} π_l⁻¹ M_{L:l+1} M_{L:l+1}ᵀ``; with unit hidden precisions and output precision
    λ, ``S = λ⁻¹ I + Σ_{l=2}^{L} M_{L:l} M_{L:l}ᵀ`` (Innocenti et al. 2024, Theorem 1;
    docs/theory.md §2.1). Shape ``(d_y, d_y)``.
    """
    check_network(net)
    return cross_covariances(net)[1]


@thread_policy
def gaussian_conditioning(net: LinearPCN, x: ArrayLike, y: ArrayLike):
    """Posterior means of the hidden layers given ``x`` and ``y`` (the PC equilibrium).

    Returns
    -------
    activities : list of ndarray
        ``z*_l = ẑ_l + C_l S⁻¹ r``, each ``(B, n_l)``.
    errors : list of ndarray
        ``e*_l = π_l⁻¹ M_{L:l+1}ᵀ S⁻¹ r``, each ``(B, n_l)``, ``l = 1..L``.
    residual : ndarray
        ``r = y − ŷ``, ``(B, d_y)``.
    delta : ndarray
        ``δ = S⁻¹ r``, ``(B, d_y)``.
    S_factor : tuple
        Cholesky factor of ``S`` (``scipy.linalg.cho_factor`` format).
    S : ndarray
        The rescaling.
    """
    import scipy.linalg as sla

    check_network(net)
    xa, ya = net.check_data(x, y)
    zhat = net.forward(xa)
    r = ya - zhat[-1]
    Cs, S = cross_covariances(net)
    try:
        cf = sla.cho_factor(S, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        raise np.linalg.LinAlgError(
            "the rescaling S is not numerically positive definite; this cannot happen in exact "
            "arithmetic (S ⪰ π_L⁻¹ I), so the weights are too large for float64"
        ) from None
    delta = sla.cho_solve(cf, r.T, check_finite=False).T
    with np.errstate(over="ignore", invalid="ignore"):
        acts = [zhat[l] + delta @ Cs[l - 1].T for l in range(1, net.n_hidden + 1)]
    for l, a in enumerate(acts, start=1):
        check_layer_finite(a, what="the equilibrium activities", layer=l, n_layers=net.n_hidden,
                           unit="hidden layer", previous=zhat[l],
                           cause="ẑ_l + C_l S⁻¹r is not representable: the data or the weights "
                                 "are too large for float64")
    Ps = net.output_maps()
    errs = [(delta @ Ps[l]) / net.precisions[l - 1] for l in range(1, net.n_layers + 1)]
    return acts, errs, r, delta, cf, S


@thread_policy
def sample_gaussian_model(
    net: LinearPCN, x: ArrayLike, n_samples: int, *, rng: np.random.Generator | int | None = None
) -> tuple[list[Array], Array]:
    """Draw ``(z_1, …, z_H, y)`` from the generative chain for one input ``x``.

    ``z_l = M_l z_{l-1} + c_l + ε_l`` with ``ε_l ~ N(0, π_l⁻¹ I)``; the sample covariance of ``y``
    estimates ``S`` (a fully independent check of the rescaling, docs/theory.md §2.5.13).

    Parameters
    ----------
    net : LinearPCN
    x : array_like, shape (d_x,)
        One input.
    n_samples : int
        Number of independent draws.
    rng : numpy Generator, int or None

    Returns
    -------
    hidden : list of ndarray
        ``z_l`` draws, each ``(n_samples, n_l)``.
    y : ndarray, shape (n_samples, d_y)
    """
    check_network(net)
    n_samples = check_positive_int(n_samples, "n_samples")
    require_gaussian_chain(net, "sampling the Gaussian model")
    gen = check_rng(rng)
    xa, _ = net.check_data(x)
    if xa.shape[0] != 1:
        raise ValueError(f"sample_gaussian_model takes one input x, got a batch of {xa.shape[0]}")
    z = np.repeat(xa, int(n_samples), axis=0)
    hidden = []
    for l in range(1, net.n_layers + 1):
        sd = 1.0 / np.sqrt(net.precisions[l - 1])
        noise = sd * gen.standard_normal((int(n_samples), net.widths[l]))
        z = net.predict_layer(l, z) + noise
        if l < net.n_layers:
            hidden.append(z)
    return hidden, z
