"""The python engine's memory is bounded by bytes, not rows: `warehouse import` of one
200 MiB LONGBLOB, and of 20 rows of 4 MiB (binary and text), as a child process against
the real MariaDB behind the real sshd, with each driver; peak RSS from
getrusage(RUSAGE_CHILDREN) of a small wrapper process (a child forked from pytest would
inherit pytest's own high-water mark). The files hold the values exactly."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_mysql_import import PASSWORD, USER, _driver_available, _toml_config

pytestmark = pytest.mark.mysql

MiB = 1 << 20
WAREHOUSE_BIN = str(Path(sys.executable).parent / "warehouse")
DRIVERS = ["pymysql", "mysqlclient", "mysql-connector"]
# run the command, then print its exit code and peak RSS (KiB) on the last line
WRAPPER = ("import resource, subprocess, sys; p = subprocess.run(sys.argv[1:]); "
           "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
BASE_MIB = 150  # the interpreter, the driver, orjson, boto3 imports ... (measured ~70-90)


def peak_rss_mib(*argv: str, timeout: float = 900) -> tuple[int, float, str]:
    """Run `argv` under the wrapper; return (exit code, its peak RSS in MiB, output)."""
    proc = subprocess.run([sys.executable, "-c", WRAPPER, *argv], capture_output=True,
                          text=True, timeout=timeout)
    code, kib = proc.stdout.strip().splitlines()[-1].split()
    return int(code), int(kib) / 1024, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def big_db(mariadb) -> Iterator[str]:
    # the server takes no statement larger than max_allowed_packet, and REPEAT() returns
    # NULL past it: 1 GiB for the connections opened from now on (restored at the end)
    [(before,)] = _select(mariadb, None, "SELECT @@GLOBAL.max_allowed_packet")
    mariadb.execute("SET GLOBAL max_allowed_packet = 1073741824")
    db = mariadb.create_database("mem_big")
    for sql in (
        "CREATE TABLE one (id INT PRIMARY KEY, b LONGBLOB)",
        f"INSERT INTO one VALUES (1, REPEAT(UNHEX('00FF7F'), {200 * MiB // 3 + 1}))",
        "CREATE TABLE many (id INT PRIMARY KEY, b MEDIUMBLOB, t MEDIUMTEXT)",
        f"INSERT INTO many SELECT seq, REPEAT(UNHEX('01FE'), {MiB}), "
        f"REPEAT(CONCAT('é\\t\"', seq), {MiB // 4}) FROM seq_1_to_20",
        "CREATE TABLE half (id INT PRIMARY KEY, b MEDIUMBLOB)",
        f"INSERT INTO half SELECT seq, REPEAT(UNHEX(MD5(seq)), {MiB // 2 // 16}) "
        "FROM seq_1_to_100",
        "CREATE TABLE small (id INT PRIMARY KEY, t MEDIUMTEXT)",
        "INSERT INTO small VALUES (1, 'a'), (2, NULL), (3, 'tab\\there')",
    ):
        mariadb.execute(sql, database=db)
    mariadb.create_user(USER, PASSWORD, db)
    try:
        yield db
    finally:
        mariadb.execute(f"SET GLOBAL max_allowed_packet = {int(before)}")  # type: ignore[call-overload]


def _lines(root: Path, db: str, table: str) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for part in sorted((root / "mysql" / "src" / db / table).glob("load=*/*.json.gz")):
        with gzip.open(part, "rb") as f:
            out.extend(json.loads(line) for line in f)
    return out


def _select(mariadb, db: str | None, sql: str) -> list[tuple[object, ...]]:
    conn = mariadb.connect(db)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall())
    finally:
        conn.close()


@pytest.mark.parametrize("driver", DRIVERS)
def test_one_200_mib_value_within_1_gib(tmp_path, sshd, mariadb, big_db, driver):
    _driver_available(driver)
    (tmp_path / "db.pass").write_text(PASSWORD + "\n")
    root = tmp_path / "root"
    toml = _toml_config(tmp_path, sshd, mariadb, root, big_db, f'driver = "{driver}"')
    code, peak, out = peak_rss_mib(WAREHOUSE_BIN, "--config", str(toml), "import",
                                   f"src.{big_db}.one")
    print(f"peak RSS {driver} 1 x 200 MiB: {peak:.0f} MiB")
    assert code == 0 and "1 row," in out, out
    assert "Traceback" not in out and PASSWORD not in out
    # the README's bound: the interpreter, plus about twice the largest value (the
    # driver's packet and the value), plus the batches (here none: the row comes alone)
    assert peak < min(1024, BASE_MIB + 2.5 * 200), (driver, peak)
    [row] = _lines(root, big_db, "one")
    [(want,)] = _select(mariadb, big_db, "SELECT MD5(b) FROM one")
    assert hashlib.md5(base64.b64decode(row["b"])).hexdigest() == want


@pytest.mark.parametrize("driver", DRIVERS)
def test_twenty_4_mib_rows_and_small_rows(tmp_path, sshd, mariadb, big_db, driver):
    _driver_available(driver)
    (tmp_path / "db.pass").write_text(PASSWORD + "\n")
    root = tmp_path / "root"
    toml = _toml_config(tmp_path, sshd, mariadb, root, big_db,
                        f'driver = "{driver}"\ntables = ["many", "small"]')
    code, peak, out = peak_rss_mib(WAREHOUSE_BIN, "--config", str(toml), "import")
    print(f"peak RSS {driver} 20 x 4 MiB: {peak:.0f} MiB")
    assert code == 0 and "2 tables (2 ok, 0 failed), 23 rows" in out, out
    assert peak < BASE_MIB + 2.5 * 4 * 4, (driver, peak)  # 4 MiB of text: up to 16 MiB
    rows = sorted(_lines(root, big_db, "many"), key=lambda r: int(r["id"]))  # type: ignore[call-overload]
    want = _select(mariadb, big_db, "SELECT id, MD5(b), MD5(t) FROM many ORDER BY id")
    got = [(r["id"], hashlib.md5(base64.b64decode(r["b"])).hexdigest(),  # type: ignore[arg-type]
            hashlib.md5(str(r["t"]).encode()).hexdigest()) for r in rows]
    assert got == [tuple(w) for w in want]
    assert sorted(_lines(root, big_db, "small"), key=lambda r: int(r["id"])) == [  # type: ignore[call-overload]
        {"id": 1, "t": "a"}, {"id": 2, "t": None}, {"id": 3, "t": "tab\there"}]



@pytest.mark.parametrize("driver", DRIVERS)
def test_values_under_1_mib_are_held_by_batch_bytes(tmp_path, sshd, mariadb, big_db, driver):
    # 100 x 512 KiB: batched, not written in chunks; 16 MiB batches hold ~32 of them
    _driver_available(driver)
    (tmp_path / "db.pass").write_text(PASSWORD + "\n")
    root = tmp_path / "root"
    toml = _toml_config(tmp_path, sshd, mariadb, root, big_db,
                        f'driver = "{driver}"\nbatch_bytes = {16 * MiB}')
    code, peak, out = peak_rss_mib(WAREHOUSE_BIN, "--config", str(toml), "import",
                                   f"src.{big_db}.half")
    print(f"peak RSS {driver} 100 x 512 KiB, batch_bytes 16 MiB: {peak:.0f} MiB")
    assert code == 0 and "100 rows" in out, out
    assert peak < BASE_MIB + 2 * 0.5 + 5 * 16, (driver, peak)  # the README's bound
    want = _select(mariadb, big_db, "SELECT id, MD5(b) FROM half ORDER BY id")
    got = sorted((r["id"], hashlib.md5(base64.b64decode(r["b"])).hexdigest())  # type: ignore[arg-type]
                 for r in _lines(root, big_db, "half"))
    assert got == [tuple(w) for w in want]


def test_a_row_over_the_servers_max_allowed_packet_is_read(tmp_path, sshd, mariadb, big_db):
    # the limit is the server's for what it receives (the INSERT, REPEAT()): a stored
    # 200 MiB value is sent under MariaDB's default 16 MiB, the README says so
    mariadb.execute("SET GLOBAL max_allowed_packet = 16777216")
    try:
        (tmp_path / "db.pass").write_text(PASSWORD + "\n")
        toml = _toml_config(tmp_path, sshd, mariadb, tmp_path / "root", big_db,
                            'driver = "pymysql"')
        code, _, out = peak_rss_mib(WAREHOUSE_BIN, "--config", str(toml), "import",
                                    f"src.{big_db}.one")
        assert code == 0 and "1 row," in out, out
    finally:
        mariadb.execute("SET GLOBAL max_allowed_packet = 1073741824")
