"""linpc's thread policy: how a linpc call uses the cores.

The policy (README, "Threads"):

1. **Budget.** A linpc call may keep at most ``T`` threads busy, where ``T`` is
   ``LINPC_NUM_THREADS`` if set, else the BLAS thread limit in force when the call starts (which
   reflects ``OMP_NUM_THREADS`` / ``OPENBLAS_NUM_THREADS`` / ``MKL_NUM_THREADS`` and any
   enclosing ``threadpoolctl`` context), never more than the cores this process may run on.
2. **BLAS runs on one thread inside linpc calls.** Every public routine is wrapped by
   :func:`thread_policy`, which sets the BLAS pools to one thread on entry and restores the
   caller's setting on exit. Threaded BLAS does not pay for the ``N ≲ 1000`` products that
   linpc's block algorithms are made of, and its worker threads busy-wait between calls: with
   several processes on a shared machine they spin against each other and a run becomes many
   times slower (17× measured with three processes on two cores, ``benchmarks/under_load.py``).
3. **linpc uses the cores itself** where the work is large enough: the block kernels run
   independent products in up to ``min(T, 4)`` Python threads (NumPy and SciPy release the GIL in
   BLAS/LAPACK), each with single-threaded BLAS.
4. **Processes.** ``linpc reproduce --jobs P`` runs at most ``T`` worker processes and gives
   each ``max(1, T // P)`` threads (:func:`plan_processes`, :func:`configure_worker`), so the
   busy threads never exceed the budget.

The one-thread setting is process-wide while any linpc call runs (BLAS libraries keep one
thread count per process): BLAS calls that other Python threads of the caller make meanwhile also
run on one thread.
"""

from __future__ import annotations

import functools
import inspect
import os
import threading
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from typing import TypeVar

__all__ = [
    "ENV_VAR",
    "available_cores",
    "configure_worker",
    "kernel_threads",
    "plan_processes",
    "single_threaded_blas",
    "thread_budget",
    "thread_policy",
    "worker_count",
]

#: Environment variable that sets linpc's thread budget (a positive integer).
ENV_VAR = "LINPC_NUM_THREADS"

#: Most Python threads the block kernels use (more never paid on the widths linpc targets).
MAX_KERNEL_THREADS = 4

F = TypeVar("F", bound=Callable)

_lock = threading.Lock()
_depth = 0                       # linpc calls in progress in this process (all Python threads)
_saved: list[int] = []           # BLAS thread counts to restore when the last call ends
_budget = 1                      # the budget fixed by the first of the calls in progress
_libraries: list | None = None   # (controller, thread-local setter or None) per BLAS library
_local = threading.local()       # ``inside``/``budget``: this Python thread is in a linpc call


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _env_budget() -> int | None:
    """``LINPC_NUM_THREADS`` as a positive integer, or None if unset; a bad value is an error."""
    raw = os.environ.get(ENV_VAR)
    if raw is None or raw.strip() == "":
        return None
    try:
        n = int(raw)
    except ValueError:
        raise ValueError(f"{ENV_VAR} must be a positive integer, got {raw!r}") from None
    if n < 1:
        raise ValueError(f"{ENV_VAR} must be a positive integer, got {raw!r}")
    return n


def _blas_libraries() -> list:
    """The loaded BLAS libraries, each with the function that sets its thread count.

    Found once, after NumPy and SciPy have loaded theirs. For OpenBLAS the setter is
    ``openblas_set_num_threads_local`` where present: in OpenBLAS 0.3.30 the ordinary setter has
    no effect when called from a thread other than the one that last set the count, while this
    one sets the (process-wide) count from any thread.
    """
    global _libraries
    if _libraries is None:
        import numpy  # noqa: F401  - load the BLAS libraries linpc uses before looking for them
        import scipy.linalg  # noqa: F401

        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - threadpoolctl is a dependency
            _libraries = []
        else:
            found = []
            for c in ThreadpoolController().lib_controllers:
                if c.user_api != "blas":
                    continue
                setter = getattr(getattr(c, "dynlib", None), "openblas_set_num_threads_local",
                                 None) if c.internal_api == "openblas" else None
                found.append((c, setter if setter is not None else c.set_num_threads))
            _libraries = found
    return _libraries


def _blas_limit() -> int | None:
    """The smallest thread limit of the loaded BLAS pools, as seen by this thread."""
    counts = [c.get_num_threads() for c, _ in _blas_libraries()]
    counts = [n for n in counts if n is not None]
    return min(counts) if counts else None


def thread_budget() -> int:
    """Busy threads a linpc call may use (policy point 1).

    ``LINPC_NUM_THREADS`` if set; otherwise the BLAS thread limit in force (inside a linpc call:
    the limit the call found on entry); capped at :func:`available_cores`.
    """
    if getattr(_local, "inside", False):
        return _local.budget
    env = _env_budget()
    cores = available_cores()
    if env is not None:
        return min(env, cores)
    limit = _blas_limit()
    return max(1, min(cores, limit if limit is not None else cores))


def worker_count() -> int:
    """Python threads the block kernels use: the thread budget, at most ``MAX_KERNEL_THREADS``."""
    return max(1, min(thread_budget(), MAX_KERNEL_THREADS))


def _enter_kernel_thread() -> None:
    """Initialise a block-kernel worker thread: inside a linpc call, with budget 1."""
    _local.inside = True
    _local.budget = 1


def kernel_threads(workers: int):
    """A thread pool for independent block kernels (their BLAS runs on one thread)."""
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=workers, initializer=_enter_kernel_thread)


@contextmanager
def single_threaded_blas():
    """Run the body with one BLAS thread and the budget fixed (policy point 2); re-entrant.

    The first of the calls in progress in the process fixes the budget (:func:`thread_budget`),
    records the BLAS thread counts and sets them to one; the last to end restores them. A nested
    call in the same Python thread costs one thread-local lookup, an outermost one a few
    microseconds.
    """
    global _depth, _saved, _budget
    if getattr(_local, "inside", False):
        yield
        return
    with _lock:
        if _depth == 0:
            _budget = thread_budget()
            libraries = _blas_libraries()
            _saved = [c.get_num_threads() for c, _ in libraries]
            for (_c, setter), n in zip(libraries, _saved, strict=True):
                if n != 1:
                    setter(1)
        _depth += 1
        _local.inside, _local.budget = True, _budget
    try:
        yield
    finally:
        _local.inside = False
        with _lock:
            _depth -= 1
            if _depth == 0:
                for (_c, setter), n in zip(_blas_libraries(), _saved, strict=True):
                    if n is not None and n != 1:
                        setter(n)
                _saved = []


def _wrap(func: Callable) -> Callable:
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if getattr(_local, "inside", False):        # nested call: the policy is in force
            return func(*args, **kwargs)
        with single_threaded_blas():
            return func(*args, **kwargs)

    wrapper.__linpc_thread_policy__ = True  # type: ignore[attr-defined]
    return wrapper


def thread_policy(obj: F) -> F:
    """Make a public routine, or every public method of a class, follow the thread policy.

    A function is wrapped so that it runs under :func:`single_threaded_blas` (nested calls cost
    one thread-local lookup); for a class, each public method defined in its body is wrapped
    (properties and static/class methods are left alone). The wrapper keeps the routine's name,
    signature and docstring and carries ``__linpc_thread_policy__ = True``, which
    ``tests/test_threads.py`` checks for every public routine.
    """
    if isinstance(obj, type):
        for name, attr in list(vars(obj).items()):
            if not name.startswith("_") and inspect.isfunction(attr):
                setattr(obj, name, _wrap(attr))
        obj.__linpc_thread_policy__ = True  # type: ignore[attr-defined]
        return obj
    return _wrap(obj)  # type: ignore[return-value]


def plan_processes(jobs: int) -> tuple[int, int]:
    """Worker processes and BLAS threads per worker for ``jobs`` requested processes.

    Returns ``(P, t)`` with ``P = min(jobs, T)`` and ``t = max(1, T // P)``, so that
    ``P · t ≤ T`` busy threads (policy point 4); warns when ``jobs`` had to be reduced.
    """
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    budget = thread_budget()
    processes = min(jobs, budget)
    if processes < jobs:
        warnings.warn(
            f"jobs={jobs} exceeds the thread budget of {budget} "
            f"({ENV_VAR} / BLAS limit / cores); running {processes} worker processes",
            RuntimeWarning, stacklevel=2,
        )
    return processes, max(1, budget // processes)


def configure_worker(threads: int) -> None:
    """Initialise a sweep worker process: budget ``threads``, BLAS pools set to that many threads.

    Used as the ``initializer`` of the sweep process pool; sets ``LINPC_NUM_THREADS`` (inherited
    by anything the worker starts) and the BLAS limit for the whole worker process.
    """
    os.environ[ENV_VAR] = str(int(threads))
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(int(threads))
    for _c, setter in _blas_libraries():
        setter(int(threads))
