"""Benchmark `warehouse parse`: parse-only (ours vs apachelogs) and the full pipeline.

    python bench/bench_parse.py [--lines 1000000] [--patterns 300] [--apachelogs-lines 50000]
                                [--write bench/results_parse.md]

Data: bench/generate.py's seeded 1M-line combined log over a 300-pattern urls.py (made
once under bench/_data/, plain and .gz). Everything is measured in this one run:

- parse-only, one core: our compiled classifier (regex + typed fields per line, as the pipeline runs it) vs apachelogs
  (on a subset: it is ~10-20x slower; the subset size is printed);
- full pipeline (parse + resolve + JSON + gzip write to a local root), `parse_logs` as the
  CLI calls it: plain input with 1 and 2 workers, .gz input with 1 worker;
- `zcat` of the same .gz to /dev/null as the floor.

Rates are lines per wall-clock second and lines per CPU-second (user+sys of this process
and its workers), each the best of --repeat runs: on a shared, busy machine the CPU figure
is the fairer "per core" one.
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("BENCH_DATA") or HERE / "_data")  # generated data, kept between runs
sys.path.insert(0, str(HERE.parent))

from warehouse.config import config_from_dict  # noqa: E402
from warehouse.events.parse import ParseRequest, parse_logs  # noqa: E402
from warehouse.logs import Classifier, compile_format  # noqa: E402


def _cpu() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


REPEAT = 2  # best of N runs (wall and CPU taken separately): the machine is shared


def _timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    best_wall = best_cpu = float("inf")
    out = None
    for _ in range(REPEAT):
        c0, t0 = _cpu(), time.perf_counter()
        out = fn()
        best_wall = min(best_wall, time.perf_counter() - t0)
        best_cpu = min(best_cpu, _cpu() - c0)
    return out, best_wall, best_cpu


def _data(lines: int, patterns: int) -> tuple[Path, Path, Path]:
    out = DATA / f"parse-p{patterns}-{lines}"
    plain, gz, urls = out / "access.log", out / "access.log.gz", out / "urls.json"
    gen = [sys.executable, str(HERE / "generate.py"), "--patterns", str(patterns)]
    gen += ["--lines", str(lines), "--out", str(out)]
    if not plain.exists() or not urls.exists():
        subprocess.run(gen, check=True)
    if not gz.exists():
        subprocess.run([*gen, "--gz"], check=True)
    return plain, gz, urls


def _read_lines(path: Path, limit: int | None = None) -> list[str]:
    with open(path, "rb") as f:
        text = f.read().decode("utf-8", "backslashreplace")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines[:limit] if limit else lines


def _parse_only_ours(lines: list[str]) -> int:
    classify = Classifier(compile_format("combined")).classify
    ok = 0
    for line in lines:
        if type(classify(line)) is tuple:
            ok += 1
    return ok


def _parse_only_apachelogs(lines: list[str]) -> int:
    from apachelogs import COMBINED, InvalidEntryError, LogParser

    parser = LogParser(COMBINED, encoding="utf-8", errors="backslashreplace")
    ok = 0
    for line in lines:
        try:
            parser.parse(line)
            ok += 1
        except (InvalidEntryError, ValueError):  # ValueError: bad timestamps
            pass
    return ok


def _pipeline(path: Path, urls: Path, workers: int) -> tuple[Any, float, float]:
    root = Path(tempfile.mkdtemp(prefix="bench-parse-"))
    try:
        cfg = config_from_dict({}, root=str(root))
        request = ParseRequest([str(path)], patterns=str(urls), workers=workers)
        return _timed(lambda: parse_logs(cfg, request))
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    global REPEAT
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--patterns", type=int, default=300)
    ap.add_argument("--apachelogs-lines", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=REPEAT, help="best of N runs per row")
    ap.add_argument("--write", metavar="FILE", help="also write the results as markdown")
    args = ap.parse_args()
    REPEAT = args.repeat
    plain, gz, urls = _data(args.lines, args.patterns)
    rows: list[tuple[str, str, str, str, str]] = []

    def row(name: str, n: int, wall: float, cpu: float, note: str = "") -> float:
        rate = n / wall
        cores = f"{cpu / wall:.2f}"  # how much CPU the busy machine actually gave us
        rows.append((name, f"{rate:,.0f}", f"{n / cpu:,.0f}" if cpu else "-", cores, note))
        print(
            f"{name:<44} {rate:>10,.0f} lines/s {n / cpu if cpu else 0:>10,.0f} lines/CPU-s "
            f"{cores:>5} cores  {note}"
        )
        return rate

    lines = _read_lines(plain)
    n = len(lines)
    print(f"data: {plain} ({n:,} lines, {plain.stat().st_size / 1e6:,.0f} MB), {urls}")
    _, wall, cpu = _timed(lambda: _parse_only_ours(lines))
    ours = row("parse-only, ours (typed fields per line)", n, wall, cpu)
    sub = lines[: args.apachelogs_lines]
    _, wall, cpu = _timed(lambda: _parse_only_apachelogs(sub))
    theirs_cpu = len(sub) / cpu
    theirs = row("parse-only, apachelogs", len(sub), wall, cpu, f"first {len(sub):,} lines")
    _, wall, cpu = _timed(lambda: _parse_only_ours(sub))
    ours_sub_cpu = len(sub) / cpu
    ours_sub = row("parse-only, ours on the same subset", len(sub), wall, cpu)
    lines = []  # free the memory before the pipeline runs

    zcat = shutil.which("zcat")
    floor = 0.0
    if zcat:
        _, wall, cpu = _timed(
            lambda: subprocess.run([zcat, str(gz)], stdout=subprocess.DEVNULL, check=True)
        )
        floor = row("zcat of the .gz (floor)", n, wall, cpu)
    results = {}
    for label, path, workers in (
        ("pipeline, plain, 1 worker", plain, 1),
        ("pipeline, plain, 2 workers", plain, 2),
        ("pipeline, .gz, 1 worker", gz, 1),
    ):
        summary, wall, cpu = _pipeline(path, urls, workers)
        assert summary.lines == n, (summary.lines, n)
        note = f"{summary.events:,} events, {summary.rejected:,} rejects"
        results[label] = (row(label, n, wall, cpu, note), n / cpu)
    one, one_cpu = results["pipeline, plain, 1 worker"]
    two, two_cpu = results["pipeline, plain, 2 workers"]
    gz1, gz1_cpu = results["pipeline, .gz, 1 worker"]
    ratios = [
        f"ours / apachelogs, parse-only on the same subset: {ours_sub_cpu / theirs_cpu:.1f}x "
        f"per CPU-second ({ours_sub / theirs:.1f}x wall)",
        f"2 workers / 1 worker (plain): {two / one:.2f}x wall; lines per CPU-second "
        f"{two_cpu / one_cpu:.2f}x of one worker's (below 1: the parallel overhead)",
        f"pipeline 1 worker plain: {one:,.0f} lines/s wall, {one_cpu:,.0f} lines/CPU-s "
        f"(target 150,000 per core)",
        f"pipeline 1 worker .gz: {gz1:,.0f} lines/s wall, {gz1_cpu:,.0f} lines/CPU-s",
    ]
    if floor:
        ratios.append(f"zcat floor / pipeline (plain, 1 worker): {floor / one:.1f}x")
    print("\n".join(ratios))
    print(f"(parse-only, ours, full {n:,} lines: {ours:,.0f} lines/s)")
    if args.write:
        cmd = "python bench/bench_parse.py " + " ".join(sys.argv[1:])
        text = [
            "# Parse benchmark (`warehouse parse`)",
            "",
            f"Command: `{cmd}`  ",
            f"Machine: {os.cpu_count()} cores, shared with other engineers' test runs "
            f"(load average {os.getloadavg()[0]:.1f} at the end): wall-clock rates are "
            "noisy; lines per CPU-second (user+sys of the process and its workers) is the "
            "per-core figure.",
            "",
            f"Data: bench/generate.py, {n:,} combined lines, {args.patterns} URL patterns "
            f"({plain.stat().st_size / 1e6:,.0f} MB plain, {gz.stat().st_size / 1e6:,.0f} MB gz).",
            "",
            "| measurement | lines/s (wall) | lines per CPU-second | cores used | note |",
            "|---|---:|---:|---:|---|",
            *[f"| {a} | {b} | {c} | {d} | {e} |" for a, b, c, d, e in rows],
            "",
            *[f"- {r}" for r in ratios],
            "",
        ]
        Path(args.write).write_text("\n".join(text))
        print(f"wrote {args.write}")


if __name__ == "__main__":
    main()
