"""The map-only mrjob job behind `warehouse parse -r RUNNER`: one map task per parse task.

Each map task runs `warehouse.events.task.run_task`, the code an in-process parse runs, for
one task of the plan `warehouse.events.runner` made (one input, or one byte range of a big
plain file, exactly as `warehouse.events.parse` cuts it). It stages that task's objects under the
input's staging prefix in the warehouse root and emits one JSON line: its counts and the
keys it staged. The driver then judges and publishes each input as an in-process parse
does, so the objects are the same, byte for byte.

This module lives in warehouse/, not jobs/: it needs the parser (formats, resolver, event
builder, staging), which the nodes get from the toolkit the bootstrap installs; jobs/ holds
only jobs that run without the toolkit.

Two modes (the plan travels as `--plan`, the URL-pattern dump as `--patterns`, both mrjob
file uploads):
- `raw` (inline, local, hadoop, emr): the job's inputs are files `tNNNNNN.input`, one per
  task. mrjob's `mapper_raw` hands the task a local copy: of the input itself (a local
  input on inline, hadoop and emr, linked under that name, so no runner decompresses it
  on the way), or of an empty stub when the task reads its input where it is (S3; local
  files on the local runner, whose tasks run on this machine). Parts are always named
  from the input's canonical name in the plan, never from the copy.
- `lines` (spark, whose runner takes no input manifest): the inputs are files
  `tNNNNNN.task` holding the task number; the task reads its input where it is.

A task attempt retried after a failure, or run twice by speculative execution, writes the
same staged names with atomic writes; only the driver publishes, after the job succeeded.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

from mrjob.job import MRJob
from mrjob.protocol import JSONValueProtocol, RawValueProtocol
from mrjob.step import MRStep

from warehouse.config import S3Config
from warehouse.events.inputread import UnreadableInput
from warehouse.events.inputs import InputSource
from warehouse.events.task import Result, Settings, Task, run_task
from warehouse.progress import ProgressEvent

COUNTER_GROUP = "parse"
HEARTBEAT_SECONDS = 60.0
_TASK_FILE = re.compile(r"^t(\d+)\.(?:input|task)$")


def input_name(number: int, mode: str) -> str:
    """Return the name of the job input of task `number` (see the module docstring)."""
    return f"t{number:06d}.{'task' if mode == 'lines' else 'input'}"


def plan_json(settings: Settings, tasks: list[Task], copies: list[bool]) -> bytes:
    """Return the plan the job reads: the settings (without the patterns path) and tasks."""
    conf = dataclasses.asdict(settings)
    conf.pop("patterns")
    rows = []
    for task, copy in zip(tasks, copies, strict=True):
        row = dataclasses.asdict(task)
        row["copy"] = copy
        rows.append(row)
    return json.dumps({"settings": conf, "tasks": rows}, sort_keys=True).encode()


def result_json(number: int, res: Result) -> dict[str, Any]:
    """Return the output line of one task: every field of its Result (sets sorted, the
    failure as message and exit code), so the driver rebuilds it whole."""
    row: dict[str, Any] = {"task": number}
    for f in dataclasses.fields(res):
        value = getattr(res, f.name)
        if isinstance(value, UnreadableInput):
            value = {"message": str(value), "exit_code": value.exit_code}
        elif isinstance(value, Counter):
            value = dict(sorted(value.items()))
        elif isinstance(value, set):
            value = sorted(value)
        row[f.name] = value
    return row


def result_from_json(row: dict[str, Any]) -> Result:
    """Return the Result of one output line of the job."""
    res = Result(row["source"])
    for f in dataclasses.fields(res):
        if f.name not in row:
            continue
        value, default = row[f.name], getattr(res, f.name)
        if f.name == "failure" and value is not None:
            value = UnreadableInput(value["message"], int(value["exit_code"]))
        elif isinstance(default, Counter):
            value = Counter({str(k): int(v) for k, v in value.items()})
        elif isinstance(default, set):
            value = set(value)
        setattr(res, f.name, value)
    return res


class _Heartbeat:
    """Tell Hadoop the task is alive (a status line every minute): a map task writes its
    one output line only at the end, and Hadoop kills tasks silent for 10 minutes. The
    task's progress callback: it counts the lines of the "parse" events."""

    def __init__(self, job: MRJob, label: str) -> None:
        self._job, self._label, self._next = job, label, time.monotonic() + HEARTBEAT_SECONDS
        self.lines = 0

    def __call__(self, event: ProgressEvent) -> None:
        self.lines += event.lines
        now = time.monotonic()
        if now >= self._next:
            self._next = now + HEARTBEAT_SECONDS
            self._job.set_status(f"parse {self._label}: {self.lines} lines")


class ParseJob(MRJob):
    """Map-only: each input line or file is one parse task of the plan."""

    INPUT_PROTOCOL = RawValueProtocol
    OUTPUT_PROTOCOL = JSONValueProtocol

    def configure_args(self) -> None:
        super().configure_args()
        self.add_file_arg("--plan", help="the parse plan (JSON) written by the driver")
        self.add_file_arg("--patterns", help="URL-pattern dump (none: every slug is null)")
        self.add_passthru_arg("--mode", choices=["raw", "lines"], default="raw")

    def steps(self) -> list[MRStep]:
        if self.options.mode == "lines":
            return [MRStep(mapper=self.task_line)]
        return [MRStep(mapper_raw=self.task_file)]

    def _load(self) -> tuple[Settings, list[dict[str, Any]]]:
        if not hasattr(self, "_plan"):
            with open(self.options.plan, "rb") as f:
                plan = json.load(f)
            conf = plan["settings"]
            conf["s3"] = S3Config(**conf["s3"])
            self._plan = (Settings(patterns=self.options.patterns, **conf), plan["tasks"])
        return self._plan

    def _run(self, number: int, copy_path: str | None) -> Iterator[tuple[None, dict[str, Any]]]:
        settings, rows = self._load()
        row = dict(rows[number])
        src = InputSource(**row.pop("source"))
        if row.pop("copy") and copy_path is not None:
            # read the local copy; the canonical name (part names, labels) stays the input's
            full = os.path.abspath(copy_path)
            src = dataclasses.replace(src, root=os.path.dirname(full), key=os.path.basename(full))
        res = run_task(settings, Task(src, **row), _Heartbeat(self, src.label))
        self.increment_counter(COUNTER_GROUP, "lines", res.lines)
        self.increment_counter(COUNTER_GROUP, "events", res.events)
        for reason, n in res.rejects.items():
            self.increment_counter(COUNTER_GROUP, f"rejects: {reason}", n)
        yield None, result_json(number, res)

    def task_file(self, input_path: str, input_uri: str) -> Iterator[tuple[None, dict[str, Any]]]:
        """mapper_raw: the task's number is in the input's name (tNNNNNN.input)."""
        m = _TASK_FILE.match(input_uri.rstrip("/").rsplit("/", 1)[-1])
        if m is None:
            raise ValueError(f"parse job input {input_uri} is not a task file tNNNNNN.input")
        yield from self._run(int(m.group(1)), input_path)

    def task_line(self, _: None, line: str) -> Iterator[tuple[None, dict[str, Any]]]:
        """mapper (spark): each line holds a task number."""
        if line.strip():
            yield from self._run(int(line), None)


if __name__ == "__main__":
    ParseJob.run()
