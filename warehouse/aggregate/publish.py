"""Aggregate output partitions: one part per `dt=D`, published whole, replacing the old."""

from __future__ import annotations

import logging
from typing import Any

import orjson

from warehouse.aggregate.parquet import publish_copy, remove_copy
from warehouse.aggregate.summary import AggregateSummary
from warehouse.scratch import live_tmp_file
from warehouse.storage import ObjectStore, open_gzip_write

log = logging.getLogger(__name__)

PART_NAME = "part-00000.json.gz"


def output_prefix(job: str, day: str) -> str:
    """Return the store key prefix of one aggregate partition."""
    return f"aggregates/{job}/dt={day}/"


def sort_key(record: dict[str, Any]) -> tuple[Any, ...]:
    """Return the order of records inside a part: by slug (null first), param, rank."""
    slug = record.get("slug")
    return (slug is not None, slug or "", record.get("param") or "", record.get("rank") or 0)


def empty_stale(
    store: ObjectStore, job: str, summary: AggregateSummary, *, parquet: bool = False
) -> None:
    """Rewrite as empty the earlier output of requested dates that have no events left.

    A re-parse can remove a date's last events; its old aggregate would count events that
    no longer exist. The partition keeps existing (its metastore entry stays valid), with
    one empty part; dates that never had output get none."""
    for day in summary.missing:
        if any(True for _ in store.list(output_prefix(job, day))):
            log.info("%s has no events left: emptying its %s aggregate", day, job)
            write_partition(store, job, day, [], parquet=parquet)
            summary.partitions.add(day)
            summary.emptied.append(day)


def write_partition(
    store: ObjectStore, job: str, day: str, records: list[dict[str, Any]], *, parquet: bool = False
) -> str:
    """Publish one partition's records as its single part, then delete stale objects.

    With `parquet` ([events] parquet), the partition's Parquet copy is published first
    (warehouse.aggregate.parquet: a kill between the two leaves the old JSON part, which
    the next aggregate replaces); without, a copy left from earlier is removed."""
    if parquet:
        publish_copy(store, job, day, records)
    else:
        remove_copy(store, job, day)
    prefix = output_prefix(job, day)
    key = prefix + PART_NAME
    with open_gzip_write(store, key) as out:
        for record in records:
            out.write(orjson.dumps(record) + b"\n")
    for obj in store.list(prefix, include_hidden=True):
        name = obj.key.rsplit("/", 1)[-1]
        # another aggregate of this partition may be writing its `_tmp.*` right now: its
        # file stays; stale parts and what crashed writers left go
        if obj.key != key and not live_tmp_file(name):
            store.delete(obj.key)
    return key
