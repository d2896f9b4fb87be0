"""The stages of `warehouse run`, each over the night's dates: parse, events, aggregate,
parquet, import, reports (what each needs and skips: `warehouse.run.pipeline`).

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
from typing import TYPE_CHECKING, Any, TypeVar

from warehouse.config import Config
from warehouse.errors import (
    EXIT_INPUT_MISSING,
    EXIT_INTERRUPTED,
    Summary,
    WarehouseError,
    combined_exit_code,
)
from warehouse.hive.outage import CatalogWatch
from warehouse.progress import Progress, ProgressEvent
from warehouse.run.dates import day_input, job_dates
from warehouse.run.ledger import Ledger
from warehouse.run.records import summary_counts, utc_now
from warehouse.run.renames import find_renames
from warehouse.run.stale import input_fingerprint
from warehouse.run.summary import COMPLETE, FAILED, NEEDS, OK, SKIPPED, STAGES, unconfigured
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


class Night(Ledger):
    """The stages of one `warehouse run`, run in order by `run()`."""

    def __init__(
        self, cfg: Config, dates: list[dt.date], store: ObjectStore, *, only: str | None,
        force: bool, progress: Progress | None = None,
    ) -> None:
        super().__init__(cfg, dates, store, only=only, force=force, progress=progress)
        self.catalog = CatalogWatch()

    def run(self) -> None:
        """Run the selected stages over the dates; their results go to `summary`.

        `progress` gets "run" with a total of dates x stages first, then one stage per
        (date, stage) result (`Ledger._result`), then the final event."""
        stages = [s for s in STAGES if self.only in (None, s)]
        if self.progress is not None:
            self.progress(ProgressEvent("run", "stages", total=len(self.dates) * len(stages)))
        try:
            for stage in stages:
                why = unconfigured(self.cfg, stage)
                if why is not None:  # its section is absent: said so, for every date
                    for day in self.dates:
                        self._result(day, stage, SKIPPED, why)
                    continue
                try:
                    getattr(self, f"_stage_{stage}")()
                except Exception as exc:  # a late config error or a bug: the others go on
                    self._unexpected(stage, exc)
        finally:  # also on Ctrl-C: the summary holds what finished
            self.summary.results = [
                self.results[(d, s)] for s in STAGES for d in self.dates if (d, s) in self.results
            ]
            if self.progress is not None:
                self.progress(ProgressEvent("run", "stages", final=True))

    def _unexpected(self, stage: str, exc: Exception) -> None:
        """An error that escaped `stage`: fail that stage for the dates it had not finished
        and let the other stages and the summary line go on. A WarehouseError (a config
        error found late, a source down) keeps its message and exit code; anything else is
        a bug: its traceback is logged and the dates get exit 1."""
        if isinstance(exc, WarehouseError):
            error, code = str(exc), exc.exit_code
        else:
            log.error("%s stage: unexpected %s", stage, type(exc).__name__, exc_info=exc)
            error, code = f"unexpected {type(exc).__name__}: {exc}", 1
        for day in self.dates:
            if (day, stage) not in self.results:
                self._result(day, stage, FAILED, error, code)

    # -- the catalog ---------------------------------------------------------------------

    def _hive(self, call: Callable[..., S], *args: Any) -> S:
        """Return `call(cfg, *args)` (a catalog flow); once the catalog (HiveServer2 or
        Glue) failed to answer in this run, fail at once instead of waiting for its
        timeouts again: the error, naming the catalog, is repeated."""
        return self.catalog.call(call, self.cfg, *args)

    def _register(self, table: str, partitions: list[Any]) -> HiveSummary:
        """Register partitions in the catalog (see `_hive`)."""
        from warehouse.hive.partitions import register_partitions

        return self._hive(register_partitions, table, partitions)

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
            before = self._record(day, "parse") or {}
            held = set() if before.get("status") == OK else set(before.get("held_partitions") or [])
            # kept by this record too, whatever happens to this parse (an outage, a kill)
            # the earlier inputs and identities stay until this parse's replace them (a run
            # killed in between must not lose which file is which)
            rec = self._start(
                day, "parse", input=inp, held_partitions=sorted(held),
                inputs=before.get("inputs"), renamed=before.get("renamed"),
            )
            with self._recording([(day, rec)]):
                from warehouse.events.parse import ParseRequest, parse_logs

                # what the input held before this parse read it: a log that grows later
                # (late lines, a file added) is parsed again by the next run
                renamed = find_renames(self.cfg, self.store, day, before, inp)
                rec["inputs"] = input_fingerprint(self.cfg, inp)
                rec["renamed"] = renamed
                self._save(day, rec)
                summary = parse_logs(self.cfg, ParseRequest([inp], renamed=renamed))
                rec["held_partitions"] = sorted(held | summary.held_partitions)
                _check(summary)
                rec["partitions"] = sorted(summary.partitions | held)
                self._end(day, rec, summary=summary, detail=count(len(rec["partitions"]), "partition"))

    def _stage_events(self) -> None:
        todo: list[tuple[dt.date, list[str]]] = []
        for day in self.dates:
            if self._blocked_by_parse(day, "events"):
                continue
            if not self._needs(day, "events", NEEDS["events"]):
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
                self._end(day, rec, summary=summary, detail=count(len(rec["partitions"]), "partition"))

    def _stage_aggregate(self) -> None:
        jobs = list(self.cfg.aggregate.jobs)
        todo: list[tuple[dt.date, list[str], dict[str, Any]]] = []
        for day in self.dates:
            if self._blocked_by_parse(day, "aggregate"):
                continue
            if not self._needs(day, "aggregate", NEEDS["aggregate"]):
                self._result(day, "aggregate", COMPLETE)
                continue
            parts = self._touched(day)
            if parts is None:
                self._missing_events(day, "aggregate")
                continue
            if self._no_events(day, "aggregate", parts):
                continue
            redo = self.force or (day, "parse") in self.ran
            old = None if redo else self._record(day, "aggregate")
            # a job done before counts only when it ran on the events of the day's last
            # parse (a parse by `--only parse` since, after late lines, makes it stale;
            # the same millisecond is the same run: its jobs start after its parses)
            parsed = str((self._record(day, "parse") or {}).get("ended") or "")
            done = {
                j: v
                for j, v in ((old or {}).get("jobs") or {}).items()
                if isinstance(v, dict) and v.get("status") == OK and old
                and old.get("partitions") == parts and str(v.get("started") or "") >= parsed
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
                state = self._run_job(job, job_dates(job, [x for _, p, _ in pending for x in p]))
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
                    self._end(day, rec, detail=count(len(jobs), "job"))

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

    def _stage_parquet(self) -> None:
        """The Parquet copy of the dates each day's parse touched ([events] parquet): a
        date whose JSON events are unchanged keeps its copy; written dates are registered
        in `events_parquet`."""
        todo: list[tuple[dt.date, list[str]]] = []
        for day in self.dates:
            if self._blocked_by_parse(day, "parquet"):
                continue
            if not self._needs(day, "parquet", NEEDS["parquet"]):
                self._result(day, "parquet", COMPLETE)
                continue
            parts = self._touched(day)
            if parts is None:
                self._missing_events(day, "parquet")
                continue
            if self._no_events(day, "parquet", parts):
                continue
            todo.append((day, parts))
        if not todo:
            return
        from warehouse.events.compact import compact_events

        recs = [(day, self._start(day, "parquet", partitions=parts)) for day, parts in todo]
        with self._recording(recs):
            union = sorted({dt.date.fromisoformat(p) for _, parts in todo for p in parts})
            summary = _check(compact_events(self.cfg, union, store=self.store, force=self.force))
            written = [d.day.isoformat() for d in summary.days if d.status == "written"]
            registered = None
            if self.cfg.has_catalog and written:
                registered = _check(self._register("events_parquet", written)).line()
            for day, rec in recs:
                rec["registered"] = registered
                self._end(day, rec, summary=summary, detail=count(len(rec["partitions"]), "partition"))

    def _stage_import(self) -> None:
        *earlier, last = self.dates
        for day in earlier:
            self._result(day, "import", SKIPPED, "a backfill imports once, for its last date")
        if not self._needs(last, "import"):
            self._result(last, "import", COMPLETE)
            return
        from warehouse.mysql.importer import run_import

        rec = self._start(last, "import")
        with self._recording([(last, rec)]):
            # the import's registrar shares this run's catalog outage with the other stages
            summary = run_import(self.cfg, None, progress=None, catalog=self.catalog)
            if summary.interrupted:  # Ctrl-C: the finished tables are kept, the run stops
                self._end(last, rec, error="interrupted (Ctrl-C)", code=EXIT_INTERRUPTED,
                          summary=summary)
                raise KeyboardInterrupt
            self._end(last, rec, summary=_check(summary))

    def _stage_reports(self) -> None:
        from warehouse.hive.reports import run_reports

        views = True  # the reports read [hive] views: (re)create them once, before the first
        for day in self.dates:
            if self._blocked_by_parse(day, "reports"):
                continue
            if not self._needs(day, "reports", NEEDS["reports"]):
                self._result(day, "reports", COMPLETE)
                continue
            rec = self._start(day, "reports")
            with self._recording([(day, rec)]):
                summary = _check(self._hive(run_reports, day, views))
                views = False
                rec["tables"] = summary.done
                self._end(day, rec, summary=summary, detail=count(len(summary.done), "report"))
