"""Backfill the Parquet copies of a root (`[events] parquet` turned on after months of
nights): `warehouse events compact --all` (or a date range).

Two kinds of copy, both derived from the JSON that stays the source of truth:
- the events' (`events_parquet/dt=D/`): `warehouse.events.compact`, date by date; a date
  whose copy matches its JSON parts is `unchanged`;
- with `[events] parquet` on, each aggregate partition's (`aggregates_parquet/<job>/dt=D/
  part-00000.parquet`), written from the partition's JSON part without running the job
  again: the records read back are the ones the publish wrote, in its order, so the copy
  is byte for byte what `warehouse aggregate` would have published beside that part
  (`warehouse.aggregate.parquet.publish_copy`: one atomic write). A partition that has
  its copy is `present` (a publish writes the copy first, then the part, and removes the
  copy while the setting is off, so a copy is never older than its part); `force`
  rewrites it. A kill leaves each partition with its copy or without it; the next
  backfill writes the rest (resumable, and a re-run is a no-op).

With the aggregates' copies the command holds the run lock (exit 6 while `warehouse run`
runs): a nightly aggregate replacing a partition while its copy is written from the old
part would leave the copy older than the part. The nightly run itself fills the copies of the dates it looks at
through `copy_missing` (`warehouse.run.stages`), under its own lock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
import time
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from warehouse.aggregate.parquet import COPY_NAME, PREFIX, copy_prefix, publish_copy
from warehouse.aggregate.publish import output_prefix
from warehouse.config import Config
from warehouse.errors import EXIT_OK, JobFailed, WarehouseError, combined_exit_code
from warehouse.events.compact import CompactSummary, compact_events
from warehouse.lock import run_lock
from warehouse.progress import Progress, ProgressEvent
from warehouse.storage import ObjectStore, store_for_config
from warehouse.storage.base import open_maybe_gzip
from warehouse.textfmt import count, number

log = logging.getLogger(__name__)

_DT = re.compile(r"(?:^|/)dt=(\d{4}-\d{2}-\d{2})/")
LABEL = "parquet copies"


@dataclass
class CopySummary:
    """The aggregates' copies of one backfill: partitions written, present, failed."""

    output: str
    written: list[tuple[str, str]] = field(default_factory=list)  # (job, date)
    present: int = 0
    failed: list[str] = field(default_factory=list)
    exit_code: int = EXIT_OK
    jobs: set[str] = field(default_factory=set)  # the jobs with a JSON partition among them

    def line(self) -> str:
        jobs = len(self.jobs)
        text = (
            f"aggregate copies: {count(len(self.written) + self.present, 'partition')} "
            f"({number(len(self.written))} written from their JSON part, "
            f"{number(self.present)} present; {count(jobs, 'job')}) -> {self.output}"
        )
        if self.failed:
            text += "; FAILED: " + "; ".join(self.failed)
        return text


@dataclass
class BackfillSummary:
    """`events compact` with the aggregates' copies: one line, the worse exit code."""

    events: CompactSummary
    copies: CopySummary | None
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        codes = [self.events.exit_code] + ([self.copies.exit_code] if self.copies else [])
        return combined_exit_code(codes)

    def line(self) -> str:
        text = self.events.line()
        if self.copies is not None:
            text += f"; {self.copies.line()}"
        return text


def root_dates(store: ObjectStore, jobs: Iterable[str]) -> list[dt.date]:
    """Return every date the root holds events or an aggregate partition for, sorted."""
    prefixes = ["events/", *(f"aggregates/{job}/" for job in jobs)]
    found = set().union(*(_dates(store, prefix) for prefix in prefixes))
    return [dt.date.fromisoformat(d) for d in sorted(found)]


def backfill_parquet(
    cfg: Config,
    days: Sequence[dt.date] | None,
    *,
    force: bool = False,
    store: ObjectStore | None = None,
    progress: Progress | None = None,
) -> BackfillSummary:
    """Compact the events of `days` (None: every date the root holds) and, with `[events]
    parquet` on, write the aggregates' missing copies; raises RunInProgress (exit 6) while a
    run holds the lock, ConfigError without pyarrow. `progress` hears of each date."""
    started = time.monotonic()
    store = store or store_for_config(cfg)
    jobs = list(cfg.aggregate.jobs)
    copies = cfg.events.parquet
    # the aggregates' copies race a run's publish: under its lock (the events' copies
    # alone, as before, under the events lock only)
    with run_lock(cfg.cron.lock_file) if copies else contextlib.nullcontext():
        dates = root_dates(store, jobs) if days is None else sorted(set(days))
        events = CompactSummary(output=store.uri("events_parquet/"))
        agg = CopySummary(output=store.uri(PREFIX + "/")) if copies else None
        if progress is not None:
            progress(ProgressEvent(LABEL, "stages", total=len(dates)))
        for day in dates:
            one = compact_events(cfg, [day], store=store, force=force)
            events.days.extend(one.days)
            events.seconds += one.seconds
            if agg is not None:
                for job in jobs:
                    _copy_one(store, job, day.isoformat(), agg, force=force)
            if progress is not None:
                progress(ProgressEvent(LABEL, "stages", advance=1, step=day.isoformat()))
        if progress is not None:
            progress(ProgressEvent(LABEL, "stages", final=True))
    return BackfillSummary(events, agg, time.monotonic() - started)


def copy_missing(store: ObjectStore, job: str, days: Iterable[str]) -> list[str]:
    """Write the missing Parquet copy of `job`'s partitions of `days` (YYYY-MM-DD) that have
    a JSON part; return the dates written. Raises JobFailed naming a part that cannot be
    read whole, or whose records do not fit the job's types."""
    summary = CopySummary(output="")
    for day in sorted(set(days)):
        _copy_one(store, job, day, summary, force=False)
        if summary.failed:
            raise JobFailed(summary.failed[0])
    return [d for _, d in summary.written]


def missing_copies(store: ObjectStore, job: str, days: Iterable[str]) -> list[str]:
    """Return the dates of `days` whose `job` partition has a JSON part and no copy."""
    return [d for d in sorted(set(days)) if _parts(store, job, d) and not _has_copy(store, job, d)]


def lagging_copies(store: ObjectStore, jobs: Iterable[str]) -> dict[str, list[str]]:
    """Return, for `events` and each job, the dates whose JSON has no Parquet copy (one
    listing of each folder: `warehouse status` with [events] parquet on); only the ones
    that lag."""
    pairs = [("events", "events/", "events_parquet/")]
    pairs += [(job, f"aggregates/{job}/", f"{PREFIX}/{job}/") for job in jobs]
    out: dict[str, list[str]] = {}
    for name, source, copy in pairs:
        missing = sorted(_dates(store, source, ".json.gz") - _dates(store, copy, ".parquet"))
        if missing:
            out[name] = missing
    return out


def _dates(store: ObjectStore, prefix: str, suffix: str = "") -> set[str]:
    """Return the dates of the `dt=D/` folders under `prefix` holding a `suffix` file."""
    found = set()
    for obj in store.list(prefix):
        m = _DT.search(obj.key)
        if m and obj.key.endswith(suffix):
            found.add(m.group(1))
    return found


def _parts(store: ObjectStore, job: str, day: str) -> list[str]:
    return [o.key for o in store.list(output_prefix(job, day)) if o.key.endswith(".json.gz")]


def _has_copy(store: ObjectStore, job: str, day: str) -> bool:
    return store.exists(copy_prefix(job, day) + COPY_NAME)


def _copy_one(store: ObjectStore, job: str, day: str, summary: CopySummary, *, force: bool) -> None:
    """Write one partition's copy from its JSON part(s) into `summary` (or count it present)."""
    parts = _parts(store, job, day)
    if not parts:
        return
    summary.jobs.add(job)
    if not force and _has_copy(store, job, day):
        summary.present += 1
        return
    try:
        records = _records(store, parts)
        publish_copy(store, job, day, records)
    except WarehouseError as exc:
        log.error("%s", exc)
        summary.failed.append(f"{job} {day}: {exc}")
        summary.exit_code = combined_exit_code([summary.exit_code, exc.exit_code])
        return
    summary.written.append((job, day))


def _records(store: ObjectStore, keys: list[str]) -> list[dict[str, Any]]:
    """Return the records of an aggregate partition's JSON parts, in their order; raises
    JobFailed naming a part that cannot be read whole."""
    records: list[dict[str, Any]] = []
    for key in keys:
        try:
            with open_maybe_gzip(store, key) as f:
                records.extend(orjson.loads(line) for line in f if line.strip())
        except (OSError, EOFError, zlib.error, orjson.JSONDecodeError) as exc:
            raise JobFailed(
                f"aggregate part {store.uri(key)} cannot be read whole ({exc}): re-run "
                "`warehouse aggregate` for that date"
            ) from None
    return records
