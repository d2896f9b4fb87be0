"""Ctrl-C during `warehouse import` of a large table (real processes: MariaDB through sshd
and the openssh tunnel, an S3 root on moto's server): SIGINT to the process group (what a
terminal sends) mid-export ends the command within seconds with exit 130 and its summary
(the finished table kept, the running one marked), no traceback, no upload left open;
an import killed with SIGKILL mid-export leaves an unfinished multipart upload that the
next import aborts, and that import completes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures._util import interrupt, interruptible
from tests.test_mysql_import import PASSWORD, USER, _driver_available, _toml_config
from tests.test_pipeline import WAREHOUSE_BIN
from warehouse.config import Secret
from warehouse.mysql.cancel import Cancellation, Interrupted, WatchedDriver
from warehouse.mysql.connect import Endpoint, close_quietly

ROWS = 2_000_000


@pytest.fixture(scope="module")
def big_db(mariadb: Any) -> str:
    """A database with `big` (ROWS rows of poorly compressible text) and `small`."""
    db = mariadb.create_database("ctrlc")
    mariadb.execute("CREATE TABLE big (id INT PRIMARY KEY, v VARCHAR(140))", database=db)
    mariadb.execute(f"INSERT INTO big SELECT seq, SHA2(seq, 512) FROM seq_1_to_{ROWS}",
                    database=db)
    mariadb.execute("CREATE TABLE small (id INT PRIMARY KEY)", database=db)
    mariadb.execute("INSERT INTO small SELECT seq FROM seq_1_to_50", database=db)
    mariadb.create_user(USER, PASSWORD, db)
    return db


@pytest.mark.mysql
@pytest.mark.parametrize("driver", ["pymysql", "mysqlclient", "mysql-connector"])
def test_cancel_breaks_a_session_blocked_in_a_query(mariadb: Any, big_db: str,
                                                    driver: str) -> None:
    """The cancellation ends a read blocked in a long statement at once, for each driver
    (the socket shut down, or KILL CONNECTION through a second session)."""
    _driver_available(driver)
    cancel = Cancellation()
    drv = WatchedDriver(driver, cancel)
    ep = Endpoint("src", mariadb.host, mariadb.port, USER, Secret(PASSWORD), read_timeout=60)
    conn = drv.connect(ep, database=big_db)
    outcome: list[BaseException | None] = []

    def query() -> None:
        cur = drv.stream_cursor(conn)
        try:
            cur.execute("SELECT SLEEP(30)")
            drv.batch_fetcher(conn, cur)(10)
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)
        finally:
            close_quietly(cur)
            close_quietly(conn)

    t = threading.Thread(target=query)
    t.start()
    time.sleep(0.5)  # in the statement
    sent = time.monotonic()
    cancel.cancel()
    t.join(timeout=10)
    assert not t.is_alive(), "the blocked read did not end"
    assert time.monotonic() - sent < 5
    assert outcome and isinstance(outcome[0], drv.errors), outcome
    with pytest.raises(Interrupted):  # no new session once stopped
        drv.connect(ep, database=big_db)


def _uploads(s3: Any, bucket: str) -> list[str]:
    return [u["Key"] for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]


def _start(conf: Path) -> AbstractContextManager[subprocess.Popen[bytes]]:
    return interruptible([WAREHOUSE_BIN, "--config", str(conf), "import"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_upload(s3: Any, bucket: str, proc: subprocess.Popen[bytes]) -> None:
    """Return once the big table's export has an S3 multipart upload under way."""
    deadline = time.monotonic() + 180
    while not any("/big/load=" in k for k in _uploads(s3, bucket)):
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError("the import ended before it could be interrupted: "
                                 + (out + err).decode()[-2000:])
        assert time.monotonic() < deadline, "no multipart upload of the big table"
        time.sleep(0.1)


def _live_in_session(sid: int) -> list[str]:
    """Return `ps` lines of the session's processes that are not zombies."""
    ps = subprocess.run(["ps", "-o", "pid=,stat=,comm=", "-s", str(sid)], capture_output=True,
                        text=True, check=False).stdout.splitlines()  # fmt: skip
    return [ln for ln in ps if ln.split()[1:2] != ["Z"]]


def _session_left(pid: int) -> str:
    return subprocess.run(["pgrep", "-s", str(pid)], capture_output=True, text=True,
                          check=False).stdout.strip()


@pytest.mark.mysql
@pytest.mark.slow
@pytest.mark.parametrize(("driver", "presses"),
                         [("pymysql", 1), ("mysqlclient", 2), ("mysql-connector", 1)])
def test_ctrl_c_during_import_stops_at_once_and_leaves_nothing(
    tmp_path: Path, sshd: Any, mariadb: Any, big_db: str, moto_server: str, s3_client: Any,
    s3_bucket: str, driver: str, presses: int,
) -> None:
    """`presses`: Ctrl-C once, or twice in a row (the second one does not cut the
    cleanup short, nor turn exit 130 into a death by SIGINT)."""
    _driver_available(driver)
    (tmp_path / "db.pass").write_text(PASSWORD + "\n")
    conf = _toml_config(tmp_path, sshd, mariadb, Path("unused"), big_db,
                        extra=f'driver = "{driver}"\n'
                              f'[s3]\nendpoint_url = "{moto_server}"\n'
                              f'[cron]\nlock_file = "{tmp_path / "run.lock"}"\n')
    conf.write_text(conf.read_text().replace('root = "unused"', f'root = "s3://{s3_bucket}/wh"'))

    with _start(conf) as proc:
        _wait_upload(s3_client, s3_bucket, proc)
        out_b, err_b, took = interrupt(proc, presses)
    out, err = out_b.decode(), err_b.decode()
    assert proc.returncode == 130, out + err
    assert took < 10, took
    assert "Traceback" not in out + err and "Aborted!" not in out + err, out + err
    last = out.strip().splitlines()[-1]
    assert last.startswith("import: 2 tables (1 ok, 0 failed, 1 interrupted), 50 rows"), out
    assert f"INTERRUPTED (Ctrl-C): src.{big_db}.big not finished" in last, out
    assert f"src.{big_db}.big [python full] INTERRUPTED" in out, out
    assert f"src.{big_db}.small [python full] 50 rows" in out, out  # finished: kept
    assert _session_left(proc.pid) == ""  # no process of the command is left
    assert _uploads(s3_client, s3_bucket) == []  # the writer aborted its upload
    listed = s3_client.list_objects_v2(Bucket=s3_bucket, Prefix=f"wh/mysql/src/{big_db}/big/")
    assert listed.get("KeyCount", 0) == 0, listed.get("Contents")  # the partial load is gone

    # kill -9 mid-export: its upload stays open...
    with _start(conf) as proc:
        _wait_upload(s3_client, s3_bucket, proc)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
    left = _uploads(s3_client, s3_bucket)
    assert any("/big/load=" in k for k in left), left
    # ...until the next import, which completes
    done = subprocess.run([WAREHOUSE_BIN, "--config", str(conf), "-v", "import"],
                          capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert f"src.{big_db}.big [python full] {ROWS:,} rows" in done.stdout, done.stdout
    assert "aborted 1 unfinished upload(s)" in done.stderr, done.stderr[-3000:]
    assert _uploads(s3_client, s3_bucket) == []


@pytest.mark.mysql
@pytest.mark.slow
def test_ctrl_c_during_the_import_stage_of_run(
    tmp_path: Path, sshd: Any, mariadb: Any, big_db: str, moto_server: str, s3_client: Any,
    s3_bucket: str,
) -> None:
    """`warehouse run` in its import stage: the same stop, its run summary, the stage's
    record closed as interrupted (exit 130), and the next run imports the table."""
    (tmp_path / "db.pass").write_text(PASSWORD + "\n")
    conf = _toml_config(tmp_path, sshd, mariadb, Path("unused"), big_db,
                        extra=f'[s3]\nendpoint_url = "{moto_server}"\n'
                              f'[cron]\nlock_file = "{tmp_path / "run.lock"}"\n')
    conf.write_text(conf.read_text().replace('root = "unused"', f'root = "s3://{s3_bucket}/wh"'))
    argv = [WAREHOUSE_BIN, "--config", str(conf), "run", "--date", "2026-11-28", "--only",
            "import"]
    with interruptible(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        _wait_upload(s3_client, s3_bucket, proc)
        out_b, err_b, took = interrupt(proc)
    out, err = out_b.decode(), err_b.decode()
    assert proc.returncode == 130, out + err
    assert took < 10, took
    assert "Traceback" not in out + err, out + err
    last = out.strip().splitlines()[-1]
    assert last.startswith("run 2026-11-28: import failed (exit 130)"), last
    assert "INTERRUPTED (Ctrl-C)" in last and "exit 130" in last, last
    assert _uploads(s3_client, s3_bucket) == []
    rec = json.loads(s3_client.get_object(
        Bucket=s3_bucket, Key="wh/_state/runs/2026-11-28/import.json")["Body"].read())
    assert (rec["status"], rec["exit_code"], rec["error"]) == ("failed", 130,
                                                              "interrupted (Ctrl-C)"), rec
    assert rec["summary"].startswith("import: 2 tables (1 ok, 0 failed, 1 interrupted)"), rec
    assert f"INTERRUPTED (Ctrl-C): src.{big_db}.big not finished" in rec["summary"], rec
    again = subprocess.run(argv, capture_output=True, text=True, timeout=900, check=False)
    assert again.returncode == 0, again.stdout + again.stderr[-3000:]
    assert "run 2026-11-28: import ok" in again.stdout, again.stdout


@pytest.mark.mysql
@pytest.mark.slow
def test_ctrl_c_during_import_into_a_local_root_removes_the_partial_files(
    tmp_path: Path, sshd: Any, mariadb: Any, big_db: str,
) -> None:
    """A local root: the export's temporary file (`_tmp.*`) and finished parts go too."""
    (tmp_path / "db.pass").write_text(PASSWORD + "\n")
    root = tmp_path / "root"
    conf = _toml_config(tmp_path, sshd, mariadb, root, big_db, extra='driver = "pymysql"\n')
    big = root / "mysql" / "src" / big_db / "big"
    with _start(conf) as proc:
        deadline = time.monotonic() + 180
        while not list(big.glob("load=*/_tmp.*")):
            assert proc.poll() is None and time.monotonic() < deadline, "no export under way"
            time.sleep(0.05)
        out_b, err_b, _ = interrupt(proc)
    out = out_b.decode()
    assert proc.returncode == 130 and "Traceback" not in out + err_b.decode(), out
    assert out.strip().splitlines()[-1].startswith("import: 2 tables (1 ok, 0 failed, 1 "
                                                   "interrupted)"), out
    assert [p for p in big.rglob("*") if p.is_file()] == []


@pytest.mark.mysql
@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_a_signal_to_the_import_alone_stops_its_split_workers(
    tmp_path: Path, sshd: Any, mariadb: Any, big_db: str, moto_server: str, s3_client: Any,
    s3_bucket: str, sig: signal.Signals,
) -> None:
    """split_workers = 2: SIGINT to the import's pid alone (`kill -INT PID`, a supervisor,
    systemd's KillMode=process), or SIGTERM (`kill PID`, cron, systemd, timeout), reaches
    no range worker by itself; the import passes it on: exit 130 within seconds, every
    range's upload aborted, nothing of the load kept, no process left."""
    (tmp_path / "db.pass").write_text(PASSWORD + "\n")
    conf = _toml_config(tmp_path, sshd, mariadb, Path("unused"), big_db,
                        extra='driver = "pymysql"\nsplit_workers = 2\n'
                              f'[s3]\nendpoint_url = "{moto_server}"\n'
                              f'[cron]\nlock_file = "{tmp_path / "run.lock"}"\n')
    conf.write_text(conf.read_text().replace('root = "unused"', f'root = "s3://{s3_bucket}/wh"'))
    with _start(conf) as proc:
        _wait_upload(s3_client, s3_bucket, proc)
        workers = subprocess.run(["pgrep", "-P", str(proc.pid), "wh-worker"], capture_output=True,
                                 text=True, check=False).stdout.split()  # fmt: skip
        assert len(workers) == 2, workers
        sent = time.monotonic()
        os.kill(proc.pid, sig)  # the pid alone, not its group
        out_b, err_b = proc.communicate(timeout=60)
        took = time.monotonic() - sent
    out, err = out_b.decode(), err_b.decode()
    assert proc.returncode == 130, out + err
    assert took < 10, (took, err)
    assert "Traceback" not in out + err, out + err
    last = out.strip().splitlines()[-1]
    assert last.startswith("import: 2 tables (1 ok, 0 failed, 1 interrupted), 50 rows"), out
    assert f"src.{big_db}.big [python full] INTERRUPTED" in out, out
    # no process of the command is left: the range workers ended with it (multiprocessing's
    # resource tracker, re-parented, ends as it reads its pipe's end; a zombie is dead)
    deadline = time.monotonic() + 5
    while _live_in_session(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _live_in_session(proc.pid) == [], _live_in_session(proc.pid)
    assert _uploads(s3_client, s3_bucket) == []  # each range aborted its upload
    listed = s3_client.list_objects_v2(Bucket=s3_bucket, Prefix=f"wh/mysql/src/{big_db}/big/")
    assert listed.get("KeyCount", 0) == 0, listed.get("Contents")
