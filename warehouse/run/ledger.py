"""The bookkeeping of one `warehouse run`: what each (date, stage) must do, its run
record from start to end, and its result in the run's summary."""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

from warehouse.config import Config
from warehouse.errors import (
    EXIT_INPUT_MISSING,
    EXIT_INTERRUPTED,
    EXIT_UNEXPECTED,
    Summary,
    WarehouseError,
    from_oserror,
)
from warehouse.progress import Progress, ProgressEvent
from warehouse.run.records import RUNS_PREFIX, RunRecords, StageRecord, summary_counts, utc_now
from warehouse.run.stale import stale_reason
from warehouse.run.summary import BLOCKED, COMPLETE, FAILED, OK, RunSummary, StageResult
from warehouse.storage import ObjectStore

log = logging.getLogger(__name__)

class Ledger:
    """One invocation of `warehouse run`: its dates and options, the stages that ran, and
    a record per (date, stage) written as each starts and ends."""

    def __init__(
        self, cfg: Config, dates: list[dt.date], store: ObjectStore, *, force: bool,
        progress: Progress | None = None,
    ) -> None:
        self.cfg = cfg
        self.progress = progress
        self.dates = dates
        self.store = store
        self.force = force
        self.ran: set[tuple[dt.date, str]] = set()
        self.results: dict[tuple[dt.date, str], StageResult] = {}
        self.summary = RunSummary(dates, store.uri(RUNS_PREFIX))
        self.records = RunRecords(store)
        self._host = socket.gethostname()

    def record(self, day: dt.date, stage: str) -> StageRecord | None:
        """Return the run record of (day, stage), or None when there is none or it is
        damaged (`RunRecords.get`: one logged line, the stage runs as if it had none)."""
        return self.records.get(day, stage)

    def result(self, day: dt.date, stage: str, status: str, detail: str = "", code: int = 0) -> None:
        """Keep the result of (day, stage) for the summary; the first one advances `progress`."""
        first = (day, stage) not in self.results
        self.results[(day, stage)] = StageResult(day, stage, status, detail, code)
        log.info("%s %s: %s%s", day, stage, status, f" ({detail})" if detail else "")
        if first and self.progress is not None:
            self.progress(ProgressEvent("run", "stages", advance=1, step=f"{day} {stage}"))

    def needs(self, day: dt.date, stage: str, upstream: tuple[str, ...] = ()) -> bool:
        """Return True when (day, stage) must run: forced, upstream re-ran, or not done."""
        if self.force or any((day, u) in self.ran for u in upstream):
            return True
        rec = self.record(day, stage)
        if not (rec and rec.status == OK):
            return True
        why = self._redone_upstream(day, rec, upstream) or stale_reason(self.cfg, day, stage, rec, self.store)
        if why:
            log.info("%s %s: done before, but %s: running it again", day, stage, why)
        return bool(why)

    def _redone_upstream(self, day: dt.date, rec: StageRecord, upstream: tuple[str, ...]) -> str | None:
        """Return why `rec` is older than a stage it depends on (an upstream stage that ended
        "ok" after it started: `run --only parse` after new lines, then `--only aggregate`)."""
        started = rec.started or ""
        for u in upstream:
            up = self.record(day, u)
            if up and up.status == OK and str(up.ended or "") > str(started):
                return f"{u} ran again after it ({up.ended})"
        return None

    def pending(self, day: dt.date, stage: str, upstream: tuple[str, ...]) -> bool:
        """Return True when (day, stage) is to run now; else its result is kept (blocked by
        a failed parse, or complete)."""
        res = self.results.get((day, "parse"))
        if res is not None and res.status in (FAILED, BLOCKED):
            self.result(day, stage, BLOCKED, "parse failed")
            return False
        if not self.needs(day, stage, upstream):
            self.result(day, stage, COMPLETE)
            return False
        return True

    def days_with_events(self, stage: str, upstream: tuple[str, ...]) -> list[tuple[dt.date, list[str]]]:
        """Return (day, the partitions its parse touched) for each date `stage` runs for
        over the day's events; the other dates get their result here (blocked, complete,
        no events to read, or no events that day)."""
        todo: list[tuple[dt.date, list[str]]] = []
        for day in self.dates:
            if not self.pending(day, stage, upstream):
                continue
            parts = self._touched(day)
            if parts is None:
                self._missing_events(day, stage)
            elif not parts:  # an empty log (or only rejects): nothing to register or run
                self.end(day, self.start(day, StageRecord(stage, partitions=[])),
                         detail="no events that day")
            else:
                todo.append((day, parts))
        return todo

    def start(self, day: dt.date, rec: StageRecord) -> StageRecord:
        """Return `rec`, the new record of (day, rec.stage), made "running" and written."""
        rec.date, rec.status, rec.started = day.isoformat(), "running", utc_now()
        rec.host, rec.pid, rec.t0 = self._host, os.getpid(), time.monotonic()
        self.save(day, rec)
        self.ran.add((day, rec.stage))
        return rec

    def save(self, day: dt.date, rec: StageRecord) -> None:
        """Write `rec` (`RunRecords.put`: one that cannot be written is logged, not raised)."""
        self.records.put(day, rec)

    def end(
        self, day: dt.date, rec: StageRecord, *, error: str | None = None, code: int = 0,
        summary: Summary | None = None, detail: str = "",
    ) -> None:
        """Close `rec` (failed when `code`, else ok), write it and keep its result."""
        rec.ended = utc_now()
        rec.seconds = round(time.monotonic() - rec.t0, 3)
        rec.exit_code = code
        rec.status = FAILED if code else OK
        rec.error = error
        if summary is not None:
            rec.summary = summary.line()
            rec.counts = summary_counts(summary)
        self.save(day, rec)
        if code:
            self.result(day, rec.stage, FAILED, error or "", code)
        else:
            self.result(day, rec.stage, OK, detail)

    @contextmanager
    def recording(self, recs: list[tuple[dt.date, StageRecord]]) -> Iterator[None]:
        """Close the records as failed when the block raises (unexpected errors re-raised)."""
        try:
            yield
        except WarehouseError as err:
            self._fail(recs, str(err), err.exit_code)
        except OSError as exc:
            full = from_oserror(exc, str(exc.filename or "the stage's files"))
            if full is None:
                self._fail(recs, f"unexpected {type(exc).__name__}: {exc}", EXIT_UNEXPECTED)
                raise
            self._fail(recs, str(full), full.exit_code)
        except KeyboardInterrupt:  # Ctrl-C: not done (the next run redoes it), not a bug
            open_recs = [(day, rec) for day, rec in recs if rec.ended is None]
            self._fail(open_recs, "interrupted (Ctrl-C)", EXIT_INTERRUPTED)
            raise
        except BaseException as exc:
            self._fail(recs, f"unexpected {type(exc).__name__}: {exc}", EXIT_UNEXPECTED)
            raise

    def _fail(self, recs: list[tuple[dt.date, StageRecord]], error: str, code: int) -> None:
        for day, rec in recs:
            self.end(day, rec, error=error, code=code)

    def _touched(self, day: dt.date) -> list[str] | None:
        """Return the partitions that day's parse touched (or [day] when only events exist)."""
        rec = self.record(day, "parse")
        if rec and rec.status == OK:
            return list(rec.partitions or [])
        if any(True for _ in self.store.list(f"events/dt={day.isoformat()}/")):
            return [day.isoformat()]
        return None

    def _missing_events(self, day: dt.date, stage: str) -> None:
        where = self.store.uri(f"events/dt={day.isoformat()}/")
        self.result(
            day, stage, FAILED,
            f"no parse record and no events at {where}; run `warehouse run --date {day} "
            "--only parse` first", EXIT_INPUT_MISSING,
        )
