"""Parsed log fields + URL resolution -> behaviour events (DESIGN.md's event schema).

`event_builder()` returns one closure per (format, resolver, [logs] ip/user) that turns
the regex groups of a matched line straight into the event dict, without building an
intermediate record: this is the hot path of `warehouse parse`. Keys always come in
`EVENT_KEYS` order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from warehouse.errors import ConfigError
from warehouse.logs import BAD_STATUS, BAD_TIME, LogFormat, TimeCache, compile_format
from warehouse.logs import directives as d
from warehouse.logs.format import TIME_JOIN
from warehouse.logs.parser import split_request, unescape

EVENT_KEYS = (
    "ts", "ip", "vhost", "user", "method", "path", "query", "protocol", "status", "bytes",
    "referer", "user_agent", "duration_ms", "slug", "params",
)  # fmt: skip

Event = dict[str, Any]
# groups of a match -> event, or a reject reason (str)
Builder = Callable[[tuple[Any, ...]], "Event | str"]

_KNOWN_METHODS = frozenset(
    ("GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE")
)
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
    if fmt.time_variant is None:
        problems.append(f"log format {fmt.source!r} has no time field (%t or $time_local)")
    for what, directive, default in (("ip", ip, "%h"), ("user", user, "%u")):
        try:
            field_for(directive, fmt, what, default)
        except ConfigError as exc:
            problems.append(str(exc))
    return problems


def _index(fmt: LogFormat, *names: str) -> int:
    for name in names:
        if fmt.has(name):
            return fmt.index[name]
    return -1


def event_builder(
    fmt: LogFormat, resolver: Resolves | None = None, *, ip: str = "%h", user: str = "%u"
) -> Builder:
    """Return a function: regex groups of one line -> event dict, or a reject reason.

    Raises ConfigError when [logs] ip/user name fields the format does not have.
    """
    resolve = (resolver or NoPatterns()).resolve
    if fmt.time_variant is None:
        raise ConfigError(f"log format {fmt.source!r} has no time field (%t or $time_local)")
    times = TimeCache(fmt.time_variant)
    tcache = times.cache
    i_ip = field_for(ip, fmt, "ip", "%h")
    if i_ip < 0:
        i_ip = _index(fmt, "remote_addr", "peer_addr")
    i_host = _index(fmt, "remote_host", "remote_addr")
    xff = i_ip >= 0 and fmt.fields[i_ip].name.startswith("header_in:")
    i_user = field_for(user, fmt, "user", "%u")
    i_vhost = _index(fmt, "server_name", "canonical_server_name", "host")
    i_req = _index(fmt, "request")
    i_status = _index(fmt, "status", "original_status")
    i_bytes = _index(fmt, "bytes", "bytes_out")
    i_ref = _index(fmt, "header_in:referer")
    i_ua = _index(fmt, "header_in:user-agent")
    i_dur, dur_factor = -1, 1.0
    for name, factor in _DURATIONS:
        if fmt.has(name):
            i_dur, dur_factor = fmt.index[name], factor
            break
    dur_int = i_dur >= 0 and fmt.fields[i_dur].kind == d.INT and dur_factor >= 1
    # The builder is generated per format: absent fields become constants and present
    # ones direct tuple indexing, with no per-line branching on the format (2x faster
    # than a generic closure; this is the pipeline's hottest function).
    code: list[str] = ["def build(g):"]
    emit = code.append
    emit("    t = " + " + SEP + ".join(f"g[{i}]" for i in fmt.time_parts))
    emit("    ts = tget(t)")
    emit("    if ts is None:")
    emit("        ts = times(t)")
    emit("        if ts is None:")
    emit("            return BAD_TIME")
    if i_req >= 0:
        emit(f"    req = g[{i_req}]")
        emit("    if '\\\\' in req:")
        emit("        req = unescape(req)")
        emit("    parts = req.split(' ')")
        emit("    if len(parts) == 3 and parts[0] in KNOWN:")
        emit("        method, target, protocol = parts")
        emit("        path, _, query = target.partition('?')")
        emit("        if not query:")
        emit("            query = None")
        emit("    else:")
        emit("        method, path, query, protocol = split_request(req)")
    else:
        emit("    method, path, query, protocol = request_parts(g)")
    if i_status >= 0:
        emit(f"    s = g[{i_status}]")
        emit("    if s == '-':")
        emit("        return BAD_STATUS")
        emit("    status = int(s)")
    else:
        emit("    status = None")
    if i_ip >= 0:
        emit(f"    addr = g[{i_ip}]")
        if xff:
            emit("    addr = addr.split(',', 1)[0].strip()")
            emit("    if not addr or addr == '-':")
            emit(f"        addr = {f'g[{i_host}]' if i_host >= 0 else repr('-')}")
        # `ip` is a non-empty string (DESIGN's schema; the jobs skip anything else)
        emit("    if not addr:")
        emit("        addr = '-'")
    else:
        emit("    addr = '-'")
    emit("    if path is None:")
    emit("        slug, params = None, {}")
    emit("    else:")
    emit("        slug, params = resolve(path)")
    if i_bytes >= 0:
        emit(f"    nbytes = g[{i_bytes}]")
        emit("    nbytes = None if nbytes == '-' else int(nbytes)")
    else:
        emit("    nbytes = None")
    if i_dur >= 0:
        emit(f"    dv = g[{i_dur}]")
        conv = f"int(dv) * {int(dur_factor)}" if dur_int else f"round(float(dv) * {dur_factor}, 3)"
        emit(f"    duration = None if dv == '-' else {conv}")
    else:
        emit("    duration = None")
    for var, i in (("vhost", i_vhost), ("user", i_user), ("referer", i_ref), ("ua", i_ua)):
        if i < 0:
            emit(f"    {var} = None")
            continue
        emit(f"    {var} = g[{i}]")
        emit(f"    if not {var} or {var} == '-':")
        emit(f"        {var} = None")
        emit(f"    elif '\\\\' in {var}:")
        emit(f"        {var} = unescape({var})")
    emit(
        "    return {'ts': ts, 'ip': addr, 'vhost': vhost, 'user': user, 'method': method, "
        "'path': path, 'query': query, 'protocol': protocol, 'status': status, "
        "'bytes': nbytes, 'referer': referer, 'user_agent': ua, 'duration_ms': duration, "
        "'slug': slug, 'params': params}"
    )
    namespace: dict[str, Any] = {
        "tget": tcache.get,
        "SEP": TIME_JOIN,
        "times": times.miss,
        "BAD_TIME": BAD_TIME,
        "BAD_STATUS": BAD_STATUS,
        "unescape": unescape,
        "split_request": split_request,
        "KNOWN": _KNOWN_METHODS,
        "resolve": resolve,
        "request_parts": _request_parts(fmt),
    }
    exec(compile("\n".join(code), f"<event builder for {fmt.source!r}>", "exec"), namespace)
    build: Builder = namespace["build"]
    return build


def _request_parts(fmt: LogFormat) -> Callable[[tuple[Any, ...]], tuple[Any, Any, Any, Any]]:
    """Return groups -> (method, path, query, protocol) from %m %U %q %H (no %r)."""
    i_method = _index(fmt, "method")
    i_upath = _index(fmt, "url_path", "request_uri")
    i_query = _index(fmt, "query_string", "args")
    i_proto = _index(fmt, "protocol")

    def text(g: tuple[Any, ...], i: int) -> str | None:
        if i < 0:
            return None
        v = g[i]
        if v == "-" or not v:
            return None
        return unescape(v) if "\\" in v else v

    def parts(g: tuple[Any, ...]) -> tuple[Any, Any, Any, Any]:
        method, target, query = text(g, i_method), text(g, i_upath), text(g, i_query)
        if query is not None and query.startswith("?"):
            query = query[1:] or None
        path = target
        if target is not None and i_query < 0 and "?" in target:  # $request_uri
            path, _, q = target.partition("?")
            query = q or None
        return method, path, query, text(g, i_proto)

    return parts


def make_event(
    fmt: LogFormat, line: str, resolver: Resolves | None = None, *, ip: str = "%h", user: str = "%u"
) -> Event | str:
    """Return the event of one line (or a reject reason); convenience for tests and tools."""
    m = fmt.match(line)
    if m is None:
        from warehouse.logs import NO_MATCH

        return NO_MATCH
    return event_builder(fmt, resolver, ip=ip, user=user)(m.groups())
