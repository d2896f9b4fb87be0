"""Timestamps of log lines -> UTC ISO 8601 strings with `Z`, cached per distinct text.

Variants (a format field's `time`): `clf` (Apache `%t`, nginx `$time_local`:
`10/Oct/2000:13:55:36 -0700`), `iso` (nginx `$time_iso8601`), `sec`/`msec`/`usec` (epoch
numbers), `strftime:<fmt>` (Apache `%{...}t`). Anything the fast path cannot read goes to
python-dateutil, which must find a whole date, hour and minute in it (it would take what
is missing from today). A time without a zone is taken as UTC. Output has whole seconds
(`2015-05-17T10:05:03Z`); fractions are truncated.

Rejected (None, a "bad timestamp"): text that is not ASCII (a non-ASCII digit is not a
digit here), UTC offsets beyond +-14:00 or with minutes over 59 (`+2500`, `+0099`), and
a second `:60` unless it is a real leap second: 23:59:60 UTC on the last day of a month.
A leap second is read as 23:59:59 (POSIX time has no :60; the system clock that stamps
the log repeats 23:59:59 too), for `%t`/`$time_local` and ISO times.
"""

from __future__ import annotations

import datetime as dt
import re
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
MAX_OFFSET = dt.timedelta(hours=14)  # the widest real UTC offsets: -12:00 and +14:00
_CLF = re.compile(
    r"([0-9]{2})/([A-Z][a-z]{2})/([0-9]{4}):([0-9]{2}):([0-9]{2}):([0-9]{2}) ([+-])([0-9]{4})"
)
_NONE = "?"  # not a prefix: marks an hour not seen yet (identity compared)
_SIXTY = frozenset(f"{i:02d}" for i in range(60))
_OFFSET = re.compile(r"[+-]([0-9]{2}):?([0-9]{2})\Z")
_LEAP = re.compile(r"(.*[0-9]{2}:[0-9]{2}:)60((?:[.,][0-9]*)?(?:[ ]?(?:[+-][0-9:]{4,5}|Z|UTC|GMT))?)\Z")


def _iso(value: dt.datetime) -> str:
    if value.tzinfo is not None:
        off = value.utcoffset()
        if off is not None and (abs(off) > MAX_OFFSET or off.seconds % 60):
            raise ValueError(f"UTC offset {off} out of range")
        value = value.astimezone(_UTC)
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
        f"T{value.hour:02d}:{value.minute:02d}:{value.second:02d}Z"
    )


def _clf(text: str) -> str | None:
    """`17/May/2015:10:05:03 +0000` without strptime (10x faster), else dateutil."""
    m = _CLF.fullmatch(text)
    if m is None:
        return _fallback(text.replace(":", " ", 1)) if text.isascii() else None
    day, mon, year, hh, mm, ss, sign, zone = m.groups()
    oh, om = int(zone[:2]), int(zone[2:])
    if om > 59 or dt.timedelta(hours=oh, minutes=om) > MAX_OFFSET or mon not in _MONTHS:
        return None
    leap = ss == "60"
    try:
        value = dt.datetime(
            int(year), _MONTHS[mon], int(day), int(hh), int(mm), 59 if leap else int(ss)
        )
    except ValueError:
        return None
    off = oh * 60 + om
    if off:
        value -= dt.timedelta(minutes=off if sign == "+" else -off)
    return _leap_second(value) if leap else _iso(value)


def _leap_second(value: dt.datetime) -> str | None:
    """Return the ISO form of a time read with :59 in place of :60, if a leap second."""
    utc = value.astimezone(_UTC) if value.tzinfo is not None else value
    if (utc.hour, utc.minute) != (23, 59) or (utc + dt.timedelta(days=1)).day != 1:
        return None  # leap seconds are inserted only at 23:59:60 UTC, at a month's end
    return _iso(value)


def _bad_offset(text: str) -> bool:
    """True when `text` ends in a UTC offset no clock writes (`+2500`, `+00:99`)."""
    off = _OFFSET.search(text)
    return off is not None and (int(off.group(2)) > 59 or int(off.group(1)) > 14)


def _isoform(text: str) -> str | None:
    if _bad_offset(text):
        return None  # fromisoformat takes +00:99 as 1:39
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        leap = _LEAP.fullmatch(text)
        if leap is None:
            return _fallback(text)
        try:
            value = dt.datetime.fromisoformat(leap.group(1) + "59" + leap.group(2))
        except ValueError:
            return None
        return _leap_second(value)
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


# dateutil fills what a text lacks from its `default`; a text read alike with both of these
# has its year, month, day, hour and minute (seconds may be absent: :00)
_DEFAULTS = (dt.datetime(1904, 2, 2, 2, 2), dt.datetime(1908, 3, 3, 3, 3))


def _fallback(text: str) -> str | None:
    """Last resort: python-dateutil; None when it cannot read the text either, or when the
    text lacks part of the date or the hour and minute (`10:05:03`, `May 17`, `5`), which
    dateutil would take from today: events under a made-up date that moves each run."""
    if _bad_offset(text):
        return None
    with warnings.catch_warnings():
        # an unknown zone name makes the time ambiguous: a bad timestamp, not UTC
        warnings.simplefilter("error", du_parser.UnknownTimezoneWarning)
        try:
            value, other = (du_parser.parse(text, default=d) for d in _DEFAULTS)
        except (ValueError, OverflowError, TypeError, du_parser.UnknownTimezoneWarning):
            return None
    if value.replace(second=0, microsecond=0) != other.replace(second=0, microsecond=0):
        return None
    return _iso(value)


def _clf_by_hour() -> Callable[[str], str | None]:
    """CLF times with a whole-hour offset: convert the hour once, then splice min:sec.

    Logs of busy sites repeat each hour thousands of times but each second only a few:
    this turns a datetime computation per distinct second into two slices and a concat.
    (A closure: calling it is cheaper than an instance's __call__ on this hot path.)
    """
    hours: dict[str, str | None] = {}

    def convert(text: str) -> str | None:
        if len(text) == 26 and text[24:26] == "00" and text[14] == ":" and text[17] == ":":
            mm, ss = text[15:17], text[18:20]
            if mm in _SIXTY and ss in _SIXTY:  # ASCII 00-59 (int() takes any digits)
                key = text[:14] + text[20:]
                prefix = hours.get(key, _NONE)
                if prefix is _NONE:
                    if len(hours) >= CACHE_SIZE:
                        hours.clear()
                    base = _clf(text[:14] + ":00:00" + text[20:])
                    prefix = hours[key] = base[:14] if base is not None else None
                if prefix is None:
                    return None
                return prefix + mm + ":" + ss + "Z"
        return _clf(text)

    return convert


def converter(variant: str) -> Callable[[str], str | None]:
    """Return the uncached text -> ISO-UTC function of a time variant."""
    if variant == "clf":
        return _clf_by_hour()  # checks its digits itself, on the fast path
    convert: Callable[[str], str | None]
    if variant == "iso":
        convert = _isoform
    elif variant == "sec":
        convert = _epoch(1)
    elif variant == "msec":
        convert = _epoch(1000)
    elif variant == "usec":
        convert = _epoch(1_000_000)
    elif variant.startswith("strftime:"):
        convert = _strftime(variant[len("strftime:") :])
    else:
        convert = _fallback

    def ascii_only(text: str) -> str | None:
        # a non-ASCII digit (`5٣`) is no digit to a log reader; int() would take it
        return convert(text) if text.isascii() else None

    return ascii_only


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
