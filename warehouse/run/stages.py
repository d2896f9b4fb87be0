"""The stages of `warehouse run`, each over the night's dates: parse, events, aggregate,
parquet, import, reports (what each needs and skips: `warehouse.run.pipeline`). `STAGES`
is their table, in run order: what each runs, what it depends on, when its section is
absent; the run and `warehouse status` read it.

A catalog outage (HiveServer2 or Glue not answering) met by any stage, the import's
registrar included, ends catalog calls for the rest of the run
(`warehouse.hive.outage.CatalogWatch`): later registrations, the import's tables (before
their export) and the reports fail at once with that error, exit 3.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from warehouse.config import Config
from warehouse.errors import (
    EXIT_CONFIG,
    EXIT_INPUT_MISSING,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_UNEXPECTED,
    Summary,
    WarehouseError,
    combined_exit_code,
)
from warehouse.hive.outage import CatalogWatch
from warehouse.progress import Progress, ProgressEvent
from warehouse.run.dates import day_input, job_dates
from warehouse.run.ledger import Ledger
from warehouse.run.records import ABSENT, JobRecord, StageRecord, summary_counts, utc_now
from warehouse.run.renames import find_renames
from warehouse.run.stale import input_fingerprint
from warehouse.run.summary import COMPLETE, FAILED, OK, SKIPPED, RunSummary
from warehouse.storage import ObjectStore
from warehouse.textfmt import count

if TYPE_CHECKING:
    from warehouse.hive.summary import HiveSummary

log = logging.getLogger(__name__)

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


def _always(cfg: Config) -> str | None:
    return None


@dataclass(frozen=True)
class Stage:
    """One stage of the nightly run: `fn` runs it over the night's dates; `needs` are the
    stages it depends on (it runs again when one of them ran again since its record);
    `unconfigured` says why it has nothing to do under a config (its section is absent)."""

    fn: Callable[[Night], None]
    needs: tuple[str, ...] = ()
    unconfigured: Callable[[Config], str | None] = _always


def unconfigured(cfg: Config, stage: str) -> str | None:
    """Return why `stage` has nothing to do under `cfg` (its section is absent), else None."""
    return STAGE_TABLE[stage].unconfigured(cfg)


class Night:
    """The stages of one `warehouse run`, run in order by `run()`; its bookkeeping is
    `ledger`, its catalog outage `catalog`."""

    def __init__(
        self, cfg: Config, dates: list[dt.date], store: ObjectStore, *, only: str | None,
        force: bool, progress: Progress | None = None,
    ) -> None:
        self.cfg = cfg
        self.only = only
        self.ledger = Ledger(cfg, dates, store, force=force, progress=progress)
        self.catalog = CatalogWatch()

    @property
    def summary(self) -> RunSummary:
        """Return the run's summary (its results once `run()` returned or raised)."""
        return self.ledger.summary

    def run(self) -> None:
        """Run the selected stages over the dates; their results go to `summary`.

        `progress` gets "run" with a total of dates x stages first, then one stage per
        (date, stage) result (`Ledger.result`), then the final event."""
        led = self.ledger
        names = [s for s in STAGES if self.only in (None, s)]
        if led.progress is not None:
            led.progress(ProgressEvent("run", "stages", total=len(led.dates) * len(names)))
        try:
            for name in names:
                why = unconfigured(self.cfg, name)
                if why is not None:  # its section is absent: said so, for every date
                    for day in led.dates:
                        led.result(day, name, SKIPPED, why)
                    continue
                try:
                    STAGE_TABLE[name].fn(self)
                except Exception as exc:  # a late config error or a bug: the others go on
                    self._unexpected(name, exc)
        finally:  # also on Ctrl-C: the summary holds what finished
            led.summary.results = [
                led.results[(d, s)] for s in STAGES for d in led.dates if (d, s) in led.results
            ]
            if led.progress is not None:
                led.progress(ProgressEvent("run", "stages", final=True))

    def _unexpected(self, stage: str, exc: Exception) -> None:
        """An error that escaped `stage`: fail that stage for the dates it had not finished
        and let the other stages and the summary line go on. A WarehouseError (a config
        error found late, a source down) keeps its message and exit code; anything else is
        a bug: its traceback is logged and the dates get exit 1."""
        if isinstance(exc, WarehouseError):
            error, code = str(exc), exc.exit_code
        else:
            log.error("%s stage: unexpected %s", stage, type(exc).__name__, exc_info=exc)
            error, code = f"unexpected {type(exc).__name__}: {exc}", EXIT_UNEXPECTED
        for day in self.ledger.dates:
            if (day, stage) not in self.ledger.results:
                self.ledger.result(day, stage, FAILED, error, code)

    def pending(self, day: dt.date, stage: str) -> bool:
        """Return True when (day, stage) is to run now (`Ledger.pending`, by its needs)."""
        return self.ledger.pending(day, stage, STAGE_TABLE[stage].needs)

    def days_with_events(self, stage: str) -> list[tuple[dt.date, list[str]]]:
        """Return the dates `stage` runs for, each with its parse's partitions
        (`Ledger.days_with_events`, by its needs)."""
        return self.ledger.days_with_events(stage, STAGE_TABLE[stage].needs)

    # -- the catalog ---------------------------------------------------------------------

    def hive(self, call: Callable[..., S], *args: Any) -> S:
        """Return `call(cfg, *args)` (a catalog flow); once the catalog (HiveServer2 or
        Glue) failed to answer in this run, fail at once instead of waiting for its
        timeouts again: the error, naming the catalog, is repeated."""
        return self.catalog.call(call, self.cfg, *args)

    def register(self, table: str, partitions: list[Any]) -> HiveSummary:
        """Register partitions in the catalog (see `hive`)."""
        from warehouse.hive.partitions import register_partitions

        return self.hive(register_partitions, table, partitions)


# -- stages ------------------------------------------------------------------------------


def _parse(night: Night) -> None:
    template = night.cfg.logs.input
    for day in night.ledger.dates:
        if not night.pending(day, "parse"):
            continue
        if template is None:
            night.ledger.result(
                day, "parse", FAILED,
                "[logs] input is not set: name where a day's logs are, e.g. "
                "s3://logs/access/{date:%Y/%m/%d}/", EXIT_CONFIG,
            )
            continue
        _parse_day(night, day, day_input(template, day))


def _parse_day(night: Night, day: dt.date, inp: str) -> None:
    led = night.ledger
    # dates an earlier, held parse of the day left standing: the input may have been
    # accepted since (`parse --replace`) and those dates' events removed then
    before = led.record(day, "parse") or StageRecord("parse")
    held = set() if before.status == OK else set(before.held_partitions or [])
    # kept by this record too, whatever happens to this parse (an outage, a kill)
    # the earlier inputs and identities stay until this parse's replace them (a run
    # killed in between must not lose which file is which); null when it had none
    rec = led.start(day, StageRecord(
        "parse", input=inp, held_partitions=sorted(held),
        inputs=None if before.inputs is ABSENT else before.inputs,
        renamed=None if before.renamed is ABSENT else before.renamed,
    ))
    with led.recording([(day, rec)]):
        from warehouse.events.parse import ParseRequest, parse_logs

        # what the input held before this parse read it: a log that grows later
        # (late lines, a file added) is parsed again by the next run
        renamed = find_renames(night.cfg, led.store, day, before, inp)
        rec.inputs = input_fingerprint(night.cfg, inp)
        rec.renamed = renamed
        led.save(day, rec)
        summary = parse_logs(night.cfg, ParseRequest([inp], renamed=renamed))
        rec.held_partitions = sorted(held | summary.held_partitions)
        _check(summary)
        rec.partitions = sorted(summary.partitions | held)
        led.end(day, rec, summary=summary, detail=count(len(rec.partitions), "partition"))


def _events(night: Night) -> None:
    led = night.ledger
    todo = night.days_with_events("events")
    if not todo:
        return
    recs = [(day, led.start(day, StageRecord("events", partitions=parts))) for day, parts in todo]
    with led.recording(recs):
        union = sorted({p for _, parts in todo for p in parts})
        summary = _check(night.register("events", union))
        # access_raw: the day's raw log folder itself (partition = the log's day)
        raw = night.register("access_raw", [day for day, _ in todo])
        if raw.exit_code != EXIT_INPUT_MISSING:  # no per-day log folder; nothing to add
            _check(raw)
        for day, rec in recs:
            rec.access_raw = raw.line()
            led.end(day, rec, summary=summary, detail=count(len(rec.partitions or []), "partition"))


def _aggregate(night: Night) -> None:
    todo = [(day, parts, _resume(night, day, parts))
            for day, parts in night.days_with_events("aggregate")]
    if todo:
        if night.cfg.events.parquet:
            _fill_copies(night, todo)
        _run_jobs(night, todo)


def _fill_copies(night: Night, todo: list[tuple[dt.date, list[str], StageRecord]]) -> None:
    """Write the missing Parquet copies of the jobs done before ([events] parquet turned on
    since: `warehouse.run.stale`) from their JSON parts, without running them again, and
    register them in `agg_<job>`. A job whose copy cannot be written (a damaged part, the
    catalog down) is run again instead: its publish writes both."""
    from warehouse.aggregate.backfill import copy_missing
    from warehouse.run.stale import copy_dates

    for job in night.cfg.aggregate.jobs:
        done = [(day, rec) for day, _, rec in todo if job in rec.jobs_dict()]
        dates = sorted({p for _, rec in done for p in copy_dates(rec, job)})
        if not dates:
            continue
        try:
            written = copy_missing(night.ledger.store, job, dates)
            if written and night.cfg.has_catalog:
                _check(night.register(f"agg_{job}", written))
        except WarehouseError as err:
            log.warning("aggregate %s: Parquet copies not written (%s): running it again", job, err)
            for _, rec in done:
                del rec.jobs_dict()[job]
            continue
        if written:
            log.info("aggregate %s: Parquet copy of %s written from the JSON parts", job,
                     ", ".join(written))


def _resume(night: Night, day: dt.date, parts: list[str]) -> StageRecord:
    """Return the started aggregate record of `day`, with the jobs done before that still
    hold (unless forced or the day was parsed again in this run)."""
    led = night.ledger
    redo = led.force or (day, "parse") in led.ran
    old = None if redo else led.record(day, "aggregate")
    # a job done before counts only when it ran on the events of the day's last
    # parse (a parse by `--only parse` since, after late lines, makes it stale;
    # the same millisecond is the same run: its jobs start after its parses)
    parse = led.record(day, "parse")
    parsed = str((parse.ended if parse else None) or "")
    done = {
        j: v
        for j, v in ((old.jobs if old else None) or {}).items()
        if v.status == OK and old
        and old.partitions == parts and str(v.started or "") >= parsed
    }
    rec = led.start(day, StageRecord("aggregate", partitions=parts, jobs=done))
    if done:
        log.info("%s aggregate: resuming; done before: %s", day, ", ".join(sorted(done)))
    return rec


def _run_jobs(night: Night, todo: list[tuple[dt.date, list[str], StageRecord]]) -> None:
    """Run each job once over the union of the dates of the days in `todo` that have not
    done it, recording it in each day's record as it ends; then end the records."""
    led, jobs = night.ledger, list(night.cfg.aggregate.jobs)
    codes: dict[dt.date, list[tuple[int, str]]] = {day: [] for day, _, _ in todo}
    with led.recording([(day, rec) for day, _, rec in todo]):
        for job in jobs:
            pending = [(d, p, r) for d, p, r in todo if job not in r.jobs_dict()]
            if not pending:
                continue
            state = _run_job(night, job, job_dates(job, [x for _, p, _ in pending for x in p]))
            for day, _, rec in pending:
                rec.jobs_dict()[job] = state
                if state.status != OK:
                    codes[day].append((state.exit_code or 0, f"{job}: {state.error}"))
                led.save(day, rec)
        for day, _, rec in todo:
            if codes[day]:
                code = combined_exit_code(c for c, _ in codes[day])
                led.end(day, rec, error="; ".join(m for _, m in codes[day]), code=code)
            else:
                led.end(day, rec, detail=count(len(jobs), "job"))


def _run_job(night: Night, job: str, days: list[dt.date]) -> JobRecord:
    """Run one aggregate job over `days` and register its output; return its record."""
    from warehouse.aggregate import run_aggregate

    cfg = night.cfg
    t0 = time.monotonic()
    state = JobRecord(started=utc_now(), dates=[d.isoformat() for d in days])
    try:
        summary = _check(run_aggregate(cfg, job, days, runner=cfg.aggregate.runner))
        state.summary, state.counts = summary.line(), summary_counts(summary)
        state.partitions = sorted(summary.partitions)
        if cfg.has_catalog and summary.partitions:
            reg = _check(night.register(f"agg_{job}", sorted(summary.partitions)))
            state.registered = reg.line()
        state.status, state.exit_code, state.error = OK, EXIT_OK, None
    except WarehouseError as err:
        log.warning("aggregate %s failed: %s", job, err)
        state.status, state.exit_code, state.error = FAILED, err.exit_code, str(err)
    state.seconds = round(time.monotonic() - t0, 3)
    return state


def _parquet(night: Night) -> None:
    """The Parquet copy of the dates each day's parse touched ([events] parquet): a
    date whose JSON events are unchanged keeps its copy; written dates are registered
    in `events_parquet`."""
    led = night.ledger
    todo = night.days_with_events("parquet")
    if not todo:
        return
    from warehouse.events.compact import compact_events

    recs = [(day, led.start(day, StageRecord("parquet", partitions=parts))) for day, parts in todo]
    with led.recording(recs):
        union = sorted({dt.date.fromisoformat(p) for _, parts in todo for p in parts})
        summary = _check(compact_events(night.cfg, union, store=led.store, force=led.force))
        written = [d.day.isoformat() for d in summary.days if d.status == "written"]
        registered = None
        if night.cfg.has_catalog and written:
            registered = _check(night.register("events_parquet", written)).line()
        for day, rec in recs:
            rec.registered = registered
            led.end(day, rec, summary=summary, detail=count(len(rec.partitions or []), "partition"))


def _import(night: Night) -> None:
    led = night.ledger
    *earlier, last = led.dates
    for day in earlier:
        led.result(day, "import", SKIPPED, "a backfill imports once, for its last date")
    if not led.needs(last, "import"):  # not blocked by a failed parse: it copies MySQL
        led.result(last, "import", COMPLETE)
        return
    from warehouse.mysql.importer import run_import

    rec = led.start(last, StageRecord("import"))
    with led.recording([(last, rec)]):
        # the import's registrar shares this run's catalog outage with the other stages
        summary = run_import(night.cfg, None, progress=None, catalog=night.catalog)
        if summary.interrupted:  # Ctrl-C: the finished tables are kept, the run stops
            led.end(last, rec, error="interrupted (Ctrl-C)", code=EXIT_INTERRUPTED,
                    summary=summary)
            raise KeyboardInterrupt
        led.end(last, rec, summary=_check(summary))


def _reports(night: Night) -> None:
    from warehouse.hive.reports import run_reports

    led = night.ledger
    views = True  # the reports read [hive] views: (re)create them once, before the first
    for day in led.dates:
        if not night.pending(day, "reports"):
            continue
        rec = led.start(day, StageRecord("reports"))
        with led.recording([(day, rec)]):
            summary = _check(night.hive(run_reports, day, views))
            views = False
            rec.tables = summary.done
            led.end(day, rec, summary=summary, detail=count(len(summary.done), "report"))


def _no_catalog(cfg: Config) -> str | None:
    return None if cfg.has_catalog else "no [hive] or [glue] section"


def _no_parquet(cfg: Config) -> str | None:
    return None if cfg.events.parquet else "[events] parquet is off"


def _no_mysql(cfg: Config) -> str | None:
    return None if cfg.mysql else "no [mysql.*] sections"


def _no_reports(cfg: Config) -> str | None:
    return None if cfg.hive is not None and cfg.hive.reports else "no [hive] reports folder"


# the stages in run order (`warehouse run --only NAME` names one)
STAGE_TABLE: dict[str, Stage] = {
    "parse": Stage(_parse),
    "events": Stage(_events, ("parse",), _no_catalog),
    "aggregate": Stage(_aggregate, ("parse",)),
    "parquet": Stage(_parquet, ("parse",), _no_parquet),
    "import": Stage(_import, (), _no_mysql),
    "reports": Stage(_reports, ("parse", "events", "aggregate", "parquet", "import"), _no_reports),
}
STAGES = tuple(STAGE_TABLE)
