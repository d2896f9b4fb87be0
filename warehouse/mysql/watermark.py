"""Incremental bounds that survive late commits: lag windows, open transactions, gaps.

An AUTO_INCREMENT id or an ON UPDATE timestamp is taken when a statement runs, not when
its transaction commits, so "the largest value seen" skips rows that commit later with
smaller values. Before each incremental export, one probe session (`probe`) reads, in
this order, MAX(check column), the open write transactions of
information_schema.INNODB_TRX (the server's own clock) and, per mode:

- lastmodified (a DATE/DATETIME/TIMESTAMP column): the next load reads
  `column >= watermark - lag`. The saved watermark is held at
  min(MAX, probe time, start of the oldest open write transaction), so a transaction
  open at the probe cannot commit rows below it. A checksum of the rows (every column)
  in the window the next load will re-read lets that load add nothing when nothing
  changed.
- append (an integer column): the ids in (last MAX, MAX] absent from the table at the
  probe are "missing" (open transactions, rollbacks, deletes); the next load reads the
  new ids plus the missing ones, so the files hold each id once. A missing id is
  forgotten when it can no longer arrive: every write transaction open at the probe
  that saw it has ended (or none is open), and it is more than `lag` ids behind MAX.

Where INNODB_TRX is unreadable (it needs the PROCESS privilege), only `lag` protects:
lastmodified re-reads `lag` seconds; append re-checks missing ids within `lag` ids.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

MAX_RANGES = 1000  # missing-id ranges tracked per table (the newest are kept)
NO_INNODB_TRX = {1227, 1142, 1109, 1146}  # PROCESS missing, or no such table

_DT_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?)?$")


# -- time text ---------------------------------------------------------------------------


def parse_time(text: str | None) -> tuple[dt.datetime, int] | None:
    """Return (datetime, fraction digits; -1 for a DATE) of server text, None if not a date."""
    if not text:
        return None
    m = _DT_RE.match(text.strip())
    if not m:
        return None
    y, mo, d, h, mi, s, frac = m.groups()
    try:
        value = dt.datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0),
                            int((frac or "0").ljust(6, "0")))
    except ValueError:  # zero dates such as 0000-00-00
        return None
    return value, (-1 if h is None else len(frac or ""))


def format_time(value: dt.datetime, digits: int) -> str:
    """Return `value` as server text with `digits` fraction digits (-1: a DATE), rounded down."""
    day = f"{value.year:04d}-{value.month:02d}-{value.day:02d}"  # strftime drops year zeros
    if digits < 0:
        return day
    text = f"{day} {value.hour:02d}:{value.minute:02d}:{value.second:02d}"
    return f"{text}.{value.microsecond:06d}"[: len(text) + 1 + digits] if digits else text


def lower_bound(watermark: str | None, lag_seconds: float) -> str | None:
    """Return `watermark - lag` as server text; unchanged when it is not a date/time."""
    parsed = parse_time(watermark)
    if parsed is None:
        return watermark
    value, digits = parsed
    try:
        return format_time(value - dt.timedelta(seconds=lag_seconds), digits)
    except OverflowError:
        return format_time(dt.datetime(1, 1, 1), digits)


def held_watermark(upper: str, now: dt.datetime | None, oldest: dt.datetime | None) -> str:
    """Return min(upper, now, oldest open write transaction) in `upper`'s text format."""
    parsed = parse_time(upper)
    if parsed is None:
        return upper
    value, digits = parsed
    floor = min([t for t in (now, oldest) if t is not None], default=None)
    if floor is None or value <= floor:
        return upper
    return format_time(floor, digits)


# -- missing ids (append) ----------------------------------------------------------------


Ranges = list[list[int]]  # sorted, disjoint, inclusive [first, last] pairs


def ranges_sql(column: str, ranges: Ranges) -> str:
    """Return `(col BETWEEN a AND b OR ...)` for integer ranges (literals, no parameters)."""
    parts = [f"{column} = {a}" if a == b else f"{column} BETWEEN {a} AND {b}" for a, b in ranges]
    return "(" + " OR ".join(parts) + ")" if parts else "1 = 0"


def find_missing(present: Sequence[int] | Any, wanted: Ranges) -> Ranges:
    """Return the parts of `wanted` not in `present` (ascending ints, streamed once)."""
    out: Ranges = []
    it = iter(present)
    nxt = next(it, None)
    for a, b in wanted:
        pos = a
        while pos <= b:
            while nxt is not None and nxt < pos:
                nxt = next(it, None)
            if nxt is None or nxt > b:
                out.append([pos, b])
                break
            if nxt > pos:
                out.append([pos, nxt - 1])
            pos = nxt + 1
    return _merge(out)


def _merge(ranges: Ranges) -> Ranges:
    out: Ranges = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return out


def prune_missing(
    missing: Ranges,
    *,
    upper: int,
    lag: float,
    seen_to: int | None,
    writers: Sequence[str] | None,
    old_writers: Sequence[str] | None,
) -> Ranges:
    """Return the missing ranges still worth re-reading at the next load.

    Kept: ranges within `lag` ids of `upper`; with INNODB_TRX readable (`writers` not
    None), also those an open transaction may still commit: every id when a writer of the
    previous probe is still open, else the ids above the previous MAX (`seen_to`) when
    any writer is open now. Where INNODB_TRX is unreadable, only the lag keeps them.
    """
    floor = upper - int(lag)  # ids <= floor are forgotten unless a transaction holds them
    if writers:
        still = bool(set(writers) & set(old_writers or ()))
        if still or seen_to is None:  # (seen_to None: a full load, nothing known before)
            floor = min(floor, min((a for a, _ in missing), default=floor) - 1)
        elif seen_to is not None:
            floor = min(floor, seen_to)
    kept = [[max(a, floor + 1), b] for a, b in missing if b > floor]
    if len(kept) > MAX_RANGES:
        log.warning("%d ranges of missing ids; only the newest %d are re-read", len(kept),
                    MAX_RANGES)
        kept = kept[-MAX_RANGES:]
    return kept


# -- the probe ---------------------------------------------------------------------------


@dataclass
class Probe:
    """What the probe session saw (before the export's snapshot)."""

    upper: str | None  # MAX(check column) as text; None for an empty table
    now: dt.datetime | None = None  # the server's UTC time, when INNODB_TRX was readable
    writers: list[str] | None = None  # open write transactions; None: INNODB_TRX unreadable
    oldest: dt.datetime | None = None  # UTC start of the oldest of them


def read_writers(cur: Any, error_types: tuple[type[BaseException], ...],
                 code_of: Any) -> tuple[dt.datetime | None, list[str] | None, dt.datetime | None]:
    """Return (server UTC now, open write transaction ids, oldest start) or Nones.

    The transaction's age is computed by the server (TIMESTAMPDIFF against NOW), so the
    session time zone does not matter. Raises the driver error unless it means that
    INNODB_TRX cannot be read (then the result is (None, None, None)).
    """
    try:
        # the clock first: a transaction not listed below began writing after this time
        cur.execute("SELECT CAST(UTC_TIMESTAMP(6) AS CHAR)")
        now_row = cur.fetchone()
        cur.execute(
            "SELECT CAST(trx_id AS CHAR), TIMESTAMPDIFF(MICROSECOND, trx_started, NOW(6)) "
            "FROM information_schema.INNODB_TRX "
            "WHERE trx_mysql_thread_id <> CONNECTION_ID() AND trx_rows_modified > 0"
        )
        rows = list(cur.fetchall())
    except error_types as exc:
        if code_of(exc) in NO_INNODB_TRX:
            return None, None, None
        raise
    now_parsed = parse_time(_text(now_row[0]))
    now = now_parsed[0] if now_parsed else None
    ids = sorted(_text(r[0]) for r in rows)
    ages = [int(r[1]) for r in rows if r[1] is not None]
    oldest = now - dt.timedelta(microseconds=max(ages)) if (now and ages) else None
    return now, ids, oldest


def window_checksum(cur: Any, table_sql: str, columns_sql: Sequence[str], column: str,
                    low: str | None, high: str, *,
                    bind: Callable[[str], str] = str) -> list[Any]:
    """Return [count, xor of 64-bit MD5 prefixes] of whole rows over `column` in [low, high].

    Every column counts, not only (key, column): an update within the column's resolution
    (the same second, the same DATE) leaves the column as it was, and must still be seen.
    Each column is hashed on its own (MD5 text is ASCII: no charset mixing; NULL is `n`).
    `bind` readies the SQL for parameters (`Driver.with_params`).
    """
    parts = ", ".join(f"IFNULL(MD5({c}), 'n')" for c in columns_sql)
    where = f"{column} <= %s" + (f" AND {column} >= %s" if low is not None else "")
    params = (high, low) if low is not None else (high,)
    cur.execute(
        bind(f"SELECT COUNT(*), CAST(BIT_XOR(CAST(CONV(LEFT(MD5(CONCAT_WS(CHAR(31), {parts})), "
             f"16), 16, 10) AS UNSIGNED)) AS CHAR) FROM {table_sql} WHERE {where}"),
        params,
    )
    row = cur.fetchone()
    return [int(row[0]), _text(row[1]) if row[1] is not None else "0"]


def _text(v: Any) -> str:
    return v.decode("utf-8") if isinstance(v, bytes | bytearray) else str(v)
