"""Benchmark: PC inference as a TR step, the weight-gradient decomposition, and the TR solver.

What is measured (plain-text output, best of ``--repeat`` runs, peak RSS via ``resource``):

1. ``pc_trust_region_step`` (block Cholesky of H_z, all samples) and
   ``weight_gradient_decomposition`` (three closed-form terms, matrix-free) on a deep wide
   network, against the envelope-theorem gradient alone (``equilibrated_energy_gradient``): the
   decomposition should cost a small multiple of one equilibrium solve and never form the dense
   ``(H·N)²`` matrix H_z;
2. ``inference_interpolation`` on a time grid (eigendecomposition route vs incremental
   ``expm_multiply``) for a moderate network;
3. ``solve_trust_region_subproblem`` for n = 100…1600 (one ``eigh`` plus a scalar root), easy
   and hard cases, with its KKT residual.

Run: ``python benchmarks/trust_region.py [--quick]`` (linpc's thread policy keeps BLAS on one
thread inside its calls; README, "Threads").
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

import linpc
from linpc.trust_region import (
    inference_interpolation,
    pc_trust_region_step,
    solve_trust_region_subproblem,
    weight_gradient_decomposition,
)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def timed(f, repeat: int):
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t0)
    return out, best


def make(H: int, N: int, B: int, d: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    widths = [d] + [N] * H + [d]
    Ws = linpc.init_weights(widths, param_type="mupc", init="standard_normal", rng=rng)
    net = linpc.LinearPCN(Ws, param_type="mupc", use_skips=True)
    return net, rng.standard_normal((B, d)), rng.standard_normal((B, d))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rep = 1 if args.quick else args.repeat

    H, N, B, d = (16, 64, 32, 10) if args.quick else (64, 256, 64, 10)
    net, x, y = make(H, N, B, d)
    n = net.n_activities
    print(f"[1] network H={H}, N={N}, B={B}, d={d}: n = {n} activities "
          f"(dense H_z would take {n * n * 8 / 2**20:.0f} MiB)")
    _, t_grad = timed(lambda: linpc.equilibrated_energy_gradient(net, x, y, method="cholesky",
                                                                 warn_if_error_above=None), rep)
    _, t_step = timed(lambda: pc_trust_region_step(net, x, y, warn_if_error_above=None), rep)
    dec, t_dec = timed(lambda: weight_gradient_decomposition(net, x, y), rep)
    g = linpc.equilibrated_energy_gradient(net, x, y, method="cholesky",
                                           warn_if_error_above=None).flat()
    rel = np.linalg.norm(dec.total().flat() - g) / np.linalg.norm(g)
    print(f"    envelope gradient ∇F*          {t_grad * 1e3:9.1f} ms")
    print(f"    pc_trust_region_step           {t_step * 1e3:9.1f} ms")
    print(f"    weight_gradient_decomposition  {t_dec * 1e3:9.1f} ms  "
          f"(ratio to ∇F*: {t_dec / t_grad:.2f}; ‖sum − ∇F*‖/‖∇F*‖ = {rel:.1e})")
    print(f"    peak RSS so far                {peak_rss_mb():9.0f} MiB")

    H2, N2, B2 = (8, 16, 16) if args.quick else (16, 32, 32)
    net2, x2, y2 = make(H2, N2, B2, d, seed=1)
    ev = linpc.ActivityHessian(net2).extreme_eigenvalues()
    times = np.concatenate([[0.0], np.logspace(-2, 1, 20) / ev.lambda_min, [np.inf]])
    print(f"[2] interpolation, H={H2}, N={N2}, B={B2}, κ(H_z) = {ev.condition_number:.3g}, "
          f"{times.size} times up to 10/λ_min")
    a, t_eigh = timed(lambda: inference_interpolation(net2, x2, y2, times, method="eigh"), rep)
    b, t_expm = timed(lambda: inference_interpolation(net2, x2, y2, times, method="expm"), rep)
    diff = np.max(np.abs(a.steps - b.steps)) / a.initial_distance
    print(f"    eigh route {t_eigh * 1e3:8.1f} ms, expm_multiply route {t_expm * 1e3:8.1f} ms, "
          f"max |Δ_eigh − Δ_expm|/‖Δ*‖ = {diff:.1e}")

    print("[3] solve_trust_region_subproblem (dense eigh + brentq)")
    rng = np.random.default_rng(2)
    for m in (100, 400) if args.quick else (100, 400, 800, 1600):
        A = rng.standard_normal((m, m))
        Hm = (A + A.T) / np.sqrt(2 * m)
        gv = rng.standard_normal(m)
        res, t_easy = timed(lambda Hm=Hm, gv=gv: solve_trust_region_subproblem(gv, Hm, 1.0), rep)
        w, V = np.linalg.eigh(Hm)
        gh = gv - V[:, 0] * (V[:, 0] @ gv)            # hard case: g ⊥ bottom eigenvector and
        c = (V.T @ gh)[1:] / (w[1:] - w[0])           # Δ = 2‖p_⊥‖, p_⊥ = −(H − w_1I)^†g
        rh = 2 * float(np.linalg.norm(c))
        res_h, t_hard = timed(lambda Hm=Hm, gh=gh, rh=rh: solve_trust_region_subproblem(gh, Hm, rh),
                              rep)
        print(f"    n = {m:5d}: easy {t_easy * 1e3:8.1f} ms (KKT {res.stationarity_norm:.1e}, "
              f"{res.iterations} evals), hard {t_hard * 1e3:8.1f} ms "
              f"(hard_case={res_h.hard_case}, KKT {res_h.stationarity_norm:.1e})")
    print(f"peak RSS {peak_rss_mb():.0f} MiB")


if __name__ == "__main__":
    main()
