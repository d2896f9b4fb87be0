"""The ObjectStore contract shared by the local and the S3 store.

Keys are `/`-separated paths relative to the store's root URI. A write is invisible under
its final key until it completes: the local store writes `_tmp.*` beside the target and
renames; the S3 store completes a multipart upload (or puts a small object) only on a
clean close and aborts it on error. Readers therefore never see a partial object and need
no success marker. Names whose last segment starts with `_` or `.` are reserved for work
in progress; `list()` skips them unless asked.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import IO, Protocol

from isal import igzip

from warehouse.errors import SourceUnavailable

GZIP_LEVEL = 1  # ISA-L level 1: ~4x zlib's speed with a slightly better ratio (DESIGN.md)


@dataclass(frozen=True)
class ObjectInfo:
    """One stored object: key relative to the store root, and size in bytes."""

    key: str
    size: int


def is_hidden(key: str) -> bool:
    """Return True when any segment of `key` starts with `_` or `.` (in progress or state)."""
    return any(part[:1] in ("_", ".") for part in key.split("/") if part)


class ObjectStore(Protocol):
    """Storage verbs the warehouse needs; implementations: LocalStore, S3Store."""

    root: str
    # True when objects live behind a network service (S3): cluster nodes can read and
    # write them, and local tools need copies; False for a folder on this machine
    remote: bool

    def uri(self, key: str) -> str:
        """Return the full URI of `key`."""
        ...

    def open_read(self, key: str) -> IO[bytes]:
        """Return a streaming binary reader; raises InputMissing when absent."""
        ...

    def open_write(self, key: str) -> AbstractContextManager[IO[bytes]]:
        """Return a context manager for a binary writer published atomically on clean exit."""
        ...

    def list(self, prefix: str = "", *, include_hidden: bool = False) -> Iterator[ObjectInfo]:
        """Yield objects under `prefix` (recursively), sorted; hidden = `_`/`.` after prefix."""
        ...

    def abort_uploads(self, prefix: str) -> int:
        """Cancel writes under `prefix` left unfinished by a killed process; return how many.

        Local stores have none to cancel (their `_tmp.*` files are listed with
        `include_hidden` and deleted); on S3 these are incomplete multipart uploads."""
        ...

    def exists(self, key: str) -> bool:
        """Return True when the object `key` exists."""
        ...

    def delete(self, key: str) -> None:
        """Delete `key`; deleting a missing key is not an error."""
        ...

    def publish(self, src: str, dst: str) -> None:
        """Move a finished object from `src` to `dst`, replacing `dst`."""
        ...

    def prune(self, prefix: str, *, itself: bool = False) -> int:
        """Remove empty folders under `prefix` (left by failed writes), and the folder
        `prefix` too when `itself` and it ends empty; return how many."""
        ...

    def check_root(self) -> None:
        """Raise a WarehouseError at once when the root cannot be used (missing bucket...)."""
        ...


@contextmanager
def open_gzip_write(
    store: ObjectStore, key: str, level: int = GZIP_LEVEL
) -> Iterator[IO[bytes]]:
    """Stream gzip-compressed bytes to `key` (published only when the block exits cleanly)."""
    # filename="": otherwise gzip records the writer's temporary name (`_tmp.*.<random>`)
    # in the header, and re-runs would write different bytes for the same content.
    with store.open_write(key) as raw, igzip.GzipFile(
        filename="", fileobj=raw, mode="wb", compresslevel=level, mtime=0
    ) as gz:
        yield gz  # type: ignore[misc]


def open_maybe_gzip(store: ObjectStore, key: str) -> IO[bytes]:
    """Return a binary reader of `key`, decompressing when its name ends in `.gz`."""
    raw = store.open_read(key)
    if key.endswith(".gz"):
        return igzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    return raw


def read_bytes(store: ObjectStore, key: str) -> bytes:
    """Return the whole (small) object `key`; for state files, not data."""
    with store.open_read(key) as f:
        return f.read()


def write_bytes(store: ObjectStore, key: str, data: bytes) -> None:
    """Write a small object atomically."""
    with store.open_write(key) as f:
        f.write(data)


class _ChunkReader(io.RawIOBase):
    """Adapt an object with `.read(n)` (botocore's StreamingBody) to RawIOBase.

    A download cut mid-read (connection reset, short body, read timeout) raises
    SourceUnavailable naming the object being read, `uri`."""

    def __init__(self, body: object, uri: str = "") -> None:
        self._body = body
        self._uri = uri

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        try:
            data = self._body.read(len(b))  # type: ignore[attr-defined]
        except Exception as exc:  # botocore, urllib3 and socket errors alike
            raise SourceUnavailable(
                f"{self._uri} could not be read to its end ({type(exc).__name__}: {exc})"
            ) from None
        n = len(data)
        b[:n] = data
        return n

    def close(self) -> None:
        close = getattr(self._body, "close", None)
        if close:
            close()
        super().close()
