"""Which event partitions an aggregate job reads for which dates (pure, and one listing)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from warehouse.schema import input_dates
from warehouse.storage import ObjectStore


def event_prefix(day: dt.date) -> str:
    """Return the store key prefix of one events partition."""
    return f"events/dt={day.isoformat()}/"


def input_keys(store: ObjectStore, job: str, dates: Sequence[dt.date]) -> tuple[list[str], set[str]]:
    """Return (the event files `job` reads for `dates`, the days that have any)."""
    keys: list[str] = []
    present: set[str] = set()
    for day in input_dates(job, dates):
        found = [
            o.key
            for o in store.list(event_prefix(day))
            if o.key.endswith((".json.gz", ".json"))
        ]
        if found:
            present.add(day.isoformat())
            keys += found
    return keys, present
