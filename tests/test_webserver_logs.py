"""Access logs written by real nginx, Apache httpd and gunicorn, read by `warehouse parse`.

The session's servers (tests/fixtures/webservers.py) receive the corpus of unusual
requests of tests/_webclient.py over raw sockets and write their own logs, in stock and
custom formats. Each log goes through the CLI (`warehouse parse --format ...`), and every
field of every event is compared with an independent reading of the same line
(tests/_reflogs.py: apachelogs for Apache, a separate reader for nginx and gunicorn).
Every line must be an event or a reject; no case may be rejected or differ.
"""

from __future__ import annotations

import contextlib
import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests._reflogs import EVENT_FIELDS, reader_for, to_event
from tests._webclient import CORPUS, SILENT, send_corpus
from tests.fixtures.webservers import LOGS, SERVERS, WebServers
from warehouse.cli import cli

# (log, case) -> why today's parser gets that line wrong. Each entry is an xfail(strict):
# when the parser is fixed, the test passes, fails as XPASS, and the entry must go.
_SPACE = "issue 9 #2: a user name with a space (Basic auth) is rejected: no match for format"
_GUNICORN = "issue 9 #3: gunicorn escapes only the double quote; backslashes read as escapes"
KNOWN: dict[tuple[str, str], str] = {
    **{
        (log, case): _SPACE
        for log in LOGS
        if log not in ("nginx-json", "nginx-iso8601-xff")  # user quoted, or no user
        for case in ("user-space", "user-quote", "user-unicode")
    },
    **{
        (log, case): _GUNICORN
        for log in ("gunicorn-default", "gunicorn-D")
        for case in (
            "user-backslash",
            "path-backslash",
            "query-think",
            "ua-backslash-end",
            "ua-quotes-backslashes",
            "referer-quotes",
        )
    },
    ("apache-custom-UqD", "query-quotes"): (
        "issue 9 #5: %q beside %U: an escaped quote in the query puts it all in path"
    ),
}


@dataclass
class Parsed:
    """One server log read through the CLI: lines, events and rejects by line number."""

    path: Path
    lines: list[str]  # the raw bytes of each line, as latin-1 text
    cases: dict[str, list[int]]  # case -> 1-based line numbers
    exit_code: int
    output: str
    events: dict[int, dict[str, Any]]
    rejects: dict[int, str]
    n_events: int


def _read_gz_tree(base: Path) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for p in sorted(base.rglob("*.json.gz")) if base.exists() else []:
        with gzip.open(p, "rt", encoding="utf-8") as f:
            out[p.relative_to(base).as_posix()] = [json.loads(x) for x in f]
    return out


def parse_with_cli(
    path: Path, fmt: str, root: Path, ip: str | None = None
) -> tuple[int, str, dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    """Run `warehouse parse PATH --format FMT`; return (exit, output, events by part, rejects)."""
    args = ["--root", str(root)]
    if ip is not None:
        cfg = root.parent / f"{root.name}.toml"
        cfg.write_text(f"[logs]\nip = {json.dumps(ip)}\n")
        args += ["--config", str(cfg)]
    result = CliRunner().invoke(cli, [*args, "parse", str(path), "--format", fmt])
    rejects = [r for rs in _read_gz_tree(root / "rejects").values() for r in rs]
    return result.exit_code, result.output, _read_gz_tree(root / "events"), rejects


def match_events(
    lines: list[str], parts: dict[str, list[dict[str, Any]]], rejected: set[int], ref: Any
) -> dict[int, dict[str, Any]]:
    """Pair each partition's events, in order, with the non-rejected lines of its date."""
    by_date: dict[str, list[int]] = {}
    day = "?"
    for n, line in enumerate(lines, 1):
        if n not in rejected:
            with contextlib.suppress(ValueError):  # the case's own test reports it
                day = to_event(ref(line))["ts"][:10]
            by_date.setdefault(day, []).append(n)
    out: dict[int, dict[str, Any]] = {}
    for key, events in parts.items():
        day = key.split("/")[0].removeprefix("dt=")
        numbers = by_date.get(day, [])
        assert len(numbers) == len(events), (key, len(numbers), len(events))
        out.update(zip(numbers, events, strict=True))
    return out


@pytest.fixture(scope="module")
def served(webservers: WebServers) -> dict[str, dict[str, list[int]]]:
    """Send the corpus to every server once; return {log: {case: line numbers}}."""
    out: dict[str, dict[str, list[int]]] = {}
    for name in SERVERS:
        out.update(send_corpus(webservers.servers[name]))
    return out


@pytest.fixture(scope="module")
def parsed(
    webservers: WebServers, served: dict[str, dict[str, list[int]]], tmp_path_factory: Any
) -> dict[str, Parsed]:
    """Every server log read through `warehouse parse` (one CLI run per log)."""
    out: dict[str, Parsed] = {}
    for log, spec in LOGS.items():
        path = webservers.log_path(log)
        lines = path.read_bytes().decode("latin-1").split("\n")
        assert lines.pop() == "", f"{path} does not end with a newline"
        root = tmp_path_factory.mktemp("web") / log
        code, output, parts, rejects = parse_with_cli(path, spec.parse_format, root, spec.ip)
        rejected = {r["lineno"]: r["reason"] for r in rejects}
        ref = reader_for(spec.reference, spec.format)
        events = match_events(lines, parts, set(rejected), ref)
        n_events = sum(len(v) for v in parts.values())
        out[log] = Parsed(path, lines, served[log], code, output, events, rejected, n_events)
    return out


def _case_params() -> list[Any]:
    params = []
    for log, spec in LOGS.items():
        for case in CORPUS:
            if case in SILENT.get(spec.server, ()):
                continue
            reason = KNOWN.get((log, case))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            params.append(pytest.param(log, case, id=f"{log}-{case}", marks=marks))
    return params


@pytest.mark.parametrize(("log", "case"), _case_params())
def test_every_field_of_the_case_agrees_with_the_reference(
    parsed: dict[str, Parsed], log: str, case: str
) -> None:
    p = parsed[log]
    spec = LOGS[log]
    ref = reader_for(spec.reference, spec.format)
    numbers = p.cases[case]
    assert numbers, f"{spec.server} wrote no line for {case} in {p.path}"
    for n in numbers:
        line = p.lines[n - 1]
        assert n not in p.rejects, f"line {n} rejected ({p.rejects.get(n)}): {line[:300]!r}"
        expected = to_event(ref(line), ip_from_xff=spec.ip is not None)
        got = p.events[n]
        assert set(got) == set(EVENT_FIELDS)
        diff = {
            k: (got[k], expected[k])
            for k in EVENT_FIELDS
            if got[k] != expected[k]
            and not (k == "duration_ms" and got[k] is not None and expected[k] is not None
                     and abs(got[k] - expected[k]) < 1e-6)
        }  # fmt: skip
        assert not diff, f"line {n} {line[:300]!r}: (ours, reference) {diff}"


@pytest.mark.parametrize("log", sorted(LOGS))
def test_every_line_is_an_event_or_a_reject(parsed: dict[str, Parsed], log: str) -> None:
    p = parsed[log]
    assert p.exit_code in (0, 5), p.output
    assert len(p.lines) == p.n_events + len(p.rejects), p.output
    assert f"{len(p.lines)} lines" in p.output
    numbered = sorted(n for ns in p.cases.values() for n in ns)
    assert numbered == list(range(1, len(p.lines) + 1)), "lines not sent by the corpus"
    silent = {c for c, ns in p.cases.items() if not ns}
    assert silent == SILENT[LOGS[log].server]
