"""Log formats: compile a preset, Apache LogFormat, nginx or gunicorn format; parse lines.

Pure code: lines in, records or rejects out; no I/O and no imports from the rest of the
package except `errors`.
"""

from warehouse.logs.format import PRESETS, Field, LogFormat, compile_format
from warehouse.logs.parser import (
    BAD_STATUS,
    BAD_TIME,
    EMPTY,
    MAX_LINE,
    NO_MATCH,
    TOO_LONG,
    LineParser,
    Reject,
    split_request,
    unescape,
)
from warehouse.logs.timestamps import TimeCache

__all__ = [
    "BAD_STATUS",
    "BAD_TIME",
    "EMPTY",
    "MAX_LINE",
    "NO_MATCH",
    "PRESETS",
    "TOO_LONG",
    "Field",
    "LineParser",
    "LogFormat",
    "Reject",
    "TimeCache",
    "compile_format",
    "split_request",
    "unescape",
]
