"""`warehouse parse`: access logs -> events (gzipped JSON lines per UTC date) + rejects.

Layout, for an input whose canonical name hashes to H (see `InputSource.part_id`):

- events:  ROOT/events/dt=YYYY-MM-DD/H-NNNN.json.gz (NNNN: the input's byte range)
- rejects: ROOT/rejects/dt=<UTC date of the run>/H-NNNN.json.gz (H-NNNN-failed.json.gz for
  a run judged bad)
- state:   ROOT/_state/parse/H.json lists the objects the runs of H may have left.

Plain local files larger than RANGE_BYTES are cut into fixed byte ranges (a line belongs
to the range holding its first byte), so part names depend on the input only, never on
--workers: a re-run overwrites the same objects. Each input's objects are staged, the
input is judged when all its ranges are done, and only a good input is published over
its earlier run (see `warehouse.events.state` for the crash-safe order). Tasks run in
`warehouse.events.task`; the summary is `warehouse.events.summary.ParseSummary`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from multiprocessing.context import BaseContext
from typing import IO

from warehouse.config import Config
from warehouse.errors import EXIT_FAILED, ConfigError, ItemLocked, JobFailed
from warehouse.events.build import event_builder
from warehouse.events.inputread import lines_before
from warehouse.events.inputs import InputSource, expand_inputs
from warehouse.events.state import Earlier, finish, prepare_inputs, staging_prefix
from warehouse.events.summary import InputFailure, ParseSummary
from warehouse.events.task import SAMPLES, Result, Settings, Task, components, run_task
from warehouse.lock import PUBLISH_WAIT, WaitBudget, events_lock, item_lock
from warehouse.logs import PRESETS, compile_format, guess_format
from warehouse.procs import worker_init
from warehouse.progress import Progress, ProgressEvent
from warehouse.storage import ObjectStore, is_remote, open_store

log = logging.getLogger(__name__)

RANGE_BYTES = 32 << 20  # plain local files are split into ranges of this size

__all__ = ["ParseSummary", "expand_inputs", "parse_logs"]


def parse_logs(
    cfg: Config,
    inputs: list[str],
    *,
    patterns: str | None = None,
    fmt: str | None = None,
    workers: int | None = None,
    source_name: str | None = None,
    progress: Progress | None = None,
    stdin: IO[bytes] | None = None,
    range_bytes: int = RANGE_BYTES,
    run_date: dt.date | None = None,
    start_method: str | None = None,
    store: ObjectStore | None = None,
    runner: str | None = None,
    runner_args: tuple[str, ...] = (),
    replace: bool = False,
    renamed: dict[str, str] | None = None,
) -> ParseSummary:
    """Parse `inputs` into ROOT/events and ROOT/rejects; return the summary.

    Raises ConfigError (bad format, [logs] ip/user, patterns file, stdin without a name)
    and InputMissing (an input that does not exist) before writing anything, and
    SourceUnavailable when the output cannot be written (a full disk, S3 down; that
    input's staged objects are removed). An input that cannot be read, or is judged bad,
    is reported in the summary and the others are still parsed. A re-run of an input
    that reads fewer lines than its last good run is judged bad (its earlier objects kept)
    unless `replace` (the CLI's --replace) accepts the new content. `renamed` maps an
    input's canonical name to the earlier input it is, renamed: it is parsed in that
    input's place (`InputSource.alias`).
    `progress` receives ProgressEvents labelled "parse": bytes and lines read, per block
    (from worker processes and `-r RUNNER` tasks: per task, as each one finishes).
    `range_bytes`, `run_date` and `start_method` (worker processes: "fork" or "spawn";
    default fork unless other threads run) exist for tests and tools; `store` (the root's
    store, used to stage-check, publish and record state; workers open their own) too.
    """
    started = time.monotonic()
    fmt_text = cfg.logs.format_text(fmt)
    compiled = compile_format(fmt_text)
    event_builder(compiled, None, ip=cfg.logs.ip, user=cfg.logs.user)  # validate early
    patterns_path = patterns or cfg.logs.patterns
    if patterns_path is not None and not os.path.isfile(patterns_path):
        raise ConfigError(
            f"patterns file {patterns_path} does not exist: run `warehouse urls dump`"
        )
    store = store or open_store(cfg.root, cfg.s3)
    store.check_root()  # a missing bucket fails before any parsing
    aliases = renamed or {}
    sources = [
        dataclasses.replace(s, alias=aliases[s.name]) if s.name in aliases else s
        for s in expand_inputs(cfg, inputs, source_name=source_name)
    ]
    runner = runner or cfg.logs.runner
    if runner:
        from warehouse.events.runner import check_runner, clear_staging, run_tasks

        check_runner(cfg, runner, stdin=any(s.stdin for s in sources))
    settings = Settings(
        fmt_text,
        patterns_path,
        cfg.logs.ip,
        cfg.logs.user,
        cfg.root,
        cfg.s3,
        (run_date or dt.datetime.now(dt.UTC).date()).isoformat(),
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
    with contextlib.ExitStack() as locks:
        # held until every input is published: no other parse prepares or publishes them
        sources = _lock_inputs(cfg, store, sources, locks, summary)
        earlier = prepare_inputs(store, sources, summary.failures)
        sources = [s for s in sources if s.name in earlier]
        tasks = _plan(sources, range_bytes)
        unsized = any(s.gz or s.size is None for s in sources)
        total = None if unsized else sum(s.size or 0 for s in sources)
        if progress is not None:
            progress(ProgressEvent("parse", "bytes", total=total))
        nworkers = max(1, workers or cfg.logs.workers)
        by_source: dict[str, list[Result]] = {s.name: [] for s in sources}
        remaining = Counter(t.source.name for t in tasks)
        waits = WaitBudget(PUBLISH_WAIT)  # for aggregates reading: in all, not per input

        def finished(task: Task, result: Result) -> None:
            src = task.source
            by_source[src.name].append(result)
            remaining[src.name] -= 1
            if remaining[src.name] == 0:
                _conclude(
                    store, src, by_source[src.name], earlier[src.name], summary, replace,
                    (cfg.cron.lock_file, waits),
                )

        try:
            pool_tasks = [t for t in tasks if not t.source.stdin]
            if runner and tasks:
                for t, res in run_tasks(
                    cfg, settings, tasks, runner, workers=nworkers, extra_args=runner_args
                ):
                    _advance(progress, res)
                    finished(t, res)
                clear_staging(store, sources)  # what failed or duplicate task attempts left
            elif nworkers > 1 and len(pool_tasks) > 1:
                _run_pool(
                    settings, tasks, pool_tasks, nworkers, start_method, progress, stdin, finished
                )
            else:
                for t in tasks:
                    finished(t, run_task(settings, t, progress, stdin))
        except BaseException:
            # a failed output (full disk, S3 down): drop what unfinished inputs staged
            for src in sources:
                if remaining[src.name] > 0:
                    _drop_staging(store, src)
            raise
        finally:
            if progress is not None:
                progress(ProgressEvent("parse", "bytes", final=True))
    samples = [line for results in by_source.values() for r in results for line in r.samples]
    summary.looks_like = guess_format(samples[: SAMPLES * 5], compiled)
    summary.seconds = time.monotonic() - started
    log.info("parse: %s", summary.line())
    return summary


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


def _run_pool(
    settings: Settings,
    tasks: list[Task],
    pool_tasks: list[Task],
    nworkers: int,
    start_method: str | None,
    progress: Progress | None,
    stdin: IO[bytes] | None,
    finished: Callable[[Task, Result], None],
) -> None:
    """Run `pool_tasks` in worker processes (stdin's task here meanwhile).

    Workers report nothing while they run (a callback does not cross processes): each
    task's bytes and lines reach `progress` here, from its Result, as it finishes."""
    # fork shares the compiled format and resolver (compiled here first) and skips
    # interpreter start-up; with other threads alive (a boto3 transfer, a test's
    # server) forking is unsafe, so spawn then.
    method = start_method or ("fork" if threading.active_count() == 1 else "spawn")
    if method == "fork":
        components(settings)
    ctx: BaseContext = get_context(method)
    pool_tasks.sort(key=_work, reverse=True)  # biggest first: workers finish together
    ex = ProcessPoolExecutor(  # workers die with this process and drop its lock descriptors
        max_workers=min(nworkers, len(pool_tasks)), mp_context=ctx,
        initializer=worker_init, initargs=(os.getpid(),),
    )
    try:
        futures: dict[Future[Result], Task] = {
            ex.submit(run_task, settings, t, None): t for t in pool_tasks
        }
        for t in [t for t in tasks if t.source.stdin]:
            finished(t, run_task(settings, t, progress, stdin))
        for fut in as_completed(futures):
            try:
                res = fut.result()
            except BrokenProcessPool:  # a worker killed (the OOM killer, kill -9)
                raise JobFailed(
                    "a parse worker process died (killed: out of memory?); the inputs not "
                    "finished were not published (their earlier runs kept): re-run, with "
                    "fewer --workers if memory is short"
                ) from None
            _advance(progress, res)
            finished(futures[fut], res)
    except BaseException:
        ex.shutdown(wait=True, cancel_futures=True)  # no worker writes after the clean-up
        raise
    ex.shutdown(wait=True)


def _advance(progress: Progress | None, res: Result) -> None:
    """Report a task that ran elsewhere (a worker process, a map task) as it finishes."""
    if progress is not None:
        progress(ProgressEvent("parse", "bytes", res.nbytes, res.lines))


def _conclude(
    store: ObjectStore, src: InputSource, results: list[Result], earlier: Earlier,
    summary: ParseSummary, replace: bool, lock: tuple[str, WaitBudget],
) -> None:
    """Judge one finished input, publish it (or keep its earlier run), add it to `summary`.

    A re-run that reads fewer lines, or gives fewer events, than the input's last good run
    (a truncated, rotated or damaged log), or that begins with another first line (a log
    rotated or replaced by a longer one), is bad unless `replace`; growth (a log still
    being written) is not. It publishes under the events lock of `lock` (the run lock
    file; exclusive: no aggregate on this machine reads meanwhile); when the parse has
    waited out its budget (PUBLISH_WAIT in all), the input fails with exit 6, unpublished."""
    old = earlier.keys
    lines = sum(r.lines for r in results)
    rejected = sum(sum(r.rejects.values()) for r in results)
    events = sum(r.events for r in results)
    records = lines - sum(r.headers for r in results)  # W3C header lines are no records
    head = next((r.head for r in results if r.head is not None), None)
    unreadable = next((r.failure for r in results if r.failure is not None), None)
    ratio = summary.max_reject_ratio
    verdict: InputFailure | None = None
    if unreadable is not None:
        verdict = InputFailure(str(unreadable), unreadable.exit_code, set_aside=True)
    elif records and rejected / records > ratio:
        verdict = InputFailure(
            f"input {src.label}: {rejected / records:.0%} of its {records} lines rejected, more "
            f"than [logs] max_reject_ratio {ratio}: check --format or the file",
            EXIT_FAILED, set_aside=False,
        )
    elif not replace and not lines and any(k.startswith("events/") for k in old):
        verdict = InputFailure(
            f"input {src.label} is empty, but its earlier run published events: "
            "check the file (a log truncated by rotation?), or run `warehouse parse --replace` "
            "to accept it",
            EXIT_FAILED, set_aside=False,
        )
    elif not replace and (
        (earlier.lines is not None and lines < earlier.lines)
        or (earlier.events is not None and events < earlier.events)
    ):
        verdict = InputFailure(
            f"input {src.label} has {lines} lines ({events} events) where its last good run "
            f"read {earlier.lines} lines ({earlier.events} events): check the file (truncated "
            "or replaced?), or run `warehouse parse --replace` to accept its new content",
            EXIT_FAILED, set_aside=False,
        )
    elif not replace and earlier.head is not None and head is not None and head != earlier.head:
        verdict = InputFailure(
            f"input {src.label} no longer begins with the first line its last good run read "
            f"({earlier.lines} lines): it was rotated or replaced under the same name, and "
            "publishing it would delete that run's events; parse rotated files under their "
            "own names, or run `warehouse parse --replace` to accept its new content",
            EXIT_FAILED, set_aside=False,
        )
    # a bad run never replaces an earlier run's events; with none to keep (a first run over
    # max_reject_ratio) its events are published as before, under the same exit code
    publish = verdict is None or (
        not verdict.set_aside and not any(k.startswith("events/") for k in old)
    )
    staged = [k for r in results for k in r.keys]
    # an aggregate on this machine sees the input's parts before or after, never half
    try:
        with events_lock(
            lock[0], store.uri(""), publish=True, what=f"input {src.label}", budget=lock[1]
        ):
            outcome = finish(
                store, src, staged, earlier, good=verdict is None, events=publish,
                counts=(lines, events), head=head,
            )
    except ItemLocked as exc:  # not published: the earlier run's objects are kept
        _drop_staging(store, src)
        log.warning("%s", exc)
        summary.failures.append(InputFailure(
            f"{exc} (none of it published)", exc.exit_code, set_aside=False
        ))
        return
    summary.lines += lines
    summary.events += events
    summary.unmatched += sum(r.unmatched for r in results)
    for r in results:
        summary.rejects.update(r.rejects)
    if publish:
        for r in results:
            summary.partitions |= r.partitions
    if verdict is None:  # dates whose earlier events are gone: their aggregates change too
        summary.partitions |= {_event_date(k) for k in old if k.startswith("events/dt=")}
        return
    message = verdict.message
    if publish:
        message += " (its events published: it has no earlier events to keep)"
    else:
        summary.held += events
        summary.held_partitions |= {_event_date(k) for k in old if k.startswith("events/dt=")}
        message += (
            f" (none of its events published; the {outcome.kept} objects of its earlier run "
            "kept)"
            if outcome.kept
            else " (none of its events published)"
        )
    log.warning("%s", message)
    summary.failures.append(InputFailure(message, verdict.exit_code, verdict.set_aside))


def _event_date(key: str) -> str:
    """Return the date of an events key, `events/dt=YYYY-MM-DD/...`."""
    return key[len("events/dt=") :].split("/", 1)[0]


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


