"""What the root holds, made into Hive tables: `warehouse hive apply` and `hive partitions`.

The root is the source of truth and a metastore can be thrown away (a new EMR cluster,
`[hive]` added after the first imports): `apply` creates, in one session, the warehouse's
own tables (events, access_raw, agg_<job>) with every partition found under the root,
and every imported MySQL table found in the root's import state with all its loads and
its `_latest` view, without contacting MySQL. Idempotent: a second run adds nothing.

This module composes `warehouse.hive` (which never imports `warehouse.mysql`) with the
importer's view of the root (`warehouse.mysql.hive_tables`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from warehouse.config import Config
from warehouse.errors import ConfigError
from warehouse.hive.client import HiveClient
from warehouse.hive.manage import apply as apply_own
from warehouse.hive.partitions import register_partitions as register_own
from warehouse.hive.rootcheck import check_catalog_root
from warehouse.hive.session import target, warehouse_root_uri
from warehouse.hive.summary import HiveSummary
from warehouse.hive.sync import sync_tables
from warehouse.hive.tables import find_spec
from warehouse.mysql.hive_tables import STATE_PREFIX, imported_tables
from warehouse.storage import store_for_config

__all__ = ["apply", "register_partitions"]


def apply(cfg: Config, *, replace: bool = False, client: HiveClient | None = None) -> HiveSummary:
    """(Re)create every table the root holds and register every partition; return the
    HiveSummary (exit 5 when a table failed or differs from its spec; what cannot be made
    is listed as "not made"). Raises SourceUnavailable when HiveServer2 is down, and
    ConfigError when the catalog's tables are over another root (unless `replace`: the
    tables then move to this root)."""
    store = store_for_config(cfg)
    if not replace:  # --replace is how tables follow a warehouse moved on purpose
        check_catalog_root(cfg, store, client=client if cfg.glue is None else None)
    items, notes, clashes = imported_tables(store, _database(cfg), cfg)
    summary = apply_own(cfg, replace=replace, client=client, extra=items)
    summary.skipped.extend(notes)
    summary.failed.extend(clashes)  # exit 5: `import` refuses them too
    return summary


def _database(cfg: Config) -> str:
    """Return the database that holds the tables (the views name it): Glue's when set."""
    return cfg.glue.database if cfg.glue is not None else cfg.hive_or_default().database


def register_partitions(
    cfg: Config,
    table: str,
    dates: Sequence[dt.date | str] | None,
    *,
    client: HiveClient | None = None,
) -> HiveSummary:
    """Register the partitions of `table` found in the root (see
    `warehouse.hive.partitions.register_partitions`); an imported MySQL table is
    (re)created from the root's import state with every load and its views.

    Raises ConfigError for dates on a MySQL table (partitioned by load: use --all) and
    for a `mysql_...` name that no import in the root has.
    """
    if find_spec(cfg, table) is not None or not table.lower().startswith("mysql_"):
        return register_own(cfg, table, dates, client=client)
    store = store_for_config(cfg)
    database = _database(cfg)
    items, notes, clashes = imported_tables(store, database, cfg)
    item = next((i for i in items if i.spec.name == table.lower()), None)
    if item is None:
        try:  # a mysql_ table someone else made, over folders of the root
            return register_own(cfg, table, dates, client=client)
        except ConfigError as exc:
            if "does not exist" not in str(exc):
                raise
        why = next((n for n in notes if n.startswith(table.lower() + " ")), None) or next(
            (c for c in clashes if c.startswith(f"Hive name {table.lower()} ")), None)
        raise ConfigError(
            f"table {table}: {why or 'no import in the root has this name'} (imports are "
            f"listed under {store.uri(STATE_PREFIX)}), so `warehouse hive apply` cannot "
            "create it: check the name, or import the table first with "
            "`warehouse import SOURCE.DATABASE.TABLE`"
        ) from None
    if dates is not None:
        raise ConfigError(f"table {table} is partitioned by load, not dt: use --all")
    # with its `_deletes` table, which its `_latest` view reads (made before the view)
    group = [i for i in items if i.spec.name in (item.spec.name, f"{item.spec.name}_deletes")]
    summary = sync_tables(cfg, group, client=client,
                          action=f"hive partitions {database}.{item.spec.name}")
    summary.partitions_mode = True
    summary.skipped.extend(n for n in notes if n.startswith(f"{item.spec.name}_latest "))
    root = warehouse_root_uri(cfg, store)
    summary.target = f"{target(cfg)}, files under {root.rstrip('/')}/{item.spec.location}"
    return summary
