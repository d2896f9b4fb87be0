"""The Glue Data Catalog behind the same interface as the HiveServer2 `Metastore`.

`warehouse.hive.sync.open_metastore` yields a `GlueMetastore` when `[glue]` is set, so
`hive apply`, `hive partitions`, `--register`, the importer and `run` write tables and
partitions to Glue without HiveServer2. Views are not Glue's: with `[hive]` set too (EMR's
Hive using Glue as its metastore) they go through a HiveServer2 session opened on first
use, so each object is written once (tables and partitions by Glue, views by Hive);
without `[hive]` they are listed as not made.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any, Protocol

from warehouse.hive.glue import GlueCatalog
from warehouse.hive.spec import TableSync
from warehouse.hive.summary import HiveSummary

__all__ = ["GlueMetastore"]


class ViewMaker(Protocol):
    """What views need of a HiveServer2 session (`warehouse.hive.sync.Metastore`)."""

    def view(self, name: str, select_sql: str, summary: HiveSummary) -> bool: ...

GLUE_ONLY_VIEW = "a Glue-only catalog holds no Hive views: its Athena SQL is printed; or set [hive]"
_BACKQUOTED = re.compile(r"`((?:[^`]|``)*)`")


def athena_view_sql(database: str, name: str, select_sql: str) -> str:
    """Return the Athena (Trino) statement that makes view `name` over `select_sql` (Hive
    SQL whose identifiers are backquoted): identifiers double-quoted instead."""

    def dq(text: str) -> str:
        return '"' + text.replace('"', '""') + '"'

    body = _BACKQUOTED.sub(lambda m: dq(m.group(1).replace("``", "`")), select_sql)
    return f"CREATE OR REPLACE VIEW {dq(database)}.{dq(name)} AS {body}"


class GlueMetastore:
    """Tables and partitions in Glue; views through `hive()` (a HiveServer2 Metastore) or
    none. Thread-safe like `Metastore` (one call at a time)."""

    def __init__(self, catalog: GlueCatalog, hive: Callable[[], ViewMaker] | None) -> None:
        self.catalog = catalog
        self.database = catalog.glue.database
        self.lock = threading.RLock()
        self._hive = hive
        self._existing: dict[str, dict[str, Any]] | None = None

    def _tables(self) -> dict[str, dict[str, Any]]:
        if self._existing is None:
            self.catalog.ensure_database()
            self._existing = self.catalog.tables()
        return self._existing

    def tables(self) -> set[str]:
        """Return the lower-cased names of the catalog's tables (database created if needed)."""
        with self.lock:
            return set(self._tables())

    def sync(self, item: TableSync, summary: HiveSummary, *, replace: bool = False) -> bool:
        """Bring one table, its partitions and views in line; return False if it failed."""
        from botocore.exceptions import ClientError

        spec = item.spec
        with self.lock:
            fresh = self.catalog.ensure_table(spec, summary, self._tables(), replace=replace)
            if fresh is None:
                return False
            try:
                if item.new is not None and not fresh:
                    # only this run's partitions; one already there counts as present
                    self.catalog.add_partitions(spec, item.new, locations=item.locations,
                                                summary=summary, fresh=True)
                elif item.partitions is not None:
                    self.catalog.add_partitions(spec, item.partitions, locations=item.locations,
                                                summary=summary, fresh=fresh)
                if item.drop and not fresh:
                    self.catalog.drop_partitions(spec, item.drop)
            except ClientError as exc:
                summary.failed.append(f"{spec.name} partitions: {exc}")
                return False
        ok = True
        for name, select in item.views:
            ok = self.view(name, select, summary) and ok
        return ok

    def view(self, name: str, select_sql: str, summary: HiveSummary) -> bool:
        """Create or replace view `name` through HiveServer2, or list it as not made."""
        if self._hive is None:
            summary.skipped.append(f"{name} ({GLUE_ONLY_VIEW})")
            summary.athena_sql.append(athena_view_sql(self.database, name, select_sql))
            return True
        return self._hive().view(name, select_sql, summary)
