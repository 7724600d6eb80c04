"""Parameter sweeps: a grid of points, per-point seeds, an atomic ``.npz`` cache, resume, processes.

A sweep evaluates a *point function* ``f(point, rng) -> dict`` at every point of a grid. Points are
plain dicts of JSON scalars (``{"H": 8, "N": 64, "setting": "mupc", "replicate": 0}``); results
are dicts of numeric arrays or scalars. The same mechanism serves the conditioning, forward-pass,
energy-ratio and inference-speed studies and the figure scripts.

Reproducibility
    Each point gets its own random stream, ``np.random.SeedSequence([seed, w_1, …, w_4])`` with
    ``w_i`` 32-bit words of the sha256 of the canonical JSON of ``(sweep name, point)``
    (:func:`point_seed_sequence`). It depends on the point's *content* only, never on its position
    in the grid or on which other points run, so growing a grid or running points in parallel never
    changes a result. Replicates are an ordinary axis (``replicate=range(3)``).

Cache (``cache_dir`` given)
    One file ``<cache_dir>/<sweep name>/<key>.npz`` per point, ``key`` = sha256 of the canonical
    JSON of ``{schema, linpc version, sweep name, code version, seed, point}``. The file holds
    the result arrays, a JSON metadata string (the key's ingredients, the seed entropy, the
    compute time) and a sha256 checksum of the arrays. It is written atomically (a temporary file
    in the same directory, flushed and fsynced, then ``os.replace``), loaded with
    ``allow_pickle=False``, and recomputed with a :class:`SweepCacheWarning` naming the file when
    it cannot be read, its metadata do not have the schema of
    :func:`linpc.reproduce.records.check_sweep_meta` or name another point, its arrays are not of
    a cacheable kind, or its checksum does not match. Bump ``version`` when the point function
    changes.

Resume
    Results are written as soon as each point finishes, so an interrupted sweep (exception,
    Ctrl-C, killed job) resumes where it stopped: finished points are loaded, never recomputed.

Parallelism
    ``jobs=N`` spreads the missing points over worker processes
    (:class:`concurrent.futures.ProcessPoolExecutor`); each worker writes its own cache files. The
    point function must then be importable (defined at module level). linpc's thread policy
    (:mod:`linpc.numerics.threads`) sizes the pool: :func:`~linpc.numerics.threads.plan_processes`
    turns ``N`` into ``P ≤ N`` processes of ``t`` BLAS threads each within the thread budget
    (``P = 1`` runs the points in this process), and every worker starts with
    :func:`~linpc.numerics.threads.configure_worker`, so processes never oversubscribe the cores.
    Workers ignore Ctrl-C; on an interrupt the parent stops them and re-raises
    :class:`KeyboardInterrupt`, keeping every point finished so far.

Example
-------
>>> from linpc.reproduce.sweeps import Grid, run_sweep
>>> def square(point, rng):
...     return {"y": point["x"] ** 2, "noise": rng.standard_normal()}
>>> res = run_sweep("demo", square, Grid.product({"x": [1, 2, 3]}), progress=False)
>>> res.array("y").tolist()
[1.0, 4.0, 9.0]
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from linpc._version import __version__
from linpc.numerics.progress import progress_bar
from linpc.numerics.threads import configure_worker, plan_processes
from linpc.reproduce.records import CacheWarning, RecordError, check_sweep_meta

__all__ = [
    "CACHE_SCHEMA", "Grid", "SweepCacheWarning", "SweepResult", "cache_key", "canonical_json",
    "point_seed_sequence", "run_sweep",
]

#: Version of the on-disk format; part of every cache key.
CACHE_SCHEMA = 1
PointFunction = Callable[[dict, np.random.Generator], Mapping[str, Any]]
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_RESERVED = ("__meta__", "__checksum__")


class SweepCacheWarning(CacheWarning):
    """A cache entry was unreadable or inconsistent and is being recomputed."""


# --------------------------------------------------------------------------------------- points
def _canonical_value(v: Any, where: str) -> Any:
    if isinstance(v, bool | np.bool_):
        return bool(v)
    if isinstance(v, int | np.integer):
        return int(v)
    if isinstance(v, float | np.floating):
        f = float(v)
        if not np.isfinite(f):
            raise ValueError(f"{where} is not finite ({f}); sweep points must be finite")
        return f
    if isinstance(v, str) or v is None:
        return v
    if isinstance(v, list | tuple):
        return [_canonical_value(u, f"{where}[{i}]") for i, u in enumerate(v)]
    raise TypeError(
        f"{where} has type {type(v).__name__}; sweep points hold only JSON scalars (int, float, "
        "str, bool, None) and lists of them"
    )


def _canonical_point(point: Mapping[str, Any]) -> dict:
    if not isinstance(point, Mapping):
        raise TypeError(f"a sweep point must be a dict, got {type(point).__name__}")
    out = {}
    for k, v in point.items():
        if not isinstance(k, str):
            raise TypeError(f"sweep point keys must be strings, got {k!r}")
        out[k] = _canonical_value(v, f"point[{k!r}]")
    return out


def canonical_json(obj: Any) -> str:
    """Canonical JSON: sorted keys, no whitespace, no NaN; the input of every hash here."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False,
                      ensure_ascii=True)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def point_seed_sequence(name: str, point: Mapping[str, Any],
                        seed: int = 0) -> np.random.SeedSequence:
    """The seed sequence of one point: ``SeedSequence([seed, w_1, w_2, w_3, w_4])``.

    ``w_i`` are the first four 32-bit words of ``sha256(canonical_json([name, point]))``. It depends
    on the sweep name, the point's content and the base seed only.
    """
    digest = _sha256(canonical_json([name, _canonical_point(point)]))
    words = [int(digest[8 * i: 8 * i + 8], 16) for i in range(4)]
    return np.random.SeedSequence([int(seed), *words])


def cache_key(name: str, point: Mapping[str, Any], *, seed: int = 0, version: str = "1") -> str:
    """sha256 of the canonical JSON of ``{schema, linpc version, sweep, version, seed, point}``."""

    return _sha256(canonical_json(_key_fields(name, _canonical_point(point), seed, version,
                                              __version__)))


def _key_fields(name: str, point: dict, seed: int, version: str, linpc_version: str) -> dict:
    return {"schema": CACHE_SCHEMA, "linpc": linpc_version, "sweep": name,
            "version": str(version), "seed": int(seed), "point": point}


@dataclass(frozen=True)
class Grid:
    """An ordered Cartesian grid of points, optionally filtered, with fixed extra parameters.

    Attributes
    ----------
    axes : tuple of (name, values)
        Axis names and their values, in order (the first axis varies slowest).
    fixed : tuple of (name, value)
        Parameters added to every point (part of each point's identity and cache key).
    where : callable, optional
        ``where(point) -> bool`` keeps only some points (e.g. the deepest column only at small
        widths); skipped points are ``fill`` values in :meth:`SweepResult.array`.
    """

    axes: tuple[tuple[str, tuple], ...]
    fixed: tuple[tuple[str, Any], ...] = ()
    where: Callable[[dict], bool] | None = field(default=None, compare=False)

    @classmethod
    def product(cls, axes: Mapping[str, Iterable], *, fixed: Mapping[str, Any] | None = None,
                where: Callable[[dict], bool] | None = None) -> Grid:
        """``Grid.product({"H": [1, 2], "N": [4, 16]}, fixed={"d_y": 10})``."""
        ax = []
        for k, vals in axes.items():
            vs = tuple(_canonical_value(v, f"axis {k!r}") for v in vals)
            if not vs:
                raise ValueError(f"axis {k!r} has no values")
            if len({canonical_json(v) for v in vs}) != len(vs):
                raise ValueError(f"axis {k!r} has repeated values: {list(vs)}")
            ax.append((str(k), vs))
        fx = tuple((str(k), _canonical_value(v, f"fixed[{k!r}]"))
                   for k, v in (fixed or {}).items())
        clash = {k for k, _ in fx} & {k for k, _ in ax}
        if clash:
            raise ValueError(f"parameters {sorted(clash)} are both an axis and fixed")
        return cls(tuple(ax), fx, where)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(k for k, _ in self.axes)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(v) for _, v in self.axes)

    def values(self, axis: str) -> tuple:
        """The values of one axis."""
        for k, v in self.axes:
            if k == axis:
                return v
        raise KeyError(f"no axis {axis!r}; axes are {list(self.names)}")

    def all_points(self) -> list[tuple[tuple[int, ...], dict]]:
        """``(index, point)`` for every grid cell, filtered by ``where``."""
        out = []
        for idx in product(*(range(len(v)) for _, v in self.axes)):
            p = {k: v[i] for (k, v), i in zip(self.axes, idx, strict=True)}
            p.update(dict(self.fixed))
            if self.where is None or self.where(dict(p)):
                out.append((idx, p))
        return out

    def points(self) -> list[dict]:
        """The points, in grid order (first axis slowest)."""
        return [p for _, p in self.all_points()]


# --------------------------------------------------------------------------------------- results
def _normalise_result(res: Mapping[str, Any], where: str) -> dict[str, NDArray]:
    if not isinstance(res, Mapping):
        raise TypeError(f"{where} returned {type(res).__name__}; a point function returns a dict")
    out = {}
    for k, v in res.items():
        if not isinstance(k, str) or not k.isidentifier() or k in _RESERVED:
            raise ValueError(f"{where}: result name {k!r} must be an identifier other than "
                             f"{_RESERVED}")
        a = np.asarray(v)
        if a.dtype.kind == "f":
            a = a.astype(np.float64, copy=False)
        elif a.dtype.kind not in "biuU":
            raise TypeError(f"{where}: result {k!r} has dtype {a.dtype}; only bool, integer, "
                            "float and str arrays can be cached without pickling")
        out[k] = np.array(a, order="C", copy=True)
    return out


def _checksum(arrays: Mapping[str, NDArray]) -> str:
    h = hashlib.sha256()
    for k in sorted(arrays):
        a = np.asarray(arrays[k], order="C")
        h.update(k.encode())
        h.update(str(a.dtype.str).encode())
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _write_atomic(path: Path, arrays: Mapping[str, NDArray], meta: dict) -> None:
    """Write ``arrays``, metadata and checksum to ``path``: temporary file, then ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = dict(arrays)
    payload["__meta__"] = np.array(canonical_json(meta))
    payload["__checksum__"] = np.array(_checksum(arrays))
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez_compressed(fh, **payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _read_entry(path: Path, key_fields: dict) -> tuple[dict[str, NDArray] | None, str | None]:
    """Load a cache file; ``(arrays, None)`` if valid, ``(None, reason)`` if corrupt or foreign."""
    try:
        with np.load(path, allow_pickle=False) as f:
            data = {k: f[k] for k in f.files}
    except Exception as exc:  # truncated zip, bad CRC, not a zip, pickled content, ...
        return None, f"unreadable ({type(exc).__name__}: {exc})"
    if "__meta__" not in data or "__checksum__" not in data:
        return None, "no metadata or checksum"
    raw_meta, stored = data.pop("__meta__"), data.pop("__checksum__")
    if raw_meta.shape != () or raw_meta.dtype.kind != "U" or stored.shape != () \
            or stored.dtype.kind != "U":
        return None, "metadata or checksum is not a single string"
    try:
        meta = json.loads(str(raw_meta))
        check_sweep_meta(meta)
    except (ValueError, RecursionError) as exc:   # RecordError is a ValueError
        what = "malformed" if isinstance(exc, RecordError) else "not JSON"
        return None, f"metadata {what} ({exc})"
    for k, a in data.items():
        if not k.isidentifier() or a.dtype.kind not in "biufU":
            return None, f"array {k!r} of dtype {a.dtype} is not a cacheable result"
    if str(stored) != _checksum(data):
        return None, "checksum mismatch"
    for k, v in key_fields.items():
        if meta.get(k) != v:
            return None, f"metadata field {k!r} is {meta.get(k)!r}, expected {v!r}"
    return data, None


def _init_worker(threads: int) -> None:
    """Initialise a sweep worker: thread policy (:func:`~linpc.numerics.threads.configure_worker`)
    and Ctrl-C ignored (the parent handles the interrupt and stops the workers)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    configure_worker(threads)


def _stop_workers(executor: ProcessPoolExecutor) -> None:
    """Terminate the worker processes of ``executor`` (after Ctrl-C: do not wait for points)."""
    for proc in list((getattr(executor, "_processes", None) or {}).values()):
        try:
            proc.terminate()
        except (OSError, ValueError, AttributeError):  # already gone
            pass


def _compute(function: PointFunction, name: str, point: dict, seed: int,
             path: str | None, key_fields: dict) -> tuple[dict[str, NDArray], float]:
    """Run one point (in this or a worker process) and write its cache file."""
    ss = point_seed_sequence(name, point, seed)
    rng = np.random.default_rng(ss)
    t0 = time.perf_counter()
    res = _normalise_result(function(dict(point), rng), f"point function of sweep {name!r}")
    seconds = time.perf_counter() - t0
    if path is not None:
        meta = dict(key_fields)
        meta["seed_entropy"] = [int(e) for e in ss.entropy]
        meta["seconds"] = seconds
        _write_atomic(Path(path), res, meta)
    return res, seconds


@dataclass
class SweepResult:
    """The results of a sweep, point by point and assembled over the grid.

    Attributes
    ----------
    name : str
    points : list of dict
        Points in grid order.
    results : list of dict
        ``results[i]`` is the dict of arrays for ``points[i]``.
    grid : Grid or None
        The grid, when the sweep was given one (needed by :meth:`array`).
    indices : list of tuple
        Grid index of each point.
    computed, loaded : int
        How many points were computed in this call and how many came from the cache.
    seconds : float
        Wall time of the call.
    """

    name: str
    points: list[dict]
    results: list[dict[str, NDArray]]
    grid: Grid | None
    indices: list[tuple[int, ...]]
    computed: int
    loaded: int
    seconds: float

    def __len__(self) -> int:
        return len(self.points)

    def lookup(self, **params) -> dict[str, NDArray]:
        """The result of the unique point whose parameters include ``params``."""
        hits = [r for p, r in zip(self.points, self.results, strict=True)
                if all(p.get(k) == v for k, v in params.items())]
        if len(hits) != 1:
            raise KeyError(f"{len(hits)} points match {params}")
        return hits[0]

    def values(self, key: str) -> list[NDArray]:
        """``key`` for every point, in grid order."""
        try:
            return [r[key] for r in self.results]
        except KeyError:
            raise KeyError(f"no result named {key!r}; results have "
                           f"{sorted(self.results[0]) if self.results else []}") from None

    def array(self, key: str, *, fill: float = np.nan) -> NDArray:
        """``key`` assembled over the grid: shape ``grid.shape + value shape``.

        Cells removed by ``Grid.where`` hold ``fill``. All values must have the same shape.
        """
        if self.grid is None:
            raise ValueError("array() needs a Grid; this sweep ran on a list of points")
        vals = self.values(key)
        shapes = {v.shape for v in vals}
        if len(shapes) > 1:
            raise ValueError(f"result {key!r} has different shapes across points {sorted(shapes)}; "
                             "use values()")
        vshape = shapes.pop() if shapes else ()
        dtype = np.result_type(*(v.dtype for v in vals), np.float64) if vals else np.float64
        out = np.full(self.grid.shape + vshape, fill, dtype=dtype)
        for idx, v in zip(self.indices, vals, strict=True):
            out[idx] = v
        return out

    def reduce(self, key: str, axis: str, func: Callable = np.nanmedian) -> NDArray:
        """Reduce :meth:`array` over one named axis (default: NaN-aware median, e.g. over seeds)."""
        ax = self.grid.names.index(axis) if self.grid is not None else None
        if ax is None:
            raise ValueError("reduce() needs a Grid")
        arr = self.array(key)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices of skipped cells
            return func(arr, axis=ax)


# --------------------------------------------------------------------------------------- runner
def run_sweep(
    name: str,
    function: PointFunction,
    points: Grid | Sequence[Mapping[str, Any]],
    *,
    seed: int = 0,
    cache_dir: str | os.PathLike | None = None,
    version: str = "1",
    jobs: int = 1,
    progress: bool = True,
    recompute: bool = False,
) -> SweepResult:
    """Evaluate ``function(point, rng)`` at every point, with caching and resume.

    Parameters
    ----------
    name : str
        Sweep name (letters, digits, ``_.-``): a folder of the cache and part of every seed.
    function : callable
        ``function(point: dict, rng: numpy.random.Generator) -> dict`` of arrays/scalars (bool,
        int, float or str). Must be deterministic given ``(point, rng)``; module-level if
        ``jobs > 1``.
    points : Grid or sequence of dict
        The points; a :class:`Grid` also lets :meth:`SweepResult.array` assemble arrays.
    seed : int
        Base seed, combined with each point's hash (:func:`point_seed_sequence`).
    cache_dir : path, optional
        Cache folder; ``None`` computes everything in memory.
    version : str
        Version of the point function (part of the cache key): bump it when its code changes.
    jobs : int
        Worker processes requested for the points not in the cache; the thread policy may run
        fewer (:func:`linpc.numerics.threads.plan_processes`).
    progress : bool
        Show a progress bar (:func:`linpc.numerics.progress.progress_bar`).
    recompute : bool
        Ignore (and overwrite) existing cache entries.

    Returns
    -------
    SweepResult

    Raises
    ------
    Exception
        Whatever the point function raises; points finished before it are already cached.
    """

    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(f"sweep name {name!r} must match {_NAME_RE.pattern}")
    if isinstance(jobs, bool) or not isinstance(jobs, int | np.integer) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    jobs = int(jobs)
    t_start = time.perf_counter()
    if isinstance(points, Grid):
        grid = points
        cells = grid.all_points()
        indices = [idx for idx, _ in cells]
        pts = [_canonical_point(p) for _, p in cells]
    else:
        grid = None
        pts = [_canonical_point(p) for p in points]
        indices = [(i,) for i in range(len(pts))]
    seen: dict[str, int] = {}
    for i, p in enumerate(pts):
        c = canonical_json(p)
        if c in seen:
            raise ValueError(f"point {p} appears twice (positions {seen[c]} and {i})")
        seen[c] = i

    folder = None if cache_dir is None else Path(cache_dir) / name
    results: list[dict[str, NDArray] | None] = [None] * len(pts)
    tasks: list[tuple[int, str | None, dict]] = []
    loaded = 0
    with progress_bar(total=len(pts), desc=f"sweep {name}", enabled=progress) as bar:
        for i, p in enumerate(pts):
            kf = _key_fields(name, p, seed, version, __version__)
            path = None
            if folder is not None:
                path = folder / f"{_sha256(canonical_json(kf))}.npz"
                if path.exists() and not recompute:
                    data, reason = _read_entry(path, kf)
                    if data is not None:
                        results[i] = data
                        loaded += 1
                        bar.update(1)
                        continue
                    warnings.warn(f"sweep {name!r}: cache entry {path} for point {p} is "
                                  f"{reason}; recomputing it", SweepCacheWarning, stacklevel=2)
            tasks.append((i, None if path is None else str(path), kf))

        processes, threads = (1, 1)
        if jobs > 1 and len(tasks) > 1:
            processes, threads = plan_processes(jobs)     # within linpc's thread budget
            processes = min(processes, len(tasks))
        if processes == 1:
            for i, path, kf in tasks:
                results[i], _ = _compute(function, name, pts[i], seed, path, kf)
                bar.update(1)
        else:
            with ProcessPoolExecutor(max_workers=processes, initializer=_init_worker,
                                     initargs=(threads,)) as ex:
                futs = {ex.submit(_compute, function, name, pts[i], seed, path, kf): i
                        for i, path, kf in tasks}
                pending = set(futs)
                try:
                    while pending:
                        done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                        for f in done:
                            results[futs[f]], _ = f.result()   # re-raises a worker's error
                            bar.update(1)
                except BaseException as exc:
                    for f in pending:
                        f.cancel()
                    if isinstance(exc, KeyboardInterrupt):
                        _stop_workers(ex)
                    ex.shutdown(wait=True, cancel_futures=True)
                    raise
    return SweepResult(name, pts, results, grid, indices,  # type: ignore[arg-type]
                       computed=len(tasks), loaded=loaded,
                       seconds=time.perf_counter() - t_start)
