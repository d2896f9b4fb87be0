"""Checks of the tables planned for one source before any is imported: the ones that
cannot be imported (a Hive name shared with another table, a name that cannot be a
folder), and the tables the config names or imported before that the user cannot see
(no grant, or dropped), fail at once; what looks like a mistake is said (incremental
entries that match no table).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence

from warehouse.config import MysqlSourceConfig
from warehouse.errors import EXIT_FAILED
from warehouse.mysql import schema as sch
from warehouse.mysql.names import Owner, from_config, merge, name_clashes, root_owners
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


def imported_before(store: ObjectStore, source: str, db: str) -> list[str]:
    """Return the tables of `source`.`db` that have a state file in the root (sorted)."""
    prefix = f"{state_key(source, db, 'x').rsplit('/', 1)[0]}/"
    return sorted(
        rel[: -len(".json")]
        for rel in (o.key[len(prefix):] for o in store.list(prefix, include_hidden=True))
        if rel.endswith(".json") and "/" not in rel and not rel.startswith("_tmp.")
    )


def named_tables(src: MysqlSourceConfig) -> list[tuple[str | None, str]]:
    """Return the `tables` entries without glob characters as (database or None, table)."""
    out: list[tuple[str | None, str]] = []
    for entry in src.tables:
        if not any(c in entry for c in "*?["):
            db, _, table = entry.rpartition(".")
            out.append((db or None, table))
    return out


def unseen_tables(
    store: ObjectStore,
    src: MysqlSourceConfig,
    user: str,
    databases: Sequence[str],
    visible: Mapping[str, Collection[str]],
) -> list[TableResult]:
    """Return a failure (exit 5) per table of `databases` that the config names (a
    `tables` entry without glob characters) or that was imported before (its state is in
    the root, and `tables` still selects it) but that `user` cannot see.

    information_schema hides a table on which the user has no privilege: a revoked grant
    looks like a dropped table, and the warehouse would go on serving its last load as
    current with exit 0. A table matched by `exclude` is left alone (what to do with a
    table that is really gone). `visible`: every source database that exists -> the names
    (tables and views) the user sees in it.
    """
    missing = _named_unseen(src, databases, visible)
    for key, shown in _earlier_unseen(store, src, databases, visible).items():
        missing.setdefault(key, shown)
    failures: list[TableResult] = []
    for (db, table), shown in sorted(missing.items()):
        if not sch.select_tables(db, [table], ["*"], src.exclude):
            log.info("[mysql.%s] %s.%s is not visible and excluded: its last load, if any, "
                     "stays as it was", src.name, db, table)
            continue
        failures.append(TableResult(
            src.name, db, table, engine=src.engine, exit_code=EXIT_FAILED,
            error=f"user {user} cannot see {shown}: no SELECT grant, or dropped? list it in "
                  f"[mysql.{src.name}] exclude if it is gone"))
    return failures


def _named_unseen(
    src: MysqlSourceConfig, databases: Sequence[str], visible: Mapping[str, Collection[str]]
) -> dict[tuple[str, str], str]:
    """Return (database, table) -> how to name it, for the tables `tables` names that
    the user does not see (see unseen_tables)."""
    lower = {db: {n.lower() for n in names} for db, names in visible.items()}
    missing: dict[tuple[str, str], str] = {}
    for qdb, table in named_tables(src):
        if qdb is None:
            # an unqualified name may live in any one of the source's databases
            if any(table.lower() in names for names in lower.values()):
                continue
            present = [db for db in databases if db in visible]
            shown = f"{present[0]}.{table}" if len(visible) == 1 else (
                f"{table} (in none of {', '.join(visible)})")
            if present:
                missing.setdefault((present[0], table), shown)
            continue
        for db in databases:
            if db.lower() == qdb.lower() and db in visible and table.lower() not in lower[db]:
                missing.setdefault((db, table), f"{db}.{table}")
    return missing


def _earlier_unseen(
    store: ObjectStore, src: MysqlSourceConfig, databases: Sequence[str],
    visible: Mapping[str, Collection[str]],
) -> dict[tuple[str, str], str]:
    """Return (database, table) -> `db.table`, for the tables imported before that
    `tables` still selects and the user does not see (see unseen_tables)."""
    missing: dict[tuple[str, str], str] = {}
    for db in databases:
        if db not in visible:
            continue  # a database the user cannot see fails as a whole
        for table in imported_before(store, src.name, db):
            if table not in visible[db] and sch.select_tables(db, [table], src.tables, ()):
                missing.setdefault((db, table), f"{db}.{table}")
    return missing


def drop_name_clashes(
    src: MysqlSourceConfig,
    planned: list[Planned],
    failures: list[TableResult],
    others: Sequence[Owner] = (),
    store: ObjectStore | None = None,
) -> tuple[list[Planned], list[TableResult]]:
    """Fail (exit 5) the planned tables whose name cannot be a folder (`sch.folder_safe`)
    and those with a Hive name (table, `_deletes`, `_latest`) another table has
    (`warehouse.mysql.names`, the check `hive apply` makes): `Orders` and `orders`, a real
    `o_deletes` beside `o` with deletes, `[mysql.s]` `c1_x.t` and `[mysql.s_c1]` `x.t`.

    `others`: the tables of this source not imported in this run and of the run's other
    sources; with `store`, the tables imported before (any source) count too.
    """
    unsafe = [p for p in planned if not sch.folder_safe(p.table)]
    for p in unsafe:
        failures.append(TableResult(
            src.name, p.database, p.table, engine=src.engine, exit_code=EXIT_FAILED,
            error=f"table name {p.table!r} cannot be a folder of the warehouse root (it "
                  f"holds '/' or is '.' or '..'); exclude it in [mysql.{src.name}] or "
                  "rename it"))
    planned = [p for p in planned if sch.folder_safe(p.table)]
    owners = [*(from_config(src, p.database, p.table) for p in planned), *others]
    if store is not None:
        owners += root_owners(store, {n for o in owners for n in o.names()})
    clashes = name_clashes(merge(owners))
    keep: list[Planned] = []
    for p in planned:
        msg = clashes.get(f"{src.name}.{p.database}.{p.table}")
        if msg is None:
            keep.append(p)
        else:
            failures.append(TableResult(src.name, p.database, p.table, engine=src.engine,
                                        error=msg, exit_code=EXIT_FAILED))
    return keep, failures
