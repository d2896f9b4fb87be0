"""Local-directory ObjectStore: atomic writes by `_tmp.*` name plus os.replace."""

from __future__ import annotations

import contextlib
import errno
import glob
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from warehouse.errors import (
    DISK_FULL_ERRNOS,
    ConfigError,
    CorruptState,
    InputMissing,
    SourceUnavailable,
    write_failed,
)
from warehouse.scratch import tmp_file_name
from warehouse.storage.base import ObjectInfo, is_hidden
from warehouse.storage.keys import refuse_unsafe

# errors that only a write can cause: the store, not the caller's input, is the problem
_WRITE_ERRNOS = DISK_FULL_ERRNOS | {errno.EROFS}
_WRITE_FIX = "check free space and permissions there"


def _write_error(path: Path, exc: OSError) -> SourceUnavailable:
    # a full disk in from_oserror's words; any other error of a write (a read-only file
    # system, a permission) is the store's problem too, in the same words
    return write_failed(exc, str(path), fix=_WRITE_FIX)


class LocalStore:
    """Objects are files under a root directory; keys are relative `/` paths."""

    remote = False

    def __init__(self, root: str | Path) -> None:
        text = str(root)
        if text.startswith("file://"):
            text = text[len("file://") :]
        self.path = Path(text).expanduser().absolute()
        self.root = str(self.path)

    def _p(self, key: str) -> Path:
        # the last guard: an absolute key or a `..` would reach outside the root
        return self.path / refuse_unsafe(key, self.root) if key else self.path

    def uri(self, key: str) -> str:
        """Return the absolute path of `key`."""
        return str(self.path / key if key else self.path)

    def open_read(self, key: str) -> IO[bytes]:
        """Return a buffered reader of `key`; raises InputMissing."""
        try:
            return open(self._p(key), "rb")
        except FileNotFoundError:
            raise InputMissing(f"{self._p(key)} does not exist") from None
        except IsADirectoryError:
            raise InputMissing(f"{self._p(key)} is a directory, not a file") from None

    @contextmanager
    def open_write(self, key: str) -> Iterator[IO[bytes]]:
        """Write to `_tmp.<name>.<pid>-<random>` beside `key`; rename over `key` on clean exit.

        A full disk (or quota, or read-only file system) while writing is SourceUnavailable
        naming the file; the temporary file is removed whatever happens.
        """
        final = self._p(key)
        if final.is_dir():
            raise CorruptState(f"cannot write {final}: a folder is in its place; move it away")
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SourceUnavailable(f"cannot create {final.parent}: {exc.strerror}") from None
        tmp = final.with_name(tmp_file_name(final.name))
        try:
            f = open(tmp, "wb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise _write_error(final, exc) from None
        try:
            yield f
            f.close()
            os.replace(tmp, final)
        except BaseException as exc:
            with contextlib.suppress(OSError):  # closing flushes: on a full disk it fails again
                f.close()
            tmp.unlink(missing_ok=True)
            self._remove_empty_parents(tmp)  # a failed first write leaves no empty folder
            if isinstance(exc, OSError) and exc.errno in _WRITE_ERRNOS:
                raise _write_error(final, exc) from None
            raise

    def list(self, prefix: str = "", *, include_hidden: bool = False) -> Iterator[ObjectInfo]:
        """Yield files under `prefix` (a folder or a name prefix), sorted by key."""
        base = self._p(prefix)
        if base.is_file():
            candidates = [base]
        elif base.is_dir() and (not prefix or prefix.endswith("/")):
            candidates = [p for p in base.rglob("*") if p.is_file()]
        else:  # a name prefix (as on S3): only the folder's entries that start with it
            if not base.parent.is_dir():
                return
            candidates = []
            for p in base.parent.glob(glob.escape(base.name) + "*"):
                if p.is_file():
                    candidates.append(p)
                elif p.is_dir():
                    candidates += [q for q in p.rglob("*") if q.is_file()]
        out: list[ObjectInfo] = []
        for p in candidates:
            key = p.relative_to(self.path).as_posix()
            if not key.startswith(prefix):
                continue
            if not include_hidden and is_hidden(key[len(prefix) :]):
                continue
            try:
                size = p.stat().st_size
            except FileNotFoundError:  # gone since the walk: a concurrent writer's temporary
                continue  # renamed into place, or a file deleted; a listing is a snapshot
            out.append(ObjectInfo(key, size))
        yield from sorted(out, key=lambda o: o.key)

    def abort_uploads(self, prefix: str) -> int:
        """Return 0: an unfinished local write is a `_tmp.*` file, listed and deleted."""
        return 0

    def exists(self, key: str) -> bool:
        """Return True when `key` is an existing file."""
        return self._p(key).is_file()

    def delete(self, key: str) -> None:
        """Remove `key` if present, and empty parent folders up to the root."""
        p = self._p(key)
        p.unlink(missing_ok=True)
        self._remove_empty_parents(p)

    def _remove_empty_parents(self, p: Path) -> None:
        parent = p.parent
        while parent != self.path and parent.is_dir():
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent

    def prune(self, prefix: str, *, itself: bool = False) -> int:
        """Remove empty folders under the folder `prefix` (deepest first), and `prefix`
        itself when `itself` and it ends empty; return how many."""
        base = self._p(prefix.rstrip("/"))
        if not base.is_dir():
            return 0
        removed = 0
        folders = sorted((d for d in base.rglob("*") if d.is_dir()),
                         key=lambda d: len(d.parts), reverse=True)
        for folder in [*folders, base] if itself else folders:
            try:
                folder.rmdir()
                removed += 1
            except OSError:
                continue  # not empty
        return removed

    def check_root(self) -> None:
        """Fail fast when the root exists but is not a folder (ConfigError)."""
        if self.path.exists() and not self.path.is_dir():
            raise ConfigError(f"warehouse root {self.path} is not a folder; fix [warehouse] root")

    def publish(self, src: str, dst: str) -> None:
        """Atomically move `src` to `dst`."""
        target = self._p(dst)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self._p(src), target)
        except FileNotFoundError:
            raise InputMissing(f"{self._p(src)} does not exist") from None
        except OSError as exc:
            raise _write_error(target, exc) from None
