"""Every table the `hive` dialect renders is one Athena can read: a SerDe Athena supports
and column types from Athena's type list (README, "Athena and Trino read the `hive`
dialect's tables").

The DDL checked is the rendered statement itself (what `hive apply` sends), for the
events, access_raw, every aggregate job and an imported MySQL table holding every MySQL
type the importer maps, with both engines and both zero-date settings.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from warehouse.hive.manage import render_table
from warehouse.hive.spec import TableSpec
from warehouse.hive.tables import access_raw_spec, aggregate_spec, events_parquet_spec, events_spec
from warehouse.mysql.hive_tables import table_spec
from warehouse.mysql.schema import SourceColumn
from warehouse.schema import JOBS

# Athena's documented SerDes for the storage this toolkit writes.
ATHENA_SERDES = {
    "org.apache.hive.hcatalog.data.JsonSerDe",  # Hive JSON SerDe
    "org.apache.hadoop.hive.serde2.RegexSerDe",  # Regex SerDe
    "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",  # ROW FORMAT DELIMITED
}
_PRIMITIVE = {"boolean", "tinyint", "smallint", "int", "integer", "bigint", "double", "float",
              "string", "binary", "date", "timestamp"}


def _athena_type(text: str) -> str:
    """Consume one Athena type from the front of `text`; return the rest. Raises ValueError."""
    m = re.match(r"\s*([a-z]+)", text, re.I)
    if not m:
        raise ValueError(f"no type at {text!r}")
    name, rest = m.group(1).lower(), text[m.end():]
    if name in _PRIMITIVE:
        return rest
    if name in ("decimal", "char", "varchar"):
        m = re.match(r"\((\d+)(?:,(\d+))?\)", rest)
        if not m:
            raise ValueError(f"{name} without its length at {text!r}")
        if name == "decimal" and not (1 <= int(m.group(1)) <= 38 and int(m.group(2) or 0) <= int(m.group(1))):
            raise ValueError(f"Athena's DECIMAL takes a precision of 1 to 38: {text!r}")
        return rest[m.end():]
    if name not in ("array", "map", "struct") or not rest.startswith("<"):
        raise ValueError(f"not an Athena type: {text!r}")
    rest = rest[1:]
    while True:
        if name == "struct":
            m = re.match(r"\s*[a-z_][a-z0-9_]*\s*:", rest, re.I)
            if not m:
                raise ValueError(f"struct field without a name at {rest!r}")
            rest = rest[m.end():]
        elif name == "map" and not rest.lstrip().lower().startswith(tuple(_PRIMITIVE)):
            raise ValueError(f"a map key must be primitive: {rest!r}")
        rest = _athena_type(rest).lstrip()
        if rest.startswith(">"):
            return rest[1:]
        if not rest.startswith(",") or name == "array":
            raise ValueError(f"unexpected {rest!r}")
        rest = rest[1:]


def is_athena_type(text: str) -> bool:
    try:
        return _athena_type(text).strip() == ""
    except ValueError:
        return False


def _columns(statement: str) -> list[tuple[str, str]]:
    """Return (name, type) of every column and partition key in a CREATE TABLE statement."""
    return re.findall(r"^\s*`([^`]+)` (.+?)(?: COMMENT '.*')?,?$", statement, re.M)


_MYSQL = [
    SourceColumn("Id", "bigint", "bigint(20) unsigned", False),
    SourceColumn("n_tiny", "tinyint", "tinyint(4)"),
    SourceColumn("n_small", "smallint", "smallint(5) unsigned"),
    SourceColumn("n_medium", "mediumint", "mediumint(9)"),
    SourceColumn("n_int", "int", "int(10) unsigned"),
    SourceColumn("price", "decimal", "decimal(12,2)", precision=12, scale=2),
    SourceColumn("wide", "decimal", "decimal(65,30)", precision=65, scale=30),
    SourceColumn("ratio", "float", "float"),
    SourceColumn("score", "double", "double"),
    SourceColumn("born", "year", "year(4)"),
    SourceColumn("day", "date", "date"),
    SourceColumn("modified", "datetime", "datetime(6)"),
    SourceColumn("stamp", "timestamp", "timestamp"),
    SourceColumn("took", "time", "time"),
    SourceColumn("name", "varchar", "varchar(255)"),
    SourceColumn("body", "longtext", "longtext"),
    SourceColumn("kind", "enum", "enum('a','b')"),
    SourceColumn("tags", "set", "set('x','y')"),
    SourceColumn("doc", "json", "json"),
    SourceColumn("flags", "bit", "bit(5)"),
    SourceColumn("blob", "blob", "blob"),
    SourceColumn("geo", "geometry", "geometry"),
]


def _specs() -> list[TableSpec]:
    specs = [events_spec(), events_parquet_spec(), access_raw_spec("combined")]
    specs += [aggregate_spec(job, parquet) for job in JOBS for parquet in (False, True)]
    specs += [
        table_spec("shop", "Shop", "Orders", _MYSQL, engine=engine, zero_dates=zero,
                   format="json")
        for engine in ("python", "sqoop") for zero in (True, False)
    ]
    specs += [table_spec("shop", "Shop", "Orders", _MYSQL, engine="python", zero_dates=zero,
                         format="parquet") for zero in (True, False)]
    return specs


@pytest.mark.parametrize("spec", _specs(), ids=lambda s: f"{s.name}-{s.storage}")
def test_every_rendered_table_is_readable_by_athena(spec: TableSpec) -> None:
    statements = render_table(spec, dialect="hive", root_uri="s3://acme/wh", database="wh")
    (create,) = [s for s in statements if s.startswith("CREATE")]
    serde = re.search(r"ROW FORMAT SERDE '([^']+)'", create)
    if spec.storage == "text":
        assert serde is None and "ROW FORMAT DELIMITED" in create  # LazySimpleSerDe
    elif spec.storage == "parquet":
        assert serde is None and "STORED AS PARQUET" in create  # ParquetHiveSerDe
    else:
        assert serde is not None and serde.group(1) in ATHENA_SERDES, create
    columns = _columns(create)
    assert {n for n, _ in columns} >= {c.name for c in spec.columns}
    bad = [(n, t) for n, t in columns if not is_athena_type(t)]
    assert not bad, f"{spec.name}: types Athena does not have: {bad}"
    if spec.name == "access_raw":  # RegexSerDe reads STRING columns only
        assert {t for n, t in columns if n != "dt"} == {"STRING"}


def test_the_type_checker_refuses_what_athena_refuses() -> None:
    for good in ("STRING", "DECIMAL(38,10)", "MAP<STRING,STRING>",
                 "ARRAY<STRUCT<slug:STRING,n:BIGINT>>", "TIMESTAMP"):
        assert is_athena_type(good), good
    for bad in ("DECIMAL(39,0)", "MAP<ARRAY<STRING>,STRING>", "UNIONTYPE<INT,STRING>",
                "DATETIME", "ARRAY<STRING,INT>", "STRUCT<STRING>"):
        assert not is_athena_type(bad), bad


# How Athena (and Hive's ParquetHiveSerDe) reads a Parquet column as each Hive type: the
# Parquet file must hold exactly this type, or the query fails (HIVE_BAD_DATA). As pyarrow
# reads the file back; TIMESTAMP is INT96 (checked below), read back in nanoseconds.
def _parquet_for_hive(hive: str) -> Any:
    import pyarrow as pa

    m = re.match(r"^DECIMAL\((\d+),(\d+)\)$", hive)
    if m:
        return pa.decimal128(int(m.group(1)), int(m.group(2)))
    return {
        "STRING": pa.string(), "INT": pa.int32(), "BIGINT": pa.int64(), "DOUBLE": pa.float64(),
        "TIMESTAMP": pa.timestamp("ns"), "MAP<STRING,STRING>": pa.map_(pa.string(), pa.string()),
        "TINYINT": pa.int8(), "SMALLINT": pa.int16(), "FLOAT": pa.float32(),
        "DATE": pa.date32(), "BINARY": pa.binary(),
    }[hive]  # fmt: skip


def test_events_parquet_files_hold_the_types_its_table_declares(tmp_path: Any) -> None:
    """A real compacted file: every column of `events_parquet` is in the file, in the
    table's order, with the Parquet type Athena reads as the declared Hive type; `ts` is
    INT96 (the timestamp encoding Hive 3, Athena, Trino and Spark all read)."""
    import datetime as dt

    import pyarrow.parquet as pq

    from tests.test_aggregate_corpus import START, make_corpus
    from warehouse.config import config_from_dict
    from warehouse.events.compact import compact_events, copy_key

    root = tmp_path / "root"
    make_corpus(root, 200, 1, seed=8)
    cfg = config_from_dict({"warehouse": {"root": str(root)},
                            "cron": {"lock_file": str(tmp_path / "run.lock")}})  # fmt: skip
    day = dt.date.fromisoformat(str(START))
    assert compact_events(cfg, [day]).exit_code == 0
    path = root / copy_key(day)
    schema = pq.read_schema(path)
    spec = events_parquet_spec()
    assert [f.name for f in schema] == [c.name for c in spec.columns]
    for col in spec.columns:
        assert is_athena_type(col.type), col
        assert schema.field(col.name).type.equals(_parquet_for_hive(col.type)), col
    physical = pq.ParquetFile(path).schema.column(0)
    assert physical.name == "ts" and physical.physical_type == "INT96"


# one row of `_MYSQL` as the drivers hand it over (the server's text for DECIMAL and dates)
_ROW = (18446744073709551615, -128, 65535, -8388608, 4294967295, "-1234567890.12",
        "1" * 35 + "." + "0" * 30, 0.5, -1e300, 2155, "2024-02-29", "2024-02-29 23:59:59.999999",
        "1970-01-01 00:00:01", "-838:59:59", "x", "y" * 100, "a", "x,y", "[]", b"\x15",
        b"\x00\xff", b"\x00\x01")


@pytest.mark.parametrize("zero", [True, False])
def test_imported_parquet_files_hold_the_types_their_table_declares(tmp_path: Any,
                                                                    zero: bool) -> None:
    """A Parquet import's file (written by the engine's own writer): every column in the
    table's order with the Parquet type Athena (and ParquetHiveSerDe) reads as the declared
    Hive type; DATETIME/TIMESTAMP are INT96, the wide DECIMAL and TIME strings."""
    import pyarrow.parquet as pq

    from warehouse.mysql.parquet import ParquetRows, write_part
    from warehouse.storage import LocalStore

    class _Batches:
        def __init__(self) -> None:
            self.rows = [_ROW, tuple(None for _ in _ROW)]

        def next(self, limit: int) -> tuple[list[Any], bool]:
            out, self.rows = self.rows[:limit], self.rows[limit:]
            return out, False

    rows = ParquetRows(_MYSQL, text_bytes=False, zero_dates=zero, batch_bytes=1 << 20)
    store = LocalStore(str(tmp_path))
    assert write_part(_Batches(), store, "t/part.parquet", rows, 10, None) == 2
    path = tmp_path / "t" / "part.parquet"
    schema = pq.read_schema(path)
    spec = table_spec("shop", "Shop", "Orders", _MYSQL, engine="python", zero_dates=zero,
                      format="parquet")
    assert [f.name for f in schema] == [c.name for c in spec.columns]
    for col in spec.columns:
        assert is_athena_type(col.type), col
        assert schema.field(col.name).type.equals(_parquet_for_hive(col.type)), col
    physical = {c.name: c.physical_type for c in pq.ParquetFile(path).schema}
    timestamps = [c.name for c in spec.columns if c.type == "TIMESTAMP"]
    assert timestamps == ([] if zero else ["modified", "stamp"])
    assert all(physical[n] == "INT96" for n in timestamps)
    types = {c.name: c.type for c in spec.columns}
    assert types["wide"] == types["took"] == "STRING" and types["id"] == "DECIMAL(20,0)"
    assert types["blob"] == types["geo"] == "BINARY" and types["flags"] == "BIGINT"
