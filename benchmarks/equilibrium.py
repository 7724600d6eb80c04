"""Benchmark: z*, F* and S by both closed-form routes, and against a dense Cholesky solve.

Targets (issue 2, 2-core machine): H = 128 hidden layers, N = 512, B = 128, d_x = d_y = 64 by
route 1 (block Cholesky of H_z) in ≤ 3 s; at H = 32, N = 256, route 1 ≥ 50× faster than a dense
Cholesky solve of the full (H·N)² system; peak memory ≤ 2 GB. Plain-text output.

Run: ``python benchmarks/equilibrium.py [--quick]``. Peak memory is the process's maximum resident
set size (``resource.getrusage``), reported before and after each stage.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import scipy.linalg as sla

import linpc


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def make(H: int, N: int, B: int, d: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    widths = [d] + [N] * H + [d]
    Ws = linpc.init_weights(widths, param_type="sp", init="normal", rng=rng)
    net = linpc.LinearPCN(Ws)
    x = rng.standard_normal((B, d))
    y = rng.standard_normal((B, d))
    return net, x, y


def timed(f, repeat: int = 1):
    best = np.inf
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t0)
    return out, best


def route1(net, x, y):
    Hz = linpc.ActivityHessian(net)
    eq = linpc.solve_equilibrium(net, x, y, method="cholesky", hessian=Hz, warn_if_error_above=None)
    S = linpc.equilibrium_rescaling(net, method="cholesky", hessian=Hz)
    return eq, S


def route2(net, x, y):
    eq = linpc.solve_equilibrium(net, x, y, method="gaussian", warn_if_error_above=None)
    S = linpc.equilibrium_rescaling(net, method="gaussian")
    return eq, S


def dense_route(net, x, y):
    """The same quantities by one dense Cholesky factorisation of the full (H·N)² system."""
    Hd = linpc.ActivityHessian(net).to_dense()
    b = linpc.activity_rhs(net, x, y)
    cf = sla.cho_factor(Hd, lower=True, check_finite=False)
    Z = sla.cho_solve(cf, b.T, check_finite=False).T
    F = linpc.energy(net, net.split_activities(Z), x, y)
    # S⁻¹ = λI − λ²M_L [H_z⁻¹]_{HH} M_Lᵀ from one more dense solve with M_Lᵀ in the last block
    E = np.zeros((Hd.shape[0], net.d_y))
    E[-net.hidden_widths[-1]:] = net.layer_map(net.n_layers).T
    X = sla.cho_solve(cf, E, check_finite=False)
    lam = net.output_precision
    S_inv = lam * np.eye(net.d_y) - lam**2 * E.T @ X
    return Z, F, np.linalg.inv(S_inv)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    p.add_argument("--repeat", type=int, default=2)
    args = p.parse_args()
    big = (16, 128, 32, 16) if args.quick else (128, 512, 128, 64)
    cmp_ = (8, 64, 32, 16) if args.quick else (32, 256, 128, 64)

    H, N, B, d = big
    print(f"== big case: H = {H}, N = {N}, B = {B}, d_x = d_y = {d} "
          f"(n = {H * N} activities per sample)")
    net, x, y = make(H, N, B, d)
    rss0 = peak_rss_mb()
    (eq1, S1), t1 = timed(lambda: route1(net, x, y), args.repeat)
    (eq2, S2), t2 = timed(lambda: route2(net, x, y), args.repeat)
    z1 = np.concatenate(eq1.activities, axis=1)
    z2 = np.concatenate(eq2.activities, axis=1)
    print(f"route 1 (block Cholesky of H_z): z*, F*, S in {t1:7.2f} s   (target ≤ 3 s)")
    print(f"route 2 (Gaussian conditioning): z*, F*, S in {t2:7.2f} s")
    print(f"  κ(H_z) 1-norm estimate {eq1.condition_number:.3g}; routes agree: "
          f"‖Δz‖/‖z‖ = {np.linalg.norm(z1 - z2) / np.linalg.norm(z1):.2e}, "
          f"|ΔF*|/F* = {abs(eq1.energy - eq2.energy) / eq2.energy:.2e}, "
          f"‖ΔS‖/‖S‖ = {np.linalg.norm(S1 - S2) / np.linalg.norm(S2):.2e}")
    print(f"  peak RSS {peak_rss_mb():.0f} MB (before: {rss0:.0f} MB; target ≤ 2048 MB)")

    H, N, B, d = cmp_
    print(f"\n== comparison: H = {H}, N = {N}, B = {B}, d = {d} (dense system {H * N}²)")
    net, x, y = make(H, N, B, d, seed=1)
    (eq1, _), t1 = timed(lambda: route1(net, x, y), args.repeat)
    (zd, _, _), td = timed(lambda: dense_route(net, x, y), 1)
    (_, _), t2 = timed(lambda: route2(net, x, y), args.repeat)
    z1 = np.concatenate(eq1.activities, axis=1)
    n = H * N
    dense_flops = n**3 / 3 + 2 * n * n * B + 2 * n * n * d
    block_flops = H * (10 / 3 * N**3 + 6 * N * N * B) + 2 * 2 * (H + 1) * B * N * N
    print(f"route 1: {t1:.3f} s   dense Cholesky (z*, F*, S): {td:.2f} s   "
          f"ratio {td / t1:.0f}×   (target ≥ 50×)")
    print(f"route 2: {t2:.3f} s   ratio to dense {td / t2:.0f}×")
    print(f"  flop counts: dense {dense_flops:.2e} (factor n³/3 + solves), block route "
          f"{block_flops:.2e} (factor 10N³/3 per layer + 6N²B per layer + errors): the "
          f"arithmetic alone allows at most ≈ {dense_flops / block_flops:.0f}× at equal speed")
    print(f"  ‖z_route1 − z_dense‖/‖z‖ = {np.linalg.norm(z1 - zd) / np.linalg.norm(zd):.2e}")
    print(f"  peak RSS {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
