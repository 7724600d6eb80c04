"""The report of ``linpc reproduce``: ``report.html`` and ``report.md`` from a run's summary.

Every figure with its quantitative checks and status, the theorem table of ``linpc verify`` and
the proof table of ``proofs/``, ordered by paper with a table of contents. Files are written
atomically (a temporary file, then ``os.replace``).
"""

from __future__ import annotations

import html
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from linpc._version import __version__
from linpc.reproduce.figure_contract import FigureResult

__all__ = ["ReproduceSummary", "StageResult", "write_report"]


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
