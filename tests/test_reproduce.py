"""``linpc reproduce``: every figure in quick mode, resume after interruption, corrupt caches.

The figure test runs each ``figures/*.py`` script in quick mode into a temporary folder and
requires its files and passing checks. The resume tests use a small counting figure in a
temporary checkout: its sweep logs every point it computes, so the tests can see exactly what a
rerun recomputes.
"""

from __future__ import annotations

import textwrap
import warnings
from pathlib import Path

import pytest

from linpc.reproduce import (
    FigureContext,
    SweepCacheWarning,
    discover_figures,
    load_figure,
    run_figure,
    run_reproduce,
    source_checkout,
)

ROOT = source_checkout()
FIGURES = discover_figures(ROOT) if ROOT is not None else []


@pytest.mark.slow
@pytest.mark.parametrize("path", FIGURES, ids=[p.stem for p in FIGURES])
def test_figure_quick_mode_writes_files_and_passes_its_checks(path, tmp_path):
    """Each figure script, in quick mode: PDF and PNG written, at least one check, all pass."""
    spec, make = load_figure(path)
    assert spec.name == path.stem, "SPEC.name must equal the script's file name"
    ctx = FigureContext(tmp_path / "figures", quick=True, cache_dir=tmp_path / "cache",
                        progress=False)
    res = run_figure(spec, make, ctx)
    assert res.error is None, res.error
    assert res.checks, "a figure must return at least one check"
    failed = [c for c in res.checks if not c.passed]
    assert not failed, [(c.name, c.value, c.tolerance) for c in failed]
    suffixes = {Path(f).suffix for f in res.files}
    assert {".pdf", ".png"} <= suffixes
    assert all(Path(f).stat().st_size > 0 for f in res.files)


COUNTING_FIGURE = textwrap.dedent('''
    """A test figure whose sweep logs every point it computes."""
    import os
    from pathlib import Path

    import numpy as np

    from linpc.reproduce import Check, FigureSpec
    from linpc.reproduce import Grid

    SPEC = FigureSpec(name="counting", title="counting", source="test", check="sum")
    LOG = Path(os.environ["LINPC_TEST_LOG"])
    FAIL = Path(os.environ["LINPC_TEST_FAIL"])


    def point(p, rng):
        if FAIL.exists() and p["i"] == 3:
            raise RuntimeError("interrupted at point 3")
        with open(LOG, "a") as fh:
            fh.write(f"{p['i']}\\n")
        return {"value": float(p["i"] ** 2) + 0 * rng.standard_normal()}


    def make(ctx):
        from linpc.reproduce.plotting import new_figure

        res = ctx.sweep("counting", point, Grid.product({"i": list(range(6))}))
        total = float(np.sum(res.array("value")))
        fig, axes = new_figure()
        axes[0][0].plot(res.array("value"))
        ctx.save(fig)
        return [Check("sum of squares 0..5", abs(total - 55.0), 0.0, "exact")]
''')


@pytest.fixture
def checkout(tmp_path, monkeypatch):
    root = tmp_path / "repo"
    (root / "figures").mkdir(parents=True)
    (root / "figures" / "counting.py").write_text(COUNTING_FIGURE)
    log, fail = tmp_path / "log.txt", tmp_path / "fail"
    monkeypatch.setenv("LINPC_TEST_LOG", str(log))
    monkeypatch.setenv("LINPC_TEST_FAIL", str(fail))
    return root, log, fail


def _computed(log: Path) -> list[int]:
    return [int(s) for s in log.read_text().split()] if log.exists() else []


def test_interrupted_run_resumes_without_recomputing(checkout, tmp_path):
    """Interrupt at point 3, rerun: points 0–2 come from the cache, 3–5 are computed once; a
    third run reuses the finished figure and computes nothing."""
    root, log, fail = checkout
    out = tmp_path / "out"
    fail.touch()
    s1 = run_reproduce(out, quick=True, only=["counting"], root=root, progress=False,
                       log=lambda *a: None)
    assert not s1.passed and "interrupted at point 3" in s1.figures[0].error
    assert _computed(log) == [0, 1, 2]
    fail.unlink()
    s2 = run_reproduce(out, quick=True, only=["counting"], root=root, progress=False,
                       log=lambda *a: None)
    assert s2.passed
    assert _computed(log) == [0, 1, 2, 3, 4, 5]
    s3 = run_reproduce(out, quick=True, only=["counting"], root=root, progress=False,
                       log=lambda *a: None)
    assert s3.passed and "counting" in s3.reused_figures
    assert _computed(log) == [0, 1, 2, 3, 4, 5]
    assert (out / "report.html").read_text().count("PASS") >= 2


def test_corrupt_cache_entry_is_detected_and_recomputed(checkout, tmp_path):
    """A truncated cache file is detected (warning), recomputed, and only that point."""
    root, log, _ = checkout
    out = tmp_path / "out"
    run_reproduce(out, quick=True, only=["counting"], root=root, progress=False,
                  log=lambda *a: None)
    entries = sorted((out / "cache").rglob("*.npz"))
    assert len(entries) == 6
    victim = entries[2]
    victim.write_bytes(victim.read_bytes()[:40])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s = run_reproduce(out, quick=True, only=["counting"], root=root, progress=False,
                          force=True, log=lambda *a: None)
    assert s.passed
    assert any(issubclass(w.category, SweepCacheWarning) for w in caught)
    assert len(_computed(log)) == 7          # six on the first run, one recomputation


def test_corrupt_figure_record_is_recomputed(checkout, tmp_path):
    """A finished figure whose JSON record is damaged is run again, not trusted."""
    root, log, _ = checkout
    out = tmp_path / "out"
    run_reproduce(out, quick=True, only=["counting"], root=root, progress=False,
                  log=lambda *a: None)
    record = out / "state" / "figures" / "counting-quick.json"
    record.write_text("{ not json")
    s = run_reproduce(out, quick=True, only=["counting"], root=root, progress=False,
                      log=lambda *a: None)
    assert s.passed and "counting" not in s.reused_figures
    assert len(_computed(log)) == 6          # the sweep cache still served every point
