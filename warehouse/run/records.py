"""Run records: one JSON file per (date, stage) under `ROOT/_state/runs/`, read and written."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from collections.abc import Mapping
from typing import Any

from warehouse.errors import CorruptState, Summary
from warehouse.storage import ObjectStore, read_bytes, write_bytes
from warehouse.storage.keys import show

RUNS_PREFIX = "_state/runs"


def record_key(day: dt.date, stage: str) -> str:
    """Return the store key of the run record of (day, stage)."""
    return f"{RUNS_PREFIX}/{day.isoformat()}/{stage}.json"


def read_record(store: ObjectStore, day: dt.date, stage: str) -> dict[str, Any] | None:
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
    return data


def check_record(data: object) -> str | None:
    """Return what is wrong with a run record read back (None when nothing): a field of
    the wrong type, a partition that is not a date, a job entry that is not an object."""
    if not isinstance(data, dict):
        return f"a JSON {type(data).__name__}, not an object"
    why = _check_fields(data, _FIELDS)
    if why is not None:
        return why
    for job, entry in (data.get("jobs") or {}).items():
        if not isinstance(entry, dict):
            return f"jobs.{show(job)} is a {_kind(entry)}, not an object"
        why = _check_fields(entry, _JOB_FIELDS)
        if why is not None:
            return f"jobs.{show(job)}: {why}"
    return None


_FIX = "running the stage as if it had none (the record is rewritten when it ends)"
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_STR, _INT, _LIST, _DICT = (str,), (int,), (list,), (dict,)
# the fields readers rely on, and their types (None is allowed for each); lists of dates
# are checked item by item, since they become partition names and S3 prefixes
_FIELDS: dict[str, tuple[type, ...]] = {
    "stage": _STR, "date": _STR, "status": _STR, "started": _STR, "ended": _STR,
    "error": _STR, "summary": _STR, "exit_code": _INT, "partitions": _LIST,
    "held_partitions": _LIST, "jobs": _DICT, "tables": _LIST, "inputs": _DICT, "renamed": _DICT,
    "counts": _DICT,
}
_JOB_FIELDS: dict[str, tuple[type, ...]] = {
    "status": _STR, "started": _STR, "error": _STR, "exit_code": _INT,
    "partitions": _LIST, "dates": _LIST,
}
_DATE_LISTS = ("partitions", "held_partitions", "dates")


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _check_fields(data: dict[str, Any], fields: dict[str, tuple[type, ...]]) -> str | None:
    for name, kinds in fields.items():
        value = data.get(name)
        if value is None:
            continue
        if not isinstance(value, kinds) or isinstance(value, bool):
            return f"{name} is a {_kind(value)}, not a {kinds[0].__name__}"
        items: list[Any] = value if isinstance(value, list) else []
        if name in _DATE_LISTS:
            bad = next((d for d in items if not _is_date(d)), _OK)
            if bad is not _OK:
                return f"{name} holds {show(bad)}, not a date (YYYY-MM-DD)"
        if name == "tables" and not all(isinstance(t, str) for t in items):
            return "tables holds a name that is not a string"
    return None


_OK = object()


def _is_date(value: object) -> bool:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def write_record(store: ObjectStore, day: dt.date, rec: dict[str, Any]) -> None:
    """Write the run record `rec` of (day, rec["stage"]), leaving out keys starting with `_`."""
    data = {k: v for k, v in rec.items() if not k.startswith("_")}
    write_bytes(
        store,
        record_key(day, rec["stage"]),
        json.dumps(data, indent=1, sort_keys=True).encode() + b"\n",
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
