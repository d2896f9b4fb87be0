"""Lines in, records (or rejects with a reason) out. No I/O.

A record is a dict from field name (see `LogFormat.names`) to a value: `str` (Apache
escapes undone), `int`, `float`, the time as an ISO-UTC string, or None for `-`. The
pipeline does not build records: it reads the same regex groups straight into events
(`warehouse.events`), with the helpers defined here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

from warehouse.logs import directives as d
from warehouse.logs.format import TIME_JOIN, LogFormat
from warehouse.logs.timestamps import TimeCache

MAX_LINE = 65536  # characters; longer lines are rejected ("line too long")

NO_MATCH = "no match for format"
BAD_TIME = "bad timestamp"
TOO_LONG = "line too long"
EMPTY = "empty line"
BAD_STATUS = "bad status"

_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|.)")
_SIMPLE = {"t": "\t", "n": "\n", "r": "\r", "b": "\b", "v": "\v", "f": "\f"}
_METHOD = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}")
_KNOWN_METHODS = {"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE"}


class Reject(NamedTuple):
    """A line that is not a record, and why."""

    reason: str


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


def split_request(
    request: str | None,
) -> tuple[str | None, str | None, str | None, str | None]:
    """Return (method, path, query, protocol) of a request line; Nones where absent.

    `GET /a?b HTTP/1.1` -> ("GET", "/a", "b", "HTTP/1.1"); HTTP/0.9 `GET /` has no
    protocol; spaces inside the target are kept; `-` and junk give four Nones.
    """
    if not request or request == "-":
        return None, None, None, None
    parts = request.split(" ")
    n = len(parts)
    if n == 3:
        method, target, protocol = parts
        proto: str | None = protocol or None
    elif n == 2:
        method, target = parts
        proto = None
    elif n > 3:
        method = parts[0]
        if parts[-1].startswith("HTTP/"):
            target, proto = " ".join(parts[1:-1]), parts[-1]
        else:
            target, proto = " ".join(parts[1:]), None
    else:
        return None, None, None, None
    if method not in _KNOWN_METHODS and _METHOD.fullmatch(method) is None:
        return None, None, None, None
    path, sep, query = target.partition("?")
    return method, path, (query or None) if sep else None, proto


def _number(text: str) -> int | float | None:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return None


class LineParser:
    """Turn lines (str, without newline) into records or Rejects for one LogFormat.

    `parse` is generated per format (one straight-line function, no loop over fields),
    the same way as the pipeline's event builder.
    """

    def __init__(self, fmt: LogFormat) -> None:
        self.format = fmt
        ns: dict[str, Any] = {
            "match": fmt.match,
            "unescape": unescape,
            "number": _number,
            "R_EMPTY": Reject(EMPTY),
            "R_LONG": Reject(TOO_LONG),
            "R_NO_MATCH": Reject(NO_MATCH),
            "R_BAD_TIME": Reject(BAD_TIME),
            "MAX_LINE": MAX_LINE,
        }
        code = [
            "def parse(line):",
            "    if not line:",
            "        return R_EMPTY",
            "    if len(line) > MAX_LINE:",
            "        return R_LONG",
            "    m = match(line)",
            "    if m is None:",
            "        return R_NO_MATCH",
            "    g = m.groups()",
        ]
        parts = fmt.time_parts
        ns["SEP"] = TIME_JOIN
        for i, f in enumerate(fmt.fields):
            v = f"v{i}"
            code.append(f"    {v} = g[{i}]")
            if f.kind == d.TIME and len(parts) > 1 and i in parts[1:]:
                continue  # a later part of a split time: read with the first; text kept
            if f.kind == d.TIME:
                ns[f"times{i}"] = TimeCache(
                    (fmt.time_variant or "clf") if parts and i == parts[0] else (f.time or "clf")
                )
                text = " + SEP + ".join(f"g[{j}]" for j in parts) if i == parts[0] else v
                code += [
                    f"    {v} = times{i}({text})",
                    f"    if {v} is None:",
                    "        return R_BAD_TIME",
                ]
            elif f.kind == d.FLAG:
                continue
            elif f.kind == d.INT:
                code.append(f"    {v} = None if {v} == '-' else int({v}) if {v}.isdigit() else {v}")
            elif f.kind == d.NUM:
                code.append(f"    {v} = None if {v} == '-' else number({v})")
            else:
                code.append(
                    f"    {v} = None if {v} == '-' else unescape({v}) if '\\\\' in {v} else {v}"
                )
        items = ", ".join(f"{f.name!r}: v{i}" for i, f in enumerate(fmt.fields))
        code.append(f"    return {{{items}}}")
        exec(compile("\n".join(code), f"<line parser for {fmt.source!r}>", "exec"), ns)
        self.parse: Callable[[str], dict[str, Any] | Reject] = ns["parse"]
        """Return the record of `line`, or a Reject naming why it is not one."""

    def parse_lines(self, lines: Iterable[str]) -> Iterator[dict[str, Any] | Reject]:
        """Yield one record or Reject per input line, in order."""
        parse = self.parse
        for line in lines:
            yield parse(line)
