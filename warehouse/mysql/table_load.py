"""Import one table: plan, probe, export, register in Hive, save the state.

The steps and their order are described in `warehouse.mysql.importer`; what a load
does is decided up front by the pure `plan.plan_load`, and each step below returns
what it made: `import_table` alone turns them (or the error) into the TableResult.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from warehouse.errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_UNAVAILABLE,
    JobFailed,
    WarehouseError,
    mask_secret,
)
from warehouse.hive.registrar import HiveRegistrar, register_load
from warehouse.lock import item_lock
from warehouse.mysql import schema as sch
from warehouse.mysql.bounds import Bounds
from warehouse.mysql.collation import identity_columns
from warehouse.mysql.deletes import (
    KeyFiles,
    KeyReconciler,
    check_key_columns,
    keys_folder,
    remove_old_snapshots,
)
from warehouse.mysql.exports import Exported, export_load
from warehouse.mysql.hive_tables import deletes_spec, load_syncs, schema_record, table_spec
from warehouse.mysql.parquet import load_format
from warehouse.mysql.plan import LoadPlan, Planned, as_full, incremental_for, plan_load
from warehouse.mysql.python_engine import ExportError
from warehouse.mysql.results import TableResult
from warehouse.mysql.session import SourceSession
from warehouse.mysql.state import TableState, data_prefix, load_state, save_state, signature
from warehouse.mysql.zerodates import string_dates
from warehouse.storage import ObjectStore

log = logging.getLogger(__name__)

INTERRUPTED = "interrupted (Ctrl-C); its partial load was removed, the next import redoes it"


@dataclass(frozen=True)
class Loaded:
    """What one load leaves: the export's counts, the loads the table keeps, the deletes."""

    exported: Exported
    stamp: str
    load: str | None  # the new load, None when an incremental load found no rows
    loads: list[str]  # the table's loads after this one
    deleted: int  # keys found deleted since the last load
    deletes_loads: list[str]  # the deletes loads after this one
    mode: str = "full"  # what the load read (a re-created table's is `full`)
    string_dates: bool = True  # the date columns are STRING in Hive (zero dates possible)

    def changed(self, plan: LoadPlan) -> bool:
        """Return True when the Hive table has something new (a load, deletes, toggled)."""
        return self.load is not None or bool(self.deleted) or plan.deletes_toggled


def _load_stamp(previous: Sequence[str]) -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    while stamp in previous:  # pragma: no cover - microsecond collision
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return stamp


def import_table(
    s: SourceSession,
    p: Planned,
    *,
    engine: str | None = None,
    full: bool = False,
    on_rows: Callable[[int], None] | None = None,
) -> TableResult:
    """Import one table; return its result (errors are caught and reported in it).

    `on_rows(n)` is called as batches are written (python engine, one process).
    """
    eng = engine or s.src.engine
    res = TableResult(s.name, p.database, p.table, engine=eng)
    lock = item_lock(s.cfg.cron.lock_file, s.store.uri(""), "import", res.name,
                     f"table {res.name}")
    try:
        with lock:
            return _import_locked(s, p, res, full, on_rows)
    except WarehouseError as exc:  # locked by another import (exit 6), or an unsafe lock file
        # (exit 2): the table's folders and state are left alone
        res.error, res.exit_code = str(exc), exc.exit_code
        log.error("%s", res.line())
        return res


def _import_locked(
    s: SourceSession, p: Planned, res: TableResult, full: bool,
    on_rows: Callable[[int], None] | None,
) -> TableResult:
    eng = res.engine
    started = time.monotonic()
    try:
        if not p.columns:
            raise JobFailed(f"table {res.name}: no columns (dropped while importing?)")
        state = load_state(s.store, s.name, p.database, p.table)
        plan = plan_load(state, incremental_for(s.src, p.database, p.table), p, full,
                         source=s.name, engine=eng, format=load_format(s.src, eng))
        res.mode = plan.mode
        if plan.drift:
            raise JobFailed(plan.drift)
        if plan.switch:  # incremental -> full, or a changed mode or column, drops or keeps
            # history the user may not expect: a warning; full -> incremental is routine
            quiet = plan.inc is not None and not plan.keep_loads and not plan.weights_switch
            log.log(logging.INFO if quiet else logging.WARNING, "%s", plan.switch)
        done = _load(s, plan, on_rows)
        res.mode = done.mode
        res.rows, res.bytes = done.exported.rows, done.exported.bytes
        res.non_utf8, res.deleted, res.load = done.exported.non_utf8, done.deleted, done.load
        res.hive_table = sch.hive_name(s.name, p.database, p.table) \
            if done.changed(plan) else None
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
    stopped = bool(res.error) and s.cancel is not None and s.cancel.is_set()
    if stopped:  # Ctrl-C broke its session: whatever the driver said, it was interrupted
        res.error, res.exit_code = INTERRUPTED, EXIT_INTERRUPTED
    lost = s.tunnel_lost() if res.error and not stopped else None
    if lost:
        res.error = f"{lost}; previous data and watermark kept ({res.error})"
        res.exit_code = EXIT_UNAVAILABLE
    if res.error:
        _clean_failed_load(s.store, s.name, p)
    res.seconds = time.monotonic() - started  # before the ERROR line, which shows it
    if res.error:
        res.error = mask_secret(res.error, s.endpoint.password.reveal())
        res.rows = res.bytes = 0
        log.log(logging.WARNING if stopped else logging.ERROR, "%s", res.line())
    return res


def _load(s: SourceSession, plan: LoadPlan, on_rows: Callable[[int], None] | None) -> Loaded:
    p = plan.table
    base = data_prefix(s.name, p.database, p.table)
    if s.hive is not None and s.cfg.has_catalog:
        s.hive.check()  # the catalog is down in this run: the load could not be registered
    _abort_uploads(s.store, plan.name, [f"{base}/", f"{keys_folder(s.name, p.database, p.table)}/"])
    stamp = _load_stamp(plan.loads)
    bounds = s.probe(plan) if plan.inc is not None else Bounds()
    if bounds.recreated:
        log.warning("%s: %s; reading the whole table, which replaces its earlier loads "
                    "(as --full)", plan.name, bounds.recreated)
        plan = as_full(plan)
        bounds = s.probe(plan)
    if bounds.skip:
        log.info("%s: nothing new since the last load", plan.name)
    keys = _reconciler(s, plan, stamp)
    out = export_load(s, plan, bounds, f"{base}/load={stamp}", on_rows=on_rows, keys=keys)
    if keys is not None and not keys.done:
        keys.run(s.endpoint)  # sqoop, split ranges or nothing exported: a snapshot of its own
    if plan.format == "parquet" and out.bad_dates and plan.dates_were_string is False \
            and _adds(plan):  # the loads kept hold DATE/TIMESTAMP columns in their files
        raise JobFailed(f"table {plan.name}: column(s) {', '.join(out.bad_dates)} now hold "
                        "zero or invalid dates, which the Parquet loads kept cannot; run "
                        f"`warehouse import {plan.name} --full` (dates become STRING)")
    string = string_dates(
        plan.name, server_allows=p.zero_dates, found=out.bad_dates,
        kept_string=bool(plan.dates_were_string) and _adds(plan),
        was_string=plan.dates_were_string)
    done = _settle(plan, stamp, out, keys.deleted if keys is not None else 0, string)
    if done.load is None:
        for f in out.files:
            s.store.delete(f)
    _register(s, plan, done)
    new_state = _new_state(plan, done, bounds)
    save_state(s.store, s.name, p.database, p.table, new_state)
    # the loads a full load replaced leave Hive only now: had the state not been saved,
    # the new load's files would be removed, and Hive would show an empty table
    _register(s, plan, done, drop=True)
    _drop_old(s.store, plan, new_state)
    return done


def _reconciler(s: SourceSession, plan: LoadPlan, stamp: str) -> KeyReconciler | None:
    """Return the deleted-keys reconciler of a `deletes = true` table, else None."""
    if not plan.deletes:
        return None
    p = plan.table
    check_key_columns(p.columns, plan.key, f"table {plan.name}")
    key_cols = identity_columns(p.columns, plan.key, plan.weights)
    files = KeyFiles.of(s.name, p.database, p.table, stamp, plan.previous_keys)
    return KeyReconciler(s.store, s.driver, p.database, p.table, key_cols, files=files,
                         where=f"table {plan.name}")


def _adds(plan: LoadPlan) -> bool:
    """Return True when the load adds to the earlier loads (False: it replaces them)."""
    return plan.mode != "full" or plan.keep_loads


def _settle(plan: LoadPlan, stamp: str, out: Exported, deleted: int, string: bool) -> Loaded:
    """Return the loads the table keeps: an incremental load without rows adds none
    (its files are removed), a full load replaces all (but the whole-table read of a
    switched mode or column, `keep_loads`, adds to them)."""
    adds = _adds(plan)
    if adds and out.rows == 0:
        load, loads = None, list(plan.loads)
        out = Exported(out.rows, 0, out.non_utf8, out.files, out.bad_dates)
    else:
        load = stamp
        loads = [*plan.loads, stamp] if adds else [stamp]
    deletes_loads = [*plan.kept_deletes, stamp] if deleted else list(plan.kept_deletes)
    return Loaded(out, stamp, load, loads, deleted, deletes_loads, plan.mode, string)


def _register(s: SourceSession, plan: LoadPlan, done: Loaded, *, drop: bool = False) -> None:
    """Register the load in Hive (when a catalog is configured): before the state is
    saved, the new load (and views); after it (`drop`), the removal of the loads and
    deletes loads it replaced."""
    changed = done.changed(plan) or done.string_dates != plan.dates_were_string
    if not (s.cfg.has_catalog and (changed or done.loads)):
        return
    dropped = [x for x in plan.loads if x not in done.loads]
    old_deletes = [x for x in plan.deletes_loads if x not in done.deletes_loads]
    if drop and not (dropped or old_deletes):
        return
    # nothing changed: only a metastore that lacks the table (new cluster) is updated
    p = plan.table
    spec = table_spec(s.name, p.database, p.table, p.columns, engine=plan.engine,
                      zero_dates=done.string_dates, weights=list(plan.weights),
                      format=plan.format)
    dspec = deletes_spec(spec, plan.identity) if plan.deletes else None
    new = [done.load] if done.load and not drop else []
    new_deletes = [done.stamp] if done.deleted and not drop else []
    reg = s.hive or HiveRegistrar(s.cfg)
    try:
        register_load(reg, load_syncs(
            reg.database, spec, done.loads, new=new, dropped=dropped if drop else [],
            view=(plan.inc.column, plan.identity) if plan.inc is not None else None,
            deletes=(dspec, done.deletes_loads, new_deletes,
                     old_deletes if drop else []) if dspec else None,
        ), if_missing=not changed and not drop)
    finally:
        if reg is not s.hive:
            reg.close()


def _new_state(plan: LoadPlan, done: Loaded, bounds: Bounds) -> TableState:
    p, inc = plan.table, plan.inc
    return TableState(
        engine=plan.engine,
        columns=signature(p.columns),
        mode=inc.mode if inc else "full",
        column=inc.column if inc else None,
        loads=done.loads,
        updated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        schema=schema_record(p.columns, zero_dates=done.string_dates),
        key=plan.key if inc is not None else [],
        deletes=plan.deletes,
        deletes_loads=done.deletes_loads if plan.deletes else [],
        keys_load=done.stamp if plan.deletes else None,
        key_weights=dict(plan.weights),
        format=plan.format,
        **bounds.saved,
    )


def _drop_old(store: ObjectStore, plan: LoadPlan, state: TableState) -> None:
    """After the state is saved: delete the loads, deletes and key snapshots it dropped,
    and the orphan `load=` folders no state lists (swept only now, after a load
    succeeded: with a lost state file, sweeping first would empty the table if the export
    then failed)."""
    p = plan.table
    base = data_prefix(plan.source, p.database, p.table)
    _remove_orphans(store, base, state.loads, plan.loads)
    _remove_orphans(store, f"{base}/_deletes", state.deletes_loads, plan.deletes_loads)
    for old in plan.loads:
        if old not in state.loads:
            _delete_prefix(store, f"{base}/load={old}")
    for old in plan.deletes_loads:
        if old not in state.deletes_loads:
            _delete_prefix(store, f"{base}/_deletes/load={old}")
    if plan.deletes or plan.had_keys:
        remove_old_snapshots(store, keys_folder(plan.source, p.database, p.table),
                             state.keys_load)


def _remove_orphans(store: ObjectStore, prefix: str, known: Sequence[str],
                    superseded: Sequence[str] = ()) -> None:
    """Delete `load=` folders that no saved state lists, empty ones included: those the
    previous state listed (`superseded`, replaced by this load) and those no state ever
    listed (left by a crashed or failed import)."""
    keep = {f"load={k}" for k in known}
    replaced = {f"load={k}" for k in superseded}
    for obj in list(store.list(prefix + "/", include_hidden=True)):
        rel = obj.key[len(prefix) + 1 :]
        folder = rel.split("/", 1)[0]
        if folder.startswith("load=") and folder not in keep:
            if folder in replaced:
                log.info("removing %s (superseded by the new load)", obj.key)
            else:
                log.info("removing %s left by an interrupted import", obj.key)
            store.delete(obj.key)
    if store.prune(prefix + "/"):
        log.info("removed the empty folders under %s", prefix)


def _abort_uploads(store: ObjectStore, name: str, prefixes: Sequence[str]) -> None:
    """Abort the unfinished S3 multipart uploads a killed import left under the table's
    folders (they are invisible to listings, and billed until aborted)."""
    for prefix in prefixes:
        n = store.abort_uploads(prefix)
        if n:
            log.info("%s: aborted %d unfinished upload(s) under %s left by an interrupted "
                     "import", name, n, store.uri(prefix))


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
