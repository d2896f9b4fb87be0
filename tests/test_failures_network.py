"""Hung and missing servers through the real CLI: bounded time, exit 3, one line naming it.

The hung server (tests/fixtures/hung.py) accepts TCP and never answers, as a wedged
HiveServer2 or a frozen S3 endpoint does. Timeouts are configured short; the bounds
asserted (< 60 s) only detect hangs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.hung import HungServer
from tests.test_mysql_import import PASSWORD, USER
from tests.test_pipeline import DAY1, base_config, write_config, write_day_logs

WAREHOUSE_BIN = str(Path(sys.executable).parent / "warehouse")
BOUND = 60.0


def _warehouse(conf: Path, *args: str, timeout: float = 120) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    t0 = time.monotonic()
    proc = subprocess.run(
        [WAREHOUSE_BIN, "--config", str(conf), *args],
        capture_output=True, text=True, timeout=timeout, env=env,
    )
    return proc, time.monotonic() - t0


def _hung_hive(port: int) -> dict[str, Any]:
    return {
        "host": "127.0.0.1", "port": port, "dialect": "spark",
        "timeout_seconds": 2, "read_timeout_seconds": 1, "connect_attempts": 2,
    }


def _one_error_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    return lines[0]


def test_hive_query_against_a_hung_server_ends(tmp_path: Path, hung_server: HungServer) -> None:
    conf = write_config(tmp_path / "w.toml", {
        "warehouse": {"root": str(tmp_path / "root")}, "hive": _hung_hive(hung_server.port),
    })
    proc, took = _warehouse(conf, "hive", "query", "SELECT 1")
    assert proc.returncode == 3, proc.stderr
    line = _one_error_line(proc.stderr)
    assert f"HiveServer2 at 127.0.0.1:{hung_server.port} unreachable" in line
    assert "no answer within 1s" in line and "read_timeout_seconds" in line
    assert took < BOUND
    assert hung_server.accepted >= 2  # the probe and the session (tried connect_attempts times)


def test_parse_register_against_a_hung_server_ends(tmp_path: Path, hung_server: HungServer) -> None:
    write_day_logs(tmp_path / "logs", [DAY1])
    data = base_config(tmp_path, hive=_hung_hive(hung_server.port))
    conf = write_config(tmp_path / "w.toml", data)
    log = tmp_path / "logs" / DAY1.strftime("%Y/%m/%d") / "access.log.gz"
    proc, took = _warehouse(conf, "parse", str(log), "--register")
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout.startswith("parse:") or "events" in proc.stdout  # the parse summary
    assert f"127.0.0.1:{hung_server.port}" in _one_error_line(proc.stderr)
    assert took < BOUND


def test_run_against_a_hung_hive_ends_records_and_unlocks(
    tmp_path: Path, hung_server: HungServer
) -> None:
    write_day_logs(tmp_path / "logs", [DAY1])
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "hits.hql").write_text("SELECT slug, COUNT(*) AS n FROM events WHERE dt = '${dt}' GROUP BY slug\n")
    data = base_config(tmp_path, hive={**_hung_hive(hung_server.port), "reports": str(reports)})
    conf = write_config(tmp_path / "w.toml", data)
    proc, took = _warehouse(conf, "run", "--date", DAY1.isoformat())
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert took < BOUND * 2
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith("run 2015-05-18: parse ok") and "events failed (exit 3)" in last
    assert f"HiveServer2 at 127.0.0.1:{hung_server.port}" in last
    rec = json.loads((tmp_path / "root/_state/runs/2015-05-18/events.json").read_text())
    assert rec["stage"] == "events" and rec["status"] == "failed" and rec["exit_code"] == 3
    assert f"HiveServer2 at 127.0.0.1:{hung_server.port}" in rec["error"]
    agg = json.loads((tmp_path / "root/_state/runs/2015-05-18/aggregate.json").read_text())
    # the jobs ran; registering their output was not tried against the same hung server
    assert agg["exit_code"] == 3 and "not tried again" in agg["error"]
    rep = json.loads((tmp_path / "root/_state/runs/2015-05-18/reports.json").read_text())
    assert rep["exit_code"] == 3 and "not tried again" in rep["error"]
    assert "Traceback" not in proc.stderr
    # the lock is released: the next night runs (and fails the same way, not with 6)
    again, _ = _warehouse(conf, "run", "--date", DAY1.isoformat())
    assert again.returncode == 3, again.stdout + again.stderr


def _s3_config(tmp_path: Path, endpoint: str, bucket: str, **s3: Any) -> Path:
    data = base_config(tmp_path)
    data["warehouse"] = {"root": f"s3://{bucket}/wh"}
    data["s3"] = {"endpoint_url": endpoint, "region": "us-east-1", **s3}
    return write_config(tmp_path / "w.toml", data)


def _every_root_command_is_3(tmp_path: Path, conf: Path, needle: str) -> None:
    """`parse`, `aggregate` and `run` each end with exit 3 and one line holding `needle`."""
    log = tmp_path / "logs" / DAY1.strftime("%Y/%m/%d") / "access.log.gz"
    for args in (
        ["parse", str(log)],
        ["aggregate", "sessions", "--date", DAY1.isoformat(), "-r", "inline"],
        ["run", "--date", DAY1.isoformat()],
    ):
        proc, took = _warehouse(conf, *args)
        assert proc.returncode == 3, (args, proc.stdout, proc.stderr)
        text = (proc.stdout + proc.stderr).strip().splitlines()
        assert len(text) == 1 and needle in text[0], (args, text)
        assert took < BOUND, (args, took)


def test_missing_root_bucket_is_3_before_any_parsing(tmp_path: Path, moto_server: str) -> None:
    write_day_logs(tmp_path / "logs", [DAY1])
    conf = _s3_config(tmp_path, moto_server, "no-such-bucket-here")
    _every_root_command_is_3(tmp_path, conf, "bucket s3://no-such-bucket-here does not exist")


def test_an_s3_endpoint_that_never_answers_is_3_in_bounded_time(
    tmp_path: Path, hung_server: HungServer
) -> None:
    write_day_logs(tmp_path / "logs", [DAY1])
    conf = _s3_config(
        tmp_path, hung_server.url, "bucket", connect_timeout_seconds=1, read_timeout_seconds=1,
        max_attempts=2,
    )
    _every_root_command_is_3(tmp_path, conf, "no answer from " + hung_server.url)


def test_emr_api_that_never_answers_is_3(tmp_path: Path, hung_server: HungServer) -> None:
    from warehouse.config import config_from_dict
    from warehouse.errors import SourceUnavailable
    from warehouse.run.emr import Emr

    cfg = config_from_dict({
        "warehouse": {"root": str(tmp_path)},
        "emr": {"endpoint_url": hung_server.url, "cluster_id": "j-1", "read_timeout_seconds": 1,
                "connect_timeout_seconds": 1, "max_attempts": 2},
    })
    t0 = time.monotonic()
    try:
        Emr(cfg).step_state("s-1")
    except SourceUnavailable as err:
        assert "DescribeStep s-1" in str(err) and "timeouts and retries" in str(err)
    else:
        raise AssertionError("a hung EMR endpoint answered")
    assert time.monotonic() - t0 < BOUND


def test_import_from_a_hung_mysql_server_ends(tmp_path: Path, hung_server: HungServer,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    conf = write_config(tmp_path / "w.toml", {
        "warehouse": {"root": str(tmp_path / "root")},
        "mysql": {"shop": {"host": "127.0.0.1", "port": hung_server.port, "user": "etl",
                           "password_env": "WH_HUNG_PW", "databases": ["shop"],
                           "read_timeout_seconds": 1}},
    })
    monkeypatch.setenv("WH_HUNG_PW", "not-used")  # undone after the test
    proc, took = _warehouse(conf, "import")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert f"127.0.0.1:{hung_server.port}" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert took < BOUND


def test_import_through_a_hung_ssh_bastion_ends(tmp_path: Path, hung_server: HungServer,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    known = tmp_path / "known_hosts"
    known.write_text("")
    key = tmp_path / "id"
    key.write_text("")
    conf = write_config(tmp_path / "w.toml", {
        "warehouse": {"root": str(tmp_path / "root")},
        "ssh": {"bastion": {"host": "127.0.0.1", "port": hung_server.port, "user": "etl",
                            "known_hosts": str(known), "key_file": str(key),
                            "connect_timeout_seconds": 1}},
        "mysql": {"shop": {"host": "127.0.0.1", "port": 3306, "user": "etl",
                           "password_env": "WH_HUNG_PW", "databases": ["shop"],
                           "tunnel": "bastion"}},
    })
    monkeypatch.setenv("WH_HUNG_PW", "not-used")  # undone after the test
    proc, took = _warehouse(conf, "import")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert f"127.0.0.1:{hung_server.port}" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert took < BOUND


def test_run_against_a_hung_glue_asks_it_once(tmp_path: Path, hung_server: HungServer) -> None:
    """A Glue outage ends registration for the rest of the run, as a HiveServer2 one does:
    the events stage fails naming the Glue catalog, the aggregate jobs still run and their
    registration is not tried again, and the lock is released."""
    write_day_logs(tmp_path / "logs", [DAY1])
    glue = {"database": "wh", "endpoint_url": hung_server.url, "timeout_seconds": 1}
    conf = write_config(tmp_path / "w.toml", base_config(tmp_path, glue=glue))
    proc, took = _warehouse(conf, "run", "--date", DAY1.isoformat())
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert took < BOUND * 2
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith("run 2015-05-18: parse ok") and "events failed (exit 3)" in last
    target = f"Glue database wh at {hung_server.url}"
    assert target in last
    rec = json.loads((tmp_path / "root/_state/runs/2015-05-18/events.json").read_text())
    assert rec["status"] == "failed" and rec["exit_code"] == 3 and target in rec["error"]
    accepted = hung_server.accepted  # connections of the first (failed) registration
    agg = json.loads((tmp_path / "root/_state/runs/2015-05-18/aggregate.json").read_text())
    assert agg["exit_code"] == 3 and "not tried again" in agg["error"] and target in agg["error"]
    assert "Traceback" not in proc.stderr
    again, _ = _warehouse(conf, "run", "--date", DAY1.isoformat())
    assert again.returncode == 3, again.stdout + again.stderr
    # the second night asks Glue again, once more for the whole run (the hung endpoint
    # sees the same number of connections as the first night: no retry per step)
    assert hung_server.accepted == 2 * accepted


# -- the import stage of `run` and a catalog outage ---------------------------------------

OUTAGE_TABLES = ("t1", "t2", "t3")


def _outage_db(mariadb: Any) -> str:
    """Create `outagedb`: three one-row tables readable by the import user."""
    db = mariadb.create_database("outagedb")
    for i, table in enumerate(OUTAGE_TABLES):
        mariadb.execute(f"CREATE TABLE {table} (id INT PRIMARY KEY, v INT)", database=db)
        mariadb.execute(f"INSERT INTO {table} VALUES (1, {i})", database=db)
    mariadb.create_user(USER, PASSWORD, db)
    return db


def _mysql_sections(tmp_path: Path, sshd: Any, mariadb: Any) -> dict[str, Any]:
    password = tmp_path / "db.pass"
    password.write_text(PASSWORD + "\n")
    db = _outage_db(mariadb)
    return {
        "ssh": {"bastion": sshd.ssh_section()},
        "mysql": {"src": mariadb.mysql_section([db], USER, str(password), tunnel="bastion",
                                               workers=2)},
    }


def _record(tmp_path: Path, stage: str) -> dict[str, Any]:
    return json.loads((tmp_path / f"root/_state/runs/{DAY1}/{stage}.json").read_text())


def _hive_reports(tmp_path: Path, port: int) -> dict[str, Any]:
    reports = tmp_path / "reports"
    reports.mkdir(exist_ok=True)
    (reports / "hits.hql").write_text("SELECT slug, COUNT(*) AS n FROM events WHERE dt = '${dt}' GROUP BY slug\n")
    return {**_hung_hive(port), "reports": str(reports)}


def test_run_with_hive_behind_an_unreachable_bastion_asks_it_once(
    tmp_path: Path, hung_server: HungServer, sshd: Any
) -> None:
    """`[hive] tunnel` through a bastion that never answers: the events stage fails naming
    HiveServer2 and the bastion, and every later catalog call of the run (each aggregate
    job's registration, the reports) fails at once instead of waiting out the SSH timeout
    again (the bastion saw one connection per stage, five in all)."""
    write_day_logs(tmp_path / "logs", [DAY1])
    data = base_config(tmp_path, hive={**_hive_reports(tmp_path, 10000), "tunnel": "gone"})
    data["ssh"] = {"gone": sshd.ssh_section(port=hung_server.port, connect_timeout_seconds=2.0)}
    conf = write_config(tmp_path / "w.toml", data)
    before = hung_server.accepted
    proc, took = _warehouse(conf, "run", "--date", DAY1.isoformat())
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert took < BOUND
    assert hung_server.accepted - before == 1  # the bastion was asked once in the run
    target = f"HiveServer2 127.0.0.1:10000: SSH bastion [ssh.gone] root@127.0.0.1:{hung_server.port}"
    events = _record(tmp_path, "events")
    assert events["exit_code"] == 3 and events["error"].startswith(target), events
    for stage in ("aggregate", "reports"):
        rec = _record(tmp_path, stage)
        assert rec["exit_code"] == 3 and target in rec["error"], rec
        assert "not tried again" in rec["error"], rec
    assert "Traceback" not in proc.stderr


@pytest.mark.mysql
def test_run_import_after_a_hive_outage_does_not_ask_again(
    tmp_path: Path, hung_server: HungServer, sshd: Any, mariadb: Any
) -> None:
    """HiveServer2 hung from the start: the events stage meets it; the import stage's
    tables then fail at once (exit 3, "not tried again", nothing exported) instead of
    each waiting out the timeouts: the whole night asks the server no more than the events
    stage alone does."""
    write_day_logs(tmp_path / "logs", [DAY1])
    data = base_config(tmp_path, hive=_hive_reports(tmp_path, hung_server.port),
                       **_mysql_sections(tmp_path, sshd, mariadb))
    conf = write_config(tmp_path / "w.toml", data)
    day = DAY1.isoformat()
    parsed, _ = _warehouse(conf, "run", "--date", day, "--only", "parse")
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr
    events, _ = _warehouse(conf, "run", "--date", day, "--only", "events")
    assert events.returncode == 3, events.stdout + events.stderr
    once = hung_server.accepted  # the connections of one failed registration
    assert once > 0

    proc, took = _warehouse(conf, "run", "--date", day)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert took < BOUND * 2
    last = proc.stdout.strip().splitlines()[-1]
    assert "events failed (exit 3)" in last and "import failed (exit 3)" in last
    # events asked again (a new night); aggregate, import and reports did not
    assert hung_server.accepted == 2 * once
    imp = _record(tmp_path, "import")
    assert imp["status"] == "failed" and imp["exit_code"] == 3
    target = f"HiveServer2 at 127.0.0.1:{hung_server.port}"
    for table in OUTAGE_TABLES:
        line = next(part for part in imp["error"].split(" | ") if f".{table} " in part)
        assert "FAILED" in line and target in line and "not tried again" in line, line
    assert not list((tmp_path / "root").glob("mysql/src/outagedb/*/load=*"))  # not exported
    rep = _record(tmp_path, "reports")
    assert rep["exit_code"] == 3 and "not tried again" in rep["error"]
    assert "Traceback" not in proc.stderr


@pytest.mark.mysql
def test_run_import_meeting_a_hive_outage_first_ends_catalog_calls(
    tmp_path: Path, hung_server: HungServer, sshd: Any, mariadb: Any, moto_server: str
) -> None:
    """The import stage is the first to meet a hung HiveServer2 (events and aggregate done
    by an earlier night, registered in Glue): one table waits out the timeouts, the
    others and the reports stage fail at once (exit 3, "not tried again")."""
    write_day_logs(tmp_path / "logs", [DAY1])
    day = DAY1.isoformat()
    glue = {"database": f"wh_{uuid.uuid4().hex[:10]}", "endpoint_url": moto_server}
    earlier = write_config(tmp_path / "earlier.toml", base_config(tmp_path, glue=glue))
    first, _ = _warehouse(earlier, "run", "--date", day)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "events ok" in first.stdout and "aggregate ok" in first.stdout

    data = base_config(tmp_path, hive=_hive_reports(tmp_path, hung_server.port),
                       **_mysql_sections(tmp_path, sshd, mariadb))
    conf = write_config(tmp_path / "w.toml", data)
    proc, took = _warehouse(conf, "run", "--date", day)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert took < BOUND * 2
    last = proc.stdout.strip().splitlines()[-1]
    assert "events complete" in last and "aggregate complete" in last, last
    assert "import failed (exit 3)" in last and "reports failed (exit 3)" in last, last
    imp = _record(tmp_path, "import")
    assert imp["status"] == "failed" and imp["exit_code"] == 3
    lines = imp["error"].split("; FAILED: ", 1)[1].split(" | ")  # the failed tables' lines
    target = f"HiveServer2 at 127.0.0.1:{hung_server.port}"
    assert len(lines) == len(OUTAGE_TABLES) and all(target in ln for ln in lines), lines
    # only the first table waited for the server; the others learnt of its outage
    assert sum("not tried again" in ln for ln in lines) == len(OUTAGE_TABLES) - 1, lines
    rep = _record(tmp_path, "reports")
    assert rep["exit_code"] == 3 and "not tried again" in rep["error"] and target in rep["error"]
    assert "Traceback" not in proc.stderr


@pytest.mark.mysql
def test_import_alone_meets_a_hive_outage_once(
    tmp_path: Path, hung_server: HungServer, sshd: Any, mariadb: Any
) -> None:
    """`warehouse import` on its own against a hung HiveServer2: one table waits out the
    timeouts, the others fail at once (exit 3, "not tried again") instead of each waiting
    for the same server."""
    data = base_config(tmp_path, hive=_hung_hive(hung_server.port),
                       **_mysql_sections(tmp_path, sshd, mariadb))
    conf = write_config(tmp_path / "w.toml", data)
    proc, took = _warehouse(conf, "import")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert took < BOUND * 2
    target = f"HiveServer2 at 127.0.0.1:{hung_server.port}"
    failed = [  # stdout: a line per table, then the total line
        ln for ln in proc.stdout.splitlines() if "FAILED" in ln and not ln.startswith("import:")
    ]
    assert len(failed) == len(OUTAGE_TABLES) and all(target in ln for ln in failed), failed
    assert sum("not tried again" in ln for ln in failed) == len(OUTAGE_TABLES) - 1, failed
    assert "Traceback" not in proc.stderr
