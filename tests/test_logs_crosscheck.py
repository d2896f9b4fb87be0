"""Our compiled parser against `apachelogs` (the maintained successor of `apachelog`).

A seeded generator writes lines for several formats the way Apache would (escapes for
quotes, backslashes and non-printable bytes; `-` for empty values); both parsers read
every line and must agree field by field after normalising types (apachelogs gives
datetimes, we give ISO-UTC strings).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from typing import Any

import pytest
from apachelogs import LogParser

from warehouse.logs import LineParser, compile_format

FORMATS = {
    "common": '%h %l %u %t "%r" %>s %b',
    "combined": '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"',
    "vhost_combined": '%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"',
    "custom_logio": (
        '%a %A %t %D %T %{ms}T "%{X-Forwarded-For}i" "%{Cookie}C" %m %U%q %H %k %I %O %X %L '
        '"%{Content-Type}o" %s'
    ),
    "custom_epoch": '%{sec}t %h "%r" %>s %B %{us}T "%{User-Agent}i" %{remote}p',
    "custom_split_time": '%h [%{%d/%b/%Y %T}t.%{msec_frac}t %{%z}t] "%r" %>s %b',
}


def _ip(r: random.Random) -> str:
    if r.random() < 0.3:
        return ":".join(f"{r.randrange(65536):x}" for _ in range(8))
    if r.random() < 0.1:
        return f"2001:db8::{r.randrange(65536):x}"
    return ".".join(str(r.randrange(256)) for _ in range(4))


_PLAIN = [chr(c) for c in range(0x20, 0x7F) if chr(c) not in '"\\']


def _escaped(r: random.Random, n: int, *, spaces: bool = True) -> str:
    """Text as Apache logs it: printable ASCII, \\" \\\\ and \\xHH escapes (UTF-8 or not)."""
    out = []
    for _ in range(n):
        x = r.random()
        if x < 0.05:
            out.append('\\"')
        elif x < 0.08:
            out.append("\\\\")
        elif x < 0.11:
            out.append("".join(f"\\x{b:02x}" for b in r.choice(["é", "€", "日本"]).encode()))
        elif x < 0.12:
            out.append(f"\\x{r.randrange(0x80, 0x100):02x}")
        else:
            c = r.choice(_PLAIN)
            out.append(c if spaces or c != " " else "_")
    return "".join(out)


def _request(r: random.Random) -> str:
    x = r.random()
    if x < 0.03:
        return "-"
    if x < 0.05:
        return "\\x16\\x03\\x01\\x00\\xa5\\x01"
    path = "/" + _escaped(r, r.randrange(0, 30), spaces=r.random() < 0.1)
    if r.random() < 0.3:
        path += "?a=" + str(r.randrange(100))
    method = r.choice(["GET", "POST", "HEAD", "PUT", "OPTIONS"])
    if r.random() < 0.03:
        return f"{method} {path}"
    return f"{method} {path} HTTP/1.{r.randrange(2)}"


def _clf_time(r: random.Random) -> str:
    when = dt.datetime(2010, 1, 1) + dt.timedelta(seconds=r.randrange(400_000_000))
    off = r.choice([0, 60, -300, 330, 600, -480, 345])
    sign = "+" if off >= 0 else "-"
    return f"[{when:%d/%b/%Y:%H:%M:%S} {sign}{abs(off) // 60:02d}{abs(off) % 60:02d}]"


def _maybe(r: random.Random, f: Callable[[], str]) -> str:
    return "-" if r.random() < 0.2 else f()


def _value(r: random.Random, directive: str) -> str:
    gens: dict[str, Callable[[], str]] = {
        "%h": lambda: _ip(r) if r.random() < 0.8 else f"host{r.randrange(99)}.example.org",
        "%a": lambda: _ip(r),
        "%A": lambda: _ip(r),
        "%l": lambda: "-",
        "%u": lambda: _maybe(r, lambda: f"user{r.randrange(1000)}"),
        "%t": lambda: _clf_time(r),
        "%{sec}t": lambda: str(r.randrange(1_000_000_000, 1_700_000_000)),
        "%{%d/%b/%Y %T}t": lambda: _clf_time(r)[1:21].replace(":", " ", 1),
        "%{msec_frac}t": lambda: f"{r.randrange(1000):03d}",
        "%{%z}t": lambda: r.choice(["+0000", "-0700", "+0530", "+1400"]),
        "%r": lambda: _request(r),
        "%>s": lambda: str(r.choice([200, 200, 304, 404, 500, 302])),
        "%s": lambda: str(r.choice([200, 301, 404])),
        "%b": lambda: _maybe(r, lambda: str(r.randrange(10**7))),
        "%B": lambda: str(r.randrange(10**7)),
        "%O": lambda: str(r.randrange(10**7)),
        "%I": lambda: str(r.randrange(10**5)),
        "%D": lambda: str(r.randrange(10**7)),
        "%T": lambda: str(r.randrange(100)),
        "%{ms}T": lambda: str(r.randrange(10**5)),
        "%{us}T": lambda: str(r.randrange(10**8)),
        "%k": lambda: str(r.randrange(100)),
        "%X": lambda: r.choice("+-X"),
        "%L": lambda: "".join(r.choice("ABCdef0123@-") for _ in range(12)),
        "%v": lambda: r.choice(["www.example.com", "example.org", "a-b.test"]),
        "%p": lambda: str(r.choice([80, 443, 8080])),
        "%{remote}p": lambda: str(r.randrange(1024, 65536)),
        "%m": lambda: r.choice(["GET", "POST"]),
        "%U": lambda: "/" + "/".join(f"p{r.randrange(50)}" for _ in range(r.randrange(4))),
        "%q": lambda: r.choice(["", "?x=1", "?a=b&c=%20d"]),
        "%H": lambda: "HTTP/1.1",
        "%{Cookie}C": lambda: _maybe(r, lambda: f"sid{r.randrange(10**6)}"),
        "%{X-Forwarded-For}i": lambda: _maybe(r, lambda: f"{_ip(r)}, {_ip(r)}"),
        "%{Content-Type}o": lambda: _maybe(r, lambda: "text/html; charset=utf-8"),
    }
    if directive in gens:
        return gens[directive]()
    return _maybe(r, lambda: _escaped(r, r.randrange(1, 60)))  # referer, user agent


def _line(r: random.Random, fmt_text: str) -> str:
    fmt = compile_format(fmt_text)
    out, pos = [], 0
    for f in fmt.fields:
        i = fmt_text.index(f.directive, pos)
        out.append(fmt_text[pos:i])
        out.append(_value(r, f.directive))
        pos = i + len(f.directive)
    out.append(fmt_text[pos:])
    return "".join(out)


def _normal(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_same_fields_and_values_as_apachelogs(name: str) -> None:
    fmt_text = FORMATS[name]
    r = random.Random(f"crosscheck-{name}")
    ours = LineParser(compile_format(fmt_text))
    theirs = LogParser(fmt_text, encoding="utf-8", errors="backslashreplace")
    fields = compile_format(fmt_text).fields
    compared = 0
    for _ in range(2000):
        line = _line(r, fmt_text)
        mine = ours.parse(line)
        entry = theirs.parse(line)
        assert isinstance(mine, dict), (line, mine)
        for f in fields:
            if f.kind == "time" and f.name.startswith("time#"):
                continue  # a later part of a split time: read with the first part
            if f.kind == "time":
                expected = _normal(entry.request_time)
            else:
                expected = _normal(entry.directives[f.directive])
            assert mine[f.name] == expected, (line, f.directive, mine[f.name], expected)
            compared += 1
    assert compared == 2000 * len([f for f in fields if not f.name.startswith("time#")])
