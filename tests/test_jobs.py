"""The mrjob jobs on the inline runner: pure helpers, literal events, and exact agreement
with brute force on a 50,000-event corpus over a week."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
from pathlib import Path
from typing import Any

import pytest

from tests.test_aggregate_corpus import (
    BRUTE,
    START,
    assert_same,
    make_corpus,
    read_output,
    read_partition_lines,
    valid_events,
)
from warehouse.aggregate import run_aggregate
from warehouse.aggregate.runners import load_job
from warehouse.config import config_from_dict
from warehouse.schema import JOBS


def _common() -> Any:
    load_job("daily_actions")  # puts jobs/ on sys.path, as the runners do
    import _common as mod

    return mod


# ---------------------------------------------------------------------------------------
# helpers in jobs/_common.py


@pytest.mark.parametrize(
    ("ts", "want"),
    [
        ("2024-03-08T23:59:59Z", ("2024-03-08", 1709942399)),
        ("2024-03-08T23:59:59.250Z", ("2024-03-08", 1709942399.25)),
        ("2024-03-09T01:30:00+02:00", ("2024-03-08", 1709940600)),
        ("2024-03-08T20:00:00-05:00", ("2024-03-09", 1709946000)),
        ("2024-02-29T00:00:00Z", ("2024-02-29", 1709164800)),
        ("2024-02-30T00:00:00Z", None),
        ("2024-03-08T24:00:00Z", None),
        ("2024-03-08T10:00:00", None),
        ("yesterday", None),
        ("\uff12\uff10\uff12\uff14-03-08T10:00:00Z", None)  # non-ASCII digits,
    ],
)
def test_timestamp_to_utc_date_and_epoch(ts: str, want: tuple[str, float] | None) -> None:
    assert _common().EventParser().timestamp(ts) == want


def test_nearest_rank_percentiles() -> None:
    rank = _common().nearest_rank
    assert rank([], 50) is None
    assert rank([7], 95) == 7
    values = list(range(1, 101))
    assert (rank(values, 50), rank(values, 95), rank(values, 100)) == (50, 95, 100)
    assert rank([1, 2, 3, 4], 50) == 2  # ceil(0.5 * 4) = 2nd value, no interpolation
    assert rank([1, 2, 3], 50) == 2
    assert rank(list(range(20)), 95) == 18  # ceil(0.95 * 20) = 19th value


def test_internal_protocol_keys_are_hashable_tuples() -> None:
    proto = _common().OrjsonProtocol()
    line = proto.write(("2024-03-08", None), [1, ["a"], {"x": 1.5}])
    key, value = proto.read(line)
    assert key == ("2024-03-08", None) and hash(key)
    assert value == [1, ["a"], {"x": 1.5}]
    assert proto.read(proto.write("2024-03-08", 3)) == ("2024-03-08", 3)


def test_parse_names_the_first_bad_field() -> None:
    parser = _common().EventParser()
    good = {"ts": "2024-03-08T10:00:00Z", "ip": "1.2.3.4", "user": "", "status": 200,
            "slug": None, "user_agent": None, "duration_ms": 1.5, "params": {}}
    ev = parser.parse(json.dumps(good).encode())
    assert isinstance(ev, dict) and ev["user"] is None and ev["dt"] == "2024-03-08"
    for patch, field in [
        ({"status": 200.0}, "status"),
        ({"ip": ""}, "ip"),
        ({"slug": 3}, "slug"),
        ({"duration_ms": "5"}, "duration_ms"),
        ({"duration_ms": False}, "duration_ms"),
        ({"params": {"a": None}}, "params"),
        ({"params": []}, "params"),
    ]:
        assert parser.parse(json.dumps({**good, **patch}).encode()) == field
    assert parser.parse(b"{") == "json"
    assert parser.valid == 1


# ---------------------------------------------------------------------------------------
# jobs on literal events (in process, job.sandbox)


def _event(ts: str, slug: str | None = "home", **kw: Any) -> bytes:
    ev = {"ts": ts, "ip": kw.pop("ip", "10.0.0.1"), "user": kw.pop("user", None),
          "status": kw.pop("status", 200), "slug": slug, "user_agent": kw.pop("ua", "UA"),
          "duration_ms": kw.pop("duration_ms", None), "params": kw.pop("params", {})}
    return json.dumps(ev).encode()


def _run(job: str, lines: list[bytes], *args: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    mr_job = load_job(job)(["-r", "inline", "--no-conf", *args])
    mr_job.sandbox(stdin=io.BytesIO(b"\n".join(lines) + b"\n"))
    with mr_job.make_runner() as runner:
        runner.run()
        records = [v for _, v in mr_job.parse_output(runner.cat_output())]
        return records, runner.counters()[0]


def test_daily_actions_on_literal_events() -> None:
    lines = [
        _event("2024-03-08T23:59:59Z", user="ann", duration_ms=10),
        _event("2024-03-09T00:00:00Z", user="ann", duration_ms=30, status=503),
        _event("2024-03-09T00:00:01Z", user="bob", ip="10.0.0.2", duration_ms=20, status=404),
        _event("2024-03-09T00:00:02Z", None, status=404),
        b"garbage",
    ]
    records, counters = _run("daily_actions", lines)
    assert sorted(records, key=lambda r: (r["dt"], r["slug"] or "")) == [
        {"dt": "2024-03-08", "slug": "home", "hits": 1, "users": 1, "ips": 1,
         "server_errors": 0, "client_errors": 0, "p50_ms": 10, "p95_ms": 10},
        {"dt": "2024-03-09", "slug": None, "hits": 1, "users": 0, "ips": 1,
         "server_errors": 0, "client_errors": 1, "p50_ms": None, "p95_ms": None},
        {"dt": "2024-03-09", "slug": "home", "hits": 2, "users": 2, "ips": 2,
         "server_errors": 1, "client_errors": 1, "p50_ms": 20, "p95_ms": 30},
    ]
    assert counters["malformed events"] == {"json": 1}
    assert counters["events"] == {"valid": 4}


def test_sessions_split_on_gap_and_count_for_the_first_date() -> None:
    lines = [
        _event("2024-03-08T23:50:00Z", "a", user="ann"),
        _event("2024-03-09T00:10:00Z", "b", user="ann"),  # same session, crosses midnight
        _event("2024-03-09T00:41:00Z", "c", user="ann"),  # 31 min later: new session
        _event("2024-03-09T01:11:00Z", "d", user="ann"),  # exactly 30 min: same session
        _event("2024-03-09T05:00:00Z", "a", ip="10.9.9.9", ua="X"),  # anonymous visitor
        _event("2024-03-09T05:00:00Z", None, ip="10.9.9.9", ua="X"),  # same time: null first
    ]
    records, _ = _run("sessions", lines, "--gap-minutes", "30", "--top-n", "2")
    by_dt = {r["dt"]: r for r in records}
    assert by_dt["2024-03-08"] == {
        "dt": "2024-03-08", "sessions": 1, "visitors": 1, "mean_session_s": 1200.0,
        "median_session_s": 1200, "mean_actions": 2.0,
        "top_entry": [{"slug": "a", "n": 1}], "top_exit": [{"slug": "b", "n": 1}],
    }
    assert by_dt["2024-03-09"] == {
        "dt": "2024-03-09", "sessions": 2, "visitors": 2, "mean_session_s": 900.0,
        "median_session_s": 0, "mean_actions": 2.0,
        "top_entry": [{"slug": None, "n": 1}, {"slug": "c", "n": 1}],
        "top_exit": [{"slug": "a", "n": 1}, {"slug": "d", "n": 1}],
    }


def test_top_params_ranks_by_hits_then_value() -> None:
    lines = [_event("2024-03-08T10:00:00Z", "shop:product", params={"id": v})
             for v in ["7", "7", "3", "3", "12", "5", "7"]]
    records, _ = _run("top_params", lines, "--top-n", "3")
    assert [(r["value"], r["hits"], r["rank"]) for r in records] == [
        ("7", 3, 1), ("3", 2, 2), ("12", 1, 3)
    ]
    assert all(list(r) == list(JOBS["top_params"].keys) for r in records)


# ---------------------------------------------------------------------------------------
# inline runner against brute force on 50,000 events over 7 days


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    root = tmp_path_factory.mktemp("week")
    make_corpus(root, 50_000, 7, seed=11, parts=3)
    days = sorted(p.name[3:] for p in (root / "events").iterdir())
    good, bad = valid_events(read_partition_lines(root, days))
    assert len(good) == 50_000 and bad > 0
    return root, good


@pytest.mark.parametrize("job", sorted(JOBS))
def test_inline_matches_brute_force_on_a_week(
    week: tuple[Path, list[dict[str, Any]]], job: str
) -> None:
    root, good = week
    cfg = config_from_dict({"warehouse": {"root": str(root)}, "aggregate": {"top_n": 5}})
    dates = [START + dt.timedelta(days=i) for i in range(7)]
    summary = run_aggregate(cfg, job, dates, runner="inline")
    assert summary.exit_code == 0, summary.line()
    assert summary.partitions == {d.isoformat() for d in dates}
    kwargs = {"top_n": 5} if job != "daily_actions" else {}
    want = BRUTE[job](good, **kwargs)
    got = read_output(root, job)
    assert_same([r for recs in got.values() for r in recs], want)
    for day, records in got.items():
        assert all(r["dt"] == day for r in records)
        assert all(list(r) == list(JOBS[job].keys) for r in records)
    assert summary.events == 50_000
    assert sum(summary.malformed.values()) > 0


def test_sessions_for_one_date_read_the_neighbour_days(
    week: tuple[Path, list[dict[str, Any]]], tmp_path: Path
) -> None:
    root, good = week
    cfg = config_from_dict({"warehouse": {"root": str(root)}})
    day = START + dt.timedelta(days=3)
    summary = run_aggregate(cfg, "sessions", [day], runner="inline")
    assert summary.partitions == {day.isoformat()} and summary.dropped > 0
    want = [r for r in BRUTE["sessions"](good) if r["dt"] == day.isoformat()]
    assert_same(read_output(root, "sessions")[day.isoformat()], want)


def test_gzip_output_is_json_lines_under_the_partition(week: tuple[Path, Any]) -> None:
    root, _ = week
    cfg = config_from_dict({"warehouse": {"root": str(root)}})
    run_aggregate(cfg, "daily_actions", [START], runner="inline")
    files = sorted((root / "aggregates" / "daily_actions" / f"dt={START}").iterdir())
    assert [f.name for f in files] == ["part-00000.json.gz"]
    with gzip.open(files[0], "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    assert rows and rows[0]["slug"] is None  # sorted by slug, null first


# ---------------------------------------------------------------------------------------
# the mrjob command line per runner (pure)


def test_job_args_per_runner(tmp_path: Path) -> None:
    import sys

    from warehouse.aggregate.runners import job_args
    from warehouse.mr import mrjob_conf_path
    from warehouse.resources import resource
    from warehouse.schema import input_dates

    shipped = str(resource("conf", "mrjob.conf"))
    cfg = config_from_dict({"aggregate": {"session_gap_minutes": 45, "top_n": 3}}, path=tmp_path / "w.toml")
    assert mrjob_conf_path(cfg) == shipped
    assert job_args(cfg, "sessions", "emr", ["s3://b/e/dt=2024-03-08/p.json.gz"], py_files=["c.zip"]) == [
        "-r", "emr", "--conf-path", shipped, "--py-files", "c.zip",
        "--gap-minutes", "45", "--top-n", "3", "s3://b/e/dt=2024-03-08/p.json.gz",
    ]
    # local/spark tasks run this interpreter unless the conf names a python_bin
    assert job_args(cfg, "daily_actions", "local", ["a.json.gz"]) == [
        "-r", "local", "--conf-path", shipped, "--python-bin", sys.executable, "a.json.gz",
    ]
    assert job_args(cfg, "top_params", "hadoop", ["x"], extra_args=["--jobconf", "k=v"]) == [
        "-r", "hadoop", "--conf-path", shipped, "--top-n", "3", "--jobconf", "k=v", "x",
    ]
    own = tmp_path / "mrjob.conf"
    own.write_text("runners:\n  local:\n    python_bin: /opt/py/bin/python3.11\n")
    cfg2 = config_from_dict({"aggregate": {"mrjob_conf": str(own)}})
    assert job_args(cfg2, "daily_actions", "local", ["a"]) == ["-r", "local", "--conf-path", str(own), "a"]
    day = START
    assert input_dates("sessions", [day]) == [day - dt.timedelta(days=1), day, day + dt.timedelta(days=1)]
    assert input_dates("daily_actions", [day]) == [day]


@pytest.mark.parametrize("job", ["daily_actions", "sessions"])
def test_flushing_map_buffers_gives_the_same_result(job: str, tmp_path: Path) -> None:
    make_corpus(tmp_path, 3000, 2, seed=21, parts=1)
    lines = read_partition_lines(tmp_path, ["2024-03-08", "2024-03-09"])
    good, _ = valid_events(lines)
    records, _ = _run(job, lines, "--flush-events", "7")
    assert_same(records, BRUTE[job](good))
