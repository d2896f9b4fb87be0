"""The run lock: one `warehouse run` at a time per machine (fcntl.flock on [cron] lock_file).

The crontab also wraps the run in `flock -n -E 6 LOCK` (util-linux), which holds the lock
on its own open file description and hands the descriptor down to us. flock(2) locks
belong to open file descriptions, so opening the file again and locking it would
conflict with our own parent. `run_lock` therefore first looks for an inherited
descriptor on the same file and, when it finds one, locks that (a no-op on a lock the
description already holds); otherwise it opens the file itself.
"""

from __future__ import annotations

import errno
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from warehouse.errors import ConfigError, RunInProgress


def _inherited_fd(path: Path) -> int | None:
    """Return an already-open descriptor of `path` (inherited from flock(1)), if any."""
    try:
        st = path.stat()
    except OSError:
        return None
    fd_dir = "/proc/self/fd" if os.path.isdir("/proc/self/fd") else "/dev/fd"
    try:
        names = os.listdir(fd_dir)
    except OSError:
        return None
    for name in names:
        if not name.isdigit():
            continue
        fd = int(name)
        if fd < 3:
            continue
        try:
            fst = os.fstat(fd)
        except OSError:
            continue
        if (fst.st_dev, fst.st_ino) == (st.st_dev, st.st_ino):
            return fd
    return None


def _holder(path: Path) -> str:
    """Return the pid recorded in the lock file, for the error message."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return "unknown"
    return text if text.isdigit() else "unknown"


@contextmanager
def run_lock(lock_file: str) -> Iterator[None]:
    """Hold the run lock for the block; raises RunInProgress when another run holds it."""
    path = Path(lock_file).expanduser()
    inherited = _inherited_fd(path)
    if inherited is not None:
        fd, own = inherited, False
    else:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ConfigError(
                f"[cron] lock_file {path}: {exc.strerror}; pick a writable path"
            ) from None
        own = True
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise RunInProgress(
                    f"another warehouse run holds {path} (pid {_holder(path)}); "
                    "wait for it to finish, or check that process"
                ) from None
            raise
        if own:
            # flock(1) opens the file read-only: only a descriptor we opened records a pid.
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        if own:
            os.close(fd)  # closing the only descriptor releases the lock
