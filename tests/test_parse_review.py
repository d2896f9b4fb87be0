"""Review findings on parsing (issues 9 and 11): nothing lost silently, and a damaged
re-run never costs good data.

Every test runs the real code path: the `warehouse` CLI in this process, `parse_logs`, or
`run_aggregate`, against a local root; lines = events + rejects is checked on the stored
objects.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from warehouse.cli import cli
from warehouse.config import config_from_dict
from warehouse.events.parse import ParseRequest, Seams, parse_logs

LINE = '10.0.0.{n} - - [{day}/Oct/2026:13:55:{s:02d} +0000] "GET /p/{n} HTTP/1.1" {status} {size} "-" "{ua}"'


def line(n: int, *, day: int = 10, status: str = "200", size: str = "512", ua: str = "x") -> str:
    return LINE.format(n=n, day=day, s=n % 60, status=status, size=size, ua=ua)


def stored(root: Path, sub: str) -> list[dict[str, Any]]:
    """Return the records of every visible gzip part under root/sub."""
    out: list[dict[str, Any]] = []
    for p in sorted((root / sub).rglob("*.gz")):
        if not p.name.startswith(("_", ".")):
            out += [json.loads(x) for x in gzip.decompress(p.read_bytes()).splitlines()]
    return out


def parse_cli(root: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, ["--root", str(root), "parse", *args])


def test_integers_beyond_bigint_and_unencodable_events_are_rejects_not_a_crash(
    tmp_path: Path,
) -> None:
    log = tmp_path / "access.log"
    lines = [line(n) for n in range(20)]
    lines[3] = line(3, size="99999999999999999999999")  # beyond 64 bits: orjson fails
    lines[4] = line(4, size=str(2**63))  # fits u64, not Hive's BIGINT
    lines[5] = line(5, size=str(2**63 - 1))  # the largest BIGINT: an event
    lines[6] = line(6, size="0" * 30 + "7")  # long text, small value: an event
    lines[7] = line(7, ua="a\\ud800b")  # unescapes to a lone surrogate: no JSON for it
    log.write_text("\n".join(lines) + "\n")
    root = tmp_path / "root"
    result = parse_cli(root, str(log))
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    rejects = stored(root, "rejects")
    assert sorted((r["lineno"], r["reason"]) for r in rejects) == [
        (4, "number out of range"),
        (5, "number out of range"),
        (8, "event not built (TypeError)"),
    ]
    events = stored(root, "events")
    assert len(events) + len(rejects) == 20
    assert {e["bytes"] for e in events} >= {2**63 - 1, 7}
    assert "3 rejects" in result.output and "number out of range: 2" in result.output


def files(root: Path, sub: str) -> dict[str, bytes]:
    """Return {path: bytes} of every file under root/sub (hidden ones too)."""
    base = root / sub
    if not base.exists():
        return {}
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in base.rglob("*") if p.is_file()}


def test_a_shrunk_or_damaged_rerun_keeps_the_earlier_events_and_exits_5(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    good = [line(n) for n in range(10)]
    log.write_text("\n".join(good) + "\n")
    root = tmp_path / "root"
    first = parse_cli(root, str(log))
    assert first.exit_code == 0, first.output
    before = files(root, "events")
    assert len(stored(root, "events")) == 10

    log.write_text(good[0] + "\n")  # truncated: 1 line left
    shrunk = parse_cli(root, str(log))
    assert shrunk.exit_code == 5, shrunk.output
    assert f"input {log} has 1 lines (1 events) where its last good run read 10 lines (10 " \
        "events)" in shrunk.output
    assert "--replace" in shrunk.output
    assert files(root, "events") == before  # exactly as they were

    # half the lines damaged, under max_reject_ratio (0.5), same line count
    damaged = [x if n % 2 else "garbage" for n, x in enumerate(good)]
    log.write_text("\n".join(damaged) + "\n")
    bad = parse_cli(root, str(log))
    assert bad.exit_code == 5, bad.output
    assert "has 10 lines (5 events) where its last good run read 10 lines" in bad.output
    assert files(root, "events") == before
    failed = [p for p in (root / "rejects").rglob("*-failed.json.gz")]
    assert failed and all(r["line"] == "garbage" for r in stored(root, "rejects"))

    # growth (a log still being written) publishes
    log.write_text("\n".join([*good, line(10), line(11)]) + "\n")
    grown = parse_cli(root, str(log))
    assert grown.exit_code == 0, grown.output
    assert len(stored(root, "events")) == 12

    # --replace accepts the new, shorter content; the earlier run's objects go
    log.write_text(good[0] + "\n")
    replaced = parse_cli(root, "--replace", str(log))
    assert replaced.exit_code == 0, replaced.output
    assert len(stored(root, "events")) == 1
    assert not list((root / "rejects").rglob("*.gz"))
    state = json.loads(next((root / "_state" / "parse").glob("*.json")).read_text())
    assert (state["lines"], state["events"]) == (1, 1)


def test_a_log_rotated_under_the_same_name_does_not_delete_the_earlier_days_events(
    tmp_path: Path,
) -> None:
    """logrotate renames access.log and the server starts a new, longer one: parsing
    `access.log` again must not publish over (and delete) the first day's events."""
    log = tmp_path / "access.log"
    day10 = [line(n, day=10) for n in range(10)]
    log.write_text("\n".join(day10) + "\n")
    root = tmp_path / "root"
    first = parse_cli(root, str(log))
    assert first.exit_code == 0, first.output
    before = files(root, "events")
    assert {e["ts"][:10] for e in stored(root, "events")} == {"2026-10-10"}

    log.rename(tmp_path / "access.log.1")
    day11 = [line(n, day=11) for n in range(15)]  # more lines than the first day's
    log.write_text("\n".join(day11) + "\n")
    rotated = parse_cli(root, str(log))
    assert rotated.exit_code == 5, rotated.output
    assert f"input {log} no longer begins with the first line its last good run read" in (
        rotated.output
    )
    assert "--replace" in rotated.output
    assert files(root, "events") == before  # the first day's events exactly as they were

    # the same content on stdin under one --source-name: the same judgement
    named = ["--source-name", "nginx", "-"]
    runner = CliRunner()
    args = ["--root", str(root), "parse", *named]
    assert runner.invoke(cli, args, input="\n".join(day10) + "\n").exit_code == 0
    piped = runner.invoke(cli, args, input="\n".join(day11) + "\n")
    assert piped.exit_code == 5, piped.output
    assert "no longer begins with the first line" in piped.output

    # growth keeps the first line: good; --replace accepts the rotated content
    log.write_text("\n".join([*day11, line(20, day=11)]) + "\n")
    replaced = parse_cli(root, "--replace", str(log))
    assert replaced.exit_code == 0, replaced.output
    log.write_text("\n".join([*day11, line(20, day=11), line(21, day=11)]) + "\n")
    grown = parse_cli(root, str(log))
    assert grown.exit_code == 0, grown.output
    days = sorted(e["ts"][:10] for e in stored(root, "events"))
    assert days == ["2026-10-10"] * 10 + ["2026-10-11"] * 17  # stdin's day 10, the file's 11


def test_nul_padding_a_crash_left_before_a_line_does_not_corrupt_its_event(
    tmp_path: Path,
) -> None:
    """After a power loss a log holds NULs (blocks allocated, never written), and the
    server's next line follows them on the same line: its event must carry the address,
    not NULs and the address. A line of NULs alone stays a reject."""
    log = tmp_path / "access.log"
    body = [line(n).encode() + b"\n" for n in range(10)]
    body[4] = b"\0" * 4096 + body[4]  # the padding glued to the first line after the crash
    body[7] = b"\0" * 300 + b"\n"
    log.write_bytes(b"".join(body))
    root = tmp_path / "root"
    result = parse_cli(root, str(log))
    assert result.exit_code == 0, result.output
    events, rejects = stored(root, "events"), stored(root, "rejects")
    assert len(events) + len(rejects) == 10
    assert [(r["lineno"], r["reason"], r["line"]) for r in rejects] == [
        (8, "no match for format", "\0" * 300)
    ]
    assert sorted(e["ip"] for e in events) == sorted(f"10.0.0.{n}" for n in range(10) if n != 7)
    assert not any("\0" in str(v) for e in events for v in e.values())


def test_a_time_without_a_full_date_is_a_format_error_not_events_of_1900(
    tmp_path: Path,
) -> None:
    """`%{%b %d %T}t` (syslog style) or `%{%T}t` has no year (or no date): strptime fills
    in 1900-01-01, and every event was filed under 1900 with exit 0."""
    log = tmp_path / "access.log"
    log.write_text('10.0.0.1 [Dec 31 23:59:59] "GET / HTTP/1.1" 200 5\n')
    root = tmp_path / "root"
    for fmt in ('%h [%{%b %d %T}t] "%r" %>s %b', '%h [%{%H:%M:%S}t] "%r" %>s %b'):
        result = parse_cli(root, "--format", fmt, str(log))
        assert result.exit_code == 2, result.output
        assert "its time has no full date (year, month and day)" in result.output
        assert not root.exists()
    conf = tmp_path / "w.toml"
    conf.write_text(f"[logs]\nformat = '{fmt}'\n")
    check = CliRunner().invoke(cli, ["--config", str(conf), "config", "check"])
    assert check.exit_code == 2 and "has no full date" in check.output, check.output
    # split over several %{...}t, with the year: a date
    log.write_text('10.0.0.1 [Dec 31 23:59:59 2014] "GET / HTTP/1.1" 200 5\n')
    result = parse_cli(root, "--format", '%h [%{%b %d %T}t %{%Y}t] "%r" %>s %b', str(log))
    assert result.exit_code == 0, result.output
    assert [e["ts"] for e in stored(root, "events")] == ["2014-12-31T23:59:59Z"]


def test_a_partial_time_is_a_bad_timestamp_not_a_date_taken_from_today(tmp_path: Path) -> None:
    """Times the fast paths cannot read go to dateutil, which filled what they lacked from
    the day of the run (`[10:05:03]` became the 10th of this month): events under made-up
    dates that moved with each re-run."""
    log = tmp_path / "access.log"
    times = ["10:05:03", "17/May/2015", "May 17", "5", "17/May/2015:10:05 +0000",
             "17/May/2015:10:05:03 +0200", "17/May/2015:10:05:03 +0000"]  # fmt: skip
    log.write_text("".join(
        f'10.0.0.{n} - - [{t}] "GET / HTTP/1.1" 200 5 "-" "-"\n' for n, t in enumerate(times)
    ))
    root = tmp_path / "root"
    result = parse_cli(root, str(log))
    assert result.exit_code == 5, result.output  # 4 of 7 rejected: over max_reject_ratio
    rejects = stored(root, "rejects")
    assert [(r["lineno"], r["reason"]) for r in rejects] == [
        (n, "bad timestamp") for n in (1, 2, 3, 4)
    ]
    assert sorted(e["ts"] for e in stored(root, "events")) == [
        "2015-05-17T08:05:03Z", "2015-05-17T10:05:00Z", "2015-05-17T10:05:03Z"
    ]


def test_dates_whose_events_vanish_are_touched_and_their_aggregates_emptied(
    tmp_path: Path,
) -> None:
    log = tmp_path / "access.log"
    log.write_text("\n".join([line(n, day=10) for n in range(6)] + [line(n, day=11) for n in range(6)]) + "\n")
    root = tmp_path / "root"
    cfg = config_from_dict({}, root=str(root))
    first = parse_logs(cfg, ParseRequest([str(log)]), seams=Seams(run_date=dt.date(2026, 11, 1)))
    assert first.exit_code == 0 and first.partitions == {"2026-10-10", "2026-10-11"}
    runner = CliRunner()
    agg = ["--root", str(root), "aggregate", "daily_actions", "-r", "inline"]
    r = runner.invoke(cli, [*agg, "--from", "2026-10-10", "--to", "2026-10-11"])
    assert r.exit_code == 0, r.output
    agg11 = root / "aggregates" / "daily_actions" / "dt=2026-10-11"
    assert stored(root, "aggregates/daily_actions/dt=2026-10-11")

    # the same input, now with the first day's lines only (as many: no --replace needed)
    log.write_text("\n".join(line(n, day=10) for n in range(12)) + "\n")
    again = parse_logs(cfg, ParseRequest([str(log)]), seams=Seams(run_date=dt.date(2026, 11, 2)))
    assert again.exit_code == 0
    assert again.partitions == {"2026-10-10", "2026-10-11"}  # 10-11 lost its events
    assert not (root / "events" / "dt=2026-10-11").exists() or not stored(root, "events/dt=2026-10-11")

    # the touched dates re-aggregated, as `run` does: 10-11's aggregate no longer counts
    r = runner.invoke(cli, [*agg, "--from", "2026-10-10", "--to", "2026-10-11"])
    assert r.exit_code == 0, r.output
    assert "earlier output emptied for 2026-10-11" in r.output
    assert agg11.is_dir() and stored(root, "aggregates/daily_actions/dt=2026-10-11") == []
    day10 = stored(root, "aggregates/daily_actions/dt=2026-10-10")
    assert sum(rec["hits"] for rec in day10) == 12
    # a date asked alone, with no events and stale output: exit 4, the output emptied too
    (agg11 / "part-00000.json.gz").write_bytes(gzip.compress(b'{"dt": "2026-10-11"}\n'))
    r = runner.invoke(cli, [*agg, "--date", "2026-10-11"])
    assert r.exit_code == 4, r.output
    assert stored(root, "aggregates/daily_actions/dt=2026-10-11") == []


def test_an_empty_crlf_line_at_a_range_boundary_is_counted(tmp_path: Path) -> None:
    first = line(0) + "\r\n"
    body = [first, "\r\n", *(line(n) + "\r\n" for n in range(1, 30)), "\r\n", line(30) + "\r\n"]
    log = tmp_path / "access.log"
    log.write_bytes("".join(body).encode())
    root = tmp_path / "root"
    # ranges of len(first)+1 bytes: the empty line's \r is the last byte of range 0
    summary = parse_logs(
        config_from_dict({}, root=str(root)),
        ParseRequest([str(log)], workers=1),
        seams=Seams(range_bytes=len(first) + 1),
    )
    events, rejects = stored(root, "events"), stored(root, "rejects")
    assert summary.lines == len(body) == len(events) + len(rejects)
    assert sorted(r["lineno"] for r in rejects) == [2, 32]
    assert {r["reason"] for r in rejects} == {"empty line"}


def test_run_re_aggregates_a_date_whose_events_a_re_parse_removed(tmp_path: Path) -> None:
    from tests.test_pipeline import DAY1, base_config, write_day_logs
    from warehouse.run.pipeline import run_nightly
    from warehouse.run.records import load_record
    from warehouse.storage import LocalStore

    write_day_logs(tmp_path / "logs", [DAY1])  # from 23:00 UTC the day before
    path = tmp_path / "logs" / "2015" / "05" / "18" / "access.log.gz"
    lines = gzip.decompress(path.read_bytes()).splitlines(keepends=True)
    # a 2015-05-18 line first: the rewrite below keeps it (a log whose first line changed
    # counts as rotated or replaced, which needs `parse --replace`)
    first = next(x for x in lines if b"18/May" in x)
    lines.remove(first)
    path.write_bytes(gzip.compress(b"".join([first, *lines])))
    cfg = config_from_dict(base_config(tmp_path))
    root = tmp_path / "root"
    first = run_nightly(cfg, [DAY1])
    assert first.exit_code == 0, first.line()
    before = "2015-05-17"
    agg = "aggregates/daily_actions/dt=" + before
    assert stored(root, agg) and stored(root, "events/dt=" + before)

    # the day's log is rewritten without the previous day's lines (as many lines: the
    # 2015-05-18 ones repeated), and the day is run again
    lines = gzip.decompress(path.read_bytes()).splitlines(keepends=True)
    kept = [x for x in lines if b"/May/2015:23:" not in x or b"18/May" in x]
    assert len(kept) < len(lines)
    path.write_bytes(gzip.compress(b"".join((kept * 2)[: len(lines)])))
    again = run_nightly(cfg, [DAY1], force=True)
    assert again.exit_code == 0, again.line()
    rec = load_record(LocalStore(root), DAY1, "parse")
    assert rec is not None and rec.partitions == [before, "2015-05-18"]
    assert not stored(root, "events/dt=" + before)
    assert stored(root, agg) == []  # rewritten empty, not the stale counts
    assert stored(root, "aggregates/daily_actions/dt=2015-05-18")


def test_a_state_without_counts_gets_them_from_its_objects(tmp_path: Path) -> None:
    """A root written before the state recorded line and event counts: its first shrunk
    re-run is still caught, by counting the records of the objects the state lists."""
    log = tmp_path / "access.log"
    good = [line(n) for n in range(10)] + ["garbage"]
    log.write_text("\n".join(good) + "\n")
    root = tmp_path / "root"
    first = parse_cli(root, str(log))
    assert first.exit_code == 0, first.output
    (state_file,) = (root / "_state" / "parse").glob("*.json")
    state = json.loads(state_file.read_text())
    assert (state.pop("lines"), state.pop("events")) == (11, 10)
    state_file.write_text(json.dumps(state))  # as an older version wrote it
    before = files(root, "events")

    log.write_text(good[0] + "\n")
    shrunk = parse_cli(root, str(log))
    assert shrunk.exit_code == 5, shrunk.output
    assert f"input {log} has 1 lines (1 events) where its last good run read 11 lines (10 " \
        "events)" in shrunk.output
    assert files(root, "events") == before

    log.write_text("\n".join(good) + "\n")  # the full log again: good, and counts recorded
    again = parse_cli(root, str(log))
    assert again.exit_code == 0, again.output
    assert json.loads(state_file.read_text())["lines"] == 11


def test_a_state_without_counts_whose_events_part_is_truncated_is_parsed_again(
    tmp_path: Path,
) -> None:
    """An older state (no counts) listing an events part cut short (a crash, a full disk
    of another tool): counting its records must not end every parse of the input ("Aborted!",
    exit 1); the counts are unknown, and the re-run replaces the damaged part."""
    log = tmp_path / "access.log"
    good = [line(n) for n in range(10)]
    log.write_text("\n".join(good) + "\n")
    root = tmp_path / "root"
    assert parse_cli(root, str(log)).exit_code == 0
    (state_file,) = (root / "_state" / "parse").glob("*.json")
    state = json.loads(state_file.read_text())
    del state["lines"], state["events"]
    state_file.write_text(json.dumps(state))  # as an older version wrote it
    (part,) = (root / "events").rglob("*.json.gz")
    part.write_bytes(part.read_bytes()[:20])  # truncated inside its gzip stream

    again = parse_cli(root, str(log))
    assert again.exit_code == 0, again.output
    assert len(stored(root, "events")) == 10
    assert json.loads(state_file.read_text())["lines"] == 10


def test_run_after_a_held_parse_and_parse_replace_re_aggregates_the_dates_it_emptied(
    tmp_path: Path,
) -> None:
    """The day's log is replaced by one without the previous day's lines: `run` holds it
    (exit 5); the operator accepts it with `parse --replace`, which removes that date's
    events; the next `run` must redo that date's aggregate, not keep counting events that
    are gone."""
    from tests.test_pipeline import DAY1, base_config, write_day_logs
    from warehouse.run.pipeline import run_nightly

    write_day_logs(tmp_path / "logs", [DAY1])  # from 23:00 UTC the day before
    cfg = config_from_dict(base_config(tmp_path))
    root = tmp_path / "root"
    assert run_nightly(cfg, [DAY1]).exit_code == 0
    before = "aggregates/daily_actions/dt=2015-05-17"
    assert stored(root, before)

    path = tmp_path / "logs" / "2015" / "05" / "18" / "access.log.gz"
    lines = gzip.decompress(path.read_bytes()).splitlines(keepends=True)
    path.write_bytes(gzip.compress(b"".join(x for x in lines if b"18/May" in x)))
    held = run_nightly(cfg, [DAY1], force=True)
    assert held.exit_code == 5, held.line()
    assert stored(root, "events/dt=2015-05-17")  # kept until someone accepts the new log
    replaced = parse_cli(root, "--replace", str(path))
    assert replaced.exit_code == 0, replaced.output
    assert not stored(root, "events/dt=2015-05-17")

    again = run_nightly(cfg, [DAY1])
    assert again.exit_code == 0, again.line()
    assert stored(root, before) == []  # emptied: its events are gone
    day18 = stored(root, "aggregates/daily_actions/dt=2015-05-18")
    assert sum(r["hits"] for r in day18) == len(stored(root, "events/dt=2015-05-18"))
