"""Record -> event mapping per DESIGN.md's event schema (real resolver, literal lines)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures._util import sample_log
from warehouse.errors import ConfigError
from warehouse.events.build import EVENT_KEYS, event_builder, make_event
from warehouse.events.patterns import load_resolver
from warehouse.logs import BAD_STATUS, BAD_TIME, NO_MATCH, compile_format
from warehouse.schema import EVENT_COLUMNS
from warehouse.urls.resolver import Resolver

LINE = (
    '10.1.2.3 - alice [17/May/2015:23:59:59 -0100] "GET /blog/hello-world/?utm=x&b=%20 '
    'HTTP/1.1" 200 5120 "https://ref.example/" "Mozilla/5.0 \\"x\\""'
)


@pytest.fixture(scope="module")
def resolver(tmp_path_factory: pytest.TempPathFactory) -> Resolver:
    p = tmp_path_factory.mktemp("urls") / "urls.json"
    p.write_text(
        json.dumps(
            [
                {"name": "home", "regex": "^/\\Z"},
                {"name": "blog:post", "regex": "^/blog/(?P<slug>[-a-z0-9]+)/\\Z"},
                {"name": "api:item", "regex": "^/api/items/(?P<pk>[0-9]+)/\\Z"},
            ]
        )
    )
    return load_resolver(str(p))


def test_combined_line_to_event(resolver: Resolver) -> None:
    ev = make_event(compile_format("combined"), LINE, resolver)
    assert isinstance(ev, dict)
    assert tuple(ev) == EVENT_KEYS
    assert ev == {
        "ts": "2015-05-18T00:59:59Z",
        "ip": "10.1.2.3",
        "vhost": None,
        "user": "alice",
        "method": "GET",
        "path": "/blog/hello-world/",
        "query": "utm=x&b=%20",
        "protocol": "HTTP/1.1",
        "status": 200,
        "bytes": 5120,
        "referer": "https://ref.example/",
        "user_agent": 'Mozilla/5.0 "x"',
        "duration_ms": None,
        "slug": "blog:post",
        "params": {"slug": "hello-world"},
    }


def test_no_patterns_means_null_slug_and_empty_params() -> None:
    ev = make_event(compile_format("combined"), LINE)
    assert isinstance(ev, dict)
    assert ev["slug"] is None and ev["params"] == {}


def test_percent_encoded_path_is_kept_as_logged(resolver: Resolver) -> None:
    line = LINE.replace("/blog/hello-world/?utm=x&b=%20", "/api/items/0%31%32/")
    ev = make_event(compile_format("combined"), line, resolver)
    assert isinstance(ev, dict)
    assert ev["path"] == "/api/items/0%31%32/" and ev["query"] is None
    assert ev["slug"] == "api:item" and ev["params"] == {"pk": "012"}


def test_ip_from_forwarded_for_first_hop_and_user_from_cookie() -> None:
    fmt = compile_format('%h %t "%r" %>s %b "%{X-Forwarded-For}i" "%{sid}C" %v %D')
    line = '10.0.0.1 [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 - "203.0.113.9, 10.0.0.1" "s-42" shop.example 2500'
    ev = make_event(fmt, line, ip="%{X-Forwarded-For}i", user="%{sid}C")
    assert isinstance(ev, dict)
    assert ev["ip"] == "203.0.113.9" and ev["user"] == "s-42"
    assert ev["vhost"] == "shop.example" and ev["bytes"] is None and ev["duration_ms"] == 2.5
    # no forwarded-for header: fall back to the connecting address
    line2 = line.replace('"203.0.113.9, 10.0.0.1"', '"-"').replace('"s-42"', '"-"')
    ev2 = make_event(fmt, line2, ip="%{X-Forwarded-For}i", user="%{sid}C")
    assert isinstance(ev2, dict)
    assert ev2["ip"] == "10.0.0.1" and ev2["user"] is None


@pytest.mark.parametrize(
    ("fmt", "value", "ms"),
    [
        ("%D", "1500", 1.5),
        ("%T", "2", 2000),
        ("%{ms}T", "37", 37),
        ("%{us}T", "250", 0.25),
        ("$request_time", "0.123", 123.0),
    ],
)
def test_duration_ms_from_each_unit(fmt: str, value: str, ms: float) -> None:
    time_part = "$time_iso8601" if fmt.startswith("$") else "%t"
    stamp = "2015-05-17T10:05:03+00:00" if fmt.startswith("$") else "[17/May/2015:10:05:03 +0000]"
    req = '"$request" $status' if fmt.startswith("$") else '"%r" %>s'
    f = compile_format(f"{time_part} {req} {fmt}")
    ev = make_event(f, f'{stamp} "GET / HTTP/1.1" 200 {value}')
    assert isinstance(ev, dict)
    assert ev["duration_ms"] == pytest.approx(ms) and type(ev["duration_ms"]) is type(ms)


def test_request_from_separate_directives_and_nginx_request_uri() -> None:
    f = compile_format('%h %t %m "%U" "%q" %H %>s')
    ev = make_event(f, '1.1.1.1 [17/May/2015:10:05:03 +0000] POST "/a b" "?x=1" HTTP/2.0 201')
    assert isinstance(ev, dict)
    assert (ev["method"], ev["path"], ev["query"], ev["protocol"]) == (
        "POST",
        "/a b",
        "x=1",
        "HTTP/2.0",
    )
    f2 = compile_format("$remote_addr [$time_local] $request_method $request_uri $status $host")
    ev2 = make_event(f2, "1.1.1.1 [17/May/2015:10:05:03 +0000] GET /p?q=2 404 example.org")
    assert isinstance(ev2, dict)
    assert (ev2["path"], ev2["query"], ev2["status"], ev2["vhost"]) == (
        "/p",
        "q=2",
        404,
        "example.org",
    )


def test_odd_request_lines_become_events_with_nulls(resolver: Resolver) -> None:
    f = compile_format("combined")
    for request, expect in [
        ("-", (None, None, None, None)),
        ("\\x16\\x03\\x01", (None, None, None, None)),
        ("GET /", ("GET", "/", None, None)),
        ("GET /a b HTTP/1.1", ("GET", "/a b", None, "HTTP/1.1")),
        ("OPTIONS * HTTP/1.1", ("OPTIONS", "*", None, "HTTP/1.1")),
    ]:
        line = f'1.1.1.1 - - [17/May/2015:10:05:03 +0000] "{request}" 400 0 "-" "-"'
        ev = make_event(f, line, resolver)
        assert isinstance(ev, dict), request
        assert (ev["method"], ev["path"], ev["query"], ev["protocol"]) == expect
        assert ev["slug"] == ("home" if ev["path"] == "/" else None)
        assert ev["status"] == 400 and ev["bytes"] == 0


def test_rejects_from_the_builder() -> None:
    f = compile_format('%t "%r" %>s')
    assert make_event(f, '[32/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200') == BAD_TIME
    assert make_event(f, '[17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" -') == BAD_STATUS
    assert make_event(f, "nothing like it") == NO_MATCH


def test_configured_fields_must_exist(tmp_path: Path) -> None:
    f = compile_format("combined")
    with pytest.raises(ConfigError, match="X-Forwarded-For"):
        event_builder(f, ip="%{X-Forwarded-For}i")
    with pytest.raises(ConfigError, match="not a log format field"):
        event_builder(f, user="nonsense")
    with pytest.raises(ConfigError, match="no time field"):
        event_builder(compile_format('%h "%r" %>s'))


def test_time_split_over_several_directives() -> None:
    f = compile_format('%h [%{%d/%b/%Y %T}t.%{msec_frac}t %{%z}t] "%r" %>s %b')
    ev = make_event(f, '1.1.1.1 [17/May/2015 00:05:03.123 +0200] "GET / HTTP/1.1" 200 5')
    assert isinstance(ev, dict) and ev["ts"] == "2015-05-16T22:05:03Z"
    bad = '1.1.1.1 [31/Feb/2015 00:05:03.123 +0200] "GET / HTTP/1.1" 200 5'
    assert make_event(f, bad) == BAD_TIME


def _kind_of(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "number"
    if isinstance(value, dict):
        return "object" if all(isinstance(v, str) for v in value.values()) else "dict"
    return "string" if isinstance(value, str) else type(value).__name__


def test_events_of_the_real_log_have_the_schemas_json_kinds(resolver: Resolver) -> None:
    # warehouse.schema.EVENT_COLUMNS declares each key's JSON kind; real lines keep to it
    with_duration = compile_format('%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i" %D')
    events = [make_event(with_duration, LINE + " 1250", resolver)]
    sample = Path(sample_log()).read_text(encoding="utf-8")
    combined = compile_format("combined")
    events += [make_event(combined, raw, resolver) for raw in sample.splitlines()[:3000]]
    events = [ev for ev in events if isinstance(ev, dict)]
    assert len(events) > 2000 and events[0]["duration_ms"] == 1.25  # %D: microseconds
    for ev in events:
        for col in EVENT_COLUMNS:
            kind = _kind_of(ev[col.name])
            allowed = col.json.split("|")
            assert kind in allowed or (kind == "int" and "number" in allowed), (col, ev)
