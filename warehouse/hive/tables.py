"""The warehouse's own tables as specs: events, access_raw and one per aggregate job.

MySQL import tables are built by the importer (warehouse.mysql) and handed to
`warehouse.hive.manage.ensure_tables`; they are not listed here.

Layout (root-relative):
- `events/dt=YYYY-MM-DD/*.json.gz`: behaviour events (DESIGN.md event schema);
- `events_parquet/dt=YYYY-MM-DD/events.parquet`: their Parquet copy ([events] parquet);
- `raw/dt=YYYY-MM-DD/*`: raw access logs (plain or `.gz`) for `access_raw`; copy or
  upload a day's logs there (Hive needs a folder per partition, and a day's logs in
  `[logs] input` may sit beside other days' files);
- `aggregates/<job>/dt=YYYY-MM-DD/*.json.gz`: one table `agg_<job>` per job; with
  [events] parquet, over their Parquet copy `aggregates_parquet/<job>/dt=YYYY-MM-DD/`.
"""

from __future__ import annotations

from warehouse import schema
from warehouse.config import Config
from warehouse.errors import ConfigError
from warehouse.hive.spec import Column, TableSpec

# the partition column of events and aggregates
DT = Column(schema.DT.name, schema.DT.hive, schema.DT.comment)

EVENT_COLUMNS: tuple[Column, ...] = tuple(
    Column(c.name, c.hive, c.comment) for c in schema.EVENT_COLUMNS
)


def events_spec() -> TableSpec:
    """Return the spec of `events`: gzipped JSON lines under events/, partitioned by dt."""
    return TableSpec(
        name="events",
        columns=EVENT_COLUMNS,
        location="events",
        storage="json",
        partition_by=(DT,),
        comment="behaviour events parsed from the access logs",
    )


def events_parquet_spec() -> TableSpec:
    """Return the spec of `events_parquet`: the Parquet copy of the events ([events] parquet),
    one file per dt; `ts` is a TIMESTAMP there (UTC)."""
    columns = tuple(
        Column(c.name, "TIMESTAMP", "request time, UTC") if c.name == "ts" else c
        for c in EVENT_COLUMNS
    )
    return TableSpec(
        name="events_parquet",
        columns=columns,
        location="events_parquet",
        storage="parquet",
        partition_by=(DT,),
        comment="behaviour events, a Parquet copy of `events` per day",
    )


def access_raw_spec(fmt: str) -> TableSpec:
    """Return the spec of `access_raw`: RegexSerDe over raw/ for LogFormat `fmt`.

    The regex and column names come from the parser's LogFormat engine, so Hive splits a
    line exactly where the parser does. Every column is STRING (cast in queries): a `-`
    in a numeric field must not turn the whole row NULL. Raises ConfigError for a format
    the engine rejects.
    """
    from warehouse.logs import compile_format

    try:
        compiled = compile_format(fmt)
    except ValueError as exc:
        raise ConfigError(f"[logs] format {fmt!r}: {exc}") from None
    columns = tuple(Column(name, "STRING") for name in compiled.serde_columns())
    return TableSpec(
        name="access_raw",
        columns=columns,
        location="raw",
        storage="regex",
        regex=compiled.serde_regex(),
        partition_by=(DT,),
        comment="raw access log lines; all-NULL rows are lines the regex cannot match",
    )


def aggregate_spec(job: str, parquet: bool = False) -> TableSpec:
    """Return the spec of `agg_<job>` from the job's output keys; ConfigError if unknown.
    With `parquet` ([events] parquet) it reads the Parquet copy (warehouse.aggregate.parquet)."""
    if job not in schema.JOBS:
        known = ", ".join(sorted(schema.JOBS))
        raise ConfigError(f"unknown aggregate job {job!r}: known jobs are {known}")
    columns = tuple(
        Column(c.name, c.hive, c.comment) for c in schema.JOBS[job].columns if c.name != DT.name
    )
    return TableSpec(
        name=f"agg_{job}",
        columns=columns,
        location=f"aggregates_parquet/{job}" if parquet else f"aggregates/{job}",
        storage="parquet" if parquet else "json",
        partition_by=(DT,),
        comment=f"output of the {job} aggregation",
    )


def storage_twin(spec: TableSpec) -> TableSpec | None:
    """Return `spec`'s table in the other storage the config chooses between (`agg_<job>`
    as JSON or, with [events] parquet, over its Parquet copy), else None. Both read files
    of the root, so a catalog re-creates a table found as its twin without --replace."""
    job = spec.name[len("agg_") :] if spec.name.startswith("agg_") else ""
    if job not in schema.JOBS or spec.storage not in ("json", "parquet"):
        return None
    return aggregate_spec(job, parquet=spec.storage != "parquet")


def warehouse_specs(cfg: Config) -> list[TableSpec]:
    """Return the specs `warehouse hive apply` creates: events, access_raw, agg_<job>, and
    events_parquet with [events] parquet."""
    specs = [events_spec(), access_raw_spec(cfg.logs.format_text())]
    if cfg.events.parquet:
        specs.insert(1, events_parquet_spec())
    specs.extend(aggregate_spec(job, cfg.events.parquet) for job in cfg.aggregate.jobs)
    return specs


def find_spec(cfg: Config, table: str) -> TableSpec | None:
    """Return the spec of one of the warehouse's own tables by name, None if not ours."""
    if table == "events":
        return events_spec()
    if table == "events_parquet":
        return events_parquet_spec()
    if table == "access_raw":
        return access_raw_spec(cfg.logs.format_text())
    if table.startswith("agg_"):
        return aggregate_spec(table[len("agg_") :], cfg.events.parquet)
    return None
