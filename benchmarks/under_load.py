"""A figure's inner loop alone and as several concurrent copies: the thread policy under load.

The workload is the inner loop of the saddle figures: ``rounds`` rounds of the equilibrium z*
(``solve_equilibrium``) and the equilibrated-energy gradient ∇F* (``equilibrated_energy_gradient``)
for a network with 10 hidden layers of width 64, MNIST-sized input (784) and 10 outputs, batch 64:
many small products. It runs once alone, then as ``--copies`` concurrent processes, and prints the
wall time of each, their CPU time / wall time, and the slowdown (mean concurrent wall / alone).

Fair share with 3 copies on 2 cores is 1.5×; issue 11 requires at most 3×. ``--policy off`` runs
the same routines with the thread policy bypassed (the undecorated functions), which shows the
collapse the policy prevents: threaded OpenBLAS busy-waits between the small products, and the
BLAS threads of several processes spin against each other (measured before the policy: 2.5 s
alone, 42 s each with three copies, 17×). A pure-Python busy loop beside one copy does not show
this; only several BLAS-threaded processes do.

Run: ``python benchmarks/under_load.py [--rounds 150] [--copies 3] [--policy on|off]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

WIDTHS = [784] + [64] * 10 + [10]
BATCH = 64


def workload(rounds: int, policy: bool) -> dict:
    """Run the inner loop; return wall and CPU seconds and a checksum of the results."""
    import numpy as np

    import linpc

    if not policy:      # bypass the policy everywhere: BLAS keeps its own thread count
        import contextlib

        from linpc.numerics import threads

        threads.single_threaded_blas = contextlib.nullcontext
    solve, grad = linpc.solve_equilibrium, linpc.equilibrated_energy_gradient
    rng = np.random.default_rng(0)
    net = linpc.LinearPCN(linpc.init_weights(WIDTHS, rng=rng))
    x = rng.standard_normal((BATCH, WIDTHS[0]))
    y = rng.standard_normal((BATCH, WIDTHS[-1]))
    checksum = 0.0
    c0, t0 = time.process_time(), time.perf_counter()
    for _ in range(rounds):
        eq = solve(net, x, y)
        g = grad(net, x, y)
        checksum += float(eq.energy) + float(np.sum(g.weights[0]))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"wall": wall, "cpu": cpu, "checksum": checksum}


def _start(rounds: int, policy: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, __file__, "--worker", "--rounds", str(rounds), "--policy", policy],
        stdout=subprocess.PIPE, text=True,
    )


def _collect(procs: list[subprocess.Popen]) -> list[dict]:
    out = []
    for p in procs:
        stdout, _ = p.communicate()
        if p.returncode != 0:
            raise SystemExit(f"a worker failed (exit {p.returncode})")
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=150)
    ap.add_argument("--copies", type=int, default=3)
    ap.add_argument("--policy", choices=("on", "off"), default="on")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(workload(args.rounds, args.policy == "on")))
        return

    from threadpoolctl import threadpool_info

    import linpc
    from linpc.numerics.threads import available_cores, thread_budget

    blas = ", ".join(f"{i['internal_api']} {i.get('version')} ({i['num_threads']} threads)"
                     for i in threadpool_info() if i["user_api"] == "blas")
    print(f"linpc {linpc.__version__}, Python {platform.python_version()}, "
          f"{available_cores()} cores, BLAS: {blas}")
    print(f"thread budget {thread_budget()}; load average before: "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"workload: {args.rounds} rounds of z* and grad F*, widths 784-64x10-10, batch {BATCH}; "
          f"thread policy {args.policy}")

    alone = _collect([_start(args.rounds, args.policy)])[0]
    print(f"alone:      wall {alone['wall']:6.2f} s, CPU/wall {alone['cpu'] / alone['wall']:.2f}")
    runs = _collect([_start(args.rounds, args.policy) for _ in range(args.copies)])
    walls = [r["wall"] for r in runs]
    for i, r in enumerate(runs):
        print(f"copy {i + 1}/{args.copies}: wall {r['wall']:6.2f} s, "
              f"CPU/wall {r['cpu'] / r['wall']:.2f}")
    if len({round(r["checksum"], 6) for r in [alone, *runs]}) != 1:
        raise SystemExit("the copies computed different results")
    slowdown = sum(walls) / len(walls) / alone["wall"]
    fair = args.copies / available_cores()
    print(f"slowdown with {args.copies} concurrent copies: {slowdown:.2f}x "
          f"(fair share {fair:.2f}x; limit 3x) -> {'OK' if slowdown <= 3 else 'TOO SLOW'}")


if __name__ == "__main__":
    main()
