"""`warehouse run` as cron runs it night after night: a day's log that grows after its
first parse, and a config that asks for more than an earlier night did, are done again
rather than skipped as "complete" (silent loss). Real parse and aggregate flows through
the CLI, inline runner; no Hive or MySQL."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.test_pipeline import (
    DAY1,
    DAY2,
    base_config,
    event_count,
    tree,
    write_config,
    write_day_logs,
)
from warehouse.cli import cli
from warehouse.run.records import load_record
from warehouse.storage import LocalStore


def _run(conf: Path, *args: str) -> tuple[int, str]:
    r = CliRunner().invoke(cli, ["--config", str(conf), "run", *args])
    return r.exit_code, r.output.strip().splitlines()[-1] if r.output.strip() else ""


def test_late_lines_are_parsed_and_aggregated_by_the_next_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    counts = write_day_logs(tmp_path / "logs", [DAY1])
    log = tmp_path / "logs" / DAY1.strftime("%Y/%m/%d") / "access.log.gz"
    full = gzip.decompress(log.read_bytes()).splitlines(keepends=True)
    with gzip.open(log, "wb") as f:  # 00:05 UTC: the last hours are not uploaded yet
        f.writelines(full[: len(full) // 2])
    conf = write_config(tmp_path / "w.toml", base_config(tmp_path))
    code, line = _run(conf, "--date", str(DAY1))
    assert code == 0 and "parse ok" in line, line
    root = tmp_path / "root"
    assert event_count(root) == len(full) // 2

    with gzip.open(log, "wb") as f:  # the rest of the day arrives
        f.writelines(full)
    code, line = _run(conf, "--date", str(DAY1))
    assert code == 0, line
    assert "parse ok" in line and "aggregate ok" in line, line
    assert event_count(root) == counts[DAY1] == len(full)
    rec = load_record(LocalStore(root), DAY1, "parse")
    assert rec is not None and rec.counts is not None and rec.counts["lines"] == len(full)

    # the aggregates equal those of a root that only ever saw the whole log
    clean = tmp_path / "clean"
    write_day_logs(clean / "logs", [DAY1])
    code, _ = _run(write_config(clean / "w.toml", base_config(clean)), "--date", str(DAY1))
    assert code == 0
    assert tree(root, "aggregates") == tree(clean / "root", "aggregates")

    # unchanged since: the next night skips it
    code, line = _run(conf, "--date", str(DAY1))
    assert code == 0 and "parse complete" in line and "aggregate complete" in line, line

    # a second file in the day's folder (another web server's log) counts too
    (log.parent / "access-2.log").write_bytes(b"".join(full[:10]))
    code, line = _run(conf, "--date", str(DAY1))
    assert code == 0 and "parse ok" in line, line
    assert event_count(root) == len(full) + 10

    # a file renamed since is not a new log: recognised by its first line and read in the
    # old name's place (its events would come twice, under the old name and the new)
    (log.parent / "access-2.log").rename(log.parent / "access-2.log.1")
    r = CliRunner().invoke(cli, ["--config", str(conf), "-v", "run", "--date", str(DAY1)])
    assert r.exit_code == 0 and "parse ok" in r.output, r.output
    assert any("access-2.log.1 is" in m and "renamed" in m for m in caplog.messages)
    assert event_count(root) == len(full) + 10


def test_a_job_added_to_the_config_runs_for_days_done_before(tmp_path: Path) -> None:
    write_day_logs(tmp_path / "logs", [DAY1, DAY2])
    data = base_config(tmp_path)
    data["aggregate"]["jobs"] = ["daily_actions"]
    conf = write_config(tmp_path / "w.toml", data)
    code, line = _run(conf, "--from", str(DAY1), "--to", str(DAY2))
    assert code == 0 and "aggregate 2 ok" in line, line
    root = tmp_path / "root"
    assert not (root / "aggregates" / "sessions").exists()
    store = LocalStore(root)
    first = load_record(store, DAY2, "aggregate")
    assert first is not None and first.jobs is not None

    data["aggregate"]["jobs"] = ["daily_actions", "sessions"]
    write_config(conf, data)
    code, line = _run(conf, "--from", str(DAY1), "--to", str(DAY2))
    assert code == 0, line
    assert "parse 2 complete" in line and "aggregate 2 ok" in line, line
    for d in ("2015-05-17", "2015-05-18", "2015-05-19"):
        assert (root / f"aggregates/sessions/dt={d}/part-00000.json.gz").exists()
    rec = load_record(store, DAY2, "aggregate")
    assert rec is not None and rec.jobs is not None and set(rec.jobs) == {"daily_actions", "sessions"}
    # the job done before was not run again
    assert rec.jobs["daily_actions"] == first.jobs["daily_actions"]
    code, line = _run(conf, "--from", str(DAY1), "--to", str(DAY2))
    assert code == 0 and "aggregate 2 complete" in line, line
    assert json.loads((root / "_state/runs" / str(DAY2) / "aggregate.json").read_text()) == rec.to_json()


class _BuggyStore(LocalStore):
    """The root, with a bug injected: reading the aggregate records raises TypeError."""

    def exists(self, key: str) -> bool:
        if key.endswith("/aggregate.json"):
            raise TypeError("injected bug")
        return super().exists(key)


def test_an_unexpected_error_in_a_stage_still_ends_with_the_summary_line(tmp_path: Path) -> None:
    """A bug met by one stage (here injected into the store) fails that stage with exit 1
    and a traceback; the other stages go on, the summary line names it, and the run lock
    is released. (A run record damaged by hand is no bug: tests/test_run_records.py.)"""
    from warehouse.config import load_config
    from warehouse.run.pipeline import run_nightly

    write_day_logs(tmp_path / "logs", [DAY1])
    conf = write_config(tmp_path / "w.toml", base_config(tmp_path))
    cfg = load_config(str(conf))
    assert run_nightly(cfg, [DAY1], only="parse").exit_code == 0
    store = _BuggyStore(tmp_path / "root")
    summary = run_nightly(cfg, [DAY1], store=store)
    assert summary.exit_code == 1
    line = summary.line()
    assert line.startswith("run 2015-05-18: parse complete"), line
    assert "aggregate failed (exit 1)" in line and "import skipped" in line
    assert "first failure: 2015-05-18 aggregate: unexpected TypeError" in line
    # the lock is free: the next run gets it (and fails the same way, not exit 6)
    assert run_nightly(cfg, [DAY1], store=store).exit_code == 1


def test_a_stage_older_than_the_parse_it_depends_on_runs_again(tmp_path: Path) -> None:
    """`run --only parse` picks up late lines; a later `run --only aggregate` (another
    invocation) re-aggregates the day instead of calling the old aggregates complete."""
    write_day_logs(tmp_path / "logs", [DAY1])
    log = tmp_path / "logs" / DAY1.strftime("%Y/%m/%d") / "access.log.gz"
    full = gzip.decompress(log.read_bytes()).splitlines(keepends=True)
    with gzip.open(log, "wb") as f:
        f.writelines(full[: len(full) // 3])
    conf = write_config(tmp_path / "w.toml", base_config(tmp_path))
    assert _run(conf, "--date", str(DAY1))[0] == 0
    with gzip.open(log, "wb") as f:
        f.writelines(full)
    code, line = _run(conf, "--date", str(DAY1), "--only", "parse")
    assert code == 0 and "parse ok" in line, line
    code, line = _run(conf, "--date", str(DAY1), "--only", "aggregate")
    assert code == 0 and "aggregate ok" in line, line
    clean = tmp_path / "clean"
    write_day_logs(clean / "logs", [DAY1])
    assert _run(write_config(clean / "w.toml", base_config(clean)), "--date", str(DAY1))[0] == 0
    assert tree(tmp_path / "root", "aggregates") == tree(clean / "root", "aggregates")
    code, line = _run(conf, "--date", str(DAY1))
    assert code == 0 and "parse complete" in line and "aggregate complete" in line, line
