"""Run one mrjob job and map its failure to a WarehouseError, for parse -r and aggregate."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from warehouse.config import Config
from warehouse.errors import JobFailed, SourceUnavailable, WarehouseError, from_oserror
from warehouse.mr.conf import runner_env

if TYPE_CHECKING:
    from mrjob.job import MRJob

log = logging.getLogger(__name__)

Counters = list[dict[str, dict[str, int]]]  # per step: group -> counter -> count


def run_job(
    cfg: Config, runner: str, job: MRJob, what: str, each: Callable[[Any], object], *,
    note: str = "",
) -> Counters:
    """Run the MRJob `job` (built with its command line) on `runner`, hand each output value
    to `each`; return its counters. Raises what `job_error` maps a failure to: JobFailed
    (exit 5) naming `what` (e.g. "job sessions"), SourceUnavailable (exit 3) for a full disk."""
    try:
        with runner_env(cfg, runner), job.make_runner() as mr_runner:
            mr_runner.run()
            for _, value in job.parse_output(mr_runner.cat_output()):
                each(value)
            counters: Counters = mr_runner.counters()
            return counters
    except Exception as exc:  # any runner or task failure: the caller publishes nothing
        raise job_error(exc, what, runner, note=note) from None


def job_error(exc: Exception, what: str, runner: str, *, note: str = "") -> WarehouseError:
    """Return the one-line error of a failed job run: a full scratch disk (exit 3), else
    JobFailed (exit 5) with the exception's first line, `note` and where the cause is."""
    if isinstance(exc, OSError):
        full = scratch_full(exc)
        if full is not None:
            return full
    log.debug("%s failed on runner %s", what, runner, exc_info=exc)
    return JobFailed(
        f"{what} failed on runner {runner}: {type(exc).__name__}: {first_line(exc)}; "
        f"{note}the runner's log above has the cause (-vv for the traceback)"
    )


def scratch_full(exc: OSError, what: str | None = None) -> SourceUnavailable | None:
    """Return the error of a full disk met writing scratch files (mrjob's own, the staged
    inputs, the zips): exit 3 naming `what` (else the file the error names); None for
    another OSError."""
    what = what or exc.filename or "scratch files"
    return from_oserror(exc, str(what), fix="free space there or point TMPDIR elsewhere")


def first_line(exc: BaseException, limit: int = 240) -> str:
    """Return the first line of a runner's exception for a one-line error, cut at `limit`
    characters (mrjob puts whole spark-submit/hadoop commands in its messages)."""
    first = str(exc).splitlines()[0] if str(exc) else ""
    return first[:limit] + "..." if len(first) > limit else first
