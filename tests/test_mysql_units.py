"""Pure parts of the MySQL import: type mapping, selection, encoding, sqoop argv (golden)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import orjson
import pytest

from warehouse.errors import ConfigError
from warehouse.mysql.importer import (
    ImportSummary,
    TableResult,
    latest_view_sql,
    parse_selector,
    table_spec,
)
from warehouse.mysql.python_engine import key_ranges
from warehouse.mysql.rows import Query, row_encoder, select_sql
from warehouse.mysql.schema import (
    SourceColumn,
    check_ident,
    hive_name,
    hive_type,
    select_tables,
    zero_dates_allowed,
)
from warehouse.mysql.sqoop import SqoopPlan, jdbc_url, password_file, sqoop_argv

GOLDEN = Path(__file__).parent / "golden" / "sqoop"


def col(name: str, data_type: str, column_type: str | None = None, p=None, s=None) -> SourceColumn:
    return SourceColumn(name, data_type, column_type or data_type, True, p, s)


COLS = (
    col("id", "bigint", "bigint(20) unsigned"),
    col("Name", "varchar", "varchar(50)"),
    col("price", "decimal", "decimal(10,2)", 10, 2),
    col("huge", "decimal", "decimal(65,30)", 65, 30),
    col("created", "datetime", "datetime"),
    col("flags", "bit", "bit(3)"),
    col("photo", "blob", "blob"),
    col("dur", "time", "time"),
)


@pytest.mark.parametrize(
    ("column", "zero", "expected"),
    [
        (col("a", "tinyint", "tinyint(4)"), True, "TINYINT"),
        (col("a", "tinyint", "tinyint(3) unsigned"), True, "SMALLINT"),
        (col("a", "mediumint", "mediumint(8) unsigned"), True, "INT"),
        (col("a", "int", "int(10) unsigned"), True, "BIGINT"),
        (col("a", "bigint", "bigint(20)"), True, "BIGINT"),
        (col("a", "bigint", "bigint(20) unsigned"), True, "DECIMAL(20,0)"),
        (col("a", "decimal", "decimal(38,10)", 38, 10), True, "DECIMAL(38,10)"),
        (col("a", "decimal", "decimal(39,10)", 39, 10), True, "STRING"),
        (col("a", "float"), True, "FLOAT"),
        (col("a", "double"), True, "DOUBLE"),
        (col("a", "year"), True, "SMALLINT"),
        (col("a", "date"), True, "STRING"),
        (col("a", "date"), False, "DATE"),
        (col("a", "datetime"), False, "TIMESTAMP"),
        (col("a", "timestamp"), True, "STRING"),
        (col("a", "time"), False, "STRING"),
        (col("a", "set", "set('a','b')"), True, "STRING"),
        (col("a", "enum", "enum('a','b')"), True, "STRING"),
        (col("a", "bit", "bit(1)"), True, "STRING"),
        (col("a", "json"), True, "STRING"),
        (col("a", "longblob"), True, "STRING"),
    ],
)
def test_hive_types(column, zero, expected):
    assert hive_type(column, zero_dates=zero) == expected


def test_zero_dates_allowed_by_sql_mode():
    assert zero_dates_allowed("STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO")
    assert zero_dates_allowed("NO_ZERO_DATE,NO_ZERO_IN_DATE")  # not strict: only warnings
    assert not zero_dates_allowed("STRICT_TRANS_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE")
    assert not zero_dates_allowed("TRADITIONAL")


def test_select_tables_globs_and_excludes():
    names = ["orders", "orders_tmp", "users", "audit_log", "x"]
    assert select_tables("shop", names, ["*"], ["*_tmp"]) == ["audit_log", "orders", "users", "x"]
    assert select_tables("shop", names, ["shop.o*", "users"], []) == ["orders", "orders_tmp", "users"]
    assert select_tables("shop", names, ["billing.*"], []) == []
    assert select_tables("shop", names, ["SHOP.AUDIT_*"], []) == ["audit_log"]


def test_identifiers_are_validated():
    assert check_ident("table", "orders_2024") == "orders_2024"
    for bad in ("a`b", "a b", "a;drop", "", "x" * 65, "a.b"):
        with pytest.raises(ConfigError):
            check_ident("table", bad)
    assert parse_selector("shop.db.t").table == "t"
    with pytest.raises(ConfigError):
        parse_selector("shop..t")
    with pytest.raises(ConfigError):
        parse_selector("a.b.c.d")
    with pytest.raises(ConfigError):
        parse_selector("shop.`x`")


def test_select_sql_quotes_identifiers():
    cols = (col("we`ird", "int"), col("order", "int"))
    sql = select_sql("db", "t-1", cols, Query().and_("`order` > %s", 5))
    assert sql == "SELECT `we``ird`, `order` FROM `db`.`t-1` WHERE `order` > %s"


def test_row_encoder_values():
    encode, _counter = row_encoder(COLS)
    line = encode((18446744073709551615, "a\tb\n\\N\x01", "1.50", "0." + "0" * 29 + "1",
                   "0000-00-00 00:00:00", b"\x05", b"\x00\xff", "-838:59:59"))
    assert line.endswith(b"\n")
    assert orjson.loads(line) == {
        "id": 18446744073709551615, "name": "a\tb\n\\N\x01", "price": "1.50",
        "huge": "0." + "0" * 29 + "1", "created": "0000-00-00 00:00:00", "flags": "101",
        "photo": "AP8=", "dur": "-838:59:59",
    }
    nulls = orjson.loads(encode((None,) * len(COLS)))
    assert set(nulls.values()) == {None}


def test_row_encoder_bytes_mode_escapes_invalid_utf8():
    encode, counter = row_encoder(COLS, text_bytes=True)
    row = orjson.loads(encode((1, b"caf\xe9 ok \xc3\xa9", b"1.00", None, b"2024-01-01", None,
                               None, None)))
    assert row["name"] == "caf\\xe9 ok é" and row["price"] == "1.00"
    assert counter.bad == 1


def test_key_ranges_cover_exactly():
    assert key_ranges(1, 10, 3) == [(1, 4), (5, 7), (8, 10)]
    assert key_ranges(5, 5, 4) == [(5, 5)]
    assert key_ranges(10, 1, 2) == []
    ranges = key_ranges(-7, 1_000_003, 7)
    covered = sum(b - a + 1 for a, b in ranges)
    assert covered == 1_000_011 and all(ranges[i][1] + 1 == ranges[i + 1][0] for i in range(6))


def test_table_spec_and_view():
    spec = table_spec("Shop", "main", "Orders", COLS, engine="python", zero_dates=True,
                      format="json")
    assert spec.name == "mysql_shop_main_orders" == hive_name("Shop", "main", "Orders")
    assert spec.location == "mysql/Shop/main/Orders" and spec.storage == "json"
    assert [c.name for c in spec.partition_by] == ["load"]
    assert [(c.name, c.type) for c in spec.columns][:4] == [
        ("id", "DECIMAL(20,0)"), ("name", "STRING"), ("price", "DECIMAL(10,2)"), ("huge", "STRING")
    ]
    text = table_spec("shop", "main", "orders", COLS, engine="sqoop", format="json")
    assert text.storage == "text" and text.text_format is not None
    assert text.text_format.field_delim == "\x01" and text.text_format.null_string == "\\N"
    sql = latest_view_sql("warehouse", spec, ["id"], "created")
    assert "ROW_NUMBER() OVER (PARTITION BY `id` ORDER BY `load` DESC, `created` DESC)" in sql
    assert "FROM `warehouse`.`mysql_shop_main_orders`" in sql and sql.endswith("= 1")


def test_summary_line_and_exit_codes():
    ok = TableResult("s", "d", "a", engine="python", rows=1234, bytes=2048, seconds=1.0,
                     load="20240101T000000Z")
    bad = TableResult("s", "d", "b", engine="python", error="schema changed; run --full",
                      exit_code=5)
    down = TableResult("s", "*", "*", engine="python", error="SSH bastion down", exit_code=3)
    summary = ImportSummary(root="/r", tables=[ok, bad], seconds=2.0)
    assert summary.exit_code == 5
    line = summary.line()
    assert line.startswith("import: 2 tables (1 ok, 1 failed), 1,234 rows, 2.0 KiB in 2.0s "
                           "(617 rows/s) -> /r/mysql; FAILED: s.d.b [python full] FAILED")
    assert "run --full" in line and "s.d.a" not in line  # the ok table: its own line only
    assert summary.lines() == [
        "s.d.a [python full] 1,234 rows, 2.0 KiB in 1.0s (1,234 rows/s) -> load=20240101T000000Z",
        "s.d.b [python full] FAILED after 0.00s: schema changed; run --full",
        line,
    ]
    tiny = TableResult("s", "d", "c", engine="python", rows=1, bytes=50, seconds=0.004, load="x")
    one = ImportSummary(root="/r", tables=[tiny], seconds=0.01).line()
    assert one.startswith("import: 1 table (1 ok, 0 failed), 1 row, 50 B in 0.01s -> ")  # no rate
    assert ImportSummary(root="/r", tables=[ok, bad, down]).exit_code == 3


# -- sqoop -----------------------------------------------------------------------------


SQOOP_BIN = "sqoop"  # [mysql.NAME] sqoop_bin's default: the golden argvs start with it


def _plans() -> dict[str, SqoopPlan]:
    base = dict(
        jdbc_host="10.0.0.12", jdbc_port=43306, database="shop", table="orders",
        username="etl", password_file="file:///tmp/warehouse-sqoop-x/password",
        target_dir="s3://bucket/wh/mysql/shop/shop/orders/load=20240101T000000000000Z",
        columns=COLS, job_name="warehouse-import-shop-shop-orders",
    )
    return {
        "full": SqoopPlan(**base, mappers=4, split_by="id"),
        "full_no_key": SqoopPlan(**base, mappers=4, split_by=None),
        "append": SqoopPlan(**base, mappers=2, split_by="id", incremental="append",
                            check_column="id", last_value="1000", upper_bound="2000"),
        # late commits: the last value is the lag window's start (before the oldest
        # missing id), and the WHERE reads the still-missing and the new ids only
        "append_missing": SqoopPlan(**base, mappers=2, split_by="id", incremental="append",
                                    check_column="id", last_value="994", upper_bound="2000",
                                    extra_where="(`id` = 995 OR `id` BETWEEN 1001 AND 2000)"),
        "lastmodified": SqoopPlan(**base, mappers=4, split_by="id", incremental="lastmodified",
                                  check_column="created", last_value="2024-01-01 00:00:00",
                                  upper_bound="2024-01-02 03:04:05"),
        "direct": SqoopPlan(**base, mappers=4, split_by="id", direct=True),
    }


@pytest.mark.parametrize("name", sorted(_plans()))
def test_sqoop_argv_golden(name):
    argv = sqoop_argv(_plans()[name], sqoop_bin=SQOOP_BIN)
    path = GOLDEN / f"{name}.json"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(json.dumps(argv, indent=1, ensure_ascii=False) + "\n")
    assert argv == json.loads(path.read_text())


def test_sqoop_argv_never_holds_a_password():
    for plan in _plans().values():
        argv = sqoop_argv(plan, sqoop_bin=SQOOP_BIN)
        assert "--password" not in argv and "-P" not in argv
        assert argv[argv.index("--password-file") + 1].startswith("file://")
        assert argv[argv.index("--connect") + 1].startswith("jdbc:mysql://10.0.0.12:43306/shop?")


def test_sqoop_delimiters_match_the_hive_ddl():
    argv = sqoop_argv(_plans()["full"], sqoop_bin=SQOOP_BIN)
    spec = table_spec("shop", "shop", "orders", COLS, engine="sqoop", format="json")
    fmt = spec.text_format
    assert fmt is not None
    opt = {argv[i]: argv[i + 1] for i in range(len(argv) - 1) if argv[i].startswith("--")}
    assert opt["--fields-terminated-by"] == "\\001" and fmt.field_delim == chr(0o001)
    assert opt["--lines-terminated-by"] == "\\n" and fmt.line_delim == "\n"
    assert opt["--escaped-by"] == "\\\\" and fmt.escape == "\\"
    # sqoop reads '\\N' as the two characters \N, which is the DDL's null format
    assert opt["--null-string"] == opt["--null-non-string"] == "\\\\N" and fmt.null_string == "\\N"
    assert "--hive-drop-import-delims" in argv


def test_sqoop_query_casts_like_the_python_engine():
    argv = sqoop_argv(_plans()["append"], sqoop_bin=SQOOP_BIN)
    query = argv[argv.index("--query") + 1]
    assert "CAST(`created` AS CHAR) AS `created`" in query
    assert "LPAD(BIN(`flags`), 3, '0') AS `flags`" in query
    assert "REPLACE(TO_BASE64(`photo`), CHAR(10), '') AS `photo`" in query
    assert "CAST(`huge` AS CHAR) AS `huge`" in query and "`price`," in query
    assert query.endswith("WHERE `id` <= '2000' AND $CONDITIONS")
    assert argv[argv.index("--incremental") + 1] == "append"
    assert argv[argv.index("--last-value") + 1] == "1000"
    assert "zeroDateTimeBehavior" in jdbc_url("h", 1, "d")


def test_sqoop_password_file_is_private_and_removed():
    with password_file("pa$$\nword") as uri:
        path = uri[len("file://"):]
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert Path(path).read_text() == "pa$$\nword"  # exactly, no trailing newline added
    assert not os.path.exists(path)


def test_batch_encoder_splits_lines_exactly():
    from warehouse.mysql.rows import batch_encoder

    cols = (col("id", "int"), col("t", "text"))
    encode, _ = batch_encoder(cols)
    rows = [(1, "plain"), (2, None), (3, ""), (4, "a\nb")]
    assert encode(rows).splitlines() == [orjson.dumps({"id": r[0], "t": r[1]}) for r in rows]
    tricky = [(1, 'x"},{"id":9'), (2, "},{"), (3, "{},{}"), (4, '},{"id":'), (5, "},{\\")]
    lines = encode(tricky).splitlines()
    assert [orjson.loads(x) for x in lines] == [{"id": r[0], "t": r[1]} for r in tricky]
    assert encode([]) == b""
    # a first key starting with , : } or ] takes the counting path; still exact
    for first in (",a", ":a", "}a", "]a", "a"):
        cols = (col(first, "text"), col("t", "text"))
        encode, _ = batch_encoder(cols)
        rows = [("},{", "},{"), (",", '":'), ("x},{", "},{\",:a\":")]
        got = [orjson.loads(x) for x in encode(rows).splitlines()]
        assert got == [{first: a, "t": b} for a, b in rows], first


def test_endpoint_repr_hides_the_password():
    from warehouse.config import Secret
    from warehouse.mysql.connect import Endpoint

    ep = Endpoint("shop", "127.0.0.1", 3306, "etl", Secret("pa55-Secret"), 30.0)
    assert "pa55-Secret" not in repr(ep) and "pa55-Secret" not in ep.where()


def test_engine_sqoop_refused_on_emr_7_5(tmp_path):
    from warehouse.config import config_from_dict
    from warehouse.mysql.importer import run_import

    pw = tmp_path / "pw"
    pw.write_text("x")
    cfg = config_from_dict({
        "warehouse": {"root": str(tmp_path / "root")},
        "emr": {"release_label": "emr-7.5.0"},
        "mysql": {"s": {"user": "u", "password_file": str(pw), "databases": ["d"]}},
    })
    with pytest.raises(ConfigError, match="has no Sqoop"):
        run_import(cfg, None, engine="sqoop", full=False)


def test_bytes_in_a_text_column_ask_for_a_bytes_reread():
    """A C layer may return undecodable text as bytes: export then re-reads as bytes."""
    from warehouse.mysql.rows import TextAsBytes, batch_encoder

    cols = (col("id", "int"), col("t", "text"))
    encode, _ = batch_encoder(cols)
    with pytest.raises(TextAsBytes):
        encode([(1, b"caf\xe9")])
    encode_bytes, counter = batch_encoder(cols, text_bytes=True)
    assert orjson.loads(encode_bytes([(1, b"caf\xe9")])) == {"id": 1, "t": "caf\\xe9"}
    assert counter.bad == 1


@pytest.mark.parametrize("prelude", ["", "import hashlib", "import ssl, hashlib", "import hashlib, ssl"])
def test_mysql_connector_c_extension_loads_after_the_system_openssl(prelude: str) -> None:
    """The pinned mysql-connector-python wheel's C extension loads whatever part of the
    system's OpenSSL the process loaded before (`warehouse import` has loaded hashlib by
    the time it picks a driver): 9.7+ wheels need OpenSSL 3.5 and fail after hashlib."""
    import subprocess
    import sys

    code = (
        f"{prelude}\n"
        "from warehouse.mysql.connect import resolve_driver\n"
        "print(resolve_driver('mysql-connector').name)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "mysql-connector"
