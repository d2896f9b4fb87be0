"""How a Django path() converter changes the text it matched, as the dump records it.

Needs Django (imported when called); used by `warehouse.urls.dump` only. The kinds are
those of `warehouse.urls.resolver.CONVERTERS`.
"""

from __future__ import annotations

import logging
import re
from typing import Any

# Every warning of the dump is logged under the name users know from `urls dump`.
log = logging.getLogger("warehouse.urls.dump")

UNKNOWN = "?"
# Texts to classify a custom converter by: those its regex matches are given to to_python.
_PROBES = (
    "0", "7", "12", "0012", "2013", "65535", "123456789", "a", "abc", "ABC", "Abc", "x1",
    "abc-def_1", "deadbeef", "0a1b", "json", "2013-05-17", "a.b", "a b", "a/b", "-", "_",
    "00000000-0000-0000-0000-000000000000", "9d2a7b3c-1e4f-4a6b-8c9d-0e1f2a3b4c5d",
)  # fmt: skip


def converter_kinds(route: Any) -> dict[str, str]:
    """Return the `convert` kind of each group of a path() route (a Django RoutePattern)
    whose converter changes the text; warns, naming the route, for each it cannot
    reproduce (params then hold the matched text)."""
    kinds: dict[str, str] = {}
    for name, conv in route.converters.items():
        kind = converter_kind(conv)
        if kind == UNKNOWN:
            cls = type(conv)
            log.warning(
                "URL pattern %s: converter %s.%s of <%s> turns the matched text into a "
                "value the dump cannot reproduce (or rejects some matches); params hold "
                "the matched text",
                route.describe(), cls.__module__, cls.__qualname__, name,
            )  # fmt: skip
        elif kind is not None:
            kinds[name] = kind
    return kinds


def converter_kind(conv: Any) -> str | None:
    """Return the dump's `convert` kind for a path() converter, None when Django keeps the
    matched text (or an equal value), or UNKNOWN when it cannot be reproduced."""
    from django.urls.converters import IntConverter, StringConverter, UUIDConverter

    cls = type(conv)
    fn = getattr(cls, "to_python", None)
    if fn is IntConverter.to_python:
        return "int"
    if fn in (StringConverter.to_python, UUIDConverter.to_python):
        return None  # a UUID's text is exactly str(UUID) (the regex allows lower case only)
    if cls.__module__ == "rest_framework.urlpatterns" and cls.__name__ == "FormatSuffixConverter":
        return "drf_format_suffix"
    # A custom converter: call it on the sample texts its regex matches.
    try:
        regex = re.compile(str(conv.regex))
    except (re.error, AttributeError, TypeError):
        return UNKNOWN
    same = ints = 0
    for text in _PROBES:
        if not regex.fullmatch(text):
            continue
        try:
            value = conv.to_python(text)
        except Exception:
            return UNKNOWN  # it rejects a text its regex matches
        if type(value) is str and value == text:
            same += 1
        elif type(value) is int and text.isdecimal() and value == int(text):
            ints += 1
        else:
            return UNKNOWN
    if same and not ints:
        return None
    if ints and not same:
        return "int"
    return UNKNOWN
