"""Atomic report directories: a reader sees the previous complete report or the new one, never a mix.

``grassdyn report --out DIR`` writes every file into a fresh hidden directory
beside ``DIR`` (``.DIR.partial-<random>``), and only when the report is
complete swaps it into place:

1. ``DIR`` (if any) is renamed to ``.DIR.old-<random>``;
2. the new directory is renamed to ``DIR``;
3. the old one is deleted.

Both renames are atomic on one file system (``os.rename`` on POSIX), and
``SIGINT``/``SIGTERM`` are blocked between them, so an interruption at any
time leaves either the previous complete report or the new one at ``DIR``.
An interrupted run removes its partial directory; one killed outright
(``SIGKILL``, power loss) leaves a hidden ``.DIR.partial-*`` sibling, which
the next run removes once the process that made it is gone.

A report directory carries a marker file, :data:`MARKER`, recording the
grassdyn version and the files it wrote. ``DIR`` is replaced only if it is
empty, is a grassdyn report (it has the marker, or it is a report of
grassdyn 0.1.0, which wrote ``results.json`` naming every file) holding
only the files that report wrote, or ``force=True``; anything else is
refused with :class:`OutputError`, so a user's own files are never
overwritten by mistake.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["MARKER", "OutputError", "atomic_write_text", "check_replaceable", "report_directory"]

#: Name of the marker file in every report directory.
MARKER = ".grassdyn-report.json"
#: Files every report of grassdyn 0.1.0 wrote besides its figures.
_LEGACY_FILES = {"results.json", "summary.md", "config.toml"}


class OutputError(OSError):
    """The output directory cannot be used; the message is one line that names it."""


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same directory and ``os.replace``.

    A reader (or an interruption) sees the old content or the new, never a
    truncated file.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _foreign(out: Path, names: set[str]) -> set[str]:
    """The files in ``out`` that no grassdyn report wrote."""
    try:
        marker = json.loads((out / MARKER).read_text(encoding="utf-8"))
        return names - set(marker["files"]) - {MARKER}
    except (OSError, ValueError, KeyError, TypeError):
        pass
    # grassdyn 0.1.0 wrote no marker: recognise its results.json, which names every figure file
    try:
        doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
        figures = {f for spec in doc["figures"].values() for f in spec["files"]}
        doc["grassdyn_version"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return names
    return names - _LEGACY_FILES - figures


def check_replaceable(out: str | Path, *, force: bool = False) -> None:
    """Raise :class:`OutputError` unless ``out`` may be replaced by a new report.

    ``out`` may be missing, an empty directory, or a grassdyn report; with
    ``force=True`` any directory is accepted (and replaced whole).
    """
    out = Path(out)
    if not out.exists():
        return
    if not out.is_dir():
        raise OutputError(f"--out {str(out)!r} exists and is not a directory")
    foreign = _foreign(out, {p.name for p in out.iterdir()})
    if foreign and not force:
        shown = ", ".join(sorted(foreign)[:3]) + (", ..." if len(foreign) > 3 else "")
        raise OutputError(
            f"--out {str(out)!r} holds files not written by grassdyn report ({shown}); "
            "choose another directory or pass --force to replace it whole"
        )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale(out: Path) -> None:
    """Remove partial or old directories beside ``out`` whose process is gone."""
    for prefix in (f".{out.name}.partial-", f".{out.name}.old-"):
        for path in out.parent.glob(prefix + "*"):
            try:
                pid = int(json.loads((path / ".pid.json").read_text(encoding="utf-8"))["pid"])
            except (OSError, ValueError, KeyError, TypeError):
                pid = -1
            if pid != os.getpid() and (pid < 0 or not _alive(pid)):
                shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def _signals_blocked() -> Iterator[None]:
    sigs = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextlib.contextmanager
def report_directory(out: str | Path, *, force: bool = False, version: str = "") -> Iterator[Path]:
    """Yield a fresh directory to write a report into; on success, swap it into place at ``out``.

    On any exception (``KeyboardInterrupt`` included) the partial directory
    is removed and ``out`` is left as it was.
    """
    out = Path(out).absolute()
    check_replaceable(out, force=force)
    out.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(out)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.partial-"))
    try:
        (tmp / ".pid.json").write_text(json.dumps({"pid": os.getpid()}), encoding="utf-8")
        yield tmp
        (tmp / ".pid.json").unlink()
        files = sorted(p.name for p in tmp.iterdir())
        marker: dict[str, Any] = {"grassdyn_version": version, "files": files}
        (tmp / MARKER).write_text(json.dumps(marker, indent=1) + "\n", encoding="utf-8")
        # re-check: another process may have filled `out` while the report ran
        check_replaceable(out, force=force)
        old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old-")) if out.exists() else None
        with _signals_blocked():
            if old is not None:
                os.rename(out, old / "report")
            os.rename(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
