"""One `parse` task: an input's byte range (or whole input) -> staged event and reject parts.

A task runs in the calling process or in a worker process; it writes only under the
input's staging prefix (see `warehouse.events.state`) and returns counts and the staged keys.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import logging
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field
from types import TracebackType
from typing import IO, Any

import orjson

from warehouse.config import S3Config
from warehouse.errors import EXIT_FAILED, WarehouseError
from warehouse.events.build import Builder, NoPatterns, Resolves, event_builder
from warehouse.events.inputread import UnreadableInput, open_input, read_blocks
from warehouse.events.inputs import InputSource
from warehouse.events.state import staging_prefix
from warehouse.logs import HEADER, MAX_LINE, NO_MATCH, Classifier, compile_format
from warehouse.progress import Progress, ProgressEvent
from warehouse.storage import ObjectStore, open_gzip_write, open_store

BATCH = 512  # lines between writes to the gzip streams
SAMPLES = 20  # "no match" lines kept per input range to name the format they look like
MAX_OPEN_PARTS = 64  # gzip part writers open at once per task (a log spanning many dates)
_DUMPS_OPT = orjson.OPT_APPEND_NEWLINE

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    """What a worker process needs (picklable)."""

    fmt: str
    patterns: str | None
    ip: str
    user: str
    root: str
    s3: S3Config
    run_date: str


@dataclass(frozen=True)
class Task:
    """One input range: [start, end) bytes of `source` (end None: to its end)."""

    source: InputSource
    index: int
    start: int
    end: int | None
    lineno: int = 0  # lines of the input before this range's first line


@dataclass
class Result:
    """Counts and staged keys of one task; `failure` set when the input was set aside."""

    source: str
    lines: int = 0
    events: int = 0
    unmatched: int = 0
    nbytes: int = 0
    rejects: Counter[str] = field(default_factory=Counter)
    keys: list[str] = field(default_factory=list)
    partitions: set[str] = field(default_factory=set)
    failure: UnreadableInput | None = None
    headers: int = 0  # W3C header lines (`#Fields:`): neither events nor rejects
    samples: list[str] = field(default_factory=list)  # first "no match" lines
    head: str | None = None  # fingerprint of the input's first line (see first_line_id)


def first_line_id(line: str) -> str:
    """Return the fingerprint the state keeps of an input's first line: a log that grew
    still begins with it, a log rotated or replaced under the same name does not."""
    return hashlib.sha1(line.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def input_head(src: InputSource, s3: S3Config) -> str | None:
    """Return the fingerprint of `src`'s first line as a parse reads it (None: the input
    has no complete first line); raises UnreadableInput."""
    f = open_input(src, s3)
    got: list[str] = []
    try:
        for lines, _ in read_blocks(f, max_line=MAX_LINE):
            got.extend(lines[:2])
            if len(got) > 1:
                break
    finally:
        f.close()
    return first_line_id(got[0]) if len(got) > 1 else None


def first_line(src: InputSource, s3: S3Config) -> str | None:
    """Return `input_head` of `src`, None when it cannot be read (its parse says why)."""
    try:
        return input_head(src, s3)
    except WarehouseError:
        return None


@functools.lru_cache(maxsize=4)
def components(settings: Settings) -> tuple[Classifier, Builder]:
    """Compile the format's classifier and load the resolver once per process."""
    fmt = compile_format(settings.fmt)
    resolver: Resolves
    if settings.patterns is None:
        resolver = NoPatterns()
    else:
        from warehouse.events.patterns import load_resolver

        resolver = load_resolver(settings.patterns)
    return Classifier(fmt), event_builder(fmt, resolver, ip=settings.ip, user=settings.user)


def run_task(
    settings: Settings, task: Task, progress: Progress | None, stdin: IO[bytes] | None = None
) -> Result:
    """Parse one input range into staged parts; return the counts.

    `progress` receives a "parse" event per block read (about 1 MiB: bytes and lines).

    An input that cannot be read to its end (UnreadableInput: corrupt, truncated, I/O
    error, permission) stages one reject record saying why instead; errors writing the
    output (SourceUnavailable: a full disk, S3 down) are raised."""
    enabled = gc.isenabled()
    gc.disable()  # the loop makes no reference cycles; collections only cost time (~5%)
    try:
        return _parse_task(settings, task, progress, stdin)
    except UnreadableInput as exc:
        return _set_aside(settings, task, exc)
    finally:
        if enabled:
            gc.enable()


def _set_aside(settings: Settings, task: Task, exc: UnreadableInput) -> Result:
    """Stage one reject record for an input that could not be read; return that.

    None of the input's events are published (a half-read log must not look complete);
    the objects of the input's earlier run are kept."""
    store = open_store(settings.root, settings.s3)
    src = task.source
    key = (
        f"{staging_prefix(src)}rejects/dt={settings.run_date}/"
        f"{src.part_id}-{task.index:04d}.json.gz"
    )
    reason = "corrupt input" if exc.exit_code == EXIT_FAILED else "unreadable input"
    rec = {"source": src.label, "lineno": None, "reason": reason, "line": str(exc)}
    with open_gzip_write(store, key) as f:
        f.write(orjson.dumps(rec, option=_DUMPS_OPT))
    return Result(src.label, keys=[key], failure=exc)


class _Parts:
    """The gzip event parts of one task, at most MAX_OPEN_PARTS open at once.

    When a new date needs a writer and the cap is reached, the least recently used part is
    closed (staged); a later line of that date opens the next segment, `<name>-K`."""

    def __init__(self, store: ObjectStore, prefix: str, base: str, keys: list[str]) -> None:
        self._store, self._prefix, self._base, self._keys = store, prefix, base, keys
        self._open: dict[str, AbstractContextManager[IO[bytes]]] = {}
        self._segments: Counter[str] = Counter()
        self.used: dict[str, int] = {}  # day -> batch number of its last write

    def open(self, day: str, writers: dict[str, IO[bytes]], bufs: dict[str, list[bytes]]) -> None:
        """Open the part of `day` into `writers` (evicting the least recently used)."""
        if len(self._open) >= MAX_OPEN_PARTS:
            victim = min((d for d in self._open if d != day), key=lambda d: self.used.get(d, -1))
            buf = bufs.pop(victim)
            if buf:
                writers[victim].write(b"".join(buf))
            del writers[victim]
            self._open.pop(victim).__exit__(None, None, None)
        n = self._segments[day]
        self._segments[day] += 1
        name = f"{self._base}.json.gz" if n == 0 else f"{self._base}-{n}.json.gz"
        key = f"{self._prefix}events/dt={day}/{name}"
        cm = open_gzip_write(self._store, key)
        writers[day] = cm.__enter__()
        self._open[day] = cm
        self._keys.append(key)

    def close(self) -> None:
        """Close (stage) every open part; errors writing them are raised."""
        while self._open:
            _, cm = self._open.popitem()
            cm.__exit__(None, None, None)

    def abort(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        """Discard every open part (the task failed).

        A part's writer may turn a raw error into the store's one-line error (a full disk
        into SourceUnavailable naming the file): that one is raised; any other error
        while discarding gives way to the one that got us here."""
        pending = exc
        while self._open:
            _, cm = self._open.popitem()
            try:
                cm.__exit__(type(pending) if pending else kind, pending, tb)
            except WarehouseError as named:
                if not isinstance(pending, WarehouseError):
                    pending = named
            except Exception:  # the error that got us here wins
                pass
        if pending is not exc and pending is not None:
            raise pending
        return False


def event_error(exc: Exception) -> str:
    """Return the reject reason of a line whose event could not be built or written out.

    The classifier rejects what it knows to be bad; anything else a line trips over (a
    value orjson cannot encode, a builder bug) costs that line only, never the run."""
    log.debug("line rejected: event not built", exc_info=exc)
    return f"event not built ({type(exc).__name__})"


class _Rejects:
    """A task's rejected lines: counted in its Result, their records written to one gzip
    part, opened by `open_part` when the first block that has any ends."""

    def __init__(self, res: Result, open_part: Callable[[], IO[bytes]]) -> None:
        self._res, self._open_part = res, open_part
        self._records: list[bytes] = []
        self._part: IO[bytes] | None = None

    def add(self, n: int, reason: str, line: str) -> None:
        """Count line `n` rejected for `reason` and keep its reject record."""
        res = self._res
        res.rejects[reason] += 1
        if reason == NO_MATCH and len(res.samples) < SAMPLES:
            res.samples.append(line)
        rec = {"source": res.source, "lineno": n, "reason": reason, "line": line[:MAX_LINE]}
        self._records.append(orjson.dumps(rec, option=_DUMPS_OPT))

    def flush(self) -> None:
        """Write the records kept since the last flush."""
        if self._records:
            if self._part is None:
                self._part = self._open_part()
            self._part.write(b"".join(self._records))
            self._records.clear()


class _Lines:
    """The per-line loop of one task (the hot path): classify, build, encode and buffer
    each line's event under its date; every BATCH lines the buffers go to their parts."""

    def __init__(
        self, classifier: Classifier, build: Builder, parts: _Parts, rejects: _Rejects,
        res: Result, lineno: int,
    ) -> None:
        self._classify, self._build, self._parts, self._rejects = (
            classifier.classify, build, parts, rejects
        )
        self._partitions = res.partitions
        self._bufs: dict[str, list[bytes]] = {}
        self._writers: dict[str, IO[bytes]] = {}
        self._batch = 0
        self.lineno = lineno  # line numbers continue earlier ranges
        self.unmatched = self.headers = 0

    def block(self, lines: list[str]) -> None:
        """Parse one block of lines."""
        # locals, not attributes, in the loop
        classify, build, dumps, opt = self._classify, self._build, orjson.dumps, _DUMPS_OPT
        reject, parts, bufs, writers = self._rejects.add, self._parts, self._bufs, self._writers
        partitions, lineno, unmatched = self._partitions, self.lineno, self.unmatched
        for j in range(0, len(lines), BATCH):
            for line in lines[j : j + BATCH]:
                lineno += 1
                try:  # costs nothing until it catches (Python 3.11+)
                    fields: Any = classify(line)
                    if fields.__class__ is not str:
                        ev = build(fields)
                        day = ev["ts"][:10]
                        data = dumps(ev, None, opt)
                except Exception as exc:  # one line's defect, never the run's
                    fields = event_error(exc)
                if fields.__class__ is str:
                    if fields is HEADER:
                        self.headers += 1
                    else:
                        reject(lineno, fields, line)
                    continue
                if ev["slug"] is None:
                    unmatched += 1
                buf = bufs.get(day)
                if buf is None:
                    parts.open(day, writers, bufs)
                    buf = bufs[day] = []
                    partitions.add(day)
                buf.append(data)
            self._write()
        self.lineno, self.unmatched = lineno, unmatched

    def _write(self) -> None:
        # small batches: buffers stay in the CPU cache and memory is reused
        self._batch += 1
        for day, buf in self._bufs.items():
            if buf:
                self._writers[day].write(b"".join(buf))
                buf.clear()
                self._parts.used[day] = self._batch


def _parse_task(
    settings: Settings, task: Task, progress: Progress | None, stdin: IO[bytes] | None
) -> Result:
    classifier, build = components(settings)
    classifier.reset()  # a W3C input's #Fields line applies to that input only
    store = open_store(settings.root, settings.s3)
    src = task.source
    prefix = staging_prefix(src)
    base = f"{src.part_id}-{task.index:04d}"
    res = Result(src.label)
    parts = _Parts(store, prefix, base, res.keys)
    with ExitStack() as stack:
        f = open_input(src, settings.s3, task.start, stdin)
        if not src.stdin:
            stack.callback(f.close)
        stack.push(parts.abort)

        def open_rejects() -> IO[bytes]:
            key = f"{prefix}rejects/dt={settings.run_date}/{base}.json.gz"
            part = stack.enter_context(open_gzip_write(store, key))
            res.keys.append(key)
            return part

        rejects = _Rejects(res, open_rejects)
        each = _Lines(classifier, build, parts, rejects, res, task.lineno)
        first: str | None = None
        for lines, nbytes in read_blocks(f, task.end, max_line=MAX_LINE):
            if first is None and task.start == 0:
                first = lines[0]
            each.block(lines)
            rejects.flush()
            if progress is not None:
                progress(ProgressEvent("parse", "bytes", nbytes, len(lines)))
            res.nbytes += nbytes
        parts.close()  # the batch loop has written every buffer
    res.lines = each.lineno - task.lineno
    if first is not None and res.lines > 1:  # a line followed by another one is complete
        res.head = first_line_id(first)
    res.headers = each.headers
    # every line is an event, a reject or a header line
    res.events = res.lines - sum(res.rejects.values()) - each.headers
    res.unmatched = each.unmatched
    return res
