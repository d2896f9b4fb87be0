"""top_params: the most frequent values of each URL parameter per (dt, slug).

For every (dt, slug, param) the --top-n (default 10) most frequent values of the captured
URL parameter `param` (e.g. the most viewed object ids), ranked 1..N by hits descending,
ties broken by value ascending (so ranks are unique). Events without a slug carry no
params and add nothing.

Output: one JSON object per (dt, slug, param, value) kept, with exactly the keys (and
types) of `warehouse.schema.JOBS["top_params"]`: dt, slug, param, value (as captured from
the path), hits (events with this value) and rank (1 = most frequent).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from _common import EventJob
from mrjob.step import MRStep

Key = tuple[str, str | None, str]


class TopParams(EventJob):
    """Per (dt, slug, param): the top N values with their hits and rank."""

    JOB = "top_params"  # option --top-n

    def steps(self) -> list[MRStep]:
        return [self.event_step(self.reduce_counts)]

    def init_buffer(self) -> None:
        self._counts: dict[Key, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def buffer_event(self, ev: dict[str, Any]) -> None:
        # counts in memory (in-mapper combining); emitted only at the end of the map task
        day, slug = ev["dt"], ev["slug"]
        for param, value in ev["params"].items():
            self._counts[(day, slug, param)][value] += 1

    def drain_buffer(self) -> Iterator[tuple[Key, list[list[Any]]]]:
        for key, values in self._counts.items():
            yield key, [[value, n] for value, n in values.items()]
        self._counts.clear()

    def reduce_counts(
        self, key: Key, parts: Iterable[list[list[Any]]]
    ) -> Iterator[tuple[None, dict[str, Any]]]:
        totals: dict[str, int] = defaultdict(int)
        for part in parts:
            for value, n in part:
                totals[value] += n
        ranked = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
        day, slug, param = key
        for rank, (value, hits) in enumerate(ranked[: self.options.top_n], start=1):
            yield None, {
                "dt": day,
                "slug": slug,
                "param": param,
                "value": value,
                "hits": hits,
                "rank": rank,
            }


if __name__ == "__main__":
    TopParams.run()
