"""How a Django path() converter changes the text it matched, as the dump records it.

Needs Django (imported when called); used by `warehouse.urls.dump` only. The kinds are
those of `warehouse.urls.resolver.CONVERTERS`. A custom converter is classified by calling
its `to_python` on sample texts its regex matches: fixed probes (numbers, words, case,
percent-escapes, hex digests of 32/36/40/64 characters) and texts built from the regex
itself, so that a converter whose regex none of the probes match is classified too.
"""

from __future__ import annotations

import logging
import re
from re import _constants as _c  # type: ignore[attr-defined]
from re import _parser  # type: ignore[attr-defined]
from typing import Any
from urllib.parse import unquote

# Every warning of the dump is logged under the name users know from `urls dump`.
log = logging.getLogger("warehouse.urls.dump")

UNKNOWN = "?"
_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
# Texts to classify a custom converter by: those its regex matches are given to to_python.
_PROBES = (
    "0", "7", "12", "0012", "2013", "65535", "123456789", "1234567890123", "a", "abc", "ABC",
    "Abc", "AbC123", "x1", "abc-def_1", "deadbeef", "DEADBEEF", "0a1b", "json", "2013-05-17",
    "a.b", "a b", "a/b", "-", "_", "a%20b", "my%20tag", "%41bc", "100%25", "a%2Fb",
    "%E2%9C%93", "%e2%9c%93", "00000000-0000-0000-0000-000000000000",
    "9d2a7b3c-1e4f-4a6b-8c9d-0e1f2a3b4c5d", "9D2A7B3C-1E4F-4A6B-8C9D-0E1F2A3B4C5D",
    _SHA256[:32], _SHA256[:32].upper(), _SHA256[:40], _SHA256[:40].upper(), _SHA256,
    _SHA256.upper(),
)  # fmt: skip


def converter_kinds(route: Any, warned: set[type] | None = None) -> dict[str, str]:
    """Return the `convert` kind of each group of a path() route (a Django RoutePattern)
    whose converter changes the text; warns, naming the route, for each converter it cannot
    reproduce (params then hold the matched text), once per converter class in `warned`."""
    kinds: dict[str, str] = {}
    for name, conv in route.converters.items():
        kind = converter_kind(conv)
        cls = type(conv)
        if kind == UNKNOWN and (warned is None or cls not in warned):
            if warned is not None:
                warned.add(cls)
            log.warning(
                "URL pattern %s: converter %s.%s of <%s> turns the matched text into a "
                "value the dump cannot reproduce (or rejects some matches); params hold "
                "the matched text (warned once per converter)",
                route.describe(), cls.__module__, cls.__qualname__, name,
            )  # fmt: skip
        elif kind not in (None, UNKNOWN):
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
    return _probed_kind(conv)


def _probed_kind(conv: Any) -> str | None:
    """Return the kind of a custom converter (as `converter_kind`): it is called on the
    sample texts its regex matches."""
    try:
        regex = re.compile(str(conv.regex))
    except (re.error, AttributeError, TypeError):
        return UNKNOWN
    values = []
    for text in dict.fromkeys([*_PROBES, *regex_samples(regex.pattern)]):
        if not regex.fullmatch(text):
            continue
        try:
            values.append((text, conv.to_python(text)))
        except Exception:
            return UNKNOWN  # it rejects a text its regex matches
    if not values:
        return UNKNOWN
    if all(type(v) is str and v == t for t, v in values):
        return None
    if all(type(v) is str and v == unquote(t) for t, v in values):
        return "unquote"  # e.g. a QuoteConverter: `to_python = urllib.parse.unquote`
    if all(type(v) is int and t.isdecimal() and v == int(t) for t, v in values):
        return "int"
    return UNKNOWN


def regex_samples(pattern: str) -> list[str]:
    """Return texts built from `pattern`'s parse tree (a short and a long choice at every
    repeat, class and alternation); the caller checks that the regex matches them."""
    try:
        tree = _parser.parse(pattern)
    except (re.error, RecursionError):
        return []
    return [_build(tree, long) for long in (False, True)]


# Characters tried, in order, for a character class (after its own first and last member).
_TRY = "a0A-_.%z9Z~ "


def _build(items: Any, long: bool) -> str:
    out = []
    for op, av in items:
        if op is _c.LITERAL:
            out.append(chr(av))
        elif op is _c.NOT_LITERAL:
            out.append("a" if av != ord("a") else "b")
        elif op is _c.ANY:
            out.append("a")
        elif op is _c.IN:
            out.append(_pick(av, long))
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT):
            lo, hi, sub = av
            n = min(hi, max(lo, 8)) if long else min(hi, max(lo, 1))
            out.append(_build(sub, long) * n)
        elif op is _c.SUBPATTERN:
            out.append(_build(av[-1], long))
        elif op is _c.ATOMIC_GROUP:
            out.append(_build(av, long))
        elif op is _c.BRANCH:
            branches = av[1]
            out.append(_build(branches[-1] if long else branches[0], long))
        # AT, ASSERT, ASSERT_NOT, GROUPREF...: nothing (the caller's fullmatch decides)
    return "".join(out)


def _pick(items: Any, long: bool) -> str:
    """A character of the class `items` (a long choice takes one from its end)."""
    ends = [chr(av) for op, av in items if op is _c.LITERAL]
    ends += [chr(x) for op, av in items if op is _c.RANGE for x in av]
    candidates = (ends[::-1] if long else ends) + list(_TRY[::-1] if long else _TRY)
    for ch in candidates:
        if _in_class(ch, items):
            return ch
    return "a"


def _in_class(ch: str, items: Any) -> bool:
    negate = False
    hit = False
    for op, av in items:
        if op is _c.NEGATE:
            negate = True
        elif op is _c.LITERAL:
            hit |= ord(ch) == av
        elif op is _c.RANGE:
            hit |= av[0] <= ord(ch) <= av[1]
        elif op is _c.CATEGORY:
            hit |= _category(ch, str(av))
    return hit != negate


def _category(ch: str, name: str) -> bool:
    want = not name.startswith("CATEGORY_NOT_")
    if "DIGIT" in name:
        return ch.isdigit() == want
    if "SPACE" in name:
        return ch.isspace() == want
    if "WORD" in name:
        return (ch.isalnum() or ch == "_") == want
    return False
