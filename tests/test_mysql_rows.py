"""The python engine's row encoder: its generated source, and the generated encoder run
against its plain twin (`plain_dicts`) on every column kind and odd value."""

from __future__ import annotations

import traceback
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warehouse.mysql.rows import (
    TextAsBytes,
    batch_encoder,
    dict_builder,
    dicts_source,
    encoder_source,
    plain_dicts,
)
from warehouse.mysql.schema import SourceColumn


def col(name: str, data_type: str, column_type: str = "") -> SourceColumn:
    return SourceColumn(name, data_type, column_type or data_type)


# one column of every kind the engine writes (schema.SourceColumn.kind)
COLUMNS = (
    col("ID", "bigint", "bigint(20) unsigned"), col("tiny", "tinyint", "tinyint(4)"),
    col("yr", "year"), col("f", "float"), col("d", "double"),
    col("price", "decimal", "decimal(10,2)"), col("huge", "decimal", "decimal(65,30)"),
    col("day", "date"), col("at", "datetime"), col("ts", "timestamp"), col("dur", "time"),
    col("code", "char", "char(2)"), col("Title", "varchar", "varchar(200)"),
    col("body", "longtext"), col("kind", "enum", "enum('a','b')"),
    col("tags", "set", "set('x','y')"), col("doc", "json"), col("flags", "bit", "bit(5)"),
    col("wide_bits", "bit", "bit(64)"), col("uuid", "binary", "binary(16)"),
    col("photo", "blob"), col("shape", "geometry"),
)
KINDS = [c.kind for c in COLUMNS]

ODD_TEXT = [
    "", " ", "\t", "\n", "\r\n", "\\", "\\N", "\\\\N", "NULL", "\x00", "\x01\x7f", '"',
    '},{"id":', '"},{"id":9', "},{", "{},{}", "]", "ü ✓ 日本語", "\u2028\u2029", "\U0001f600",
    "x" * 100_000,
]
ODD_RAW = [
    "0000-00-00", "0000-00-00 00:00:00", "2024-02-29 23:59:59.123456", "-838:59:59",
    "838:59:59.000000", "0." + "0" * 29 + "1", "-99999999.99", "0", "1901", "2155",
]
ODD_BINARY = [b"", b"\x00", b"\xff" * 3, bytes(range(256)), b"\\N\t\n", b"x" * 70_000]
ODD_INT = [0, -1, 2**63 - 1, -(2**63), 2**64 - 1, 255, -128]
ODD_FLOAT = [0.0, -0.0, 1e-45, 3.4028234663852886e38, 1.7976931348623157e308,
             float("nan"), float("inf"), 16777217.0]
ODD_BITS: list[Any] = [b"\x00", b"\x1f", b"\xff" * 8, 0, 5, 2**64 - 1]
NOT_UTF8 = [b"caf\xe9", b"\xff\xfe", b"\xed\xa0\x80", b"ok \xc3", "ü ✓".encode()]


def odd_values(kind: str, text_bytes: bool) -> list[Any]:
    """The awkward values a driver hands over for a column of `kind`, NULL included."""
    values: list[Any] = {
        "int": ODD_INT, "float": ODD_FLOAT, "b64": ODD_BINARY, "bit": ODD_BITS,
        "raw": [v.encode() for v in ODD_RAW] if text_bytes else ODD_RAW,
        "text": [v.encode() for v in ODD_TEXT] + NOT_UTF8 if text_bytes else ODD_TEXT,
    }[kind]
    return [None, *values]


def odd_rows(text_bytes: bool) -> list[tuple[Any, ...]]:
    """Rows putting every odd value of every column in at least one row."""
    per_column = [odd_values(k, text_bytes) for k in KINDS]
    n = max(len(v) for v in per_column)
    return [tuple(v[(i + j) % len(v)] for j, v in enumerate(per_column)) for i in range(n)]


def both(columns: Any, rows: list[tuple[Any, ...]], text_bytes: bool) -> tuple[bytes, int]:
    """Encode with the generated and the plain encoder; return the output once they agree."""
    gen, gen_count = batch_encoder(columns, text_bytes=text_bytes)
    plain, plain_count = batch_encoder(columns, text_bytes=text_bytes, dicts=plain_dicts)
    out = gen(rows)
    assert out == plain(rows)
    bad = gen_count.bad
    assert plain_count.bad == bad
    # one row at a time: the same lines (and the other split path for one object)
    assert b"".join(gen([r]) for r in rows) == out == b"".join(plain([r]) for r in rows)
    assert gen_count.bad == plain_count.bad == 2 * bad
    return out, bad


def test_encoder_source_is_printable_and_golden():
    cols = (col("ID", "int"), col("name", "varchar"), col("when", "datetime"),
            col("flags", "bit", "bit(3)"), col("photo", "blob"))
    assert encoder_source(cols) == (
        # `when` goes through the zero-date check (warehouse.mysql.zerodates)
        "lambda rows: [{'id': v0, 'name': v1, 'when': c2(v2), 'flags': c3(v3), "
        "'photo': c4(v4)} for (v0, v1, v2, v3, v4,) in rows]"
    )
    assert encoder_source(cols, text_bytes=True) == (
        "lambda rows: [{'id': v0, 'name': c1(v1), 'when': c2(v2), 'flags': c3(v3), "
        "'photo': c4(v4)} for (v0, v1, v2, v3, v4,) in rows]"
    )
    assert dicts_source(["it's", '"q"', "a\\b"]) == (
        "lambda rows: [{\"it's\": v0, '\"q\"': v1, 'a\\\\b': v2} for (v0, v1, v2,) in rows]"
    )
    assert dicts_source([]) == "lambda rows: [{} for () in rows]"


def test_tracebacks_show_the_generated_line():
    encode, _ = batch_encoder((col("id", "int"), col("flags", "bit", "bit(3)")))
    with pytest.raises(ValueError) as info:
        encode([(1, "not a number")])
    text = "".join(traceback.format_exception(info.value))
    assert "<warehouse.mysql row dicts" in text
    assert "lambda rows: [{'id': v0, 'flags': c1(v1)}" in text


@pytest.mark.parametrize("text_bytes", [False, True], ids=["str", "text-as-bytes"])
def test_generated_and_plain_agree_on_every_kind_and_odd_value(text_bytes):
    rows = odd_rows(text_bytes)
    out, bad = both(COLUMNS, rows, text_bytes)
    lines = out.split(b"\n")
    assert lines.pop() == b"" and len(lines) == len(rows)
    names = [c.name.lower() for c in COLUMNS]
    first = orjson.loads(lines[0])
    assert list(first) == names
    # spot checks that do not go through either builder
    assert first["id"] is None and orjson.loads(lines[1])["id"] == 0
    assert orjson.loads(lines[5])["id"] == 2**64 - 1
    body = [orjson.loads(x)["body"] for x in lines]
    if text_bytes:
        # the last of NOT_UTF8 is valid UTF-8; every text column holds each value once
        assert "caf\\xe9" in body and bad == (len(NOT_UTF8) - 1) * KINDS.count("text")
    else:
        assert set(ODD_TEXT) <= set(body) and bad == 0
    assert "AAEC" + "AwQF" in "".join(orjson.loads(x)["photo"] or "" for x in lines)
    assert {orjson.loads(x)["wide_bits"] for x in lines} >= {"1" * 64, "0" * 64}


@pytest.mark.parametrize("first", ["id", ",a", ":a", "}a", "]a", "a\"b", ""])
def test_generated_and_plain_agree_whatever_the_first_key(first):
    cols = (col(first, "text"), col("t", "text"), col("b", "blob"))
    rows = [(a, b, None) for a in ODD_TEXT[:-1] for b in ('},{', '":', "},{\",:a\":")]
    out, _ = both(cols, rows, False)
    assert [orjson.loads(x)[first] for x in out.splitlines()] == [r[0] for r in rows]


def test_generated_and_plain_raise_the_same_errors():
    cols = (col("id", "int"), col("t", "text"), col("b", "blob"))
    for dicts in (dict_builder, plain_dicts):
        encode, _ = batch_encoder(cols, dicts=dicts)
        with pytest.raises(TextAsBytes):
            encode([(1, b"caf\xe9", None)])  # bytes in a text column: re-read as bytes
        for short_or_long in [(1, "x"), (1, "x", b"", 4), ()]:
            with pytest.raises(ValueError):
                encode([short_or_long])
        with pytest.raises(orjson.JSONEncodeError):
            encode([(1, "\ud800", None)])  # a lone surrogate is not text
    assert dict_builder([])([(), ()]) == plain_dicts([])([(), ()]) == [{}, {}]


def test_hostile_column_names_stay_data():
    names = ["id", "x'); import os; os.system('false') #", '"""', "\\", "a b", "ü", "v0", "c1"]
    rows = [tuple(range(len(names))), tuple("abcdefgh")]
    expected = [dict(zip(names, r, strict=True)) for r in rows]
    assert dict_builder(names)(rows) == plain_dicts(names)(rows) == expected
    upper = {1: str.upper}
    assert dict_builder(names, upper)(rows[1:]) == plain_dicts(names, upper)(rows[1:])


def _value(kind: str, text_bytes: bool) -> st.SearchStrategy[Any]:
    text = st.text(max_size=40)
    by_kind: dict[str, st.SearchStrategy[Any]] = {
        "int": st.integers(-(2**63), 2**64 - 1),
        "float": st.floats(),
        "b64": st.binary(max_size=40),
        "bit": st.binary(min_size=1, max_size=8) | st.integers(0, 2**64 - 1),
        "raw": st.from_regex(r"-?[0-9]{1,4}[-:.][0-9]{0,6}", fullmatch=True),
        "text": st.binary(max_size=40) | text.map(str.encode) if text_bytes else text,
    }
    value = by_kind[kind]
    if text_bytes and kind == "raw":
        value = value.map(str.encode)
    return st.none() | value


def _rows(text_bytes: bool) -> st.SearchStrategy[list[tuple[Any, ...]]]:
    row = st.tuples(*(_value(k, text_bytes) for k in KINDS))
    return st.lists(row, min_size=1, max_size=30)


@settings(max_examples=150, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.booleans().flatmap(lambda tb: st.tuples(st.just(tb), _rows(tb))))
def test_generated_and_plain_agree_on_random_rows(case):
    text_bytes, rows = case
    out, _ = both(COLUMNS, rows, text_bytes)
    assert out.count(b"\n") == len(rows)
