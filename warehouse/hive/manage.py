"""Manage the warehouse's Hive tables: create them, register partitions, run queries.

Public functions (each opens its own session from `[hive]`, or uses `client=`):
- `apply(cfg)`: the database and the warehouse's own tables (events, access_raw,
  agg_<job>); `ensure_tables(cfg, specs)` for any specs (the MySQL importer's).
- `register_partitions(cfg, table, dates)`: partitions found in the root and missing
  from the metastore; `add_partitions(cfg, spec, partitions)` for explicit ones (these
  live in `warehouse.hive.partitions` and are re-exported here).
- `ensure_view(cfg, name, select_sql)`; `run_query(cfg, sql)`; `format_result(...)`.

Idempotence: tables are created with IF NOT EXISTS and carry the fingerprint of their
rendered DDL in TBLPROPERTIES ('warehouse.spec'). An existing table with the same
fingerprint is left alone; a different one is *reported* (exit 5) with the columns or
location that differ, never dropped silently: pass `replace=True` (tables are EXTERNAL,
dropping one keeps its files) or drop it by hand and re-run.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from warehouse.config import Config
from warehouse.errors import ConfigError, QueryFailed
from warehouse.hive.client import HiveClient, Result, split_statements
from warehouse.hive.ddl import SPEC_PROPERTY, render_table, statements_fingerprint
from warehouse.hive.metastore import (
    Described,
    describe,
    norm_type,
    parse_describe,
    table_names,
    table_properties,
)
from warehouse.hive.partitions import add_partitions, find_partitions, register_partitions
from warehouse.hive.render import (
    Dialect,
    location_uri,
    render_database,
    render_view,
    table_ref,
)
from warehouse.hive.session import session, target, warehouse_root_uri
from warehouse.hive.spec import TableSpec
from warehouse.hive.summary import HiveSummary
from warehouse.hive.tables import warehouse_specs
from warehouse.hive.userviews import apply_views

log = logging.getLogger(__name__)


__all__ = [
    "HiveSummary",
    "Result",
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
]


def _dialect(cfg: Config) -> Dialect:
    d = cfg.hive_or_default().dialect
    if d not in ("hive", "spark"):
        raise ConfigError(f'[hive] dialect must be "hive" or "spark", not {d!r}')
    return d  # type: ignore[return-value]


# --- tables ----------------------------------------------------------------------------


def _same_location(a: str, b: str) -> bool:
    def norm(u: str) -> str:
        if u.startswith("file:"):
            u = "/" + u[len("file:") :].lstrip("/")
        return u.rstrip("/")

    return norm(a) == norm(b)


def _differences(spec: TableSpec, got: Described, root_uri: str) -> list[str]:
    """Return what differs between `spec` and the table in the metastore, as short notes."""
    want = [(c.name.lower(), norm_type(c.type)) for c in (*spec.columns, *spec.partition_by)]
    notes: list[str] = []
    have = list(got.columns)
    have_d, want_d = dict(have), dict(want)
    extra = [f"+{n} {t}" for n, t in want if n not in have_d]
    gone = [f"-{n}" for n, _ in have if n not in want_d]
    retyped = [f"{n} {have_d[n]}->{t}" for n, t in want if n in have_d and have_d[n] != t]
    if extra or gone or retyped:
        notes.append("columns " + ", ".join(extra + gone + retyped))
    elif [n for n, _ in have] != [n for n, _ in want]:
        notes.append("column order")
    if tuple(p.lower() for p in spec.partition_names) != got.partitions:
        notes.append(
            f"partitioned by ({', '.join(got.partitions)}) not ({', '.join(spec.partition_names)})"
        )
    want_loc = location_uri(root_uri, spec.location)
    if got.location and not _same_location(got.location, want_loc):
        notes.append(f"location {got.location} not {want_loc}")
    return notes or ["storage or SerDe settings (fingerprint differs)"]


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
    hc = cfg.hive_or_default()
    dialect = _dialect(cfg)
    root_uri = warehouse_root_uri(cfg)
    summary = HiveSummary("hive tables", target(cfg))
    with session(cfg, client) as hive:
        hive.execute(render_database(hc.database))
        existing = table_names(hive, hc.database)
        for spec in specs:
            try:
                statements = render_table(
                    spec, dialect=dialect, root_uri=root_uri, database=hc.database
                )
            except ValueError as exc:
                summary.failed.append(f"{spec.name}: {exc}")
                continue
            try:
                if spec.name.lower() not in existing:
                    hive.execute_many(statements)
                    summary.created.append(spec.name)
                    continue
                props = table_properties(hive, hc.database, spec.name)
                if props.get(SPEC_PROPERTY) == statements_fingerprint(statements):
                    summary.unchanged.append(spec.name)
                    continue
                if replace:
                    hive.execute(f"DROP TABLE IF EXISTS {table_ref(hc.database, spec.name)}")
                    hive.execute_many(statements)
                    summary.replaced.append(spec.name)
                    continue
                notes = _differences(spec, describe(hive, hc.database, spec.name), root_uri)
                summary.changed.append(f"{spec.name} ({'; '.join(notes)})")
            except QueryFailed as exc:
                summary.failed.append(f"{spec.name}: {exc}")
    return summary


def apply(cfg: Config, *, replace: bool = False, client: HiveClient | None = None) -> HiveSummary:
    """Create the database, the warehouse's tables (events, access_raw, agg_<job>), then the
    user's views of `[hive] views` in dependency order (`warehouse.hive.userviews`)."""
    with session(cfg, client) as hive:
        summary = ensure_tables(cfg, warehouse_specs(cfg), replace=replace, client=hive)
        summary.action = "hive apply"
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
        statement = render_view(hc.database, name, select_sql)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    with session(cfg, client) as hive:
        hive.execute(render_database(hc.database))
        existed = name.lower() in table_names(hive, hc.database)
        try:
            hive.execute(statement)
        except QueryFailed as exc:
            summary.failed.append(f"{name}: {exc}")
            return summary
    (summary.replaced if existed else summary.created).append(name)
    return summary


# --- queries ----------------------------------------------------------------------------


def run_query(cfg: Config, sql: str, *, client: HiveClient | None = None) -> Result:
    """Run the `;`-separated statements of `sql` in order; return the last one's result.

    Raises ConfigError for no statement, QueryFailed (exit 5, one line) when one fails,
    SourceUnavailable (exit 3, naming host:port) when the server cannot be reached.
    """
    statements = split_statements(sql)
    if not statements:
        raise ConfigError("no SQL statement given")
    with session(cfg, client) as hive:
        return hive.execute_many(statements)


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
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
