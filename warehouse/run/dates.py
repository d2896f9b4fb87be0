"""Which inputs and dates a night's stages take: a day's `[logs] input`, a job's dates."""

from __future__ import annotations

import datetime as dt
import re
import string

from warehouse.aggregate.plan import input_dates
from warehouse.errors import ConfigError


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
