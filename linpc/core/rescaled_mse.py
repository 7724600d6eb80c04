"""The gradient of the equilibrated energy by the quotient rule: an S-weighted BP gradient plus a
rescaling term.

``F* = ½ tr(S⁻¹R)`` (Innocenti et al., NeurIPS 2024, arXiv:2408.11979, Theorem 1) can be
differentiated directly, without the equilibrium or the activity Hessian: with ``δ_i = S⁻¹r_i`` and
``P = S⁻¹RS⁻¹``, ``dF* = (1/B)Σ_i δ_iᵀ dr_i − ½⟨P, dS⟩``. The first term is backpropagation of the
rescaled residuals ``S⁻¹r`` (BP's gradient with ``r`` replaced by ``S⁻¹r``), the second the weight
dependence of the rescaling. It is a route to ``∇F*`` independent of the envelope theorem
(``∇F* = ∂F/∂θ`` at ``z*``), and it explains why PC approaches BP when ``S → λ⁻¹I`` (width ≫
depth, docs/theory.md §6.3; limits paper arXiv:2602.07697).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla

from linpc.core.backprop import backpropagate
from linpc.core.gaussian import output_covariance
from linpc.core.loss import mse_gradient
from linpc.core.network import LinearPCN, check_network
from linpc.core.parameter_arrays import ParameterArrays
from linpc.numerics.threads import thread_policy
from linpc.numerics.tolerances import roundoff_tolerance, solve_tolerance
from linpc.numerics.warnings import spd_condition_number

__all__ = ["rescaled_mse_gradient", "rescaled_mse_gradient_cosine"]


@thread_policy
def rescaled_mse_gradient(net: LinearPCN, x, y) -> tuple[ParameterArrays, ParameterArrays]:
    """Gradient of ``F* = ½ tr(S⁻¹R)`` by the quotient rule, split into its two parts.

    With ``P_l = M_{L:l+1}`` (``P_L = I``), ``S = Σ_{l=1}^{L} π_l⁻¹ P_l P_lᵀ``, the residuals
    ``r_i`` and ``δ_i = S⁻¹ r_i``, ``R = (1/B) Σ r_i r_iᵀ`` and ``P = S⁻¹RS⁻¹ = (1/B) Σ δ_i δ_iᵀ``:

        dF* = (1/B) Σ_i δ_iᵀ dr_i − ½ ⟨P, dS⟩,

    so ``∇F* = A + C`` with

    * ``A_l = −(a_l/B) Σ_i (P_lᵀ δ_i) ẑ_{l−1,i}ᵀ`` — backpropagation of ``δ`` (the BP gradient
      with ``r`` replaced by ``S⁻¹r``);
    * ``C_l = −½ a_l P_lᵀ U_{l−1}`` for ``l ≥ 2`` (``C_1 = 0``), from reverse-mode
      differentiation of ``⟨P, S⟩`` through ``P_{l−1} = P_l M_l``: ``U_1 = 2π_1⁻¹ P P_1``,
      ``U_k = 2π_k⁻¹ P P_k + U_{k−1} M_kᵀ``.

    Nothing here touches the activity Hessian or the equilibrium, so it is a route independent of
    the envelope theorem ``∇F* = ∂F/∂θ|_{z*}`` (Innocenti et al., NeurIPS 2024,
    arXiv:2408.11979, Theorem 1; docs/theory.md §2.1, §2.5.5). No biases, no activity decay.

    Returns
    -------
    A, C : ParameterArrays
        The S-weighted BP part and the rescaling part; ``∇F*`` is their sum.
    """
    check_network(net)
    if net.has_biases or net.activity_decay:
        raise ValueError("rescaled_mse_gradient covers networks without biases or activity decay")
    xa, ya = net.check_data(x, y)
    zs = net.forward(xa)
    B, L = xa.shape[0], net.n_layers
    a, pi = net.scalings, net.precisions
    Ps = net.output_maps()                                   # Ps[l] = M_{L:l+1}, (d_y, n_l)
    S = sum(Ps[l] @ Ps[l].T / pi[l - 1] for l in range(1, L + 1))
    delta = sla.cho_solve(sla.cho_factor(S, lower=True), (ya - zs[-1]).T).T    # (B, d_y)
    Pm = delta.T @ delta / B
    A = backpropagate(net, zs, {L: -delta}, scale=1.0 / B)     # BP of the rescaled residual
    C = [np.zeros_like(net.weights[0])]
    U = (2.0 / pi[0]) * (Pm @ Ps[1])
    for k in range(2, L + 1):
        C.append(-0.5 * a[k - 1] * (Ps[k].T @ U))
        if k < L:
            U = (2.0 / pi[k - 1]) * (Pm @ Ps[k]) + net.apply_layer(k, U)
    none = (None,) * L
    return A, ParameterArrays(tuple(C), none)


@thread_policy
def rescaled_mse_gradient_cosine(net: LinearPCN, x, y) -> dict:
    """cos(∇F*, ∇ℒ) by :func:`rescaled_mse_gradient`, its round-off scale, and the parts' sizes."""
    check_network(net)
    A, C = rescaled_mse_gradient(net, x, y)
    g = A.flat() + C.flat()
    b = mse_gradient(net, x, y).flat()
    S = output_covariance(net)
    w = np.linalg.eigvalsh(S)
    # relative accuracy of this route: a d_y × d_y SPD solve plus chains of L products of width n
    # (κ(S) certified, or a lower bound with a warning: then so is the accuracy)
    kappa, _ = spd_condition_number(w[0], w[-1], net.d_y, "the rescaling S")
    eps = solve_tolerance(kappa, net.d_y) + roundoff_tolerance(net.n_layers * max(net.widths))
    return {"cos": float(g @ b / (np.linalg.norm(g) * np.linalg.norm(b))),
            "rescaling_share": float(np.linalg.norm(C.flat()) / np.linalg.norm(A.flat())),
            "eps": eps}
