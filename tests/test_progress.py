"""Progress: the callback `parse_logs`, `run_aggregate` and `run_nightly` report to, and
the CLI drawing it on a terminal (and not on a pipe)."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Any

import pytest

from tests._tty import run_cli
from tests.fixtures._util import SAMPLE_GZ, sample_log
from tests.test_pipeline import DAY1, DAY2, base_config, write_config, write_day_logs
from warehouse.aggregate import run_aggregate
from warehouse.config import config_from_dict
from warehouse.events.parse import ParseRequest, Seams, parse_logs
from warehouse.progress import ProgressEvent
from warehouse.run.pipeline import run_nightly
from warehouse.run.stages import STAGES

LOG = sample_log()


def _parse(
    root: Path, workers: int | None = None, seams: Seams | None = None
) -> list[ProgressEvent]:
    events: list[ProgressEvent] = []
    cfg = config_from_dict({"warehouse": {"root": str(root)}})
    summary = parse_logs(
        cfg,
        ParseRequest([LOG], workers=workers),
        progress=events.append,
        seams=seams,
    )
    assert summary.lines == 10_000
    return events


def test_parse_reports_every_byte_and_line_of_a_real_log(tmp_path: Path) -> None:
    events = _parse(tmp_path / "root")
    size = os.path.getsize(LOG)
    assert {e.label for e in events} == {"parse"} and {e.unit for e in events} == {"bytes"}
    assert events[0].total == size and events[0].advance == 0
    assert sum(e.advance for e in events) == size
    assert sum(e.lines for e in events) == 10_000
    assert events[-1].final and not any(e.final for e in events[:-1])
    assert len(events) < 20  # per block of about 1 MiB, never per line


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_worker_processes_report_through_the_parent(tmp_path: Path, method: str) -> None:
    """--workers N: the tasks of worker processes reach the callback as they finish."""
    size = os.path.getsize(LOG)
    events = _parse(
        tmp_path / "root", workers=2, seams=Seams(range_bytes=-(-size // 4), start_method=method)
    )
    assert len([e for e in events if e.advance]) == 4  # one per range, as each finishes
    assert sum(e.advance for e in events) == size
    assert sum(e.lines for e in events) == 10_000
    assert events[0].total == size and events[-1].final


def test_cli_draws_progress_only_on_a_terminal(tmp_path: Path) -> None:
    rc, out, err = run_cli(["--root", str(tmp_path / "a"), "parse", LOG], tty=True)
    assert rc == 0, err
    assert out.startswith("parse: 10,000 lines from 1 input,")  # the summary stays on stdout
    assert "\r" in err and re.search(r"parse \d+s  \[", err) and "100%" in err
    assert "10,000 lines" in err
    assert "parse:" not in err
    rc, out, err = run_cli(["--root", str(tmp_path / "b"), "parse", LOG], tty=False)
    assert rc == 0, err
    assert out.startswith("parse: 10,000 lines from 1 input,")
    assert err == ""


def test_cli_status_line_when_the_total_is_unknown(tmp_path: Path) -> None:
    """A gzip input has no known text size: a status line instead of a bar."""
    import gzip

    gz = tmp_path / "access.log.gz"
    gz.write_bytes(gzip.compress(Path(LOG).read_bytes()))
    rc, out, err = run_cli(["--root", str(tmp_path / "a"), "parse", str(gz)], tty=True)
    assert rc == 0, err
    assert out.startswith("parse: 10,000 lines from 1 input,")
    last = err.replace("\r\n", "\n").split("\r")[-1]
    assert last.startswith("parse: ") and "10,000 lines" in last and last.endswith("\n")
    assert "[" not in err and "%" not in err


def _small_events(tmp: Path) -> tuple[Path, list[dt.date]]:
    """Parse the first 1,000 lines of the sample log into tmp/root; return it and its dates."""
    tmp.mkdir(exist_ok=True)
    log = tmp / "access.log"
    log.write_bytes(b"".join(Path(LOG).read_bytes().splitlines(keepends=True)[:1000]))
    root = tmp / "root"
    summary = parse_logs(
        config_from_dict({"warehouse": {"root": str(root)}}),
        ParseRequest([str(log)]),
    )
    assert summary.exit_code == 0 and summary.partitions, summary.line()
    return root, sorted(dt.date.fromisoformat(p) for p in summary.partitions)


def test_aggregate_reports_its_job_and_outcome(tmp_path: Path) -> None:
    root, dates = _small_events(tmp_path)
    cfg = config_from_dict({"warehouse": {"root": str(root)}})
    events: list[ProgressEvent] = []
    summary = run_aggregate(cfg, "daily_actions", dates, runner="inline", progress=events.append)
    assert summary.exit_code == 0 and summary.records > 0, summary.line()
    assert events == [
        ProgressEvent("aggregate daily_actions", "jobs", total=1),
        ProgressEvent(
            "aggregate daily_actions", "jobs", advance=1, final=True, outcome=summary.line()
        ),
    ]
    # a failed job ends its label too, its error as the outcome
    events.clear()
    summary = run_aggregate(
        cfg, "sessions", [dt.date(2001, 1, 1)], runner="inline", progress=events.append
    )
    assert summary.exit_code == 4
    assert [e.total for e in events] == [1, None] and events[-1].final
    assert events[-1].outcome == summary.line() and "FAILED (exit 4)" in summary.line()


def _two_days(tmp: Path, **aggregate: Any) -> dict[str, Any]:
    write_day_logs(tmp / "logs", [DAY1, DAY2])
    data = base_config(tmp)
    data["aggregate"].update(aggregate)
    return data


def test_run_reports_each_date_and_stage(tmp_path: Path) -> None:
    cfg = config_from_dict(_two_days(tmp_path))
    events: list[ProgressEvent] = []
    summary = run_nightly(cfg, [DAY1, DAY2], progress=events.append)
    assert summary.exit_code == 0, summary.line()
    assert {(e.label, e.unit) for e in events} == {("run", "stages")}
    assert events[0] == ProgressEvent("run", "stages", total=2 * len(STAGES))
    assert events[-1] == ProgressEvent("run", "stages", final=True)
    done = events[1:-1]
    assert all(e.advance == 1 and not e.final for e in done)
    # stage by stage, each date once (aggregate's dates end together, after all its jobs)
    assert [e.step for e in done] == [f"{d} {s}" for s in STAGES for d in (DAY1, DAY2)]
    # a re-run of one stage, already complete: one stage per date, still reported
    events.clear()
    assert run_nightly(cfg, [DAY1, DAY2], only="aggregate", progress=events.append).exit_code == 0
    assert events[0].total == 2 and [e.step for e in events[1:-1]] == [
        f"{DAY1} aggregate", f"{DAY2} aggregate"
    ]


def test_cli_draws_aggregate_and_run_only_on_a_terminal(tmp_path: Path) -> None:
    root, dates = _small_events(tmp_path / "agg")
    args = ["--root", str(root), "aggregate", "daily_actions", "--date", str(dates[0]), "-r", "inline"]
    rc, out, err = run_cli(args, tty=True)
    assert rc == 0, err
    assert out.startswith("aggregate daily_actions [inline]")
    assert re.search(r"aggregate daily_actions \d+s  \[", err) and "0/1" in err and "1/1" in err
    assert out.splitlines()[0] in err  # the job's outcome under its bar
    rc, out, err = run_cli(args, tty=False)
    assert rc == 0 and out.startswith("aggregate daily_actions [inline]") and err == "", err

    conf = write_config(tmp_path / "w.toml", _two_days(tmp_path, jobs=["daily_actions"]))
    args = ["--config", str(conf), "run", "--from", str(DAY1), "--to", str(DAY2)]
    rc, out, err = run_cli(args, tty=True)
    assert rc == 0, err
    assert out.startswith("run 2015-05-18..2015-05-19 (2 dates): parse 2 ok")
    n = 2 * len(STAGES)
    assert re.search(r"run \d+s  \[", err) and f"0/{n}" in err
    assert re.search(rf"run {DAY2} reports \d+s  \[", err) and f"{n}/{n}" in err
    rc, out, err = run_cli(["--config", str(conf), "run", "--from", str(DAY1), "--to", str(DAY2),
                            "--force"], tty=False)
    assert rc == 0 and out.startswith("run 2015-05-18..2015-05-19 (2 dates)") and err == "", err


def test_log_records_never_share_a_line_with_progress(tmp_path: Path) -> None:
    """A WARNING logged while a status line is drawn clears that line first and the status
    is drawn again below it: on the terminal every record starts a line of its own."""
    bad = tmp_path / "bad.log"
    bad.write_bytes(b"\x28\xb5\x2f\xfd" + b"zstd frame")  # set aside with a WARNING
    gz = tmp_path / "a.log.gz"
    gz.write_bytes(Path(SAMPLE_GZ).read_bytes())
    rc, _, err = run_cli(["--root", str(tmp_path / "r"), "parse", str(bad), str(gz)], tty=True)
    assert rc == 5, err
    screen = err.replace("\r\n", "\n")
    records = [m.start() for m in re.finditer(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ WARNING", screen)]
    assert records, err
    for at in records:
        before = screen[:at]
        # what precedes a record on its line: nothing (a new line) or a cleared line
        assert before == "" or before.endswith("\n") or before.endswith("\r\x1b[K"), repr(err)
    # the status line comes back after the record and ends the output with the last count
    tail = screen[records[-1] :].split("\n", 1)[1]
    assert tail.split("\r")[-1].startswith("parse: ") and "10,000 lines" in tail


def test_a_terminal_shows_the_job_summary_once(tmp_path: Path) -> None:
    """stdout and stderr on one terminal: the job's outcome is the summary on stdout, so it
    is not drawn under the bar as well."""
    root, dates = _small_events(tmp_path / "agg")
    args = ["--root", str(root), "aggregate", "daily_actions", "--date", str(dates[0]), "-r", "inline"]
    rc, _, screen = run_cli(args, tty=True, both=True)
    assert rc == 0, screen
    assert screen.count("aggregate daily_actions [inline]") == 1, screen
