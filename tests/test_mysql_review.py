"""Regressions found by an adversarial review of `warehouse import`, through the CLI
against the real MariaDB reached through the real sshd tunnel."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests import test_failures_local as _local
from tests.test_mysql_hive import _hive_rows
from tests.test_mysql_import import PASSWORD, USER, _read_rows, _toml_config
from warehouse.cli import cli

pytestmark = pytest.mark.mysql

small_disk = _local.small_disk  # a fixture: a folder on its own 2 MiB tmpfs


def _cli(toml: Path, *args: str) -> tuple[int, str]:
    res = CliRunner().invoke(cli, ["--config", str(toml), "import", *args])
    assert PASSWORD not in res.output
    return res.exit_code, res.output


def _setup(tmp_path: Path, sshd, mariadb, db: str, *statements: str, extra: str = "") -> Path:
    mariadb.create_database(db)
    for sql in statements:
        mariadb.execute(sql, database=db)
    mariadb.create_user(USER, PASSWORD, db)
    (tmp_path / "db.pass").write_text(PASSWORD + "\n")
    return _toml_config(tmp_path, sshd, mariadb, tmp_path / "root", db, extra)


def test_system_versioned_tables_are_imported_and_sequences_said(
    tmp_path, sshd, mariadb, caplog
):
    # information_schema says 'SYSTEM VERSIONED', not 'BASE TABLE': such a table was
    # neither imported nor mentioned (`*` skipped it in silence; by name: "not found")
    toml = _setup(
        tmp_path, sshd, mariadb, "rv_versioned",
        "CREATE TABLE hist (id INT PRIMARY KEY, v VARCHAR(5)) WITH SYSTEM VERSIONING",
        "INSERT INTO hist VALUES (1, 'a'), (2, 'b')",
        "UPDATE hist SET v = 'c' WHERE id = 2",
        "CREATE TABLE plain (id INT PRIMARY KEY)",
        "CREATE SEQUENCE seq_ids",
    )
    caplog.set_level(logging.WARNING)
    code, out = _cli(toml)
    assert code == 0 and "2 tables (2 ok, 0 failed)" in out, out
    rows = _read_rows(tmp_path / "root", "src", "rv_versioned", "hist")
    assert sorted(rows, key=lambda r: r["id"]) == [{"id": 1, "v": "a"}, {"id": 2, "v": "c"}]
    assert "seq_ids" in caplog.text and "sequence" in caplog.text
    code, out = _cli(toml, "src.rv_versioned.hist")
    assert code == 0 and "1 table (1 ok, 0 failed), 2 rows" in out, out
    code, out = _cli(toml, "src.rv_versioned.seq_ids")
    assert code == 2 and "sequence" in out, out


def test_lastmodified_update_keeping_the_column_value_is_read_again(tmp_path, sshd, mariadb):
    # an update within the column's resolution (the same second of a TIMESTAMP, the same
    # day of a DATE) leaves the check column as it was: the window checksum must still see
    # it, or the run adds no load and _latest keeps the old row
    toml = _setup(
        tmp_path, sshd, mariadb, "rv_sameticks",
        "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10), m TIMESTAMP NOT NULL "
        "DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP)",
        "INSERT INTO t (id, v) VALUES (1, 'old'), (2, 'two')",
        "CREATE TABLE d (id INT PRIMARY KEY, v VARCHAR(10), day DATE NOT NULL)",
        "INSERT INTO d VALUES (1, 'old', UTC_DATE()), (2, 'two', UTC_DATE())",
        extra='incremental = { "rv_sameticks.t" = { mode = "lastmodified", column = "m" }, '
              '"rv_sameticks.d" = { mode = "lastmodified", column = "day", lag = 0 } }',
    )
    code, out = _cli(toml)
    assert code == 0 and "2 tables (2 ok, 0 failed), 4 rows" in out, out
    mariadb.execute("UPDATE t SET v = 'new', m = m WHERE id = 1", database="rv_sameticks")
    mariadb.execute("UPDATE d SET v = 'new' WHERE id = 1", database="rv_sameticks")
    code, out = _cli(toml)
    assert code == 0 and "2 tables (2 ok, 0 failed), 4 rows" in out, out
    for table in ("t", "d"):
        rows = _read_rows(tmp_path / "root", "src", "rv_sameticks", table)
        assert {r["v"] for r in rows if r["id"] == 1} == {"old", "new"}, table
    code, out = _cli(toml)  # nothing changed since: no load
    assert code == 0 and "0 rows" in out, out


def test_a_server_wide_statement_time_limit_does_not_kill_the_export(tmp_path, sshd, mariadb):
    # DBAs set max_statement_time (MariaDB) / max_execution_time (MySQL) against runaway
    # queries: every export longer than it failed with error 1969, run after run
    toml = _setup(
        tmp_path, sshd, mariadb, "rv_timelimit",
        "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(60))",
        "INSERT INTO t SELECT seq, REPEAT('v', 60) FROM seq_1_to_200000",
        extra='incremental = { "rv_timelimit.t" = { mode = "append", column = "id", '
              'deletes = true } }',
    )
    mariadb.execute("SET GLOBAL max_statement_time = 0.01")
    try:
        code, out = _cli(toml)
        second, out2 = _cli(toml)  # the probe and the key scan too
    finally:
        mariadb.execute("SET GLOBAL max_statement_time = 0")
    assert code == 0 and "200,000 rows" in out, out
    assert second == 0 and "1 table (1 ok, 0 failed)" in out2, out2
    assert len(_read_rows(tmp_path / "root", "src", "rv_timelimit", "t")) == 200_000


def test_table_names_that_are_not_one_folder_are_refused(tmp_path, sshd, mariadb):
    # MySQL allows `a/load=1` and `..`: the first wrote inside table a's folder (whose
    # orphan sweep then deleted it), the second above its database's folder
    toml = _setup(
        tmp_path, sshd, mariadb, "rv_paths",
        "CREATE TABLE `a` (id INT PRIMARY KEY)", "INSERT INTO `a` VALUES (1)",
        "CREATE TABLE `a/load=1` (id INT PRIMARY KEY)", "INSERT INTO `a/load=1` VALUES (2)",
        "CREATE TABLE `..` (id INT PRIMARY KEY)", "INSERT INTO `..` VALUES (3)",
    )
    code, out = _cli(toml)
    assert code == 5 and "3 tables (1 ok, 2 failed)" in out, out
    assert "'a/load=1' cannot be a folder" in out and "'..' cannot be a folder" in out, out
    root = tmp_path / "root"
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert [f.rsplit("/", 2)[0] for f in files if f.startswith("mysql/")] == [
        "mysql/src/rv_paths/a"], files
    assert _read_rows(root, "src", "rv_paths", "a") == [{"id": 1}]
    toml.write_text(toml.read_text().replace('exclude = ["*_tmp"]',
                                             'exclude = ["*_tmp", "a/*", ".."]'))
    code, out = _cli(toml)  # excluded: the rest is fine
    assert code == 0 and "1 table (1 ok, 0 failed)" in out, out


def test_a_database_listed_twice_is_imported_once(tmp_path, sshd, mariadb):
    # each table was planned twice: one copy imported, the other failed "in use by
    # another warehouse process" (exit 6, as if a second import were running)
    toml = _setup(tmp_path, sshd, mariadb, "rv_twice",
                  "CREATE TABLE t (id INT PRIMARY KEY)", "INSERT INTO t VALUES (1), (2)")
    toml.write_text(toml.read_text().replace('databases = ["rv_twice"]',
                                             'databases = ["rv_twice", "rv_twice"]'))
    code, out = _cli(toml)
    assert code == 0 and "1 table (1 ok, 0 failed), 2 rows" in out, out


def test_lastmodified_on_a_number_warns_that_late_commits_are_not_covered(
    tmp_path, sshd, mariadb, caplog
):
    # an epoch INT `updated` column was accepted in silence, though neither the lag nor
    # the hold below open transactions applies to it
    toml = _setup(
        tmp_path, sshd, mariadb, "rv_epoch",
        "CREATE TABLE e (id INT PRIMARY KEY, upd INT)",
        "INSERT INTO e VALUES (1, UNIX_TIMESTAMP()), (2, UNIX_TIMESTAMP())",
        extra='incremental = { "e" = { mode = "lastmodified", column = "upd" } }',
    )
    caplog.set_level(logging.WARNING)
    code, out = _cli(toml)
    assert code == 0 and "2 rows" in out, out
    assert "lastmodified column upd is int(11), not a date/time" in caplog.text


@pytest.mark.parametrize("driver", ["auto", "pymysql"])
def test_percent_signs_in_names_survive_parameterised_statements(
    tmp_path, sshd, mariadb, driver
):
    # mysqlclient and PyMySQL format a statement that has parameters with `%`: a column
    # `growth%` (or a table `sales%`) failed every incremental load ("not enough arguments
    # for format string"), and the split ranges' MIN/MAX of a full load
    toml = _setup(
        tmp_path, sshd, mariadb, "rv_percent",
        "CREATE TABLE `sales%` (id INT PRIMARY KEY, `growth%` DECIMAL(5,2), `%s` INT, "
        "m DATETIME NOT NULL)",
        "INSERT INTO `sales%` VALUES (1, 1.5, 7, UTC_TIMESTAMP()), (2, NULL, 8, UTC_TIMESTAMP())",
        extra=f'driver = "{driver}"\nincremental = {{ "sales%" = {{ mode = "lastmodified", '
              'column = "m", deletes = true } }',
    )
    code, out = _cli(toml)
    assert code == 0 and "2 rows" in out, out
    mariadb.execute("UPDATE `sales%` SET `growth%` = 9.25 WHERE id = 2", database="rv_percent")
    code, out = _cli(toml)
    assert code == 0 and "1 table (1 ok, 0 failed)" in out, out
    rows = _read_rows(tmp_path / "root", "src", "rv_percent", "sales%")
    assert {"id": 2, "growth%": "9.25", "%s": 8} in [
        {k: r[k] for k in ("id", "growth%", "%s")} for r in rows], rows


def test_an_incremental_entry_that_matches_no_table_is_said(tmp_path, sshd, mariadb, caplog):
    # a misspelt entry ("rv_typo.order" for orders) imported the table in full every run,
    # without its _latest view or deletes, and said nothing
    toml = _setup(
        tmp_path, sshd, mariadb, "rv_typo",
        "CREATE TABLE orders (id INT PRIMARY KEY)", "INSERT INTO orders VALUES (1)",
        extra='incremental = { "rv_typo.order" = { mode = "append", column = "id" } }',
    )
    caplog.set_level(logging.WARNING)
    code, out = _cli(toml)
    assert code == 0 and "[python full]" in out, out
    assert "incremental entries match no imported table: rv_typo.order" in caplog.text
    caplog.clear()
    toml.write_text(toml.read_text().replace('"rv_typo.order"', '"Orders"'))
    code, out = _cli(toml, "--full")  # full -> incremental is a settings change
    assert code == 0 and "[python full]" in out, out
    assert "match no imported table" not in caplog.text


@pytest.mark.hive
def test_a_full_load_failing_at_its_state_keeps_hive_on_the_previous_load(
    tmp_path, sshd, mariadb, hive_server, small_disk
):
    # registration dropped the replaced load's partition before the state was saved; when
    # the save failed (a full disk), the new load's files were removed: Hive showed nothing
    hive = hive_server.hive_dict("rv_statefail")
    toml = _setup(
        tmp_path, sshd, mariadb, "rv_statefail",
        "CREATE TABLE t (id INT PRIMARY KEY)", "INSERT INTO t VALUES (1), (2), (3)",
        extra="[hive]\n" + "".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in hive.items()),
    )
    root = tmp_path / "root"
    root.mkdir()
    (root / "_state").symlink_to(small_disk)
    code, out = _cli(toml)
    assert code == 0 and "3 rows" in out, out
    sql = "SELECT COUNT(*) AS n FROM mysql_src_rv_statefail_t"
    assert _hive_rows(hive_server, "rv_statefail", sql) == [{"n": 3}]
    filler = small_disk / "filler"
    with open(filler, "wb", buffering=0) as f:  # fill the state's disk
        try:
            while True:
                f.write(b"x" * 4096)
        except OSError:
            pass
    mariadb.execute("INSERT INTO t VALUES (4)", database="rv_statefail")
    code, out = _cli(toml)
    assert code == 3 and "No space left" in out, out
    assert _hive_rows(hive_server, "rv_statefail", sql) == [{"n": 3}]
    filler.unlink()
    code, out = _cli(toml)
    assert code == 0 and "4 rows" in out, out
    assert _hive_rows(hive_server, "rv_statefail", sql) == [{"n": 4}]


def test_a_locked_table_fails_as_locked_not_as_a_lost_connection(tmp_path, sshd, mariadb):
    # the export waited on the lock until the read timeout, then reported "error 2013:
    # Lost connection" (exit 3, as if the bastion or server were down)
    toml = _setup(tmp_path, sshd, mariadb, "rv_locked",
                  "CREATE TABLE t (id INT PRIMARY KEY)", "INSERT INTO t VALUES (1)",
                  "CREATE TABLE free (id INT PRIMARY KEY)")
    toml.write_text(toml.read_text() + "read_timeout_seconds = 5\n")
    holder = mariadb.connect("rv_locked")
    try:
        with holder.cursor() as cur:
            cur.execute("LOCK TABLES t WRITE")
        code, out = _cli(toml)
    finally:
        holder.close()
    assert code == 5 and "1 ok, 1 failed" in out, out
    assert "error 1205" in out and "another session locks the table" in out, out


def test_names_starting_with_an_underscore_are_imported_and_counted(tmp_path, sshd, mariadb):
    # `_prisma_migrations` and friends: folders whose name starts with `_` are hidden from
    # listings of the root, but not below a prefix that names them
    toml = _setup(
        tmp_path, sshd, mariadb, "_rv_hidden",
        "CREATE TABLE _prisma_migrations (id INT PRIMARY KEY, v VARCHAR(10))",
        "INSERT INTO _prisma_migrations VALUES (1, 'a'), (2, 'b')",
    )
    code, out = _cli(toml)
    assert code == 0 and "1 table (1 ok, 0 failed), 2 rows" in out, out
    assert re.search(r"2 rows, [1-9][\d.]* [kM]?B", out), out  # the files were counted
    rows = _read_rows(tmp_path / "root", "src", "_rv_hidden", "_prisma_migrations")
    assert sorted(r["id"] for r in rows) == [1, 2]
