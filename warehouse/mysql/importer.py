"""`warehouse import`: copy MySQL tables into the root and register them in Hive.

`run_import(cfg, selector, engine=, full=, progress=)` returns an ImportSummary (one
TableResult per table: rows, bytes, seconds, error). Per source: read the password
(file or environment, never argv), open the SSH tunnel if `tunnel` is set, list the
selected tables (`tables` globs minus `exclude`), then import them on a bounded pool of
`workers` threads; one failing table does not stop the others. With several sources, each
one's tables are listed first, so that a Hive name two sources share fails both
(`warehouse.mysql.names`) before either is registered. `progress` receives the
rows of each table as they are written, labelled SOURCE.DATABASE.TABLE, and its result
line at its end (see `warehouse.progress`).

Per table (layout in DESIGN.md "Decisions > MySQL import"), all of it under the table's
item lock (`warehouse.lock.item_lock`; a table another process imports on this machine
fails with exit 6 and is left untouched, the other tables go on):
1. compare the source columns and engine with the stored state: drift fails the table
   and asks for `--full`; delete `load=` folders the state does not know (left by a
   crashed run);
2. export into `mysql/<source>/<database>/<table>/load=<UTC timestamp>/` (python engine:
   JSON lines; sqoop: delimited text), incremental loads bounded by the MAX of the check
   column read at the start and reaching back behind the watermark so that late commits
   arrive (`warehouse.mysql.watermark`); with `deletes = true` the keys deleted since the
   last load are recorded (`warehouse.mysql.deletes`);
3. when `[hive]` is configured (one HiveServer2 session shared by every table of the
   run; once the catalog was found down, in this import or by any stage of the
   surrounding `warehouse run`, the remaining tables fail at once, before their export,
   instead of each waiting out the timeouts): ensure the
   table `mysql_<source>_<database>_<table>` (partitioned by `load`; created with every
   load of the state when the metastore lacks it), add the new
   partition, and for incremental tables the view `<table>_latest` (each key once,
   deleted keys left out); a full load then drops the older partitions;
4. only then save the state (watermark, and the source schema `hive apply` renders the
   Hive objects from) and, for full loads, delete the older loads.
A failed table's load folder is removed at once; password files of killed sqoop runs
are removed at the start of the next run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from warehouse.config import Config, MysqlSourceConfig, Secret, choices, one_of, release_has_sqoop
from warehouse.errors import (
    EXIT_INTERRUPTED,
    ConfigError,
    SourceUnavailable,
    WarehouseError,
    mask_secret,
)
from warehouse.hive.outage import CatalogWatch
from warehouse.hive.registrar import HiveRegistrar
from warehouse.mysql import schema as sch
from warehouse.mysql.cancel import first_ctrl_c_only
from warehouse.mysql.connect import close_quietly, describe_error
from warehouse.mysql.hive_tables import latest_view_sql, table_spec
from warehouse.mysql.names import Owner, from_config
from warehouse.mysql.plan import Planned
from warehouse.mysql.results import ImportSummary, TableResult
from warehouse.mysql.selection import Selector, list_source, parse_selector, plan_tables
from warehouse.mysql.session import SourceSession, open_session
from warehouse.mysql.sqoop import remove_stale_password_files
from warehouse.mysql.table_load import import_table
from warehouse.progress import Progress, ProgressEvent
from warehouse.storage import ObjectStore, store_for_config

log = logging.getLogger(__name__)


# -- selection -------------------------------------------------------------------------


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


def _excluding_globs(src: MysqlSourceConfig, sel: Selector) -> list[str]:
    """Return the `[mysql.NAME] exclude` globs that match the table `sel` names (none for
    a selector naming no table)."""
    if not (sel.database and sel.table):
        return []
    return [g for g in src.exclude if not sch.select_tables(sel.database, [sel.table], ["*"], [g])]


# -- entry point -----------------------------------------------------------------------


def run_import(
    cfg: Config,
    selector: str | None,
    *,
    engine: str | None = None,
    full: bool = False,
    progress: Progress | None = None,
    store: ObjectStore | None = None,
    catalog: CatalogWatch | None = None,
    include_excluded: bool = False,
) -> ImportSummary:
    """Import the selected tables; return the summary (raises ConfigError for a bad selector).

    `catalog`: the catalog outage of the surrounding `warehouse run` (see HiveRegistrar).
    A table named in full that `[mysql.NAME] exclude` leaves out is skipped with a warning
    unless `include_excluded`. The parameters are `warehouse import`'s options and the
    run's seams, keyword-only with the defaults an import without them has: the CLI,
    `warehouse run` and the tests each pass the few they set, which one value to build
    first would not make clearer.
    """
    started = time.monotonic()
    sel = parse_selector(selector)
    sources = _sources(cfg, sel)
    if not cfg.mysql:
        raise ConfigError("no [mysql.NAME] source in the config; nothing to import")
    _check_engine(cfg, engine)
    store = store or store_for_config(cfg)
    summary = ImportSummary(root=store.uri(""))
    if not include_excluded and _excluded(sources[0], sel, summary):
        return summary
    remove_stale_password_files()
    hive = HiveRegistrar(cfg, catalog) if cfg.has_catalog else None
    run = ImportRun(cfg, store, engine=engine, full=full, progress=progress, hive=hive)
    restore = first_ctrl_c_only()
    try:
        _import_sources(run, sources, sel, summary)
    except KeyboardInterrupt:  # while a source was being opened or planned
        log.warning("interrupted (Ctrl-C)")
        summary.interrupted = True
    finally:
        if hive is not None:
            hive.close()
        restore()
    summary.seconds = time.monotonic() - started
    return summary


def _check_engine(cfg: Config, engine: str | None) -> None:
    """Raise ConfigError for an `--engine` that is not one, or Sqoop on a release without."""
    engines = choices(MysqlSourceConfig, "engine")
    if engine is not None and engine not in engines:
        raise ConfigError(f"--engine must be {one_of(engines)}, not {engine!r}")
    if engine == "sqoop" and not release_has_sqoop(cfg.emr.release_label):
        raise ConfigError(
            f"--engine sqoop: EMR {cfg.emr.release_label} has no Sqoop (removed in 7.5); "
            "use the python engine or an emr-7.4 or older release"
        )


def _excluded(src: MysqlSourceConfig, sel: Selector, summary: ImportSummary) -> bool:
    """Return True (warned, noted in `summary`) when `sel` names a table `exclude` leaves out."""
    globs = _excluding_globs(src, sel)
    if not globs:
        return False
    summary.excluded = f"{sel.source}.{sel.database}.{sel.table}"
    log.warning(
        "%s is excluded by [mysql.%s] exclude (%s): skipped; add --include-excluded to "
        "import it anyway", summary.excluded, sel.source, ", ".join(map(repr, globs)),
    )
    return True


def _import_sources(
    run: ImportRun, sources: Sequence[MysqlSourceConfig], sel: Selector, summary: ImportSummary
) -> None:
    """Import each source in turn into `summary`; stop after one that was interrupted."""
    # several sources: each one's tables first, so that two of them sharing a Hive name
    # both fail before either is registered (a source down is said once, not retried)
    listed, down = _list_sources(run.cfg, sources, run.store) if len(sources) > 1 else ({}, {})
    for src in sources:
        if src.name in down:
            summary.tables.append(down[src.name])
            continue
        elsewhere = [o for name, owners in listed.items() if name != src.name
                     for o in owners]
        summary.tables.extend(import_source(run, src, sel, elsewhere=elsewhere))
        if any(t.interrupted for t in summary.tables):
            summary.interrupted = True  # the next sources are not started
            break


@dataclass(frozen=True)
class ImportRun:
    """What every source of one `run_import` shares: the config, the root, the options
    (`engine` overrides the sources' own) and the run's one Hive session, if any."""

    cfg: Config
    store: ObjectStore
    engine: str | None = None
    full: bool = False
    progress: Progress | None = None
    hive: HiveRegistrar | None = None


def import_source(
    run: ImportRun,
    src: MysqlSourceConfig,
    sel: Selector | None = None,
    *,
    elsewhere: Sequence[Owner] = (),
) -> list[TableResult]:
    """Import one source's selected tables; return one TableResult per table.

    Source-level failures (password, tunnel, server) come back as one result named
    `<source>.*` with exit code 2 or 3. `elsewhere`: the tables of the run's other
    sources (their Hive names are taken).
    """
    sel = sel or Selector(src.name)
    started = time.monotonic()
    password: Secret | None = None
    try:
        password = src.password()
        with open_session(run.cfg, src, password, store=run.store, hive=run.hive) as session:
            plan, failures = plan_tables(session, sel, elsewhere)
            results = failures + _run_tables(session, plan, engine=run.engine, full=run.full,
                                             progress=run.progress)
    except WarehouseError as exc:
        return [_source_failed(src, sel, run.engine, exc, password, started)]
    return results


def _source_failed(
    src: MysqlSourceConfig, sel: Selector, engine: str | None, exc: WarehouseError,
    password: Secret | None, started: float,
) -> TableResult:
    """Return the one result of a source that failed as a whole (logged, secret masked)."""
    msg = mask_secret(str(exc), password.reveal() if password else None)
    log.error("%s", msg)
    return TableResult(src.name, sel.database or "*", sel.table or "*",
                       engine=engine or src.engine, error=msg, exit_code=exc.exit_code,
                       seconds=time.monotonic() - started)


def _list_sources(
    cfg: Config, sources: Sequence[MysqlSourceConfig], store: ObjectStore
) -> tuple[dict[str, list[Owner]], dict[str, TableResult]]:
    """Return (source -> the tables a full import of it selects, source -> its failure
    when it cannot be reached)."""
    listed: dict[str, list[Owner]] = {}
    down: dict[str, TableResult] = {}
    for src in sources:
        started, password = time.monotonic(), None
        try:
            password = src.password()
            with open_session(cfg, src, password, store=store) as session:
                conn = session.connect()
                try:
                    listed[src.name] = [
                        from_config(src, listing.database, t)
                        for listing in list_source(conn, src).values() if listing is not None
                        for t in listing.selected]
                except session.driver.errors as exc:
                    raise SourceUnavailable(describe_error(session.endpoint, exc)) from None
                finally:
                    close_quietly(conn)
        except WarehouseError as exc:
            down[src.name] = _source_failed(src, Selector(src.name), None, exc, password,
                                            started)
    return listed, down


def _run_tables(
    session: SourceSession,
    plan: Sequence[Planned],
    *,
    engine: str | None,
    full: bool,
    progress: Progress | None,
) -> list[TableResult]:
    """Import the planned tables on the source's pool; return their results.

    Ctrl-C (a KeyboardInterrupt in this, the main, thread) stops the import within
    seconds: the session's Cancellation breaks the running tables' MySQL sessions and
    their exports stop between batches, removing what they wrote; tables not started
    are not started. Their results say so (exit 130), and the finished ones are kept.
    """
    src = session.src
    cancel = session.cancel
    report = None if progress is None else _Serialised(progress)

    def one(p: Planned) -> TableResult:
        label = f"{src.name}.{p.database}.{p.table}"
        sent = 0

        def on_rows(n: int) -> None:  # called between batches: where Ctrl-C stops an export
            nonlocal sent
            if cancel is not None:
                cancel.check()
            sent += n
            if report is not None:
                report(ProgressEvent(label, "rows", n))

        res = import_table(session, p, engine=engine, full=full, on_rows=on_rows)
        if report is not None:
            # rows not reported on the way (sqoop, parallel ranges) come with the last event
            report(ProgressEvent(label, "rows", max(res.rows - sent, 0), final=True,
                                 outcome=res.line()))
        return res

    pool = ThreadPoolExecutor(max_workers=max(1, src.workers), thread_name_prefix="import")
    futures = [pool.submit(one, p) for p in plan]
    try:
        return [f.result() for f in futures]
    except KeyboardInterrupt:
        log.warning("interrupted (Ctrl-C): stopping the tables of [mysql.%s] being imported",
                    src.name)
        if cancel is not None:
            cancel.cancel()
        return _stopped(session, plan, futures)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _stopped(
    session: SourceSession, plan: Sequence[Planned], futures: list[Future[TableResult]]
) -> list[TableResult]:
    """Return the results after Ctrl-C: the tables not started as such, the running ones
    once their broken sessions let them end (a further Ctrl-C does not cut that short:
    it is what removes their partial loads)."""
    waiting = [f for f in futures if not f.cancel()]
    while True:
        try:
            wait(waiting)
            break
        except KeyboardInterrupt:
            log.warning("still stopping: removing the partial loads of the running tables")
    out = []
    for p, f in zip(plan, futures, strict=True):
        if f.cancelled():
            out.append(TableResult(session.name, p.database, p.table,
                                   engine=session.src.engine, error="not started (Ctrl-C)",
                                   exit_code=EXIT_INTERRUPTED))
        else:
            out.append(f.result())
    return out


class _Serialised:
    """A progress callback called from the table threads one at a time."""

    def __init__(self, progress: Progress) -> None:
        self._progress, self._lock = progress, threading.Lock()

    def __call__(self, event: ProgressEvent) -> None:
        with self._lock:
            self._progress(event)


__all__ = [
    "ImportRun",
    "ImportSummary",
    "TableResult",
    "import_source",
    "latest_view_sql",
    "parse_selector",
    "run_import",
    "table_spec",
]
