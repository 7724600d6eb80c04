"""Run the sympy derivation scripts in ``proofs/`` and check that deliberate defects are caught.

Each script must exit 0 with only PASS lines; with its first declared defect switched on
(``--defect NAME``) it must exit 1 with at least one FAIL line. The other declared defects are
checked too (marked ``slow``). Scripts run as subprocesses with ``sys.executable``; the runs
needed by the selected tests are started together on a two-worker thread pool (one
subprocess per core), so the module takes about a minute on an idle two-core machine.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytest.importorskip("sympy")

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location(
    "_linpc_proofs_run_all", ROOT / "proofs" / "run_all.py"
)
run_all = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run_all)

SCRIPTS = run_all.SCRIPTS
DEFECTS = {name: list(run_all.script_defects(name)) for name in SCRIPTS}
PRIMARY = [(name, DEFECTS[name][0]) for name in SCRIPTS if DEFECTS[name]]
SECONDARY = [(name, d) for name in SCRIPTS for d in DEFECTS[name][1:]]
WORKERS = 2
TIMEOUT = 600.0


def _key_of(item: pytest.Item) -> tuple[str, str | None] | None:
    """The (script, defect) run a collected test item needs, if any."""
    callspec = getattr(item, "callspec", None)
    if callspec is None or "name" not in callspec.params:
        return None
    return callspec.params["name"], callspec.params.get("defect")


@pytest.fixture(scope="module")
def runs(request: pytest.FixtureRequest) -> dict:
    """Results of every script run needed by the selected tests, computed in parallel once."""
    keys = []
    for item in request.session.items:
        key = _key_of(item)
        if key is not None and key not in keys and item.module is request.module:
            keys.append(key)

    def one(key: tuple[str, str | None]) -> dict:
        name, defect = key
        return run_all.run_script(name, [defect] if defect else [], TIMEOUT)

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return dict(zip(keys, pool.map(one, keys), strict=True))


def _get(runs: dict, name: str, defect: str | None) -> dict:
    key = (name, defect)
    if key not in runs:  # not prefetched (e.g. called outside the normal collection)
        runs[key] = run_all.run_script(name, [defect] if defect else [], TIMEOUT)
    return runs[key]


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_passes(runs: dict, name: str) -> None:
    res = _get(runs, name, None)
    assert res["returncode"] == 0, res["output"]
    assert res["failed"] == 0 and res["passed"] > 0, res["output"]
    assert res["status"] == "ok"


@pytest.mark.parametrize(("name", "defect"), PRIMARY, ids=[f"{n}-{d}" for n, d in PRIMARY])
def test_primary_defect_is_caught(runs: dict, name: str, defect: str) -> None:
    res = _get(runs, name, defect)
    assert res["returncode"] == 1, res["output"]
    assert res["failed"] > 0, res["output"]
    assert f"DEFECT ACTIVE: {defect}" in res["output"]


@pytest.mark.slow
@pytest.mark.parametrize(("name", "defect"), SECONDARY, ids=[f"{n}-{d}" for n, d in SECONDARY])
def test_other_defects_are_caught(runs: dict, name: str, defect: str) -> None:
    res = _get(runs, name, defect)
    assert res["returncode"] == 1, res["output"]
    assert res["failed"] > 0, res["output"]


@pytest.mark.parametrize("name", SCRIPTS)
def test_every_script_declares_a_defect(name: str) -> None:
    assert DEFECTS[name], f"{name} declares no deliberate defect"


def test_every_script_is_registered() -> None:
    helpers = {"_proof", "_algebra", "_chain", "__init__", "__main__", "run_all"}
    found = {p.stem for p in (ROOT / "proofs").glob("*.py")} - helpers
    assert found == set(SCRIPTS)


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env,
        check=False,
    )


def test_runner_summary_and_exit_codes() -> None:
    ok = _cli("-m", "proofs", "--only", "golden_ratio", "activity_hessian.py", "--quiet")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "golden_ratio" in ok.stdout and "activity_hessian" in ok.stdout
    assert "2/2 scripts ok" in ok.stdout
    bad = _cli("-m", "proofs", "--defect", "golden_conjugate", "--quiet")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "golden_ratio" in bad.stdout and "activity_hessian" not in bad.stdout
    unknown = _cli("-m", "proofs", "--defect", "no_such_defect")
    assert unknown.returncode == 2
    listing = _cli("-m", "proofs", "--list")
    assert listing.returncode == 0 and all(name in listing.stdout for name in SCRIPTS)


def test_runner_json_on_stdout() -> None:
    res = _cli("-m", "proofs", "--only", "golden_ratio", "--json", "-")
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    assert [r["script"] for r in rows] == ["golden_ratio"]
    assert rows[0]["status"] == "PASS" and rows[0]["statements"] == rows[0]["passed"] > 0
    assert "PASS" in res.stderr  # the human-readable output goes to stderr


def test_script_defect_switches() -> None:
    script = str(ROOT / "proofs" / "golden_ratio.py")
    assert _cli(script, "--defect", "no_such_defect").returncode == 2
    env = {**os.environ, "LINPC_PROOF_DEFECT": "golden_conjugate"}
    res = _cli(script, env=env)
    assert res.returncode == 1 and "FAIL" in res.stdout
    env = {**os.environ, "LINPC_PROOF_DEFECT": "a_defect_of_another_script"}
    assert _cli(script, env=env).returncode == 0
