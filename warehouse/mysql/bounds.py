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
from warehouse.mysql.recreated import read_identity, recreated
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


def plan_bounds(conn: Any, driver: Driver, plan: LoadPlan) -> Bounds:
    """Probe the source and return the Bounds of `plan` (an incremental table's load);
    raises the driver's errors.

    A plan that is not `incremental` is a full load of an incremental table (every row,
    NULL check column too).
    """
    inc, column, where = plan.inc, plan.check, plan.name
    assert inc is not None and column is not None, "plan_bounds needs an incremental table"
    table_sql = sch.qualified(plan.table.database, plan.table.table)
    incremental, mark = plan.incremental, plan.watermark
    col = sch.quote(column.name)
    errors = driver.errors
    cur = conn.cursor()
    try:
        last_max = mark.max_value if incremental else None
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
        ident = read_identity(cur, driver, plan.table.database, plan.table.table, column.name)
        if incremental:
            why = recreated(create_time=mark.create_time, table_id=mark.table_id,
                            seen_to=mark.seen_to if column.kind == "int" else None,
                            last_max=last_max, now=ident, upper=upper, below=below,
                            column=column.name)
            if why is not None:
                return Bounds(recreated=why)
        now, writers, oldest = wm.read_writers(cur, errors, error_code)
        if writers is None:
            log.warning(
                "%s: information_schema.INNODB_TRX is not readable (grant PROCESS to hold "
                "the watermark below open transactions); only lag = %g protects late commits",
                where, inc.lag_value,
            )
        elif writers:
            log.info("%s: %d open write transaction(s) at the probe", where, len(writers))
        if inc.mode == "append" and column.kind == "int":
            b = _append(conn, driver, table_sql, col, inc, mark, upper, writers,
                        incremental=incremental)
        elif inc.mode == "append":
            b = _plain_append(col, mark, upper, incremental=incremental)
        else:
            if column.data_type not in TEMPORAL:
                log.warning(
                    "%s: lastmodified column %s is %s, not a date/time: no lag window and "
                    "no hold below open transactions apply, so rows committed late are "
                    "missed until a --full (use a DATE/DATETIME/TIMESTAMP column)",
                    where, column.name, column.column_type,
                )
            b = _lastmodified(cur, table_sql, col, inc, plan.table.columns, mark, upper, now,
                              writers, oldest, incremental=incremental,
                              bind=driver.with_params)
        b.saved.update(ident.saved)
        return b
    finally:
        close_quietly(cur)


def _full(col: str, upper: str | None) -> Query:
    if upper is None:
        return Query()
    return Query().and_(f"{col} <= %s OR {col} IS NULL", upper)


def _append(
    conn: Any, driver: Driver, table_sql: str, col: str, inc: IncrementalConfig,
    mark: Watermark, upper_text: str | None, writers: list[str] | None, *, incremental: bool,
) -> Bounds:
    lag = inc.lag_value
    seen_to, missing = mark.seen_to, [list(r) for r in mark.missing]
    if upper_text is None:  # an empty table
        b = Bounds(upper=None, skip=incremental)
        b.saved = _append_state(seen_to, missing, writers)
        return b
    upper = int(upper_text)
    if incremental and seen_to is not None:
        wanted = wm._merge(missing + ([[seen_to + 1, upper]] if upper > seen_to else []))
        query = Query().and_(wm.ranges_sql(col, wanted)) if wanted else Query().and_("1 = 0")
        b = Bounds(query=query, upper=upper_text, skip=not wanted,
                   sqoop_last=str(wanted[0][0] - 1) if wanted else None,
                   sqoop_where=wm.ranges_sql(col, wanted) if wanted else "1 = 0")
    else:
        # a full load: from here on the gaps of the last `lag` ids are checked, and every
        # gap while a write transaction is open (its rows may commit below MAX)
        first = 1 if writers else max(upper - int(lag), 0) + 1
        wanted = [[first, upper]] if first <= upper else []
        b = Bounds(query=_full(col, upper_text), upper=upper_text)
    gaps: wm.Ranges = []
    if wanted:
        ids = _ids(conn, driver, table_sql, col, wanted)
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


def _plain_append(col: str, mark: Watermark, upper: str | None, *,
                  incremental: bool) -> Bounds:
    """Append on a non-integer column: `> watermark` (no late-commit protection)."""
    last = mark.last
    b = Bounds(upper=upper)
    if not incremental:
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
    cur: Any, table_sql: str, col: str, inc: IncrementalConfig,
    columns: list[sch.SourceColumn],
    mark: Watermark, upper: str | None, now: Any, writers: list[str] | None,
    oldest: Any, *, incremental: bool, bind: Callable[[str], str],
) -> Bounds:
    lag = inc.lag_value
    row = [sch.quote(c.name) for c in columns]
    last, low = mark.last, mark.low
    b = Bounds(upper=upper)
    if upper is None:
        b.skip = incremental
        b.saved = {"last_value": last, "max_value": None, "window": None, "missing": [],
                   "writers": writers}
        return b
    if not incremental:
        b.query = _full(col, upper)
    else:
        window = mark.window
        if (window and mark.max_value == upper
                and wm.window_checksum(cur, table_sql, row, col, window["low"],
                                       window["high"], bind=bind) == window["sum"]):
            b.skip = True  # nothing newer, and the re-read window is as it was
        b.query = Query().and_(f"{col} <= %s", upper)
        if low is not None:
            b.query = b.query.and_(f"{col} >= %s", low)
        b.sqoop_last = low
    held = wm.held_watermark(upper, now, oldest) if writers is not None else upper
    next_low = wm.lower_bound(held, lag)
    b.saved = {
        "last_value": held,
        "max_value": upper,
        "missing": [],
        "writers": writers,
        "window": {"low": next_low, "high": upper,
                   "sum": wm.window_checksum(cur, table_sql, row, col, next_low, upper,
                                            bind=bind)},
    }
    return b


def _text(v: Any) -> str:
    return v.decode("utf-8") if isinstance(v, bytes | bytearray) else str(v)
