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
import errno
import logging
import os
import sys
import zipfile
from pathlib import Path
from typing import Any

from warehouse.aggregate.runners import (
    conf_problem,
    conf_sets,
    first_line,
    mrjob_conf_path,
    runner_env,
    spark_submit_args,
)
from warehouse.config import Config
from warehouse.errors import ConfigError, JobFailed, SourceUnavailable
from warehouse.events.inputs import InputSource
from warehouse.events.parsejob import ParseJob, input_name, plan_json, result_from_json
from warehouse.events.state import staging_prefix
from warehouse.events.task import Result, Settings, Task, components
from warehouse.schema import CLUSTER_RUNNERS, RUNNERS
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
    if runner not in RUNNERS:
        raise ConfigError(f"unknown runner {runner!r}; use one of {', '.join(RUNNERS)}")
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
    with scratch_dir("parse-job") as work:
        folder = work / "input"
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
        plan = work / "plan.json"
        plan.write_bytes(plan_json(settings, tasks, copies))
        args = _job_args(cfg, runner, work, str(plan), settings.patterns, mode, workers)
        args += [*spark_submit_args(runner), "--local-tmp-dir", str(work / "mrjob")]
        args += [*extra_args, *inputs]
        log.info("mrjob parse %s", " ".join(args[: len(args) - len(inputs)]))
        rows = _run_job(cfg, runner, args)
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


def _job_args(
    cfg: Config, runner: str, work: Path, plan: str, patterns: str | None, mode: str,
    workers: int,
) -> list[str]:
    conf = mrjob_conf_path(cfg)
    args = ["-r", runner, "--conf-path", conf, "--plan", plan, "--mode", mode]
    if patterns is not None:
        args += ["--patterns", patterns]
    if runner in ("local", "spark"):
        if not conf_sets(conf, runner, "python_bin"):
            args += ["--python-bin", sys.executable]  # this interpreter has the toolkit
        args += ["--py-files", _toolkit_zip(work)]
    if runner == "local":
        args += ["--num-cores", str(workers)]  # map tasks at once, as --workers in process
    return args


def _toolkit_zip(work: Path) -> str:
    """Zip this toolkit's package for --py-files, so local tasks import this very code."""
    pkg = Path(__file__).resolve().parent.parent  # the warehouse package
    path = work / "warehouse-toolkit.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for file in sorted(pkg.rglob("*.py")):
            zf.write(file, arcname=str(file.relative_to(pkg.parent)))
    return str(path)


def _run_job(cfg: Config, runner: str, args: list[str]) -> dict[int, dict[str, Any]]:
    """Run the job; return its output lines by task number (a duplicate keeps the first)."""
    job = ParseJob(args)
    rows: dict[int, dict[str, Any]] = {}
    try:
        with runner_env(cfg, runner), job.make_runner() as mr_runner:
            mr_runner.run()
            for _, row in job.parse_output(mr_runner.cat_output()):
                rows.setdefault(int(row["task"]), row)
    except Exception as exc:  # any runner or task failure: nothing of this run is published
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise SourceUnavailable(
                f"parse job on runner {runner}: no space left for mrjob's scratch files "
                f"({exc.filename or 'the temporary folder'}); free space or set TMPDIR"
            ) from None
        log.debug("parse job failed on runner %s", runner, exc_info=True)
        raise JobFailed(
            f"parse job failed on runner {runner}: {type(exc).__name__}: {first_line(exc)}; "
            "nothing of this run was published; the runner's log above has the cause (-vv for "
            "the traceback)"
        ) from None
    return rows
