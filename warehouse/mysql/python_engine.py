"""The `python` engine: stream a table into gzipped JSON lines with constant memory.

One SELECT on an unbuffered (server-side) cursor inside `START TRANSACTION WITH
CONSISTENT SNAPSHOT`, fetched in batches bounded by rows (`fetch_batch`) and by bytes
(`[mysql.NAME] batch_bytes`, `warehouse.mysql.batches`: a value of 1 MiB or more is
written in chunks); each batch becomes JSON lines through `warehouse.mysql.rows` (pure
encoding: which values, lossless, are written how), compressed with ISA-L gzip level 1
in a second thread that holds at most `batch_bytes` of JSON waiting, and streamed to the
store
(`part-WWW-NNNNN.json.gz`, a new part every `rows_per_part` rows). Character columns
arrive as UTF-8 (the session is utf8mb4). Should a column hold bytes that are not valid
UTF-8, the table is re-read with character columns as bytes and those values are
written with backslashreplace (`\\xff`), like events and rejects; the count is reported
(`non_utf8`).

Speed (bench/results_import.md): mysqlclient's C converters return the server's text
for DECIMAL/DATE/TIME without Python calls; each fetched batch is encoded with ONE
orjson call (see `rows.batch_encoder`); a second thread compresses and writes while the
next batch is fetched and encoded.

With `format = "parquet"` the batches become row groups of `part-WWW-NNNNN.parquet`
instead (`warehouse.mysql.parquet`: typed columns, zstd).

`split_workers > 1` reads ranges of a single-column integer primary key in parallel
processes (multiprocessing "spawn": a script calling it needs the usual
`if __name__ == "__main__":` guard; the `warehouse` command has it). Each range is its
own snapshot: a table written to during the import may be copied at slightly different
moments per range (off by default, documented).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field, replace
from multiprocessing import get_context
from typing import Any

from warehouse.config import MysqlSourceConfig, S3Config
from warehouse.errors import EXIT_FAILED, EXIT_UNAVAILABLE, WarehouseError
from warehouse.mysql.batches import ByteBatches, RowWriter
from warehouse.mysql.cancel import Cancellation, Interrupted, WatchedDriver
from warehouse.mysql.connect import (
    UNAVAILABLE_CODES,
    Driver,
    Endpoint,
    close_quietly,
    describe_error,
    error_code,
)
from warehouse.mysql.parquet import SUFFIX as PARQUET_SUFFIX
from warehouse.mysql.parquet import ParquetRows, UnsafeDates
from warehouse.mysql.parquet import write_part as write_parquet
from warehouse.mysql.rows import Query, TextAsBytes, select_sql
from warehouse.mysql.schema import SourceColumn, quote
from warehouse.procs import interrupt_workers, worker_call, worker_init
from warehouse.storage import ObjectStore, open_store
from warehouse.storage.base import open_gzip_write

log = logging.getLogger(__name__)

FETCH_BATCH = 1000  # ~180 KB of JSON per batch stays in cache: 5000 cost ~0.3 us/row more
ROWS_PER_PART = 5_000_000
BATCH_BYTES: int = MysqlSourceConfig.batch_bytes  # its default: declared once, in config


class ExportError(WarehouseError):
    """The read failed; `.code` is the MySQL error number, `.unavailable` a lost source
    (exit 3), else the read itself failed (exit 5)."""

    def __init__(self, message: str, code: int | None = None, unavailable: bool = False):
        super().__init__(message)
        self.code = code
        self.unavailable = unavailable
        self.exit_code = EXIT_UNAVAILABLE if unavailable else EXIT_FAILED

    def __reduce__(self) -> tuple[Any, ...]:
        return (ExportError, (str(self), self.code, self.unavailable))


def export_error(ep: Endpoint, exc: BaseException) -> ExportError:
    """Return the ExportError for a driver error of a session with `ep` (password masked)."""
    code = error_code(exc)
    return ExportError(describe_error(ep, exc), code, code in UNAVAILABLE_CODES)


@dataclass
class ExportResult:
    """What one export wrote."""

    rows: int = 0
    bytes: int = 0
    files: list[str] = field(default_factory=list)
    non_utf8: int = 0
    bad_dates: list[str] = field(default_factory=list)  # columns with zero/invalid dates


# -- one snapshot ----------------------------------------------------------------------


@dataclass(frozen=True)
class ExportJob:
    """Everything one worker needs (picklable: it crosses into split worker processes)."""

    endpoint: Endpoint
    driver: Driver
    database: str
    table: str
    columns: tuple[SourceColumn, ...]
    store_root: str
    s3: S3Config | None
    prefix: str  # folder key of the load, e.g. mysql/src/db/t/load=20240101T000000Z
    query: Query = field(default_factory=Query)
    worker: int = 0
    rows_per_part: int = ROWS_PER_PART
    fetch_batch: int = FETCH_BATCH
    batch_bytes: int = BATCH_BYTES
    format: str = "json"  # or "parquet" (warehouse.mysql.parquet)
    zero_dates: bool = True  # Parquet: date columns as STRING (zero dates possible)


def export(
    job: ExportJob,
    *,
    store: ObjectStore | None = None,
    on_rows: Callable[[int], None] | None = None,
    in_snapshot: Callable[[Any], None] | None = None,
) -> ExportResult:
    """Stream the job's rows to its prefix; return counts; raises ExportError.

    Tries character columns as str first; on invalid UTF-8 it re-reads the table with
    character columns as bytes (backslashreplace), replacing the parts written so far; a
    Parquet export meeting a zero date in a DATE/TIMESTAMP column re-reads it as STRING.
    `in_snapshot(conn)` runs after the rows, in the same snapshot (the deleted keys).
    """
    store = store or open_store(job.store_root, job.s3)
    text_bytes, unsafe = False, ""
    while True:
        try:
            result = _export_once(job, store, text_bytes=text_bytes, on_rows=on_rows,
                                  in_snapshot=in_snapshot)
            # the STRING re-read checks no dates: the column that caused it is the news
            result.bad_dates = sorted({*result.bad_dates, *filter(None, [unsafe])})
            return result
        except UnsafeDates as exc:  # Parquet only: its DATE/TIMESTAMP columns become STRING
            log.warning("%s.%s: %s; re-reading with its dates as STRING", job.database,
                        job.table, exc)
            job, unsafe = replace(job, zero_dates=True), exc.column
        except (UnicodeDecodeError, TextAsBytes):
            if text_bytes:
                raise
            log.warning(
                "%s.%s holds text that is not valid UTF-8; re-reading with backslashreplace",
                job.database,
                job.table,
            )
            text_bytes = True


def _export_once(
    job: ExportJob,
    store: ObjectStore,
    *,
    text_bytes: bool,
    on_rows: Callable[[int], None] | None,
    in_snapshot: Callable[[Any], None] | None = None,
) -> ExportResult:
    ep, driver = job.endpoint, job.driver
    writer = ParquetRows(job.columns, text_bytes=text_bytes, zero_dates=job.zero_dates,
                         batch_bytes=job.batch_bytes) if job.format == "parquet" \
        else RowWriter(job.columns, text_bytes=text_bytes)
    result = ExportResult()
    sql = select_sql(job.database, job.table, job.columns, job.query,
                     cast_text=driver.casts_text)
    conn = driver.connect(ep, database=job.database, text_bytes=text_bytes)
    cur = None
    try:
        try:
            begin_snapshot(conn)
            cur = driver.stream_cursor(conn)
            params = job.query.params or None
            cur.execute(driver.with_params(sql) if params else sql, params)
            batches = ByteBatches(driver.batch_fetcher(conn, cur), job.columns,
                                  batch_bytes=job.batch_bytes, fetch_batch=job.fetch_batch)
            _write_parts(job, store, batches, writer, result, on_rows)
            cur.close()
            cur = None
            if in_snapshot is not None:
                in_snapshot(conn)
            conn.commit()
        except driver.errors as exc:
            raise export_error(ep, exc) from None
    except BaseException:
        for key in result.files:
            store.delete(key)
        raise
    finally:
        if cur is not None:
            close_quietly(cur)
        close_quietly(conn)
    result.non_utf8 = writer.counter.bad
    result.bad_dates = sorted(writer.counter.dates.bad)
    result.bytes = sum(
        info.size for key in result.files for info in store.list(key) if info.key == key
    )
    return result


def _write_parts(job: ExportJob, store: ObjectStore, batches: ByteBatches,
                 writer: RowWriter | ParquetRows, result: ExportResult,
                 on_rows: Callable[[int], None] | None) -> None:
    """Write `batches` as parts of `job.rows_per_part` rows, each noted in `result` as it
    is published (so a failure deletes it)."""
    part = 0
    while True:
        key = f"{job.prefix}/part-{job.worker:03d}-{part:05d}" + \
            (PARQUET_SUFFIX if isinstance(writer, ParquetRows) else ".json.gz")
        written = write_parquet(batches, store, key, writer, job.rows_per_part, on_rows) \
            if isinstance(writer, ParquetRows) \
            else _write_part(batches, store, key, writer, job, on_rows)
        if written == 0 and part > 0:
            break
        result.rows += written
        result.files.append(key)
        if written < job.rows_per_part:
            break
        part += 1


def begin_snapshot(conn: Any) -> None:
    """Start a read-only transaction with a consistent snapshot on `conn`."""
    plain = conn.cursor()
    try:
        plain.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
    finally:
        plain.close()


class _Pipe:
    """Compress and write in a second thread (ISA-L releases the GIL while compressing).

    The pieces waiting (and the one being written) hold at most `max_bytes`, or one
    piece when it is larger, so memory stays bounded by bytes, not by batches.
    """

    def __init__(self, out: Any, max_bytes: int) -> None:
        self._out = out
        self._max = max_bytes
        self._items: deque[Any] = deque()
        self._queued = 0
        self._cond = threading.Condition()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="export-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while True:
                with self._cond:
                    while not self._items:
                        self._cond.wait()
                    item = self._items[0]
                if item is None:
                    return
                self._out.write(item)
                with self._cond:
                    self._items.popleft()
                    self._queued -= len(item)
                    self._cond.notify_all()
        except BaseException as exc:  # handed to the producer in write()/close()
            with self._cond:
                self._error = exc
                self._items.clear()
                self._cond.notify_all()

    def write(self, data: Any) -> None:
        with self._cond:
            while (self._error is None and self._items
                   and self._queued + len(data) > self._max):
                self._cond.wait()
            if self._error is not None:
                raise self._error
            self._items.append(data)
            self._queued += len(data)
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._items.append(None)
            self._cond.notify_all()
        self._thread.join()
        if self._error is not None:
            raise self._error


def _write_part(
    batches: ByteBatches,
    store: ObjectStore,
    key: str,
    writer: RowWriter,
    job: ExportJob,
    on_rows: Callable[[int], None] | None,
) -> int:
    written = 0
    with open_gzip_write(store, key) as out:
        pipe = _Pipe(out, job.batch_bytes)
        try:
            while written < job.rows_per_part:
                rows, large = batches.next(job.rows_per_part - written)
                if not rows:
                    break
                writer.write(rows, large, pipe.write)
                n = len(rows)
                del rows  # not held while the next batch is fetched
                written += n
                if on_rows is not None:
                    on_rows(n)
        finally:
            pipe.close()
    return written


# -- parallel key ranges ---------------------------------------------------------------


def key_ranges(lo: int, hi: int, n: int) -> list[tuple[int, int]]:
    """Split [lo, hi] into at most n contiguous inclusive integer ranges."""
    if hi < lo or n < 1:
        return []
    span = hi - lo + 1
    n = min(n, span)
    step, extra = divmod(span, n)
    out, start = [], lo
    for i in range(n):
        end = start + step - 1 + (1 if i < extra else 0)
        out.append((start, end))
        start = end + 1
    return out


def _run_job(job: ExportJob) -> ExportResult:
    """One key range, in a worker process (run by `procs.worker_call`)."""
    logging.basicConfig(level=logging.WARNING)
    cancel = Cancellation()

    def stop(signum: int, frame: object) -> None:
        # break the session before unwinding: closing an unbuffered cursor mid-result would
        # first read the rest of its range
        cancel.cancel()
        raise KeyboardInterrupt

    for sig in (signal.SIGINT, signal.SIGTERM):  # worker_call restores its own after
        signal.signal(sig, stop)
    return export(replace(job, driver=WatchedDriver(job.driver.name, cancel)))


def _await_ranges(
    pool: ProcessPoolExecutor, futures: list[Future[ExportResult]], cancel: Cancellation | None
) -> bool:
    """Wait for every range; return whether the import was stopped meanwhile. Stopped by a
    signal to this process alone (`kill -INT PID`, SIGTERM), the workers got none: they
    are sent SIGINT, so each aborts its upload and ends within seconds."""
    pending: set[Future[ExportResult]] = set(futures)
    stopped = False
    while pending:
        _, pending = wait(pending, timeout=0.2)
        if not stopped and cancel is not None and cancel.is_set():
            stopped = True
            interrupt_workers(pool)
    return stopped


def export_split(job: ExportJob, key: str, lo: int, hi: int, workers: int) -> ExportResult:
    """Export key ranges of `key` (an integer primary key) in parallel processes; raises
    Interrupted once the import is stopped (Ctrl-C, SIGTERM), the ranges' uploads aborted."""
    cancel = job.driver.cancel if isinstance(job.driver, WatchedDriver) else None
    ranges = key_ranges(lo, hi, workers)
    jobs = [
        ExportJob(
            **{
                **job.__dict__,
                "query": job.query.and_(f"{quote(key)} BETWEEN %s AND %s", a, b),
                "worker": i,
            }
        )
        for i, (a, b) in enumerate(ranges)
    ]
    total = ExportResult()
    if not jobs:
        return total
    started = time.monotonic()
    with ProcessPoolExecutor(  # workers die with this process (a kill -9 of the import)
        max_workers=len(jobs), mp_context=get_context("spawn"),
        initializer=worker_init, initargs=(os.getpid(),),
    ) as pool:
        futures = [pool.submit(worker_call, _run_job, j) for j in jobs]
        stopped = _await_ranges(pool, futures, cancel)
        failures: list[BaseException] = []
        for fut in futures:
            try:
                r = fut.result()
            except BaseException as exc:
                failures.append(exc)
                continue
            total.rows += r.rows
            total.bytes += r.bytes
            total.files.extend(r.files)
            total.non_utf8 += r.non_utf8
            total.bad_dates = sorted({*total.bad_dates, *r.bad_dates})
    if failures or (job.format == "parquet" and not job.zero_dates and total.bad_dates):
        store = open_store(job.store_root, job.s3)
        for k in total.files:
            store.delete(k)
        # a range stopped between starting its upload and guarding it leaves it open: the
        # load's folder is this import's own, so whatever is still uploading there goes
        store.abort_uploads(job.prefix + "/")
        if stopped or any(isinstance(f, KeyboardInterrupt) for f in failures):
            raise Interrupted("interrupted (Ctrl-C)")
        if failures:
            raise failures[0]
        # a range met a zero date and wrote STRING dates: every range must, one schema
        return export_split(replace(job, zero_dates=True), key, lo, hi, workers)
    log.info(
        "%s.%s: %d ranges, %d rows in %.1fs",
        job.database, job.table, len(jobs), total.rows, time.monotonic() - started,
    )
    return total
