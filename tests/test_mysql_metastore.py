"""A fresh metastore over a root of imports: `warehouse hive apply` rebuilds every table.

Real services: MariaDB reached through sshd (the imports), Spark's Thrift server (the
metastore; a new database name stands for a new EMR cluster's empty metastore). The
commands run through the CLI, as cron would run them.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import tomlkit
from click.testing import CliRunner

from tests.test_mysql_hive import _hive_rows
from tests.test_mysql_import import (
    COLUMNS,
    EXPECTED_SQL,
    PASSWORD,
    USER,
    _insert,
    _query,
    make_nasty_db,
)
from warehouse.cli import cli
from warehouse.mysql.state import state_key

pytestmark = [pytest.mark.mysql, pytest.mark.hive, pytest.mark.slow]

DECIMALS = {"dec10", "ub"}
INC = {
    "metadb.audit": {"mode": "append", "column": "id"},
    # key: the primary key; deletes: the _latest view leaves deleted keys out
    "metadb.items": {"mode": "lastmodified", "column": "modified", "deletes": True},
}


def _make_meta_db(mariadb) -> str:
    db = mariadb.create_database("metadb")
    mariadb.execute("CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(50))",
                    database=db)
    mariadb.execute("CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(50), "
                    "price DECIMAL(10,2), modified DATETIME(6) NOT NULL)", database=db)
    mariadb.execute("CREATE TABLE plain (id INT PRIMARY KEY, v INT)", database=db)
    mariadb.create_user(USER, PASSWORD, db)
    return db


def _write_config(path: Path, tmp_path: Path, sshd, mariadb, hive_server, dbs: list[str],
                  hive_db: str | None) -> Path:
    pw = tmp_path / "db.pass"
    pw.write_text(PASSWORD)
    doc: dict[str, Any] = {
        "warehouse": {"root": str(tmp_path / "root")},
        "ssh": {"bastion": sshd.ssh_section()},
        "mysql": {"src": mariadb.mysql_section(dbs, USER, str(pw), tunnel="bastion",
                                               incremental=INC, exclude=["*_tmp"])},
    }
    if hive_db is not None:
        doc["hive"] = hive_server.hive_dict(hive_db)
    path.write_text(tomlkit.dumps(doc))
    return path


def _cli(toml: Path, *args: str) -> str:
    res = CliRunner().invoke(cli, ["--config", str(toml), *args])
    assert res.exit_code == 0, res.output
    return res.output


def _norm(column: str, value: Any) -> Any:
    return Decimal(str(value)) if value is not None and column in DECIMALS else value


def _assert_equals_mariadb(hive_server, hive_db: str, mariadb, meta: str, nasty: str) -> None:
    """Every imported table (and the _latest view) as Hive reads it equals MariaDB now."""
    latest = _hive_rows(hive_server, hive_db, "SELECT id, name, CAST(price AS STRING) AS price, "
                        "modified FROM mysql_src_metadb_items_latest ORDER BY id")
    want = _query(mariadb, meta, "SELECT id, name, CAST(price AS CHAR), CAST(modified AS CHAR) "
                  "FROM items ORDER BY id")
    assert [(r["id"], r["name"], r["price"], r["modified"]) for r in latest] == [
        tuple(r) for r in want]
    audit = _hive_rows(hive_server, hive_db, "SELECT id, what FROM mysql_src_metadb_audit_latest "
                       "ORDER BY id")
    assert [(r["id"], r["what"]) for r in audit] == [
        tuple(r) for r in _query(mariadb, meta, "SELECT id, what FROM audit ORDER BY id")]
    plain = _hive_rows(hive_server, hive_db, "SELECT id, v FROM mysql_src_metadb_plain ORDER BY id")
    assert [(r["id"], r["v"]) for r in plain] == [
        tuple(r) for r in _query(mariadb, meta, "SELECT id, v FROM plain ORDER BY id")]
    rows = _hive_rows(hive_server, hive_db, f"SELECT * FROM mysql_src_{nasty}_nasty ORDER BY id")
    expected = [dict(zip(COLUMNS, r, strict=True)) for r in _query(mariadb, nasty, EXPECTED_SQL)]
    assert len(rows) == len(expected)
    for got, exp in zip(rows, expected, strict=True):
        got.pop("load")
        assert {k: _norm(k, v) for k, v in got.items()} == {
            k: _norm(k, v) for k, v in exp.items()}, f"row {exp['id']}"


def test_fresh_metastore_equals_mariadb_after_one_hive_apply(
    tmp_path, sshd, mariadb, hive_server
):
    meta = _make_meta_db(mariadb)
    nasty = make_nasty_db(mariadb)
    mariadb.create_user(USER, PASSWORD, meta, nasty)
    dbs = [meta, nasty]
    no_hive = _write_config(tmp_path / "nohive.toml", tmp_path, sshd, mariadb, hive_server,
                            dbs, None)
    # three imports without [hive]: several loads per incremental table
    _insert(mariadb, meta, "items", [
        {"id": 1, "name": "one", "price": "1.00", "modified": "2024-01-01 00:00:00"},
        {"id": 2, "name": "two", "price": "2.00", "modified": "2024-01-01 00:00:00"},
        {"id": 4, "name": "four", "price": "4.00", "modified": "2024-01-01 00:00:00"},
    ])
    _insert(mariadb, meta, "audit", [{"what": "a"}, {"what": "b"}])
    _insert(mariadb, meta, "plain", [{"id": 1, "v": 10}])
    _cli(no_hive, "import")
    mariadb.execute("UPDATE items SET name = 'ONE', price = 1.5, modified = '2024-01-02' "
                    "WHERE id = 1", database=meta)
    _insert(mariadb, meta, "items", [
        {"id": 3, "name": "three", "price": None, "modified": "2024-01-03 00:00:00"}])
    _insert(mariadb, meta, "audit", [{"what": "c"}])
    mariadb.execute("UPDATE plain SET v = 11 WHERE id = 1", database=meta)
    _cli(no_hive, "import")
    mariadb.execute("UPDATE items SET name = 'TWO', modified = '2024-01-04' WHERE id = 2",
                    database=meta)
    mariadb.execute("DELETE FROM items WHERE id = 4", database=meta)
    _insert(mariadb, meta, "audit", [{"what": "d"}, {"what": "e"}])
    _cli(no_hive, "import")
    root = tmp_path / "root"
    items_state = json.loads((root / state_key("src", meta, "items")).read_text())
    assert len(items_state["loads"]) == 3 and items_state["key"] == ["id"]
    # a leftover of an interrupted import: never registered
    (root / "mysql/src" / meta / "items/load=20000101T000000000000Z").mkdir()
    ((root / "mysql/src" / meta / "items/load=20000101T000000000000Z/part-000-00000.json.gz")
     .write_bytes(b""))

    # a new cluster: an empty metastore, one command
    fresh = _write_config(tmp_path / "fresh.toml", tmp_path, sshd, mariadb, hive_server,
                          dbs, "meta_fresh")
    out = _cli(fresh, "hive", "apply")
    assert "0 changed" in out and "failed" not in out and "not made" not in out, out
    _assert_equals_mariadb(hive_server, "meta_fresh", mariadb, meta, nasty)
    parts = _hive_rows(hive_server, "meta_fresh", "SHOW PARTITIONS mysql_src_metadb_items")
    assert len(parts) == 3  # the leftover folder is not a load
    for table in ("events", "access_raw", "mysql_src_metadb_items_latest",
                  "mysql_src_metadb_items_deletes", "mysql_src_metadb_audit_latest"):
        assert _hive_rows(hive_server, "meta_fresh", f"SHOW TABLES LIKE '{table}'")
    # idempotent: nothing to create or add the second time
    again = _cli(fresh, "hive", "apply")
    assert " 0 created" in again and " 0 added" in again, again

    # the next import with [hive] keeps the rebuilt metastore and adds its load
    mariadb.execute("UPDATE items SET price = 9.99, modified = '2024-01-05' WHERE id = 3",
                    database=meta)
    _cli(fresh, "import")
    _assert_equals_mariadb(hive_server, "meta_fresh", mariadb, meta, nasty)

    # a metastore that never saw the first loads catches up at the next import
    late = _write_config(tmp_path / "late.toml", tmp_path, sshd, mariadb, hive_server,
                         dbs, "meta_late")
    mariadb.execute("UPDATE items SET name = 'three!', modified = '2024-01-06' WHERE id = 3",
                    database=meta)
    _cli(late, "import")
    _assert_equals_mariadb(hive_server, "meta_late", mariadb, meta, nasty)


def test_roots_written_before_the_schema_was_recorded(tmp_path, sshd, mariadb, hive_server):
    meta = _make_meta_db(mariadb)
    no_hive = _write_config(tmp_path / "nohive.toml", tmp_path, sshd, mariadb, hive_server,
                            [meta], None)
    _insert(mariadb, meta, "items", [
        {"id": 1, "name": "one", "price": "12345678.91", "modified": "2024-01-01 00:00:00"}])
    _cli(no_hive, "import")
    root = tmp_path / "root"
    for table in ("items", "audit", "plain"):
        key = root / state_key("src", meta, table)
        state = json.loads(key.read_text())
        del state["schema"], state["key"]  # as written before either was recorded
        key.write_text(json.dumps(state))
    toml = _write_config(tmp_path / "old.toml", tmp_path, sshd, mariadb, hive_server,
                         [meta], "meta_old")
    # the row keys are not recorded and not configured: the views cannot be made
    res = CliRunner().invoke(cli, ["--config", str(toml), "hive", "apply"])
    assert res.exit_code == 0, res.output
    assert "2 not made: mysql_src_metadb_audit_latest" in res.output
    assert "; mysql_src_metadb_items_latest (" in res.output
    assert "warehouse import src.metadb.items" in res.output
    rows = _hive_rows(hive_server, "meta_old", "SELECT id, name, CAST(price AS STRING) AS p, "
                      "modified FROM mysql_src_metadb_items")
    assert [(r["id"], r["name"], r["p"], r["modified"]) for r in rows] == [
        (1, "one", "12345678.91", "2024-01-01 00:00:00.000000")]
    # `hive partitions` makes an imported table from the root too, on an empty metastore
    part_toml = _write_config(tmp_path / "p.toml", tmp_path, sshd, mariadb, hive_server,
                              [meta], "meta_parts")
    out = _cli(part_toml, "hive", "partitions", "-t", "mysql_src_metadb_items", "--all")
    assert "1 added" in out, out
    unknown = CliRunner().invoke(cli, ["--config", str(part_toml), "hive", "partitions", "-t",
                                       "mysql_src_metadb_nothing", "--all"])
    assert unknown.exit_code == 2, unknown.output
    assert "warehouse import" in unknown.output and "cannot create it" in unknown.output
