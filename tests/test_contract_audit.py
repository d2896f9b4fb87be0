"""Acceptance audit: DESIGN.md contracts checked the way an outside user meets them.

Each test pins a discrepancy found by running the CLI on logs and configs unlike ours.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from warehouse.cli import cli
from warehouse.config import load_config
from warehouse.errors import ConfigError
from warehouse.events.build import make_event
from warehouse.logs import compile_format
from warehouse.storage import LocalStore, open_gzip_write

REPO = Path(__file__).resolve().parent.parent

# DESIGN.md's [Configuration] block, key for key (paths point at files the test creates).
DESIGN_TOML = """
[warehouse]
root = "./warehouse-data"

[s3]
endpoint_url = "http://127.0.0.1:5000"
region = "us-east-1"

[logs]
input = "s3://logs/access/{date:%Y/%m/%d}/"
format = "combined"
patterns = "conf/urls.json"
user = "%u"

[hive]
host = "127.0.0.1"
port = 10000
username = "hadoop"
database = "warehouse"
dialect = "hive"
tunnel = "bastion"

[aggregate]
runner = "local"
jobs = ["daily_actions", "sessions", "top_params"]
mrjob_conf = "conf/mrjob.conf"

[ssh.bastion]
host = "bastion.example.com"
port = 22
user = "etl"
key_file = "conf/etl_ed25519"
known_hosts = "conf/known_hosts"
bind_address = "127.0.0.1"

[mysql.shop]
host = "db.internal"
port = 3306
user = "etl"
password_file = "conf/shop.pass"
tunnel = "bastion"
engine = "python"
databases = ["shop", "billing"]
tables = ["*"]
exclude = ["*_tmp"]
incremental = { "shop.orders" = { mode = "lastmodified", column = "modified", key = "id" }, "shop.audit" = { mode = "append", column = "id" } }
"""


def _design_config(tmp_path: Path) -> Path:
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "urls.json").write_text("[]")
    (conf / "mrjob.conf").write_text((REPO / "conf" / "mrjob.conf").read_text())
    for name in ("etl_ed25519", "known_hosts", "shop.pass"):
        (conf / name).write_text("x\n")
    cfg = tmp_path / "warehouse.toml"
    cfg.write_text(DESIGN_TOML)
    return cfg


def _check(cfg: Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--config", str(cfg), "config", "check"])
    return result.exit_code, result.output


def test_design_config_block_is_accepted(tmp_path: Path) -> None:
    code, out = _check(_design_config(tmp_path))
    assert code == 0, out
    assert "config check: ok" in out


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (('format = "combined"', 'format = "%h %Q"'), "unknown directive '%Q'"),
        (('format = "combined"', 'format = "combinedd"'), "is not a preset; presets: common, combined"),
        (('user = "%u"', 'user = "%u"\nip = "%{X-Forwarded-For}i"'), "[logs] ip"),
        (('user = "%u"', 'user = "%{sid}C"'), "[logs] user"),
        (('patterns = "conf/urls.json"', 'patterns = "conf/nope.json"'), "nope.json"),
        (('mrjob_conf = "conf/mrjob.conf"', 'mrjob_conf = "conf/nope.conf"'), "nope.conf"),
    ],
)
def test_config_check_rejects_what_parse_and_aggregate_would(
    tmp_path: Path, edit: tuple[str, str], message: str
) -> None:
    # `config check` gates the EMR launch (setup-cron.sh): a [logs] format or field that
    # `parse` refuses with exit 2 must fail here too, not at 02:30 in cron.
    cfg = _design_config(tmp_path)
    cfg.write_text(cfg.read_text().replace(*edit))
    code, out = _check(cfg)
    assert code == 2, out
    assert message in out and "Traceback" not in out


def test_lock_file_resolves_against_the_config_folder(tmp_path: Path) -> None:
    # cron runs from $HOME: a relative lock_file must be the same file for the crontab's
    # flock and for `run` itself, wherever they start.
    cfg = tmp_path / "w.toml"
    cfg.write_text('[cron]\nlock_file = "run.lock"\nlog_dir = "logs"\n')
    loaded = load_config(cfg)
    assert loaded.cron.lock_file == str(tmp_path / "run.lock")
    assert loaded.cron.log_dir == str(tmp_path / "logs")


def test_gzip_objects_are_byte_identical_across_writes(tmp_path: Path) -> None:
    # The local store writes under a random `_tmp.*` name; gzip must not record it, or
    # re-runs (and --workers 1 vs 2) publish different bytes for the same content.
    store = LocalStore(tmp_path)
    blobs = []
    for _ in range(2):
        with open_gzip_write(store, "events/dt=2024-01-01/p.json.gz") as f:
            f.write(b'{"a":1}\n')
        blobs.append((tmp_path / "events/dt=2024-01-01/p.json.gz").read_bytes())
    assert blobs[0] == blobs[1]
    assert blobs[0][3] & 0x08 == 0, "FNAME flag set: the temporary name is in the header"
    assert gzip.decompress(blobs[0]) == b'{"a":1}\n'


LB_FORMAT = '%{X-Forwarded-For}i %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"'


@pytest.mark.parametrize(
    ("fmt", "line"),
    [
        # AWS's documented Apache format behind a load balancer: the header unquoted
        (
            LB_FORMAT,
            '203.0.113.9, 10.0.0.2 - - [22/Nov/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 5 "-" "ua"',
        ),
        (
            '%({x-forwarded-for}i)s %(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"',
            '203.0.113.9,10.0.0.2 10.0.0.1 - - [22/Nov/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 5 "-" "ua"',
        ),
        (
            "$http_x_forwarded_for|$remote_addr [$time_local] \"$request\" $status $body_bytes_sent",
            '203.0.113.9, 10.0.0.2, 10.0.0.3|10.0.0.1 [22/Nov/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 5',
        ),
    ],
)
def test_unquoted_multi_hop_forwarded_for(fmt: str, line: str) -> None:
    ev = make_event(compile_format(fmt), line, ip="%{X-Forwarded-For}i")
    assert isinstance(ev, dict), ev
    assert ev["ip"] == "203.0.113.9" and ev["path"] == "/a" and ev["status"] == 200


def test_unquoted_forwarded_for_regex_is_java_safe() -> None:
    # the same regex feeds Hive's RegexSerDe: escapes only, no raw control characters
    pattern = compile_format(LB_FORMAT).serde_regex()
    assert "\t" not in pattern and re.compile(pattern)


def test_gzipped_stdin_named_gz_is_decompressed(tmp_path: Path) -> None:
    # `aws s3 cp s3://.../access.log.gz - | warehouse parse - --source-name access.log.gz`
    # must not look like a wrong --format (100% rejects, exit 5). The name decides, as for
    # files: sniffing the magic would misread plain input that happens to start with it.
    line = '10.0.0.1 - - [22/Nov/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 5 "-" "ua"\n'
    root = tmp_path / "root"
    result = CliRunner().invoke(
        cli,
        ["--root", str(root), "parse", "-", "--source-name", "web1.gz"],
        input=gzip.compress(line.encode() * 3),
    )
    assert result.exit_code == 0, result.output
    (part,) = (root / "events" / "dt=2026-11-22").iterdir()
    events = [json.loads(x) for x in gzip.decompress(part.read_bytes()).splitlines()]
    assert len(events) == 3 and events[0]["path"] == "/a"


@pytest.mark.parametrize("kind", ["truncated", "not gzip"])
def test_corrupt_gz_input_is_one_line_exit_5(tmp_path: Path, kind: str) -> None:
    # a log cut mid-upload or a plain file named .gz: before, a traceback and exit 1
    line = b'10.0.0.1 - - [22/Nov/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 5 "-" "ua"\n'
    blob = gzip.compress(line * 2000)
    bad = tmp_path / "access.log.gz"
    bad.write_bytes(blob[: len(blob) // 2] if kind == "truncated" else line)
    root = tmp_path / "root"
    result = CliRunner().invoke(cli, ["--root", str(root), "parse", str(bad)])
    assert result.exit_code == 5, result.output
    assert "corrupt or truncated gzip" in result.output and str(bad) in result.output
    assert isinstance(result.exception, SystemExit), result.exception
    # no events of the bad input are published (partial parts stay hidden or are removed)
    events = [p for p in (root / "events").rglob("*") if p.is_file()] if (root / "events").exists() else []
    assert events == []
    # the input is set aside with a reason in the rejects
    (rej,) = [p for p in (root / "rejects").rglob("*.json.gz") if not p.name.startswith(("_", "."))]
    (rec,) = [json.loads(x) for x in gzip.decompress(rej.read_bytes()).splitlines()]
    assert rec["source"] == str(bad) and rec["reason"] == "corrupt input"
    assert "corrupt or truncated gzip" in rec["line"]


def test_corrupt_gz_input_does_not_stop_the_others(tmp_path: Path) -> None:
    line = b'10.0.0.1 - - [22/Nov/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 5 "-" "ua"\n'
    blob = gzip.compress(line * 2000)
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "a-broken.log.gz").write_bytes(blob[: len(blob) // 2])
    (logs / "b-good.log.gz").write_bytes(gzip.compress(line * 7))
    (logs / "c-good.log").write_bytes(line * 5)
    root = tmp_path / "root"
    for workers in ("1", "2"):
        result = CliRunner().invoke(cli, ["--root", str(root), "parse", str(logs), "--workers", workers])
        assert result.exit_code == 5, result.output
        assert "12 events" in result.output and "1 input set aside" in result.output
        assert "a-broken.log.gz" in result.output
        parts = sorted((root / "events" / "dt=2026-11-22").glob("*.json.gz"))
        n = sum(len(gzip.decompress(p.read_bytes()).splitlines()) for p in parts)
        assert n == 12


@pytest.mark.parametrize(
    ("fmt", "line"),
    [
        # a health check straight to the instance: no X-Forwarded-For, and no %h to fall
        # back on
        (LB_FORMAT, '- - - [22/Nov/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 5 "-" "ua"'),
        ('%t "%r" %>s %b', '[22/Nov/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 5'),
    ],
)
def test_ip_is_always_a_non_empty_string(fmt: str, line: str) -> None:
    # DESIGN's schema: ip is a string; the jobs count an event without one as malformed
    # and skip it, so a null here silently drops requests from every aggregate.
    ev = make_event(compile_format(fmt), line, ip="%{X-Forwarded-For}i" if "X-F" in fmt else "%h")
    assert isinstance(ev, dict), ev
    assert ev["ip"] == "-"


def test_aggregate_date_defaults_to_yesterday(tmp_path: Path) -> None:
    # DESIGN's CLI block: `aggregate JOB [--date D | --from D --to D]`, optional like run's
    import datetime as dt

    def yesterday() -> dt.date:
        return dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)

    before = yesterday()
    # events on yesterday and today (yesterday's after a midnight during the test), 1 and 2
    days = {before: 1, before + dt.timedelta(days=1): 2}
    line = '10.0.0.1 - - [{}:10:00:00 +0000] "GET /a HTTP/1.1" 200 5 "-" "ua"\n'
    log = tmp_path / "a.log"
    log.write_text("".join(line.format(d.strftime("%d/%b/%Y")) * n for d, n in days.items()))
    root = tmp_path / "root"
    runner = CliRunner()
    assert runner.invoke(cli, ["--root", str(root), "parse", str(log)]).exit_code == 0
    result = runner.invoke(cli, ["--root", str(root), "aggregate", "daily_actions", "-r", "inline"])
    after = yesterday()
    assert result.exit_code == 0, result.output
    out = root / "aggregates" / "daily_actions"
    made = sorted(p.name for p in out.iterdir())
    assert len(made) == 1 and made[0] in {f"dt={before}", f"dt={after}"}, made
    day = dt.date.fromisoformat(made[0].removeprefix("dt="))
    with gzip.open(out / made[0] / "part-00000.json.gz", "rt") as f:
        rows = [json.loads(x) for x in f]
    assert [(r["dt"], r["slug"], r["hits"]) for r in rows] == [(str(day), None, days[day])]


def test_aggregate_with_a_vanished_mrjob_conf_is_a_config_error(tmp_path: Path) -> None:
    import dataclasses
    import datetime as dt

    from warehouse.aggregate import run_aggregate
    from warehouse.config import config_from_dict

    cfg = config_from_dict({}, root=str(tmp_path / "root"))
    missing = str(tmp_path / "gone" / "mrjob.conf")
    cfg = dataclasses.replace(cfg, aggregate=dataclasses.replace(cfg.aggregate, mrjob_conf=missing))
    with pytest.raises(ConfigError) as err:
        run_aggregate(cfg, "daily_actions", [dt.date(2026, 11, 22)], runner="inline")
    assert err.value.exit_code == 2
    assert missing in str(err.value) and "mrjob_conf" in str(err.value)
    assert not (tmp_path / "root" / "aggregates").exists()
