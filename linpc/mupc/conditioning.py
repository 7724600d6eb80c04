"""Conditioning of the inference landscape at initialisation: the spectrum of ``H_z`` at depth.

PC inference is gradient descent on a quadratic with Hessian ``H_z`` (docs/theory.md §1.2–1.3), so
``κ(H_z) = λ_max/λ_min`` sets the number of inference steps (:mod:`linpc.mupc.inference_speed`).
The μPC paper (Innocenti, Achour & Buckley, NeurIPS 2025, arXiv:2505.13124, §3–4, Figs. 2, 4)
shows that ``κ`` grows with width and, above all, depth, and that μPC stabilises the forward pass
without curing this (docs/theory.md §6.2). This module holds

* the spectra of the block-diagonal and off-diagonal parts of ``H_z`` studied in the μPC paper
  (:func:`activity_hessian_part_eigenvalues`);
* the settings of the docs/theory.md §6.2 study (parameterisation, skips, initialisation;
  :data:`CONDITIONING_SETTINGS`) and its sweep point (:func:`conditioning_point`), whose extreme
  eigenvalues come from the block structure, never from a dense ``n × n`` matrix
  (:meth:`linpc.ActivityHessian.extreme_eigenvalues`);
* :func:`growth_exponent`, the log–log slope of ``κ`` against depth.

The depth limit ``T_H`` of residual networks is in :mod:`linpc.mupc.tridiagonal_limit`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import scipy.linalg as sla
from numpy.typing import ArrayLike, NDArray

from linpc.core.activity_hessian import BANDED_EIGEN_WORK_LIMIT, ActivityHessian, ExtremeEigenvalues
from linpc.core.initialisation import init_network
from linpc.core.network import LinearPCN, check_network
from linpc.mupc.tridiagonal_limit import tridiagonal_limit_condition_number
from linpc.numerics.threads import thread_policy
from linpc.numerics.types import Array
from linpc.numerics.validation import as_real_array, check_choice
from linpc.numerics.warnings import spd_condition_number

__all__ = [
    "CONDITIONING_SETTINGS", "activity_hessian_part_eigenvalues", "conditioning_point",
    "growth_exponent", "part_condition_number",
]


def _band_block_mask(widths: Sequence[int], u: int) -> NDArray[np.bool_]:
    """``mask[i, j]``: entry ``(j + i, j)`` of the lower band lies in a diagonal block."""
    blk = np.repeat(np.arange(len(widths)), widths)
    n = blk.size
    rows = np.arange(u + 1)[:, None] + np.arange(n)[None, :]
    valid = rows < n
    same = np.zeros_like(valid)
    same[valid] = blk[rows[valid]] == np.broadcast_to(blk, rows.shape)[valid]
    return same


@thread_policy
def activity_hessian_part_eigenvalues(
    net: LinearPCN, part: Literal["full", "diag", "off_diag"] = "full"
) -> Array:
    """All eigenvalues (ascending) of ``H_z`` or of its block-diagonal or off-diagonal part.

    ``part="diag"`` keeps the diagonal blocks ``I + Λ_{l+1}M_{l+1}ᵀM_{l+1}`` (its spectrum is the
    union of the blocks' spectra, computed block by block); ``part="off_diag"`` keeps the coupling
    blocks ``−M_{l+1}``. The latter is the adjacency structure of a path of layers, a bipartite
    graph (odd vs even layers), so its spectrum is symmetric about 0 and it is singular whenever
    the odd and even layers have different total widths. These are the two parts analysed
    separately in the μPC paper (arXiv:2505.13124, §3; jpc's ``diag``/``off_diag`` switches).
    ``"full"`` and ``"off_diag"`` use LAPACK's banded eigensolver, ``O(n² u)``: meant for the
    paper's sizes (``n = Σ n_l`` up to a few thousand).
    """
    check_network(net)
    check_choice(part, "part", ("full", "diag", "off_diag"))
    hz = ActivityHessian(net)
    if part == "diag":
        eigs = [np.linalg.eigvalsh(hz.diagonal_block(l)) for l in range(1, net.n_hidden + 1)]
        return np.sort(np.concatenate(eigs))
    if part not in ("full", "off_diag"):
        raise ValueError(f"part must be 'full', 'diag' or 'off_diag', got {part!r}")
    ab = hz.to_banded()
    if part == "off_diag":
        ab[_band_block_mask(hz.widths, hz.bandwidth)] = 0.0
        if net.n_hidden == 1:
            return np.zeros(hz.shape[0])
    return sla.eigvals_banded(ab, lower=True, check_finite=False)


@thread_policy
def part_condition_number(eigenvalues: ArrayLike, *, error: float | None = None) -> float:
    """``max|λ| / min|λ|`` of a symmetric (possibly indefinite) spectrum: certified, or a bound.

    ``eigenvalues`` is the computed spectrum of an ``n × n`` matrix (``n = len(eigenvalues)``),
    each entry within ``error`` of an exact eigenvalue (default: the backward-stable bound
    :func:`linpc.numerics.tolerances.eigenvalue_tolerance` ``(n, max|λ|)``). When ``min|λ|`` is
    below the floor ``2·error`` (:func:`linpc.numerics.tolerances.eigenvalue_floor`), the matrix
    cannot be told apart from a singular one in float64 (the off-diagonal part *is* singular when
    the odd and even layers differ in total width): the lower bound
    ``(max|λ| − error)/(min|λ| + error)`` is returned with an :class:`~linpc.IllConditionedWarning`
    (``inf`` when every eigenvalue is within ``error`` of 0), never a round-off ratio such as
    ``1e17``.
    """
    a = np.abs(as_real_array(eigenvalues, "eigenvalues"))
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"eigenvalues must be a non-empty 1-D array, got shape {a.shape}")
    hi = float(a.max())
    if hi == 0.0:
        return float("inf")
    kappa, _ = spd_condition_number(float(a.min()), hi, a.size, "the matrix of this spectrum",
                                    error=error)
    return float(kappa) if kappa > 0 else float("inf")


# ------------------------------------------------------------------------- tridiagonal limit


#: The parameterisations of docs/theory.md §6.2's table: network keywords and a label.
CONDITIONING_SETTINGS: dict[str, dict] = {
    "sp_uniform": {"param_type": "sp", "use_skips": False, "init": "uniform",
                   "label": "SP, U(±1/√fan_in), no skips"},
    "sp_normal": {"param_type": "sp", "use_skips": False, "init": "normal",
                  "label": "SP, N(0,1/fan_in), no skips"},
    "sp_uniform_skips": {"param_type": "sp", "use_skips": True, "init": "uniform",
                         "label": "SP uniform + identity skips"},
    "mupc": {"param_type": "mupc", "use_skips": True, "init": "standard_normal",
             "label": "μPC (skips)"},
    "mupc_no_skips": {"param_type": "mupc", "use_skips": False, "init": "standard_normal",
                      "label": "μPC without skips (a_l = 1/√N)"},
}


@thread_policy
def conditioning_point(point: dict, rng: np.random.Generator) -> dict:
    """Sweep point function (:mod:`linpc.reproduce.sweeps`): extreme eigenvalues of ``H_z`` at
    initialisation.

    ``point`` keys: ``setting`` (a key of :data:`CONDITIONING_SETTINGS`), ``H``, ``N``, ``d_x``,
    ``d_y``; optional ``activity_decay``, ``output_energy_scaling`` and ``parts`` (also return the
    extreme eigenvalues of the block-diagonal part and the spectral radius of the off-diagonal
    part, the latter only while the banded eigensolver is affordable, else NaN). The network has
    ``H`` hidden layers of width ``N``.

    Returns
    -------
    dict
        ``kappa``, ``lambda_min``, ``lambda_max``, ``error_min``, ``error_max``,
        ``kappa_limit = κ(T_H)``; with ``parts``: ``diag_min``, ``diag_max``, ``off_radius``.
    """
    s = CONDITIONING_SETTINGS[point["setting"]]
    H, N = int(point["H"]), int(point["N"])
    widths = (int(point["d_x"]),) + (N,) * H + (int(point["d_y"]),)
    net = init_network(widths, param_type=s["param_type"], use_skips=s["use_skips"],
                       init=s["init"], activity_decay=float(point.get("activity_decay", 0.0)),
                       output_energy_scaling=point.get("output_energy_scaling"), rng=rng)
    hz = ActivityHessian(net)
    ev: ExtremeEigenvalues = hz.extreme_eigenvalues()
    out = {"kappa": ev.condition_number, "lambda_min": ev.lambda_min,
           "lambda_max": ev.lambda_max, "error_min": ev.error_min, "error_max": ev.error_max,
           "kappa_limit": tridiagonal_limit_condition_number(H)}
    if point.get("parts"):
        dg = activity_hessian_part_eigenvalues(net, "diag")
        out["diag_min"], out["diag_max"] = float(dg[0]), float(dg[-1])
        n, u = hz.shape[0], hz.bandwidth
        affordable = float(n) * n * u <= BANDED_EIGEN_WORK_LIMIT
        off = activity_hessian_part_eigenvalues(net, "off_diag") if affordable else None
        out["off_radius"] = float(np.max(np.abs(off))) if off is not None else float("nan")
    return out


@thread_policy
def growth_exponent(depths: ArrayLike, values: ArrayLike) -> float:
    """Least-squares slope of ``log(values)`` against ``log(depths)`` (e.g. 2 for ``Θ(H²)``).

    Both must be finite and positive (a logarithm of ``0``, a negative or a non-finite number
    would make the slope ``nan`` or meaningless): a ValueError names the first offending entry.
    """
    x = _log_positive(depths, "depths")
    y = _log_positive(values, "values")
    if x.shape != y.shape or x.ndim != 1 or x.size < 2:
        raise ValueError(f"depths and values must be 1-D of the same length ≥ 2, got shapes "
                         f"{x.shape} and {y.shape}")
    return float(np.polyfit(x, y, 1)[0])


def _log_positive(a: ArrayLike, name: str) -> Array:
    arr = np.asarray(a, dtype=np.float64)
    bad = ~(np.isfinite(arr) & (arr > 0))
    if np.any(bad):
        i = tuple(int(k) for k in np.argwhere(bad)[0])
        raise ValueError(f"{name} must be finite and > 0 for a log–log slope, got "
                         f"{arr[i]!r} at index {i[0] if len(i) == 1 else i}")
    return np.log(arr)
