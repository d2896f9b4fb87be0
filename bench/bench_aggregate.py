"""Benchmark: daily_actions on mrjob's inline, local and spark runners vs a plain loop.

    .venv/bin/python bench/bench_aggregate.py [--events 1000000] [--days 7]
        [--runners inline,local,spark] [--workdir /tmp/bench-aggregate]

Generates (once, cached in --workdir) N events over D days as gzipped JSON lines in
ROOT/events/dt=D/ (4 part files per day, like `warehouse parse`), then times, in the same
run: the floor (one process, the standard json module, the same validation and result),
and `run_aggregate(..., runner=R)` for each runner (wall time including mrjob's setup and
writing the partitions). Every runner's output is checked equal to the floor's. Prints
seconds, events/s and the ratio to the floor.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.test_aggregate_corpus import (
    MALFORMED_LINES,
    START,
    assert_same,
    generate_events,
    read_output,
    write_events,
)
from warehouse.aggregate import run_aggregate
from warehouse.config import config_from_dict


def ensure_corpus(root: Path, n: int, days: int) -> None:
    """Write the corpus once; a marker file records its size."""
    marker = root / f".corpus-{n}-{days}"
    if marker.exists():
        return
    t = time.perf_counter()
    events = generate_events(n, days, seed=2024)
    write_events(root, events, MALFORMED_LINES * 10, parts=4)
    marker.write_text("ok")
    print(f"generated {n:,} events over {days} days in {time.perf_counter() - t:.1f}s")


def _rank(values: list[Any], pct: int) -> Any:
    return values[math.ceil(pct * len(values) / 100) - 1] if values else None


def plain_loop(root: Path, days: list[str]) -> list[dict[str, Any]]:
    """The floor: read every file, json.loads each line, validate, aggregate in dicts."""
    groups: dict[tuple[str, Any], list[Any]] = {}
    bad = 0
    for day in days:
        for path in sorted((root / "events" / f"dt={day}").glob("*.json.gz")):
            with gzip.open(path, "rb") as f:
                for line in f:
                    try:
                        ev = json.loads(line)
                        when = dt.datetime.fromisoformat(ev["ts"])
                        if when.tzinfo is None:
                            raise ValueError("naive")
                        ip, status, user, slug = ev["ip"], ev["status"], ev.get("user"), ev.get("slug")
                        duration, params, agent = ev.get("duration_ms"), ev["params"], ev.get("user_agent")
                        if not (isinstance(ip, str) and ip and type(status) is int
                                and all(v is None or isinstance(v, str) for v in (user, slug, agent))
                                and (duration is None or (type(duration) in (int, float) and duration >= 0))
                                and isinstance(params, dict)
                                and all(isinstance(v, str) for v in params.values())):
                            raise ValueError("field")
                    except (ValueError, KeyError, TypeError):
                        bad += 1
                        continue
                    key = (when.astimezone(dt.UTC).date().isoformat(), slug)
                    st = groups.get(key)
                    if st is None:
                        st = groups[key] = [0, set(), set(), 0, 0, []]
                    st[0] += 1
                    if user:
                        st[1].add(user)
                    st[2].add(ip)
                    if status >= 500:
                        st[3] += 1
                    elif status >= 400:
                        st[4] += 1
                    if duration is not None:
                        st[5].append(duration)
    out = []
    for (day, slug), (hits, users, ips, s5, s4, durations) in groups.items():
        durations.sort()
        out.append({"dt": day, "slug": slug, "hits": hits, "users": len(users), "ips": len(ips),
                    "server_errors": s5, "client_errors": s4,
                    "p50_ms": _rank(durations, 50), "p95_ms": _rank(durations, 95)})
    return out


SPARK_ARGS = [
    "--spark-master", "local[2]",
    "--jobconf", "spark.driver.host=127.0.0.1",
    "--jobconf", "spark.driver.bindAddress=127.0.0.1",
    "--jobconf", "spark.ui.enabled=false",
    "--jobconf", "spark.default.parallelism=2",
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--runners", default="inline,local,spark")
    ap.add_argument("--workdir", default="/tmp/bench-aggregate")
    ap.add_argument(
        "--sessions", default="",
        help="also time the 2-step sessions job on these runners (no floor; e.g. inline,local)",
    )
    ap.add_argument(
        "--ablation", action="store_true",
        help="also run inline/local with --flush-events 1 (no in-mapper combining)",
    )
    args = ap.parse_args()

    root = Path(args.workdir)
    root.mkdir(parents=True, exist_ok=True)
    ensure_corpus(root, args.events, args.days)
    dates = [START + dt.timedelta(days=i) for i in range(args.days)]
    days = [d.isoformat() for d in dates]
    size = sum(p.stat().st_size for p in (root / "events").rglob("*.json.gz"))
    print(f"input: {args.events:,} events, {len(days)} days, {size / 1e6:.1f} MB gzipped; "
          f"{os.cpu_count()} cores (shared machine)")

    t = time.perf_counter()
    floor_records = plain_loop(root, days)
    floor = time.perf_counter() - t
    print(f"{'plain loop (json)':<28} {floor:7.1f}s  {args.events / floor:>10,.0f} events/s  1.00x")

    cfg = config_from_dict({"warehouse": {"root": str(root)}})
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # keep Spark on loopback
    plan = [(r, SPARK_ARGS if r == "spark" else [], "") for r in args.runners.split(",")]
    if args.ablation:
        plan += [(r, ["--flush-events", "1"], " no-combine") for r in ("inline", "local")]
    for runner, extra, label in plan:
        t = time.perf_counter()
        summary = run_aggregate(cfg, "daily_actions", dates, runner=runner, extra_args=extra)
        took = time.perf_counter() - t
        name = f"mrjob {runner}{label}"
        if summary.exit_code:
            print(f"{name:<28} FAILED: {summary.line()}")
            continue
        got = read_output(root, "daily_actions")
        assert_same([r for d in days for r in got[d]], floor_records)
        print(f"{name:<28} {took:7.1f}s  {args.events / took:>10,.0f} events/s  "
              f"{took / floor:.2f}x   (output identical to the plain loop)")
    for runner in filter(None, args.sessions.split(",")):
        extra = SPARK_ARGS if runner == "spark" else []
        t = time.perf_counter()
        summary = run_aggregate(cfg, "sessions", dates, runner=runner, extra_args=extra)
        took = time.perf_counter() - t
        status = "ok" if summary.exit_code == 0 else summary.line()
        print(f"{'sessions ' + runner:<28} {took:7.1f}s  {args.events / took:>10,.0f} events/s  "
              f"(2 steps; {status})")


if __name__ == "__main__":
    main()
