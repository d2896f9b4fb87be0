"""Imports as Parquet (`[mysql.NAME] format = "parquet"`), through the CLI, the SSH tunnel
and real MariaDB: a table of every MySQL type read back through Spark's Thrift server and
DuckDB equals MariaDB value for value and its JSON twin (the same table imported with
format json); after append, lastmodified and deletes, `_latest` equals MariaDB."""

from __future__ import annotations

import base64
import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.test_mysql_answers import _maria
from tests.test_mysql_hive import _hive_rows
from tests.test_mysql_import import PASSWORD, USER, _driver_available
from warehouse.cli import cli
from warehouse.config import config_from_dict
from warehouse.errors import ConfigError

pytestmark = [pytest.mark.mysql]

EVERY_DDL = """
CREATE TABLE every (
  id INT PRIMARY KEY,
  ti TINYINT NULL, tiu TINYINT UNSIGNED NULL, si SMALLINT NULL, siu SMALLINT UNSIGNED NULL,
  mi MEDIUMINT NULL, miu MEDIUMINT UNSIGNED NULL, i INT NULL, iu INT UNSIGNED NULL,
  bi BIGINT NULL, biu BIGINT UNSIGNED NULL,
  d10 DECIMAL(10,2) NULL, d38 DECIMAL(38,10) NULL, d65 DECIMAL(65,30) NULL,
  fl FLOAT NULL, db DOUBLE NULL, yr YEAR NULL,
  d DATE NULL, dt0 DATETIME NULL, dt6 DATETIME(6) NULL, ts3 TIMESTAMP(3) NULL DEFAULT NULL,
  tm TIME(3) NULL,
  c CHAR(5) NULL, vc VARCHAR(50) NULL, tx TEXT NULL, l1 VARCHAR(20) CHARACTER SET latin1 NULL,
  en ENUM('a','b c') NULL, st SET('x','y') NULL, js JSON NULL,
  u UUID NULL, i4 INET4 NULL, i6 INET6 NULL,
  b1 BIT(1) NULL, b5 BIT(5) NULL, b64 BIT(64) NULL,
  bn BINARY(4) NULL, vb VARBINARY(10) NULL, bl BLOB NULL, geo GEOMETRY NULL
)
"""

EVERY_ROWS = [
    "INSERT INTO every (id) VALUES (1)",
    "INSERT INTO every VALUES (2, -128, 0, -32768, 0, -8388608, 0, -2147483648, 0, "
    "-9223372036854775808, 0, -99999999.99, -9999999999999999999999999999.9999999999, "
    "'-0.000000000000000000000000000001', -0.25, -2.5e-300, 1901, '1000-01-01', "
    "'1000-01-01 00:00:00', '1970-01-01 00:00:00.000001', '1970-01-01 00:00:01.000', "
    "'-838:59:59.000', '', '', '', '', 'a', '', '{}', "
    "'00000000-0000-0000-0000-000000000000', '0.0.0.0', '::', 0, 0, 0, "
    "x'00000000', x'', x'', ST_GeomFromText('POINT(0 0)'))",
    "INSERT INTO every VALUES (3, 127, 255, 32767, 65535, 8388607, 16777215, 2147483647, "
    "4294967295, 9223372036854775807, 18446744073709551615, 99999999.99, "
    "9999999999999999999999999999.9999999999, "
    "'12345678901234567890123456789012345.123456789012345678901234567890', 16777216, 1e300, "
    "2155, '9999-12-31', '9999-12-31 23:59:59', '2024-02-29 23:59:59.999999', "
    "'2038-01-19 03:14:07.999', '838:59:59.999', 'ab', 'tab\\there \"q\" \\\\ 日本語 😀', "
    "'line1\\nline2\\r\\n\\\\N \\0 end', 'café ÿ', 'b c', 'x,y', '{\"a\": [1, \"x\"]}', "
    "'123e4567-e89b-12d3-a456-426614174000', '192.168.0.1', '2001:db8::ff00:42:8329', "
    "1, 21, 18446744073709551615, x'00ff0102', x'fffe00', x'000102fffefd', "
    "ST_GeomFromText('LINESTRING(0 0, 1 1.5)'))",
]

# MariaDB's own values, each as the Parquet table must hold it (FLOAT as its double: the
# server's text of a FLOAT has 6 significant digits)
EXPECTED_SQL = """
SELECT id, ti, tiu, si, siu, mi, miu, i, iu, bi, biu, d10, d38, CAST(d65 AS CHAR),
  fl + 0E0, db, yr, d, dt0, dt6, ts3, CAST(tm AS CHAR), c, vc, tx, l1, en, st, js,
  CAST(u AS CHAR), CAST(i4 AS CHAR), CAST(i6 AS CHAR), b1 + 0, b5 + 0, b64 + 0,
  bn, vb, bl, geo
FROM every ORDER BY id
"""
COLUMNS = ["id", "ti", "tiu", "si", "siu", "mi", "miu", "i", "iu", "bi", "biu", "d10", "d38",
           "d65", "fl", "db", "yr", "d", "dt0", "dt6", "ts3", "tm", "c", "vc", "tx", "l1", "en",
           "st", "js", "u", "i4", "i6", "b1", "b5", "b64", "bn", "vb", "bl", "geo"]
HIVE_TYPES = {
    "ti": "tinyint", "tiu": "smallint", "si": "smallint", "siu": "int", "mi": "int",
    "miu": "int", "i": "int", "iu": "bigint", "bi": "bigint", "biu": "decimal(20,0)",
    "d10": "decimal(10,2)", "d38": "decimal(38,10)", "d65": "string", "fl": "float",
    "db": "double", "yr": "smallint", "d": "date", "dt0": "timestamp", "dt6": "timestamp",
    "ts3": "timestamp", "tm": "string", "js": "string", "u": "string", "i4": "string",
    "b1": "bigint", "b64": "decimal(20,0)", "bn": "binary", "bl": "binary", "geo": "binary",
}
BINARY = {"bn", "vb", "bl", "geo"}
BITS = {"b1", "b5", "b64"}
TIMES = {"dt0", "dt6", "ts3"}


def _toml(tmp_path: Path, sshd, mariadb, db: str, hive: dict[str, Any] | None,
          sources: dict[str, str]) -> Path:
    """Write a config with one [mysql.NAME] per `sources` item (name -> extra TOML)."""
    pw = tmp_path / "db.pass"
    pw.write_text(PASSWORD + "\n")
    text = (f'[warehouse]\nroot = "{tmp_path / "root"}"\n[ssh.bastion]\nhost = "127.0.0.1"\n'
            f'port = {sshd.port}\nuser = "{sshd.user}"\nkey_file = "{sshd.key_file}"\n'
            f'known_hosts = "{sshd.known_hosts}"\n')
    if hive is not None:
        text += "[hive]\n" + "".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in hive.items())
    for name, extra in sources.items():
        text += (f'[mysql.{name}]\nhost = "127.0.0.1"\nport = {mariadb.port}\nuser = "{USER}"\n'
                 f'password_file = "{pw}"\ntunnel = "bastion"\ndatabases = ["{db}"]\n{extra}\n')
    toml = tmp_path / "warehouse.toml"
    toml.write_text(text)
    return toml


def _import(toml: Path, *args: str) -> str:
    res = CliRunner().invoke(cli, ["--config", str(toml), "import", *args])
    assert res.exit_code == 0, res.output
    assert PASSWORD not in res.output
    return res.output


def _value(column: str, v: Any) -> Any:
    """One value in a form every reader agrees on."""
    if v is None:
        return None
    if column in BINARY:
        return bytes(v) if not isinstance(v, str) else v.encode("latin-1")
    if column in TIMES:
        return v if isinstance(v, dt.datetime) else dt.datetime.fromisoformat(str(v))
    if column == "d":
        return v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v))
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int | float | Decimal):
        return Decimal(str(v))
    return v


def _rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{c: _value(c, r[c]) for c in COLUMNS} for r in sorted(rows, key=lambda r: r["id"])]


def _json_twin(row: dict[str, Any]) -> dict[str, Any]:
    """A row of the JSON twin as the Parquet table holds it (BIT digits, base64)."""
    out = dict(row)
    for c in BITS:
        out[c] = None if row[c] is None else Decimal(int(row[c], 2))
    for c in BINARY:
        out[c] = None if row[c] is None else base64.b64decode(row[c])
    return out


def _every_db(mariadb, db: str) -> None:
    mariadb.create_database(db)
    mariadb.execute(EVERY_DDL, database=db)
    for sql in EVERY_ROWS:
        mariadb.execute(sql, database=db)
    mariadb.create_user(USER, PASSWORD, db)


def _duck_rows(folder: Path) -> list[dict[str, Any]]:
    import duckdb

    cur = duckdb.connect().execute(f"SELECT * FROM read_parquet('{folder}/load=*/*.parquet', "
                                   "hive_partitioning = false)")
    names = [d[0] for d in cur.description]
    return _rows([dict(zip(names, r, strict=True)) for r in cur.fetchall()])


@pytest.mark.parametrize("driver", ["mysql-connector", "pymysql", "mysqlclient"])
def test_every_type_with_each_driver(tmp_path, sshd, mariadb, strict_server, driver):
    """Each driver hands the values over its own way (bytes, text, ints): the same file."""
    _driver_available(driver)
    db = "pqdrv"
    _every_db(mariadb, db)
    toml = _toml(tmp_path, sshd, mariadb, db, None,
                 {"src": f'format = "parquet"\ndriver = "{driver}"'})
    assert "3 rows" in _import(toml)
    want = _rows([dict(zip(COLUMNS, r, strict=True)) for r in _maria(mariadb, db, EXPECTED_SQL)])
    assert _duck_rows(tmp_path / "root" / "mysql" / "src" / db / "every") == want


@pytest.mark.hive
def test_every_type_equals_mariadb_and_its_json_twin(
    tmp_path, sshd, mariadb, hive_server, strict_server
):
    db = "pqevery"
    _every_db(mariadb, db)
    toml = _toml(tmp_path, sshd, mariadb, db, hive_server.hive_dict(db),
                 {"pq": 'format = "parquet"', "js": ""})
    out = _import(toml)
    assert "2 tables (2 ok, 0 failed), 6 rows" in out, out
    want = _rows([dict(zip(COLUMNS, r, strict=True)) for r in _maria(mariadb, db, EXPECTED_SQL)])
    # the files: Parquet only, read by DuckDB
    import duckdb

    folder = tmp_path / "root" / "mysql" / "pq" / db / "every"
    files = sorted(folder.glob("load=*/*"))
    assert files and all(f.name.endswith(".parquet") for f in files), files
    con = duckdb.connect()
    cur = con.execute(f"SELECT * FROM read_parquet('{folder}/load=*/*.parquet', "
                      "hive_partitioning = false)")
    names = [d[0] for d in cur.description]
    got = _rows([dict(zip(names, r, strict=True)) for r in cur.fetchall()])
    assert got == want
    # DuckDB on the JSON twin's files (its own type detection: decimals as text, UUID)
    twin_files = tmp_path / "root" / "mysql" / "js" / db / "every"
    cur = con.execute(f"SELECT * FROM read_json('{twin_files}/load=*/*.json.gz', "
                      "format = 'newline_delimited', hive_partitioning = false)")
    names = [d[0] for d in cur.description]
    duck_twin = [_json_twin(r) for r in _rows([
        {k: (Decimal(v) if k in ("d10", "d38") and v is not None else
             str(v) if k == "u" and v is not None else v)
         for k, v in zip(names, row, strict=True)} for row in cur.fetchall()])]
    assert duck_twin == got
    # Spark's Thrift server: the types declared, and the values
    described = _hive_rows(hive_server, db, f"DESCRIBE mysql_pq_{db}_every")
    types = {r["col_name"]: r["data_type"] for r in described}
    assert {c: types[c] for c in HIVE_TYPES} == HIVE_TYPES
    spark = _rows(_hive_rows(hive_server, db, f"SELECT * FROM mysql_pq_{db}_every"))
    assert spark == want
    twin = _rows(_hive_rows(hive_server, db, f"SELECT * FROM mysql_js_{db}_every"))
    assert [_json_twin(r) for r in twin] == spark


INC_DDL = [
    "CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(50), price DECIMAL(10,2), "
    "modified DATETIME(6) NOT NULL)",
    "CREATE TABLE tags (name VARCHAR(20) COLLATE utf8mb4_general_ci PRIMARY KEY, n INT, "
    "modified DATETIME(6) NOT NULL)",
    "CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(50), at DATE)",
    # a BINARY key: base64 text in `_deletes`, BINARY in the Parquet table
    "CREATE TABLE blobs (k BINARY(4), id INT, v VARCHAR(10), modified DATETIME NOT NULL, "
    "PRIMARY KEY (k, id))",
]
INC = ('"{db}.items" = {{ mode = "lastmodified", column = "modified", deletes = true }}, '
       '"{db}.tags" = {{ mode = "lastmodified", column = "modified", deletes = true }}, '
       '"{db}.audit" = {{ mode = "append", column = "id" }}, '
       '"{db}.blobs" = {{ mode = "lastmodified", column = "modified", deletes = true }}')


@pytest.mark.hive
def test_latest_after_append_lastmodified_and_deletes(tmp_path, sshd, mariadb, hive_server):
    db = "pqinc"
    mariadb.create_database(db)
    for sql in INC_DDL:
        mariadb.execute(sql, database=db)
    mariadb.create_user(USER, PASSWORD, db)
    toml = _toml(tmp_path, sshd, mariadb, db, hive_server.hive_dict(db),
                 {"src": f'format = "parquet"\nincremental = {{ {INC.format(db=db)} }}'})
    run = [
        ["INSERT INTO items VALUES (1, 'one', 1.50, '2024-01-01 00:00:00'), "
         "(2, 'two', 2.00, '2024-01-01 00:00:00'), (3, 'three', NULL, '2024-01-01')",
         "INSERT INTO tags VALUES ('Red', 1, '2024-01-01'), ('green', 2, '2024-01-01')",
         "INSERT INTO audit (what, at) VALUES ('a', '2024-01-01'), ('b', NULL)",
         "INSERT INTO blobs VALUES (x'00ff0102', 1, 'a', '2024-01-01'), "
         "(x'fffe0000', 1, 'b', '2024-01-01'), (x'fffe0000', 2, 'c', '2024-01-01')"],
        ["UPDATE items SET name = 'ONE', price = 9.99, modified = '2024-01-02 00:00:00.5' "
         "WHERE id = 1", "DELETE FROM items WHERE id = 2",
         "INSERT INTO items VALUES (4, 'four', 4.00, '2024-01-02')",
         "UPDATE tags SET n = 10, modified = '2024-01-02' WHERE name = 'red'",
         "DELETE FROM tags WHERE name = 'GREEN'", "INSERT INTO audit (what) VALUES ('c')",
         "DELETE FROM blobs WHERE k = x'fffe0000' AND id = 1",
         "UPDATE blobs SET v = 'A', modified = '2024-01-02' WHERE k = x'00ff0102'"],
        ["INSERT INTO items VALUES (2, 'two again', 2.50, '2024-01-03')",
         "INSERT INTO tags VALUES ('Green', 3, '2024-01-03')",
         "DELETE FROM blobs WHERE k = x'00ff0102'",
         "INSERT INTO blobs VALUES (x'fffe0000', 1, 'b again', '2024-01-03')"],
    ]
    for statements in run:
        for sql in statements:
            mariadb.execute(sql, database=db)
        _import(toml)
        for table, cols in (("items", "id, name, price, modified"), ("tags", "name, n, modified"),
                            ("audit", "id, what, at"),
                            ("blobs", "lower(hex(k)) AS kx, id, v, modified")):
            latest = _hive_rows(hive_server, db,
                                f"SELECT {cols} FROM mysql_src_{db}_{table}_latest")
            names = [c.split(" AS ")[-1].strip() for c in cols.split(",")]
            got = sorted(tuple(_plain(r[n]) for n in names) for r in latest)
            want = sorted(tuple(_plain(v) for v in r)
                          for r in _maria(mariadb, db, f"SELECT {cols} FROM {table}"))
            assert got == want, table
    loads = sorted((tmp_path / "root" / "mysql" / "src" / db / "items").glob("load=*/*"))
    assert len(loads) == 3 and all(p.suffix == ".parquet" for p in loads)


def _plain(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat(" ") if isinstance(v, dt.datetime) else v.isoformat()
    if isinstance(v, Decimal | float):
        return Decimal(str(v))
    if isinstance(v, str) and len(v) >= 19 and v[4] == "-" and v[10] == " ":
        return dt.datetime.fromisoformat(v).isoformat(" ")
    return v


def test_parquet_needs_the_python_engine(tmp_path):
    base = {"warehouse": {"root": str(tmp_path)},
            "mysql": {"shop": {"user": "u", "databases": ["d"], "engine": "sqoop",
                               "format": "parquet"}}}
    with pytest.raises(ConfigError, match=r"\[mysql.shop\] format = \"parquet\" needs engine"):
        config_from_dict(base)
    base["mysql"]["shop"].update(engine="python", format="orc")
    with pytest.raises(ConfigError, match=r"\[mysql.shop\] format must be \"json\" or"):
        config_from_dict(base)


def _lax(mariadb, db: str, *statements: str) -> None:
    """Run `statements` in a session whose sql_mode allows zero and invalid dates."""
    mariadb.execute_all(statements, db, sql_mode="ALLOW_INVALID_DATES")


def _duck_types(folder: Path) -> dict[str, str]:
    import duckdb

    rows = duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{folder}/load=*/*.parquet', "
                      "hive_partitioning = false)")
    return {r[0]: r[1] for r in rows.fetchall()}


def test_zero_dates_under_a_strict_server(tmp_path, sshd, mariadb, strict_server):
    """A strict server's table is written with DATE/TIMESTAMP; one holding a zero date after
    all is re-read with STRING dates; an incremental table whose Parquet loads hold DATE
    fails a load that finds one, asking for --full, which then makes them STRING."""
    db = "pqzero"
    mariadb.create_database(db)
    mariadb.execute("CREATE TABLE z (id INT PRIMARY KEY, d DATE, t DATETIME)", database=db)
    mariadb.execute("CREATE TABLE inc (id INT PRIMARY KEY, d DATE, m DATETIME(6) NOT NULL)",
                    database=db)
    mariadb.execute("INSERT INTO z VALUES (1, '2024-01-02', '2024-01-02 03:04:05')",
                    database=db)
    mariadb.execute("CREATE TABLE sp (id INT PRIMARY KEY, d DATE)", database=db)
    _lax(mariadb, db, "INSERT INTO z VALUES (2, '0000-00-00', '2021-02-30 00:00:00')",
         "INSERT INTO inc VALUES (1, '2024-01-01', '2024-01-01')",
         "INSERT INTO sp VALUES (1, '2024-01-01'), (20001, '0000-00-00')")
    mariadb.create_user(USER, PASSWORD, db)
    inc = f'incremental = {{ "{db}.inc" = {{ mode = "lastmodified", column = "m" }} }}'
    toml = _toml(tmp_path, sshd, mariadb, db, None, {
        "src": f'format = "parquet"\nexclude = ["sp"]\n{inc}',
        "split": 'format = "parquet"\ntables = ["sp"]\nsplit_workers = 2'})
    _import(toml)
    folder = tmp_path / "root" / "mysql" / "src" / db
    assert _duck_types(folder / "z") == {"id": "INTEGER", "d": "VARCHAR", "t": "VARCHAR"}
    # key ranges in parallel: the range that met the zero date makes every range STRING
    split = tmp_path / "root" / "mysql" / "split" / db / "sp"
    assert len(list(split.glob("load=*/*.parquet"))) == 2
    assert _duck_types(split) == {"id": "INTEGER", "d": "VARCHAR"}
    assert _duck_types(folder / "inc") == {"id": "INTEGER", "d": "DATE", "m": "TIMESTAMP"}
    import duckdb

    got = duckdb.sql(f"SELECT * FROM read_parquet('{folder}/z/load=*/*.parquet', "
                     "hive_partitioning = false) ORDER BY id")
    assert got.fetchall() == [(1, "2024-01-02", "2024-01-02 03:04:05"),
                              (2, "0000-00-00", "2021-02-30 00:00:00")]
    _lax(mariadb, db, "INSERT INTO inc VALUES (2, '0000-00-00', '2024-01-02')")
    res = CliRunner().invoke(cli, ["--config", str(toml), "import", f"src.{db}.inc"])
    assert res.exit_code == 5, res.output
    assert "now hold zero or invalid dates" in res.output and "--full" in res.output
    _import(toml, f"src.{db}.inc", "--full")
    assert _duck_types(folder / "inc") == {"id": "INTEGER", "d": "VARCHAR", "m": "VARCHAR"}


def test_a_binary_key_is_base64_text_in_deletes_and_decoded_by_latest():
    """`_deletes` is JSON: its BINARY key column is declared STRING, the base64 its files
    hold (as the JSON tables declare binary), and `_latest` compares unbase64 of it."""
    from warehouse.mysql.hive_tables import deletes_spec, latest_view_sql, table_spec
    from warehouse.mysql.schema import SourceColumn

    cols = [SourceColumn("k", "binary", "binary(4)"), SourceColumn("id", "int", "int(11)"),
            SourceColumn("m", "datetime", "datetime")]
    spec = table_spec("s", "d", "t", cols, engine="python", zero_dates=False, format="parquet")
    gone = deletes_spec(spec, ["k", "id"])
    assert [(c.name, c.type) for c in spec.columns][:2] == [("k", "BINARY"), ("id", "INT")]
    assert [(c.name, c.type) for c in gone.columns] == [("k", "STRING"), ("id", "INT")]
    assert gone.storage == "json"
    sql = latest_view_sql("wh", spec, ["k", "id"], "m", gone)
    assert "SELECT unbase64(`k`) AS `k`, `id`, MAX(`load`)" in sql
    assert "GROUP BY unbase64(`k`), `id`" in sql
    json_spec = table_spec("s", "d", "t", cols, engine="python", zero_dates=False, format="json")
    assert deletes_spec(json_spec, ["k"]).columns[0].type == "STRING"
    assert "unbase64" not in latest_view_sql("wh", json_spec, ["k"], "m",
                                             deletes_spec(json_spec, ["k"]))


def test_hive_apply_renders_a_parquet_import_from_its_state():
    from warehouse.mysql.hive_tables import imported_table, schema_record
    from warehouse.mysql.schema import SourceColumn
    from warehouse.mysql.state import TableState

    cols = [SourceColumn("id", "int", "int(11)", False), SourceColumn("b", "bit", "bit(3)")]
    state = TableState(engine="python", columns=[["id", "int(11)"], ["b", "bit(3)"]],
                       loads=["20240101T000000000000Z"], format="parquet",
                       schema=schema_record(cols, zero_dates=False))
    (item,), _ = imported_table("s", "d", "t", state, hive_database="wh")
    assert item.spec.storage == "parquet"
    assert [(c.name, c.type) for c in item.spec.columns] == [("id", "INT"), ("b", "BIGINT")]
    old = TableState.from_json(b'{"engine": "python", "columns": []}', "x")
    assert old.format == "json"  # states written before the format existed


@pytest.fixture()
def mem_db(mariadb):
    """`pqmem`: 100 values of 512 KiB and one of 64 MiB (max_allowed_packet raised)."""
    (before,), = _maria(mariadb, "mysql", "SELECT @@GLOBAL.max_allowed_packet")
    mariadb.execute("SET GLOBAL max_allowed_packet = 268435456")
    db = mariadb.create_database("pqmem")
    try:
        for sql in ("CREATE TABLE half (id INT PRIMARY KEY, b MEDIUMBLOB)",
                    f"INSERT INTO half SELECT seq, REPEAT(UNHEX(MD5(seq)), {MiB // 2 // 16}) "
                    "FROM seq_1_to_100",
                    "CREATE TABLE one (id INT PRIMARY KEY, b LONGBLOB)",
                    f"INSERT INTO one VALUES (1, REPEAT(UNHEX(MD5(1)), {64 * MiB // 16}))"):
            mariadb.execute(sql, database=db)
        mariadb.create_user(USER, PASSWORD, db)
        yield db
    finally:
        mariadb.execute("SET GLOBAL max_allowed_packet = %s", (int(before),))


MiB = 1 << 20


def test_memory_is_bounded_by_bytes(tmp_path, sshd, mariadb, mem_db):
    """Peak RSS of a Parquet `warehouse import` child: batches held by batch_bytes, and a
    64 MiB value within the bound docs/mysql.md gives; the files hold the values."""
    from tests.test_mysql_memory import BASE_MIB, WAREHOUSE_BIN, peak_rss_mib

    toml = _toml(tmp_path, sshd, mariadb, mem_db, None,
                 {"src": f'format = "parquet"\nbatch_bytes = {16 * MiB}'})
    code, peak, out = peak_rss_mib(WAREHOUSE_BIN, "--config", str(toml), "import",
                                   f"src.{mem_db}.half")
    print(f"peak RSS parquet 100 x 512 KiB, batch_bytes 16 MiB: {peak:.0f} MiB")
    assert code == 0 and "100 rows" in out, out
    assert peak < BASE_MIB + 100 + 2 * 0.5 + 5 * 16, peak  # pyarrow's libraries: 100
    code, peak, out = peak_rss_mib(WAREHOUSE_BIN, "--config", str(toml), "import",
                                   f"src.{mem_db}.one")
    print(f"peak RSS parquet 1 x 64 MiB: {peak:.0f} MiB")
    assert code == 0 and "1 row," in out, out
    assert peak < BASE_MIB + 100 + 5 * 64, peak
    import duckdb

    folder = tmp_path / "root" / "mysql" / "src" / mem_db
    for table in ("half", "one"):
        got = duckdb.sql(f"SELECT id, md5(b) FROM read_parquet('{folder}/{table}/load=*/*', "
                         "hive_partitioning = false) ORDER BY id").fetchall()
        assert got == [tuple(r) for r in _maria(mariadb, mem_db,
                                                f"SELECT id, MD5(b) FROM {table} ORDER BY id")]


def test_engine_sqoop_on_a_parquet_source_is_a_config_error():
    from warehouse.mysql.parquet import load_format

    cfg = config_from_dict({"warehouse": {"root": "/tmp/x"},
                            "mysql": {"shop": {"user": "u", "databases": ["d"],
                                               "format": "parquet"}}})
    assert load_format(cfg.mysql["shop"], "python") == "parquet"
    with pytest.raises(ConfigError, match=r"\[mysql.shop\] .* needs the python engine"):
        load_format(cfg.mysql["shop"], "sqoop")  # `warehouse import --engine sqoop`


def test_parquet_import_to_s3_with_split_workers(tmp_path, sshd, mariadb, moto_server,
                                                 s3_client, s3_bucket):
    """Into s3:// (moto's server, multipart uploads), key ranges in parallel, then an
    append load: every id once in the Parquet parts, read back by pyarrow."""
    import io

    import pyarrow.parquet as pq

    from warehouse.mysql.importer import run_import

    db = mariadb.create_database("pqs3")
    mariadb.execute("CREATE TABLE s (id INT PRIMARY KEY, v VARCHAR(20), "
                    "amount DECIMAL(12,2))", database=db)
    mariadb.execute("INSERT INTO s SELECT seq, CONCAT('v', seq), seq / 100 "
                    "FROM seq_1_to_25000", database=db)
    mariadb.create_user(USER, PASSWORD, db)
    pw = tmp_path / "db.pass"
    pw.write_text(PASSWORD)
    cfg = config_from_dict({
        "warehouse": {"root": f"s3://{s3_bucket}/pq"},
        "s3": {"endpoint_url": moto_server},
        "ssh": {"bastion": sshd.ssh_section()},
        "mysql": {"src": mariadb.mysql_section(
            [db], USER, str(pw), tunnel="bastion", split_workers=2, format="parquet",
            incremental={f"{db}.s": {"mode": "append", "column": "id"}})},
    })
    first = run_import(cfg, None, engine=None, full=False)
    assert first.exit_code == 0, first.line()
    mariadb.execute("INSERT INTO s SELECT seq, 'new', 1.5 FROM seq_25001_to_25010",
                    database=db)
    second = run_import(cfg, None, engine=None, full=False)
    assert second.exit_code == 0, second.line()
    assert [t.rows for t in first.tables + second.tables] == [25000, 10]
    keys = [o["Key"] for o in
            s3_client.list_objects_v2(Bucket=s3_bucket, Prefix="pq/mysql/")["Contents"]]
    assert keys and all(k.endswith(".parquet") for k in keys), keys
    ids: list[int] = []
    for key in keys:
        body = s3_client.get_object(Bucket=s3_bucket, Key=key)["Body"].read()
        table = pq.read_table(io.BytesIO(body))
        assert str(table.schema.field("amount").type) == "decimal128(12, 2)"
        ids += table.column("id").to_pylist()
    assert sorted(ids) == list(range(1, 25011))


def test_text_that_is_not_utf8_is_re_read_with_backslashreplace():
    """Bytes in a character column: the first read stops (TextAsBytes, as for JSON); the
    re-read with text as bytes writes them with backslashreplace and counts them."""
    from warehouse.mysql.parquet import ParquetRows
    from warehouse.mysql.rows import TextAsBytes
    from warehouse.mysql.schema import SourceColumn

    cols = [SourceColumn("id", "int", "int(11)"), SourceColumn("t", "varchar", "varchar(9)"),
            SourceColumn("d", "decimal", "decimal(5,2)", precision=5, scale=2)]
    rows = [(1, b"ok \xc3\xa9", b"1.50"), (2, b"bad \xff", None)]
    with pytest.raises(TextAsBytes):
        ParquetRows(cols, text_bytes=False, zero_dates=True, batch_bytes=1 << 20).add(rows)
    again = ParquetRows(cols, text_bytes=True, zero_dates=True, batch_bytes=1 << 20)
    again.add(rows)
    table = again.take()
    assert table.column("t").to_pylist() == ["ok é", "bad \\xff"]
    assert table.column("d").to_pylist() == [Decimal("1.50"), None]
    assert again.counter.bad == 1
