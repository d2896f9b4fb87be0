"""A `warehouse run` killed with kill -9 while its parse workers run never blocks the next
one: the workers die with it (PR_SET_PDEATHSIG, a parent watchdog), hold none of its lock
descriptors, and the next run takes the lock over and clears the staged leftovers. Real
processes through the CLI; /proc says which processes are alive."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.test_pipeline import (
    DAY1,
    WAREHOUSE_BIN,
    base_config,
    event_count,
    sample_lines,
    write_config,
)
from warehouse.config import config_from_dict
from warehouse.run.records import load_record
from warehouse.storage import open_store

KILLS = 10


def children(pid: int) -> list[int]:
    """Return the live (not zombie) processes whose parent is `pid`."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_bytes().rpartition(b")")[2].split()
        except OSError:
            continue
        if int(stat[1]) == pid and stat[0] != b"Z":
            out.append(int(name))
    return out


def alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_bytes().rpartition(b")")[2].split()[0] != b"Z"
    except OSError:
        return False


def wait_for(cond: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def write_big_day(tmp: Path, files: int = 4, lines: int = 60_000) -> int:
    """Write `files` plain logs of `lines` lines each in DAY1's folder; return the total."""
    sample = sample_lines()
    folder = tmp / "logs" / DAY1.strftime("%Y/%m/%d")
    folder.mkdir(parents=True)
    body = b"".join(sample[i % len(sample)] for i in range(lines))
    for i in range(files):
        (folder / f"web{i}.log").write_bytes(body)
    return files * lines


def kill_loop(conf: Path, argv: list[str], kills: int, ready: Any = None) -> None:
    """Start the command `kills` times and kill -9 it (only it) once its workers run (and
    `ready()`, when given, says so); each time, every child it had must be gone within
    seconds."""
    for _ in range(kills):
        proc = subprocess.Popen([WAREHOUSE_BIN, "--config", str(conf), *argv],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for(lambda p=proc: len(children(p.pid)) >= 2 or p.poll() is not None, 120,
                     "the worker processes")
            kids = children(proc.pid)
            if ready is None:
                time.sleep(0.5)
            else:
                wait_for(lambda p=proc: ready() or p.poll() is not None, 120, "ready to kill")
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        assert kids, "the command finished before it could be killed: make the input bigger"
        wait_for(lambda k=kids: not any(alive(p) for p in k), 10, f"workers {kids} to die")


@pytest.mark.slow
@pytest.mark.parametrize("where", ["local", "s3"])
def test_run_killed_with_workers_never_blocks_the_next(
    tmp_path: Path, where: str, request: pytest.FixtureRequest
) -> None:
    total = write_big_day(tmp_path)
    data = base_config(tmp_path, logs={
        "input": str(tmp_path / "logs") + "/{date:%Y/%m/%d}/",
        "patterns": str(tmp_path / "urls.json"), "workers": 2,
    })
    root: Path | str = tmp_path / "root"
    if where == "s3":
        bucket = request.getfixturevalue("s3_bucket")
        s3 = request.getfixturevalue("s3_client")
        data["warehouse"]["root"] = root = f"s3://{bucket}/wh"
        data["s3"] = {"endpoint_url": request.getfixturevalue("moto_server")}
    conf = write_config(tmp_path / "w.toml", data)

    def staged() -> list[str]:
        if where == "local":
            return [str(p) for p in (tmp_path / "root/_staging").rglob("*") if p.is_file()]
        listed = s3.list_objects_v2(Bucket=bucket, Prefix="wh/_staging/").get("Contents", [])
        uploads = s3.list_multipart_uploads(Bucket=bucket, Prefix="wh/_staging/")
        return [o["Key"] for o in listed] + [u["Key"] for u in uploads.get("Uploads", [])]

    argv = ["-v", "run", "--date", str(DAY1), "--only", "parse"]
    kill_loop(conf, argv, KILLS)
    # once more, after the first objects were staged (half a second after the workers
    # start may be before they write anything, or after the inputs were published)
    kill_loop(conf, argv, 1, ready=lambda: bool(staged()))
    # the killed run's pid is still in the lock file: the next run takes it over
    assert (tmp_path / "run.lock").read_text().strip().isdigit()
    assert staged(), "the killed runs staged nothing: kill them later"
    # the killed run's record already names the day's inputs (what a rename is judged by)
    killed = load_record(open_store(str(root), config_from_dict(data).s3), DAY1, "parse")
    assert killed is not None and killed.status == "running" and isinstance(killed.inputs, dict)
    assert sorted(killed.inputs) == sorted(
        str(p) for p in (tmp_path / "logs").rglob("*.log")
    ) and killed.renamed == {}
    done = subprocess.run(
        [WAREHOUSE_BIN, "--config", str(conf), "-v", "run", "--date", str(DAY1), "--only", "parse"],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "parse ok" in done.stdout, done.stdout
    assert "taken over from pid" in done.stderr
    assert staged() == [], "staged leftovers of the killed runs"
    assert (tmp_path / "run.lock").read_text() == ""  # released: no owner recorded
    store = open_store(str(root), config_from_dict(data).s3)
    rec = load_record(store, DAY1, "parse")
    assert rec is not None and rec.counts is not None and rec.counts["lines"] == total
    if where == "local":
        assert event_count(tmp_path / "root") == rec.counts["events"]


def _orphan(lock: Path, name: bytes) -> int:
    """Start a process that takes `lock`, records its pid and dies, leaving a child (named
    `name` when given) that holds the lock; return the child's pid."""
    code = (
        "import fcntl, os, sys, time, ctypes\n"
        f"fd = os.open({str(lock)!r}, os.O_RDWR | os.O_CREAT)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\n"
        "os.ftruncate(fd, 0)\n"
        "os.write(fd, b'%d\\n' % os.getpid())\n"
        "if os.fork():\n"
        "    os._exit(0)\n"  # the owner dies; its child (the 'worker') keeps the lock
        f"ctypes.CDLL('libc.so.6').prctl(15, {name!r}, 0, 0, 0) if {bool(name)} else None\n"
        "print(os.getpid(), flush=True)\n"
        "time.sleep(120)\n"
    )
    owner = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert owner.stdout is not None
    worker = int(owner.stdout.readline())
    owner.stdout.close()
    owner.wait(timeout=30)
    return worker


def test_orphaned_worker_holding_the_lock_is_taken_over(tmp_path: Path) -> None:
    """A worker of a dead run that still holds the run lock (from before workers dropped
    their descriptors) is killed and the lock taken; a live holder never is, nor another
    process: exit 6 naming it."""
    lock = tmp_path / "run.lock"
    conf = write_config(tmp_path / "w.toml", {
        "warehouse": {"root": str(tmp_path / "root")}, "cron": {"lock_file": str(lock)},
    })
    other = _orphan(lock, b"")
    try:
        r = subprocess.run([WAREHOUSE_BIN, "--config", str(conf), "run", "--date", str(DAY1)],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 6, r.stderr
        assert f"is gone, but pid {other} still holds it" in r.stderr, r.stderr
        assert alive(other)
    finally:
        os.kill(other, signal.SIGKILL)
    wait_for(lambda: not alive(other), 10, "the test's holder to die")

    worker = _orphan(lock, b"wh-worker")
    try:
        r = subprocess.run([WAREHOUSE_BIN, "--config", str(conf), "run", "--date", str(DAY1)],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode != 6, r.stderr
        assert f"killing its worker pid {worker}" in r.stderr, r.stderr
        wait_for(lambda: not alive(worker), 10, "the orphaned worker to die")
    finally:
        if alive(worker):
            os.kill(worker, signal.SIGKILL)

    # a live holder (another run) is never killed: exit 6
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, time\n"
        f"fd = os.open({str(lock)!r}, os.O_RDWR)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\n"
        "os.write(fd, b'%d\\n' % os.getpid())\n"
        "print('held', flush=True)\n"
        "time.sleep(120)\n")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        r = subprocess.run([WAREHOUSE_BIN, "--config", str(conf), "run", "--date", str(DAY1)],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 6, r.stderr
        assert holder.poll() is None
    finally:
        holder.kill()
        holder.wait()
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free again
    finally:
        os.close(fd)


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


@pytest.mark.mysql
@pytest.mark.slow
def test_import_killed_with_split_workers_never_blocks_the_next(
    tmp_path: Path, sshd: Any, mariadb: Any
) -> None:
    """The same for `import` with split_workers = 2 (real sshd and MariaDB): its spawned
    workers die with it, and the next import completes with every row once."""
    from tests.test_mysql_import import PASSWORD, USER, _read_rows, _toml_config

    rows = 1_500_000
    db = mariadb.create_database("killsplit")
    mariadb.execute("CREATE TABLE k (id INT PRIMARY KEY, v VARCHAR(60))", database=db)
    mariadb.execute(f"INSERT INTO k SELECT seq, CONCAT('value-', seq, '-', MD5(seq)) "
                    f"FROM seq_1_to_{rows}", database=db)
    mariadb.create_user(USER, PASSWORD, db)
    (tmp_path / "db.pass").write_text(PASSWORD + "\n")
    root = tmp_path / "root"
    conf = _toml_config(tmp_path, sshd, mariadb, root, db, extra="split_workers = 2\n")
    with conf.open("a") as f:
        f.write(f'[cron]\nlock_file = "{tmp_path / "run.lock"}"\n')
    for i in range(3):
        err = tmp_path / f"import-{i}.err"
        with err.open("wb") as f:
            proc = subprocess.Popen([WAREHOUSE_BIN, "--config", str(conf), "-v", "import"],
                                    stdout=subprocess.DEVNULL, stderr=f)
        try:
            wait_for(lambda p=proc: sum(comm(c) == "wh-worker" for c in children(p.pid)) >= 2
                     or p.poll() is not None, 120, "the split workers")
            kids = children(proc.pid)
            time.sleep(0.2)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        assert sum(comm(c) == "wh-worker" for c in kids) >= 2, err.read_text()[-2000:]
        wait_for(lambda k=kids: not any(alive(p) for p in k), 15, f"children {kids} to die")
    done = subprocess.run([WAREHOUSE_BIN, "--config", str(conf), "-v", "import"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    got = _read_rows(root, "src", db, "k")
    assert len(got) == rows and len({r["id"] for r in got}) == rows
