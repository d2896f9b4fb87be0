"""A corpus of unusual HTTP requests, sent over raw sockets so that nothing normalises them.

`CORPUS` maps a case name to the exact bytes sent on one connection. `send_corpus(server)`
sends every case in order to a `tests.fixtures.webservers.WebServer`, one connection per
case, each followed by a marker request whose log line closes the case's lines, so each
log line is known to belong to one case, and a case the server writes no line for is
known to have none (no timing guess). Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import base64
import socket
import time
from pathlib import Path
from typing import Protocol


def _basic(user: bytes, password: bytes = b"secret") -> bytes:
    return b"Basic " + base64.b64encode(user + b":" + password)


def req(
    target: bytes | str,
    *,
    method: bytes = b"GET",
    proto: bytes = b"HTTP/1.1",
    headers: tuple[tuple[bytes, bytes], ...] = (),
    host: bool = True,
    eol: bytes = b"\r\n",
    body: bytes = b"",
) -> bytes:
    """Return the bytes of one request (Connection: close; Host unless host=False)."""
    t = target.encode() if isinstance(target, str) else target
    out = [method + b" " + t + (b" " + proto if proto else b"")]
    if host:
        out.append(b"Host: localhost")
    out += [k + b": " + v if v else k + b":" for k, v in headers]
    if body:
        out.append(b"Content-Length: " + str(len(body)).encode())
    out.append(b"Connection: close")
    return eol.join(out) + eol + eol + body


_UA = (b"User-Agent", b"Mozilla/5.0 (X11; Linux x86_64) test")
_LONG_PATH = "/long/" + "abcdefghij/" * 1800  # ~20 kB target
_HUGE_UA = b'huge "agent" \\ ' + b"x" * 12000
_XFF = b"X-Forwarded-For"

CORPUS: dict[str, bytes] = {
    "plain": req("/", headers=(_UA, (b"Referer", b"http://example.com/from?x=1"))),
    "missing-404": req("/missing/page?x=1", headers=(_UA,)),
    "head": req("/", method=b"HEAD"),
    "post-body": req("/form?a=1", method=b"POST", body=b"a=1&b=2"),
    "expect-100": req(
        "/expect", method=b"POST", headers=((b"Expect", b"100-continue"),), body=b"x=1"
    ),
    "http10-no-host": req("/old-client", proto=b"HTTP/1.0", host=False),
    "http09": b"GET /zero-nine\r\n",
    "user-space": req("/auth/space", headers=((b"Authorization", _basic(b"John Smith")),)),
    "user-backslash": req("/auth/bs", headers=((b"Authorization", _basic(b"DOMAIN\\jsmith")),)),
    "user-quote": req("/auth/q", headers=((b"Authorization", _basic(b'say "hi"')),)),
    "user-unicode": req("/auth/u", headers=((b"Authorization", _basic("Jörg 日本".encode())),)),
    "user-latin1": req("/auth/l", headers=((b"Authorization", _basic(b"J\xf6rg")),)),
    "user-dash": req("/auth/d", headers=((b"Authorization", _basic(b"-")),)),
    "user-bracket": req("/auth/br", headers=((b"Authorization", _basic(b"a [b] c")),)),
    # the name ends at the first ':' of the decoded credentials: `x [01/Jan/2020`
    "user-timestamp": req(
        "/auth/ts",
        headers=((b"Authorization", _basic(b'x [01/Jan/2020:00:00:00 +0000] "GET / HTTP/1.1"')),),
    ),
    "user-tab": req("/auth/tab", headers=((b"Authorization", _basic(b"a\tb")),)),
    "user-empty": req("/auth/e", headers=((b"Authorization", _basic(b"")),)),
    "user-nul": req("/auth/nul", headers=((b"Authorization", _basic(b"a\x00b")),)),
    # gunicorn writes these names raw: the server itself cuts its line in two
    "user-newline": req("/auth/nl", headers=((b"Authorization", _basic(b"evil\ninjected")),)),
    "user-crlf": req("/auth/crlf", headers=((b"Authorization", _basic(b"a\r\nb")),)),
    "auth-bad-base64": req("/auth/bad", headers=((b"Authorization", b"Basic !!!notbase64"),)),
    "auth-bearer": req("/auth/bearer", headers=((b"Authorization", b"Bearer abc.def"),)),
    "path-backslash": req(b"/a\\b/back\\slash", headers=(_UA,)),
    "query-think": req(
        b"/index.php?s=/Index/\\think\\app/invokefunction&function=call_user_func_array"
        b"&vars[0]=md5&vars[1][]=HelloThinkPHP"
    ),
    "query-quotes": req(b'/search?q=\\"y\\"&r="z"'),
    "path-quote": req(b'/q"uote/it"s'),
    "path-utf8-raw": req("/café/日本?q=ü".encode()),
    "path-latin1-raw": req(b"/caf\xe9?q=\xfc"),
    "pct-encoded": req(
        "/%7Euser/a%20b/%22q%22/%5C/%00/%FF/caf%C3%A9?q=%E2%82%AC&x=%5C%22&y=%0D%0A"
    ),
    "pct-encoded-crlf-path": req("/inject%0D%0AX-Injected:%20yes/page"),
    "pct-bad": req("/100%/x%zz?p=%"),
    "long-url": req(_LONG_PATH + "?" + "k=v&" * 500),
    # its log line is over the 65,536 characters the README sets as the limit
    "over-long-url": req("/over/" + "x" * 70000),
    "absolute-uri": req("http://example.com:8080/abs/path?x=1#frag"),
    "absolute-uri-https": req("https://user@example.com/"),
    "options-star": req("*", method=b"OPTIONS"),
    "connect": req("example.com:443", method=b"CONNECT"),
    "space-in-target": req("/a b/c?d e"),
    "empty-query": req("/empty?"),
    "double-slash": req("//double//slashes/?a=1?b=2"),
    "empty-headers": req("/empty-headers", headers=((b"User-Agent", b""), (b"Referer", b""))),
    "dash-headers": req("/dash", headers=((b"User-Agent", b"-"), (b"Referer", b"-"))),
    "huge-header": req("/huge", headers=((b"User-Agent", _HUGE_UA), (b"X-Big", b"y" * 20000))),
    "ua-backslash-end": req("/ua-bs", headers=((b"User-Agent", b"Mozilla\\"),)),
    "ua-quotes-backslashes": req(
        "/ua-q", headers=((b"User-Agent", b'a "quoted" \\"x\\" \\\\ thing\\n\\t'),)
    ),
    "ua-tab": req("/ua-tab", headers=((b"User-Agent", b"a\tb"),)),
    "ua-nul": req("/ua-nul", headers=((b"User-Agent", b"a\x00b"),)),
    "ua-utf8": req("/ua-u", headers=((b"User-Agent", "Mözilla/5.0 日本".encode()),)),
    "ua-latin1": req("/ua-l", headers=((b"User-Agent", b"M\xf6zilla"),)),
    "referer-quotes": req("/ref", headers=((b"Referer", b'http://x/"a" b\\c'),)),
    "xff-chain": req("/xff", headers=((_XFF, b"203.0.113.7, 10.0.0.1, 127.0.0.1"), _UA)),
    "xff-ipv6": req("/xff6", headers=((_XFF, b"2001:db8::1"),)),
    "xff-unknown": req("/xffu", headers=((_XFF, b"unknown, 198.51.100.2"),)),
    "xff-empty-hop": req("/xffe", headers=((_XFF, b" , 198.51.100.3"),)),
    "xff-two-headers": req("/xff2", headers=((_XFF, b"192.0.2.1"), (_XFF, b"192.0.2.2"))),
    "lowercase-method": req("/lower", method=b"get"),
    "unknown-method": req("/custom", method=b"PURGE"),
    "garbage-method": req("/x", method=b'G"E\\T'),
    "bare-lf": req("/bare-lf", eol=b"\n"),
    "cr-in-target": req(b"/cr\rx"),
    "header-folding": req("/fold", headers=((b"User-Agent", b"first\r\n  folded"),)),
    "no-version-crlf-crlf": b"GET /nov\r\n\r\n",
    "only-method": b"GET\r\n\r\n",
    "tls-handshake": b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + bytes(range(32)),
    "junk-line": b'hello world "quoted" \\ \x01\x7f\r\n\r\n',
    "http2-preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "empty-connection": b"",
    "pipelined": req("/pipe1").replace(b"Connection: close\r\n", b"") + req("/pipe2?x=1"),
}


# Cases a server answers without an access-log line: gunicorn refuses these requests
# before its access log (its error log says why); nobody logs a connection without bytes.
SILENT: dict[str, frozenset[str]] = {
    "nginx": frozenset({"empty-connection"}),
    "apache": frozenset({"empty-connection"}),
    "gunicorn": frozenset(
        {
            "http09",
            "path-utf8-raw",
            "path-latin1-raw",
            "space-in-target",
            "huge-header",
            "lowercase-method",
            "garbage-method",
            "bare-lf",
            "cr-in-target",
            "header-folding",
            "no-version-crlf-crlf",
            "only-method",
            "tls-handshake",
            "junk-line",
            "http2-preface",
            "empty-connection",
            "ua-nul",
        }
    ),
}
SILENT["gunicorn-D"] = SILENT["gunicorn"]
# Cases whose log lines no reader can take for one request: the server wrote the client's
# newline raw (gunicorn escapes only `"`), so each half must be set aside as a reject.
BROKEN: dict[str, frozenset[str]] = {"gunicorn": frozenset({"user-newline", "user-crlf"})}
BROKEN["gunicorn-D"] = BROKEN["gunicorn"]


class _Server(Protocol):
    name: str
    host: str
    port: int
    logs: dict[str, Path]


MARKER = "(marker)"  # send_corpus's key for the lines of its marker requests


def _lines(path: Path) -> list[bytes]:
    try:
        return path.read_bytes().split(b"\n")[:-1]  # complete lines only
    except FileNotFoundError:
        return []


def _send(host: str, port: int, data: bytes) -> bool:
    """Send `data` on one connection; return True when the server closed it (EOF or reset)."""
    with socket.create_connection((host, port), timeout=10) as s:
        if data:
            s.sendall(data)
        s.shutdown(socket.SHUT_WR)  # no more to come: incomplete requests end now
        s.settimeout(10)
        try:
            while s.recv(65536):
                pass
        except ConnectionResetError:
            pass
        except TimeoutError:
            return False
    return True


def send_corpus(server: _Server, wait: float = 30.0) -> dict[str, dict[str, list[int]]]:
    """Send every case to `server`; return {log name: {case: 1-based line numbers}}, with
    the lines of the marker requests under `MARKER`.

    After each case (once the server has closed its connection, so its lines are written)
    a marker request `GET /_corpus_marker/N` follows on a new connection; the case's lines
    are those before the marker's line, in every log. A case the server writes no line
    for gets []. Raises AssertionError when a marker's line is missing after `wait`
    seconds or a connection stays open.
    """
    out: dict[str, dict[str, list[int]]] = {log: {MARKER: []} for log in server.logs}
    done = dict.fromkeys(server.logs, 0)  # lines accounted for, per log
    for n, (case, data) in enumerate(CORPUS.items()):
        assert _send(server.host, server.port, data), f"{server.name} kept {case} open"
        marker = f"/_corpus_marker/{n}".encode()
        assert _send(server.host, server.port, req(marker)), f"{server.name}: marker open"
        deadline = time.monotonic() + wait
        found: dict[str, int] = {}
        while len(found) < len(server.logs):
            for log, p in server.logs.items():
                if log not in found:
                    lines = _lines(p)
                    at = [i for i in range(done[log], len(lines)) if marker + b" " in lines[i]]
                    if at:
                        found[log] = at[0] + 1
            if len(found) < len(server.logs):
                assert time.monotonic() < deadline, (
                    f"{server.name}: no line for {marker.decode()} after {case} in "
                    f"{sorted(set(server.logs) - set(found))}"
                )
                time.sleep(0.02)
        for log, line in found.items():
            out[log][case] = list(range(done[log] + 1, line))
            out[log][MARKER].append(line)
            done[log] = line
    return out
