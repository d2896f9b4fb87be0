"""Partition registration: batched ALTER TABLE (ours) vs one ALTER per partition vs MSCK.

Starts Spark's Thrift server on 127.0.0.1 (the test fixture's recipe), lays out N small
dt partitions under a temp warehouse root, and registers them three ways, each on a fresh
table over the same files, in the same run:

- batched: `register_partitions` (lists the root, SHOW PARTITIONS, then ALTER TABLE ...
  ADD IF NOT EXISTS with up to 100 partitions per statement);
- per-partition: the obvious loop, one ALTER TABLE ... ADD PARTITION per partition;
- msck: `MSCK REPAIR TABLE` (the server lists the folders itself).

Also times the no-op re-run (everything registered already) of batched and msck.
Usage: .venv/bin/python bench/bench_hive.py [--partitions 300]
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fixtures.hive import start_thrift_server, stop_thrift_server
from warehouse.config import config_from_dict
from warehouse.hive import manage
from warehouse.hive.client import connect
from warehouse.hive.render import location_uri, quote_string, table_ref
from warehouse.hive.spec import Column, TableSpec
from warehouse.storage import open_gzip_write, store_for_config


def _spec(name: str) -> TableSpec:
    return TableSpec(
        name=name,
        columns=(Column("n", "BIGINT"),),
        location="bench",
        partition_by=(Column("dt", "STRING"),),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--partitions", type=int, default=300)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-hive-"))
    server = start_thrift_server(work / "server")
    try:
        root = work / "root"
        cfg = config_from_dict(
            {
                "warehouse": {"root": str(root)},
                "hive": {"host": server.host, "port": server.port, "dialect": "spark",
                         "database": "bench"},
            }
        )  # fmt: skip
        store = store_for_config(cfg)
        first = dt.date(2000, 1, 1)
        days = [(first + dt.timedelta(days=i)).isoformat() for i in range(args.partitions)]
        for i, day in enumerate(days):
            with open_gzip_write(store, f"bench/dt={day}/part-0.json.gz") as f:
                f.write(b'{"n": %d}\n' % i)
        # A day still being written: only a temporary name so far.
        wip = root / "bench" / "dt=2099-01-01"
        wip.mkdir(parents=True)
        (wip / "_tmp.part-0.json.gz").write_bytes(b"")
        root_uri = location_uri(store.uri(""))
        times: dict[str, float] = {}
        with connect(cfg) as hive:
            specs = {k: _spec(f"t_{k}") for k in ("batched", "loop", "msck")}
            manage.ensure_tables(cfg, list(specs.values()), client=hive)

            t0 = time.perf_counter()
            summary = manage.add_partitions(
                cfg, specs["batched"], manage.find_partitions(store, specs["batched"]), client=hive
            )
            times["batched"] = time.perf_counter() - t0
            assert summary.added == len(days), summary.line()

            t0 = time.perf_counter()
            ref = table_ref("bench", "t_loop")
            for day in days:
                where = quote_string(location_uri(root_uri, f"bench/dt={day}"))
                hive.execute(
                    f"ALTER TABLE {ref} ADD IF NOT EXISTS PARTITION (`dt` = {quote_string(day)})"
                    f" LOCATION {where}"
                )
            times["per-partition"] = time.perf_counter() - t0

            t0 = time.perf_counter()
            hive.execute(f"MSCK REPAIR TABLE {table_ref('bench', 't_msck')}")
            times["msck"] = time.perf_counter() - t0

            t0 = time.perf_counter()
            again = manage.add_partitions(
                cfg, specs["batched"], manage.find_partitions(store, specs["batched"]), client=hive
            )
            times["batched re-run"] = time.perf_counter() - t0
            assert again.added == 0
            t0 = time.perf_counter()
            hive.execute(f"MSCK REPAIR TABLE {table_ref('bench', 't_msck')}")
            times["msck re-run"] = time.perf_counter() - t0
            wip_seen = {
                name: any(
                    "2099-01-01" in str(r[0])
                    for r in hive.execute(f"SHOW PARTITIONS {table_ref('bench', name)}").rows
                )
                for name in ("t_batched", "t_msck")
            }
            for name in ("t_batched", "t_loop"):
                n = hive.execute(f"SELECT count(*) FROM {table_ref('bench', name)}").rows[0][0]
                assert n == len(days), (name, n)
    finally:
        stop_thrift_server(server._proc)  # type: ignore[attr-defined]
        shutil.rmtree(work, ignore_errors=True)

    base = times["batched"]
    print(f"partitions: {args.partitions} (Spark Thrift server, local files)")
    for name, secs in times.items():
        print(f"{name:>16}: {secs:7.2f} s  ({secs / base:5.1f}x batched)")
    for name, seen in wip_seen.items():
        print(f"{name}: registered the folder holding only a temporary file: {seen}")


if __name__ == "__main__":
    main()
