"""The Parquet copy of an aggregate's partitions (`[events] parquet`): what `agg_<job>` reads.

With `[events] parquet = true`, every published partition of `aggregates/<job>/dt=D/`
(gzipped JSON lines, what mrjob wrote) also gets `aggregates_parquet/<job>/dt=D/
part-00000.parquet`, and the table `agg_<job>` is STORED AS PARQUET over
`aggregates_parquet/<job>/` (warehouse.hive.tables). The JSON part stays beside it:
`status`, the run's stale checks and a re-aggregation's neighbours read it; the copy is
written from the same records, so the two never hold different rows.

Columns and types: the job's declared output columns (warehouse.schema.JOBS) without
`dt` (the partition), with Parquet's types for their Hive types: STRING -> string,
INT -> int32, BIGINT -> int64, DOUBLE -> double, ARRAY<STRUCT<...>> -> list of structs;
zstd.

Order and crash safety (`publish.write_partition`): the copy is published first (one
atomic `open_write`: a rename locally, one PUT on S3), then the JSON part. A kill in
between leaves the new copy beside the old JSON part and the aggregate's run record
unfinished, so the next `run` (or a re-run of the command) writes both again. With `[events] parquet` off, publishing
a partition removes its copy, so a copy is never older than its JSON part when the
setting is turned on again.
"""

from __future__ import annotations

import io
from typing import Any

from warehouse.arrowload import arrow_type, load_pyarrow
from warehouse.errors import JobFailed
from warehouse.schema import DT, JOBS
from warehouse.scratch import live_tmp_file
from warehouse.storage import ObjectStore

PREFIX = "aggregates_parquet"
COPY_NAME = "part-00000.parquet"

def copy_location(job: str) -> str:
    """Return the store prefix of the job's Parquet copy (the location of `agg_<job>`)."""
    return f"{PREFIX}/{job}"


def copy_prefix(job: str, day: str) -> str:
    """Return the store key prefix of one partition's Parquet copy."""
    return f"{copy_location(job)}/dt={day}/"


def arrow_schema(job: str) -> Any:
    """Return the Arrow schema of `agg_<job>`'s Parquet files (the job's columns but dt)."""
    pa = load_pyarrow()
    return pa.schema(
        [(c.name, arrow_type(c.hive)) for c in JOBS[job].columns if c.name != DT.name]
    )


def parquet_bytes(job: str, records: list[dict[str, Any]]) -> bytes:
    """Return the records (the job's JSON objects) as one Parquet file's bytes."""
    pa = load_pyarrow()
    import pyarrow.parquet as pq

    schema = arrow_schema(job)
    try:
        table = pa.Table.from_pylist(
            [{f.name: r.get(f.name) for f in schema} for r in records], schema=schema
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as exc:
        raise JobFailed(
            f"aggregate {job}: a record does not fit agg_{job}'s declared types ({exc}); "
            f"nothing of this partition was replaced: fix jobs/{job}.py or its columns in "
            "warehouse/schema.py"
        ) from None
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd", write_statistics=True)
    return buf.getvalue()


def publish_copy(store: ObjectStore, job: str, day: str, records: list[dict[str, Any]]) -> str:
    """Publish one partition's Parquet copy atomically, then delete what else is there."""
    data = parquet_bytes(job, records)
    prefix = copy_prefix(job, day)
    key = prefix + COPY_NAME
    with store.open_write(key) as out:
        out.write(data)
    _remove(store, prefix, keep=key)
    return key


def remove_copy(store: ObjectStore, job: str, day: str) -> None:
    """Delete one partition's Parquet copy, if any ([events] parquet is off)."""
    _remove(store, copy_prefix(job, day), keep=None)


def _remove(store: ObjectStore, prefix: str, keep: str | None) -> None:
    for obj in store.list(prefix, include_hidden=True):
        # a concurrent aggregate's `_tmp.*` stays; stale copies and crashed writers' go
        if obj.key != keep and not live_tmp_file(obj.key.rsplit("/", 1)[-1]):
            store.delete(obj.key)
