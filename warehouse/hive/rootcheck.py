"""Does the catalog describe this root? `--root DIR` (or `WAREHOUSE_ROOT`) with a shared
`[glue]` or `[hive]` database whose tables were made over another root would register
nothing (the partitions are looked for at the tables' own locations) and report it as a
failed job, and `hive apply --replace` would point the shared tables at this root.

`check_catalog_root` compares the locations of the warehouse's tables already in the
catalog (Glue: every table; HiveServer2: `events`, one DESCRIBE) with the root, once, up
front, and raises ConfigError (exit 2) in one line when they disagree.
"""

from __future__ import annotations

import logging
from typing import Any

from warehouse.config import Config
from warehouse.errors import ConfigError
from warehouse.hive.render import location_uri
from warehouse.storage import ObjectStore, store_for_config

log = logging.getLogger(__name__)

_OURS = ("events", "access_raw", "agg_", "mysql_")


def _norm(uri: str) -> str:
    for scheme in ("s3a://", "s3n://"):
        if uri.startswith(scheme):
            uri = "s3://" + uri[len(scheme):]
    if uri.startswith("file:/") and not uri.startswith("file:///"):
        uri = "file:///" + uri[len("file:/"):]  # Hive prints file:/tmp/x
    return uri.rstrip("/")


def table_locations(cfg: Config, *, client: Any = None) -> tuple[str, dict[str, str]]:
    """Return (the catalog's name, {table: location}) of the warehouse's tables in it;
    raises SourceUnavailable when the catalog cannot be reached."""
    if cfg.glue is not None:
        from warehouse.hive.glue import GlueCatalog

        catalog = GlueCatalog(cfg, cfg.root, client=client)
        tables = catalog.existing_tables()  # no database yet: nothing to disagree with
        return catalog.target, {
            name: str((t.get("StorageDescriptor") or {}).get("Location") or "")
            for name, t in tables.items() if name.startswith(_OURS)
        }
    from warehouse.hive.metastore import describe, table_names
    from warehouse.hive.session import session, target

    hc = cfg.hive_or_default()
    with session(cfg, client) as hive:
        dbs = {str(r[0]).lower() for r in hive.execute("SHOW DATABASES").rows}
        if hc.database.lower() not in dbs or "events" not in table_names(hive, hc.database):
            return target(cfg), {}
        return target(cfg), {"events": describe(hive, hc.database, "events").location}


def catalog_root_problem(cfg: Config, store: ObjectStore | None = None, *,
                         client: Any = None) -> str | None:
    """Return why the catalog's tables are not over this root (one line), else None."""
    if not cfg.has_catalog:
        return None
    root = _norm(location_uri((store or store_for_config(cfg)).uri("")))
    where, locations = table_locations(cfg, client=client)
    away = sorted((n, loc) for n, loc in locations.items() if loc
                  and not (_norm(loc) + "/").startswith(root + "/"))
    if not away:
        return None
    name, loc = away[0]
    more = f" (and {len(away) - 1} more)" if len(away) > 1 else ""
    return (
        f"the root {root} is not the catalog's: in {where}, table {name} is at {loc}{more}; "
        "use the root the catalog was made with ([warehouse] root, --root, WAREHOUSE_ROOT), "
        "or another database for this root"
    )


def check_catalog_root(cfg: Config, store: ObjectStore | None = None, *,
                       client: Any = None) -> None:
    """Raise ConfigError (exit 2) when the catalog's tables are over another root;
    raises SourceUnavailable when the catalog cannot be reached."""
    problem = catalog_root_problem(cfg, store, client=client)
    if problem:
        raise ConfigError(problem)
