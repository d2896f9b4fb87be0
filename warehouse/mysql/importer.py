"""`warehouse import`: copy MySQL tables into the root and register them in Hive.

`run_import(cfg, selector, engine=, full=, progress=)` returns an ImportSummary (one
TableResult per table: rows, bytes, seconds, error). Per source: read the password
(file or environment, never argv), open the SSH tunnel if `tunnel` is set, list the
selected tables (`tables` globs minus `exclude`), then import them on a bounded pool of
`workers` threads; one failing table does not stop the others.

Per table (layout in DESIGN.md "Decisions > MySQL import"):
1. compare the source columns and engine with the stored state: drift fails the table
   and asks for `--full`; delete `load=` folders the state does not know (left by a
   crashed run);
2. export into `mysql/<source>/<database>/<table>/load=<UTC timestamp>/` (python engine:
   JSON lines; sqoop: delimited text), incremental loads bounded by the MAX of the check
   column read at the start (append: `> last`, lastmodified: `>= last`, so rows sharing
   the boundary timestamp are read again and the view de-duplicates them);
3. when `[hive]` is configured: ensure the table `mysql_<source>_<database>_<table>`
   (partitioned by `load`), add the partition, and for lastmodified tables the view
   `<table>_latest` (newest row per key); a full load then drops the older partitions;
4. only then save the state (watermark) and, for full loads, delete the older loads.
Deletes in the source are invisible to incremental loads: schedule a periodic `--full`.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

from warehouse.config import Config, IncrementalConfig, MysqlSourceConfig
from warehouse.errors import (
    EXIT_FAILED,
    EXIT_UNAVAILABLE,
    ConfigError,
    JobFailed,
    SourceUnavailable,
    WarehouseError,
    mask_secret,
)
from warehouse.mysql import schema as sch
from warehouse.mysql.connect import (
    UNAVAILABLE_CODES,
    Endpoint,
    close_quietly,
    connect,
    describe_error,
    driver_errors,
    error_code,
    resolve_driver,
)
from warehouse.mysql.hive_tables import latest_view_sql, register_load, table_spec
from warehouse.mysql.python_engine import ExportError, ExportJob, Query, export, export_split
from warehouse.mysql.results import ImportSummary, TableResult
from warehouse.mysql.sqoop import SqoopPlan, password_file, run_sqoop, sqoop_argv
from warehouse.mysql.state import TableState, data_prefix, load_state, save_state, signature
from warehouse.storage import ObjectStore, store_for_config

log = logging.getLogger(__name__)


# -- selection -------------------------------------------------------------------------


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


def _sources(cfg: Config, sel: Selector) -> list[MysqlSourceConfig]:
    if sel.source is None:
        return list(cfg.mysql.values())
    src = cfg.mysql.get(sel.source)
    if src is None:
        known = ", ".join(sorted(cfg.mysql)) or "none configured"
        raise ConfigError(f"no [mysql.{sel.source}] section (sources: {known})")
    if sel.database and sel.database not in src.databases:
        raise ConfigError(
            f"database {sel.database!r} is not in [mysql.{src.name}] databases "
            f"({', '.join(src.databases)})"
        )
    return [src]


def _incremental(src: MysqlSourceConfig, database: str, table: str) -> IncrementalConfig | None:
    inc = src.incremental
    return inc.get(f"{database}.{table}".lower()) or inc.get(table.lower())


# -- entry point -----------------------------------------------------------------------


def run_import(
    cfg: Config,
    selector: str | None,
    *,
    engine: str | None = None,
    full: bool = False,
    progress: bool = False,
    store: ObjectStore | None = None,
) -> ImportSummary:
    """Import the selected tables; return the summary (raises ConfigError for a bad selector)."""
    started = time.monotonic()
    sel = parse_selector(selector)
    sources = _sources(cfg, sel)
    if not cfg.mysql:
        raise ConfigError("no [mysql.NAME] source in the config; nothing to import")
    if engine is not None and engine not in ("python", "sqoop"):
        raise ConfigError(f'--engine must be "python" or "sqoop", not {engine!r}')
    if engine == "sqoop" and _no_sqoop(cfg.emr.release_label):
        raise ConfigError(
            f"--engine sqoop: EMR {cfg.emr.release_label} has no Sqoop (removed in 7.5); "
            "use the python engine or an emr-7.4 or older release"
        )
    store = store or store_for_config(cfg)
    summary = ImportSummary(root=store.uri(""))
    for src in sources:
        summary.tables.extend(
            import_source(cfg, src, sel, store=store, engine=engine, full=full, progress=progress)
        )
    summary.seconds = time.monotonic() - started
    return summary


def _no_sqoop(release_label: str) -> bool:
    """Return True for EMR releases without Sqoop (7.5 and later)."""
    import re

    m = re.match(r"^emr-(\d+)\.(\d+)", release_label)
    return m is not None and (int(m.group(1)), int(m.group(2))) >= (7, 5)


def import_source(
    cfg: Config,
    src: MysqlSourceConfig,
    sel: Selector | None = None,
    *,
    store: ObjectStore,
    engine: str | None = None,
    full: bool = False,
    progress: bool = False,
) -> list[TableResult]:
    """Import one source's selected tables; return one TableResult per table.

    Source-level failures (password, tunnel, server) come back as one result named
    `<source>.*` with exit code 2 or 3.
    """
    sel = sel or Selector(src.name)
    started = time.monotonic()
    password: str | None = None
    try:
        password = src.password()
        driver = resolve_driver(_driver_name(src))
        with _endpoint(cfg, src, password) as (ep, tunnel):
            plan, failures = _plan_tables(src, sel, ep, driver)
            results = failures + _run_tables(
                cfg, src, plan, ep, driver, tunnel, store=store, engine=engine, full=full,
                progress=progress,
            )
    except WarehouseError as exc:
        msg = mask_secret(str(exc), password)
        log.error("%s", msg)
        return [
            TableResult(
                src.name, sel.database or "*", sel.table or "*",
                engine=engine or src.engine, error=msg, exit_code=exc.exit_code,
                seconds=time.monotonic() - started,
            )
        ]
    return results


def _driver_name(src: MysqlSourceConfig) -> str:
    return src.driver


@contextmanager
def _endpoint(
    cfg: Config, src: MysqlSourceConfig, password: str
) -> Iterator[tuple[Endpoint, Any]]:
    """Yield (Endpoint, Tunnel or None): through the source's tunnel when it has one."""
    ssh = cfg.tunnel(src.tunnel)
    if ssh is None:
        yield Endpoint(src.name, src.host, src.port, src.user, password,
                       src.read_timeout_seconds), None
        return
    from warehouse.tunnel import tunnel as open_forward

    with ExitStack() as stack:
        t = stack.enter_context(open_forward(ssh, src.host, src.port))
        host, port = t.address
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1"
        via = f"via [ssh.{ssh.name}] {ssh.host}:{ssh.port} to {src.host}:{src.port}"
        yield Endpoint(src.name, host, port, src.user, password, src.read_timeout_seconds,
                       via=via), t


@dataclass
class _Planned:
    database: str
    table: str
    columns: list[sch.SourceColumn]
    key: list[str]
    zero_dates: bool


def _plan_tables(
    src: MysqlSourceConfig, sel: Selector, ep: Endpoint, driver: str
) -> tuple[list[_Planned], list[TableResult]]:
    """List the selected tables and read their columns (one metadata session).

    Returns (tables to import, failures): a database the user cannot see (absent, or no
    privileges) is a failure (exit 5) of `<source>.<database>.*`, not an empty import.
    """
    databases = [sel.database] if sel.database else list(src.databases)
    for db in databases:
        sch.check_ident("database", db)
    errors = driver_errors(driver)
    conn = connect(ep, driver)
    planned: list[_Planned] = []
    failures: list[TableResult] = []
    try:
        cur = conn.cursor()
        try:
            cur.execute("SELECT @@GLOBAL.sql_mode")
            row = cur.fetchone()
            zero_dates = sch.zero_dates_allowed(str(row[0]) if row else "")
        finally:
            cur.close()
        for db in databases:
            if not sch.database_exists(conn, db):
                msg = (
                    f"database {db} not found on {ep.where()} or user {ep.user} has no "
                    f"privileges on it; check [mysql.{src.name}] databases and the grants"
                )
                failures.append(
                    TableResult(src.name, db, "*", engine=src.engine, error=msg,
                                exit_code=EXIT_FAILED)
                )
                continue
            names = sch.list_tables(conn, db)
            if sel.table:
                wanted = [sel.table] if sel.table in names else []
                if not wanted:
                    raise ConfigError(f"table {db}.{sel.table} not found in [mysql.{src.name}]")
            else:
                wanted = sch.select_tables(db, names, src.tables, src.exclude)
            for t in wanted:
                planned.append(
                    _Planned(db, t, sch.read_columns(conn, db, t), sch.primary_key(conn, db, t),
                             zero_dates)
                )
    except errors as exc:
        raise SourceUnavailable(describe_error(ep, exc)) from None
    finally:
        close_quietly(conn)
    return planned, failures


def _run_tables(
    cfg: Config,
    src: MysqlSourceConfig,
    plan: Sequence[_Planned],
    ep: Endpoint,
    driver: str,
    tunnel: Any,
    *,
    store: ObjectStore,
    engine: str | None,
    full: bool,
    progress: bool,
) -> list[TableResult]:
    lock = threading.Lock()

    def one(p: _Planned) -> TableResult:
        res = import_table(cfg, src, p, ep, driver, tunnel, store=store, engine=engine, full=full)
        if progress:
            with lock:
                print(res.line(), file=sys.stderr, flush=True)
        return res

    with ThreadPoolExecutor(max_workers=max(1, src.workers), thread_name_prefix="import") as pool:
        return list(pool.map(one, plan))


# -- one table -------------------------------------------------------------------------


def _load_stamp(previous: Sequence[str]) -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    while stamp in previous:  # pragma: no cover - microsecond collision
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return stamp


def import_table(
    cfg: Config,
    src: MysqlSourceConfig,
    p: _Planned,
    ep: Endpoint,
    driver: str,
    tunnel: Any = None,
    *,
    store: ObjectStore,
    engine: str | None = None,
    full: bool = False,
) -> TableResult:
    """Import one table; return its result (errors are caught and reported in it)."""
    eng = engine or src.engine
    inc = _incremental(src, p.database, p.table)
    res = TableResult(src.name, p.database, p.table, engine=eng)
    started = time.monotonic()
    try:
        _import_table(cfg, src, p, ep, driver, store, eng, inc, full, res)
    except ExportError as exc:
        res.error = str(exc)
        res.exit_code = EXIT_UNAVAILABLE if exc.unavailable else EXIT_FAILED
    except WarehouseError as exc:
        res.error = str(exc)
        res.exit_code = exc.exit_code
    except Exception as exc:
        log.exception("import of %s failed", res.name)
        res.error = f"unexpected {type(exc).__name__}: {exc}"
        res.exit_code = EXIT_FAILED
    if res.error and tunnel is not None and not tunnel.alive:
        from warehouse.tunnel import describe

        reason = tunnel.error or f"SSH bastion {describe(tunnel.cfg)} closed the connection"
        res.error = f"{reason}; previous data and watermark kept ({res.error})"
        res.exit_code = EXIT_UNAVAILABLE
    if res.error:
        res.error = mask_secret(res.error, ep.password)
        res.rows = res.bytes = 0
        log.error("%s", res.line())
    res.seconds = time.monotonic() - started
    return res


def _import_table(
    cfg: Config,
    src: MysqlSourceConfig,
    p: _Planned,
    ep: Endpoint,
    driver: str,
    store: ObjectStore,
    eng: str,
    inc: IncrementalConfig | None,
    full: bool,
    res: TableResult,
) -> None:
    name = f"{src.name}.{p.database}.{p.table}"
    if not p.columns:
        raise JobFailed(f"table {name}: no columns (dropped while importing?)")
    state = load_state(store, src.name, p.database, p.table)
    cols = {c.name.lower(): c for c in p.columns}
    key: list[str] = list(p.key)
    if inc is not None:
        if inc.column.lower() not in cols:
            raise ConfigError(
                f"[mysql.{src.name}] incremental {p.database}.{p.table}: column {inc.column!r} "
                "not in the table"
            )
        key = [k.strip() for k in (inc.key or "").split(",") if k.strip()] or p.key
        if inc.mode == "lastmodified" and not key:
            raise ConfigError(f"{name}: lastmodified needs key = \"...\" (no primary key)")
        unknown = [k for k in key if k.lower() not in cols]
        if unknown:
            raise ConfigError(
                f"[mysql.{src.name}] incremental {p.database}.{p.table}: key column(s) "
                f"{', '.join(unknown)} not in the table"
            )
    incremental = inc is not None and state is not None and not full
    if incremental and state is not None:
        if state.engine != eng:
            raise JobFailed(
                f"table {name}: engine changed from {state.engine} to {eng} since the last "
                f"load; run `warehouse import {name} --full`"
            )
        if state.columns != signature(p.columns):
            raise JobFailed(
                f"table {name}: schema changed since the last load ({_drift(state.columns, p.columns)}); "
                f"run `warehouse import {name} --full`"
            )
        if inc is not None and (state.mode != inc.mode or (state.column or "") != inc.column):
            raise JobFailed(
                f"table {name}: incremental settings changed since the last load; "
                f"run `warehouse import {name} --full`"
            )
    res.mode = (inc.mode if incremental and inc else "full")
    known = state.loads if state else []
    _remove_orphans(store, data_prefix(src.name, p.database, p.table), known)
    stamp = _load_stamp(known)
    prefix = f"{data_prefix(src.name, p.database, p.table)}/load={stamp}"
    # bounds of this load
    query = Query()
    last = state.last_value if (incremental and state) else None
    upper: str | None = None
    if inc is not None:
        col = sch.quote(cols[inc.column.lower()].name)
        upper = _max_value(ep, driver, p, col)
        if upper is None or (inc.mode == "lastmodified" and last is not None and upper == last):
            # empty table, or nothing modified after the watermark: rows that share the
            # watermark's timestamp are read again (>=) as soon as a newer row exists
            query = query.and_("1 = 0")
        else:
            query = query.and_(f"{col} <= %s", upper)
            if last is not None:
                op = ">" if inc.mode == "append" else ">="
                query = query.and_(f"{col} {op} %s", last)
    if eng == "python":
        job = ExportJob(
            endpoint=ep, driver=driver, database=p.database, table=p.table,
            columns=tuple(p.columns), store_root=store.uri(""), s3=cfg.s3, prefix=prefix,
            query=query,
        )
        out = _python_export(job, src, p, ep, driver, store)
        res.rows, res.bytes, res.non_utf8 = out.rows, out.bytes, out.non_utf8
        files = out.files
    else:
        files = _sqoop_export(cfg, src, p, ep, store, prefix, inc, last, upper, res)
    if res.mode != "full" and res.rows == 0:
        for f in files:
            store.delete(f)
        res.load = None
        res.bytes = 0
        new_loads = list(known)
    else:
        res.load = stamp
        new_loads = [*known, stamp] if res.mode != "full" else [stamp]
        spec = table_spec(src.name, p.database, p.table, p.columns, engine=eng,
                          zero_dates=p.zero_dates)
        res.hive_table = spec.name
        if cfg.hive is not None:
            register_load(cfg, spec, stamp, dropped=[x for x in known if x not in new_loads],
                      replace=res.mode == "full",
                      view=(inc, key) if inc is not None and inc.mode == "lastmodified" else None)
    new_state = TableState(
        engine=eng,
        columns=signature(p.columns),
        mode=inc.mode if inc else "full",
        column=inc.column if inc else None,
        last_value=upper if (inc is not None and upper is not None) else last,
        loads=new_loads,
        updated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    save_state(store, src.name, p.database, p.table, new_state)
    for old in known:
        if old not in new_loads:
            _delete_prefix(store, f"{data_prefix(src.name, p.database, p.table)}/load={old}")


def _drift(before: list[list[str]], columns: Sequence[sch.SourceColumn]) -> str:
    now = signature(columns)
    b, a = dict((n, t) for n, t in before), dict((n, t) for n, t in now)
    notes = [f"+{n}" for n in a if n not in b] + [f"-{n}" for n in b if n not in a]
    notes += [f"{n} {b[n]}->{a[n]}" for n in a if n in b and a[n] != b[n]]
    return ", ".join(notes) or "column order"


def _max_value(ep: Endpoint, driver: str, p: _Planned, col: str) -> str | None:
    conn = connect(ep, driver, database=p.database)
    try:
        cur = conn.cursor()
        try:
            cur.execute(f"SELECT CAST(MAX({col}) AS CHAR) FROM {sch.qualified(p.database, p.table)}")
            row = cur.fetchone()
        finally:
            close_quietly(cur)
    except driver_errors(driver) as exc:
        code = error_code(exc)
        raise ExportError(describe_error(ep, exc), code, code in UNAVAILABLE_CODES) from None
    finally:
        close_quietly(conn)
    if not row or row[0] is None:
        return None
    v = row[0]
    return v.decode("utf-8") if isinstance(v, bytes) else str(v)


def _python_export(
    job: ExportJob, src: MysqlSourceConfig, p: _Planned, ep: Endpoint, driver: str,
    store: ObjectStore,
) -> Any:
    int_key = (
        len(p.key) == 1
        and next((c for c in p.columns if c.name == p.key[0]), None) is not None
        and next(c for c in p.columns if c.name == p.key[0]).kind == "int"
    )
    if src.split_workers > 1 and int_key:
        lo, hi = _key_bounds(ep, driver, p, p.key[0], job.query)
        if lo is not None and hi is not None and hi - lo > 10_000:
            return export_split(job, p.key[0], lo, hi, src.split_workers)
    return export(job, store=store)


def _key_bounds(
    ep: Endpoint, driver: str, p: _Planned, key: str, query: Query
) -> tuple[int | None, int | None]:
    conn = connect(ep, driver, database=p.database)
    try:
        cur = conn.cursor()
        try:
            sql = f"SELECT MIN({sch.quote(key)}), MAX({sch.quote(key)}) FROM " \
                  f"{sch.qualified(p.database, p.table)}"
            if query.where:
                sql += f" WHERE {query.where}"
            cur.execute(sql, query.params or None)
            row = cur.fetchone()
        finally:
            close_quietly(cur)
    except driver_errors(driver) as exc:
        code = error_code(exc)
        raise ExportError(describe_error(ep, exc), code, code in UNAVAILABLE_CODES) from None
    finally:
        close_quietly(conn)
    if not row or row[0] is None:
        return None, None
    return int(row[0]), int(row[1])


def _sqoop_export(
    cfg: Config,
    src: MysqlSourceConfig,
    p: _Planned,
    ep: Endpoint,
    store: ObjectStore,
    prefix: str,
    inc: IncrementalConfig | None,
    last: str | None,
    upper: str | None,
    res: TableResult,
) -> list[str]:
    import re

    key = p.key[0] if len(p.key) == 1 else None
    with password_file(ep.password) as pw_uri:
        plan = SqoopPlan(
            jdbc_host=ep.host, jdbc_port=ep.port, database=p.database, table=p.table,
            username=ep.user, password_file=pw_uri, target_dir=store.uri(prefix),
            columns=tuple(p.columns), mappers=src.sqoop_mappers, split_by=key,
            incremental=inc.mode if (inc and last is not None) else None,
            check_column=inc.column if inc else None, last_value=last, upper_bound=upper,
            direct=src.sqoop_direct,
            job_name=f"warehouse-import-{src.name}-{p.database}-{p.table}",
        )
        argv = sqoop_argv(plan, sqoop_bin=src.sqoop_bin)
        tail = run_sqoop(argv, secrets=[ep.password])
    m = re.search(r"Retrieved (\d+) records", tail)
    res.rows = int(m.group(1)) if m else 0
    files = [o.key for o in store.list(prefix)]
    res.bytes = sum(o.size for o in store.list(prefix))
    return files


def _remove_orphans(store: ObjectStore, prefix: str, known: Sequence[str]) -> None:
    """Delete `load=` folders that no saved state lists (left by a crashed import)."""
    keep = {f"load={k}" for k in known}
    for obj in list(store.list(prefix + "/", include_hidden=True)):
        rel = obj.key[len(prefix) + 1 :]
        folder = rel.split("/", 1)[0]
        if folder.startswith("load=") and folder not in keep:
            log.info("removing %s left by an interrupted import", obj.key)
            store.delete(obj.key)


def _delete_prefix(store: ObjectStore, prefix: str) -> None:
    for obj in list(store.list(prefix + "/", include_hidden=True)):
        store.delete(obj.key)


__all__ = [
    "ImportSummary",
    "TableResult",
    "import_source",
    "latest_view_sql",
    "parse_selector",
    "run_import",
    "table_spec",
]
