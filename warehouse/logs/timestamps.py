"""Timestamps of log lines -> UTC ISO 8601 strings with `Z`, cached per distinct text.

Variants (a format field's `time`): `clf` (Apache `%t`, nginx `$time_local`:
`10/Oct/2000:13:55:36 -0700`), `iso` (nginx `$time_iso8601`), `sec`/`msec`/`usec` (epoch
numbers), `strftime:<fmt>` (Apache `%{...}t`). Anything the fast path cannot read goes to
python-dateutil. A time without a zone is taken as UTC. Output has whole seconds
(`2015-05-17T10:05:03Z`); fractions are truncated.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Callable

from dateutil import parser as du_parser

_MONTHS = {
    m: i
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_UTC = dt.UTC
CACHE_SIZE = 65536  # distinct time strings kept; a day of logs has at most 86,400 seconds


def _iso(value: dt.datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(_UTC)
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
        f"T{value.hour:02d}:{value.minute:02d}:{value.second:02d}Z"
    )


def _clf(text: str) -> str | None:
    """`17/May/2015:10:05:03 +0000` without strptime (10x faster), else dateutil."""
    if len(text) == 26 and text[2] == "/" and text[6] == "/" and text[11] == ":":
        try:
            mon = _MONTHS[text[3:6]]
            sign = text[21]
            off = int(text[22:24]) * 60 + int(text[24:26])
            if sign == "-":
                off = -off
            elif sign != "+":
                return None
            value = dt.datetime(
                int(text[7:11]),
                mon,
                int(text[0:2]),
                int(text[12:14]),
                int(text[15:17]),
                int(text[18:20]),
            )
        except (KeyError, ValueError):
            return None
        if off:
            value -= dt.timedelta(minutes=off)
        return _iso(value)
    return _fallback(text.replace(":", " ", 1))


def _isoform(text: str) -> str | None:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        return _fallback(text)
    return _iso(value)


def _epoch(scale: int) -> Callable[[str], str | None]:
    def convert(text: str) -> str | None:
        try:
            seconds = float(text) / scale
            return _iso(dt.datetime.fromtimestamp(int(seconds), _UTC))
        except (ValueError, OverflowError, OSError):
            return None

    return convert


def _strftime(fmt: str) -> Callable[[str], str | None]:
    def convert(text: str) -> str | None:
        try:
            return _iso(dt.datetime.strptime(text, fmt))
        except ValueError:
            return _fallback(text)

    return convert


def _fallback(text: str) -> str | None:
    """Last resort: python-dateutil; None when it cannot read the text either."""
    with warnings.catch_warnings():
        # an unknown zone name makes the time ambiguous: a bad timestamp, not UTC
        warnings.simplefilter("error", du_parser.UnknownTimezoneWarning)
        try:
            return _iso(du_parser.parse(text))
        except (ValueError, OverflowError, TypeError, du_parser.UnknownTimezoneWarning):
            return None


class _ClfByHour:
    """CLF times with a whole-hour offset: convert the hour once, then splice min:sec.

    Logs of busy sites repeat each hour thousands of times but each second only a few:
    this turns a datetime computation per distinct second into two slices and a concat.
    """

    def __init__(self) -> None:
        self.hours: dict[str, str | None] = {}

    def __call__(self, text: str) -> str | None:
        if len(text) == 26 and text[24:26] == "00" and text[14] == ":" and text[17] == ":":
            mm, ss = text[15:17], text[18:20]
            if mm.isdigit() and ss.isdigit() and mm.isascii() and "00" <= mm < "60" > ss:
                key = text[:14] + text[20:]
                try:
                    prefix = self.hours[key]
                except KeyError:
                    if len(self.hours) >= CACHE_SIZE:
                        self.hours.clear()
                    base = _clf(text[:14] + ":00:00" + text[20:])
                    prefix = self.hours[key] = base[:14] if base is not None else None
                if prefix is None:
                    return None
                return prefix + mm + ":" + ss + "Z"
        return _clf(text)


def converter(variant: str) -> Callable[[str], str | None]:
    """Return the uncached text -> ISO-UTC function of a time variant."""
    if variant == "clf":
        return _ClfByHour()
    if variant == "iso":
        return _isoform
    if variant == "sec":
        return _epoch(1)
    if variant == "msec":
        return _epoch(1000)
    if variant == "usec":
        return _epoch(1_000_000)
    if variant.startswith("strftime:"):
        return _strftime(variant[len("strftime:") :])
    return _fallback


class TimeCache:
    """Convert time texts to ISO-UTC strings, remembering recent answers (None = bad)."""

    def __init__(self, variant: str) -> None:
        self._convert = converter(variant)
        self.cache: dict[str, str | None] = {}
        self.miss = self._make_miss()

    def __call__(self, text: str) -> str | None:
        """Return the ISO-UTC string for `text`, or None when it is not a valid time."""
        value = self.cache.get(text, _UNSET)
        if value is _UNSET:
            return self.miss(text)
        return value  # type: ignore[return-value]

    def _make_miss(self) -> Callable[[str], str | None]:
        cache, convert = self.cache, self._convert

        def miss(text: str) -> str | None:
            """Convert `text` (not in the cache, or cached as bad); remember the answer."""
            if len(cache) >= CACHE_SIZE:
                cache.clear()
            try:
                value = convert(text)
            except (OverflowError, ValueError):  # e.g. year 1 shifted by a zone offset
                value = None
            cache[text] = value
            return value

        return miss


_UNSET: object = object()
