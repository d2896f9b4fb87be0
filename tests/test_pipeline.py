"""`warehouse run`: stages, run records, skips, --force, --only, failures, kill and resume.

Real parse and aggregate flows over two days of logs cut from the sample log the way a
server rotating at 23:00 UTC would (each day's file also holds the last hour of the
previous UTC date). No Hive or MySQL here: those stages are skipped and said so (the
end-to-end test with both is tests/test_pipeline_e2e.py).
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.fixtures._util import sample_log
from warehouse.cli import cli
from warehouse.config import config_from_dict
from warehouse.errors import ConfigError
from warehouse.run.dates import day_input
from warehouse.run.pipeline import run_nightly
from warehouse.run.records import load_record
from warehouse.storage import LocalStore

REPO = Path(__file__).resolve().parent.parent
WAREHOUSE_BIN = str(Path(sys.executable).parent / "warehouse")
DAY1, DAY2 = dt.date(2015, 5, 18), dt.date(2015, 5, 19)
PATTERNS = [
    {"name": "home", "regex": r"^/\Z"},
    {"name": "blog:tag", "regex": r"^/blog/tags/(?P<tag>[^/]+)\Z"},
    {"name": "blog:post", "regex": r"^/blog/geekery/(?P<slug>[^/]+)\.html\Z"},
    {"name": "presentation", "regex": r"^/presentations/(?P<talk>[^/]+)/"},
    {"name": "project", "regex": r"^/projects/(?P<project>[^/]+)/"},
]
_TS = re.compile(rb"\[(\d+/\w+/\d+:\d+:\d+:\d+) ")


def sample_lines() -> list[bytes]:
    """Return the lines of the bundled sample log."""
    return Path(sample_log()).read_bytes().splitlines(keepends=True)


def write_day_logs(logs: Path, days: list[dt.date]) -> dict[dt.date, int]:
    """Write logs/YYYY/MM/DD/access.log.gz per day (rotation at 23:00 UTC); return line counts."""
    lines = sample_lines()
    counts = {}
    for day in days:
        start = dt.datetime.combine(day, dt.time()) - dt.timedelta(hours=1)
        end = start + dt.timedelta(days=1)
        chosen = []
        for line in lines:
            m = _TS.search(line)
            if m and start <= dt.datetime.strptime(m.group(1).decode(), "%d/%b/%Y:%H:%M:%S") < end:
                chosen.append(line)
        folder = logs / day.strftime("%Y/%m/%d")
        folder.mkdir(parents=True, exist_ok=True)
        with gzip.open(folder / "access.log.gz", "wb") as f:
            f.writelines(chosen)
        counts[day] = len(chosen)
    return counts


def base_config(tmp: Path, *, runner: str = "inline", **sections: Any) -> dict[str, Any]:
    """Return a config dict: root, logs template, patterns, lock in `tmp`."""
    patterns = tmp / "urls.json"
    patterns.write_text(json.dumps(PATTERNS))
    data: dict[str, Any] = {
        "warehouse": {"root": str(tmp / "root")},
        "logs": {"input": str(tmp / "logs") + "/{date:%Y/%m/%d}/", "patterns": str(patterns)},
        "aggregate": {"runner": runner},
        "cron": {"lock_file": str(tmp / "run.lock")},
    }
    data.update(sections)
    return data


def _toml_value(v: Any) -> str:
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, bool):
        return "true" if v else "false"
    return json.dumps(v)  # strings, ints, floats: JSON's syntax is valid TOML here


def write_config(path: Path, data: dict[str, Any]) -> Path:
    """Write a config dict as TOML; {"ssh": {"bastion": {...}}} becomes [ssh.bastion]."""
    out = []
    for section, table in data.items():
        named = section in ("ssh", "mysql")
        for name, body in (table.items() if named else [(None, table)]):
            out.append(f"[{section}.{name}]" if named else f"[{section}]")
            out.extend(f"{k} = {_toml_value(v)}" for k, v in body.items())
    path.write_text("\n".join(out) + "\n")
    return path


def tree(root: Path, prefix: str) -> dict[str, bytes]:
    """Return {relative key: decompressed content} of every visible file under root/prefix."""
    out = {}
    base = root / prefix
    for p in sorted(base.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_file() and not any(s.startswith(("_", ".")) for s in rel.split("/")):
            data = p.read_bytes()
            out[rel] = gzip.decompress(data) if p.name.endswith(".gz") else data
    return out


def events_by_partition(root: Path) -> dict[str, list[bytes]]:
    """Return {dt=...: sorted event lines} (part names depend on the input's path)."""
    out: dict[str, list[bytes]] = {}
    for key, data in tree(root, "events").items():
        out.setdefault(key.split("/")[1], []).extend(data.splitlines())
    return {k: sorted(v) for k, v in out.items()}


def event_count(root: Path) -> int:
    return sum(v.count(b"\n") for v in tree(root, "events").values())


@pytest.fixture
def two_days(tmp_path: Path) -> tuple[Path, dict[dt.date, int]]:
    return tmp_path, write_day_logs(tmp_path / "logs", [DAY1, DAY2])


def test_day_input() -> None:
    assert day_input("s3://logs/access/{date:%Y/%m/%d}/", DAY1) == "s3://logs/access/2015/05/18/"
    assert day_input("/var/log/a-{date:%Y%m%d}.gz", DAY1) == "/var/log/a-20150518.gz"
    with pytest.raises(ConfigError, match="cannot be expanded"):
        day_input("/logs/{day}/", DAY1)


def test_run_twice_then_force(two_days: tuple[Path, dict[dt.date, int]]) -> None:
    tmp, counts = two_days
    cfg = config_from_dict(base_config(tmp))
    root = tmp / "root"
    store = LocalStore(root)

    summary = run_nightly(cfg, [DAY1, DAY2])
    assert summary.exit_code == 0, summary.line()
    line = summary.line()
    assert line.startswith("run 2015-05-18..2015-05-19 (2 dates): parse 2 ok, events 2 skipped")
    assert "(no [hive] or [glue] section)" in line and "import 2 skipped (no [mysql.*] sections)" in line
    # every line of both files became an event or a reject, once
    assert event_count(root) + _rejects(root) == sum(counts.values())
    # the day's log touched the previous UTC date, and that date was aggregated too
    parse1 = load_record(store, DAY1, "parse")
    assert parse1 is not None and parse1.partitions == ["2015-05-17", "2015-05-18"]
    assert parse1.status == "ok" and parse1.counts and parse1.counts["lines"] == counts[DAY1]
    agg = tree(root, "aggregates")
    for job in ("daily_actions", "sessions", "top_params"):
        for d in ("2015-05-17", "2015-05-18", "2015-05-19"):
            assert f"aggregates/{job}/dt={d}/part-00000.json.gz" in agg
    daily = [json.loads(x) for x in agg["aggregates/daily_actions/dt=2015-05-18/part-00000.json.gz"].splitlines()]
    assert daily and all(r["dt"] == "2015-05-18" for r in daily)
    rec = load_record(store, DAY2, "aggregate")
    assert rec is not None and rec.status == "ok" and rec.jobs is not None
    assert set(rec.jobs) == {"daily_actions", "sessions", "top_params"}
    events_before, records_before = tree(root, "events"), _records(root)
    mtimes = {p: p.stat().st_mtime_ns for p in (root / "events").rglob("*.gz")}

    # a second run is a no-op: nothing rewritten, records untouched
    again = run_nightly(cfg, [DAY1, DAY2])
    assert again.exit_code == 0
    assert "parse 2 complete" in again.line() and "aggregate 2 complete" in again.line()
    assert _records(root) == records_before
    assert {p: p.stat().st_mtime_ns for p in (root / "events").rglob("*.gz")} == mtimes

    # --force redoes a day without duplicating anything
    forced = run_nightly(cfg, [DAY2], force=True)
    assert forced.exit_code == 0
    assert forced.line().startswith("run 2015-05-19: parse ok (2 partitions), events skipped")
    assert tree(root, "events") == events_before
    assert tree(root, "aggregates") == agg
    forced_parse = load_record(store, DAY2, "parse")
    assert forced_parse is not None
    assert forced_parse.started != records_before["2015-05-19/parse.json"]["started"]
    assert _records(root)["2015-05-18/parse.json"] == records_before["2015-05-18/parse.json"]


def _records(root: Path) -> dict[str, Any]:
    base = root / "_state" / "runs"
    return {p.relative_to(base).as_posix(): json.loads(p.read_text()) for p in sorted(base.rglob("*.json"))}


def _rejects(root: Path) -> int:
    return sum(v.count(b"\n") for v in tree(root, "rejects").values())


def test_missing_day_fails_its_stages_only(two_days: tuple[Path, dict[dt.date, int]]) -> None:
    tmp, _ = two_days
    cfg = config_from_dict(base_config(tmp))
    missing = dt.date(2015, 5, 20)
    summary = run_nightly(cfg, [DAY2, missing])
    assert summary.exit_code == 4
    line = summary.line()
    assert "parse 1 ok 1 failed [2015-05-20]" in line
    assert "aggregate 1 ok 1 blocked [2015-05-20]" in line
    assert "first failure: 2015-05-20 parse:" in line and "2015/05/20" in line
    store = LocalStore(tmp / "root")
    rec = load_record(store, missing, "parse")
    assert rec is not None and rec.status == "failed" and rec.exit_code == 4
    assert load_record(store, missing, "aggregate") is None
    # the logs arrive; the next run does only what is missing
    write_day_logs(tmp / "logs", [missing])
    done = run_nightly(cfg, [DAY2, missing])
    assert done.exit_code == 0, done.line()
    assert "parse 1 ok 1 complete" in done.line()
    rec = load_record(store, missing, "parse")
    assert rec is not None and rec.partitions == ["2015-05-19", "2015-05-20"]


def test_only_and_cli(two_days: tuple[Path, dict[dt.date, int]]) -> None:
    tmp, _ = two_days
    conf = write_config(tmp / "w.toml", base_config(tmp))
    runner = CliRunner()
    r = runner.invoke(cli, ["--config", str(conf), "run", "--date", str(DAY1), "--only", "parse"])
    assert r.exit_code == 0, r.output
    assert r.output.strip().startswith("run 2015-05-18: parse ok (2 partitions); exit 0")
    store = LocalStore(tmp / "root")
    assert load_record(store, DAY1, "aggregate") is None
    r = runner.invoke(cli, ["--config", str(conf), "run", "--date", str(DAY1), "--only", "aggregate"])
    assert r.exit_code == 0, r.output
    assert "run 2015-05-18: aggregate ok (3 jobs)" in r.output
    # events stage without [hive]: skipped and said so
    r = runner.invoke(cli, ["--config", str(conf), "run", "--date", str(DAY1), "--only", "events"])
    assert r.exit_code == 0 and "events skipped (no [hive] or [glue] section)" in r.output
    # --only aggregate for a day never parsed: says what to run first (exit 4)
    r = runner.invoke(cli, ["--config", str(conf), "run", "--date", "2015-05-25", "--only", "aggregate"])
    assert r.exit_code == 4, r.output
    assert "--only parse` first" in r.output


def test_bad_format_fails_parse_with_exit_5(two_days: tuple[Path, dict[dt.date, int]]) -> None:
    tmp, _ = two_days
    data = base_config(tmp)
    data["logs"]["format"] = "%h %t %>s"  # wrong format: most lines rejected
    summary = run_nightly(config_from_dict(data), [DAY1])
    assert summary.exit_code == 5
    assert "parse failed (exit 5)" in summary.line() and "aggregate blocked" in summary.line()
    rec = load_record(LocalStore(tmp / "root"), DAY1, "parse")
    assert rec is not None and rec.status == "failed" and "max_reject_ratio" in (rec.error or "")


def _wait_for_partial_aggregate(proc: subprocess.Popen[bytes], rec: Path, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"run ended (exit {proc.returncode}) before it could be killed mid-aggregate")
        try:
            data = json.loads(rec.read_text())
        except (OSError, ValueError):
            data = {}
        if data.get("status") == "running" and len(data.get("jobs") or {}) >= 1:
            return data
        time.sleep(0.02)
    pytest.fail("the aggregate stage never showed a finished job")


@pytest.mark.slow
def test_killed_mid_aggregate_resumes_to_same_result(tmp_path: Path) -> None:
    """SIGKILL the CLI during the aggregate stage; the re-run equals an uninterrupted run."""
    # local runner: each job is a few seconds of mrjob subprocesses, a wide window
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    for base in (clean, killed):
        base.mkdir()
        write_day_logs(base / "logs", [DAY1, DAY2])
        write_config(base / "w.toml", base_config(base, runner="local"))
    argv = ["-v", "run", "--from", str(DAY1), "--to", str(DAY2)]
    ok = subprocess.run([WAREHOUSE_BIN, "--config", str(clean / "w.toml"), *argv],
                        capture_output=True, text=True, timeout=600)
    assert ok.returncode == 0, ok.stderr[-2000:]

    proc = subprocess.Popen([WAREHOUSE_BIN, "--config", str(killed / "w.toml"), *argv],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        partial = _wait_for_partial_aggregate(
            proc, killed / "root/_state/runs" / str(DAY1) / "aggregate.json", 300
        )
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    done_before = set(partial["jobs"])
    assert done_before < {"daily_actions", "sessions", "top_params"}

    again = subprocess.run([WAREHOUSE_BIN, "--config", str(killed / "w.toml"), *argv],
                           capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "parse 2 complete" in again.stdout and "aggregate 2 ok" in again.stdout
    assert "resuming; done before: " + ", ".join(sorted(done_before)) in again.stderr
    assert tree(killed / "root", "aggregates") == tree(clean / "root", "aggregates")
    # event part names hash the input's absolute path, which differs: compare by partition
    assert events_by_partition(killed / "root") == events_by_partition(clean / "root")


def test_run_on_an_s3_root_with_s3_logs(tmp_path: Path, moto_server: str, s3_client: Any,
                                       s3_bucket: str) -> None:
    """The same run with the logs and the root on S3 (moto's server): records land there too."""
    write_day_logs(tmp_path / "logs", [DAY1, DAY2])
    for day in (DAY1, DAY2):
        key = f"access/{day:%Y/%m/%d}/access.log.gz"
        s3_client.upload_file(str(tmp_path / "logs" / f"{day:%Y/%m/%d}" / "access.log.gz"), s3_bucket, key)
    data = base_config(tmp_path)
    data["warehouse"]["root"] = f"s3://{s3_bucket}/warehouse"
    data["logs"]["input"] = f"s3://{s3_bucket}/access/{{date:%Y/%m/%d}}/"
    data["s3"] = {"endpoint_url": moto_server}
    cfg = config_from_dict(data)
    first = run_nightly(cfg, [DAY1, DAY2])
    assert first.exit_code == 0, first.line()
    assert f"records: s3://{s3_bucket}/warehouse/_state/runs" in first.line()
    keys = {o["Key"] for o in s3_client.list_objects_v2(Bucket=s3_bucket, Prefix="warehouse/")["Contents"]}
    assert "warehouse/_state/runs/2015-05-19/aggregate.json" in keys
    assert "warehouse/aggregates/sessions/dt=2015-05-18/part-00000.json.gz" in keys
    rec = json.loads(s3_client.get_object(Bucket=s3_bucket, Key="warehouse/_state/runs/2015-05-18/parse.json")["Body"].read())
    assert rec["status"] == "ok" and rec["input"] == f"s3://{s3_bucket}/access/2015/05/18/"
    again = run_nightly(cfg, [DAY1, DAY2])
    assert "parse 2 complete" in again.line() and "aggregate 2 complete" in again.line()


def test_summary_line_and_exit_code_precedence() -> None:
    from warehouse.run.summary import RunSummary, StageResult

    d1, d2 = DAY1, DAY2
    s = RunSummary([d1, d2], "/root/_state/runs", [
        StageResult(d1, "parse", "ok", "2 partitions"),
        StageResult(d2, "parse", "complete"),
        StageResult(d1, "aggregate", "failed", "sessions: job failed", 5),
        StageResult(d2, "aggregate", "failed", "hive down at 127.0.0.1:10000", 3),
        StageResult(d1, "import", "skipped", "a backfill imports once, for its last date"),
        StageResult(d2, "import", "ok"),
    ])
    assert s.exit_code == 3  # source unavailable wins over job failed
    assert s.line() == (
        "run 2015-05-18..2015-05-19 (2 dates): parse 1 ok 1 complete, "
        "aggregate 2 failed [2015-05-18 2015-05-19], "
        "import 1 ok 1 skipped (a backfill imports once, for its last date); "
        "exit 3; first failure: 2015-05-18 aggregate: sessions: job failed; "
        "records: /root/_state/runs"
    )
    one = RunSummary([d1], "r", [StageResult(d1, "parse", "failed", "no logs", 4)])
    assert one.line() == "run 2015-05-18: parse failed (exit 4); exit 4; first failure: 2015-05-18 parse: no logs; records: r"


def test_a_day_whose_log_holds_no_events_runs_clean(tmp_path: Path, moto_server: str) -> None:
    """An empty log (no traffic, the server down all day) parses to no partitions: the
    events and aggregate stages have nothing to do, and must not run a job or a
    registration for no dates (which failed with exit 4, night after night)."""
    empty = dt.date(2015, 5, 20)
    write_day_logs(tmp_path / "logs", [DAY1, DAY2])
    folder = tmp_path / "logs" / "2015" / "05" / "20"
    folder.mkdir(parents=True)
    (folder / "access.log").write_bytes(b"")
    glue = {"database": "empty_day", "endpoint_url": moto_server}
    conf = write_config(tmp_path / "w.toml", base_config(tmp_path, glue=glue))
    runner = CliRunner()
    run = ["--config", str(conf), "run"]
    r = runner.invoke(cli, [*run, "--from", str(DAY1), "--to", str(DAY2)])
    assert r.exit_code == 0, r.output
    # the next night: the empty day alone
    r = runner.invoke(cli, [*run, "--date", str(empty)])
    assert r.exit_code == 0, r.output
    assert "parse ok (0 partitions), events ok (no events that day)" in r.output
    assert "aggregate ok (no events that day)" in r.output and "(no dates)" not in r.output
    store = LocalStore(tmp_path / "root")
    for stage in ("events", "aggregate"):
        rec = load_record(store, empty, stage)
        assert rec is not None and rec.status == "ok" and rec.partitions == []
    # a backfill over all three days: the others aggregated as usual, the empty one done
    r = runner.invoke(cli, [*run, "--from", str(DAY1), "--to", str(empty), "--force"])
    assert r.exit_code == 0 and "aggregate 3 ok" in r.output, r.output
    assert tree(tmp_path / "root", "aggregates/daily_actions/dt=2015-05-18")
    again = runner.invoke(cli, [*run, "--date", str(empty)])
    assert again.exit_code == 0 and "aggregate complete" in again.output, again.output
