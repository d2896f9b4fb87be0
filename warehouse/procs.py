"""Worker processes die with the command that started them (STYLE: processes die together).

`worker_init` is the initializer of every ProcessPoolExecutor the toolkit starts (`parse
--workers`, `import` with `split_workers`). In the worker it:

- asks the kernel for SIGKILL when the parent dies (Linux `prctl(PR_SET_PDEATHSIG)`, via
  ctypes), then checks that the parent is still the one that started it (it may have died
  before the prctl);
- starts a watchdog thread that polls `os.getppid()` every WATCH_SECONDS and ends the
  worker when it changes (a re-parented orphan: other systems, or a parent thread gone);
- closes the lock descriptors a forked worker inherits (`HELD`, which `warehouse.lock`
  fills), so a worker never keeps the run lock or an input's lock of its parent;
- names itself `WORKER_NAME` (/proc/PID/comm), which is how `warehouse.lock` recognises
  an orphaned worker of a dead run still holding a lock (killed between the fork and
  this initializer, so it kept its copies; `warehouse.lock` then kills it);
- takes SIGINT and SIGTERM as a stop: inside a task (`worker_call`) they raise
  KeyboardInterrupt, so the task removes what it wrote (an S3 upload aborted) on its way
  out; between tasks the worker exits at once, quietly (no traceback on stderr).

A terminal's Ctrl-C reaches every process of the group, workers included; a SIGINT or
SIGTERM sent to the command alone (`kill PID`, a supervisor, systemd's KillMode=process)
does not, so the command passes it on with `interrupt_workers` when it stops.

Without this, `kill -9` of `warehouse run` left its workers blocked on their task queue
for ever, holding the inherited lock descriptors, and every later run exited 6.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor
from contextlib import suppress
from typing import Any, TypeVar

WATCH_SECONDS = 0.5
WORKER_NAME = "wh-worker"  # /proc/PID/comm of a worker process
HELD: set[int] = set()  # lock descriptors this process holds (a forked worker closes them)
T = TypeVar("T")
_PR_SET_PDEATHSIG = 1
_PR_SET_NAME = 15


def _prctl(option: int, arg: int | bytes) -> bool:
    """Call prctl(2) (Linux only); return whether it succeeded."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return int(libc.prctl(option, arg, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent: int) -> None:
    while True:
        time.sleep(WATCH_SECONDS)
        if os.getppid() != parent:
            os._exit(70)  # the parent is gone: no result can be delivered, stop now


def _exit_idle(signum: int, frame: object) -> None:
    os._exit(128 + signum)  # between tasks: nothing to clean up, nothing to report


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _stop_signals(handler: Callable[[int, Any], None]) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)


def worker_call(fn: Callable[..., T], *args: Any) -> T:
    """Return `fn(*args)`, run in a worker with SIGINT and SIGTERM raising KeyboardInterrupt
    (what the pools submit); between tasks they end the worker quietly."""
    _stop_signals(_raise_interrupt)
    try:
        return fn(*args)
    finally:
        _stop_signals(_exit_idle)


def interrupt_workers(pool: Executor) -> None:
    """Send SIGINT to the worker processes of a ProcessPoolExecutor (they got no signal of
    their own: the command alone was interrupted); never raises."""
    procs = getattr(pool, "_processes", None) or {}
    for pid in list(procs):
        with suppress(OSError):
            os.kill(pid, signal.SIGINT)


def worker_init(parent: int) -> None:
    """Tie this worker process to `parent` (the pid that started the pool): die with it,
    drop inherited lock descriptors, name the process. Returns; exits when orphaned."""
    _prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL))
    if os.getppid() != parent:  # died before the prctl took effect
        os._exit(70)
    for fd in sorted(HELD):  # the parent keeps its locks: a flock is the open file's
        with suppress(OSError):
            os.close(fd)
    HELD.clear()
    _prctl(_PR_SET_NAME, WORKER_NAME.encode())
    _stop_signals(_exit_idle)
    threading.Thread(target=_watch, args=(parent,), name="parent-watch", daemon=True).start()


def orphan_worker(pid: int, holders: list[int]) -> bool:
    """True when `pid` is a worker process (WORKER_NAME) whose parent is not in `holders`
    (the processes holding a lock: its run is gone, it was re-parented)."""
    try:
        with open(f"/proc/{pid}/comm", "rb") as f:
            comm = f.read().decode("utf-8", "replace").strip()
        with open(f"/proc/{pid}/stat", "rb") as f:
            ppid = int(f.read().rpartition(b")")[2].split()[1])
    except (OSError, ValueError, IndexError):
        return False
    return comm == WORKER_NAME and ppid not in holders


def holding(path: os.PathLike[str] | str) -> list[int]:
    """Return the other processes (of ours: /proc) with a descriptor open on `path`."""
    try:
        st = os.stat(path)
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]
    except OSError:
        return []
    out = []
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                fst = os.stat(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if (fst.st_dev, fst.st_ino) == (st.st_dev, st.st_ino):
                out.append(pid)
                break
    return out
