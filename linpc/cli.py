"""The ``linpc`` command: ``linpc reproduce``, ``linpc verify``, ``linpc proofs``.

``linpc reproduce`` runs the proofs, the theorem checks and every figure and writes a report.
``linpc verify`` checks every identity of the theory on a battery of random networks and prints
one row per identity; the exit status is non-zero if any fails. ``linpc proofs`` runs the sympy
derivations in ``proofs/`` (needs a source checkout and the ``proofs`` extra) with the options of
``python -m proofs``.

Every argument is checked before any work starts: a bad one ends the command with exit status 2,
its usage and a message naming the option (for an unknown name or id: the valid ones and close
matches). Ctrl-C ends any command with the single line :data:`INTERRUPTED` on stderr and exit
status 130; ``linpc reproduce`` resumes where it stopped when run again. The work runs under
linpc's thread policy (:func:`linpc.numerics.threads.single_threaded_blas`).
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import sys
import time
import warnings
from pathlib import Path

__all__ = ["INTERRUPTED", "build_parser", "main"]

#: The line printed on stderr when a command is interrupted (exit status 130).
INTERRUPTED = "interrupted; run the same command again to resume"

#: Exit status of an interrupted command (128 + SIGINT, as a shell reports it).
EXIT_INTERRUPTED = 130

_DESCRIPTION = ("Exact theory of deep linear predictive coding networks: reproduce the papers' "
                "figures with quantitative checks, verify the theory's identities on random "
                "networks, run the symbolic proofs.")


# ------------------------------------------------------------------------------ argument types
def _integer(text: str, minimum: int, kind: str) -> int:
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a {kind} integer, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be a {kind} integer, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer ≥ 1."""
    return _integer(text, 1, "positive")


def non_negative_int(text: str) -> int:
    """argparse type: an integer ≥ 0."""
    return _integer(text, 0, "non-negative")


def positive_seconds(text: str) -> float:
    """argparse type: a finite number of seconds > 0."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


# ---------------------------------------------------------------------------------- validation
def _no_checkout(command: str) -> str:
    return (f"linpc {command} needs a source checkout (figures/ and proofs/ are not installed "
            "with the package); clone the repository and install it with pip install -e '.[all]'")


def _validate_reproduce(args: argparse.Namespace) -> str | None:
    from linpc.reproduce.runner import (
        check_only,
        check_output_folder,
        selectable_names,
        source_checkout,
    )

    try:
        check_output_folder(args.out)
    except ValueError as exc:
        return f"argument --out: {exc}"
    root = source_checkout()
    if root is not None and args.only:
        try:
            check_only(args.only, selectable_names(root))
        except ValueError as exc:
            return f"argument --only: {exc}"
    return None


def _validate_verify(args: argparse.Namespace) -> str | None:
    if not args.only:
        return None
    from linpc.reproduce.runner import unknown_names_message
    from linpc.verify import IDENTITIES

    bad = [o for o in args.only if o not in IDENTITIES]
    if bad:
        return "argument --only: " + unknown_names_message(bad, list(IDENTITIES), "identity id")
    return None


def _proofs_runner(root: Path):
    """``proofs/run_all.py`` of the checkout, imported by path (it runs each script as a
    subprocess, whose output it captures)."""
    spec = importlib.util.spec_from_file_location("linpc_proofs_run_all",
                                                  root / "proofs" / "run_all.py")
    if spec is None or spec.loader is None:  # pragma: no cover - a broken checkout
        raise ImportError(f"cannot import {root / 'proofs' / 'run_all.py'}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _validate_proofs(args: argparse.Namespace) -> str | None:
    from linpc.reproduce.runner import source_checkout, unknown_names_message

    root = source_checkout()
    if root is None:
        return None                                   # reported by the command itself
    runner = _proofs_runner(root)
    scripts = list(runner.SCRIPTS)
    selected = scripts
    if args.only:
        stems = [o[:-3] if o.endswith(".py") else o for o in args.only]
        bad = [o for o, s in zip(args.only, stems, strict=True) if s not in scripts]
        if bad:
            return "argument --only: " + unknown_names_message(bad, scripts, "proof script")
        selected = stems
    if args.defect:
        known = sorted({d for name in selected for d in runner.script_defects(name)})
        bad = [d for d in args.defect if d not in known]
        if bad:
            if not known:
                return (f"argument --defect: {', '.join(map(repr, bad))}: the selected scripts "
                        "declare no defects")
            return "argument --defect: " + unknown_names_message(bad, known, "defect")
    if args.json not in (None, "-"):
        target = Path(args.json)
        parent = target.parent if str(target.parent) else Path(".")
        if target.is_dir():
            return f"argument --json: {target} is a folder"
        if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
            return f"argument --json: {parent} is not a writable folder"
    return None


# ---------------------------------------------------------------------------------- commands
def _cmd_verify(args: argparse.Namespace) -> int:
    from linpc.verify.framework import format_report, run_verify

    t0 = time.perf_counter()
    rows = run_verify(quick=args.quick, seed=args.seed, progress=not args.no_progress,
                      only=args.only)
    print(format_report(rows, verbose=args.verbose))
    mode = "quick" if args.quick else "full"
    print(f"({mode} run, seed {args.seed}, {time.perf_counter() - t0:.1f} s)")
    return 0 if rows and all(r.ok for r in rows) else 1


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from linpc.reproduce.runner import run_reproduce

    try:
        summary = run_reproduce(args.out, quick=args.quick, only=args.only, jobs=args.jobs,
                                seed=args.seed, progress=not args.no_progress, force=args.force)
    except (RuntimeError, ValueError) as exc:
        print(f"linpc reproduce: {exc}", file=sys.stderr)
        return 2
    n_ok = sum(f.passed for f in summary.figures)
    figures = summary.report_figures or []
    n_all = len(figures) + len(summary.not_run)
    n_report_ok = sum(summary.figure_passed(f) for f in figures)
    parts = [f"{n_ok} of {len(summary.figures)} figures pass",
             *(f"{k}: {'PASS' if v.passed else 'FAIL'}" for k, v in summary.stages.items())]
    print("; ".join(parts) + f" (this run); report ({n_report_ok} of {n_all} figures pass"
          + (f", {len(summary.not_run)} not run yet" if summary.not_run else "")
          + f"): {Path(args.out) / 'report.html'}")
    return 0 if summary.passed else 1


def _cmd_proofs(args: argparse.Namespace) -> int:
    from linpc.reproduce.runner import source_checkout

    root = source_checkout()
    if root is None:
        print(_no_checkout("proofs"), file=sys.stderr)
        return 2
    argv: list[str] = []
    if args.only:
        argv += ["--only", *args.only]
    if args.quiet:
        argv.append("--quiet")
    for d in args.defect:
        argv += ["--defect", d]
    if args.jobs is not None:
        argv += ["--jobs", str(args.jobs)]
    if args.timeout is not None:
        argv += ["--timeout", repr(args.timeout)]
    if args.list:
        argv.append("--list")
    if args.json is not None:
        argv += ["--json", args.json]
    return int(_proofs_runner(root).main(argv))


# ------------------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``linpc`` and its three subcommands."""
    p = argparse.ArgumentParser(prog="linpc", description=_DESCRIPTION)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    r = sub.add_parser(
        "reproduce", help="proofs, theorem checks and every figure, with a report",
        description="Run the symbolic proofs, the theorem checks and every figure script, and "
        "write OUT/report.html and OUT/report.md. Finished stages, figures and sweep points are "
        "reused from OUT, so an interrupted run resumes where it stopped.")
    r.add_argument("--quick", action="store_true", help="small sizes (about 2 minutes)")
    r.add_argument("--only", nargs="+", metavar="NAME",
                   help="run only the stages (proofs, verify) and figures whose name contains "
                   "one of these ('figures' selects every figure); the report keeps the other "
                   "entries of OUT")
    r.add_argument("--out", default="results", metavar="OUT",
                   help="output folder, created if missing (default: results)")
    r.add_argument("--jobs", type=positive_int, default=1, metavar="N",
                   help="processes for sweep points (default: 1)")
    r.add_argument("--seed", type=non_negative_int, default=0, metavar="N",
                   help="base seed, a non-negative integer (default: 0)")
    r.add_argument("--force", action="store_true", help="recompute finished figures")
    r.add_argument("--no-progress", action="store_true", help="no progress bars")
    r.set_defaults(func=_cmd_reproduce, validate=_validate_reproduce, parser=r)

    v = sub.add_parser(
        "verify", help="check the theory's identities on random networks",
        description="Check every identity of the theory on a battery of random networks, by "
        "independent routes with named tolerances; one row per identity. Exit status 1 if any "
        "fails.")
    v.add_argument("--quick", action="store_true", help="a small battery (seconds)")
    v.add_argument("--seed", type=non_negative_int, default=0, metavar="N",
                   help="seed of the random battery, a non-negative integer (default: 0)")
    v.add_argument("--only", nargs="+", metavar="ID",
                   help="run only these identity ids (e.g. 2.5.1 3.4)")
    v.add_argument("--verbose", action="store_true", help="print rules, sources and worst cases")
    v.add_argument("--no-progress", action="store_true", help="no progress bar")
    v.set_defaults(func=_cmd_verify, validate=_validate_verify, parser=v)

    pr = sub.add_parser(
        "proofs", help="run the sympy derivations in proofs/",
        description="Run the sympy derivation scripts of proofs/ (the options of python -m "
        "proofs) and print a summary table. Needs a source checkout and the proofs extra.")
    pr.add_argument("--only", nargs="+", metavar="NAME", help="run only these scripts")
    pr.add_argument("--quiet", action="store_true", help="print only the summary table")
    pr.add_argument("--defect", action="append", default=[], metavar="NAME",
                    help="switch on a deliberate defect (runs only the scripts that declare it)")
    pr.add_argument("--jobs", type=positive_int, default=None, metavar="N",
                    help="parallel subprocesses (default: 1)")
    pr.add_argument("--timeout", type=positive_seconds, default=None, metavar="S",
                    help="seconds per script (default: 600)")
    pr.add_argument("--list", action="store_true", help="list scripts and their defects")
    pr.add_argument("--json", metavar="PATH",
                    help="also write a JSON summary to PATH ('-': JSON to stdout, text to stderr)")
    pr.set_defaults(func=_cmd_proofs, validate=_validate_proofs, parser=pr)
    return p


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """One line per warning on stderr (no source line): ``linpc: CacheWarning: …``."""
    print(f"linpc: {category.__name__}: {message}", file=sys.stderr if file is None else file)


def main(argv: list[str] | None = None) -> int:
    """Run the ``linpc`` command; return its exit status (never raises :class:`SystemExit`).

    0 success, 1 a failed check, 2 a usage error (or no source checkout), 130 interrupted.
    """
    try:
        parser = build_parser()
        try:
            args, extra = parser.parse_known_args(argv)
            if extra:                          # reported with the subcommand's usage
                args.parser.error(f"unrecognized arguments: {' '.join(extra)}")
            error = args.validate(args)
            if error is not None:
                args.parser.error(error)
        except SystemExit as exc:              # --help, or a usage error (exit status 2)
            return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        from linpc.numerics.threads import single_threaded_blas

        with warnings.catch_warnings(), single_threaded_blas():
            warnings.showwarning = _show_warning
            return int(args.func(args))
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `linpc verify | head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
