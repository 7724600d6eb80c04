"""``linpc reproduce``: proofs, theorem checks and every figure, into one report.

The run has three stages, each resumable:

1. **proofs** — ``python -m proofs`` in the source checkout (sympy derivations, exact assertions);
2. **verify** — the identity battery of :mod:`linpc.verify` (quick or full);
3. **figures** — every ``figures/*.py`` script (see :mod:`linpc.reproduce.figure_contract`), whose
   sweeps are cached point by point in ``<out>/cache``.

Each finished stage and figure writes a JSON record atomically under ``<out>/state``; a rerun
reuses every record that belongs to the same mode and linpc version and whose files still exist,
so an interrupted run loses nothing it finished. A record that cannot be read is recomputed.
Finally ``<out>/report.html`` shows every figure with its checks and status, the theorem table and
the proof table.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from linpc._version import __version__
from linpc.numerics.tolerances import RULES
from linpc.reproduce.figure_contract import (
    FigureContext,
    FigureResult,
    FigureSpec,
    run_figure,
    write_json_atomic,
)
from linpc.reproduce.report import ReproduceSummary, StageResult, write_report
from linpc.verify.framework import run_verify

__all__ = ["discover_figures", "load_figure", "run_reproduce", "source_checkout"]


def source_checkout() -> Path | None:
    """The source checkout that holds this package, ``figures/`` and ``proofs/``, if any.

    ``linpc reproduce`` and ``linpc proofs`` need it: the figure scripts and the sympy derivations
    are not installed with the package.
    """
    root = Path(__file__).resolve().parents[2]
    return root if (root / "figures").is_dir() and (root / "proofs").is_dir() else None


#: Order of the figures in a run and in the report: by paper (P1 saddles, P2 trust region, thesis
#: higher-order information, P3 μPC, P5 limits), then by name.
FIGURE_ORDER = ("saddles_", "tr_", "higher_order", "mupc_", "limits_")


def discover_figures(root: Path) -> list[Path]:
    """Figure scripts: ``figures/*.py`` not starting with an underscore, in :data:`FIGURE_ORDER`."""
    def key(p: Path) -> tuple[int, str]:
        rank = next((i for i, pre in enumerate(FIGURE_ORDER) if p.stem.startswith(pre)),
                    len(FIGURE_ORDER))
        return rank, p.stem

    return sorted((p for p in (root / "figures").glob("*.py") if not p.name.startswith("_")),
                  key=key)


def load_figure(path: Path):
    """Import a figure script by path; return its ``SPEC`` and ``make``."""
    mod_name = f"linpc_figure_{path.stem}"
    spec = importlib.util.spec_from_file_location(mod_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    spec.loader.exec_module(module)
    if not hasattr(module, "SPEC") or not hasattr(module, "make"):
        raise ImportError(f"{path} must define SPEC (FigureSpec) and make(ctx)")
    return module.SPEC, module.make


def _read_json(path: Path):
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def _state_ok(record, mode: str) -> bool:
    return (isinstance(record, dict) and record.get("mode") == mode
            and record.get("version") == __version__)


def _run_proofs(root: Path) -> StageResult:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "proofs", "--json", "-"], cwd=root,
                          capture_output=True, text=True)
    rows: list[dict] = []
    try:
        rows = json.loads(proc.stdout) if proc.stdout.strip() else []
    except ValueError:
        rows = [{"script": "proofs", "status": "ERROR", "statements": 0, "seconds": 0.0}]
    out = (proc.stderr or "")[-4000:]
    return StageResult("proofs", proc.returncode == 0 and bool(rows),
                       time.perf_counter() - t0, rows, out)


#: Random networks of the verify stage of a full reproduce run (``linpc verify`` alone draws 120;
#: the figures get the rest of the ten-minute budget).
REPRODUCE_VERIFY_RANDOM = 40


def _run_verify(quick: bool, seed: int, progress: bool) -> StageResult:
    t0 = time.perf_counter()
    rows = run_verify(quick=quick, seed=seed, progress=progress,
                      n_random=None if quick else REPRODUCE_VERIFY_RANDOM)
    out = []
    for r in rows:
        w = r.worst
        out.append({
            "key": r.identity.key, "title": r.identity.title, "source": r.identity.source,
            "rule": RULES.get(r.identity.rule, r.identity.rule), "cases": r.cases,
            "checks": len(r.comparisons), "passed": r.ok,
            "worst_error": None if w is None else float(w.error),
            "tolerance": None if w is None else float(w.tolerance),
            "worst_case": r.worst_case, "errors": r.errors[:3],
        })
    return StageResult("verify", all(r.ok for r in rows), time.perf_counter() - t0, out)


def run_reproduce(
    out: str | os.PathLike = "results",
    *,
    quick: bool = False,
    only: Sequence[str] | None = None,
    jobs: int = 1,
    seed: int = 0,
    progress: bool = True,
    force: bool = False,
    log=print,
    root: str | os.PathLike | None = None,
) -> ReproduceSummary:
    """Run proofs, verify and the figures; write ``<out>/report.html``; return the summary.

    Parameters
    ----------
    out : path
        Output folder (figures in ``figures/``, cache in ``cache/``, records in ``state/``).
    quick : bool
        Small sizes everywhere (≈ 2 minutes); the full run takes ≈ 10 minutes on 2 cores.
    only : sequence of str, optional
        Run only the stages/figures whose name contains one of these strings (``"proofs"``,
        ``"verify"``, figure names).
    jobs : int
        Processes for sweep points.
    force : bool
        Ignore finished records and recompute (the sweep cache is still used).
    log : callable
        Receives one progress line per stage/figure (default ``print``).
    root : path, optional
        Source checkout holding ``figures/`` and ``proofs/`` (default: the one this package runs
        from).
    """
    root = source_checkout() if root is None else Path(root)
    if root is None:
        raise RuntimeError("linpc reproduce needs a source checkout (figures/ and proofs/ are not "
                           "installed with the package): clone the repository and run "
                           "pip install -e '.[all]' there")
    t0 = time.perf_counter()
    out = Path(out)
    mode = "quick" if quick else "full"
    state = out / "state"
    fig_dir = out / "figures"
    cache = out / "cache"

    def wanted(name: str) -> bool:
        return not only or any(o in name for o in only)

    stages: dict[str, StageResult] = {}
    for stage in ("proofs", "verify"):
        if not wanted(stage):
            continue
        path = state / f"{stage}-{mode}.json"
        rec = None if force else _read_json(path)
        if _state_ok(rec, mode) and rec.get("passed"):
            stages[stage] = StageResult(stage, True, rec["seconds"], rec["rows"], "", True)
            log(f"[{stage}] reused the finished record {path}")
            continue
        log(f"[{stage}] running …")
        res = _run_proofs(root) if stage == "proofs" else _run_verify(quick, seed, progress)
        stages[stage] = res
        write_json_atomic(path, {"mode": mode, "version": __version__, "passed": res.passed,
                                 "seconds": res.seconds, "rows": res.rows})
        log(f"[{stage}] {'PASS' if res.passed else 'FAIL'} in {res.seconds:.1f} s")

    figures: list[FigureResult] = []
    reused: set[str] = set()
    for path in discover_figures(root):
        if not wanted(path.stem) and not wanted("figures"):
            continue
        record_path = state / "figures" / f"{path.stem}-{mode}.json"
        rec = None if force else _read_json(record_path)
        if _state_ok(rec, mode) and rec.get("result", {}).get("error") is None:
            res = FigureResult.from_dict(rec["result"])
            if res.passed and all(Path(f).exists() for f in res.files):
                figures.append(res)
                reused.add(res.spec.name)
                log(f"[figure] {res.spec.name}: reused ({len(res.checks)} checks passed)")
                continue
        try:
            spec, make = load_figure(path)
        except Exception as exc:

            res = FigureResult(FigureSpec(path.stem, path.stem, "?", "?"), [], [], 0.0,
                               f"import failed: {type(exc).__name__}: {exc}", quick)
            figures.append(res)
            log(f"[figure] {path.stem}: FAIL (import)")
            continue
        log(f"[figure] {spec.name}: running ({spec.source}) …")
        ctx = FigureContext(fig_dir, quick=quick, cache_dir=cache, jobs=jobs, seed=seed,
                            progress=progress)
        res = run_figure(spec, make, ctx)
        figures.append(res)
        write_json_atomic(record_path, {"mode": mode, "version": __version__,
                                        "result": res.as_dict()})
        log(f"[figure] {spec.name}: {'PASS' if res.passed else 'FAIL'} in {res.seconds:.1f} s")
        if res.error:
            log(res.error)
    summary = ReproduceSummary(out, quick, stages, figures, reused, time.perf_counter() - t0)
    report = write_report(summary)
    log(f"report: {report}")
    return summary


# ------------------------------------------------------------------------------------- report
