"""Acceptance audit of `warehouse import` on tables unlike ours (names, keys, types, views).

Through the real tunnel and MariaDB fixtures; files only (no Hive), to stay fast.
"""

from __future__ import annotations

import logging

import pytest

from tests.test_mysql_import import PASSWORD, USER, _config, _driver_available, _read_rows
from warehouse.mysql.importer import run_import
from warehouse.mysql.schema import SourceColumn
from warehouse.mysql.sqoop import SqoopPlan, sqoop_argv

pytestmark = pytest.mark.mysql


@pytest.fixture(scope="module")
def odd_dbs(mariadb) -> tuple[str, str]:
    """Two databases differing only by case, with clashing names, a view and odd values."""
    upper, lower = mariadb.create_database("AuditDb"), mariadb.create_database("auditdb")
    for sql in (
        "CREATE TABLE `Order` (`Select` INT PRIMARY KEY, `key` VARCHAR(5), `sp ace` INT)",
        "INSERT INTO `Order` VALUES (1, 'k', 5)",
        "CREATE TABLE `my-table` (id INT PRIMARY KEY)",
        "CREATE TABLE `my_table` (id INT PRIMARY KEY)",
        "CREATE TABLE fl (id INT PRIMARY KEY, f FLOAT, f2 FLOAT(10,4))",
        "INSERT INTO fl VALUES (1, 16777217, 123456.1234), (2, 3.14159274, NULL), (3, 1.5, -0.25)",
        "CREATE TABLE lm (id INT PRIMARY KEY, m DATETIME NULL, v INT)",
        "INSERT INTO lm VALUES (1, '2024-01-01 00:00:00', 1), (2, NULL, 2), (3, NULL, 3)",
        "CREATE TABLE allnull (id INT PRIMARY KEY, m DATETIME NULL)",
        "INSERT INTO allnull VALUES (1, NULL), (2, NULL)",
        "CREATE VIEW v_order AS SELECT `Select` FROM `Order`",
        "CREATE TABLE withload (id INT PRIMARY KEY, `Load` VARCHAR(5))",
        "CREATE TABLE ub (u BINARY(16) PRIMARY KEY, v INT)",
        "INSERT INTO ub VALUES (UNHEX('FF00112233445566778899AABBCCDDEE'), 1),"
        " (UNHEX('00112233445566778899AABBCCDDEEFF'), 2)",
    ):
        mariadb.execute(sql, database=upper)
    mariadb.execute("CREATE TABLE `ORDER` (x INT PRIMARY KEY)", database=lower)
    mariadb.execute("INSERT INTO `ORDER` VALUES (42)", database=lower)
    mariadb.create_user(USER, PASSWORD, upper, lower)
    return upper, lower


def test_hive_name_clashes_fail_those_tables_only(tmp_path, sshd, mariadb, odd_dbs):
    upper, lower = odd_dbs
    cfg = _config(tmp_path, sshd, mariadb, [upper, lower], exclude=["fl", "lm", "allnull", "withload"])
    summary = run_import(cfg, None, engine=None, full=False)
    by = {t.name: t for t in summary.tables}
    assert summary.exit_code == 5, summary.line()
    for name, other in [
        (f"src.{upper}.Order", f"{lower}.ORDER"), (f"src.{lower}.ORDER", f"{upper}.Order"),
        (f"src.{upper}.my-table", f"{upper}.my_table"),
        (f"src.{upper}.my_table", f"{upper}.my-table"),
    ]:
        assert by[name].exit_code == 5 and other in (by[name].error or ""), summary.line()
        assert "Hive name" in (by[name].error or "")
    assert not (tmp_path / "root" / "mysql" / "src" / upper / "Order").exists()
    for selector in (f"src.{upper}", f"src.{upper}.Order"):  # the clash is outside the run
        one = run_import(cfg, selector, engine=None, full=False)
        order = next(t for t in one.tables if t.table == "Order")
        assert order.exit_code == 5 and f"{lower}.ORDER" in (order.error or ""), one.line()
    one = run_import(cfg, f"src.{upper}.my-table", engine=None, full=False)
    assert one.exit_code == 5 and f"{upper}.my_table" in one.line(), one.line()


@pytest.mark.parametrize("driver", ["mysqlclient", "mysql-connector", "pymysql"])
def test_float_keeps_its_stored_value(tmp_path, sshd, mariadb, odd_dbs, driver):
    _driver_available(driver)
    upper, _ = odd_dbs
    cfg = _config(tmp_path, sshd, mariadb, [upper], tables=["fl"], driver=driver)
    summary = run_import(cfg, None, engine=None, full=False)
    assert summary.exit_code == 0, summary.line()
    rows = {r["id"]: r for r in _read_rows(tmp_path / "root", "src", upper, "fl")}
    assert rows[1]["f"] == 16777216.0  # the server's FLOAT text says 16777200
    assert rows[1]["f2"] == 123456.125
    assert abs(rows[2]["f"] - 3.1415927) < 1e-7 and rows[2]["f2"] is None  # text: 3.14159
    assert rows[3]["f"] == 1.5 and rows[3]["f2"] == -0.25


@pytest.mark.parametrize("driver", ["mysqlclient", "mysql-connector", "pymysql"])
def test_first_incremental_load_keeps_null_check_column_rows(
    tmp_path, sshd, mariadb, odd_dbs, driver
):
    _driver_available(driver)
    upper, _ = odd_dbs
    inc = {
        "lm": {"mode": "lastmodified", "column": "m", "key": "id"},
        "allnull": {"mode": "lastmodified", "column": "m", "key": "id"},
    }
    cfg = _config(tmp_path, sshd, mariadb, [upper], tables=["lm", "allnull"], incremental=inc,
                  driver=driver)
    summary = run_import(cfg, None, engine=None, full=False)
    assert summary.exit_code == 0, summary.line()
    root = tmp_path / "root"
    assert sorted(r["id"] for r in _read_rows(root, "src", upper, "lm")) == [1, 2, 3]
    assert sorted(r["id"] for r in _read_rows(root, "src", upper, "allnull")) == [1, 2]
    again = run_import(cfg, None, engine=None, full=False)  # nothing newer: no new load
    assert again.exit_code == 0 and all(t.load is None for t in again.tables), again.line()
    assert sorted(r["id"] for r in _read_rows(root, "src", upper, "lm")) == [1, 2, 3]


def test_views_and_empty_globs_are_said(tmp_path, sshd, mariadb, odd_dbs, caplog):
    upper, _ = odd_dbs
    caplog.set_level(logging.WARNING)
    cfg = _config(tmp_path, sshd, mariadb, [upper], tables=["v_*", "fl"])
    summary = run_import(cfg, None, engine=None, full=False)
    assert summary.exit_code == 0 and [t.table for t in summary.tables] == ["fl"]
    assert "skipping 1 view(s)" in caplog.text and "v_order" in caplog.text
    one = run_import(cfg, f"src.{upper}.v_order", engine=None, full=False)
    assert one.exit_code == 2 and "is a view" in one.line(), one.line()
    cfg = _config(tmp_path, sshd, mariadb, [upper], tables=["nomatch*"])
    none = run_import(cfg, None, engine=None, full=False)
    assert none.exit_code == 0 and not none.tables
    assert "match none of its" in caplog.text and "nomatch*" in caplog.text


def test_binary_watermark_is_refused_and_others_import(tmp_path, sshd, mariadb, odd_dbs):
    upper, _ = odd_dbs
    cfg = _config(tmp_path, sshd, mariadb, [upper], tables=["ub", "fl"],
                  incremental={"ub": {"mode": "append", "column": "u"}})
    summary = run_import(cfg, None, engine=None, full=False)
    by = {t.table: t for t in summary.tables}
    assert summary.exit_code == 2 and by["fl"].error is None, summary.line()
    assert by["ub"].exit_code == 2 and "binary(16)" in (by["ub"].error or ""), summary.line()


def test_dropped_table_fails_unless_excluded(tmp_path, sshd, mariadb, odd_dbs):
    upper, _ = odd_dbs
    mariadb.execute("CREATE TABLE gone_soon (id INT PRIMARY KEY)", database=upper)
    cfg = _config(tmp_path, sshd, mariadb, [upper], tables=["gone_soon", "fl"])
    assert run_import(cfg, None, engine=None, full=False).exit_code == 0
    mariadb.execute("DROP TABLE gone_soon", database=upper)
    summary = run_import(cfg, None, engine=None, full=False)  # gone, or its grant revoked?
    assert summary.exit_code == 5 and [t.table for t in summary.tables] == ["gone_soon", "fl"]
    assert "cannot see" in summary.line() and f"{upper}.gone_soon" in summary.line()
    cfg = _config(tmp_path, sshd, mariadb, [upper], tables=["gone_soon", "fl"],
                  exclude=["gone_soon"])
    summary = run_import(cfg, None, engine=None, full=False)
    assert summary.exit_code == 0 and [t.table for t in summary.tables] == ["fl"]


def test_column_named_load_fails_before_export(tmp_path, sshd, mariadb, odd_dbs):
    upper, _ = odd_dbs
    cfg = _config(tmp_path, sshd, mariadb, [upper], tables=["withload", "fl"])
    summary = run_import(cfg, None, engine=None, full=False)
    by = {t.table: t for t in summary.tables}
    assert summary.exit_code == 5 and by["fl"].error is None, summary.line()
    assert "Load" in (by["withload"].error or "") and "partition" in (by["withload"].error or "")
    assert not (tmp_path / "root" / "mysql" / "src" / upper / "withload").exists()


def test_drift_on_an_incremental_table_names_its_mode(tmp_path, sshd, mariadb, odd_dbs):
    upper, _ = odd_dbs
    mariadb.execute("CREATE TABLE drifty (id INT PRIMARY KEY)", database=upper)
    mariadb.execute("INSERT INTO drifty VALUES (1)", database=upper)
    cfg = _config(tmp_path, sshd, mariadb, [upper], tables=["drifty"],
                  incremental={"drifty": {"mode": "append", "column": "id"}})
    assert run_import(cfg, None, engine=None, full=False).exit_code == 0
    mariadb.execute("ALTER TABLE drifty ADD COLUMN z INT", database=upper)
    summary = run_import(cfg, None, engine=None, full=False)
    line = summary.tables[0].line()
    assert summary.exit_code == 5 and "[python append] FAILED" in line and "--full" in line, line


def test_sqoop_full_load_of_incremental_table_keeps_nulls_and_float_digits():
    cols = (SourceColumn("id", "int", "int(11)"), SourceColumn("m", "datetime", "datetime"),
            SourceColumn("f", "float", "float"))
    plan = SqoopPlan(jdbc_host="h", jdbc_port=1, database="d", table="t", username="u",
                     password_file="file:///p", target_dir="s3://b/x", columns=cols,
                     mappers=4, check_column="m", upper_bound="2024-01-02 00:00:00", include_nulls=True)
    query = (argv := sqoop_argv(plan, sqoop_bin="sqoop"))[argv.index("--query") + 1]
    assert "`f` + 0E0 AS `f`" in query
    assert "WHERE (`m` <= '2024-01-02 00:00:00' OR `m` IS NULL) AND $CONDITIONS" in query


def test_lastmodified_key_defaults_to_the_primary_key(tmp_path, sshd, mariadb):
    db = mariadb.create_database("lmkey")
    for sql in (
        "CREATE TABLE t (a INT, b VARCHAR(5), m DATETIME, v INT, PRIMARY KEY (a, b))",
        "INSERT INTO t VALUES (1, 'x', '2024-01-01 00:00:00', 1), (2, 'y', '2024-01-01 00:00:00', 2)",
        "CREATE TABLE nokey (id INT, m DATETIME)",
        "INSERT INTO nokey VALUES (1, '2024-01-01 00:00:00')",
    ):
        mariadb.execute(sql, database=db)
    mariadb.create_user(USER, PASSWORD, db)
    inc = {f"{db}.t": {"mode": "lastmodified", "column": "m"},
           f"{db}.nokey": {"mode": "lastmodified", "column": "m"}}
    cfg = _config(tmp_path, sshd, mariadb, [db], incremental=inc)
    first = run_import(cfg, None, engine=None, full=False)
    by = {t.table: t for t in first.tables}
    assert by["t"].exit_code == 0, first.line()
    # without a primary key there is nothing to default to: one clear error for that table
    assert by["nokey"].exit_code == 2 and "needs key" in (by["nokey"].error or ""), first.line()
    mariadb.execute("UPDATE t SET v = 20, m = '2024-02-01 00:00:00' WHERE a = 2", database=db)
    second = run_import(cfg, f"src.{db}.t", engine=None, full=False)
    assert second.exit_code == 0, second.line()
    rows = _read_rows(tmp_path / "root", "src", db, "t")
    # the loads table keeps every version; lastmodified re-reads rows at the watermark
    assert sorted(r["v"] for r in rows) == [1, 1, 2, 20]
