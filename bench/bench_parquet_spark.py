"""Spark SQL over the JSON events and their Parquet copy (bench/bench_parquet.py's Spark half;
also `python bench/bench_parquet_spark.py ROOT --ip IP` over a root made earlier).

A local SparkSession (`local[2]`, UI on 127.0.0.1) reads `ROOT/events` with the events'
declared schema (warehouse.schema.EVENT_COLUMNS; the JSON reader infers nothing) and
`ROOT/events_parquet` (the copy's own schema); `dt` is a partition column of both (string,
no type inference), so a `dt` predicate prunes partitions on both. Bytes read are Spark's
own input metrics: the `inputBytes` of every stage of the query's jobs, from the
application's REST status API (`/api/v1/applications/ID/stages/N`), which sums the tasks'
`bytesRead` (compressed bytes for the gzipped JSON parts, column chunks for Parquet).
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
from pathlib import Path
from typing import Any

from warehouse.schema import EVENT_COLUMNS


def session() -> Any:
    """Start the local SparkSession of the benchmark (2 threads, loopback only)."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # loopback only, never the LAN
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("bench_parquet")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.memory", "2g")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
        .config("spark.ui.enabled", "true")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def register(spark: Any, root: Path) -> dict[str, str]:
    """Register views `events_json` and `events_pq`; return {kind: view}."""
    ddl = ", ".join(f"`{c.name}` {c.hive}" for c in EVENT_COLUMNS)
    (
        spark.read.schema(ddl)
        .option("basePath", str(root / "events"))
        .json(str(root / "events" / "dt=*" / "*.json.gz"))
        .createOrReplaceTempView("events_json")
    )
    spark.read.parquet(str(root / "events_parquet")).createOrReplaceTempView("events_pq")
    return {"JSON": "events_json", "Parquet": "events_pq"}


def _rest(spark: Any, path: str) -> Any:
    url = spark.sparkContext.uiWebUrl  # http://HOST:PORT; HOST is the driver's, 127.0.0.1
    port = url.rsplit(":", 1)[1]
    app = spark.sparkContext.applicationId
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/applications/{app}/{path}", timeout=30) as r:
        return json.loads(r.read())


def input_bytes(spark: Any, group: str) -> int | None:
    """Return the input bytes of every stage of the jobs of `group` (None: not reported)."""
    sc = spark.sparkContext
    tracker = sc.statusTracker()
    stages: set[int] = set()
    for job in tracker.getJobIdsForGroup(group):
        info = tracker.getJobInfo(job)
        if info is not None:
            stages.update(info.stageIds)
    total = 0
    try:
        for sid in sorted(stages):
            for _ in range(50):  # the listener bus updates the store asynchronously
                attempts = _rest(spark, f"stages/{sid}")
                if all(a.get("status") in ("COMPLETE", "SKIPPED", "FAILED") for a in attempts):
                    break
                time.sleep(0.2)
            total += sum(int(a.get("inputBytes", 0)) for a in attempts if a.get("status") == "COMPLETE")
    except OSError:
        return None
    return total


def run_query(spark: Any, sql: str, tag: str) -> tuple[float, int | None, int]:
    """Return (seconds, input bytes or None, rows) of one query, collected to the driver."""
    spark.sparkContext.setJobGroup(tag, tag)
    t0 = time.perf_counter()
    rows = spark.sql(sql).collect()
    seconds = time.perf_counter() - t0
    return seconds, input_bytes(spark, tag), len(rows)


def main() -> None:
    """Run bench_parquet's queries with Spark SQL over an existing root's two copies."""
    import argparse
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import bench_parquet

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("root", type=Path, help="a root with events/ and events_parquet/")
    ap.add_argument("--ip", required=True, help="the client of the one-client query")
    ap.add_argument("--scan-days", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    days = sorted(p.name[3:] for p in (args.root / "events").glob("dt=*"))[-args.scan_days :]
    where = f"dt BETWEEN '{days[0]}' AND '{days[-1]}'"
    spark = session()
    try:
        views = register(spark, args.root)
        bench_parquet._table_header("Spark SQL, local[2]")
        bench_parquet._run_all(lambda sql, tag: run_query(spark, sql, tag), views, where, args.ip, args.repeat)
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
