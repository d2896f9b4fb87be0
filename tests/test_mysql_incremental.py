"""Late commits and deletes across incremental imports: real MariaDB through a real sshd.

After every import the files must hold MariaDB's table: for each key the copy of the
latest load, minus the keys recorded in `_deletes/` at that load or later (the layout of
warehouse.mysql.deletes, and what the `_latest` view reads; tests/test_mysql_hive.py
checks the view itself on the Spark Thrift server).
"""

from __future__ import annotations

import gzip
import json
import stat
from pathlib import Path
from typing import Any

import pytest

from tests.test_mysql_import import PASSWORD, USER, _query, _state
from warehouse.config import Config, config_from_dict
from warehouse.mysql.importer import run_import
from warehouse.mysql.watermark import lower_bound

pytestmark = pytest.mark.mysql

ADMIN = "etl_process"  # the same grants plus PROCESS: INNODB_TRX is readable

PAYMENT = (
    "CREATE TABLE payment (id INT PRIMARY KEY, amount DECIMAL(8,2) NOT NULL, "
    "last_update TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) "
    "ON UPDATE CURRENT_TIMESTAMP(6))"
)
RENTAL = "CREATE TABLE rental (id INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(20) NOT NULL)"
PAIRS = (
    "CREATE TABLE pairs (a INT NOT NULL, b VARCHAR(10) NOT NULL, v INT, "
    "modified DATETIME(6) NOT NULL, PRIMARY KEY (a, b))"
)

PAYMENT_SQL = "SELECT id, CAST(amount AS CHAR), CAST(last_update AS CHAR) FROM payment"
RENTAL_SQL = "SELECT id, what FROM rental"
PAIRS_SQL = "SELECT a, b, v, CAST(modified AS CHAR) FROM pairs"


def make_late_db(mariadb, name: str = "latedb") -> str:
    """Create `name` with payment (lastmodified), rental (append) and pairs (composite key)."""
    db = mariadb.create_database(name)
    for ddl in (PAYMENT, RENTAL, PAIRS):
        mariadb.execute(ddl, database=db)
    mariadb.execute("INSERT INTO payment (id, amount) VALUES (100, 1.00), (200, 2.00), "
                    "(300, 3.00)", database=db)
    mariadb.execute("INSERT INTO rental (what) VALUES ('r1'), ('r2'), ('r3')", database=db)
    mariadb.execute("INSERT INTO pairs VALUES (1, 'x', 1, NOW(6)), (1, 'y', 2, NOW(6)), "
                    "(2, 'x', 3, NOW(6))", database=db)
    mariadb.create_user(USER, PASSWORD, db)
    mariadb.create_user(ADMIN, PASSWORD, db)
    mariadb.execute(f"GRANT PROCESS ON *.* TO '{ADMIN}'@'%'")
    return db


def incremental(db: str, lag: dict[str, Any] | None = None, deletes: bool = False
                ) -> dict[str, Any]:
    """Return the `incremental` setting of the three tables (lag per table name)."""
    lag = lag or {}
    out: dict[str, Any] = {
        f"{db}.payment": {"mode": "lastmodified", "column": "last_update"},
        f"{db}.rental": {"mode": "append", "column": "id"},
        f"{db}.pairs": {"mode": "lastmodified", "column": "modified"},
    }
    for table, spec in out.items():
        short = table.split(".")[1]
        if short in lag:
            spec["lag"] = lag[short]
        if deletes:
            spec["deletes"] = True
    return out


def late_config(tmp_path: Path, sshd, mariadb, db: str, *, user: str = USER,
                hive: dict[str, Any] | None = None, **mysql: Any) -> Config:
    pw = tmp_path / "db.pass"
    pw.write_text(PASSWORD)
    section = mariadb.mysql_section([db], user, str(pw), tunnel="bastion", workers=3)
    section.update(mysql)
    raw: dict[str, Any] = {
        "warehouse": {"root": str(tmp_path / "root")},
        "ssh": {"bastion": sshd.ssh_section()},
        "mysql": {"src": section},
    }
    if hive is not None:
        raw["hive"] = hive
    return config_from_dict(raw)


def _json_lines(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rb") as f:
        return [json.loads(line) for line in f]


def latest_from_files(root: Path, db: str, table: str, key: list[str]) -> dict[tuple, dict]:
    """Each key's copy of the latest load, minus keys deleted at that load or later
    (text keys identified by their collation weight `wh_w_<column>`, as _latest does);
    the result is keyed by the newest copy's key values."""
    folder = root / "mysql" / "src" / db / table

    def ident(row: dict) -> tuple:
        return tuple(row.get(f"wh_w_{c}", row.get(c)) for c in key)

    newest: dict[tuple, tuple[str, dict]] = {}
    for part in sorted(folder.glob("load=*/*.json.gz")):
        load = part.parent.name.split("=", 1)[1]
        for row in _json_lines(part):
            k = ident(row)
            if k not in newest or load >= newest[k][0]:
                newest[k] = (load, row)
    deleted: dict[tuple, str] = {}
    for part in sorted((folder / "_deletes").glob("load=*/*.json.gz")):
        load = part.parent.name.split("=", 1)[1]
        for row in _json_lines(part):
            k = ident(row)
            deleted[k] = max(load, deleted.get(k, ""))
    return {tuple(row[c] for c in key): row for k, (load, row) in newest.items()
            if deleted.get(k, "") < load}


def copies(root: Path, db: str, table: str, key: str) -> list[Any]:
    """Every key value in the table's files (duplicates kept)."""
    folder = root / "mysql" / "src" / db / table
    return sorted(r[key] for p in folder.glob("load=*/*.json.gz") for r in _json_lines(p))


def assert_files_equal_mariadb(mariadb, root: Path, db: str) -> None:
    pay = latest_from_files(root, db, "payment", ["id"])
    assert {k[0]: (r["amount"], r["last_update"]) for k, r in pay.items()} == {
        r[0]: (r[1], r[2]) for r in _query(mariadb, db, PAYMENT_SQL)}
    ren = latest_from_files(root, db, "rental", ["id"])
    assert {k[0]: r["what"] for k, r in ren.items()} == dict(_query(mariadb, db, RENTAL_SQL))
    pairs = latest_from_files(root, db, "pairs", ["a", "b"])
    assert {k: (r["v"], r["modified"]) for k, r in pairs.items()} == {
        (r[0], r[1]): (r[2], r[3]) for r in _query(mariadb, db, PAIRS_SQL)}


class OpenTransaction:
    """A root session with a transaction left open until `commit()`."""

    def __init__(self, mariadb, db: str) -> None:
        self.conn = mariadb.connect(db)  # BEGIN below opens the transaction
        self.cur = self.conn.cursor()
        self.cur.execute("BEGIN")

    def run(self, sql: str) -> None:
        self.cur.execute(sql)

    def commit(self) -> None:
        self.conn.commit()
        self.conn.close()


def t1_open_t2_committed(mariadb, db: str) -> OpenTransaction:
    """T1 updates payment 100 and inserts a rental, and stays open (returned); T2 updates
    payment 200, inserts a rental and commits."""
    t1 = OpenTransaction(mariadb, db)
    t1.run("UPDATE payment SET amount = 10.00 WHERE id = 100")
    t1.run("INSERT INTO rental (what) VALUES ('late')")
    t2 = OpenTransaction(mariadb, db)
    t2.run("UPDATE payment SET amount = 20.00 WHERE id = 200")
    t2.run("INSERT INTO rental (what) VALUES ('early')")
    t2.commit()
    return t1


def _imported(cfg: Config, db: str) -> dict[str, Any]:
    summary = run_import(cfg, f"src.{db}", engine=None, full=False)
    assert summary.exit_code == 0, summary.line()
    return {t.table: t for t in summary.tables}


@pytest.mark.parametrize(("user", "lag"), [
    (USER, None),  # SELECT only: INNODB_TRX unreadable, the default lag covers it
    (ADMIN, {"payment": 0, "rental": 0, "pairs": 0}),  # no lag: the INNODB_TRX hold alone
])
def test_late_commits_arrive_at_the_next_import(tmp_path, sshd, mariadb, user, lag):
    db = make_late_db(mariadb)
    cfg = late_config(tmp_path, sshd, mariadb, db, user=user,
                      incremental=incremental(db, lag))
    root = Path(cfg.root)
    _imported(cfg, db)
    assert_files_equal_mariadb(mariadb, root, db)

    t1 = t1_open_t2_committed(mariadb, db)
    try:
        by = _imported(cfg, db)  # sees T2 only
        assert by["payment"].rows >= 1 and by["rental"].rows == 1
        assert_files_equal_mariadb(mariadb, root, db)
    finally:
        t1.commit()
    by = _imported(cfg, db)  # T1's rows arrive
    assert by["rental"].rows == 1, "the late rental is read, the early one not again"
    assert_files_equal_mariadb(mariadb, root, db)
    assert copies(root, db, "rental", "id") == [1, 2, 3, 4, 5]  # each id once in the files

    # nothing changed: no new load anywhere
    by = _imported(cfg, db)
    assert {t: r.load for t, r in by.items()} == {"payment": None, "rental": None, "pairs": None}
    state = _state(root, "src", db, "rental")
    assert state["missing"] == [] and state["last_value"] == "5"
    writers = _state(root, "src", db, "payment")["writers"]
    assert writers == ([] if user == ADMIN else None)


def test_lag_zero_without_innodb_trx_loses_late_commits_as_documented(tmp_path, sshd, mariadb):
    """The README's guarantee is exact: with neither lag nor INNODB_TRX, T1 is missed."""
    db = make_late_db(mariadb, "latedb0")
    cfg = late_config(tmp_path, sshd, mariadb, db,
                      incremental=incremental(db, {"payment": 0, "rental": 0}))
    _imported(cfg, db)
    t1 = t1_open_t2_committed(mariadb, db)
    try:
        _imported(cfg, db)
    finally:
        t1.commit()
    _imported(cfg, db)
    pay = latest_from_files(Path(cfg.root), db, "payment", ["id"])
    assert pay[(100,)]["amount"] == "1.00"
    assert copies(Path(cfg.root), db, "rental", "id") == [1, 2, 3, 5]


@pytest.mark.parametrize("user", [USER, ADMIN])
def test_updates_inserts_and_deletes_between_loads(tmp_path, sshd, mariadb, user):
    db = make_late_db(mariadb)
    cfg = late_config(tmp_path, sshd, mariadb, db, user=user,
                      incremental=incremental(db, deletes=True))
    root = Path(cfg.root)
    steps = [
        [],
        ["UPDATE payment SET amount = 5.00 WHERE id = 300",
         "DELETE FROM payment WHERE id = 200",
         "INSERT INTO payment (id, amount) VALUES (400, 4.00)",
         "DELETE FROM rental WHERE id = 2",
         "INSERT INTO rental (what) VALUES ('r4')",
         "DELETE FROM pairs WHERE a = 1 AND b = 'y'",
         "UPDATE pairs SET v = 30, modified = NOW(6) WHERE a = 2 AND b = 'x'",
         "INSERT INTO pairs VALUES (1, 'z', 4, NOW(6))"],
        # deleted at the last load, inserted again now; and one deleted and re-inserted
        # between the same two loads
        ["INSERT INTO payment (id, amount) VALUES (200, 22.00)",
         "INSERT INTO pairs VALUES (1, 'y', 22, NOW(6))",
         "DELETE FROM payment WHERE id = 100",
         "INSERT INTO payment (id, amount) VALUES (100, 11.00)"],
        ["DELETE FROM payment WHERE id = 200", "DELETE FROM rental WHERE id = 4",
         "DELETE FROM pairs WHERE a = 1"],
        [],
    ]
    deleted = []
    folder = root / "mysql" / "src" / db / "pairs" / "_deletes"
    for sql in steps:
        for statement in sql:
            mariadb.execute(statement, database=db)
        by = _imported(cfg, db)
        deleted.append({t: r.deleted for t, r in by.items()})
        assert_files_equal_mariadb(mariadb, root, db)
        if len(deleted) == 2:  # the text key part by its collation weight
            assert sorted(_json_lines(next(folder.glob("load=*/*.json.gz")))[0]) == [
                "a", "wh_w_b"]
    assert deleted[1] == {"payment": 1, "rental": 1, "pairs": 1}
    assert deleted[2] == {"payment": 0, "rental": 0, "pairs": 0}
    # rental's id 4 and pairs' newest rows are deleted: MAX(check column) fell below the
    # last load's, as after a TRUNCATE, so both are read again in full (no deletes then;
    # warehouse.mysql.recreated)
    assert deleted[3] == {"payment": 1, "rental": 0, "pairs": 0}
    snapshots = list((root / "_state" / "mysql" / "src" / db / "pairs.keys").iterdir())
    assert len(snapshots) == 1  # older key snapshots are removed
    # a full load starts over: no deletes left, one load
    full = run_import(cfg, f"src.{db}", engine=None, full=True)
    assert full.exit_code == 0, full.line()
    assert not list(folder.glob("load=*"))
    assert_files_equal_mariadb(mariadb, root, db)


def _fake_sqoop(tmp_path: Path) -> Path:
    """A `sqoop` that records its argv (Sqoop itself cannot run here) and reads nothing."""
    script = tmp_path / "sqoop"
    script.write_text(
        "#!/bin/sh\n"
        f"printf '%s\\n' \"$@\" > {tmp_path}/argv.txt\n"
        "echo 'INFO mapreduce.ImportJobBase: Retrieved 0 records.' >&2\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_sqoop_argv_carries_the_lag_window(tmp_path, sshd, mariadb):
    """The production path (probe, bounds, argv) with a recording stand-in for sqoop."""
    db = make_late_db(mariadb, "latesq")
    cfg = late_config(tmp_path, sshd, mariadb, db, user=ADMIN, engine="sqoop",
                      sqoop_bin=str(_fake_sqoop(tmp_path)),
                      incremental=incremental(db, {"payment": "10m", "rental": 0}),
                      tables=["payment", "rental"])
    root = Path(cfg.root)
    first = run_import(cfg, f"src.{db}", engine=None)  # full loads (of nothing: a stand-in)
    assert first.exit_code == 0, first.line()
    t1 = OpenTransaction(mariadb, db)
    t1.run("INSERT INTO rental (what) VALUES ('late')")
    mariadb.execute("INSERT INTO rental (what) VALUES ('early')", database=db)
    try:
        s = run_import(cfg, f"src.{db}.rental", engine=None)
        assert s.exit_code == 0, s.line()
    finally:
        t1.commit()
    argv = (tmp_path / "argv.txt").read_text().splitlines()
    assert argv[argv.index("--incremental") + 1] == "append"
    assert argv[argv.index("--last-value") + 1] == "3"
    assert "WHERE `id` <= '5' AND (`id` BETWEEN 4 AND 5) AND $CONDITIONS" in argv[
        argv.index("--query") + 1]
    assert _state(root, "src", db, "rental")["missing"] == [[4, 4]]  # T1 still open then

    before = _state(root, "src", db, "payment")["last_value"]
    mariadb.execute("UPDATE payment SET amount = 7.00 WHERE id = 300", database=db)
    s = run_import(cfg, f"src.{db}.payment", engine=None)
    assert s.exit_code == 0, s.line()
    argv = (tmp_path / "argv.txt").read_text().splitlines()
    assert argv[argv.index("--incremental") + 1] == "lastmodified"
    assert argv[argv.index("--last-value") + 1] == lower_bound(before, 600) < before


def test_a_transaction_open_across_two_imports_still_arrives_without_lag(
    tmp_path, sshd, mariadb
):
    """With INNODB_TRX readable and lag 0, T1 stays open across two imports while other
    transactions commit: its rows arrive at the import after its commit, once."""
    db = make_late_db(mariadb, "latelong")
    cfg = late_config(tmp_path, sshd, mariadb, db, user=ADMIN,
                      incremental=incremental(db, {"payment": 0, "rental": 0, "pairs": 0}))
    root = Path(cfg.root)
    _imported(cfg, db)
    t1 = OpenTransaction(mariadb, db)
    t1.run("UPDATE payment SET amount = 10.00 WHERE id = 100")
    t1.run("INSERT INTO rental (what) VALUES ('late')")
    try:
        for i in range(2):
            mariadb.execute(f"UPDATE payment SET amount = {i + 20} WHERE id = 200", database=db)
            mariadb.execute(f"INSERT INTO rental (what) VALUES ('r{i}')", database=db)
            _imported(cfg, db)
            assert_files_equal_mariadb(mariadb, root, db)
            assert _state(root, "src", db, "rental")["missing"] == [[4, 4]]
    finally:
        t1.commit()
    _imported(cfg, db)
    assert_files_equal_mariadb(mariadb, root, db)
    assert copies(root, db, "rental", "id") == [1, 2, 3, 4, 5, 6]
    assert _state(root, "src", db, "rental")["missing"] == []


def test_deletes_with_text_and_binary_keys_in_any_collation(tmp_path, sshd, mariadb):
    """Keys are merged in binary order whatever the collation (case, accents, bytes)."""
    db = mariadb.create_database("keysdb")
    mariadb.execute("CREATE TABLE words (w VARCHAR(20) COLLATE utf8mb4_general_ci PRIMARY KEY, "
                    "n INT, m DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) "
                    "ON UPDATE CURRENT_TIMESTAMP(6))", database=db)
    mariadb.execute("CREATE TABLE blobs (h BINARY(4) PRIMARY KEY, id INT NOT NULL)",
                    database=db)
    words = ["a", "B", "c", "É", "f", "z", "Ω", "日本", "😀", "A1"]
    for i, w in enumerate(words):
        mariadb.execute("INSERT INTO words (w, n) VALUES (%s, %s)", (w, i), database=db)
    for i in range(6):
        mariadb.execute("INSERT INTO blobs VALUES (%s, %s)", (bytes([255 - i, 0, i, 7]), i),
                        database=db)
    mariadb.create_user(USER, PASSWORD, db)
    cfg = late_config(tmp_path, sshd, mariadb, db, incremental={
        f"{db}.words": {"mode": "lastmodified", "column": "m", "deletes": True},
        f"{db}.blobs": {"mode": "append", "column": "id", "deletes": True},
    })
    _imported(cfg, db)
    mariadb.execute("DELETE FROM words WHERE w IN ('B', 'É', '😀')", database=db)
    mariadb.execute("DELETE FROM blobs WHERE id IN (0, 4)", database=db)
    by = _imported(cfg, db)
    assert by["words"].deleted == 3 and by["blobs"].deleted == 2
    root = Path(cfg.root)
    assert sorted(latest_from_files(root, db, "words", ["w"])) == sorted(
        (r[0],) for r in _query(mariadb, db, "SELECT w FROM words"))
    got = latest_from_files(root, db, "blobs", ["h"])
    assert sorted(r["id"] for r in got.values()) == [1, 2, 3, 5]
    assert _imported(cfg, db)["words"].deleted == 0
