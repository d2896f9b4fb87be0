"""Benchmark the MySQL import's python engine against `mariadb --batch --quick | gzip -1`.

Starts a private MariaDB and sshd (the test fixtures' recipes), fills a table of N rows
(ints, varchar, datetimes, decimal, nullable text with tabs/newlines/unicode), opens ONE
paramiko tunnel (warehouse.tunnel) and, in the same run, through that tunnel:
- `mariadb --batch --quick ... | gzip -1` (the obvious alternative; lossy: NULL vs 'NULL');
- a plain PyMySQL streaming loop writing gzipped JSON with the json module (the naive way);
- the python engine (warehouse.mysql.python_engine.export) with mysqlclient and PyMySQL,
  in one process and with split_workers=2 (two key-range processes);
- peak RSS (ru_maxrss) of a child running the engine for 100k and for N rows.
Prints rows/s and ratios against the CLI pipeline.

    .venv/bin/python bench/bench_import.py [--rows 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fixtures.mariadb import start_mariadb
from tests.fixtures.sshd import start_sshd
from warehouse.config import config_from_dict
from warehouse.mysql.connect import Endpoint, connect
from warehouse.mysql.python_engine import ExportJob, export, export_split
from warehouse.mysql.schema import read_columns
from warehouse.storage import LocalStore
from warehouse.tunnel import open_tunnel

USER, PASSWORD, DB = "bench", "bench-Pw-1", "benchdb"

DDL = """
CREATE TABLE t (
  id INT PRIMARY KEY, a INT NOT NULL, b BIGINT NOT NULL, name VARCHAR(64) NOT NULL,
  created DATETIME NOT NULL, updated DATETIME NULL, amount DECIMAL(12,2) NOT NULL,
  note TEXT NULL
)
"""
FILL = """
INSERT INTO t SELECT seq, seq % 1000, seq * 7919, CONCAT('user-', seq, '-', MD5(seq)),
  '2020-01-01' + INTERVAL seq SECOND,
  IF(seq % 3 = 0, NULL, '2021-06-01' + INTERVAL seq MINUTE),
  (seq % 100000) / 100,
  CASE seq % 4 WHEN 0 THEN NULL WHEN 1 THEN CONCAT('tab\\there ', seq)
    WHEN 2 THEN CONCAT('line1\\nline2 ü ✓ ', seq) ELSE 'plain text' END
FROM seq_1_to_{n}
"""


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def cli_pipeline(host: str, port: int, out: Path) -> int:
    env = dict(os.environ, MYSQL_PWD=PASSWORD)  # not on argv
    cmd = (
        f"mariadb --no-defaults --batch --quick -h {host} -P {port} -u {USER} {DB} "
        f"-e 'SELECT * FROM t' | gzip -1 > {out}"
    )
    subprocess.run(["bash", "-o", "pipefail", "-c", cmd], check=True, env=env)
    with gzip.open(out, "rb") as f:
        return sum(1 for _ in f) - 1  # header line


def naive_loop(host: str, port: int, out: Path) -> int:
    import pymysql

    conn = pymysql.connect(host=host, port=port, user=USER, password=PASSWORD, database=DB,
                           cursorclass=pymysql.cursors.SSCursor)
    n = 0
    try:
        cur = conn.cursor()
        cur.execute("SELECT * FROM t")
        names = [d[0] for d in cur.description]
        with gzip.open(out, "wt", compresslevel=1, encoding="utf-8") as f:
            for row in cur:
                f.write(json.dumps(dict(zip(names, row, strict=False)), default=str) + "\n")
                n += 1
    finally:
        conn.close()
    return n


def engine(ep: Endpoint, driver: str, root: Path, prefix: str, split: int = 1) -> int:
    conn = connect(ep, driver, database=DB)
    cols = tuple(read_columns(conn, DB, "t"))
    conn.close()
    job = ExportJob(endpoint=ep, driver=driver, database=DB, table="t", columns=cols,
                    store_root=str(root), s3=None, prefix=prefix)
    if split > 1:
        lo, hi = 1, ROWS
        return export_split(job, "id", lo, hi, split).rows
    return export(job, store=LocalStore(str(root))).rows


def child_rss(host: str, port: int, root: Path, limit: int, driver: str) -> float:
    """Run the engine on `limit` rows in a child; return its peak RSS in MiB."""
    code = f"""
import resource, sys
sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
from warehouse.mysql.connect import Endpoint, connect
from warehouse.mysql.python_engine import ExportJob, Query, export
from warehouse.mysql.schema import read_columns
from warehouse.storage import LocalStore
ep = Endpoint("bench", {host!r}, {port}, {USER!r}, {PASSWORD!r}, 600.0)
conn = connect(ep, {driver!r}, database={DB!r}); cols = tuple(read_columns(conn, {DB!r}, "t")); conn.close()
job = ExportJob(endpoint=ep, driver={driver!r}, database={DB!r}, table="t", columns=cols,
                store_root={str(root)!r}, s3=None, prefix="rss{limit}",
                query=Query("`id` <= %s", ({limit},)))
r = export(job, store=LocalStore({str(root)!r}))
print(r.rows, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    rows, kib = out.stdout.split()
    assert int(rows) == limit, out.stdout
    return int(kib) / 1024


ROWS = 1_000_000


def main() -> None:
    global ROWS
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=1,
                    help="run every variant N times in rotation and keep each one's best time")
    args = ap.parse_args()
    ROWS = args.rows
    base = Path(tempfile.mkdtemp(prefix="wh-bench-import-"))
    db = start_mariadb(base / "db")
    ssh = start_sshd(base / "ssh")
    try:
        db.create_database(DB)
        db.execute(DDL, database=DB)
        _, fill_s = timed(lambda: db.execute(FILL.format(n=ROWS), database=DB))
        db.create_user(USER, PASSWORD, DB)
        print(f"filled {ROWS:,} rows in {fill_s:.1f}s")
        cfg = config_from_dict({"ssh": {"b": ssh.ssh_section(keepalive_seconds=5.0)}}).ssh["b"]
        out = base / "out"
        out.mkdir()
        results: dict[str, tuple[int, float]] = {}
        with open_tunnel(cfg, "127.0.0.1", db.port) as (host, port):
            ep = Endpoint("bench", host, port, USER, PASSWORD, 600.0)
            runs = [
                ("mariadb --batch --quick | gzip -1", lambda: cli_pipeline(host, port, out / "cli.tsv.gz")),
                ("engine mysqlclient, 1 process", lambda: engine(ep, "mysqlclient", out, "mc")),
                ("engine mysqlclient, split_workers=2", lambda: engine(ep, "mysqlclient", out, "mc2", 2)),
                ("engine PyMySQL, 1 process", lambda: engine(ep, "pymysql", out, "pm")),
                ("naive PyMySQL loop + json + gzip", lambda: naive_loop(host, port, out / "naive.json.gz")),
            ]
            for _ in range(args.repeat):  # rotation: background load hits every variant
                for name, fn in runs:
                    n, secs = timed(fn)
                    assert n == ROWS, (name, n)
                    if name not in results or secs < results[name][1]:
                        results[name] = (n, secs)
            small = min(100_000, ROWS)
            rss_small = child_rss(host, port, out, small, "mysqlclient")
            rss_big = child_rss(host, port, out, ROWS, "mysqlclient")
        cli_rate = ROWS / results["mariadb --batch --quick | gzip -1"][1]
        print(f"\n{'run':42} {'seconds':>8} {'rows/s':>10} {'vs CLI':>7}")
        for name, (n, secs) in results.items():
            rate = n / secs
            print(f"{name:42} {secs:8.2f} {rate:10,.0f} {rate / cli_rate:6.2f}x")
        print(
            f"\npeak RSS (engine, mysqlclient, child process): {small:,} rows {rss_small:.1f} MiB, "
            f"{ROWS:,} rows {rss_big:.1f} MiB, growth {rss_big - rss_small:+.1f} MiB"
        )
        sizes = {p.name: p.stat().st_size for p in out.glob("*.gz")}
        mc = sum(p.stat().st_size for p in (out / "mc").glob("*.gz"))
        print(f"output bytes: CLI tsv.gz {sizes.get('cli.tsv.gz', 0):,}, engine json.gz {mc:,}")
    finally:
        ssh.stop()
        db.stop()
        import shutil

        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
