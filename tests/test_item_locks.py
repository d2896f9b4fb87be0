"""Two `parse` of one input, or two `import` of one table, at once: the second leaves the
item alone (exit 6, one line naming it and the holder's pid), the first completes intact.

Real processes through the CLI: the first is started, the test waits (polling with a
deadline) until it has begun writing (its staging tree, its `load=` folder), stops it with
SIGSTOP so that it is mid-way whatever the machine's speed, checks that it holds its item
lock, runs the second to its end, then lets the first go on. Without the locks the second
removes the first's staging (or load folder) and the first fails.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.fixtures._util import sample_log
from tests.test_mysql_import import PASSWORD, USER, _query, _read_rows, _state, _toml_config

WAREHOUSE_BIN = str(Path(sys.executable).parent / "warehouse")
SAMPLE = Path(sample_log())


def _cli(conf: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [WAREHOUSE_BIN, "--config", str(conf), *args],
        capture_output=True, text=True, timeout=600,
    )


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _wait_busy(proc: subprocess.Popen[str], busy: Callable[[], bool]) -> None:
    """Poll (deadline 120 s) until `busy()` says `proc` has begun writing its item."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the first process ended early: {proc.communicate()}"
        if busy():
            return
        time.sleep(0.005)
    raise AssertionError(f"pid {proc.pid} wrote nothing in 120 s")


def _lock_of(items: Path, kind: str, pid: int) -> Path:
    """Return the `kind` lock file that records `pid` (the holder writes it once locked)."""
    found = [p for p in items.glob(f"{kind}-*.lock") if p.read_text().strip() == str(pid)]
    assert len(found) == 1, (sorted(items.glob("*")), pid)
    return found[0]


def _is_locked(path: Path) -> bool:
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


@contextmanager
def _paused_holder(
    conf: Path, items: Path, kind: str, busy: Callable[[], bool], *args: str
) -> Iterator[int]:
    """Start `warehouse ARGS`, stop it once `busy()`, check that it holds its `kind` lock;
    yield its pid; on exit let it go on and require that it ends with exit 0."""
    first = subprocess.Popen(
        [WAREHOUSE_BIN, "--config", str(conf), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        _wait_busy(first, busy)
        os.kill(first.pid, signal.SIGSTOP)
        lock = _lock_of(items, kind, first.pid)
        assert _is_locked(lock), "the first process finished before it could be paused"
        yield first.pid
        os.kill(first.pid, signal.SIGCONT)
        out, err = first.communicate(timeout=600)
        assert first.returncode == 0, out + err
        assert not _is_locked(lock)
    finally:
        if first.poll() is None:
            os.kill(first.pid, signal.SIGCONT)
            first.kill()
            first.wait()


def _parse_conf(tmp_path: Path, name: str) -> Path:
    conf = tmp_path / f"{name}.toml"
    conf.write_text(
        f'[warehouse]\nroot = "{tmp_path / name}"\n'
        f'[cron]\nlock_file = "{tmp_path / "locks" / "run.lock"}"\n'
    )
    return conf


@pytest.mark.parametrize("how", [["--workers", "2"], ["-r", "local"]], ids=["workers", "local"])
def test_a_second_parse_of_the_same_input_leaves_it_to_the_first(
    tmp_path: Path, how: list[str]
) -> None:
    big, small = tmp_path / "big.log", tmp_path / "small.log"
    text = SAMPLE.read_bytes()
    big.write_bytes(text * 20)  # 47 MB: two byte ranges, for the two workers
    small.write_bytes(b"".join(text.splitlines(keepends=True)[:500]))
    conf = _parse_conf(tmp_path, "root")
    items = tmp_path / "locks" / "run-items"
    staging = tmp_path / "root" / "_staging"

    def busy() -> bool:
        return any(p.is_file() for p in staging.rglob("*"))

    # in process, with worker processes; or as mrjob tasks (the driver holds the locks)
    with _paused_holder(conf, items, "parse", busy, "parse", str(big), *how) as pid:
        second = _cli(conf, "parse", str(big), str(small))
        assert second.returncode == 6, second.stdout + second.stderr
        out = second.stdout + second.stderr
        assert "Traceback" not in out
        named = [ln for ln in out.splitlines() if f"input {big}" in ln]
        assert named and all(f"pid {pid}" in ln and "re-run" in ln for ln in named), out
        assert "500 lines from 2 inputs" in out  # the other input went on
    # a clean parse of each input, one after the other, gives the same objects
    clean = _parse_conf(tmp_path, "clean")
    for path in (big, small):
        assert _cli(clean, "parse", str(path)).returncode == 0
    got, want = _tree(tmp_path / "root"), _tree(tmp_path / "clean")
    assert sorted(got) == sorted(want)
    assert got == want
    assert not any("_staging" in k for k in got)


@pytest.mark.mysql
def test_a_second_import_of_the_same_table_leaves_it_to_the_first(
    tmp_path: Path, sshd, mariadb
) -> None:
    db = mariadb.create_database("lockdb")
    mariadb.execute("CREATE TABLE big (id INT PRIMARY KEY, pad VARCHAR(200))", database=db)
    mariadb.execute("INSERT INTO big SELECT seq, REPEAT('x', 150) FROM seq_1_to_400000",
                    database=db)
    mariadb.execute("CREATE TABLE small (id INT PRIMARY KEY)", database=db)
    mariadb.execute("INSERT INTO small VALUES (1), (2), (3)", database=db)
    mariadb.create_user(USER, PASSWORD, db)
    (tmp_path / "db.pass").write_text(PASSWORD + "\n")
    root = tmp_path / "root"
    conf = _toml_config(tmp_path, sshd, mariadb, root, db,
                        extra=f'[cron]\nlock_file = "{tmp_path / "locks" / "run.lock"}"\n')
    items = tmp_path / "locks" / "run-items"
    table = root / "mysql" / "src" / db / "big"

    def busy() -> bool:
        return any(table.glob("load=*/*"))

    with _paused_holder(conf, items, "import", busy, "import", f"src.{db}.big") as pid:
        second = _cli(conf, "import", f"src.{db}")
        out = second.stdout + second.stderr
        assert second.returncode == 6, out
        assert "Traceback" not in out
        named = [ln for ln in out.splitlines() if f"src.{db}.big" in ln]
        assert named and all(f"pid {pid}" in ln and "re-run" in ln for ln in named), out
        assert sorted(r["id"] for r in _read_rows(root, "src", db, "small")) == [1, 2, 3]
    rows = _read_rows(root, "src", db, "big")
    assert len(rows) == 400000
    want = [r[0] for r in _query(mariadb, db, "SELECT id FROM big ORDER BY id")]
    assert sorted(r["id"] for r in rows) == want
    state = _state(root, "src", db, "big")
    loads = sorted(p.name for p in table.iterdir())
    assert loads == [f"load={load}" for load in state["loads"]] and len(loads) == 1
