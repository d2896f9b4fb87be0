"""Parquet copy vs gzipped JSON events: bytes on disk, bytes read and wall time of typical
queries with DuckDB, and the nightly cost of writing the copy as a ratio to the parse.

Generates DAYS days of combined-format logs (bench/generate.py's seeded traffic over a
generated URLconf), runs the whole `warehouse parse` command over them and the whole
`warehouse events compact` command (start-up included), then runs each query on both
copies in the same DuckDB process. Bytes read are the process's `rchar` (/proc/self/io)
around the query: every byte DuckDB read through the kernel, page cache or not.

    python bench/bench_parquet.py --days 7 --lines-per-day 300000
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

QUERIES = [
    ("count by slug over the week (two columns)", "SELECT slug, count(*) AS n FROM {t} GROUP BY slug"),
    ("distinct clients per day", "SELECT dt, count(DISTINCT ip) FROM {t} GROUP BY dt"),
    ("one client's events, every column", "SELECT * FROM {t} WHERE ip = '{ip}' ORDER BY ts"),
]


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


def _query(con: Any, sql: str) -> tuple[float, int, int]:
    """Return (seconds, bytes read, rows) of one query."""
    before, t0 = _rchar(), time.perf_counter()
    rows = con.execute(sql).fetchall()
    return time.perf_counter() - t0, _rchar() - before, len(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--lines-per-day", type=int, default=300_000)
    ap.add_argument("--patterns", type=int, default=300)
    ap.add_argument("--seed", type=int, default=2013)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each query; the best is kept")
    args = ap.parse_args()
    import duckdb

    base = os.environ.get("BENCH_DATA")
    if base:
        Path(base).mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-parquet-", dir=base))
    try:
        logs = _generate(work, args.days, args.lines_per_day, args.patterns, args.seed)
        root = work / "root"
        env_root = ["--root", str(root)]
        t_parse = _warehouse(*env_root, "parse", *map(str, logs), "--patterns", str(work / "urls.json"))
        days = sorted(p.name[3:] for p in (root / "events").glob("dt=*"))
        span = ["--from", days[0], "--to", days[-1]]
        t_compact = _warehouse(*env_root, "events", "compact", *span)
        json_bytes = _size(root, "events/*/*.json.gz")
        parquet_bytes = _size(root, "events_parquet/*/*.parquet")
        con = duckdb.connect()
        con.execute("SET threads = 2")
        tables = {
            "JSON": f"read_json('{root}/events/*/*.json.gz', hive_partitioning = true, "
            "format = 'newline_delimited', ignore_errors = true)",
            "Parquet": f"read_parquet('{root}/events_parquet/*/*.parquet', hive_partitioning = true)",
        }
        ip = con.execute(
            f"SELECT ip FROM {tables['Parquet']} GROUP BY ip ORDER BY count(*) DESC LIMIT 1 OFFSET 20"
        ).fetchone()[0]
        results = []
        for label, sql in QUERIES:
            best: dict[str, tuple[float, int, int]] = {}
            for kind, table in tables.items():
                runs = [_query(con, sql.format(t=table, ip=ip)) for _ in range(args.repeat)]
                best[kind] = min(runs)
            assert best["JSON"][2] == best["Parquet"][2], (label, best)
            results.append((label, best))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    cmd = (f"python bench/bench_parquet.py --days {args.days} --lines-per-day "
           f"{args.lines_per_day} --patterns {args.patterns} --repeat {args.repeat}")  # fmt: skip
    print(f"# Parquet copy vs JSON events ({args.days} days x {args.lines_per_day:,} lines)")
    print(f"command: `{cmd}`")
    print(f"on disk: JSON {json_bytes / 1e6:,.1f} MB, Parquet {parquet_bytes / 1e6:,.1f} MB "
          f"(**{json_bytes / parquet_bytes:.2f}x** smaller)")  # fmt: skip
    print(f"nightly cost: `events compact` {t_compact[1]:.1f} CPU-s ({t_compact[0]:.1f} s wall) vs "
          f"`parse` {t_parse[1]:.1f} CPU-s ({t_parse[0]:.1f} s wall) of the same days: "
          f"**{t_compact[1] / t_parse[1]:.2f}x** the parse's CPU (whole commands, one worker)")  # fmt: skip
    print("| query (DuckDB, best of runs) | JSON MB read | Parquet MB read | read ratio | JSON s | Parquet s | time ratio |")
    print("|---|---|---|---|---|---|---|")
    for label, best in results:
        (tj, bj, _), (tp, bp, _) = best["JSON"], best["Parquet"]
        print(f"| {label} | {bj / 1e6:,.1f} | {bp / 1e6:,.2f} | **{bj / max(bp, 1):.1f}x** | "
              f"{tj:.3f} | {tp:.3f} | {tj / max(tp, 1e-9):.1f}x |")  # fmt: skip


if __name__ == "__main__":
    main()
