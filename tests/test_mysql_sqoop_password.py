"""The sqoop engine's password file after a kill -9: gone once read, cleaned up next run.

Sqoop cannot be installed here: a stub `sqoop` on PATH stands for it (it records its
argv, reads the `--password-file` or not, then waits to be killed). The import runs as
`warehouse import` in its own process against the real MariaDB fixture, and is killed
with SIGKILL as a timeout or the OOM killer would.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import tomlkit

from tests.fixtures._util import wait_for
from tests.test_mysql_import import PASSWORD, USER
from warehouse.mysql.sqoop import PASSWORD_DIR_PREFIX

pytestmark = pytest.mark.mysql

STUB = """#!/bin/sh
# stub sqoop: record pid and password file, read it when asked, then wait to be killed
pwfile=""
prev=""
for a in "$@"; do
  [ "$prev" = "--password-file" ] && pwfile="${a#file://}"
  prev="$a"
done
if [ "$STUB_MODE" = "read" ]; then
  cat "$pwfile" > "$STUB_DIR/read.txt"
  # a real Sqoop runs for minutes after reading it: give the remover time to act
  for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
    [ -e "$pwfile" ] || break
    sleep 0.25
  done
fi
if [ "$STUB_MODE" = "fail" ]; then
  sleep "${STUB_FAIL_AFTER:-0}"
  echo "stub sqoop: failing" >&2
  exit 1
fi
echo "$$ $pwfile" > "$STUB_DIR/started.tmp" && mv "$STUB_DIR/started.tmp" "$STUB_DIR/started"
exec sleep 120
"""


def _setup(tmp_path: Path, mariadb) -> tuple[Path, dict[str, str]]:
    db = mariadb.create_database("sqoopdb")
    mariadb.execute("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))", database=db)
    mariadb.create_user(USER, PASSWORD, db)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub = bin_dir / "sqoop"
    stub.write_text(STUB)
    stub.chmod(0o755)
    pw = tmp_path / "db.pass"
    pw.write_text(PASSWORD)
    section = mariadb.mysql_section([db], USER, str(pw), engine="sqoop")
    toml = tmp_path / "w.toml"
    toml.write_text(tomlkit.dumps({"warehouse": {"root": str(tmp_path / "root")},
                                   "mysql": {"src": section}}))
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "TMPDIR": str(tmp), "STUB_DIR": str(tmp_path)}
    return toml, env


def _warehouse(toml: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", "from warehouse.cli import main; main()", "--config", str(toml),
         "import"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )


def _kill_during_sqoop(tmp_path: Path, toml: Path, env: dict[str, str]) -> Path:
    """Start the import, wait for the stub sqoop, kill -9 both; return the password path."""
    proc = _warehouse(toml, env)
    started = tmp_path / "started"
    try:
        wait_for(started.exists, timeout=60, what="the stub sqoop to start")
    finally:
        if started.exists():
            pid, pwfile = started.read_text().split()
            os.kill(int(pid), signal.SIGKILL)  # the stub, our process's child
        proc.kill()  # SIGKILL: no finally, no atexit in the warehouse process
        proc.wait(timeout=30)
    started.unlink()
    return Path(pwfile)


def _password_files(tmp: Path) -> list[Path]:
    return [p for d in tmp.glob(f"{PASSWORD_DIR_PREFIX}*") for p in d.iterdir()]


def test_password_file_gone_once_sqoop_has_read_it(tmp_path, mariadb):
    toml, env = _setup(tmp_path, mariadb)
    pwfile = _kill_during_sqoop(tmp_path, toml, {**env, "STUB_MODE": "read"})
    assert (tmp_path / "read.txt").read_text() == PASSWORD  # Sqoop got it, no newline
    assert pwfile.parent.parent == tmp_path / "tmp"
    wait_for(lambda: not pwfile.exists(), timeout=5, what="removal of the password file")
    assert _password_files(tmp_path / "tmp") == []


def test_leftover_of_a_killed_run_is_removed_by_the_next_run(tmp_path, mariadb):
    toml, env = _setup(tmp_path, mariadb)
    pwfile = _kill_during_sqoop(tmp_path, toml, {**env, "STUB_MODE": "wait"})
    # killed before Sqoop read it: the file is left (0600, only our user can read it)
    assert pwfile.read_text() == PASSWORD and (pwfile.stat().st_mode & 0o777) == 0o600
    # a folder of a process still running is not touched
    alive = tmp_path / "tmp" / f"{PASSWORD_DIR_PREFIX}{os.getpid()}-x"
    alive.mkdir()
    nxt = subprocess.run(
        [sys.executable, "-c", "from warehouse.cli import main; main()", "--config", str(toml),
         "import"],
        env={**env, "STUB_MODE": "fail", "STUB_FAIL_AFTER": "1.5"}, capture_output=True,
        text=True, timeout=120,
    )
    assert nxt.returncode == 5, nxt.stdout + nxt.stderr
    # the ERROR line of the failed table shows the time it really took (not 0.0s)
    logged = re.search(r"ERROR.*src\.sqoopdb\.t .*FAILED after (\d+\.\d)s", nxt.stderr)
    assert logged and float(logged.group(1)) >= 1.5, nxt.stderr
    assert "sqoop exited 1" in nxt.stdout and PASSWORD not in nxt.stdout + nxt.stderr
    assert not pwfile.exists() and not pwfile.parent.exists()
    assert alive.exists()
    assert [d.name for d in (tmp_path / "tmp").iterdir()] == [alive.name]
