"""`warehouse parse` end to end: real sample log, layout, exactly-once, re-runs, S3, CLI."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.fixtures._util import sample_log, wait_for
from warehouse.cli import cli
from warehouse.config import config_from_dict
from warehouse.errors import ConfigError, InputMissing
from warehouse.events.build import EVENT_KEYS
from warehouse.events.inputs import expand_inputs
from warehouse.events.parse import ParseRequest, Seams, parse_logs

SAMPLE = sample_log()
# An independent, hand-written reading of the combined format (not our engine).
_COMBINED = re.compile(
    r'^(\S+) \S+ \S+ \[([^\]]+)\] "((?:[^"\\]|\\.)*)" (\d{3}) (\d+|-) '
    r'"((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)"$'
)
URLS = [
    {"name": "home", "regex": "^/\\Z"},
    {"name": "blog:post", "regex": "^/blog/(?P<slug>[-a-z0-9]+)/\\Z"},
    {"name": "presentations", "regex": "^/presentations/(?P<rest>.+)\\Z"},
]


def expected_from(path: str) -> tuple[int, Counter[str], list[int]]:
    """Return (lines, events per UTC date, 1-based numbers of bad lines) the simple way."""
    per_day: Counter[str] = Counter()
    bad: list[int] = []
    with open(path, "rb") as f:
        lines = f.read().decode("utf-8", "backslashreplace").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for n, line in enumerate(lines, 1):
        m = _COMBINED.match(line)
        if m is None:
            bad.append(n)
            continue
        when = dt.datetime.strptime(m.group(2), "%d/%b/%Y:%H:%M:%S %z")
        per_day[when.astimezone(dt.UTC).date().isoformat()] += 1
    return len(lines), per_day, bad


def read_tree(root: Path, sub: str) -> dict[str, list[dict[str, Any]]]:
    """Return {relative key: decoded JSON lines} of the visible .json.gz files under sub."""
    out: dict[str, list[dict[str, Any]]] = {}
    base = root / sub
    if not base.exists():
        return out
    for p in sorted(base.rglob("*")):
        if p.is_file():
            key = p.relative_to(root).as_posix()
            assert not any(part.startswith(("_", ".")) for part in key.split("/")), key
            with gzip.open(p, "rt", encoding="utf-8") as f:
                out[key] = [json.loads(line) for line in f]
    return out


def cfg_for(root: Path, **logs: Any) -> Any:
    return config_from_dict({"logs": logs} if logs else {}, root=str(root))


@pytest.fixture
def patterns_file(tmp_path: Path) -> str:
    p = tmp_path / "urls.json"
    p.write_text(json.dumps(URLS))
    return str(p)


def test_sample_log_every_line_accounted(tmp_path: Path, patterns_file: str) -> None:
    root = tmp_path / "wh"
    summary = parse_logs(cfg_for(root), ParseRequest([SAMPLE], patterns=patterns_file))
    lines, per_day, bad = expected_from(SAMPLE)
    assert summary.lines == lines == 10000
    assert summary.events == sum(per_day.values())
    assert summary.rejected == len(bad)
    assert summary.events + summary.rejected == summary.lines
    assert summary.partitions == set(per_day)
    assert summary.exit_code == 0
    events = read_tree(root, "events")
    got: Counter[str] = Counter()
    for key, rows in events.items():
        day = re.search(r"dt=(\d{4}-\d{2}-\d{2})/", key)
        assert day is not None and key.endswith(".json.gz")
        for row in rows:
            assert tuple(row) == EVENT_KEYS
            assert row["ts"].startswith(day.group(1)) and row["ts"].endswith("Z")
            assert isinstance(row["status"], int)
        got[day.group(1)] += len(rows)
    assert got == per_day
    unmatched = sum(1 for rows in events.values() for r in rows if r["slug"] is None)
    assert summary.unmatched == unmatched
    pres = [r for rows in events.values() for r in rows if r["slug"] == "presentations"]
    assert pres and all(r["path"].startswith("/presentations/") for r in pres)
    assert all(r["params"] == {"rest": r["path"][len("/presentations/") :]} for r in pres[:50])
    rejects = [r for rows in read_tree(root, "rejects").values() for r in rows]
    assert sorted(r["lineno"] for r in rejects) == bad
    raw = Path(SAMPLE).read_bytes().split(b"\n")
    for r in rejects:
        assert set(r) == {"source", "lineno", "reason", "line"}
        assert r["source"] == os.path.realpath(SAMPLE)
        assert r["line"] == raw[r["lineno"] - 1].decode("utf-8", "backslashreplace")
    assert "10,000 lines" in summary.line() and "no patterns" not in summary.line()
    _assert_no_staging_left(root)


def _assert_no_staging_left(root: Path) -> None:
    """A finished parse leaves nothing of its input under the staging folder: no file,
    no empty folder tree (one per input would pile up night after night)."""
    staging = root / "_staging" / "parse"
    assert not staging.exists() or list(staging.iterdir()) == []


def test_gzipped_input_gives_the_same_events(tmp_path: Path) -> None:
    gz = tmp_path / "in" / "access.log.gz"
    gz.parent.mkdir()
    with open(SAMPLE, "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    plain = parse_logs(cfg_for(tmp_path / "a"), ParseRequest([SAMPLE]))
    zipped = parse_logs(cfg_for(tmp_path / "b"), ParseRequest([str(gz)]))
    assert (plain.lines, plain.events, plain.rejects) == (
        zipped.lines,
        zipped.events,
        zipped.rejects,
    )
    a = {k.split("/")[1]: v for k, v in read_tree(tmp_path / "a", "events").items()}
    b = {k.split("/")[1]: v for k, v in read_tree(tmp_path / "b", "events").items()}
    assert a == b
    assert "no patterns: every slug is null" in plain.line()


def _big_input(tmp_path: Path) -> Path:
    """The sample three times over (30,000 lines, ~7 MB) with a few extra bad lines."""
    data = Path(SAMPLE).read_bytes()
    big = tmp_path / "big.log"
    big.write_bytes(data + b"junk line\n" + data + b"\xff\xfe broken\n\n" + data)
    return big


def test_rerun_with_any_workers_overwrites_the_same_parts(tmp_path: Path) -> None:
    big = _big_input(tmp_path)
    root = tmp_path / "wh"
    cfg = cfg_for(root)
    first = parse_logs(cfg, ParseRequest([str(big)], workers=1), seams=Seams(range_bytes=1 << 20))
    one = read_tree(root, "events")
    rej_one = read_tree(root, "rejects")
    second = parse_logs(
        cfg,
        ParseRequest([str(big)], workers=2),
        seams=Seams(range_bytes=1 << 20, start_method="spawn"),
    )
    two = read_tree(root, "events")
    assert one == two  # same objects, same content: no duplicates
    assert read_tree(root, "rejects") == rej_one
    # forked workers, from a fresh interpreter (forking next to this process's threads,
    # such as a moto server, is exactly what the library avoids)
    code = (
        "import sys; from warehouse.config import config_from_dict; "
        "from warehouse.events.parse import ParseRequest, Seams, parse_logs; "
        "s = parse_logs(config_from_dict({}, root=sys.argv[1]), ParseRequest([sys.argv[2]], "
        "workers=3), seams=Seams(range_bytes=1 << 20, start_method='fork')); print(s.line())"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(root), str(big)],
        cwd=str(Path(__file__).parent.parent),
        check=True,
        capture_output=True,
    )
    assert read_tree(root, "events") == one and read_tree(root, "rejects") == rej_one
    lines, per_day, bad = expected_from(str(big))
    for s in (first, second):
        assert s.lines == lines and s.events == sum(per_day.values())
        assert s.rejected == len(bad)
    assert sum(len(v) for v in two.values()) == sum(per_day.values())
    names = {k.rsplit("/", 1)[1] for k in two}
    assert len({n.split("-")[1] for n in names}) == 7  # ranges 0000..0006
    _assert_no_staging_left(root)
    # line numbers continue across byte ranges
    assert sorted(r["lineno"] for rows in rej_one.values() for r in rows) == bad


def test_rerun_removes_stale_partitions_and_old_rejects(tmp_path: Path) -> None:
    src = tmp_path / "in.log"
    text = Path(SAMPLE).read_text(encoding="utf-8", errors="backslashreplace")
    src.write_text(text, encoding="utf-8")
    root = tmp_path / "wh"
    first = parse_logs(
        cfg_for(root),
        ParseRequest([str(src)]),
        seams=Seams(run_date=dt.date(2020, 1, 1)),
    )
    assert len(first.partitions) == 4
    assert list(read_tree(root, "rejects")) == [
        k for k in read_tree(root, "rejects") if "dt=2020-01-01" in k
    ]
    # the same input now holds one day only (and no bad line), parsed on a later day; it
    # has fewer lines, so without replace the run is judged bad (tests/test_parse_review.py)
    src.write_text("".join(x + "\n" for x in text.splitlines() if "17/May/2015" in x))
    second = parse_logs(
        cfg_for(root),
        ParseRequest([str(src)], replace=True),
        seams=Seams(run_date=dt.date(2020, 1, 2)),
    )
    # the dates that lost their events are touched too (their aggregates change)
    assert second.partitions == first.partitions and second.rejected == 0
    assert [k.split("/")[1] for k in read_tree(root, "events")] == ["dt=2015-05-17"]
    assert read_tree(root, "rejects") == {}
    state = json.loads(next((root / "_state" / "parse").glob("*.json")).read_text())
    assert state["source"] == str(src.resolve())
    assert all(k.startswith("events/dt=2015-05-17/") for k in state["keys"])


def test_stdin_needs_a_source_name_and_uses_it(tmp_path: Path) -> None:
    data = Path(SAMPLE).read_bytes()[:200_000]
    data = data[: data.rfind(b"\n") + 1]
    runner = CliRunner()
    root = tmp_path / "wh"
    res = runner.invoke(cli, ["--root", str(root), "parse", "-"], input=data)
    assert res.exit_code == 2 and "--source-name" in res.output
    res = runner.invoke(
        cli, ["--root", str(root), "parse", "-", "--source-name", "web1/access"], input=data
    )
    assert res.exit_code == 0, res.output
    n = data.count(b"\n")
    assert f"parse: {n:,} lines" in res.output
    events = read_tree(root, "events")
    assert sum(len(v) for v in events.values()) == n
    again = runner.invoke(
        cli, ["--root", str(root), "parse", "-", "--source-name", "web1/access"], input=data
    )
    assert again.exit_code == 0 and read_tree(root, "events") == events


def test_cli_exit_codes(tmp_path: Path) -> None:
    runner = CliRunner()
    root = str(tmp_path / "wh")
    res = runner.invoke(cli, ["--root", root, "parse", str(tmp_path / "nope.log")])
    assert res.exit_code == 4 and "nope.log" in res.output
    res = runner.invoke(cli, ["--root", root, "parse", SAMPLE, "--format", "%h %Z"])
    assert res.exit_code == 2 and "%Z" in res.output
    res = runner.invoke(cli, ["--root", root, "parse"])
    assert res.exit_code == 2
    res = runner.invoke(cli, ["--root", root, "parse", SAMPLE, "--workers", "2"])
    assert res.exit_code == 0 and "9,999 events" in res.output
    good = read_tree(Path(root), "events")
    good_rejects = read_tree(Path(root), "rejects")
    # a valid but wrong format: every line rejected -> 5, the rejects are kept under
    # -failed names, and every object of the earlier run of this input is left as it was
    res = runner.invoke(cli, ["--root", root, "parse", SAMPLE, "--format", "common"])
    assert res.exit_code == 5, res.output
    assert "10,000 rejects" in res.output and "max_reject_ratio" in res.output
    rejects = read_tree(Path(root), "rejects")
    assert {k: v for k, v in rejects.items() if k in good_rejects} == good_rejects
    assert sum(len(v) for k, v in rejects.items() if k.endswith("-failed.json.gz")) == 10000
    assert read_tree(Path(root), "events") == good
    # the next good run cleans up after both
    res = runner.invoke(cli, ["--root", root, "parse", SAMPLE])
    assert res.exit_code == 0
    assert sum(len(v) for v in read_tree(Path(root), "rejects").values()) == 1
    assert read_tree(Path(root), "events") == good


def test_config_ip_and_user_must_exist_in_the_format(tmp_path: Path) -> None:
    cfg = cfg_for(tmp_path, user="%{sid}C")
    with pytest.raises(ConfigError, match="sid"):
        parse_logs(cfg, ParseRequest([SAMPLE]))
    assert not (tmp_path / "events").exists()


def test_expand_inputs_dirs_globs_hidden_and_duplicates(tmp_path: Path) -> None:
    d = tmp_path / "logs"
    (d / "sub").mkdir(parents=True)
    for name in ("a.log", "sub/b.log.gz", "_tmp.c.log", ".hidden", "sub/_x/y.log"):
        (d / name).parent.mkdir(parents=True, exist_ok=True)
        (d / name).write_bytes(b"")
    cfg = cfg_for(tmp_path)
    got = expand_inputs(cfg, [str(d), str(d / "a.log"), str(d / "*" / "*.gz")])
    assert [Path(s.name).relative_to(d).as_posix() for s in got] == ["a.log", "sub/b.log.gz"]
    assert [s.gz for s in got] == [False, True]
    with pytest.raises(InputMissing):
        expand_inputs(cfg, [str(d / "*.nothing")])
    with pytest.raises(ConfigError):
        expand_inputs(cfg, [])


def test_failure_mid_stream_leaves_no_visible_file(tmp_path: Path) -> None:
    class Broken(io.RawIOBase):
        def __init__(self) -> None:
            self.data = io.BytesIO(Path(SAMPLE).read_bytes())
            self.calls = 0

        def readable(self) -> bool:
            return True

        def read(self, n: int = -1) -> bytes:
            self.calls += 1
            if self.calls > 1:
                raise OSError("connection reset while reading")
            return self.data.read(1 << 20)

    root = tmp_path / "wh"
    # the input is set aside (exit 3, naming it); nothing of it is published
    summary = parse_logs(
        cfg_for(root),
        ParseRequest(["-"], source_name="x"),
        seams=Seams(stdin=Broken()),  # type: ignore[arg-type]
    )
    assert summary.exit_code == 3 and "stdin:x" in summary.line()
    assert "connection reset" in summary.line() and summary.events == 0
    leftovers = [p for p in root.rglob("*") if p.is_file()]
    assert sorted(p.relative_to(root).parts[0] for p in leftovers) == ["_state", "rejects"]


def test_killed_run_leaves_only_hidden_partials(tmp_path: Path) -> None:
    big = tmp_path / "big.log"
    data = Path(SAMPLE).read_bytes()
    with open(big, "wb") as f:
        for _ in range(20):
            f.write(data)
    root = tmp_path / "wh"
    proc = subprocess.Popen(
        [sys.executable, "-m", "warehouse.cli", "--root", str(root), "parse", str(big)],
        cwd=str(Path(__file__).parent.parent),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: any(root.rglob("_tmp.*")), 60, "a part file in progress")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    visible = [p for p in root.rglob("*.json.gz") if not p.name.startswith(("_", "."))]
    for p in visible:  # anything visible is complete (published on clean close only)
        with gzip.open(p) as f:
            f.read()
    assert list(root.rglob("_tmp.*"))  # the partial file is there, hidden
    after = parse_logs(cfg_for(root), ParseRequest([str(big)]))
    assert after.lines == 200_000 and after.events == 199_980


def test_s3_input_and_s3_root(
    tmp_path: Path, moto_server: str, s3_client: Any, s3_bucket: str
) -> None:
    body = Path(SAMPLE).read_bytes()
    cut = body.rfind(b"\n", 0, len(body) // 2) + 1
    s3_client.put_object(Bucket=s3_bucket, Key="logs/2015/05/a.log", Body=body[:cut])
    s3_client.put_object(
        Bucket=s3_bucket, Key="logs/2015/05/b.log.gz", Body=gzip.compress(body[cut:])
    )
    s3_client.put_object(Bucket=s3_bucket, Key="logs/2015/05/_tmp.c.log", Body=b"skip me\n")
    cfg = config_from_dict(
        {"s3": {"endpoint_url": moto_server}}, root=f"s3://{s3_bucket}/warehouse"
    )
    summary = parse_logs(cfg, ParseRequest([f"s3://{s3_bucket}/logs/2015/05/"]))
    assert summary.inputs == 2
    assert summary.lines == 10000 and summary.events == 9999 and summary.rejected == 1
    keys = [
        o["Key"]
        for o in s3_client.list_objects_v2(Bucket=s3_bucket, Prefix="warehouse/")["Contents"]
    ]
    events = [k for k in keys if k.startswith("warehouse/events/dt=")]
    assert len(events) >= 4 and all(k.endswith(".json.gz") for k in events)
    n = 0
    for k in events:
        raw = s3_client.get_object(Bucket=s3_bucket, Key=k)["Body"].read()
        n += len(gzip.decompress(raw).splitlines())
    assert n == 9999
    assert any(k.startswith("warehouse/rejects/dt=") for k in keys)
    assert any(k.startswith("warehouse/_state/parse/") for k in keys)
    again = parse_logs(cfg, ParseRequest([f"s3://{s3_bucket}/logs/2015/05/a.log"]))
    assert again.inputs == 1 and again.lines > 0


def test_tiny_ranges_with_a_line_longer_than_several_ranges(tmp_path: Path) -> None:
    good = Path(SAMPLE).read_bytes().split(b"\n")[:40]
    lines = [*good[:10], b"junk " * 100, *good[10:25], b"", b"x", *good[25:]]
    src = tmp_path / "tiny.log"
    src.write_bytes(b"\n".join(lines))  # no newline at the end
    whole = parse_logs(cfg_for(tmp_path / "a"), ParseRequest([str(src)]))
    split = parse_logs(
        cfg_for(tmp_path / "b"),
        ParseRequest([str(src)], workers=2),
        seams=Seams(range_bytes=97),
    )
    assert whole.lines == split.lines == len(lines) == 43
    assert whole.events == split.events == 40 and split.rejected == 3
    a = {
        k.split("/")[1]: sorted(map(str, v)) for k, v in read_tree(tmp_path / "a", "events").items()
    }
    merged: dict[str, list[str]] = {}
    for k, v in read_tree(tmp_path / "b", "events").items():
        merged.setdefault(k.split("/")[1], []).extend(map(str, v))
    assert a == {k: sorted(v) for k, v in merged.items()}
    rejects = [r for rows in read_tree(tmp_path / "b", "rejects").values() for r in rows]
    assert sorted((r["lineno"], r["reason"]) for r in rejects) == [
        (11, "no match for format"),
        (27, "empty line"),
        (28, "no match for format"),
    ]


def test_cli_nginx_and_gunicorn_logs_end_to_end(tmp_path: Path, patterns_file: str) -> None:
    nginx_fmt = (
        '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
        '"$http_referer" "$http_user_agent" $request_time $host'
    )
    nginx = tmp_path / "nginx.log"
    nginx.write_text(
        '203.0.113.5 - bob [17/May/2015:23:30:00 -0100] "GET /blog/hi/?x=1 HTTP/2.0" 200 512 '
        '"-" "curl/8" 0.250 shop.example\n'
        '2001:db8::9 - - [18/May/2015:00:00:01 +0000] "POST / HTTP/1.1" 201 0 "https://a/" '
        '"ua \\"q\\"" 1.5 shop.example\n'
        "garbage\n"
    )
    runner = CliRunner()
    root = tmp_path / "wh"
    res = runner.invoke(
        cli,
        [
            "--root",
            str(root),
            "parse",
            str(nginx),
            "--format",
            nginx_fmt,
            "--patterns",
            patterns_file,
        ],
    )
    assert res.exit_code == 0, res.output
    assert "3 lines" in res.output and "2 events" in res.output and "1 reject " in res.output
    events = [e for rows in read_tree(root, "events").values() for e in rows]
    assert {k.split("/")[1] for k in read_tree(root, "events")} == {"dt=2015-05-18"}
    by_ip = {e["ip"]: e for e in events}
    first, second = by_ip["203.0.113.5"], by_ip["2001:db8::9"]
    assert first["ts"] == "2015-05-18T00:30:00Z" and first["user"] == "bob"
    assert first["slug"] == "blog:post" and first["params"] == {"slug": "hi"}
    assert first["query"] == "x=1" and first["duration_ms"] == 250.0
    assert first["vhost"] == "shop.example" and first["bytes"] == 512
    assert second["slug"] == "home" and second["user_agent"] == 'ua "q"'
    assert second["duration_ms"] == 1500.0 and second["method"] == "POST"

    guni = tmp_path / "gunicorn.log"
    guni.write_text(
        '10.0.0.7 - - [05/Feb/2021:07:08:09 +0000] "GET /blog/x-1/ HTTP/1.1" 200 12 "-" '
        '"python-requests/2.31"\n'
    )
    root2 = tmp_path / "wh2"
    res = runner.invoke(
        cli,
        [
            "--root",
            str(root2),
            "parse",
            str(guni),
            "--format",
            "gunicorn",
            "--patterns",
            patterns_file,
        ],
    )
    assert res.exit_code == 0, res.output
    (only,) = [e for rows in read_tree(root2, "events").values() for e in rows]
    assert only["slug"] == "blog:post" and only["params"] == {"slug": "x-1"}
    assert only["ts"] == "2021-02-05T07:08:09Z"
