"""sessions: visits per UTC date, split after a gap of inactivity.

A visitor is the `user` when known, else the pair (ip, user_agent). A visitor's events,
ordered by time (equal times by slug, null first), form one session until the next event
comes more than --gap-minutes (default 30) after the previous one. A session belongs to
the UTC date of its first event; its length is last ts - first ts in seconds; its entry
and exit slugs are those of its first and last events.

Output: one JSON object per dt with exactly the keys (and types) of
`warehouse.schema.JOBS["sessions"]`: sessions and visitors starting on dt, mean and
nearest-rank median session length in seconds, mean events per session, and the --top-n
entry and exit slugs as [{slug, n}], most first.

Ties in top_entry/top_exit are broken by slug ascending (null first). Sessions that cross
midnight count for the first event's date only. `warehouse aggregate` also feeds the
neighbouring days' partitions so sessions crossing a range's edge are whole, and keeps
only the requested dates.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from _common import EventJob, nearest_rank, slug_order, top_counts
from mrjob.step import MRStep

# one event of a visitor: [epoch seconds, dt, slug]
Hit = list[Any]
# one visitor's sessions starting on one dt: [lengths, actions, [[entry, exit], ...]]
Visits = list[Any]


class Sessions(EventJob):
    """Per dt: sessions, visitors, mean/median length, mean actions, top entry/exit."""

    JOB = "sessions"  # options --gap-minutes and --top-n
    # a map task buffers at most this many events (~150 bytes each) before emitting them
    FLUSH_EVENTS = 1_000_000

    def steps(self) -> list[MRStep]:
        return [self.event_step(self.split_sessions), MRStep(reducer=self.reduce_day)]

    def init_buffer(self) -> None:
        self._visitors: dict[tuple[Any, ...], list[Hit]] = defaultdict(list)

    def buffer_event(self, ev: dict[str, Any]) -> None:
        # groups in memory per visitor (in-mapper combining; the reducer merges a
        # visitor's parts from any number of emits)
        user = ev["user"]
        visitor = ("u", user) if user is not None else ("a", ev["ip"], ev["user_agent"])
        self._visitors[visitor].append([ev["t"], ev["dt"], ev["slug"]])

    def drain_buffer(self) -> list[tuple[tuple[Any, ...], list[Hit]]]:
        out = list(self._visitors.items())
        self._visitors.clear()
        return out

    def split_sessions(
        self, _visitor: tuple[Any, ...], parts: Iterable[list[Hit]]
    ) -> Iterator[tuple[str, Visits]]:
        hits = [hit for part in parts for hit in part]
        hits.sort(key=lambda h: (h[0], slug_order(h[2])))
        gap = self.options.gap_minutes * 60
        per_day: dict[str, Visits] = {}

        def close(first: Hit, last: Hit, actions: int) -> None:
            visits = per_day.setdefault(first[1], [[], 0, []])
            visits[0].append(last[0] - first[0])
            visits[1] += actions
            visits[2].append([first[2], last[2]])

        first = prev = hits[0]
        actions = 1
        for hit in hits[1:]:
            if hit[0] - prev[0] > gap:
                close(first, prev, actions)
                first, actions = hit, 0
            actions += 1
            prev = hit
        close(first, prev, actions)
        yield from per_day.items()

    def reduce_day(self, day: str, visits: Iterable[Visits]) -> Iterator[tuple[None, dict[str, Any]]]:
        visitors = actions = 0
        lengths: list[float] = []
        entries: dict[str | None, int] = defaultdict(int)
        exits: dict[str | None, int] = defaultdict(int)
        for visit_lengths, visit_actions, ends in visits:
            visitors += 1
            lengths.extend(visit_lengths)
            actions += visit_actions
            for entry, exit_ in ends:
                entries[entry] += 1
                exits[exit_] += 1
        n = len(lengths)
        lengths.sort()
        top_n = self.options.top_n
        yield None, {
            "dt": day,
            "sessions": n,
            "visitors": visitors,
            "mean_session_s": sum(lengths) / n,
            "median_session_s": nearest_rank(lengths, 50),
            "mean_actions": actions / n,
            "top_entry": top_counts(entries, top_n),
            "top_exit": top_counts(exits, top_n),
        }


if __name__ == "__main__":
    Sessions.run()
