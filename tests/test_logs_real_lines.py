"""Lines as real servers write them, through `warehouse parse` (the CLI) end to end.

The facts (DESIGN.md, "What real servers write"): Apache on Windows writes CRLF; Apache,
nginx and gunicorn log a Basic-auth user name with its spaces; gunicorn escapes only `"`
(as `\\"`) and writes every other backslash as is; nginx's stock `log_format main` is
combined plus `"$http_x_forwarded_for"`. Each test feeds such lines to the CLI and checks
the events and rejects it wrote.
"""

from __future__ import annotations

import gzip
import inspect
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.fixtures._util import sample_log
from warehouse.cli import cli
from warehouse.config import config_from_dict
from warehouse.events.build import builder_source, event_builder
from warehouse.events.parse import ParseRequest, Seams, parse_logs
from warehouse.logs import Classifier, compile_format

SAMPLE = sample_log()
T = "[29/Nov/2026:09:00:00 +0000]"


def _read(root: Path, sub: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for p in sorted((root / sub).rglob("*.json.gz")) if (root / sub).exists() else []:
        with gzip.open(p, "rt", encoding="utf-8") as f:
            out += [json.loads(x) for x in f]
    return out


def _parse(
    tmp_path: Path, data: bytes, fmt: str, name: str = "access.log", *extra: str
) -> tuple[int, str, list[dict[str, Any]], list[dict[str, Any]]]:
    """Run `warehouse [extra] parse` on `data`; return exit code, output, events, rejects."""
    log = tmp_path / name
    log.write_bytes(data)
    root = tmp_path / f"root-{name}"
    args = ["--root", str(root), *extra, "parse", str(log), "--format", fmt]
    res = CliRunner().invoke(cli, args)
    events = sorted(_read(root, "events"), key=lambda e: json.dumps(e, sort_keys=True))
    rejects = sorted(_read(root, "rejects"), key=lambda r: r["lineno"])
    return res.exit_code, res.output, events, rejects


# --- 1. CRLF ------------------------------------------------------------------------------


def test_crlf_log_gives_exactly_the_events_of_the_lf_log(tmp_path: Path) -> None:
    lf = Path(SAMPLE).read_bytes()
    assert len(lf) > 2 << 20  # several 1 MiB read blocks: each block's last line counts
    crlf = lf.replace(b"\n", b"\r\n")
    a = _parse(tmp_path, lf, "combined", "lf.log")
    b = _parse(tmp_path, crlf, "combined", "crlf.log")
    assert a[0] == b[0] == 0, (a[1], b[1])
    assert len(a[2]) > 9900 and a[2] == b[2]
    assert [(r["lineno"], r["reason"], r["line"]) for r in a[3]] == [
        (r["lineno"], r["reason"], r["line"]) for r in b[3]
    ]


def test_crlf_in_byte_ranges_and_workers(tmp_path: Path) -> None:
    # plain files over `range_bytes` are cut into ranges (32 MiB in production): a line
    # that ends a range is finished by the range's reader, and must drop its \r too
    crlf = Path(SAMPLE).read_bytes().replace(b"\n", b"\r\n")
    log = tmp_path / "crlf.log"
    log.write_bytes(crlf)
    got = []
    for workers in (1, 2):
        root = tmp_path / f"r{workers}"
        cfg = config_from_dict({}, root=str(root))
        s = parse_logs(
            cfg,
            ParseRequest([str(log)], workers=workers),
            seams=Seams(range_bytes=300_001),
        )
        assert s.lines == 10_000 and s.events + s.rejected == s.lines
        got.append(sorted(json.dumps(e, sort_keys=True) for e in _read(root, "events")))
    lf = _parse(tmp_path, Path(SAMPLE).read_bytes(), "combined", "lf.log")[2]
    assert got[0] == got[1] == sorted(json.dumps(e, sort_keys=True) for e in lf)


def test_one_line_crlf_file_and_stdin(tmp_path: Path) -> None:
    line = b'10.0.0.1 - - [29/Nov/2026:09:00:00 +0100] "GET / HTTP/1.1" 200 5 "-" "ua"\r\n'
    code, out, events, rejects = _parse(tmp_path, line, "combined")
    assert code == 0 and len(events) == 1 and not rejects, out
    assert events[0]["user_agent"] == "ua" and events[0]["ts"] == "2026-11-29T08:00:00Z"
    root = tmp_path / "stdin-root"
    res = CliRunner().invoke(
        cli, ["--root", str(root), "parse", "-", "--source-name", "win"], input=line * 3
    )
    assert res.exit_code == 0 and len(_read(root, "events")) == 3, res.output


# --- 2. user names with spaces -----------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "line"),
    [
        # Apache 2.4, combined, Basic auth user "John Smith"
        ("combined", f'127.0.0.1 - John Smith {T} "GET /private/ HTTP/1.1" 200 45 "-" "curl/8"'),
        # nginx combined ($remote_user)
        ("nginx", f'127.0.0.1 - John Smith {T} "GET /private/ HTTP/1.1" 200 45 "-" "curl/8"'),
        # gunicorn default access_log_format (%(u)s)
        ("gunicorn", f'127.0.0.1 - John Smith {T} "GET /private/ HTTP/1.1" 200 45 "-" "curl/8"'),
        # a name that looks like more fields
        ("combined", f'127.0.0.1 - a - [b] c {T} "GET /private/ HTTP/1.1" 200 45 "-" "curl/8"'),
    ],
)
def test_user_names_with_spaces_are_events(tmp_path: Path, fmt: str, line: str) -> None:
    code, out, events, rejects = _parse(tmp_path, line.encode() + b"\n", fmt)
    assert code == 0 and not rejects, out
    user = line.split(" - ", 1)[1].split(" [29/Nov", 1)[0]
    assert events[0]["user"] == user and events[0]["path"] == "/private/"
    assert events[0]["ts"] == "2026-11-29T09:00:00Z" and events[0]["status"] == 200


# --- 3. gunicorn's escaping --------------------------------------------------------------


def test_gunicorn_backslashes_are_literal_and_only_quotes_escaped(tmp_path: Path) -> None:
    lines = [
        # a request target with backslashes (gunicorn logs RAW_URI as received)
        f'10.0.0.1 - - {T} "GET /a\\b HTTP/1.1" 404 9 "-" "curl/8"',
        f'10.0.0.2 - - {T} "GET /index.php?s=/Index/\\think\\app/invokefunction HTTP/1.1" '
        '404 9 "-" "Mozilla/5.0"',
        f'10.0.0.3 - - {T} "GET /back\\\\slash HTTP/1.1" 404 9 "-" "curl/8"',
        # a user agent ending in a backslash, and one with quotes (escaped as \")
        f'10.0.0.4 - - {T} "GET / HTTP/1.1" 200 9 "-" "agent\\"',
        f'10.0.0.5 - - {T} "GET / HTTP/1.1" 200 9 "http://r/\\"q\\"" "say \\"hi\\" \\t"',
    ]
    code, out, events, rejects = _parse(tmp_path, "\n".join(lines).encode() + b"\n", "gunicorn")
    assert code == 0 and not rejects and len(events) == 5, out
    by_ip = {e["ip"]: e for e in events}
    assert by_ip["10.0.0.1"]["path"] == "/a\\b"
    assert by_ip["10.0.0.2"]["path"] == "/index.php"
    assert by_ip["10.0.0.2"]["query"] == "s=/Index/\\think\\app/invokefunction"
    assert by_ip["10.0.0.3"]["path"] == "/back\\\\slash"
    assert by_ip["10.0.0.4"]["user_agent"] == "agent\\"
    assert by_ip["10.0.0.5"]["referer"] == 'http://r/"q"'
    assert by_ip["10.0.0.5"]["user_agent"] == 'say "hi" \\t'


def test_a_gunicorn_custom_format_reads_backslashes_as_gunicorn_writes_them(
    tmp_path: Path,
) -> None:
    fmt = '%(h)s %(t)s "%(r)s" %(s)s %(L)s "%(a)s" %({x-request-id}i)s'
    line = f'10.0.0.1 {T} "GET /x\\y?z=\\n HTTP/1.1" 200 0.010 "ua\\" r-1\n'
    code, out, events, _ = _parse(tmp_path, line.encode(), fmt)
    assert code == 0, out
    assert events[0]["path"] == "/x\\y" and events[0]["query"] == "z=\\n"
    assert events[0]["user_agent"] == "ua\\" and events[0]["duration_ms"] == 10.0


# --- 4. nginx's stock `main`, and lines with more fields than the format ---------------

MAIN = [
    f'127.0.0.1 - - {T} "GET /blog/ HTTP/1.1" 200 615 "-" "curl/8.0" "-"',
    f'10.1.1.1 - John Smith {T} "GET /a?b=1 HTTP/1.1" 404 153 "http://r/" "Mozilla/5.0 (X11)" '
    '"203.0.113.7, 10.0.0.1"',
    f'10.1.1.2 - - {T} "POST /api HTTP/2.0" 201 0 "-" "ua \\"q\\"" "198.51.100.2"',
]


def test_main_preset_reads_nginx_stock_main(tmp_path: Path) -> None:
    code, out, events, rejects = _parse(tmp_path, "\n".join(MAIN).encode() + b"\n", "main")
    assert code == 0 and not rejects and len(events) == 3, out
    by_ip = {e["ip"]: e for e in events}
    assert by_ip["10.1.1.1"]["user_agent"] == "Mozilla/5.0 (X11)"
    assert by_ip["10.1.1.1"]["user"] == "John Smith" and by_ip["10.1.1.1"]["query"] == "b=1"
    assert by_ip["10.1.1.2"]["user_agent"] == 'ua "q"'
    # the client address can come from the forwarded header's first hop
    cfg = tmp_path / "xff.toml"
    cfg.write_text('[logs]\nip = "$http_x_forwarded_for"\n')
    code, out, events, _ = _parse(
        tmp_path, MAIN[1].encode() + b"\n", "main", "x.log", "--config", str(cfg)
    )
    assert code == 0 and events[0]["ip"] == "203.0.113.7", out


@pytest.mark.parametrize("fmt", ["combined", "nginx"])
def test_main_read_as_combined_is_rejected_and_named(tmp_path: Path, fmt: str) -> None:
    code, out, events, rejects = _parse(tmp_path, "\n".join(MAIN).encode() + b"\n", fmt)
    # never an event whose user agent swallowed the extra field
    assert events == [] and [r["reason"] for r in rejects] == ["no match for format"] * 3
    assert code == 5
    assert "match preset 'main': try --format main (in a config: [logs] format = \"main\")" in out


def test_combined_read_as_main_names_combined(tmp_path: Path) -> None:
    lines = Path(SAMPLE).read_text(encoding="utf-8", errors="backslashreplace").splitlines()
    code, out, events, rejects = _parse(tmp_path, "\n".join(lines[:50]).encode(), "main")
    assert code == 5 and events == [] and len(rejects) == 50
    assert "match preset 'combined'" in out


def test_a_relaxed_match_never_folds_an_extra_quoted_field(tmp_path: Path) -> None:
    # unescaped quotes (an old server) still get their second chance...
    old = f'1.1.1.1 - - {T} "GET / HTTP/1.1" 200 1 "-" "Mozilla (compatible; "x" bot)"\n'
    code, out, events, _ = _parse(tmp_path, old.encode(), "combined")
    assert code == 0 and events[0]["user_agent"] == 'Mozilla (compatible; "x" bot)', out
    # ...but a quote followed by ` "` is a field boundary, never text inside a field
    extra = f'1.1.1.1 - - {T} "GET / HTTP/1.1" 200 1 "-" "ua" "extra"\n'
    code, out, events, rejects = _parse(tmp_path, extra.encode(), "combined", "x.log")
    assert events == [] and rejects[0]["reason"] == "no match for format"


# --- 5. %q beside %U ---------------------------------------------------------------------


def test_query_beside_url_path_splits_path_and_query(tmp_path: Path) -> None:
    fmt = '%h %l %u %t "%m %U%q %H" %>s %b'
    lines = [
        f'1.1.1.1 - - {T} "GET /search?q=\\"y\\" HTTP/1.1" 200 5',
        f'1.1.1.2 - - {T} "GET /search HTTP/1.1" 200 5',
        f'1.1.1.3 - - {T} "GET /s?a=1&b=%20\\\\x HTTP/1.1" 200 5',
    ]
    code, out, events, _ = _parse(tmp_path, "\n".join(lines).encode(), fmt)
    assert code == 0 and len(events) == 3, out
    got = {e["ip"]: (e["path"], e["query"], e["protocol"]) for e in events}
    assert got == {
        "1.1.1.1": ("/search", 'q="y"', "HTTP/1.1"),
        "1.1.1.2": ("/search", None, "HTTP/1.1"),
        "1.1.1.3": ("/s", "a=1&b=%20\\x", "HTTP/1.1"),
    }


# --- 12. timestamps ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stamp", "ts"),
    [
        ("17/May/2015:10:05:03 +2500", None),  # no zone is 25 hours off UTC
        ("17/May/2015:10:05:03 +0099", None),  # minutes over 59
        ("17/May/2015:10:05:03 -1500", None),
        ("17/May/2015:10:05:5\u0663 +0000", None),  # ARABIC-INDIC DIGIT THREE
        ("1\u0667/May/2015:10:05:03 +0000", None),
        ("17/May/2015:10:05:60 +0000", None),  # :60 where no leap second can be
        ("30/Jun/2015:23:59:60 +0000", "2015-06-30T23:59:59Z"),  # a real leap second
        ("01/Jan/2017:05:29:60 +0530", "2016-12-31T23:59:59Z"),  # the same, local time
        ("17/May/2015:10:05:03 +1400", "2015-05-16T20:05:03Z"),
        ("17/May/2015:10:05:03 -1200", "2015-05-17T22:05:03Z"),
    ],
)
def test_timestamps(tmp_path: Path, stamp: str, ts: str | None) -> None:
    line = f'1.1.1.1 - - [{stamp}] "GET / HTTP/1.1" 200 5 "-" "-"\n'
    code, out, events, rejects = _parse(tmp_path, line.encode(), "combined")
    if ts is None:
        assert events == [] and rejects[0]["reason"] == "bad timestamp", out
    else:
        assert code == 0 and events[0]["ts"] == ts, out


@pytest.mark.parametrize(
    ("stamp", "ts"),
    [
        ("2016-12-31T23:59:60+00:00", "2016-12-31T23:59:59Z"),
        ("2016-12-30T23:59:60+00:00", None),
        ("2015-05-17T10:05:03+25:00", None),
        ("2015-05-17T10:05:03+00:99", None),
        ("2015-05-17T10:05:0\u0663+00:00", None),
    ],
)
def test_iso_timestamps(tmp_path: Path, stamp: str, ts: str | None) -> None:
    fmt = '$remote_addr [$time_iso8601] "$request" $status'
    line = f'1.1.1.1 [{stamp}] "GET / HTTP/1.1" 200\n'
    code, out, events, rejects = _parse(tmp_path, line.encode(), fmt)
    if ts is None:
        assert events == [] and rejects[0]["reason"] == "bad timestamp", out
    else:
        assert code == 0 and events[0]["ts"] == ts, out


# --- 14. an unknown format name ----------------------------------------------------------


def test_unknown_format_name_lists_the_presets(tmp_path: Path) -> None:
    code, out, _, _ = _parse(tmp_path, b"x\n", "apache")
    assert code == 2
    assert "'apache' is not a preset" in out
    assert "common, combined, vhost_combined, nginx, main, gunicorn" in out


# --- the generated code is printable ------------------------------------------------------


@pytest.mark.parametrize("fmt", ["combined", "gunicorn", "main", '%h %t "%m %U%q %H" %>s %D'])
def test_generated_code_is_printable_and_is_what_runs(fmt: str) -> None:
    f = compile_format(fmt)
    c = Classifier(f)
    assert inspect.getsource(c.classify) == c.source
    build = event_builder(f)
    assert inspect.getsource(build) == builder_source(f)
    assert "def classify(line):" in c.source and "def build(f):" in builder_source(f)
