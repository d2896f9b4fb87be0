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


S3_DAMAGES = [
    pytest.param("aggregate", lambda d: d.update(jobs="daily_actions"), id="jobs-str"),
    pytest.param("parse", lambda d: d.update(status="failed", held_partitions=["../.."]),
                 id="held-dotdot"),
    pytest.param("parse", lambda d: d.update(partitions="2015-05-18"), id="partitions-str"),
]


@pytest.mark.parametrize(("stage", "change"), S3_DAMAGES)
def test_a_damaged_record_on_s3_reruns_its_stage(
    tmp_path: Path, moto_server: str, s3_client: Any, s3_bucket: str, stage: str,
    change: Callable[[dict[str, Any]], Any], caplog: pytest.LogCaptureFixture,
) -> None:
    write_day_logs(tmp_path / "logs", [DAY1])
    s3_client.upload_file(str(tmp_path / "logs" / f"{DAY1:%Y/%m/%d}" / "access.log.gz"),
                          s3_bucket, f"access/{DAY1:%Y/%m/%d}/access.log.gz")
    data = base_config(tmp_path)
    data["aggregate"]["jobs"] = ["daily_actions"]
    data["warehouse"]["root"] = f"s3://{s3_bucket}/wh"
    data["logs"]["input"] = f"s3://{s3_bucket}/access/{{date:%Y/%m/%d}}/"
    data["s3"] = {"endpoint_url": moto_server}
    conf = write_config(tmp_path / "w.toml", data)

    def run() -> Any:
        return CliRunner().invoke(cli, ["--config", str(conf), "run", "--date", str(DAY1)])

    def listing() -> dict[str, str]:
        got = s3_client.list_objects_v2(Bucket=s3_bucket).get("Contents", [])
        return {o["Key"]: o["ETag"] for o in got if "/_state/" not in o["Key"]}

    assert run().exit_code == 0
    before = listing()
    key = f"wh/_state/runs/{DAY1}/{stage}.json"
    rec = json.loads(s3_client.get_object(Bucket=s3_bucket, Key=key)["Body"].read())
    change(rec)
    s3_client.put_object(Bucket=s3_bucket, Key=key, Body=json.dumps(rec).encode())
    caplog.clear()
    second = run()
    assert second.exit_code == 0, second.output
    said = [r.getMessage() for r in caplog.records if "is corrupt" in r.getMessage()]
    assert len(said) == 1 and f"run record s3://{s3_bucket}/{key} is corrupt" in said[0], said
    assert not [r for r in caplog.records if r.exc_info]
    assert f"{stage} ok" in second.output.strip().splitlines()[-1]
    assert set(listing()) == set(before)  # nothing outside its objects, nothing lost
