"""Judge one finished parse input: `judge` is pure (no store, no lock, no log).

`warehouse.events.parse` calls it when an input's last task is done, then acts on the
`Judgement`: publishes what it says (`warehouse.events.state.finish`) and adds it to the
summary. The tests pin each verdict on literal task results (tests/test_parse_judge.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from warehouse.errors import EXIT_FAILED
from warehouse.events.state import Earlier
from warehouse.events.summary import InputFailure
from warehouse.events.task import Result

_REPLACE = "run `warehouse parse --replace` to accept"


@dataclass(frozen=True)
class Judgement:
    """What one finished input read, whether it is good, and what of it to publish.

    `verdict` None: good (published over its earlier run). Else the input failed: its
    events are published only when it was read whole (not `set_aside`) and has no earlier
    events to keep (`publish`); otherwise they are `held`, and the dates of the earlier
    run's events (`held_partitions`) may change when a later `--replace` accepts it."""

    lines: int
    events: int
    unmatched: int
    rejects: Counter[str]
    head: str | None  # fingerprint of the input's first line (None: none read)
    verdict: InputFailure | None
    publish: bool  # its events are published
    partitions: frozenset[str]  # dates whose aggregates change once it is published
    held: int  # events not published
    held_partitions: frozenset[str]

    @property
    def good(self) -> bool:
        """True when the input is published over its earlier run."""
        return self.verdict is None

    @property
    def exit_code(self) -> int:
        """0 for a good input, else its failure's class."""
        return 0 if self.verdict is None else self.verdict.exit_code

    def failure(self, kept: int) -> InputFailure | None:
        """Return the input's failure as the summary lists it (None: good), once publishing
        kept `kept` objects of its earlier run."""
        if self.verdict is None:
            return None
        message = self.verdict.message
        if self.publish:
            message += " (its events published: it has no earlier events to keep)"
        elif kept:
            message += f" (none of its events published; the {kept} objects of its earlier run kept)"
        else:
            message += " (none of its events published)"
        return InputFailure(message, self.verdict.exit_code, self.verdict.set_aside)


def judge(
    label: str, results: Sequence[Result], earlier: Earlier, *, replace: bool,
    max_reject_ratio: float,
) -> Judgement:
    """Return the Judgement of input `label` from its tasks' `results` and its `earlier` run.

    A re-run that reads fewer lines, or gives fewer events, than the input's last good run
    (a truncated, rotated or damaged log), or that begins with another first line (a log
    rotated or replaced by a longer one), is bad unless `replace`; growth (a log still
    being written) is not. An input that could not be read to its end is set aside; one
    with more than `max_reject_ratio` of its records rejected is bad."""
    lines = sum(r.lines for r in results)
    events = sum(r.events for r in results)
    head = next((r.head for r in results if r.head is not None), None)
    verdict = _verdict(label, results, earlier, replace=replace, ratio=max_reject_ratio)
    had_events = any(k.startswith("events/") for k in earlier.keys)
    # a bad run never replaces an earlier run's events; with none to keep (a first run over
    # max_reject_ratio) its events are published as before, under the same exit code
    publish = verdict is None or (not verdict.set_aside and not had_events)
    old_dates = frozenset(_event_date(k) for k in earlier.keys if k.startswith("events/dt="))
    partitions: set[str] = set()
    if publish:
        partitions = {p for r in results for p in r.partitions}
    if verdict is None:  # dates whose earlier events are gone: their aggregates change too
        partitions |= old_dates
    held = verdict is not None and not publish
    rejects: Counter[str] = Counter()
    for r in results:
        rejects.update(r.rejects)
    return Judgement(
        lines, events, sum(r.unmatched for r in results), rejects, head, verdict, publish,
        frozenset(partitions), events if held else 0, old_dates if held else frozenset(),
    )


def _verdict(
    label: str, results: Sequence[Result], earlier: Earlier, *, replace: bool, ratio: float
) -> InputFailure | None:
    """Return why the input is bad (None: it is good); the first reason that applies."""
    unreadable = next((r.failure for r in results if r.failure is not None), None)
    if unreadable is not None:
        return InputFailure(str(unreadable), unreadable.exit_code, set_aside=True)
    lines = sum(r.lines for r in results)
    events = sum(r.events for r in results)
    rejected = sum(sum(r.rejects.values()) for r in results)
    records = lines - sum(r.headers for r in results)  # W3C header lines are no records
    if records and rejected / records > ratio:
        return _bad(
            f"input {label}: {rejected / records:.0%} of its {records} lines rejected, more "
            f"than [logs] max_reject_ratio {ratio}: check --format or the file"
        )
    if replace:
        return None
    if not lines and any(k.startswith("events/") for k in earlier.keys):
        return _bad(
            f"input {label} is empty, but its earlier run published events: check the file "
            f"(a log truncated by rotation?), or {_REPLACE} it"
        )
    if (earlier.lines is not None and lines < earlier.lines) or (
        earlier.events is not None and events < earlier.events
    ):
        return _bad(
            f"input {label} has {lines} lines ({events} events) where its last good run "
            f"read {earlier.lines} lines ({earlier.events} events): check the file (truncated "
            f"or replaced?), or {_REPLACE} its new content"
        )
    head = next((r.head for r in results if r.head is not None), None)
    if earlier.head is not None and head is not None and head != earlier.head:
        return _bad(
            f"input {label} no longer begins with the first line its last good run read "
            f"({earlier.lines} lines): it was rotated or replaced under the same name, and "
            "publishing it would delete that run's events; parse rotated files under their "
            f"own names, or {_REPLACE} its new content"
        )
    return None


def _bad(message: str) -> InputFailure:
    """An input read whole but judged bad (exit 5)."""
    return InputFailure(message, EXIT_FAILED, set_aside=False)


def _event_date(key: str) -> str:
    """Return the date of an events key, `events/dt=YYYY-MM-DD/...`."""
    return key[len("events/dt=") :].split("/", 1)[0]
