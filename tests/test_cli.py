"""The ``linpc`` command on bad input, on Ctrl-C, and its help.

Every bad argument must end the command before any work starts, with exit status 2, the usage and
a message naming the option (and for unknown names the valid ones and close matches). Ctrl-C must
end ``linpc reproduce``, ``linpc verify`` and ``linpc proofs`` with one line on stderr and exit
status 130. The bad-input cases call :func:`linpc.cli.main` in-process with the commands replaced
by stand-ins that record a call, so "no work started" is checked, not assumed; the Ctrl-C cases
run ``python -m linpc`` in its own process group and interrupt the group, as a terminal does.
"""

from __future__ import annotations

import ast
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import linpc.cli as cli
from linpc.cli import INTERRUPTED, main
from linpc.reproduce.runner import source_checkout

ROOT = Path(__file__).resolve().parent.parent
HAS_CHECKOUT = source_checkout() is not None
needs_checkout = pytest.mark.skipif(not HAS_CHECKOUT, reason="needs the source checkout")


@pytest.fixture
def no_work(monkeypatch):
    """Replace the three commands by stand-ins; returns the list of commands that were called."""
    called: list[str] = []
    for name in ("reproduce", "verify", "proofs"):
        monkeypatch.setattr(cli, f"_cmd_{name}", lambda args, name=name: called.append(name) or 0)
    return called


def _run(argv, capsys) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def places(tmp_path):
    """Paths for --out / --json cases."""
    a_file = tmp_path / "a_file.txt"
    a_file.write_text("not a folder")
    state_file = tmp_path / "has_state_file"
    state_file.mkdir()
    (state_file / "state").write_text("not a folder")
    return {"{file}": str(a_file), "{under_file}": str(a_file / "sub"),
            "{state_file}": str(state_file), "{dir}": str(tmp_path)}


#: (argv, the option the message must name, further text the message must contain)
BAD_INPUT = [
    (["reproduce", "--only", "nosuchthing"], "--only",
     ["'nosuchthing'", "Valid names", "proofs", "verify"]),
    (["reproduce", "--only", "sadles_fig1"], "--only",
     ["did you mean saddles_fig1_equilibrated_energy"]),
    (["reproduce", "--only", "verify", "nosuch"], "--only", ["'nosuch'"]),
    (["reproduce", "--only", ""], "--only", ["''"]),
    (["reproduce", "--only"], "--only", ["expected at least one argument"]),
    (["reproduce", "--jobs", "0"], "--jobs", ["positive integer", "'0'"]),
    (["reproduce", "--jobs", "-2"], "--jobs", ["positive integer"]),
    (["reproduce", "--jobs", "two"], "--jobs", ["positive integer", "'two'"]),
    (["reproduce", "--jobs", "1.5"], "--jobs", ["positive integer"]),
    (["reproduce", "--seed", "-1"], "--seed", ["non-negative integer", "'-1'"]),
    (["reproduce", "--seed", "x"], "--seed", ["non-negative integer"]),
    (["reproduce", "--seed", "1e3"], "--seed", ["non-negative integer"]),
    (["reproduce", "--out", "{file}"], "--out", ["a file, not a folder"]),
    (["reproduce", "--out", "{under_file}"], "--out", ["cannot create", "a file, not a folder"]),
    (["reproduce", "--out", ""], "--out", ["empty path"]),
    (["reproduce", "--out", "{state_file}"], "--out", ["state", "not a folder"]),
    (["reproduce", "--quick", "--bogus"], "--bogus", ["unrecognized arguments"]),
    (["reproduce", "stray"], "stray", ["unrecognized arguments"]),
    (["verify", "--only", "9.99"], "--only", ["'9.99'", "Valid identity ids", "2.5.1"]),
    (["verify", "--only", "2.5.1", "9.99"], "--only", ["'9.99'"]),
    (["verify", "--only", "2.5.l"], "--only", ["did you mean 2.5.1"]),
    (["verify", "--seed", "-1"], "--seed", ["non-negative integer", "'-1'"]),
    (["verify", "--seed", "abc"], "--seed", ["non-negative integer"]),
    (["verify", "--quick", "--bogus"], "--bogus", ["unrecognized arguments"]),
    (["proofs", "--bogus"], "--bogus", ["unrecognized arguments"]),
    (["proofs", "--only", "golden"], "--only", ["did you mean golden_ratio", "Valid proof"]),
    (["proofs", "--jobs", "0"], "--jobs", ["positive integer"]),
    (["proofs", "--timeout", "0"], "--timeout", ["positive number of seconds"]),
    (["proofs", "--timeout", "nan"], "--timeout", ["positive number of seconds"]),
    (["proofs", "--defect", "no_such_defect"], "--defect", ["'no_such_defect'"]),
    (["proofs", "--json", "{dir}"], "--json", ["is a folder"]),
    ([], "COMMAND", ["required"]),
    (["nosuch"], "COMMAND", ["invalid choice", "'nosuch'"]),
]


@pytest.mark.parametrize(("argv", "option", "texts"), BAD_INPUT,
                         ids=[" ".join(a) or "(nothing)" for a, _, _ in BAD_INPUT])
def test_bad_input_exits_2_naming_the_option_before_any_work(argv, option, texts, no_work,
                                                             places, capsys, tmp_path):
    if not HAS_CHECKOUT and argv[:1] in (["proofs"],) and option in ("--only", "--defect"):
        pytest.skip("needs the source checkout")
    argv = [places.get(a, a) for a in argv]
    code, out, err = _run(argv, capsys)
    assert code == 2, (code, err)
    assert no_work == [], "a command started before its arguments were checked"
    assert "usage:" in err
    assert option in err, err
    for text in texts:
        assert text in err, (text, err)
    assert "Traceback" not in err and out == ""


def test_out_on_an_unwritable_filesystem(no_work, capsys):
    """``--out`` below a folder nobody can write into (``/proc``, even as root)."""
    if not Path("/proc").is_dir():
        pytest.skip("no /proc")
    code, _, err = _run(["reproduce", "--out", "/proc/linpc-test/results"], capsys)
    assert code == 2 and "--out" in err and "cannot create" in err and no_work == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="root may write into read-only folders")
def test_out_in_a_read_only_folder(no_work, capsys, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        code, _, err = _run(["reproduce", "--out", str(folder / "results")], capsys)
    finally:
        folder.chmod(0o700)
    assert code == 2 and "--out" in err and "not writable" in err and no_work == []


def test_bad_out_creates_nothing(capsys, tmp_path, places):
    """The real command with a bad --out and a good one that is never created."""
    new = tmp_path / "new" / "results"
    code, _, _ = _run(["reproduce", "--out", str(new), "--jobs", "0"], capsys)
    assert code == 2 and not new.parent.exists()
    code, _, _ = _run(["reproduce", "--out", places["{file}"]], capsys)
    assert code == 2 and Path(places["{file}"]).read_text() == "not a folder"


def test_good_arguments_reach_the_command(no_work, capsys, tmp_path):
    """The stand-ins are called when the arguments are good (so the cases above can fail)."""
    assert main(["reproduce", "--quick", "--only", "saddles_fig1", "verify", "--out",
                 str(tmp_path / "new" / "out"), "--jobs", "2", "--seed", "7"]) == 0
    assert main(["verify", "--only", "2.5.1", "3.4", "--seed", "0"]) == 0
    assert main(["proofs", "--only", "golden_ratio.py", "--jobs", "2", "--timeout", "60"]) == 0
    assert no_work == ["reproduce", "verify", "proofs"]
    assert not (tmp_path / "new").exists()


# ------------------------------------------------------------------------------------ help
HELP = [[], ["reproduce"], ["verify"], ["proofs"]]


@pytest.mark.parametrize("argv", HELP, ids=["linpc", "reproduce", "verify", "proofs"])
def test_help_has_no_raw_markup(argv, capsys):
    code, out, _ = _run([*argv, "--help"], capsys)
    assert code == 0 and "usage: linpc" in out
    for markup in ("``", ":func:", ":mod:", ":class:", ":data:", ":meth:", "`", "**"):
        assert markup not in out, (markup, out)
    assert len(out.split("\n\n")[1]) > 40           # a description, not only the usage


def _proof_options() -> set[str]:
    """The long options ``python -m proofs`` declares (read from proofs/run_all.py)."""
    tree = ast.parse((ROOT / "proofs" / "run_all.py").read_text(encoding="utf-8"))
    return {node.args[0].value for node in ast.walk(tree)
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument"
            and node.args and isinstance(node.args[0], ast.Constant)}


@needs_checkout
def test_proofs_help_lists_the_options_of_python_m_proofs(capsys):
    options = _proof_options()
    assert {"--only", "--quiet", "--defect", "--jobs", "--timeout", "--list", "--json"} <= options
    code, out, _ = _run(["proofs", "--help"], capsys)
    assert code == 0
    for opt in options:
        assert opt in out, opt


@needs_checkout
def test_proofs_options_are_passed_through(capsys, tmp_path):
    """``--list`` with ``--only`` lists one script and its defects; a real run of one script
    writes the ``--json`` summary."""
    code, out, _ = _run(["proofs", "--list", "--only", "golden_ratio"], capsys)
    assert code == 0 and out.splitlines()[0] == "golden_ratio"
    assert "golden_conjugate" in out and "equilibrated_energy_scalar" not in out
    target = tmp_path / "proofs.json"
    code, out, _ = _run(["proofs", "--only", "golden_ratio", "--quiet", "--timeout", "300",
                         "--json", str(target)], capsys)
    assert code == 0, out
    rows = json.loads(target.read_text())
    assert [r["script"] for r in rows] == ["golden_ratio"] and rows[0]["status"] == "PASS"
    assert "PASS " not in out                            # --quiet: only the table


def test_verify_only_runs_the_named_identities(capsys):
    code, out, _ = _run(["verify", "--quick", "--only", "2.5.1", "--no-progress"], capsys)
    assert code == 0 and "1 of 1 identities pass" in out


def test_commands_run_under_the_thread_policy(monkeypatch, capsys):
    """The command runs inside single_threaded_blas (BLAS at one thread, budget fixed)."""
    from linpc.numerics import threads

    seen = []

    def probe(args):
        seen.append((threads._depth, [c.get_num_threads() for c, _ in threads._blas_libraries()]))
        return 0

    monkeypatch.setattr(cli, "_cmd_verify", probe)
    assert main(["verify", "--quick"]) == 0
    (depth, counts), = seen
    assert depth >= 1 and all(n in (None, 1) for n in counts)
    assert threads._depth == 0


# ------------------------------------------------------------------------------------ Ctrl-C
def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _interrupt(argv: list[str], ready, cwd: Path, timeout: float = 120.0):
    """Start ``python -m linpc ARGV`` in its own process group, wait until ``ready(proc,
    stdout_lines)``, send SIGINT to the group; return ``(exit status, stdout, stderr)``."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1",
               OPENBLAS_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-m", "linpc", *argv], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    err_chunks: list[str] = []
    err_reader = threading.Thread(target=lambda: err_chunks.append(proc.stderr.read()),
                                  daemon=True)
    err_reader.start()
    try:
        t0 = time.monotonic()
        while not ready(proc, lines):
            assert proc.poll() is None, ("finished before it could be interrupted", lines,
                                         err_chunks)
            assert time.monotonic() - t0 < timeout, "never became ready"
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGINT)
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    reader.join(5)
    err_reader.join(5)
    return code, "".join(lines), "".join(err_chunks)


def _line_seen(text: str):
    return lambda proc, lines: any(text in line for line in lines)


def _assert_interrupted(code: int, err: str) -> None:
    assert code == 130, (code, err)
    assert err.strip().splitlines() == [INTERRUPTED], err


linux_only = pytest.mark.skipif(not Path("/proc/self/stat").exists() or os.name != "posix",
                                reason="needs Linux process groups and /proc")


@linux_only
@needs_checkout
def test_ctrl_c_in_reproduce_prints_one_line_and_exits_130(tmp_path):
    code, out, err = _interrupt(["reproduce", "--quick", "--only", "verify", "--no-progress",
                                 "--out", str(tmp_path / "out")],
                                _line_seen("[verify] running"), tmp_path)
    _assert_interrupted(code, err)
    assert "[verify] running" in out


@linux_only
def test_ctrl_c_in_verify_prints_one_line_and_exits_130(tmp_path):
    # ready once the battery is under way: imports take well under 2 s of CPU, the battery ≈ 20 s
    code, _, err = _interrupt(["verify", "--quick", "--no-progress"],
                              lambda proc, lines: _cpu_seconds(proc.pid) > 2.5, tmp_path)
    _assert_interrupted(code, err)


@linux_only
@needs_checkout
def test_ctrl_c_in_proofs_prints_one_line_and_exits_130(tmp_path):
    # the first script's lines appear when it finishes; nine more are still to run
    code, out, err = _interrupt(["proofs"], _line_seen("PASS"), tmp_path)
    _assert_interrupted(code, err)
    assert not re.search(r"scripts ok", out)            # it did stop before the summary
