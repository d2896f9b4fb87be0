"""Access logs written by real nginx, Apache httpd and gunicorn, read by `warehouse parse`.

The session's servers (tests/fixtures/webservers.py) receive the corpus of unusual
requests of tests/_webclient.py over raw sockets and write their own logs, in stock and
custom formats. Each log goes through the CLI (`warehouse parse --format ...`), and every
field of every event is compared with an independent reading of the same line
(tests/_reflogs.py: apachelogs for Apache, a separate reader for nginx and gunicorn).
Every line must be an event or a reject; no case may be rejected or differ.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests._logcheck import Checked, check_log
from tests._reflogs import reader_for
from tests._webclient import CORPUS, SILENT, send_corpus
from tests.fixtures.webservers import LOGS, SERVERS, WebServers

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
    parsed: dict[str, Checked], served: dict[str, dict[str, list[int]]], log: str, case: str
) -> None:
    p = parsed[log]
    numbers = served[log][case]
    assert numbers, f"{LOGS[log].server} wrote no line for {case}"
    for n in numbers:
        assert p.expected[n] is not None, f"the reference cannot read line {n}: {p.lines[n - 1]!r}"
        assert p.problem(n) is None, p.problem(n)


@pytest.mark.parametrize("log", sorted(LOGS))
def test_every_line_is_an_event_or_a_reject(
    parsed: dict[str, Checked], served: dict[str, dict[str, list[int]]], log: str
) -> None:
    p = parsed[log]
    assert p.exit_code in (0, 5), p.output
    assert len(p.lines) == p.n_events + len(p.rejects), p.output
    assert f"{len(p.lines)} lines" in p.output
    cases = served[log]
    numbered = sorted(n for ns in cases.values() for n in ns)
    assert numbered == list(range(1, len(p.lines) + 1)), "lines not sent by the corpus"
    silent = {c for c, ns in cases.items() if not ns}
    assert silent == SILENT[LOGS[log].server]
