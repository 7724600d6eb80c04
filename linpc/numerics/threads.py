"""BLAS threading for many small dense kernels.

Threaded OpenBLAS is slow for the ``N ≲ 1000`` blocks of the block-tridiagonal factorisation: a
threaded ``dpotrf`` of a 512 × 512 block took 85 ms on a 2-core machine, against 5 ms on one
thread. linpc therefore runs its block kernels with BLAS limited to one thread
(``threadpoolctl``) and uses the cores itself, by running independent block kernels in Python
threads (NumPy and SciPy release the GIL inside BLAS/LAPACK).

The limit is process-wide while it is active (``threadpoolctl`` semantics); it is restored on exit.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

__all__ = ["single_threaded_blas", "worker_count"]


def worker_count() -> int:
    """Python threads linpc uses for independent block kernels: the available cores, at most 4."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    return max(1, min(n, 4))


@contextmanager
def single_threaded_blas():
    """Limit BLAS to one thread inside the block (no-op without ``threadpoolctl``)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield
