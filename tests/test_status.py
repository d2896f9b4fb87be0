"""`warehouse status` after real runs (CLI, inline runner): three nights, one of them
failing, on a local root and on an S3 root (moto's server); a damaged record."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from tests.test_pipeline import DAY1, DAY2, base_config, write_config, write_day_logs
from warehouse.cli import cli

DAY3 = dt.date(2015, 5, 20)  # no logs: its parse fails (exit 4)


def _cli(conf: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, ["--config", str(conf), *args])


def _three_nights(conf: Path) -> None:
    for day in (DAY1, DAY2, DAY3):
        r = _cli(conf, "run", "--date", str(day))
        assert r.exit_code == (4 if day == DAY3 else 0), r.output


def _check_report(conf: Path, records: str) -> None:
    r = _cli(conf, "status", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["records"] == records
    dates = [d["date"] for d in data["dates"]]
    assert dates == [str(DAY3), str(DAY2), str(DAY1)]  # the failure first, then newest first
    failed = data["dates"][0]
    assert failed["failing"] and failed["exit_code"] == 4
    stages = {s["stage"]: s for s in failed["stages"]}
    assert stages["parse"]["outcome"] == "failed" and stages["parse"]["exit_code"] == 4
    assert stages["parse"]["exit_class"] == "input missing"
    assert "2015/05/20" in stages["parse"]["error"]
    # 2015 is long before the nightly catch-up window: the fix is named
    later = f"; beyond the nightly catch-up (3 days): warehouse run --date {DAY3}"
    assert stages["parse"]["next_run"] == "redo" + later
    assert stages["aggregate"]["outcome"] == "blocked"
    assert stages["aggregate"]["next_run"] == "run after its parse" + later
    assert stages["events"]["outcome"] == "skipped"
    ok = {s["stage"]: s for s in data["dates"][1]["stages"]}
    assert ok["parse"]["outcome"] == "ok" and ok["parse"]["next_run"] == ""
    c = ok["parse"]["counts"]
    assert c["lines"] > 0 and c["lines"] == c["events"] + c["rejects"]
    assert ok["aggregate"]["counts"]["rows"] > 0 and ok["aggregate"]["seconds"] is not None

    r = _cli(conf, "status")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0] == f"{DAY3}  FAILED (exit 4: input missing)"
    assert lines[1].split()[:6] == ["parse", "failed", "exit", "4", "(input", "missing)"]
    assert "next run: redo" in lines[2]
    assert lines[-1] == (
        f"status: 3 dates ({DAY1}..{DAY3}), 1 failing [{DAY3}], 1 stage to redo; "
        f"records: {records}"
    )
    assert "'" not in r.output.replace("'s", "")  # no Python reprs

    # --last and --date choose the dates; a date with no record says so
    r = _cli(conf, "status", "--last", "1", "--json")
    assert [d["date"] for d in json.loads(r.output)["dates"]] == [str(DAY3)]
    r = _cli(conf, "status", "--date", "2015-05-25", "--json")
    only = json.loads(r.output)["dates"][0]
    assert only["date"] == "2015-05-25" and only["stages"][0]["outcome"] == "not run"
    r = _cli(conf, "status", "--last", "2", "--date", str(DAY1))
    assert r.exit_code == 2


def test_status_after_three_nights_on_a_local_root(tmp_path: Path) -> None:
    write_day_logs(tmp_path / "logs", [DAY1, DAY2])
    conf = write_config(tmp_path / "w.toml", base_config(tmp_path))
    _three_nights(conf)
    _check_report(conf, str(tmp_path / "root" / "_state" / "runs"))

    # a damaged record: shown as damaged (the next run redoes the stage), no traceback
    rec = tmp_path / "root/_state/runs" / str(DAY1) / "aggregate.json"
    rec.write_text("{not json")
    (tmp_path / "root/_state/runs" / str(DAY1) / "parse.json").write_text('{"status": 7}')
    r = _cli(conf, "status", "--date", str(DAY1))
    assert r.exit_code == 0, r.output
    assert "Traceback" not in r.output and "WARNING" not in r.output
    assert f"{DAY1}  DAMAGED" in r.output
    text = [x for x in r.output.splitlines() if x.strip().startswith(("aggregate", "parse"))]
    parse_rec = tmp_path / "root/_state/runs" / str(DAY1) / "parse.json"
    assert text[0].split()[:2] == ["parse", "damaged"]
    assert str(parse_rec) in text[0] and "status" in text[0]
    assert text[1].split()[:2] == ["aggregate", "damaged"] and str(rec) in text[1]
    assert r.output.count("redo (its record is damaged)") == 2


def test_status_on_an_s3_root(tmp_path: Path, moto_server: str, s3_client: Any,
                              s3_bucket: str) -> None:
    write_day_logs(tmp_path / "logs", [DAY1, DAY2])
    for day in (DAY1, DAY2):
        key = f"access/{day:%Y/%m/%d}/access.log.gz"
        s3_client.upload_file(str(tmp_path / "logs" / f"{day:%Y/%m/%d}" / "access.log.gz"),
                              s3_bucket, key)
    data = base_config(tmp_path)
    data["warehouse"]["root"] = f"s3://{s3_bucket}/wh"
    data["logs"]["input"] = f"s3://{s3_bucket}/access/{{date:%Y/%m/%d}}/"
    data["s3"] = {"endpoint_url": moto_server}
    conf = write_config(tmp_path / "w.toml", data)
    _three_nights(conf)
    _check_report(conf, f"s3://{s3_bucket}/wh/_state/runs")

    # a log that grew since its parse: the next run parses it again, and what follows it
    s3_client.put_object(Bucket=s3_bucket, Key=f"access/{DAY2:%Y/%m/%d}/late.log", Body=b"x\n")
    r = _cli(conf, "status", "--date", str(DAY2), "--json")
    stages = {s["stage"]: s for s in json.loads(r.output)["dates"][0]["stages"]}
    assert stages["parse"]["next_run"].startswith("redo (its logs changed since (1 new file(s)))")
    assert stages["aggregate"]["next_run"].startswith("redo (after its parse)")


def test_a_root_that_is_not_the_catalogs_fails_up_front(
    tmp_path: Path, moto_server: str, s3_client: Any, s3_bucket: str
) -> None:
    """`--root DIR run` against a shared [glue] database made over the S3 root: exit 2 in
    one line before any stage (it was exit 5, "0 partitions in the root"); `hive apply`
    refuses too (its --replace would repoint the shared tables), and `config check`
    refuses [glue] with a local root."""
    write_day_logs(tmp_path / "logs", [DAY1])
    data = base_config(tmp_path)
    data["warehouse"]["root"] = f"s3://{s3_bucket}/wh"
    data["s3"] = {"endpoint_url": moto_server}
    data["glue"] = {"database": f"g{s3_bucket[5:]}", "endpoint_url": moto_server}
    conf = write_config(tmp_path / "w.toml", data)
    r = _cli(conf, "run", "--date", str(DAY1))
    assert r.exit_code == 0 and "events ok" in r.output, r.output

    local = tmp_path / "local-root"
    r = _cli(conf, "--root", str(local), "run", "--date", str(DAY1))
    assert r.exit_code == 2, r.output
    line = r.output.strip()
    assert "\n" not in line and line.startswith(f"error: the root file://{local} is not the catalog's")
    assert f"table access_raw is at s3://{s3_bucket}/wh/raw" in line
    assert not local.exists()  # nothing parsed into it
    r = _cli(conf, "--root", str(local), "hive", "apply")
    assert r.exit_code == 2 and "is not the catalog's" in r.output, r.output
    r = _cli(conf, "--root", str(local), "config", "check")
    assert r.exit_code == 2 and "[glue] with the local root" in r.output, r.output
    # the catalog's own root still runs; --only parse needs no catalog
    r = _cli(conf, "--root", str(local), "run", "--date", str(DAY1), "--only", "parse")
    assert r.exit_code == 0, r.output
    r = _cli(conf, "run", "--date", str(DAY1))
    assert r.exit_code == 0, r.output


def test_a_recent_failure_is_left_to_the_nightly_catch_up(tmp_path: Path) -> None:
    from warehouse.config import config_from_dict
    from warehouse.run.records import StageRecord, write_record
    from warehouse.run.status import run_status
    from warehouse.storage import LocalStore

    store = LocalStore(tmp_path / "root")
    cfg = config_from_dict({"warehouse": {"root": str(tmp_path / "root")}})
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    write_record(store, yesterday, StageRecord("parse", status="failed", exit_code=3,
                                               error="s3 down", seconds=1.5))
    report = run_status(cfg, store)
    parse = report.dates[0].stages[0]
    assert (parse.outcome, parse.exit_class, parse.next_run) == ("failed", "source unavailable", "redo")
