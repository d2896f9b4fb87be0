"""Manage the warehouse's Hive tables: create them, register partitions, run queries
(`warehouse.hive` re-exports the public entry points).

Public functions (each opens its own session from `[hive]`, or uses `client=`):
- `apply(cfg, imported=)`: `warehouse hive apply`: the root made into tables. The
  database, the warehouse's own tables (events, access_raw, agg_<job>) with every
  partition the root holds (for access_raw also the per-day `[logs] input` folders of
  the dates with events: `root_table_sync`), and the imported MySQL tables that
  `imported` describes (the CLI passes `warehouse.mysql.hive_tables.imported_tables`:
  hive/ never imports mysql/); `ensure_tables(cfg, specs)` for any specs; `sync_tables`
  (warehouse.hive.sync) for tables with partitions and views in one session.
- `register_partitions(cfg, table, dates, imported=)`: partitions found in the root and
  missing from the metastore (an imported table: made from `imported`);
  `add_partitions(cfg, spec, partitions)` for explicit ones (these live in
  `warehouse.hive.partitions` and are re-exported here). A table that is not there and
  that the root cannot make raises `TableMissing` (a ConfigError).
- `register_load` (`warehouse.hive.registrar`): an import's loads, in its shared session.
- `ensure_view(cfg, name, select_sql)`; `run_query(cfg, sql)`; `format_result(...)`.

Idempotence: see `warehouse.hive.sync` (DDL fingerprints; a table that differs from its
spec is reported, exit 5, and replaced only with `replace=True`).
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Sequence
from typing import Any

from warehouse.config import Config
from warehouse.errors import ConfigError
from warehouse.hive.client import HiveClient, Result, split_statements
from warehouse.hive.ddl import SPEC_PROPERTY, render_table
from warehouse.hive.imported import ImportedSource
from warehouse.hive.metastore import parse_describe
from warehouse.hive.partitions import (
    add_partitions,
    find_partitions,
    register_partitions,
    root_table_sync,
)
from warehouse.hive.render import render_view
from warehouse.hive.rootcheck import check_catalog_root
from warehouse.hive.session import catalog_database, session, target
from warehouse.hive.spec import TableSpec
from warehouse.hive.summary import HiveSummary
from warehouse.hive.sync import TableSync, open_metastore, sync_tables
from warehouse.hive.tables import warehouse_specs
from warehouse.hive.userviews import apply_views
from warehouse.storage import store_for_config

log = logging.getLogger(__name__)

__all__ = [
    "SPEC_PROPERTY",
    "HiveSummary",
    "Result",
    "TableSync",
    "add_partitions",
    "apply",
    "ensure_tables",
    "ensure_view",
    "find_partitions",
    "format_result",
    "parse_describe",
    "register_partitions",
    "render_table",
    "run_query",
    "sync_tables",
]


def ensure_tables(
    cfg: Config,
    specs: Sequence[TableSpec],
    *,
    replace: bool = False,
    client: HiveClient | None = None,
) -> HiveSummary:
    """Create the database and every table of `specs` that is missing; return a HiveSummary.

    A table whose DDL fingerprint differs from its spec is reported in `.changed` (exit 5)
    and left alone, unless `replace` is set: then it is dropped and re-created (tables are
    EXTERNAL, their files stay). A statement failing on one table is reported in
    `.failed` and the others go on. Raises SourceUnavailable when the server is down.
    """
    return sync_tables(cfg, [TableSync(s) for s in specs], replace=replace, client=client)


def apply(cfg: Config, *, replace: bool = False, client: HiveClient | None = None,
          imported: ImportedSource | None = None) -> HiveSummary:
    """(Re)create every table the root holds and register every partition: the
    warehouse's tables (events, access_raw, agg_<job>), then with `imported` every
    imported table the root describes (`warehouse.hive.imported`; what cannot be made is
    listed as "not made", name clashes fail), then the user's views of `[hive] views` in
    dependency order (`warehouse.hive.userviews`), in one session. With `[glue]`, tables
    and partitions go to the Glue catalog and only the views through HiveServer2 (when
    `[hive]` is set).

    Returns the HiveSummary (exit 5 when a table failed or differs from its spec). Raises
    SourceUnavailable when the catalog is down, and ConfigError when its tables are over
    another root (unless `replace`: the tables then move to this root).
    """
    store = store_for_config(cfg)
    if not replace:  # --replace is how tables follow a warehouse moved on purpose
        check_catalog_root(cfg, store, client=client if cfg.glue is None else None)
    found = imported(store, catalog_database(cfg), cfg) if imported is not None else None
    items = [root_table_sync(cfg, store, spec) for spec in warehouse_specs(cfg)]
    items.extend(found.items if found is not None else ())
    summary = _apply_items(cfg, items, replace=replace, client=client)
    if found is not None:
        summary.skipped.extend(found.notes)
        summary.failed.extend(found.clashes)  # exit 5: `import` refuses them too
    return summary


def _apply_items(cfg: Config, items: Sequence[TableSync], *, replace: bool,
                 client: HiveClient | None) -> HiveSummary:
    """Sync `items`, then the user's views (through HiveServer2 when there is one)."""
    if cfg.glue is not None:
        summary = sync_tables(cfg, items, replace=replace, client=client, action="hive apply")
        if cfg.hive is not None and cfg.hive.views:
            with session(cfg, client) as hive:
                apply_views(cfg, hive, summary)
        return summary
    with session(cfg, client) as hive:
        summary = sync_tables(cfg, items, replace=replace, client=hive, action="hive apply")
        apply_views(cfg, hive, summary)
    return summary


def ensure_view(
    cfg: Config, name: str, select_sql: str, *, client: HiveClient | None = None
) -> HiveSummary:
    """Create or replace the view `name` in the configured database; return a HiveSummary.

    Views hold no data, so replacing one on every run is harmless. A failing statement
    is reported in `.failed` (exit 5).
    """
    hc = cfg.hive_or_default()
    summary = HiveSummary("hive view", target(cfg))
    try:
        render_view(hc.database, name, select_sql)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    with open_metastore(cfg, client) as ms:
        ms.view(name, select_sql, summary)
    return summary


# --- queries ----------------------------------------------------------------------------


def run_query(cfg: Config, sql: str, *, client: HiveClient | None = None) -> Result:
    """Run the `;`-separated statements of `sql` in order; return the last one's result.

    Raises ConfigError for no statement, QueryFailed (exit 5, one line) when one fails or
    returns more than `[hive] max_rows` rows (memory stays bounded), SourceUnavailable (exit 3, naming host:port) when the server cannot be reached.
    """
    statements = split_statements(sql)
    if not statements:
        raise ConfigError("no SQL statement given")
    with session(cfg, client) as hive:
        return hive.execute_many(statements, cfg.hive_or_default().max_rows)


def _binary(value: bytes | bytearray) -> str:
    """A BINARY value as base64: the text a JSON import holds for the same BLOB."""
    return base64.b64encode(value).decode("ascii")


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bytes | bytearray):
        return _binary(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def _tsv_cell(value: Any) -> str:
    if value is None:
        return "\\N"
    text = _cell(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str, list, dict)):
        return value
    if isinstance(value, bytes | bytearray):
        return _binary(value)
    return str(value)


def format_result(result: Result, fmt: str = "table") -> str:
    """Return `result` as an aligned table, TSV (header, `\\N` for NULL) or JSON lines.

    A result without columns (DDL) gives a short note in `table` format and nothing in
    the others. Raises ConfigError for an unknown format.
    """
    if fmt not in ("table", "tsv", "json"):
        raise ConfigError(f"unknown output format {fmt!r}: use table, tsv or json")
    cols = [c.split(".", 1)[1] if "." in c else c for c in result.columns]
    if not cols:
        n = result.statements
        note = f"OK ({n} statement{'s' if n != 1 else ''}, no result set)\n"
        return note if fmt == "table" else ""
    if fmt == "json":
        return "".join(
            json.dumps(
                {c: _json_value(v) for c, v in zip(cols, row, strict=False)},
                ensure_ascii=False,
                default=str,
            )
            + "\n"
            for row in result.rows
        )
    if fmt == "tsv":
        lines = ["\t".join(cols)]
        lines += ["\t".join(_tsv_cell(v) for v in row) for row in result.rows]
        return "\n".join(lines) + "\n"
    cells = [[_cell(v).replace("\n", "\\n") for v in row] for row in result.rows]
    widths = [len(c) for c in cols]
    for row in cells:
        for i, text in enumerate(row):
            widths[i] = max(widths[i], len(text))
    numeric = [
        all(isinstance(row[i], (int, float)) or row[i] is None for row in result.rows)
        and bool(result.rows)
        for i in range(len(cols))
    ]

    def fmt_row(row: Sequence[str]) -> str:
        parts = [
            text.rjust(widths[i]) if numeric[i] else text.ljust(widths[i])
            for i, text in enumerate(row)
        ]
        return " | ".join(parts).rstrip()

    out = [fmt_row(cols), "-+-".join("-" * w for w in widths)]
    out += [fmt_row(r) for r in cells]
    out.append(f"({len(result.rows)} row{'s' if len(result.rows) != 1 else ''})")
    return "\n".join(out) + "\n"
