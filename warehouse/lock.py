"""The run lock: one `warehouse run` at a time per machine (fcntl.flock on [cron] lock_file).

The crontab also wraps the run in `flock -n -E 6 LOCK` (util-linux), which holds the lock
on its own open file description and hands the descriptor down to us. flock(2) locks
belong to open file descriptions, so opening the file again and locking it would
conflict with our own parent. `run_lock` therefore first looks for an inherited
descriptor on the same file and, when it finds one, locks that (a no-op on a lock the
description already holds); otherwise it opens the file itself.

Safety: the default file lives in `~/.local/state/warehouse/`, a folder created 0700,
so no other local user can plant a symlink there or create (and hold) the file first.
Whatever the path, the file is opened with O_NOFOLLOW (a symlink is refused, never
followed and truncated) and must be a regular file with one link owned by this user, in
a folder owned by this user or root that others cannot write (or that is sticky, like
/run/lock); otherwise the run stops with a ConfigError (exit 2) saying what to fix.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from warehouse.errors import ConfigError, RunInProgress


def _owner(uid: int) -> str:
    import pwd

    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


def _refuse(path: Path, why: str) -> ConfigError:
    return ConfigError(
        f"[cron] lock_file {path}: {why}; remove it or set [cron] lock_file to a path in a "
        "folder only you can write"
    )


def _check_folder(path: Path) -> None:
    """Create the lock's folder 0700 when missing; refuse one another user controls."""
    folder = path.parent
    if not folder.exists():
        try:
            folder.mkdir(parents=True, mode=0o700)
        except FileExistsError:
            pass
        except OSError as exc:
            raise ConfigError(
                f"[cron] lock_file {path}: cannot create {folder}: {exc.strerror}; "
                "pick a writable path"
            ) from None
    try:
        st = folder.lstat()
    except OSError as exc:
        raise _refuse(path, f"folder {folder} unusable ({exc.strerror})") from None
    if stat.S_ISLNK(st.st_mode):
        st = folder.stat()  # a symlinked folder is fine when its target passes the checks
    if not stat.S_ISDIR(st.st_mode):
        raise _refuse(path, f"{folder} is not a folder")
    if st.st_uid not in (os.geteuid(), 0):
        raise _refuse(path, f"folder {folder} belongs to {_owner(st.st_uid)}")
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not st.st_mode & stat.S_ISVTX:
        raise _refuse(path, f"folder {folder} is writable by other users")


def _check_file(path: Path, fd: int) -> None:
    """Refuse a lock file that is not a plain file of ours (planted by another user)."""
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        raise _refuse(path, "not a regular file")
    if st.st_uid != os.geteuid():
        raise _refuse(path, f"owned by {_owner(st.st_uid)}, not by you")
    if st.st_nlink != 1:
        raise _refuse(path, f"has {st.st_nlink} hard links")


def _inherited_fd(path: Path) -> int | None:
    """Return an already-open descriptor of `path` (inherited from flock(1)), if any."""
    try:
        st = path.lstat()
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None  # a symlink is refused when we open the path ourselves
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


def _holder(fd: int) -> str:
    """Return the pid recorded in the lock file, for the error message."""
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return "unknown"
    return text if text.isdigit() else "unknown"


def _open(path: Path) -> int:
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    try:
        return os.open(path, flags, 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _refuse(path, "is a symbolic link (not followed)") from None
        if exc.errno == errno.EACCES and path.exists():
            try:
                uid = path.lstat().st_uid
            except OSError:
                uid = -1
            if uid != os.geteuid():
                raise _refuse(path, f"owned by {_owner(uid)}, not by you") from None
        raise ConfigError(
            f"[cron] lock_file {path}: {exc.strerror}; pick a writable path"
        ) from None


@contextmanager
def run_lock(lock_file: str) -> Iterator[None]:
    """Hold the run lock for the block; raises RunInProgress when another run holds it,
    ConfigError when the lock file or its folder is not safely ours."""
    path = Path(lock_file).expanduser()
    _check_folder(path)
    inherited = _inherited_fd(path)
    if inherited is not None:
        fd, own = inherited, False
    else:
        fd, own = _open(path), True
    try:
        _check_file(path, fd)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise RunInProgress(
                    f"another warehouse run holds {path} (pid {_holder(fd)}); "
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
