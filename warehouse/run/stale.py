"""When a stage's "ok" run record no longer covers the work: the day's logs changed since
its parse (late lines, a file added), or the config asks for more than was done (a job
added to `[aggregate] jobs`, a report added to `[hive] reports`). Without this, the
nightly catch-up would skip such a day as complete, and the new work would never be done.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from warehouse.config import Config
from warehouse.errors import WarehouseError
from warehouse.run.dates import day_input, job_dates
from warehouse.run.records import StageRecord
from warehouse.storage import ObjectStore

log = logging.getLogger(__name__)

OK = "ok"


def input_fingerprint(cfg: Config, inp: str) -> dict[str, int | None]:
    """Return {input name: size} of the files a day's `[logs] input` names now; raises
    WarehouseError (InputMissing when it names nothing)."""
    from warehouse.events.inputs import expand_inputs

    return {src.name: src.size for src in expand_inputs(cfg, [inp])}


def stale_reason(
    cfg: Config, day: dt.date, stage: str, rec: StageRecord, store: ObjectStore | None = None
) -> str | None:
    """Return why the "ok" record `rec` of (day, stage) is out of date, else None. With
    `store`, an aggregate done before `[events] parquet` was turned on is out of date while
    a partition it wrote has no Parquet copy (the stage then writes the copies from the
    JSON parts: `warehouse.run.stages`)."""
    if stage == "parse":
        return _parse_stale(cfg, day, rec)
    if stage == "aggregate" and rec.partitions != []:  # [] = no events that day
        done = {j for j, v in (rec.jobs or {}).items() if v.status == OK}
        new = [j for j in cfg.aggregate.jobs if j not in done]
        if new:
            return f"job(s) {', '.join(new)} not run for it"
        if cfg.events.parquet and store is not None:
            return _copies_stale(store, rec, cfg.aggregate.jobs)
        return None
    if stage == "reports" and cfg.hive is not None and cfg.hive.reports:
        from warehouse.hive.reports import load_reports

        try:
            tables = [r.table for r in load_reports(cfg.hive.reports)]
        except WarehouseError:
            return None  # the stage itself will say what is wrong with the folder
        new = [t for t in tables if t not in (rec.tables or [])]
        return f"report(s) {', '.join(new)} not made for it" if new else None
    return None


def copy_dates(rec: StageRecord, job: str) -> list[str]:
    """Return the partitions `job` writes for the aggregate record `rec`: its dates for the
    partitions the day's parse touched (`job_dates`: sessions also the day before)."""
    return [d.isoformat() for d in job_dates(job, list(rec.partitions or []))]


def _copies_stale(store: ObjectStore, rec: StageRecord, jobs: Sequence[str]) -> str | None:
    from warehouse.aggregate.backfill import missing_copies

    lacking = sum(  # a job no longer configured is not the run's to copy
        len(missing_copies(store, job, copy_dates(rec, job)))
        for job, state in (rec.jobs or {}).items() if state.status == OK and job in jobs
    )  # fmt: skip
    if not lacking:
        return None
    return f"{lacking} of its aggregate partition(s) have no Parquet copy ([events] parquet)"


def _parse_stale(cfg: Config, day: dt.date, rec: StageRecord) -> str | None:
    before = rec.inputs
    if not isinstance(before, dict) or cfg.logs.input is None:
        return None  # a record written before inputs were recorded: taken as it says
    try:
        now = input_fingerprint(cfg, day_input(cfg.logs.input, day))
    except WarehouseError as err:
        # the logs were removed after their parse (retention): the events stand
        log.info("%s parse: done before; its input cannot be listed now (%s)", day, err)
        return None
    added = sorted(set(now) - set(before))
    changed = sorted(k for k in now if k in before and now[k] != before[k])
    removed = sorted(set(before) - set(now))
    if not (added or changed):
        for name in removed:  # retention, or a log moved away: its events stand
            log.warning("%s parse: input %s is gone since its parse; its events stand",
                        day, name)
        return None
    # each input is judged on its own by the parse: a grown or new one is read, a renamed
    # one (logrotate) is recognised by its first line (`warehouse.run.renames`)
    bits = [f"{len(added)} new file(s)"] if added else []
    bits += [f"{len(changed)} file(s) changed size"] if changed else []
    bits += [f"{len(removed)} gone"] if removed else []
    return "its logs changed since (" + ", ".join(bits) + ")"

