"""Tests of the sweep mechanism (:mod:`linpc.reproduce.sweeps`): grids, seeds, cache, resume,
processes.

The point functions here record every call as a file in a directory, so "nothing finished is
recomputed" is checked by counting calls (also across worker processes), not by trusting the
sweep's own counters.
"""

from __future__ import annotations

import json
import os
import uuid
import zipfile
from pathlib import Path

import numpy as np
import pytest

from linpc import __version__
from linpc.numerics.threads import available_cores
from linpc.reproduce.sweeps import (
    CACHE_SCHEMA,
    Grid,
    SweepCacheWarning,
    cache_key,
    canonical_json,
    point_seed_sequence,
    run_sweep,
)

CALLS_ENV = "LINPC_TEST_SWEEP_CALLS"


def _record_call(point: dict) -> None:
    folder = Path(os.environ[CALLS_ENV])
    (folder / f"{canonical_json(point)}.{uuid.uuid4().hex}").touch()


def _calls(folder: Path) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in folder.iterdir():
        key = f.name.rsplit(".", 1)[0]
        out[key] = out.get(key, 0) + 1
    return out


def noisy_square(point: dict, rng: np.random.Generator) -> dict:
    """Module-level point function (picklable for jobs > 1); fails where ``point['fail']``."""
    _record_call(point)
    if point.get("fail_at") is not None and point["x"] == point["fail_at"] \
            and Path(os.environ[CALLS_ENV], "armed").exists():
        raise RuntimeError(f"interrupted at x = {point['x']}")
    return {"square": point["x"] ** 2, "noise": rng.standard_normal(3),
            "label": f"x={point['x']}", "flag": point["x"] % 2 == 0}


@pytest.fixture()
def calls(tmp_path, monkeypatch):
    folder = tmp_path / "calls"
    folder.mkdir()
    monkeypatch.setenv(CALLS_ENV, str(folder))
    return folder


def _n_calls(folder: Path) -> int:
    return sum(v for k, v in _calls(folder).items() if k != "armed")


def test_grid_order_filter_fixed_and_assembly(calls):
    """Points enumerate the Cartesian product (first axis slowest), ``where`` removes cells that
    :meth:`SweepResult.array` then fills with NaN, and ``fixed`` parameters join every point."""
    g = Grid.product({"x": [1, 2, 3], "r": [0, 1]}, fixed={"tag": "a"},
                     where=lambda p: not (p["x"] == 3 and p["r"] == 1))
    pts = g.points()
    assert [(p["x"], p["r"]) for p in pts] == [(1, 0), (1, 1), (2, 0), (2, 1), (3, 0)]
    assert all(p["tag"] == "a" for p in pts)
    res = run_sweep("grid", noisy_square, g, progress=False)
    sq = res.array("square")
    assert sq.shape == (3, 2)
    assert sq[0].tolist() == [1.0, 1.0] and sq[1].tolist() == [4.0, 4.0]
    assert sq[2, 0] == 9.0 and np.isnan(sq[2, 1])
    assert res.array("noise").shape == (3, 2, 3)
    med = res.reduce("square", "r")
    assert med.tolist() == [1.0, 4.0, 9.0]
    assert res.lookup(x=2, r=1)["label"] == "x=2"
    assert _n_calls(calls) == 5


def test_seeds_depend_on_point_content_only(calls):
    """A point's random stream is a function of (sweep name, point, base seed): reordering or
    growing the grid leaves every shared point's result unchanged; other seeds or names differ."""
    a = run_sweep("seeds", noisy_square, Grid.product({"x": [1, 2, 3]}), progress=False)
    b = run_sweep("seeds", noisy_square, Grid.product({"x": [5, 3, 2, 1]}), progress=False)
    for x in (1, 2, 3):
        assert np.array_equal(a.lookup(x=x)["noise"], b.lookup(x=x)["noise"])
    c = run_sweep("seeds", noisy_square, Grid.product({"x": [1]}), seed=1, progress=False)
    d = run_sweep("other", noisy_square, Grid.product({"x": [1]}), progress=False)
    assert not np.array_equal(a.lookup(x=1)["noise"], c.lookup(x=1)["noise"])
    assert not np.array_equal(a.lookup(x=1)["noise"], d.lookup(x=1)["noise"])
    # the documented construction: SeedSequence([seed, 4 words of sha256([name, point])])
    import hashlib

    digest = hashlib.sha256(canonical_json(["seeds", {"x": 2}]).encode()).hexdigest()
    words = [int(digest[8 * i:8 * i + 8], 16) for i in range(4)]
    expected = np.random.default_rng(np.random.SeedSequence([0, *words])).standard_normal(3)
    assert np.array_equal(a.lookup(x=2)["noise"], expected)
    assert point_seed_sequence("seeds", {"x": 2}).entropy == [0, *words]


def test_cache_is_reused_and_keyed_by_content(tmp_path, calls):
    """A rerun loads every point (no calls) with identical arrays and dtypes; the key is the sha256
    of the canonical JSON of schema, linpc version, sweep, code version, seed and point; a new
    code version recomputes."""
    g = Grid.product({"x": [1, 2, 3, 4]})
    r1 = run_sweep("cache", noisy_square, g, cache_dir=tmp_path / "c", progress=False)
    assert r1.computed == 4 and _n_calls(calls) == 4
    r2 = run_sweep("cache", noisy_square, g, cache_dir=tmp_path / "c", progress=False)
    assert r2.computed == 0 and r2.loaded == 4 and _n_calls(calls) == 4
    for a, b in zip(r1.results, r2.results, strict=True):
        assert a.keys() == b.keys()
        for k in a:
            assert a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k])
    import hashlib

    fields = {"schema": CACHE_SCHEMA, "linpc": __version__, "sweep": "cache", "version": "1",
              "seed": 0, "point": {"x": 3}}
    key = hashlib.sha256(canonical_json(fields).encode()).hexdigest()
    assert key == cache_key("cache", {"x": 3})
    path = tmp_path / "c" / "cache" / f"{key}.npz"
    with np.load(path, allow_pickle=False) as f:
        meta = json.loads(str(f["__meta__"]))
        assert f["square"] == 9
    assert meta["point"] == {"x": 3} and meta["seed_entropy"][0] == 0
    r3 = run_sweep("cache", noisy_square, g, cache_dir=tmp_path / "c", version="2",
                   progress=False)
    assert r3.computed == 4 and _n_calls(calls) == 8
    assert not list((tmp_path / "c" / "cache").glob("*.tmp"))


def test_interrupted_sweep_resumes_without_recomputing(tmp_path, calls):
    """A sweep that dies at one point keeps every point finished before it; the rerun computes
    only the missing points (each point's function runs exactly once in total)."""
    g = Grid.product({"x": list(range(1, 7))}, fixed={"fail_at": 4})
    (calls / "armed").touch()
    with pytest.raises(RuntimeError, match="interrupted at x = 4"):
        run_sweep("resume", noisy_square, g, cache_dir=tmp_path, progress=False)
    (calls / "armed").unlink()
    first = _calls(calls)
    assert sum(first.values()) == 4                       # x = 1, 2, 3 finished; 4 failed
    res = run_sweep("resume", noisy_square, g, cache_dir=tmp_path, progress=False)
    assert res.loaded == 3 and res.computed == 3
    per_point = _calls(calls)
    for x in (1, 2, 3, 5, 6):
        assert per_point[canonical_json({"x": x, "fail_at": 4})] == 1
    assert per_point[canonical_json({"x": 4, "fail_at": 4})] == 2   # failed once, then done
    assert res.array("square").tolist() == [float(x * x) for x in range(1, 7)]


@pytest.mark.parametrize("damage", ["garbage", "truncated", "tampered", "foreign", "pickled"])
def test_corrupt_entries_are_detected_and_recomputed(tmp_path, calls, damage):
    """Unreadable, truncated, modified (checksum), mislabelled (metadata of another point) or
    pickled cache files trigger a SweepCacheWarning and a recomputation of that point only, with
    the same result as before (the seed does not depend on the cache)."""
    g = Grid.product({"x": [1, 2, 3]})
    r1 = run_sweep("corrupt", noisy_square, g, cache_dir=tmp_path, progress=False)
    folder = tmp_path / "corrupt"
    target = folder / f"{cache_key('corrupt', {'x': 2})}.npz"
    other = folder / f"{cache_key('corrupt', {'x': 3})}.npz"
    raw = target.read_bytes()
    if damage == "garbage":
        target.write_bytes(b"not a zip file at all")
    elif damage == "truncated":
        target.write_bytes(raw[: len(raw) // 2])
    elif damage == "tampered":
        with np.load(target, allow_pickle=False) as f:
            data = {k: f[k] for k in f.files}
        data["square"] = np.array(5)
        np.savez_compressed(target, **data)
    elif damage == "foreign":
        target.write_bytes(other.read_bytes())
    else:
        with np.load(target, allow_pickle=False) as f:
            data = {k: f[k] for k in f.files}
        data["square"] = np.array([{"evil": 1}], dtype=object)
        np.savez(target, **data)
    before = _n_calls(calls)
    with pytest.warns(SweepCacheWarning, match="recomputing"):
        r2 = run_sweep("corrupt", noisy_square, g, cache_dir=tmp_path, progress=False)
    assert _n_calls(calls) == before + 1 and r2.computed == 1 and r2.loaded == 2
    assert np.array_equal(r2.lookup(x=2)["noise"], r1.lookup(x=2)["noise"])
    assert r2.lookup(x=2)["square"] == 4
    # and the entry was repaired
    r3 = run_sweep("corrupt", noisy_square, g, cache_dir=tmp_path, progress=False)
    assert r3.computed == 0


def test_write_is_atomic(tmp_path, calls, monkeypatch):
    """If writing fails midway, no final file and no temporary file remain (os.replace is the
    only way a cache file appears)."""
    import linpc.reproduce.sweeps as sw

    def broken_savez(fh, **arrays):
        fh.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(sw.np, "savez_compressed", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        run_sweep("atomic", noisy_square, Grid.product({"x": [1]}), cache_dir=tmp_path,
                  progress=False)
    assert list((tmp_path / "atomic").iterdir()) == []


def test_parallel_jobs_match_serial(tmp_path, calls, monkeypatch):
    """jobs=2 computes each missing point once, in worker processes, with the same results."""
    monkeypatch.setenv("LINPC_NUM_THREADS", "2")        # a budget for two processes
    g = Grid.product({"x": [1, 2, 3, 4, 5]})
    serial = run_sweep("jobs", noisy_square, g, progress=False)
    par = run_sweep("jobs", noisy_square, g, cache_dir=tmp_path, jobs=2, progress=False)
    for a, b in zip(serial.results, par.results, strict=True):
        assert np.array_equal(a["noise"], b["noise"])
    assert _n_calls(calls) == 10
    again = run_sweep("jobs", noisy_square, g, cache_dir=tmp_path, jobs=2, progress=False)
    assert again.computed == 0 and _n_calls(calls) == 10


def test_parallel_failure_keeps_finished_points(tmp_path, calls, monkeypatch):
    """A failing point in a parallel sweep raises; points already finished are cached."""
    monkeypatch.setenv("LINPC_NUM_THREADS", "2")
    g = Grid.product({"x": [1, 2, 3]}, fixed={"fail_at": 2})
    (calls / "armed").touch()
    with pytest.raises(RuntimeError, match="interrupted"):
        run_sweep("pfail", noisy_square, g, cache_dir=tmp_path, jobs=2, progress=False)
    (calls / "armed").unlink()
    res = run_sweep("pfail", noisy_square, g, cache_dir=tmp_path, progress=False)
    assert res.loaded >= 1 and res.loaded + res.computed == 3


def where_and_how(point: dict, rng: np.random.Generator) -> dict:
    """Module-level point function reporting the process and thread settings it ran with."""
    from linpc.numerics.threads import _blas_libraries

    counts = [c.get_num_threads() for c, _ in _blas_libraries()]
    return {"pid": os.getpid(), "budget": os.environ.get("LINPC_NUM_THREADS", ""),
            "blas": max([n for n in counts if n is not None], default=-1)}


@pytest.mark.skipif(available_cores() < 2, reason="needs two cores for two worker processes")
def test_worker_processes_follow_the_thread_policy(tmp_path, monkeypatch):
    """With a budget of 2 threads, jobs=2 runs two worker processes initialised by
    configure_worker with 2 // 2 = 1 thread each (LINPC_NUM_THREADS and the BLAS pools)."""
    monkeypatch.setenv("LINPC_NUM_THREADS", "2")
    res = run_sweep("policy", where_and_how, Grid.product({"x": list(range(6))}), jobs=2,
                    progress=False)
    pids = {int(r["pid"]) for r in res.results}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2
    assert {str(r["budget"]) for r in res.results} == {"1"}
    assert {int(r["blas"]) for r in res.results} <= {1, -1}


def test_jobs_beyond_the_thread_budget_are_reduced_with_a_warning(tmp_path, monkeypatch):
    """With a budget of one thread, jobs=4 warns and runs the points in this process."""
    monkeypatch.setenv("LINPC_NUM_THREADS", "1")
    with pytest.warns(RuntimeWarning, match="exceeds the thread budget"):
        res = run_sweep("budget", where_and_how, Grid.product({"x": [1, 2, 3]}), jobs=4,
                        progress=False)
    assert {int(r["pid"]) for r in res.results} == {os.getpid()}


def test_pool_is_sized_by_plan_processes(tmp_path, monkeypatch):
    """The pool gets plan_processes' process count (at most the number of missing points) and
    every worker the initializer that applies configure_worker with its thread count."""
    import linpc.reproduce.sweeps as sw

    made = []

    class FakePool:
        def __init__(self, max_workers, initializer, initargs):
            made.append((max_workers, initializer, initargs))
            raise RuntimeError("stop here")

    monkeypatch.setattr(sw, "ProcessPoolExecutor", FakePool)
    monkeypatch.setattr(sw, "plan_processes", lambda jobs: (3, 2))
    with pytest.raises(RuntimeError, match="stop here"):
        run_sweep("plan", where_and_how, Grid.product({"x": list(range(5))}), jobs=8,
                  progress=False)
    with pytest.raises(RuntimeError, match="stop here"):
        run_sweep("plan", where_and_how, Grid.product({"x": [1, 2]}), jobs=8, progress=False)
    assert made == [(3, sw._init_worker, (2,)), (2, sw._init_worker, (2,))]
    calls = []
    monkeypatch.setattr(sw, "configure_worker", lambda t: calls.append(t))
    import signal

    old = signal.getsignal(signal.SIGINT)
    try:
        sw._init_worker(2)
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN and calls == [2]
    finally:
        signal.signal(signal.SIGINT, old)


SLOW_SWEEP = """
import pathlib, sys, time
from linpc.reproduce.sweeps import Grid, run_sweep
MARKS = pathlib.Path(sys.argv[1])

def slow(point, rng):
    (MARKS / str(point["x"])).touch()
    time.sleep(60)
    return {"y": 1.0}

if __name__ == "__main__":
    try:
        run_sweep("slow", slow, Grid.product({"x": [1, 2, 3, 4]}), cache_dir=sys.argv[2],
                  jobs=2, progress=False)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
"""


@pytest.mark.skipif(os.name != "posix" or available_cores() < 2,
                    reason="needs POSIX process groups and two cores")
def test_ctrl_c_stops_the_workers_at_once(tmp_path):
    """Ctrl-C (SIGINT to the whole process group, as a terminal sends it) during a parallel
    sweep: the workers print nothing, the parent stops them without waiting for their points and
    raises KeyboardInterrupt; no process of the group survives."""
    import signal
    import subprocess
    import sys
    import time

    script, marks = tmp_path / "slow.py", tmp_path / "marks"
    script.write_text(SLOW_SWEEP)
    marks.mkdir()
    env = dict(os.environ, LINPC_NUM_THREADS="2",
               PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    proc = subprocess.Popen([sys.executable, str(script), str(marks), str(tmp_path / "c")],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        t0 = time.monotonic()
        while len(list(marks.iterdir())) < 2:
            assert proc.poll() is None and time.monotonic() - t0 < 60, proc.stderr.read()
            time.sleep(0.05)
        t_int = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        assert time.monotonic() - t_int < 20, "the parent waited for the running points"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130 and err.strip() == "interrupted", err
    t0 = time.monotonic()
    while time.monotonic() - t0 < 10:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("worker processes survived the interrupt")


def test_bad_input_gives_clear_errors(tmp_path):
    """Invalid names, point values, duplicate points and unpicklable results are rejected."""
    def f(point, rng):
        return {"y": 1.0}

    with pytest.raises(ValueError, match="sweep name"):
        run_sweep("bad/name", f, [{"x": 1}], progress=False)
    with pytest.raises(TypeError, match="JSON scalars"):
        run_sweep("ok", f, [{"x": np.zeros(2)}], progress=False)
    with pytest.raises(ValueError, match="not finite"):
        run_sweep("ok", f, [{"x": float("nan")}], progress=False)
    with pytest.raises(ValueError, match="twice"):
        run_sweep("ok", f, [{"x": 1}, {"x": 1}], progress=False)
    with pytest.raises(ValueError, match="both an axis and fixed"):
        Grid.product({"x": [1]}, fixed={"x": 2})
    with pytest.raises(TypeError, match="pickling"):
        run_sweep("ok", lambda p, r: {"y": object()}, [{"x": 1}], cache_dir=tmp_path,
                  progress=False)
    with pytest.raises(ValueError, match="needs a Grid"):
        run_sweep("ok", f, [{"x": 1}], progress=False).array("y")


def test_progress_bar_runs(tmp_path, calls, capsys):
    """The progress bar (tqdm or the text fallback) reports on stderr without breaking results."""
    res = run_sweep("bar", noisy_square, Grid.product({"x": [1, 2]}), progress=True)
    assert res.array("square").tolist() == [1.0, 4.0]


def test_npz_is_a_plain_zip_without_pickles(tmp_path, calls):
    """Cache files are ordinary .npz archives readable with allow_pickle=False."""
    run_sweep("plain", noisy_square, Grid.product({"x": [7]}), cache_dir=tmp_path,
              progress=False)
    (path,) = (tmp_path / "plain").glob("*.npz")
    assert zipfile.is_zipfile(path)
    with np.load(path, allow_pickle=False) as f:
        assert set(f.files) == {"square", "noise", "label", "flag", "__meta__", "__checksum__"}
        assert str(f["label"]) == "x=7" and bool(f["flag"]) is False
