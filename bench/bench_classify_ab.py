"""The hot path alone: classify() + the event builder over a combined log, in one process.

    for tree in BEFORE_CHECKOUT .; do PYTHONPATH=$tree python bench/bench_classify_ab.py \\
        bench/_data/parse-p300-300000/access.log bench/_data/parse-p300-300000/urls.json; done

Prints lines per CPU-second (best of 3 passes). Run it alternately on two checkouts (as
bench_parse_ab does for the whole command) to compare their generated code alone.
"""

from __future__ import annotations

import sys
import time

from warehouse.events.build import event_builder
from warehouse.events.patterns import load_resolver
from warehouse.logs import Classifier, compile_format


def main() -> None:
    """Print the lines per CPU-second of classify + build over the log in argv[1]."""
    path, urls = sys.argv[1], sys.argv[2]
    with open(path, encoding="utf-8", errors="backslashreplace") as f:
        lines = f.read().splitlines()
    fmt = compile_format(sys.argv[3] if len(sys.argv) > 3 else "combined")
    classify = Classifier(fmt).classify
    build = event_builder(fmt, load_resolver(urls))
    best = float("inf")
    for _ in range(3):
        t0 = time.process_time()
        for line in lines:
            fields = classify(line)
            if fields.__class__ is not str:
                build(fields)
        best = min(best, time.process_time() - t0)
    print(f"{len(lines) / best:.0f}")


if __name__ == "__main__":
    main()
