"""Peak RSS of `warehouse import` by the size of the values, not the number of rows.

Starts a private MariaDB (max_allowed_packet 1 GiB) and sshd (the test fixtures'
recipes) and fills four tables:
- small: N rows of bench_import's 7-column table (INT, VARCHAR, DATETIME, DECIMAL, TEXT);
- small_long: the same rows with the TEXT column a LONGTEXT (a value could be 4 GiB:
  the rows are fetched one by one and measured; compare the wall times);
- half: 200 rows of a 512 KiB MEDIUMBLOB (under the 1 MiB at which values go in chunks:
  the batches of `batch_bytes` are what is held);
- mid: 100 rows of a 4 MiB LONGBLOB;
- big: 1 row of a 500 MiB LONGBLOB;
- wide (`--wide N`): N rows of tests/test_mysql_parquet.py's every-type table (39
  columns: every integer, decimal, float, date/time, text, JSON, UUID, INET, BIT and
  binary type), its three rows repeated.
`--tables small,wide` imports only those.
Then it imports each table as its own `warehouse import SOURCE.DB.TABLE` process, with
each driver, and prints its peak RSS: getrusage(RUSAGE_CHILDREN).ru_maxrss of a small
wrapper process that ran the command (a child of this large process would inherit this
one's high-water mark), its wall time and the rows it reported.

    python bench/bench_import_memory.py [--rows 1000000] [--big-mib 500]
                                        [--drivers mysqlclient,mysql-connector,pymysql]
                                        [--formats json,parquet]
                                        [--wide 300000] [--tables small,wide]

`--formats json,parquet` imports each table both ways (`[mysql.NAME] format`) and also
prints the bytes the load wrote.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT_DIR))

from bench.bench_import import DB, DDL, FILL, PASSWORD, USER, drivers, write_config  # noqa: E402
from tests.fixtures.mariadb import start_mariadb  # noqa: E402
from tests.fixtures.sshd import start_sshd  # noqa: E402

MiB = 1 << 20
WRAPPER = ("import resource, subprocess, sys; p = subprocess.run(sys.argv[1:]); "
           "r = resource.getrusage(resource.RUSAGE_CHILDREN); "
           "print(p.returncode, r.ru_maxrss, r.ru_utime + r.ru_stime)")


def fill_wide(db, rows: int) -> tuple[int, str]:
    """Create `wide`: the every-type table's three rows repeated to about `rows` rows."""
    from tests.test_mysql_parquet import COLUMNS, EVERY_DDL, EVERY_ROWS

    db.execute(EVERY_DDL, database=DB)
    for sql in EVERY_ROWS:
        db.execute(sql, database=DB)
    db.execute(EVERY_DDL.replace("CREATE TABLE every", "CREATE TABLE wide"), database=DB)
    db.execute(f"INSERT INTO wide SELECT s.seq * 3 + e.id, {', '.join(COLUMNS[1:])} "
               f"FROM every e, seq_0_to_{rows // 3 - 1} s", database=DB)
    return rows // 3 * 3, f"{rows // 3 * 3:,} rows of every type"


def fill(db, rows: int, big_mib: int) -> dict[str, tuple[int, str]]:
    """Create and fill the tables; return {table: (rows, what)}."""
    db.execute("SET GLOBAL max_allowed_packet = 1073741824")
    db.create_database(DB)
    db.execute(DDL.replace("CREATE TABLE t", "CREATE TABLE small"), database=DB)
    db.execute(FILL.format(n=rows).replace("INSERT INTO t", "INSERT INTO small"), database=DB)
    db.execute(DDL.replace("CREATE TABLE t", "CREATE TABLE small_long").replace(
        "note TEXT", "note LONGTEXT"), database=DB)
    db.execute("INSERT INTO small_long SELECT * FROM small", database=DB)
    for sql in (
        "CREATE TABLE half (id INT PRIMARY KEY, b MEDIUMBLOB)",
        f"INSERT INTO half SELECT seq, REPEAT(UNHEX(MD5(seq)), {512 * 1024 // 16}) "
        "FROM seq_1_to_200",
        "CREATE TABLE mid (id INT PRIMARY KEY, b LONGBLOB)",
        f"INSERT INTO mid SELECT seq, REPEAT(UNHEX(MD5(seq)), {4 * MiB // 16}) "
        "FROM seq_1_to_100",
        "CREATE TABLE big (id INT PRIMARY KEY, b LONGBLOB)",
        f"INSERT INTO big VALUES (1, REPEAT(UNHEX(MD5(1)), {big_mib * MiB // 16}))",
    ):
        db.execute(sql, database=DB)
    db.create_user(USER, PASSWORD, DB)
    return {"small": (rows, f"{rows:,} small rows"),
            "small_long": (rows, f"{rows:,} small rows, LONGTEXT"),
            "half": (200, "200 x 512 KiB"),
            "mid": (100, "100 x 4 MiB"), "big": (1, f"1 x {big_mib} MiB")}


def measure(toml: Path, table: str) -> tuple[float, float, float, int]:
    """Import one table in a child; return (peak RSS MiB, wall seconds, CPU seconds of the
    command and its ssh, rows reported)."""
    exe = shutil.which("warehouse") or str(Path(sys.executable).parent / "warehouse")
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", WRAPPER, exe, "--config", str(toml),
                           "import", f"src.{DB}.{table}"], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    code, kib, cpu = proc.stdout.strip().splitlines()[-1].split()
    if code != "0":
        raise SystemExit(f"import of {table} failed ({code}): {proc.stdout[-1500:]}"
                         f"{proc.stderr[-1500:]}")
    # the total line is the last: "1 table (1 ok, 0 failed), 1 row ..."
    m = re.findall(r"failed\), ([\d,]+) rows?\b", proc.stdout)
    return int(kib) / 1024, wall, float(cpu), int(m[-1].replace(",", "")) if m else -1


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--big-mib", type=int, default=500)
    ap.add_argument("--drivers", default=",".join(drivers()))
    ap.add_argument("--formats", default="json")
    ap.add_argument("--wide", type=int, default=0, help="rows of the every-type table")
    ap.add_argument("--tables", default="", help="only these tables (comma-separated)")
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="wh-bench-memory-"))
    db = start_mariadb(base / "db")
    ssh = start_sshd(base / "ssh")
    try:
        t0 = time.perf_counter()
        tables = fill(db, args.rows, args.big_mib)
        if args.wide:
            tables["wide"] = fill_wide(db, args.wide)
        if args.tables:
            tables = {t: tables[t] for t in args.tables.split(",")}
        print(f"filled in {time.perf_counter() - t0:.1f}s", flush=True)
        print("| driver | format | table | peak RSS MiB | wall s | CPU s | rows | MB written |")
        print("|---|---|---|---|---|---|---|---|")
        for driver in args.drivers.split(","):
            for fmt in args.formats.split(","):
                toml = write_config(base, ssh, db.port, "openssh", driver)
                toml.write_text(toml.read_text() + f'format = "{fmt}"\n')
                for table, (rows, what) in tables.items():
                    shutil.rmtree(base / "root", ignore_errors=True)
                    rss, wall, cpu, got = measure(toml, table)
                    if got != rows:
                        raise SystemExit(f"{table}: expected {rows} rows, the command said {got}")
                    size = sum(p.stat().st_size for p in (base / "root" / "mysql").rglob("*")
                               if p.is_file())
                    print(f"| {driver} | {fmt} | {what} | {rss:.0f} | {wall:.1f} | {cpu:.1f} | "
                          f"{got:,} | "
                          f"{size / 1e6:,.1f} |", flush=True)
    finally:
        db.stop()
        ssh.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
