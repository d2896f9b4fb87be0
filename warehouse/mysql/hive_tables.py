"""Hive side of an imported table: its TableSpec, the `_latest` view and load registration.

Tables are `mysql_<source>_<database>_<table>` (lower-case), EXTERNAL, partitioned by
`load` (the UTC timestamp folder of each load), stored as JSON (python engine) or as
Sqoop's delimited text (`TEXT_FORMAT`). Incremental tables (append and lastmodified) also
get the view `<table>_latest`: each key once, its copy of the latest load, without the
keys deleted since (`deletes = true`: the `<table>_deletes` table, see
`warehouse.mysql.deletes`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from warehouse.config import Config
from warehouse.errors import JobFailed
from warehouse.hive.spec import Column, TableSpec
from warehouse.mysql import schema as sch
from warehouse.mysql.sqoop import TEXT_FORMAT
from warehouse.mysql.state import TableState, data_prefix


def table_spec(
    source: str,
    database: str,
    table: str,
    columns: Sequence[sch.SourceColumn],
    *,
    engine: str,
    zero_dates: bool = True,
) -> TableSpec:
    """Return the Hive TableSpec of an imported table (partitioned by `load`)."""
    return TableSpec(
        name=sch.hive_name(source, database, table),
        columns=tuple(Column(c.name.lower(), sch.hive_type(c, zero_dates=zero_dates))
                      for c in columns),
        location=data_prefix(source, database, table),
        storage="json" if engine == "python" else "text",
        partition_by=(Column("load", "STRING"),),
        text_format=TEXT_FORMAT if engine == "sqoop" else None,
        comment=f"MySQL {source}.{database}.{table} ({engine} engine)",
    )


def deletes_spec(spec: TableSpec, key: Sequence[str]) -> TableSpec:
    """Return the TableSpec of `<table>_deletes`: the key columns, JSON, by `load`."""
    by = {c.name: c for c in spec.columns}
    return TableSpec(
        name=f"{spec.name}_deletes",
        columns=tuple(by[k.lower()] for k in key),
        location=f"{spec.location}/_deletes",
        storage="json",
        partition_by=(Column("load", "STRING"),),
        comment=f"keys deleted from {spec.name}, per load (warehouse.mysql.deletes)",
    )


def latest_view_sql(
    database: str, spec: TableSpec, key: Sequence[str], column: str,
    deletes: TableSpec | None = None,
) -> str:
    """Return the SELECT of the `<table>_latest` view: each key once, as MySQL holds it.

    The newest copy of a key is the one of the latest load (a later snapshot never holds
    an older version of a row), then the larger check column. With `deletes` (the
    `<table>_deletes` spec) a key deleted at load D is left out unless a copy from a load
    after D exists (inserted again); a delete and a copy of the same load: deleted.
    """
    from warehouse.hive.render import quote_ident as q
    from warehouse.hive.render import table_ref

    names = [c.name for c in (*spec.columns, *spec.partition_by)]
    cols = ", ".join(q(n) for n in names)
    part = ", ".join(q(k.lower()) for k in key)
    order = f"{q('load')} DESC, {q(column.lower())} DESC"
    ranked = (
        f"(SELECT {cols}, ROW_NUMBER() OVER (PARTITION BY {part} ORDER BY {order}) AS "
        f"{q('wh_rank')} FROM {table_ref(database, spec.name)}) {q('ranked')}"
    )
    if deletes is None:
        return f"SELECT {cols} FROM {ranked} WHERE {q('wh_rank')} = 1"
    dkeys = ", ".join(q(k.lower()) for k in key)
    on = " AND ".join(f"{q('ranked')}.{q(k.lower())} = {q('gone')}.{q(k.lower())}" for k in key)
    qualified = ", ".join(f"{q('ranked')}.{q(n)}" for n in names)
    return (
        f"SELECT {qualified} FROM {ranked} LEFT JOIN (SELECT {dkeys}, MAX({q('load')}) AS "
        f"{q('wh_deleted')} FROM {table_ref(database, deletes.name)} GROUP BY {dkeys}) "
        f"{q('gone')} ON {on} WHERE {q('ranked')}.{q('wh_rank')} = 1 AND "
        f"({q('gone')}.{q('wh_deleted')} IS NULL OR "
        f"{q('gone')}.{q('wh_deleted')} < {q('ranked')}.{q('load')})"
    )


@dataclass(frozen=True)
class ImportedObjects:
    """The Hive objects of one imported table besides its own table (for `hive apply`)."""

    tables: tuple[tuple[TableSpec, tuple[str, ...]], ...]  # (spec, its `load` partitions)
    views: tuple[tuple[str, str], ...]  # (view name, SELECT)


def imported_objects(database: str, spec: TableSpec, state: TableState) -> ImportedObjects:
    """Return the `_deletes` table and `_latest` view a table's saved state calls for.

    `database` is the Hive database, `spec` the table's own spec (`table_spec`), `state`
    its `_state` file: incremental tables get `<table>_latest`, `deletes = true` tables
    also `<table>_deletes` with its partitions. States written before the `key` field
    existed carry no key: no view then (the next import writes it).
    """
    if state.mode == "full" or not state.column or not state.key:
        return ImportedObjects((), ())
    gone = deletes_spec(spec, state.key) if state.deletes else None
    view = (f"{spec.name}_latest", latest_view_sql(database, spec, state.key, state.column, gone))
    tables = ((gone, tuple(state.deletes_loads)),) if gone else ()
    return ImportedObjects(tables, (view,))


def register_load(
    cfg: Config,
    spec: TableSpec,
    stamp: str | None,
    *,
    dropped: Sequence[str],
    replace: bool,
    view: tuple[str, list[str]] | None,
    deletes: tuple[TableSpec, Sequence[str], Sequence[str]] | None = None,
) -> None:
    """Create the Hive table(s), add the load partition, drop replaced ones, refresh the view.

    `stamp` None adds no data partition; `view` is (check column, key) of an incremental
    table; `deletes` is (the `_deletes` spec, its load partitions to register, to drop).
    """
    from warehouse.hive.client import connect as hive_connect
    from warehouse.hive.manage import ensure_tables, ensure_view
    from warehouse.hive.partitions import add_partitions
    from warehouse.hive.render import quote_string, table_ref

    hc = cfg.hive_or_default()
    specs = [spec] + ([deletes[0]] if deletes else [])
    with hive_connect(cfg) as client:
        made = ensure_tables(cfg, specs, replace=replace, client=client)
        if made.exit_code:
            raise JobFailed(f"Hive table {spec.name}: {made.line()}")
        if stamp is not None:
            added = add_partitions(cfg, spec, [{"load": stamp}], client=client)
            if added.exit_code:
                raise JobFailed(f"Hive table {spec.name}: {added.line()}")
        if deletes is not None and deletes[1]:
            added = add_partitions(cfg, deletes[0], [{"load": s} for s in deletes[1]],
                                   client=client)
            if added.exit_code:
                raise JobFailed(f"Hive table {deletes[0].name}: {added.line()}")
        drops = [(spec, old) for old in dropped]
        drops += [(deletes[0], old) for old in deletes[2]] if deletes else []
        for table, old in drops:
            client.execute(
                f"ALTER TABLE {table_ref(hc.database, table.name)} DROP IF EXISTS "
                f"PARTITION (`load` = {quote_string(old)})"
            )
        if view is not None:
            column, key = view
            sql = latest_view_sql(hc.database, spec, key, column,
                                  deletes[0] if deletes else None)
            made_view = ensure_view(cfg, f"{spec.name}_latest", sql, client=client)
            if made_view.exit_code:
                raise JobFailed(f"Hive view {spec.name}_latest: {made_view.line()}")
