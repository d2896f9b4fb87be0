"""JSON-lines access logs: `--format json` with `[logs.json]`, and the `caddy` preset.

One JSON object per line; `[logs.json]` maps each event field to a dotted path in it
(`ts = "ts"`, `path = "request.uri"`, `user_agent = "request.headers.User-Agent"`), plus
`ts_encoding`: `iso` (the default), `epoch_s` or `epoch_ms`. A list value (Caddy's
headers) gives its first element. The compiled format carries the mapping as text
(`json {"path": "request.uri", ...}`), so a worker or an mrjob task rebuilds it from the
format string alone.
"""

from __future__ import annotations

import json
import re
from typing import Any

from warehouse.logs import directives as d
from warehouse.logs.directives import Field

# event field -> (record key the event builder reads, kind)
FIELDS: dict[str, tuple[str, str]] = {
    "ts": ("time", d.TIME),
    "ip": ("remote_host", d.STR),
    "vhost": ("host", d.STR),
    "user": ("remote_user", d.STR),
    "request": ("request", d.REQUEST),  # a whole request line (nginx `"$request"`)
    "method": ("method", d.STR),
    "path": ("request_uri", d.STR),  # split at `?` when no `query` is mapped
    "query": ("args", d.STR),
    "protocol": ("protocol", d.STR),
    "status": ("status", d.INT),
    "bytes": ("bytes", d.INT),
    "referer": ("header_in:referer", d.STR),
    "user_agent": ("header_in:user-agent", d.STR),
    "duration_ms": ("duration_ms", d.NUM),
    "duration_s": ("duration_sec", d.NUM),  # seconds (Caddy's `duration`), x 1000
    "duration_us": ("duration_us", d.NUM),
}
ENCODINGS = {"iso": "iso", "epoch_s": "sec", "epoch_ms": "msec"}
_INT_MAX = 2**63 - 1  # Hive BIGINT, as for the other formats
SPEC = re.compile(r"json\s*(\{.*\})?\s*", re.DOTALL | re.IGNORECASE)


def json_spec(mapping: dict[str, str]) -> str:
    """Return the format text of a `[logs.json]` mapping (what compile_format reads)."""
    return "json " + json.dumps(mapping, sort_keys=True)


def is_json(text: str) -> bool:
    """True when a format text is the JSON format (bare `json` or with its mapping)."""
    return SPEC.fullmatch(text.strip()) is not None


def mapping_problems(mapping: Any) -> list[str]:
    """Return what is wrong with a `[logs.json]` table ([] when fine)."""
    if not isinstance(mapping, dict) or not mapping:
        return ["[logs.json] must be a table of event field = \"dotted.path\""]
    problems = []
    for key, value in mapping.items():
        if key == "ts_encoding":
            if value not in ENCODINGS:
                problems.append(f"[logs.json] ts_encoding must be one of {', '.join(ENCODINGS)}")
        elif key not in FIELDS:
            problems.append(f"[logs.json] unknown event field {key!r} (known: {', '.join(FIELDS)})")
        elif not isinstance(value, str) or not value or any(not p for p in value.split(".")):
            problems.append(f"[logs.json] {key} must be a dotted path such as \"request.uri\"")
    for need in ("ts", "status"):
        if need not in mapping:
            problems.append(f"[logs.json] needs {need} = \"<path of the {need} in each line>\"")
    if sum(k.startswith("duration_") for k in mapping) > 1:
        problems.append("[logs.json] give one of duration_ms, duration_s, duration_us")
    return problems


def lookup(obj: Any, path: str) -> Any:
    """Return the value at a dotted path of a parsed JSON object (None where absent)."""
    for part in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def source(fields: tuple[Field, ...]) -> list[str]:
    """Return the lines of the generated `classify` for a JSON format's fields."""
    names = [f"v{i}" for i in range(len(fields))]
    code = [
        "def classify(line):",
        "    if len(line) > MAX_LINE:",
        "        return TOO_LONG",
        "    if not line:",
        "        return EMPTY",
        "    try:",
        "        o = loads(line)",
        "    except ValueError:",
        "        return NO_MATCH",
        "    if o.__class__ is not dict:",
        "        return NO_MATCH",
    ]
    for v, f in zip(names, fields, strict=True):
        first, *rest = f.directive.split(".")
        code.append(f"    {v} = o.get({first!r})")
        for part in rest:
            code.append(f"    {v} = {v}.get({part!r}) if {v}.__class__ is dict else None")
        code.append(f"    if {v}.__class__ is list:")
        code.append(f"        {v} = {v}[0] if {v} else None")
    for i, (v, f) in enumerate(zip(names, fields, strict=True)):
        if f.kind == d.TIME:
            code += [f"    {v} = epoch({v}, {1000 if f.time == 'msec' else 1})"]
            if f.time == "iso":
                code[-1] = f"    {v} = {v} if {v}.__class__ is str else None"
            code += [
                f"    {v} = None if {v} is None else tget{i}({v}) or times{i}({v})",
                f"    if {v} is None:",
                "        return BAD_TIME",
            ]
        elif f.name == "status":
            code += [f"    {v} = integer({v})", f"    if {v} is None:", "        return BAD_STATUS"]
        elif f.kind == d.INT:
            code.append(f"    {v} = integer({v})")
        elif f.kind == d.NUM:
            code.append(f"    {v} = numeric({v})")
        else:
            code.append(f"    {v} = text({v})")
    code.append(f"    return ({', '.join(names)}{',' if len(names) == 1 else ''})")
    return code


def epoch(value: Any, scale: int) -> str | None:
    """Return the whole epoch seconds of a number (or numeric text) as text; None if none."""
    if value.__class__ is bool:
        return None
    try:
        return str(int(float(value)) // scale)
    except (TypeError, ValueError, OverflowError):
        return None


def integer(value: Any) -> int | None:
    """Return an int from a JSON int (or integral float) or digits text; None otherwise."""
    if value.__class__ is float and value.is_integer():  # 200.0 from a float-only logger
        value = int(value)
    if value.__class__ is int:
        return value if -_INT_MAX <= value <= _INT_MAX else None
    if value.__class__ is str and value.isascii() and value.isdigit() and len(value) < 19:
        return int(value)
    return None


def numeric(value: Any) -> int | float | None:
    """Return a JSON number (or numeric text) as int or float; None otherwise."""
    if value.__class__ in (int, float):
        return value
    if value.__class__ is str:
        try:
            return float(value)
        except ValueError:
            return None
    return None


def text(value: Any) -> str | None:
    """Return a JSON value as text (`-` and null -> None; numbers as written)."""
    if value is None or value == "-":
        return None
    return value if value.__class__ is str else json.dumps(value)
