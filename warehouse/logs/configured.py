"""The log fields `[logs] ip` and `[logs] user` name, and whether a format can make events.

Pure, like the rest of warehouse.logs: the config's validation (warehouse.config) and the
event builder (warehouse.events) both ask here.
"""

from __future__ import annotations

from warehouse.errors import ConfigError
from warehouse.logs.format import LogFormat, compile_format


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
