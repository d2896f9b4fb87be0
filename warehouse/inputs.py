"""`parse` inputs: expand specs (files, .gz, directories, globs, s3:// keys and prefixes,
`-`) and read them as decoded line blocks, whole or by byte range.

Each input becomes an `InputSource` with a canonical name (absolute path, `s3://` URI, or
`stdin:<source-name>`): part files are named from a hash of that name, so the same input
always lands in the same objects. Directories and prefixes are walked recursively in
sorted order, skipping names that start with `_` or `.` (work in progress).
"""

from __future__ import annotations

import fnmatch
import glob
import gzip
import hashlib
import os
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

from isal import igzip
from isal.igzip_lib import IsalError

from warehouse.config import Config, S3Config
from warehouse.errors import ConfigError, InputMissing, JobFailed
from warehouse.storage import is_hidden, open_maybe_gzip, open_store

_GLOB_CHARS = "*?["


@dataclass(frozen=True)
class InputSource:
    """One input: canonical name, the store root and key that hold it, and its size."""

    name: str
    root: str
    key: str
    size: int | None
    stdin: bool = False

    @property
    def gz(self) -> bool:
        """True when the input is gzip-compressed (by its `.gz` name)."""
        return self.key.endswith(".gz") or self.name.endswith(".gz")

    @property
    def part_id(self) -> str:
        """Return the hash that names this input's part files (16 hex digits)."""
        return hashlib.sha1(self.name.encode("utf-8", "surrogateescape")).hexdigest()[:16]


def expand_inputs(
    cfg: Config, specs: list[str], *, source_name: str | None = None
) -> list[InputSource]:
    """Return the inputs named by `specs`, in order, without duplicates.

    Raises ConfigError (stdin without a source name, nothing given) or InputMissing (a
    path, glob, key or prefix that matches nothing).
    """
    if not specs:
        raise ConfigError("give at least one INPUT: a file, .gz, directory, glob, s3:// or -")
    out: list[InputSource] = []
    seen: set[str] = set()
    for spec in specs:
        for src in _expand_one(cfg, spec, source_name):
            if src.name not in seen:
                seen.add(src.name)
                out.append(src)
    return out


def _expand_one(cfg: Config, spec: str, source_name: str | None) -> list[InputSource]:
    if spec == "-":
        if not source_name:
            raise ConfigError("reading stdin (-) needs --source-name NAME to name its part files")
        return [InputSource(f"stdin:{source_name}", "", "-", None, stdin=True)]
    if spec.startswith("s3://"):
        return _expand_s3(cfg, spec)
    return _expand_local(spec)


def _expand_local(spec: str) -> list[InputSource]:
    path = Path(spec).expanduser()
    if any(c in spec for c in _GLOB_CHARS) and not path.exists():
        names = sorted(glob.glob(str(path), recursive=True))
        files = [Path(n) for n in names if os.path.isfile(n)]
        if not files:
            raise InputMissing(f"input {spec}: the glob matches no files")
        return [_local(p) for p in files]
    if path.is_dir():
        files = sorted(
            p for p in path.rglob("*") if p.is_file() and not is_hidden(str(p.relative_to(path)))
        )
        if not files:
            raise InputMissing(f"input {spec}: the directory holds no files")
        return [_local(p) for p in files]
    if path.is_file():
        return [_local(path)]
    raise InputMissing(f"input {spec} does not exist; check the path")


def _local(path: Path) -> InputSource:
    full = path.resolve()
    return InputSource(str(full), str(full.parent), full.name, full.stat().st_size)


def _expand_s3(cfg: Config, spec: str) -> list[InputSource]:
    bucket, _, key = spec[len("s3://") :].partition("/")
    root = f"s3://{bucket}"
    store = open_store(root, cfg.s3)
    pattern = None
    if any(c in key for c in _GLOB_CHARS):
        cut = min(key.find(c) for c in _GLOB_CHARS if c in key)
        pattern, key = key, key[:cut]
    elif key and not key.endswith("/") and store.exists(key):
        size = next((o.size for o in store.list(key) if o.key == key), None)
        return [InputSource(f"{root}/{key}", root, key, size)]
    out = []
    for obj in store.list(key):
        if pattern is not None and not fnmatch.fnmatchcase(obj.key, pattern):
            continue
        if is_hidden(obj.key[len(key) :]) or obj.key.endswith("/"):
            continue
        out.append(InputSource(f"{root}/{obj.key}", root, obj.key, obj.size))
    if not out:
        raise InputMissing(f"input {spec}: no objects under that key or prefix")
    return out


# --- reading ----------------------------------------------------------------------------

CHUNK = 1 << 20  # read size; lines are split and decoded a chunk at a time


def open_input(
    src: InputSource, s3: S3Config, start: int = 0, stdin: IO[bytes] | None = None
) -> IO[bytes]:
    """Return a binary reader of `src` (decompressed), positioned at the first line that
    begins at or after byte `start`; raises InputMissing or SourceUnavailable."""
    if src.stdin:
        f = stdin if stdin is not None else sys.stdin.buffer
        # `--source-name NAME.gz` says the piped bytes are gzip, as `.gz` does for files
        if not src.gz:
            return f
        gz = cast(IO[bytes], igzip.GzipFile(fileobj=f, mode="rb"))
        return _CheckedGzip(gz, src.name)  # type: ignore[return-value]
    store = open_store(src.root, s3)
    if src.gz:
        return _CheckedGzip(open_maybe_gzip(store, src.key), src.name)  # type: ignore[return-value]
    f = store.open_read(src.key)
    if start:
        f.seek(start - 1)
        f.readline()  # the line that holds byte start-1 belongs to the previous range
    return f


class CorruptInput(JobFailed):
    """An input's gzip data is corrupt or truncated; the input is set aside (exit 5)."""


# isal's stubs declare IsalError as an instance; at run time it is the exception class
_GZIP_ERRORS = (EOFError, gzip.BadGzipFile, zlib.error, cast(type[Exception], IsalError))


class _CheckedGzip:
    """A gzip reader whose corrupt or truncated data fails with one line naming the input."""

    def __init__(self, f: IO[bytes], name: str) -> None:
        self._f = f
        self._name = name

    def _fail(self, exc: Exception) -> CorruptInput:
        return CorruptInput(
            f"input {self._name}: corrupt or truncated gzip ({exc}); fetch it again or move it away"
        )

    def read(self, size: int = -1) -> bytes:
        try:
            return self._f.read(size)
        except _GZIP_ERRORS as exc:
            raise self._fail(exc) from None

    def readline(self, size: int = -1) -> bytes:
        try:
            return self._f.readline(size)
        except _GZIP_ERRORS as exc:
            raise self._fail(exc) from None

    def tell(self) -> int:
        return self._f.tell()

    def close(self) -> None:
        self._f.close()


def read_blocks(
    f: IO[bytes], end: int | None = None, *, max_line: int
) -> Iterator[tuple[list[str], int]]:
    """Yield (decoded lines, bytes consumed), a chunk at a time, up to the line that holds
    byte `end` (None: to EOF). Lines are split on \\n (\\r\\n too), decoded as UTF-8 with
    backslashreplace; a line longer than 4*max_line+4 bytes (surely over `max_line`
    characters) is cut there and its rest skipped, so memory stays bounded."""
    overlong = 4 * max_line + 4
    pos = f.tell() if end is not None else 0
    pending = b""
    skipping = False  # inside an overlong line already reported
    while True:
        size = CHUNK if end is None else min(CHUNK, end - pos)
        chunk = f.read(size) if size > 0 else b""
        if not chunk:
            if end is not None and pos >= end and pending and not skipping:
                pending += f.readline(overlong)  # finish the line begun inside the range
                if pending.endswith(b"\n"):
                    pending = pending[:-2] if pending.endswith(b"\r\n") else pending[:-1]
            if pending and not skipping:
                yield _decode(pending[:overlong]), len(pending)
            return
        pos += len(chunk)
        if skipping:
            nl = chunk.find(b"\n")
            if nl < 0:
                continue
            chunk = chunk[nl + 1 :]
            skipping = False
        data = pending + chunk if pending else chunk
        cut = data.rfind(b"\n")
        if cut < 0:
            pending = data
            if len(pending) > overlong:
                yield _decode(pending[:overlong]), len(pending)
                pending = b""
                skipping = True
            continue
        pending = data[cut + 1 :]
        yield _decode(data[:cut]), cut + 1
        if len(pending) > overlong:
            yield _decode(pending[:overlong]), len(pending)
            pending = b""
            skipping = True


def _decode(block: bytes) -> list[str]:
    """Split a block (which ends where a line ends, before its \\n) into decoded lines."""
    text = block.decode("utf-8", "backslashreplace")
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if text.endswith("\r"):  # the block's last line: its \n was cut off by the caller
            text = text[:-1]
    return text.split("\n")


def lines_before(path: str, starts: list[int]) -> list[int]:
    """Return, per range start, the number of lines of the file before the range's first
    line: the newlines in [0, start-1) plus the one that ends the line holding start-1.
    One read of the file (about 0.1 s per 200 MB from the page cache)."""
    out: list[int] = []
    count = pos = 0
    with open(path, "rb") as f:
        for start in starts:
            if start == 0:
                out.append(0)
                continue
            stop = start - 1
            while pos < stop:
                chunk = f.read(min(CHUNK * 4, stop - pos))
                if not chunk:
                    break
                count += chunk.count(b"\n")
                pos += len(chunk)
            out.append(count + 1)
    return out
