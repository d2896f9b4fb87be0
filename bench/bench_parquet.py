"""Parquet copy vs gzipped JSON events: bytes on disk, bytes read and wall time of typical
queries with DuckDB, and the nightly cost of writing the copy as a ratio to the parse.

Generates DAYS days of combined-format logs (bench/generate.py's seeded traffic over a
generated URLconf), runs the whole `warehouse parse` command over them and the whole
`warehouse events compact` command (start-up included), then runs each query on both
copies in the same DuckDB process. Bytes read are the process's `rchar` (/proc/self/io)
around the query: every byte DuckDB read through the kernel, page cache or not. With
`--spark`, the same queries also run in a local SparkSession (bench_parquet_spark.py:
Spark's own input metrics, wall time).

`--direct` (the issue's 30 days x 1M): one day of logs is generated and parsed (the parse
is timed on that day, and so is a compaction of that day alone: the nightly cost ratio),
then that day's event parts are written again, gzipped the same way, under every other
date with the date of `ts` changed (the events layout directly: no 30M-line parse), and
so is its Parquet copy (ts shifted, `events compact`'s writer settings); with
`--compact-all` every day is compacted instead (timed; about 17 CPU-s per 1M events).
The queries read the last `--scan-days` days.

    python bench/bench_parquet.py --days 7 --lines-per-day 300000
    python bench/bench_parquet.py --direct --days 30 --lines-per-day 1000000 --spark --repeat 1
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import generate  # noqa: E402  (bench/generate.py)

# {w}: the scanned days (dt BETWEEN first AND last of the last --scan-days days)
QUERIES = [
    ("count by slug over the week (two columns)", "SELECT slug, count(*) AS n FROM {t} WHERE {w} GROUP BY slug"),
    ("distinct clients per day", "SELECT dt, count(DISTINCT ip) FROM {t} WHERE {w} GROUP BY dt"),
    ("one client's events, every column", "SELECT * FROM {t} WHERE {w} AND ip = '{ip}' ORDER BY ts"),
]
_DAY0 = 1_362_009_600  # 2013-02-28T00:00:00Z: --direct's template day starts at midnight UTC


def _say(text: str) -> None:
    print(text, flush=True)


def _rchar() -> int:
    with open("/proc/self/io") as f:
        for line in f:
            if line.startswith("rchar:"):
                return int(line.split()[1])
    raise RuntimeError("no rchar in /proc/self/io")


def _size(root: Path, pattern: str) -> int:
    return sum(p.stat().st_size for p in root.glob(pattern))


def _warehouse(*args: str) -> tuple[float, float]:
    """Run the whole `warehouse` command; return its (wall, CPU) seconds."""
    argv = [sys.executable, "-m", "warehouse.cli", *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode not in (0, 5):  # 5: the generated malformed lines' rejects ratio
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return seconds, cpu


def _generate(work: Path, days: int, lines: int, n_patterns: int, seed: int) -> list[Path]:
    """Write the URL dump and one log per day (the generator's span set to that day)."""
    (work / "urls.py").write_text(generate.generate_urls_py(n_patterns, seed), encoding="utf-8")
    generate._run_dump(sys.executable, "urls", str(work), work / "urls.json")
    import json

    patterns = json.loads((work / "urls.json").read_text(encoding="utf-8"))
    logs = []
    start, span = generate._START, generate._SPAN
    try:
        for d in range(days):
            generate._START, generate._SPAN = start + d * 86400, 86400 - 1
            path = work / f"access-{d:02d}.log"
            generate.generate_log(path, lines, seed + d, patterns)
            logs.append(path)
    finally:
        generate._START, generate._SPAN = start, span
    return logs


def _template_day(root: Path) -> str:
    """Keep only the template day's events (the parse may leave a few lines on another date)."""
    src = time.strftime("%Y-%m-%d", time.gmtime(_DAY0))
    for folder in (root / "events").glob("dt=*"):
        if folder.name != f"dt={src}":
            n = sum(1 for p in folder.glob("*.json.gz") for _ in _gz_lines(p))
            _say(f"dropped {n} events outside the template day ({folder.name})")
            shutil.rmtree(folder)
    return src


def _gz_lines(path: Path) -> list[bytes]:
    from isal import igzip

    return igzip.decompress(path.read_bytes()).splitlines()


def _replicate(root: Path, days: int, copies: bool) -> list[str]:
    """Write the template day's event parts again under days-1 later dates (ts's date
    changed), gzipped as parse writes them; with `copies`, its Parquet copy likewise (ts
    shifted by whole days, written as `events compact` writes); return every date."""
    import re

    from isal import igzip

    from warehouse.storage import open_gzip_write, open_store

    store = open_store(str(root))
    src = time.strftime("%Y-%m-%d", time.gmtime(_DAY0))
    dates = [src]
    parts = sorted((root / "events" / f"dt={src}").glob("*.json.gz"))
    texts = [igzip.decompress(p.read_bytes()) for p in parts]
    ts = re.compile(rb'("ts": ?")' + re.escape(src.encode()) + rb"T")
    table = None
    if copies:
        import pyarrow.parquet as pq

        table = pq.read_table(root / "events_parquet" / f"dt={src}" / "events.parquet")
    for d in range(1, days):
        day = time.strftime("%Y-%m-%d", time.gmtime(_DAY0 + d * 86400))
        dates.append(day)
        for part, text in zip(parts, texts, strict=True):
            with open_gzip_write(store, f"events/dt={day}/{part.name}") as f:
                f.write(ts.sub(rb"\g<1>" + day.encode() + rb"T", text))
        if table is not None:
            _shifted_copy(table, d, root / "events_parquet" / f"dt={day}" / "events.parquet")
    return dates


def _shifted_copy(table: Any, days: int, path: Path) -> None:
    """Write `table` with ts `days` later, with `events compact`'s writer settings."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    i = table.schema.get_field_index("ts")
    col = table.column(i)
    shifted = pc.add(col, pa.scalar(days * 86400 * 10**9, pa.duration("ns")))
    out = table.set_column(i, "ts", shifted.cast(col.type))
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(out, path, compression="zstd", use_deprecated_int96_timestamps=True,
                   write_statistics=True, row_group_size=262_144)  # fmt: skip


def _query(con: Any, sql: str) -> tuple[float, int, int]:
    """Return (seconds, bytes read, rows) of one query."""
    before, t0 = _rchar(), time.perf_counter()
    rows = con.execute(sql).fetchall()
    return time.perf_counter() - t0, _rchar() - before, len(rows)


def _parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--lines-per-day", type=int, default=300_000)
    ap.add_argument("--patterns", type=int, default=300)
    ap.add_argument("--seed", type=int, default=2013)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each query; the best is kept")
    ap.add_argument("--direct", action="store_true", help="parse one day, write the others directly")
    ap.add_argument("--compact-all", action="store_true",
                    help="with --direct: compact every day (else the template day's copy is shifted)")
    ap.add_argument("--scan-days", type=int, default=7, help="days the queries read (the last ones)")
    ap.add_argument("--spark", action="store_true", help="also run the queries with Spark SQL")
    return ap.parse_args()


def _prepare(args: argparse.Namespace, work: Path) -> tuple[Path, list[str]]:
    """Make ROOT/events and ROOT/events_parquet; print sizes and the nightly cost."""
    root = work / "root"
    env_root = ["--root", str(root)]
    if args.direct:
        generate._START, generate._SPAN = _DAY0, 86400 - 3  # + up to 2 s of jitter
        logs = _generate(work, 1, args.lines_per_day, args.patterns, args.seed)
    else:
        logs = _generate(work, args.days, args.lines_per_day, args.patterns, args.seed)
    t_parse = _warehouse(*env_root, "parse", *map(str, logs), "--patterns", str(work / "urls.json"))
    for log_file in logs:
        log_file.unlink()
    if args.direct:
        _template_day(root)
    days = sorted(p.name[3:] for p in (root / "events").glob("dt=*"))
    t_compact = _warehouse(*env_root, "events", "compact", "--from", days[0], "--to", days[-1])
    n = len(logs) * args.lines_per_day
    _say(f"nightly cost: `events compact` {t_compact[1]:.1f} CPU-s ({t_compact[0]:.1f} s wall) vs "
         f"`parse` {t_parse[1]:.1f} CPU-s ({t_parse[0]:.1f} s wall) of the same {n:,} lines: "
         f"**{t_compact[1] / t_parse[1]:.2f}x** the parse's CPU (whole commands, one worker)")  # fmt: skip
    if args.direct:
        t0 = time.perf_counter()
        days = _replicate(root, args.days, copies=not args.compact_all)
        what = "events" if args.compact_all else "events and their Parquet copies"
        _say(f"wrote {args.days - 1} more days of {what} directly in {time.perf_counter() - t0:.0f} s")
        if args.compact_all:
            t_all = _warehouse(*env_root, "events", "compact", "--from", days[0], "--to", days[-1])
            _say(f"`events compact` of all {args.days} days ({args.days * args.lines_per_day:,} "
                 f"lines, the first unchanged): {t_all[1]:.1f} CPU-s ({t_all[0]:.1f} s wall)")  # fmt: skip
    json_bytes = _size(root, "events/*/*.json.gz")
    parquet_bytes = _size(root, "events_parquet/*/*.parquet")
    _say(f"on disk: JSON {json_bytes / 1e6:,.1f} MB, Parquet {parquet_bytes / 1e6:,.1f} MB "
         f"(**{json_bytes / parquet_bytes:.2f}x** smaller)")  # fmt: skip
    return root, days


def _table_header(engine: str) -> None:
    _say(f"| query ({engine}, best of runs) | JSON MB read | Parquet MB read | read ratio "
         "| JSON s | Parquet s | time ratio |")  # fmt: skip
    _say("|---|---|---|---|---|---|---|")


def _row(label: str, best: dict[str, tuple[float, int | None, int]]) -> None:
    (tj, bj, _), (tp, bp, _) = best["JSON"], best["Parquet"]
    if bj is None or bp is None:
        read = "not reported | not reported | -"
    else:
        read = f"{bj / 1e6:,.1f} | {bp / 1e6:,.2f} | **{bj / max(bp, 1):.1f}x**"
    _say(f"| {label} | {read} | {tj:.3f} | {tp:.3f} | {tj / max(tp, 1e-9):.1f}x |")


def _run_all(run: Any, tables: dict[str, str], where: str, ip: str, repeat: int) -> None:
    for label, sql in QUERIES:
        best: dict[str, Any] = {}
        for kind, table in tables.items():
            runs = [run(sql.format(t=table, w=where, ip=ip), f"{label} {kind} {i}") for i in range(repeat)]
            best[kind] = min(runs, key=lambda r: r[0])
        assert best["JSON"][2] == best["Parquet"][2], (label, best)
        _row(label, best)


def main() -> None:
    args = _parse_args()
    import duckdb

    base = os.environ.get("BENCH_DATA")
    if base:
        Path(base).mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-parquet-", dir=base))
    cmd = " ".join(["python bench/bench_parquet.py", *sys.argv[1:]])
    total = args.days * args.lines_per_day
    _say(f"# Parquet copy vs JSON events ({args.days} days x {args.lines_per_day:,} lines, {total:,})")
    _say(f"command: `{cmd}`")
    try:
        root, days = _prepare(args, work)
        scan = days[-args.scan_days :]
        where = f"dt BETWEEN '{scan[0]}' AND '{scan[-1]}'"
        _say(f"queries read {len(scan)} days: {where}")
        con = duckdb.connect()
        con.execute("SET threads = 2")
        tables = {
            "JSON": f"read_json('{root}/events/*/*.json.gz', hive_partitioning = true, "
            "format = 'newline_delimited', ignore_errors = true)",
            "Parquet": f"read_parquet('{root}/events_parquet/*/*.parquet', hive_partitioning = true)",
        }
        ip = con.execute(
            f"SELECT ip FROM read_parquet('{root}/events_parquet/dt={scan[-1]}/*.parquet') "
            "GROUP BY ip ORDER BY count(*) DESC LIMIT 1 OFFSET 20"
        ).fetchone()[0]
        stray = con.execute(
            f"SELECT count(*) FROM {tables['Parquet']} WHERE CAST(ts AS DATE) <> CAST(dt AS DATE)"
        ).fetchone()[0]
        assert stray == 0, f"{stray} Parquet rows whose ts is not on their dt"
        _table_header("DuckDB, 2 threads")
        _run_all(lambda sql, _tag: _query(con, sql), tables, where, ip, args.repeat)
        con.close()
        if args.spark:
            import bench_parquet_spark as bps

            t0 = time.perf_counter()
            spark = bps.session()
            views = bps.register(spark, root)
            _say(f"Spark {spark.version} local[2] started and tables listed in {time.perf_counter() - t0:.0f} s")
            _table_header("Spark SQL, local[2]")
            try:
                _run_all(lambda sql, tag: bps.run_query(spark, sql, tag), views, where, ip, args.repeat)
            finally:
                spark.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
