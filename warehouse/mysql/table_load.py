"""Import one table: drift checks, bounds, export (python or sqoop), Hive, state.

The steps and their order are described in `warehouse.mysql.importer`; this module holds
the per-table part so that the entry point stays about selection and sources.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from warehouse.config import Config, IncrementalConfig, MysqlSourceConfig
from warehouse.errors import (
    EXIT_FAILED,
    EXIT_UNAVAILABLE,
    ConfigError,
    JobFailed,
    WarehouseError,
    mask_secret,
)
from warehouse.mysql import schema as sch
from warehouse.mysql.bounds import Bounds, plan_bounds
from warehouse.mysql.connect import (
    UNAVAILABLE_CODES,
    Endpoint,
    close_quietly,
    connect,
    describe_error,
    driver_errors,
    error_code,
)
from warehouse.mysql.deletes import (
    KeyReconciler,
    check_key_columns,
    keys_folder,
    remove_old_snapshots,
)
from warehouse.mysql.hive_tables import (
    HiveRegistrar,
    deletes_spec,
    register_load,
    schema_record,
    table_spec,
)
from warehouse.mysql.python_engine import ExportError, ExportJob, Query, export, export_split
from warehouse.mysql.results import TableResult
from warehouse.mysql.sqoop import SqoopPlan, password_file, run_sqoop, sqoop_argv
from warehouse.mysql.state import TableState, data_prefix, load_state, save_state, signature
from warehouse.storage import ObjectStore

log = logging.getLogger(__name__)


@dataclass
class Planned:
    database: str
    table: str
    columns: list[sch.SourceColumn]
    key: list[str]
    zero_dates: bool



def incremental_for(src: MysqlSourceConfig, database: str, table: str) -> IncrementalConfig | None:
    inc = src.incremental
    return inc.get(f"{database}.{table}".lower()) or inc.get(table.lower())


# -- one table -------------------------------------------------------------------------


def _load_stamp(previous: Sequence[str]) -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    while stamp in previous:  # pragma: no cover - microsecond collision
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return stamp


def import_table(
    cfg: Config,
    src: MysqlSourceConfig,
    p: Planned,
    ep: Endpoint,
    driver: str,
    tunnel: Any = None,
    *,
    store: ObjectStore,
    engine: str | None = None,
    full: bool = False,
    on_rows: Callable[[int], None] | None = None,
    hive: HiveRegistrar | None = None,
) -> TableResult:
    """Import one table; return its result (errors are caught and reported in it).

    `on_rows(n)` is called as batches are written (python engine, one process); `hive`
    is the run's shared Hive session (one is opened for this table when None).
    """
    eng = engine or src.engine
    inc = incremental_for(src, p.database, p.table)
    res = TableResult(src.name, p.database, p.table, engine=eng)
    started = time.monotonic()
    try:
        _import_table(cfg, src, p, ep, driver, store, eng, inc, full, res, on_rows, hive)
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
        _clean_failed_load(store, src.name, p)
    res.seconds = time.monotonic() - started  # before the ERROR line, which shows it
    if res.error:
        res.error = mask_secret(res.error, ep.password)
        res.rows = res.bytes = 0
        log.error("%s", res.line())
    return res


def _import_table(
    cfg: Config,
    src: MysqlSourceConfig,
    p: Planned,
    ep: Endpoint,
    driver: str,
    store: ObjectStore,
    eng: str,
    inc: IncrementalConfig | None,
    full: bool,
    res: TableResult,
    on_rows: Callable[[int], None] | None = None,
    hive: HiveRegistrar | None = None,
) -> None:
    name = f"{src.name}.{p.database}.{p.table}"
    if not p.columns:
        raise JobFailed(f"table {name}: no columns (dropped while importing?)")
    state = load_state(store, src.name, p.database, p.table)
    cols = {c.name.lower(): c for c in p.columns}
    reserved = ["load"] + (["wh_rank"] if inc is not None else [])
    taken = [c.name for c in p.columns if c.name.lower() in reserved]
    if taken:
        raise JobFailed(
            f"table {name}: column {', '.join(taken)} clashes with the Hive table's own "
            "`load` partition column (or the _latest view's `wh_rank`); exclude the table "
            "or import a view of it that renames the column"
        )
    key: list[str] = list(p.key)
    if inc is not None:
        if inc.column.lower() not in cols:
            raise ConfigError(
                f"[mysql.{src.name}] incremental {p.database}.{p.table}: column {inc.column!r} "
                "not in the table"
            )
        check = cols[inc.column.lower()]
        if check.kind in ("b64", "bit"):
            raise ConfigError(
                f"[mysql.{src.name}] incremental {p.database}.{p.table}: column {inc.column!r} "
                f"is {check.column_type}; a binary column cannot be a watermark (use an "
                "integer, decimal, date/time or text column, or drop the incremental entry)"
            )
        key = [k.strip() for k in (inc.key or "").split(",") if k.strip()] or p.key
        if inc.mode == "append" and not key:
            key = [inc.column]  # the _latest view's identity: the appended id
        if inc.mode == "lastmodified" and not key:
            raise ConfigError(f"{name}: lastmodified needs key = \"...\" (no primary key)")
        unknown = [k for k in key if k.lower() not in cols]
        if unknown:
            raise ConfigError(
                f"[mysql.{src.name}] incremental {p.database}.{p.table}: key column(s) "
                f"{', '.join(unknown)} not in the table"
            )
    incremental = inc is not None and state is not None and not full
    res.mode = (inc.mode if incremental and inc else "full")
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
        if inc is not None and (state.mode != inc.mode or (state.column or "") != inc.column
                                or (state.key and state.key != key)):
            raise JobFailed(
                f"table {name}: incremental settings changed since the last load; "
                f"run `warehouse import {name} --full`"
            )
    known = state.loads if state else []
    base = data_prefix(src.name, p.database, p.table)
    known_deletes = list(state.deletes_loads) if (state and incremental) else []
    stamp = _load_stamp(known)
    prefix = f"{base}/load={stamp}"
    bounds = Bounds()
    if inc is not None:
        bounds = _probe(ep, driver, p, inc, cols[inc.column.lower()], key, state, name,
                        incremental=incremental)
    keys = None
    if inc is not None and inc.deletes:
        key_cols = check_key_columns(p.columns, key, f"table {name}")
        same = incremental and state is not None and state.keys_load
        keys = KeyReconciler(
            store, p.database, p.table, key_cols, driver,
            previous=f"{keys_folder(src.name, p.database, p.table)}/{state.keys_load}.json.gz"
            if (same and state is not None) else None,
            snapshot=f"{keys_folder(src.name, p.database, p.table)}/{stamp}.json.gz",
            deletes_key=f"{base}/_deletes/load={stamp}/part-00000.json.gz",
            where=f"table {name}",
        )
    files: list[str] = []
    if bounds.skip:
        log.info("%s: nothing new since the last load", name)
    elif eng == "python":
        job = ExportJob(
            endpoint=ep, driver=driver, database=p.database, table=p.table,
            columns=tuple(p.columns), store_root=store.uri(""), s3=cfg.s3, prefix=prefix,
            query=bounds.query,
        )
        out = _python_export(job, src, p, ep, driver, store, on_rows, keys)
        res.rows, res.bytes, res.non_utf8 = out.rows, out.bytes, out.non_utf8
        files = out.files
    else:
        files = _sqoop_export(cfg, src, p, ep, store, prefix, inc, bounds, res,
                              include_nulls=not incremental)
    if keys is not None and not keys.done:
        keys.run(ep)  # sqoop, split ranges or nothing exported: a snapshot of its own
    if res.mode != "full" and res.rows == 0:
        for f in files:
            store.delete(f)
        res.load = None
        res.bytes = 0
        new_loads = list(known)
    else:
        res.load = stamp
        new_loads = [*known, stamp] if res.mode != "full" else [stamp]
    deleted = keys.deleted if keys is not None else 0
    new_deletes = [*known_deletes, stamp] if deleted else known_deletes
    res.deleted = deleted
    spec = table_spec(src.name, p.database, p.table, p.columns, engine=eng,
                      zero_dates=p.zero_dates)
    dspec = deletes_spec(spec, key) if keys is not None else None
    toggled = state is not None and state.deletes != (keys is not None)
    changed = res.load is not None or bool(deleted) or toggled
    if changed:
        res.hive_table = spec.name
    if cfg.has_catalog and (changed or new_loads):
        # nothing changed: only a metastore that lacks the table (new cluster) is updated
        old_deletes = [x for x in (state.deletes_loads if state else []) if x not in new_deletes]
        reg = hive or HiveRegistrar(cfg)
        try:
            register_load(
                reg, spec, new_loads, new=[res.load] if res.load else [],
                dropped=[x for x in known if x not in new_loads],
                view=(inc.column, key) if inc is not None else None,
                deletes=(dspec, new_deletes, [stamp] if deleted else [], old_deletes)
                if dspec else None,
                if_missing=not changed,
            )
        finally:
            if reg is not hive:
                reg.close()
    new_state = TableState(
        engine=eng,
        columns=signature(p.columns),
        mode=inc.mode if inc else "full",
        column=inc.column if inc else None,
        loads=new_loads,
        updated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        schema=schema_record(p.columns, zero_dates=p.zero_dates),
        key=key if inc is not None else [],
        deletes=keys is not None,
        deletes_loads=new_deletes if keys is not None else [],
        keys_load=stamp if keys is not None else None,
        **bounds.saved,
    )
    save_state(store, src.name, p.database, p.table, new_state)
    # only now, after a load succeeded: with a lost state file, sweeping first would empty
    # the table if the export then failed
    _remove_orphans(store, base, new_loads)
    _remove_orphans(store, f"{base}/_deletes", new_state.deletes_loads)
    for old in known:
        if old not in new_loads:
            _delete_prefix(store, f"{base}/load={old}")
    for old in (state.deletes_loads if state else []):
        if old not in new_state.deletes_loads:
            _delete_prefix(store, f"{base}/_deletes/load={old}")
    if keys is not None or (state and state.keys_load):
        remove_old_snapshots(store, keys_folder(src.name, p.database, p.table),
                             new_state.keys_load)


def _probe(
    ep: Endpoint, driver: str, p: Planned, inc: IncrementalConfig, column: sch.SourceColumn,
    key: list[str], state: TableState | None, name: str, *, incremental: bool,
) -> Bounds:
    """Run `plan_bounds` in a session of its own; raises ExportError."""
    conn = connect(ep, driver, database=p.database)
    try:
        return plan_bounds(conn, driver, sch.qualified(p.database, p.table), inc, column, key,
                           state, incremental=incremental, where=name)
    except driver_errors(driver) as exc:
        code = error_code(exc)
        raise ExportError(describe_error(ep, exc), code, code in UNAVAILABLE_CODES) from None
    finally:
        close_quietly(conn)


def _drift(before: list[list[str]], columns: Sequence[sch.SourceColumn]) -> str:
    now = signature(columns)
    b, a = dict((n, t) for n, t in before), dict((n, t) for n, t in now)
    notes = [f"+{n}" for n in a if n not in b] + [f"-{n}" for n in b if n not in a]
    notes += [f"{n} {b[n]}->{a[n]}" for n in a if n in b and a[n] != b[n]]
    return ", ".join(notes) or "column order"


def _first_row(
    ep: Endpoint, driver: str, p: Planned, sql: str, params: Any = None
) -> Any:
    """Return the first row of `sql` in `p`'s database (None if none); raises ExportError."""
    conn = connect(ep, driver, database=p.database)
    try:
        cur = conn.cursor()
        try:
            cur.execute(sql, params)
            row = cur.fetchone()
        finally:
            close_quietly(cur)
    except driver_errors(driver) as exc:
        code = error_code(exc)
        raise ExportError(describe_error(ep, exc), code, code in UNAVAILABLE_CODES) from None
    finally:
        close_quietly(conn)
    return row


def _python_export(
    job: ExportJob, src: MysqlSourceConfig, p: Planned, ep: Endpoint, driver: str,
    store: ObjectStore, on_rows: Callable[[int], None] | None = None,
    keys: KeyReconciler | None = None,
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
    return export(job, store=store, on_rows=on_rows, in_snapshot=keys)


def _key_bounds(
    ep: Endpoint, driver: str, p: Planned, key: str, query: Query
) -> tuple[int | None, int | None]:
    sql = f"SELECT MIN({sch.quote(key)}), MAX({sch.quote(key)}) FROM " \
          f"{sch.qualified(p.database, p.table)}"
    if query.where:
        sql += f" WHERE {query.where}"
    row = _first_row(ep, driver, p, sql, query.params or None)
    if not row or row[0] is None:
        return None, None
    return int(row[0]), int(row[1])


def _sqoop_export(
    cfg: Config,
    src: MysqlSourceConfig,
    p: Planned,
    ep: Endpoint,
    store: ObjectStore,
    prefix: str,
    inc: IncrementalConfig | None,
    bounds: Bounds,
    res: TableResult,
    *,
    include_nulls: bool = False,
) -> list[str]:
    key = p.key[0] if len(p.key) == 1 else None
    with password_file(ep.password) as pw_uri:
        plan = SqoopPlan(
            jdbc_host=ep.host, jdbc_port=ep.port, database=p.database, table=p.table,
            username=ep.user, password_file=pw_uri, target_dir=store.uri(prefix),
            columns=tuple(p.columns), mappers=src.sqoop_mappers, split_by=key,
            incremental=inc.mode if (inc and bounds.sqoop_last is not None) else None,
            check_column=inc.column if inc else None, last_value=bounds.sqoop_last,
            upper_bound=bounds.upper, include_nulls=include_nulls,
            extra_where=bounds.sqoop_where,
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
    """Delete `load=` folders that no saved state lists (left by a crashed or failed
    import), empty ones included."""
    keep = {f"load={k}" for k in known}
    for obj in list(store.list(prefix + "/", include_hidden=True)):
        rel = obj.key[len(prefix) + 1 :]
        folder = rel.split("/", 1)[0]
        if folder.startswith("load=") and folder not in keep:
            log.info("removing %s left by an interrupted import", obj.key)
            store.delete(obj.key)
    if store.prune(prefix + "/"):
        log.info("removed empty folders under %s left by an interrupted import", prefix)


def _clean_failed_load(store: ObjectStore, src: str, p: Planned) -> None:
    """After a failed import: remove what the failed load wrote (the state is unchanged)."""
    try:
        state = load_state(store, src, p.database, p.table)
        if state is None:  # no record of the older loads: keep them all until one succeeds
            log.info("%s.%s.%s has no state; its load folders are kept", src, p.database, p.table)
            return
        _remove_orphans(store, data_prefix(src, p.database, p.table), state.loads)
    except Exception as exc:  # the next run tries again
        log.warning("could not clean the failed load of %s.%s.%s: %s",
                    src, p.database, p.table, exc)


def _delete_prefix(store: ObjectStore, prefix: str) -> None:
    for obj in list(store.list(prefix + "/", include_hidden=True)):
        store.delete(obj.key)
