"""Hive side of an imported table: its TableSpec, the `_latest` view and load registration.

Tables are `mysql_<source>_<database>_<table>` (lower-case), EXTERNAL, partitioned by
`load` (the UTC timestamp folder of each load), stored as JSON (python engine) or as
Sqoop's delimited text (`TEXT_FORMAT`). Lastmodified tables also get the view
`<table>_latest`: the newest row per key (ties: the later load).

The root is the source of truth: `imported_tables(store)` rebuilds every imported
table's Hive objects (table, every load of the state, views) from the state files alone
(`ROOT/_state/mysql/<source>/<database>/<table>.json`, whose `schema` records the source
columns, the zero-date mode and the row key), so a fresh metastore needs no MySQL. States
written before `schema` was recorded hold only `[name, COLUMN_TYPE]` pairs: the types are
read from COLUMN_TYPE and DATE/DATETIME are taken as STRING (zero dates allowed, the
MariaDB default) until the next import records the exact schema and re-creates the table.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import asdict
from typing import Any

from warehouse.config import Config, IncrementalConfig
from warehouse.errors import JobFailed
from warehouse.hive.spec import Column, TableSpec
from warehouse.hive.summary import HiveSummary
from warehouse.hive.sync import Metastore, TableSync, open_metastore
from warehouse.mysql import schema as sch
from warehouse.mysql.sqoop import TEXT_FORMAT
from warehouse.mysql.state import TableState, data_prefix, state_key
from warehouse.storage import ObjectStore
from warehouse.storage.base import read_bytes

log = logging.getLogger(__name__)

STATE_PREFIX = state_key("s", "d", "t").split("/s/", 1)[0] + "/"  # "_state/mysql/"


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


def latest_view_sql(database: str, spec: TableSpec, key: Sequence[str], column: str) -> str:
    """Return the SELECT of the `<table>_latest` view: the newest row per key."""
    from warehouse.hive.render import quote_ident, table_ref

    cols = ", ".join(quote_ident(c.name) for c in (*spec.columns, *spec.partition_by))
    part = ", ".join(quote_ident(k.lower()) for k in key)
    order = f"{quote_ident(column.lower())} DESC, {quote_ident('load')} DESC"
    return (
        f"SELECT {cols} FROM (SELECT {cols}, ROW_NUMBER() OVER (PARTITION BY {part} "
        f"ORDER BY {order}) AS {quote_ident('wh_rank')} FROM {table_ref(database, spec.name)}) "
        f"{quote_ident('ranked')} WHERE {quote_ident('wh_rank')} = 1"
    )


def views_of(
    database: str, spec: TableSpec, mode: str, column: str | None, key: Sequence[str]
) -> list[tuple[str, str]]:
    """Return the (name, SELECT) views an imported table gets for its incremental mode."""
    if mode != "lastmodified" or not column or not key:
        return []
    return [(f"{spec.name}_latest", latest_view_sql(database, spec, key, column))]


# -- the schema recorded in the state ---------------------------------------------------


def schema_record(
    columns: Sequence[sch.SourceColumn], *, zero_dates: bool, key: Sequence[str]
) -> dict[str, Any]:
    """Return the state's `schema` entry: what rendering the Hive objects needs."""
    return {"columns": [asdict(c) for c in columns], "zero_dates": zero_dates, "key": list(key)}


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


def _stored_columns(state: TableState) -> tuple[list[sch.SourceColumn], bool, list[str] | None]:
    """Return (columns, zero_dates, key or None when unknown) from a stored state."""
    rec = state.schema or {}
    if rec.get("columns"):
        fields = sch.SourceColumn.__dataclass_fields__
        cols = [sch.SourceColumn(**{k: v for k, v in c.items() if k in fields})
                for c in rec["columns"]]
        return cols, bool(rec.get("zero_dates", True)), list(rec.get("key") or [])
    cols = [column_from_type(str(n), str(t)) for n, t in state.columns]
    return cols, True, None


def imported_table(
    source: str,
    database: str,
    table: str,
    state: TableState,
    *,
    hive_database: str,
    key_hint: Sequence[str] = (),
) -> tuple[TableSync, str | None]:
    """Return the table's TableSync (every load of the state, its views) and a note when
    a view cannot be made (the row key of a state written before it was recorded, with
    no `key` in the config)."""
    cols, zero_dates, key = _stored_columns(state)
    spec = table_spec(source, database, table, cols, engine=state.engine, zero_dates=zero_dates)
    note = None
    if key is None:
        key = list(key_hint)
        if not key and state.mode == "lastmodified":
            note = (
                f"{spec.name}_latest (the row key of {source}.{database}.{table} is not "
                f"recorded in the root yet: run `warehouse import {source}.{database}.{table}`"
                " once, or set its incremental `key`)"
            )
    views = views_of(hive_database, spec, state.mode, state.column, key)
    return TableSync(spec, [{"load": x} for x in state.loads], views=views), note


def imported_tables(
    store: ObjectStore, hive_database: str, cfg: Config | None = None
) -> tuple[list[TableSync], list[str]]:
    """Return a TableSync per imported table found in the root's state files, and notes
    about what cannot be made (unreadable state, clashing names, unknown view keys).

    Only loads listed in a state count: a `load=` folder no state lists is the leftover
    of an interrupted import (the next import removes it), never registered.
    """
    items: list[TableSync] = []
    notes: list[str] = []
    by_name: dict[str, list[str]] = {}
    found: list[tuple[str, str, str, str]] = []
    for obj in store.list(STATE_PREFIX, include_hidden=True):
        parts = obj.key[len(STATE_PREFIX):].split("/")
        if len(parts) != 3 or not parts[2].endswith(".json") or parts[2].startswith("_tmp."):
            continue
        source, database, table = parts[0], parts[1], parts[2][: -len(".json")]
        found.append((source, database, table, obj.key))
        by_name.setdefault(sch.hive_name(source, database, table), []).append(
            f"{source}.{database}.{table}")
    for source, database, table, key in found:
        name = sch.hive_name(source, database, table)
        if len(by_name[name]) > 1:
            notes.append(f"{name} (shared by {', '.join(by_name[name])})")
            continue
        try:
            state = TableState.from_json(read_bytes(store, key), store.uri(key))
        except JobFailed as exc:
            notes.append(f"{name} ({exc})")
            continue
        hint = _key_hint(cfg, source, database, table)
        item, note = imported_table(source, database, table, state,
                                    hive_database=hive_database, key_hint=hint)
        items.append(item)
        if note:
            notes.append(note)
    return items, notes


def _key_hint(cfg: Config | None, source: str, database: str, table: str) -> list[str]:
    src = cfg.mysql.get(source) if cfg is not None else None
    if src is None:
        return []
    inc = src.incremental.get(f"{database}.{table}".lower()) or src.incremental.get(
        table.lower())
    return [k.strip() for k in (inc.key or "").split(",") if k.strip()] if inc else []


# -- registration during an import -----------------------------------------------------


class HiveRegistrar:
    """One Hive session shared by every table of an import run, opened on first use.

    The importer's threads register their loads through it one at a time (the session
    runs one statement at a time); `close()` ends the session.
    """

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self._lock = threading.Lock()
        self._stack: ExitStack | None = None
        self._ms: Metastore | None = None

    def metastore(self) -> Metastore:
        """Return the shared Metastore; raises SourceUnavailable when Hive is down."""
        with self._lock:
            if self._ms is None:
                stack = ExitStack()
                try:
                    self._ms = stack.enter_context(open_metastore(self.cfg))
                    self._ms.tables()
                except BaseException:
                    stack.close()
                    self._ms = None
                    raise
                self._stack = stack
            return self._ms

    def close(self) -> None:
        """End the session (safe to call twice)."""
        with self._lock:
            if self._stack is not None:
                self._stack.close()
            self._stack, self._ms = None, None


def register_load(
    registrar: HiveRegistrar,
    spec: TableSpec,
    loads: Sequence[str],
    *,
    dropped: Sequence[str],
    view: tuple[IncrementalConfig, list[str]] | None,
    new: Sequence[str] = (),
    if_missing: bool = False,
) -> None:
    """Create (or re-create) the Hive table, register every load of the table that the
    metastore lacks, drop replaced loads and refresh the view; raises JobFailed.

    A table the metastore lacks (a new cluster, `[hive]` added later) is created with
    every load of `loads`; an existing one gets the `new` loads only (ADD IF NOT EXISTS,
    without listing its partitions: `warehouse hive apply` registers any other missing
    load). A table whose DDL differs from the source's (an old root's guessed types) is
    replaced, with every load.
    `if_missing`: do nothing when the metastore has the table already (a load without new
    rows costs no statement).
    """
    ms = registrar.metastore()
    if if_missing and spec.name.lower() in ms.tables():
        return
    views = views_of(ms.database, spec, view[0].mode, view[0].column, view[1]) if view else []
    item = TableSync(spec, [{"load": x} for x in loads], drop=[{"load": x} for x in dropped],
                     views=views, new=[{"load": x} for x in new])
    summary = HiveSummary("hive import", "")
    if not ms.sync(item, summary, replace=True):
        raise JobFailed(f"Hive table {spec.name}: {'; '.join(summary.failed or summary.changed)}")
    if summary.replaced and spec.name in summary.replaced:
        log.info("Hive table %s re-created from the source's schema", spec.name)
