"""Drawing the library's ProgressEvents on stderr, only when it is a terminal.

A label whose total is known gets a click progress bar (parse over plain files, bytes;
aggregate's jobs and run's stages, counted `N/TOTAL`, with the step last done after the
label: `run 2026-11-28 aggregate [#####-----] 6/10`); any other a status line redrawn in
place (`label: N rows (R rows/s)`), at most five times a second; a label's outcome line
(an imported table's or an aggregate job's result) is printed when it ends.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import click

from warehouse.progress import Progress, ProgressEvent

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar

EVERY = 0.2  # seconds between redraws


@contextmanager
def terminal_progress() -> Iterator[Progress | None]:
    """Yield a callback drawing progress on stderr when it is a terminal, else None."""
    if not sys.stderr.isatty():
        yield None
        return
    drawer = _Drawer()
    try:
        yield drawer
    finally:
        drawer.close()


@dataclass
class _Label:
    """What one label has done, and what is not drawn yet."""

    unit: str
    bar: ProgressBar[int] | None = None
    done: int = 0
    lines: int = 0
    undrawn: int = 0  # bar steps not passed to the bar yet
    started: float = field(default_factory=time.monotonic)

    def status(self, now: float) -> str:
        """`12.3 MB, 45,678 lines (9,876/s)` or `1,234 rows (567 rows/s)`."""
        seconds = max(now - self.started, 1e-9)
        if self.unit == "bytes":
            return f"{self.done / 1e6:,.1f} MB, {self.lines:,} lines ({self.lines / seconds:,.0f}/s)"
        return f"{self.done:,} {self.unit} ({self.done / seconds:,.0f} {self.unit}/s)"


class _Drawer:
    """The callback: one line on the terminal, redrawn; events arrive one at a time."""

    def __init__(self) -> None:
        self._labels: dict[str, _Label] = {}
        self._width = 0  # of the status line on screen (0: none, or a bar's)
        self._last = 0.0

    def __call__(self, ev: ProgressEvent) -> None:
        state = self._labels.get(ev.label)
        if state is None:
            state = self._labels[ev.label] = _Label(ev.unit)
            if ev.total is not None:
                self._clear()
                state.bar = click.progressbar(
                    length=ev.total, label=ev.label, file=sys.stderr, item_show_func=_lines_text,
                    show_pos=ev.unit in ("jobs", "stages"),  # N/TOTAL instead of a percentage
                )
                state.bar.render_progress()
        if ev.step is not None and state.bar is not None:
            state.bar.label = f"{ev.label} {ev.step}"
        state.done += ev.advance
        state.lines += ev.lines
        state.undrawn += ev.advance
        now = time.monotonic()
        if ev.final:
            self._end(ev.label, state, ev.outcome, now)
        elif now - self._last >= EVERY:
            self._last = now
            self._draw(ev.label, state, now)

    def _draw(self, label: str, state: _Label, now: float) -> None:
        if state.bar is not None:
            state.bar.update(state.undrawn, state.lines if state.lines else None)
            state.undrawn = 0
            return
        text = f"{label}: {state.status(now)}"
        click.echo("\r" + text.ljust(self._width), err=True, nl=False)
        self._width = len(text)

    def _end(self, label: str, state: _Label, outcome: str | None, now: float) -> None:
        del self._labels[label]
        if state.bar is not None:
            state.bar.update(state.undrawn, state.lines if state.lines else None)
            state.bar.render_finish()
        elif outcome is None:
            self._draw(label, state, now)
            click.echo("", err=True)
            self._width = 0
        if outcome is not None:
            click.echo("\r" + outcome.ljust(self._width), err=True)
            self._width = 0

    def _clear(self) -> None:
        """End the status line on screen, if any, before a bar takes the line."""
        if self._width:
            click.echo("", err=True)
            self._width = 0

    def close(self) -> None:
        """Finish what is still drawn (the work stopped early: an error)."""
        for state in self._labels.values():
            if state.bar is not None:
                state.bar.render_finish()
                self._width = 0
        self._labels.clear()
        self._clear()


def _lines_text(lines: int | None) -> str | None:
    return None if lines is None else f"{lines:,} lines"
