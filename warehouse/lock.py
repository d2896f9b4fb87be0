"""The run lock: one `warehouse run` at a time per machine (fcntl.flock on [cron] lock_file),
and the item locks: one `parse` of an input, one `import` of a table at a time per machine.

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

Item locks (`item_lock`) use the same rules for files in `run-items/` beside [cron] lock_file
(a folder created 0700), one per (warehouse root, item): `parse` holds one per input (keyed
by the input's canonical-name hash) from before it clears the input's leftovers until the
input is published; `import` holds one per table for the table's whole load. The files stay
(unlinking a flock file races with a process opening it); they are empty but for a pid.
The events lock (`events_lock`, `events-*.lock` in the same folder, one per root) keeps an
aggregate from reading an input's parts half published: `parse` holds it exclusively while
it publishes one input (its `finish`: a few renames or copies, then the stale deletes),
`aggregate` holds it shared from listing its input partitions until its job has read them,
so aggregates run side by side and parses publish one input at a time. Each side waits a
bounded time (`PUBLISH_WAIT` for all the inputs of one parse, `READ_WAIT`), then gives up
with ItemLocked (exit 6).
Locks are per machine: two machines writing the same S3 root are not protected.

A dead owner never blocks the next run: the run lock and item locks record the holder's pid
(also under flock(1)) and clear it on release, and worker processes drop the descriptors
they inherit (`warehouse.procs.HELD`, closed by `warehouse.procs.worker_init`). A lock found free with
the pid of a process that is gone (a run killed with kill -9) is taken over with a warning;
a lock still held while its recorded owner is gone, by orphaned worker processes of that
run only (named `warehouse.procs.WORKER_NAME`, their parent holding no descriptor of the file), is taken
over by killing them (SIGKILL, each named in a warning).
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import logging
import os
import signal
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from warehouse.errors import ConfigError, ItemLocked, RunInProgress
from warehouse.procs import HELD, holding, orphan_worker
from warehouse.scratch import pid_alive

# seconds `parse` waits to publish an input while aggregates read the events (a job can be
# long), and an aggregate waits while parses publish (an input's publish takes seconds)
PUBLISH_WAIT = 1800.0
READ_WAIT = 300.0
TAKEOVER_WAIT = 5.0  # seconds to wait for a lock once its dead run's workers are killed

log = logging.getLogger(__name__)


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


def _try_flock(fd: int, op: int = fcntl.LOCK_EX) -> bool:
    """Take the lock (exclusive, or `op`) without waiting; False when another holds it."""
    try:
        fcntl.flock(fd, op | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


def _record_pid(fd: int) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)


def _dead_owner(fd: int) -> int | None:
    """Return the pid the lock file records when that process is gone (else None)."""
    text = _holder(fd)
    if not text.isdigit() or int(text) in (0, os.getpid()) or pid_alive(int(text)):
        return None
    return int(text)


def _take_over(path: Path, fd: int, op: int) -> bool:
    """Take a lock still held after its recorded owner died, when only orphaned worker
    processes hold it (see the module doc): kill them, wait TAKEOVER_WAIT for the lock.
    Returns whether it is ours; False (nothing killed) when anyone else holds it."""
    owner = _dead_owner(fd)
    if owner is None:
        return False
    holders = holding(path)
    strays = [p for p in holders if orphan_worker(p, holders)]
    if not holders or len(strays) != len(holders):
        return False
    for pid in strays:
        log.warning("lock %s: its owner (pid %d) is gone; killing its worker pid %d that "
                    "still holds it", path, owner, pid)
        with suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + TAKEOVER_WAIT
    while time.monotonic() < deadline:
        if _try_flock(fd, op):
            return True
        time.sleep(0.05)
    return False


def _held_by(path: Path, fd: int) -> str:
    """Say who holds a lock we could not take, for the error: the recorded pid, or when
    that process is gone, the processes still holding the file (to stop by hand)."""
    owner = _dead_owner(fd)
    if owner is None:
        return f"pid {_holder(fd)}"
    others = ", ".join(str(p) for p in holding(path)) or "unknown"
    return f"its owner pid {owner} is gone, but pid {others} still holds it: stop that"


def _taken(path: Path, fd: int, write_fd: int | None) -> None:
    """The lock is ours: log a take-over from a dead owner, record our pid (through
    `write_fd` when `fd` is flock(1)'s read-only descriptor)."""
    owner = _dead_owner(fd)
    if owner is not None:
        log.warning("lock %s: taken over from pid %d, which ended without releasing it "
                    "(killed?)", path, owner)
    _record_pid(fd if write_fd is None else write_fd)


def _release(fd: int, *, clear: bool = True) -> None:
    """Clear the recorded pid (a free lock file names no owner) and close `fd`."""
    HELD.discard(fd)
    if clear:
        with suppress(OSError):
            os.ftruncate(fd, 0)
    os.close(fd)


def item_lock_path(lock_file: str, root: str, kind: str, item: str) -> Path:
    """Return the lock file of `item` ("parse": an input's hash; "import":
    source.database.table) under the warehouse `root`, in `<stem>-items/` beside
    `lock_file` (`run-items/` for the default `run.lock`)."""
    if "://" not in root:
        root = os.path.realpath(os.path.expanduser(root))
    digest = hashlib.sha256(f"{root.rstrip('/')}\n{kind}\n{item}".encode()).hexdigest()
    run = Path(lock_file).expanduser()
    return run.parent / f"{run.stem}-items" / f"{kind}-{digest[:32]}.lock"


@contextmanager
def item_lock(lock_file: str, root: str, kind: str, item: str, what: str) -> Iterator[None]:
    """Hold the lock of one item (see `item_lock_path`) for the block; raises ItemLocked
    (exit 6) naming `what` when another process holds it, ConfigError when the file or
    its folder is not safely ours. Forked children share the lock; it is released when
    the last descriptor closes."""
    path = item_lock_path(lock_file, root, kind, item)
    _check_folder(path)
    fd = _open(path)
    HELD.add(fd)
    locked = False
    try:
        _check_file(path, fd)
        if not _try_flock(fd) and not _take_over(path, fd, fcntl.LOCK_EX):
            raise ItemLocked(
                f"{what} is in use by another warehouse process ({_held_by(path, fd)}, lock "
                f"{path}); left untouched: re-run it when that process has finished"
            )
        locked = True
        _taken(path, fd, None)
        yield
    finally:
        _release(fd, clear=locked)


class WaitBudget:
    """The seconds of waiting left to several `events_lock`s of one process (the inputs of
    one parse wait PUBLISH_WAIT in all, not each)."""

    def __init__(self, seconds: float) -> None:
        self.left = seconds


@contextmanager
def events_lock(
    lock_file: str, root: str, *, publish: bool, what: str, budget: WaitBudget | None = None
) -> Iterator[None]:
    """Hold the events lock of `root` for the block: exclusive to `publish` an input,
    else shared (to read events). Waits up to `budget` (default PUBLISH_WAIT or READ_WAIT
    seconds; what it waits is taken from it), then raises ItemLocked (exit 6) naming
    `what`; ConfigError as `item_lock`."""
    path = item_lock_path(lock_file, root, "events", "publish")
    _check_folder(path)
    fd = _open(path)
    HELD.add(fd)
    try:
        _check_file(path, fd)
        budget = budget or WaitBudget(PUBLISH_WAIT if publish else READ_WAIT)
        wait, started, pause = budget.left, time.monotonic(), 0.005
        while not _try_flock(fd, fcntl.LOCK_EX if publish else fcntl.LOCK_SH):
            if time.monotonic() >= started + wait:
                budget.left = 0.0  # later items of the same process try once, then give up
                other = (
                    "an aggregate is reading the events" if publish
                    else f"a parse is publishing events (pid {_holder(fd)})"
                )
                raise ItemLocked(
                    f"{what}: {other} under {root} on this machine (lock {path}); waited "
                    f"{time.monotonic() - started:.0f}s: re-run it when that process has "
                    "finished"
                )
            time.sleep(pause)
            pause = min(pause * 2, 0.1)
        budget.left = max(0.0, budget.left - (time.monotonic() - started))
        if publish:  # only the exclusive holder records its pid (the file is shared)
            _record_pid(fd)
        yield
    finally:
        _release(fd, clear=False)


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
    HELD.add(fd)
    write_fd: int | None = None
    locked = False
    try:
        # flock(1) opens the file read-only: our pid is written through a descriptor of ours
        write_fd = None if own else _open(path)
        _check_file(path, fd)
        if not _try_flock(fd) and not _take_over(path, fd, fcntl.LOCK_EX):
            raise RunInProgress(
                f"another warehouse run holds {path} ({_held_by(path, fd)}); "
                "wait for it to finish, or check that process"
            )
        locked = True
        _taken(path, fd, write_fd)
        yield
    finally:
        if write_fd is not None:
            if locked:
                os.ftruncate(write_fd, 0)
            os.close(write_fd)
        if own:
            _release(fd, clear=locked)  # closing the only descriptor releases the lock
        else:
            HELD.discard(fd)
