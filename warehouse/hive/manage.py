"""Manage the warehouse's Hive tables: create them, register partitions, run queries.

Public functions (each opens its own session from `[hive]`, or uses `client=`):
- `apply(cfg)`: the database and the warehouse's own tables (events, access_raw,
  agg_<job>); `ensure_tables(cfg, specs)` for any specs (the MySQL importer's).
- `register_partitions(cfg, table, dates)`: partitions found in the root and missing
  from the metastore; `add_partitions(cfg, spec, partitions)` for explicit ones.
- `ensure_view(cfg, name, select_sql)`; `run_query(cfg, sql)`; `format_result(...)`.

Idempotence: tables are created with IF NOT EXISTS and carry the fingerprint of their
rendered DDL in TBLPROPERTIES ('warehouse.spec'). An existing table with the same
fingerprint is left alone; a different one is *reported* (exit 5) with the columns or
location that differ, never dropped silently: pass `replace=True` (tables are EXTERNAL,
dropping one keeps its files) or drop it by hand and re-run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from warehouse.config import Config
from warehouse.errors import (
    EXIT_FAILED,
    EXIT_INPUT_MISSING,
    ConfigError,
    QueryFailed,
    combined_exit_code,
)
from warehouse.hive.client import HiveClient, Result, connect, split_statements
from warehouse.hive.render import (
    Dialect,
    location_uri,
    parse_partition_spec,
    quote_ident,
    render_add_partitions,
    render_create,
    render_database,
    render_view,
    table_ref,
)
from warehouse.hive.spec import Column, TableSpec
from warehouse.hive.tables import find_spec, warehouse_specs
from warehouse.storage import ObjectStore, open_store, store_for_config

log = logging.getLogger(__name__)

SPEC_PROPERTY = "warehouse.spec"
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

__all__ = [
    "HiveSummary",
    "Result",
    "add_partitions",
    "apply",
    "ensure_tables",
    "ensure_view",
    "format_result",
    "register_partitions",
    "render_table",
    "run_query",
]


@dataclass
class HiveSummary:
    """What a Hive operation did; `.line()` for the CLI, `.exit_code` for cron."""

    action: str
    target: str
    created: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    found: int = 0
    added: int = 0
    present: int = 0
    statements: int = 0
    no_data: list[str] = field(default_factory=list)
    partitions_mode: bool = False

    @property
    def exit_code(self) -> int:
        """Return 5 if a table failed or drifted from its spec, 4 if no requested date had data."""
        codes = []
        if self.failed or self.changed:
            codes.append(EXIT_FAILED)
        if self.partitions_mode and self.no_data and not self.found:
            codes.append(EXIT_INPUT_MISSING)
        return combined_exit_code(codes)

    def line(self) -> str:
        """Return the one-line summary."""
        if self.partitions_mode:
            text = (
                f"{self.action}: {self.found} partitions in the root, {self.added} added, "
                f"{self.present} already registered ({self.statements} statements; {self.target})"
            )
            if self.no_data:
                text += f"; no data for {len(self.no_data)}: {_few(self.no_data)}"
        else:
            total = sum(
                map(len, (self.created, self.unchanged, self.replaced, self.changed, self.failed))
            )
            text = (
                f"{self.action}: {total} objects in {self.target}: {len(self.created)} created, "
                f"{len(self.unchanged)} unchanged, {len(self.changed)} changed"
            )
            if self.replaced:
                text += f", {len(self.replaced)} replaced"
            if self.changed:
                text += (
                    f"; differ from their spec (left as they are): {'; '.join(self.changed)}"
                    " - re-run with --replace (replace=True) or drop them (external tables:"
                    " the files stay)"
                )
        if self.failed:
            text += f"; {len(self.failed)} failed: {'; '.join(self.failed)}"
        return text


def _few(items: Sequence[str], n: int = 5) -> str:
    shown = ", ".join(items[:n])
    return shown + (f" and {len(items) - n} more" if len(items) > n else "")


@contextmanager
def _session(cfg: Config, client: HiveClient | None) -> Iterator[HiveClient]:
    if client is not None:
        yield client
        return
    with connect(cfg) as opened:
        yield opened


def _dialect(cfg: Config) -> Dialect:
    d = cfg.hive_or_default().dialect
    if d not in ("hive", "spark"):
        raise ConfigError(f'[hive] dialect must be "hive" or "spark", not {d!r}')
    return d  # type: ignore[return-value]


def _root_uri(cfg: Config, store: ObjectStore | None = None) -> str:
    return location_uri((store or store_for_config(cfg)).uri(""))


def _target(cfg: Config) -> str:
    hc = cfg.hive_or_default()
    via = f" via [ssh.{hc.tunnel}]" if hc.tunnel else ""
    return f"database {hc.database} at {hc.host}:{hc.port}{via} ({hc.dialect})"


# --- tables ----------------------------------------------------------------------------


def render_table(spec: TableSpec, *, dialect: Dialect, root_uri: str, database: str) -> list[str]:
    """Return the CREATE statements for `spec` with its DDL fingerprint in TBLPROPERTIES."""
    plain = render_create(spec, dialect=dialect, root_uri=root_uri, database=database)
    digest = hashlib.sha256("\n".join(plain).encode("utf-8")).hexdigest()[:16]
    stamped = replace(spec, properties={**spec.properties, SPEC_PROPERTY: digest})
    return render_create(stamped, dialect=dialect, root_uri=root_uri, database=database)


def _fingerprint(statements: Sequence[str]) -> str:
    m = re.search(rf"'{re.escape(SPEC_PROPERTY)}' = '([0-9a-f]+)'", "\n".join(statements))
    return m.group(1) if m else ""


def _table_names(client: HiveClient, database: str) -> set[str]:
    result = client.execute(f"SHOW TABLES IN {quote_ident(database)}")
    # Hive: (tab_name); Spark: (namespace, tableName, isTemporary)
    return {str(row[1] if len(row) >= 2 else row[0]).lower() for row in result.rows}


def _properties(client: HiveClient, database: str, name: str) -> dict[str, str]:
    result = client.execute(f"SHOW TBLPROPERTIES {table_ref(database, name)}")
    return {str(r[0]).strip(): str(r[1]).strip() for r in result.rows if len(r) >= 2}


def _norm_type(t: str) -> str:
    return re.sub(r"\s+", "", t).lower()


def _same_location(a: str, b: str) -> bool:
    def norm(u: str) -> str:
        if u.startswith("file:"):
            u = "/" + u[len("file:") :].lstrip("/")
        return u.rstrip("/")

    return norm(a) == norm(b)


@dataclass(frozen=True)
class _Described:
    columns: tuple[tuple[str, str], ...]
    partitions: tuple[str, ...]
    location: str


def _describe(client: HiveClient, database: str, name: str) -> _Described:
    """Return a table's columns (partition columns included), partition names and location."""
    return parse_describe(client.execute(f"DESCRIBE FORMATTED {table_ref(database, name)}").rows)


def parse_describe(rows: Sequence[Sequence[Any]]) -> _Described:
    """Return columns, partition names and location from DESCRIBE FORMATTED rows (Hive or Spark)."""
    columns: list[tuple[str, str]] = []
    partitions: list[tuple[str, str]] = []
    location = ""
    section = "columns"
    for row in rows:
        key = str(row[0] or "").strip()
        value = str(row[1] or "").strip() if len(row) > 1 else ""
        if key.startswith("# Partition Information"):
            section = "partitions"
            continue
        if key.startswith("# Detailed Table Information") or key.startswith("# Storage"):
            section = "details"
            continue
        if key.startswith("#"):
            continue
        if section == "columns" and key:
            columns.append((key.lower(), _norm_type(value)))
        elif section == "columns" and not key and columns:
            section = "gap"  # Hive leaves a blank row before the partition section
        elif section == "partitions" and key:
            partitions.append((key.lower(), _norm_type(value)))
        elif section == "details" and key.rstrip(":") == "Location":
            location = value
    # Spark lists partition columns among the columns too; Hive only in its own section.
    named = {n for n, _ in columns}
    columns += [p for p in partitions if p[0] not in named]
    return _Described(tuple(columns), tuple(n for n, _ in partitions), location)


def _differences(spec: TableSpec, got: _Described, root_uri: str) -> list[str]:
    """Return what differs between `spec` and the table in the metastore, as short notes."""
    want = [(c.name.lower(), _norm_type(c.type)) for c in (*spec.columns, *spec.partition_by)]
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
    root_uri = _root_uri(cfg)
    summary = HiveSummary("hive tables", _target(cfg))
    with _session(cfg, client) as hive:
        hive.execute(render_database(hc.database))
        existing = _table_names(hive, hc.database)
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
                props = _properties(hive, hc.database, spec.name)
                if props.get(SPEC_PROPERTY) == _fingerprint(statements):
                    summary.unchanged.append(spec.name)
                    continue
                if replace:
                    hive.execute(f"DROP TABLE IF EXISTS {table_ref(hc.database, spec.name)}")
                    hive.execute_many(statements)
                    summary.replaced.append(spec.name)
                    continue
                notes = _differences(spec, _describe(hive, hc.database, spec.name), root_uri)
                summary.changed.append(f"{spec.name} ({'; '.join(notes)})")
            except QueryFailed as exc:
                summary.failed.append(f"{spec.name}: {exc}")
    return summary


def apply(cfg: Config, *, replace: bool = False, client: HiveClient | None = None) -> HiveSummary:
    """Create the database and the warehouse's tables (events, access_raw, agg_<job>)."""
    summary = ensure_tables(cfg, warehouse_specs(cfg), replace=replace, client=client)
    summary.action = "hive apply"
    return summary


def ensure_view(
    cfg: Config, name: str, select_sql: str, *, client: HiveClient | None = None
) -> HiveSummary:
    """Create or replace the view `name` in the configured database; return a HiveSummary.

    Views hold no data, so replacing one on every run is harmless. A failing statement
    is reported in `.failed` (exit 5).
    """
    hc = cfg.hive_or_default()
    summary = HiveSummary("hive view", _target(cfg))
    try:
        statement = render_view(hc.database, name, select_sql)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    with _session(cfg, client) as hive:
        hive.execute(render_database(hc.database))
        existed = name.lower() in _table_names(hive, hc.database)
        try:
            hive.execute(statement)
        except QueryFailed as exc:
            summary.failed.append(f"{name}: {exc}")
            return summary
    (summary.replaced if existed else summary.created).append(name)
    return summary


# --- partitions -------------------------------------------------------------------------


def _registered(client: HiveClient, database: str, spec: TableSpec) -> set[tuple[str, ...]]:
    result = client.execute(f"SHOW PARTITIONS {table_ref(database, spec.name)}")
    out = set()
    for row in result.rows:
        values = parse_partition_spec(str(row[0]))
        out.add(tuple(values.get(n, "") for n in spec.partition_names))
    return out


def add_partitions(
    cfg: Config,
    spec: TableSpec,
    partitions: Sequence[Mapping[str, str]],
    *,
    locations: Mapping[tuple[str, ...], str] | None = None,
    client: HiveClient | None = None,
) -> HiveSummary:
    """Register `partitions` ({column: value} each) of `spec` that the metastore lacks.

    Each partition's LOCATION is `<root>/<spec.location>/k=v/...`, or the URI that
    `locations` gives for its values tuple; many go in one `ALTER TABLE ... ADD IF NOT
    EXISTS` statement. Does not look at the files (see `register_partitions` for that).
    Raises ConfigError for a partition missing a column.
    """
    hc = cfg.hive_or_default()
    root_uri = _root_uri(cfg)
    summary = HiveSummary(f"hive partitions {hc.database}.{spec.name}", _target(cfg))
    summary.partitions_mode = True
    wanted: dict[tuple[str, ...], dict[str, str]] = {}
    for values in partitions:
        if set(values) != set(spec.partition_names):
            raise ConfigError(
                f"table {spec.name}: partition {dict(values)} must give exactly "
                f"{', '.join(spec.partition_names) or 'no partition columns'}"
            )
        wanted[tuple(str(values[n]) for n in spec.partition_names)] = {
            n: str(values[n]) for n in spec.partition_names
        }
    summary.found = len(wanted)
    with _session(cfg, client) as hive:
        have = _registered(hive, hc.database, spec) if wanted else set()
        missing = [wanted[k] for k in sorted(wanted) if k not in have]
        summary.present = len(wanted) - len(missing)
        where = None
        if locations:
            where = [locations.get(tuple(p[n] for n in spec.partition_names)) for p in missing]
        statements = render_add_partitions(
            spec, missing, root_uri=root_uri, database=hc.database, locations=where
        )
        try:
            hive.execute_many(statements)
        except QueryFailed as exc:
            summary.failed.append(f"{spec.name}: {exc}")
            return summary
        summary.added = len(missing)
        summary.statements = len(statements)
    return summary


def _day(value: dt.date | str) -> str:
    text = value.isoformat() if isinstance(value, dt.date) else str(value).strip()
    if not _DATE_RE.match(text):
        raise ConfigError(f"bad partition date {value!r}: use YYYY-MM-DD")
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"bad partition date {value!r}: use YYYY-MM-DD") from None
    return text


def find_partitions(
    store: ObjectStore, spec: TableSpec, dates: Sequence[str] | None = None
) -> list[dict[str, str]]:
    """Return the partitions of `spec` present in the store, sorted.

    A partition counts only when it holds at least one object with a final name (names
    starting with `_` or `.` are work in progress and are ignored), so a partition still
    being written is never registered. `dates` limits a `dt`-partitioned table to those
    dates (read as `<location>/dt=D/` only).
    """
    names = spec.partition_names
    base = spec.location.strip("/")
    if not names:
        return []
    prefixes = [f"{base}/"]
    if dates is not None and names[0] == "dt":
        prefixes = [f"{base}/dt={d}/" for d in dates]
    found: dict[tuple[str, ...], dict[str, str]] = {}
    for prefix in prefixes:
        for obj in store.list(prefix):
            rel = obj.key[len(base) + 1 :] if obj.key.startswith(base + "/") else obj.key
            segments = rel.split("/")
            if len(segments) <= len(names):
                continue  # a file directly in the table or partition folder, not in a leaf
            values: dict[str, str] = {}
            for name, seg in zip(names, segments, strict=False):
                key, sep, value = seg.partition("=")
                if not sep or key != name or not value:
                    break
                values[name] = value
            else:
                found[tuple(values[n] for n in names)] = values
    result = [found[k] for k in sorted(found)]
    if dates is not None and "dt" in names:
        keep = set(dates)
        result = [p for p in result if p["dt"] in keep]
    return result


def _spec_from_metastore(cfg: Config, client: HiveClient, table: str, root_uri: str) -> TableSpec:
    """Build a minimal spec (partitions, root-relative location) for a table we do not own."""
    hc = cfg.hive_or_default()
    if table.lower() not in _table_names(client, hc.database):
        raise ConfigError(
            f"table {hc.database}.{table} does not exist: run `warehouse hive apply` "
            "(or the import that creates it) first"
        )
    got = _describe(client, hc.database, table)
    if not got.partitions:
        raise ConfigError(f"table {hc.database}.{table} is not partitioned")
    root = root_uri.rstrip("/") + "/"
    location = got.location
    if location.startswith("file:"):
        location = Path("/" + location[len("file:") :].lstrip("/")).as_uri()
    if not location.startswith(root):
        raise ConfigError(
            f"table {hc.database}.{table} is at {got.location}, outside the warehouse root "
            f"{root_uri}: register its partitions with ALTER TABLE by hand"
        )
    return TableSpec(
        name=table,
        columns=(),
        location=location[len(root) :],
        partition_by=tuple(Column(p, "STRING") for p in got.partitions),
    )


def _is_day_folder(template: str | None) -> bool:
    """Return True when `[logs] input` depends on the date (maybe one folder per day)."""
    return bool(template and "{date" in template)


def _folder(uri: str) -> bool:
    """Return True when `uri` names a folder: s3://.../ or an existing local directory."""
    if "://" in uri and not uri.startswith("file://"):
        return uri.endswith("/")
    return Path(uri.removeprefix("file://")).is_dir()


def _raw_log_folders(
    cfg: Config, days: Sequence[str], copied: list[dict[str, str]]
) -> tuple[list[dict[str, str]], dict[tuple[str, ...], str]]:
    """Return access_raw partitions for `days` that point at the day's `[logs] input` folder.

    A copy under ROOT/raw/dt=D/ wins; otherwise the day's input folder counts when it
    holds at least one object with a final name.
    """
    template = cfg.logs.input or ""
    have = {p["dt"] for p in copied}
    found = list(copied)
    locations: dict[tuple[str, ...], str] = {}
    for day in days:
        if day in have:
            continue
        when = dt.datetime.combine(dt.date.fromisoformat(day), dt.time())
        try:
            folder = template.format(date=when)
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(f"[logs] input {template!r} cannot be expanded: {exc}") from None
        if not _folder(folder):
            continue  # one file per day (or none): Hive needs a folder per partition
        logs = open_store(folder, cfg.s3)
        if next(iter(logs.list("")), None) is not None:
            found.append({"dt": day})
            locations[(day,)] = location_uri(logs.uri(""))
    return sorted(found, key=lambda p: p["dt"]), locations


def register_partitions(
    cfg: Config,
    table: str,
    dates: Sequence[dt.date | str] | None,
    *,
    client: HiveClient | None = None,
) -> HiveSummary:
    """Register the partitions of `table` that exist in the root and not in the metastore.

    `dates` (date objects or "YYYY-MM-DD" strings) limits a dt-partitioned table to those
    dates; None takes every partition found. For `access_raw` with dates, a day missing
    under ROOT/raw/ is taken from `[logs] input` when that expands to a folder for the
    day (e.g. ".../{date:%Y/%m/%d}/"): the partition then points at that folder. The warehouse's own tables are created when
    missing; any other table must exist (ConfigError otherwise).
    Exit code 4 when dates were given and none has data; raises ConfigError for dates on
    a table without `dt`, SourceUnavailable when the server is down.
    """
    days = None if dates is None else sorted({_day(d) for d in dates})
    store = store_for_config(cfg)
    root_uri = _root_uri(cfg, store)
    with _session(cfg, client) as hive:
        spec = find_spec(cfg, table)
        if spec is None:
            spec = _spec_from_metastore(cfg, hive, table, root_uri)
        elif hive.execute(render_database(cfg.hive_or_default().database)) and (
            spec.name.lower() not in _table_names(hive, cfg.hive_or_default().database)
        ):
            # One of our own tables: create it rather than fail the nightly run.
            created = ensure_tables(cfg, [spec], client=hive)
            if created.exit_code:
                created.partitions_mode = True
                return created
        if days is not None and "dt" not in spec.partition_names:
            raise ConfigError(
                f"table {table} is partitioned by {', '.join(spec.partition_names)}, not dt: "
                "use --all"
            )
        found = find_partitions(store, spec, days)
        locations: dict[tuple[str, ...], str] = {}
        if spec.name == "access_raw" and days is not None and _is_day_folder(cfg.logs.input):
            found, locations = _raw_log_folders(cfg, days, found)
        summary = add_partitions(cfg, spec, found, locations=locations, client=hive)
    if days is not None:
        have = {p["dt"] for p in found}
        summary.no_data = [d for d in days if d not in have]
    summary.target = f"{_target(cfg)}, files under {location_uri(root_uri, spec.location)}"
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
    with _session(cfg, client) as hive:
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
