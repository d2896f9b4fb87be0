"""The directive tables: Apache LogFormat, nginx `$variables` and gunicorn `%(x)s` atoms.

Each directive becomes a `Field`: the record key it fills, how its text converts (`kind`)
and which regex matches it. Names are shared across the three syntaxes, so `%h` and nginx
`$remote_addr` both fill `remote_host`, and events read one name whatever the server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Kinds: how a captured string becomes a value.
STR = "str"  # text; "-" -> None; Apache escapes (\" \\ \xHH) undone
INT = "int"  # digits; "-" -> None
NUM = "num"  # decimal number (nginx $request_time); "-" -> None
TIME = "time"  # a timestamp; see timestamps.py for the variants
REQUEST = "request"  # the request line, kept as text (split by events)
FLAG = "flag"  # raw text where "-" is a value (%X: connection aborted)
QSTR = "qstr"  # `"text"` or a bare `-` (S3): the text without its quotes; `-`, `"-"` -> None
ZINT = "zint"  # digits; "-" -> 0 (S3's bytes sent: "-" if zero)
PCT = "pct"  # percent-encoded text (CloudFront's user agent, referer), decoded; "-" -> None

# Regex bodies (Python and Java agree on these constructs).
# inside "...": backslash escapes allowed. Possessive (`*+`, Python 3.11 and Java): a
# field can never end inside a run it consumed, so giving characters back is pointless,
# and refusing to makes a line that does not match fail in O(n) (4x faster).
QUOTED = r'[^"\\]*+(?:\\.[^"\\]*+)*+'
# the second-chance form: unescaped quotes allowed inside, the field ends at the first
# quote that lets the rest of the line match (escapes still read the same way). A quote
# followed by ` "` never is inside: that is a field boundary, and a line with more quoted
# fields than the format (nginx's `main` read as `combined`) must not fold them into one.
QUOTED_RELAXED = r'[^"\\]*+(?:(?:\\.|"(?! "))[^"\\]*+)*?'
# gunicorn writes `"` as `\"` and every other backslash as is: inside the field a quote
# follows a backslash; a backslash before the closing quote is the value's last character
QUOTED_GUNICORN = r'[^"\\]*+(?:\\"?[^"\\]*+)*'
DIGITS = r"-|[0-9]+"
NUMBER = r"-|[0-9]+(?:\.[0-9]+)?"
STATUS = r"-|[0-9]{1,3}"


@dataclass(frozen=True)
class Field:
    """One captured field: record key, the directive as written, value kind, Hive column."""

    name: str
    directive: str
    kind: str
    column: str
    time: str | None = None


@dataclass(frozen=True)
class Spec:
    """How one directive is read: record key, value kind, Hive column and a fixed regex."""

    name: str
    kind: str
    column: str
    regex: str | None = None  # None: derived from the context (quoted, next literal)
    time: str | None = None  # time variant: clf, iso, sec, msec, usec, strftime:<fmt>
    prefix: str = ""  # literal regex around the group (the brackets of %t)
    suffix: str = ""


# --- Apache ------------------------------------------------------------------------------

APACHE_PLAIN: dict[str, Spec] = {
    "h": Spec("remote_host", STR, "remote_host"),
    "a": Spec("remote_addr", STR, "remote_addr"),
    "A": Spec("local_addr", STR, "local_addr"),
    "l": Spec("remote_logname", STR, "remote_logname"),
    "u": Spec("remote_user", STR, "remote_user"),
    # no `[` inside: a user name holding ` [01/Jan/2020` must not be taken for the time
    "t": Spec("time", TIME, "time", r"[^\]\[]*", "clf", r"\[", r"\]"),
    "r": Spec("request", REQUEST, "request"),
    ">s": Spec("status", INT, "status", STATUS),
    "s": Spec("original_status", INT, "original_status", STATUS),
    "<s": Spec("original_status", INT, "original_status", STATUS),
    "b": Spec("bytes", INT, "bytes", DIGITS),
    "B": Spec("bytes", INT, "bytes", DIGITS),
    "D": Spec("duration_us", INT, "duration_us", DIGITS),
    "T": Spec("duration_s", INT, "duration_s", DIGITS),
    "v": Spec("server_name", STR, "server_name"),
    "V": Spec("canonical_server_name", STR, "canonical_server_name"),
    "p": Spec("server_port", INT, "server_port", DIGITS),
    "U": Spec("url_path", STR, "url_path"),
    # Apache escapes %q like any item (`?q=\"y\"`): escapes may hold quotes
    "q": Spec("query_string", STR, "query_string", r'(?:\?(?:[^\s"\\]|\\.)*+)?'),
    "m": Spec("method", STR, "method"),
    "H": Spec("protocol", STR, "protocol"),
    "X": Spec("connection_status", FLAG, "connection_status", r"[-+X]"),
    "k": Spec("keepalives", INT, "keepalives", DIGITS),
    "I": Spec("bytes_in", INT, "bytes_in", DIGITS),
    "O": Spec("bytes_out", INT, "bytes_out", DIGITS),
    "S": Spec("bytes_combined", INT, "bytes_combined", DIGITS),
    "L": Spec("log_id", STR, "log_id"),
    "R": Spec("handler", STR, "handler"),
    "P": Spec("pid", INT, "pid", DIGITS),
    "f": Spec("filename", STR, "filename"),
}

_PARAM_FIXED: dict[tuple[str, str], Spec] = {
    ("T", "ms"): Spec("duration_ms", INT, "duration_ms", DIGITS),
    ("T", "us"): Spec("duration_us", INT, "duration_us", DIGITS),
    ("T", "s"): Spec("duration_s", INT, "duration_s", DIGITS),
    ("p", "canonical"): Spec("server_port", INT, "server_port", DIGITS),
    ("p", "local"): Spec("local_port", INT, "local_port", DIGITS),
    ("p", "remote"): Spec("remote_port", INT, "remote_port", DIGITS),
    ("P", "pid"): Spec("pid", INT, "pid", DIGITS),
    ("P", "tid"): Spec("tid", INT, "tid", DIGITS),
    ("P", "hextid"): Spec("tid", STR, "tid", r"[0-9A-Fa-f]+"),
    ("a", "c"): Spec("peer_addr", STR, "peer_addr"),
    ("h", "c"): Spec("peer_host", STR, "peer_host"),
}

_EPOCH_TIMES = {"sec": "sec", "msec": "msec", "usec": "usec"}
_FRACTION_TIMES = {"msec_frac", "usec_frac"}

# strftime code -> regex (enough for real log formats; others match lazily)
_STRFTIME_RE = {
    "d": "[0-9]{1,2}",
    "e": " ?[0-9]{1,2}",
    "m": "[0-9]{1,2}",
    "y": "[0-9]{2}",
    "Y": "[0-9]{4}",
    "H": "[0-9]{1,2}",
    "I": "[0-9]{1,2}",
    "M": "[0-9]{1,2}",
    "S": "[0-9]{1,2}",
    "j": "[0-9]{1,3}",
    "f": "[0-9]{1,6}",
    "p": "[AaPp][Mm]",
    "b": "[A-Za-z]{3}",
    "h": "[A-Za-z]{3}",
    "B": "[A-Za-z]+",
    "a": "[A-Za-z]{3}",
    "A": "[A-Za-z]+",
    "z": "[+-][0-9]{2}:?[0-9]{2}|Z",
    "Z": "[A-Za-z]+",
    "T": "[0-9]{2}:[0-9]{2}:[0-9]{2}",
    "D": "[0-9]{2}/[0-9]{2}/[0-9]{2}",
    "F": "[0-9]{4}-[0-9]{2}-[0-9]{2}",
    "R": "[0-9]{2}:[0-9]{2}",
    "s": "[0-9]+",
    "%": "%",
}
# Apache-only shorthands that Python's strptime lacks.
_STRFTIME_EXPAND = {"T": "%H:%M:%S", "D": "%m/%d/%y", "F": "%Y-%m-%d", "R": "%H:%M", "h": "%b"}


def strftime_regex(fmt: str) -> tuple[str, str]:
    """Return (regex, strptime format) for an Apache `%{...}t` strftime format."""
    out: list[str] = []
    expanded: list[str] = []
    i = 0
    while i < len(fmt):
        c = fmt[i]
        if c == "%" and i + 1 < len(fmt):
            code = fmt[i + 1]
            out.append(f"(?:{_STRFTIME_RE.get(code, '.+?')})")
            expanded.append(_STRFTIME_EXPAND.get(code, "%" + code))
            i += 2
            continue
        out.append(java_escape(c))
        expanded.append(c)
        i += 1
    return "".join(out), "".join(expanded)


def apache_param_spec(code: str, param: str) -> Spec:
    """Return the Spec of a `%{param}X` directive; raises KeyError when unknown."""
    low = param.lower()
    if code == "i":
        return Spec(f"header_in:{low}", STR, header_column(low))
    if code == "o":
        return Spec(f"header_out:{low}", STR, "resp_" + _column("header_" + low))
    if code == "C":
        return Spec(f"cookie:{param}", STR, _column("cookie_" + param))
    if code == "e":
        return Spec(f"env:{param}", STR, _column("env_" + param))
    if code == "n":
        return Spec(f"note:{param}", STR, _column("note_" + param))
    if code == "x":
        return Spec(f"ssl:{param}", STR, _column("ssl_" + param))
    if code == "t":
        return time_param_spec(param)
    fixed = _PARAM_FIXED.get((code, low))
    if fixed is None:
        raise KeyError(f"%{{{param}}}{code}")
    return fixed


def time_param_spec(param: str) -> Spec:
    """Return the Spec of `%{...}t`: epoch forms, fractions or a strftime format."""
    for prefix in ("begin:", "end:"):
        if param.startswith(prefix):
            param = param[len(prefix) :]
    if param in _EPOCH_TIMES:
        return Spec("time", TIME, "time", "[0-9]+", _EPOCH_TIMES[param])
    if param in _FRACTION_TIMES:
        return Spec(f"time_{param}", INT, f"time_{param}", DIGITS)
    regex, strp = strftime_regex(param)
    return Spec("time", TIME, "time", regex, "strftime:" + strp)


def header_column(low: str) -> str:
    """Return the Hive column for a request header (referer and user_agent are plain)."""
    if low in ("referer", "user-agent"):
        return _column(low)
    return _column("header_" + low)


def _column(text: str) -> str:
    return re.sub(r"[^a-z0-9_]", "_", text.lower())


def java_escape(c: str) -> str:
    """Return one literal character escaped for Python and Java regexes alike."""
    if c in "\\.[]{}()*+?^$|":
        return "\\" + c
    if c == "\t":
        return "\\t"
    return c


# --- nginx -------------------------------------------------------------------------------

NGINX: dict[str, Spec] = {
    "remote_addr": APACHE_PLAIN["h"],
    "binary_remote_addr": APACHE_PLAIN["h"],
    "realip_remote_addr": Spec("peer_addr", STR, "peer_addr"),
    "remote_user": APACHE_PLAIN["u"],
    "time_local": Spec("time", TIME, "time", r"[^\s\]\"]+ [+-][0-9]{4}", "clf"),
    "time_iso8601": Spec("time", TIME, "time", r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[^\s\"]+", "iso"),
    "msec": Spec("time", TIME, "time", r"[0-9]+\.[0-9]+", "sec"),
    "request": APACHE_PLAIN["r"],
    "status": APACHE_PLAIN[">s"],
    "body_bytes_sent": APACHE_PLAIN["b"],
    "bytes_sent": APACHE_PLAIN["O"],
    "request_length": APACHE_PLAIN["I"],
    "request_time": Spec("duration_sec", NUM, "duration_sec", NUMBER),
    "upstream_response_time": Spec("upstream_time", STR, "upstream_time"),
    "host": Spec("host", STR, "host"),
    "server_name": APACHE_PLAIN["v"],
    "server_port": APACHE_PLAIN["p"],
    "remote_port": _PARAM_FIXED[("p", "remote")],
    "request_method": APACHE_PLAIN["m"],
    "request_uri": Spec("request_uri", STR, "request_uri"),
    "uri": APACHE_PLAIN["U"],
    "document_uri": APACHE_PLAIN["U"],
    "args": Spec("args", STR, "args"),
    "query_string": Spec("args", STR, "args"),
    "server_protocol": APACHE_PLAIN["H"],
    "pid": APACHE_PLAIN["P"],
    "connection": Spec("connection", INT, "connection", DIGITS),
    "connection_requests": APACHE_PLAIN["k"],
    "pipe": Spec("pipe", STR, "pipe", r"[p.]"),
    "scheme": Spec("scheme", STR, "scheme"),
    "request_id": APACHE_PLAIN["L"],
}


def nginx_spec(var: str) -> Spec:
    """Return the Spec of an nginx variable (unknown variables are plain text)."""
    spec = NGINX.get(var)
    if spec is not None:
        return spec
    if var.startswith("http_"):
        return apache_param_spec("i", var[5:].replace("_", "-"))
    if var.startswith("sent_http_"):
        return apache_param_spec("o", var[10:].replace("_", "-"))
    if var.startswith("cookie_"):
        return apache_param_spec("C", var[7:])
    return Spec(f"var:{var}", STR, _column(var))


# --- gunicorn ----------------------------------------------------------------------------

# gunicorn atoms (docs: "Access log format") as Apache directives.
GUNICORN_ATOMS: dict[str, str] = {
    "h": "%h",
    "l": "%l",
    "u": "%u",
    "t": "%t",
    "r": "%r",
    "m": "%m",
    "U": "%U",
    "H": "%H",
    "s": "%>s",
    "B": "%B",
    "b": "%b",
    "f": "%{Referer}i",
    "a": "%{User-Agent}i",
    "T": "%T",
    "D": "%D",
    "M": "%{ms}T",
}
GUNICORN_SPECS: dict[str, Spec] = {
    "L": Spec("duration_sec", NUM, "duration_sec", NUMBER),
    "q": Spec("args", STR, "args"),
    "p": Spec("pid", STR, "pid"),  # gunicorn writes "<12345>"
}
