"""A one-line progress display on stderr for the long parts of the report.

It draws only on an interactive terminal (and not with ``--quiet``), so logs,
pipes and tests stay clean. Claims call :meth:`Progress.step` once per unit
of work (a learning rate, a batch size, ...).
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """``[k/K] claim: i/n  elapsed`` redrawn in place; a finished stage keeps its line.

    Parameters
    ----------
    enabled : bool or None
        ``None``: draw only if ``stream`` is a terminal.
    stream : text stream
        Where to draw (stderr by default).
    """

    def __init__(self, enabled: bool | None = None, stream: TextIO | None = None) -> None:
        self.stream = sys.stderr if stream is None else stream
        isatty = getattr(self.stream, "isatty", None)
        self.enabled = bool(isatty and isatty()) if enabled is None else bool(enabled)
        self._label = ""
        self._total = 0
        self._done = 0
        self._start = time.perf_counter()

    def stage(self, label: str, total: int) -> None:
        """Start a stage of ``total`` steps."""
        self._label, self._total, self._done = label, max(int(total), 1), 0
        self._start = time.perf_counter()
        self._draw()

    def step(self, n: int = 1) -> None:
        """Mark ``n`` steps of the current stage done."""
        self._done = min(self._done + n, self._total)
        self._draw()

    def finish(self) -> None:
        """End the current stage, keeping its line."""
        self._done = self._total
        self._draw()
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()

    def _draw(self) -> None:
        if not self.enabled:
            return
        width = 20
        filled = width * self._done // self._total
        bar = "#" * filled + "." * (width - filled)
        elapsed = time.perf_counter() - self._start
        self.stream.write(f"\r{self._label:<42} [{bar}] {self._done}/{self._total} {elapsed:5.1f}s")
        self.stream.flush()
