"""The report's output directory: atomic replacement, refusal of foreign files, clean interruption."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grassdyn.cli import EXIT_SIGINT, EXIT_SIGTERM, EXIT_USAGE, main
from grassdyn.report.output import MARKER, OutputError, atomic_write_text, check_replaceable, report_directory


def _snapshot(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


def _siblings(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if p.name != path.name)


def _previous_report(out: Path) -> dict[str, bytes]:
    """A complete earlier report (written through the same atomic path, without computing claims)."""
    with report_directory(out, version="test") as tmp:
        (tmp / "results.json").write_text('{"old": true}\n')
        (tmp / "summary.md").write_text("# an earlier report\n")
        (tmp / "stale-figure.png").write_bytes(b"\x89PNG old")
    return _snapshot(out)


def test_a_completed_report_replaces_the_old_one_whole(tmp_path):
    out = tmp_path / "report"
    _previous_report(out)
    with report_directory(out, version="test") as tmp:
        (tmp / "results.json").write_text("{}\n")
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([MARKER, "results.json"])  # the stale figure of the old run is gone
    assert json.loads((out / MARKER).read_text())["files"] == ["results.json"]
    assert _siblings(out) == []


@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError, MemoryError])
def test_a_failed_report_leaves_the_previous_one_untouched(tmp_path, error):
    out = tmp_path / "report"
    before = _previous_report(out)
    with pytest.raises(error), report_directory(out, version="test") as tmp:
        (tmp / "results.json").write_text("{half")
        raise error
    assert _snapshot(out) == before
    assert _siblings(out) == []


def test_a_failed_first_report_leaves_nothing(tmp_path):
    out = tmp_path / "report"
    with pytest.raises(KeyboardInterrupt), report_directory(out, version="test"):
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_foreign_files_are_refused_and_kept(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "summary.md").write_text("my notes")
    with pytest.raises(OutputError, match=r"--out .*mine.* holds files not written by grassdyn report"):
        check_replaceable(out)
    assert main(["report", "--quick", "--quiet", "--out", str(out)]) == EXIT_USAGE
    assert (out / "summary.md").read_text() == "my notes"


def test_force_replaces_a_foreign_directory(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("x")
    check_replaceable(out, force=True)
    with report_directory(out, force=True, version="test") as tmp:
        (tmp / "results.json").write_text("{}")
    assert not (out / "notes.txt").exists()


def test_a_file_is_refused_as_output(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(OutputError, match="exists and is not a directory"):
        check_replaceable(target, force=True)


def test_a_report_of_version_0_1_0_is_recognised(tmp_path):
    out = tmp_path / "old"
    out.mkdir()
    doc = {"grassdyn_version": "0.1.0", "figures": {"f": {"files": ["f.png", "f.svg"]}}}
    (out / "results.json").write_text(json.dumps(doc))
    for name in ("summary.md", "config.toml", "f.png", "f.svg"):
        (out / name).write_text("")
    check_replaceable(out)
    (out / "thesis.tex").write_text("")  # a file the old report did not write: not ours to delete
    with pytest.raises(OutputError, match=r"thesis\.tex"):
        check_replaceable(out)


def test_stale_partial_directories_of_dead_processes_are_removed(tmp_path):
    out = tmp_path / "report"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    stale = tmp_path / ".report.partial-abc"
    stale.mkdir()
    (stale / ".pid.json").write_text(json.dumps({"pid": int(dead.stdout)}))
    with report_directory(out, version="test") as tmp:
        (tmp / "results.json").write_text("{}")
    assert not stale.exists()


def test_atomic_write_text_replaces_whole(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("old")
    atomic_write_text(path, "new")
    assert path.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_keyboard_interrupt_in_the_command_is_one_line(monkeypatch, tmp_path, capsys):
    def interrupted(cfg, out, progress=None, force=False):
        raise KeyboardInterrupt

    monkeypatch.setattr("grassdyn.report.run.run_report", interrupted)
    assert main(["report", "--quick", "--quiet", "--out", str(tmp_path / "r")]) == EXIT_SIGINT
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [f"grassdyn report: interrupted; {tmp_path / 'r'} left as it was"]


def _catches_sigterm(pid: int) -> bool:
    """Whether process ``pid`` has installed a SIGTERM handler (Linux: the SigCgt mask of /proc)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    mask = next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(mask, 16) >> (signal.SIGTERM - 1) & 1)


@pytest.mark.parametrize("sig, status", [(signal.SIGINT, EXIT_SIGINT), (signal.SIGTERM, EXIT_SIGTERM)],
                         ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("delay", [0.0, 3.0], ids=["at-start", "computing"])
def test_an_interrupted_command_keeps_the_previous_report(tmp_path, sig, status, delay):
    out = tmp_path / "report"
    before = _previous_report(out)
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.Popen([sys.executable, "-m", "grassdyn.cli", "report", "--quiet", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    # the command owns the signals once main() has started (before that Python's defaults apply):
    # wait for that, then interrupt right away (configuration and imports) or while claims compute
    deadline = time.monotonic() + 30
    while not _catches_sigterm(proc.pid) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(delay)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == status, stderr
    assert "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert _snapshot(out) == before
    assert _siblings(out) == []
