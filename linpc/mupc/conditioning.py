"""Conditioning of the inference landscape: spectrum and condition number of ``H_z`` at depth.

PC inference is gradient descent on a quadratic with Hessian ``H_z`` (theory.md §1.2–1.3), so
``κ(H_z) = λ_max/λ_min`` sets the number of inference steps (:mod:`linpc.inference_speed`). The
μPC paper (Innocenti, Achour & Buckley, NeurIPS 2025, arXiv:2505.13124, §3–4, Figs. 2, 4) shows
that ``κ`` grows with width and, above all, depth, and that μPC stabilises the forward pass
without curing this. This module computes (theory.md §6.2):

* extreme eigenvalues and ``κ`` from the block structure, never from a dense ``n × n`` matrix:
  LAPACK's banded eigensolver (``O(n² u)``) or, for large ``n``, Lanczos on ``H_z`` and on
  ``H_z⁻¹`` through the block Cholesky factor (:meth:`linpc.ActivityHessian.extreme_eigenvalues`);
  the stable jpc-style entry points are :func:`activity_hessian_extreme_eigenvalues` and
  :func:`activity_hessian_condition_number`;
* the spectra of the block-diagonal and off-diagonal parts of ``H_z`` studied in the μPC paper
  (:func:`activity_hessian_part_eigenvalues`);
* the small-branch limit of residual networks: as ``a_l‖W_l‖ → 0`` (hidden) and
  ``λ a_L² ‖W_L‖² → 0``, ``H_z → T_H ⊗ I_N`` with ``T_H = tridiag(−1, 2, −1)`` whose last diagonal
  entry is 1 (:func:`tridiagonal_limit_spectrum`, :func:`small_branch_deviation`);
* the sweep of theory.md §6.2 over parameterisation, skips, initialisation, depth and width
  (:func:`conditioning_point`, :func:`conditioning_table`, through :mod:`linpc.sweeps`).

**Tridiagonal limit** [der]. ``T_H`` is the second-difference matrix with a Dirichlet condition at
the input end and a Neumann condition at the output end; with ``θ_k = (2k − 1)π/(2(2H + 1))``
its eigenvectors are ``v_j = sin(2jθ_k)`` and its eigenvalues ``4 sin² θ_k``, ``k = 1..H``. Hence

    κ(T_H) = cos²(π/(2H+1)) / sin²(π/(2(2H+1))) = (4H + 2)²/π² · (1 + O(1/H²)),

a ``Θ(H²)`` growth that μPC inherits: at large width ``κ(H_z) ≈ (4–5)·κ(T_H)`` (theory.md §6.2).

**Small-branch bound** [der]. ``E := H_z − T_H ⊗ I`` has diagonal blocks ``G + Gᵀ + GᵀG``
(``G = a_{l+1}W_{l+1}``, ``l < H``) and ``λ M_LᵀM_L`` (``l = H``) and off-diagonal blocks ``−G``.
With ``ε`` bounding ``‖a_l W_l‖₂`` (``2 ≤ l ≤ H``) and ``√λ ‖M_L‖₂``, the block-diagonal part has
norm ``≤ 2ε + ε²`` and the block off-diagonal part ``≤ 2ε``, so ``‖E‖₂ ≤ 4ε + ε²``
(:func:`small_branch_bound`), and every eigenvalue of ``H_z`` is within ``‖E‖₂`` of one of
``T_H ⊗ I`` (Weyl). The rate is exactly first order: ``‖E‖₂/ε`` tends to the norm of the linear
part ``(G + Gᵀ, −G)`` as the branches shrink.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.linalg as sla
from numpy.typing import ArrayLike, NDArray

from .activity import BANDED_EIGEN_WORK_LIMIT, ActivityHessian, ExtremeEigenvalues
from .jpc_compat import network_from_jpc_keywords
from .network import LinearPCN
from .scalings import init_network

__all__ = [
    "CONDITIONING_SETTINGS",
    "ConditioningTable",
    "activity_hessian_condition_number",
    "activity_hessian_extreme_eigenvalues",
    "activity_hessian_part_eigenvalues",
    "conditioning_point",
    "conditioning_table",
    "growth_exponent",
    "part_condition_number",
    "residual_branch_scale",
    "small_branch_bound",
    "small_branch_deviation",
    "tridiagonal_limit_condition_number",
    "tridiagonal_limit_matrix",
    "tridiagonal_limit_spectrum",
]

Array = NDArray[np.float64]
EPS = float(np.finfo(np.float64).eps)
Method = Literal["auto", "banded", "lanczos", "dense"]


# ------------------------------------------------------------------------- jpc-style entry points
def activity_hessian_extreme_eigenvalues(
    Ws: Sequence[ArrayLike],
    *,
    param_type: str = "sp",
    scalings: Sequence[float] | None = None,
    use_skips: bool = False,
    gamma: float | None = None,
    output_energy_scaling: float | None = None,
    activity_decay: float = 0.0,
    method: Method = "auto",
    tol: float = 1e-12,
) -> tuple[float, float]:
    """Smallest and largest eigenvalue ``(λ_min, λ_max)`` of the per-sample activity Hessian.

    ``H_z`` has diagonal blocks ``I + λ_{l+1} M_{l+1}ᵀ M_{l+1}`` (``λ_{l+1} = 1`` except the output
    precision ``λ_L = λ``), plus ``δ I`` with an activity decay, and off-diagonal blocks
    ``−M_{l+1}`` (theory.md §1.2; Innocenti et al., μPC, NeurIPS 2025, arXiv:2505.13124). It
    depends on ``W_2, …, W_L`` only. No dense matrix is formed.

    Parameters
    ----------
    Ws : sequence of array_like
        ``[W_1, …, W_L]``, ``W_l`` of shape ``(n_l, n_{l-1})``.
    param_type, scalings, use_skips, gamma, output_energy_scaling, activity_decay
        As in :class:`linpc.LinearPCN` (jpc's keywords).
    method : {"auto", "banded", "lanczos", "dense"}
        See :meth:`linpc.ActivityHessian.extreme_eigenvalues`; ``"auto"`` uses LAPACK's banded
        eigensolver while ``n² u`` is small and Lanczos with block Cholesky solves beyond.
    tol : float
        Relative tolerance of the Lanczos iteration.

    Returns
    -------
    (float, float)
        ``(λ_min, λ_max)``. For the accuracy achieved use
        ``linpc.ActivityHessian(net).extreme_eigenvalues()``, which also returns error bounds.
    """
    net = network_from_jpc_keywords(Ws, param_type=param_type, scalings=scalings,
                                    use_skips=use_skips, gamma=gamma,
                                    output_energy_scaling=output_energy_scaling,
                                    activity_decay=activity_decay)
    ev = ActivityHessian(net).extreme_eigenvalues(method=method, tol=tol)
    return float(ev.lambda_min), float(ev.lambda_max)


def activity_hessian_condition_number(
    Ws: Sequence[ArrayLike],
    *,
    param_type: str = "sp",
    scalings: Sequence[float] | None = None,
    use_skips: bool = False,
    gamma: float | None = None,
    output_energy_scaling: float | None = None,
    activity_decay: float = 0.0,
    method: Method = "auto",
    tol: float = 1e-12,
) -> float:
    """``κ(H_z) = λ_max(H_z)/λ_min(H_z)``, the 2-norm condition number of inference.

    Gradient-descent inference with the best fixed step contracts the error by
    ``(κ − 1)/(κ + 1)`` per step (theory.md §1.3). Keywords as in
    :func:`activity_hessian_extreme_eigenvalues`.
    """
    lo, hi = activity_hessian_extreme_eigenvalues(
        Ws, param_type=param_type, scalings=scalings, use_skips=use_skips, gamma=gamma,
        output_energy_scaling=output_energy_scaling, activity_decay=activity_decay,
        method=method, tol=tol)
    return hi / lo


# ------------------------------------------------------------------------- parts of H_z
def _band_block_mask(widths: Sequence[int], u: int) -> NDArray[np.bool_]:
    """``mask[i, j]``: entry ``(j + i, j)`` of the lower band lies in a diagonal block."""
    blk = np.repeat(np.arange(len(widths)), widths)
    n = blk.size
    rows = np.arange(u + 1)[:, None] + np.arange(n)[None, :]
    valid = rows < n
    same = np.zeros_like(valid)
    same[valid] = blk[rows[valid]] == np.broadcast_to(blk, rows.shape)[valid]
    return same


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


def part_condition_number(eigenvalues: ArrayLike) -> float:
    """``max|λ| / min|λ|`` of a symmetric (possibly indefinite) spectrum; ``inf`` if singular."""
    a = np.abs(np.asarray(eigenvalues, dtype=np.float64))
    lo = float(a.min())
    return float(a.max() / lo) if lo > 0 else float("inf")


# ------------------------------------------------------------------------- tridiagonal limit
def tridiagonal_limit_matrix(H: int) -> tuple[Array, Array]:
    """Diagonal and off-diagonal of ``T_H = tridiag(−1, 2, −1)`` with last diagonal entry 1."""
    H = _check_depth(H)
    d = np.full(H, 2.0)
    d[-1] = 1.0
    return d, -np.ones(H - 1)


def tridiagonal_limit_spectrum(H: int) -> tuple[Array, float]:
    """Eigenvalues of ``T_H`` and its condition number ``κ(T_H)`` in closed form.

    ``λ_k = 4 sin²((2k − 1)π/(2(2H + 1)))``, ``k = 1..H`` (ascending), and
    ``κ(T_H) = cos²(π/(2H+1))/sin²(π/(2(2H+1)))`` (module docstring; theory.md §6.2). ``T_H ⊗ I_N``
    is the limit of ``H_z`` for residual networks whose branches vanish.

    Returns
    -------
    eigenvalues : ndarray, shape (H,)
    kappa : float
    """
    H = _check_depth(H)
    k = np.arange(1, H + 1)
    eigs = 4.0 * np.sin((2 * k - 1) * np.pi / (2 * (2 * H + 1))) ** 2
    return eigs, tridiagonal_limit_condition_number(H)


def tridiagonal_limit_condition_number(H: int) -> float:
    """``κ(T_H) = cos²(π/(2H+1)) / sin²(π/(2(2H+1)))`` ``≈ (4H + 2)²/π²``."""
    H = _check_depth(H)
    return float(np.cos(np.pi / (2 * H + 1)) ** 2 / np.sin(np.pi / (2 * (2 * H + 1))) ** 2)


def _check_depth(H) -> int:
    if int(H) != H or int(H) < 1:
        raise ValueError(f"the number of hidden layers H must be an integer ≥ 1, got {H!r}")
    return int(H)


def _check_small_branch_net(net: LinearPCN) -> None:
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


def residual_branch_scale(net: LinearPCN) -> float:
    """``ε = max(max_{2≤l≤H} a_l‖W_l‖₂, √λ a_L‖W_L‖₂)``: how far ``H_z`` is from ``T_H ⊗ I``."""
    _check_small_branch_net(net)
    H = net.n_hidden
    norms = [net.scalings[l - 1] * np.linalg.norm(net.weights[l - 1], 2) for l in range(2, H + 1)]
    norms.append(np.sqrt(net.output_precision) * net.scalings[-1]
                 * np.linalg.norm(net.weights[-1], 2))
    return float(max(norms))


def small_branch_bound(net: LinearPCN) -> float:
    """Upper bound ``4ε + ε²`` on ``‖H_z − T_H ⊗ I‖₂`` (module docstring), ``ε`` from
    :func:`residual_branch_scale`."""
    eps = residual_branch_scale(net)
    return 4.0 * eps + eps * eps


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


# ------------------------------------------------------------------------- the §6.2 sweep
#: The parameterisations of theory.md §6.2's table: network keywords and a label.
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


def conditioning_point(point: dict, rng: np.random.Generator) -> dict:
    """Sweep point function (:mod:`linpc.sweeps`): extreme eigenvalues of ``H_z`` at initialisation.

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


@dataclass(frozen=True)
class ConditioningTable:
    """Medians over seeds of ``κ(H_z)``.

    ``median[setting]`` has shape ``(len(depths), len(widths))`` (NaN where a cell was not
    computed).
    """

    depths: tuple[int, ...]
    widths: tuple[int, ...]
    median: dict[str, Array]
    sweep: object  # linpc.sweeps.SweepResult

    def format(self, reference: dict[str, list[list[float]]] | None = None) -> str:
        """Plain-text table, one row per setting, ``κ`` for each width within each depth column;
        with ``reference`` (same layout) the reference numbers are printed below each row."""
        lines = []
        head = "setting \\ (H; N=" + ", ".join(str(w) for w in self.widths) + ")"
        lines.append(head)
        for name, med in self.median.items():
            cells = []
            for i, H in enumerate(self.depths):
                vals = ", ".join(_fmt(v) for v in med[i] if np.isfinite(v))
                cells.append(f"H={H}: {vals}")
            lines.append(f"{CONDITIONING_SETTINGS[name]['label']}")
            lines.append("   linpc : " + " | ".join(cells))
            if reference and name in reference:
                ref_cells = []
                for i, H in enumerate(self.depths):
                    vals = ", ".join(_fmt(v) for v in reference[name][i] if np.isfinite(v))
                    ref_cells.append(f"H={H}: {vals}")
                lines.append("   theory: " + " | ".join(ref_cells))
        lim = [f"H={H}: {_fmt(tridiagonal_limit_condition_number(H))}" for H in self.depths]
        lines.append("κ(T_H)     " + " | ".join(lim))
        return "\n".join(lines)


def _fmt(v: float) -> str:
    if v < 10:
        return f"{v:.3g}"
    if v < 1000:
        return f"{v:.0f}"
    return f"{v:.2g}"


def conditioning_table(
    *,
    depths: Sequence[int] = (1, 2, 4, 8, 16, 32),
    widths: Sequence[int] = (4, 16, 64, 256),
    settings: Sequence[str] = tuple(CONDITIONING_SETTINGS),
    n_seeds: int = 3,
    max_width: dict[int, int] | None = None,
    d_x: int = 784,
    d_y: int = 10,
    seed: int = 0,
    cache_dir: str | None = None,
    jobs: int = 1,
    progress: bool = True,
) -> ConditioningTable:
    """Median over ``n_seeds`` initialisations of ``κ(H_z)`` over depth, width and setting.

    Reproduces the table of theory.md §6.2 (``d_y = 10``, per-sample ``H_z``; ``max_width``
    defaults to ``{32: 64}``: the ``H = 32`` column only for ``N ≤ 64``). Runs through
    :func:`linpc.sweeps.run_sweep` (sweep name ``"conditioning"``), so results are cached and
    resumable when ``cache_dir`` is given.
    """
    from .sweeps import Grid, run_sweep

    mw = {32: 64} if max_width is None else dict(max_width)
    for s in settings:
        if s not in CONDITIONING_SETTINGS:
            raise ValueError(f"unknown setting {s!r}; expected one of "
                             f"{list(CONDITIONING_SETTINGS)}")

    def keep(p: dict) -> bool:
        return p["N"] <= mw.get(p["H"], p["N"])

    grid = Grid.product({"setting": list(settings), "H": list(depths), "N": list(widths),
                         "replicate": list(range(int(n_seeds)))},
                        fixed={"d_x": int(d_x), "d_y": int(d_y)}, where=keep)
    res = run_sweep("conditioning", conditioning_point, grid, seed=seed, cache_dir=cache_dir,
                    jobs=jobs, progress=progress)
    med = res.reduce("kappa", "replicate")
    return ConditioningTable(tuple(int(d) for d in depths), tuple(int(w) for w in widths),
                             {s: med[i] for i, s in enumerate(settings)}, res)


def growth_exponent(depths: ArrayLike, values: ArrayLike) -> float:
    """Least-squares slope of ``log(values)`` against ``log(depths)`` (e.g. 2 for ``Θ(H²)``)."""
    x = np.log(np.asarray(depths, dtype=np.float64))
    y = np.log(np.asarray(values, dtype=np.float64))
    return float(np.polyfit(x, y, 1)[0])
