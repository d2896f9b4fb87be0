"""Run records: one JSON file per (date, stage) under `ROOT/_state/runs/`, read and written."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Mapping
from typing import Any

from warehouse.errors import Summary
from warehouse.storage import ObjectStore, read_bytes, write_bytes

log = logging.getLogger(__name__)

RUNS_PREFIX = "_state/runs"


def record_key(day: dt.date, stage: str) -> str:
    """Return the store key of the run record of (day, stage)."""
    return f"{RUNS_PREFIX}/{day.isoformat()}/{stage}.json"


def read_record(store: ObjectStore, day: dt.date, stage: str) -> dict[str, Any] | None:
    """Return the run record of (day, stage), or None when the stage never started."""
    key = record_key(day, stage)
    if not store.exists(key):
        return None
    try:
        data = json.loads(read_bytes(store, key))
    except ValueError:
        log.warning("run record %s is not JSON; treating the stage as not done", store.uri(key))
        return None
    return data if isinstance(data, dict) else None


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
