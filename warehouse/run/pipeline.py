"""The nightly run: parse a day's logs, register events, aggregate, import MySQL, reports.

Stages run stage by stage over the requested dates (a backfill parses every date first,
then aggregates the union of the dates the parses touched once per job). Each (date,
stage) writes a run record to `ROOT/_state/runs/<date>/<stage>.json`:

    {"stage", "date", "status": "running" | "ok" | "failed" | "skipped", "started",
     "ended", "seconds", "exit_code", "summary", "error", "counts", "partitions", ...}

A stage whose record says "ok" is skipped on a re-run unless `--force`, or unless a
stage it depends on ran again in this invocation (a re-parsed day is re-aggregated).
A record left "running" by a killed run counts as not done. The aggregate stage also
records each job as it finishes, so a run killed half-way resumes with the jobs that
had not finished (their outputs replace the partitions, so the result is the same).

The events stage registers the touched `events` partitions and the day's `access_raw`
partition (the raw log folder of that day, when `[logs] input` names a folder per day).
Dependencies: events and aggregate need that day's parse; import needs nothing (it
copies MySQL's current state, so a backfill imports once, for its last date).
The reports stage materialises `[hive] reports` for each date (after aggregate and
import, which it re-runs after); it needs that day's parse.
Stages whose section is absent ([hive], [mysql.*], [hive] reports) are skipped and said so.
"""

from __future__ import annotations

import datetime as dt
import errno
import logging
import os
import re
import socket
import string
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from warehouse.config import Config
from warehouse.errors import (
    EXIT_INPUT_MISSING,
    ConfigError,
    SourceUnavailable,
    Summary,
    WarehouseError,
    combined_exit_code,
)
from warehouse.lock import run_lock
from warehouse.run.records import (
    RUNS_PREFIX,
    read_record,
    summary_counts,
    utc_now,
    write_record,
)
from warehouse.run.summary import (
    BLOCKED,
    COMPLETE,
    FAILED,
    OK,
    SKIPPED,
    STAGES,
    RunSummary,
    StageResult,
)
from warehouse.storage import ObjectStore, store_for_config

if TYPE_CHECKING:
    from warehouse.hive.summary import HiveSummary

log = logging.getLogger(__name__)

_FULL_DISK = (errno.ENOSPC, errno.EDQUOT)

# ---------------------------------------------------------------------------------------
# stage outcomes


S = TypeVar("S", bound=Summary)


class _StageFailed(WarehouseError):
    """A flow returned a summary with a non-zero exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _check(summary: S) -> S:
    """Return `summary`, or raise _StageFailed when its exit code is not 0."""
    if summary.exit_code:
        raise _StageFailed(summary.line(), summary.exit_code)
    return summary


# ---------------------------------------------------------------------------------------
# the run


def _job_dates(job: str, partitions: list[str]) -> list[dt.date]:
    """Return the dates to aggregate for touched partitions.

    A job that reads neighbouring days (sessions: a session crosses midnight) is also
    re-run for the day before each touched date, whose result the new events can change;
    never for later days, which their own nights produce.
    """
    from warehouse.aggregate import input_dates

    days = sorted({dt.date.fromisoformat(p) for p in partitions})
    if not days:
        return []
    return [d for d in input_dates(job, days) if d <= days[-1]]


_STRFTIME_WIDTH = re.compile(r"%[-_0^#]*[1-9]")


def day_input(template: str, day: dt.date) -> str:
    """Return `[logs] input` expanded for `day` ({date:%Y/%m/%d}); raises ConfigError.

    Only `{date}` fields with a strftime spec are allowed: attributes (`{date.foo}`),
    indexes, conversions (`!r`) and padding widths (`%9999Y`) are refused before anything
    is formatted, so a typo cannot raise or allocate gigabytes."""

    def bad(why: str) -> ConfigError:
        return ConfigError(
            f"[logs] input {template!r} cannot be expanded ({why}); use {{date:%Y/%m/%d}}"
        )

    try:
        fields = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise bad(str(exc)) from None
    for _, name, spec, conversion in fields:
        if name is None:
            continue
        if name != "date" or conversion is not None:
            raise bad(f"{{{name}{'!' + conversion if conversion else ''}}} is not {{date}}")
        if "{" in (spec or "") or _STRFTIME_WIDTH.search(spec or ""):
            raise bad(f"format spec {spec!r} is not a plain strftime pattern")
    moment = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    try:
        return template.format(date=moment)
    except (KeyError, IndexError, ValueError, AttributeError, TypeError, OverflowError) as exc:
        raise bad(str(exc)) from None


def run_nightly(
    cfg: Config,
    dates: list[dt.date],
    *,
    only: str | None = None,
    force: bool = False,
    store: ObjectStore | None = None,
) -> RunSummary:
    """Run the stages for `dates` under the run lock; raises RunInProgress, ConfigError."""
    if not dates:
        raise ConfigError("warehouse run needs at least one date")
    if only is not None and only not in STAGES:
        raise ConfigError(f"--only {only!r}: choose one of {', '.join(STAGES)}")
    store = store or store_for_config(cfg)
    with run_lock(cfg.cron.lock_file):
        store.check_root()  # a missing bucket or a hung endpoint: fail before any stage
        night = _Night(cfg, sorted(set(dates)), store, only=only, force=force)
        night.run()
        return night.summary


class _Night:
    """One invocation of `warehouse run`: the stages over the dates, and their records."""

    def __init__(
        self, cfg: Config, dates: list[dt.date], store: ObjectStore, *, only: str | None, force: bool
    ) -> None:
        self.cfg = cfg
        self.dates = dates
        self.store = store
        self.only = only
        self.force = force
        self.ran: set[tuple[dt.date, str]] = set()
        self.results: dict[tuple[dt.date, str], StageResult] = {}
        self.summary = RunSummary(dates, store.uri(RUNS_PREFIX))
        self._host = socket.gethostname()
        self._catalog_down: SourceUnavailable | None = None

    def _hive(self, call: Callable[..., S], *args: Any) -> S:
        """Return `call(cfg, *args)` (a catalog flow); once the catalog (HiveServer2 or
        Glue) failed to answer in this run, fail at once instead of waiting for its
        timeouts again: the error, naming the catalog, is repeated."""
        from warehouse.hive.client import HiveUnavailable
        from warehouse.hive.glue import GlueUnavailable

        if self._catalog_down is not None:
            down = self._catalog_down
            raise type(down)(f"{down} (earlier in this run; not tried again)")
        try:
            return call(self.cfg, *args)
        except (HiveUnavailable, GlueUnavailable) as err:
            self._catalog_down = err
            raise

    def _register(self, table: str, partitions: list[Any]) -> HiveSummary:
        """Register partitions in the catalog (see `_hive`)."""
        from warehouse.hive.partitions import register_partitions

        return self._hive(register_partitions, table, partitions)

    # -- bookkeeping ---------------------------------------------------------------------

    def run(self) -> None:
        for stage in STAGES:
            if self.only in (None, stage):
                getattr(self, f"_stage_{stage}")()
        self.summary.results = [
            self.results[(d, s)] for s in STAGES for d in self.dates if (d, s) in self.results
        ]

    def _result(self, day: dt.date, stage: str, status: str, detail: str = "", code: int = 0) -> None:
        self.results[(day, stage)] = StageResult(day, stage, status, detail, code)
        log.info("%s %s: %s%s", day, stage, status, f" ({detail})" if detail else "")

    def _needs(self, day: dt.date, stage: str, upstream: tuple[str, ...] = ()) -> bool:
        """Return True when (day, stage) must run: forced, upstream re-ran, or not done."""
        if self.force or any((day, u) in self.ran for u in upstream):
            return True
        rec = read_record(self.store, day, stage)
        return not (rec and rec.get("status") == OK)

    def _start(self, day: dt.date, stage: str, **extra: Any) -> dict[str, Any]:
        rec: dict[str, Any] = {
            "stage": stage,
            "date": day.isoformat(),
            "status": "running",
            "started": utc_now(),
            "ended": None,
            "seconds": None,
            "exit_code": None,
            "summary": None,
            "error": None,
            "host": self._host,
            "pid": os.getpid(),
            "_t0": time.monotonic(),
        }
        rec.update(extra)
        self._save(day, rec)
        self.ran.add((day, stage))
        return rec

    def _save(self, day: dt.date, rec: dict[str, Any]) -> None:
        # a record that cannot be written (full disk, S3 down) must not hide the stage's
        # own outcome: the stage fails or succeeds on its work, the summary still prints
        try:
            write_record(self.store, day, rec)
        except WarehouseError as err:
            log.warning("run record of %s %s not saved: %s", day, rec["stage"], err)

    def _end(
        self, day: dt.date, rec: dict[str, Any], *, error: str | None = None, code: int = 0,
        summary: Summary | None = None, detail: str = "",
    ) -> None:
        rec["ended"] = utc_now()
        rec["seconds"] = round(time.monotonic() - rec["_t0"], 3)
        rec["exit_code"] = code
        rec["status"] = FAILED if code else OK
        rec["error"] = error
        if summary is not None:
            rec["summary"] = summary.line()
            rec["counts"] = summary_counts(summary)
        self._save(day, rec)
        if code:
            self._result(day, rec["stage"], FAILED, error or "", code)
        else:
            self._result(day, rec["stage"], OK, detail)

    @contextmanager
    def _recording(self, recs: list[tuple[dt.date, dict[str, Any]]]) -> Iterator[None]:
        """Close the records as failed when the block raises (unexpected errors re-raised)."""
        try:
            yield
        except WarehouseError as err:
            for day, rec in recs:
                self._end(day, rec, error=str(err), code=err.exit_code)
        except OSError as exc:
            if exc.errno not in _FULL_DISK:
                for day, rec in recs:
                    self._end(day, rec, error=f"unexpected {type(exc).__name__}: {exc}", code=1)
                raise
            where = f" ({exc.filename})" if exc.filename else ""
            for day, rec in recs:
                self._end(day, rec, error=f"disk full{where}: {exc.strerror}; free space", code=3)
        except BaseException as exc:
            for day, rec in recs:
                self._end(day, rec, error=f"unexpected {type(exc).__name__}: {exc}", code=1)
            raise

    def _blocked_by_parse(self, day: dt.date, stage: str) -> bool:
        res = self.results.get((day, "parse"))
        if res is not None and res.status in (FAILED, BLOCKED):
            self._result(day, stage, BLOCKED, "parse failed")
            return True
        return False

    def _touched(self, day: dt.date) -> list[str] | None:
        """Return the partitions that day's parse touched (or [day] when only events exist)."""
        rec = read_record(self.store, day, "parse")
        if rec and rec.get("status") == OK:
            return list(rec.get("partitions") or [])
        if any(True for _ in self.store.list(f"events/dt={day.isoformat()}/")):
            return [day.isoformat()]
        return None

    # -- stages --------------------------------------------------------------------------

    def _stage_parse(self) -> None:
        template = self.cfg.logs.input
        for day in self.dates:
            if not self._needs(day, "parse"):
                self._result(day, "parse", COMPLETE)
                continue
            if template is None:
                self._result(
                    day, "parse", FAILED,
                    "[logs] input is not set: name where a day's logs are, e.g. "
                    "s3://logs/access/{date:%Y/%m/%d}/", 2,
                )
                continue
            inp = day_input(template, day)
            # dates an earlier, held parse of the day left standing: the input may have been
            # accepted since (`parse --replace`) and those dates' events removed then
            before = read_record(self.store, day, "parse") or {}
            held = set() if before.get("status") == OK else set(before.get("held_partitions") or [])
            rec = self._start(day, "parse", input=inp)
            with self._recording([(day, rec)]):
                from warehouse.events.parse import parse_logs

                summary = parse_logs(self.cfg, [inp], progress=None)
                rec["held_partitions"] = sorted(held | summary.held_partitions)
                _check(summary)
                rec["partitions"] = sorted(summary.partitions | held)
                self._end(day, rec, summary=summary, detail=f"{len(rec['partitions'])} partitions")

    def _stage_events(self) -> None:
        if not self.cfg.has_catalog:
            for day in self.dates:
                self._result(day, "events", SKIPPED, "no [hive] or [glue] section")
            return
        todo: list[tuple[dt.date, list[str]]] = []
        for day in self.dates:
            if self._blocked_by_parse(day, "events"):
                continue
            if not self._needs(day, "events", ("parse",)):
                self._result(day, "events", COMPLETE)
                continue
            parts = self._touched(day)
            if parts is None:
                self._missing_events(day, "events")
                continue
            if self._no_events(day, "events", parts):
                continue
            todo.append((day, parts))
        if not todo:
            return
        recs = [(day, self._start(day, "events", partitions=parts)) for day, parts in todo]
        with self._recording(recs):
            union = sorted({p for _, parts in todo for p in parts})
            summary = _check(self._register("events", union))
            # access_raw: the day's raw log folder itself (partition = the log's day)
            raw = self._register("access_raw", [day for day, _ in todo])
            if raw.exit_code != EXIT_INPUT_MISSING:  # 4: no per-day log folder; nothing to add
                _check(raw)
            for day, rec in recs:
                rec["access_raw"] = raw.line()
                self._end(day, rec, summary=summary, detail=f"{len(rec['partitions'])} partitions")

    def _no_events(self, day: dt.date, stage: str, parts: list[str]) -> bool:
        """Record (day, stage) done when that day's parse touched no date (an empty log; or
        only rejects, with max_reject_ratio = 1): nothing to register or aggregate, and no
        job runs for no dates (which would fail, exit 4, night after night). Return True
        then."""
        if parts:
            return False
        self._end(day, self._start(day, stage, partitions=[]), detail="no events that day")
        return True

    def _missing_events(self, day: dt.date, stage: str) -> None:
        where = self.store.uri(f"events/dt={day.isoformat()}/")
        self._result(
            day, stage, FAILED,
            f"no parse record and no events at {where}; run `warehouse run --date {day} "
            "--only parse` first", 4,
        )

    def _stage_aggregate(self) -> None:
        jobs = list(self.cfg.aggregate.jobs)
        todo: list[tuple[dt.date, list[str], dict[str, Any]]] = []
        for day in self.dates:
            if self._blocked_by_parse(day, "aggregate"):
                continue
            if not self._needs(day, "aggregate", ("parse",)):
                self._result(day, "aggregate", COMPLETE)
                continue
            parts = self._touched(day)
            if parts is None:
                self._missing_events(day, "aggregate")
                continue
            if self._no_events(day, "aggregate", parts):
                continue
            redo = self.force or (day, "parse") in self.ran
            old = None if redo else read_record(self.store, day, "aggregate")
            done = {
                j: v
                for j, v in ((old or {}).get("jobs") or {}).items()
                if isinstance(v, dict) and v.get("status") == OK and old
                and old.get("partitions") == parts
            }
            rec = self._start(day, "aggregate", partitions=parts, jobs=done)
            if done:
                log.info("%s aggregate: resuming; done before: %s", day, ", ".join(sorted(done)))
            todo.append((day, parts, rec))
        if not todo:
            return
        codes: dict[dt.date, list[tuple[int, str]]] = {day: [] for day, _, _ in todo}
        with self._recording([(day, rec) for day, _, rec in todo]):
            for job in jobs:
                pending = [(d, p, r) for d, p, r in todo if job not in r["jobs"]]
                if not pending:
                    continue
                state = self._run_job(job, _job_dates(job, [x for _, p, _ in pending for x in p]))
                for day, _, rec in pending:
                    rec["jobs"][job] = state
                    if state["status"] != OK:
                        codes[day].append((state["exit_code"], f"{job}: {state['error']}"))
                    self._save(day, rec)
            for day, _, rec in todo:
                if codes[day]:
                    code = combined_exit_code(c for c, _ in codes[day])
                    self._end(day, rec, error="; ".join(m for _, m in codes[day]), code=code)
                else:
                    self._end(day, rec, detail=f"{len(jobs)} jobs")

    def _run_job(self, job: str, days: list[dt.date]) -> dict[str, Any]:
        """Run one aggregate job over `days` and register its output; return its state."""
        from warehouse.aggregate import run_aggregate

        t0 = time.monotonic()
        state: dict[str, Any] = {"started": utc_now(), "dates": [d.isoformat() for d in days]}
        try:
            summary = _check(run_aggregate(self.cfg, job, days, runner=self.cfg.aggregate.runner))
            state.update(summary=summary.line(), counts=summary_counts(summary))
            state["partitions"] = sorted(summary.partitions)
            if self.cfg.has_catalog and summary.partitions:
                reg = _check(self._register(f"agg_{job}", sorted(summary.partitions)))
                state["registered"] = reg.line()
            state.update(status=OK, exit_code=0, error=None)
        except WarehouseError as err:
            log.warning("aggregate %s failed: %s", job, err)
            state.update(status=FAILED, exit_code=err.exit_code, error=str(err))
        state["seconds"] = round(time.monotonic() - t0, 3)
        return state

    def _stage_import(self) -> None:
        if not self.cfg.mysql:
            for day in self.dates:
                self._result(day, "import", SKIPPED, "no [mysql.*] sections")
            return
        *earlier, last = self.dates
        for day in earlier:
            self._result(day, "import", SKIPPED, "a backfill imports once, for its last date")
        if not self._needs(last, "import"):
            self._result(last, "import", COMPLETE)
            return
        from warehouse.mysql.importer import run_import

        rec = self._start(last, "import")
        with self._recording([(last, rec)]):
            summary = _check(run_import(self.cfg, None, progress=None))
            self._end(last, rec, summary=summary)

    def _stage_reports(self) -> None:
        if self.cfg.hive is None or not self.cfg.hive.reports:
            for day in self.dates:
                self._result(day, "reports", SKIPPED, "no [hive] reports folder")
            return
        from warehouse.hive.reports import run_reports

        for day in self.dates:
            if self._blocked_by_parse(day, "reports"):
                continue
            if not self._needs(day, "reports", ("parse", "events", "aggregate", "import")):
                self._result(day, "reports", COMPLETE)
                continue
            rec = self._start(day, "reports")
            with self._recording([(day, rec)]):
                summary = _check(self._hive(run_reports, day))
                rec["tables"] = summary.done
                self._end(day, rec, summary=summary, detail=f"{len(summary.done)} reports")
