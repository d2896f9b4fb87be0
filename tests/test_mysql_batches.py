"""Batches bounded by bytes and large values written in chunks (warehouse.mysql.batches):
pure functions over literal rows. The chunked writing must give the very bytes the batch
encoder gives for the same row."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from warehouse.mysql.batches import CHUNK, STREAM_VALUE, ByteBatches, RowWriter, max_row_bytes
from warehouse.mysql.rows import TextAsBytes, batch_encoder
from warehouse.mysql.schema import SourceColumn

KiB, MiB = 1 << 10, 1 << 20


def col(name: str, data_type: str, column_type: str | None = None) -> SourceColumn:
    return SourceColumn(name, data_type, column_type or data_type)


WIDE = [col("id", "int"), col("b", "longblob"), col("t", "longtext"), col("j", "json"),
        col("f", "double"), col("bt", "bit", "bit(5)"), col("d", "decimal", "decimal(5,2)"),
        col("v", "varchar", "varchar(10)"), col("g", "geometry")]


def _fetcher(rows: Sequence[Sequence[Any]]) -> Any:
    it = iter(rows)

    def fetch(n: int) -> list[Sequence[Any]]:
        return [r for _, r in zip(range(n), it, strict=False)]

    return fetch


def _drain(b: ByteBatches) -> list[tuple[int, bool]]:
    out = []
    while True:
        rows, large = b.next(10_000)
        if not rows:
            return out
        out.append((len(rows), large))


def test_plain_batches_for_tables_whose_rows_are_bounded():
    small = [col("id", "int"), col("v", "varchar", "varchar(100)")]
    assert max_row_bytes(small) == 65_535
    b = ByteBatches(_fetcher([(i, "x") for i in range(2500)]), small, batch_bytes=64 * MiB,
                    fetch_batch=1000)
    assert not b.measured and _drain(b) == [(1000, False), (1000, False), (500, False)]
    text = [col("id", "int"), col("t", "text")]  # 128 KiB a row at most: 512 fit in 64 MiB
    b = ByteBatches(_fetcher([(i, "x") for i in range(1000)]), text, batch_bytes=64 * MiB,
                    fetch_batch=1000)
    assert not b.measured and _drain(b) == [(512, False), (488, False)]
    for wide in (col("t", "mediumtext"), col("b", "longblob"), col("j", "json"),
                 col("g", "geometry")):
        assert ByteBatches(_fetcher([]), [wide], batch_bytes=64 * MiB, fetch_batch=1000).measured


def test_measured_batches_hold_batch_bytes_and_large_values_come_alone():
    cols = [col("id", "int"), col("b", "mediumblob")]
    rows = [(i, b"x" * 300 * KiB) for i in range(10)]
    b = ByteBatches(_fetcher(rows), cols, batch_bytes=MiB, fetch_batch=1000)
    assert b.measured and _drain(b) == [(4, False), (4, False), (2, False)]
    big = b"y" * STREAM_VALUE
    rows = [(1, b"a"), (2, None), (3, big), (4, b"b"), (5, big), (6, big)]
    b = ByteBatches(_fetcher(rows), cols, batch_bytes=MiB, fetch_batch=1000)
    assert _drain(b) == [(2, False), (1, True), (1, False), (1, True), (1, True)]


def _pieces(writer: RowWriter, row: Sequence[Any]) -> bytes:
    out: list[bytes] = []
    writer.write([row], True, lambda piece: out.append(bytes(piece)))
    assert max(len(p) for p in out) <= CHUNK * 4 // 3 + 4 * KiB  # never the whole value
    return b"".join(out)


def test_large_values_in_chunks_are_the_batch_encoders_bytes():
    text = "é\t\"\\\n😀\x00 plain " * (CHUNK // 5)  # > CHUNK characters, escapes across chunks
    blob = bytes(range(256)) * (CHUNK // 256 + 7)  # not a multiple of 3 or of CHUNK
    row = (7, blob, text, '{"a": [1, "x\\ty"]}', 1.5, 21, "123.45", "v", b"\x00\x01")
    writer = RowWriter(WIDE, text_bytes=False)
    encode, _ = batch_encoder(WIDE)
    assert _pieces(writer, row) == encode([row])
    row2 = (8, b"", text[:STREAM_VALUE], None, None, None, None, None, blob)
    assert _pieces(writer, row2) == encode([row2])


def test_large_text_as_bytes_is_decoded_in_chunks_and_counted_once():
    valid = ("a" * (CHUNK - 1) + "é" + "z" * 10).encode()  # é straddles the chunk boundary
    bad = b"\xff" + valid + b"\xfe"
    cols = [col("id", "int"), col("t", "longtext")]
    writer = RowWriter(cols, text_bytes=True)
    encode, counter = batch_encoder(cols, text_bytes=True)
    assert _pieces(writer, (1, valid)) == encode([(1, valid)])
    assert writer.counter.bad == 0
    assert _pieces(writer, (2, bad)) == encode([(2, bad)])
    assert writer.counter.bad == counter.bad == 1
    strict = RowWriter(cols, text_bytes=False)
    with pytest.raises(TextAsBytes):
        _pieces(strict, (3, valid))
