"""The `warehouse import` command through the openssh backend, as a real process.

The command runs as a child (`python -m warehouse.cli`) so its ssh child can be watched
through /proc: no secret on its argv or in its environment, and gone after the command,
whether the import succeeded, failed, or the command was killed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures._util import wait_for
from tests.test_mysql_import import PASSWORD, USER, make_nasty_db

pytestmark = pytest.mark.mysql

ROOT_DIR = Path(__file__).resolve().parents[1]


def _children(pid: int) -> list[int]:
    out: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                kids = [int(x) for x in Path(f"/proc/{parent}/task/{task}/children").read_text().split()]
            except OSError:
                continue
            out.extend(kids)
            todo.extend(kids)
    return out


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError:
        return b""


class SshWatcher:
    """Poll the command's descendants; remember every ssh process, its argv and environ."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.seen: dict[int, dict[str, bytes]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for kid in _children(self.pid):
                if kid in self.seen:
                    continue
                argv = _read(f"/proc/{kid}/cmdline")
                if argv.split(b"\0")[0].endswith(b"ssh"):
                    self.seen[kid] = {"argv": argv, "environ": _read(f"/proc/{kid}/environ")}
            time.sleep(0.002)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def _toml(tmp_path: Path, sshd, mariadb, db: str, **extra: Any) -> Path:
    section = {
        "host": "127.0.0.1", "port": mariadb.port, "user": USER,
        "password_env": "WH_TEST_DB_PW", "tunnel": "bastion", "databases": [db],
        "exclude": ["*_tmp"], **extra,
    }
    lines = [f'[warehouse]\nroot = "{tmp_path / "root"}"', "[ssh.bastion]"]
    lines += [f"{k} = {v!r}".replace("'", '"') for k, v in sshd.ssh_section().items()]
    lines.append('backend = "openssh"')
    lines.append("[mysql.src]")
    lines += [f"{k} = {v!r}".replace("'", '"') for k, v in section.items()]
    path = tmp_path / "warehouse.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _start(toml: Path, password: str, *args: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, WH_TEST_DB_PW=password, PYTHONPATH=str(ROOT_DIR))
    return subprocess.Popen(
        [sys.executable, "-m", "warehouse.cli", "--config", str(toml), "import", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
    )


def _gone(pid: int) -> bool:
    stat = _read(f"/proc/{pid}/stat")
    return not stat or stat.split(b")")[-1].split()[0] == b"Z"


@pytest.fixture(scope="module")
def nasty(mariadb) -> str:
    return make_nasty_db(mariadb)


def test_import_ssh_child_has_no_secret_and_is_gone_after(tmp_path, sshd, mariadb, nasty):
    proc = _start(_toml(tmp_path, sshd, mariadb, nasty), PASSWORD)
    watcher = SshWatcher(proc.pid)
    out, _ = proc.communicate(timeout=120)
    watcher.stop()
    assert proc.returncode == 0, out.decode()
    assert b"1 table (1 ok, 0 failed), 5 rows" in out
    assert len(watcher.seen) == 1, "the import ran through one ssh process"
    (pid, info), = watcher.seen.items()
    argv = info["argv"].split(b"\0")
    assert b"-N" in argv and b"ExitOnForwardFailure=yes" in argv
    assert b"StrictHostKeyChecking=yes" in argv and b"BatchMode=yes" in argv
    assert PASSWORD.encode() not in info["argv"] and PASSWORD.encode() not in info["environ"]
    assert b"WH_TEST_DB_PW" not in info["environ"]
    assert _gone(pid)


def test_failed_import_stops_ssh_too(tmp_path, sshd, mariadb, nasty):
    wrong = "Wr0ng-Pa55-Zebra"
    proc = _start(_toml(tmp_path, sshd, mariadb, nasty), wrong)
    watcher = SshWatcher(proc.pid)
    out, _ = proc.communicate(timeout=120)
    watcher.stop()
    assert proc.returncode == 3, out.decode()
    assert b"Access denied" in out and wrong.encode() not in out
    assert len(watcher.seen) == 1
    assert all(_gone(pid) for pid in watcher.seen)


def test_killed_command_takes_its_ssh_child_along(tmp_path, sshd, mariadb):
    db = mariadb.create_database("killdb")
    mariadb.execute("CREATE TABLE big (id INT PRIMARY KEY, pad VARCHAR(200))", database=db)
    mariadb.execute("INSERT INTO big SELECT seq, REPEAT('x', 150) FROM seq_1_to_300000",
                    database=db)
    mariadb.create_user(USER, PASSWORD, db)
    proc = _start(_toml(tmp_path, sshd, mariadb, db, driver="pymysql"), PASSWORD)
    watcher = SshWatcher(proc.pid)
    try:
        wait_for(lambda: bool(watcher.seen), 60, "the command to start ssh", poll=0.01)
        root = tmp_path / "root"
        wait_for(lambda: any(p.name.startswith("_") for p in root.rglob("*")), 60,
                 "the import to start writing", poll=0.01)
        proc.send_signal(signal.SIGKILL)  # no finally runs: PR_SET_PDEATHSIG must act
        proc.wait(timeout=30)
    finally:
        watcher.stop()
        if proc.poll() is None:
            proc.kill()
    (pid,) = watcher.seen
    wait_for(lambda: _gone(pid), 10, "ssh to exit after its parent died")
