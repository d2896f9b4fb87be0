"""Lines in, typed fields (or a reject reason) out: the one line classifier. No I/O.

`Classifier(fmt).classify(line)` is what `warehouse parse` runs on every line: it returns
a tuple with one value per `LogFormat.fields` entry, in order, or a reason string
(`NO_MATCH`, `BAD_TIME`, ...). Values: `str` (the server's escapes undone), `int`,
`float`, the time as an ISO-UTC string, or None for `-`. The function is generated per
format (straight-line code, no loop over fields); `Classifier.source` is its text, and
tracebacks show its lines.
"""

from __future__ import annotations

import functools
import json
import operator
import re
import urllib.parse
from collections.abc import Callable
from typing import Any

from warehouse.codegen import compile_source
from warehouse.logs import directives as d
from warehouse.logs import jsonfmt
from warehouse.logs.directives import Field
from warehouse.logs.format import RELAXED_MAX, TIME_JOIN, LogFormat
from warehouse.logs.timestamps import TimeCache

MAX_LINE = 65536  # characters; longer lines are rejected ("line too long")

NO_MATCH = "no match for format"
# not a reject: a W3C header line (`#Version:`, `#Fields:`); parse counts it apart
HEADER = "header line"
BAD_TIME = "bad timestamp"
TOO_LONG = "line too long"
EMPTY = "empty line"
BAD_STATUS = "bad status"
OUT_OF_RANGE = "number out of range"
INT_MAX = 2**63 - 1  # Hive BIGINT; a larger number makes its line a reject (OUT_OF_RANGE)

Fields = tuple[Any, ...]

_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|.)")
_SIMPLE = {"t": "\t", "n": "\n", "r": "\r", "b": "\b", "v": "\v", "f": "\f"}
_METHOD = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}")
# the HTTP methods a request line may start with (any other token must look like one)
HTTP_METHODS = frozenset(
    ("GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE")
)


def unescape(text: str) -> str:
    """Return `text` with Apache/nginx log escapes (\\" \\\\ \\xHH \\uHHHH \\t ...) undone.

    `\\xHH` sequences become bytes decoded as UTF-8; bytes that still do not decode stay
    as `\\xHH` text (the same form as backslashreplace gives undecodable input).
    """
    if "\\" not in text:
        return text
    if "\\x" not in text:
        # the usual case, \" and \\ only, without a regex callback per escape
        pieces = [p.replace('\\"', '"') for p in text.split("\\\\")]
        if not any("\\" in p for p in pieces):
            return "\\".join(pieces)
        return _ESCAPE.sub(_simple, text)
    out = bytearray()
    pos = 0
    for m in _ESCAPE.finditer(text):
        out += text[pos : m.start()].encode("utf-8", "surrogatepass")
        esc = m.group(1)
        if esc[0] == "x" and len(esc) == 3:
            out.append(int(esc[1:], 16))
        elif esc[0] == "u" and len(esc) == 5:
            out += chr(int(esc[1:], 16)).encode("utf-8", "surrogatepass")
        else:
            out += _SIMPLE.get(esc, esc).encode("utf-8", "surrogatepass")
        pos = m.end()
    out += text[pos:].encode("utf-8", "surrogatepass")
    return out.decode("utf-8", "backslashreplace")


def _simple(m: re.Match[str]) -> str:
    esc = m.group(1)
    if esc[0] == "u" and len(esc) == 5:  # nginx escape=json: \u00XX
        return chr(int(esc[1:], 16))
    return _SIMPLE.get(esc, esc)


def unescape_gunicorn(text: str) -> str:
    """Return gunicorn log text as the request had it: gunicorn escapes `"` only, as `\\"`.

    Every other backslash is literal (`/a\\b`, a user agent ending in `\\`); replacing
    `\\"` by `"` is the exact inverse of gunicorn's `value.replace('"', '\\\\"')`.
    """
    return text.replace('\\"', '"')


# the last token of a request line is its protocol only when it looks like one (`HTTP/1.1`,
# `HTTP/2.0`, `HTTP/2`, `HTTP/3`); anything else is part of the target (a truncated line)
_PROTOCOL = re.compile(r"HTTP/[0-9](?:\.[0-9])?")
PROTOCOLS = frozenset(("HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/2", "HTTP/3", "HTTP/0.9"))
# absolute-form targets (proxies, load balancers): scheme://authority[/path][?query]
_ABSOLUTE = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://([^/?#]*)(.*)", re.DOTALL)


def split_request(
    request: str | None,
) -> tuple[str | None, str | None, str | None, str | None]:
    """Return (method, path, query, protocol) of a request line; Nones where absent.

    See `read_request`, which also returns the host of an absolute-form target.
    """
    method, path, query, protocol, _ = read_request(request)
    return method, path, query, protocol


def read_request(
    request: str | None,
) -> tuple[str | None, str | None, str | None, str | None, str | None]:
    """Return (method, path, query, protocol, host) of a request line; Nones where absent.

    `GET /a?b HTTP/1.1` -> ("GET", "/a", "b", "HTTP/1.1", None). The method ends at the
    first space; runs of spaces around the target are separators (nginx accepts
    `GET  /docs/  HTTP/1.1` and serves /docs/); the last token is the protocol only when
    it looks like `HTTP/x.y`, `HTTP/2` or `HTTP/3`, else the whole rest is the target
    with protocol None (Apache's truncated `GET /sp ace?a=1`, `GET /x HTTP/1.1 extra`);
    spaces inside the target are kept. An absolute-form target
    (`https://www.example.com:443/docs/?q`) gives its path (`/` when empty) and query, and
    its host without port as `host`. `-` and junk give Nones.
    """
    if not request or request == "-":
        return None, None, None, None, None
    method, sep, rest = request.partition(" ")
    if not sep or (method not in HTTP_METHODS and _METHOD.fullmatch(method) is None):
        return None, None, None, None, None
    rest = rest.strip(" ")
    target, sep, last = rest.rpartition(" ")
    proto: str | None = None
    if sep and _PROTOCOL.fullmatch(last):
        target, proto = target.rstrip(" "), last
    else:
        target = rest
    if not target:
        return None, None, None, None, None
    host = None
    if target[0] != "/":
        target, host = origin_form(target)
    path, sep, query = target.partition("?")
    return method, path, (query or None) if sep else None, proto, host


def origin_form(target: str) -> tuple[str, str | None]:
    """Return (path and query, host) of an absolute-form target, `target` and None if it
    is not one: `https://www.example.com:443/docs/?q` -> ("/docs/?q", "www.example.com")."""
    m = _ABSOLUTE.fullmatch(target)
    if m is None:
        return target, None
    rest = m.group(3)
    return (rest if rest.startswith("/") else "/" + rest), _host(m.group(2))


def _host(authority: str) -> str | None:
    """Return the host of `user@host:port` without user and port (`[::1]` kept whole)."""
    host = authority.rpartition("@")[2]
    end = host.find("]") + 1 if host.startswith("[") else 0
    return (host[:end] if end else host.partition(":")[0]) or None


_unquote = functools.partial(urllib.parse.unquote, errors="backslashreplace")


class OutOfRange(ValueError):
    """A number field above INT_MAX; `classify` turns it into the OUT_OF_RANGE reject."""


def bounded(text: str) -> int:
    """Return the int written in `text` (ASCII digits); raise OutOfRange above INT_MAX."""
    value = int(text)
    if value > INT_MAX:
        raise OutOfRange(text)
    return value


def number(text: str) -> int | float | None:
    """Return the int or float written in `text`, None when it is neither; raise
    OutOfRange for an int above INT_MAX."""
    try:
        value = int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return None
    if value > INT_MAX:
        raise OutOfRange(text)
    return value


def status_index(fmt: LogFormat) -> int:
    """Return the field index of the final status (`%>s`, else `%s`); -1 when absent."""
    for name in ("status", "original_status"):
        if fmt.has(name):
            return fmt.index[name]
    return -1


class Classifier:
    """The compiled `classify(line) -> Fields | reason` of one LogFormat (see the module)."""

    def __init__(self, fmt: LogFormat) -> None:
        self.format = fmt
        self.source = _source(fmt)
        ns: dict[str, Any] = {
            "fullmatch": fmt.regex.fullmatch,
            "relaxed": fmt.relaxed.fullmatch if fmt.relaxed is not None else None,
            "unescape": unescape_gunicorn if fmt.syntax == "gunicorn" else unescape,
            "number": number,
            "unquote": _unquote,
            "bounded": bounded,
            "OutOfRange": OutOfRange,
            "OUT_OF_RANGE": OUT_OF_RANGE,
            "SEP": TIME_JOIN,
            "MAX_LINE": MAX_LINE,
            "RELAXED_MAX": RELAXED_MAX,
            "EMPTY": EMPTY,
            "TOO_LONG": TOO_LONG,
            "NO_MATCH": NO_MATCH,
            "BAD_TIME": BAD_TIME,
            "BAD_STATUS": BAD_STATUS,
        }
        self._reset: Callable[[], None] = _nothing
        if fmt.syntax == "w3c":
            self._w3c(ns)
        elif fmt.syntax == "json":
            ns.update(loads=json.loads, epoch=jsonfmt.epoch, integer=jsonfmt.integer,
                      numeric=jsonfmt.numeric, text=jsonfmt.text)
        parts = fmt.time_parts
        for i, f in enumerate(fmt.fields):
            if f.kind == d.TIME and i not in parts[1:]:
                # the first time field reads the split parts together; others on their own
                times = TimeCache((fmt.time_variant if i == parts[0] else f.time) or "clf")
                ns[f"tget{i}"], ns[f"times{i}"] = times.cache.get, times.miss
        # tracebacks through generated code show its lines
        compile_source(self.source, f"<classify {fmt.source!r}>", ns)
        self.classify: Callable[[str], Fields | str] = ns["classify"]
        """Return the typed fields of `line`, or the reason (a str) it is rejected."""

    def _w3c(self, ns: dict[str, Any]) -> None:
        """Give a W3C classify its field order: the format's, until a `#Fields:` line."""
        width: list[int] = [0]
        pick: list[Callable[[list[str]], tuple[str, ...]]] = [tuple]
        directives = [f.directive for f in self.format.fields]

        def fields_line(line: str) -> None:
            names = line[len("#Fields:") :].split()
            pos = {name: i for i, name in enumerate(names)}
            # a field the file lacks reads as `-` (the one appended to each line)
            width[0], pick[0] = len(names), operator.itemgetter(*(pos.get(x, -1) for x in directives))

        default = "#Fields: " + " ".join(x for x in directives if x != "rest")

        def reset() -> None:
            fields_line(default)

        reset()
        ns.update(width=width, pick=pick, fields_line=fields_line, HEADER=HEADER)
        self._reset = reset

    def reset(self) -> None:
        """Forget what the input read so far told the classifier (a W3C `#Fields:` line)."""
        self._reset()

    def record(self, line: str) -> dict[str, Any] | str:
        """Return `classify(line)` as a dict keyed by `LogFormat.names`, or the reason."""
        fields = self.classify(line)
        if isinstance(fields, str):
            return fields
        return dict(zip(self.format.names, fields, strict=True))


def _nothing() -> None:
    return None


def _source(fmt: LogFormat) -> str:
    """Return the Python text of `classify` for `fmt`."""
    n = len(fmt.fields)
    names = [f"v{i}" for i in range(n)]
    if fmt.syntax == "json":
        return "\n".join(jsonfmt.source(fmt.fields)) + "\n"
    if fmt.syntax == "w3c":
        # tab-separated values in the order of the input's `#Fields:` line (pick)
        code = [
            "def classify(line):",
            "    if len(line) > MAX_LINE:",
            "        return TOO_LONG",
            "    if line[:1] == '#':",
            "        if line[:8] == '#Fields:':",
            "            fields_line(line)",
            "        return HEADER",
            "    parts = line.split('\\t')",
            "    if len(parts) < width[0]:",
            "        return NO_MATCH if line else EMPTY",
            "    parts.append('-')",
            f"    {', '.join(names)}{',' if n == 1 else ''} = pick[0](parts)",
        ]
        return _body(fmt, names, code)
    code = [
        "def classify(line):",
        "    if len(line) > MAX_LINE:",
        "        return TOO_LONG",
        "    m = fullmatch(line)",
        "    if m is None:",
        "        if not line:",
        "            return EMPTY",
    ]
    if fmt.relaxed is not None:
        # second chance for unescaped quotes inside quoted fields (old servers)
        code += [
            "        if len(line) > RELAXED_MAX:",
            "            return NO_MATCH",
            "        m = relaxed(line)",
            "        if m is None:",
            "            return NO_MATCH",
        ]
    else:
        code.append("        return NO_MATCH")
    code.append(f"    {', '.join(names)}{',' if n == 1 else ''} = m.groups()")
    return _body(fmt, names, code)


def _body(fmt: LogFormat, names: list[str], code: list[str]) -> str:
    """Return `code` (which unpacked the texts into `names`) with the conversions added."""
    n = len(names)
    parts = fmt.time_parts
    i_status = status_index(fmt)
    checked = False  # a field may raise OutOfRange
    body_start = len(code)
    for i, f in enumerate(fmt.fields):
        v = names[i]
        if f.kind == d.TIME:
            if i in parts[1:]:
                continue  # a later part of a split time: read with the first, text kept
            text = " + SEP + ".join(names[j] for j in parts) if i == parts[0] else v
            if i == parts[0] and len(parts) > 1:
                code.append(f"    {v} = {text}")
            # the cache answers all but each distinct time's first line
            code += [
                f"    {v} = tget{i}({v}) or times{i}({v})",
                f"    if {v} is None:",
                "        return BAD_TIME",
            ]
        elif f.kind != d.FLAG:
            lines, may_raise = _convert(fmt, f, v, status=i == i_status)
            code += lines
            checked = checked or may_raise
    code.append(f"    return ({', '.join(names)}{',' if n == 1 else ''})")
    if checked:  # a try block costs nothing until it catches (Python 3.11+)
        body = ["    " + line for line in code[body_start:]]
        code[body_start:] = ["    try:", *body, "    except OutOfRange:", "        return OUT_OF_RANGE"]
    return "\n".join(code) + "\n"


# up to 18 digits always fits a BIGINT: only longer text is range-checked
_BIGINT = "int({v}) if len({v}) < 19 else bounded({v})"
# the conversion of a field's text in {v} by its kind, and whether it may raise
# OutOfRange: the first ones apply even to the status field, the others do not
_BY_KIND = {
    d.QSTR: ("    {v} = None if {v} == '-' or {v} == '\"-\"' else {v}[1:-1]", False),
    d.ZINT: ("    {v} = 0 if {v} == '-' else " + _BIGINT, True),
    d.PCT: ("    {v} = None if {v} == '-' else unquote({v}) if '%' in {v} else {v}", False),
}
_BY_KIND_NOT_STATUS = {
    d.INT: ("    {v} = None if {v} == '-' else " + _BIGINT, True),
    d.NUM: ("    {v} = None if {v} == '-' else number({v})", True),
}


def _convert(fmt: LogFormat, f: Field, v: str, *, status: bool) -> tuple[list[str], bool]:
    """Return the lines converting the text of field `f` (not a time or flag) in variable
    `v`, and whether they may raise OutOfRange; `status`: it is the status field."""
    template, may_raise = _BY_KIND.get(f.kind) or (None, False)
    if template is None and status:
        return [f"    if {v} == '-':", "        return BAD_STATUS", f"    {v} = int({v})"], False
    if template is None:
        template, may_raise = _BY_KIND_NOT_STATUS.get(f.kind) or (None, False)
    if template is not None:
        return [template.format(v=v)], may_raise
    if fmt.syntax == "apache" and f.directive == "%u":
        # mod_log_config writes an empty user name (empty or bad Basic auth) as ""
        unescaped = f"unescape({v}) if '\\\\' in {v} else {v}"
        return [f"    {v} = None if {v} in ('-', '\"\"') else {unescaped}"], False
    if fmt.syntax in ("aws", "w3c"):  # AWS writes no backslash escapes
        return [f"    {v} = None if {v} == '-' else {v}"], False
    return [f"    {v} = None if {v} == '-' else unescape({v}) if '\\\\' in {v} else {v}"], False
