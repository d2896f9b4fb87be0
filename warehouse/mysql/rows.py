"""Rows to JSON lines, and the SELECT that reads them: pure functions, no I/O.

The values written (see `warehouse.mysql.schema` for the type table):
- NULL is JSON null, '' is "", and tabs, newlines, `\\N`, \\x01 are ordinary JSON text;
- DECIMAL, DATE/DATETIME/TIMESTAMP (zero dates included) and TIME (beyond 24 h) are the
  server's own text; integers (BIGINT UNSIGNED max included) are JSON numbers;
- BINARY/VARBINARY/BLOB/GEOMETRY are base64; BIT(n) is n binary digits;
- character columns given as bytes (the re-read of a table holding text that is not
  valid UTF-8) are decoded with backslashreplace and counted.

`batch_encoder` turns one fetched batch into JSON lines with a generated comprehension
(constant keys, the converters inline; its text: `encoder_source`) and ONE orjson call;
`warehouse.mysql.python_engine` does the reading and writing around it.
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from warehouse.codegen import compile_expression
from warehouse.mysql.collation import weight_sql
from warehouse.mysql.schema import SourceColumn, qualified, quote
from warehouse.mysql.zerodates import DATE_TYPES, DateCheck


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
    """Decode bytes as UTF-8, falling back to backslashreplace and counting those values;
    `dates` notes the date columns holding zero or invalid dates (`DateCheck`)."""

    def __init__(self) -> None:
        self.bad = 0
        self.dates = DateCheck()

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


Convert = Callable[[Any], Any]
Build = Callable[[Sequence[Sequence[Any]]], list[dict[str, Any]]]


def _converters(
    columns: Sequence[SourceColumn], text_bytes: bool, counter: _Utf8Counter
) -> dict[int, Convert]:
    """Return {column index: the function its values go through}; others are kept as is."""
    out: dict[int, Convert] = {}
    for i, col in enumerate(columns):
        kind = col.kind
        if kind == "b64":
            out[i] = _b64
        elif kind == "bit":
            out[i] = _bits(col.bit_width)
        elif kind == "text" and text_bytes:
            out[i] = counter
        elif col.data_type in DATE_TYPES:
            out[i] = counter.dates.converter(col.name, text_bytes=text_bytes)
        elif kind == "raw" and text_bytes:
            out[i] = _ascii
    return out


def batch_converters(
    columns: Sequence[SourceColumn], text_bytes: bool
) -> tuple[dict[int, Convert], _Utf8Counter]:
    """Return ({column index: converter}, the non-UTF-8 counter they count into): what
    `batch_encoder` applies, for a writer that also converts values one by one."""
    counter = _Utf8Counter()
    return _converters(columns, text_bytes, counter), counter


def dicts_source(names: Sequence[str], converted: Collection[int] = ()) -> str:
    """Return the Python text `dict_builder` compiles: one constant-key dict display per row.

    The value of column i is `vi`, or `ci(vi)` when i is in `converted`. Names enter the
    text only through `repr()`, which always yields a string literal that evaluates back
    to the same string, so a column name cannot inject code.
    """
    if not names:
        return "lambda rows: [{} for () in rows]"
    values = [f"v{i}" for i in range(len(names))]
    items = ", ".join(
        f"{name!r}: {f'c{i}({v})' if i in converted else v}"
        for i, (name, v) in enumerate(zip(names, values, strict=True))
    )
    return f"lambda rows: [{{{items}}} for ({', '.join(values)},) in rows]"


def encoder_source(columns: Sequence[SourceColumn], *, text_bytes: bool = False) -> str:
    """Return the text of the rows -> dicts function `batch_encoder(columns)` runs."""
    converted = _converters(columns, text_bytes, _Utf8Counter())
    return dicts_source([c.name.lower() for c in columns], converted)


def dict_builder(names: Sequence[str], converters: Mapping[int, Convert] | None = None) -> Build:
    """Return rows -> [{name: converted value, ...}] compiled from `dicts_source`.

    A constant-key dict display with the converters called inline needs no per-row
    function call, list copy or zip: the encoder runs 1.9x as fast as with `plain_dicts`
    on bench_import's 7-column table and 1.3x on a wide table of every kind; with
    `plain_dicts` the whole `warehouse import` of 1M rows takes 1.24x the CPU
    (bench/bench_row_encoder.py, bench/RESULTS.md). A row of the wrong length raises
    ValueError, as in `plain_dicts`.
    """
    conv = dict(converters or {})
    source = dicts_source(names, conv)
    filename = f"<warehouse.mysql row dicts {zlib.crc32(source.encode()):08x}>"
    # tracebacks through the generated comprehension show its text
    scope: dict[str, Any] = {"__builtins__": {}, **{f"c{i}": fn for i, fn in conv.items()}}
    built: Build = compile_expression(source, filename, scope)
    return built


def plain_dicts(names: Sequence[str], converters: Mapping[int, Convert] | None = None) -> Build:
    """Return rows -> [{name: converted value, ...}]: `dict_builder`'s plain twin.

    The same dicts, key order, converter calls and errors, with a loop over the converters
    and `dict(zip(...))`; the tests run it against `dict_builder` on every type and odd
    value, and bench/bench_row_encoder.py measures the two.
    """
    keys = tuple(names)
    conv = tuple((converters or {}).items())

    def converted(row: Sequence[Any]) -> list[Any]:
        values = list(row)
        if len(values) != len(keys):
            raise ValueError(f"a row of {len(values)} values for {len(keys)} columns")
        for i, fn in conv:
            values[i] = fn(values[i])
        return values

    def build(rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
        if conv:
            return [dict(zip(keys, converted(row), strict=True)) for row in rows]
        return [dict(zip(keys, row, strict=True)) for row in rows]

    return build


def batch_encoder(
    columns: Sequence[SourceColumn],
    *,
    text_bytes: bool = False,
    dicts: Callable[[Sequence[str], Mapping[int, Convert]], Build] = dict_builder,
) -> tuple[Callable[[Sequence[Sequence[Any]]], bytes], _Utf8Counter]:
    """Return (encode(rows) -> JSON lines as bytes, the non-UTF-8 counter).

    `dicts(lower-cased names, converters)` makes the rows -> dicts step: `dict_builder`,
    generated, which the engine runs (its text: `encoder_source`), or `plain_dicts` for the
    tests and the benchmark.

    orjson serialises a whole batch as one array (about 4x cheaper than one call per
    row); the array becomes lines by turning each `},{"<first key>":` between objects
    into `}\n{"<first key>":`. Inside a JSON string every `"` is escaped, so in a
    string `},{` can only be followed by the string's closing quote and then `,`, `:`,
    `}` or `]`: when the first key does not start with one of those, the pattern occurs
    nowhere but between objects and one `replace` is exact. Otherwise the `},{` are
    counted (exactly len(rows) - 1 of them, or the batch is serialised row by row).
    """
    conv, counter = batch_converters(columns, text_bytes)
    return converted_encoder(columns, conv, dicts=dicts), counter


def converted_encoder(
    columns: Sequence[SourceColumn],
    conv: Mapping[int, Convert],
    *,
    dicts: Callable[[Sequence[str], Mapping[int, Convert]], Build] = dict_builder,
) -> Callable[[Sequence[Sequence[Any]]], bytes]:
    """Return `batch_encoder`'s encode(rows) applying the converters `conv`
    (`batch_converters`)."""
    names = [c.name.lower() for c in columns]
    build = dicts(names, conv)
    dumps = orjson.dumps
    opt = orjson.OPT_APPEND_NEWLINE
    first = dumps(names[0]) if names else b'""'
    exact = len(first) > 2 and first[1:2] not in (b",", b":", b"}", b"]")
    sep, sep_nl = b"},{" + first + b":", b"}\n{" + first + b":"

    def encode(rows: Sequence[Sequence[Any]]) -> bytes:
        objs = build(rows)
        n = len(objs)
        if not n:
            return b""
        try:
            data = dumps(objs)
        except orjson.JSONEncodeError as exc:
            if "bytes" in str(exc):
                raise TextAsBytes(str(exc)) from None
            raise
        if exact or data.count(b"},{") == n - 1:
            del objs  # the converted values (base64 text) go before the copies below
            data = data.replace(sep, sep_nl) if exact else data.replace(b"},{", b"}\n{")
            # one copy without the brackets (a slice, then `+`, would make two)
            return b"".join((memoryview(data)[1:-1], b"\n"))
        return b"".join([dumps(o, option=opt) for o in objs])

    return encode


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
    if col.weight_of is not None:  # a key's weight (warehouse.mysql.collation)
        return weight_sql(col.weight_of, col.collation or "")
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
