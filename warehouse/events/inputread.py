"""Reading `parse` inputs: decompress by the first bytes (gzip, bz2, xz), turn every read
failure into one line naming the input, and cut the text into decoded line blocks, whole
or by byte range."""

from __future__ import annotations

import bz2
import contextlib
import errno
import gzip
import io
import lzma
import sys
import zlib
from collections.abc import Iterator
from typing import IO, cast

from isal import igzip
from isal.igzip_lib import IsalError

from warehouse.config import S3Config
from warehouse.errors import EXIT_FAILED, EXIT_INPUT_MISSING, EXIT_UNAVAILABLE, WarehouseError
from warehouse.events.inputs import HEAD, READABLE, InputSource, compression_by_name, sniff
from warehouse.storage import open_store

CHUNK = 1 << 20  # read size; lines are split and decoded a chunk at a time


class UnreadableInput(WarehouseError):
    """An input could not be read to its end; it is set aside, the others still parsed.

    The exit code is the failure's class: 4 (gone, permission denied), 3 (I/O error, an S3
    download cut), 5 (corrupt or unreadable data: CorruptInput)."""

    def __init__(self, message: str, exit_code: int = EXIT_UNAVAILABLE) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def __reduce__(self) -> tuple[type, tuple[str, int]]:
        return (self.__class__, (str(self), self.exit_code))


class CorruptInput(UnreadableInput):
    """An input's compressed data is corrupt, truncated or of a kind not read here (exit 5)."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message, exit_code)


_GONE = (errno.ENOENT, errno.EACCES, errno.EPERM, errno.EISDIR, errno.ENOTDIR, errno.ENXIO)


def _unreadable(label: str, exc: BaseException) -> UnreadableInput:
    """Return the one-line error for an input that failed to open or read."""
    if isinstance(exc, UnreadableInput):
        return exc
    if isinstance(exc, WarehouseError):  # e.g. an S3 download cut mid-read
        return UnreadableInput(f"input {label}: {exc}; re-run to read it again", exc.exit_code)
    if isinstance(exc, OSError) and exc.errno is not None:
        why = exc.strerror or str(exc)
        if exc.errno in _GONE:
            return UnreadableInput(
                f"input {label} cannot be read ({why}); fix its permissions or path and re-run",
                EXIT_INPUT_MISSING,
            )
        return UnreadableInput(
            f"input {label}: read failed ({why}); check the disk or source and re-run"
        )
    return UnreadableInput(f"input {label}: read failed ({type(exc).__name__}: {exc}); re-run")


def open_input(
    src: InputSource, s3: S3Config, start: int = 0, stdin: IO[bytes] | None = None
) -> IO[bytes]:
    """Return a binary reader of `src`, decompressed by its first bytes (gzip, bz2, xz),
    positioned at the first line that begins at or after byte `start` (plain files only).

    Raises UnreadableInput (exit class in it) naming the input, or CorruptInput for a
    compressed input that is empty, corrupt or of a kind not read here; read errors later
    on are raised the same way by the returned reader."""
    label = src.label
    if src.refused:
        raise UnreadableInput(f"input {label}: {src.refused}", EXIT_INPUT_MISSING)
    try:
        if src.stdin:
            f = stdin if stdin is not None else sys.stdin.buffer
        else:
            f = open_store(src.root, s3).open_read(src.key)
        if start:
            f.seek(start - 1)
            # the line that holds byte start-1 belongs to the previous range: skipped a
            # chunk at a time (one readline() of a 1 GiB line held all of it in memory)
            while (part := f.readline(CHUNK)) and not part.endswith(b"\n"):
                pass
            return _Reader(f, label, None)  # type: ignore[return-value]
        head = _read_head(f)
        if head and f.seekable():
            f.seek(0)
        else:
            f = io.BufferedReader(_Prefixed(head, f), CHUNK)
    except (OSError, WarehouseError) as exc:
        raise _unreadable(label, exc) from None
    kind = _compression(label, head, compression_by_name(src.name))
    if kind is None:
        return _Reader(f, label, None)  # type: ignore[return-value]
    return _Reader(_decompressed(f, kind), label, kind)  # type: ignore[return-value]


def _compression(label: str, head: bytes, named: str | None) -> str | None:
    """Return the compression of an input that starts with `head` (None: plain text);
    raises CorruptInput when its name says compressed but its bytes do not, or for a
    compression not read here."""
    kind = sniff(head)
    if kind is None and named is not None:
        if not head:
            raise CorruptInput(
                f"input {label}: corrupt or truncated {named}: the file is empty (0 bytes, "
                "a log cut by rotation or a failed copy); fetch it again or move it away"
            )
        raise CorruptInput(
            f"input {label}: corrupt or truncated {named}: not {named} data (it starts "
            f"with {head!r}); fetch it again or rename it"
        )
    if kind is not None and kind not in READABLE:
        raise CorruptInput(
            f"input {label}: {kind} data, which parse does not read; decompress it first "
            "(gzip, bz2 and xz are read as they are)"
        )
    return kind


def _decompressed(f: IO[bytes], kind: str) -> IO[bytes]:
    """Return a reader of `f` decompressed as `kind` (one of READABLE)."""
    if kind == "gzip":
        return igzip.GzipFile(fileobj=f, mode="rb")  # type: ignore[return-value]
    if kind == "bz2":
        return bz2.BZ2File(f, "rb")
    return lzma.LZMAFile(f, "rb")  # closed by the caller


def _read_head(f: IO[bytes]) -> bytes:
    head = b""
    while len(head) < HEAD:
        more = f.read(HEAD - len(head))
        if not more:
            break
        head += more
    return head


class _Prefixed(io.RawIOBase):
    """A stream whose first bytes were already read (to sniff them): those, then the rest."""

    def __init__(self, head: bytes, f: IO[bytes]) -> None:
        self._head = head
        self._f = f

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(b), len(self._head))
            b[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._f.read(len(b))
        n = len(data)
        b[:n] = data
        return n

    def close(self) -> None:
        self._f.close()
        super().close()


# isal's stubs declare IsalError as an instance; at run time it is the exception class
_DATA_ERRORS = (
    EOFError,
    gzip.BadGzipFile,
    zlib.error,
    lzma.LZMAError,
    cast(type[Exception], IsalError),
)


class _Reader:
    """An input reader whose failures are one line naming the input: corrupt compressed
    data (CorruptInput, exit 5) or a read error (UnreadableInput, exit 3 or 4)."""

    def __init__(self, f: IO[bytes], label: str, kind: str | None) -> None:
        self._f = f
        self._label = label
        self._kind = kind

    def _fail(self, exc: BaseException) -> UnreadableInput:
        data_error = isinstance(exc, _DATA_ERRORS) or (
            isinstance(exc, OSError) and exc.errno is None and self._kind == "bz2"
        )
        if self._kind is not None and data_error:
            return CorruptInput(
                f"input {self._label}: corrupt or truncated {self._kind} ({exc}); "
                "fetch it again or move it away"
            )
        return _unreadable(self._label, exc)

    def read(self, size: int = -1) -> bytes:
        try:
            return self._f.read(size)
        except Exception as exc:  # every failure of an input ends that input only
            raise self._fail(exc) from None

    def readline(self, size: int = -1) -> bytes:
        try:
            return self._f.readline(size)
        except Exception as exc:
            raise self._fail(exc) from None

    def tell(self) -> int:
        return self._f.tell()

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing a failed stream must not hide why
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
            # a line begun inside the range; it may turn out empty (a \r\n cut after \r)
            open_line = bool(pending) and not skipping
            nbytes = len(pending)
            if end is not None and pos >= end and open_line:
                pending += f.readline(overlong)  # finish the line begun inside the range
                nbytes = len(pending)
                if pending.endswith(b"\n"):
                    pending = pending[:-2] if pending.endswith(b"\r\n") else pending[:-1]
            if open_line:
                yield _decode(pending[:overlong]), nbytes
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
    """Split a block (which ends where a line ends, before its \\n) into decoded lines.

    NUL bytes that start a line are dropped: after a crash a log can hold a run of NULs
    (blocks the file system allocated but never wrote) glued to the first line written
    after it, whose first field would carry them. A line of NULs alone stays as it is (a
    reject)."""
    text = block.decode("utf-8", "backslashreplace")
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if text.endswith("\r"):  # the block's last line: its \n was cut off by the caller
            text = text[:-1]
    lines = text.split("\n")
    if "\0" in text:
        lines = [(x.lstrip("\0") or x) if x[:1] == "\0" else x for x in lines]
    return lines


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
