"""The contract between figure scripts (``figures/*.py``) and ``linpc reproduce``.

A figure script is thin: it computes through linpc (cached sweeps), plots with the shared style and
returns its quantitative checks. It defines

* ``SPEC = FigureSpec(...)`` — name, title, the paper/thesis figure it reproduces, what its check
  compares, and its runtimes;
* ``make(ctx: FigureContext) -> list[Check]`` — computes (``ctx.sweep(...)`` for anything worth
  caching), plots (``linpc.reproduce.plotting``), saves with ``ctx.save(fig)`` and returns the
  checks;

and ends with ``if __name__ == "__main__": figure_main(SPEC, make)`` so that it also runs alone
(``python figures/<name>.py [--quick] [--out DIR]``).

A :class:`Check` is "theory and computation agree": a measured discrepancy ``value`` compared with
a ``tolerance`` justified by ``rule``; it passes iff ``value ≤ tolerance``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from linpc.reproduce.sweeps import run_sweep

__all__ = ["Check", "FigureContext", "FigureResult", "FigureSpec", "figure_main", "run_figure"]


@dataclass(frozen=True)
class FigureSpec:
    """What a figure script reproduces.

    Attributes
    ----------
    name : str
        File stem of the outputs (``<name>.pdf``, ``<name>.png``) and the name used by ``--only``.
    title : str
        One-line description.
    source : str
        The paper/thesis figure it reproduces, e.g. ``"P1 Fig. 1"``.
    check : str
        What its quantitative check compares.
    runtime : str
        Typical runtimes, e.g. ``"quick 5 s / full 40 s"``.
    data : str
        The data used (synthetic stand-ins for data sets that cannot be downloaded).
    """

    name: str
    title: str
    source: str
    check: str
    runtime: str = ""
    data: str = "synthetic"


@dataclass(frozen=True)
class Check:
    """A measured discrepancy between theory and computation: passes iff ``value ≤ tolerance``."""

    name: str
    value: float
    tolerance: float
    rule: str = ""

    @property
    def passed(self) -> bool:
        v = float(self.value)
        return v == v and v <= float(self.tolerance)   # NaN never passes

    def as_dict(self) -> dict:
        return {"name": self.name, "value": float(self.value), "tolerance": float(self.tolerance),
                "rule": self.rule, "passed": self.passed}


@dataclass
class FigureContext:
    """Where a figure writes, whether it runs quick, and the shared sweep cache."""

    out_dir: Path
    quick: bool = False
    cache_dir: Path | None = None
    jobs: int = 1
    seed: int = 0
    progress: bool = True
    spec: FigureSpec | None = None
    files: list[Path] = field(default_factory=list)

    def sweep(self, name: str, function: Callable, points, *, version: str = "1",
              seed: int | None = None):
        """:func:`linpc.reproduce.sweeps.run_sweep` with this run's cache, jobs, seed and
        progress."""
        mode = "quick" if self.quick else "full"
        return run_sweep(f"{name}.{mode}", function, points,
                         seed=self.seed if seed is None else seed, cache_dir=self.cache_dir,
                         version=version, jobs=self.jobs, progress=self.progress)

    def save(self, fig, suffix: str = "") -> list[Path]:
        """Save a figure as ``<out_dir>/<spec.name><suffix>.pdf/.png`` in linpc's way."""
        from linpc.reproduce.plotting import save_figure

        if self.spec is None:
            raise RuntimeError("FigureContext.save needs the figure's spec")
        paths = save_figure(fig, self.out_dir / f"{self.spec.name}{suffix}")
        self.files.extend(paths)
        return paths


@dataclass
class FigureResult:
    """Outcome of one figure: files written, checks, time, and the error if it failed."""

    spec: FigureSpec
    files: list[Path]
    checks: list[Check]
    seconds: float
    error: str | None = None
    quick: bool = False

    @property
    def passed(self) -> bool:
        return self.error is None and bool(self.checks) and all(c.passed for c in self.checks)

    def as_dict(self) -> dict:
        return {"spec": asdict(self.spec), "files": [str(p) for p in self.files],
                "checks": [c.as_dict() for c in self.checks], "seconds": self.seconds,
                "error": self.error, "quick": self.quick}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FigureResult:
        """The inverse of :meth:`as_dict` (fields of the spec it does not know are ignored)."""
        spec = {f.name: d["spec"][f.name] for f in fields(FigureSpec) if f.name in d["spec"]}
        return cls(FigureSpec(**spec), [Path(p) for p in d["files"]],
                   [Check(c["name"], c["value"], c["tolerance"], c.get("rule", ""))
                    for c in d["checks"]], float(d["seconds"]), d.get("error"),
                   bool(d.get("quick", False)))


def run_figure(spec: FigureSpec, make: Callable[[FigureContext], Sequence[Check]],
               ctx: FigureContext) -> FigureResult:
    """Run one figure; an exception becomes a failed result with its traceback (not a crash)."""
    ctx.spec = spec
    ctx.files = []
    ctx.out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    try:
        checks = list(make(ctx))
        error = None
        if not checks:
            error = "the figure returned no checks"
    except Exception:  # the report must show the failure, and the other figures must still run
        checks, error = [], traceback.format_exc(limit=8)
    return FigureResult(spec, list(ctx.files), checks, time.perf_counter() - t0, error, ctx.quick)


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write JSON to a temporary file in the same folder, then ``os.replace`` it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, indent=1, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def figure_main(spec: FigureSpec, make: Callable[[FigureContext], Sequence[Check]],
                argv: list[str] | None = None) -> int:
    """Command line of a figure script: ``[--quick] [--out DIR] [--cache DIR] [--jobs N]``."""
    p = argparse.ArgumentParser(description=f"{spec.source}: {spec.title}")
    p.add_argument("--quick", action="store_true", help="small sizes, seconds")
    p.add_argument("--out", default="results/figures", help="output folder")
    p.add_argument("--cache", default="results/cache", help="sweep cache folder ('' = none)")
    p.add_argument("--jobs", type=int, default=1, help="processes for sweep points")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.jobs < 1:
        p.error(f"argument --jobs: must be a positive integer, got {args.jobs}")
    if args.seed < 0:
        p.error(f"argument --seed: must be a non-negative integer, got {args.seed}")
    ctx = FigureContext(Path(args.out), quick=args.quick,
                        cache_dir=Path(args.cache) if args.cache else None, jobs=args.jobs,
                        seed=args.seed)
    from linpc.numerics.threads import single_threaded_blas

    with single_threaded_blas():          # the thread policy, as in the linpc command
        res = run_figure(spec, make, ctx)
    for c in res.checks:
        status = "PASS" if c.passed else "FAIL"
        print(f"{status}  {c.name}: {c.value:.3g} ≤ {c.tolerance:.3g}  ({c.rule})")
    if res.error:
        print(res.error, file=sys.stderr)
    print(f"{spec.name}: {'PASS' if res.passed else 'FAIL'} in {res.seconds:.1f} s; "
          f"files: {', '.join(str(f) for f in res.files)}")
    return 0 if res.passed else 1
