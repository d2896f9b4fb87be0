"""Run `parse` tasks as the map-only mrjob job `warehouse.events.parsejob` on an mrjob runner.

`warehouse.events.parse` plans the tasks and prepares every input as for an in-process parse, then
hands the tasks here instead of to its worker processes; the job's map tasks stage the
objects, and `run_tasks` returns each task's Result so that `warehouse.events.parse` judges and
publishes each input exactly as in process. The job runs with the mrjob.conf of
`[aggregate] mrjob_conf` (else conf/mrjob.conf) and, as for aggregate, the nodes of the
hadoop and emr runners run the toolkit the bootstrap installed.

Where tasks read and write: inline, local and spark tasks run on this machine (a local or
S3 root; spark with a cluster master needs inputs and root every executor reaches: S3).
hadoop and emr tasks run on cluster nodes: the root must be on S3; local inputs are
uploaded by mrjob (as job inputs), S3 inputs are read where they are.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Any

from warehouse.config import Config
from warehouse.errors import ConfigError, JobFailed
from warehouse.events.inputs import InputSource
from warehouse.events.parsejob import ParseJob, input_name, plan_json, result_from_json
from warehouse.events.state import staging_prefix
from warehouse.events.task import Result, Settings, Task, components
from warehouse.mr import (
    check_known_runner,
    conf_problem,
    run_job,
    runner_args,
    scratch_full,
    spark_submit_args,
    toolkit_zip,
)
from warehouse.schema import CLUSTER_RUNNERS
from warehouse.scratch import scratch_dir
from warehouse.storage import ObjectStore, is_remote

log = logging.getLogger(__name__)

# runners whose map tasks read a local input through mapper_raw's copy: the cluster's
# (mrjob uploads the file), and inline (the "copy" is the file itself). The local runner
# would copy each input into each task's working dir (twice over for a file cut in two
# ranges): its tasks, on this machine, read local inputs in place instead.
_COPY_RUNNERS = ("inline", "hadoop", "emr")


def check_runner(cfg: Config, runner: str, *, stdin: bool) -> None:
    """Raise ConfigError when `runner` cannot run this parse (before anything is written)."""
    check_known_runner(runner)
    if stdin:
        raise ConfigError(
            f"stdin (-) cannot be parsed with -r {runner}: save it to a file first, or parse "
            "it in process (no -r, and no [logs] runner)"
        )
    if runner in CLUSTER_RUNNERS and not is_remote(cfg.root):
        raise ConfigError(
            f"-r {runner} runs the parse tasks on cluster nodes, which cannot write the local "
            f"root {cfg.root}: use an s3:// root, or -r local"
        )
    problem = conf_problem(cfg, runner)
    if problem:
        raise ConfigError(problem)


def clear_staging(store: ObjectStore, sources: list[InputSource]) -> None:
    """Remove what task attempts left in the inputs' staging trees once they are published
    (a killed attempt's temporary files, its incomplete S3 uploads); best effort, as the
    next run of an input removes them too."""
    for src in sources:
        prefix = staging_prefix(src)
        with contextlib.suppress(Exception):
            for obj in list(store.list(prefix, include_hidden=True)):
                store.delete(obj.key)
            store.abort_uploads(prefix)


def run_tasks(
    cfg: Config,
    settings: Settings,
    tasks: list[Task],
    runner: str,
    *,
    workers: int = 1,
    extra_args: list[str] | tuple[str, ...] = (),
) -> list[tuple[Task, Result]]:
    """Run `tasks` as one map-only job on `runner`; return each task with its Result.

    Raises JobFailed (exit 5) when the job fails or a task's result is missing, and
    SourceUnavailable (exit 3) when mrjob's scratch disk is full; what the tasks staged is
    then left for the caller to drop."""
    components(settings)  # a bad format or patterns file: exit 2 here, not a failed job
    mode = "lines" if runner == "spark" else "raw"
    # scratch: $TMPDIR/warehouse-parse-job-<pid>-*, mrjob's own temp files inside; what a
    # killed run leaves there is removed by the next parse through a runner
    try:
        with scratch_dir("parse-job") as work:
            inputs, copies = _write_inputs(work / "input", tasks, runner, mode)
            plan = work / "plan.json"
            plan.write_bytes(plan_json(settings, tasks, copies))
            args = _job_args(cfg, runner, work, str(plan), settings.patterns, mode, workers)
            args += [*spark_submit_args(runner), "--local-tmp-dir", str(work / "mrjob")]
            args += [*extra_args, *inputs]
            log.info("mrjob parse %s", " ".join(args[: len(args) - len(inputs)]))
            rows = _run_job(cfg, runner, args)
    except OSError as exc:  # writing the inputs, the plan or the zip (the job's: run_job)
        full = scratch_full(exc)
        if full is None:
            raise
        raise full from None
    out: list[tuple[Task, Result]] = []
    for number, task in enumerate(tasks):
        row = rows.get(number)
        if row is None:
            raise JobFailed(
                f"parse job on runner {runner} returned no result for input "
                f"{task.source.label} (task {number}); re-run the parse"
            )
        out.append((task, result_from_json(row)))
    return out


def _write_inputs(
    folder: Path, tasks: list[Task], runner: str, mode: str
) -> tuple[list[str], list[bool]]:
    """Write the job's inputs into `folder`, one per task (see warehouse.events.parsejob);
    return their paths and whether each task reads the runner's copy of its input."""
    folder.mkdir()
    inputs, copies = [], []
    for number, task in enumerate(tasks):
        path = folder / input_name(number, mode)
        src = task.source
        copy = runner in _COPY_RUNNERS and not is_remote(src.root) and not src.refused
        if mode == "lines":
            path.write_text(f"{number}\n")
        elif copy:
            path.symlink_to(os.path.join(src.root, src.key))
        else:
            path.write_bytes(b"")  # a stub: the task reads its S3 input itself
        inputs.append(str(path))
        copies.append(copy)
    return inputs, copies


def _job_args(
    cfg: Config, runner: str, work: Path, plan: str, patterns: str | None, mode: str,
    workers: int,
) -> list[str]:
    args = [*runner_args(cfg, runner), "--plan", plan, "--mode", mode]
    if patterns is not None:
        args += ["--patterns", patterns]
    if runner in ("local", "spark"):
        args += ["--py-files", toolkit_zip(work)]
    if runner == "local":
        args += ["--num-cores", str(workers)]  # map tasks at once, as --workers in process
    return args


def _run_job(cfg: Config, runner: str, args: list[str]) -> dict[int, dict[str, Any]]:
    """Run the job; return its output lines by task number (a duplicate keeps the first)."""
    rows: dict[int, dict[str, Any]] = {}
    run_job(
        cfg, runner, ParseJob(args), "parse job", lambda row: rows.setdefault(int(row["task"]), row),
        note="nothing of this run was published; ",
    )
    return rows
