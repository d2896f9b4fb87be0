"""The outcome of `warehouse run`: a StageResult per (date, stage), summed up in one line."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from warehouse.errors import EXIT_INTERRUPTED, combined_exit_code
from warehouse.textfmt import count, number

OK, COMPLETE, SKIPPED, BLOCKED, FAILED = "ok", "complete", "skipped", "blocked", "failed"


@dataclass(frozen=True)
class StageResult:
    """What one stage did for one date in this invocation."""

    day: dt.date
    stage: str
    status: str  # ok | complete (done before) | skipped | blocked | failed
    detail: str = ""
    exit_code: int = 0


@dataclass
class RunSummary:
    """The outcome of `warehouse run`: one StageResult per (date, stage)."""

    dates: list[dt.date]
    records_uri: str
    results: list[StageResult] = field(default_factory=list)  # in run order: stage by stage
    interrupted: bool = False  # Ctrl-C: the stages after the last result did not run
    interrupted_by: str = "Ctrl-C"  # or "SIGTERM" (errors.interrupted_by)

    @property
    def exit_code(self) -> int:
        """Return the combined exit code of the failed stages (0 when none failed; 130 when
        the run was interrupted)."""
        codes = [r.exit_code for r in self.results if r.status == FAILED]
        return combined_exit_code([*codes, EXIT_INTERRUPTED if self.interrupted else 0])

    def failed(self) -> list[StageResult]:
        """Return the failed stage results, in run order."""
        return [r for r in self.results if r.status == FAILED]

    def line(self) -> str:
        """Return the one-line summary: each stage's outcome, the exit code, the records."""
        first, last = self.dates[0], self.dates[-1]
        span = first.isoformat() if first == last else f"{first}..{last} ({count(len(self.dates), 'date')})"
        parts = []
        for stage in dict.fromkeys(r.stage for r in self.results):  # in run order
            rows = [r for r in self.results if r.stage == stage]
            parts.append(_stage_text(stage, rows, single=len(self.dates) == 1))
        text = f"run {span}: " + (", ".join(parts) or "no stage finished")
        if self.interrupted:
            text += f"; INTERRUPTED ({self.interrupted_by}): the next run does what did not finish"
        failed = self.failed()
        if failed:
            f = failed[0]
            text += f"; exit {self.exit_code}; first failure: {f.day} {f.stage}: {f.detail}"
        else:
            text += f"; exit {self.exit_code}"
        return f"{text}; records: {self.records_uri}"


def _stage_text(stage: str, rows: list[StageResult], *, single: bool) -> str:
    if single:
        r = rows[0]
        if r.status == FAILED:
            return f"{stage} failed (exit {r.exit_code})"
        return f"{stage} {r.status}" + (f" ({r.detail})" if r.detail else "")
    counts = Counter(r.status for r in rows)
    bits = []
    for status in (OK, COMPLETE, SKIPPED, BLOCKED, FAILED):
        if not counts[status]:
            continue
        bit = f"{number(counts[status])} {status}"
        if status in (FAILED, BLOCKED):
            bit += " [" + " ".join(str(r.day) for r in rows if r.status == status) + "]"
        if status == SKIPPED:
            reasons = sorted({r.detail for r in rows if r.status == SKIPPED and r.detail})
            if reasons:
                bit += f" ({'; '.join(reasons)})"
        bits.append(bit)
    return f"{stage} " + " ".join(bits)
