"""What drawing progress costs: `warehouse parse` with stderr on a terminal vs a pipe.

    python bench/bench_progress.py [--lines 300000] [--rounds 3]

The same command (`warehouse parse LOG --patterns urls.json --workers 1`, a fresh --root
each run) on bench/generate.py's seeded combined log over 300 patterns (plain: a click
progress bar; .gz: the status line), once with stderr on a pseudo-terminal, where the
CLI draws the library's progress events, and once on a pipe, where it passes no callback.
Rounds alternate; each figure is the best of the rounds: CPU seconds (user+sys) of the
command and wall seconds, with the terminal/pipe ratio.
"""

from __future__ import annotations

import argparse
import os
import pty
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_parse import _data  # noqa: E402


def _run(log: Path, urls: Path, tty: bool) -> tuple[float, float, int]:
    """Run the command once; return (CPU seconds, wall seconds, bytes written to stderr)."""
    root = tempfile.mkdtemp(prefix="bench-progress-")
    argv = [sys.executable, "-m", "warehouse.cli", "--root", root, "parse", str(log),
            "--patterns", str(urls), "--workers", "1"]
    env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
    master, slave = pty.openpty() if tty else (-1, -1)
    seen = [0]

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            seen[0] += len(data)

    reader = threading.Thread(target=drain, daemon=True)
    if tty:
        reader.start()
    r0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    try:
        proc = subprocess.run(argv, stdout=subprocess.DEVNULL,
                              stderr=slave if tty else subprocess.PIPE, env=env, check=True)
    finally:
        if tty:
            os.close(slave)
            reader.join(timeout=10)
            os.close(master)
        shutil.rmtree(root, ignore_errors=True)
    t1, r1 = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    if not tty:
        seen[0] = len(proc.stderr or b"")
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return cpu, t1 - t0, seen[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--lines", type=int, default=300_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    plain, gz, urls = _data(args.lines, 300)
    best: dict[tuple[str, bool], tuple[float, float, int]] = {}
    for _ in range(args.rounds):
        for kind, log in (("plain", plain), ("gz", gz)):
            for tty in (True, False):
                cpu, wall, err = _run(log, urls, tty)
                old = best.get((kind, tty))
                best[kind, tty] = (cpu, wall, err) if old is None else (
                    min(old[0], cpu), min(old[1], wall), err)
    print(f"{args.lines:,} lines, 300 patterns, 1 worker, best of {args.rounds} alternating rounds")
    print("| input | terminal CPU s | pipe CPU s | terminal/pipe | terminal wall s | pipe wall s "
          "| stderr bytes (terminal) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for kind in ("plain", "gz"):
        t, p = best[kind, True], best[kind, False]
        print(f"| {kind} | {t[0]:.2f} | {p[0]:.2f} | {t[0] / p[0]:.2f}x | {t[1]:.2f} | "
              f"{p[1]:.2f} | {t[2]:,} |")


if __name__ == "__main__":
    main()
