"""daily_actions: hits, distinct users and IPs, errors and latency per (dt, slug).

Input: event lines (gzipped JSON, see DESIGN.md). Output: one JSON object per (dt, slug),
slug null for unmatched paths, with exactly the keys (and types) of
`warehouse.schema.JOBS["daily_actions"]`: dt (UTC date of the events' ts), slug, hits,
distinct users (non-null `user`) and ips, server_errors (status >= 500), client_errors
(400-499), and the nearest-rank p50_ms/p95_ms of duration_ms (null where no durations).

Malformed events are counted (group "malformed events") and skipped. The mapper combines
in memory (one partial state per (dt, slug) per map task), so the shuffle is small.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from _common import EventJob, nearest_rank
from mrjob.step import MRStep

# partial state per (dt, slug): [hits, users, ips, server_errors, client_errors, durations]
State = list[Any]


class DailyActions(EventJob):
    """Per (dt, slug): hits, users, ips, server/client errors, p50/p95 duration."""

    JOB = "daily_actions"
    # a map task buffers the states of at most this many events before emitting them
    FLUSH_EVENTS = 1_000_000

    def steps(self) -> list[MRStep]:
        return [self.event_step(self.reduce_state)]

    def init_buffer(self) -> None:
        self._state: dict[tuple[str, str | None], State] = {}

    def buffer_event(self, ev: dict[str, Any]) -> None:
        key = (ev["dt"], ev["slug"])
        st = self._state.get(key)
        if st is None:
            st = self._state[key] = [0, set(), set(), 0, 0, []]
        st[0] += 1
        user = ev["user"]
        if user is not None:
            st[1].add(user)
        st[2].add(ev["ip"])
        status = ev["status"]
        if status >= 500:
            st[3] += 1
        elif status >= 400:
            st[4] += 1
        duration = ev["duration_ms"]
        if duration is not None:
            st[5].append(duration)

    def drain_buffer(self) -> list[tuple[Any, State]]:
        out: list[tuple[Any, State]] = [
            (key, [hits, sorted(users), sorted(ips), s5, s4, durations])
            for key, (hits, users, ips, s5, s4, durations) in self._state.items()
        ]
        self._state.clear()
        return out

    def reduce_state(
        self, key: tuple[str, str | None], states: Iterable[State]
    ) -> Iterator[tuple[None, dict[str, Any]]]:
        hits = s5 = s4 = 0
        users: set[str] = set()
        ips: set[str] = set()
        durations: list[float] = []
        for h, u, i, e5, e4, d in states:
            hits += h
            users.update(u)
            ips.update(i)
            s5 += e5
            s4 += e4
            durations.extend(d)
        durations.sort()
        day, slug = key
        yield None, {
            "dt": day,
            "slug": slug,
            "hits": hits,
            "users": len(users),
            "ips": len(ips),
            "server_errors": s5,
            "client_errors": s4,
            "p50_ms": nearest_rank(durations, 50),
            "p95_ms": nearest_rank(durations, 95),
        }


if __name__ == "__main__":
    DailyActions.run()
