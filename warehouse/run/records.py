"""Run records: one JSON file per (date, stage) under `ROOT/_state/runs/`, read and written
here only, as `StageRecord`s (an aggregate's jobs as `JobRecord`s).

On disk a record is a JSON object, keys sorted, one space of indent: the fields a stage
set (`input`, `partitions`, `jobs`, ...) and the ones every record has (`stage`, `date`,
`status`, `started`, `ended`, `seconds`, `exit_code`, `summary`, `error`, `host`, `pid`),
these written as null until set. A damaged record raises CorruptState naming the file
(`load_record`); in a run it is one logged line and the stage runs as if it had none
(`RunRecords.get`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from warehouse.errors import CorruptState, Summary, WarehouseError
from warehouse.storage import ObjectStore, read_bytes, write_bytes
from warehouse.storage.keys import show

log = logging.getLogger(__name__)

RUNS_PREFIX = "_state/runs"


class _Absent(enum.Enum):
    ABSENT = "absent"


# a field the record does not hold at all (None: it holds it, as null)
ABSENT: Final = _Absent.ABSENT
Absent = Literal[_Absent.ABSENT]


def _is_date(value: object) -> bool:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _dates(name: str, items: list[Any]) -> str | None:
    """Return what is wrong with a list of dates (they become partitions and S3 prefixes)."""
    bad = next((d for d in items if not _is_date(d)), _OK)
    return None if bad is _OK else f"{name} holds {show(bad)}, not a date (YYYY-MM-DD)"


def _strings(name: str, items: list[Any]) -> str | None:
    """Return what is wrong with a list of names."""
    ok = all(isinstance(t, str) for t in items)
    return None if ok else f"{name} holds a name that is not a string"


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_OK = object()
_ItemCheck = Callable[[str, list[Any]], str | None]


def _checked(kind: type, items: _ItemCheck | None = None) -> dict[str, Any]:
    """Return the metadata of a field that a record read back is checked for
    (`check_record`): of type `kind` or null and, for a list, each item by `items`;
    readers rely on these."""
    return {"kind": kind, "items": items}


@dataclass
class JobRecord:
    """One aggregate job in the aggregate record of a date: when it started, the dates it
    ran over, its outcome, its summary line and counts, the partitions it wrote and their
    registration (the last four only once it ran)."""

    # the checked fields (`_checked`) first, in the order a damaged record is checked
    status: str | None = field(default=None, metadata=_checked(str))
    started: str | None = field(default=None, metadata=_checked(str))
    error: str | None = field(default=None, metadata=_checked(str))
    exit_code: int | None = field(default=None, metadata=_checked(int))
    partitions: list[str] | None = field(default=None, metadata=_checked(list, _dates))
    dates: list[str] | None = field(default=None, metadata=_checked(list, _dates))
    seconds: float | None = None
    summary: str | None = None
    counts: dict[str, Any] | None = None
    registered: str | None = None
    other: dict[str, Any] = field(default_factory=dict)  # fields of other versions, kept

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JobRecord:
        """Return the job of a checked record's `jobs` entry (`check_record`)."""
        known, other = _split(cls, data)
        return cls(**known, other=other)

    def to_json(self) -> dict[str, Any]:
        """Return the job as written in its record."""
        return _to_json(self, _JOB_ALWAYS)


@dataclass
class StageRecord:
    """The run record of one (date, stage): written when the stage starts, as jobs end
    (aggregate) and when it ends. `inputs`, `renamed` (parse) and `registered` (parquet)
    may be written as null: ABSENT when the record does not hold them."""

    # the checked fields (`_checked`) in the order a damaged record is checked
    stage: str = field(default="", metadata=_checked(str))
    date: str = field(default="", metadata=_checked(str))
    status: str | None = field(default="running", metadata=_checked(str))
    started: str | None = field(default=None, metadata=_checked(str))
    ended: str | None = field(default=None, metadata=_checked(str))
    error: str | None = field(default=None, metadata=_checked(str))
    summary: str | None = field(default=None, metadata=_checked(str))
    exit_code: int | None = field(default=None, metadata=_checked(int))
    # the dates the day's parse touched; parse: the dates a held parse left standing
    partitions: list[str] | None = field(default=None, metadata=_checked(list, _dates))
    held_partitions: list[str] | None = field(default=None, metadata=_checked(list, _dates))
    # aggregate: {job: its record}
    jobs: dict[str, JobRecord] | None = field(default=None, metadata=_checked(dict))
    # reports: the tables materialised
    tables: list[str] | None = field(default=None, metadata=_checked(list, _strings))
    # parse: {input name: size} it read; {name: identity} (renames.py)
    inputs: dict[str, Any] | Absent | None = field(default=ABSENT, metadata=_checked(dict))
    renamed: dict[str, Any] | Absent | None = field(default=ABSENT, metadata=_checked(dict))
    counts: dict[str, Any] | None = field(default=None, metadata=_checked(dict))
    seconds: float | None = None
    host: str | None = None
    pid: int | None = None
    input: str | None = None  # parse: the day's [logs] input
    access_raw: str | None = None  # events: the raw log folder's registration
    registered: str | Absent | None = ABSENT  # parquet: the registration of written dates
    other: dict[str, Any] = field(default_factory=dict)  # fields of other versions, kept
    t0: float = field(default=0.0, compare=False)  # time.monotonic() at start, not written

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StageRecord:
        """Return the record of checked JSON data (`check_record`)."""
        known, other = _split(cls, data)
        jobs = known.pop("jobs", None)
        if isinstance(jobs, dict):
            known["jobs"] = {name: JobRecord.from_json(v) for name, v in jobs.items()}
        return cls(**known, other=other)

    def to_json(self) -> dict[str, Any]:
        """Return the record as written: the fields it holds, the `_ALWAYS` ones as null
        until set."""
        data = _to_json(self, _ALWAYS)
        if self.jobs is not None:
            data["jobs"] = {name: job.to_json() for name, job in self.jobs.items()}
        return data

    def jobs_dict(self) -> dict[str, JobRecord]:
        """Return the record's jobs, made an empty dict when it has none."""
        if self.jobs is None:
            self.jobs = {}
        return self.jobs


_ALWAYS = ("stage", "date", "status", "started", "ended", "seconds", "exit_code", "summary",
           "error", "host", "pid")
_JOB_ALWAYS = ("started", "dates", "status", "exit_code", "error", "seconds")
_NOT_WRITTEN = ("other", "t0")


def _split(cls: type, data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (the fields of `cls` in `data`, the other keys)."""
    names = {f.name for f in dataclasses.fields(cls)} - set(_NOT_WRITTEN)
    known = {k: v for k, v in data.items() if k in names}
    return known, {k: v for k, v in data.items() if k not in names}


def _to_json(rec: JobRecord | StageRecord, always: tuple[str, ...]) -> dict[str, Any]:
    """Return the fields of `rec` it holds: a field that may be ABSENT is held when it is
    not; the `always` ones are held as null; the others when they are not None."""
    data = dict(rec.other)
    for f in dataclasses.fields(rec):
        value = getattr(rec, f.name)
        if f.name in _NOT_WRITTEN or value is ABSENT:
            continue
        if value is None and f.name not in always and f.default is not ABSENT:
            continue
        data[f.name] = value
    return data


def record_key(day: dt.date, stage: str) -> str:
    """Return the store key of the run record of (day, stage)."""
    return f"{RUNS_PREFIX}/{day.isoformat()}/{stage}.json"


class RunRecords:
    """The run records as one run reads and writes them: a damaged record is one logged
    line (once per run) and reads as none; a record that cannot be written is a warning."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self._corrupt: set[tuple[dt.date, str]] = set()

    def get(self, day: dt.date, stage: str) -> StageRecord | None:
        """Return the run record of (day, stage), or None when there is none or it is
        damaged: a damaged record is logged once (one line naming the file) and the
        stage runs as if it had none."""
        try:
            return load_record(self.store, day, stage)
        except CorruptState as err:
            if (day, stage) not in self._corrupt:
                self._corrupt.add((day, stage))
                log.error("%s", err)
            return None

    def put(self, day: dt.date, rec: StageRecord) -> None:
        """Write `rec`; a record that cannot be written is logged, not raised."""
        # a record that cannot be written (full disk, S3 down) must not hide the stage's
        # own outcome: the stage fails or succeeds on its work, the summary still prints
        try:
            write_record(self.store, day, rec)
        except WarehouseError as err:
            if (day, rec.stage) not in self._corrupt:  # else said when it was read
                log.warning("run record of %s %s not saved: %s", day, rec.stage, err)


def load_record(store: ObjectStore, day: dt.date, stage: str) -> StageRecord | None:
    """Return the run record of (day, stage), or None when the stage never started; raises
    CorruptState naming the file when it is not JSON, a folder, or of the wrong shape
    (`check_record`): the caller runs the stage as if it had no record."""
    key = record_key(day, stage)
    where = f"run record {store.uri(key)}"
    if not store.exists(key):
        if any(True for _ in store.list(key + "/", include_hidden=True)):
            raise CorruptState(
                f"{where} is corrupt: a folder, not a file; move it away (until then the "
                "stage runs every time, and its record is not kept)"
            )
        return None
    try:
        data = json.loads(read_bytes(store, key))
    except ValueError as exc:
        raise CorruptState(f"{where} is corrupt: not JSON ({exc}); {_FIX}") from None
    why = check_record(data)
    if why is not None:
        raise CorruptState(f"{where} is corrupt: {why}; {_FIX}")
    return StageRecord.from_json(data)


def check_record(data: object) -> str | None:
    """Return what is wrong with a run record read back (None when nothing): a field of
    the wrong type, a partition that is not a date, a job entry that is not an object."""
    if not isinstance(data, dict):
        return f"a JSON {type(data).__name__}, not an object"
    why = _check_fields(data, StageRecord)
    if why is not None:
        return why
    for job, entry in (data.get("jobs") or {}).items():
        if not isinstance(entry, dict):
            return f"jobs.{show(job)} is a {_kind(entry)}, not an object"
        why = _check_fields(entry, JobRecord)
        if why is not None:
            return f"jobs.{show(job)}: {why}"
    return None


_FIX = "running the stage as if it had none (the record is rewritten when it ends)"


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _check_fields(data: dict[str, Any], cls: type) -> str | None:
    """Return the first problem of `data`'s `_checked` fields of `cls`, in field order."""
    for f in dataclasses.fields(cls):
        kind: type | None = f.metadata.get("kind")
        value: Any = data.get(f.name)
        if kind is None or value is None:
            continue
        if not isinstance(value, kind) or isinstance(value, bool):
            return f"{f.name} is a {_kind(value)}, not a {kind.__name__}"
        items: _ItemCheck | None = f.metadata["items"]
        why = items(f.name, data[f.name]) if items is not None else None
        if why is not None:
            return why
    return None


def write_record(store: ObjectStore, day: dt.date, rec: StageRecord) -> None:
    """Write the run record `rec` of (day, its stage)."""
    write_bytes(
        store,
        record_key(day, rec.stage),
        json.dumps(rec.to_json(), indent=1, sort_keys=True).encode() + b"\n",
    )


def utc_now() -> str:
    """Return the current UTC time as an ISO-8601 string with milliseconds and a Z."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def summary_counts(summary: Summary) -> dict[str, int | float]:
    """Return the numeric fields of a flow's summary (for the run record)."""
    if dataclasses.is_dataclass(summary) and not isinstance(summary, type):
        items: Mapping[str, Any] = {
            f.name: getattr(summary, f.name) for f in dataclasses.fields(summary)
        }
    else:
        items = getattr(summary, "__dict__", {})
    return {
        k: v
        for k, v in items.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and not k.startswith("_")
    }
