"""sessions: visits per UTC date, split after a gap of inactivity.

A visitor is the `user` when known, else the pair (ip, user_agent). A visitor's events,
ordered by time (equal times by slug, null first), form one session until the next event
comes more than --gap-minutes (default 30) after the previous one. A session belongs to
the UTC date of its first event; its length is last ts - first ts in seconds; its entry
and exit slugs are those of its first and last events.

Output: one JSON object per dt with exactly these keys:

    dt                STRING  UTC date of the sessions' first events
    sessions          BIGINT  sessions starting on dt
    visitors          BIGINT  distinct visitors with a session starting on dt
    mean_session_s    DOUBLE  mean session length in seconds
    median_session_s  DOUBLE  nearest-rank median session length
    mean_actions      DOUBLE  mean events per session
    top_entry         ARRAY<STRUCT<slug:STRING,n:BIGINT>>  --top-n entry slugs, most first
    top_exit          ARRAY<STRUCT<slug:STRING,n:BIGINT>>  --top-n exit slugs, likewise

Ties in top_entry/top_exit are broken by slug ascending (null first). Sessions that cross
midnight count for the first event's date only. `warehouse aggregate` also feeds the
neighbouring days' partitions so sessions crossing a range's edge are whole, and keeps
only the requested dates.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from _common import (
    EVENTS,
    MALFORMED,
    EventParser,
    OrjsonProtocol,
    OrjsonValueProtocol,
    RawLineProtocol,
    nearest_rank,
    slug_order,
    top_counts,
)
from mrjob.job import MRJob
from mrjob.step import MRStep

# a map task buffers at most this many events (~150 bytes each) before emitting them
FLUSH_EVENTS = 1_000_000
# one event of a visitor: [epoch seconds, dt, slug]
Hit = list[Any]
# one visitor's sessions starting on one dt: [lengths, actions, [[entry, exit], ...]]
Visits = list[Any]


class Sessions(MRJob):
    """Per dt: sessions, visitors, mean/median length, mean actions, top entry/exit."""

    INPUT_PROTOCOL = RawLineProtocol
    INTERNAL_PROTOCOL = OrjsonProtocol
    OUTPUT_PROTOCOL = OrjsonValueProtocol

    def configure_args(self) -> None:
        super().configure_args()
        self.add_passthru_arg(
            "--gap-minutes", type=int, default=30, help="inactivity that splits a session"
        )
        self.add_passthru_arg(
            "--top-n", type=int, default=10, help="entry/exit slugs kept per date"
        )
        self.add_passthru_arg(
            "--flush-events", type=int, default=FLUSH_EVENTS,
            help="a map task emits its buffered events after this many (bounds memory)",
        )

    def steps(self) -> list[MRStep]:
        return [
            MRStep(
                mapper_init=self.init_visitors,
                mapper=self.map_event,
                mapper_final=self.emit_visitors,
                reducer=self.split_sessions,
            ),
            MRStep(reducer=self.reduce_day),
        ]

    def init_visitors(self) -> None:
        self._parser = EventParser()
        self._visitors: dict[tuple[Any, ...], list[Hit]] = defaultdict(list)
        self._buffered = 0

    def map_event(self, _: None, line: bytes) -> list[tuple[tuple[Any, ...], list[Hit]]] | None:
        # groups in memory per visitor (in-mapper combining); yields only when the buffer
        # is full (the reducer merges a visitor's parts from any number of emits)
        ev = self._parser.parse(line)
        if isinstance(ev, str):
            self.increment_counter(MALFORMED, ev)
            return None
        user = ev["user"]
        visitor = ("u", user) if user is not None else ("a", ev["ip"], ev["user_agent"])
        self._visitors[visitor].append([ev["t"], ev["dt"], ev["slug"]])
        self._buffered += 1
        if self._buffered >= self.options.flush_events:
            return self._drain()
        return None

    def _drain(self) -> list[tuple[tuple[Any, ...], list[Hit]]]:
        out = list(self._visitors.items())
        self._visitors.clear()
        self._buffered = 0
        return out

    def emit_visitors(self) -> Iterator[tuple[tuple[Any, ...], list[Hit]]]:
        yield from self._drain()
        if self._parser.valid:
            self.increment_counter(EVENTS, "valid", self._parser.valid)

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
