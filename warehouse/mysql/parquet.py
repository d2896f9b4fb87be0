"""Imports as Parquet (`[mysql.NAME] format = "parquet"`, python engine only).

Each part of a load is `part-WWW-NNNNN.parquet` (pyarrow, zstd), streamed to the store
(`store.open_write`: a temporary name or a multipart upload, published whole). The
columns keep the MySQL types where Parquet and Athena can (`hive_type`: the Hive type,
the Parquet type follows from it in `arrow_type`):

| MySQL | Hive | Parquet |
|---|---|---|
| TINYINT .. BIGINT | as the JSON table (UNSIGNED widens one step) | INT32 (INT_8/16) / INT64 |
| BIGINT UNSIGNED | DECIMAL(20,0) | DECIMAL(20,0) |
| DECIMAL(p,s), p <= 38 | DECIMAL(p,s) | DECIMAL(p,s) |
| FLOAT, DOUBLE / YEAR | FLOAT, DOUBLE / SMALLINT | FLOAT, DOUBLE / INT32 (INT_16) |
| DATE / DATETIME, TIMESTAMP | DATE / TIMESTAMP (fraction kept) | DATE / INT96 |
| BIT(n) | BIGINT (n < 64), DECIMAL(20,0) (BIT(64)) | INT64 / DECIMAL(20,0) |
| BINARY, VARBINARY, BLOB, GEOMETRY | BINARY | BYTE_ARRAY |
| DECIMAL p > 38, TIME, text, ENUM, SET, JSON, UUID, INET | STRING | BYTE_ARRAY (UTF8) |

Dates are STRING (the server's text) where zero dates are possible, as in JSON
(`warehouse.mysql.zerodates`); a strict server's table is written as DATE/TIMESTAMP, and
should the export meet a zero or invalid date after all, `UnsafeDates` makes the engine
re-read it with STRING dates (the cast to DATE/TIMESTAMP fails on any, or the year is
0000: only then are the values looked at one by one; STRING dates are not checked, their
type cannot change). TIMESTAMP is INT96 like `events_parquet`: the encoding EMR
Hive 3.1, Spark, Athena and Trino all read as a timestamp (the session is UTC); the files
say they hold proleptic Gregorian dates (`CALENDAR`), so Spark reads `1000-01-01` as is.

Speed: a fetched batch's tuples convert to Arrow in one C call, as one struct array
whose fields are the columns (BIT's bytes as binary, then numbers); the per-column way
(`_Col.array`) serves the re-read with text as bytes and drivers whose values do not fit
(mysql-connector's BIT as int). Dictionaries only for text and binary columns.

Memory: each fetched batch (bounded by `batch_bytes`, `warehouse.mysql.batches`) becomes
Arrow arrays at once and its Python rows are dropped; the arrays wait until they hold
half of `batch_bytes` (or `GROUP_ROWS` rows), then go out as one row group, encoded and
compressed in a second thread while the next group fills (two groups at most: together
`batch_bytes`). A value of 1 MiB or more comes as a batch of its own, but is held whole
(Parquet has no chunked values).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from warehouse.arrowload import arrow_type, load_pyarrow
from warehouse.errors import ConfigError
from warehouse.mysql import schema as sch
from warehouse.mysql.batches import ROW_LIMIT, STREAM_VALUE, max_row_bytes
from warehouse.mysql.rows import TextAsBytes, _Utf8Counter
from warehouse.mysql.zerodates import DATE_TYPES

GROUP_ROWS = 1_000_000  # at most this many rows per row group
# Spark 3 rebases dates before 1582-10-15 and INT96 timestamps before 1900 of files it
# did not write (or fails, its default), as if written in the Julian calendar; these files
# are proleptic Gregorian like MySQL's values, which Spark reads as written from files of
# Spark 3.1 or later without a legacy flag: the key says which calendar the values are in
# (other readers ignore it)
CALENDAR = {"org.apache.spark.version": "3.1.0"}
SUFFIX = ".parquet"


class UnsafeDates(ValueError):
    """A zero or invalid date in a column written as DATE/TIMESTAMP: re-read as STRING."""

    def __init__(self, column: str) -> None:
        super().__init__(f"column {column} holds a zero or invalid date")
        self.column = column


def load_format(src: Any, engine: str) -> str:
    """Return the file format of a load of `src` (a MysqlSourceConfig) with `engine`;
    raises ConfigError for Parquet with Sqoop (`--engine sqoop` on a Parquet source)."""
    if src.format == "parquet" and engine != "python":
        raise ConfigError(f'[mysql.{src.name}] format = "parquet" needs the python engine, '
                          f'not {engine}: import with --engine python or set format = "json"')
    return str(src.format)


def hive_type(col: sch.SourceColumn, *, zero_dates: bool = True) -> str:
    """Return the Hive type of a column in a Parquet import (see the module table)."""
    if col.kind == "b64":
        return "BINARY"
    if col.kind == "bit":
        return "BIGINT" if col.bit_width < 64 else "DECIMAL(20,0)"
    return sch.hive_type(col, zero_dates=zero_dates)


def pyarrow() -> Any:
    """Return the pyarrow module (`warehouse.arrowload`: mysql-connector's C extension
    loaded first); raises ConfigError when pyarrow is missing."""
    return load_pyarrow('[mysql.NAME] format = "parquet"')


def arrow_schema(columns: Sequence[sch.SourceColumn], *, zero_dates: bool) -> Any:
    """Return the Arrow schema of a Parquet import's files (lower-cased column names)."""
    pa = pyarrow()
    return pa.schema([
        pa.field(c.name.lower(), arrow_type(hive_type(c, zero_dates=zero_dates)))
        for c in columns
    ], metadata=CALENDAR)  # fmt: skip


def _bits(v: Any) -> Any:
    if v is None or isinstance(v, int):
        return v
    return int.from_bytes(v, "big")


def _ascii(v: Any) -> Any:
    return v.decode("ascii") if isinstance(v, bytes) else v


@dataclass(frozen=True)
class _Col:
    """How one column's fetched values become its Arrow array: `each` (if any) goes over
    every value in Python, the values convert to `intake` in C, `finish` makes the written
    array of that (a cast, the date check, BIT's bytes as integers)."""

    name: str
    intake: Any
    finish: Callable[[Any], Any] | None = None
    each: Callable[[Any], Any] | None = None

    def array(self, vals: Sequence[Any]) -> Any:
        """Return the column's array of its fetched values (the per-column way)."""
        pa = pyarrow()
        if self.each is not None:
            vals = [self.each(v) for v in vals]
        try:
            arr = pa.array(vals, self.intake)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:  # bytes that are no UTF-8
            if not pa.types.is_string(self.intake):
                raise
            raise TextAsBytes(f"column {self.name}: {exc}") from None
        return arr if self.finish is None else self.finish(arr)


def _column(col: sch.SourceColumn, typ: Any, text_bytes: bool, counter: _Utf8Counter) -> _Col:
    """Return how one column's Arrow array is made from its fetched values."""
    pa = pyarrow()
    if col.kind == "bit":  # bytes (mysqlclient, PyMySQL) or int (mysql-connector)
        return _Col(col.name, typ, None, _bits)
    if col.kind == "b64":
        return _Col(col.name, pa.binary())  # str values are written as their UTF-8
    if col.kind == "text":
        return _Col(col.name, typ, None, counter if text_bytes else None)
    if col.kind == "raw":  # the server's text: DECIMAL, DATE/DATETIME/TIMESTAMP, TIME
        return _Col(col.name, pa.string(), _raw(col, typ, counter),
                    _ascii if text_bytes else None)
    return _Col(col.name, typ)  # int, float


def _raw(col: sch.SourceColumn, typ: Any, counter: _Utf8Counter) -> Callable[[Any], Any] | None:
    """Return the cast of a column of the server's text to `typ` (None: kept as STRING),
    which raises UnsafeDates for a zero or invalid date."""
    pa = pyarrow()
    if pa.types.is_string(typ):
        return None
    name = col.name
    check = counter.dates.converter(name, text_bytes=False) \
        if col.data_type in DATE_TYPES else None

    def cast(arr: Any) -> Any:
        try:
            out = arr.cast(typ)
        except pa.ArrowInvalid:
            if check is None:
                raise
            out = None  # an invalid date: which one, below
        if check is not None and (out is None or _year_zero(arr)):
            for v in arr.to_pylist():
                check(v)
            if name in counter.dates.bad:
                raise UnsafeDates(name)
        return out if out is not None else arr.cast(typ)

    return cast


def _year_zero(arr: Any) -> bool:
    """Return True when some date text has year 0000 (Arrow parses it, Hive cannot hold
    it; every other zero or invalid date fails the cast)."""
    import pyarrow.compute as pc

    return bool(pc.any(pc.starts_with(arr, "0000")).as_py())


class ParquetRows:
    """Turns fetched batches into row groups of one Parquet file (see the module)."""

    def __init__(self, columns: Sequence[sch.SourceColumn], *, text_bytes: bool,
                 zero_dates: bool, batch_bytes: int) -> None:
        self.pa = pyarrow()
        self.schema = arrow_schema(columns, zero_dates=zero_dates)
        self.counter = _Utf8Counter()
        self._columns = [_column(c, f.type, text_bytes, self.counter)
                         for c, f in zip(columns, self.schema, strict=True)]
        # columns whose values may be large (MEDIUMTEXT, LONGBLOB, JSON, ...): without a
        # dictionary or min/max statistics (each a copy of a value: a 100 MiB value cost
        # 8x its size with them, 5x without)
        self._plain = [c.name.lower() for c in columns
                       if max_row_bytes([c]) - ROW_LIMIT >= STREAM_VALUE]
        # the rows as one struct array, converted in one C call (BIT's bytes as binary),
        # unless text may be bytes that are not UTF-8 (the re-read: column by column)
        self._rows_type = None if text_bytes else self.pa.struct([
            (f"c{i}", c.intake if c.each is None else self.pa.binary())
            for i, c in enumerate(self._columns)])
        # the group filling and the one written hold batch_bytes of Arrow data together
        self._budget = max(1, batch_bytes // 2)
        self._held: list[Any] = []
        self._held_bytes = 0
        self._held_rows = 0

    def add(self, rows: Sequence[Sequence[Any]]) -> bool:
        """Convert `rows` to Arrow; return True when enough is held for a row group (drop
        the rows, then `flush`)."""
        if not rows:
            return False
        if len(rows[0]) != len(self._columns):
            raise ValueError(f"a row of {len(rows[0])} values for {len(self._columns)} columns")
        arrays = self._bulk(rows) if self._rows_type is not None else None
        if arrays is None:
            values = list(zip(*rows, strict=True))
            arrays = [c.array(v) for c, v in zip(self._columns, values, strict=True)]
            del values
        batch = self.pa.RecordBatch.from_arrays(arrays, schema=self.schema)
        self._held.append(batch)
        self._held_bytes += batch.nbytes
        self._held_rows += batch.num_rows
        return self._held_bytes >= self._budget or self._held_rows >= GROUP_ROWS

    def _bulk(self, rows: Sequence[Sequence[Any]]) -> list[Any] | None:
        """Return the arrays of `rows` converted as one struct array (the fetched tuples
        read once, in C); None, and the per-column way from now on, when a value does
        not convert so (an int BIT of mysql-connector, text that is no UTF-8)."""
        pa = self.pa
        try:
            children = pa.array(rows, self._rows_type).flatten()
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            self._rows_type = None
            return None
        return [(c.finish(a) if c.finish is not None else a) if c.each is None
                else c.array(a.to_pylist()) for c, a in zip(self._columns, children, strict=True)]

    def take(self) -> Any:
        """Return what is held as one table (None when nothing is), and hold nothing."""
        if not self._held:
            return None
        table = self.pa.Table.from_batches(self._held, schema=self.schema)
        self._held, self._held_bytes, self._held_rows = [], 0, 0
        return table

    def open(self, out: Any) -> Any:
        """Return a ParquetWriter over the binary stream `out` (zstd, INT96 timestamps)."""
        import pyarrow.parquet as pq

        pa = self.pa
        small = [f.name for f in self.schema if f.name not in self._plain]
        # a dictionary for text and binary only: numbers, dates and decimals tried one
        # and mostly gave it up, which cost a third of the writer's time
        words = [f.name for f in self.schema if f.name not in self._plain
                 and (pa.types.is_string(f.type) or pa.types.is_binary(f.type))]
        return pq.ParquetWriter(out, self.schema, compression="zstd",
                                use_deprecated_int96_timestamps=True,
                                use_dictionary=words,
                                write_statistics=small if self._plain else True)



def write_part(batches: Any, store: Any, key: str, rows: ParquetRows, limit: int,
               on_rows: Callable[[int], None] | None) -> int:
    """Write up to `limit` rows of `batches` (`ByteBatches`) as the Parquet file `key`;
    return the row count (a file without rows still has the schema).

    A row group is encoded and compressed in a second thread (pyarrow releases the GIL)
    while the next one is fetched and converted: at most one group waits for it."""
    written = 0
    with store.open_write(key) as out, rows.open(out) as writer, \
            ThreadPoolExecutor(1, thread_name_prefix="parquet-writer") as pool:
        pending: Future[None] | None = None

        def send(table: Any) -> Future[None] | None:
            if pending is not None:
                pending.result()  # its error, if any, stops the export here
            if table is None:
                return None
            return pool.submit(writer.write_table, table, row_group_size=table.num_rows)

        try:
            while written < limit:
                got, _large = batches.next(limit - written)
                if not got:
                    break
                full = rows.add(got)
                n = len(got)
                del got  # not held while the row group is written or the next batch fetched
                if full:
                    pending = send(rows.take())
                written += n
                if on_rows is not None:
                    on_rows(n)
            pending = send(rows.take())
            pending = send(None)
        finally:
            if pending is not None:  # an error in this thread: the writer finishes first
                with suppress(Exception):
                    pending.result()
    return written
