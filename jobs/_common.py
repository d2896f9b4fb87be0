"""What the aggregation jobs share: the EventJob base, event validation, orjson protocols,
percentiles.

Imports only the standard library, mrjob, orjson and warehouse.schema (the jobs' output
keys and options), because it runs on the EMR nodes next to the job scripts (shipped to
the tasks by `warehouse aggregate` as a --py-files zip, with warehouse/schema.py).

An event is malformed, and skipped with a counter in the group `MALFORMED` named after
the first bad field, when the line is not a JSON object or when any field the jobs read
has the wrong type: `ts` (ISO 8601 with `Z` or an explicit offset, converted to UTC),
`ip` (non-empty string), `user`, `slug`, `user_agent` (string or null; an empty `user`
counts as null), `status` (integer), `duration_ms` (null or a number >= 0), `params`
(object of strings). All three jobs skip the same events.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import orjson
from mrjob.job import MRJob
from mrjob.step import MRStep

from warehouse.schema import JOBS, JobSpec

MALFORMED = "malformed events"
EVENTS = "events"  # counter "valid": events the job used

_TS_Z = re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?Z$", re.ASCII)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class RawLineProtocol:
    """Input protocol: the line as bytes (key None); the mapper validates it."""

    def read(self, line: bytes) -> tuple[None, bytes]:
        return None, line

    def write(self, key: Any, value: bytes) -> bytes:
        return value


class OrjsonProtocol:
    """Internal protocol: orjson key TAB orjson value.

    A key that is a JSON array decodes to a tuple, so it stays hashable where Spark's
    combineByKey groups decoded keys.
    """

    def read(self, line: bytes) -> tuple[Any, Any]:
        k, v = line.split(b"\t", 1)
        key = orjson.loads(k)
        return (tuple(key) if isinstance(key, list) else key), orjson.loads(v)

    def write(self, key: Any, value: Any) -> bytes:
        return orjson.dumps(key) + b"\t" + orjson.dumps(value)


class OrjsonValueProtocol:
    """Output protocol: one JSON object per line (the key is dropped)."""

    def read(self, line: bytes) -> tuple[None, Any]:
        return None, orjson.loads(line)

    def write(self, key: Any, value: Any) -> bytes:
        return orjson.dumps(value)


class EventParser:
    """Validate event lines; caches per-date work so the common case stays cheap."""

    def __init__(self) -> None:
        self._day_epoch: dict[str, int | None] = {}
        self.valid = 0

    def _day(self, day: str) -> int | None:
        """Return the epoch seconds of a YYYY-MM-DD date's midnight, None if invalid."""
        try:
            return self._day_epoch[day]
        except KeyError:
            pass
        try:
            d = dt.date.fromisoformat(day)
            epoch: int | None = (d - _EPOCH.date()).days * 86400
        except ValueError:
            epoch = None
        self._day_epoch[day] = epoch
        return epoch

    def timestamp(self, ts: str) -> tuple[str, float] | None:
        """Return (UTC date, epoch seconds) of an ISO timestamp, None when malformed."""
        m = _TS_Z.match(ts)
        if m is not None:
            day, hh, mm, ss, frac = m.groups()
            base = self._day(day)
            h, mi, s = int(hh), int(mm), int(ss)
            if base is None or h > 23 or mi > 59 or s > 59:
                return None
            seconds: float = base + h * 3600 + mi * 60 + s
            if frac:
                seconds += float(frac)
            return day, seconds
        try:
            when = dt.datetime.fromisoformat(ts)
        except ValueError:
            return None
        if when.tzinfo is None:
            return None  # a naive time has no defined UTC date
        when = when.astimezone(dt.UTC)
        return when.date().isoformat(), (when - _EPOCH).total_seconds()

    def parse(self, line: bytes) -> dict[str, Any] | str:
        """Return the event with `dt` and `t` (UTC epoch seconds) added, or the bad field."""
        try:
            ev = orjson.loads(line)
        except orjson.JSONDecodeError:
            return "json"
        if not isinstance(ev, dict):
            return "json"
        ts = ev.get("ts")
        if not isinstance(ts, str):
            return "ts"
        when = self.timestamp(ts)
        if when is None:
            return "ts"
        ev["dt"], ev["t"] = when
        ip = ev.get("ip")
        if not isinstance(ip, str) or not ip:
            return "ip"
        status = ev.get("status")
        if type(status) is not int:
            return "status"
        for key in ("user", "slug", "user_agent"):
            value = ev.get(key)
            if value is not None and not isinstance(value, str):
                return key
        if ev.get("user") == "":
            ev["user"] = None
        duration = ev.get("duration_ms")
        if duration is not None and (
            type(duration) not in (int, float) or duration < 0
        ):
            return "duration_ms"
        params = ev.get("params")
        if params is None:
            return "params"
        if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
            return "params"
        self.valid += 1
        return ev


class EventJob(MRJob):
    """An MRJob over event lines whose first step combines in the mapper.

    The mapper parses each line, counts a malformed one and skips it, and hands a valid
    event to `buffer_event`; `drain_buffer` yields the partial states and empties them, at
    the end of the map task and, when FLUSH_EVENTS is set (option --flush-events), every
    that many events so the buffer's memory stays bounded. `event_step(reducer)` is the
    subclass's first step.
    """

    INPUT_PROTOCOL = RawLineProtocol
    INTERNAL_PROTOCOL = OrjsonProtocol
    OUTPUT_PROTOCOL = OrjsonValueProtocol
    FLUSH_EVENTS: int | None = None  # default of --flush-events; None: no option, no flush
    JOB = ""  # the name of the job's JobSpec in warehouse.schema.JOBS

    @classmethod
    def spec(cls) -> JobSpec:
        """Return the job's JobSpec: output keys, options."""
        return JOBS[cls.JOB]

    def configure_args(self) -> None:
        super().configure_args()
        for arg in self.spec().args:  # fed from [aggregate] by `warehouse aggregate`
            self.add_passthru_arg(arg.option, type=int, default=arg.default, help=arg.help)
        if self.FLUSH_EVENTS is not None:
            self.add_passthru_arg(
                "--flush-events", type=int, default=self.FLUSH_EVENTS,
                help="a map task emits what it buffered after this many events (bounds memory)",
            )

    def event_step(self, reducer: Callable[..., Any]) -> MRStep:
        """Return the step whose mapper buffers events and whose reducer is `reducer`."""
        return MRStep(
            mapper_init=self.init_events,
            mapper=self.map_event,
            mapper_final=self.emit_events,
            reducer=reducer,
        )

    def init_buffer(self) -> None:
        """Set up the empty buffer of partial states."""
        raise NotImplementedError

    def buffer_event(self, ev: dict[str, Any]) -> None:
        """Fold one valid event into the buffer."""
        raise NotImplementedError

    def drain_buffer(self) -> Iterable[tuple[Any, Any]]:
        """Return the buffered (key, partial state) pairs and empty the buffer."""
        raise NotImplementedError

    def init_events(self) -> None:
        self._parser = EventParser()
        self._flush_at: int | None = (
            None if self.FLUSH_EVENTS is None else self.options.flush_events
        )
        self._buffered = 0
        self.init_buffer()

    def map_event(self, _: None, line: bytes) -> Iterable[tuple[Any, Any]] | None:
        # combines in memory; yields only when the buffer is full (None: no output)
        ev = self._parser.parse(line)
        if isinstance(ev, str):
            self.increment_counter(MALFORMED, ev)
            return None
        self.buffer_event(ev)
        self._buffered += 1
        if self._flush_at is not None and self._buffered >= self._flush_at:
            self._buffered = 0
            return self.drain_buffer()
        return None

    def emit_events(self) -> Iterator[tuple[Any, Any]]:
        yield from self.drain_buffer()
        if self._parser.valid:
            self.increment_counter(EVENTS, "valid", self._parser.valid)


def nearest_rank(ordered: list[Any], pct: int) -> Any:
    """Return the nearest-rank percentile `pct` (1-100) of sorted values, None if empty."""
    n = len(ordered)
    if not n:
        return None
    rank = max(1, -(-pct * n // 100))  # ceil(pct * n / 100) in integers
    return ordered[rank - 1]


def slug_order(slug: str | None) -> tuple[bool, str]:
    """Return the sort key of a slug: null first, then ascending."""
    return (slug is not None, slug or "")


def top_counts(counts: dict[Any, int], n: int) -> list[dict[str, Any]]:
    """Return the `n` most frequent slugs as [{slug, n}], ties broken by slug (null first)."""
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], slug_order(kv[0])))
    return [{"slug": slug, "n": count} for slug, count in ranked[:n]]
