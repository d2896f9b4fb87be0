"""Zero and invalid dates: which Hive type a table's DATE/DATETIME/TIMESTAMP columns get.

MySQL keeps `0000-00-00`, `2020-00-15` or `2021-02-30` when a session's sql_mode allowed
them at the time of the write (MariaDB's default does; MySQL 8's strict default does not,
but a stricter server keeps the rows written before). Hive's DATE and TIMESTAMP cannot
hold them: Spark reads NULL, or fails the query with CAST_INVALID_INPUT under ANSI mode.
The files always hold the server's text; the Hive type follows the data, not the
session's sql_mode. The columns are STRING when any of these holds:

- the server's global sql_mode allows zero dates (they may be written at any time);
- the export found a zero or invalid date in any of the table's date columns
  (`DateCheck`, run on every value the python engine writes);
- an earlier load the table keeps was registered with STRING (its files may hold them).

A table registered with DATE/TIMESTAMP whose new load finds one is switched to STRING for
all its loads, with a WARNING (the Hive table is re-created from the new DDL; external:
no data moves). A full load that finds none under a strict server goes back to
DATE/TIMESTAMP.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

log = logging.getLogger(__name__)

DATE_TYPES = ("date", "datetime", "timestamp")

_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_SAFE_MONTH_DAY = frozenset(  # "MM-DD" valid in every year (02-29 needs a leap year)
    f"{m:02d}-{d:02d}" for m, n in enumerate(_DAYS, 1) for d in range(1, n + 1)
)


def unsafe_date(text: str) -> bool:
    """Return True when the server's date text (`YYYY-MM-DD[ ...]`) is not a date Hive can
    hold: a zero part, year 0000, or a day the month lacks."""
    md = text[5:10]
    if md in _SAFE_MONTH_DAY:
        return text[:4] == "0000"
    if md != "02-29" or not text[:4].isdigit():
        return True
    year = int(text[:4])
    return year == 0 or not (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0))


class DateCheck:
    """Converters that pass date values through and note the columns holding unsafe ones."""

    def __init__(self) -> None:
        self.bad: set[str] = set()

    def converter(self, name: str, *, text_bytes: bool) -> Any:
        """Return the converter of column `name` (bytes decoded as ASCII with `text_bytes`)."""
        bad, safe = self.bad, _SAFE_MONTH_DAY

        def check(v: Any) -> Any:  # the common case costs two slices and a set lookup
            if v is not None and (v[5:10] not in safe or v[:4] == "0000") \
                    and unsafe_date(v):
                bad.add(name)
            return v

        def check_bytes(v: Any) -> Any:
            return check(v.decode("ascii") if isinstance(v, bytes) else v)

        return check_bytes if text_bytes else check


def has_dates(columns: Sequence[Any]) -> bool:
    """Return True when some column is DATE, DATETIME or TIMESTAMP."""
    return any(c.data_type in DATE_TYPES for c in columns)


def string_dates(name: str, *, server_allows: bool, found: Sequence[str],
                 kept_string: bool, was_string: bool | None) -> bool:
    """Return whether the table's date columns are STRING in Hive (see the module).

    `found`: the columns this export found unsafe dates in; `kept_string`: a load the
    table keeps was registered with STRING; `was_string`: the type of the last load (None:
    none). Logs a WARNING when found dates switch a DATE/TIMESTAMP table to STRING.
    """
    string = server_allows or bool(found) or kept_string
    if found and was_string is False:
        log.warning(
            "%s: column(s) %s hold zero or invalid dates (written under a laxer sql_mode "
            "than the server's now); its DATE/DATETIME/TIMESTAMP columns become STRING in "
            "Hive, for all its loads", name, ", ".join(sorted(found)),
        )
    elif found:
        log.info("%s: column(s) %s hold zero or invalid dates (kept as STRING)", name,
                 ", ".join(sorted(found)))
    return string
