"""Access logs written by real nginx, Apache httpd and gunicorn, read by `warehouse parse`.

The session's servers (tests/fixtures/webservers.py) receive the corpus of unusual
requests of tests/_webclient.py over raw sockets and write their own logs, in stock and
custom formats. Each log goes through the CLI (`warehouse parse --format ...`), and every
field of every event is compared with an independent reading of the same line
(tests/_reflogs.py: apachelogs for Apache, a separate reader for nginx and gunicorn).
Every line must be an event or a reject; no case may be rejected or differ.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests._logcheck import Checked, check_log
from tests._reflogs import reader_for
from tests._webclient import BROKEN, CORPUS, SILENT, send_corpus
from tests.fixtures.webservers import LOGS, OFFSETS, SERVERS, WebServers

pytestmark = pytest.mark.webservers

_APACHE = [log for log, spec in LOGS.items() if spec.server == "apache"]
_EMPTY_USER = (
    'Apache writes an empty %u as "" (mod_log_config; apachelogs reads it as empty): the '
    "event's user is the two-character text '\"\"' instead of null"
)
_USER_TIME = (
    "a user name holding ' [01/Jan/2020' (Basic auth `x [01/Jan/2020:00:00:00 ...`): the "
    "time is read from the first '[', the line is rejected as a bad timestamp, so any "
    "client can make its own request vanish"
)
# (log, case) -> why today's parser gets that line wrong. Each entry is an xfail(strict):
# when the parser is fixed, the test passes, fails as XPASS, and the entry must go.
# (User names with spaces, gunicorn escaping and %U%q, issue 9, are fixed.)
KNOWN: dict[tuple[str, str], str] = {}
# Lines the reference cannot read although they are valid: apachelogs matches %t at the
# first '[' and then fails to convert it, without backtracking. These are checked
# against what the client sent (SENT) instead.
REFERENCE_LIMITS = {("apache", "user-timestamp")}
_UA_SENT = "Mozilla/5.0 (X11; Linux x86_64) test"


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
) -> dict[str, Checked]:
    """Every server log read through `warehouse parse` (one CLI run per log)."""
    out: dict[str, Checked] = {}
    for log, spec in LOGS.items():
        path = webservers.log_path(log)
        assert path.read_bytes().endswith(b"\n"), f"{path} does not end with a newline"
        root = tmp_path_factory.mktemp("web") / log
        reader = reader_for(spec.reference, spec.format)
        out[log] = check_log(path, spec.parse_format, root, reader, ip=spec.ip)
    return out


def _case_params() -> list[Any]:
    params = []
    for log in LOGS:
        for case in CORPUS:
            reason = KNOWN.get((log, case))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            params.append(pytest.param(log, case, id=f"{log}-{case}", marks=marks))
    return params


@pytest.mark.parametrize(("log", "case"), _case_params())
def test_every_field_of_the_case_agrees_with_the_reference(
    parsed: dict[str, Checked], served: dict[str, dict[str, list[int]]], log: str, case: str
) -> None:
    p = parsed[log]
    numbers = served[log][case]
    if case in SILENT.get(LOGS[log].server, ()):  # answered without an access-log line
        assert numbers == [], [p.lines[n - 1] for n in numbers]
        return
    assert numbers, f"{LOGS[log].server} wrote no line for {case}"
    broken = case in BROKEN.get(LOGS[log].server, ())
    if broken:
        assert len(numbers) == 2, "the server's raw newline should cut the line in two"
    if (LOGS[log].server, case) in REFERENCE_LIMITS:
        for n in numbers:
            assert n not in p.rejects, f"line {n} rejected ({p.rejects[n]}): {p.lines[n - 1]!r}"
            assert {k: p.events[n][k] for k in SENT[case]} == SENT[case], p.lines[n - 1]
        return
    for n in numbers:
        readable = p.expected[n] is not None
        assert readable != broken, (
            f"reference {'reads' if readable else 'cannot read'} {n}: {p.lines[n - 1]!r}"
        )
        assert p.problem(n) is None, p.problem(n)


@pytest.mark.parametrize("log", sorted(LOGS))
def test_every_line_is_an_event_or_a_reject(
    parsed: dict[str, Checked], served: dict[str, dict[str, list[int]]], log: str
) -> None:
    p = parsed[log]
    assert p.exit_code == 0, p.output
    assert len(p.lines) == p.n_events + len(p.rejects), p.output
    assert f"{len(p.lines):,} lines" in p.output
    cases = served[log]
    numbered = sorted(n for ns in cases.values() for n in ns)
    assert numbered == list(range(1, len(p.lines) + 1)), "lines not sent by the corpus"
    silent = {c for c, ns in cases.items() if not ns}
    assert silent == SILENT[LOGS[log].server]


# What the client sent, as every server that logs the field must report it (checks the
# reference against the servers, independently of the parser under test).
SENT: dict[str, dict[str, str]] = {
    "user-space": {"user": "John Smith"},
    "user-backslash": {"user": "DOMAIN\\jsmith"},
    "user-quote": {"user": 'say "hi"'},
    "user-unicode": {"user": "Jörg 日本"},
    "user-bracket": {"user": "a [b] c"},
    "user-timestamp": {"user": "x [01/Jan/2020", "path": "/auth/ts"},
    "user-tab": {"user": "a\tb"},
    "path-backslash": {"path": "/a\\b/back\\slash", "user_agent": _UA_SENT},
    "query-think": {
        "query": "s=/Index/\\think\\app/invokefunction&function=call_user_func_array"
        "&vars[0]=md5&vars[1][]=HelloThinkPHP"
    },
    "query-quotes": {"path": "/search", "query": 'q=\\"y\\"&r="z"'},
    "ua-backslash-end": {"user_agent": "Mozilla\\"},
    "ua-quotes-backslashes": {"user_agent": 'a "quoted" \\"x\\" \\\\ thing\\n\\t'},
    "referer-quotes": {"referer": 'http://x/"a" b\\c'},
    "xff-chain": {"ip": "203.0.113.7"},
}
_FIELD_IN_FORMAT = {
    "user": ("%u", "$remote_user", "%(u)s"),
    "user_agent": ("%{User-agent}i", "%{User-Agent}i", "$http_user_agent", "%(a)s"),
    "referer": ("%{Referer}i", "$http_referer", "%(f)s"),
    "path": ("%r", "%U", "$request", "%(r)s"),
    "query": ("%r", "%q", "$request", "%(r)s"),
    "ip": ("%{X-Forwarded-For}i", "$http_x_forwarded_for"),
}


def _has(log: str, key: str) -> bool:
    spec = LOGS[log]
    if key == "ip" and spec.ip is None:
        return False
    return any(d in spec.format for d in _FIELD_IN_FORMAT[key])


@pytest.mark.parametrize("log", sorted(LOGS))
def test_reference_reads_what_the_client_sent(
    parsed: dict[str, Checked], served: dict[str, dict[str, list[int]]], log: str
) -> None:
    compared = 0
    for case, fields in SENT.items():
        if (LOGS[log].server, case) in REFERENCE_LIMITS:
            continue
        for n in served[log][case]:
            expected = parsed[log].expected[n]
            assert expected is not None, parsed[log].lines[n - 1]
            for key, value in fields.items():
                if _has(log, key):
                    assert expected[key] == value, (case, key, parsed[log].lines[n - 1])
                    compared += 1
    assert compared >= 5


def test_what_real_servers_write(webservers: WebServers, served: Any) -> None:
    """DESIGN.md's "What real servers write", checked on the servers' own bytes."""
    text = {log: webservers.log_path(log).read_bytes() for log in LOGS}
    # each server writes its local time with its offset (TZ), nginx's ISO time too
    for log, spec in LOGS.items():
        offset = OFFSETS[spec.server.removesuffix("-D")].encode()
        assert offset + b"]" in text[log] or offset[:3] + b":" + offset[3:] in text[log], log
    # gunicorn escapes only `"` (as \"); a backslash stays one backslash
    assert b'"GET /a\\b/back\\slash HTTP/1.1"' in text["gunicorn-default"]
    assert b'"Mozilla\\"\n' in text["gunicorn-default"]
    assert b'say \\"hi\\"' in text["gunicorn-default"]
    # Apache and nginx log a Basic-auth user name with its spaces
    for log in ("apache-combined", "nginx-combined", "gunicorn-default"):
        assert b" John Smith [" in text[log], log
    # nginx escapes " and \ as \xXX; Apache as \" and \\
    assert b"DOMAIN\\x5Cjsmith" in text["nginx-combined"]
    assert b"DOMAIN\\\\jsmith" in text["apache-combined"]
    # nginx's stock `main` is combined plus "$http_x_forwarded_for"
    combined = text["nginx-combined"].splitlines()
    main = text["nginx-main"].splitlines()
    assert len(main) == len(combined)
    xff = [m for m in main if m.endswith(b'"203.0.113.7, 10.0.0.1, 127.0.0.1"')]
    assert len(xff) == 1
    assert all(m.startswith(c) for m, c in zip(main, combined, strict=True))


def test_nginx_main_preset_reads_the_main_log(
    parsed: dict[str, Checked], webservers: WebServers, tmp_path: Path
) -> None:
    spec = LOGS["nginx-main"]
    p = check_log(
        webservers.log_path("nginx-main"), "main", tmp_path / "r", reader_for("nginx", spec.format)
    )
    assert p.exit_code == 0, p.output
    assert p.events == parsed["nginx-main"].events


@pytest.mark.parametrize("fmt", ["nginx", "combined"])
def test_main_log_read_as_combined_never_gives_corrupted_events(
    webservers: WebServers, served: Any, tmp_path: Path, fmt: str
) -> None:
    """Every line of a `main` log has a field combined lacks: each must be set aside."""
    combined = reader_for("nginx", LOGS["nginx-combined"].format)
    p = check_log(webservers.log_path("nginx-main"), fmt, tmp_path / "r", combined)
    assert all(e is None for e in p.expected.values())  # the reference reads none
    problems = [p.problem(n) for n in range(1, len(p.lines) + 1)]
    assert not any(problems), [x for x in problems if x][:3]
    assert p.exit_code == 5 and "main" in p.output, p.output


def test_crlf_log_gives_the_events_of_the_lf_log(
    parsed: dict[str, Checked], webservers: WebServers, tmp_path: Path
) -> None:
    """Apache on Windows writes CRLF: the same log with CRLF must give the same events."""
    lf = webservers.log_path("apache-combined").read_bytes()
    crlf = tmp_path / "crlf.log"
    crlf.write_bytes(lf.replace(b"\n", b"\r\n"))
    p = check_log(
        crlf, "combined", tmp_path / "r", reader_for("apache", LOGS["apache-combined"].format)
    )
    assert p.rejects == parsed["apache-combined"].rejects
    assert p.events == parsed["apache-combined"].events


def test_one_line_crlf_log_gives_its_event(
    webservers: WebServers, served: Any, tmp_path: Path
) -> None:
    first = webservers.log_path("apache-combined").read_bytes().split(b"\n")[0]
    one = tmp_path / "one.log"
    one.write_bytes(first + b"\r\n")
    p = check_log(
        one, "combined", tmp_path / "r", reader_for("apache", LOGS["apache-combined"].format)
    )
    assert p.n_events == 1 and not p.rejects, p.output
    assert p.problem(1) is None
