"""`run_aggregate`: run one job for some dates on an mrjob runner and publish its output.

Nothing is written unless the job succeeded (see `warehouse.aggregate`); the output's
partitions are replaced by `warehouse.aggregate.publish`.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Sequence
from typing import Any

from warehouse.aggregate.gzipcheck import damaged_input
from warehouse.aggregate.plan import input_keys
from warehouse.aggregate.publish import empty_stale, sort_key, write_partition
from warehouse.aggregate.runners import job_args, load_job, staged_inputs, sum_counters
from warehouse.aggregate.summary import AggregateSummary, date_span
from warehouse.config import Config
from warehouse.errors import EXIT_FAILED, EXIT_INPUT_MISSING, ConfigError, WarehouseError
from warehouse.lock import events_lock
from warehouse.mr import (
    check_known_runner,
    conf_problem,
    jobs_zip,
    run_job,
    scratch_full,
    spark_submit_args,
)
from warehouse.progress import Progress, ProgressEvent
from warehouse.schema import JOBS
from warehouse.scratch import scratch_dir
from warehouse.storage import ObjectStore, store_for_config

log = logging.getLogger(__name__)

MALFORMED_GROUP = "malformed events"
EVENTS_GROUP = "events"


def run_aggregate(
    cfg: Config,
    job: str,
    dates: list[dt.date],
    *,
    runner: str,
    store: ObjectStore | None = None,
    extra_args: Sequence[str] = (),
    progress: Progress | None = None,
) -> AggregateSummary:
    """Run `job` for `dates` on `runner` and replace their output partitions.

    Raises ConfigError for an unknown job or runner or a runner set up wrongly (nothing
    runs). Returns an AggregateSummary whose exit_code is 4 when no input partition exists
    for any date, 3 when the store or scratch space fails, 5 when the job failed (nothing
    is written). `extra_args` go to mrjob as they are (e.g. --jobconf, --emr-endpoint).
    `progress` hears of the job ("aggregate JOB", 1 job) as it starts and, with the
    summary's line as outcome, when it ends.
    """
    started = time.monotonic()
    if job not in JOBS:
        raise ConfigError(f"unknown job {job!r}; known: {', '.join(sorted(JOBS))}")
    check_known_runner(runner)
    problem = conf_problem(cfg, runner)
    if problem:
        raise ConfigError(problem)
    summary = AggregateSummary(job=job, runner=runner, dates=sorted(dates))
    store = store or store_for_config(cfg)
    summary.output = store.uri(f"aggregates/{job}/")
    label = f"aggregate {job}"
    if progress is not None:
        progress(ProgressEvent(label, "jobs", total=1))
    try:
        store.check_root()  # a missing bucket or a hung endpoint: fail before any work
        # shared with other aggregates; no parse on this machine publishes an input while
        # the job lists and reads the events (it sees each input before or after)
        with events_lock(cfg.cron.lock_file, store.uri(""), publish=False, what=label):
            _run(cfg, store, summary, extra_args)
    except (WarehouseError, OSError) as exc:
        # scratch space ($TMPDIR) full: mrjob's files, the staged inputs, the zip (exit 3);
        # another OSError is unexpected (a traceback)
        err = scratch_full(exc) if isinstance(exc, OSError) else exc
        if err is None:
            raise
        summary.error = str(err)
        summary.exit_code = err.exit_code
    summary.seconds = time.monotonic() - started
    if progress is not None:
        progress(ProgressEvent(label, "jobs", advance=1, final=True, outcome=summary.line()))
    return summary


def _run(cfg: Config, store: ObjectStore, summary: AggregateSummary, extra_args: Sequence[str]) -> None:
    """Run the job of `summary` over its dates and publish its output, filling `summary`."""
    job, runner, dates = summary.job, summary.runner, summary.dates
    wanted = {d.isoformat() for d in dates}
    keys, present = input_keys(store, job, dates)
    summary.missing = sorted(wanted - present)
    if not wanted & present:
        empty_stale(store, job, summary, parquet=cfg.events.parquet)
        summary.error = (
            f"no event partitions under {store.uri('events/')} for {date_span(dates)}; "
            "run `warehouse parse` for those dates first"
        )
        summary.exit_code = EXIT_INPUT_MISSING
        return
    summary.inputs = len(keys)

    job_cls = load_job(job)
    by_day: dict[str, list[dict[str, Any]]] = {d: [] for d in sorted(wanted & present)}
    # scratch: $TMPDIR/warehouse-<job>-<pid>-*, with mrjob's own temp files inside; what
    # a killed run leaves there is removed by the next aggregate of the same job
    with scratch_dir(job) as workdir:
        py_files = [] if runner == "inline" else [jobs_zip(workdir)]
        with staged_inputs(store, keys, runner, workdir) as inputs:
            damaged = damaged_input(store, runner, keys, inputs)
            if damaged:
                summary.error = damaged
                summary.exit_code = EXIT_FAILED
                return
            extra = [*spark_submit_args(runner), "--local-tmp-dir", str(workdir / "mrjob")]
            extra += list(extra_args)
            argv = job_args(cfg, job, runner, inputs, py_files=py_files, extra_args=extra)
            log.info("mrjob %s %s", job, " ".join(argv[: len(argv) - len(inputs)]))

            def keep(record: dict[str, Any]) -> None:
                day_records = by_day.get(record["dt"])
                if day_records is None:
                    summary.dropped += 1
                else:
                    day_records.append(record)

            # a failed job raises (exit 5, or 3 for a full disk): nothing is written
            counters = run_job(cfg, runner, job_cls(argv), f"job {job}", keep)

    summary.counters_read = any(counters)
    summary.malformed = sum_counters(counters, MALFORMED_GROUP)
    summary.events = sum(sum_counters(counters, EVENTS_GROUP).values())
    for out_day, records in by_day.items():
        records.sort(key=sort_key)
        write_partition(store, job, out_day, records, parquet=cfg.events.parquet)
        summary.partitions.add(out_day)
        summary.records += len(records)
    empty_stale(store, job, summary, parquet=cfg.events.parquet)
