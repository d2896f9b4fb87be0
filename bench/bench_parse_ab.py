"""A/B the parse pipeline of two checkouts in one run: this one against `--before DIR`.

    git worktree add /tmp/before <commit>      # or: git archive <commit> | tar -x -C DIR
    python bench/bench_parse_ab.py --before /tmp/before [--lines 300000] [--rounds 3]

Same data for both (bench/generate.py's seeded combined log over 300 patterns, plain and
.gz), one worker, a fresh local root per run; rounds alternate before/after so both see
the same machine load. Prints lines per CPU-second (user+sys of the child process) and
per wall second, each the best of the rounds, and after/before ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_parse import _data  # noqa: E402

_CHILD = r"""
import json, resource, shutil, sys, tempfile, time
from warehouse.config import config_from_dict
path, urls = sys.argv[1], sys.argv[2]
try:
    from warehouse.events.parse import ParseRequest, parse_logs
    run = lambda cfg: parse_logs(cfg, ParseRequest([path], patterns=urls, workers=1))
except ImportError:  # a checkout from before ParseRequest (issue 23)
    try:
        from warehouse.events.parse import parse_logs
    except ModuleNotFoundError:  # a checkout from before warehouse/events/ (issue 12)
        from warehouse.parse import parse_logs
    run = lambda cfg: parse_logs(cfg, [path], patterns=urls, workers=1)
root = tempfile.mkdtemp(prefix="bench-ab-")
try:
    cfg = config_from_dict({}, root=root)
    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    s = run(cfg)
    r1, t1 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
finally:
    shutil.rmtree(root, ignore_errors=True)
cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
print(json.dumps({"lines": s.lines, "events": s.events, "cpu": cpu, "wall": t1 - t0}))
"""


def _one(tree: Path, path: Path, urls: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), str(urls)],
        capture_output=True, text=True, env=env, cwd=tempfile.gettempdir(), check=False,
    )
    if out.returncode:
        raise SystemExit(f"parse in {tree} failed ({out.returncode}): {out.stderr.strip()[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--before", required=True, help="checkout to compare against")
    ap.add_argument("--lines", type=int, default=300_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    plain, gz, urls = _data(args.lines, 300)
    trees = {"before": Path(args.before).resolve(), "after": HERE.parent}
    best: dict[tuple[str, str], dict[str, float]] = {}
    for _ in range(args.rounds):
        for kind, path in (("plain", plain), ("gz", gz)):
            for name, tree in trees.items():
                r = _one(tree, path, urls)
                key = (name, kind)
                b = best.setdefault(key, {"cpu": r["cpu"], "wall": r["wall"], "lines": r["lines"]})
                b["cpu"], b["wall"] = min(b["cpu"], r["cpu"]), min(b["wall"], r["wall"])
    print(f"{args.lines:,} lines, 300 patterns, 1 worker, best of {args.rounds} alternating rounds")
    print("| input | before lines/CPU-s | after lines/CPU-s | after/before | before lines/s | after lines/s |")
    print("|---|---:|---:|---:|---:|---:|")
    for kind in ("plain", "gz"):
        b, a = best[("before", kind)], best[("after", kind)]
        print(
            f"| {kind} | {b['lines'] / b['cpu']:,.0f} | {a['lines'] / a['cpu']:,.0f} | "
            f"{b['cpu'] / a['cpu']:.2f}x | {b['lines'] / b['wall']:,.0f} | "
            f"{a['lines'] / a['wall']:,.0f} |"
        )


if __name__ == "__main__":
    main()
