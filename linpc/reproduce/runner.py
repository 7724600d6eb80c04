"""``linpc reproduce``: proofs, theorem checks and every figure, into one report.

The run has three stages, each resumable:

1. **proofs** — ``python -m proofs`` in the source checkout (sympy derivations, exact assertions);
2. **verify** — the identity battery of :mod:`linpc.verify` (quick or full);
3. **figures** — every ``figures/*.py`` script (see :mod:`linpc.figure_support`), whose sweeps are
   cached point by point in ``<out>/cache``.

Each finished stage and figure writes a JSON record atomically under ``<out>/state``; a rerun
reuses every record that belongs to the same mode and linpc version and whose files still exist,
so an interrupted run loses nothing it finished. A record that cannot be read is recomputed.
Finally ``<out>/report.html`` shows every figure with its checks and status, the theorem table and
the proof table.
"""

from __future__ import annotations

import html
import importlib.util
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .figure_support import FigureContext, FigureResult, run_figure, write_json_atomic

__all__ = ["ReproduceSummary", "discover_figures", "run_reproduce", "write_report"]


def repo_root() -> Path | None:
    """The source checkout containing this package (with ``figures/`` and ``proofs/``), if any."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "figures").is_dir() else None


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


@dataclass
class StageResult:
    """Outcome of the proofs or verify stage."""

    name: str
    passed: bool
    seconds: float
    rows: list[dict] = field(default_factory=list)
    output: str = ""
    reused: bool = False


@dataclass
class ReproduceSummary:
    """Everything the report shows."""

    out: Path
    quick: bool
    stages: dict[str, StageResult]
    figures: list[FigureResult]
    reused_figures: set[str]
    seconds: float

    @property
    def passed(self) -> bool:
        return all(s.passed for s in self.stages.values()) and all(f.passed for f in self.figures)


def _read_json(path: Path):
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def _state_ok(record, mode: str) -> bool:
    from . import __version__

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
    from .tolerances import RULES
    from .verify import run_verify

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
    from . import __version__

    root = repo_root() if root is None else Path(root)
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
            from .figure_support import FigureSpec

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
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.4}
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:0.5em 0;font-size:0.9em}
td,th{border:1px solid #ddd;padding:3px 7px;vertical-align:top;text-align:left}
th{background:#f4f4f4}.pass{color:#127a12;font-weight:bold}.fail{color:#b00;font-weight:bold}
.fig{margin:1.5em 0;padding:1em;border:1px solid #e4e4e4;border-radius:6px}
.fig img{max-width:100%}code,pre{font-size:0.85em}pre{background:#f7f7f7;padding:0.5em;
overflow-x:auto}.num{text-align:right;font-variant-numeric:tabular-nums}
"""


def _status(ok: bool) -> str:
    return '<span class="pass">PASS</span>' if ok else '<span class="fail">FAIL</span>'


def _fmt(v) -> str:
    if v is None:
        return "–"
    try:
        return f"{float(v):.3g}"
    except (TypeError, ValueError):
        return html.escape(str(v))


def write_report(summary: ReproduceSummary) -> Path:
    """Write ``report.html`` (and ``report.md``) into the output folder; return the HTML path."""
    from . import __version__

    out = summary.out
    e = html.escape
    n_fig_ok = sum(f.passed for f in summary.figures)
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>linpc reproduce</title>"
             f"<style>{_CSS}</style></head><body>",
             "<h1>linpc — reproduction report</h1>",
             f"<p>linpc {e(__version__)}, {'quick' if summary.quick else 'full'} run, "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
             f"{summary.seconds:.0f} s this invocation. Overall: {_status(summary.passed)}</p>",
             "<table><tr><th>stage</th><th>status</th><th>time</th></tr>"]
    for name, st in summary.stages.items():
        parts.append(f"<tr><td>{e(name)}</td><td>{_status(st.passed)}</td>"
                     f"<td class='num'>{st.seconds:.1f} s{' (reused)' if st.reused else ''}</td>"
                     "</tr>")
    parts.append(f"<tr><td>figures</td><td>{n_fig_ok} of {len(summary.figures)} "
                 f"{_status(n_fig_ok == len(summary.figures))}</td><td class='num'>"
                 f"{sum(f.seconds for f in summary.figures):.1f} s</td></tr></table>")

    # contents
    parts.append("<h2>Contents</h2><table><tr><th>figure</th><th>reproduces</th><th>checks</th>"
                 "<th></th></tr>")
    for f in summary.figures:
        s = f.spec
        n_ok = sum(c.passed for c in f.checks)
        parts.append(f"<tr><td><a href='#{e(s.name)}'>{e(s.name)}</a></td><td>{e(s.source)}</td>"
                     f"<td class='num'>{n_ok}/{len(f.checks)}</td><td>{_status(f.passed)}</td>"
                     "</tr>")
    parts.append("</table><p>Then: <a href='#theorems'>theorem checks</a>, "
                 "<a href='#proofs'>symbolic proofs</a>.</p>")

    # figures
    parts.append("<h2>Figures</h2>")
    for f in summary.figures:
        s = f.spec
        parts.append(f"<div class='fig' id='{e(s.name)}'><h3>{e(s.source)} — {e(s.title)} "
                     f"{_status(f.passed)}</h3>")
        parts.append(f"<p><b>Check:</b> {e(s.check)}. <b>Data:</b> {e(s.data)}. "
                     f"<b>Time:</b> {f.seconds:.1f} s"
                     f"{' (reused)' if s.name in summary.reused_figures else ''}.</p>")
        for p in f.files:
            p = Path(p)
            if p.suffix == ".png":
                rel = os.path.relpath(p, out)
                parts.append(f"<p><img src='{e(rel)}' alt='{e(s.name)}'></p>")
        pdfs = [Path(p) for p in f.files if Path(p).suffix == ".pdf"]
        if pdfs:
            links = ", ".join(f"<a href='{e(os.path.relpath(p, out))}'>{e(p.name)}</a>"
                              for p in pdfs)
            parts.append(f"<p>PDF: {links}</p>")
        if f.checks:
            parts.append("<table><tr><th>check</th><th>value</th><th>tolerance</th>"
                         "<th>rule</th><th></th></tr>")
            for c in f.checks:
                parts.append(f"<tr><td>{e(c.name)}</td><td class='num'>{_fmt(c.value)}</td>"
                             f"<td class='num'>{_fmt(c.tolerance)}</td><td>{e(c.rule)}</td>"
                             f"<td>{_status(c.passed)}</td></tr>")
            parts.append("</table>")
        if f.error:
            parts.append(f"<pre>{e(f.error)}</pre>")
        parts.append("</div>")

    # theorems
    if "verify" in summary.stages:
        parts.append("<h2 id='theorems'>Theorem checks (<code>linpc verify</code>)</h2><table><tr>"
                     "<th>id</th>"
                     "<th>identity</th><th>cases</th><th>worst error</th><th>tolerance</th>"
                     "<th>rule</th><th>source</th><th></th></tr>")
        for r in summary.stages["verify"].rows:
            parts.append(f"<tr><td>{e(r['key'])}</td><td>{e(r['title'])}</td>"
                         f"<td class='num'>{r['cases']}</td><td class='num'>"
                         f"{_fmt(r['worst_error'])}</td><td class='num'>{_fmt(r['tolerance'])}"
                         f"</td><td>{e(r['rule'])}</td><td>{e(r['source'])}</td>"
                         f"<td>{_status(r['passed'])}</td></tr>")
        parts.append("</table>")
    if "proofs" in summary.stages:
        st = summary.stages["proofs"]
        parts.append("<h2 id='proofs'>Symbolic proofs (<code>python -m proofs</code>)</h2>"
                     "<table><tr><th>script</th><th>statements</th><th>time</th><th></th></tr>")
        for r in st.rows:
            ok = r.get("status") == "PASS"
            parts.append(f"<tr><td>{e(str(r.get('script')))}</td><td class='num'>"
                         f"{r.get('statements', '')}</td><td class='num'>"
                         f"{_fmt(r.get('seconds'))} s</td><td>{_status(ok)}</td></tr>")
        parts.append("</table>")
        if st.output and not st.passed:
            parts.append(f"<pre>{e(st.output)}</pre>")
    parts.append("</body></html>")
    path = out / "report.html"
    out.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(".report.html.tmp")
    tmp.write_text("\n".join(parts), encoding="utf-8")
    os.replace(tmp, path)
    _write_markdown(summary)
    return path


def _write_markdown(summary: ReproduceSummary) -> Path:
    out = summary.out
    lines = ["# linpc reproduction report", "",
             f"{'quick' if summary.quick else 'full'} run; overall "
             f"{'PASS' if summary.passed else 'FAIL'}", "",
             "| figure | source | checks | status |", "|---|---|---|---|"]
    def cell(text: str) -> str:
        return " ".join(str(text).split()).replace("|", "\\|")

    for f in summary.figures:
        checks = "; ".join(f"{c.name}: {c.value:.3g} ≤ {c.tolerance:.3g}" for c in f.checks)
        lines.append(f"| {cell(f.spec.name)} | {cell(f.spec.source)} | "
                     f"{cell(checks or f.error or '')} | {'PASS' if f.passed else 'FAIL'} |")
    for name, st in summary.stages.items():
        lines.append("")
        lines.append(f"{name}: {'PASS' if st.passed else 'FAIL'} ({st.seconds:.1f} s)")
    path = out / "report.md"
    tmp = path.with_name(".report.md.tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path
