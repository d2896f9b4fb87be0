"""A small progress bar on stderr for long work (only when stderr is a terminal)."""

from __future__ import annotations

import sys
import time
from typing import IO


class Progress:
    """Byte-based progress: `advance(n)` as work is done, `close()` at the end.

    Disabled (all methods no-ops) unless `enabled`; redraws at most 5 times a second.
    """

    def __init__(
        self, total: int | None, label: str, *, enabled: bool, stream: IO[str] | None = None
    ) -> None:
        self.total = total or None
        self.label = label
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.done = 0
        self.lines = 0
        self._start = time.monotonic()
        self._last = 0.0

    def advance(self, nbytes: int, lines: int = 0) -> None:
        """Record `nbytes` (and `lines`) more done; redraw when due."""
        self.done += nbytes
        self.lines += lines
        if self.enabled:
            now = time.monotonic()
            if now - self._last >= 0.2:
                self._last = now
                self._draw(now)

    def _draw(self, now: float) -> None:
        elapsed = max(now - self._start, 1e-9)
        rate = self.lines / elapsed
        if self.total:
            frac = min(self.done / self.total, 1.0)
            filled = int(frac * 30)
            bar = "#" * filled + "-" * (30 - filled)
            text = f"\r{self.label} [{bar}] {frac:6.1%} {self.lines:,} lines {rate:,.0f}/s"
        else:
            text = f"\r{self.label} {self.done / 1e6:,.1f} MB {self.lines:,} lines {rate:,.0f}/s"
        self.stream.write(text)
        self.stream.flush()

    def close(self) -> None:
        """Draw the final state and end the line."""
        if self.enabled:
            self._draw(time.monotonic())
            self.stream.write("\n")
            self.stream.flush()
