"""Show that the test-suite bites: apply deliberate defects to a copy of linpc, expect failures.

Each defect is a one-line change of the library source (an exact string that must occur once).
For each, the library is copied to a temporary directory, the defect applied, and the core test
modules are run against the copy (``PYTHONPATH`` first, ``-x``: stop at the first failure). A
defect is *caught* when pytest exits with a failure; the script exits non-zero if any defect is
missed or if a pattern no longer matches the source (the list must follow the code).

Usage: ``python scripts/check_defects.py [--only NAME ...] [--list]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ["tests/test_core_identities.py", "tests/test_jpc_compat.py"]


@dataclass(frozen=True)
class Defect:
    name: str
    description: str
    file: str
    old: str
    new: str
    #: pytest ``-k`` expression selecting the tests expected to catch it (they run first; the
    #: whole core suite runs if they do not)
    keyword: str = ""


DEFECTS = [
    Defect("flip_offdiag_sign", "flip the sign of the off-diagonal blocks of H_z",
           "linpc/core/activity_hessian.py",
           "return -net.precisions[l] * net.layer_map(l + 1)",
           "return net.precisions[l] * net.layer_map(l + 1)",
           keyword="activity_hessian_is_the_hessian"),
    Defect("drop_gamma", "forget to divide a_L by gamma",
           "linpc/core/parameterisation.py",
           'a[-1] /= check_positive(gamma, "gamma")',
           'check_positive(gamma, "gamma")',
           keyword="scalings_follow"),
    Defect("transpose_weight", "use W_{l+1} transposed in the diagonal blocks of H_z",
           "linpc/core/activity_hessian.py",
           "W = net.weights[l]          # W_{l+1}",
           "W = net.weights[l].T        # W_{l+1}",
           keyword="activity_hessian_is_the_hessian or routes_agree"),
    Defect("drop_half", "drop the ½ of the layer energies at the equilibrium",
           "linpc/core/equilibrium.py",
           "t = 0.5 * p * np.sum(e * e, axis=1)",
           "t = p * np.sum(e * e, axis=1)",
           keyword="rescaled_mse"),
    Defect("drop_output_noise", "drop the λ⁻¹I term of S in the covariance recursion",
           "linpc/core/gaussian.py",
           "S = net.apply_layer(net.n_layers, CT) + np.eye(net.d_y) / pi[-1]",
           "S = net.apply_layer(net.n_layers, CT)",
           keyword="woodbury"),
    Defect("wrong_mupc_output", "μPC output multiplier 1/√N instead of 1/N",
           "linpc/core/parameterisation.py",
           'a[l - 1] = 1.0 / (fan_in if param_type == "mupc" else np.sqrt(fan_in))',
           "a[l - 1] = 1.0 / np.sqrt(fan_in)",
           keyword="scalings_follow"),
    Defect("skip_symmetrisation", "residual diagonal block with 2aW instead of a(W + Wᵀ)",
           "linpc/core/activity_hessian.py",
           "G += np.tril(S + S.T) if lower_only else S + S.T",
           "G += np.tril(2 * S) if lower_only else 2 * S",
           keyword="residual or routes_agree"),
    Defect("envelope_sign", "wrong sign of the PC weight gradient",
           "linpc/core/energy.py",
           "c = -net.scalings[l - 1] * net.precisions[l - 1] / B",
           "c = net.scalings[l - 1] * net.precisions[l - 1] / B",
           keyword="envelope"),
    Defect("rhs_missing_bias", "forget the next layer's bias in the right-hand side b",
           "linpc/core/equilibrium.py",
           "bl -= pi[l] * net.apply_layer_transpose(l + 1, net.layer_bias(l + 1)[None, :])",
           "pass",
           keyword="routes_agree"),
]


def run_defect(d: Defect, *, verbose: bool = False) -> tuple[str, float]:
    """Return ("caught" | "MISSED" | "PATTERN NOT FOUND", seconds)."""
    src = (ROOT / d.file).read_text(encoding="utf-8")
    if src.count(d.old) != 1:
        return "PATTERN NOT FOUND", 0.0
    with tempfile.TemporaryDirectory(prefix=f"linpc-defect-{d.name}-") as tmp:
        shutil.copytree(ROOT / "linpc", Path(tmp) / "linpc",
                        ignore=shutil.ignore_patterns("__pycache__"))
        (Path(tmp) / d.file).write_text(src.replace(d.old, d.new), encoding="utf-8")
        env = dict(os.environ, PYTHONPATH=tmp, PYTHONDONTWRITEBYTECODE="1")
        env.setdefault("HYPOTHESIS_PROFILE", "ci")
        # -P: do not put the working directory (the unmodified checkout) first on sys.path
        which = subprocess.run([sys.executable, "-P", "-c", "import linpc; print(linpc.__file__)"],
                               cwd=ROOT, env=env, capture_output=True, text=True)
        if not which.stdout.strip().startswith(tmp):
            return f"ERROR (imported {which.stdout.strip() or which.stderr[-200:]})", 0.0
        cmd = [sys.executable, "-P", "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
               *TESTS]
        t0 = time.perf_counter()
        proc = None
        if d.keyword:
            proc = subprocess.run([*cmd, "-k", d.keyword], cwd=ROOT, env=env,
                                  capture_output=True, text=True)
        if proc is None or proc.returncode == 0:
            proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        dt = time.perf_counter() - t0
        if verbose:
            print(proc.stdout[-2000:])
        if proc.returncode == 1:
            return "caught", dt
        if proc.returncode == 0:
            return "MISSED", dt
        return f"ERROR (pytest exit {proc.returncode})", dt


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", nargs="+", metavar="NAME")
    p.add_argument("--list", action="store_true")
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args(argv)
    chosen = [d for d in DEFECTS if not args.only or d.name in args.only]
    if args.list:
        for d in chosen:
            print(f"{d.name:<22} {d.file:<28} {d.description}")
        return 0
    bad = 0
    for d in chosen:
        status, dt = run_defect(d, verbose=args.verbose)
        print(f"{status:<18} {d.name:<22} {dt:6.1f} s  {d.description}", flush=True)
        bad += status != "caught"
    print(f"{len(chosen) - bad} of {len(chosen)} deliberate defects caught by the tests")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
