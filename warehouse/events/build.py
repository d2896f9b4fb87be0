"""Parsed log fields + URL resolution -> behaviour events (DESIGN.md's event schema).

`warehouse parse` runs, per line, `Classifier.classify` (warehouse.logs: the line's typed
fields, or the reason it is rejected), then the function `event_builder()` generates per
(format, resolver, [logs] ip/user), which maps those fields to the event dict: this is
the hot path. Keys always come in `EVENT_KEYS` order; `builder_source()` prints the code.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Protocol

from warehouse.codegen import compile_source
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


def format_problems(fmt_text: str, ip: str = "%h", user: str = "%u") -> list[str]:
    """Return what makes a log format unusable for events (with [logs] ip/user); [] if fine."""
    try:
        fmt = compile_format(fmt_text)
    except ConfigError as exc:
        return [f"[logs] format: {exc}"]
    problems: list[str] = []
    missing = time_problem(fmt)
    if missing:
        problems.append(missing)
    for what, directive, default in (("ip", ip, "%h"), ("user", user, "%u")):
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
    fmt: LogFormat, resolver: Resolves | None = None, *, ip: str = "%h", user: str = "%u"
) -> Builder:
    """Return a function: classified fields of one line (`Classifier.classify`) -> event.

    Raises ConfigError when [logs] ip/user name fields the format does not have.
    """
    source, namespace = _builder(fmt, resolver, ip=ip, user=user)
    filename = f"<event builder for {fmt.source!r}>"
    build: Builder = compile_source(source, filename, namespace)["build"]
    return build


def builder_source(fmt: LogFormat, *, ip: str = "%h", user: str = "%u") -> str:
    """Return the Python text `event_builder` generates for `fmt` and [logs] ip/user."""
    return _builder(fmt, None, ip=ip, user=user)[0]


def _builder(
    fmt: LogFormat, resolver: Resolves | None, *, ip: str, user: str
) -> tuple[str, dict[str, Any]]:
    resolve = (resolver or NoPatterns()).resolve
    missing = time_problem(fmt)
    if missing:
        raise ConfigError(missing)
    i_ip = field_for(ip, fmt, "ip", "%h")
    if i_ip < 0:
        i_ip = _index(fmt, "remote_addr", "peer_addr")
    i_host = _index(fmt, "remote_host", "remote_addr")
    xff = i_ip >= 0 and fmt.fields[i_ip].name.startswith("header_in:")
    i_user = field_for(user, fmt, "user", "%u")
    i_vhost = _index(fmt, "server_name", "canonical_server_name", "host")
    i_req = _index(fmt, "request")
    i_status = status_index(fmt)
    i_bytes = _index(fmt, "bytes", "bytes_out")
    i_ref = _index(fmt, "header_in:referer")
    i_ua = _index(fmt, "header_in:user-agent")
    i_dur, dur_factor = -1, 1.0
    for name, factor in _DURATIONS:
        if fmt.has(name):
            i_dur, dur_factor = fmt.index[name], factor
            break
    dur_int = i_dur >= 0 and fmt.fields[i_dur].kind == d.INT and dur_factor >= 1
    # a load balancer's three processing times (s), summed; -1 (not measured) gives null
    i_sum = [i for i, f in enumerate(fmt.fields) if f.name.endswith("_processing_time")]
    if len(i_sum) != 3:
        i_sum = []
    # The builder is generated per format: absent fields become constants and present
    # ones direct tuple indexing, with no per-line branching on the format (2x faster
    # than a generic closure). Its input is already typed and unescaped by classify():
    # time as ISO-UTC text, status an int, "-" as None.
    code: list[str] = ["def build(f):"]
    emit = code.append
    # one unpacking of the fields (cheaper than an index per field); unused ones as `_`
    wanted = [("ts", fmt.time_parts[0]), ("req", i_req), ("status", i_status), ("addr", i_ip)]
    wanted += [("nbytes", i_bytes), ("dv", i_dur), ("user", i_user), ("vhost", i_vhost)]
    wanted += [("referer", i_ref), ("ua", i_ua), ("host", i_host if xff else -1)]
    wanted += [(f"pt{k}", i) for k, i in enumerate(i_sum)]
    names = ["_"] * len(fmt.fields)
    aliases = []
    for var, i in wanted:
        if i < 0:
            continue
        if names[i] == "_":
            names[i] = var
        else:  # one field read twice (e.g. [logs] user = "%h")
            aliases.append(f"    {var} = {names[i]}")
    emit(f"    {', '.join(names)}{',' if len(names) == 1 else ''} = f")
    code += aliases
    # the host of an absolute-form target (`GET https://host:443/docs/ HTTP/1.1`) is the
    # vhost of a format that has none
    rhost = "vhost" if i_vhost < 0 else "_"
    if i_req >= 0:
        # the usual line in one split; anything else (absolute-form, odd spacing, no
        # protocol) is read by read_request
        emit("    parts = req.split(' ') if req else ()")
        emit(
            "    if len(parts) == 3 and parts[0] in KNOWN and parts[2] in PROTOCOLS"
            " and parts[1][:1] == '/':"
        )
        emit("        method, target, protocol = parts")
        emit("        path, _, query = target.partition('?')")
        emit("        if not query:")
        emit("            query = None")
        if i_vhost < 0:
            emit("        vhost = None")
        emit("    else:")
        emit(f"        method, path, query, protocol, {rhost} = read_request(req)")
    else:
        emit(f"    method, path, query, protocol, {rhost} = request_parts(f)")
    if i_status < 0:
        emit("    status = None")
    if i_ip >= 0:
        if xff:
            emit("    if addr:")
            emit("        addr = addr.split(',', 1)[0].strip()")
            emit("    if not addr or addr == '-':")
            emit(f"        addr = {'host' if i_host >= 0 else repr('-')}")
        # `ip` is a non-empty string (DESIGN's schema; the jobs skip anything else)
        emit("    if not addr:")
        emit("        addr = '-'")
    else:
        emit("    addr = '-'")
    emit("    if path is None:")
    emit("        slug, params = None, {}")
    emit("    else:")
    emit("        slug, params = resolve(path)")
    if i_bytes < 0:
        emit("    nbytes = None")
    if i_sum:
        emit("    if pt0 is None or pt1 is None or pt2 is None or min(pt0, pt1, pt2) < 0:")
        emit("        duration = None")
        emit("    else:")
        emit("        duration = round((pt0 + pt1 + pt2) * 1000, 3)")
    elif i_dur >= 0:
        conv = f"dv * {int(dur_factor)}" if dur_int else f"round(float(dv) * {dur_factor}, 3)"
        emit(f"    duration = None if dv is None else {conv}")
    else:
        emit("    duration = None")
    for var, i in (("vhost", i_vhost), ("user", i_user), ("referer", i_ref), ("ua", i_ua)):
        if var != "vhost" or i >= 0:
            emit(f"    {var} = {var} or None" if i >= 0 else f"    {var} = None")
    # the event: every key of warehouse.schema.EVENT_COLUMNS, in order; a new column
    # needs a variable of its name (or an entry in _VARIABLE) set above
    items = ", ".join(f"{key!r}: {_VARIABLE.get(key, key)}" for key in EVENT_KEYS)
    emit(f"    return {{{items}}}")
    namespace: dict[str, Any] = {
        "read_request": read_request,
        "KNOWN": HTTP_METHODS,
        "PROTOCOLS": PROTOCOLS,
        "resolve": resolve,
        "request_parts": _request_parts(fmt),
    }
    return "\n".join(code) + "\n", namespace


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
    fmt: LogFormat, line: str, resolver: Resolves | None = None, *, ip: str = "%h", user: str = "%u"
) -> Event | str:
    """Return the event of one line (or its reject reason), as `warehouse parse` makes it."""
    fields = Classifier(fmt).classify(line)
    if isinstance(fields, str):
        return fields
    return event_builder(fmt, resolver, ip=ip, user=user)(fields)
