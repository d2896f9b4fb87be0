"""The Parquet copy of the events: `ROOT/events_parquet/dt=D/events.parquet`, one file per
day, rebuilt from that day's gzipped JSON events whenever they change.

The JSON events stay the source of truth (mrjob reads them); the copy is for column
scanners (Athena, Trino, Spark, DuckDB), which read only the columns a query names.
Columns and types (table `events_parquet`): `ts` TIMESTAMP (INT96, UTC: the encoding EMR
Hive 3, Spark, Athena and Trino all read as a timestamp), `status` INT, `bytes` BIGINT,
`duration_ms` DOUBLE, `params` MAP<STRING,STRING>, every other column STRING; zstd; row
groups of `[events] row_group_rows`, which also bounds the memory of a compaction (one
group of columns at a time).

Change detection: `ROOT/_state/parquet/dt=D.json` records the JSON parts the copy was
built from (name and size; parse names its parts after the input and rewrites them when
its content changes) and the copy's row count; a day is rebuilt when that list differs,
when its copy is missing, or with `force`. A day with no JSON parts left loses its copy.

Crash safety: the file is written in a scratch folder, then uploaded under its final name
(`store.open_write`: a rename on local disks, one PUT on S3), so a reader sees the old copy
or the new one, never a part; the state is written after it. A kill in between leaves a
copy whose state is older: the next compaction rebuilds it. The day's JSON parts are read
under the root's events lock, shared (as `aggregate` reads them), so a parse never
publishes half an input into a copy.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
import zlib
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warehouse.arrowload import load_pyarrow
from warehouse.config import Config
from warehouse.errors import JobFailed, combined_exit_code
from warehouse.lock import events_lock
from warehouse.resources import jobs_common
from warehouse.schema import EVENT_COLUMNS
from warehouse.scratch import scratch_dir
from warehouse.storage import ObjectStore, store_for_config
from warehouse.storage.base import open_maybe_gzip, read_bytes, write_bytes
from warehouse.textfmt import count, number, took

log = logging.getLogger(__name__)

PREFIX = "events_parquet"
FILE = "events.parquet"
STATE = "_state/parquet"
_READ_CHUNK = 8 << 20


@dataclass
class DayCopy:
    """What the compaction did for one date."""

    day: dt.date
    status: str  # "written" | "unchanged" | "removed" | "empty" | "failed"
    rows: int = 0
    parts: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    malformed: dict[str, int] = field(default_factory=dict)  # lines that are no event, by field
    error: str | None = None
    exit_code: int = 0


@dataclass
class CompactSummary:
    """All dates of one `events compact` (or the run's parquet stage)."""

    output: str
    days: list[DayCopy] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        return combined_exit_code(d.exit_code for d in self.days)

    def line(self) -> str:
        written = [d for d in self.days if d.status == "written"]
        rows = sum(d.rows for d in written)
        size_in = sum(d.bytes_in for d in written)
        size_out = sum(d.bytes_out for d in written)
        counts = {s: sum(d.status == s for d in self.days) for s in ("written", "unchanged", "removed", "empty")}
        skipped = sum(sum(d.malformed.values()) for d in written)
        text = (
            f"events compact: {count(len(self.days), 'date')} ({counts['written']} written, "
            f"{counts['unchanged']} unchanged, {counts['removed']} removed, "
            f"{counts['empty']} without events), {count(rows, 'row')}, {number(skipped)} "
            f"malformed skipped, {size_in / 1e6:,.1f} MB of JSON parts -> "
            f"{size_out / 1e6:,.1f} MB of Parquet {took(rows, self.seconds, 'rows')} -> "
            f"{self.output}"
        )
        failed = [d for d in self.days if d.error]
        if failed:
            text += "; FAILED: " + "; ".join(f"{d.day}: {d.error}" for d in failed)
        return text


def copy_key(day: dt.date) -> str:
    """Return the root-relative key of one day's Parquet copy."""
    return f"{PREFIX}/dt={day.isoformat()}/{FILE}"


def compact_events(
    cfg: Config,
    days: Sequence[dt.date],
    *,
    store: ObjectStore | None = None,
    force: bool = False,
) -> CompactSummary:
    """Build (or rebuild, or remove) the Parquet copy of each day's events; raises
    ConfigError when pyarrow is missing. A day that fails (a corrupt events part) is
    reported in the summary (exit 5) and keeps its earlier copy; the others go on."""
    started = time.monotonic()
    _pyarrow()
    store = store or store_for_config(cfg)
    summary = CompactSummary(output=store.uri(PREFIX + "/"))
    with scratch_dir("compact") as scratch:
        for day in sorted(set(days)):
            summary.days.append(_compact_day(cfg, store, day, scratch, force=force))
    summary.seconds = time.monotonic() - started
    return summary


def _compact_day(
    cfg: Config, store: ObjectStore, day: dt.date, scratch: Path, *, force: bool
) -> DayCopy:
    key, state_key = copy_key(day), f"{STATE}/dt={day.isoformat()}.json"
    with events_lock(cfg.cron.lock_file, store.uri(""), publish=False, what=f"compact {day}"):
        parts = [
            o for o in store.list(f"events/dt={day.isoformat()}/") if o.key.endswith(".json.gz")
        ]
        sources = [[o.key, o.size] for o in parts]
        if not parts:
            if store.exists(key):
                store.delete(key)
                store.delete(state_key)
                return DayCopy(day, "removed")
            return DayCopy(day, "empty")
        before = _read_state(store, state_key)
        if not force and before.get("sources") == sources and store.exists(key):
            return DayCopy(day, "unchanged", rows=int(before.get("rows", 0)), parts=len(parts))
        local = scratch / f"{day.isoformat()}.parquet"
        malformed: Counter[str] = Counter()
        try:
            rows = _write_parquet(
                store, [o.key for o in parts], local, cfg.events.row_group_rows, malformed
            )
        except JobFailed as exc:
            log.error("%s", exc)
            return DayCopy(day, "failed", parts=len(parts), error=str(exc), exit_code=exc.exit_code)
    size = local.stat().st_size
    with store.open_write(key) as out, local.open("rb") as f:
        while chunk := f.read(_READ_CHUNK):
            out.write(chunk)
    local.unlink()
    write_bytes(store, state_key, json.dumps({"sources": sources, "rows": rows}).encode())
    if malformed:
        log.warning(
            "compact %s: %d lines are not events, left out (%s)", day, sum(malformed.values()),
            ", ".join(f"{k} {v}" for k, v in sorted(malformed.items())),
        )  # fmt: skip
    return DayCopy(
        day, "written", rows=rows, parts=len(parts), bytes_in=sum(o.size for o in parts),
        bytes_out=size, malformed=dict(malformed),
    )  # fmt: skip


def _read_state(store: ObjectStore, key: str) -> dict[str, Any]:
    """Return the recorded state of a day's copy ({} when absent or unreadable: rebuild)."""
    if not store.exists(key):
        return {}
    try:
        data = json.loads(read_bytes(store, key))
    except (ValueError, UnicodeDecodeError):
        log.warning("%s is not valid JSON: the day's Parquet copy is rebuilt", store.uri(key))
        return {}
    return data if isinstance(data, dict) else {}


def _pyarrow() -> Any:
    return load_pyarrow()  # mysql-connector's C extension first (static TLS): arrowload


def arrow_schema() -> Any:
    """Return the Arrow schema of the Parquet copy, in the event schema's column order."""
    pa = _pyarrow()
    types = {
        "ts": pa.timestamp("us", tz="UTC"),
        "status": pa.int32(),
        "bytes": pa.int64(),
        "duration_ms": pa.float64(),
        "params": pa.map_(pa.string(), pa.string()),
    }
    return pa.schema([(c.name, types.get(c.name, pa.string())) for c in EVENT_COLUMNS])


def _write_parquet(
    store: ObjectStore, keys: list[str], path: Path, group_rows: int, malformed: Counter[str]
) -> int:
    """Write the events of `keys` (gzipped JSON lines) to `path`; return the row count and
    count the lines that are not events in `malformed` (by the field at fault); raises
    JobFailed naming a part that cannot be read whole."""
    import pyarrow.parquet as pq

    schema = arrow_schema()
    rows = 0
    with pq.ParquetWriter(
        path, schema, compression="zstd", use_deprecated_int96_timestamps=True,
        write_statistics=True,
    ) as writer:  # fmt: skip
        for events in _batches(store, keys, group_rows, malformed):
            writer.write_table(_table(events, schema), row_group_size=group_rows)
            rows += len(events)
    return rows


def _table(events: list[dict[str, Any]], schema: Any) -> Any:
    """Return checked events (see `_event`) as an Arrow table of `schema`: the dicts read
    in one C call as a struct array whose fields are the columns (`t`, the UTC epoch
    seconds, in place of `ts`; `params` as a map), 3x faster than a list per column."""
    import pyarrow as pa
    import pyarrow.compute as pc

    fields = [pa.field("t", pa.float64()) if f.name == "ts" else f for f in schema]
    columns = pa.array(events, pa.struct(fields)).flatten()
    ts = schema.names.index("ts")  # seconds -> microseconds, rounded half to even
    micros = pc.round(pc.multiply(columns[ts], 1_000_000)).cast(pa.int64())
    columns[ts] = micros.cast(schema.field("ts").type)
    return pa.Table.from_arrays(columns, schema=schema)


_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)
# columns that the aggregate jobs' EventParser leaves unchecked: strings or null
_TEXT = ("vhost", "method", "path", "query", "protocol", "referer")


def _event(parser: Any, line: bytes) -> dict[str, Any] | str:
    """Return one event line as the jobs' EventParser reads it (`t`: UTC epoch seconds), or
    the name of the field at fault: the jobs' notion of a valid event, plus the types the
    Parquet columns need."""
    ev = parser.parse(line)
    if isinstance(ev, str):
        return ev
    if not _INT32[0] <= ev["status"] <= _INT32[1]:
        return "status"
    size = ev.get("bytes")
    if size is not None and (type(size) is not int or not _INT64[0] <= size <= _INT64[1]):
        return "bytes"
    for key in _TEXT:
        value = ev.get(key)
        if value is not None and not isinstance(value, str):
            return key
    return ev


def _batches(
    store: ObjectStore, keys: list[str], size: int, malformed: Counter[str]
) -> Iterator[list[dict[str, Any]]]:
    """Yield the checked events of `keys` in lists of at most `size`."""
    parser = jobs_common().EventParser()  # the jobs' own notion of a valid event
    batch: list[dict[str, Any]] = []
    for key in keys:
        try:
            with open_maybe_gzip(store, key) as f:
                for line in f:
                    ev = _event(parser, line)
                    if isinstance(ev, str):
                        malformed[ev] += 1
                        continue
                    batch.append(ev)
                    if len(batch) >= size:
                        yield batch
                        batch = []
        except (OSError, EOFError, zlib.error) as exc:
            raise JobFailed(
                f"events part {store.uri(key)} cannot be read whole ({exc}): re-parse that "
                "day's logs"
            ) from None
    if batch:
        yield batch
