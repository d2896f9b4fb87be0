"""End-to-end `warehouse parse`, start-up included, at 30, 300 and 3,000 URL patterns.

    python bench/bench_e2e.py [--lines 200000] [--sizes 30,300,3000] [--repeat 3]
                              [--write bench/results_e2e.md]

Each size gets bench/generate.py's seeded URLconf, its dump and a log of --lines combined
lines whose paths come from that URLconf (made once under bench/_data/e2e-p<N>-<lines>/).
The flatness and the comparison use the same log at every size, the smallest site's (the
generator keeps its apps in the larger URLconfs, so the same paths match at every size:
what changes is only the number of patterns, as in the resolver benchmark); ours also runs
on each size's own log (40x more distinct paths at 3,000: more cache misses, more index
nodes compiled, bigger events), reported beside. Two commands, each its own process, so
interpreter start-up, imports, loading the pattern dump and every compile are in the cost:

- ours: the `warehouse parse LOG --patterns urls.json --format combined --workers 1` command
  (a fresh --root each time);
- 2013: the pipeline of 2013 (this file with `--run-2013`): one combined-format regex, a
  naive loop over every compiled URL regex in order, the standard json module and gzip
  level 6, writing one .json.gz of events.

Cost is CPU seconds (user+sys) of the command's process tree, the fair "per core" figure on
a shared machine; wall seconds are shown too. Ours is the best of --repeat runs, the 2013
pipeline runs once per size (it takes tens of seconds at 3,000 patterns). Targets (issue
9): ours at 3,000 costs at most 1.5x ours at 30, and the 2013 pipeline at 3,000 costs at
least 8x ours at 3,000, in the same run. The start-up column is the same command on an
empty input (interpreter, imports, the dump loaded and checked).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("BENCH_DATA") or HERE / "_data")  # generated data, kept between runs
REPO = HERE.parent

_COMBINED = re.compile(
    r'^(\S+) (\S+) (\S+) \[([^\]]+)\] "((?:[^"\\]|\\.)*)" (\d{3}) (\S+) "((?:[^"\\]|\\.)*)" '
    r'"((?:[^"\\]|\\.)*)"$'
)


def run_2013(log: str, urls: str, out: str) -> None:
    """The 2013 pipeline: regex per line, naive loop over the URL regexes, json, gzip-6."""
    with open(urls, encoding="utf-8") as f:
        patterns = [(p["name"], re.compile(p["regex"])) for p in json.load(f)]
    events = rejects = 0
    with open(log, encoding="utf-8", errors="replace") as src, gzip.open(out, "wt", 6) as dst:
        for line in src:
            m = _COMBINED.match(line.rstrip("\n"))
            if m is None:
                rejects += 1
                continue
            host, _, user, ts, request, status, size, referer, agent = m.groups()
            method, target, proto = [*request.split(" ", 2), "", ""][:3]
            try:
                when = datetime.strptime(ts, "%d/%b/%Y:%H:%M:%S %z").astimezone(UTC)
            except ValueError:
                rejects += 1
                continue
            path, _, query = target.partition("?")
            slug, params = None, {}
            decoded = unquote(path)
            for name, regex in patterns:
                hit = regex.match(decoded)
                if hit:
                    slug = name
                    params = {k: v for k, v in hit.groupdict().items() if v is not None}
                    break
            event = {
                "ts": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "ip": host,
                "user": None if user == "-" else user, "method": method or None, "path": path,
                "query": query or None, "protocol": proto or None, "status": int(status),
                "bytes": None if size == "-" else int(size),
                "referer": None if referer == "-" else referer,
                "user_agent": None if agent == "-" else agent, "slug": slug, "params": params,
            }  # fmt: skip
            dst.write(json.dumps(event) + "\n")
            events += 1
    print(f"2013: {events} events, {rejects} rejects")


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _run(argv: list[str]) -> tuple[float, float, str]:
    """Run a command; return its (CPU seconds, wall seconds, last output line)."""
    c0, t0 = _children_cpu(), time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    wall, cpu = time.perf_counter() - t0, _children_cpu() - c0
    if proc.returncode != 0:
        sys.exit(f"{argv[:4]}... failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    out = (proc.stdout.strip() or proc.stderr.strip()).splitlines()
    return cpu, wall, out[-1] if out else ""


def _data(n: int, lines: int) -> tuple[Path, Path]:
    out = DATA / f"e2e-p{n}-{lines}"
    log, urls = out / "access.log", out / "urls.json"
    if not log.exists() or not urls.exists():
        gen = [sys.executable, str(HERE / "generate.py"), "--patterns", str(n)]
        subprocess.run([*gen, "--lines", str(lines), "--out", str(out)], check=True)
    return log, urls


def _ours(log: Path, urls: Path) -> list[str]:
    # The installed console script, run from this checkout (PYTHONPATH), as cron runs it.
    exe = shutil.which("warehouse", path=str(Path(sys.executable).parent))
    head = [exe] if exe else [sys.executable, "-c", "from warehouse.cli import main; main()"]
    root = tempfile.mkdtemp(prefix="bench-e2e-")
    return [*head, "--root", root, "parse", str(log), "--patterns", str(urls),
            "--format", "combined", "--workers", "1"]  # fmt: skip


Run = tuple[float, float, str]  # CPU seconds, wall seconds, the command's last line


@dataclass
class Row:
    n: int
    ours: Run  # the shared log (the 30-pattern site's traffic)
    old: Run  # the 2013 pipeline on the shared log
    own: Run  # ours on this size's own log
    startup: Run  # ours on an empty input


def _best(log: Path, urls: Path, repeat: int) -> Run:
    best: Run = (float("inf"), 0.0, "")
    for _ in range(repeat):
        argv = _ours(log, urls)
        try:
            best = min(best, _run(argv))
        finally:
            shutil.rmtree(argv[argv.index("--root") + 1], ignore_errors=True)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--lines", type=int, default=200_000)
    ap.add_argument("--sizes", default="30,300,3000")
    ap.add_argument("--repeat", type=int, default=3, help="best of N runs of ours per size")
    ap.add_argument("--write", metavar="FILE", help="also write the results as markdown")
    ap.add_argument("--run-2013", nargs=3, metavar=("LOG", "URLS", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.run_2013:
        run_2013(*args.run_2013)
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    data = {n: _data(n, args.lines) for n in sizes}
    shared = data[sizes[0]][0]
    rows: list[Row] = []
    for n in sizes:
        log, urls = data[n]
        ours = _best(shared, urls, args.repeat)
        own = ours if log == shared else _best(log, urls, args.repeat)
        startup = _startup(urls)
        with tempfile.TemporaryDirectory(prefix="bench-e2e-2013-") as tmp:
            old = _run([sys.executable, __file__, "--run-2013", str(shared), str(urls),
                        str(Path(tmp) / "events.json.gz")])  # fmt: skip
        rows.append(Row(n, ours, old, own, startup))
        print(
            f"{n:>5} patterns, shared log: ours {ours[0]:6.2f} CPU-s ({ours[1]:6.2f} s wall), "
            f"2013 {old[0]:6.2f} CPU-s ({old[1]:6.2f} s wall), 2013/ours {old[0] / ours[0]:5.1f}x; "
            f"own log: ours {own[0]:6.2f} CPU-s; start-up {startup[0]:.2f} CPU-s\n"
            f"      {ours[2]}\n      {old[2]}\n      {own[2]}",
            flush=True,
        )
    heavy = _fallback_heavy(data[sizes[-1]][1])
    heavy_start = _startup(heavy)
    print(f"start-up with {heavy.name}: {heavy_start[0]:.2f} CPU-s", flush=True)
    _report(rows, args, (heavy, heavy_start))


def _fallback_heavy(urls: Path) -> Path:
    """The dump with every other pattern under a captured first segment (`^/(?P<tenant>...)/`):
    half the patterns have no literal first segment, so they all sit in the index's
    fallback list (the shape that made start-up take minutes when every index node's
    alternation repeated the fallback list and was compiled up front)."""
    pats = json.loads(urls.read_text(encoding="utf-8"))
    for i, p in enumerate(pats):
        if i % 2:
            p["regex"] = p["regex"].replace("^/", "^/(?P<tenant>[^/]+)/", 1)
    out = urls.with_name("urls-fallback-heavy.json")
    out.write_text(json.dumps(pats), encoding="utf-8")
    return out


def _startup(urls: Path) -> Run:
    """`warehouse parse` of an empty input: interpreter, imports, the dump loaded, exit."""
    with tempfile.TemporaryDirectory(prefix="bench-e2e-empty-") as tmp:
        empty = Path(tmp) / "empty.log"
        empty.write_bytes(b"")
        argv = _ours(empty, urls)
        try:
            return _run(argv)
        finally:
            shutil.rmtree(argv[argv.index("--root") + 1], ignore_errors=True)


def _report(rows: list[Row], args: argparse.Namespace, heavy: tuple[Path, Run]) -> None:
    first, last = rows[0], rows[-1]
    flat = last.ours[0] / first.ours[0]
    flat_own = last.own[0] / first.own[0]
    vs = last.old[0] / last.ours[0]
    lines = [
        "| patterns | ours CPU-s | ours wall s | 2013 CPU-s | 2013 wall s | 2013 / ours "
        "| ours lines per CPU-s | ours, own log: CPU-s | start-up CPU-s (empty input) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        o, d = r.ours, r.old
        lines.append(
            f"| {r.n:,} | {o[0]:.2f} | {o[1]:.2f} | {d[0]:.2f} | {d[1]:.2f} "
            f"| **{d[0] / o[0]:.1f}x** | {args.lines / o[0]:,.0f} | {r.own[0]:.2f} "
            f"| {r.startup[0]:.2f} |"
        )
    lines += [
        "",
        f"- Flatness, the same log at every size: ours at {last.n:,} / ours at {first.n:,} = "
        f"**{flat:.2f}x** (target <= 1.5x).",
        f"- Against the 2013 pipeline at {last.n:,} patterns: **{vs:.1f}x** (target >= 8x).",
        f"- Each size with its own log: ours at {last.n:,} / ours at {first.n:,} = "
        f"**{flat_own:.2f}x**.",
        f"- Start-up (empty input) with the {last.n:,}-pattern dump where half the patterns have "
        f"no literal first segment ({heavy[0].name}, {last.n // 2:,} in the fallback list): "
        f"**{heavy[1][0]:.2f} CPU-s** (target < 2 s).",
    ]
    table = "\n".join(lines)
    print("\n" + table)
    if args.write:
        stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        load = os.getloadavg()[0]
        head = (
            "# End-to-end parse benchmark (start-up included)\n\n"
            f"Command: `python bench/bench_e2e.py --lines {args.lines} --sizes {args.sizes} "
            f"--repeat {args.repeat} --write {args.write}`  \nPython {sys.version.split()[0]}, "
            f"{stamp}, load average {load:.1f} on 2 cores at the end; cost = CPU seconds of the "
            "whole command (ours: best of the repeats; 2013: one run).\n\n"
        )
        Path(args.write).write_text(head + table + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
