"""Registering an import's loads: one catalog session shared by every table of the import.

The importer describes each load as TableSyncs (`warehouse.mysql.hive_tables.load_syncs`:
hive/ never imports mysql/) and `register_load` brings the catalog in line with them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager, ExitStack

from warehouse.config import Config
from warehouse.errors import JobFailed
from warehouse.hive.outage import CatalogWatch
from warehouse.hive.session import catalog_database
from warehouse.hive.spec import TableSync
from warehouse.hive.summary import HiveSummary
from warehouse.hive.sync import Catalog, open_metastore

log = logging.getLogger(__name__)

__all__ = ["HiveRegistrar", "register_load"]


class HiveRegistrar:
    """One Hive session shared by every table of an import run, opened on first use.

    The importer's threads register their loads through it one at a time (the session
    runs one statement at a time); `close()` ends the session. `watch`: the catalog
    outage of the surrounding `warehouse run` (shared with its other stages), else this
    import's own: once the catalog is down, every table fails at once instead of waiting
    out its timeouts.
    """

    def __init__(self, cfg: Config, watch: CatalogWatch | None = None) -> None:
        self.cfg = cfg
        self.watch = watch or CatalogWatch()
        self._lock = threading.Lock()
        self._stack: ExitStack | None = None
        self._ms: Catalog | None = None

    @property
    def database(self) -> str:
        """Return the database that holds the tables (the views name it)."""
        return catalog_database(self.cfg)

    def check(self) -> None:
        """Return unless the catalog is known to be down; raises SourceUnavailable."""
        self.watch.check()

    def watching(self) -> AbstractContextManager[None]:
        """Run catalog calls under the watch (see the class)."""
        return self.watch.watching()

    def metastore(self) -> Catalog:
        """Return the shared Metastore; raises SourceUnavailable when Hive is down."""
        # under the lock: a thread waiting for a session another thread fails to open
        # learns of the outage instead of trying again
        with self._lock, self.watching():
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
    registrar: HiveRegistrar, items: Sequence[TableSync], *, if_missing: bool = False
) -> None:
    """Bring an imported table's catalog objects in line after a load; raises JobFailed.

    `items` end with the loaded table (its loads, the new and dropped ones, its views),
    after the tables its views read (its `_deletes` table). A table the metastore lacks (a
    new cluster, `[hive]` added later) is created with every load; an existing one gets
    the new loads only (ADD IF NOT EXISTS, without listing its partitions: `warehouse hive
    apply` registers any other missing load). A table whose DDL differs from the item's
    (an old root's guessed types) is replaced, with every load. `if_missing`: do nothing
    when the metastore has the table already (a load without new rows costs no statement).
    """
    table = items[-1].spec.name
    with registrar.watching():
        ms = registrar.metastore()
        if if_missing and table.lower() in ms.tables():
            return
        summary = HiveSummary("hive import", "")
        for item in items:
            if not ms.sync(item, summary, replace=True):
                raise JobFailed(
                    f"Hive table {item.spec.name}: {'; '.join(summary.failed or summary.changed)}"
                )
        if table in summary.replaced:
            log.info("Hive table %s re-created from the source's schema", table)
