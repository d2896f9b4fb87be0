"""Rows to JSON lines, and the SELECT that reads them: pure functions, no I/O.

The values written (see `warehouse.mysql.schema` for the type table):
- NULL is JSON null, '' is "", and tabs, newlines, `\\N`, \\x01 are ordinary JSON text;
- DECIMAL, DATE/DATETIME/TIMESTAMP (zero dates included) and TIME (beyond 24 h) are the
  server's own text; integers (BIGINT UNSIGNED max included) are JSON numbers;
- BINARY/VARBINARY/BLOB/GEOMETRY are base64; BIT(n) is n binary digits;
- character columns given as bytes (the re-read of a table holding text that is not
  valid UTF-8) are decoded with backslashreplace and counted.

`batch_encoder` turns one fetched batch into JSON lines with a generated constant-key
comprehension (its text: `dicts_source`) and ONE orjson call; `warehouse.mysql.python_engine` does the reading and
writing around it.
"""

from __future__ import annotations

import base64
import linecache
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from warehouse.mysql.schema import SourceColumn, qualified, quote


@dataclass(frozen=True)
class Query:
    """The rows to read: a WHERE clause over quoted identifiers with %s parameters."""

    where: str = ""
    params: tuple[Any, ...] = ()

    def and_(self, where: str, *params: Any) -> Query:
        """Return this query narrowed by one more condition."""
        joined = f"({self.where}) AND ({where})" if self.where else where
        return Query(joined, (*self.params, *params))


# -- value encoding --------------------------------------------------------------------


def _b64(v: Any) -> Any:
    if isinstance(v, str):
        v = v.encode("utf-8")
    return base64.b64encode(v).decode("ascii") if v is not None else None


def _bits(width: int) -> Callable[[Any], Any]:
    def enc(v: Any) -> Any:
        if v is None:
            return None
        n = int.from_bytes(v, "big") if isinstance(v, bytes) else int(v)
        return format(n, f"0{width}b")

    return enc


class TextAsBytes(ValueError):
    """A driver returned bytes for a character column (text that is not valid UTF-8).

    mysqlclient and PyMySQL raise UnicodeDecodeError; a C layer may hand the bytes
    over instead. Either way `export` re-reads the table with text as bytes.
    """


class _Utf8Counter:
    """Decode bytes as UTF-8, falling back to backslashreplace and counting those values."""

    def __init__(self) -> None:
        self.bad = 0

    def __call__(self, v: Any) -> Any:
        if not isinstance(v, bytes):
            return v
        try:
            return v.decode("utf-8")
        except UnicodeDecodeError:
            self.bad += 1
            return v.decode("utf-8", "backslashreplace")


def _ascii(v: Any) -> Any:
    return v.decode("ascii") if isinstance(v, bytes) else v


def _fixes(
    columns: Sequence[SourceColumn], text_bytes: bool, counter: _Utf8Counter
) -> list[tuple[int, Callable[[Any], Any]]]:
    fixes: list[tuple[int, Callable[[Any], Any]]] = []
    for i, col in enumerate(columns):
        kind = col.kind
        if kind == "b64":
            fixes.append((i, _b64))
        elif kind == "bit":
            fixes.append((i, _bits(col.bit_width)))
        elif kind == "text" and text_bytes:
            fixes.append((i, counter))
        elif kind == "raw" and text_bytes:
            fixes.append((i, _ascii))
    return fixes


Dicts = Callable[[Sequence[Sequence[Any]]], list[dict[str, Any]]]


def dicts_source(names: Sequence[str]) -> str:
    """Return the Python text `dict_builder(names)` compiles: a constant-key comprehension.

    Names enter the text only through `repr()`, which always yields a string literal that
    evaluates back to the same string, so a column name cannot inject code.
    """
    if not names:
        return "lambda rows: [{} for _ in rows]"
    values = [f"v{i}" for i in range(len(names))]
    items = ", ".join(f"{name!r}: {v}" for name, v in zip(names, values, strict=True))
    return f"lambda rows: [{{{items}}} for ({', '.join(values)},) in rows]"


def dict_builder(names: Sequence[str]) -> Dicts:
    """Return rows -> [{name: value, ...}] compiled from `dicts_source(names)`.

    A constant-key dict display builds each row's dict ~1.7x faster than `plain_dicts`'
    `dict(zip(names, row))`, the encoder as a whole ~1.4x (bench/bench_row_encoder.py,
    bench/RESULTS.md). A row of the wrong length raises ValueError, as in `plain_dicts`
    (given at least one name).
    """
    source = dicts_source(names)
    filename = f"<warehouse.mysql row dicts {zlib.crc32(source.encode()):08x}>"
    # tracebacks through the generated comprehension show its text
    linecache.cache[filename] = (len(source), None, [source + "\n"], filename)
    built: Dicts = eval(compile(source, filename, "eval"), {"__builtins__": {}})
    return built


def plain_dicts(names: Sequence[str]) -> Dicts:
    """Return rows -> [{name: value, ...}] with `dict(zip(...))`: `dict_builder`'s twin.

    The same dicts, key order and errors; the tests run it against `dict_builder` on every
    type and odd value, and bench/bench_row_encoder.py measures the two.
    """
    keys = tuple(names)

    def build(rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
        return [dict(zip(keys, row, strict=True)) for row in rows]

    return build


def batch_encoder(
    columns: Sequence[SourceColumn],
    *,
    text_bytes: bool = False,
    dicts: Callable[[Sequence[str]], Dicts] = dict_builder,
) -> tuple[Callable[[Sequence[Sequence[Any]]], bytes], _Utf8Counter]:
    """Return (encode(rows) -> JSON lines as bytes, the non-UTF-8 counter).

    `dicts` makes the rows -> dicts step from the lower-cased names (`dict_builder`, the
    generated one the engine runs, or `plain_dicts`, for tests and the benchmark).

    orjson serialises a whole batch as one array (about 4x cheaper than one call per
    row); the array becomes lines by turning each `},{"<first key>":` between objects
    into `}\n{"<first key>":`. Inside a JSON string every `"` is escaped, so in a
    string `},{` can only be followed by the string's closing quote and then `,`, `:`,
    `}` or `]`: when the first key does not start with one of those, the pattern occurs
    nowhere but between objects and one `replace` is exact. Otherwise the `},{` are
    counted (exactly len(rows) - 1 of them, or the batch is serialised row by row).
    """
    names = [c.name.lower() for c in columns]
    counter = _Utf8Counter()
    fixes = _fixes(columns, text_bytes, counter)
    build = dicts(names)
    dumps = orjson.dumps
    opt = orjson.OPT_APPEND_NEWLINE
    first = dumps(names[0]) if names else b'""'
    exact = len(first) > 2 and first[1:2] not in (b",", b":", b"}", b"]")
    sep, sep_nl = b"},{" + first + b":", b"}\n{" + first + b":"

    def fixed(row: Sequence[Any]) -> list[Any]:
        values = list(row)
        for i, fn in fixes:
            values[i] = fn(values[i])
        return values

    def encode(rows: Sequence[Sequence[Any]]) -> bytes:
        objs = build([fixed(r) for r in rows] if fixes else rows)
        if not objs:
            return b""
        try:
            data = dumps(objs)
        except orjson.JSONEncodeError as exc:
            if "bytes" in str(exc):
                raise TextAsBytes(str(exc)) from None
            raise
        if exact:
            return data.replace(sep, sep_nl)[1:-1] + b"\n"
        if data.count(b"},{") == len(objs) - 1:
            return data[1:-1].replace(b"},{", b"}\n{") + b"\n"
        return b"".join([dumps(o, option=opt) for o in objs])

    return encode, counter


def row_encoder(
    columns: Sequence[SourceColumn], *, text_bytes: bool = False
) -> tuple[Callable[[Sequence[Any]], bytes], _Utf8Counter]:
    """Return (encode(row) -> one JSON line as bytes, the non-UTF-8 counter)."""
    encode_batch, counter = batch_encoder(columns, text_bytes=text_bytes)
    return (lambda row: encode_batch([row])), counter


def _select_expr(col: SourceColumn, cast_text: bool = False) -> str:
    """Return the select-list expression of one column.

    FLOAT goes through `+ 0E0` (a DOUBLE): the server's text for a FLOAT has only
    6 significant digits (16777217 reads back as 16777200, 3.1415927 as 3.14159), the
    double is the stored single-precision value exactly. With `cast_text` (a driver whose
    C layer would build Decimal/datetime/set objects) DECIMAL, DATE, DATETIME, TIMESTAMP,
    TIME and SET come as `CAST(... AS CHAR)`: the same text the other drivers pass on.
    """
    q = quote(col.name)
    if col.data_type == "float":
        return f"{q} + 0E0"
    if cast_text and (col.kind == "raw" or col.data_type == "set"):
        return f"CAST({q} AS CHAR)"
    return q


def select_sql(
    database: str,
    table: str,
    columns: Sequence[SourceColumn],
    query: Query,
    *,
    cast_text: bool = False,
) -> str:
    """Return the SELECT for `columns` of `database.table` with the query's WHERE."""
    cols = ", ".join(_select_expr(c, cast_text) for c in columns)
    sql = f"SELECT {cols} FROM {qualified(database, table)}"
    return f"{sql} WHERE {query.where}" if query.where else sql
