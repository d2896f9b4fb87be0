"""A damaged run record is one logged line, never a traceback (issue 21, item 4): the
stage runs again as if it had no record, and the run goes on. Through the CLI (`run`, real
parse and aggregate flows, inline runner) on a local root."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.test_pipeline import DAY1, base_config, event_count, tree, write_config, write_day_logs
from warehouse.cli import cli


def _rewrite(change: Callable[[dict[str, Any]], Any]) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        data = json.loads(path.read_text())
        change(data)
        path.write_text(json.dumps(data))
    return damage


def _folder(path: Path) -> None:
    path.unlink()
    path.mkdir()
    (path / "x.json").write_text("{}")


def _text(text: str) -> Callable[[Path], None]:
    return lambda path: path.write_text(text)


DAMAGES = [
    pytest.param("aggregate", _rewrite(lambda d: d.update(jobs="daily_actions")), id="jobs-str"),
    pytest.param("aggregate", _rewrite(lambda d: d.update(jobs=["daily_actions"])),
                 id="jobs-list"),
    pytest.param("aggregate", _rewrite(lambda d: d.update(jobs={"daily_actions": "ok"})),
                 id="job-str"),
    pytest.param("aggregate", _rewrite(lambda d: d["jobs"]["daily_actions"].update(
        dates=["../.."])), id="job-dates"),
    pytest.param("parse", _rewrite(lambda d: d.update(status="failed",
                                                      held_partitions="2015-05-18")),
                 id="held-str"),
    pytest.param("parse", _rewrite(lambda d: d.update(status="failed",
                                                      held_partitions=["../.."])),
                 id="held-dotdot"),
    pytest.param("parse", _rewrite(lambda d: d.update(partitions=["../../x"])),
                 id="partitions-dotdot"),
    pytest.param("parse", _rewrite(lambda d: d.update(status=0)), id="status-int"),
    pytest.param("parse", _text("{not json"), id="not-json"),
    pytest.param("parse", _text("[1, 2]"), id="a-list"),
    pytest.param("parse", _folder, id="folder"),
    pytest.param("aggregate", _folder, id="agg-folder"),
]


@pytest.mark.parametrize(("stage", "damage"), DAMAGES)
def test_a_damaged_record_reruns_its_stage(
    tmp_path: Path, stage: str, damage: Callable[[Path], None], caplog: pytest.LogCaptureFixture
) -> None:
    write_day_logs(tmp_path / "logs", [DAY1])
    data = base_config(tmp_path)
    data["aggregate"]["jobs"] = ["daily_actions"]
    conf = write_config(tmp_path / "w.toml", data)
    root = tmp_path / "root"

    def run() -> Any:
        return CliRunner().invoke(cli, ["--config", str(conf), "run", "--date", str(DAY1)])

    first = run()
    assert first.exit_code == 0, first.output
    events, aggregates = event_count(root), tree(root, "aggregates")
    record = root / "_state" / "runs" / str(DAY1) / f"{stage}.json"
    damage(record)

    caplog.clear()
    second = run()
    assert second.exit_code == 0, second.output
    assert "Traceback" not in second.output and not [r for r in caplog.records if r.exc_info]
    said = [r.getMessage() for r in caplog.records if "is corrupt" in r.getMessage()]
    assert len(said) == 1 and "\n" not in said[0], said
    assert f"run record {record} is corrupt" in said[0]
    summary = second.output.strip().splitlines()[-1]
    assert f"{stage} ok" in summary, summary  # run again, as if it had no record
    assert event_count(root) == events and tree(root, "aggregates") == aggregates
    assert not (tmp_path / "x").exists()

    caplog.clear()
    third = run()
    assert third.exit_code == 0, third.output
    if record.is_dir():  # nothing is written over a folder: said again, run again
        assert f"{stage} ok" in third.output.strip().splitlines()[-1]
    else:  # the record was rewritten whole: done
        assert not [r for r in caplog.records if "is corrupt" in r.getMessage()]
        assert f"{stage} complete" in third.output.strip().splitlines()[-1]
