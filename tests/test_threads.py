"""The thread policy (linpc.numerics.threads; README, "Threads").

Checks that every public routine follows the policy, that a linpc call runs BLAS on one thread and
restores the caller's setting, that the budget honours ``LINPC_NUM_THREADS``, the BLAS limit and a
``threadpoolctl`` context, and that process plans never exceed the budget.
"""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import linpc
from linpc.numerics import threads

#: Subpackages whose public routines compute (numerics holds tolerances, checks and the policy).
COMPUTING = ("data", "core", "landscape", "trust_region", "mupc", "dynamics")


def _blas_threads() -> list[int]:
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


def _public_routines():
    mods = [importlib.import_module("linpc.jpc")]
    for sub in COMPUTING:
        pkg = importlib.import_module(f"linpc.{sub}")
        mods += [importlib.import_module(f"linpc.{sub}.{m}") for m in pkg.MODULES]
    mods += [importlib.import_module("linpc.numerics.block_cholesky"),
             importlib.import_module("linpc.numerics.lanczos")]
    for mod in mods:
        for name in mod.__all__:
            obj = getattr(mod, name)
            if getattr(obj, "__module__", None) != mod.__name__:
                continue
            if inspect.isfunction(obj):
                yield f"{mod.__name__}.{name}", obj
            elif inspect.isclass(obj) and not issubclass(obj, BaseException):
                for meth, attr in vars(obj).items():
                    if not meth.startswith("_") and inspect.isfunction(attr):
                        yield f"{mod.__name__}.{name}.{meth}", attr


def test_every_public_routine_follows_the_policy():
    routines = list(_public_routines())
    assert len(routines) > 150
    missing = [name for name, f in routines if not getattr(f, "__linpc_thread_policy__", False)]
    assert not missing, f"public routines without @thread_policy: {missing}"


def test_a_call_runs_blas_on_one_thread_and_restores_the_setting():
    seen = {}

    @threads.thread_policy
    def probe():
        seen["inside"] = _blas_threads()
        seen["budget"] = threads.thread_budget()

    with threadpool_limits(limits=2, user_api="blas"):
        before = _blas_threads()
        probe()
        assert _blas_threads() == before
    assert set(seen["inside"]) == {1}
    assert seen["budget"] == min(2, threads.available_cores())


def test_a_real_routine_runs_single_threaded(monkeypatch):
    """The forward pass inside a public routine runs with BLAS at one thread."""
    seen = []
    original = linpc.LinearPCN._forward

    def spy(self, xa):
        seen.append(_blas_threads())
        return original(self, xa)

    monkeypatch.setattr(linpc.LinearPCN, "_forward", spy)
    rng = np.random.default_rng(0)
    net = linpc.LinearPCN(linpc.init_weights([3, 4, 2], rng=rng))
    with threadpool_limits(limits=2, user_api="blas"):
        net.forward(rng.standard_normal((5, 3)))
        linpc.mse_loss(net, rng.standard_normal((5, 3)), rng.standard_normal((5, 2)))
    assert len(seen) >= 2 and all(set(s) == {1} for s in seen)


def test_budget_honours_a_threadpoolctl_context():
    with threadpool_limits(limits=1, user_api="blas"):
        assert threads.thread_budget() == 1
        assert threads.worker_count() == 1


def test_budget_honours_the_environment_variable(monkeypatch):
    monkeypatch.setenv(threads.ENV_VAR, "1")
    assert threads.thread_budget() == 1
    monkeypatch.setenv(threads.ENV_VAR, "64")
    assert threads.thread_budget() == threads.available_cores()


@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5"])
def test_a_bad_environment_variable_is_an_error_naming_it(monkeypatch, value):
    monkeypatch.setenv(threads.ENV_VAR, value)
    with pytest.raises(ValueError, match=threads.ENV_VAR):
        threads.thread_budget()


def test_concurrent_calls_from_python_threads_restore_the_setting():
    barrier = threading.Barrier(2)
    inside: list[list[int]] = []

    @threads.thread_policy
    def probe():
        barrier.wait(timeout=10)
        inside.append(_blas_threads())
        barrier.wait(timeout=10)

    with threadpool_limits(limits=2, user_api="blas"):
        before = _blas_threads()
        workers = [threading.Thread(target=probe) for _ in range(2)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert _blas_threads() == before
    assert len(inside) == 2 and all(set(s) == {1} for s in inside)


def test_process_plans_never_exceed_the_budget(monkeypatch):
    monkeypatch.setenv(threads.ENV_VAR, "2")
    budget = threads.thread_budget()
    for jobs in (1, 2, 3, 8):
        if jobs > budget:
            with pytest.warns(RuntimeWarning, match="thread budget"):
                p, t = threads.plan_processes(jobs)
        else:
            p, t = threads.plan_processes(jobs)
        assert p * t <= budget and p >= 1 and t >= 1


@pytest.mark.parametrize("jobs", [0, -1, 1.5, True, "2"])
def test_process_plan_rejects_bad_jobs(jobs):
    with pytest.raises(ValueError, match="jobs"):
        threads.plan_processes(jobs)


def test_a_configured_worker_runs_its_share_of_threads():
    code = ("from linpc.numerics import threads; threads.configure_worker(1); "
            "from threadpoolctl import threadpool_info; "
            "print(sorted({i['num_threads'] for i in threadpool_info()}), threads.thread_budget())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["[1]", "1"]


def test_warnings_point_at_the_callers_line_not_the_policy_wrapper():
    """The wrapper adds a frame; warnings must still name the user's file (user_stacklevel)."""
    net = linpc.LinearPCN([np.array([[1e9]]), np.array([[1e9]])], scalings=[1.0, 1.0])
    with pytest.warns(linpc.IllConditionedWarning) as rec:
        linpc.solve_equilibrium(net, np.ones((1, 1)), np.ones((1, 1)), method="gaussian",
                                warn_if_error_above=1e-30)
    assert rec and all(w.filename == __file__ for w in rec), [w.filename for w in rec]
