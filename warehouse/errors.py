"""Error tree: every library error carries the CLI exit code of its failure class.

Exit codes (see DESIGN.md): 0 ok; 1 unexpected; 2 usage or config error; 3 a source
unavailable (SSH, MySQL, S3, Hive); 4 input missing; 5 a job, import or query failed
(or too many rejects); 6 another run is in progress; 130 interrupted (Ctrl-C, or SIGTERM).

One error channel: a precondition that stops a command (bad config, a source down, no
input) raises a `WarehouseError`; the outcome of work done item by item (files parsed,
tables imported, partitions registered) is a summary object satisfying `Summary`, whose
`exit_code` combines the failed items' classes. `cli/` prints either and exits with
its code; `run/stages.py` records either per stage.
"""

from __future__ import annotations

import errno
from collections.abc import Iterable
from typing import Protocol

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_CONFIG = 2
EXIT_UNAVAILABLE = 3
EXIT_INPUT_MISSING = 4
EXIT_FAILED = 5
EXIT_LOCKED = 6
EXIT_INTERRUPTED = 130  # Ctrl-C (SIGINT), as a shell reports it; SIGTERM too (Terminated)

# what each exit code means, in words (status, alerts)
EXIT_CLASSES = {
    EXIT_OK: "ok",
    EXIT_UNEXPECTED: "unexpected error",
    EXIT_CONFIG: "config error",
    EXIT_UNAVAILABLE: "source unavailable",
    EXIT_INPUT_MISSING: "input missing",
    EXIT_FAILED: "job failed",
    EXIT_LOCKED: "locked",
    EXIT_INTERRUPTED: "interrupted",
}


class WarehouseError(Exception):
    """Base of all expected failures; `str(err)` is one line naming the thing and the fix."""

    exit_code = EXIT_UNEXPECTED


class ConfigError(WarehouseError):
    """The configuration or the command line is wrong (exit 2)."""

    exit_code = EXIT_CONFIG


class SourceUnavailable(WarehouseError):
    """A service (SSH bastion, MySQL, S3, HiveServer2) cannot be reached (exit 3)."""

    exit_code = EXIT_UNAVAILABLE


class InputMissing(WarehouseError):
    """An input file, object or partition does not exist (exit 4)."""

    exit_code = EXIT_INPUT_MISSING


class JobFailed(WarehouseError):
    """A job, import or query ran and failed (exit 5)."""

    exit_code = EXIT_FAILED


class QueryFailed(JobFailed):
    """HiveServer2 rejected or failed a statement (exit 5)."""


class CorruptState(JobFailed):
    """A state file, run record or stored key is damaged or tampered with (exit 5): its
    message names the file; nothing was read or deleted on its say-so."""


class RunInProgress(WarehouseError):
    """Another `warehouse run` holds the lock (exit 6)."""

    exit_code = EXIT_LOCKED


class ItemLocked(RunInProgress):
    """Another process parses the same input or imports the same table (exit 6)."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (`kill PID`, cron's or systemd's stop, `timeout`): raised in the main thread
    by the `warehouse` command's handler, so a command stops as at Ctrl-C (exit 130)."""


def interrupted_by(exc: BaseException | None) -> str:
    """Return what interrupted a command, in words: `SIGTERM` or `Ctrl-C` (SIGINT)."""
    return "SIGTERM" if isinstance(exc, Terminated) else "Ctrl-C"


class Summary(Protocol):
    """What every flow returns: its exit code (0, or the combined class of its failed
    items) and the one line the CLI prints and run records keep."""

    @property
    def exit_code(self) -> int: ...

    def line(self) -> str: ...


# a full disk or quota, or a file over its size limit: the place written to, not the
# input, is the problem (exit 3 wherever it is met)
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def from_oserror(exc: OSError, what: str, *, fix: str = "free space there") -> SourceUnavailable | None:
    """Return the error of a full disk met writing `what` (a file or folder): SourceUnavailable
    (exit 3), the one line `cannot write WHAT: STRERROR; FIX`. Returns None for any other
    errno, which each caller handles as its own (a traceback, a failed job, ...)."""
    if exc.errno not in DISK_FULL_ERRNOS:
        return None
    return write_failed(exc, what, fix=fix)


def write_failed(exc: OSError, what: str, *, fix: str) -> SourceUnavailable:
    """Return the error of a failed write of `what` (a file or folder): SourceUnavailable
    (exit 3), the one line `cannot write WHAT: STRERROR; FIX`; `from_oserror` for a full
    disk, or a store whose every write error is its own."""
    return SourceUnavailable(f"cannot write {what}: {exc.strerror or exc}; {fix}")


def combined_exit_code(codes: Iterable[int]) -> int:
    """Return the exit code for several failures: an interruption (130) wins, then the
    lowest of 2, 3, 4 wins over 5 and 6."""
    failing = sorted({c for c in codes if c})
    if not failing:
        return EXIT_OK
    for preferred in (EXIT_INTERRUPTED, EXIT_CONFIG, EXIT_UNAVAILABLE, EXIT_INPUT_MISSING):
        if preferred in failing:
            return preferred
    return failing[0]


def mask_secret(text: str, *secrets: str | None) -> str:
    """Return `text` with every non-empty secret replaced by `****`."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "****")
    return text
