"""The rows one load reads and the state it leaves: see `warehouse.mysql.watermark`.

`plan_bounds` runs the probe session (before the export's snapshot) and returns a
`Bounds`: the WHERE for the python engine, the `--last-value`/extra WHERE for Sqoop,
whether there is nothing to read, and the watermark fields to save after the load.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

from warehouse.config import IncrementalConfig
from warehouse.mysql import schema as sch
from warehouse.mysql import watermark as wm
from warehouse.mysql.connect import Driver, close_quietly, error_code
from warehouse.mysql.plan import LoadPlan, Watermark
from warehouse.mysql.recreated import Identity, Maxes, read_identity, recreated
from warehouse.mysql.rows import Query

log = logging.getLogger(__name__)

TEMPORAL = ("date", "datetime", "timestamp")  # lastmodified columns the lag applies to


@dataclass
class Bounds:
    """What one load reads, and the watermark fields saved after it."""

    query: Query = field(default_factory=Query)
    upper: str | None = None  # MAX(check column) at the probe
    sqoop_last: str | None = None  # --last-value (None: a full load)
    sqoop_where: str = ""  # extra literal condition for Sqoop's --query
    skip: bool = False  # nothing new: no export, no load
    recreated: str | None = None  # the table was re-created or truncated: why (read it all)
    saved: dict[str, Any] = field(default_factory=dict)  # TableState fields after the load


@dataclass(frozen=True)
class _Probe:
    """What the probe session read of an incremental table, for the mode's bounds."""

    table_sql: str  # `database`.`table`
    col: str  # the check column, quoted
    inc: IncrementalConfig
    mark: Watermark  # what the last load saved
    upper: str | None  # MAX(check column) at the probe, as text (None: an empty table)
    writers: list[str] | None  # open write transactions (None: not readable)
    now: Any  # the server's time at the probe
    oldest: Any  # when the oldest open write transaction began
    incremental: bool  # read since the watermark (False: a full load)


def plan_bounds(conn: Any, driver: Driver, plan: LoadPlan) -> Bounds:
    """Probe the source and return the Bounds of `plan` (an incremental table's load);
    raises the driver's errors.

    A plan that is not `incremental` is a full load of an incremental table (every row,
    NULL check column too).
    """
    inc, column = plan.inc, plan.check
    assert inc is not None and column is not None, "plan_bounds needs an incremental table"
    mark = plan.watermark
    last_max = mark.max_value if plan.incremental else None
    cur = conn.cursor()
    try:
        table_sql = sch.qualified(plan.table.database, plan.table.table)
        upper, below = _read_max(cur, driver, table_sql, column, last_max)
        ident = read_identity(cur, driver, plan.table.database, plan.table.table, column.name)
        if plan.incremental:
            why = recreated(saved=Identity(mark.create_time, mark.table_id), now=ident,
                            seen_to=mark.seen_to if column.kind == "int" else None,
                            maxes=Maxes(last_max, upper, below), column=column.name)
            if why is not None:
                return Bounds(recreated=why)
        now, writers, oldest = wm.read_writers(cur, driver.errors, error_code)
        if writers is None:
            log.warning(
                "%s: information_schema.INNODB_TRX is not readable (grant PROCESS to hold "
                "the watermark below open transactions); only lag = %g protects late commits",
                plan.name, inc.lag_value,
            )
        elif writers:
            log.info("%s: %d open write transaction(s) at the probe", plan.name, len(writers))
        probe = _Probe(table_sql, sch.quote(column.name), inc, mark, upper, writers, now,
                       oldest, plan.incremental)
        b = _mode_bounds(conn, cur, driver, plan, column, probe)
        b.saved.update(ident.saved)
        return b
    finally:
        close_quietly(cur)


def _read_max(
    cur: Any, driver: Driver, table_sql: str, column: sch.SourceColumn, last_max: str | None
) -> tuple[str | None, bool]:
    """Return MAX(check `column`) as text (None: an empty table) and whether it is below
    `last_max`, the MAX the last load saw (compared as the server does)."""
    col = sch.quote(column.name)
    if last_max is not None and column.kind != "int":  # compared as the server does
        cur.execute(driver.with_params(
            f"SELECT CAST(MAX({col}) AS CHAR), MAX({col}) < %s FROM {table_sql}"),
            (last_max,))
    else:
        cur.execute(f"SELECT CAST(MAX({col}) AS CHAR), NULL FROM {table_sql}")
    row = cur.fetchone()
    upper = _text(row[0]) if row and row[0] is not None else None
    below = bool(row[1]) if column.kind != "int" else (
        upper is not None and last_max is not None and int(upper) < int(last_max))
    return upper, below


def _mode_bounds(
    conn: Any, cur: Any, driver: Driver, plan: LoadPlan, column: sch.SourceColumn, p: _Probe
) -> Bounds:
    """Return the Bounds of the table's mode (append on an integer `column` or another,
    lastmodified) from what the probe read."""
    if p.inc.mode == "append" and column.kind == "int":
        return _append(conn, driver, p)
    if p.inc.mode == "append":
        return _plain_append(p)
    if column.data_type not in TEMPORAL:
        log.warning(
            "%s: lastmodified column %s is %s, not a date/time: no lag window and "
            "no hold below open transactions apply, so rows committed late are "
            "missed until a --full (use a DATE/DATETIME/TIMESTAMP column)",
            plan.name, column.name, column.column_type,
        )
    return _lastmodified(cur, p, plan.table.columns, bind=driver.with_params)


def _full(col: str, upper: str | None) -> Query:
    if upper is None:
        return Query()
    return Query().and_(f"{col} <= %s OR {col} IS NULL", upper)


def _append(conn: Any, driver: Driver, p: _Probe) -> Bounds:
    """Append on an integer column: the new ids and the gaps still missing."""
    lag, mark, writers, incremental = p.inc.lag_value, p.mark, p.writers, p.incremental
    seen_to, missing = mark.seen_to, [list(r) for r in mark.missing]
    if p.upper is None:  # an empty table
        b = Bounds(upper=None, skip=incremental)
        b.saved = _append_state(seen_to, missing, writers)
        return b
    upper = int(p.upper)
    if incremental and seen_to is not None:
        wanted = wm._merge(missing + ([[seen_to + 1, upper]] if upper > seen_to else []))
        where = wm.ranges_sql(p.col, wanted) if wanted else "1 = 0"
        b = Bounds(query=Query().and_(where), upper=p.upper, skip=not wanted,
                   sqoop_last=str(wanted[0][0] - 1) if wanted else None, sqoop_where=where)
    else:
        # a full load: from here on the gaps of the last `lag` ids are checked, and every
        # gap while a write transaction is open (its rows may commit below MAX)
        first = 1 if writers else max(upper - int(lag), 0) + 1
        wanted = [[first, upper]] if first <= upper else []
        b = Bounds(query=_full(p.col, p.upper), upper=p.upper)
    gaps: wm.Ranges = []
    if wanted:
        ids = _ids(conn, driver, p.table_sql, p.col, wanted)
        try:
            gaps = wm.find_missing(ids, wanted)
        finally:
            ids.close()  # the streaming cursor must be closed before the next statement
    kept = wm.prune_missing(gaps, upper=upper, lag=lag, seen_to=seen_to, writers=writers,
                            old_writers=mark.writers)
    b.saved = _append_state(max(upper, seen_to or upper), kept, writers)
    return b


def _append_state(seen_to: int | None, missing: wm.Ranges, writers: list[str] | None
                  ) -> dict[str, Any]:
    last = (missing[0][0] - 1) if missing else seen_to
    return {
        "last_value": str(last) if last is not None else None,
        "max_value": str(seen_to) if seen_to is not None else None,
        "missing": missing,
        "writers": writers,
        "window": None,
    }


def _ids(conn: Any, driver: Driver, table_sql: str, col: str, wanted: wm.Ranges
         ) -> Generator[int, None, None]:
    """Stream the ids present in `wanted`, ascending."""
    cur = driver.stream_cursor(conn)
    try:
        cur.execute(f"SELECT {col} FROM {table_sql} WHERE {wm.ranges_sql(col, wanted)} "
                    f"ORDER BY {col}")
        while rows := cur.fetchmany(10_000):
            for r in rows:
                yield int(r[0])
    finally:
        close_quietly(cur)


def _plain_append(p: _Probe) -> Bounds:
    """Append on a non-integer column: `> watermark` (no late-commit protection)."""
    col, upper, last = p.col, p.upper, p.mark.last
    b = Bounds(upper=upper)
    if not p.incremental:
        b.query = _full(col, upper)
    elif upper is None:
        b.skip = True
    else:
        b.query = Query().and_(f"{col} <= %s", upper)
        if last is not None:
            b.query = b.query.and_(f"{col} > %s", last)
        b.sqoop_last = last
    new = upper if upper is not None else last
    b.saved = {"last_value": new, "max_value": new, "missing": [], "writers": None,
               "window": None}
    return b


def _lastmodified(
    cur: Any, p: _Probe, columns: list[sch.SourceColumn], *, bind: Callable[[str], str]
) -> Bounds:
    """Lastmodified: from the lag window's low end, unless the window is as it was."""
    col, upper, mark = p.col, p.upper, p.mark
    row = [sch.quote(c.name) for c in columns]
    b = Bounds(upper=upper)
    if upper is None:
        b.skip = p.incremental
        b.saved = {"last_value": mark.last, "max_value": None, "window": None, "missing": [],
                   "writers": p.writers}
        return b
    if not p.incremental:
        b.query = _full(col, upper)
    else:
        window = mark.window
        if (window and mark.max_value == upper
                and wm.window_checksum(cur, p.table_sql, row, col, window["low"],
                                       window["high"], bind=bind) == window["sum"]):
            b.skip = True  # nothing newer, and the re-read window is as it was
        b.query = Query().and_(f"{col} <= %s", upper)
        if mark.low is not None:
            b.query = b.query.and_(f"{col} >= %s", mark.low)
        b.sqoop_last = mark.low
    held = wm.held_watermark(upper, p.now, p.oldest) if p.writers is not None else upper
    next_low = wm.lower_bound(held, p.inc.lag_value)
    b.saved = {
        "last_value": held,
        "max_value": upper,
        "missing": [],
        "writers": p.writers,
        "window": {"low": next_low, "high": upper,
                   "sum": wm.window_checksum(cur, p.table_sql, row, col, next_low, upper,
                                            bind=bind)},
    }
    return b


def _text(v: Any) -> str:
    return v.decode("utf-8") if isinstance(v, bytes | bytearray) else str(v)
