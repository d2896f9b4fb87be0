"""Hive side of an imported table, described (the catalog, `warehouse.hive`, makes it):
its TableSpec, the `_deletes` table, the `_latest` view and the TableSyncs of a load.

Tables are `mysql_<source>_<database>_<table>` (lower-case), EXTERNAL, partitioned by
`load` (the UTC timestamp folder of each load), stored as JSON or Parquet (python engine,
`[mysql.NAME] format`: `warehouse.mysql.parquet`) or as Sqoop's delimited text
(`TEXT_FORMAT`). Incremental tables (append and lastmodified) also
get the view `<table>_latest`: each key once, its copy of the latest load, without the
keys deleted since (`deletes = true`: the `<table>_deletes` table, see
`warehouse.mysql.deletes`).

The root is the source of truth: `imported_tables(store)` rebuilds every imported
table's Hive objects (table, every load of the state, `_deletes` table, views) from the
state files alone (`ROOT/_state/mysql/<source>/<database>/<table>.json`, whose `schema`
records the source columns and the zero-date mode, and `key` the row identity), so a
fresh metastore needs no MySQL. States written before `schema` was recorded hold only
`[name, COLUMN_TYPE]` pairs: the types are read from COLUMN_TYPE and DATE/DATETIME are
taken as STRING (zero dates allowed, the MariaDB default) until the next import records
the exact schema and re-creates the table.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from warehouse.config import Config
from warehouse.errors import JobFailed
from warehouse.hive.imported import ImportedTables
from warehouse.hive.spec import Column, TableSpec, TableSync
from warehouse.mysql import collation as coll
from warehouse.mysql import parquet as pq
from warehouse.mysql import schema as sch
from warehouse.mysql.names import STATE_PREFIX, from_state, name_clashes
from warehouse.mysql.sqoop import TEXT_FORMAT
from warehouse.mysql.state import TableState, data_prefix
from warehouse.storage import ObjectStore
from warehouse.storage.base import read_bytes


def table_spec(
    source: str,
    database: str,
    table: str,
    columns: Sequence[sch.SourceColumn],
    *,
    engine: str,
    zero_dates: bool = True,
    weights: Sequence[str] = (),
    format: str,
) -> TableSpec:
    """Return the Hive TableSpec of an imported table (partitioned by `load`); `weights`:
    the key columns whose collation weight the files carry (`warehouse.mysql.collation`);
    `format`: the python engine's files, `[mysql.NAME] format` "json" or "parquet"
    (`warehouse.mysql.parquet`).

    Eight parameters, on purpose: the table's three names and columns, then what its
    files hold, each read from a different place by the two callers (the running load's
    plan, or a stored state for `hive apply`); a value to carry them would only be built
    to be taken apart here."""
    typed = pq.hive_type if format == "parquet" else sch.hive_type
    return TableSpec(
        name=sch.hive_name(source, database, table),
        columns=tuple(Column(c.name.lower(), typed(c, zero_dates=zero_dates))
                      for c in columns)
        + tuple(Column(coll.weight_name(k), "STRING") for k in weights),
        location=data_prefix(source, database, table),
        storage=("parquet" if format == "parquet" else "json") if engine == "python"
        else "text",
        partition_by=(Column("load", "STRING"),),
        text_format=TEXT_FORMAT if engine == "sqoop" else None,
        comment=f"MySQL {source}.{database}.{table} ({engine} engine)",
    )


def deletes_spec(spec: TableSpec, key: Sequence[str]) -> TableSpec:
    """Return the TableSpec of `<table>_deletes`: the key columns, JSON, by `load`.

    A key column that is BINARY in the table (a Parquet import) is STRING here: its JSON
    files hold the bytes as base64 (`warehouse.mysql.deletes`); `_latest` decodes it."""
    by = {c.name: c for c in spec.columns}
    return TableSpec(
        name=f"{spec.name}_deletes",
        columns=tuple(Column(k.lower(), "STRING") if by[k.lower()].type == "BINARY"
                      else by[k.lower()] for k in key),
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
    # the key weights identify rows; they are not MySQL's columns
    shown = [n for n in names if not n.startswith(coll.WEIGHT_PREFIX)]
    part = ", ".join(q(k.lower()) for k in key)
    order = f"{q('load')} DESC, {q(column.lower())} DESC"
    ranked = (
        f"(SELECT {cols}, ROW_NUMBER() OVER (PARTITION BY {part} ORDER BY {order}) AS "
        f"{q('wh_rank')} FROM {table_ref(database, spec.name)}) {q('ranked')}"
    )
    if deletes is None:
        return f"SELECT {', '.join(q(n) for n in shown)} FROM {ranked} WHERE " \
               f"{q('wh_rank')} = 1"
    # a BINARY key is base64 text in `_deletes` (deletes_spec): decoded to compare
    binary = {c.name for c in spec.columns if c.type == "BINARY"}
    exprs = [f"unbase64({q(k.lower())})" if k.lower() in binary else q(k.lower()) for k in key]
    dkeys = ", ".join(e if e == q(k.lower()) else f"{e} AS {q(k.lower())}"
                      for e, k in zip(exprs, key, strict=True))
    on = " AND ".join(f"{q('ranked')}.{q(k.lower())} = {q('gone')}.{q(k.lower())}" for k in key)
    qualified = ", ".join(f"{q('ranked')}.{q(n)}" for n in shown)
    return (
        f"SELECT {qualified} FROM {ranked} LEFT JOIN (SELECT {dkeys}, MAX({q('load')}) AS "
        f"{q('wh_deleted')} FROM {table_ref(database, deletes.name)} GROUP BY {', '.join(exprs)}) "
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
    key = coll.identity(state.key, state.key_weights)
    gone = deletes_spec(spec, key) if state.deletes else None
    view = (f"{spec.name}_latest", latest_view_sql(database, spec, key, state.column, gone))
    tables = ((gone, tuple(state.deletes_loads)),) if gone else ()
    return ImportedObjects(tables, (view,))


# -- the schema recorded in the state ---------------------------------------------------


def schema_record(columns: Sequence[sch.SourceColumn], *, zero_dates: bool) -> dict[str, Any]:
    """Return the state's `schema` entry: what rendering the Hive table needs."""
    return {"columns": [asdict(c) for c in columns], "zero_dates": zero_dates}


_TYPE_RE = re.compile(r"^\s*([a-z]+)(?:\s+precision)?\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?")


def column_from_type(name: str, column_type: str) -> sch.SourceColumn:
    """Return a SourceColumn read from a COLUMN_TYPE such as `decimal(10,2) unsigned`."""
    m = _TYPE_RE.match(column_type.lower())
    data_type = m.group(1) if m else column_type.lower()
    precision = scale = None
    if m and data_type in ("decimal", "numeric"):
        precision = int(m.group(2)) if m.group(2) else 10
        scale = int(m.group(3)) if m.group(3) else 0
    return sch.SourceColumn(name, data_type, column_type, True, precision, scale)


def _stored_columns(state: TableState) -> tuple[list[sch.SourceColumn], bool]:
    """Return (columns, zero_dates) from a stored state (see the module docstring)."""
    rec = state.schema or {}
    if rec.get("columns"):
        fields = sch.SourceColumn.__dataclass_fields__
        cols = [sch.SourceColumn(**{k: v for k, v in c.items() if k in fields})
                for c in rec["columns"]]
        return cols, bool(rec.get("zero_dates", True))
    return [column_from_type(str(n), str(t)) for n, t in state.columns], True


def imported_table(
    source: str,
    database: str,
    table: str,
    state: TableState,
    *,
    hive_database: str,
    key_hint: Sequence[str] = (),
) -> tuple[list[TableSync], str | None]:
    """Return the TableSyncs of an imported table (its `_deletes` table first, then the
    table with every load of the state and its `_latest` view) and a note when the view
    cannot be made (the row key of a state written before it was recorded, with no `key`
    in the config)."""
    cols, zero_dates = _stored_columns(state)
    spec = table_spec(source, database, table, cols, engine=state.engine, zero_dates=zero_dates,
                      weights=list(state.key_weights or {}), format=state.format)
    note = None
    if state.mode != "full" and not state.key:
        if key_hint:
            state = dataclasses.replace(state, key=list(key_hint))
        else:
            note = (
                f"{spec.name}_latest (the row key of {source}.{database}.{table} is not "
                f"recorded in the root yet: run `warehouse import {source}.{database}.{table}`"
                " once, or set its incremental `key`)"
            )
    objs = imported_objects(hive_database, spec, state)
    items = [TableSync(t, [{"load": x} for x in loads]) for t, loads in objs.tables]
    items.append(TableSync(spec, [{"load": x} for x in state.loads], views=objs.views))
    return items, note


def imported_tables(
    store: ObjectStore, hive_database: str, cfg: Config | None = None
) -> ImportedTables:
    """Return the imported tables found in the root's state files (an `ImportedSource`
    for `warehouse.hive`'s apply and register_partitions): a TableSync per table, notes
    about what cannot be made (unreadable state, unknown view keys), and the tables left
    out because another has one of their Hive names (`warehouse.mysql.names`).

    Only loads listed in a state count: a `load=` folder no state lists is the leftover
    of an interrupted import (the next import removes it), never registered.
    """
    items: list[TableSync] = []
    notes: list[str] = []
    found: list[tuple[str, str, str, TableState]] = []
    for obj in store.list(STATE_PREFIX, include_hidden=True):
        parts = obj.key[len(STATE_PREFIX):].split("/")
        if len(parts) != 3 or not parts[2].endswith(".json") or parts[2].startswith("_tmp."):
            continue
        source, database, table = parts[0], parts[1], parts[2][: -len(".json")]
        try:
            state = TableState.from_json(read_bytes(store, obj.key), store.uri(obj.key))
        except JobFailed as exc:
            notes.append(f"{sch.hive_name(source, database, table)} ({exc})")
            continue
        found.append((source, database, table, state))
    clashes = name_clashes([from_state(s, d, t, st) for s, d, t, st in found])
    for source, database, table, state in found:
        if f"{source}.{database}.{table}" in clashes:
            continue
        hint = _key_hint(cfg, source, database, table)
        made, note = imported_table(source, database, table, state,
                                    hive_database=hive_database, key_hint=hint)
        items.extend(made)
        if note:
            notes.append(note)
    return ImportedTables(tuple(items), tuple(notes), tuple(clashes.values()),
                          store.uri(STATE_PREFIX))


def _key_hint(cfg: Config | None, source: str, database: str, table: str) -> list[str]:
    src = cfg.mysql.get(source) if cfg is not None else None
    if src is None:
        return []
    inc = src.incremental.get(f"{database}.{table}".lower()) or src.incremental.get(
        table.lower())
    return [k.strip() for k in (inc.key or "").split(",") if k.strip()] if inc else []


# -- a load, as the catalog registers it ----------------------------------------------


def load_syncs(
    database: str,
    spec: TableSpec,
    loads: Sequence[str],
    *,
    new: Sequence[str],
    dropped: Sequence[str],
    view: tuple[str, list[str]] | None,
    deletes: tuple[TableSpec, Sequence[str], Sequence[str], Sequence[str]] | None = None,
) -> list[TableSync]:
    """Return what `warehouse.hive.registrar.register_load` brings in line after a load:
    the `_deletes` table first (its view reads it), then the table with its views.

    `loads` are all the table's loads, `new` those this import wrote, `dropped` those a
    full load replaced; `view` is (check column, key) of an incremental table; `deletes`
    is (the `_deletes` spec, all its loads, the new ones, the dropped ones); `database`
    is the catalog's (the view names it).
    """
    items: list[TableSync] = []
    gone = None
    if deletes is not None:
        gone, all_deletes, new_deletes, dropped_deletes = deletes
        items.append(TableSync(gone, [{"load": x} for x in all_deletes],
                               new=[{"load": x} for x in new_deletes],
                               drop=[{"load": x} for x in dropped_deletes]))
    views = []
    if view is not None:
        column, key = view
        views = [(f"{spec.name}_latest", latest_view_sql(database, spec, key, column, gone))]
    items.append(TableSync(spec, [{"load": x} for x in loads],
                           drop=[{"load": x} for x in dropped],
                           views=views, new=[{"load": x} for x in new]))
    return items
