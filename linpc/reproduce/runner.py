"""``linpc reproduce``: proofs, theorem checks and every figure, into one report.

The run has three stages, each resumable:

1. **proofs** — ``python -m proofs`` in the source checkout (sympy derivations, exact assertions);
2. **verify** — the identity battery of :mod:`linpc.verify` (quick or full);
3. **figures** — every ``figures/*.py`` script (see :mod:`linpc.reproduce.figure_contract`), whose
   sweeps are cached point by point in ``<out>/cache``.

Every argument is checked before any work starts (:func:`check_output_folder`,
:func:`check_only`). Each finished stage and figure writes a JSON record atomically under
``<out>/state``; a rerun reuses every record that is well-formed, belongs to the same mode and
linpc version and whose figure files are intact (:mod:`linpc.reproduce.records`), so an
interrupted run loses nothing it finished. A corrupt record or a damaged figure file is recomputed
with a :class:`~linpc.reproduce.records.CacheWarning` naming the file. Records hold paths relative
to ``<out>``, so the folder can be moved. Finally ``<out>/report.html`` shows every figure with its
checks and status, the theorem table and the proof table, rebuilt from all records in ``<out>``:
a run of some stages or figures (``only``) updates their entries and keeps the others.
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
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
from linpc.reproduce.records import (
    CacheWarning,
    RecordError,
    check_figure_record,
    check_stage_record,
    damaged_files,
    record_path,
    resolve_record_path,
)
from linpc.reproduce.report import STAGES, ReproduceSummary, StageResult, write_report
from linpc.verify.framework import run_verify

__all__ = [
    "STAGES", "check_only", "check_output_folder", "close_matches", "discover_figures",
    "load_figure", "run_reproduce", "selectable_names", "source_checkout", "unknown_names_message",
]


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


def selectable_names(root: str | os.PathLike) -> list[str]:
    """The names ``only`` selects from: the stages, ``"figures"`` and each figure's name."""
    return [*STAGES, "figures", *(p.stem for p in discover_figures(Path(root)))]


def close_matches(word: str, names: Sequence[str], n: int = 3) -> list[str]:
    """Up to ``n`` of ``names`` that ``word`` may be a misspelling of (:mod:`difflib`).

    A name also matches when ``word`` is close to its beginning (``sadles_fig1`` →
    ``saddles_fig1_equilibrated_energy``), since names select by substring.
    """
    scored = []
    for name in names:
        ratio = difflib.SequenceMatcher(None, word, name).ratio()
        if len(word) >= 3:
            ratio = max(ratio, difflib.SequenceMatcher(None, word, name[:len(word)]).ratio())
        if ratio >= 0.75:
            scored.append((-ratio, name))
    out = [name for _, name in sorted(scored)]
    out += [m for m in difflib.get_close_matches(word, names, n=n, cutoff=0.6) if m not in out]
    return out[:n]


def unknown_names_message(unknown: Sequence[str], valid: Sequence[str], what: str) -> str:
    """``unknown NAME 'x' (did you mean …?); valid NAMEs: …`` for an error message."""
    parts = []
    for word in unknown:
        guess = close_matches(word, valid)
        hint = f" (did you mean {', '.join(guess)}?)" if guess else ""
        parts.append(f"{word!r}{hint}")
    plural = "s" if len(unknown) > 1 else ""
    return f"unknown {what}{plural} {'; '.join(parts)}. Valid {what}s: {', '.join(valid)}"


def check_only(only: str | Sequence[str] | None, names: Sequence[str]) -> list[str] | None:
    """Check a selection: every entry must be part of at least one of ``names``.

    Returns the selection as a list (``None`` for no selection); raises :class:`ValueError` naming
    the entries that select nothing, the valid names and close matches.
    """
    if only is None:
        return None
    sel = [only] if isinstance(only, str) else list(only)
    if not sel:
        return None
    bad = [o for o in sel if not isinstance(o, str) or not o.strip()
           or not any(o in name for name in names)]
    if bad:
        raise ValueError(unknown_names_message([str(b) for b in bad], names, "name")
                         + " (a name selects every stage or figure that contains it)")
    return sel


def _probe_writable(folder: Path) -> None:
    """Raise :class:`ValueError` unless a file can be created in the existing folder ``folder``."""
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{folder} is not writable")
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".linpc-write-test-")
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise ValueError(f"cannot write into {folder} ({exc.strerror or exc})") from None


def check_output_folder(out: str | os.PathLike) -> Path:
    """Check, before any work, that ``out`` can be the results folder; return it as a path.

    An existing ``out`` must be a writable folder (and its ``state``, ``figures``, ``cache``
    entries folders, if present); a missing one must have a writable folder as its nearest
    existing parent. Raises :class:`ValueError` with the reason otherwise.
    """
    text = os.fspath(out)
    if not isinstance(text, str) or not text.strip():
        raise ValueError("the output folder is an empty path")
    if "\0" in text:
        raise ValueError(f"the output folder {text!r} contains a NUL character")
    path = Path(text)
    try:
        if os.path.lexists(path):
            if not path.is_dir():
                kind = "a broken link" if path.is_symlink() else "a file, not a folder"
                raise ValueError(f"{path} is {kind}")
            _probe_writable(path)
            for sub in ("state", "figures", "cache"):
                if os.path.lexists(path / sub) and not (path / sub).is_dir():
                    raise ValueError(f"{path / sub} is a file, not a folder")
            return path
        parent = next(p for p in path.absolute().parents if os.path.lexists(p))
        if not parent.is_dir():
            raise ValueError(f"cannot create {path}: {parent} is a file, not a folder")
        try:
            _probe_writable(parent)
        except ValueError as exc:
            raise ValueError(f"cannot create {path}: {exc}") from None
    except OSError as exc:
        raise ValueError(f"cannot use {path} ({exc.strerror or exc})") from None
    return path


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _non_negative_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())


def _load_record(path: Path, check, mode: str, log, action: str) -> dict | None:
    """A record that can be reused: well-formed (``check``), of this mode and linpc version.

    A corrupt record (unreadable, not JSON, wrong structure) gives a :class:`CacheWarning`
    naming the file; a stale one (another mode or version) a log line. Both return ``None``.
    """
    if not os.path.lexists(path):
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            record = json.load(fh)
        check(record)
    except (OSError, ValueError, RecursionError) as exc:  # RecordError is a ValueError
        reason = str(exc) if isinstance(exc, RecordError) else \
            f"unreadable: {type(exc).__name__}: {exc}"
        warnings.warn(f"record {path} is corrupt ({reason}); {action}", CacheWarning,
                      stacklevel=3)
        return None
    if record["mode"] != mode or record["version"] != __version__:
        log(f"record {path} is from a {record['mode']} run of linpc {record['version']}; "
            f"{action}")
        return None
    return record


def _figure_record(res: FigureResult, out: Path, mode: str, finished: str) -> dict:
    result = res.as_dict()
    result["files"] = [record_path(f, out) for f in res.files]
    return {"mode": mode, "version": __version__, "finished": finished, "result": result}


def _figure_from_record(record: dict, out: Path) -> FigureResult:
    result = dict(record["result"])
    result["files"] = [resolve_record_path(f, out) for f in result["files"]]
    return FigureResult.from_dict(result)


def _stage_from_record(stage: str, record: dict) -> StageResult:
    return StageResult(stage, record["passed"], float(record["seconds"]), record["rows"], "",
                       True)

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

    Every argument is checked before any work starts. The report is rebuilt from every record in
    ``out`` (of this mode and linpc version), so a run with ``only`` updates its entries and keeps
    the others, marking which were run or reused now.

    Parameters
    ----------
    out : path
        Output folder (figures in ``figures/``, cache in ``cache/``, records in ``state/``); it
        may not exist yet, but then its nearest existing parent must be a writable folder.
    quick : bool
        Small sizes everywhere (≈ 2 minutes); the full run takes ≈ 10 minutes on 2 cores.
    only : sequence of str, optional
        Run only the stages/figures whose name contains one of these strings (``"proofs"``,
        ``"verify"``, ``"figures"``, figure names); each string must select something.
    jobs : int
        Processes for sweep points (a positive integer; the thread policy may use fewer).
    seed : int
        Base seed (a non-negative integer).
    force : bool
        Ignore finished records and recompute (the sweep cache is still used).
    log : callable
        Receives one progress line per stage/figure (default ``print``).
    root : path, optional
        Source checkout holding ``figures/`` and ``proofs/`` (default: the one this package runs
        from).

    Raises
    ------
    ValueError
        For an unusable ``out``, ``jobs`` or ``seed``, or an ``only`` entry that selects nothing.
    RuntimeError
        Without a source checkout.
    """
    root = source_checkout() if root is None else Path(root)
    if root is None:
        raise RuntimeError("linpc reproduce needs a source checkout (figures/ and proofs/ are not "
                           "installed with the package): clone the repository and run "
                           "pip install -e '.[all]' there")
    out = check_output_folder(out)
    jobs = _positive_int(jobs, "jobs")
    seed = _non_negative_int(seed, "seed")
    figure_paths = discover_figures(root)
    only = check_only(only, [*STAGES, "figures", *(p.stem for p in figure_paths)])

    t0 = time.perf_counter()
    mode = "quick" if quick else "full"
    state = out / "state"
    fig_dir = out / "figures"
    cache = out / "cache"
    origin: dict[str, str] = {}
    finished: dict[str, str] = {}

    def wanted(name: str) -> bool:
        return not only or any(o in name for o in only)

    def stage_path(stage: str) -> Path:
        return state / f"{stage}-{mode}.json"

    def figure_path(name: str) -> Path:
        return state / "figures" / f"{name}-{mode}.json"

    def stage_check(stage: str):
        return lambda rec: check_stage_record(rec, stage)

    def figure_check(name: str):
        return lambda rec: check_figure_record(rec, name)

    stages: dict[str, StageResult] = {}
    for stage in STAGES:
        if not wanted(stage):
            continue
        path = stage_path(stage)
        rec = None if force else _load_record(path, stage_check(stage), mode, log,
                                              "recomputing it")
        if rec is not None and rec["passed"]:
            stages[stage] = _stage_from_record(stage, rec)
            origin[stage], finished[stage] = "reused", rec.get("finished") or ""
            log(f"[{stage}] reused the finished record {path}")
            continue
        log(f"[{stage}] running …")
        res = _run_proofs(root) if stage == "proofs" else _run_verify(quick, seed, progress)
        stages[stage] = res
        origin[stage], finished[stage] = "run", _now()
        write_json_atomic(path, {"mode": mode, "version": __version__, "passed": res.passed,
                                 "seconds": res.seconds, "rows": res.rows,
                                 "finished": finished[stage]})
        log(f"[{stage}] {'PASS' if res.passed else 'FAIL'} in {res.seconds:.1f} s")

    done: dict[str, FigureResult] = {}
    reused: set[str] = set()
    for path in figure_paths:
        name = path.stem
        if not wanted(name) and not wanted("figures"):
            continue
        record_file = figure_path(name)
        rec = None if force else _load_record(record_file, figure_check(name), mode, log,
                                              "recomputing the figure")
        if rec is not None and rec["result"]["error"] is None:
            res = _figure_from_record(rec, out)
            bad = damaged_files(res.files) if res.passed else {}
            if res.passed and not bad:
                done[name] = res
                reused.add(res.spec.name)
                origin[name], finished[name] = "reused", rec.get("finished") or ""
                log(f"[figure] {name}: reused ({len(res.checks)} checks passed)")
                continue
            for f, reason in bad.items():
                warnings.warn(f"figure {name}: file {f} is {reason}; recomputing the figure",
                              CacheWarning, stacklevel=2)
        try:
            spec, make = load_figure(path)
        except Exception as exc:
            res = FigureResult(FigureSpec(name, name, "?", "?"), [], [], 0.0,
                               f"import failed: {type(exc).__name__}: {exc}", quick)
            done[name] = res
            origin[name], finished[name] = "run", _now()
            log(f"[figure] {name}: FAIL (import)")
            continue
        log(f"[figure] {spec.name}: running ({spec.source}) …")
        ctx = FigureContext(fig_dir, quick=quick, cache_dir=cache, jobs=jobs, seed=seed,
                            progress=progress)
        res = run_figure(spec, make, ctx)
        done[name] = res
        origin[name], finished[name] = "run", _now()
        write_json_atomic(record_file, _figure_record(res, out, mode, finished[name]))
        log(f"[figure] {spec.name}: {'PASS' if res.passed else 'FAIL'} in {res.seconds:.1f} s")
        if res.error:
            log(res.error)

    # the report shows every record in the folder: this run's entries and earlier ones
    leave_out = "leaving it out of the report"
    report_stages: dict[str, StageResult] = {}
    for stage in STAGES:
        if stage in stages:
            report_stages[stage] = stages[stage]
            continue
        rec = _load_record(stage_path(stage), stage_check(stage), mode, log, leave_out)
        if rec is not None:
            report_stages[stage] = _stage_from_record(stage, rec)
            origin[stage], finished[stage] = "earlier", rec.get("finished") or ""
    report_figures: list[FigureResult] = []
    not_run: list[str] = []
    damaged: dict[str, str] = {}
    for path in figure_paths:
        name = path.stem
        if name in done:
            report_figures.append(done[name])
            continue
        rec = _load_record(figure_path(name), figure_check(name), mode, log, leave_out)
        if rec is None:
            not_run.append(name)
            continue
        res = _figure_from_record(rec, out)
        bad = damaged_files(res.files)
        if bad:
            damaged[name] = "; ".join(f"{record_path(f, out)} is {reason}"
                                      for f, reason in bad.items())
        report_figures.append(res)
        origin[name], finished[name] = "earlier", rec.get("finished") or ""

    summary = ReproduceSummary(out, quick, stages, list(done.values()), reused,
                               time.perf_counter() - t0, report_stages=report_stages,
                               report_figures=report_figures, not_run=not_run, origin=origin,
                               finished=finished, damaged=damaged)
    report = write_report(summary)
    log(f"report: {report}")
    return summary
