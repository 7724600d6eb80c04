"""Benchmark: Hessians of F* and ℒ — Lanczos at scale, HVP cost, dense vs matrix-free crossover.

Run from the repository root::

    python benchmarks/hessian.py [--quick]

Sections (plain-text output):

1. ``λ_min`` and ``λ_max`` of ``∇²F*`` at a random point of a network with ≥ 200 000 weights
   (H = 8, N = 170, d_x = d_y = 10, B = 64; target ≤ 30 s on 2 cores), with the Ritz residuals,
   the number of Hessian-vector products and the peak traced memory.
2. The cost of one Hessian-vector product relative to one gradient (target ≤ 10×), for ``F*``
   (gradient = equilibrium solve + PC gradient) and ``ℒ`` (backprop).
3. Dense assembly + ``eigvalsh`` versus Lanczos extremes over network sizes (the crossover).

Timings are medians of repeated runs (``time.perf_counter``); memory via ``tracemalloc`` (numpy
allocations are traced) and ``resource.getrusage`` (peak RSS of the process).
"""

from __future__ import annotations

import argparse
import os
import resource
import time
import tracemalloc

import numpy as np

from linpc import LinearPCN, equilibrated_energy_gradient, mse_gradient
from linpc.core import init_weights
from linpc.landscape import EquilibratedEnergyHessian, MSEHessian, hessian_spectrum
from linpc.numerics.threads import thread_budget


def make_case(H: int, N: int, d: int, B: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    widths = [d] + [N] * H + [d]
    net = LinearPCN(init_weights(widths, init="normal", rng=rng))
    x = rng.standard_normal((B, d))
    y = x @ rng.standard_normal((d, d)) / np.sqrt(d) + 0.5 * rng.standard_normal((B, d))
    return net, x, y


def median_time(f, repeat: int) -> float:
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts))


class Counting:
    """Wrap an operator's block product to count Hessian-vector products."""

    def __init__(self, op):
        self.op, self.n = op, 0
        self._orig = op._apply_block

        def counted(V, parts):
            self.n += V.shape[1]
            return self._orig(V, parts)

        op._apply_block = counted


def section_lambda_min(H: int, N: int, d: int, B: int) -> None:
    net, x, y = make_case(H, N, d, B)
    print(f"\n[1] extreme eigenvalues of ∇²F*: H={H}, N={N}, d_x=d_y={d}, B={B}, "
          f"P={net.n_parameters} parameters")
    tracemalloc.start()
    t0 = time.perf_counter()
    op = EquilibratedEnergyHessian(net, x, y)
    t_setup = time.perf_counter() - t0
    c = Counting(op)
    t1 = time.perf_counter()
    sp = hessian_spectrum(op, method="lanczos", tol=1e-8, zero_tolerance=0.0)
    t_lanczos = time.perf_counter() - t1
    n_lanczos = c.n
    t2 = time.perf_counter()
    ztol = op.roundoff_tolerance()
    t_tol = time.perf_counter() - t2
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"  setup (equilibrium + block Cholesky of H_z): {t_setup:8.3f} s")
    print(f"  Lanczos λ_min and λ_max (eigsh SA + LA, tol 1e-8): {t_lanczos:8.3f} s, "
          f"{n_lanczos} HVPs")
    print(f"  λ_min = {sp.lambda_min:.10g}   (Ritz residual {sp.error_min:.2e})")
    print(f"  λ_max = {sp.lambda_max:.10g}   (Ritz residual {sp.error_max:.2e})")
    print(f"  round-off bound of the operator (two part norms by Lanczos): {ztol:.2e} "
          f"({t_tol:.2f} s, {c.n - n_lanczos} further HVPs)")
    print(f"  total for λ_min, λ_max and the bound: {t_setup + t_lanczos + t_tol:8.3f} s "
          f"(target ≤ 30 s)")
    print(f"  peak traced memory: {peak / 2**20:.1f} MiB (weights alone "
          f"{net.n_parameters * 8 / 2**20:.1f} MiB)")


def section_hvp_cost(sizes, B: int, repeat: int) -> None:
    print(f"\n[2] one Hessian-vector product vs one gradient (B={B}; medians of {repeat})")
    print(f"  {'H':>3} {'N':>5} {'P':>8} | {'∇F*':>9} {'HVP F*':>9} {'ratio':>6} "
          f"{'HVP+setup':>9} {'ratio':>6} | {'∇ℒ':>9} {'HVP ℒ':>9} {'ratio':>6}")
    for H, N, d in sizes:
        net, x, y = make_case(H, N, d, B, seed=1)
        tg, th, ts, tgl, thl = _hvp_times(net, x, y, repeat)
        print(f"  {H:>3} {N:>5} {net.n_parameters:>8} | {tg * 1e3:7.2f}ms {th * 1e3:7.2f}ms "
              f"{th / tg:6.2f} {ts * 1e3:7.2f}ms {ts / tg:6.2f} | {tgl * 1e3:7.2f}ms "
              f"{thl * 1e3:7.2f}ms {thl / tgl:6.2f}")


def _hvp_times(net, x, y, repeat: int) -> tuple[float, ...]:
    """Medians: ∇F*, HVP F* (prebuilt), HVP F* incl. setup, ∇ℒ, HVP ℒ (prebuilt)."""
    v = np.random.default_rng(2).standard_normal(net.n_parameters)
    tg = median_time(lambda: equilibrated_energy_gradient(net, x, y, method="cholesky"), repeat)
    op = EquilibratedEnergyHessian(net, x, y)
    th = median_time(lambda: op @ v, repeat)
    ts = median_time(lambda: EquilibratedEnergyHessian(net, x, y) @ v, repeat)
    tgl = median_time(lambda: mse_gradient(net, x, y), repeat)
    opl = MSEHessian(net, x, y)
    thl = median_time(lambda: opl @ v, repeat)
    return tg, th, ts, tgl, thl


def section_crossover(Ns, H: int, d: int, B: int) -> None:
    print(f"\n[3] dense (assemble + eigvalsh, all eigenvalues) vs matrix-free Lanczos "
          f"(λ_min and λ_max), ∇²F*, H={H}, d={d}, B={B}")
    print(f"  {'N':>4} {'P':>7} | {'assemble':>9} {'eigvalsh':>9} {'dense':>9} | "
          f"{'Lanczos':>9} {'HVPs':>6} | {'dense/Lanczos':>13} {'|Δλ_min|':>9}")
    for N in Ns:
        net, x, y = make_case(H, N, d, B, seed=3)
        op = EquilibratedEnergyHessian(net, x, y)
        t0 = time.perf_counter()
        A = op.to_dense()
        t1 = time.perf_counter()
        w = np.linalg.eigvalsh(A)
        t2 = time.perf_counter()
        op2 = EquilibratedEnergyHessian(net, x, y)
        c = Counting(op2)
        t3 = time.perf_counter()
        sp = hessian_spectrum(op2, method="lanczos", tol=1e-10, zero_tolerance=0.0)
        t4 = time.perf_counter()
        dense = t2 - t0
        lz = t4 - t3
        print(f"  {N:>4} {net.n_parameters:>7} | {t1 - t0:8.3f}s {t2 - t1:8.3f}s {dense:8.3f}s | "
              f"{lz:8.3f}s {c.n:>6} | {dense / lz:13.2f} {abs(sp.lambda_min - w[0]):9.1e}")
        del A


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    args = p.parse_args()
    print("linpc Hessian benchmark")
    print(f"thread budget {thread_budget()} (README, Threads), "
          f"cores={os.cpu_count()}, load average at start={os.getloadavg()}")
    t0 = time.perf_counter()
    if args.quick:
        section_lambda_min(4, 60, 10, 32)
        section_hvp_cost([(2, 20, 10), (4, 60, 10)], 32, 5)
        section_crossover([4, 8, 16, 24], 3, 10, 16)
    else:
        section_lambda_min(8, 170, 10, 64)
        section_hvp_cost([(2, 32, 10), (4, 64, 10), (8, 128, 10), (8, 170, 10), (16, 256, 10)],
                         64, 7)
        section_crossover([4, 8, 16, 24, 32, 48], 3, 10, 32)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS of the process: {rss:.0f} MiB; total {time.perf_counter() - t0:.1f} s; "
          f"load average at end={os.getloadavg()}")


if __name__ == "__main__":
    main()
