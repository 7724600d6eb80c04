"""``linpc reproduce``: the machinery that turns the theory into checked figures and a report.

* :mod:`~linpc.reproduce.runner` — the three resumable stages (proofs, ``linpc verify``, every
  ``figures/*.py`` script) and their JSON records;
* :mod:`~linpc.reproduce.sweeps` — parameter grids with content-derived per-point seeds, an atomic
  ``.npz`` cache per point, resume, progress and process parallelism;
* :mod:`~linpc.reproduce.figure_contract` — what a figure script defines (``SPEC``, ``make``) and
  its quantitative checks;
* :mod:`~linpc.reproduce.records` — the schemas every record is checked against before reuse,
  the checks of figure files (PNG, PDF) and paths relative to the results folder;
* :mod:`~linpc.reproduce.report` — ``report.html`` and ``report.md``;
* :mod:`~linpc.reproduce.plotting` — one matplotlib style and a PDF + PNG save function;
* :mod:`~linpc.reproduce.conditioning_table` — the cached table of docs/theory.md §6.2.

Nothing in the science subpackages imports this one.
"""

from linpc.reproduce.figure_contract import (
    Check,
    FigureContext,
    FigureResult,
    FigureSpec,
    figure_main,
    run_figure,
)
from linpc.reproduce.records import CacheWarning
from linpc.reproduce.runner import discover_figures, load_figure, run_reproduce, source_checkout
from linpc.reproduce.sweeps import Grid, SweepCacheWarning, SweepResult, run_sweep

__all__ = [
    "CacheWarning", "Check", "FigureContext", "FigureResult", "FigureSpec", "Grid",
    "SweepCacheWarning", "SweepResult", "discover_figures", "figure_main", "load_figure",
    "run_figure", "run_reproduce", "run_sweep", "source_checkout",
]
