"""Checks of the tables planned for one source before any is imported: the ones that
cannot be imported (a Hive name shared with another table, a name that cannot be a
folder) fail at once, and what looks like a mistake is said (incremental entries that
match no table, tables imported before that the database no longer has).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from warehouse.config import MysqlSourceConfig
from warehouse.errors import EXIT_FAILED
from warehouse.mysql import schema as sch
from warehouse.mysql.plan import Planned
from warehouse.mysql.results import TableResult
from warehouse.mysql.state import state_key
from warehouse.storage import ObjectStore

log = logging.getLogger(__name__)


def warn_unmatched_incremental(src: MysqlSourceConfig, planned: Sequence[Planned]) -> None:
    """Warn about `incremental` entries no selected table has (a misspelt name would
    otherwise import that table in full, without its `_latest` view or deletes)."""
    names = {n for p in planned for n in (f"{p.database}.{p.table}".lower(), p.table.lower())}
    unmatched = sorted(k for k in src.incremental if k not in names)
    if unmatched:
        log.warning(
            "[mysql.%s] incremental entries match no imported table: %s; check their "
            "names (\"db.table\" or \"table\") against databases, tables and exclude",
            src.name, ", ".join(unmatched),
        )


def warn_vanished(
    store: ObjectStore, src: MysqlSourceConfig, db: str, names: Sequence[str]
) -> None:
    """Warn about tables imported before that the database no longer has (dropped or
    renamed): their files, state and Hive table are kept as they were, not updated."""
    prefix = f"{state_key(src.name, db, 'x').rsplit('/', 1)[0]}/"
    present = set(names)
    gone = sorted(
        rel[: -len(".json")]
        for rel in (o.key[len(prefix):] for o in store.list(prefix, include_hidden=True))
        if rel.endswith(".json") and "/" not in rel and rel[: -len(".json")] not in present
    )
    if gone:
        log.warning(
            "[mysql.%s] %s: %d table(s) imported before are no longer in the database "
            "(dropped or renamed), their last load stays as it was: %s",
            src.name, db, len(gone), ", ".join(gone),
        )


def drop_name_clashes(
    src: MysqlSourceConfig,
    planned: list[Planned],
    failures: list[TableResult],
    peers: Sequence[tuple[str, str]] = (),
) -> tuple[list[Planned], list[TableResult]]:
    """Fail (exit 5) the planned tables whose Hive name another selected table shares,
    and those whose name cannot be a folder (`sch.folder_safe`).

    `mysql_<source>_<database>_<table>` is lower-case with other characters as `_`, so
    `Orders` and `orders`, `my-table` and `my_table`, or databases differing only by case
    would overwrite one another's Hive table; none of them is imported. `peers` are
    (database, table) pairs of the source not imported in this run.
    """
    unsafe = [p for p in planned if not sch.folder_safe(p.table)]
    for p in unsafe:
        failures.append(TableResult(
            src.name, p.database, p.table, engine=src.engine, exit_code=EXIT_FAILED,
            error=f"table name {p.table!r} cannot be a folder of the warehouse root (it "
                  f"holds '/' or is '.' or '..'); exclude it in [mysql.{src.name}] or "
                  "rename it"))
    planned = [p for p in planned if sch.folder_safe(p.table)]
    by_name: dict[str, list[tuple[str, str]]] = {}
    for db, t in [*((p.database, p.table) for p in planned), *peers]:
        group = by_name.setdefault(sch.hive_name(src.name, db, t), [])
        if (db, t) not in group:
            group.append((db, t))
    keep: list[Planned] = []
    for p in planned:
        group = by_name[sch.hive_name(src.name, p.database, p.table)]
        if len(group) == 1:
            keep.append(p)
            continue
        others = ", ".join(f"{db}.{t}" for db, t in group if (db, t) != (p.database, p.table))
        msg = (
            f"Hive name {sch.hive_name(src.name, p.database, p.table)} is shared with "
            f"{others}; exclude or rename one of them in [mysql.{src.name}]"
        )
        failures.append(TableResult(src.name, p.database, p.table, engine=src.engine,
                                    error=msg, exit_code=EXIT_FAILED))
    return keep, failures
