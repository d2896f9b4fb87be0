"""`warehouse import` against a real MariaDB reached only through a real sshd tunnel."""

from __future__ import annotations

import gzip
import importlib.util
import json
import re
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests._tty import run_cli
from tests.fixtures._util import service_missing, wait_for
from warehouse.cli import cli
from warehouse.config import Config, config_from_dict
from warehouse.mysql.importer import run_import
from warehouse.mysql.state import state_key
from warehouse.progress import ProgressEvent
from warehouse.storage import LocalStore

pytestmark = pytest.mark.mysql

USER, PASSWORD = "etl", "s3cret-Pa55-word"

NASTY_DDL = """
CREATE TABLE nasty (
  id INT PRIMARY KEY,
  s VARCHAR(100) NULL, t TEXT NULL, l1 VARCHAR(20) CHARACTER SET latin1 NULL,
  d DATE NULL, dtm DATETIME(6) NULL, ts TIMESTAMP NULL DEFAULT NULL,
  dec65 DECIMAL(65,30) NULL, dec10 DECIMAL(10,2) NULL,
  ub BIGINT UNSIGNED NULL, sb BIGINT NULL, ti TINYINT NULL, mi MEDIUMINT UNSIGNED NULL,
  fl FLOAT NULL, db DOUBLE NULL,
  bl BLOB NULL, bn BINARY(4) NULL, vb VARBINARY(10) NULL,
  js JSON NULL, en ENUM('a','b','c d') NULL, st SET('x','y','z') NULL,
  bt BIT(5) NULL, tm TIME(3) NULL, yr YEAR NULL
)
"""

NASTY_ROWS: list[dict[str, Any]] = [
    {"id": 1},
    {"id": 2, "s": "", "t": "", "l1": "", "bl": b"", "vb": b"", "st": "", "js": "{}"},
    {
        "id": 3, "s": "tab\there", "t": "line1\nline2\r\n\\N \x01 end\x00z", "l1": "café ÿ",
        "d": "0000-00-00", "dtm": "0000-00-00 00:00:00", "ts": "1970-01-01 00:00:01",
        "dec65": "12345678901234567890123456789012345.123456789012345678901234567890",
        "dec10": "-99999999.99", "ub": 18446744073709551615, "sb": -9223372036854775808,
        "ti": -128, "mi": 16777215, "fl": 1.5, "db": 1e300, "bl": bytes(range(256)),
        "bn": b"\x00\xff\x01\x02", "vb": b"\xff\xfe\x00", "js": '{"a": [1, "x\\ty"], "b": null}',
        "en": "c d", "st": "x,z", "bt": 21, "tm": "-838:59:59.000", "yr": 2155,
    },
    {
        "id": 4, "s": "日本語 😀 \"quoted\" \\ back", "t": "\\N", "l1": "\\N",
        "d": "2024-02-29", "dtm": "2024-02-29 23:59:59.999999", "ts": "2038-01-19 03:14:07",
        "dec65": "-0.000000000000000000000000000001", "dec10": "0.00", "ub": 0, "sb": 0,
        "fl": -0.25, "db": -2.5e-300, "tm": "100:00:00.500", "bt": 0, "yr": 1901,
        "en": "a", "st": "x,y,z", "js": "[]",
    },
    {"id": 5, "s": "NULL", "t": "null", "l1": "N", "d": "2024-00-00", "tm": "00:00:00.000"},
]

# what each column must look like in the files, computed by MariaDB itself
EXPECTED_SQL = """
SELECT id, s, t, l1,
  CAST(d AS CHAR), CAST(dtm AS CHAR), CAST(ts AS CHAR), CAST(dec65 AS CHAR), CAST(dec10 AS CHAR),
  ub, sb, ti, mi, fl, db,
  REPLACE(TO_BASE64(bl), '\\n', ''), REPLACE(TO_BASE64(bn), '\\n', ''),
  REPLACE(TO_BASE64(vb), '\\n', ''),
  js, en, st, LPAD(BIN(bt), 5, '0'), CAST(tm AS CHAR), yr
FROM nasty ORDER BY id
"""
COLUMNS = ["id", "s", "t", "l1", "d", "dtm", "ts", "dec65", "dec10", "ub", "sb", "ti", "mi",
           "fl", "db", "bl", "bn", "vb", "js", "en", "st", "bt", "tm", "yr"]


def _insert(mariadb, database: str, table: str, rows: list[dict[str, Any]]) -> None:
    conn = mariadb.connect(database)
    try:
        with conn.cursor() as cur:
            cur.execute("SET time_zone = '+00:00', sql_mode = ''")
            for row in rows:
                cols = ", ".join(f"`{c}`" for c in row)
                marks = ", ".join("%s" for _ in row)
                cur.execute(f"INSERT INTO `{table}` ({cols}) VALUES ({marks})", list(row.values()))
    finally:
        conn.close()


def _query(mariadb, database: str, sql: str) -> list[tuple[Any, ...]]:
    conn = mariadb.connect(database)
    try:
        with conn.cursor() as cur:
            cur.execute("SET time_zone = '+00:00'")
            cur.execute(sql)
            return list(cur.fetchall())
    finally:
        conn.close()


def _config(tmp_path: Path, sshd, mariadb, databases: list[str], backend: str = "openssh",
            **mysql: Any) -> Config:
    pw = tmp_path / "db.pass"
    if not pw.exists():
        pw.write_text(PASSWORD + "\n")
    section = mariadb.mysql_section(databases, USER, str(pw), tunnel="bastion", workers=2)
    section.update(mysql)
    return config_from_dict(
        {
            "warehouse": {"root": str(tmp_path / "root")},
            "ssh": {"bastion": sshd.ssh_section(backend=backend)},
            "mysql": {"src": section},
        }
    )


def _toml_config(tmp_path: Path, sshd, mariadb, root: Path, db: str, extra: str = "") -> Path:
    """Write the TOML of `_config` (one database, *_tmp excluded) for the CLI tests."""
    toml = tmp_path / "warehouse.toml"
    toml.write_text(
        f"""
[warehouse]
root = "{root}"
[ssh.bastion]
host = "127.0.0.1"
port = {sshd.port}
user = "{sshd.user}"
key_file = "{sshd.key_file}"
known_hosts = "{sshd.known_hosts}"
[mysql.src]
host = "127.0.0.1"
port = {mariadb.port}
user = "{USER}"
password_file = "{tmp_path / 'db.pass'}"
tunnel = "bastion"
databases = ["{db}"]
exclude = ["*_tmp"]
{extra}"""
    )
    return toml


def _read_rows(root: Path, source: str, db: str, table: str) -> list[dict[str, Any]]:
    out = []
    folder = root / "mysql" / source / db / table
    for part in sorted(folder.glob("load=*/*.json.gz")):
        with gzip.open(part, "rb") as f:
            out.extend(json.loads(line) for line in f)
    return out


def _state(root: Path, source: str, db: str, table: str) -> dict[str, Any]:
    return json.loads((root / state_key(source, db, table)).read_text())


def _driver_available(driver: str) -> None:
    if driver == "mysqlclient" and importlib.util.find_spec("MySQLdb") is None:
        service_missing("mysqlclient (pip install mysqlclient; apt libmariadb-dev)")
    if driver == "mysql-connector":
        try:
            import _mysql_connector  # noqa: F401
        except ImportError as exc:
            service_missing(f"mysql-connector-python's C extension ({exc})")


def make_nasty_db(mariadb) -> str:
    """Create `nastydb` with the nasty table (and an excluded junk_tmp) readable by USER."""
    db = mariadb.create_database("nastydb")
    mariadb.execute(NASTY_DDL, database=db)
    _insert(mariadb, db, "nasty", NASTY_ROWS)
    mariadb.execute("CREATE TABLE junk_tmp (id INT PRIMARY KEY)", database=db)
    mariadb.create_user(USER, PASSWORD, db)
    return db


@pytest.fixture(scope="module")
def nasty_db(mariadb) -> str:
    return make_nasty_db(mariadb)


@pytest.mark.parametrize("backend", ["openssh", "paramiko"])
@pytest.mark.parametrize("driver", ["mysqlclient", "mysql-connector", "pymysql"])
def test_nasty_values_round_trip_through_the_tunnel(
    tmp_path, sshd, mariadb, nasty_db, driver, backend
):
    _driver_available(driver)
    cfg = _config(tmp_path, sshd, mariadb, [nasty_db], exclude=["*_tmp"], driver=driver,
                  backend=backend)
    summary = run_import(cfg, None, engine=None, full=False, progress=None)
    assert summary.exit_code == 0, summary.line()
    assert [t.table for t in summary.tables] == ["nasty"]  # junk_tmp excluded
    result = summary.tables[0]
    assert result.rows == len(NASTY_ROWS) and result.bytes > 0 and result.error is None
    got = sorted(_read_rows(Path(cfg.root), "src", nasty_db, "nasty"), key=lambda r: r["id"])
    expected = [dict(zip(COLUMNS, row, strict=True)) for row in _query(mariadb, nasty_db, EXPECTED_SQL)]
    assert len(got) == len(expected) == len(NASTY_ROWS)
    for g, e in zip(got, expected, strict=True):
        assert g == e, f"row {e['id']}"
    # the things that matter, spelled out
    by_id = {r["id"]: r for r in got}
    assert by_id[1]["s"] is None and by_id[2]["s"] == "" and by_id[2]["bl"] == ""
    assert by_id[3]["t"] == "line1\nline2\r\n\\N \x01 end\x00z" and by_id[4]["t"] == "\\N"
    assert by_id[3]["d"] == "0000-00-00" and by_id[5]["d"] == "2024-00-00"
    assert by_id[3]["dec65"] == NASTY_ROWS[2]["dec65"]
    assert by_id[3]["ub"] == 18446744073709551615
    assert by_id[3]["tm"] == "-838:59:59.000" and by_id[4]["tm"] == "100:00:00.500"
    assert by_id[3]["bt"] == "10101" and by_id[3]["l1"] == "café ÿ"
    state = _state(Path(cfg.root), "src", nasty_db, "nasty")
    assert state["engine"] == "python" and state["mode"] == "full" and len(state["loads"]) == 1


def test_cli_import_and_rerun_replaces_full_load(tmp_path, sshd, mariadb, nasty_db):
    cfg = _config(tmp_path, sshd, mariadb, [nasty_db], exclude=["*_tmp"])
    toml = _toml_config(tmp_path, sshd, mariadb, Path(cfg.root), nasty_db)
    runner = CliRunner()
    first = runner.invoke(cli, ["--config", str(toml), "import", f"src.{nasty_db}.nasty"])
    assert first.exit_code == 0, first.output
    assert "1 table (1 ok, 0 failed), 5 rows" in first.output
    assert PASSWORD not in first.output
    state1 = _state(Path(cfg.root), "src", nasty_db, "nasty")
    second = runner.invoke(cli, ["--config", str(toml), "import", f"src.{nasty_db}"])
    assert second.exit_code == 0, second.output
    state2 = _state(Path(cfg.root), "src", nasty_db, "nasty")
    assert state2["loads"] != state1["loads"] and len(state2["loads"]) == 1
    loads = sorted(p.name for p in (Path(cfg.root) / "mysql/src" / nasty_db / "nasty").iterdir())
    assert loads == [f"load={state2['loads'][0]}"]  # the older full load is gone
    assert len(_read_rows(Path(cfg.root), "src", nasty_db, "nasty")) == len(NASTY_ROWS)


def test_wrong_password_exit_3_without_printing_it(tmp_path, sshd, mariadb, nasty_db, caplog):
    wrong = "Wr0ng-Pa55-Zebra"
    pw = tmp_path / "wrong.pass"
    pw.write_text(wrong)
    cfg = _config(tmp_path, sshd, mariadb, [nasty_db], password_file=str(pw))
    summary = run_import(cfg, "src", engine=None, full=False)
    assert summary.exit_code == 3
    line = summary.line()
    assert "1045" in line and "Access denied" in line and "check user and password" in line
    assert wrong not in line and wrong not in caplog.text
    toml = tmp_path / "w.toml"
    toml.write_text(
        f'[warehouse]\nroot = "{cfg.root}"\n'
        f'[ssh.bastion]\nhost = "127.0.0.1"\nport = {sshd.port}\nuser = "{sshd.user}"\n'
        f'key_file = "{sshd.key_file}"\nknown_hosts = "{sshd.known_hosts}"\n'
        f'[mysql.src]\nport = {mariadb.port}\nuser = "{USER}"\npassword_env = "WH_TEST_PW"\n'
        f'tunnel = "bastion"\ndatabases = ["{nasty_db}"]\n'
    )
    res = CliRunner().invoke(cli, ["--config", str(toml), "import"], env={"WH_TEST_PW": wrong})
    assert res.exit_code == 3, res.output
    assert wrong not in res.output


def test_unknown_host_key_refused(tmp_path, sshd, mariadb, nasty_db):
    kh = tmp_path / "known_hosts"
    kh.write_text("")
    cfg = _config(tmp_path, sshd, mariadb, [nasty_db])
    cfg = config_from_dict(
        {
            "warehouse": {"root": cfg.root},
            "ssh": {"bastion": sshd.ssh_section(known_hosts=str(kh))},
            "mysql": {"src": mariadb.mysql_section([nasty_db], USER, str(tmp_path / "db.pass"),
                                                   tunnel="bastion")},
        }
    )
    summary = run_import(cfg, None, engine=None, full=False)
    assert summary.exit_code == 3
    assert "host key" in summary.line() and "ssh-keyscan" in summary.line()
    assert not (Path(cfg.root) / "mysql").exists()


# -- incremental ---------------------------------------------------------------------------


def make_inc_db(mariadb) -> str:
    """Create `incdb` with audit (append), items (lastmodified) and plain tables."""
    db = mariadb.create_database("incdb")
    mariadb.execute("CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(50))",
                    database=db)
    mariadb.execute(
        "CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(50), "
        "modified DATETIME(6) NOT NULL)",
        database=db,
    )
    mariadb.execute("CREATE TABLE plain (id INT PRIMARY KEY, v INT)", database=db)
    mariadb.create_user(USER, PASSWORD, db)
    return db


@pytest.fixture()
def inc_db(mariadb) -> str:
    return make_inc_db(mariadb)


INCREMENTAL = {
    "incdb.audit": {"mode": "append", "column": "id"},
    "incdb.items": {"mode": "lastmodified", "column": "modified", "key": "id"},
}


def _newest_per_key(rows: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for r in rows:
        if r["id"] not in out or r["modified"] >= out[r["id"]]["modified"]:
            out[r["id"]] = r
    return out


def test_incremental_append_and_lastmodified_across_three_loads(tmp_path, sshd, mariadb, inc_db):
    cfg = _config(tmp_path, sshd, mariadb, [inc_db], incremental=INCREMENTAL)
    root = Path(cfg.root)
    ins = _insert

    def current_items() -> dict[int, dict[str, Any]]:
        rows = _query(mariadb, inc_db, "SELECT id, name, CAST(modified AS CHAR) FROM items")
        return {r[0]: {"id": r[0], "name": r[1], "modified": r[2]} for r in rows}

    # load 1
    ins(mariadb, inc_db, "audit", [{"what": f"a{i}"} for i in range(3)])
    ins(mariadb, inc_db, "items", [
        {"id": 1, "name": "one", "modified": "2024-01-01 00:00:00"},
        {"id": 2, "name": "two", "modified": "2024-01-01 00:00:00"},
    ])
    s1 = run_import(cfg, f"src.{inc_db}", engine=None, full=False)
    assert s1.exit_code == 0, s1.line()
    assert {t.table: t.rows for t in s1.tables} == {"audit": 3, "items": 2, "plain": 0}
    assert _state(root, "src", inc_db, "audit")["last_value"] == "3"

    # load 2: appends, an update, an insert with the same timestamp as the watermark
    ins(mariadb, inc_db, "audit", [{"what": f"b{i}"} for i in range(2)])
    mariadb.execute("UPDATE items SET name = 'ONE', modified = '2024-01-02 00:00:00' WHERE id = 1",
                    database=inc_db)
    ins(mariadb, inc_db, "items", [{"id": 3, "name": "three", "modified": "2024-01-01 00:00:00"}])
    s2 = run_import(cfg, f"src.{inc_db}", engine=None, full=False)
    assert s2.exit_code == 0, s2.line()
    by = {t.table: t for t in s2.tables}
    assert by["audit"].rows == 2 and by["audit"].mode == "append"
    assert by["items"].mode == "lastmodified"
    assert _state(root, "src", inc_db, "audit")["last_value"] == "5"
    assert _state(root, "src", inc_db, "items")["last_value"] == "2024-01-02 00:00:00.000000"

    # load 3: nothing new for audit; another update
    mariadb.execute("UPDATE items SET name = 'TWO', modified = '2024-01-03 12:00:00.5' WHERE id = 2",
                    database=inc_db)
    s3 = run_import(cfg, f"src.{inc_db}", engine=None, full=False)
    assert s3.exit_code == 0, s3.line()
    by = {t.table: t for t in s3.tables}
    assert by["audit"].rows == 0 and by["audit"].load is None

    # load 4: nothing changed at all: no new partition for either table
    s4 = run_import(cfg, f"src.{inc_db}", engine=None, full=False)
    assert s4.exit_code == 0, s4.line()
    assert {t.table: t.load for t in s4.tables if t.table != "plain"} == {"audit": None, "items": None}

    audit = _read_rows(root, "src", inc_db, "audit")
    assert sorted(r["id"] for r in audit) == [1, 2, 3, 4, 5]  # each row exactly once
    assert len(_state(root, "src", inc_db, "audit")["loads"]) == 2
    items = _read_rows(root, "src", inc_db, "items")
    assert _newest_per_key(items) == current_items()
    assert len(_state(root, "src", inc_db, "items")["loads"]) == 3


def test_schema_drift_fails_table_others_continue(tmp_path, sshd, mariadb, inc_db):
    cfg = _config(tmp_path, sshd, mariadb, [inc_db], incremental=INCREMENTAL)
    root = Path(cfg.root)
    _insert(mariadb, inc_db, "audit", [{"what": "x"}])
    assert run_import(cfg, f"src.{inc_db}", engine=None, full=False).exit_code == 0
    before = (root / state_key("src", inc_db, "audit")).read_bytes()
    mariadb.execute("ALTER TABLE audit ADD COLUMN extra INT", database=inc_db)
    _insert(mariadb, inc_db, "audit", [{"what": "y"}])
    _insert(mariadb, inc_db, "plain", [{"id": 1, "v": 1}])
    s = run_import(cfg, f"src.{inc_db}", engine=None, full=False)
    assert s.exit_code == 5
    by = {t.table: t for t in s.tables}
    assert by["audit"].error and "schema changed" in by["audit"].error
    assert "+extra" in by["audit"].error and "--full" in by["audit"].error
    assert by["plain"].error is None and by["plain"].rows == 1
    assert (root / state_key("src", inc_db, "audit")).read_bytes() == before
    # --full repairs it
    s = run_import(cfg, f"src.{inc_db}.audit", engine=None, full=True)
    assert s.exit_code == 0, s.line()
    assert sorted(r["id"] for r in _read_rows(root, "src", inc_db, "audit")) == [1, 2]
    assert all("extra" in r for r in _read_rows(root, "src", inc_db, "audit"))


# -- a bastion that dies mid-import ---------------------------------------------------------


@pytest.mark.parametrize(
    ("how", "driver"), [("kill", "auto"), ("freeze", "auto"), ("freeze", "mysql-connector")]
)
def test_killing_sshd_mid_import_keeps_previous_data_and_watermark(
    tmp_path, sshd_factory, mariadb, how, driver
):
    """kill: sshd and its sessions die (RST); freeze: SIGSTOP, no FIN (the watchdog's case)."""
    db = mariadb.create_database(f"bigdb_{how}_{driver}".replace("-", "_"))
    mariadb.execute("CREATE TABLE big (id INT PRIMARY KEY, pad VARCHAR(200))", database=db)
    mariadb.execute(
        "INSERT INTO big SELECT seq, REPEAT('x', 150) FROM seq_1_to_200000", database=db
    )
    mariadb.create_user(USER, PASSWORD, db)
    bastion = sshd_factory()
    _driver_available(driver)
    cfg = _config(tmp_path, bastion, mariadb, [db], driver=driver,
                  incremental={f"{db}.big": {"mode": "append", "column": "id"}})
    root = Path(cfg.root)
    first = run_import(cfg, None, engine=None, full=False)
    assert first.exit_code == 0, first.line()
    state_before = (root / state_key("src", db, "big")).read_bytes()
    files_before = sorted(
        (str(p.relative_to(root)), p.stat().st_size) for p in (root / "mysql").rglob("*")
        if p.is_file()
    )
    dirs_before = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_dir())
    mariadb.execute(
        "INSERT INTO big SELECT seq, REPEAT('y', 150) FROM seq_200001_to_700000", database=db
    )
    outcome: dict[str, Any] = {}
    t = threading.Thread(target=lambda: outcome.setdefault(
        "summary", run_import(cfg, None, engine=None, full=False)))
    t.start()

    def writing() -> bool:
        return any(p.name.startswith("_") for p in (root / "mysql").rglob("*"))

    wait_for(writing, 60, "the second import to start writing", poll=0.01)
    try:
        bastion.kill() if how == "kill" else bastion.freeze()
        t.join(timeout=120)
    finally:
        bastion.thaw()
    summary = outcome["summary"]
    assert summary.exit_code == 3, summary.line()
    assert f"127.0.0.1:{bastion.port}" in summary.line()
    assert "previous data and watermark kept" in summary.line()
    if how == "freeze":
        assert "stopped answering keepalives" in summary.line()
    assert (root / state_key("src", db, "big")).read_bytes() == state_before
    files_after = sorted(
        (str(p.relative_to(root)), p.stat().st_size) for p in (root / "mysql").rglob("*")
        if p.is_file()
    )
    assert files_after == files_before
    # no empty load= folder is left behind either
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_dir()) == dirs_before
    store = LocalStore(str(root))
    assert not [o for o in store.list("mysql", include_hidden=True) if "/_" in o.key]


def test_empty_load_folders_of_earlier_failed_runs_are_removed(tmp_path, sshd, mariadb, inc_db):
    cfg = _config(tmp_path, sshd, mariadb, [inc_db], incremental=INCREMENTAL)
    _insert(mariadb, inc_db, "audit", [{"what": "a"}])
    assert run_import(cfg, f"src.{inc_db}.audit", engine=None, full=False).exit_code == 0
    table = Path(cfg.root) / "mysql/src" / inc_db / "audit"
    (table / "load=20000101T000000000000Z").mkdir()  # left by an older version
    (table / "load=20000102T000000000000Z" / "_temporary" / "0").mkdir(parents=True)
    again = run_import(cfg, f"src.{inc_db}.audit", engine=None, full=False)
    assert again.exit_code == 0, again.line()
    state = _state(Path(cfg.root), "src", inc_db, "audit")
    assert sorted(p.name for p in table.iterdir()) == [f"load={x}" for x in state["loads"]]


def test_lost_state_keeps_old_loads_until_an_import_succeeds(tmp_path, sshd, mariadb, nasty_db):
    """With the state file lost, a failing export must not have swept the existing load
    folders first (the table would be empty); the next successful import removes them."""
    cfg = _config(tmp_path, sshd, mariadb, [nasty_db], exclude=["*_tmp"])
    root = Path(cfg.root)
    toml = _toml_config(tmp_path, sshd, mariadb, root, nasty_db,
                        f'sqoop_bin = "{tmp_path / "no-such-sqoop"}"\n')
    runner = CliRunner()
    table = f"src.{nasty_db}.nasty"
    first = runner.invoke(cli, ["--config", str(toml), "import", table])
    assert first.exit_code == 0, first.output
    folder = root / "mysql/src" / nasty_db / "nasty"
    before = sorted(str(p.relative_to(root)) for p in folder.rglob("*"))
    assert any(p.endswith(".json.gz") for p in before), before
    (root / state_key("src", nasty_db, "nasty")).unlink()  # the state file is lost
    failed = runner.invoke(cli, ["--config", str(toml), "import", table, "--engine", "sqoop"])
    assert failed.exit_code == 5, failed.output
    assert "Sqoop exists only on EMR releases up to 7.4" in failed.output
    assert sorted(str(p.relative_to(root)) for p in folder.rglob("*")) == before
    assert len(_read_rows(root, "src", nasty_db, "nasty")) == len(NASTY_ROWS)
    again = runner.invoke(cli, ["--config", str(toml), "import", table])
    assert again.exit_code == 0, again.output
    state = _state(root, "src", nasty_db, "nasty")
    assert sorted(p.name for p in folder.iterdir()) == [f"load={state['loads'][0]}"]
    assert len(_read_rows(root, "src", nasty_db, "nasty")) == len(NASTY_ROWS)


def test_split_workers_read_key_ranges_in_parallel(tmp_path, sshd, mariadb):
    db = mariadb.create_database("splitdb")
    mariadb.execute("CREATE TABLE s (id INT PRIMARY KEY, v VARCHAR(20))", database=db)
    mariadb.execute("INSERT INTO s SELECT seq * 3, CONCAT('v', seq) FROM seq_1_to_30000",
                    database=db)
    mariadb.create_user(USER, PASSWORD, db)
    cfg = _config(tmp_path, sshd, mariadb, [db], split_workers=3)
    summary = run_import(cfg, None, engine=None, full=False)
    assert summary.exit_code == 0, summary.line()
    assert summary.tables[0].rows == 30000
    rows = _read_rows(Path(cfg.root), "src", db, "s")
    assert sorted(r["id"] for r in rows) == [3 * i for i in range(1, 30001)]
    parts = sorted(p.name for p in (Path(cfg.root) / "mysql/src" / db / "s").glob("load=*/*"))
    assert [p[:8] for p in parts] == ["part-000", "part-001", "part-002"]


def test_sqoop_engine_without_sqoop_fails_table_and_keeps_state(tmp_path, sshd, mariadb, nasty_db):
    cfg = _config(tmp_path, sshd, mariadb, [nasty_db], exclude=["*_tmp"],
                  sqoop_bin=str(tmp_path / "no-such-sqoop"))
    summary = run_import(cfg, None, engine="sqoop", full=False)
    assert summary.exit_code == 5
    assert "Sqoop exists only on EMR releases up to 7.4" in summary.line()
    assert PASSWORD not in summary.line()
    assert not (Path(cfg.root) / state_key("src", nasty_db, "nasty")).exists()
    # and an engine switch after a python load needs --full for incremental tables
    inc = {f"{nasty_db}.nasty": {"mode": "append", "column": "id"}}
    cfg = _config(tmp_path, sshd, mariadb, [nasty_db], exclude=["*_tmp"], incremental=inc)
    assert run_import(cfg, None, engine=None, full=False).exit_code == 0
    switched = run_import(cfg, None, engine="sqoop", full=False)
    assert switched.exit_code == 5 and "engine changed from python to sqoop" in switched.line()


def test_unreadable_database_is_reported_not_skipped(tmp_path, sshd, mariadb, nasty_db):
    mariadb.create_database("hidden_db")  # exists, but USER has no grant on it
    cfg = _config(tmp_path, sshd, mariadb, [nasty_db, "hidden_db"], exclude=["*_tmp"])
    summary = run_import(cfg, None, engine=None, full=False)
    assert summary.exit_code == 5
    by = {(t.database, t.table): t for t in summary.tables}
    assert by[(nasty_db, "nasty")].error is None and by[(nasty_db, "nasty")].rows == 5
    assert "database hidden_db not found" in (by[("hidden_db", "*")].error or "")


def test_import_to_s3_root_with_split_workers(tmp_path, sshd, mariadb, nasty_db, moto_server,
                                              s3_client, s3_bucket):
    """The same import into s3:// (moto's server): incremental state and parts on S3."""
    db = mariadb.create_database("s3db")
    mariadb.execute("CREATE TABLE s (id INT PRIMARY KEY, v VARCHAR(20))", database=db)
    mariadb.execute("INSERT INTO s SELECT seq, CONCAT('v', seq) FROM seq_1_to_25000", database=db)
    mariadb.create_user(USER, PASSWORD, db)
    pw = tmp_path / "db.pass"
    pw.write_text(PASSWORD)
    cfg = config_from_dict(
        {
            "warehouse": {"root": f"s3://{s3_bucket}/wh"},
            "s3": {"endpoint_url": moto_server},
            "ssh": {"bastion": sshd.ssh_section()},
            "mysql": {"src": mariadb.mysql_section(
                [db], USER, str(pw), tunnel="bastion", split_workers=2,
                incremental={"s3db.s": {"mode": "append", "column": "id"}})},
        }
    )
    first = run_import(cfg, None, engine=None, full=False)
    assert first.exit_code == 0, first.line()
    mariadb.execute("INSERT INTO s SELECT seq, 'new' FROM seq_25001_to_25010", database=db)
    second = run_import(cfg, None, engine=None, full=False)
    assert second.exit_code == 0, second.line()
    assert [t.rows for t in first.tables + second.tables] == [25000, 10]
    keys = [o["Key"] for o in s3_client.list_objects_v2(Bucket=s3_bucket, Prefix="wh/")["Contents"]]
    parts = [k for k in keys if k.endswith(".json.gz")]
    ids = []
    for key in parts:
        body = s3_client.get_object(Bucket=s3_bucket, Key=key)["Body"].read()
        ids += [json.loads(line)["id"] for line in gzip.decompress(body).splitlines()]
    assert sorted(ids) == list(range(1, 25011))
    state = json.loads(s3_client.get_object(
        Bucket=s3_bucket, Key=f"wh/{state_key('src', db, 's')}")["Body"].read())
    assert state["last_value"] == "25010" and len(state["loads"]) == 2
    assert not [k for k in keys if "/_" in k.split("wh/", 1)[1] and "_state" not in k]


def test_progress_reports_the_rows_of_each_table(tmp_path, sshd, mariadb, nasty_db, inc_db):
    """The callback gets each table's rows under SOURCE.DATABASE.TABLE, then its result."""
    cfg = _config(tmp_path, sshd, mariadb, [nasty_db, inc_db], exclude=["*_tmp"])
    events: list[ProgressEvent] = []
    summary = run_import(cfg, None, engine=None, full=False, progress=events.append)
    assert summary.exit_code == 0, summary.line()
    assert len(summary.tables) >= 2
    for t in summary.tables:
        mine = [e for e in events if e.label == t.name]
        assert t.name == f"src.{t.database}.{t.table}" and {e.unit for e in mine} == {"rows"}
        assert sum(e.advance for e in mine) == t.rows == _count(mariadb, t.database, t.table)
        assert mine[-1].final and mine[-1].outcome == t.line()
        assert not any(e.final for e in mine[:-1])


def test_cli_draws_import_progress_only_on_a_terminal(tmp_path, sshd, mariadb, nasty_db):
    cfg = _config(tmp_path, sshd, mariadb, [nasty_db], exclude=["*_tmp"])
    toml = _toml_config(tmp_path, sshd, mariadb, Path(cfg.root), nasty_db)
    table = f"src.{nasty_db}.nasty"
    rc, out, err = run_cli(["--config", str(toml), "import", table], tty=True)
    assert rc == 0, err
    # one line per table, the total last
    assert out.splitlines()[0].startswith(f"{table} [python full] 5 rows, ")
    assert out.splitlines()[-1].startswith("import: 1 table (1 ok, 0 failed), 5 rows")
    # the status line while it runs (rows so far: the first fetches are small, see
    # batch_bytes; no rate in the first second)
    assert re.search(rf"\r{re.escape(table)}: [1-5] rows?[ ,(]", err), err
    assert f"\r{table} [python full] 5 rows" in err  # the table's line as it ends
    rc, out, err = run_cli(["--config", str(toml), "import", table], tty=False)
    assert rc == 0, err
    assert out.splitlines()[-1].startswith("import: 1 table (1 ok, 0 failed), 5 rows")
    assert table not in err and "\r" not in err


def _count(mariadb, db: str, table: str) -> int:
    return int(_query(mariadb, db, f"SELECT COUNT(*) FROM `{table}`")[0][0])
