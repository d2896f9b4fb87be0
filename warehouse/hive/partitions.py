"""Hive partitions: find them in the warehouse root and register those the metastore lacks."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from warehouse.config import Config
from warehouse.errors import ConfigError, QueryFailed
from warehouse.hive.client import HiveClient
from warehouse.hive.errors import TableMissing
from warehouse.hive.imported import ImportedSource, register_imported
from warehouse.hive.metastore import describe, registered_partitions, table_names
from warehouse.hive.render import (
    location_uri,
    render_add_partitions,
    render_database,
)
from warehouse.hive.session import catalog_database, session, target, warehouse_root_uri
from warehouse.hive.spec import Column, TableSpec, TableSync, by_values
from warehouse.hive.summary import HiveSummary
from warehouse.hive.sync import sync_tables
from warehouse.hive.tables import events_spec, find_spec, storage_twin
from warehouse.storage import ObjectStore, is_remote, open_store, store_for_config

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

__all__ = ["add_partitions", "find_partitions", "register_partitions", "root_table_sync"]


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
    root_uri = warehouse_root_uri(cfg)
    summary = HiveSummary(f"hive partitions {hc.database}.{spec.name}", target(cfg))
    summary.partitions_mode = True
    wanted = by_values(spec, partitions)
    summary.found = len(wanted)
    with session(cfg, client) as hive:
        have = registered_partitions(hive, hc.database, spec) if wanted else set()
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
    if table.lower() not in table_names(client, hc.database):
        raise TableMissing(
            f"table {hc.database}.{table} does not exist and is not one of the warehouse's "
            "tables (events, access_raw, agg_JOB, an imported mysql_...): create it first"
        )
    got = describe(client, hc.database, table)
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
    """Return True when `uri` names a folder: a remote prefix ending in `/`, or an
    existing local directory."""
    if is_remote(uri):
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


def root_table_sync(cfg: Config, store: ObjectStore, spec: TableSpec) -> TableSync:
    """Return `spec` with every partition the root holds, for `hive apply`. For
    `access_raw` with a per-day `[logs] input` folder, the days read in place count too:
    each date the root has events for whose input folder holds a log (a day's log holds
    that day's events), pointing at that folder as `run` registers it."""
    found = find_partitions(store, spec)
    if spec.name != "access_raw" or not _is_day_folder(cfg.logs.input):
        return TableSync(spec, found)
    days = sorted({p["dt"] for p in find_partitions(store, events_spec())})
    found, locations = _raw_log_folders(cfg, days, found)
    return TableSync(spec, found, locations)


def _in_root(
    cfg: Config, store: ObjectStore, spec: TableSpec, table: str, days: list[str] | None
) -> tuple[list[dict[str, str]], dict[tuple[str, ...], str]]:
    """Return the partitions of `spec` the root holds (for `days`), and their locations
    where they are not under the table's folder (access_raw's per-day log folders)."""
    if days is not None and "dt" not in spec.partition_names:
        raise ConfigError(
            f"table {table} is partitioned by {', '.join(spec.partition_names)}, not dt: "
            "use --all"
        )
    found = find_partitions(store, spec, days)
    locations: dict[tuple[str, ...], str] = {}
    if spec.name == "access_raw" and days is not None and _is_day_folder(cfg.logs.input):
        found, locations = _raw_log_folders(cfg, days, found)
    return found, locations


def _register_in_glue(
    cfg: Config, table: str, days: list[str] | None, store: ObjectStore,
    client: HiveClient | None,
) -> tuple[HiveSummary, TableSpec, list[dict[str, str]]]:
    """Register one of the warehouse's own tables' partitions in the Glue catalog (the
    table is created when missing); raises ConfigError for a table it does not define."""
    spec = find_spec(cfg, table)
    if spec is None:
        raise ConfigError(
            f"table {table} is not one of the warehouse's tables: with [glue], partitions "
            "are registered for events, access_raw, agg_<job>, report_<name> and imported "
            "tables only (`warehouse hive apply` makes them all)"
        )
    found, locations = _in_root(cfg, store, spec, table, days)
    db = cfg.glue.database if cfg.glue else ""
    summary = sync_tables(cfg, [TableSync(spec, found, locations)], client=client,
                          action=f"hive partitions {db}.{spec.name}")
    if summary.switched and days is not None:
        # re-created in its other storage ([events] parquet): every partition the root holds
        found, locations = _in_root(cfg, store, spec, table, None)
        rest = sync_tables(cfg, [TableSync(spec, found, locations)], client=client)
        summary.found, summary.present = rest.found, rest.present - summary.added
        summary.statements += rest.statements
        summary.added += rest.added
        summary.failed.extend(rest.failed)
    summary.partitions_mode = True
    return summary, spec, found


def register_partitions(
    cfg: Config,
    table: str,
    dates: Sequence[dt.date | str] | None,
    *,
    client: HiveClient | None = None,
    imported: ImportedSource | None = None,
) -> HiveSummary:
    """Register the partitions of `table` that exist in the root and not in the metastore.

    `dates` (date objects or "YYYY-MM-DD" strings) limits a dt-partitioned table to those
    dates; None takes every partition found. For `access_raw` with dates, a day missing
    under ROOT/raw/ is taken from `[logs] input` when that expands to a folder for the
    day (e.g. ".../{date:%Y/%m/%d}/"): the partition then points at that folder. The
    warehouse's own tables are created when missing; with `imported` (the importer's view
    of the root, `warehouse.hive.imported`), so is an imported `mysql_...` table, with
    every load and its views; any other table must exist (TableMissing otherwise).
    Exit code 4 when dates were given and none has data; raises ConfigError for dates on
    a table without `dt`, SourceUnavailable when the server is down.
    """
    if imported is None or find_spec(cfg, table) is not None or not table.lower().startswith(
        "mysql_"
    ):
        return _register_found(cfg, table, dates, client)
    found = imported(store_for_config(cfg), catalog_database(cfg), cfg)
    if found.find(table) is None:
        try:  # a mysql_ table someone else made, over folders of the root
            return _register_found(cfg, table, dates, client)
        except TableMissing:
            raise found.missing(table) from None
    return register_imported(cfg, found, table, dates, client=client)


def _own_table(cfg: Config, hive: HiveClient, spec: TableSpec) -> HiveSummary | None:
    """Create one of the warehouse's own tables when it is missing (rather than fail the
    nightly run), or re-create it when the metastore holds its storage twin ([events]
    parquet changed: `storage_twin`); return that sync's summary, None when the table
    was kept as it is (one that differs otherwise is left to `hive apply`, as before)."""
    database = cfg.hive_or_default().database
    hive.execute(render_database(database))
    if spec.name.lower() in table_names(hive, database):
        if storage_twin(spec) is None:
            return None
        synced = sync_tables(cfg, [TableSync(spec)], client=hive)
        return synced if synced.switched or synced.failed else None
    return sync_tables(cfg, [TableSync(spec)], client=hive)


def _register_found(
    cfg: Config, table: str, dates: Sequence[dt.date | str] | None, client: HiveClient | None
) -> HiveSummary:
    """`register_partitions` for a table whose partitions are the folders of the root."""
    days = None if dates is None else sorted({_day(d) for d in dates})
    store = store_for_config(cfg)
    root_uri = warehouse_root_uri(cfg, store)
    if cfg.glue is not None:
        summary, spec, found = _register_in_glue(cfg, table, days, store, client)
    else:
        with session(cfg, client) as hive:
            own = find_spec(cfg, table)
            spec = own or _spec_from_metastore(cfg, hive, table, root_uri)
            made = None if own is None else _own_table(cfg, hive, own)
            if made is not None and made.exit_code:
                made.partitions_mode = True
                return made
            # a table re-created in its other storage has no partition: all of them
            whole = made is not None and bool(made.switched)
            found, locations = _in_root(cfg, store, spec, table, None if whole else days)
            summary = add_partitions(cfg, spec, found, locations=locations, client=hive)
            summary.switched = made.switched if made is not None else []
    if days is not None:
        have = {p["dt"] for p in found}
        summary.no_data = [d for d in days if d not in have]
    summary.target = f"{target(cfg)}, files under {location_uri(root_uri, spec.location)}"
    return summary
