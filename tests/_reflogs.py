"""An independent reading of access-log lines into the events DESIGN.md specifies.

Written from the servers' documentation, sharing no code with `warehouse/logs/`:
- Apache formats are read by `apachelogs` (a separate, maintained parser).
- nginx: `log_format` variables; with the default escaping nginx writes `"`, `\\`, bytes
  below 32 and above 126 as `\\xXX` and a missing value as `-`; with `escape=json` it
  writes `\\"`, `\\\\`, `\\n \\r \\t \\b \\f`, other control bytes as `\\u00XX`, bytes above 126
  raw, and a missing value as an empty string.
- gunicorn (glogging.py): every atom has `"` replaced by `\\"` and nothing else escaped;
  a missing atom is `-`.
Values are taken as bytes and decoded as UTF-8 with backslashreplace at the end (DESIGN:
undecodable bytes kept with backslashreplace). The event mapping (DESIGN's table): `-`
and empty become null, the request line splits into method, path, query and protocol,
durations become milliseconds, the time becomes ISO UTC with `Z`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from apachelogs import LogParser

Fields = dict[str, Any]  # role -> value (str, int, datetime) before the event mapping
EVENT_FIELDS = (
    "ts", "ip", "vhost", "user", "method", "path", "query", "protocol", "status", "bytes",
    "referer", "user_agent", "duration_ms", "slug", "params",
)  # fmt: skip

_CLF = "%d/%b/%Y:%H:%M:%S %z"
_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}")
# nginx variable / gunicorn atom -> role
_NGINX_ROLES = {
    "remote_addr": "ip", "remote_user": "user", "time_local": "clf", "time_iso8601": "iso",
    "request": "request", "status": "status", "body_bytes_sent": "bytes",
    "http_referer": "referer", "http_user_agent": "ua", "http_x_forwarded_for": "xff",
    "request_time": "seconds", "host": "vhost",
}  # fmt: skip
_GUNICORN_ROLES = {
    "h": "ip", "u": "user", "t": "clf_bracketed", "r": "request", "s": "status", "b": "bytes",
    "f": "referer", "a": "ua", "D": "micros", "l": "ident",
}  # fmt: skip
_APACHE_ROLES = {
    "%h": "ip", "%v": "vhost", "%u": "user", "%t": "time", "%r": "request", "%>s": "status",
    "%b": "bytes", "%O": "bytes", "%{referer}i": "referer", "%{user-agent}i": "ua",
    "%{x-forwarded-for}i": "xff", "%D": "micros", "%m": "method", "%U": "upath",
    "%q": "qs", "%H": "protocol", "%l": "ident", "%p": "port",
}  # fmt: skip


# what an unquoted value of these roles can be (numbers end where the digits end)
_TYPED = {
    "ip": r"\S+",
    "status": r"\d{3}",
    "bytes": r"\d+|-",
    "micros": r"\d+",
    "seconds": r"\d+\.\d+|-",
}


def _text(raw: str | None) -> str | None:
    """Bytes carried as latin-1 text -> UTF-8 text with backslashreplace."""
    if raw is None:
        return None
    return raw.encode("latin-1").decode("utf-8", "backslashreplace")


def _nginx_default_value(v: str) -> str | None:
    if v == "-":
        return None
    return _text(re.sub(r"\\x([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), v))


_JSON_ESC = {'"': '"', "\\": "\\", "/": "/", "n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}


def _nginx_json_value(v: str) -> str | None:
    def one(m: re.Match[str]) -> str:
        e = m.group(1)
        return chr(int(e[1:], 16)) if e[0] == "u" else _JSON_ESC[e]

    return _text(re.sub(r"\\(u[0-9A-Fa-f]{4}|.)", one, v))


def _gunicorn_value(v: str) -> str | None:
    return None if v == "-" else _text(v.replace('\\"', '"'))


def _reader(
    tokens: list[tuple[str, str]],
    roles: dict[str, str],
    quoted_value: str,
    value: Callable[[str], str | None],
) -> Callable[[str], Fields]:
    """Return a line reader for a format given as [(literal, variable)...] pieces."""
    parts, names = [], []
    for i, (lit, var) in enumerate(tokens):
        parts.append(re.escape(lit))
        if not var:
            continue
        nxt = tokens[i + 1][0] if i + 1 < len(tokens) else ""
        if lit.endswith('"') and nxt.startswith('"'):
            parts.append(f"({quoted_value})")
        elif roles.get(var) in _TYPED:
            parts.append(f"({_TYPED[roles[var]]})")
        elif roles.get(var) == "clf":
            parts.append(r"(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})")
        elif roles.get(var) == "clf_bracketed":
            parts.append(r"(\[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\])")
        else:
            parts.append("(.*?)")
        names.append(var)
    regex = re.compile("".join(parts), re.DOTALL)

    def read(line: str) -> Fields:
        m = regex.fullmatch(line)
        if m is None:
            raise ValueError(f"reference: line does not match its format: {line[:200]!r}")
        out: Fields = {}
        for var, v in zip(names, m.groups(), strict=True):
            role = roles.get(var, var)
            if role in ("clf", "clf_bracketed"):
                out["time"] = dt.datetime.strptime(v.strip("[]"), _CLF)
            elif role == "iso":
                out["time"] = dt.datetime.fromisoformat(v)
            else:
                out[role] = value(v)
        return out

    return read


def _split(fmt: str, token: str) -> list[tuple[str, str]]:
    """Return [(literal before, variable)...], the last with variable ''."""
    out, pos = [], 0
    for m in re.finditer(token, fmt):
        out.append((fmt[pos : m.start()], m.group(1)))
        pos = m.end()
    out.append((fmt[pos:], ""))
    return out


def nginx_reader(fmt: str, *, json: bool = False) -> Callable[[str], Fields]:
    """Return line -> fields for an nginx log_format body (escape=json when `json`)."""
    tokens = _split(fmt, r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")
    if json:
        return _reader(tokens, _NGINX_ROLES, r'(?:[^"\\]|\\.)*', _nginx_json_value)
    return _reader(tokens, _NGINX_ROLES, r'[^"]*', _nginx_default_value)


def gunicorn_reader(fmt: str) -> Callable[[str], Fields]:
    """Return line -> fields for a gunicorn access_log_format."""
    # a `"` inside a value always follows the backslash gunicorn put before it
    quoted = r'(?:[^"]|(?<=\\)")*?'
    return _reader(_split(fmt, r"%\(([A-Za-z]+)\)s"), _GUNICORN_ROLES, quoted, _gunicorn_value)


def apache_reader(fmt: str) -> Callable[[str], Fields]:
    """Return line -> fields for an Apache LogFormat, read by apachelogs."""
    parser = LogParser(fmt, encoding="utf-8", errors="backslashreplace")

    def read(line: str) -> Fields:
        entry = parser.parse(_text(line) or "")
        out: Fields = {}
        for directive, v in entry.directives.items():
            key = directive if directive in _APACHE_ROLES else directive.lower()
            role = _APACHE_ROLES.get(key, directive)
            out["time" if role == "time" else role] = v
        if " " in (out.get("protocol") or "") and out.get("upath") is not None:
            # apachelogs ends %U at a space, but %U is the *decoded* path and may hold
            # spaces, while %H (the protocol) never does: give %U%q back what %H took.
            rest, _, out["protocol"] = out["protocol"].rpartition(" ")
            target = out["upath"] + (out.get("qs") or "") + " " + rest
            path, sep, query = target.partition("?")
            out["upath"], out["qs"] = path, sep + query
        return out

    return read


def reader_for(reference: str, fmt: str) -> Callable[[str], Fields]:
    """Return the reader for a LogSpec.reference ("apache", "nginx", "nginx-json", "gunicorn")."""
    if reference == "apache":
        return apache_reader(fmt)
    if reference == "nginx":
        return nginx_reader(fmt)
    if reference == "nginx-json":
        return nginx_reader(fmt, json=True)
    if reference == "gunicorn":
        return gunicorn_reader(fmt)
    raise ValueError(reference)


_PROTOCOL = re.compile(r"HTTP/[0-9](\.[0-9])?")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def split_request(
    line: str | None,
) -> tuple[str | None, str | None, str | None, str | None, str | None]:
    """Request line -> (method, path, query, protocol, host), as the README's "request
    lines" section reads it.

    The method is the first word; empty words (runs of spaces) around the target are
    dropped; the last word is the protocol only when it is `HTTP/x.y`, `HTTP/2` or `HTTP/3`
    (HTTP/0.9 and truncated lines have none); the target may hold spaces. An absolute-form
    target (`http://host:port/p?q`) gives its path (`/` when empty) and its host (without
    user and port). `-`, one word, or a first word that is no method token give nulls.
    Path and query split at the first `?`; an empty query is null.
    """
    nulls = None, None, None, None, None
    if not line or line == "-":
        return nulls
    words = line.split(" ")
    if len(words) < 2 or not _TOKEN.fullmatch(words[0]):
        return nulls
    method, rest = words[0], words[1:]
    while rest and not rest[0]:
        del rest[0]
    while rest and not rest[-1]:
        del rest[-1]
    protocol = None
    if len(rest) > 1 and _PROTOCOL.fullmatch(rest[-1]):
        protocol = rest.pop()
        while rest and not rest[-1]:
            del rest[-1]
    target = " ".join(rest)
    if not target:
        return nulls
    host = None
    scheme = _SCHEME.match(target)
    if scheme is not None:
        netloc = urlsplit(target).netloc
        target = target[scheme.end() + len(netloc) :]
        if not target.startswith("/"):
            target = "/" + target
        where = netloc.rpartition("@")[2]
        host = where[: where.index("]") + 1] if where.startswith("[") else where.split(":")[0]
    path, _, query = target.partition("?")
    return method, path, query or None, protocol, host or None


def _null(v: Any) -> Any:
    return None if v is None or v == "" or v == "-" else v


def to_event(f: Fields, *, ip_from_xff: bool = False) -> dict[str, Any]:
    """Return the event DESIGN.md specifies for the fields of one line (no URL patterns)."""
    when: dt.datetime = f["time"]
    host = None
    if "request" in f:
        method, path, query, protocol, host = split_request(f["request"])
    else:
        qs = _null(f.get("qs"))
        method, path, protocol = _null(f.get("method")), _null(f.get("upath")), f.get("protocol")
        query = _null(qs[1:] if qs and qs.startswith("?") else qs)
        protocol = _null(protocol)
    ip = f.get("ip")
    if ip_from_xff:
        hop = (f.get("xff") or "").split(",")[0].strip()
        ip = hop if hop and hop != "-" else ip
    duration = None
    if f.get("micros") not in (None, "-"):
        duration = round(int(f["micros"]) / 1000, 3)
    elif f.get("seconds") not in (None, "-"):
        duration = round(float(f["seconds"]) * 1000, 3)
    nbytes = f.get("bytes")
    return {
        "ts": when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "ip": ip or "-",
        "vhost": _null(f["vhost"]) if "vhost" in f else host,
        "user": _null(f.get("user")),
        "method": method,
        "path": path,
        "query": query,
        "protocol": protocol,
        "status": int(f["status"]),
        "bytes": None if nbytes in (None, "-") else int(nbytes),
        "referer": _null(f.get("referer")),
        "user_agent": _null(f.get("ua")),
        "duration_ms": duration,
        "slug": None,
        "params": {},
    }
