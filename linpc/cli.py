"""The ``linpc`` command: ``linpc reproduce``, ``linpc verify``, ``linpc proofs``.

``linpc reproduce`` runs the proofs, the theorem checks and every figure and writes a report.
``linpc verify`` checks every identity of the theory on a battery of random networks and prints
one row per identity; the exit status is non-zero if any fails. ``linpc proofs`` runs the sympy
derivations in ``proofs/`` (needs a source checkout and the ``proofs`` extra).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path


def _cmd_verify(args: argparse.Namespace) -> int:
    from linpc.verify.framework import format_report, run_verify

    t0 = time.perf_counter()
    rows = run_verify(quick=args.quick, seed=args.seed, progress=not args.no_progress,
                      only=args.only)
    print(format_report(rows, verbose=args.verbose))
    mode = "quick" if args.quick else "full"
    print(f"({mode} run, seed {args.seed}, {time.perf_counter() - t0:.1f} s)")
    return 0 if all(r.ok for r in rows) else 1


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from linpc.reproduce.runner import run_reproduce

    try:
        summary = run_reproduce(args.out, quick=args.quick, only=args.only, jobs=args.jobs,
                                seed=args.seed, progress=not args.no_progress, force=args.force)
    except RuntimeError as exc:
        print(f"linpc reproduce: {exc}", file=sys.stderr)
        return 2
    n_ok = sum(f.passed for f in summary.figures)
    print(f"{n_ok} of {len(summary.figures)} figures pass; "
          + "; ".join(f"{k}: {'PASS' if v.passed else 'FAIL'}" for k, v in summary.stages.items())
          + f"; report: {Path(args.out) / 'report.html'}")
    return 0 if summary.passed else 1


def _cmd_proofs(args: argparse.Namespace) -> int:
    from linpc.reproduce.runner import source_checkout

    root = source_checkout()
    if root is None:
        print("linpc proofs needs a source checkout (the proofs/ folder is not installed with the "
              "package); clone the repository and install it with pip install -e '.[all]'",
              file=sys.stderr)
        return 2
    cmd = [sys.executable, "-m", "proofs", *getattr(args, "extra", [])]
    return subprocess.call(cmd, cwd=root)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="linpc", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("reproduce", help="proofs, theorem checks and every figure, with a report")
    r.add_argument("--quick", action="store_true", help="small sizes (about 2 minutes)")
    r.add_argument("--only", nargs="+", metavar="NAME",
                   help="only stages/figures whose name contains one of these")
    r.add_argument("--out", default="results", help="output folder (default: results)")
    r.add_argument("--jobs", type=int, default=1, help="processes for sweep points")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--force", action="store_true", help="recompute finished figures")
    r.add_argument("--no-progress", action="store_true", help="no progress bars")
    r.set_defaults(func=_cmd_reproduce)

    v = sub.add_parser("verify", help="check the theory's identities on random networks")
    v.add_argument("--quick", action="store_true", help="a small battery (seconds)")
    v.add_argument("--seed", type=int, default=0, help="seed of the random battery")
    v.add_argument("--only", nargs="+", metavar="ID", help="run only these identity ids")
    v.add_argument("--verbose", action="store_true", help="print rules, sources and worst cases")
    v.add_argument("--no-progress", action="store_true", help="no progress bar")
    v.set_defaults(func=_cmd_verify)

    pr = sub.add_parser("proofs", help="run the sympy derivations in proofs/ (other options, "
                        "e.g. --only NAME --quiet --defect NAME, go to python -m proofs)")
    pr.set_defaults(func=_cmd_proofs)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "proofs":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra               # options for ``python -m proofs`` (--only, --quiet, …)
    try:
        return int(args.func(args))
    except BrokenPipeError:  # e.g. `linpc verify | head`: stop quietly
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
