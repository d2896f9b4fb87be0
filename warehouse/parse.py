"""`warehouse parse`: access logs -> events (gzipped JSON lines per UTC date) + rejects.

Layout, for an input whose canonical name hashes to H (see `InputSource.part_id`):

- events:  ROOT/events/dt=YYYY-MM-DD/H-NNNN.json.gz (NNNN: the input's byte range)
- rejects: ROOT/rejects/dt=<UTC date of the run>/H-NNNN.json.gz
- state:   ROOT/_state/parse/H.json lists the objects the last run of H wrote.

Plain local files larger than RANGE_BYTES are cut into fixed byte ranges (a line belongs
to the range holding its first byte), so part names depend on the input only, never on
--workers: a re-run overwrites the same objects. Every object is published atomically
on clean close. After all of an input's ranges are published, objects listed in its old
state file but not written this time are deleted: stale partitions (an input that now
touches fewer dates) and the rejects of an earlier run filed under an earlier run date.
A crash before that step leaves the old objects until the next successful run.
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
import logging
import os
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import ExitStack
from dataclasses import dataclass, field
from multiprocessing import get_context
from multiprocessing.context import BaseContext
from typing import IO, Any

import orjson

from warehouse.config import Config, S3Config
from warehouse.errors import EXIT_FAILED, ConfigError
from warehouse.events import Builder, NoPatterns, Resolves, event_builder
from warehouse.inputs import (
    CorruptInput,
    InputSource,
    expand_inputs,
    lines_before,
    open_input,
    read_blocks,
)
from warehouse.logs import MAX_LINE, NO_MATCH, Classifier, compile_format, guess_format
from warehouse.progress import Progress
from warehouse.storage import ObjectStore, open_gzip_write, open_store, read_bytes
from warehouse.storage import write_bytes as store_write_bytes

log = logging.getLogger(__name__)

RANGE_BYTES = 32 << 20  # plain local files are split into ranges of this size
BATCH = 512  # lines between writes to the gzip streams
SAMPLES = 20  # "no match" lines kept per input range to name the format they look like
_DUMPS_OPT = orjson.OPT_APPEND_NEWLINE

__all__ = ["ParseSummary", "expand_inputs", "parse_logs"]


@dataclass(frozen=True)
class _Settings:
    """What a worker process needs (picklable)."""

    fmt: str
    patterns: str | None
    ip: str
    user: str
    root: str
    s3: S3Config
    run_date: str


@dataclass(frozen=True)
class _Task:
    source: InputSource
    index: int
    start: int
    end: int | None  # None: to the end of the input
    lineno: int = 0  # lines of the input before this range's first line


@dataclass
class _Result:
    source: str
    lines: int = 0
    events: int = 0
    unmatched: int = 0
    nbytes: int = 0
    rejects: Counter[str] = field(default_factory=Counter)
    keys: list[str] = field(default_factory=list)
    partitions: set[str] = field(default_factory=set)
    broken: str | None = None  # why the whole input was set aside (corrupt gzip)
    samples: list[str] = field(default_factory=list)  # first "no match" lines


@dataclass
class ParseSummary:
    """What `parse` did: counts, rate, where output went, partitions touched, exit code."""

    output: str
    inputs: int = 0
    lines: int = 0
    events: int = 0
    unmatched: int = 0
    seconds: float = 0.0
    rejects: Counter[str] = field(default_factory=Counter)
    partitions: set[str] = field(default_factory=set)
    patterns: str | None = None
    max_reject_ratio: float = 0.5
    rejects_output: str = ""
    broken: list[str] = field(default_factory=list)
    looks_like: str | None = None  # the preset the "no match" lines match, if any

    @property
    def rejected(self) -> int:
        """Number of rejected lines."""
        return sum(self.rejects.values())

    @property
    def exit_code(self) -> int:
        """5 when an input was set aside or too many lines were rejected, else 0."""
        if self.broken or self._too_many_rejects:
            return EXIT_FAILED
        return 0

    @property
    def _too_many_rejects(self) -> bool:
        return bool(self.lines) and self.rejected / self.lines > self.max_reject_ratio

    def line(self) -> str:
        """Return the one-line summary printed by the CLI."""
        rate = self.lines / self.seconds if self.seconds > 0 else 0.0
        reasons = ", ".join(f"{r}: {n}" for r, n in self.rejects.most_common())
        parts = sorted(self.partitions)
        if not parts:
            where = "no partitions"
        elif len(parts) <= 3:
            where = "partitions " + " ".join(parts)
        else:
            where = f"{len(parts)} partitions {parts[0]}..{parts[-1]}"
        unmatched = f"{self.unmatched} unmatched paths"
        if self.patterns is None:
            unmatched += " (no patterns: every slug is null)"
        text = (
            f"parse: {self.lines} lines from {self.inputs} inputs, {self.events} events, "
            f"{self.rejected} rejects{f' ({reasons}) in {self.rejects_output}' if reasons else ''}, "
            f"{unmatched}, "
            f"{rate:,.0f} lines/s in {self.seconds:.2f}s -> {self.output} ({where})"
        )
        if self.broken:
            text += f"; FAILED: {len(self.broken)} inputs set aside: " + "; ".join(self.broken)
        if self.looks_like is not None:
            text += (
                f"; the '{NO_MATCH}' lines match preset {self.looks_like!r}: "
                f"try --format {self.looks_like}"
            )
        if self._too_many_rejects:
            text += (
                f"; FAILED: {self.rejected / self.lines:.0%} of lines rejected, more than "
                f"[logs] max_reject_ratio {self.max_reject_ratio}: check --format"
            )
        return text


def parse_logs(
    cfg: Config,
    inputs: list[str],
    *,
    patterns: str | None = None,
    fmt: str | None = None,
    workers: int | None = None,
    source_name: str | None = None,
    progress: bool = False,
    stdin: IO[bytes] | None = None,
    range_bytes: int = RANGE_BYTES,
    run_date: dt.date | None = None,
    start_method: str | None = None,
) -> ParseSummary:
    """Parse `inputs` into ROOT/events and ROOT/rejects; return the summary.

    Raises ConfigError (bad format, [logs] ip/user, patterns file, stdin without a name)
    and InputMissing (an input that does not exist) before writing anything.
    `range_bytes`, `run_date` and `start_method` (worker processes: "fork" or "spawn";
    default fork unless other threads run) exist for tests and tools.
    """
    started = time.monotonic()
    fmt_text = fmt or cfg.logs.format
    compiled = compile_format(fmt_text)
    event_builder(compiled, None, ip=cfg.logs.ip, user=cfg.logs.user)  # validate early
    patterns_path = patterns or cfg.logs.patterns
    if patterns_path is not None and not os.path.isfile(patterns_path):
        raise ConfigError(
            f"patterns file {patterns_path} does not exist: run `warehouse urls dump`"
        )
    open_store(cfg.root, cfg.s3).check_root()  # a missing bucket fails before any parsing
    sources = expand_inputs(cfg, inputs, source_name=source_name)
    settings = _Settings(
        fmt_text,
        patterns_path,
        cfg.logs.ip,
        cfg.logs.user,
        cfg.root,
        cfg.s3,
        (run_date or dt.datetime.now(dt.UTC).date()).isoformat(),
    )
    store = open_store(cfg.root, cfg.s3)
    summary = ParseSummary(
        output=store.uri("events"),
        inputs=len(sources),
        patterns=patterns_path,
        max_reject_ratio=cfg.logs.max_reject_ratio,
        rejects_output=store.uri(f"rejects/dt={settings.run_date}"),
    )
    tasks = _plan(sources, range_bytes)
    total = (
        None
        if any(s.gz or s.stdin or s.size is None for s in sources)
        else sum(s.size or 0 for s in sources)
    )
    bar = Progress(total, "parse", enabled=progress)
    nworkers = max(1, workers or cfg.logs.workers)
    by_source: dict[str, list[_Result]] = {s.name: [] for s in sources}
    remaining = Counter(t.source.name for t in tasks)

    def finished(task: _Task, result: _Result) -> None:
        by_source[task.source.name].append(result)
        remaining[task.source.name] -= 1
        if remaining[task.source.name] == 0:
            results = by_source[task.source.name]
            lines = sum(r.lines for r in results)
            rejected = sum(sum(r.rejects.values()) for r in results)
            failed = bool(lines) and rejected / lines > cfg.logs.max_reject_ratio
            failed = failed or any(r.broken for r in results)
            _retire_stale(store, task.source, results, keep_old=failed)

    pool_tasks = [t for t in tasks if not t.source.stdin]
    if nworkers > 1 and len(pool_tasks) > 1:
        # fork shares the compiled format and resolver (compiled here first) and skips
        # interpreter start-up; with other threads alive (a boto3 transfer, a test's
        # server) forking is unsafe, so spawn then.
        method = start_method or ("fork" if threading.active_count() == 1 else "spawn")
        if method == "fork":
            _components(settings)
        ctx: BaseContext = get_context(method)
        pool_tasks.sort(key=_work, reverse=True)  # biggest first: workers finish together
        with ProcessPoolExecutor(max_workers=min(nworkers, len(pool_tasks)), mp_context=ctx) as ex:
            futures = {ex.submit(_run_task, settings, t, None): t for t in pool_tasks}
            for t in [t for t in tasks if t.source.stdin]:
                finished(t, _run_task(settings, t, bar, stdin))
            for fut in as_completed(futures):
                res = fut.result()
                bar.advance(res.nbytes, res.lines)
                finished(futures[fut], res)
    else:
        for t in tasks:
            finished(t, _run_task(settings, t, bar, stdin))
    bar.close()
    for results in by_source.values():
        for r in results:
            summary.lines += r.lines
            summary.events += r.events
            summary.unmatched += r.unmatched
            summary.rejects.update(r.rejects)
            summary.partitions |= r.partitions
            if r.broken:
                summary.broken.append(r.broken)
    samples = [line for results in by_source.values() for r in results for line in r.samples]
    summary.looks_like = guess_format(samples[: SAMPLES * 5], compiled)
    summary.seconds = time.monotonic() - started
    log.info("parse: %s", summary.line())
    return summary


def _plan(sources: list[InputSource], range_bytes: int) -> list[_Task]:
    """Cut inputs into tasks: fixed byte ranges for big plain local files, else whole."""
    tasks = []
    for src in sources:
        local = not src.stdin and not src.root.startswith("s3://")
        if local and not src.gz and src.size and src.size > range_bytes:
            n = -(-src.size // range_bytes)
            starts = [i * range_bytes for i in range(n)]
            offsets = lines_before(os.path.join(src.root, src.key), starts)
            for i, (start, before) in enumerate(zip(starts, offsets, strict=True)):
                end = starts[i + 1] if i + 1 < n else None
                tasks.append(_Task(src, i, start, end, before))
        else:
            tasks.append(_Task(src, 0, 0, None))
    return tasks


def _work(task: _Task) -> int:
    """Estimated bytes of text in a task (gzip: about 4x its size)."""
    size = task.source.size or 0
    if task.end is not None:
        size = task.end - task.start
    elif task.start:
        size -= task.start
    return size * 4 if task.source.gz else size


def _state_key(src: InputSource) -> str:
    return f"_state/parse/{src.part_id}.json"


def _retire_stale(
    store: ObjectStore, src: InputSource, results: list[_Result], *, keep_old: bool
) -> None:
    """Delete what the input's previous run wrote and this run did not; record this run.

    With `keep_old` (this run rejected too many lines: probably a wrong --format) nothing
    is deleted and the state lists old and new objects, so the next good run of the input
    cleans up after both instead of a bad run wiping good events.
    """
    keys = sorted({k for r in results for k in r.keys})
    state_key = _state_key(src)
    old: list[str] = []
    if store.exists(state_key):
        try:
            old = list(orjson.loads(read_bytes(store, state_key)).get("keys", []))
        except (orjson.JSONDecodeError, AttributeError):
            log.warning("ignoring unreadable state %s", store.uri(state_key))
    if keep_old:
        log.warning("%s: too many rejects, keeping the objects of its earlier run", src.name)
        keys = sorted(set(keys) | set(old))
    else:
        for key in sorted(set(old) - set(keys)):
            log.info("removing stale %s (earlier run of %s)", store.uri(key), src.name)
            store.delete(key)
    state = {"source": src.name, "keys": keys}
    store_write_bytes(store, state_key, orjson.dumps(state, option=orjson.OPT_INDENT_2))


@functools.lru_cache(maxsize=4)
def _components(settings: _Settings) -> tuple[Classifier, Builder]:
    """Compile the format's classifier and load the resolver once per process."""
    fmt = compile_format(settings.fmt)
    resolver: Resolves
    if settings.patterns is None:
        resolver = NoPatterns()
    else:
        from warehouse.urls.resolver import Resolver

        resolver = Resolver.from_file(settings.patterns)
    return Classifier(fmt), event_builder(fmt, resolver, ip=settings.ip, user=settings.user)


def _run_task(
    settings: _Settings, task: _Task, bar: Progress | None, stdin: IO[bytes] | None = None
) -> _Result:
    """Parse one input range; publish its event and reject parts; return the counts."""
    enabled = gc.isenabled()
    gc.disable()  # the loop makes no reference cycles; collections only cost time (~5%)
    try:
        return _parse_task(settings, task, bar, stdin)
    except CorruptInput as exc:
        return _set_aside(settings, task, str(exc))
    finally:
        if enabled:
            gc.enable()


def _set_aside(settings: _Settings, task: _Task, why: str) -> _Result:
    """Record a whole input as one reject (its parts were not published); return that.

    A corrupt or truncated gzip cannot be read to its end, so none of its events are
    published (a half-uploaded log must not look complete); the reject says why, and the
    objects of the input's earlier good run are kept.
    """
    store = open_store(settings.root, settings.s3)
    src = task.source
    key = f"rejects/dt={settings.run_date}/{src.part_id}-{task.index:04d}.json.gz"
    rec = {"source": src.name, "lineno": None, "reason": "corrupt input", "line": why}
    with open_gzip_write(store, key) as f:
        f.write(orjson.dumps(rec, option=_DUMPS_OPT))
    log.error("%s", why)
    return _Result(src.name, keys=[key], broken=why)


def _parse_task(
    settings: _Settings, task: _Task, bar: Progress | None, stdin: IO[bytes] | None
) -> _Result:
    classifier, build = _components(settings)
    classify = classifier.classify
    dumps = orjson.dumps
    opt = _DUMPS_OPT
    store = open_store(settings.root, settings.s3)
    src = task.source
    name = f"{src.part_id}-{task.index:04d}.json.gz"
    res = _Result(src.name)
    bufs: dict[str, list[bytes]] = {}
    writers: dict[str, IO[bytes]] = {}
    rejects: list[bytes] = []
    reject_writer: list[IO[bytes]] = []
    unmatched = 0
    with ExitStack() as stack:
        f = open_input(src, settings.s3, task.start, stdin)
        if not src.stdin:
            stack.callback(f.close)
        lineno = first_lineno = task.lineno  # line numbers continue earlier ranges

        def reject(n: int, reason: str, line: str) -> None:
            res.rejects[reason] += 1
            if reason == NO_MATCH and len(res.samples) < SAMPLES:
                res.samples.append(line)
            rec = {"source": src.name, "lineno": n, "reason": reason, "line": line[:MAX_LINE]}
            rejects.append(dumps(rec, option=opt))

        for lines, nbytes in read_blocks(f, task.end, max_line=MAX_LINE):
            for j in range(0, len(lines), BATCH):
                for line in lines[j : j + BATCH]:
                    lineno += 1
                    fields: Any = classify(line)
                    if fields.__class__ is str:
                        reject(lineno, fields, line)
                        continue
                    ev = build(fields)
                    if ev["slug"] is None:
                        unmatched += 1
                    day = ev["ts"][:10]
                    buf = bufs.get(day)
                    if buf is None:
                        buf = bufs[day] = []
                        key = f"events/dt={day}/{name}"
                        writers[day] = stack.enter_context(open_gzip_write(store, key))
                        res.keys.append(key)
                    buf.append(dumps(ev, None, opt))
                # small batches: buffers stay in the CPU cache and memory is reused
                for day, buf in bufs.items():
                    if buf:
                        writers[day].write(b"".join(buf))
                        buf.clear()
            if rejects:
                if not reject_writer:
                    key = f"rejects/dt={settings.run_date}/{name}"
                    reject_writer.append(stack.enter_context(open_gzip_write(store, key)))
                    res.keys.append(key)
                reject_writer[0].write(b"".join(rejects))
                rejects.clear()
            if bar is not None:
                bar.advance(nbytes, len(lines))
            res.nbytes += nbytes
    res.lines = lineno - first_lineno
    res.events = res.lines - sum(res.rejects.values())  # every line is one or the other
    res.unmatched = unmatched
    res.partitions = set(bufs)
    return res
