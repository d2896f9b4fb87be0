"""What one `warehouse aggregate` run did: AggregateSummary and its one-line report."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from warehouse.errors import EXIT_OK
from warehouse.textfmt import count, duration, number, took


@dataclass
class AggregateSummary:
    """What one `warehouse aggregate` run did; `line()` is the CLI's one-line report."""

    job: str
    runner: str
    dates: list[dt.date]
    output: str = ""
    partitions: set[str] = field(default_factory=set)
    records: int = 0
    inputs: int = 0
    events: int = 0
    malformed: dict[str, int] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    emptied: list[str] = field(default_factory=list)  # missing dates whose old output went
    dropped: int = 0
    counters_read: bool = True
    seconds: float = 0.0
    error: str | None = None
    exit_code: int = EXIT_OK

    def line(self) -> str:
        """Return the one-line summary: counts, rate, where output went, or the error."""
        span = date_span(self.dates)
        head = f"aggregate {self.job} [{self.runner}] {span}"
        if self.error:
            return f"{head}: FAILED (exit {self.exit_code}): {self.error}"
        skipped = sum(self.malformed.values())
        reasons = ", ".join(f"{k} {number(v)}" for k, v in sorted(self.malformed.items()))
        parts = [f"{count(len(self.partitions), 'partition')}, {count(self.records, 'record')}"]
        if self.counters_read:
            parts += [
                f"{count(self.events, 'event')} from {count(self.inputs, 'file')}",
                f"{number(skipped)} malformed skipped" + (f" ({reasons})" if reasons else ""),
            ]
            spent = took(self.events, self.seconds, "events")
        else:  # e.g. emr with read_logs: false
            parts.append(f"{count(self.inputs, 'file')}; event and malformed counts not read "
                         "(no counters)")
            spent = f"in {duration(self.seconds)}"
        if self.dropped:
            parts.append(f"{count(self.dropped, 'record')} of neighbouring dates not written")
        if self.missing:
            parts.append("no input for " + ", ".join(self.missing))
        if self.emptied:
            parts.append("earlier output emptied for " + ", ".join(self.emptied))
        return f"{head}: " + "; ".join(parts) + f" -> {self.output} {spent}"


def total_line(
    summaries: Sequence[AggregateSummary], planned: int, unregistered: int, code: int,
    seconds: float,
) -> str:
    """Return the last line of an aggregate of several jobs: how many ran ok, failed, did
    not run (a config error or Ctrl-C stopped them) and were not registered, its exit code."""
    failed = sum(1 for s in summaries if s.exit_code)
    parts = [count(planned, "job"), f"{number(len(summaries) - failed)} ok"]
    if failed:
        parts.append(f"{number(failed)} failed")
    if planned > len(summaries):
        parts.append(f"{number(planned - len(summaries))} not run")
    text = "aggregate: " + ", ".join(parts)
    if unregistered:
        text += f"; {number(unregistered)} not registered"
    return text + (f" (exit {code})" if code else "") + f" in {duration(seconds)}"


def date_span(dates: Sequence[dt.date]) -> str:
    """Return `D` or `D1..D2` for the dates (`(no dates)` when there are none)."""
    if not dates:
        return "(no dates)"
    first, last = min(dates), max(dates)
    return first.isoformat() if first == last else f"{first}..{last}"
