"""Which inputs and dates a night's stages take: a day's `[logs] input`, a job's dates."""

from __future__ import annotations

import datetime as dt
import re
import string

from warehouse.errors import ConfigError
from warehouse.schema import input_dates

EARLIEST = dt.date(1970, 1, 1)  # no web server logged before the epoch


def check_dates(dates: list[dt.date], max_dates: int) -> None:
    """Raise ConfigError (exit 2, one line) when `run` is asked for dates no log can hold
    (before 1970, or after tomorrow UTC) or for more than `max_dates` ([run] max_dates)
    dates: a typo must not hold the run lock for hours writing records of empty days."""
    if not dates:
        return
    first, last = min(dates), max(dates)
    latest = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
    if first < EARLIEST:
        raise ConfigError(
            f"run: date {first} is before {EARLIEST}, earlier than any log; check --date/--from"
        )
    if last > latest:
        raise ConfigError(
            f"run: date {last} is after tomorrow ({latest} UTC), its logs cannot exist yet; "
            "check --date/--to"
        )
    count = len(set(dates))
    if count > max_dates:
        raise ConfigError(
            f"run: {count} dates ({first} to {last}) are more than [run] max_dates = "
            f"{max_dates}; run a shorter range, or raise [run] max_dates for a long backfill"
        )


def job_dates(job: str, partitions: list[str]) -> list[dt.date]:
    """Return the dates to aggregate for touched partitions.

    A job that reads neighbouring days (sessions: a session crosses midnight) is also
    re-run for the day before each touched date, whose result the new events can change;
    never for later days, which their own nights produce.
    """
    days = sorted({dt.date.fromisoformat(p) for p in partitions})
    if not days:
        return []
    return [d for d in input_dates(job, days) if d <= days[-1]]


_STRFTIME_WIDTH = re.compile(r"%[-_0^#]*[1-9]")


def day_input(template: str, day: dt.date) -> str:
    """Return `[logs] input` expanded for `day` ({date:%Y/%m/%d}); raises ConfigError.

    Only `{date}` fields with a strftime spec are allowed: attributes (`{date.foo}`),
    indexes, conversions (`!r`) and padding widths (`%9999Y`) are refused before anything
    is formatted, so a typo cannot raise or allocate gigabytes."""

    def bad(why: str) -> ConfigError:
        return ConfigError(
            f"[logs] input {template!r} cannot be expanded ({why}); use {{date:%Y/%m/%d}}"
        )

    try:
        fields = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise bad(str(exc)) from None
    for _, name, spec, conversion in fields:
        if name is None:
            continue
        if name != "date" or conversion is not None:
            raise bad(f"{{{name}{'!' + conversion if conversion else ''}}} is not {{date}}")
        if "{" in (spec or "") or _STRFTIME_WIDTH.search(spec or ""):
            raise bad(f"format spec {spec!r} is not a plain strftime pattern")
    moment = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    try:
        return template.format(date=moment)
    except (KeyError, IndexError, ValueError, AttributeError, TypeError, OverflowError) as exc:
        raise bad(str(exc)) from None
