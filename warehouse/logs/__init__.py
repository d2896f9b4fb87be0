"""Log formats: compile a preset, Apache LogFormat, nginx or gunicorn format; classify lines.

Pure code: lines in, typed fields or reject reasons out; no I/O and no imports from the
rest of the package except `errors`.
"""

from warehouse.logs.classify import (
    BAD_STATUS,
    BAD_TIME,
    EMPTY,
    HEADER,
    HTTP_METHODS,
    MAX_LINE,
    NO_MATCH,
    OUT_OF_RANGE,
    PROTOCOLS,
    TOO_LONG,
    Classifier,
    Fields,
    origin_form,
    read_request,
    split_request,
    status_index,
    unescape,
    unescape_gunicorn,
)
from warehouse.logs.format import PRESETS, Field, LogFormat, compile_format, guess_format
from warehouse.logs.timestamps import TimeCache

__all__ = [
    "BAD_STATUS",
    "BAD_TIME",
    "EMPTY",
    "HEADER",
    "HTTP_METHODS",
    "MAX_LINE",
    "NO_MATCH",
    "OUT_OF_RANGE",
    "PRESETS",
    "PROTOCOLS",
    "TOO_LONG",
    "Classifier",
    "Field",
    "Fields",
    "LogFormat",
    "TimeCache",
    "compile_format",
    "guess_format",
    "origin_form",
    "read_request",
    "split_request",
    "status_index",
    "unescape",
    "unescape_gunicorn",
]
