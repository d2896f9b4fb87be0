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


def _sqoop_field(value: Any) -> bytes:
    """One field as Sqoop 1.4 writes it with the engine's argv (see warehouse.mysql.sqoop):
    NULL -> \\N (--null-string/--null-non-string '\\\\N'); --hive-drop-import-delims drops
    \\n, \\r and \\x01 from strings; --escaped-by '\\\\' doubles the escape character."""
    if value is None:
        return b"\\N"
    text = str(value)
    for ch in ("\n", "\r", "\x01"):
        text = text.replace(ch, "")
    return text.replace("\\", "\\\\").encode("utf-8")


def test_sqoop_text_ddl_reads_sqoop_format(tmp_path, hive_server):
    """The text DDL generated for the sqoop engine reads what the argv makes Sqoop write."""
    import gzip as gz

    from warehouse.hive.manage import add_partitions, ensure_tables
    from warehouse.mysql.importer import table_spec
    from warehouse.mysql.schema import SourceColumn

    cols = [
        SourceColumn("id", "int", "int(11)", False),
        SourceColumn("s", "varchar", "varchar(50)"),
        SourceColumn("price", "decimal", "decimal(10,2)", True, 10, 2),
        SourceColumn("created", "datetime", "datetime"),
    ]
    rows = [
        (1, "plain", "1.50", "2024-01-01 00:00:00"),
        (2, None, None, None),
        (3, "", "0.00", "0000-00-00 00:00:00"),
        (4, "\\N", "-2.00", "2024-02-29 23:59:59"),
        (5, "back\\slash\ttab", "3.25", "2024-03-01 00:00:00"),
        (6, "multi\nline\x01ctl", "4.00", "2024-03-02 00:00:00"),
    ]
    spec = table_spec("src", "db", "sq", cols, engine="sqoop", zero_dates=True, format="json")
    cfg = hive_server.config(tmp_path / "root", database="imp_sqoop")
    folder = tmp_path / "root" / spec.location / "load=20240101T000000000000Z"
    folder.mkdir(parents=True)
    lines = b"".join(b"\x01".join(_sqoop_field(v) for v in r) + b"\n" for r in rows)
    (folder / "part-m-00000.gz").write_bytes(gz.compress(lines))
    assert ensure_tables(cfg, [spec]).exit_code == 0
    assert add_partitions(cfg, spec, [{"load": "20240101T000000000000Z"}]).exit_code == 0
    got = _hive_rows(hive_server, "imp_sqoop", f"SELECT * FROM {spec.name} ORDER BY id")
    want = [
        {"id": 1, "s": "plain", "price": Decimal("1.50"), "created": "2024-01-01 00:00:00"},
        {"id": 2, "s": None, "price": None, "created": None},
        {"id": 3, "s": "", "price": Decimal("0.00"), "created": "0000-00-00 00:00:00"},
        {"id": 4, "s": "\\N", "price": Decimal("-2.00"), "created": "2024-02-29 23:59:59"},
        {"id": 5, "s": "back\\slash\ttab", "price": Decimal("3.25"),
         "created": "2024-03-01 00:00:00"},
        # the documented loss of this engine: newlines and \x01 are dropped
        {"id": 6, "s": "multilinectl", "price": Decimal("4.00"), "created": "2024-03-02 00:00:00"},
    ]
    for g in got:
        g.pop("load")
        g["price"] = None if g["price"] is None else Decimal(str(g["price"]))
    assert got == want


def test_latest_views_equal_mariadb_after_late_commits_and_deletes(
    tmp_path, sshd, mariadb, hive_server
):
    """Both modes, a transaction left open across an import, updates, inserts, deletes
    (composite key, a key deleted then inserted again): after every import each `_latest`
    view equals MariaDB."""
    from tests.test_mysql_incremental import (
        PAIRS_SQL,
        PAYMENT_SQL,
        RENTAL_SQL,
        OpenTransaction,
        incremental,
        late_config,
        make_late_db,
    )

    db = make_late_db(mariadb, "latehive")
    cfg = late_config(tmp_path, sshd, mariadb, db, hive=hive_server.hive_dict("imp_late"),
                      incremental=incremental(db, deletes=True))

    def check() -> None:
        summary = run_import(cfg, f"src.{db}", engine=None, full=False)
        assert summary.exit_code == 0, summary.line()
        for table, sql, cols in (
            ("payment", PAYMENT_SQL, "id, CAST(amount AS STRING), last_update"),
            ("rental", RENTAL_SQL, "id, what"),
            ("pairs", PAIRS_SQL, "a, b, v, modified"),
        ):
            view = _hive_rows(hive_server, "imp_late",
                              f"SELECT {cols} FROM mysql_src_{db}_{table}_latest")
            got = sorted(tuple(r.values()) for r in view)
            assert got == sorted(tuple(r) for r in _query(mariadb, db, sql)), table

    check()
    t1 = OpenTransaction(mariadb, db)
    t1.run("UPDATE payment SET amount = 10.00 WHERE id = 100")
    t1.run("INSERT INTO rental (what) VALUES ('late')")
    for sql in ("UPDATE payment SET amount = 20.00 WHERE id = 200",
                "INSERT INTO rental (what) VALUES ('early')", "DELETE FROM rental WHERE id = 1",
                "DELETE FROM pairs WHERE a = 1 AND b = 'y'", "DELETE FROM payment WHERE id = 300"):
        mariadb.execute(sql, database=db)
    try:
        check()
    finally:
        t1.commit()
    check()
    for sql in ("INSERT INTO pairs VALUES (1, 'y', 9, NOW(6))",
                "INSERT INTO payment (id, amount) VALUES (300, 33.00)",
                "UPDATE pairs SET v = 7, modified = NOW(6) WHERE a = 2"):
        mariadb.execute(sql, database=db)
    check()
