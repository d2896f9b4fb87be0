"""Benchmark `warehouse parse -r local`: the cost of going through mrjob on one machine.

    python bench/bench_parse_runner.py [--lines 1000000] [--patterns 300] [--rounds 3]

Data: bench/generate.py's seeded 1M-line combined log over a 300-pattern urls.py (made
once under bench/_data/). The plain log is cut into two byte ranges (range_bytes = half
its size), so both ways run the same two tasks two at a time:

- in process: `parse_logs(..., workers=2)` (two worker processes);
- local runner: `parse_logs(..., runner="local", workers=2)` (mrjob's local runner, two
  map tasks at once: each task copies its input into its working dir, as mapper_raw
  does, starts a Python and imports the toolkit).

Each round runs both into fresh local roots (alternating which goes first) and checks
that the two roots hold the same objects byte for byte. Reported: the best wall time and
CPU time (this process and its children) of each way, and the ratios local / in process.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("BENCH_DATA") or HERE / "_data")  # generated data, kept between runs
sys.path.insert(0, str(HERE.parent))

from bench_parse import _cpu  # noqa: E402  (this process and its children)

from warehouse.config import config_from_dict  # noqa: E402
from warehouse.events.parse import ParseRequest, Seams, parse_logs  # noqa: E402


def _data(lines: int, patterns: int) -> tuple[Path, Path]:
    out = DATA / f"parse-p{patterns}-{lines}"
    plain, urls = out / "access.log", out / "urls.json"
    if not plain.exists() or not urls.exists():
        gen = [sys.executable, str(HERE / "generate.py"), "--patterns", str(patterns)]
        subprocess.run([*gen, "--lines", str(lines), "--out", str(out)], check=True)
    return plain, urls


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _run(log: Path, urls: Path, runner: str | None, root: Path) -> tuple[float, float, int]:
    cfg = config_from_dict({}, root=str(root))
    half = os.path.getsize(log) // 2 + 1
    c0, t0 = _cpu(), time.perf_counter()
    summary = parse_logs(
        cfg,
        ParseRequest([str(log)], patterns=str(urls), workers=2, runner=runner),
        seams=Seams(range_bytes=half),
    )
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    if summary.exit_code:
        raise SystemExit(f"parse failed: {summary.line()}")
    return wall, cpu, summary.lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--patterns", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    log, urls = _data(args.lines, args.patterns)
    best = {"in process": [float("inf")] * 2, "local": [float("inf")] * 2}
    lines = 0
    for rnd in range(args.rounds):
        order = [None, "local"] if rnd % 2 == 0 else ["local", None]
        roots = {}
        for runner in order:
            name = runner or "in process"
            root = Path(tempfile.mkdtemp(prefix="bench-parse-runner-"))
            wall, cpu, lines = _run(log, urls, runner, root)
            best[name] = [min(best[name][0], wall), min(best[name][1], cpu)]
            roots[name] = root
            print(f"round {rnd + 1} {name:10s} {wall:7.2f}s wall {cpu:7.2f}s CPU", flush=True)
        same = _tree(roots["in process"]) == _tree(roots["local"])
        for root in roots.values():
            shutil.rmtree(root, ignore_errors=True)
        if not same:
            raise SystemExit("the local runner's objects differ from the in-process parse")
    print(f"\n{lines:,} lines, 2 tasks two at a time, best of {args.rounds} (objects identical)")
    print("| way | wall s | lines/s | CPU s | lines/CPU-s |")
    print("|---|---:|---:|---:|---:|")
    for name, (wall, cpu) in best.items():
        print(f"| {name} | {wall:.2f} | {lines / wall:,.0f} | {cpu:.2f} | {lines / cpu:,.0f} |")
    ip, lo = best["in process"], best["local"]
    print(f"\nlocal runner / in process: {lo[0] / ip[0]:.2f}x wall, {lo[1] / ip[1]:.2f}x CPU")


if __name__ == "__main__":
    main()
