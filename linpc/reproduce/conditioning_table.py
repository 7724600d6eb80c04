"""The conditioning table of docs/theory.md §6.2: median ``κ(H_z)`` over depth, width and setting.

A cached, resumable sweep (:func:`linpc.reproduce.sweeps.run_sweep`, sweep name
``"conditioning"``) of the point function :func:`linpc.mupc.conditioning.conditioning_point` over
the parameterisations of :data:`linpc.mupc.conditioning.CONDITIONING_SETTINGS`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from linpc.mupc.conditioning import CONDITIONING_SETTINGS, conditioning_point
from linpc.mupc.tridiagonal_limit import tridiagonal_limit_condition_number
from linpc.numerics.types import Array
from linpc.reproduce.sweeps import Grid, SweepResult, run_sweep

__all__ = ["ConditioningTable", "conditioning_table"]


@dataclass(frozen=True)
class ConditioningTable:
    """Medians over seeds of ``κ(H_z)``.

    ``median[setting]`` has shape ``(len(depths), len(widths))`` (NaN where a cell was not
    computed).
    """

    depths: tuple[int, ...]
    widths: tuple[int, ...]
    median: dict[str, Array]
    sweep: SweepResult

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

    Reproduces the table of docs/theory.md §6.2 (``d_y = 10``, per-sample ``H_z``; ``max_width``
    defaults to ``{32: 64}``: the ``H = 32`` column only for ``N ≤ 64``). Runs through
    :func:`linpc.reproduce.sweeps.run_sweep` (sweep name ``"conditioning"``), so results are cached
    and resumable when ``cache_dir`` is given.
    """
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
