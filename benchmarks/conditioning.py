"""Benchmark: condition number of the activity Hessian at depth and width; the §6.2 κ table.

Targets (issue 5, 2-core machine): κ(H_z) of a μPC ResNet with
H = 1024 hidden layers of width N = 64 (n = 65 536 activities) in ≤ 10 s, and at H = 16, N = 1024
(n = 16 384, half-bandwidth 2047). LAPACK's banded eigensolver costs O(n² u) and is infeasible at
these sizes (≈ 5·10¹¹ flops); linpc uses Lanczos on H_z (λ_max) and on H_z⁻¹ through the block
Cholesky factor (λ_min), memory O(n + Σ n_l²).

Sections (plain text):

1. the two target sizes: time of initialisation, factorisation and eigenvalues; κ with the Ritz
   residuals; κ/κ(T_H); peak memory (``tracemalloc`` peak of a separate run, and the process's
   maximum resident set size from ``resource.getrusage``);
2. banded (``dsbevx``) vs Lanczos on sizes where both run: times and agreement;
3. μPC depth sweep at N = 64, H = 16 … 1024: κ/κ(T_H) and the log–log slope (Θ(H²));
4. ``--table``: the κ sweep of docs/theory.md §6.2 through :mod:`linpc.reproduce.sweeps` (median of
   3 seeds), printed next to docs/theory.md's numbers (copied here for display only);
5. ``--inference``: gradient-descent inference steps over depth, predicted from κ and measured;
6. ``--forward``: forward-pass scale over depth and width, Monte Carlo vs the exact moments.

Run: ``python benchmarks/conditioning.py [--quick] [--table]
[--inference] [--forward] [--cache DIR] [--jobs N]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
import tracemalloc

import numpy as np

import linpc
from linpc.core import init_network
from linpc.core.activity_hessian import BANDED_EIGEN_WORK_LIMIT
from linpc.mupc import growth_exponent, tridiagonal_limit_condition_number
from linpc.numerics.threads import thread_budget
from linpc.reproduce.conditioning_table import conditioning_table

#: docs/theory.md §6.2 (median of 3 seeds, d_y = 10; computed independently by the spec's author).
#: Displayed next to linpc's recomputation; never used as a test expectation.
THEORY_TABLE = {
    "sp_uniform": [[2.3, 1.9, 1.6, 1.4], [4.2, 6.9, 8.4, 8.8], [8.9, 16, 19, 20],
                   [20, 26, 30, 34], [28, 34, 37, 40], [28, 39, 41, np.nan]],
    "sp_normal": [[3.4, 3.9, 2.7, 2.3], [9.0, 20, 28, 32], [28, 83, 145, 179],
                  [138, 306, 756, 1.1e3], [567, 1.1e3, 3.8e3, 6.4e3],
                  [2.8e3, 6.2e3, 1.4e4, np.nan]],
    "sp_uniform_skips": [[2.0, 2.0, 1.6, 1.4], [6.4, 18, 27, 28], [41, 109, 194, 210],
                         [161, 564, 1.7e3, 2.3e3], [694, 3.6e3, 3.4e4, 6.4e4],
                         [3.3e3, 3.8e4, 2.4e6, np.nan]],
    "mupc": [[1.7, 1.2, 1.03, 1.01], [6.4, 24, 26, 28], [27, 87, 120, 131], [67, 328, 523, 561],
             [280, 1.0e3, 1.9e3, 2.3e3], [860, 3.4e3, 8.2e3, np.nan]],
    "mupc_no_skips": [[2.2, 1.2, 1.03, 1.01], [8.7, 26, 32, 34], [35, 141, 172, 196],
                      [132, 425, 1.1e3, 1.2e3], [1.1e3, 2.0e3, 6.6e3, 8.0e3],
                      [1.3e3, 5.5e3, 2.9e4, np.nan]],
}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def kappa_run(H: int, N: int, *, method: str = "auto", seed: int = 0) -> dict:
    """Build a μPC ResNet and compute κ(H_z); stage times in seconds."""
    t0 = time.perf_counter()
    net = init_network((N,) + (N,) * H + (10,), param_type="mupc", use_skips=True, rng=seed)
    t1 = time.perf_counter()
    c1 = time.process_time()
    hz = linpc.ActivityHessian(net)
    banded_work = float(hz.shape[0]) ** 2 * hz.bandwidth
    if method == "lanczos" or (method == "auto" and banded_work > BANDED_EIGEN_WORK_LIMIT):
        hz.factor()
    t2 = time.perf_counter()
    ev = hz.extreme_eigenvalues(method=method)
    t3 = time.perf_counter()
    c3 = time.process_time()
    return {"n": hz.shape[0], "u": hz.bandwidth, "ev": ev, "t_init": t1 - t0,
            "t_factor": t2 - t1, "t_eig": t3 - t2, "t_kappa": t3 - t1, "cpu_kappa": c3 - c1}


def traced_peak_mb(H: int, N: int) -> float:
    """``tracemalloc`` peak (numpy buffers included) of computing κ, weights included."""
    tracemalloc.start()
    kappa_run(H, N)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def section_targets(quick: bool) -> None:
    print("1. κ(H_z) of μPC ResNets at the target sizes (d_y = 10, default N(0,1) weights)")
    sizes = [(256, 64), (16, 256)] if quick else [(1024, 64), (16, 1024)]
    print(f"{'H':>5} {'N':>5} {'n':>7} {'u':>5} {'init s':>7} {'factor s':>8} {'eig s':>7} "
          f"{'κ s':>7} {'κ cpu s':>7} {'κ':>11} {'κ/κ(T_H)':>8} {'Ritz res λmin/λmax':>20} "
          f"{'traced MB':>9} {'maxrss MB':>9}")
    for H, N in sizes:
        r = kappa_run(H, N)
        ev = r["ev"]
        mem = traced_peak_mb(H, N)
        print(f"{H:>5} {N:>5} {r['n']:>7} {r['u']:>5} {r['t_init']:>7.2f} {r['t_factor']:>8.2f} "
              f"{r['t_eig']:>7.2f} {r['t_kappa']:>7.2f} {r['cpu_kappa']:>7.2f} "
              f"{ev.condition_number:>11.4e} "
              f"{ev.condition_number / tridiagonal_limit_condition_number(H):>8.2f} "
              f"{ev.error_min:>9.1e}/{ev.error_max:<9.1e} {mem:>9.0f} {peak_rss_mb():>9.0f}")
    print("   (κ s = wall time of factorisation + eigenvalues, κ cpu s = its process CPU time;\n"
          "    'traced MB' = tracemalloc peak of a second run, weights included)")


def section_banded_vs_lanczos(quick: bool) -> None:
    print("\n2. LAPACK banded eigensolver (O(n² u)) vs Lanczos (block Cholesky solves)")
    sizes = [(32, 32), (64, 32)] if quick else [(32, 32), (64, 64), (16, 256), (256, 16)]
    print(f"{'H':>5} {'N':>5} {'n':>6} {'banded s':>9} {'lanczos s':>10} {'speed-up':>8} "
          f"{'|Δλ_min|':>9} {'|Δλ_max|':>9} {'bound':>9}")
    for H, N in sizes:
        b = kappa_run(H, N, method="banded")
        lz = kappa_run(H, N, method="lanczos")
        eb, el = b["ev"], lz["ev"]
        bound = max(eb.error_min + el.error_min, eb.error_max + el.error_max)
        print(f"{H:>5} {N:>5} {b['n']:>6} {b['t_kappa']:>9.2f} {lz['t_kappa']:>10.2f} "
              f"{b['t_kappa'] / lz['t_kappa']:>8.1f} {abs(eb.lambda_min - el.lambda_min):>9.1e} "
              f"{abs(eb.lambda_max - el.lambda_max):>9.1e} {bound:>9.1e}")


def section_depth(quick: bool) -> None:
    print("\n3. μPC at N = 64: κ versus depth (one seed)")
    depths = (16, 64, 256) if quick else (16, 64, 256, 1024)
    ks = []
    for H in depths:
        r = kappa_run(H, 64, seed=1)
        k = r["ev"].condition_number
        ks.append(k)
        print(f"   H = {H:>5}: κ = {k:.4e}, κ(T_H) = {tridiagonal_limit_condition_number(H):.4e}, "
              f"ratio {k / tridiagonal_limit_condition_number(H):.2f}, {r['t_kappa']:.2f} s")
    print(f"   log–log slope of κ against H: {growth_exponent(depths, ks):.3f} (Θ(H²) ⇒ 2)")


def section_table(cache: str | None, jobs: int) -> None:
    print("\n4. docs/theory.md §6.2 κ table, recomputed through linpc.reproduce.sweeps "
          "(median of 3 seeds)")
    t0 = time.perf_counter()
    tab = conditioning_table(cache_dir=cache, jobs=jobs)
    print(f"   ({len(tab.sweep)} points: {tab.sweep.computed} computed, {tab.sweep.loaded} "
          f"from cache, {time.perf_counter() - t0:.1f} s)")
    print(tab.format(reference=THEORY_TABLE))
    print("   ratio linpc/theory per cell, then the range over the row:")
    for name, med in tab.median.items():
        ref = np.array(THEORY_TABLE[name])
        ratio = med / ref
        ok = np.isfinite(ratio)
        print(f"   {name:<17} {np.nanmin(ratio[ok]):.2f} … {np.nanmax(ratio[ok]):.2f}"
              f"   (N ≥ 64 only: {np.nanmin(ratio[:, 2:]):.2f} … {np.nanmax(ratio[:, 2:]):.2f})")


def section_inference(cache: str | None, jobs: int, quick: bool) -> None:
    from linpc.mupc import inference_speed_point
    from linpc.reproduce import Grid, run_sweep

    print("\n5. gradient-descent inference steps to ‖g‖ ≤ 1e-6‖g₀‖ (optimal fixed step), N = 16, "
          "median of 3 seeds")
    depths = [1, 2, 4, 8] if quick else [1, 2, 4, 8, 16]
    grid = Grid.product({"setting": ["sp_uniform", "mupc"], "H": depths, "replicate": [0, 1, 2]},
                        fixed={"N": 16, "d_x": 16, "d_y": 10, "B": 4, "tol": 1e-6})
    t0 = time.perf_counter()
    res = run_sweep("inference-speed", inference_speed_point, grid, cache_dir=cache, jobs=jobs)
    print(f"   ({time.perf_counter() - t0:.1f} s)")
    meas = res.reduce("measured", "replicate")
    pred = res.reduce("predicted", "replicate")
    kap = res.reduce("kappa", "replicate")
    for i, name in enumerate(["sp_uniform", "mupc"]):
        print(f"   {name}:")
        for j, H in enumerate(depths):
            print(f"      H = {H:>3}: κ = {kap[i, j]:10.1f}  predicted ≤ {pred[i, j]:8.0f}  "
                  f"measured {meas[i, j]:8.0f}  measured/κ = {meas[i, j] / kap[i, j]:.2f}")


def section_forward(quick: bool) -> None:
    from linpc.mupc import sample_forward_norms

    print("\n6. forward pass at initialisation: E‖ẑ_H‖²/‖x‖² (last hidden layer), Monte Carlo "
          "± standard error vs the exact moment Π g_l (d_x = 32)")
    settings = [("mupc", dict(param_type="mupc", use_skips=True)),
                ("mupc_no_skips", dict(param_type="mupc", use_skips=False)),
                ("sp_normal", dict(param_type="sp", init="normal")),
                ("sp_uniform", dict(param_type="sp", init="uniform")),
                ("sp_uniform_skips", dict(param_type="sp", init="uniform", use_skips=True)),
                ("ntp (jpc default)", dict(param_type="ntp"))]
    depths = (4, 16) if quick else (4, 16, 64)
    widths = (32,) if quick else (32, 128)
    rng = np.random.default_rng(0)
    for name, kw in settings:
        cells = []
        for H in depths:
            for N in widths:
                x = rng.standard_normal(32)
                x /= np.linalg.norm(x)
                s = sample_forward_norms((32,) + (N,) * H + (10,), x, n_draws=100, rng=rng, **kw)
                cells.append(f"H={H},N={N}: {s.mean[H]:.3g}±{s.standard_error[H]:.2g} "
                             f"({s.expected[H]:.3g})")
        print(f"   {name:<18} " + " | ".join(cells))
    print("   (SP-uniform and SP-uniform + skips at depth are products of O(1)-spread factors: "
          "their sample means are heavy-tailed)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smaller sizes (seconds)")
    p.add_argument("--table", action="store_true", help="run the §6.2 κ sweep")
    p.add_argument("--inference", action="store_true", help="run the inference-speed sweep")
    p.add_argument("--forward", action="store_true", help="forward-pass scale by Monte Carlo")
    p.add_argument("--cache", default=None, help="sweep cache folder (resumable)")
    p.add_argument("--jobs", type=int, default=1, help="processes for the sweeps")
    args = p.parse_args()
    load = os.getloadavg()
    print(f"linpc {linpc.__version__}, numpy {np.__version__}; "
          f"thread budget {thread_budget()}, "
          f"{os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}\n")
    section_targets(args.quick)
    section_banded_vs_lanczos(args.quick)
    section_depth(args.quick)
    if args.table:
        section_table(args.cache, args.jobs)
    if args.inference:
        section_inference(args.cache, args.jobs, args.quick)
    if args.forward:
        section_forward(args.quick)


if __name__ == "__main__":
    main()
