"""Drawing the library's ProgressEvents on stderr, only when it is a terminal, and keeping
log records off the progress line.

A label whose total is known gets a click progress bar (parse over plain files, bytes;
aggregate's jobs and run's stages, counted `N/TOTAL`, with the step last done and the time
elapsed after the label: `run 2026-11-28 aggregate 1m12s [#####-----] 6/10`); any other a
status line redrawn in place (`label: N rows (R rows/s)`), at most five times a second,
and at least once a second so that the elapsed time moves while a long step (an EMR job)
reports nothing. A label's outcome line (an imported table's or an aggregate job's result)
is printed when it ends, unless stdout is a terminal too: the command's summary on stdout
then shows the same line.

One console: `ConsoleHandler`, the handler `setup_logging` installs, writes each log record
through the drawer while one is active, which clears the progress line first and draws it
again after the record, under one lock, so a WARNING never lands glued to a bar.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import click

from warehouse.progress import Progress, ProgressEvent
from warehouse.textfmt import count, elapsed

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar

EVERY = 0.2  # seconds between redraws
TICK = 1.0  # the elapsed time is redrawn at least this often
_CLEAR = "\r\x1b[K"  # back to the line's start, erase it

_active: _Drawer | None = None  # the drawer of the command running, if any


@contextmanager
def terminal_progress() -> Iterator[Progress | None]:
    """Yield a callback drawing progress on stderr when it is a terminal, else None."""
    global _active
    if not sys.stderr.isatty():
        yield None
        return
    drawer = _Drawer(outcomes=not sys.stdout.isatty())
    _active = drawer
    try:
        yield drawer
    finally:
        _active = None
        drawer.close()


class ConsoleHandler(logging.StreamHandler):
    """A stderr handler that writes through the active drawer (progress line cleared, then
    redrawn), or as a plain StreamHandler when nothing is drawn."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        drawer = _active
        if drawer is None:
            self.stream = sys.stderr  # CliRunner swaps sys.stderr between invocations
            super().emit(record)
            return
        try:
            text = self.format(record)
        except Exception:
            self.handleError(record)
            return
        drawer.print_above(text)


@dataclass
class _Label:
    """What one label has done, and what is not drawn yet."""

    name: str
    unit: str
    bar: ProgressBar[int] | None = None
    step: str | None = None
    done: int = 0
    lines: int = 0
    undrawn: int = 0  # bar steps not passed to the bar yet
    started: float = field(default_factory=time.monotonic)

    def status(self, now: float) -> str:
        """`12.3 MB, 45,678 lines (9,876/s)` or `1,234 rows (567 rows/s)`."""
        seconds = max(now - self.started, 1e-9)
        if self.unit == "bytes":
            return f"{self.done / 1e6:,.1f} MB, {self.lines:,} lines ({self.lines / seconds:,.0f}/s)"
        rate = f" ({self.done / seconds:,.0f} {self.unit}/s)" if seconds >= 1 else ""
        return f"{count(self.done, self.unit.removesuffix('s'))}{rate}, {elapsed(seconds)}"

    def bar_label(self, now: float) -> str:
        step = f" {self.step}" if self.step else ""
        return f"{self.name}{step} {elapsed(now - self.started)}"


class _Drawer:
    """The callback: one line on the terminal, redrawn; events, log records and the ticker
    take turns under one lock."""

    def __init__(self, *, outcomes: bool = True) -> None:
        self._labels: dict[str, _Label] = {}
        self._shown: _Label | None = None  # the label on the line
        self._width = 0  # of the status line on screen (0: none, or a bar's)
        self._last = 0.0
        self._outcomes = outcomes
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick, name="progress-ticker", daemon=True)
        self._ticker.start()

    def __call__(self, ev: ProgressEvent) -> None:
        with self._lock:
            self._event(ev)

    def _event(self, ev: ProgressEvent) -> None:
        state = self._labels.get(ev.label)
        now = time.monotonic()
        if state is None:
            state = self._labels[ev.label] = _Label(ev.label, ev.unit)
            if ev.total is not None:
                self._clear()
                state.bar = click.progressbar(
                    length=ev.total, label=state.bar_label(now), file=sys.stderr,
                    item_show_func=_lines_text,
                    show_pos=ev.unit in ("jobs", "stages"),  # N/TOTAL instead of a percentage
                )
                self._shown = state
                state.bar.render_progress()
        if ev.step is not None:
            state.step = ev.step
        state.done += ev.advance
        state.lines += ev.lines
        state.undrawn += ev.advance
        if ev.final:
            self._end(state, ev.outcome, now)
        elif now - self._last >= EVERY:
            self._last = now
            self._draw(state, now)

    def print_above(self, text: str) -> None:
        """Write `text` (a log record) on a line of its own, then draw the progress again."""
        with self._lock:
            shown = self._shown
            if shown is not None or self._width:
                click.echo(_CLEAR, err=True, nl=False)
                self._width = 0
            click.echo(text, err=True)
            if shown is not None and shown.name in self._labels:
                self._draw(shown, time.monotonic())
                if shown.bar is not None:  # a bar draws only a changed line: draw it again
                    click.echo("\r" + shown.bar.format_progress_line(), err=True, nl=False)

    def _draw(self, state: _Label, now: float) -> None:
        self._shown = state
        if state.bar is not None:
            state.bar.label = state.bar_label(now)
            state.bar.update(state.undrawn, state.lines if state.lines else None)
            state.undrawn = 0
            state.bar.render_progress()
            return
        text = f"{state.name}: {state.status(now)}"
        click.echo("\r" + text.ljust(self._width), err=True, nl=False)
        self._width = len(text)

    def _end(self, state: _Label, outcome: str | None, now: float) -> None:
        del self._labels[state.name]
        if state.bar is not None:
            state.bar.label = state.bar_label(now)
            state.bar.update(state.undrawn, state.lines if state.lines else None)
            state.bar.render_finish()
        elif outcome is None or not self._outcomes:
            self._draw(state, now)
            click.echo("", err=True)
            self._width = 0
        if outcome is not None and self._outcomes:
            click.echo("\r" + outcome.ljust(self._width), err=True)
            self._width = 0
        self._shown = None

    def _tick(self) -> None:
        """Redraw the line once a second, so that the elapsed time moves."""
        while not self._stop.wait(TICK):
            with self._lock:
                shown = self._shown
                if shown is not None and shown.name in self._labels:
                    self._draw(shown, time.monotonic())

    def _clear(self) -> None:
        """End the status line on screen, if any, before a bar takes the line."""
        if self._width:
            click.echo("", err=True)
            self._width = 0

    def close(self) -> None:
        """Stop the ticker; finish what is still drawn (the work stopped early: an error)."""
        self._stop.set()
        self._ticker.join(timeout=2)
        with self._lock:
            for state in self._labels.values():
                if state.bar is not None:
                    state.bar.render_finish()
                    self._width = 0
            self._labels.clear()
            self._shown = None
            self._clear()


def _lines_text(lines: int | None) -> str | None:
    return None if lines is None else f"{lines:,} lines"
