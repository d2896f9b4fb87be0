"""Tables described by another part of the toolkit, made by the catalog: the imported
MySQL tables.

hive/ never imports mysql/: the importer's view of the root comes in as an
`ImportedSource`, a function of (store, catalog database, config) returning
`ImportedTables` (`warehouse.mysql.hive_tables.imported_tables`), which the caller hands
to `warehouse.hive.manage.apply` or `warehouse.hive.partitions.register_partitions`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from warehouse.config import Config
from warehouse.errors import ConfigError
from warehouse.hive.client import HiveClient
from warehouse.hive.errors import TableMissing
from warehouse.hive.session import catalog_database, target, warehouse_root_uri
from warehouse.hive.spec import TableSync
from warehouse.hive.summary import HiveSummary
from warehouse.hive.sync import sync_tables
from warehouse.storage import ObjectStore

__all__ = ["ImportedSource", "ImportedTables", "register_imported"]


@dataclass(frozen=True)
class ImportedTables:
    """Every imported table the root describes, with what cannot be made.

    `items`: a TableSync per table (a `_deletes` table before its table, views on the
    table); `notes`: objects left out and why (an unreadable state, an unknown view key);
    `clashes`: tables left out because another has one of their Hive names; `listed_under`:
    where the imports are listed (named in messages).
    """

    items: tuple[TableSync, ...]
    notes: tuple[str, ...]
    clashes: tuple[str, ...]
    listed_under: str

    def find(self, table: str) -> TableSync | None:
        """Return the item of Hive table `table` (any case), or None."""
        return next((i for i in self.items if i.spec.name == table.lower()), None)

    def missing(self, table: str) -> TableMissing:
        """Return the error for a `mysql_...` name that no import in the root makes."""
        name = table.lower()
        why = next((n for n in self.notes if n.startswith(name + " ")), None) or next(
            (c for c in self.clashes if c.startswith(f"Hive name {name} ")), None)
        return TableMissing(
            f"table {table}: {why or 'no import in the root has this name'} (imports are "
            f"listed under {self.listed_under}), so `warehouse hive apply` cannot "
            "create it: check the name, or import the table first with "
            "`warehouse import SOURCE.DATABASE.TABLE`"
        )


ImportedSource = Callable[[ObjectStore, str, Config], ImportedTables]


def register_imported(
    cfg: Config,
    found: ImportedTables,
    table: str,
    dates: Sequence[dt.date | str] | None,
    *,
    client: HiveClient | None = None,
) -> HiveSummary:
    """(Re)create imported table `table` with every load of its state, its `_deletes` table
    and its views; return the HiveSummary. Raises TableMissing when `found` lacks it,
    ConfigError for dates (such a table is partitioned by load: use --all)."""
    item = found.find(table)
    if item is None:
        raise found.missing(table)
    if dates is not None:
        raise ConfigError(f"table {table} is partitioned by load, not dt: use --all")
    name = item.spec.name
    # with its `_deletes` table, which its `_latest` view reads (made before the view)
    group = [i for i in found.items if i.spec.name in (name, f"{name}_deletes")]
    summary = sync_tables(cfg, group, client=client,
                          action=f"hive partitions {catalog_database(cfg)}.{name}")
    summary.partitions_mode = True
    summary.skipped.extend(n for n in found.notes if n.startswith(f"{name}_latest "))
    root = warehouse_root_uri(cfg)
    summary.target = f"{target(cfg)}, files under {root.rstrip('/')}/{item.spec.location}"
    return summary
