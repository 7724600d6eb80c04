"""Scale of the forward pass at initialisation versus depth and width: exact moments and sampling.

For a fixed input ``x`` and independent layers with zero-mean weights of per-entry variance ``v_l``
(:func:`linpc.core.initialisation.init_variances`), ``E[W_lᵀ W_l] = v_l n_l I``, hence
(docs/theory.md §1.4, [der])

    E[‖z_l‖² | z_{l-1}] = g_l ‖z_{l-1}‖²,  g_l = a_l² v_l n_l (plain),  1 + a_l² v_l n_l (residual),

(the cross term ``2 a_l z_{l-1}ᵀ W_l z_{l-1}`` of a residual layer has mean zero), and by the tower
property ``E‖ẑ_l‖² = ‖x‖² Π_{k≤l} g_k`` exactly, at every width and depth. Special cases:

* μPC with skips (``W ~ N(0, 1)``, ``a_1 = 1/√D``, ``a_l = 1/√(NL)``, ``a_L = 1/N``):
  ``E‖z_1‖² = N‖x‖²/D``, ``E‖z_l‖² = (1 + 1/L)^{l−1} E‖z_1‖² ≤ e·E‖z_1‖²`` (depth-stable) and
  ``E‖ŷ‖² = d_y E‖z_H‖²/N²`` (:func:`mupc_forward_norms`);
* SP with the default ``U(±1/√fan_in)``: ``g = n_l/(3 n_{l−1})``, the signal decays like ``3^{−l}``
  (equal widths); with identity skips ``g = 1 + 1/3``, it explodes like ``(4/3)^l``;
* SP with ``N(0, 1/fan_in)``: ``g = n_l/n_{l−1}``, norm preserved; NTP with jpc's uniform default:
  ``g = 1/(3 n_{l−1})`` per hidden layer, vanishing with width.

:func:`sample_forward_norms` measures ``‖ẑ_l‖²`` over independent initialisations (Monte Carlo with
standard errors) to check these formulas (Innocenti et al., μPC, NeurIPS 2025, arXiv:2505.13124,
Fig. A.29 studies the same quantity).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from linpc.core.initialisation import InitName, init_network, init_variances
from linpc.core.parameterisation import ParamType, layer_scalings
from linpc.numerics.threads import thread_policy
from linpc.numerics.types import Array
from linpc.numerics.validation import (
    as_real_array,
    check_bool,
    check_int,
    check_nonnegative,
    check_positive_int,
    check_rng,
    check_widths,
)
from linpc.numerics.warnings import check_layer_finite

__all__ = [
    "ForwardNormSample", "expected_forward_norms", "forward_scale_point", "layer_gains",
    "mupc_forward_norms", "sample_forward_norms",
]


@thread_policy
def layer_gains(
    widths: Sequence[int],
    *,
    param_type: ParamType = "sp",
    use_skips: bool = False,
    init: InitName = "default",
    gamma: float | None = None,
    convention: Literal["fan_in", "jpc"] = "fan_in",
) -> Array:
    """Per-layer second-moment gains ``g_l = E[‖z_l‖² | z_{l−1}] / ‖z_{l−1}‖²`` at initialisation.

    ``g_l = a_l² v_l n_l`` for a plain layer and ``1 + a_l² v_l n_l`` for a residual one (module
    docstring); ``a_l`` from :func:`linpc.core.parameterisation.layer_scalings`, ``v_l`` from
    :func:`linpc.core.initialisation.init_variances`. The same gains govern the rescaling ``E[S]``
    (:mod:`linpc.mupc.limits`).

    Returns
    -------
    ndarray, shape (L,)
    """
    n = list(check_widths(widths, "widths", min_layers=1))
    use_skips = check_bool(use_skips, "use_skips")
    L = len(n) - 1
    a = layer_scalings(n, param_type, use_skips=use_skips, gamma=gamma, convention=convention)
    v = init_variances(n, param_type=param_type, init=init)
    g = a * a * v * np.array(n[1:], dtype=np.float64)
    if use_skips:
        for l in range(2, L):
            if n[l] != n[l - 1]:
                raise ValueError(f"use_skips needs square hidden layers; layer {l} maps "
                                 f"{n[l - 1]} → {n[l]}")
            g[l - 1] += 1.0
    return g


@thread_policy
def expected_forward_norms(widths: Sequence[int], *, x_norm2: float = 1.0,
                           **parameterisation) -> Array:
    """``E‖ẑ_l‖²``, ``l = 0..L``, over random initialisations, for an input with ``‖x‖² = x_norm2``.

    ``E‖ẑ_l‖² = ‖x‖² Π_{k=1}^{l} g_k`` (exact; :func:`layer_gains`; docs/theory.md §1.4).

    Parameters
    ----------
    widths : sequence of int
        ``(n_0, …, n_L)``.
    x_norm2 : float
        ``‖x‖²``.
    **parameterisation
        ``param_type``, ``use_skips``, ``init``, ``gamma``, ``convention``: as for
        :func:`layer_gains`, with the same defaults.

    Returns
    -------
    ndarray, shape (L + 1,)
        Entry ``l`` is ``E‖ẑ_l‖²`` (entry 0 is ``‖x‖²``, entry ``L`` is ``E‖ŷ‖²``).
    """
    x_norm2 = check_nonnegative(x_norm2, "x_norm2")
    g = layer_gains(widths, **parameterisation)
    return x_norm2 * np.concatenate([[1.0], np.cumprod(g)])


@thread_policy
def mupc_forward_norms(width: int, d_x: int, n_layers: int, d_y: int,
                       x_norm2: float = 1.0) -> Array:
    """The μPC formulas of docs/theory.md §1.4 for ``E‖ẑ_l‖²``, ``l = 0..L`` (skips, ``W ~ N(0,
    1)``).

    ``E‖z_1‖² = N‖x‖²/D``, ``E‖z_l‖² = (1 + 1/L)^{l−1} E‖z_1‖²`` for ``l = 1..H`` and
    ``E‖ŷ‖² = d_y E‖z_H‖²/N²`` (Depth-μP forward pass; Innocenti et al. 2025, arXiv:2505.13124).
    Written out separately from :func:`expected_forward_norms` as an independent transcription.
    """
    N, D = check_positive_int(width, "width"), check_positive_int(d_x, "d_x")
    L = check_int(n_layers, "n_layers", minimum=2)
    d_y = check_positive_int(d_y, "d_y")
    x_norm2 = check_nonnegative(x_norm2, "x_norm2")
    z1 = N * x_norm2 / D
    hidden = [z1 * (1.0 + 1.0 / L) ** (l - 1) for l in range(1, L)]
    return np.array([float(x_norm2), *hidden, d_y * hidden[-1] / N**2])


@dataclass(frozen=True)
class ForwardNormSample:
    """Squared layer norms ``‖ẑ_l‖²`` of one input over independent initialisations.

    Attributes
    ----------
    norms : ndarray, shape (n_draws, L + 1)
        Row ``i``: ``‖ẑ_0‖², …, ‖ẑ_L‖²`` for the ``i``-th initialisation.
    expected : ndarray, shape (L + 1,)
        :func:`expected_forward_norms` for the same setting.
    """

    norms: Array
    expected: Array

    @property
    def mean(self) -> Array:
        """Monte Carlo estimate of ``E‖ẑ_l‖²``."""
        return self.norms.mean(axis=0)

    @property
    def standard_error(self) -> Array:
        """Standard error of :attr:`mean`: sample standard deviation (ddof 1) over ``√n_draws``."""
        n = self.norms.shape[0]
        return self.norms.std(axis=0, ddof=1) / np.sqrt(n)

    @property
    def z_scores(self) -> Array:
        """``(mean − expected)/standard_error`` per layer (0 where both vanish)."""
        se = self.standard_error
        diff = self.mean - self.expected
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(se > 0, diff / np.where(se > 0, se, 1.0), np.where(diff == 0, 0.0, np.inf))
        return z


@thread_policy
def sample_forward_norms(
    widths: Sequence[int],
    x: ArrayLike,
    *,
    n_draws: int,
    param_type: ParamType = "sp",
    use_skips: bool = False,
    init: InitName = "default",
    gamma: float | None = None,
    convention: Literal["fan_in", "jpc"] = "fan_in",
    rng: np.random.Generator | int | None = None,
) -> ForwardNormSample:
    """Monte Carlo of ``‖ẑ_l‖²`` over ``n_draws`` independent initialisations, one fixed input.

    Each draw builds the network with :func:`linpc.core.initialisation.init_network` (actual weight
    matrices, not a shortcut through the distribution of ``W z``) and runs
    :meth:`LinearPCN.forward`.

    Parameters
    ----------
    widths : sequence of int
        ``(n_0, …, n_L)``.
    x : array_like, shape (n_0,)
        The fixed input.
    n_draws : int
        Number of initialisations (≥ 2 for a standard error).
    rng : numpy Generator, int or None
        Source of randomness (SPEC 7).

    Returns
    -------
    ForwardNormSample
    """
    n = list(check_widths(widths, "widths", min_layers=2))
    xa = as_real_array(x, "x")
    if xa.shape != (n[0],):
        raise ValueError(f"x must have shape ({n[0]},) (d_x = n_0), got {xa.shape}")
    n_draws = check_int(n_draws, "n_draws", minimum=2)      # ≥ 2 for a standard error
    gen = check_rng(rng)
    out = np.empty((int(n_draws), len(n)))
    for i in range(int(n_draws)):
        net = init_network(n, param_type=param_type, use_skips=use_skips, init=init,
                           gamma=gamma, convention=convention, rng=gen)
        zs = net.forward(xa[None, :])
        with np.errstate(over="ignore"):
            out[i] = [float(z[0] @ z[0]) for z in zs]
        for l in range(len(n)):         # layer 0 is the input
            check_layer_finite(out[i, l], what=f"the squared norm ‖ẑ_{l}‖² of draw {i}", layer=l,
                               n_layers=len(n) - 1, previous=zs[l],
                               cause="the forward pass is too large to square in float64")
    expected = expected_forward_norms(n, param_type=param_type, use_skips=use_skips, init=init,
                                      gamma=gamma, convention=convention,
                                      x_norm2=float(xa @ xa))
    return ForwardNormSample(out, expected)


@thread_policy
def forward_scale_point(point: dict, rng: np.random.Generator) -> dict:
    """Sweep point function (:mod:`linpc.reproduce.sweeps`): forward-pass norms at one (depth,
    width).

    ``point`` keys: ``H`` (hidden layers), ``N`` (width), ``param_type``, ``use_skips``, ``init``,
    ``d_x``, ``d_y``, ``n_draws``. The input is a fixed unit vector drawn from ``rng``.

    Returns
    -------
    dict
        ``mean``, ``standard_error``, ``expected`` (each of length ``H + 2``).
    """
    H, N = int(point["H"]), int(point["N"])
    widths = (int(point["d_x"]),) + (N,) * H + (int(point["d_y"]),)
    x = rng.standard_normal(widths[0])
    x /= np.linalg.norm(x)
    s = sample_forward_norms(widths, x, n_draws=int(point["n_draws"]),
                             param_type=point["param_type"], use_skips=bool(point["use_skips"]),
                             init=point.get("init", "default"), rng=rng)
    return {"mean": s.mean, "standard_error": s.standard_error, "expected": s.expected}
