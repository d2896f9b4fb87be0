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


def _latest(hive_server, db: str, table: str, cols: str,
            hive_db: str | None = None) -> list[tuple[Any, ...]]:
    rows = _hive_rows(hive_server, hive_db or db,
                      f"SELECT {cols} FROM mysql_src_{db}_{table}_latest")
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


def test_a_truncated_table_refilled_past_the_watermark_is_seen_with_process(
    tmp_path, sshd, mariadb, hive_server, caplog
):
    # TRUNCATE keeps CREATE_TIME; ids 1..150 written again pass the old MAX and no
    # AUTO_INCREMENT column betrays it: the InnoDB table id (PROCESS) does
    db = "ans_trunc_refill"
    toml = _setup(tmp_path, sshd, mariadb, hive_server, db,
                  "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))",
                  "INSERT INTO t SELECT seq, CONCAT('old', seq) FROM seq_1_to_100",
                  incremental='"t" = { mode = "append", column = "id" }')
    admin = "etl_process"
    mariadb.create_user(admin, PASSWORD, db)
    mariadb.execute(f"GRANT PROCESS ON *.* TO '{admin}'@'%'")
    toml.write_text(toml.read_text().replace(f'user = "{USER}"', f'user = "{admin}"'))
    code, out = _cli(toml)
    assert code == 0 and "100 rows" in out, out
    mariadb.execute("TRUNCATE TABLE t", database=db)
    mariadb.execute("INSERT INTO t SELECT seq, CONCAT('new', seq) FROM seq_1_to_150",
                    database=db)
    caplog.set_level(logging.WARNING)
    code, out = _cli(toml)
    assert code == 0 and "[python full] 150 rows" in out, out
    assert "InnoDB table id changed" in caplog.text
    want = _maria(mariadb, db, "SELECT id, v FROM t")
    assert _latest(hive_server, db, "t", "id, v") == sorted(want)


@pytest.mark.parametrize("driver", ["mysqlclient", "mysql-connector", "pymysql"])
def test_every_driver_probes_for_a_recreated_table(tmp_path, sshd, mariadb, driver):
    # the probe's parameterised comparison and information_schema reads, per driver
    from tests.test_mysql_import import _driver_available, _read_rows

    _driver_available(driver)
    db = f"ans_probe_{driver}".replace("-", "_")
    mariadb.create_database(db)
    for sql in ("CREATE TABLE a (id INT PRIMARY KEY, v VARCHAR(10))",
                "CREATE TABLE m (k VARCHAR(10) PRIMARY KEY, d DATE NOT NULL)",
                "INSERT INTO a VALUES (1, 'x'), (2, 'y'), (3, 'z')",
                "INSERT INTO m VALUES ('a', '2024-01-03'), ('b', '2024-01-04')"):
        mariadb.execute(sql, database=db)
    mariadb.create_user(USER, PASSWORD, db)
    (tmp_path / "db.pass").write_text(PASSWORD + "\n")
    toml = _toml_config(
        tmp_path, sshd, mariadb, tmp_path / "root", db,
        f'driver = "{driver}"\nincremental = {{ "a" = {{ mode = "append", column = "id" }}, '
        '"m" = { mode = "lastmodified", column = "d", lag = 0 } }\n')
    code, out = _cli(toml)
    assert code == 0 and "5 rows" in out, out
    code, out = _cli(toml)  # nothing changed: incremental, nothing read again in full
    assert code == 0 and "[python full]" not in out, out
    mariadb.execute("TRUNCATE TABLE a", database=db)
    mariadb.execute("INSERT INTO a VALUES (1, 'new')", database=db)
    mariadb.execute("DELETE FROM m WHERE k = 'b'", database=db)
    code, out = _cli(toml)
    assert code == 0 and out.count("[python full]") == 2, out
    assert _read_rows(tmp_path / "root", "src", db, "a") == [{"id": 1, "v": "new"}]
    assert [r["k"] for r in _read_rows(tmp_path / "root", "src", db, "m")] == ["a"]


# -- 3. zero dates written under a laxer sql_mode than the server's now ----------------

def _lax_insert(mariadb, db: str, *statements: str) -> None:
    """Run `statements` in a session whose sql_mode allows zero and invalid dates."""
    mariadb.execute_all(statements, db, sql_mode="ALLOW_INVALID_DATES")


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
    assert code == 0 and "[python append] 1 row," in out, out
    assert "hold zero or invalid dates" in caplog.text and "become STRING" in caplog.text
    assert _types(hive_server, db, "mysql_src_ans_zero_a")["d"] == "string"
    got = _hive_rows(hive_server, db, "SELECT id, d, dt, ts FROM mysql_src_ans_zero_a_latest")
    assert sorted(tuple(r.values()) for r in got) == _maria(mariadb, db, DATES_SQL.format("a"))
    # `hive apply` renders the same types from the state alone
    code = CliRunner().invoke(cli, ["--config", str(toml), "hive", "apply"]).exit_code
    assert code == 0
    assert _types(hive_server, db, "mysql_src_ans_zero_a")["d"] == "string"


# -- 2. keys that differ only as the collation ignores ----------------------------------

COLLATIONS = ["utf8mb4_general_ci", "utf8mb4_unicode_ci", "utf8mb4_unicode_520_ci",
              "utf8mb4_uca1400_ai_ci", "utf8mb4_general_nopad_ci", "utf8mb4_bin",
              "utf8mb4_nopad_bin"]
KEY_UPDATES = ("UPDATE {} SET k = 'A' WHERE k = 'a'", "UPDATE {} SET k = 'b ' WHERE k = 'b'",
               "UPDATE {} SET k = 'é' WHERE k = 'e'")


def _key_tables(deletes: dict[str, bool]) -> tuple[list[str], str]:
    """Return the CREATE/INSERT statements of one table per entry and their incremental
    entries (lastmodified on an ON UPDATE column, keyed on the text primary key)."""
    statements, entries = [], []
    for name, dels in deletes.items():
        coll = name.split("__")[0]
        statements += [
            f"CREATE TABLE {name} (k VARCHAR(10) COLLATE {coll} PRIMARY KEY, v INT, "
            "m TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE "
            "CURRENT_TIMESTAMP(6))",
            f"INSERT INTO {name} (k, v) VALUES ('a', 1), ('b', 2), ('e', 3), ('z', 4)",
        ]
        entries.append(f'"{name}" = {{ mode = "lastmodified", column = "m", '
                       f'deletes = {str(dels).lower()} }}')
    return statements, ", ".join(entries)


def test_keys_changed_in_case_accents_or_trailing_spaces_are_one_row(
    tmp_path, sshd, mariadb, hive_server
):
    # under utf8mb4_general_ci, k = 'A' for 'a' (or 'b ' for 'b') is the same row to
    # MariaDB; _latest returned both spellings (5 rows for 3)
    db = "ans_keys"
    tables = {c: True for c in COLLATIONS} | {"utf8mb4_general_ci__nodel": False}
    statements, entries = _key_tables(tables)
    toml = _setup(tmp_path, sshd, mariadb, hive_server, db, *statements, incremental=entries)
    code, out = _cli(toml)
    assert code == 0 and f"{len(tables)} tables ({len(tables)} ok" in out, out
    for name in tables:
        for sql in KEY_UPDATES:
            mariadb.execute(sql.format(name), database=db)
    code, out = _cli(toml)
    assert code == 0 and f"{len(tables)} ok" in out, out
    for name in tables:
        want = sorted(_maria(mariadb, db, f"SELECT k, v FROM {name}"))
        assert _latest(hive_server, db, name.lower(), "k, v") == want, name
    # the key's weight identifies rows; it is not one of MySQL's columns
    cols = _hive_rows(hive_server, db, f"SELECT * FROM mysql_src_{db}_utf8mb4_general_ci_latest")
    assert sorted(cols[0]) == ["k", "load", "m", "v"]


def test_latest_of_an_old_root_without_key_weights_still_works(
    tmp_path, sshd, mariadb, hive_server, caplog
):
    # a root written before the key weights: `hive apply` renders the view on the raw
    # key; the next import reads the table again in full once, then keys compare as
    # MariaDB compares them
    import json

    from warehouse.mysql.state import state_key

    db = "ans_oldkeys"
    statements, entries = _key_tables({"utf8mb4_general_ci": False})
    toml = _setup(tmp_path, sshd, mariadb, hive_server, db, *statements, incremental=entries)
    code, out = _cli(toml)
    assert code == 0, out
    state_file = tmp_path / "root" / state_key("src", db, "utf8mb4_general_ci")
    state = json.loads(state_file.read_text())
    state.pop("key_weights")
    state_file.write_text(json.dumps(state))
    fresh = "ans_oldkeys_fresh"  # a new metastore, as on a new cluster
    toml.write_text(toml.read_text().replace(f'database = "{db}"\n',
                                             f'database = "{fresh}"\n'))
    res = CliRunner().invoke(cli, ["--config", str(toml), "hive", "apply"])
    assert res.exit_code == 0, res.output
    want = sorted(_maria(mariadb, db, "SELECT k, v FROM utf8mb4_general_ci"))
    assert _latest(hive_server, db, "utf8mb4_general_ci", "k, v", fresh) == want
    for sql in KEY_UPDATES:
        mariadb.execute(sql.format("utf8mb4_general_ci"), database=db)
    caplog.set_level(logging.INFO)
    code, out = _cli(toml)
    assert code == 0 and "[python full]" in out, out
    assert "its key is compared as MySQL compares it from now on" in caplog.text
    want = sorted(_maria(mariadb, db, "SELECT k, v FROM utf8mb4_general_ci"))
    assert _latest(hive_server, db, "utf8mb4_general_ci", "k, v", fresh) == want


# -- 5. a tunnel dropped under PyMySQL: one error line, nothing after it ----------------


@pytest.mark.parametrize("backend", ["openssh", "paramiko"])
def test_a_dropped_tunnel_under_pymysql_prints_no_ignored_exceptions(
    tmp_path, sshd_factory, mariadb, backend
):
    # exit code and message were right, then ~30 lines of "Exception ignored in ...
    # AttributeError" from PyMySQL's cursors and results collected after the drop
    import os
    import subprocess
    import sys

    from tests.fixtures._util import wait_for

    db = mariadb.create_database(f"ans_drop_{backend}")
    mariadb.execute("CREATE TABLE big (id INT PRIMARY KEY, pad VARCHAR(200))", database=db)
    mariadb.execute("INSERT INTO big SELECT seq, REPEAT('x', 150) FROM seq_1_to_400000",
                    database=db)
    mariadb.create_user(USER, PASSWORD, db)
    (tmp_path / "db.pass").write_text(PASSWORD + "\n")
    bastion = sshd_factory()
    root = tmp_path / "root"
    toml = _toml_config(tmp_path, bastion, mariadb, root, db, 'driver = "pymysql"\n')
    toml.write_text(toml.read_text().replace(
        "[mysql.src]", f'backend = "{backend}"\nkeepalive_seconds = 1.0\n[mysql.src]'))
    stderr = tmp_path / "stderr.txt"
    with open(stderr, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "warehouse.cli", "--config", str(toml), "import"],
            stdout=subprocess.PIPE, stderr=err, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            def writing() -> bool:
                return any(p.name.startswith("_") for p in (root / "mysql").rglob("*")) \
                    if (root / "mysql").exists() else False

            wait_for(writing, 120, "the import to start writing", poll=0.01)
            bastion.kill()
            out, _ = proc.communicate(timeout=180)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    text = stderr.read_text() + out.decode()
    assert proc.returncode == 3, text
    assert f"127.0.0.1:{bastion.port}" in text, text
    assert "Exception ignored" not in text and "Traceback" not in text, text
    assert "AttributeError" not in text, text


# -- 6. a superseded load is not "left by an interrupted import" -----------------------


def test_replaced_loads_are_logged_as_superseded(tmp_path, sshd, mariadb, caplog):
    # every full load logged "removing load=... left by an interrupted import" for the
    # complete load it replaced
    mariadb.create_database("ans_superseded")
    mariadb.execute("CREATE TABLE t (id INT PRIMARY KEY)", database="ans_superseded")
    mariadb.execute("INSERT INTO t VALUES (1)", database="ans_superseded")
    mariadb.create_user(USER, PASSWORD, "ans_superseded")
    (tmp_path / "db.pass").write_text(PASSWORD + "\n")
    toml = _toml_config(tmp_path, sshd, mariadb, tmp_path / "root", "ans_superseded")

    def verbose_import() -> None:
        res = CliRunner().invoke(cli, ["-v", "--config", str(toml), "import"])
        assert res.exit_code == 0, res.output

    verbose_import()
    caplog.set_level(logging.INFO)
    caplog.clear()
    verbose_import()  # a full load replaces the first one
    assert "(superseded by the new load)" in caplog.text
    assert "interrupted" not in caplog.text
    leftover = tmp_path / "root" / "mysql" / "src" / "ans_superseded" / "t" / "load=1" / "_p"
    leftover.parent.mkdir()
    leftover.write_text("")
    caplog.clear()
    verbose_import()  # a real leftover is still called one
    assert "load=1/_p left by an interrupted import" in caplog.text
