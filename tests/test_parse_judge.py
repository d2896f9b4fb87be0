"""`judge`: the pure verdict on one finished parse input, from literal task results.

Each case pins the decision `warehouse parse` acts on (exit code, what is published or
held, the message); the CLI tests (test_parse_review.py, test_parse_reruns.py) run the
same decisions end to end.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pytest

from warehouse.events.inputread import UnreadableInput
from warehouse.events.judge import Judgement, judge
from warehouse.events.state import Earlier
from warehouse.events.task import Result
from warehouse.logs import NO_MATCH

OLD_EVENTS = ["events/dt=2026-11-01/abc-0000.json.gz", "events/dt=2026-11-02/abc-0000.json.gz"]
OLD_REJECTS = ["rejects/dt=2026-11-03/abc-0000.json.gz"]
REPLACE = "run `warehouse parse --replace` to accept"


def _result(
    lines: int, events: int, *, rejects: int = 0, headers: int = 0, head: str | None = "h1",
    failure: UnreadableInput | None = None, dates: tuple[str, ...] = ("2026-11-05",),
) -> Result:
    return Result(
        "web.log", lines=lines, events=events, unmatched=1,
        rejects=Counter({NO_MATCH: rejects}) if rejects else Counter(),
        keys=[f"_staging/abc/events/dt={d}/abc-0000.json.gz" for d in dates],
        partitions=set(dates), failure=failure, headers=headers, head=head,
    )


@dataclass(frozen=True)
class Case:
    results: list[Result]
    earlier: Earlier
    replace: bool = False
    # expected
    exit_code: int = 0
    publish: bool = True
    held: int = 0
    partitions: set[str] = field(default_factory=set)
    held_partitions: set[str] = field(default_factory=set)
    message: str | None = None  # the failure's message (kept=2), None: good
    set_aside: bool = False


NEW = {"2026-11-05"}
OLD = {"2026-11-01", "2026-11-02"}
CASES = {
    "first run, good": Case([_result(10, 10)], Earlier([]), partitions=NEW),
    "re-run grows: good, earlier dates touched too": Case(
        [_result(6, 6), _result(6, 6, head=None)],
        Earlier(OLD_EVENTS + OLD_REJECTS, lines=10, events=10, head="h1"),
        partitions=NEW | OLD,
    ),
    "unreadable: set aside, earlier kept": Case(
        [_result(4, 4, failure=UnreadableInput("input web.log is corrupt: set it aside", 5))],
        Earlier(OLD_EVENTS, lines=4, events=4), exit_code=5, publish=False, held=4,
        held_partitions=OLD, set_aside=True,
        message="input web.log is corrupt: set it aside (none of its events published; "
        "the 2 objects of its earlier run kept)",
    ),
    "unreadable on a first run: nothing published": Case(
        [_result(4, 4, failure=UnreadableInput("input web.log: connection reset", 3))],
        Earlier([]), exit_code=3, publish=False, held=4, set_aside=True,
        message="input web.log: connection reset (none of its events published; the 2 "
        "objects of its earlier run kept)",
    ),
    "too many rejects, first run: published anyway": Case(
        [_result(10, 4, rejects=6)], Earlier(OLD_REJECTS), exit_code=5, partitions=NEW,
        message="input web.log: 60% of its 10 lines rejected, more than [logs] "
        "max_reject_ratio 0.5: check --format or the file (its events published: it has "
        "no earlier events to keep)",
    ),
    "too many rejects over earlier events: held": Case(
        [_result(10, 4, rejects=6)], Earlier(OLD_EVENTS), exit_code=5, publish=False,
        held=4, held_partitions=OLD,
        message="input web.log: 60% of its 10 lines rejected, more than [logs] "
        "max_reject_ratio 0.5: check --format or the file (none of its events published; "
        "the 2 objects of its earlier run kept)",
    ),
    "too many rejects even with --replace": Case(
        [_result(10, 4, rejects=6)], Earlier(OLD_EVENTS), replace=True, exit_code=5,
        publish=False, held=4, held_partitions=OLD,
        message="input web.log: 60% of its 10 lines rejected, more than [logs] "
        "max_reject_ratio 0.5: check --format or the file (none of its events published; "
        "the 2 objects of its earlier run kept)",
    ),
    "W3C header lines are no records": Case(
        [_result(12, 6, rejects=4, headers=2)], Earlier([]), partitions=NEW,
    ),
    "empty where the earlier run had events": Case(
        [_result(0, 0, head=None, dates=())], Earlier(OLD_EVENTS), exit_code=5,
        publish=False, held_partitions=OLD,
        message=f"input web.log is empty, but its earlier run published events: check the "
        f"file (a log truncated by rotation?), or {REPLACE} it (none of its events "
        "published; the 2 objects of its earlier run kept)",
    ),
    "empty accepted with --replace": Case(
        [_result(0, 0, head=None, dates=())], Earlier(OLD_EVENTS), replace=True,
        partitions=OLD,
    ),
    "fewer lines than the last good run": Case(
        [_result(8, 8)], Earlier(OLD_EVENTS, lines=10, events=8, head="h1"), exit_code=5,
        publish=False, held=8, held_partitions=OLD,
        message="input web.log has 8 lines (8 events) where its last good run read 10 "
        f"lines (8 events): check the file (truncated or replaced?), or {REPLACE} its new "
        "content (none of its events published; the 2 objects of its earlier run kept)",
    ),
    "fewer events than the last good run": Case(
        [_result(10, 7, rejects=3)], Earlier(OLD_EVENTS, lines=10, events=9), exit_code=5,
        publish=False, held=7, held_partitions=OLD,
        message="input web.log has 10 lines (7 events) where its last good run read 10 "
        f"lines (9 events): check the file (truncated or replaced?), or {REPLACE} its new "
        "content (none of its events published; the 2 objects of its earlier run kept)",
    ),
    "fewer lines accepted with --replace": Case(
        [_result(8, 8)], Earlier(OLD_EVENTS, lines=10, events=10), replace=True,
        partitions=NEW | OLD,
    ),
    "another first line: rotated under the same name": Case(
        [_result(12, 12, head="h2")], Earlier(OLD_EVENTS, lines=10, events=10, head="h1"),
        exit_code=5, publish=False, held=12, held_partitions=OLD,
        message="input web.log no longer begins with the first line its last good run "
        "read (10 lines): it was rotated or replaced under the same name, and publishing "
        "it would delete that run's events; parse rotated files under their own names, or "
        f"{REPLACE} its new content (none of its events published; the 2 objects of its "
        "earlier run kept)",
    ),
    "another first line accepted with --replace": Case(
        [_result(12, 12, head="h2")], Earlier(OLD_EVENTS, lines=10, events=10, head="h1"),
        replace=True, partitions=NEW | OLD,
    ),
    "no first line recorded: not compared": Case(
        [_result(12, 12, head="h2")], Earlier(OLD_EVENTS, lines=10, events=10),
        partitions=NEW | OLD,
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_judge(case: Case) -> None:
    j = judge("web.log", case.results, case.earlier, replace=case.replace, max_reject_ratio=0.5)
    assert (j.exit_code, j.good, j.publish) == (case.exit_code, case.message is None, case.publish)
    assert (j.held, set(j.held_partitions), set(j.partitions)) == (
        case.held, case.held_partitions, case.partitions
    )
    failure = j.failure(kept=2)
    if case.message is None:
        assert failure is None
    else:
        assert failure is not None
        assert (failure.message, failure.exit_code, failure.set_aside) == (
            case.message, case.exit_code, case.set_aside
        )


def test_judge_counts_every_task() -> None:
    results = [_result(5, 3, rejects=2), _result(4, 4, head=None, dates=("2026-11-06",))]
    j = judge("web.log", results, Earlier([]), replace=False, max_reject_ratio=0.5)
    assert (j.lines, j.events, j.unmatched, dict(j.rejects), j.head) == (9, 7, 2, {NO_MATCH: 2}, "h1")
    assert j.partitions == {"2026-11-05", "2026-11-06"}


def test_failure_names_what_the_publish_kept() -> None:
    j: Judgement = judge(
        "web.log", [_result(8, 8)], Earlier(OLD_EVENTS, lines=10), replace=False,
        max_reject_ratio=0.5,
    )
    one = j.failure(kept=1)
    none = j.failure(kept=0)
    assert one is not None and one.message.endswith(
        " (none of its events published; the 1 objects of its earlier run kept)"
    )
    assert none is not None and none.message.endswith(" (none of its events published)")
