"""Run the sympy derivation scripts of ``proofs/`` and summarise the results.

Contract (used by ``linpc proofs``): from the repository root, ``python -m proofs`` runs every
script as a subprocess, prints its PASS/FAIL lines and a summary table (script, statements
passed, time, status), and exits with status 0 iff every script exited 0.

Options: ``--only NAME …`` (script names with or without ``.py``), ``--quiet`` (table only),
``--defect NAME`` (switch on a deliberate defect; only scripts that declare it are run),
``--jobs N`` (parallel subprocesses), ``--list`` (scripts and their defects), ``--timeout S``,
``--json PATH`` (also write one JSON row per script — keys ``script``, ``status`` (``PASS``,
``FAIL``, ``ERROR``, ``TIMEOUT``), ``statements``, ``passed``, ``failed``, ``seconds``,
``defects`` — to PATH; with ``-`` the JSON goes to stdout and everything else to stderr).
The environment variable ``LINPC_PROOF_DEFECT`` is passed through to the scripts unchanged
(each script ignores names it does not declare; names that no selected script declares are an
error, exit status 2).

Python API: :func:`run_all` returns one dict per script with keys ``name``, ``passed``,
``failed``, ``seconds``, ``status`` (``"ok"``, ``"FAIL"``, ``"ERROR"``, ``"TIMEOUT"``),
``returncode``, ``defects`` and ``output``.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TextIO

DEFECT_ENV = "LINPC_PROOF_DEFECT"
PROOFS_DIR = Path(__file__).resolve().parent
REPO_ROOT = PROOFS_DIR.parent

#: scripts in reading order (one per theorem; see proofs/README.md)
SCRIPTS: tuple[str, ...] = (
    "equilibrated_energy_scalar",
    "equilibrated_energy_matrix",
    "activity_hessian",
    "envelope_gradient",
    "origin_hessians",
    "zero_last_layer",
    "trust_region",
    "neumann_series",
    "tridiagonal_limit",
    "golden_ratio",
)


def script_path(name: str) -> Path:
    """Path of a script given its name (``.py`` optional); raises for unknown names."""
    stem = name[:-3] if name.endswith(".py") else name
    stem = Path(stem).name
    if stem not in SCRIPTS:
        raise ValueError(f"unknown proof script {name!r}; known: {', '.join(SCRIPTS)}")
    return PROOFS_DIR / f"{stem}.py"


def script_defects(name: str) -> dict[str, str]:
    """The ``DEFECTS`` dict literal declared by a script (read without importing it)."""
    tree = ast.parse(script_path(name).read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "DEFECTS" for t in node.targets
        ):
            return ast.literal_eval(node.value)
    return {}


def run_script(name: str, defects: Sequence[str] = (), timeout: float | None = 600.0) -> dict:
    """Run one script in a subprocess (cwd = repository root) and parse its report."""
    path = script_path(name)
    cmd = [sys.executable, str(path)]
    for d in defects:
        cmd += ["--defect", d]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout, check=False
        )
        output = proc.stdout + (proc.stderr if proc.returncode else "")
        returncode = proc.returncode
    except subprocess.TimeoutExpired as exc:
        output = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else exc.stdout
        output = (output or "") + f"\nTIMEOUT after {timeout} s\n"
        returncode = None
    seconds = time.perf_counter() - t0
    lines = output.splitlines()
    passed = sum(line.startswith("PASS ") for line in lines)
    failed = sum(line.startswith("FAIL ") for line in lines)
    if returncode is None:
        status = "TIMEOUT"
    elif returncode == 0 and failed == 0 and passed > 0:
        status = "ok"
    elif failed:
        status = "FAIL"
    else:
        status = "ERROR"
    return {
        "name": path.stem,
        "passed": passed,
        "failed": failed,
        "seconds": seconds,
        "status": status,
        "returncode": returncode,
        "defects": list(defects),
        "output": output,
    }


def run_all(
    names: Iterable[str] | None = None,
    defects: Sequence[str] = (),
    jobs: int = 1,
    timeout: float | None = 600.0,
    echo: TextIO | None = None,
) -> list[dict]:
    """Run the selected scripts (all by default) and return one result dict per script.

    With ``defects``, each script gets the subset of defects it declares, and scripts that
    declare none of them are skipped. With ``echo`` (a text stream), each script's output is
    written to it as soon as the script finishes.
    """
    selected = [script_path(n).stem for n in names] if names else list(SCRIPTS)
    plan = []
    for name in selected:
        mine = [d for d in defects if d in script_defects(name)]
        if defects and not mine:
            continue
        plan.append((name, mine))

    def job(item: tuple[str, list[str]]) -> dict:
        res = run_script(item[0], item[1], timeout)
        if echo is not None:
            print(res["output"].rstrip("\n"), file=echo, flush=True)
        return res

    if jobs <= 1:
        return [job(item) for item in plan]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(job, plan))


def format_table(results: Sequence[dict]) -> str:
    """Summary table: script, statements passed, time, status."""
    width = max([len("script"), *(len(r["name"]) for r in results)])
    head = f"{'script':<{width}}  {'passed':>9}  {'time':>7}  status"
    rows = [head, "-" * len(head)]
    for r in results:
        total = r["passed"] + r["failed"]
        tag = r["status"] + (f" (defect {','.join(r['defects'])})" if r["defects"] else "")
        rows.append(
            f"{r['name']:<{width}}  {r['passed']:>4}/{total:<4}  {r['seconds']:6.1f}s  {tag}"
        )
    total_time = sum(r["seconds"] for r in results)
    n_ok = sum(r["status"] == "ok" for r in results)
    rows.append("-" * len(head))
    rows.append(f"{n_ok}/{len(results)} scripts ok, {total_time:.1f} s in scripts")
    return "\n".join(rows)


def json_rows(results: Sequence[dict]) -> list[dict]:
    """Machine-readable summary (used by ``linpc reproduce``)."""
    return [
        {
            "script": r["name"],
            "status": "PASS" if r["status"] == "ok" else r["status"],
            "statements": r["passed"] + r["failed"],
            "passed": r["passed"],
            "failed": r["failed"],
            "seconds": round(r["seconds"], 3),
            "defects": r["defects"],
        }
        for r in results
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m proofs", description="Run the sympy derivations of linpc's theorems."
    )
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these scripts")
    parser.add_argument("--quiet", action="store_true", help="print only the summary table")
    parser.add_argument(
        "--defect",
        action="append",
        default=[],
        metavar="NAME",
        help="switch on a deliberate defect (runs only the scripts that declare it)",
    )
    parser.add_argument("--jobs", type=int, default=1, help="parallel subprocesses (default 1)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per script")
    parser.add_argument("--list", action="store_true", help="list scripts and their defects")
    parser.add_argument(
        "--json", metavar="PATH", help="write a JSON summary to PATH ('-': stdout, text to stderr)"
    )
    args = parser.parse_args(argv)
    text = sys.stderr if args.json == "-" else sys.stdout

    try:
        names = [script_path(n).stem for n in args.only] if args.only else list(SCRIPTS)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.list:
        for name in names:
            print(name)
            for d, doc in script_defects(name).items():
                print(f"    {d:<26} {doc}")
        return 0
    known = {d for n in names for d in script_defects(n)}
    env = [d.strip() for d in os.environ.get(DEFECT_ENV, "").split(",") if d.strip()]
    unknown = [d for d in [*args.defect, *env] if d not in known]
    if unknown:
        print(f"unknown defect(s) {unknown} for the selected scripts", file=sys.stderr)
        return 2
    if env:
        print(f"note: {DEFECT_ENV}={','.join(env)} is set", file=text, flush=True)

    t0 = time.perf_counter()
    echo = None if args.quiet else text
    results = run_all(names, args.defect, args.jobs, args.timeout, echo=echo)
    if not args.quiet:
        print(file=text)
    print(format_table(results), file=text)
    print(f"wall time {time.perf_counter() - t0:.1f} s", file=text, flush=True)
    if args.json:
        payload = json.dumps(json_rows(results), ensure_ascii=False, indent=1)
        if args.json == "-":
            print(payload)
        else:
            Path(args.json).write_text(payload + "\n", encoding="utf-8")
    return 0 if results and all(r["status"] == "ok" for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
