"""Classification of critical points of ``F*`` or ``ℒ`` with stated tolerances.

Definitions (P1, following Ge et al. 2015; docs/theory.md §3): a critical point (``∇f = 0``) is a
**strict saddle** if the Hessian has a negative eigenvalue (and the point is not a maximum); it is
**non-strict** when the Hessian is positive *semidefinite* and singular, where the second-order
test is inconclusive (a minimum, or a saddle whose escape direction appears only in higher
derivatives — the origin of ``ℒ`` for ``H ≥ 2``).

``F*`` and ``ℒ`` do **not** share critical points in general (docs/theory.md §2.4, §3.3, §8.9):
MSE minimisers with ``r ≠ 0`` are not critical for ``F*``, and zero-rank critical points of ``ℒ``
with ``W_L ≠ 0`` are generally not critical for ``F*``. :func:`classify_critical_point` therefore
first tests the gradient of the function it is asked about and reports ``"not critical"`` with the
gradient norm when it does not vanish.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from linpc.core.backprop import backpropagate
from linpc.core.equilibrium import equilibrated_energy_gradient, solve_equilibrium
from linpc.core.loss import mse_gradient
from linpc.core.network import LinearPCN, check_network
from linpc.landscape.hessian_spectrum import hessian_spectrum
from linpc.landscape.hessians import EquilibratedEnergyHessian, MSEHessian
from linpc.numerics.threads import thread_policy
from linpc.numerics.tolerances import SAFETY, assembly_tolerance
from linpc.numerics.validation import check_choice, check_positive, check_tolerance

__all__ = [
    "KINDS", "CriticalPointClassification", "classify_critical_point",
    "gradient_roundoff_tolerance",
]

#: The possible classifications.
KINDS = ("minimum", "strict saddle", "non-strict", "maximum", "not critical")


@dataclass(frozen=True)
class CriticalPointClassification:
    """Result of :func:`classify_critical_point`.

    Attributes
    ----------
    kind : str
        One of :data:`KINDS`. ``"non-strict"``: critical, Hessian PSD and singular (second-order
        test inconclusive).
    objective : str
        ``"energy"`` (``F*``) or ``"mse"`` (``ℒ``): which function was classified.
    gradient_norm, gradient_tolerance : float
        ``‖∇f‖`` and the threshold below which it counts as zero.
    lambda_min, lambda_max : float
        Extreme Hessian eigenvalues.
    eigenvalue_error : float
        Accuracy of ``lambda_min``/``lambda_max`` (round-off bound or Ritz residual).
    eigenvalue_tolerance : float
        Eigenvalues with ``|λ| ≤`` this count as zero.
    n_negative, n_zero, n_positive : int or None
        Inertia of the Hessian (dense method only).
    method : str
        Eigenvalue method (``"dense"`` or ``"lanczos"``).
    note : str
        Explanation of inconclusive or degenerate cases.
    """

    kind: str
    objective: str
    gradient_norm: float
    gradient_tolerance: float
    lambda_min: float
    lambda_max: float
    eigenvalue_error: float
    eigenvalue_tolerance: float
    n_negative: int | None
    n_zero: int | None
    n_positive: int | None
    method: str
    note: str = ""

    @property
    def is_critical(self) -> bool:
        return self.kind != "not critical"

    @property
    def is_strict_saddle(self) -> bool:
        return self.kind == "strict saddle"


@thread_policy
def gradient_roundoff_tolerance(net: LinearPCN, x: ArrayLike, y: ArrayLike, *,
                                objective: Literal["energy", "mse"] = "energy",
                                kappa: float = 1.0) -> float:
    """Absolute bound on the round-off in a computed ``∇F*`` or ``∇ℒ``.

    A running-error bound (Higham §3.3): every gradient block is a sum of products
    ``(a_l π_l/B) Σ_i e_l z_{l-1}ᵀ`` (``F*``) or ``(a_l/B) Σ_i g_l ẑ_{l-1}ᵀ`` (``ℒ``), and each
    factor was computed by a chain of at most ``m = Σ n_l`` multiply–adds per layer.
    Propagating absolute values (``|z_l| ≤ |M_l||z_{l-1}| + |c_l|``,
    ``|e_l| ≤ |z_l| + |M_l||z_{l-1}| + |c_l|``, ``|g_{l-1}| ≤ |M_l|ᵀ|g_l|``) gives a magnitude
    ``T = Σ_l (a_l π_l/B) ‖|E_l|ᵀ|Z_{l-1}|‖_F``, and the tolerance is
    ``assembly_tolerance(m, T, κ, n) = SAFETY · (m + κ·n) · eps · T``; the ``κ·n`` term (``F*``
    only) covers the forward error of the equilibrium ``z*`` (Higham Thm 7.2).
    """
    check_network(net)
    check_choice(objective, "objective", ("energy", "mse"))
    kappa = check_positive(kappa, "kappa")
    xa, ya = net.check_data(x, y)
    B, L = xa.shape[0], net.n_layers
    a, pi = net.scalings, net.precisions
    m = int(sum(net.widths))
    # the network of absolute values |M_l|, |c_l| (multipliers 1, no skips): its forward pass and
    # backpropagation propagate the magnitudes of the running-error bound
    absolute = LinearPCN([np.abs(net.layer_map(l)) for l in range(1, L + 1)],
                         biases=[np.abs(net.layer_bias(l)) for l in range(1, L + 1)])
    if objective == "energy":
        eq = solve_equilibrium(net, xa, ya, method="cholesky", warn_if_error_above=None)
        Z = [np.abs(xa), *[np.abs(z) for z in eq.activities], np.abs(ya)]
        T = 0.0
        for l in range(1, L + 1):
            E = Z[l] + absolute.predict_layer(l, Z[l - 1])
            T += a[l - 1] * pi[l - 1] / B * float(np.linalg.norm(E.T @ Z[l - 1]) + np.sum(E))
        n = net.n_activities
    elif objective == "mse":
        Z = absolute.forward(np.abs(xa))
        mags = backpropagate(absolute, Z, {L: Z[-1] + np.abs(ya)})
        T = sum(a[l - 1] / B * float(np.linalg.norm(mags.weights[l - 1])
                                     + np.sum(mags.biases[l - 1])) for l in range(1, L + 1))
        n, kappa = 0, 0.0
    else:
        raise ValueError(f"objective must be 'energy' or 'mse', got {objective!r}")
    return assembly_tolerance(m, T, kappa=kappa, n_solve=n)


@thread_policy
def classify_critical_point(
    net: LinearPCN,
    x: ArrayLike,
    y: ArrayLike,
    *,
    objective: Literal["energy", "mse"] = "energy",
    gradient_tolerance: float | None = None,
    eigenvalue_tolerance: float | None = None,
    method: Literal["auto", "dense", "lanczos"] = "auto",
) -> CriticalPointClassification:
    """Classify ``θ`` (the parameters of ``net``) as a critical point of ``F*`` or of ``ℒ``.

    1. ``‖∇f‖ > gradient_tolerance`` ⇒ ``"not critical"`` (the Hessian spectrum is still reported).
    2. Otherwise, with ``t = eigenvalue_tolerance``: ``λ_min > t`` ⇒ ``"minimum"`` (strict local
       minimum); ``λ_max < −t`` ⇒ ``"maximum"``; ``λ_min < −t`` ⇒ ``"strict saddle"`` (if also
       ``λ_max ≤ t`` the Hessian is NSD and singular: a strict saddle unless the point is a
       degenerate maximum, stated in ``note``); else (PSD with ``|λ| ≤ t`` eigenvalues)
       ``"non-strict"``.

    Parameters
    ----------
    net : LinearPCN
    x, y : array_like
    objective : {"energy", "mse"}
        Classify the equilibrated energy ``F*`` or the MSE ``ℒ``.
    gradient_tolerance : float, optional
        Default :func:`gradient_roundoff_tolerance`.
    eigenvalue_tolerance : float, optional
        Default: the spectrum's own zero tolerance (round-off bound of the Hessian's assembly
        and eigensolver, :func:`~linpc.landscape.hessian_spectrum`), or for Lanczos that bound plus
        ``SAFETY`` times the Ritz residuals.
    method : {"auto", "dense", "lanczos"}
        Eigenvalue method (:func:`~linpc.landscape.hessian_spectrum`).

    Returns
    -------
    CriticalPointClassification

    References
    ----------
    P1 (arXiv:2408.11979) §2 (strict saddles), Theorems 2–3; docs/theory.md §2.4, §3.3.
    """
    check_network(net)
    check_choice(objective, "objective", ("energy", "mse"))
    check_tolerance(gradient_tolerance, "gradient_tolerance", allow_none=True, allow_zero=True)
    check_tolerance(eigenvalue_tolerance, "eigenvalue_tolerance", allow_none=True,
                    allow_zero=True)
    check_choice(method, "method", ("auto", "dense", "lanczos"))
    if objective == "energy":
        op = EquilibratedEnergyHessian(net, x, y, warn_if_error_above=None)
        g = equilibrated_energy_gradient(net, x, y, equilibrium=op.equilibrium).flat()
        kappa = op.kappa
    elif objective == "mse":
        op = MSEHessian(net, x, y)
        g = mse_gradient(net, x, y).flat()
        kappa = 1.0
    else:
        raise ValueError(f"objective must be 'energy' or 'mse', got {objective!r}")
    gnorm = float(np.linalg.norm(g))
    gtol = (gradient_roundoff_tolerance(net, x, y, objective=objective, kappa=kappa)
            if gradient_tolerance is None else float(gradient_tolerance))
    spec = hessian_spectrum(op, method=method, zero_tolerance=eigenvalue_tolerance)
    t = spec.zero_tolerance
    if spec.method == "lanczos" and eigenvalue_tolerance is None:
        t = t + SAFETY * max(spec.error_min, spec.error_max)
    lo, hi = spec.lambda_min, spec.lambda_max
    note = ""
    if gnorm > gtol:
        kind = "not critical"
        note = f"‖∇{'F*' if objective == 'energy' else 'ℒ'}‖ = {gnorm:.3g} > {gtol:.3g}"
    elif lo > t:
        kind = "minimum"
    elif hi < -t:
        kind = "maximum"
    elif lo < -t:
        kind = "strict saddle"
        if hi <= t:
            note = ("Hessian negative semidefinite and singular: a strict saddle unless the point "
                    "is a degenerate local maximum")
    else:
        kind = "non-strict"
        zeros = "" if spec.n_zero is None else f" with {spec.n_zero} zero eigenvalues"
        note = ("Hessian positive semidefinite" + zeros + ": second-order test inconclusive "
                "(a minimum or a non-strict saddle)")
    return CriticalPointClassification(
        kind=kind, objective=objective, gradient_norm=gnorm, gradient_tolerance=gtol,
        lambda_min=lo, lambda_max=hi, eigenvalue_error=max(spec.error_min, spec.error_max),
        eigenvalue_tolerance=t, n_negative=spec.n_negative, n_zero=spec.n_zero,
        n_positive=spec.n_positive, method=spec.method, note=note)
