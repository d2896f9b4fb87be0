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
