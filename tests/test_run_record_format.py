"""Run records keep their bytes (issue 23 item 4): a record as the code before the
dataclasses wrote it (each GOLDEN below, from a real `warehouse run` on a local root, and
two hand-shaped ones: a parse left running with no earlier record, an aggregate with a
failed job) reads into a StageRecord and is written back byte for byte; and a run now
writes the same keys, in the same format, as it did."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.test_pipeline import DAY1, base_config, write_config, write_day_logs
from warehouse.cli import cli
from warehouse.run.records import (
    ABSENT,
    JobRecord,
    StageRecord,
    load_record,
    record_key,
    write_record,
)
from warehouse.storage import LocalStore

PARSE = """\
{
 "counts": {
  "events": 2886,
  "held": 0,
  "inputs": 1,
  "lines": 2886,
  "max_reject_ratio": 0.5,
  "seconds": 0.3511284370015346,
  "unmatched": 1341
 },
 "date": "2015-05-18",
 "ended": "2026-12-07T02:38:20.136Z",
 "error": null,
 "exit_code": 0,
 "held_partitions": [],
 "host": "vm",
 "input": "/srv/wh/logs/2015/05/18",
 "inputs": {
  "/srv/wh/logs/2015/05/18/access.log.gz": 65473
 },
 "partitions": [
  "2015-05-17",
  "2015-05-18"
 ],
 "pid": 13782,
 "renamed": {},
 "seconds": 0.944,
 "stage": "parse",
 "started": "2026-12-07T02:38:19.192Z",
 "status": "ok",
 "summary": "parse: 2,886 lines from 1 input, 2,886 events, 0 rejects, 1,341 unmatched paths; in 0.35s -> /srv/wh/root/events (partitions 2015-05-17 2015-05-18; format combined)"
}
"""

AGGREGATE = """\
{
 "date": "2015-05-18",
 "ended": "2026-12-07T02:38:24.137Z",
 "error": null,
 "exit_code": 0,
 "host": "vm",
 "jobs": {
  "daily_actions": {
   "counts": {
    "dropped": 0,
    "events": 5773,
    "exit_code": 0,
    "inputs": 4,
    "records": 18,
    "seconds": 1.9888389649986493
   },
   "dates": [
    "2015-05-17",
    "2015-05-18",
    "2015-05-19"
   ],
   "error": null,
   "exit_code": 0,
   "partitions": [
    "2015-05-17",
    "2015-05-18",
    "2015-05-19"
   ],
   "seconds": 1.989,
   "started": "2026-12-07T02:38:20.355Z",
   "status": "ok",
   "summary": "aggregate daily_actions [inline] 2015-05-17..2015-05-19: 3 partitions, 18 records; 5,773 events from 4 files; 0 malformed skipped -> /srv/wh/root/aggregates/daily_actions in 2.0s (2,903 events/s)"
  },
  "sessions": {
   "counts": {
    "dropped": 0,
    "events": 5773,
    "exit_code": 0,
    "inputs": 4,
    "records": 3,
    "seconds": 1.0889798990010604
   },
   "dates": [
    "2015-05-16",
    "2015-05-17",
    "2015-05-18",
    "2015-05-19"
   ],
   "error": null,
   "exit_code": 0,
   "partitions": [
    "2015-05-17",
    "2015-05-18",
    "2015-05-19"
   ],
   "seconds": 1.089,
   "started": "2026-12-07T02:38:22.350Z",
   "status": "ok",
   "summary": "aggregate sessions [inline] 2015-05-16..2015-05-19: 3 partitions, 3 records; 5,773 events from 4 files; 0 malformed skipped; no input for 2015-05-16 -> /srv/wh/root/aggregates/sessions in 1.1s (5,301 events/s)"
  },
  "top_params": {
   "counts": {
    "dropped": 0,
    "events": 5773,
    "exit_code": 0,
    "inputs": 4,
    "records": 99,
    "seconds": 0.6693644810002297
   },
   "dates": [
    "2015-05-17",
    "2015-05-18",
    "2015-05-19"
   ],
   "error": null,
   "exit_code": 0,
   "partitions": [
    "2015-05-17",
    "2015-05-18",
    "2015-05-19"
   ],
   "seconds": 0.67,
   "started": "2026-12-07T02:38:23.449Z",
   "status": "ok",
   "summary": "aggregate top_params [inline] 2015-05-17..2015-05-19: 3 partitions, 99 records; 5,773 events from 4 files; 0 malformed skipped -> /srv/wh/root/aggregates/top_params in 0.67s"
  }
 },
 "partitions": [
  "2015-05-17",
  "2015-05-18"
 ],
 "pid": 13782,
 "seconds": 3.784,
 "stage": "aggregate",
 "started": "2026-12-07T02:38:20.353Z",
 "status": "ok",
 "summary": null
}
"""

PARQUET = """\
{
 "counts": {
  "seconds": 1.6271540569996432
 },
 "date": "2015-05-18",
 "ended": "2026-12-07T02:38:25.817Z",
 "error": null,
 "exit_code": 0,
 "host": "vm",
 "partitions": [
  "2015-05-17",
  "2015-05-18"
 ],
 "pid": 13782,
 "registered": null,
 "seconds": 1.652,
 "stage": "parquet",
 "started": "2026-12-07T02:38:24.165Z",
 "status": "ok",
 "summary": "events compact: 3 dates (3 written, 0 unchanged, 0 removed, 0 without events), 5,773 rows, 0 malformed skipped, 0.2 MB of JSON parts -> 0.1 MB of Parquet in 1.6s (3,548 rows/s) -> /srv/wh/root/events_parquet"
}
"""

NO_EVENTS = """\
{
 "date": "2015-05-20",
 "ended": "2026-12-07T02:38:28.678Z",
 "error": null,
 "exit_code": 0,
 "host": "vm",
 "partitions": [],
 "pid": 13782,
 "seconds": 0.001,
 "stage": "aggregate",
 "started": "2026-12-07T02:38:28.677Z",
 "status": "ok",
 "summary": null
}
"""

RUNNING = """\
{
 "date": "2015-05-18",
 "ended": null,
 "error": null,
 "exit_code": null,
 "held_partitions": [],
 "host": "vm",
 "input": "/srv/wh/logs/2015/05/18",
 "inputs": null,
 "pid": 13782,
 "renamed": null,
 "seconds": null,
 "stage": "parse",
 "started": "2026-12-07T02:38:19.192Z",
 "status": "running",
 "summary": null
}
"""

FAILED_JOB = """\
{
 "date": "2015-05-18",
 "ended": "2026-12-07T02:38:24.137Z",
 "error": "sessions: sessions: job failed",
 "exit_code": 5,
 "host": "vm",
 "jobs": {
  "daily_actions": {
   "counts": {
    "dropped": 0,
    "events": 5773,
    "exit_code": 0,
    "inputs": 4,
    "records": 18,
    "seconds": 1.9888389649986493
   },
   "dates": [
    "2015-05-17",
    "2015-05-18",
    "2015-05-19"
   ],
   "error": null,
   "exit_code": 0,
   "partitions": [
    "2015-05-17",
    "2015-05-18",
    "2015-05-19"
   ],
   "registered": "hive: 3 partitions of agg_daily_actions registered",
   "seconds": 1.989,
   "started": "2026-12-07T02:38:20.355Z",
   "status": "ok",
   "summary": "aggregate daily_actions [inline] 2015-05-17..2015-05-19: 3 partitions, 18 records; 5,773 events from 4 files; 0 malformed skipped -> /srv/wh/root/aggregates/daily_actions in 2.0s (2,903 events/s)"
  },
  "sessions": {
   "dates": [
    "2015-05-16",
    "2015-05-17",
    "2015-05-18",
    "2015-05-19"
   ],
   "error": "sessions: job failed",
   "exit_code": 5,
   "seconds": 1.089,
   "started": "2026-12-07T02:38:22.350Z",
   "status": "failed"
  },
  "top_params": {
   "counts": {
    "dropped": 0,
    "events": 5773,
    "exit_code": 0,
    "inputs": 4,
    "records": 99,
    "seconds": 0.6693644810002297
   },
   "dates": [
    "2015-05-17",
    "2015-05-18",
    "2015-05-19"
   ],
   "error": null,
   "exit_code": 0,
   "partitions": [
    "2015-05-17",
    "2015-05-18",
    "2015-05-19"
   ],
   "seconds": 0.67,
   "started": "2026-12-07T02:38:23.449Z",
   "status": "ok",
   "summary": "aggregate top_params [inline] 2015-05-17..2015-05-19: 3 partitions, 99 records; 5,773 events from 4 files; 0 malformed skipped -> /srv/wh/root/aggregates/top_params in 0.67s"
  }
 },
 "partitions": [
  "2015-05-17",
  "2015-05-18"
 ],
 "pid": 13782,
 "seconds": 3.784,
 "stage": "aggregate",
 "started": "2026-12-07T02:38:20.353Z",
 "status": "failed",
 "summary": null
}
"""

GOLDEN = {"parse": PARSE, "aggregate": AGGREGATE, "parquet": PARQUET, "no-events": NO_EVENTS,
          "running": RUNNING, "failed-job": FAILED_JOB}


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_a_record_written_before_reads_and_writes_back_byte_for_byte(tmp_path: Path, name: str) -> None:
    text = GOLDEN[name]
    data = json.loads(text)
    store = LocalStore(tmp_path / "root")
    day = dt.date.fromisoformat(data["date"])
    path = tmp_path / "root" / record_key(day, data["stage"])
    path.parent.mkdir(parents=True)
    path.write_text(text)
    rec = load_record(store, day, data["stage"])
    assert isinstance(rec, StageRecord)
    path.unlink()
    write_record(store, day, rec)
    assert path.read_text() == text


def test_the_fields_read_as_attributes(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "root")
    for text in (PARSE, AGGREGATE, PARQUET, RUNNING, FAILED_JOB):
        data = json.loads(text)
        day = dt.date.fromisoformat(data["date"])
        write_record(store, day, StageRecord.from_json(data))
    parse = load_record(store, dt.date(2015, 5, 18), "parse")
    assert parse is not None and parse.status == "running"  # RUNNING was written last
    assert parse.inputs is None and parse.renamed is None  # held, as null
    agg = load_record(store, dt.date(2015, 5, 18), "aggregate")
    assert agg is not None and agg.jobs is not None and agg.exit_code == 5
    assert agg.jobs["sessions"] == JobRecord(
        started=agg.jobs["sessions"].started, dates=["2015-05-16", "2015-05-17", "2015-05-18", "2015-05-19"],
        status="failed", exit_code=5, error="sessions: job failed",
        seconds=agg.jobs["sessions"].seconds,
    )
    assert agg.jobs["daily_actions"].partitions == ["2015-05-17", "2015-05-18", "2015-05-19"]
    assert agg.registered is ABSENT and agg.inputs is ABSENT  # not an aggregate's fields
    parquet = load_record(store, dt.date(2015, 5, 18), "parquet")
    assert parquet is not None and parquet.registered is None and parquet.partitions


def test_a_run_writes_records_in_the_format_it_did(tmp_path: Path) -> None:
    """Through the CLI on a local root: every record a run writes has the keys of its
    golden record and the format (keys sorted, one space of indent, a final newline)."""
    write_day_logs(tmp_path / "logs", [DAY1])
    data = base_config(tmp_path, events={"parquet": True})
    conf = write_config(tmp_path / "w.toml", data)
    r = CliRunner().invoke(cli, ["--config", str(conf), "run", "--date", str(DAY1)])
    assert r.exit_code == 0, r.output
    runs = tmp_path / "root" / "_state" / "runs" / str(DAY1)
    assert sorted(p.name for p in runs.iterdir()) == ["aggregate.json", "parquet.json", "parse.json"]
    for stage, golden in (("parse", PARSE), ("aggregate", AGGREGATE), ("parquet", PARQUET)):
        text = (runs / f"{stage}.json").read_text()
        got, want = json.loads(text), json.loads(golden)
        assert text == json.dumps(got, indent=1, sort_keys=True) + "\n"
        assert sorted(got) == sorted(want), stage
        if stage == "aggregate":
            assert {j: sorted(v) for j, v in got["jobs"].items()} == {
                j: sorted(v) for j, v in want["jobs"].items()}
