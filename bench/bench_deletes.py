"""Benchmark `deletes = true`: the key reconciliation against a full export and a set().

Starts a private MariaDB (the test fixture's recipe), fills a table of N rows (as
bench_import.py) and a 100k-row copy, then, in one run, over TCP on 127.0.0.1:
- the python engine's full export of the table (mysqlclient): what a `--full` costs;
- KeyReconciler (warehouse.mysql.deletes) reading the keys and writing the snapshot
  (the first load), then again after 1% of the rows were deleted (snapshot + merge);
- the obvious alternative: `SELECT id` into a Python set, minus the previous set;
- peak RSS (ru_maxrss) of a child running the reconciliation (second pass) on 100k and
  on N rows, and of the set() way.

    .venv/bin/python bench/bench_deletes.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_import import DB, DDL, FILL, PASSWORD, USER
from tests.fixtures.mariadb import start_mariadb
from warehouse.config import Secret
from warehouse.mysql.connect import Driver, Endpoint
from warehouse.mysql.python_engine import ExportJob, export
from warehouse.mysql.schema import read_columns

HERE = str(Path(__file__).resolve().parents[1])

RECONCILE = """
import resource, sys, time
sys.path.insert(0, {here!r})
from warehouse.config import Secret
from warehouse.mysql.connect import Driver, Endpoint
from warehouse.mysql.deletes import KeyReconciler
from warehouse.mysql.schema import read_columns
from warehouse.storage import LocalStore
ep = Endpoint("bench", "127.0.0.1", {port}, {user!r}, Secret({pw!r}), 600.0)
conn = Driver("mysqlclient").connect(ep, database={db!r})
cols = [c for c in read_columns(conn, {db!r}, {table!r}) if c.name == "id"]
conn.close()
store = LocalStore({root!r})
k = KeyReconciler(store, {db!r}, {table!r}, cols, Driver("mysqlclient"), previous={previous!r},
                  snapshot={snapshot!r}, deletes_key={deletes!r}, where="bench")
t0 = time.perf_counter()
k.run(ep)
print(k.deleted, time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

SET_WAY = """
import resource, sys, time
sys.path.insert(0, {here!r})
from warehouse.config import Secret
from warehouse.mysql.connect import Driver, Endpoint
ep = Endpoint("bench", "127.0.0.1", {port}, {user!r}, Secret({pw!r}), 600.0)
def ids():
    conn = Driver("mysqlclient").connect(ep, database={db!r})
    cur = Driver("mysqlclient").stream_cursor(conn)
    cur.execute("SELECT id FROM {table}")
    out = set()
    while rows := cur.fetchmany(10000):
        out.update(r[0] for r in rows)
    conn.close()
    return out
t0 = time.perf_counter()
before = set(range(1, {rows} + 1))  # the previous load's keys, as the set way keeps them
gone = before - ids()
print(len(gone), time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def child(code: str, **kw: object) -> tuple[int, float, float]:
    """Run a snippet in a fresh interpreter; return (deleted, seconds, peak RSS MiB)."""
    fill = dict(kw, here=HERE, user=USER, pw=PASSWORD, db=DB)
    out = subprocess.run([sys.executable, "-c", code.format(**fill)], check=True,
                         capture_output=True, text=True)
    n, secs, kib = out.stdout.split()
    return int(n), float(secs), int(kib) / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args()
    rows = args.rows
    base = Path(tempfile.mkdtemp(prefix="wh-bench-deletes-"))
    db = start_mariadb(base / "db")
    try:
        db.create_database(DB)
        db.execute(DDL, database=DB)
        db.execute(FILL.format(n=rows), database=DB)
        db.execute(DDL.replace("TABLE t", "TABLE s"), database=DB)
        db.execute(f"INSERT INTO s SELECT * FROM t WHERE id <= {min(rows, 100_000)}",
                   database=DB)
        db.create_user(USER, PASSWORD, DB)
        root = base / "root"
        root.mkdir()
        ep = Endpoint("bench", "127.0.0.1", db.port, USER, Secret(PASSWORD), 600.0)
        conn = Driver("mysqlclient").connect(ep, database=DB)
        cols = tuple(read_columns(conn, DB, "t"))
        conn.close()
        job = ExportJob(endpoint=ep, driver=Driver("mysqlclient"), database=DB, table="t",
                        columns=cols, store_root=str(root), s3=None, prefix="full")
        t0 = time.perf_counter()
        assert export(job).rows == rows
        full_s = time.perf_counter() - t0

        def reconcile(table: str, tag: str, previous: str | None) -> tuple[int, float, float]:
            return child(RECONCILE, port=db.port, table=table, root=str(root),
                         previous=previous, snapshot=f"keys/{table}-{tag}.json.gz",
                         deletes=f"deletes/{table}-{tag}.json.gz")

        first = {t: reconcile(t, "1", None) for t in ("s", "t")}
        for t in ("s", "t"):
            db.execute(f"DELETE FROM {t} WHERE id % 100 = 7", database=DB)
        second = {t: reconcile(t, "2", f"keys/{t}-1.json.gz") for t in ("s", "t")}
        set_way = child(SET_WAY, port=db.port, table="t", rows=rows)
        assert second["t"][0] == set_way[0] == rows // 100, (second, set_way)
        print(f"{rows:,} rows, keys: INT primary key; 1% deleted between the two loads\n")
        print(f"{'run':52} {'seconds':>8} {'vs export':>9} {'peak RSS':>9}")
        lines = [
            ("full export, python engine (mysqlclient)", full_s, None),
            ("keys: first load (snapshot only)", first["t"][1], first["t"][2]),
            ("keys: next load (snapshot + merge with the last)", second["t"][1], second["t"][2]),
            ("set() way: SELECT id into a set, minus the last set", set_way[1], set_way[2]),
        ]
        for name, secs, rss in lines:
            shown = f"{rss:8.1f}M" if rss is not None else f"{'-':>9}"
            print(f"{name:52} {secs:8.2f} {secs / full_s:8.2f}x {shown}")
        print(f"\npeak RSS of the merge: {min(rows, 100_000):,} rows {second['s'][2]:.1f} MiB, "
              f"{rows:,} rows {second['t'][2]:.1f} MiB, "
              f"growth {second['t'][2] - second['s'][2]:+.1f} MiB")
    finally:
        db.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
