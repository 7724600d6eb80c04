"""Integrity of what ``linpc reproduce`` reuses: records, sweep points, figure files, the report.

Every record read back from a results folder — stage records, figure records, sweep point
records — is checked against its schema: a well-formed JSON document of the wrong structure is
corrupt, recomputed, and reported by a :class:`CacheWarning` naming the file. Figure files are
checked before a figure counts as reused (a garbage PNG or an empty PDF is recomputed). Records
hold paths relative to the results folder, so a moved folder is reused with valid links; a run of
some entries (``only``) keeps the others in the report.

The figures here are small test figures in a temporary checkout whose sweeps log every point they
compute, and the proofs and verify stages are replaced by counting stand-ins, so each test runs
in about a second and sees exactly what a rerun recomputes.
"""

from __future__ import annotations

import json
import re
import shutil
import textwrap
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest

import linpc.reproduce.runner as runner
from linpc.reproduce.records import (
    CacheWarning,
    RecordError,
    check_figure_file,
    check_figure_record,
    check_pdf,
    check_png,
    check_stage_record,
    check_sweep_meta,
    record_path,
    resolve_record_path,
)
from linpc.reproduce.report import StageResult
from linpc.reproduce.sweeps import Grid, SweepCacheWarning, cache_key, run_sweep

FIGURE = textwrap.dedent('''
    """A test figure whose sweep logs every point it computes."""
    import os
    from pathlib import Path

    import numpy as np

    from linpc.reproduce import Check, FigureSpec, Grid

    SPEC = FigureSpec(name="NAME", title="NAME", source="test", check="sum")
    LOG = Path(os.environ["LINPC_TEST_LOG"])


    def point(p, rng):
        with open(LOG, "a") as fh:
            fh.write(f"NAME {p['i']}\\n")
        return {"value": float(p["i"] ** 2) + 0 * rng.standard_normal()}


    def make(ctx):
        from linpc.reproduce.plotting import new_figure

        res = ctx.sweep("NAME", point, Grid.product({"i": list(range(4))}))
        total = float(np.sum(res.array("value")))
        fig, axes = new_figure(width=2.0, height=1.5)
        axes[0][0].plot(res.array("value"))
        ctx.save(fig)
        return [Check("sum of squares 0..3", abs(total - 14.0), 0.0, "exact")]
''')

VERIFY_ROW = {"key": "2.5.1", "title": "F* identity", "source": "P1 Thm 1", "rule": "solve",
              "cases": 3, "checks": 9, "passed": True, "worst_error": 1e-15,
              "tolerance": 1e-12, "worst_case": "H=2", "errors": []}
PROOF_ROW = {"script": "golden_ratio", "status": "PASS", "statements": 4, "passed": 4,
             "failed": 0, "seconds": 0.5, "defects": []}


@pytest.fixture
def checkout(tmp_path, monkeypatch):
    """A checkout with figures ``alpha`` and ``beta``; counting stand-ins for the two stages.

    Returns ``(root, calls)``: ``calls()`` lists what was computed so far (sweep points as
    ``"alpha 2"``, stages as ``"verify"``/``"proofs"``).
    """
    root = tmp_path / "repo"
    (root / "figures").mkdir(parents=True)
    for name in ("alpha", "beta"):
        (root / "figures" / f"{name}.py").write_text(FIGURE.replace("NAME", name))
    log = tmp_path / "log.txt"
    monkeypatch.setenv("LINPC_TEST_LOG", str(log))

    def fake_verify(quick, seed, progress):
        with open(log, "a") as fh:
            fh.write("verify\n")
        return StageResult("verify", True, 0.1, [dict(VERIFY_ROW)])

    def fake_proofs(root_):
        with open(log, "a") as fh:
            fh.write("proofs\n")
        return StageResult("proofs", True, 0.2, [dict(PROOF_ROW)])

    monkeypatch.setattr(runner, "_run_verify", fake_verify)
    monkeypatch.setattr(runner, "_run_proofs", fake_proofs)

    def calls() -> list[str]:
        return log.read_text().splitlines() if log.exists() else []

    return root, calls


def _run(root, out, **kw):
    kw.setdefault("quick", True)
    return runner.run_reproduce(out, root=root, progress=False, log=lambda *a: None, **kw)


def _warned(caught, path: Path) -> bool:
    """A CacheWarning among ``caught`` names ``path``."""
    return any(issubclass(w.category, CacheWarning) and str(path) in str(w.message)
               for w in caught)


def _rerun_with_warnings(root, out, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summary = _run(root, out, **kw)
    return summary, caught


# ---------------------------------------------------------------------- stage records
def _wrong_stage_structures(stage: str) -> dict[str, object]:
    row = VERIFY_ROW if stage == "verify" else PROOF_ROW
    good = {"mode": "quick", "version": runner.__version__, "passed": True, "seconds": 0.1,
            "rows": [dict(row)]}
    first_key = next(iter(row))
    return {
        "a list": [good],
        "a number": 3,
        "no rows": {k: v for k, v in good.items() if k != "rows"},
        "rows not a list": {**good, "rows": {"0": row}},
        "a row without its key": {**good, "rows": [{k: v for k, v in row.items()
                                                    if k != first_key}]},
        "a row of the wrong type": {**good, "rows": [[1, 2, 3]]},
        "passed as a string": {**good, "passed": "yes"},
        "seconds negative": {**good, "seconds": -1.0},
        "an unknown mode": {**good, "mode": "fast"},
    }


@pytest.mark.parametrize("stage", ["verify", "proofs"])
def test_wrong_structure_stage_record_is_recomputed_with_a_warning(checkout, tmp_path, stage):
    """A stage record that is valid JSON of the wrong structure is recomputed, with a
    CacheWarning naming the file, for each kind of damage; a sound record is reused."""
    root, calls = checkout
    out = tmp_path / "out"
    _run(root, out, only=[stage])
    assert calls() == [stage]
    record = out / "state" / f"{stage}-quick.json"
    _run(root, out, only=[stage])
    assert calls() == [stage], "a sound stage record must be reused"
    for i, (what, bad) in enumerate(_wrong_stage_structures(stage).items()):
        record.write_text(json.dumps(bad))
        summary, caught = _rerun_with_warnings(root, out, only=[stage])
        assert _warned(caught, record), what
        assert calls() == [stage] * (i + 2), what
        assert summary.passed and summary.stages[stage].rows[0] == (
            VERIFY_ROW if stage == "verify" else PROOF_ROW)
        check_stage_record(json.loads(record.read_text()), stage)   # repaired


# ---------------------------------------------------------------------- figure records
def _wrong_figure_structures(good: dict) -> dict[str, object]:
    res = good["result"]
    return {
        "a list": [good],
        "no result": {k: v for k, v in good.items() if k != "result"},
        "result a string": {**good, "result": "done"},
        "checks an object": {**good, "result": {**res, "checks": {"a": 1}}},
        "a check value as text": {**good, "result": {**res, "checks": [
            {**res["checks"][0], "value": "0.0"}]}},
        "a check without tolerance": {**good, "result": {**res, "checks": [
            {k: v for k, v in res["checks"][0].items() if k != "tolerance"}]}},
        "spec without name": {**good, "result": {**res, "spec": {
            k: v for k, v in res["spec"].items() if k != "name"}}},
        "spec of another figure": {**good, "result": {**res, "spec": {
            **res["spec"], "name": "beta"}}},
        "files not a list": {**good, "result": {**res, "files": "figures/alpha.png"}},
        "a file outside the folder": {**good, "result": {**res, "files": [
            "../elsewhere/alpha.png"]}},
        "seconds as text": {**good, "result": {**res, "seconds": "1.0"}},
        "no version": {k: v for k, v in good.items() if k != "version"},
    }


def test_wrong_structure_figure_record_is_recomputed_with_a_warning(checkout, tmp_path):
    """A figure record of the wrong structure is run again (its sweep points still come from the
    cache) with a CacheWarning naming the record, for each kind of damage."""
    root, calls = checkout
    out = tmp_path / "out"
    _run(root, out, only=["alpha"])
    record = out / "state" / "figures" / "alpha-quick.json"
    good = json.loads(record.read_text())
    check_figure_record(good, "alpha")
    s = _run(root, out, only=["alpha"])
    assert "alpha" in s.reused_figures
    n_points = len(calls())
    for what, bad in _wrong_figure_structures(good).items():
        record.write_text(json.dumps(bad))
        s, caught = _rerun_with_warnings(root, out, only=["alpha"])
        assert _warned(caught, record), what
        assert s.passed and "alpha" not in s.reused_figures, what
        assert len(calls()) == n_points, what         # the sweep cache served every point
        check_figure_record(json.loads(record.read_text()), "alpha")


def test_extra_fields_in_a_record_are_tolerated(checkout, tmp_path):
    """Fields a record may gain in later versions do not make it corrupt (the check is not
    vacuous the other way round)."""
    root, _ = checkout
    out = tmp_path / "out"
    _run(root, out, only=["alpha"])
    record = out / "state" / "figures" / "alpha-quick.json"
    rec = json.loads(record.read_text())
    rec["note"] = "added later"
    rec["result"]["spec"]["extra"] = 1
    record.write_text(json.dumps(rec))
    s, caught = _rerun_with_warnings(root, out, only=["alpha"])
    assert "alpha" in s.reused_figures
    assert not [w for w in caught if issubclass(w.category, CacheWarning)]


# ---------------------------------------------------------------------- sweep point records
def counted_square(point, rng):
    counted_square.calls += 1
    return {"y": float(point["x"] ** 2), "noise": rng.standard_normal(2)}


counted_square.calls = 0


def _rewrite_npz(path: Path, **changes) -> None:
    with np.load(path, allow_pickle=False) as f:
        data = {k: f[k] for k in f.files}
    data.update(changes)
    np.savez_compressed(path, **data)


def _meta(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as f:
        return json.loads(str(f["__meta__"]))


def _wrong_sweep_entries(meta: dict) -> dict[str, dict]:
    def with_meta(m) -> dict:
        return {"__meta__": np.array(json.dumps(m))}

    return {
        "metadata a list": with_meta([meta]),
        "metadata a number": with_meta(5),
        "metadata without seconds": with_meta({k: v for k, v in meta.items() if k != "seconds"}),
        "metadata seed as text": with_meta({**meta, "seed": "0"}),
        "metadata seed entropy not a list": with_meta({**meta, "seed_entropy": 7}),
        "metadata point a list": with_meta({**meta, "point": [meta["point"]]}),
        "metadata an integer array": {"__meta__": np.arange(3)},
        "checksum an array of strings": {"__checksum__": np.array(["a", "b"])},
    }


def test_wrong_structure_sweep_point_is_recomputed_with_a_warning(tmp_path):
    """A sweep point whose metadata are valid JSON of the wrong structure (or whose metadata or
    checksum are not single strings) is recomputed, with a SweepCacheWarning naming the file."""
    g = Grid.product({"x": [1, 2, 3]})
    first = run_sweep("pts", counted_square, g, cache_dir=tmp_path, progress=False)
    target = tmp_path / "pts" / f"{cache_key('pts', {'x': 2})}.npz"
    meta = _meta(target)
    check_sweep_meta(meta)
    for what, change in _wrong_sweep_entries(meta).items():
        _rewrite_npz(target, **change)
        before = counted_square.calls
        with pytest.warns(SweepCacheWarning, match=re.escape(str(target))):
            res = run_sweep("pts", counted_square, g, cache_dir=tmp_path, progress=False)
        assert counted_square.calls == before + 1 and res.loaded == 2, what
        assert np.array_equal(res.lookup(x=2)["noise"], first.lookup(x=2)["noise"]), what
    assert issubclass(SweepCacheWarning, CacheWarning)


def test_sweep_point_with_a_foreign_array_kind_is_recomputed(tmp_path):
    """An array of a kind a point function cannot return (complex), with a matching checksum,
    is not trusted."""
    import linpc.reproduce.sweeps as sw

    g = Grid.product({"x": [4]})
    run_sweep("kind", counted_square, g, cache_dir=tmp_path, progress=False)
    (target,) = (tmp_path / "kind").glob("*.npz")
    with np.load(target, allow_pickle=False) as f:
        data = {k: f[k] for k in f.files if not k.startswith("__")}
    data["y"] = np.array(16 + 0j)
    _rewrite_npz(target, y=data["y"], __checksum__=np.array(sw._checksum(data)))
    with pytest.warns(SweepCacheWarning, match="not a cacheable result"):
        res = run_sweep("kind", counted_square, g, cache_dir=tmp_path, progress=False)
    assert res.computed == 1 and res.lookup(x=4)["y"] == 16.0


# ---------------------------------------------------------------------- figure files
def test_figure_file_checks_accept_real_files_and_reject_damage(checkout, tmp_path):
    """The PNG and PDF that matplotlib writes pass; garbage, truncation, a bad CRC, IDAT data
    that do not decode to the image size, data after IEND, and PDFs that are empty, truncated or
    headless fail."""
    root, _ = checkout
    out = tmp_path / "out"
    _run(root, out, only=["alpha"])
    png, pdf = out / "figures" / "alpha.png", out / "figures" / "alpha.pdf"
    assert check_png(png) is None and check_pdf(pdf) is None
    raw_png, raw_pdf = png.read_bytes(), pdf.read_bytes()
    bad = tmp_path / "bad.png"

    def png_reason(data: bytes) -> str | None:
        bad.write_bytes(data)
        return check_figure_file(bad)

    assert png_reason(b"garbage" * 100) == "no PNG signature"
    assert "truncated" in png_reason(raw_png[: len(raw_png) // 2])
    assert png_reason(raw_png[:-12]) == "no IEND chunk"
    assert "after IEND" in png_reason(raw_png + b"xx")
    flipped = bytearray(raw_png)
    flipped[40] ^= 0xFF                                   # inside IHDR or the next chunk
    assert "CRC" in png_reason(bytes(flipped))
    # an IDAT chunk with a valid CRC whose data decompress to the wrong size
    sig, ihdr_end = 8, 8 + 12 + 13
    body = zlib.compress(b"\x00" * 10)
    idat = len(body).to_bytes(4, "big") + b"IDAT" + body + \
        zlib.crc32(b"IDAT" + body).to_bytes(4, "big")
    iend = (0).to_bytes(4, "big") + b"IEND" + zlib.crc32(b"IEND").to_bytes(4, "big")
    assert "IDAT decompresses" in png_reason(raw_png[:sig] + raw_png[sig:ihdr_end] + idat + iend)
    bad_pdf = tmp_path / "bad.pdf"
    for data, reason in [(b"", "bytes"), (raw_pdf[: len(raw_pdf) // 2], "%%EOF"),
                         (b"junk!" + raw_pdf[5:], "%PDF-")]:
        bad_pdf.write_bytes(data)
        assert reason in check_figure_file(bad_pdf)
    assert check_figure_file(tmp_path / "missing.png") == "missing"


@pytest.mark.parametrize("damage", ["garbage png", "empty pdf", "missing png"])
def test_damaged_figure_file_is_recomputed(checkout, tmp_path, damage):
    """A figure whose PNG was overwritten with garbage, whose PDF was truncated to 0 bytes or
    whose PNG is gone is not reused: it is run again (warning naming the file), files repaired."""
    root, calls = checkout
    out = tmp_path / "out"
    _run(root, out, only=["alpha"])
    png, pdf = out / "figures" / "alpha.png", out / "figures" / "alpha.pdf"
    victim = pdf if "pdf" in damage else png
    if damage == "garbage png":
        png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 500)
    elif damage == "empty pdf":
        pdf.write_bytes(b"")
    else:
        png.unlink()
    n_points = len(calls())
    s, caught = _rerun_with_warnings(root, out, only=["alpha"])
    assert _warned(caught, victim)
    assert s.passed and "alpha" not in s.reused_figures
    assert check_png(png) is None and check_pdf(pdf) is None
    assert len(calls()) == n_points
    s = _run(root, out, only=["alpha"])
    assert "alpha" in s.reused_figures


# ---------------------------------------------------------------------- portable folders
def _links(report: Path) -> list[str]:
    return re.findall(r"(?:src|href)='([^'#][^']*)'", report.read_text(encoding="utf-8"))


def test_moved_results_folder_is_reused_with_valid_links(checkout, tmp_path, monkeypatch):
    """Records hold paths relative to the results folder: run with a relative ``out`` from one
    directory, move the folder, rerun from another directory — every figure and stage is reused,
    nothing is recomputed, and every link of the report resolves next to the report."""
    root, calls = checkout
    (tmp_path / "a").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    _run(root, "results")
    n_calls = len(calls())
    rec = json.loads((tmp_path / "a" / "results" / "state" / "figures" /
                      "alpha-quick.json").read_text())
    assert sorted(rec["result"]["files"]) == ["figures/alpha.pdf", "figures/alpha.png"]
    moved = tmp_path / "archive" / "moved"
    moved.parent.mkdir()
    shutil.move(str(tmp_path / "a" / "results"), str(moved))
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    s, caught = _rerun_with_warnings(root, moved)
    assert not [w for w in caught if issubclass(w.category, CacheWarning)]
    assert len(calls()) == n_calls, "nothing may be recomputed after a move"
    assert s.passed and s.reused_figures == {"alpha", "beta"}
    assert all(st.reused for st in s.stages.values())
    report = moved / "report.html"
    links = _links(report)
    assert len(links) == 4                                   # 2 figures × (png, pdf)
    for link in links:
        assert not Path(link).is_absolute() and "results" not in link
        assert (report.parent / link).is_file(), link
    assert str(tmp_path / "a") not in report.read_text(encoding="utf-8")


def test_record_paths_are_relative_to_the_folder(tmp_path):
    out = tmp_path / "out"
    assert record_path(out / "figures" / "a.png", out) == "figures/a.png"
    assert resolve_record_path("figures/a.png", tmp_path / "new") == \
        tmp_path / "new" / "figures" / "a.png"
    outside = tmp_path / "other.png"
    assert record_path(outside, out) == outside.as_posix()


# ---------------------------------------------------------------------- report of only-runs
def test_only_run_keeps_the_other_entries_of_the_report(checkout, tmp_path):
    """After a full run, a run of one figure (forced) or one stage updates those entries and
    keeps every other one, each marked run now / reused now / from an earlier run."""
    root, calls = checkout
    out = tmp_path / "out"
    _run(root, out)
    s = _run(root, out, only=["beta"], force=True)
    assert [f.spec.name for f in s.figures] == ["beta"] and not s.stages
    assert [f.spec.name for f in s.report_figures] == ["alpha", "beta"]
    assert set(s.report_stages) == {"proofs", "verify"}
    assert s.origin == {"beta": "run", "alpha": "earlier", "proofs": "earlier",
                        "verify": "earlier"}
    assert s.report_passed
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "id='alpha'" in html and "id='beta'" in html
    assert "Theorem checks" in html and "Symbolic proofs" in html and "golden_ratio" in html
    # beta in the contents and in its section; alpha, proofs, verify from earlier
    assert html.count("run now") == 2 and html.count("from an earlier run") >= 5
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "| alpha |" in md and "| beta |" in md and "verify: PASS" in md
    s = _run(root, out, only=["verify"])
    assert s.origin["verify"] == "reused" and s.origin["alpha"] == "earlier"
    assert calls().count("verify") == 1


def test_only_run_in_a_fresh_folder_lists_the_rest_as_not_run(checkout, tmp_path):
    """A first run of one figure: the report shows it and names the figure and stages that have
    no record yet; the whole report is incomplete while this invocation passes."""
    root, _ = checkout
    out = tmp_path / "out"
    s = _run(root, out, only=["alpha"])
    assert s.passed and not s.report_passed and s.not_run == ["beta"]
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "INCOMPLETE" in html and "not run" in html and "beta" in html


def test_corrupt_record_of_an_entry_not_run_is_left_out_with_a_warning(checkout, tmp_path):
    """A corrupt record of an entry this run does not select does not crash the report: it is
    left out (listed as not run) with a warning naming it."""
    root, _ = checkout
    out = tmp_path / "out"
    _run(root, out)
    record = out / "state" / "figures" / "alpha-quick.json"
    record.write_text(json.dumps({"mode": "quick", "version": runner.__version__,
                                  "result": []}))
    s, caught = _rerun_with_warnings(root, out, only=["beta"])
    assert _warned(caught, record)
    assert s.not_run == ["alpha"] and [f.spec.name for f in s.report_figures] == ["beta"]


def test_schema_errors_name_the_field():
    with pytest.raises(RecordError, match=r"record\.rows\[0\]\.cases must be an integer"):
        check_stage_record({"mode": "quick", "version": "1", "passed": True, "seconds": 1,
                            "rows": [{**VERIFY_ROW, "cases": True}]}, "verify")
    with pytest.raises(RecordError, match=r"metadata has no field 'seconds'"):
        check_sweep_meta({"schema": 1, "linpc": "1", "sweep": "s", "version": "1", "seed": 0,
                          "point": {}, "seed_entropy": [0]})


def test_moved_folder_of_a_real_quick_figure_via_the_command(tmp_path, capsys):
    """``linpc reproduce --quick --only <figure>`` into one folder, the folder moved, the same
    command on the new folder: the figure is reused and the report's links resolve."""
    from linpc.cli import main

    if runner.source_checkout() is None:
        pytest.skip("needs the source checkout")
    first = tmp_path / "first"
    assert main(["reproduce", "--quick", "--only", "saddles_fig1", "--no-progress", "--out",
                 str(first)]) == 0
    assert "running" in capsys.readouterr().out
    moved = tmp_path / "moved" / "results"
    moved.parent.mkdir()
    shutil.move(str(first), str(moved))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["reproduce", "--quick", "--only", "saddles_fig1", "--no-progress",
                     "--out", str(moved)]) == 0
    out = capsys.readouterr().out
    assert "saddles_fig1_equilibrated_energy: reused" in out and "running" not in out
    assert not [w for w in caught if issubclass(w.category, CacheWarning)]
    report = moved / "report.html"
    links = _links(report)
    assert {Path(link).suffix for link in links} == {".png", ".pdf"}
    for link in links:
        assert (report.parent / link).is_file(), link
    assert str(first) not in report.read_text(encoding="utf-8")
