"""Parsed log fields + URL resolution -> behaviour events (DESIGN.md's event schema).

`warehouse parse` runs, per line, `Classifier.classify` (warehouse.logs: the line's typed
fields, or the reason it is rejected), then the function `event_builder()` generates per
(format, resolver, [logs] ip/user), which maps those fields to the event dict: this is
the hot path. Keys always come in `EVENT_KEYS` order; `builder_source()` prints the code.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol

from warehouse.codegen import compile_source
from warehouse.config import LogsConfig
from warehouse.errors import ConfigError
from warehouse.logs import (
    HTTP_METHODS,
    PROTOCOLS,
    Classifier,
    Fields,
    LogFormat,
    compile_format,
    origin_form,
    read_request,
    status_index,
)
from warehouse.logs import directives as d
from warehouse.schema import EVENT_KEYS

# [logs] ip and user as the config declares their defaults (a default field is optional)
IP_DEFAULT: Final[str] = LogsConfig.ip
USER_DEFAULT: Final[str] = LogsConfig.user

# the builder's local variable of each event key whose variable has another name
_VARIABLE = {"ip": "addr", "bytes": "nbytes", "user_agent": "ua", "duration_ms": "duration"}

Event = dict[str, Any]
# the classified fields of a line -> its event
Builder = Callable[[Fields], Event]

# (record key, factor to milliseconds), first present wins
_DURATIONS = (
    ("duration_us", 0.001),
    ("duration_ms", 1),
    ("duration_sec", 1000),
    ("duration_s", 1000),
)


class Resolves(Protocol):
    """What events need from the URL resolver (warehouse.urls.resolver.Resolver)."""

    def resolve(self, path: str) -> tuple[str | None, dict[str, str]]:
        """Return (slug, params) for a raw percent-encoded path; (None, {}) if unmatched."""
        ...


class NoPatterns:
    """The resolver used when no pattern dump is configured: every slug is null."""

    def resolve(self, path: str) -> tuple[str | None, dict[str, str]]:
        """Return (None, {}): nothing to match against."""
        return None, {}


def field_for(directive: str, fmt: LogFormat, what: str, default: str) -> int:
    """Return the group index of a configured field (`%u`, `%{X}C`, ...); -1 when absent.

    Raises ConfigError when a non-default field is configured but the format lacks it.
    """
    try:
        name = compile_format(directive).names[0]
    except ConfigError:
        raise ConfigError(f"[logs] {what} = {directive!r} is not a log format field") from None
    if fmt.has(name):
        return fmt.index[name]
    if directive != default:
        raise ConfigError(
            f"[logs] {what} = {directive!r} but the log format {fmt.source!r} has no such "
            f"field; add it to the format or change [logs] {what}"
        )
    return -1


def format_problems(fmt_text: str, ip: str = IP_DEFAULT, user: str = USER_DEFAULT) -> list[str]:
    """Return what makes a log format unusable for events (with [logs] ip/user); [] if fine."""
    try:
        fmt = compile_format(fmt_text)
    except ConfigError as exc:
        return [f"[logs] format: {exc}"]
    problems: list[str] = []
    missing = time_problem(fmt)
    if missing:
        problems.append(missing)
    for what, directive, default in (("ip", ip, IP_DEFAULT), ("user", user, USER_DEFAULT)):
        try:
            field_for(directive, fmt, what, default)
        except ConfigError as exc:
            problems.append(str(exc))
    return problems


_YEARS, _MONTHS, _DAYS, _WHOLE = set("YyG"), set("mbBh"), set("de"), set("cxs")


def time_problem(fmt: LogFormat) -> str | None:
    """Return why the format's time cannot give an event's date, or None.

    A strftime time (`%{...}t`) without a year, month or day would be read as 1900-01-01
    by strptime: every event filed under a wrong date with exit 0."""
    if fmt.time_variant is None:
        return f"log format {fmt.source!r} has no time field (%t or $time_local)"
    if not fmt.time_variant.startswith("strftime:"):
        return None
    codes = set(re.findall(r"%(.)", fmt.time_variant.replace("%%", "")))
    dated = "j" in codes or bool(codes & _MONTHS and codes & _DAYS)
    if codes & _WHOLE or (codes & _YEARS and dated):
        return None
    return (
        f"log format {fmt.source!r}: its time has no full date (year, month and day), so "
        "events could not be filed under their date; log one (e.g. %{%d/%b/%Y:%T %z}t or %t)"
    )


def _index(fmt: LogFormat, *names: str) -> int:
    for name in names:
        if fmt.has(name):
            return fmt.index[name]
    return -1


def event_builder(
    fmt: LogFormat, resolver: Resolves | None = None, *, ip: str = IP_DEFAULT, user: str = USER_DEFAULT
) -> Builder:
    """Return a function: classified fields of one line (`Classifier.classify`) -> event.

    Raises ConfigError when [logs] ip/user name fields the format does not have.
    """
    source, namespace = _builder(fmt, resolver, ip=ip, user=user)
    filename = f"<event builder for {fmt.source!r}>"
    build: Builder = compile_source(source, filename, namespace)["build"]
    return build


def builder_source(fmt: LogFormat, *, ip: str = IP_DEFAULT, user: str = USER_DEFAULT) -> str:
    """Return the Python text `event_builder` generates for `fmt` and [logs] ip/user."""
    return _builder(fmt, None, ip=ip, user=user)[0]


@dataclass(frozen=True)
class _Slots:
    """Where each event input sits in a format's fields (-1: the format lacks it)."""

    ip: int
    host: int
    xff: bool  # the address is a forwarded-for header (its first hop; %h when empty)
    user: int
    vhost: int
    req: int
    status: int
    nbytes: int
    referer: int
    ua: int
    dur: int
    dur_factor: float
    dur_int: bool  # an integral duration multiplied to milliseconds in ints
    # a load balancer's three processing times (s), summed; -1 (not measured) gives null
    sum: list[int]


def _slots(fmt: LogFormat, ip: str, user: str) -> _Slots:
    """Return the fields the builder of `fmt` reads; raises ConfigError as `event_builder`."""
    missing = time_problem(fmt)
    if missing:
        raise ConfigError(missing)
    i_ip = field_for(ip, fmt, "ip", IP_DEFAULT)
    if i_ip < 0:
        i_ip = _index(fmt, "remote_addr", "peer_addr")
    i_user = field_for(user, fmt, "user", USER_DEFAULT)
    i_dur, dur_factor = next(
        ((fmt.index[name], factor) for name, factor in _DURATIONS if fmt.has(name)), (-1, 1.0)
    )
    i_sum = [i for i, f in enumerate(fmt.fields) if f.name.endswith("_processing_time")]
    return _Slots(
        ip=i_ip,
        host=_index(fmt, "remote_host", "remote_addr"),
        xff=i_ip >= 0 and fmt.fields[i_ip].name.startswith("header_in:"),
        user=i_user,
        vhost=_index(fmt, "server_name", "canonical_server_name", "host"),
        req=_index(fmt, "request"),
        status=status_index(fmt),
        nbytes=_index(fmt, "bytes", "bytes_out"),
        referer=_index(fmt, "header_in:referer"),
        ua=_index(fmt, "header_in:user-agent"),
        dur=i_dur,
        dur_factor=dur_factor,
        dur_int=i_dur >= 0 and fmt.fields[i_dur].kind == d.INT and dur_factor >= 1,
        sum=i_sum if len(i_sum) == 3 else [],
    )


def _builder(
    fmt: LogFormat, resolver: Resolves | None, *, ip: str, user: str
) -> tuple[str, dict[str, Any]]:
    # The builder is generated per format: absent fields become constants and present
    # ones direct tuple indexing, with no per-line branching on the format (2x faster
    # than a generic closure). Its input is already typed and unescaped by classify():
    # time as ISO-UTC text, status an int, "-" as None.
    at = _slots(fmt, ip, user)
    code = ["def build(f):", *_unpack(fmt, at), *_request(at), *_address(at)]
    code += [
        "    if path is None:",
        "        slug, params = None, {}",
        "    else:",
        "        slug, params = resolve(path)",
    ]
    if at.nbytes < 0:
        code.append("    nbytes = None")
    code += _duration(at)
    for var, i in (("vhost", at.vhost), ("user", at.user), ("referer", at.referer), ("ua", at.ua)):
        if var != "vhost" or i >= 0:
            code.append(f"    {var} = {var} or None" if i >= 0 else f"    {var} = None")
    # the event: every key of warehouse.schema.EVENT_COLUMNS, in order; a new column
    # needs a variable of its name (or an entry in _VARIABLE) set above
    items = ", ".join(f"{key!r}: {_VARIABLE.get(key, key)}" for key in EVENT_KEYS)
    code.append(f"    return {{{items}}}")
    namespace: dict[str, Any] = {
        "read_request": read_request,
        "KNOWN": HTTP_METHODS,
        "PROTOCOLS": PROTOCOLS,
        "resolve": (resolver or NoPatterns()).resolve,
        "request_parts": _request_parts(fmt),
    }
    return "\n".join(code) + "\n", namespace


def _unpack(fmt: LogFormat, at: _Slots) -> list[str]:
    """Return the lines unpacking the fields (cheaper than an index per field), the unused
    ones as `_`, and aliasing a field read twice."""
    wanted = [("ts", fmt.time_parts[0]), ("req", at.req), ("status", at.status)]
    wanted += [("addr", at.ip), ("nbytes", at.nbytes), ("dv", at.dur), ("user", at.user)]
    wanted += [("vhost", at.vhost), ("referer", at.referer), ("ua", at.ua)]
    wanted += [("host", at.host if at.xff else -1)]
    wanted += [(f"pt{k}", i) for k, i in enumerate(at.sum)]
    names = ["_"] * len(fmt.fields)
    aliases = []
    for var, i in wanted:
        if i < 0:
            continue
        if names[i] == "_":
            names[i] = var
        else:  # one field read twice (e.g. [logs] user = "%h")
            aliases.append(f"    {var} = {names[i]}")
    return [f"    {', '.join(names)}{',' if len(names) == 1 else ''} = f", *aliases]


def _request(at: _Slots) -> list[str]:
    """Return the lines setting method, path, query, protocol (and vhost when absent)."""
    # the host of an absolute-form target (`GET https://host:443/docs/ HTTP/1.1`) is the
    # vhost of a format that has none
    rhost = "vhost" if at.vhost < 0 else "_"
    if at.req < 0:
        code = [f"    method, path, query, protocol, {rhost} = request_parts(f)"]
    else:
        # the usual line in one split; anything else (absolute-form, odd spacing, no
        # protocol) is read by read_request
        code = [
            "    parts = req.split(' ') if req else ()",
            "    if len(parts) == 3 and parts[0] in KNOWN and parts[2] in PROTOCOLS"
            " and parts[1][:1] == '/':",
            "        method, target, protocol = parts",
            "        path, _, query = target.partition('?')",
            "        if not query:",
            "            query = None",
        ]
        if at.vhost < 0:
            code.append("        vhost = None")
        code += ["    else:", f"        method, path, query, protocol, {rhost} = read_request(req)"]
    if at.status < 0:
        code.append("    status = None")
    return code


def _address(at: _Slots) -> list[str]:
    """Return the lines setting addr."""
    if at.ip < 0:
        return ["    addr = '-'"]
    code = []
    if at.xff:
        code += [
            "    if addr:",
            "        addr = addr.split(',', 1)[0].strip()",
            "    if not addr or addr == '-':",
            f"        addr = {'host' if at.host >= 0 else repr('-')}",
        ]
    # `ip` is a non-empty string (DESIGN's schema; the jobs skip anything else)
    return [*code, "    if not addr:", "        addr = '-'"]


def _duration(at: _Slots) -> list[str]:
    """Return the lines setting duration (milliseconds)."""
    if at.sum:
        return [
            "    if pt0 is None or pt1 is None or pt2 is None or min(pt0, pt1, pt2) < 0:",
            "        duration = None",
            "    else:",
            "        duration = round((pt0 + pt1 + pt2) * 1000, 3)",
        ]
    if at.dur >= 0:
        f = at.dur_factor
        conv = f"dv * {int(f)}" if at.dur_int else f"round(float(dv) * {f}, 3)"
        return [f"    duration = None if dv is None else {conv}"]
    return ["    duration = None"]


def _request_parts(fmt: LogFormat) -> Callable[[Fields], tuple[Any, Any, Any, Any, Any]]:
    """Return fields -> (method, path, query, protocol, host) from %m %U %q %H (no %r)."""
    i_method = _index(fmt, "method")
    i_upath = _index(fmt, "url_path", "request_uri")
    i_query = _index(fmt, "query_string", "args")
    i_proto = _index(fmt, "protocol")

    def text(f: Fields, i: int) -> str | None:
        return (f[i] or None) if i >= 0 else None

    def parts(f: Fields) -> tuple[Any, Any, Any, Any, Any]:
        method, target, query = text(f, i_method), text(f, i_upath), text(f, i_query)
        if query is not None and query.startswith("?"):
            query = query[1:] or None
        path, host = target, None
        if target is not None and target[:1] != "/":  # absolute-form (a proxy request)
            path, host = origin_form(target)
        if path is not None and i_query < 0 and "?" in path:  # $request_uri
            path, _, q = path.partition("?")
            query = q or None
        return method, path, query, text(f, i_proto), host

    return parts


def make_event(
    fmt: LogFormat, line: str, resolver: Resolves | None = None, *, ip: str = IP_DEFAULT, user: str = USER_DEFAULT
) -> Event | str:
    """Return the event of one line (or its reject reason), as `warehouse parse` makes it."""
    fields = Classifier(fmt).classify(line)
    if isinstance(fields, str):
        return fields
    return event_builder(fmt, resolver, ip=ip, user=user)(fields)
