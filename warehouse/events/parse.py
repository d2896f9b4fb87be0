"""`warehouse parse`: access logs -> events (gzipped JSON lines per UTC date) + rejects.

Layout, for an input whose canonical name hashes to H (see `InputSource.part_id`):

- events:  ROOT/events/dt=YYYY-MM-DD/H-NNNN.json.gz (NNNN: the input's byte range)
- rejects: ROOT/rejects/dt=<UTC date of the run>/H-NNNN.json.gz (H-NNNN-failed.json.gz for
  a run judged bad)
- state:   ROOT/_state/parse/H.json lists the objects the runs of H may have left.

Plain local files larger than RANGE_BYTES are cut into fixed byte ranges (a line belongs
to the range holding its first byte), so part names depend on the input only, never on
--workers: a re-run overwrites the same objects. Each input's objects are staged, the
input is judged (`warehouse.events.judge`) when all its ranges are done, and only a good
input is published over its earlier run (see `warehouse.events.state` for the crash-safe
order). Tasks run in `warehouse.events.task`; the summary is
`warehouse.events.summary.ParseSummary`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from multiprocessing.context import BaseContext
from typing import IO

from warehouse.config import Config
from warehouse.errors import ConfigError, ItemLocked, JobFailed
from warehouse.events.build import event_builder
from warehouse.events.inputread import lines_before
from warehouse.events.inputs import InputSource, expand_inputs
from warehouse.events.judge import judge
from warehouse.events.state import Earlier, finish, prepare_inputs, staging_prefix, warn_renamed
from warehouse.events.summary import InputFailure, ParseSummary
from warehouse.events.task import SAMPLES, Result, Settings, Task, components, first_line, run_task
from warehouse.lock import PUBLISH_WAIT, WaitBudget, events_lock, item_lock
from warehouse.logs import PRESETS, compile_format, guess_format
from warehouse.procs import interrupt_workers, worker_call, worker_init
from warehouse.progress import Progress, ProgressEvent
from warehouse.storage import ObjectStore, is_remote, open_store

log = logging.getLogger(__name__)

RANGE_BYTES = 32 << 20  # plain local files are split into ranges of this size

__all__ = ["ParseRequest", "ParseSummary", "Seams", "expand_inputs", "parse_logs"]


@dataclasses.dataclass(frozen=True)
class ParseRequest:
    """What a parse is asked for: `warehouse parse`'s arguments, or run's parse stage (one
    input and the renames it found). None: the config's [logs] value.

    `replace` (--replace) accepts an input that now reads fewer lines than its last good
    run; `renamed` maps an input's canonical name to the earlier input it is, renamed: it
    is parsed in that input's place (`InputSource.alias`)."""

    inputs: Sequence[str]
    patterns: str | None = None
    fmt: str | None = None
    workers: int | None = None
    source_name: str | None = None
    runner: str | None = None
    replace: bool = False
    renamed: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.inputs, str):
            raise TypeError("ParseRequest.inputs is a sequence of inputs, not one string")
        object.__setattr__(self, "inputs", tuple(self.inputs))


@dataclasses.dataclass(frozen=True)
class Seams:
    """How a parse runs where tests and tools (bench/) choose; the defaults are production's.

    `stdin`: the stream input `-` reads (default sys.stdin's); `range_bytes`: the size of
    a plain local file's ranges; `run_date`: the date of the rejects (default today, UTC);
    `start_method` of worker processes ("fork" or "spawn"; default fork unless other
    threads run); `store`: the root's store, used to stage-check, publish and record state
    (workers open their own); `runner_args`: extra mrjob arguments for `-r RUNNER`."""

    stdin: IO[bytes] | None = None
    range_bytes: int = RANGE_BYTES
    run_date: dt.date | None = None
    start_method: str | None = None
    store: ObjectStore | None = None
    runner_args: tuple[str, ...] = ()


def parse_logs(
    cfg: Config,
    request: ParseRequest,
    *,
    progress: Progress | None = None,
    seams: Seams | None = None,
) -> ParseSummary:
    """Parse the `request`'s inputs into ROOT/events and ROOT/rejects; return the summary.

    Raises ConfigError (bad format, [logs] ip/user, patterns file, stdin without a name)
    and InputMissing (an input that does not exist) before writing anything, and
    SourceUnavailable when the output cannot be written (a full disk, S3 down; that
    input's staged objects are removed). An input that cannot be read, or is judged bad,
    is reported in the summary and the others are still parsed. A re-run of an input
    that reads fewer lines than its last good run is judged bad (its earlier objects kept)
    unless `request.replace` accepts the new content.
    `progress` receives ProgressEvents labelled "parse": bytes and lines read, per block
    (from worker processes and `-r RUNNER` tasks: per task, as each one finishes).
    """
    started = time.monotonic()
    seams = seams or Seams()
    fmt_text = cfg.logs.format_text(request.fmt)
    compiled = compile_format(fmt_text)
    event_builder(compiled, None, ip=cfg.logs.ip, user=cfg.logs.user)  # validate early
    patterns_path = _patterns(cfg, request)
    store = seams.store or open_store(cfg.root, cfg.s3)
    store.check_root()  # a missing bucket fails before any parsing
    sources = _sources(cfg, request)
    runner = request.runner or cfg.logs.runner
    if runner:
        from warehouse.events.runner import check_runner

        check_runner(cfg, runner, stdin=any(s.stdin for s in sources))
    settings = Settings(
        fmt_text, patterns_path, cfg.logs.ip, cfg.logs.user, cfg.root, cfg.s3,
        (seams.run_date or dt.datetime.now(dt.UTC).date()).isoformat(),
    )
    summary = ParseSummary(
        output=store.uri("events"),
        inputs=len(sources),
        patterns=patterns_path,
        max_reject_ratio=cfg.logs.max_reject_ratio,
        rejects_output=store.uri(f"rejects/dt={settings.run_date}"),
        format=_format_label(fmt_text),
        runner=runner,
    )
    run = _Parse(cfg, store, settings, summary, request, seams, progress)
    with contextlib.ExitStack() as locks:
        # held until every input is published: no other parse prepares or publishes them
        run.run(_lock_inputs(cfg, store, sources, locks, summary), runner)
    samples = [line for results in run.by_source.values() for r in results for line in r.samples]
    summary.looks_like = guess_format(samples[: SAMPLES * 5], compiled)
    summary.seconds = time.monotonic() - started
    log.info("parse: %s", summary.line())
    return summary


@dataclasses.dataclass
class _Parse:
    """The inputs of one `parse_logs` in flight: runs their tasks and concludes each input
    when its last task is done (judged, then published or held, and added to the summary)."""

    cfg: Config
    store: ObjectStore
    settings: Settings
    summary: ParseSummary
    request: ParseRequest
    seams: Seams
    progress: Progress | None
    earlier: dict[str, Earlier] = dataclasses.field(default_factory=dict)
    by_source: dict[str, list[Result]] = dataclasses.field(default_factory=dict)
    remaining: Counter[str] = dataclasses.field(default_factory=Counter)
    # for aggregates reading: the inputs wait PUBLISH_WAIT in all, not each
    waits: WaitBudget = dataclasses.field(default_factory=lambda: WaitBudget(PUBLISH_WAIT))

    def run(self, sources: list[InputSource], runner: str | None) -> None:
        """Prepare the (locked) `sources`, run their tasks, and conclude each input; on a
        failed output (full disk, S3 down) drop what the unfinished inputs staged."""
        self.earlier = prepare_inputs(self.store, sources, self.summary.failures)
        sources = [s for s in sources if s.name in self.earlier]
        for src in sources:  # a log parsed before, renamed: parse reads it anew; say so
            if not self.earlier[src.name].keys:
                warn_renamed(self.store, src, functools.partial(first_line, src, self.cfg.s3))
        tasks = _plan(sources, self.seams.range_bytes)
        unsized = any(s.gz or s.size is None for s in sources)
        if self.progress is not None:
            total = None if unsized else sum(s.size or 0 for s in sources)
            self.progress(ProgressEvent("parse", "bytes", total=total))
        self.by_source = {s.name: [] for s in sources}
        self.remaining = Counter(t.source.name for t in tasks)
        try:
            self._dispatch(sources, tasks, runner)
        except BaseException:
            for src in sources:
                if self.remaining[src.name] > 0:
                    _drop_staging(self.store, src)
            raise
        finally:
            if self.progress is not None:
                self.progress(ProgressEvent("parse", "bytes", final=True))

    def _dispatch(self, sources: list[InputSource], tasks: list[Task], runner: str | None) -> None:
        """Run `tasks` on the mrjob `runner`, in worker processes, or here."""
        nworkers = max(1, self.request.workers or self.cfg.logs.workers)
        pool_tasks = [t for t in tasks if not t.source.stdin]
        if runner and tasks:
            from warehouse.events.runner import clear_staging, run_tasks

            for t, res in run_tasks(
                self.cfg, self.settings, tasks, runner, workers=nworkers,
                extra_args=self.seams.runner_args,
            ):
                self._advance(res)
                self._finished(t, res)
            clear_staging(self.store, sources)  # what failed or duplicate task attempts left
        elif nworkers > 1 and len(pool_tasks) > 1:
            self._run_pool(tasks, pool_tasks, nworkers)
        else:
            for t in tasks:
                self._finished(t, run_task(self.settings, t, self.progress, self.seams.stdin))

    def _run_pool(self, tasks: list[Task], pool_tasks: list[Task], nworkers: int) -> None:
        """Run `pool_tasks` in worker processes (stdin's task here meanwhile).

        Workers report nothing while they run (a callback does not cross processes): each
        task's bytes and lines reach `progress` here, from its Result, as it finishes."""
        # fork shares the compiled format and resolver (compiled here first) and skips
        # interpreter start-up; with other threads alive (a boto3 transfer, a test's
        # server) forking is unsafe, so spawn then.
        method = self.seams.start_method or (
            "fork" if threading.active_count() == 1 else "spawn"
        )
        if method == "fork":
            components(self.settings)
        ctx: BaseContext = get_context(method)
        pool_tasks.sort(key=_work, reverse=True)  # biggest first: workers finish together
        ex = ProcessPoolExecutor(  # workers die with this process and drop its lock descriptors
            max_workers=min(nworkers, len(pool_tasks)), mp_context=ctx,
            initializer=worker_init, initargs=(os.getpid(),),
        )
        try:
            futures: dict[Future[Result], Task] = {
                ex.submit(worker_call, run_task, self.settings, t, None): t for t in pool_tasks
            }
            for t in [t for t in tasks if t.source.stdin]:
                self._finished(t, run_task(self.settings, t, self.progress, self.seams.stdin))
            for fut in as_completed(futures):
                try:
                    res = fut.result()
                except BrokenProcessPool:  # a worker killed (the OOM killer, kill -9)
                    raise JobFailed(
                        "a parse worker process died (killed: out of memory?); the inputs not "
                        "finished were not published (their earlier runs kept): re-run, with "
                        "fewer --workers if memory is short"
                    ) from None
                self._advance(res)
                self._finished(futures[fut], res)
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):  # a signal to this process alone: pass it on
                interrupt_workers(ex)
            ex.shutdown(wait=True, cancel_futures=True)  # no worker writes after the clean-up
            raise
        ex.shutdown(wait=True)

    def _advance(self, res: Result) -> None:
        """Report a task that ran elsewhere (a worker process, a map task) as it finishes."""
        if self.progress is not None:
            self.progress(ProgressEvent("parse", "bytes", res.nbytes, res.lines))

    def _finished(self, task: Task, result: Result) -> None:
        """Keep `result`; conclude its input when it was the input's last task."""
        src = task.source
        self.by_source[src.name].append(result)
        self.remaining[src.name] -= 1
        if self.remaining[src.name] == 0:
            self._conclude(src)

    def _conclude(self, src: InputSource) -> None:
        """Judge one finished input, publish what the judgement says, add it to the summary.

        It publishes under the events lock (the run lock file's; exclusive: no aggregate on
        this machine reads meanwhile); when the parse has waited out its budget
        (PUBLISH_WAIT in all), the input fails with exit 6, unpublished."""
        results, earlier, summary = self.by_source[src.name], self.earlier[src.name], self.summary
        j = judge(
            src.label, results, earlier, replace=self.request.replace,
            max_reject_ratio=summary.max_reject_ratio,
        )
        staged = [k for r in results for k in r.keys]
        # an aggregate on this machine sees the input's parts before or after, never half
        try:
            with events_lock(
                self.cfg.cron.lock_file, self.store.uri(""), publish=True,
                what=f"input {src.label}", budget=self.waits,
            ):
                outcome = finish(self.store, src, staged, earlier, j)
        except ItemLocked as exc:  # not published: the earlier run's objects are kept
            _drop_staging(self.store, src)
            log.warning("%s", exc)
            summary.failures.append(InputFailure(
                f"{exc} (none of it published)", exc.exit_code, set_aside=False
            ))
            return
        summary.lines += j.lines
        summary.events += j.events
        summary.unmatched += j.unmatched
        summary.rejects.update(j.rejects)
        summary.partitions |= j.partitions
        summary.held += j.held
        summary.held_partitions |= j.held_partitions
        failure = j.failure(outcome.kept)
        if failure is not None:
            log.warning("%s", failure.message)
            summary.failures.append(failure)


def _patterns(cfg: Config, request: ParseRequest) -> str | None:
    """Return the patterns file the parse resolves paths with; raises ConfigError when it
    does not exist."""
    path = request.patterns or cfg.logs.patterns
    if path is not None and not os.path.isfile(path):
        raise ConfigError(f"patterns file {path} does not exist: run `warehouse urls dump`")
    return path


def _sources(cfg: Config, request: ParseRequest) -> list[InputSource]:
    """Return the inputs the request names, each renamed one in its earlier name's place."""
    renamed = request.renamed
    return [
        dataclasses.replace(s, alias=renamed[s.name]) if s.name in renamed else s
        for s in expand_inputs(cfg, list(request.inputs), source_name=request.source_name)
    ]


def _lock_inputs(
    cfg: Config, store: ObjectStore, sources: list[InputSource],
    locks: contextlib.ExitStack, summary: ParseSummary,
) -> list[InputSource]:
    """Take each input's lock (held by `locks`); return the inputs locked, and count the
    others, which another process is parsing, as failures of exit 6 (left untouched)."""
    mine = []
    for src in sources:
        try:
            locks.enter_context(item_lock(
                cfg.cron.lock_file, store.uri(""), "parse", src.part_id, f"input {src.label}"
            ))
        except ItemLocked as exc:
            log.warning("%s", exc)
            summary.failures.append(InputFailure(str(exc), exc.exit_code, set_aside=False))
            continue
        mine.append(src)
    return mine


def _drop_staging(store: ObjectStore, src: InputSource) -> None:
    """Remove an unfinished input's staged objects, best effort (the next run would)."""
    with contextlib.suppress(Exception):
        for obj in list(store.list(staging_prefix(src), include_hidden=True)):
            store.delete(obj.key)


def _format_label(fmt_text: str) -> str:
    """Return how the summary names the format: the preset, or the string (cut)."""
    if fmt_text in PRESETS:
        return fmt_text
    if fmt_text.startswith("json {"):
        return "json ([logs.json])"
    text = fmt_text if len(fmt_text) <= 60 else fmt_text[:57] + "..."
    return repr(text)


def _plan(sources: list[InputSource], range_bytes: int) -> list[Task]:
    """Cut inputs into tasks: fixed byte ranges for big plain local files, else whole."""
    tasks = []
    for src in sources:
        local = not src.stdin and not is_remote(src.root)
        if local and not src.gz and src.size and src.size > range_bytes:
            n = -(-src.size // range_bytes)
            starts = [i * range_bytes for i in range(n)]
            offsets = lines_before(os.path.join(src.root, src.key), starts)
            for i, (start, before) in enumerate(zip(starts, offsets, strict=True)):
                end = starts[i + 1] if i + 1 < n else None
                tasks.append(Task(src, i, start, end, before))
        else:
            tasks.append(Task(src, 0, 0, None))
    return tasks


def _work(task: Task) -> int:
    """Estimated bytes of text in a task (gzip: about 4x its size)."""
    size = task.source.size or 0
    if task.end is not None:
        size = task.end - task.start
    elif task.start:
        size -= task.start
    return size * 4 if task.source.gz else size


