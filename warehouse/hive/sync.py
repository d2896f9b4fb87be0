"""Make the metastore hold a set of tables, their partitions and views, in one session.

`sync_tables(cfg, items)` is what `hive apply`, the importer and `ensure_tables` share:
one HiveServer2 session, `CREATE DATABASE` and `SHOW TABLES` once, then per table its
CREATE (when missing), one `ALTER TABLE ... ADD IF NOT EXISTS` per 100 missing
partitions (no `SHOW PARTITIONS` for a table it has just created), one `DROP` for
partitions to remove and a `CREATE OR REPLACE VIEW` per view. A `Metastore` keeps what
it learnt (the database exists, which tables exist) so that a caller registering many
tables one at a time (the importer's threads) pays for it once.

Idempotence: tables carry the fingerprint of their rendered DDL in TBLPROPERTIES
('warehouse.spec'). An existing table with the same fingerprint is left alone; a
different one is *reported* (exit 5) with the columns or location that differ, never
dropped silently: pass `replace=True` (tables are EXTERNAL, dropping one keeps its files;
its partitions are then registered again from the item).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import replace as dc_replace

from warehouse.config import DIALECTS, Config, one_of
from warehouse.errors import ConfigError, QueryFailed
from warehouse.hive.client import HiveClient
from warehouse.hive.ddl import SPEC_PROPERTY, fingerprint, render_table, statements_fingerprint
from warehouse.hive.glue import GlueCatalog
from warehouse.hive.glue_metastore import GlueMetastore
from warehouse.hive.metastore import (
    Described,
    describe,
    norm_type,
    registered_partitions,
    table_names,
    table_properties,
)
from warehouse.hive.render import (
    Dialect,
    location_uri,
    quote_ident,
    quote_string,
    render_add_partitions,
    render_create,
    render_database,
    render_view,
    statement,
    table_ref,
)
from warehouse.hive.session import session, target, warehouse_root_uri
from warehouse.hive.spec import TableSpec, TableSync, by_values
from warehouse.hive.summary import HiveSummary
from warehouse.hive.tables import storage_twin

VIEWS_PROPERTY = "warehouse.views"  # fingerprint of the table's views, kept on the table

__all__ = ["Catalog", "Metastore", "TableSync", "open_metastore", "sync_tables"]


def dialect_of(cfg: Config) -> Dialect:
    """Return the configured dialect; raises ConfigError for an unknown one."""
    d = cfg.hive_or_default().dialect
    if d not in DIALECTS:
        raise ConfigError(f"[hive] dialect must be {one_of(DIALECTS)}, not {d!r}")
    return d


def _render(
    spec: TableSpec, *, dialect: Dialect, root_uri: str, database: str,
    extra: Mapping[str, str] | None = None,
) -> list[str]:
    """Return `render_table`'s statements (warehouse.hive.ddl) with the `extra` properties,
    which are not part of the DDL fingerprint."""
    if not extra:
        return render_table(spec, dialect=dialect, root_uri=root_uri, database=database)
    digest = fingerprint(spec, dialect=dialect, root_uri=root_uri, database=database)
    props = {**spec.properties, SPEC_PROPERTY: digest, **extra}
    return render_create(dc_replace(spec, properties=props), dialect=dialect,
                         root_uri=root_uri, database=database)


def _views_fingerprint(views: Sequence[tuple[str, str]]) -> str:
    text = "\n".join(f"{n.lower()}\n{' '.join(sql.split())}" for n, sql in views)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _same_location(a: str, b: str) -> bool:
    def norm(u: str) -> str:
        if u.startswith("file:"):
            u = "/" + u[len("file:") :].lstrip("/")
        return u.rstrip("/")

    return norm(a) == norm(b)


def differences(spec: TableSpec, got: Described, root_uri: str) -> list[str]:
    """Return what differs between `spec` and the table in the metastore, as short notes."""
    want = [(c.name.lower(), norm_type(c.type)) for c in (*spec.columns, *spec.partition_by)]
    notes: list[str] = []
    have = list(got.columns)
    have_d, want_d = dict(have), dict(want)
    extra = [f"+{n} {t}" for n, t in want if n not in have_d]
    gone = [f"-{n}" for n, _ in have if n not in want_d]
    retyped = [f"{n} {have_d[n]}->{t}" for n, t in want if n in have_d and have_d[n] != t]
    if extra or gone or retyped:
        notes.append("columns " + ", ".join(extra + gone + retyped))
    elif [n for n, _ in have] != [n for n, _ in want]:
        notes.append("column order")
    if tuple(p.lower() for p in spec.partition_names) != got.partitions:
        notes.append(
            f"partitioned by ({', '.join(got.partitions)}) not ({', '.join(spec.partition_names)})"
        )
    want_loc = location_uri(root_uri, spec.location)
    if got.location and not _same_location(got.location, want_loc):
        notes.append(f"location {got.location} not {want_loc}")
    return notes or ["storage or SerDe settings (fingerprint differs)"]


class Metastore:
    """One session on the configured database, with what it has learnt cached.

    Thread-safe: every call holds a lock (a HiveServer2 session runs one statement at a
    time anyway).
    """

    def __init__(self, cfg: Config, client: HiveClient) -> None:
        self.cfg = cfg
        self.client = client
        self.database = cfg.hive_or_default().database
        self.dialect = dialect_of(cfg)
        self.root_uri = warehouse_root_uri(cfg)
        self.lock = threading.RLock()
        self._tables: set[str] | None = None

    def tables(self) -> set[str]:
        """Return the lower-cased names in the database (created on first use)."""
        with self.lock:
            if self._tables is None:
                self.client.execute(render_database(self.database))
                self._tables = table_names(self.client, self.database)
            return self._tables

    def sync(self, item: TableSync, summary: HiveSummary, *, replace: bool = False) -> bool:
        """Bring one table (and its partitions and views) in line; return False if it failed.

        Outcomes are recorded in `summary` (created/unchanged/replaced/changed/failed, and
        the partition counts). A QueryFailed is recorded, not raised; SourceUnavailable is.
        """
        spec = item.spec
        views_fp = _views_fingerprint(item.views) if item.views else ""
        with self.lock:
            try:
                fresh, props = self._ensure(spec, summary, replace=replace, views_fp=views_fp)
            except (QueryFailed, ValueError) as exc:
                summary.failed.append(f"{spec.name}: {exc}")
                return False
            if fresh is None:
                return False
            try:
                if item.new is not None and not fresh:
                    self._add(dc_replace(item, partitions=item.new), summary, fresh=True)
                elif item.partitions is not None:
                    self._add(item, summary, fresh=fresh)
                if item.drop and not fresh:
                    self._drop(spec, item.drop)
            except (QueryFailed, ValueError) as exc:
                summary.failed.append(f"{spec.name} partitions: {exc}")
                return False
            return self._views(item, summary, fresh=fresh, props=props, views_fp=views_fp)

    def _views(
        self, item: TableSync, summary: HiveSummary, *, fresh: bool, props: Mapping[str, str],
        views_fp: str,
    ) -> bool:
        """Create or replace the item's views, unless the table says they are current."""
        if not item.views:
            return True
        names = {n.lower() for n, _ in item.views}
        if not fresh and props.get(VIEWS_PROPERTY) == views_fp and names <= self.tables():
            summary.unchanged.extend(n for n, _ in item.views)  # same SQL, still there
            return True
        ok = True
        for name, select in item.views:
            ok = self.view(name, select, summary) and ok
        if ok and not fresh:
            try:
                self.client.execute(statement(
                    "set_property.hql", table=table_ref(self.database, item.spec.name),
                    key=quote_string(VIEWS_PROPERTY), value=quote_string(views_fp),
                ))
            except QueryFailed as exc:
                summary.failed.append(f"{item.spec.name}: {exc}")
                return False
        return ok

    def _ensure(
        self, spec: TableSpec, summary: HiveSummary, *, replace: bool, views_fp: str = ""
    ) -> tuple[bool | None, dict[str, str]]:
        """Create `spec` when missing; return (True when (re)created, False when kept, None
        when it differs and is left alone; the existing table's properties)."""
        extra = {VIEWS_PROPERTY: views_fp} if views_fp else None
        statements = _render(
            spec, dialect=self.dialect, root_uri=self.root_uri, database=self.database,
            extra=extra,
        )
        existing = self.tables()
        name = spec.name.lower()
        if name not in existing:
            self.client.execute_many(statements)
            existing.add(name)
            summary.created.append(spec.name)
            return True, {}
        props = table_properties(self.client, self.database, spec.name)
        if props.get(SPEC_PROPERTY) == statements_fingerprint(statements):
            summary.unchanged.append(spec.name)
            return False, props
        switch = None if replace else self._switched(spec, props)
        if replace or switch:
            self.client.execute(
                statement("drop_table.hql", table=table_ref(self.database, spec.name)))
            self.client.execute_many(statements)
            summary.replaced.append(spec.name)
            if switch:
                summary.switched.append(switch)
            return True, {}
        notes = differences(spec, describe(self.client, self.database, spec.name), self.root_uri)
        summary.changed.append(f"{spec.name} ({'; '.join(notes)})")
        return None, props

    def _switched(self, spec: TableSpec, props: Mapping[str, str]) -> str | None:
        """Return "NAME (json -> parquet)" when the table in the metastore is `spec`'s
        storage twin exactly (`warehouse.hive.tables.storage_twin`), else None."""
        twin = storage_twin(spec)
        if twin is None:
            return None
        digest = fingerprint(twin, dialect=self.dialect, root_uri=self.root_uri,
                             database=self.database)
        if props.get(SPEC_PROPERTY) != digest:
            return None
        return f"{spec.name} {twin.storage} -> {spec.storage}"

    def registered(self, spec: TableSpec) -> set[tuple[str, ...]]:
        """Return the values tuples of the partitions `spec`'s table has in the metastore."""
        with self.lock:
            return registered_partitions(self.client, self.database, spec)

    def _add(self, item: TableSync, summary: HiveSummary, *, fresh: bool) -> None:
        spec = item.spec
        wanted = by_values(spec, item.partitions or ())
        have = set() if fresh or not wanted else self.registered(spec)
        keys = [k for k in sorted(wanted) if k not in have]
        where = [item.locations.get(k) for k in keys] if item.locations else None
        statements = render_add_partitions(
            spec, [wanted[k] for k in keys], root_uri=self.root_uri, database=self.database,
            locations=where,
        )
        self.client.execute_many(statements)
        summary.found += len(wanted)
        summary.present += len(wanted) - len(keys)
        summary.added += len(keys)
        summary.statements += len(statements)

    def _drop(self, spec: TableSpec, drop: Sequence[Mapping[str, str]]) -> None:
        specs = ", ".join(
            "PARTITION (" + ", ".join(
                f"{quote_ident(n)} = {quote_string(str(v[n]))}" for n in spec.partition_names
            ) + ")"
            for v in drop
        )
        self.client.execute(statement(
            "drop_partitions.hql", table=table_ref(self.database, spec.name), partitions=specs))

    def view(self, name: str, select_sql: str, summary: HiveSummary) -> bool:
        """Create or replace view `name`; record it in `summary`; False when it failed."""
        try:
            statement = render_view(self.database, name, select_sql)
        except ValueError as exc:
            summary.failed.append(f"{name}: {exc}")
            return False
        with self.lock:
            existing = self.tables()
            try:
                self.client.execute(statement)
            except QueryFailed as exc:
                summary.failed.append(f"{name}: {exc}")
                return False
            (summary.replaced if name.lower() in existing else summary.created).append(name)
            existing.add(name.lower())
        return True


Catalog = Metastore | GlueMetastore  # what holds the tables: HiveServer2's metastore or Glue


@contextmanager
def open_metastore(cfg: Config, client: HiveClient | None = None) -> Iterator[Catalog]:
    """Yield the catalog that holds the tables: the Glue Data Catalog when `[glue]` is set
    (views then go through HiveServer2 when `[hive]` is set too, opened on first use),
    else a Metastore over `client` or a new `[hive]` session; sessions close on exit."""
    if cfg.glue is None:
        with session(cfg, client) as hive:
            yield Metastore(cfg, hive)
        return
    with ExitStack() as stack:
        views: list[Metastore] = []

        def hive_views() -> Metastore:
            if not views:
                views.append(Metastore(cfg, stack.enter_context(session(cfg, client))))
            return views[0]

        catalog = GlueCatalog(cfg, warehouse_root_uri(cfg))
        yield GlueMetastore(catalog, hive_views if cfg.hive is not None else None)


def sync_tables(
    cfg: Config,
    items: Sequence[TableSync],
    *,
    replace: bool = False,
    client: HiveClient | None = None,
    action: str = "hive tables",
) -> HiveSummary:
    """Bring every item's table, partitions and views in line, in one session.

    Returns a HiveSummary (exit 5 when a table failed or differs from its spec). Raises
    SourceUnavailable when the server cannot be reached.
    """
    summary = HiveSummary(action, target(cfg))
    with open_metastore(cfg, client) as ms:
        ms.tables()
        for item in items:
            ms.sync(item, summary, replace=replace)
    return summary
