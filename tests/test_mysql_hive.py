"""Imported tables as Hive reads them (Spark's Thrift server), through the tunnel."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.test_mysql_import import (
    COLUMNS,
    EXPECTED_SQL,
    INCREMENTAL,
    PASSWORD,
    USER,
    _insert,
    _query,
    make_inc_db,
    make_nasty_db,
)
from warehouse.config import config_from_dict
from warehouse.mysql.importer import run_import

pytestmark = [pytest.mark.mysql, pytest.mark.hive, pytest.mark.slow]

DECIMALS = {"dec10", "ub"}  # Hive DECIMAL columns of the nasty table


@pytest.fixture(scope="module")
def nasty_db(mariadb) -> str:
    return make_nasty_db(mariadb)


@pytest.fixture()
def inc_db(mariadb) -> str:
    return make_inc_db(mariadb)


def _cfg(tmp_path: Path, sshd, mariadb, hive_server, databases: list[str], hive_db: str,
         **mysql: Any):
    pw = tmp_path / "db.pass"
    pw.write_text(PASSWORD)
    section = mariadb.mysql_section(databases, USER, str(pw), tunnel="bastion")
    section.update(mysql)
    return config_from_dict(
        {
            "warehouse": {"root": str(tmp_path / "root")},
            "hive": hive_server.hive_dict(hive_db),
            "ssh": {"bastion": sshd.ssh_section()},
            "mysql": {"src": section},
        }
    )


def _hive_rows(hive_server, database: str, sql: str) -> list[dict[str, Any]]:
    conn = hive_server.connect(database)
    try:
        cur = conn.cursor()
        cur.execute(sql)
        names = [d[0].split(".")[-1] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    finally:
        conn.close()


def _norm(column: str, value: Any) -> Any:
    if value is None:
        return None
    if column in DECIMALS:
        return Decimal(str(value))
    return value


def test_hive_reads_what_mariadb_holds(tmp_path, sshd, mariadb, nasty_db, hive_server):
    cfg = _cfg(tmp_path, sshd, mariadb, hive_server, [nasty_db], "imp_nasty",
               exclude=["*_tmp"])
    summary = run_import(cfg, None, engine=None, full=False)
    assert summary.exit_code == 0, summary.line()
    rows = _hive_rows(hive_server, "imp_nasty",
                      f"SELECT * FROM mysql_src_{nasty_db}_nasty ORDER BY id")
    expected = [dict(zip(COLUMNS, r, strict=True)) for r in _query(mariadb, nasty_db, EXPECTED_SQL)]
    assert len(rows) == len(expected)
    for got, want in zip(rows, expected, strict=True):
        assert got.pop("load") == summary.tables[0].load
        assert {k: _norm(k, v) for k, v in got.items()} == {
            k: _norm(k, v) for k, v in want.items()
        }, f"row {want['id']}"
    # a re-run replaces the full load: Hive still sees each row once
    again = run_import(cfg, None, engine=None, full=False)
    assert again.exit_code == 0, again.line()
    count = _hive_rows(hive_server, "imp_nasty",
                       f"SELECT COUNT(*) AS n FROM mysql_src_{nasty_db}_nasty")
    assert count == [{"n": len(expected)}]


def test_hive_latest_view_newest_row_per_key(tmp_path, sshd, mariadb, inc_db, hive_server):
    cfg = _cfg(tmp_path, sshd, mariadb, hive_server, [inc_db], "imp_inc",
               incremental=INCREMENTAL)
    _insert(mariadb, inc_db, "items", [
        {"id": 1, "name": "one", "modified": "2024-01-01 00:00:00"},
        {"id": 2, "name": "two", "modified": "2024-01-01 00:00:00"},
    ])
    assert run_import(cfg, None, engine=None, full=False).exit_code == 0
    mariadb.execute("UPDATE items SET name = 'ONE', modified = '2024-01-02 00:00:00' WHERE id = 1",
                    database=inc_db)
    _insert(mariadb, inc_db, "items", [{"id": 3, "name": "three", "modified": "2024-01-05 00:00:00"}])
    assert run_import(cfg, None, engine=None, full=False).exit_code == 0
    mariadb.execute("UPDATE items SET name = 'TWO', modified = '2024-01-06 00:00:00' WHERE id = 2",
                    database=inc_db)
    s3 = run_import(cfg, None, engine=None, full=False)
    assert s3.exit_code == 0, s3.line()
    view = _hive_rows(hive_server, "imp_inc",
                      "SELECT id, name, modified FROM mysql_src_incdb_items_latest ORDER BY id")
    current = _query(mariadb, inc_db,
                     "SELECT id, name, CAST(modified AS CHAR) FROM items ORDER BY id")
    assert [(r["id"], r["name"], r["modified"]) for r in view] == [tuple(r) for r in current]
    loads = _hive_rows(hive_server, "imp_inc", "SELECT COUNT(*) AS n FROM mysql_src_incdb_items")
    assert loads[0]["n"] > len(current)  # older versions stay in the loads table
