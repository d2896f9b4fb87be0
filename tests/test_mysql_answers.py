"""Imports that answered wrong with exit 0 (issue 25): re-created and truncated tables,
keys that differ only as the collation ignores, zero dates under a strict server. Through
the CLI, against the real MariaDB reached through the real sshd tunnel, read back
through the Spark Thrift server."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.test_mysql_hive import _hive_rows
from tests.test_mysql_import import PASSWORD, USER, _toml_config
from warehouse.cli import cli

pytestmark = [pytest.mark.mysql, pytest.mark.hive]


def _cli(toml: Path, *args: str) -> tuple[int, str]:
    res = CliRunner().invoke(cli, ["--config", str(toml), "import", *args])
    assert PASSWORD not in res.output
    assert "Traceback" not in res.output, res.output
    return res.exit_code, res.output


def _setup(tmp_path: Path, sshd, mariadb, hive_server, db: str, *statements: str,
           incremental: str = "", extra: str = "") -> Path:
    """Create `db` with `statements`; return a config importing it with [hive]."""
    mariadb.create_database(db)
    for sql in statements:
        mariadb.execute(sql, database=db)
    mariadb.create_user(USER, PASSWORD, db)
    (tmp_path / "db.pass").write_text(PASSWORD + "\n")
    hive = hive_server.hive_dict(db)
    body = (f"incremental = {{ {incremental} }}\n" if incremental else "") + extra
    body += "[hive]\n" + "".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in hive.items())
    return _toml_config(tmp_path, sshd, mariadb, tmp_path / "root", db, body)


def _maria(mariadb, db: str, sql: str) -> list[tuple[Any, ...]]:
    conn = mariadb.connect(db)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return [tuple(r) for r in cur.fetchall()]
    finally:
        conn.close()


def _latest(hive_server, db: str, table: str, cols: str) -> list[tuple[Any, ...]]:
    rows = _hive_rows(hive_server, db, f"SELECT {cols} FROM mysql_src_{db}_{table}_latest")
    names = [c.strip() for c in cols.split(",")]
    return sorted(tuple(r[n] for n in names) for r in rows)


# -- 1. a table re-created or truncated since its last load ---------------------------


@pytest.mark.parametrize(("mode", "how"), [("append", "recreate"), ("append", "truncate"),
                                           ("lastmodified", "truncate")])
def test_a_recreated_or_truncated_table_is_read_again_in_full(
    tmp_path, sshd, mariadb, hive_server, caplog, mode, how
):
    # 100 rows imported; the table dropped and re-created (or TRUNCATEd) with rows 1 and
    # 2: the import said "0 rows (no new rows), 98 deleted keys" and _latest kept serving
    # (1,'old1'), (2,'old2'); a later id 3 was never read
    db = f"ans_{mode[:3]}_{how}"
    create = ("CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(10), "
              "m DATETIME NOT NULL DEFAULT '2024-01-01 00:00:00')")
    column = "id" if mode == "append" else "m"
    toml = _setup(
        tmp_path, sshd, mariadb, hive_server, db, create,
        "INSERT INTO t (id, v, m) SELECT seq, CONCAT('old', seq), "
        "'2024-06-01 00:00:00' + INTERVAL seq MINUTE FROM seq_1_to_100",
        incremental=f'"t" = {{ mode = "{mode}", column = "{column}", deletes = true, '
                    'lag = 0 }',
    )
    code, out = _cli(toml)
    assert code == 0 and "100 rows" in out, out
    if how == "recreate":
        mariadb.execute("DROP TABLE t", database=db)
        mariadb.execute(create, database=db)
    else:
        mariadb.execute("TRUNCATE TABLE t", database=db)
    mariadb.execute("INSERT INTO t (v) VALUES ('new1'), ('new2')", database=db)
    caplog.set_level(logging.WARNING)
    code, out = _cli(toml)
    assert code == 0 and "[python full] 2 rows" in out, out
    assert "reading the whole table, which replaces its earlier loads" in caplog.text
    want = _maria(mariadb, db, "SELECT id, v FROM t")
    assert _latest(hive_server, db, "t", "id, v") == sorted(want) == [(1, "new1"), (2, "new2")]
    mariadb.execute("INSERT INTO t (v, m) VALUES ('new3', '2024-02-01 00:00:00')", database=db)
    code, out = _cli(toml)
    assert code == 0 and f"[python {mode}]" in out and "load=(no new rows)" not in out, out
    want = _maria(mariadb, db, "SELECT id, v FROM t")
    assert _latest(hive_server, db, "t", "id, v") == sorted(want)
    assert len(want) == 3


# -- 3. zero dates written under a laxer sql_mode than the server's now ----------------

STRICT = ("ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"
          "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION")  # MySQL 8's default


def _lax_insert(mariadb, db: str, *statements: str) -> None:
    """Run `statements` in a session whose sql_mode allows zero and invalid dates."""
    conn = mariadb.connect(db)
    try:
        with conn.cursor() as cur:
            cur.execute("SET SESSION sql_mode = 'ALLOW_INVALID_DATES'")
            for sql in statements:
                cur.execute(sql)
    finally:
        conn.close()


@pytest.fixture()
def strict_server(mariadb):
    """The server's global sql_mode made strict (MySQL 8's default) for the test."""
    (old,), = _maria(mariadb, "mysql", "SELECT @@GLOBAL.sql_mode")
    mariadb.execute(f"SET GLOBAL sql_mode = '{STRICT}'")
    try:
        yield
    finally:
        mariadb.execute("SET GLOBAL sql_mode = %s", (old,))


def _types(hive_server, db: str, table: str) -> dict[str, str]:
    rows = _hive_rows(hive_server, db, f"DESCRIBE {table}")
    return {r["col_name"]: r["data_type"] for r in rows if not r["col_name"].startswith("#")}


DATES_SQL = "SELECT id, CAST(d AS CHAR), CAST(dt AS CHAR), CAST(ts AS CHAR) FROM {} ORDER BY id"


def test_zero_dates_under_a_strict_server_read_back_as_the_server_wrote_them(
    tmp_path, sshd, mariadb, hive_server, strict_server, caplog
):
    # rows written under a permissive sql_mode, the server made strict since: the state
    # said zero_dates false and Hive got DATE/TIMESTAMP, which Spark read as NULL (or
    # failed with CAST_INVALID_INPUT under ANSI)
    db = "ans_zero"
    create = "(id INT PRIMARY KEY, d DATE, dt DATETIME(3), ts TIMESTAMP NULL)"
    toml = _setup(tmp_path, sshd, mariadb, hive_server, db,
                  f"CREATE TABLE z {create}", f"CREATE TABLE a {create}",
                  incremental='"a" = { mode = "append", column = "id" }')
    _lax_insert(
        mariadb, db,
        "INSERT INTO z VALUES (1, '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00'),"
        " (2, '2020-00-15', '2020-02-30 10:00:00.5', NULL),"
        " (3, '2020-01-02', '2021-02-28 23:59:59.999', '2020-01-02 03:04:05')",
        "INSERT INTO a VALUES (1, '2020-01-02', '2020-01-02 03:04:05', '2020-01-02 03:04:05')",
    )
    code, out = _cli(toml)
    assert code == 0 and "2 tables (2 ok, 0 failed), 4 rows" in out, out
    assert set(_types(hive_server, db, "mysql_src_ans_zero_z").values()) == {"int", "string"}
    got = _hive_rows(hive_server, db, "SELECT id, d, dt, ts FROM mysql_src_ans_zero_z")
    assert sorted(tuple(r.values()) for r in got) == _maria(mariadb, db, DATES_SQL.format("z"))
    # clean dates under a strict server: DATE/TIMESTAMP ...
    assert _types(hive_server, db, "mysql_src_ans_zero_a")["d"] == "date"
    # ... until a load finds a zero date: STRING for every load, with a warning
    _lax_insert(mariadb, db, "INSERT INTO a VALUES (2, '0000-00-00', '2020-00-01 00:00:00', "
                             "'0000-00-00 00:00:00')")
    caplog.set_level(logging.WARNING)
    code, out = _cli(toml, "src.ans_zero.a")
    assert code == 0 and "[python append] 1 rows" in out, out
    assert "hold zero or invalid dates" in caplog.text and "become STRING" in caplog.text
    assert _types(hive_server, db, "mysql_src_ans_zero_a")["d"] == "string"
    got = _hive_rows(hive_server, db, "SELECT id, d, dt, ts FROM mysql_src_ans_zero_a_latest")
    assert sorted(tuple(r.values()) for r in got) == _maria(mariadb, db, DATES_SQL.format("a"))
    # `hive apply` renders the same types from the state alone
    code = CliRunner().invoke(cli, ["--config", str(toml), "hive", "apply"]).exit_code
    assert code == 0
    assert _types(hive_server, db, "mysql_src_ans_zero_a")["d"] == "string"
