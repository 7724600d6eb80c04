"""The report of ``linpc reproduce``: ``report.html`` and ``report.md`` from a run's summary.

Every figure with its quantitative checks and status, the theorem table of ``linpc verify`` and
the proof table of ``proofs/``, ordered by paper with a table of contents. The report shows every
record in the results folder, each marked as run now, reused now or from an earlier run, and
figures without a record as not run; images and PDFs are linked relative to the report, so the
folder can be moved. Files are written atomically (a temporary file, then ``os.replace``).
"""

from __future__ import annotations

import html
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from linpc._version import __version__
from linpc.reproduce.figure_contract import FigureResult

__all__ = ["STAGES", "ReproduceSummary", "StageResult", "write_report"]

#: The stages before the figures, in order.
STAGES = ("proofs", "verify")


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
    """Everything the report shows.

    ``stages`` and ``figures`` are what this invocation selected (run or reused now; they decide
    :attr:`passed` and the exit status). ``report_stages`` and ``report_figures`` are every entry
    of the report — these and the records of earlier runs in the results folder — with
    ``origin[name]`` one of ``"run"``, ``"reused"`` (now) or ``"earlier"``, ``finished[name]`` the
    time the entry was computed, ``not_run`` the figures without a record and ``damaged[name]``
    what is wrong with the files of an earlier figure.
    """

    out: Path
    quick: bool
    stages: dict[str, StageResult]
    figures: list[FigureResult]
    reused_figures: set[str]
    seconds: float
    report_stages: dict[str, StageResult] | None = None
    report_figures: list[FigureResult] | None = None
    not_run: list[str] = field(default_factory=list)
    origin: dict[str, str] = field(default_factory=dict)
    finished: dict[str, str] = field(default_factory=dict)
    damaged: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.report_stages is None:
            self.report_stages = dict(self.stages)
        if self.report_figures is None:
            self.report_figures = list(self.figures)

    @property
    def passed(self) -> bool:
        """Every stage and figure of this invocation passed."""
        return all(s.passed for s in self.stages.values()) and all(f.passed for f in self.figures)

    @property
    def report_passed(self) -> bool:
        """Every entry of the report passed, none is missing or damaged."""
        return (all(s.passed for s in self.report_stages.values())
                and all(f.passed for f in self.report_figures)
                and not self.not_run and not self.damaged
                and all(s in self.report_stages for s in STAGES))

    def figure_passed(self, f: FigureResult) -> bool:
        """A figure passes in the report if it passed and its files are intact."""
        return f.passed and f.spec.name not in self.damaged


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


def _origin(summary: ReproduceSummary, name: str) -> str:
    """``run now``, ``reused now (computed …)`` or ``earlier run (…)``."""
    kind, when = summary.origin.get(name), summary.finished.get(name)
    if kind == "run":
        return "run now"
    label = {"reused": "reused now", "earlier": "from an earlier run"}.get(kind or "", "")
    if label and when:
        label += f" (computed {when})"
    return label


def _href(path: str | os.PathLike, out: Path) -> str:
    """A link to ``path`` relative to the report file ``<out>/report.html``, URL-quoted."""
    rel = os.path.relpath(os.path.abspath(path), os.path.abspath(out))
    return quote(Path(rel).as_posix())


def write_report(summary: ReproduceSummary) -> Path:
    """Write ``report.html`` (and ``report.md``) into the output folder; return the HTML path.

    Figures and PDFs are linked relative to the report, so the folder can be moved.
    """
    out = summary.out
    e = html.escape
    figures = summary.report_figures or []
    stages = summary.report_stages or {}
    n_fig_ok = sum(summary.figure_passed(f) for f in figures)
    n_run = sum(v == "run" for v in summary.origin.values())
    n_reused = sum(v == "reused" for v in summary.origin.values())
    whole = "PASS" if summary.report_passed else (
        "INCOMPLETE" if all(summary.figure_passed(f) for f in figures)
        and all(s.passed for s in stages.values()) else "FAIL")
    whole_html = {"PASS": _status(True), "FAIL": _status(False)}.get(
        whole, '<span class="fail">INCOMPLETE</span>')
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>linpc reproduce</title>"
             f"<style>{_CSS}</style></head><body>",
             "<h1>linpc — reproduction report</h1>",
             f"<p>linpc {e(__version__)}, {'quick' if summary.quick else 'full'} run, "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.</p>",
             f"<p><b>This invocation:</b> {_status(summary.passed)} — {n_run} "
             f"{'entry' if n_run == 1 else 'entries'} run, {n_reused} reused, "
             f"{summary.seconds:.0f} s. <b>Whole report:</b> {whole_html} — {n_fig_ok} of "
             f"{len(figures) + len(summary.not_run)} figures pass"
             + (f", {len(summary.not_run)} not run yet" if summary.not_run else "")
             + (f", {len(summary.damaged)} with damaged files" if summary.damaged else "")
             + ".</p>",
             "<table><tr><th>stage</th><th>status</th><th>time</th><th>entry</th></tr>"]
    for name in STAGES:
        st = stages.get(name)
        if st is None:
            parts.append(f"<tr><td>{e(name)}</td><td>not run</td><td></td><td></td></tr>")
            continue
        parts.append(f"<tr><td>{e(name)}</td><td>{_status(st.passed)}</td>"
                     f"<td class='num'>{st.seconds:.1f} s</td><td>{e(_origin(summary, name))}"
                     "</td></tr>")
    parts.append(f"<tr><td>figures</td><td>{n_fig_ok} of {len(figures) + len(summary.not_run)} "
                 f"{_status(n_fig_ok == len(figures) and not summary.not_run)}</td>"
                 f"<td class='num'>{sum(f.seconds for f in figures):.1f} s</td><td></td></tr>"
                 "</table>")

    # contents
    parts.append("<h2>Contents</h2><table><tr><th>figure</th><th>reproduces</th><th>checks</th>"
                 "<th></th><th>entry</th></tr>")
    for f in figures:
        s = f.spec
        n_ok = sum(c.passed for c in f.checks)
        parts.append(f"<tr><td><a href='#{e(s.name)}'>{e(s.name)}</a></td><td>{e(s.source)}</td>"
                     f"<td class='num'>{n_ok}/{len(f.checks)}</td>"
                     f"<td>{_status(summary.figure_passed(f))}</td>"
                     f"<td>{e(_origin(summary, s.name))}</td></tr>")
    for name in summary.not_run:
        parts.append(f"<tr><td>{e(name)}</td><td></td><td></td><td>not run</td><td></td></tr>")
    parts.append("</table><p>Then: <a href='#theorems'>theorem checks</a>, "
                 "<a href='#proofs'>symbolic proofs</a>.</p>")
    if summary.not_run:
        parts.append("<p>Not run yet (no record in this folder): "
                     f"{e(', '.join(summary.not_run))}.</p>")

    # figures
    parts.append("<h2>Figures</h2>")
    for f in figures:
        s = f.spec
        parts.append(f"<div class='fig' id='{e(s.name)}'><h3>{e(s.source)} — {e(s.title)} "
                     f"{_status(summary.figure_passed(f))}</h3>")
        parts.append(f"<p><b>Check:</b> {e(s.check)}. <b>Data:</b> {e(s.data)}. "
                     f"<b>Time:</b> {f.seconds:.1f} s. <b>Entry:</b> "
                     f"{e(_origin(summary, s.name))}.</p>")
        if s.name in summary.damaged:
            parts.append(f"<p class='fail'>Files missing or damaged: "
                         f"{e(summary.damaged[s.name])}; run <code>linpc reproduce --only "
                         f"{e(s.name)}</code> to recompute.</p>")
        for p in f.files:
            if Path(p).suffix == ".png":
                parts.append(f"<p><img src='{e(_href(p, out))}' alt='{e(s.name)}'></p>")
        pdfs = [Path(p) for p in f.files if Path(p).suffix == ".pdf"]
        if pdfs:
            links = ", ".join(f"<a href='{e(_href(p, out))}'>{e(p.name)}</a>" for p in pdfs)
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
    if "verify" in stages:
        parts.append("<h2 id='theorems'>Theorem checks (<code>linpc verify</code>)</h2>"
                     f"<p>Entry: {e(_origin(summary, 'verify'))}.</p><table><tr><th>id</th>"
                     "<th>identity</th><th>cases</th><th>worst error</th><th>tolerance</th>"
                     "<th>rule</th><th>source</th><th></th></tr>")
        for r in stages["verify"].rows:
            parts.append(f"<tr><td>{e(r['key'])}</td><td>{e(r['title'])}</td>"
                         f"<td class='num'>{r['cases']}</td><td class='num'>"
                         f"{_fmt(r['worst_error'])}</td><td class='num'>{_fmt(r['tolerance'])}"
                         f"</td><td>{e(r['rule'])}</td><td>{e(r['source'])}</td>"
                         f"<td>{_status(r['passed'])}</td></tr>")
        parts.append("</table>")
    if "proofs" in stages:
        st = stages["proofs"]
        parts.append("<h2 id='proofs'>Symbolic proofs (<code>python -m proofs</code>)</h2>"
                     f"<p>Entry: {e(_origin(summary, 'proofs'))}.</p>"
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
             f"{'quick' if summary.quick else 'full'} run; this invocation "
             f"{'PASS' if summary.passed else 'FAIL'}; whole report "
             f"{'PASS' if summary.report_passed else 'FAIL or incomplete'}", "",
             "| figure | source | checks | status | entry |", "|---|---|---|---|---|"]

    def cell(text: str) -> str:
        return " ".join(str(text).split()).replace("|", "\\|")

    for f in summary.report_figures or []:
        checks = "; ".join(f"{c.name}: {c.value:.3g} ≤ {c.tolerance:.3g}" for c in f.checks)
        if f.spec.name in summary.damaged:
            checks = f"files damaged: {summary.damaged[f.spec.name]}"
        lines.append(f"| {cell(f.spec.name)} | {cell(f.spec.source)} | "
                     f"{cell(checks or f.error or '')} | "
                     f"{'PASS' if summary.figure_passed(f) else 'FAIL'} | "
                     f"{cell(_origin(summary, f.spec.name))} |")
    for name in summary.not_run:
        lines.append(f"| {cell(name)} | | | not run | |")
    for name, st in (summary.report_stages or {}).items():
        lines.append("")
        lines.append(f"{name}: {'PASS' if st.passed else 'FAIL'} ({st.seconds:.1f} s; "
                     f"{_origin(summary, name)})")
    path = out / "report.md"
    tmp = path.with_name(".report.md.tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path
