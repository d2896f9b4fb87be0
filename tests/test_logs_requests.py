"""Request lines as servers log them: odd spacing, truncated lines, absolute-form targets.

Each case runs the production path (the generated classify() and event builder, via
make_event) and the plain `read_request` the builder falls back to.
"""

from __future__ import annotations

import pytest

from warehouse.events.build import builder_source, make_event
from warehouse.logs import compile_format, read_request, split_request

COMBINED = '127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "{req}" 200 2326 "-" "curl/8"'

# (request as logged, method, path, query, protocol, host of an absolute-form target)
CASES = [
    ("GET /docs/ HTTP/1.1", "GET", "/docs/", None, "HTTP/1.1", None),
    # nginx accepts runs of spaces between the parts (and served /docs/)
    ("GET  /docs/  HTTP/1.1", "GET", "/docs/", None, "HTTP/1.1", None),
    ("GET   /a?b=1   HTTP/1.0", "GET", "/a", "b=1", "HTTP/1.0", None),
    # the last token is no protocol: the whole rest is the target
    ("GET /x HTTP/1.1 extra", "GET", "/x HTTP/1.1 extra", None, None, None),
    # Apache's truncated request line (a target with a space, cut before the protocol)
    ("GET /sp ace?a=1", "GET", "/sp ace", "a=1", None, None),
    ("GET /a b c HTTP/1.0", "GET", "/a b c", None, "HTTP/1.0", None),
    ("GET /", "GET", "/", None, None, None),
    ("GET / HTTP/2.0", "GET", "/", None, "HTTP/2.0", None),
    ("GET / HTTP/2", "GET", "/", None, "HTTP/2", None),
    ("GET / HTTP/3", "GET", "/", None, "HTTP/3", None),
    ("GET / HTTPS/1.1", "GET", "/ HTTPS/1.1", None, None, None),
    # absolute-form (proxy requests, ALB): path without scheme, host and port
    (
        "GET https://www.example.com:443/docs/?q=1 HTTP/1.1",
        "GET", "/docs/", "q=1", "HTTP/1.1", "www.example.com",
    ),
    ("GET http://example.com HTTP/1.0", "GET", "/", None, "HTTP/1.0", "example.com"),
    ("GET http://u:p@[2001:db8::1]:8080/a%20b HTTP/1.1", "GET", "/a%20b", None, "HTTP/1.1",
     "[2001:db8::1]"),
    ("CONNECT example.com:443 HTTP/1.1", "CONNECT", "example.com:443", None, "HTTP/1.1", None),
    ("OPTIONS * HTTP/1.1", "OPTIONS", "*", None, "HTTP/1.1", None),
    ("-", None, None, None, None, None),
    ("- http://www.example.com:80- ", None, None, None, None, None),
    ("\\x16\\x03\\x01\\x00", None, None, None, None, None),
]


@pytest.mark.parametrize(("req", "method", "path", "query", "protocol", "host"), CASES)
def test_request_line_fields(
    req: str, method: str | None, path: str | None, query: str | None,
    protocol: str | None, host: str | None,
) -> None:
    assert read_request(req) == (method, path, query, protocol, host)
    assert split_request(req) == (method, path, query, protocol)
    ev = make_event(compile_format("combined"), COMBINED.format(req=req))
    assert isinstance(ev, dict)
    assert (ev["method"], ev["path"], ev["query"], ev["protocol"]) == (
        method, path, query, protocol,
    )
    # combined has no %v: the host of an absolute-form target is the vhost
    assert ev["vhost"] == host


def test_a_format_with_a_vhost_keeps_it_over_the_targets_host() -> None:
    fmt = compile_format("vhost_combined")
    line = (
        'site.example:80 127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] '
        '"GET http://other.example/p HTTP/1.1" 200 5 "-" "-"'
    )
    ev = make_event(fmt, line)
    assert isinstance(ev, dict)
    assert (ev["vhost"], ev["path"]) == ("site.example", "/p")


def test_nginx_request_uri_in_absolute_form() -> None:
    fmt = compile_format('$remote_addr [$time_local] "$request_method $request_uri" $status')
    line = '10.0.0.1 [10/Oct/2000:13:55:36 +0000] "GET http://h.example:8080/a?b=2" 200'
    ev = make_event(fmt, line)
    assert isinstance(ev, dict)
    assert (ev["path"], ev["query"], ev["vhost"]) == ("/a", "b=2", "h.example")


def test_the_fast_path_keeps_the_usual_line_in_one_split() -> None:
    src = builder_source(compile_format("combined"))
    assert "parts[2] in PROTOCOLS" in src
    assert "read_request(req)" in src
