"""The run lock against planted files, and `config check` in one pass, through the CLI."""

from __future__ import annotations

import fcntl
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures._util import require_executable, service_missing
from tests.test_cron import _command_of
from warehouse.config import load_config
from warehouse.run.cron import render_crontab

WAREHOUSE_BIN = str(Path(sys.executable).parent / "warehouse")
NOBODY = 65534


def _run(conf: Path, *args: str, home: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if home is not None:
        env["HOME"] = str(home)
    return subprocess.run(
        [WAREHOUSE_BIN, "--config", str(conf), *args],
        capture_output=True, text=True, timeout=120, env=env,
    )


def _conf(tmp_path: Path, lock: Path | None) -> Path:
    conf = tmp_path / "w.toml"
    text = f'[warehouse]\nroot = "{tmp_path / "root"}"\n'
    if lock is not None:
        text += f'[cron]\nlock_file = "{lock}"\n'
    conf.write_text(text)
    return conf


def _one_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


def test_a_planted_symlink_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    lock = tmp_path / "locks" / "run.lock"
    lock.parent.mkdir(mode=0o700)
    lock.symlink_to(victim)
    proc = _run(_conf(tmp_path, lock), "run", "--date", "2024-01-01")
    assert proc.returncode == 2, proc.stderr
    line = _one_line(proc.stderr)
    assert str(lock) in line and "symbolic link" in line
    assert victim.read_text() == "precious\n"


def _need_root() -> None:
    if os.geteuid() != 0:
        service_missing("root (to give a file to another user)")


def test_a_lock_file_owned_by_someone_else_is_refused(tmp_path: Path) -> None:
    _need_root()
    folder = tmp_path / "locks"
    folder.mkdir(mode=0o1777)
    folder.chmod(0o1777)  # sticky and world-writable, like /tmp or /run/lock
    lock = folder / "run.lock"
    lock.write_text("")
    os.chown(lock, NOBODY, NOBODY)
    proc = _run(_conf(tmp_path, lock), "run", "--date", "2024-01-01")
    assert proc.returncode == 2, proc.stderr
    line = _one_line(proc.stderr)
    assert str(lock) in line and f"uid {NOBODY}" in line and "not by you" in line


def test_a_folder_others_control_is_refused(tmp_path: Path) -> None:
    _need_root()
    open_folder = tmp_path / "open"
    open_folder.mkdir()
    open_folder.chmod(0o777)  # anyone may replace the file
    proc = _run(_conf(tmp_path, open_folder / "run.lock"), "run", "--date", "2024-01-01")
    assert proc.returncode == 2 and "writable by other users" in _one_line(proc.stderr)
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o755)
    os.chown(theirs, NOBODY, NOBODY)
    proc = _run(_conf(tmp_path, theirs / "run.lock"), "run", "--date", "2024-01-01")
    assert proc.returncode == 2 and "belongs to" in _one_line(proc.stderr)
    assert not (theirs / "run.lock").exists()


def test_default_lock_is_private_and_the_crontab_uses_the_same_file(tmp_path: Path) -> None:
    require_executable("flock")
    home = tmp_path / "home"
    home.mkdir()
    logs = tmp_path / "logs"
    conf = tmp_path / "w.toml"
    conf.write_text(
        f'[warehouse]\nroot = "{tmp_path / "root"}"\n'
        f'[cron]\nwarehouse_bin = "{WAREHOUSE_BIN}"\nlog_dir = "{logs}"\ncatchup_days = 1\n'
    )
    # by hand: the default lock is created in a 0700 folder under the home directory
    by_hand = _run(conf, "run", "--date", "2024-01-01", home=home)
    assert by_hand.returncode == 2, by_hand.stderr  # no [logs] input: parse fails (2)
    lock = home / ".local" / "state" / "warehouse" / "run.lock"
    assert stat.S_IMODE(lock.parent.stat().st_mode) == 0o700
    assert lock.is_file() and not lock.is_symlink()
    assert stat.S_IMODE(lock.stat().st_mode) & 0o077 == 0
    # the rendered crontab line locks that same file: a held lock makes cron's run exit 6
    old_home = os.environ.get("HOME")
    os.environ["HOME"] = str(home)
    try:
        line = next(ln for ln in render_crontab(load_config(conf)).splitlines() if "flock" in ln)
    finally:
        if old_home is None:
            del os.environ["HOME"]
        else:
            os.environ["HOME"] = old_home
    assert '"$HOME"/.local/state/warehouse/run.lock' in line
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin"}
    with open(lock, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        blocked = subprocess.run(["/bin/sh", "-c", _command_of(line)], env=env, timeout=120)
        assert blocked.returncode == 6
        again = _run(conf, "run", "--date", "2024-01-01", home=home)
        assert again.returncode == 6 and "another warehouse run holds" in again.stderr
    # released: cron's line runs (and fails its parse stage for want of [logs] input)
    done = subprocess.run(["/bin/sh", "-c", _command_of(line)], env=env, timeout=120)
    assert done.returncode == 2


# --- config check ----------------------------------------------------------------------


def test_config_check_reports_every_problem_in_one_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WH_UNSET_PASSWORD", raising=False)
    conf = tmp_path / "w.toml"
    conf.write_text(
        "[logs]\n"
        'format = "%h %l %u %>s"\n'  # no time field
        'ip = "%{X-Forwarded-For}i"\n'  # the format has no such header
        'patterns = "missing-urls.json"\n'
        "workers = 0\n"
        "[aggregate]\n"
        'mrjob_conf = "missing-mrjob.conf"\n'
        'jobs = ["nope"]\n'
        "[mysql.shop]\n"
        'user = "etl"\n'
        'databases = ["shop"]\n'
        'password_env = "WH_UNSET_PASSWORD"\n'
    )
    proc = _run(conf, "config", "check")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    line = _one_line(proc.stderr)
    for needle in (
        "workers must be at least 1",  # load-time problems...
        "unknown nope",
        "no time field",  # ...and what commands would refuse, in the same pass
        "X-Forwarded-For",
        "missing-urls.json does not exist",
        "missing-mrjob.conf does not exist",
        "$WH_UNSET_PASSWORD is not set",
    ):
        assert needle in line, (needle, line)
    # the variable set: that problem goes, the others stay
    monkeypatch.setenv("WH_UNSET_PASSWORD", "x")
    proc = _run(conf, "config", "check")
    assert proc.returncode == 2 and "WH_UNSET_PASSWORD" not in proc.stderr


def test_a_config_that_is_not_utf8_is_exit_2_in_one_line(tmp_path: Path) -> None:
    conf = tmp_path / "w.toml"
    conf.write_bytes(b'[warehouse]\nroot = "caf\xe9"\n')  # Latin-1
    for args in (["config", "check"], ["run", "--date", "2024-01-01"], ["parse", "-"]):
        proc = _run(conf, *args)
        assert proc.returncode == 2, proc.stderr
        line = _one_line(proc.stderr)
        assert str(conf) in line and "not UTF-8" in line and "0xe9" in line
