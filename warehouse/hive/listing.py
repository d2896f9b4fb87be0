"""`warehouse hive ls [TABLE]`: what the catalog holds, from Glue (`[glue]`) or
HiveServer2 alike: every table with its location and partition count, or one table's
columns and partitions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from warehouse.config import Config
from warehouse.errors import QueryFailed
from warehouse.hive.errors import TableMissing

__all__ = ["Listing", "TableInfo", "list_catalog"]


@dataclass
class TableInfo:
    """One table or view of the catalog."""

    name: str
    kind: str  # table | view
    location: str = ""
    partitions: int | None = None  # None: not partitioned (or a view)
    columns: list[tuple[str, str]] = field(default_factory=list)
    partition_keys: list[str] = field(default_factory=list)
    partition_values: list[str] = field(default_factory=list)  # "k=v/k2=v2"


@dataclass
class Listing:
    """What `hive ls` prints: the tables (or the one asked for) and where they are."""

    target: str
    tables: list[TableInfo]
    table: str | None = None
    exit_code: int = 0

    def line(self) -> str:
        """Return the one-line summary."""
        if self.table:
            t = self.tables[0]
            parts = "" if t.partitions is None else f", {t.partitions} partitions"
            return (f"hive ls {t.name}: {t.kind}, {len(t.columns)} columns{parts}"
                    f"{' at ' + t.location if t.location else ''} ({self.target})")
        n = len(self.tables)
        views = sum(1 for t in self.tables if t.kind == "view")
        return f"hive ls: {n - views} tables, {views} views in {self.target}"


def list_catalog(cfg: Config, table: str | None = None, *, client: Any = None) -> Listing:
    """Return every table of the catalog (Glue when `[glue]` is set, else HiveServer2),
    or `table` with its columns and partitions; raises TableMissing (a ConfigError) for a
    table that is not there, SourceUnavailable when the catalog cannot be reached."""
    lister = _glue if cfg.glue is not None else _hive
    return lister(cfg, table.lower() if table else None, client)


def _missing(table: str, target: str) -> TableMissing:
    return TableMissing(f"table {table} is not in {target}; `warehouse hive ls` lists them")


def _glue(cfg: Config, table: str | None, client: Any) -> Listing:
    from warehouse.hive.glue import GlueCatalog

    catalog = GlueCatalog(cfg, cfg.root, client=client)
    tables = catalog.existing_tables()
    if table is not None:
        if table not in tables:
            raise _missing(table, catalog.target)
        tables = {table: tables[table]}
    out = []
    for name, t in sorted(tables.items()):
        sd = t.get("StorageDescriptor") or {}
        keys = [k["Name"] for k in t.get("PartitionKeys") or []]
        info = TableInfo(
            name, "view" if t.get("TableType") == "VIRTUAL_VIEW" else "table",
            str(sd.get("Location") or ""),
            columns=[(c["Name"], c.get("Type", "")) for c in sd.get("Columns") or []]
            + [(k["Name"], k.get("Type", "")) for k in t.get("PartitionKeys") or []],
            partition_keys=keys,
        )
        if keys:
            values = [
                "/".join(f"{k}={v}" for k, v in zip(keys, values, strict=False))
                for values in catalog.partition_values(t["Name"])
            ]
            info.partitions = len(values)
            if table is not None:
                info.partition_values = sorted(values)
        out.append(info)
    return Listing(catalog.target, out, table)


@contextmanager
def _session(cfg: Config, client: Any) -> Iterator[Any]:
    from warehouse.hive.session import session

    with session(cfg, client) as hive:
        yield hive


def _hive(cfg: Config, table: str | None, client: Any) -> Listing:
    from warehouse.hive.metastore import describe, table_names
    from warehouse.hive.render import table_ref
    from warehouse.hive.session import target

    where = target(cfg)
    database = cfg.hive_or_default().database
    out = []
    with _session(cfg, client) as hive:
        dbs = {str(r[0]).lower() for r in hive.execute("SHOW DATABASES").rows}
        names = sorted(table_names(hive, database)) if database.lower() in dbs else []
        if table is not None:
            if table not in names:
                raise _missing(table, where)
            names = [table]
        for name in names:
            d = describe(hive, database, name)
            info = TableInfo(name, "table" if d.location else "view", d.location,
                             columns=list(d.columns), partition_keys=list(d.partitions))
            if d.partitions:
                try:
                    rows = hive.execute(f"SHOW PARTITIONS {table_ref(database, name)}").rows
                except QueryFailed:
                    rows = []
                values = sorted(str(r[0]) for r in rows)
                info.partitions = len(values)
                if table is not None:
                    info.partition_values = values
            out.append(info)
    return Listing(where, out, table)
