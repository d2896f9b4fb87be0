"""Compile a log format (preset, Apache LogFormat, nginx log_format, gunicorn) to one regex.

The compiled `LogFormat` holds one regex with one positional group per field, in format
order, and the `Field` list that says what each group is. The same regex, anchored, is
valid Java: `serde_regex()` feeds Hive's RegexSerDe for the `access_raw` table, so Hive
and `warehouse parse` agree on what a line means.
"""

from __future__ import annotations

import json
import re

from warehouse.errors import ConfigError
from warehouse.logs import aws, jsonfmt
from warehouse.logs import directives as d
from warehouse.logs.directives import Field

PRESETS: dict[str, str] = {
    "common": '%h %l %u %t "%r" %>s %b',
    "combined": '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"',
    "vhost_combined": '%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"',
    # nginx's built-in `combined` log_format: Apache's fields, but a literal `-` where
    # Apache has %l (a line with an address list there is another format, not an event),
    # and nginx's escaping (\xHH) rather than Apache's.
    "nginx": (
        '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
        '"$http_referer" "$http_user_agent"'
    ),
    # nginx's stock `log_format main` (commented out in nginx.conf, the default of the
    # official Docker image and of RHEL's package): combined plus the X-Forwarded-For header
    "main": (
        '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
        '"$http_referer" "$http_user_agent" "$http_x_forwarded_for"'
    ),
    # gunicorn's default access_log_format
    "gunicorn": '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"',
    # Caddy's JSON access log (`log { format json }`, Caddy 2.x): a JSON-lines mapping
    "caddy": "json " + json.dumps(
        {
            "ts": "ts",
            "ts_encoding": "epoch_s",
            "ip": "request.remote_ip",
            "method": "request.method",
            "path": "request.uri",
            "protocol": "request.proto",
            "vhost": "request.host",
            "status": "status",
            "bytes": "size",
            "duration_s": "duration",
            "user_agent": "request.headers.User-Agent",
            "referer": "request.headers.Referer",
        },
        sort_keys=True,
    ),
    # AWS: fixed field lists (warehouse.logs.aws), not format strings
    "alb": "alb",
    "elb": "elb",
    "s3": "s3",
    "cloudfront": "cloudfront",
}

_APACHE_TOKEN = re.compile(
    r"%(?P<m1>[<>!,0-9]*)(?:\{(?P<param>[^}]*)\})?(?P<m2>[<>!,0-9]*)"
    r"(?P<code>\^[a-zA-Z]{2}|[a-zA-Z%])"
)
_NGINX_TOKEN = re.compile(r"\$(?:\{(?P<b>[A-Za-z0-9_]+)\}|(?P<v>[A-Za-z_][A-Za-z0-9_]*))")
_GUNICORN_TOKEN = re.compile(r"%\((?P<atom>\{[^}]*\}[ioe]|[A-Za-z_][A-Za-z0-9_]*)\)s")
_NGINX_HINT = re.compile(r"\$\{?[A-Za-z_]")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")  # a name, not a format: an unknown preset
# The relaxed second match (unescaped quotes inside quoted fields) backtracks in time
# quadratic in the line length on hostile input; above this length a line gets the strict
# match only (worst case ~50 ms per line at this limit).
RELAXED_MAX = 8192
TIME_JOIN = "\x1f"  # joins the texts of a time split over several %{...}t directives
_ATOMIC = {d.DIGITS, d.NUMBER, d.STATUS}
_APACHE_ESCAPES = {'\\"': '"', "\\t": "\t", "\\n": "\n", "\\\\": "\\"}


# A parsed format before regex assembly: literal text or (directive text, Spec).
_Piece = aws.Piece


class LogFormat:
    """A compiled log format: `regex` (one group per field) and the `fields` it fills."""

    def __init__(self, source: str, syntax: str, pieces: list[_Piece]) -> None:
        self.source = source
        self.syntax = syntax
        fields: list[Field] = []
        parts: list[str] = []
        seen: dict[str, int] = {}
        columns: dict[str, int] = {}
        for i, piece in enumerate(pieces):
            if isinstance(piece, str):
                parts.append("".join(d.java_escape(c) for c in piece))
                continue
            text, spec = piece
            before = pieces[i - 1] if i > 0 else None
            after = pieces[i + 1] if i + 1 < len(pieces) else None
            if spec.regex is None:
                body = _context_regex(spec, before, after, syntax)
            elif spec.regex in _ATOMIC:
                body = f"(?>{spec.regex})"  # numbers end at a non-digit: never backtrack
            else:
                body = spec.regex
            parts.append(f"{spec.prefix}({body}){spec.suffix}")
            name, column = spec.name, spec.column
            seen[name] = seen.get(name, 0) + 1
            if seen[name] > 1:
                name = f"{name}#{seen[name]}"
            columns[column] = columns.get(column, 0) + 1
            if columns[column] > 1:
                column = f"{column}_{columns[column]}"
            fields.append(Field(name, text, spec.kind, column, spec.time))
        if not fields:
            raise ConfigError(
                f"log format {source!r} has no fields: give a preset ({', '.join(PRESETS)}) "
                "or a LogFormat string"
            )
        self.fields: tuple[Field, ...] = tuple(fields)
        self.pattern = "".join(parts)
        try:
            self.regex = re.compile(self.pattern, re.DOTALL)
            # Second chance for servers that leave quotes inside quoted fields unescaped:
            # each quoted field ends at the first `"` that lets the rest of the line match.
            loose = self.pattern.replace("(" + d.QUOTED + ")", "(" + d.QUOTED_RELAXED + ")")
            self.relaxed = re.compile(loose, re.DOTALL) if loose != self.pattern else None
        except re.error as exc:
            raise ConfigError(f"log format {source!r} does not compile: {exc}") from None
        self.names: tuple[str, ...] = tuple(f.name for f in fields)
        self.index: dict[str, int] = {f.name: i for i, f in enumerate(fields)}
        times = [f for f in fields if f.kind == d.TIME]
        self.time_field: Field | None = times[0] if times else None
        # Apache formats may split the time over several %{...}t directives (e.g.
        # `%{%d/%b/%Y %T}t.%{msec_frac}t %{%z}t`): strftime parts are read together, their
        # texts joined by \x1f and parsed with the joined strftime formats.
        strf = [f for f in times if (f.time or "").startswith("strftime:")]
        if len(strf) > 1 and times[0] is strf[0]:
            self.time_parts: tuple[int, ...] = tuple(self.index[f.name] for f in strf)
            self.time_variant: str | None = "strftime:" + TIME_JOIN.join(
                (f.time or "")[len("strftime:") :] for f in strf
            )
        else:
            self.time_parts = (self.index[times[0].name],) if times else ()
            self.time_variant = (times[0].time or "clf") if times else None

    def __repr__(self) -> str:
        return f"LogFormat({self.source!r})"

    def match(self, line: str) -> re.Match[str] | None:
        """Return the match of `line` (strict, else with unescaped quotes allowed), or None."""
        m = self.regex.fullmatch(line)
        if m is None and self.relaxed is not None and len(line) <= RELAXED_MAX:
            m = self.relaxed.fullmatch(line)
        return m

    def has(self, name: str) -> bool:
        """Return True when the format captures the record key `name`."""
        return name in self.index

    def serde_regex(self) -> str:
        """Return the anchored Java regex for Hive's RegexSerDe: one plain group per column."""
        return "^" + self.pattern + "$"

    def serde_columns(self) -> list[str]:
        """Return the lower-case Hive column names of `serde_regex()`'s groups, in order."""
        return [f.column for f in self.fields]


class JsonFormat(LogFormat):
    """A JSON-lines format: the fields of the mapping, read by dotted path (no regex)."""

    def __init__(self, source: str, mapping: dict[str, str]) -> None:
        problems = jsonfmt.mapping_problems(mapping)
        if problems:
            raise ConfigError(f"log format {source!r}: " + "; ".join(problems))
        self.source = source
        self.syntax = "json"
        self.mapping = dict(mapping)
        variant = jsonfmt.ENCODINGS[mapping.get("ts_encoding", "iso")]
        fields = []
        for key, path in mapping.items():
            if key == "ts_encoding":
                continue
            name, kind = jsonfmt.FIELDS[key]
            column = re.sub(r"[^a-z0-9_]", "_", key)
            fields.append(Field(name, path, kind, column, variant if kind == d.TIME else None))
        self.fields = tuple(fields)
        self.pattern = jsonfmt.json_spec(self.mapping)  # not a regex: names the format
        self.regex = re.compile("(.*)", re.DOTALL)
        self.relaxed = None
        self.names = tuple(f.name for f in fields)
        self.index = {f.name: i for i, f in enumerate(fields)}
        self.time_field = next(f for f in fields if f.kind == d.TIME)
        self.time_parts = (self.index["time"],)
        # classify() hands the time cache whole epoch seconds (ms divided already)
        self.time_variant = "iso" if variant == "iso" else "sec"

    def match(self, line: str) -> re.Match[str] | None:
        """Return a match of the whole line when it is a JSON object holding the time."""
        try:
            obj = json.loads(line)
        except ValueError:
            return None
        if not isinstance(obj, dict) or jsonfmt.lookup(obj, self.mapping["ts"]) is None:
            return None
        return self.regex.fullmatch(line)

    def serde_regex(self) -> str:
        """Return the RegexSerDe regex of `access_raw`: the whole line in one column."""
        return "^(.*)$"

    def serde_columns(self) -> list[str]:
        """Return `access_raw`'s one column: the JSON line."""
        return ["line"]


def _context_regex(
    spec: d.Spec, before: _Piece | None, after: _Piece | None, syntax: str = "apache"
) -> str:
    """Pick a free-text field's regex from its neighbours: quoted, last, or up to a delimiter."""
    quoted = isinstance(before, str) and before.endswith('"')
    if quoted and isinstance(after, str) and after.startswith('"'):
        # gunicorn escapes `"` only: other backslashes are literal, even a final one
        return d.QUOTED_GUNICORN if syntax == "gunicorn" else d.QUOTED
    if after is None:
        return ".*"
    if spec.name == "remote_user" and isinstance(after, str) and after[:1].isspace():
        # Basic-auth names are logged as sent, spaces included (`John Smith`): the user
        # ends at the first space after which the rest of the line matches. A `"` is
        # escaped in it (`\"`), which keeps a hostile line from trying every split.
        # gunicorn's backslashes are literal: a name may end in one.
        # Apache writes an empty name (empty or undecodable Basic auth) as `""`.
        if syntax == "gunicorn":
            return r'(?:[^"\\]|\\"?)*?'
        return r'""|(?:[^"\\]|\\.)*?' if syntax == "apache" else r'(?:[^"\\]|\\.)*?'
    if spec.kind == d.REQUEST or spec.name == "header_in:user-agent":
        return ".*?"  # unquoted but contains spaces: the next literal ends it
    if isinstance(after, str):
        stop = after[0]
        if spec.name == "header_in:x-forwarded-for":
            # "client, proxy1, proxy2": hops joined by ", " (the load-balancer format
            # `%{X-Forwarded-For}i %l %u %t ...` writes the header unquoted)
            other = "" if stop.isspace() else ("\\" + stop if stop in "\\]^-[" else stop)
            hop = r"[^\s," + other + "]*+"
            return rf"{hop}(?:,[ \t]*+{hop})*+"
        if stop.isspace():
            return r"\S*+"
        return r"[^\s" + ("\\" + stop if stop in "\\]^-[" else stop) + "]*+"
    return ".*?"


def compile_format(fmt: str) -> LogFormat:
    """Return the compiled format for a preset name, Apache, nginx or gunicorn format string.

    Raises ConfigError for an unknown directive or an empty format.
    """
    text = fmt.strip()
    builtin = aws.BUILTIN.get(text.lower())
    if builtin is not None:
        return LogFormat(fmt, "w3c" if text.lower() == "cloudfront" else "aws", builtin())
    preset = PRESETS.get(text.lower())
    if preset is not None:
        text = preset
    if jsonfmt.is_json(text):
        return _compile_json(fmt, text)
    if not text:
        raise ConfigError(f"empty log format: give a preset ({', '.join(PRESETS)}) or a LogFormat")
    if _WORD.fullmatch(text):
        raise ConfigError(
            f"log format {fmt!r} is not a preset; presets: {', '.join(PRESETS)} "
            "(or give an Apache LogFormat, nginx log_format or gunicorn format string)"
        )
    if text.startswith("log_format"):
        text = "".join(re.findall(r"'([^']*)'", text)) or text
    if _GUNICORN_TOKEN.search(text):
        return LogFormat(fmt, "gunicorn", _gunicorn_pieces(text, fmt))
    if _NGINX_HINT.search(text) and not _APACHE_TOKEN.search(text.replace("%%", "")):
        return LogFormat(fmt, "nginx", _nginx_pieces(text))
    return LogFormat(fmt, "apache", _apache_pieces(text, fmt))


def _compile_json(source: str, text: str) -> JsonFormat:
    """Return the JSON format of `json {mapping}`; ConfigError when bare or malformed."""
    m = jsonfmt.SPEC.fullmatch(text.strip())
    if m is None or m.group(1) is None:
        raise ConfigError(
            "--format json needs a [logs.json] table in the config mapping each event field to "
            'a dotted path (ts = "ts", status = "status", path = "request.uri", ...)'
        )
    try:
        mapping = json.loads(m.group(1))
    except ValueError:
        raise ConfigError(f"log format {source!r}: the JSON field mapping does not parse") from None
    return JsonFormat(source, mapping)


def _add_literal(pieces: list[_Piece], lit: str) -> None:
    if not lit:
        return
    if pieces and isinstance(pieces[-1], str):
        pieces[-1] = pieces[-1] + lit
    else:
        pieces.append(lit)


def _apache_pieces(text: str, source: str) -> list[_Piece]:
    """Split an Apache LogFormat into literals and directive specs."""
    for esc, plain in _APACHE_ESCAPES.items():
        text = text.replace(esc, plain)
    pieces: list[_Piece] = []
    pos = 0
    for m in _APACHE_TOKEN.finditer(text):
        _add_literal(pieces, text[pos : m.start()])
        pos = m.end()
        code, param = m.group("code"), m.group("param")
        mods = m.group("m1") + m.group("m2")
        if code == "%":
            _add_literal(pieces, "%")
            continue
        try:
            if param is not None:
                spec = d.apache_param_spec(code, param)
            elif code == "s" and mods.endswith(">"):
                spec = d.APACHE_PLAIN[">s"]
            elif code == "^FB":
                spec = d.Spec("ttfb_us", d.INT, "ttfb_us", d.DIGITS)
            else:
                spec = d.APACHE_PLAIN[code]
        except KeyError:
            raise ConfigError(
                f"log format {source!r}: unknown directive {m.group(0)!r}; see the list in docs/logs.md"
            ) from None
        pieces.append((m.group(0), spec))
    rest = text[pos:]
    if "%" in rest.replace("%%", ""):
        raise ConfigError(f"log format {source!r}: stray '%' near {rest!r}; write %% for a percent")
    _add_literal(pieces, rest.replace("%%", "%"))
    return pieces


def _nginx_pieces(text: str) -> list[_Piece]:
    """Split an nginx log_format string into literals and variable specs."""
    pieces: list[_Piece] = []
    pos = 0
    for m in _NGINX_TOKEN.finditer(text):
        _add_literal(pieces, text[pos : m.start()])
        pos = m.end()
        var = m.group("b") or m.group("v")
        pieces.append((m.group(0), d.nginx_spec(var)))
    _add_literal(pieces, text[pos:])
    return pieces


def _gunicorn_pieces(text: str, source: str) -> list[_Piece]:
    """Split a gunicorn access_log_format into literals and atom specs."""
    pieces: list[_Piece] = []
    pos = 0
    for m in _GUNICORN_TOKEN.finditer(text):
        _add_literal(pieces, text[pos : m.start()])
        pos = m.end()
        atom = m.group("atom")
        spec = d.GUNICORN_SPECS.get(atom)
        if spec is None:
            if atom.startswith("{"):
                name, _, code = atom[1:].rpartition("}")
                spec = d.apache_param_spec(code, name)
            elif atom in d.GUNICORN_ATOMS:
                sub = _apache_pieces(d.GUNICORN_ATOMS[atom], source)
                first = sub[0]
                if isinstance(first, str):  # every mapped atom is a bare directive
                    raise ConfigError(f"log format {source!r}: bad gunicorn atom %({atom})s")
                spec = first[1]
            elif len(atom) > 1:  # a WSGI environ key such as %(HTTP_HOST)s: plain text
                spec = d.Spec(f"var:{atom}", d.STR, re.sub(r"[^a-z0-9_]", "_", atom.lower()))
            else:
                raise ConfigError(f"log format {source!r}: unknown gunicorn atom %({atom})s")
        pieces.append((m.group(0), spec))
    _add_literal(pieces, text[pos:].replace("%%", "%"))
    return pieces


def guess_format(lines: list[str], current: LogFormat) -> str | None:
    """Return the preset that matches most of `lines` (at least half), other than `current`.

    Used on lines `current` rejected as "no match": it names the format they look like
    (e.g. nginx's `main` read as `combined`). None when no preset matches half of them.
    """
    if not lines:
        return None
    best, best_n = None, 0
    seen = {current.pattern}
    for name in PRESETS:
        fmt = compile_format(name)
        if fmt.pattern in seen:
            continue
        seen.add(fmt.pattern)
        n = sum(1 for line in lines if fmt.match(line) is not None)
        if n > best_n:
            best, best_n = name, n
    return best if best_n * 2 >= len(lines) else None
