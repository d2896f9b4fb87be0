"""The python engine's memory, bounded by bytes: rows fetched in batches of at most
`[mysql.NAME] batch_bytes`, and large values written in chunks instead of whole.

`ByteBatches` fetches a table in plain batches of as many rows of its widest possible
row (from its column types: MySQL's 65,535-byte row limit plus each TEXT/BLOB/JSON/
GEOMETRY column's own limit) as `batch_bytes` holds, at most `fetch_batch` (the fast
path: no per-row work) when that is `MIN_BATCH` rows or more: tables of fixed-size,
CHAR/VARCHAR/BINARY and TEXT/BLOB columns. Other tables (MEDIUMTEXT, LONGBLOB, JSON,
...) are fetched one row at a time, adding up the length of their character and binary
values, until the batch holds `batch_bytes`; a row with a value of `STREAM_VALUE` or
more comes alone.

`RowWriter` writes a batch as JSON lines (`warehouse.mysql.rows.batch_encoder`'s: one
orjson call), and a row with a large value piece by piece: its small values through
orjson, the large one in chunks (base64 of `CHUNK` bytes; JSON-escaped `TEXT_CHUNK`
characters of text), so the value is never held as a base64 string, a JSON document or
a copy of either: the bytes written are the same as the batch encoder's.

The drivers hold what they are asked for: all three stream (PyMySQL's and mysqlclient's
SSCursor, mysql-connector unbuffered; none reads rows ahead of `fetchmany(n)`), and each
holds one large value about twice while reading it (PyMySQL joins the row's packets,
then slices the value; the C clients' network buffer grows to the row): measured in
tests/test_mysql_memory.py and bench/bench_import_memory.py.
"""

from __future__ import annotations

import base64
import codecs
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import orjson

from warehouse.mysql.rows import TextAsBytes, batch_converters, converted_encoder
from warehouse.mysql.schema import BINARY_TYPES, SourceColumn

STREAM_VALUE = 1 << 20  # a value this long (bytes, or characters) is written in chunks
CHUNK = 3 << 20  # bytes per base64 chunk (a multiple of 3), and per text chunk decoded
TEXT_CHUNK = CHUNK // 6  # characters escaped at once (at most 6 bytes each: \u001f)
ROW_LIMIT = 65_535  # MySQL's row size limit, TEXT and BLOB columns left out
MIN_BATCH = 64  # fewer rows per plain batch: the rows are measured one by one instead
_MAX = {  # the most bytes one value of these types holds
    "tinyblob": 255, "tinytext": 255, "blob": 65_535, "text": 65_535,
    "mediumblob": 1 << 24, "mediumtext": 1 << 24, "longblob": 1 << 32, "longtext": 1 << 32,
    "json": 1 << 32,
}

Write = Callable[[Any], None]  # bytes or a memoryview, to the gzip writer
Fetch = Callable[[int], Sequence[Sequence[Any]]]


_SPATIAL = BINARY_TYPES - {"binary", "varbinary", *_MAX}  # GEOMETRY & co: LONGBLOBs


def _value_max(col: SourceColumn) -> int:
    """Return the most bytes a TEXT/BLOB/JSON/GEOMETRY value holds (0 for the others:
    CHAR, VARCHAR, BINARY, VARBINARY and fixed-size types count in ROW_LIMIT)."""
    return _MAX.get(col.data_type, 1 << 32 if col.data_type in _SPATIAL else 0)


def max_row_bytes(columns: Sequence[SourceColumn]) -> int:
    """Return the most bytes one row of `columns` can hold (an upper bound)."""
    return ROW_LIMIT + sum(_value_max(c) for c in columns)


class ByteBatches:
    """Batches of a streaming cursor's rows bounded by bytes (see the module docstring)."""

    def __init__(self, fetch: Fetch, columns: Sequence[SourceColumn], *, batch_bytes: int,
                 fetch_batch: int) -> None:
        self._fetch = fetch
        self._budget = max(1, batch_bytes)
        self._rows = fetch_batch
        self._var = [i for i, c in enumerate(columns) if c.kind in ("text", "b64")]
        self._plain = min(fetch_batch, batch_bytes // max_row_bytes(columns))
        self.measured = (self._plain < min(MIN_BATCH, fetch_batch)
                         or any(_value_max(c) >= STREAM_VALUE for c in columns))
        self._pending: Sequence[Any] | None = None

    def next(self, limit: int) -> tuple[list[Sequence[Any]], bool]:
        """Return (up to `limit` rows, True when it is one row with a large value); no
        rows at the end."""
        if not self.measured:
            return list(self._fetch(min(self._plain, limit))), False
        batch: list[Sequence[Any]] = []
        size, cap, budget, var, fetch = 0, min(self._rows, limit), self._budget, self._var, \
            self._fetch
        row: Sequence[Any] | None = self._pending
        self._pending = None
        while len(batch) < cap:
            if row is None:
                got = fetch(1)
                if not got:
                    break
                row = got[0]
            n = large = 0
            for i in var:
                v = row[i]
                if v is not None:
                    k = len(v)
                    n += k
                    if k >= STREAM_VALUE:
                        large = 1
            if large:
                if batch:
                    break
                return [row], True
            batch.append(row)
            row = None
            size += n
            if size >= budget:
                break
        if row is not None:  # kept for the next call (a large one after this batch)
            self._pending = row
        return batch, False


class RowWriter:
    """Writes batches of rows as JSON lines (see the module docstring); `counter.bad`
    counts the values written with backslashreplace."""

    def __init__(self, columns: Sequence[SourceColumn], *, text_bytes: bool) -> None:
        # one set of converters, one counter: the batches' encoder and the large rows'
        self._conv, self.counter = batch_converters(columns, text_bytes)
        self.encode = converted_encoder(columns, self._conv)
        self._keys = [orjson.dumps(c.name.lower()) + b":" for c in columns]
        self._kinds = [c.kind for c in columns]
        self._text_bytes = text_bytes

    def write(self, rows: Sequence[Sequence[Any]], large: bool, out: Write) -> None:
        """Write `rows` to `out`; `large`: one row with a value of STREAM_VALUE or more."""
        if large:
            for row in rows:
                self._large_row(row, out)
        else:
            out(self.encode(rows))

    def _large_row(self, row: Sequence[Any], out: Write) -> None:
        pending: list[bytes] = []
        for i, v in enumerate(row):
            pending.append((b"{" if i == 0 else b",") + self._keys[i])
            if v is not None and self._kinds[i] in ("text", "b64") and len(v) >= STREAM_VALUE:
                out(b"".join(pending))
                pending = []
                for piece in self._chunks(self._kinds[i], v):
                    out(piece)
                continue
            conv = self._conv.get(i)
            try:
                pending.append(orjson.dumps(conv(v) if conv is not None else v))
            except orjson.JSONEncodeError as exc:
                if "bytes" in str(exc):
                    raise TextAsBytes(str(exc)) from None
                raise
        pending.append(b"}\n")
        out(b"".join(pending))

    def _chunks(self, kind: str, v: Any) -> Iterator[bytes]:
        """Yield the JSON text of one large value in pieces (quotes included)."""
        yield b'"'
        if kind == "b64":
            data = memoryview(v.encode("utf-8") if isinstance(v, str) else v)
            for at in range(0, len(data), CHUNK):
                yield base64.b64encode(data[at:at + CHUNK])
        elif isinstance(v, str):
            for at in range(0, len(v), TEXT_CHUNK):
                yield orjson.dumps(v[at:at + TEXT_CHUNK])[1:-1]
        elif not self._text_bytes:
            raise TextAsBytes(f"bytes in a character column ({len(v)} bytes)")
        else:
            for text in self._decoded(memoryview(v)):
                for at in range(0, len(text), TEXT_CHUNK):
                    yield orjson.dumps(text[at:at + TEXT_CHUNK])[1:-1]
        yield b'"'

    def _decoded(self, data: memoryview) -> Iterator[str]:
        """Yield `data` decoded as UTF-8 in pieces: strictly when it is valid, else with
        backslashreplace (counted once), as `rows._Utf8Counter` does for a whole value."""
        errors = "strict"
        check = codecs.getincrementaldecoder("utf-8")("strict")
        try:
            for at in range(0, len(data), CHUNK):
                check.decode(data[at:at + CHUNK])
            check.decode(b"", True)
        except UnicodeDecodeError:
            errors = "backslashreplace"
            self.counter.bad += 1
        dec = codecs.getincrementaldecoder("utf-8")(errors)
        for at in range(0, len(data), CHUNK):
            yield dec.decode(data[at:at + CHUNK])
        yield dec.decode(b"", True)
