"""How long library calls report their progress: a callback receiving ProgressEvents.

`parse_logs`, `run_import`, `run_aggregate` and `run_nightly` take `progress: Progress |
None` (None: no reports; what `run` passes to the stages it calls). The library only
reports work done; drawing it (a bar, a status line) is the caller's business
(`warehouse.cli.draw`, on a terminal). Events come per block of work (a chunk of an
input, a batch of rows, a job, a stage of a date), never per line, and one at a time: work
running on several threads is serialised, and worker processes report through the
parent as each of their tasks finishes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """`advance` more `unit`s of `label` done (and `lines` more lines read, for parse).

    `total`: all the units of `label`, when known (given on its first event). `final`:
    the last event of `label`; `outcome` then is its one-line result, if it has one.
    `step`: what the units of this event were, when `label` has parts worth naming.
    Labels: "parse" (bytes of every input; uncompressed text for compressed inputs),
    "SOURCE.DATABASE.TABLE" for each table `import` copies (rows), "aggregate JOB" (jobs:
    one, its outcome the job's summary line) and "run" (stages: one per date and stage to
    do, `step` naming the date and stage each event finished, e.g. "2026-11-28 aggregate").
    """

    label: str
    unit: Literal["bytes", "rows", "jobs", "stages"]
    advance: int = 0
    lines: int = 0
    total: int | None = None
    final: bool = False
    outcome: str | None = None
    step: str | None = None


Progress = Callable[[ProgressEvent], None]
"""A progress callback; exceptions it raises stop the work they report on."""
