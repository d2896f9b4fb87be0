"""Which tables a source's import selects: the one definition that `warehouse import`
(its plan, the Hive names its other databases and sources hold) and `config check
--probe` (the grants it checks) both read, and the plan of one source's import built on
it (`plan_tables`).

A source selects, in each of its `databases` the session's user can see, the base tables
(system-versioned ones included; not views or sequences) its `tables` globs match and
its `exclude` globs do not (`schema.select_tables`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from warehouse.config import MysqlSourceConfig
from warehouse.errors import EXIT_FAILED, ConfigError, SourceUnavailable
from warehouse.mysql import schema as sch
from warehouse.mysql.checks import drop_name_clashes, unseen_tables, warn_unmatched_incremental
from warehouse.mysql.connect import close_quietly, describe_error
from warehouse.mysql.names import Owner, from_config
from warehouse.mysql.plan import Planned
from warehouse.mysql.results import TableResult
from warehouse.mysql.session import SourceSession

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Selector:
    """A parsed `SOURCE[.DATABASE[.TABLE]]`."""

    source: str | None = None
    database: str | None = None
    table: str | None = None


def parse_selector(text: str | None) -> Selector:
    """Parse `SOURCE[.DATABASE[.TABLE]]`; raises ConfigError for a malformed selector."""
    if not text:
        return Selector()
    parts = text.split(".")
    if len(parts) > 3 or not all(parts):
        raise ConfigError(f"import selector {text!r} must be SOURCE, SOURCE.DB or SOURCE.DB.TABLE")
    for kind, part in zip(("source", "database", "table"), parts, strict=False):
        sch.check_ident(kind, part)
    return Selector(*parts)


@dataclass(frozen=True)
class Listing:
    """One source database as the session's user sees it."""

    database: str
    tables: list[str]  # its base tables, as information_schema lists them
    selected: list[str]  # those the source's `tables` minus `exclude` select (sorted)


def list_database(conn: Any, src: MysqlSourceConfig, database: str) -> Listing | None:
    """Return the Listing of `database`, or None when it is absent or the user cannot see
    it (MySQL does not say which). Raises the driver's errors."""
    if not sch.database_exists(conn, database):
        return None
    names = sch.list_tables(conn, database)
    return Listing(database, names, sch.select_tables(database, names, src.tables, src.exclude))


def list_source(
    conn: Any, src: MysqlSourceConfig, databases: Iterable[str] | None = None
) -> dict[str, Listing | None]:
    """Return database -> its Listing (None: not visible) for each of `databases`, by
    default the source's own, each once. Raises the driver's errors."""
    wanted = src.databases if databases is None else databases
    return {db: list_database(conn, src, db) for db in dict.fromkeys(wanted)}


def plan_tables(
    session: SourceSession, sel: Selector, elsewhere: Sequence[Owner] = ()
) -> tuple[list[Planned], list[TableResult]]:
    """List the selected tables and read their columns (one metadata session).

    Returns (tables to import, failures): a database the user cannot see (absent, or no
    privileges) is a failure (exit 5) of `<source>.<database>.*`, not an empty import;
    so is a table the config names or that was imported before (`unseen_tables`); and
    so is a table whose Hive name another holds (`drop_name_clashes`; `elsewhere`: the
    tables of the run's other sources). Raises ConfigError for a selected table that is
    not there or is a view, SourceUnavailable when the server fails.
    """
    src = session.src
    # a database listed twice would plan its tables twice (the copy then fails as locked)
    databases = [sel.database] if sel.database else list(dict.fromkeys(src.databases))
    for db in databases:
        sch.check_ident("database", db)
    conn = session.connect()
    try:
        plan = _Plan(session, conn, sel, _zero_dates_allowed(conn))
        for db in databases:
            plan.database(db)
        peers = plan.peers(databases)
        if not sel.table:
            plan.failures += unseen_tables(session.store, src, session.endpoint.user,
                                           databases, plan.visible)
    except session.driver.errors as exc:
        raise SourceUnavailable(describe_error(session.endpoint, exc)) from None
    finally:
        close_quietly(conn)
    if not sel.database and not plan.failures:
        warn_unmatched_incremental(src, plan.planned)
    others = [*(from_config(src, db, t) for db, t in peers), *elsewhere]
    return drop_name_clashes(src, plan.planned, plan.failures, others, session.store)


def _zero_dates_allowed(conn: Any) -> bool:
    cur = conn.cursor()
    try:
        cur.execute("SELECT @@GLOBAL.sql_mode")
        row = cur.fetchone()
        return sch.zero_dates_allowed(str(row[0]) if row else "")
    finally:
        cur.close()


@dataclass
class _Plan:
    """What `plan_tables` finds, one database at a time (on one metadata connection)."""

    session: SourceSession
    conn: Any
    sel: Selector
    zero_dates: bool
    planned: list[Planned] = field(default_factory=list)
    failures: list[TableResult] = field(default_factory=list)
    visible: dict[str, list[str]] = field(default_factory=dict)  # db -> tables and views seen
    listings: dict[str, Listing] = field(default_factory=dict)

    def database(self, db: str) -> None:
        """Plan the selected tables of `db` (or fail it as a whole when it is not seen)."""
        src, ep = self.session.src, self.session.endpoint
        listing = list_database(self.conn, src, db)
        if listing is None:
            msg = (
                f"database {db} not found on {ep.where()} or user {ep.user} has no "
                f"privileges on it; check [mysql.{src.name}] databases and the grants"
            )
            self.failures.append(
                TableResult(src.name, db, "*", engine=src.engine, error=msg,
                            exit_code=EXIT_FAILED)
            )
            return
        self.listings[db] = listing
        views = sch.list_views(self.conn, db)
        self.visible[db] = listing.tables + views
        wanted = self._named(listing, views) if self.sel.table else self._globbed(listing, views)
        for t in wanted:
            self.planned.append(
                Planned(db, t, sch.read_columns(self.conn, db, t),
                        sch.primary_key(self.conn, db, t), self.zero_dates)
            )

    def _named(self, listing: Listing, views: list[str]) -> list[str]:
        """Return [the selector's table] when `listing` has it; a table named in the config
        or imported before that the user cannot see is a failure; else a ConfigError."""
        src, db, table = self.session.src, listing.database, str(self.sel.table)
        wanted = [table] if table in listing.tables else []
        if not wanted and table in views:
            raise ConfigError(
                f"{db}.{table} in [mysql.{src.name}] is a view or a sequence; "
                "views and sequences are not imported (only tables)"
            )
        # named in the config or imported before: the user lost its grant?
        unseen = [f for f in unseen_tables(self.session.store, src, self.session.endpoint.user,
                                           [db], {db: []})
                  if not wanted and f.table.lower() == table.lower()]
        self.failures += unseen
        if not wanted and not unseen:
            raise ConfigError(f"table {db}.{table} not found in [mysql.{src.name}]")
        return wanted

    def _globbed(self, listing: Listing, views: list[str]) -> list[str]:
        """Return the tables of `listing` the source selects; warn when none is, and about
        the views and sequences its globs match (not imported)."""
        src, db = self.session.src, listing.database
        if not listing.selected:
            log.warning(
                "[mysql.%s] %s: tables %s minus exclude %s match none of its %d "
                "base tables", src.name, db, list(src.tables), list(src.exclude),
                len(listing.tables),
            )
        skipped = sch.select_tables(db, views, src.tables, src.exclude)
        if skipped:
            log.warning(
                "[mysql.%s] %s: skipping %d view(s) or sequence(s), only tables are "
                "imported: %s",
                src.name, db, len(skipped), ", ".join(skipped),
            )
        return listing.selected

    def peers(self, databases: Sequence[str]) -> list[tuple[str, str]]:
        """Return the tables a full run would import that this one does not (the source's
        other databases; with a table selected, the rest of its database): a one-database
        or one-table run must not take a Hive name one of them holds."""
        src = self.session.src
        out: list[tuple[str, str]] = []
        others = [db for db in src.databases if db not in databases]
        for db, listing in list_source(self.conn, src, others).items():
            if listing is not None:
                self.visible[db] = listing.tables
                out += [(db, t) for t in listing.selected]
        if self.sel.table:
            out += [(p.database, t) for p in self.planned[:1]
                    for t in self.listings[p.database].selected if t != p.table]
        return out
