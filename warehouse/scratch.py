"""Scratch space that a killed process does not leak: owner-tagged names, cleaned next time.

A command's scratch folder is `$TMPDIR/warehouse-<kind>-<pid>-<random>` and a local
store's file in progress is `_tmp.<name>.<pid>-<random>`. A kill -9 leaves them behind;
the next command of the same kind removes the ones whose process is gone (and only
those: a concurrent run's folder or file belongs to a live pid and is left alone).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

_TMP_FILE = re.compile(r"^_tmp\..+\.(\d+)-[0-9a-f]{12}$")


def pid_alive(pid: int) -> bool:
    """Return True when a process `pid` exists on this machine (ours or another user's)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def tmp_file_name(final: str) -> str:
    """Return the in-progress name of `final`, tagged with this process's id."""
    return f"_tmp.{final}.{os.getpid()}-{os.urandom(6).hex()}"


def live_tmp_file(name: str) -> bool:
    """Return True when `name` is an in-progress file whose writer process is alive."""
    m = _TMP_FILE.match(name)
    return m is not None and pid_alive(int(m.group(1)))


def clean_stale_dirs(kind: str, base: str | None = None) -> int:
    """Remove this user's `warehouse-<kind>-<pid>-*` folders whose process is gone; return how many."""
    folder = Path(base or tempfile.gettempdir())
    pattern = re.compile(rf"^warehouse-{re.escape(kind)}-(\d+)-[^/]+$")
    removed = 0
    try:
        entries = list(folder.iterdir())
    except OSError:
        return 0
    for entry in entries:
        m = pattern.match(entry.name)
        if m is None or pid_alive(int(m.group(1))):
            continue
        try:
            st = entry.lstat()
        except OSError:
            continue
        # only real folders of ours: never follow a planted symlink, never touch others'
        if st.st_uid != os.getuid() or not entry.is_dir() or entry.is_symlink():
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed += 1
        log.info("removed %s, left by a killed run (pid %s)", entry, m.group(1))
    return removed


@contextmanager
def scratch_dir(kind: str) -> Iterator[Path]:
    """Yield a fresh private scratch folder (0700), after removing ones killed runs left."""
    clean_stale_dirs(kind)
    path = Path(tempfile.mkdtemp(prefix=f"warehouse-{kind}-{os.getpid()}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
