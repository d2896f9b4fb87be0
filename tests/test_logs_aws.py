"""The AWS presets (alb, elb, s3, cloudfront) through `warehouse parse`, against Athena.

Each service's documented example lines plus generated lines with every documented field
(`-`, quoted values with spaces, -1 processing times, absolute-form targets, percent
escapes) go through the CLI in one file per service. Every event is compared field by
field with an independent reading: the regular expression AWS documents for Athena's
table of that log (copied into tests/_awslogs.py; CloudFront's Athena table is
tab-separated with the documented columns), the request split by `urllib.parse`, and Django's own resolve() for
slug and params (tests/django_sample).
"""

from __future__ import annotations

import gzip
import json
import random
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests._awslogs import (
    ALB_DOCS,
    ATHENA_ALB_2019,
    CF_DOCS,
    CF_FIELDS,
    ELB_DOCS,
    S3_DOCS,
    alb_expected,
    alb_lines,
    cf_expected,
    cf_lines,
    check_events,
    elb_expected,
    elb_lines,
    lb_event,
    parse_cli,
    s3_expected,
    s3_lines,
)
from warehouse.cli import cli


def test_alb(tmp_path: Path, url_site: Any) -> None:
    dump, paths, answer = url_site
    lines = ALB_DOCS + alb_lines(random.Random(1), paths, 300)
    expected = [alb_expected(x) for x in lines]
    assert any(e["duration_ms"] is None for e in expected)
    assert any(e["method"] is None for e in expected)
    check_events(*parse_cli(tmp_path, "alb", lines, "alb", dump), expected, answer)


def testalb_lines_from_before_the_later_fields(tmp_path: Path, url_site: Any) -> None:
    """Files written before error_reason, the target lists, classification and
    conn_trace_id existed: each later field is optional."""
    dump, paths, answer = url_site
    lines = []
    for line in ALB_DOCS + alb_lines(random.Random(8), paths, 100):
        cut = re.match(r'(.* "[^"]*" "[^"]*")(?: "[^"]*"){5} TID_\w+$', line)
        if cut:
            lines.append(cut.group(1))  # through redirect_url (2018)
            lines.append(cut.group(1) + ' "LambdaInvalidResponse"')  # + error_reason
    assert len(lines) > 100
    expected = []
    for x in lines:
        g = ATHENA_ALB_2019.fullmatch(x)
        assert g is not None, x
        expected.append(
            lb_event(g[15], g[16], g[17], g[2], g[4], g[11], g[14], g[18], [g[8], g[9], g[10]])
        )
    check_events(*parse_cli(tmp_path, "alb-2018", lines, "alb", dump), expected, answer)


def test_elb(tmp_path: Path, url_site: Any) -> None:
    dump, paths, answer = url_site
    lines = ELB_DOCS + elb_lines(random.Random(2), paths, 200)
    check_events(*parse_cli(tmp_path, "elb", lines, "elb", dump), [elb_expected(x) for x in lines], answer)


def test_s3(tmp_path: Path, url_site: Any) -> None:
    dump, paths, answer = url_site
    lines = S3_DOCS + s3_lines(random.Random(3), paths, 300)
    check_events(*parse_cli(tmp_path, "s3", lines, "s3", dump), [s3_expected(x) for x in lines], answer)


def test_cloudfront_with_its_header_lines(tmp_path: Path, url_site: Any) -> None:
    dump, paths, answer = url_site
    body = CF_DOCS + cf_lines(random.Random(4), paths, 300)
    lines = ["#Version: 1.0", CF_FIELDS, *body]
    result, days, rejects = parse_cli(tmp_path, "cf", lines, "cloudfront", dump)
    check_events(result, days, rejects, [cf_expected(x) for x in body], answer)
    assert f"{len(lines):,} lines" in result.output and f"{len(body):,} events" in result.output


def test_cloudfront_reads_a_file_by_its_own_fields_line(tmp_path: Path, url_site: Any) -> None:
    """An older field list (24 fields) and a reordered one: each file by its #Fields line."""
    dump, paths, answer = url_site
    names = CF_FIELDS.split()[1:]
    old = names[:24]
    shuffled = names[:]
    random.Random(5).shuffle(shuffled)
    for label, header in (("old", old), ("shuffled", shuffled)):
        body = []
        for line in cf_lines(random.Random(6), paths, 50):
            by_name = dict(zip(names, line.split("\t"), strict=True))
            body.append("\t".join(by_name[n] for n in header))
        lines = ["#Version: 1.0", "#Fields: " + " ".join(header), *body]
        expected = [cf_expected(x, header) for x in body]
        check_events(*parse_cli(tmp_path, label, lines, "cloudfront", dump), expected, answer)


def test_a_one_request_cloudfront_file_has_no_rejects(tmp_path: Path, url_site: Any) -> None:
    """As CloudFront delivers it: a gzipped file, two header lines and one request."""
    dump, _, _ = url_site
    log = tmp_path / "E2EXAMPLE1234.2019-12-04-21.a1b2c3d4.gz"
    with gzip.open(log, "wt", encoding="utf-8") as f:
        f.write("\n".join(["#Version: 1.0", CF_FIELDS, CF_DOCS[0]]) + "\n")
    root = tmp_path / "root"
    result = CliRunner().invoke(
        cli, ["--root", str(root), "parse", str(log), "--format", "cloudfront", "--patterns", str(dump)]
    )
    assert result.exit_code == 0, result.output
    assert "3 lines from 1 input, 1 event, 0 rejects" in result.output
    assert not (root / "rejects").exists() or not list((root / "rejects").rglob("*.json.gz"))


def test_a_fields_line_applies_to_its_own_input_only(tmp_path: Path, url_site: Any) -> None:
    """Two inputs in one parse (one process): the first reorders its fields, the second,
    without header lines, is read in the documented order."""
    dump, paths, _ = url_site
    names = CF_FIELDS.split()[1:]
    header = names[::-1]
    lines = cf_lines(random.Random(7), paths, 20)
    first = tmp_path / "a.log"
    first.write_text("#Fields: " + " ".join(header) + "\n" + "".join(
        "\t".join(reversed(x.split("\t"))) + "\n" for x in lines[:10]
    ))
    second = tmp_path / "b.log"
    second.write_text("".join(x + "\n" for x in lines[10:]))
    root = tmp_path / "root"
    result = CliRunner().invoke(cli, [
        "--root", str(root), "parse", str(first), str(second), "--format", "cloudfront",
        "--patterns", str(dump),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "20 events, 0 rejects" in result.output
    got = []
    for part in sorted((root / "events").rglob("*.json.gz")):
        with gzip.open(part, "rt", encoding="utf-8") as f:
            got.extend(json.loads(x) for x in f)
    for ev in got:
        ev.pop("slug"), ev.pop("params")
    want = [cf_expected(x) for x in lines]
    key = lambda e: json.dumps(e, sort_keys=True)  # noqa: E731
    assert sorted(got, key=key) == sorted(want, key=key)


# README "Where AWS delivers the logs": each layout as `[logs] input`, read by `run`'s
# parse stage from S3 (moto's server): (preset, key of the day's file, a key of another
# day that must not be read, the template with BUCKET in it)
LAYOUTS = [
    ("alb", "AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2024/03/09/"
     "123456789012_elasticloadbalancing_eu-west-1_app.my-lb.50dc6c495c0c9188_20240309T2355Z_"
     "10.0.0.1_2x8bnfx0.log.gz",
     "AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2024/03/10/x.log.gz",
     "s3://BUCKET/AWSLogs/123456789012/elasticloadbalancing/eu-west-1/{date:%Y/%m/%d}/"),
    ("cloudfront", "cloudfront/E2EXAMPLE1234.2024-03-09-08.a1b2c3d4.gz",
     "cloudfront/E2EXAMPLE1234.2024-03-10-00.e5f6a7b8.gz",
     "s3://BUCKET/cloudfront/E2EXAMPLE1234.{date:%Y-%m-%d}-*.gz"),
    ("s3", "s3-access/2024-03-09-10-00-00-ABCDEF0123456789",
     "s3-access/2024-03-10-00-00-00-0123456789ABCDEF", "s3://BUCKET/s3-access/{date:%Y-%m-%d}-*"),
    ("s3", "s3-access/123456789012/eu-west-1/my-bucket/2024/03/09/2024-03-09-10-00-00-ABCDEF",
     "s3-access/123456789012/eu-west-1/my-bucket/2024/03/10/2024-03-10-00-00-00-ABCDEF",
     "s3://BUCKET/s3-access/123456789012/eu-west-1/my-bucket/{date:%Y/%m/%d}/"),
]


@pytest.mark.parametrize(("preset", "key", "other", "template"), LAYOUTS)
def test_readme_input_layouts_on_s3(
    tmp_path: Path, s3_client: Any, s3_bucket: str, moto_server: str,
    preset: str, key: str, other: str, template: str,
) -> None:
    paths = ["/", "/blog/"]
    make = {"alb": alb_lines, "cloudfront": cf_lines, "s3": s3_lines}[preset]
    lines = make(random.Random(9), paths, 12)
    if preset == "alb":  # the generator's first lines are on 2024-03-09 before 23:59:55
        lines = lines[:5]
    if preset == "cloudfront":
        lines = ["#Version: 1.0", CF_FIELDS, *lines]
    body = ("\n".join(lines) + "\n").encode()
    data = gzip.compress(body) if key.endswith(".gz") else body
    s3_client.put_object(Bucket=s3_bucket, Key=key, Body=data)
    s3_client.put_object(Bucket=s3_bucket, Key=other, Body=data)
    cfg = tmp_path / "warehouse.toml"
    cfg.write_text(
        f'[s3]\nendpoint_url = "{moto_server}"\n\n[logs]\nformat = "{preset}"\n'
        f"input = {json.dumps(template.replace('BUCKET', s3_bucket))}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, [
        "--config", str(cfg), "--root", str(tmp_path / "root"),
        "run", "--date", "2024-03-09", "--only", "parse",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "parse ok" in result.output
    root = tmp_path / "root"
    got = 0
    for part in (root / "events").rglob("*.json.gz"):
        with gzip.open(part, "rt", encoding="utf-8") as f:
            got += sum(1 for _ in f)
    # the day's file only (the other day's holds the same lines), every request an event
    assert got == sum(1 for x in lines if not x.startswith("#"))
    assert not list((root / "rejects").rglob("*.json.gz")) if (root / "rejects").exists() else True


@pytest.mark.parametrize(
    ("preset", "lines"),
    [("alb", ALB_DOCS), ("elb", ELB_DOCS), ("s3", S3_DOCS),
     ("cloudfront", ["#Version: 1.0", CF_FIELDS, *CF_DOCS])],
)
def test_a_log_read_with_the_wrong_format_names_its_preset(
    tmp_path: Path, preset: str, lines: list[str]
) -> None:
    log = tmp_path / "x.log"
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["--root", str(tmp_path / "r"), "parse", str(log), "--format", "combined"]
    )
    assert result.exit_code == 5
    assert f"match preset '{preset}': try --format {preset}" in result.output
