"""Start-up cost of the configuration: `import warehouse.config`, alone and with each
candidate library for config coercion (msgspec, cattrs, pydantic with a TypeAdapter built
for `Config`, pydantic-settings) imported as well. Every CLI command pays the first figure.

Each variant runs in a fresh interpreter, interleaved, `--runs` times; the minimum wall-clock
time counts (the machine is shared). Bytecode is cached under a private prefix so every
variant reads .pyc files. A library that is not installed is reported as such.

    python bench/bench_config.py [--runs 15] [--extra-path DIR] [--before CHECKOUT]

`--before` adds `import warehouse.config` from another checkout (e.g. main) to the same run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = {
    "warehouse.config": "",
    "+ msgspec": "import msgspec",
    "+ cattrs": "import cattrs",
    "+ pydantic (TypeAdapter(Config))": (
        "from pydantic import TypeAdapter; TypeAdapter(warehouse.config.Config)"
    ),
    "+ pydantic-settings": "import pydantic_settings",
}
TIMER = (
    "import time; t = time.perf_counter(); import warehouse.config; {extra}; "
    "print((time.perf_counter() - t) * 1000)"
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--extra-path", help="a folder of candidate libraries (pip --target)")
    ap.add_argument("--before", help="another checkout whose warehouse.config is timed too")
    args = ap.parse_args()
    variants = {name: (ROOT, extra) for name, extra in VARIANTS.items()}
    if args.before:
        variants[f"warehouse.config of {args.before}"] = (Path(args.before).resolve(), "")
    with tempfile.TemporaryDirectory() as cache:
        best: dict[str, float | None] = dict.fromkeys(variants, float("inf"))
        for _ in range(args.runs + 1):  # the first round writes the bytecode cache
            for name, (checkout, extra) in variants.items():
                path = os.pathsep.join(p for p in (str(checkout), args.extra_path) if p)
                env = {**os.environ, "PYTHONPATH": path, "PYTHONDONTWRITEBYTECODE": "",
                       "PYTHONPYCACHEPREFIX": cache}
                code = TIMER.format(extra=extra or "pass")
                proc = subprocess.run([sys.executable, "-c", code], env=env, cwd=checkout,
                                      capture_output=True, text=True)
                if proc.returncode != 0:
                    best[name] = None  # not installed
                elif best[name] is not None:
                    best[name] = min(best[name] or float("inf"), float(proc.stdout))
    base = best["warehouse.config"] or 0.0
    print(f"| import (min of {args.runs}) | ms | vs warehouse.config alone |")
    print("| --- | ---: | ---: |")
    for name, ms in best.items():
        if ms is None:
            print(f"| {name} | not installed | |")
        else:
            print(f"| {name} | {ms:.1f} | {ms / base:.2f}x |")


if __name__ == "__main__":
    main()
