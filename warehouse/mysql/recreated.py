"""A table dropped and re-created, or emptied by TRUNCATE, since its last load.

An incremental load reads the rows past the watermark. A table re-created (DROP and
CREATE, or a new table renamed in its place) or TRUNCATEd since restarts its ids and
timestamps below that watermark: the load would read nothing, or a few rows, and the
earlier loads would go on serving rows MySQL no longer holds (exit 0). The probe of an
incremental load therefore compares, and any one of these is enough:

- information_schema.TABLES.CREATE_TIME with the one saved in the state: DROP and
  CREATE (and ALTER TABLE or OPTIMIZE TABLE that rebuild the table: a needless full load,
  never a wrong one);
- the InnoDB table id (information_schema.INNODB_SYS_TABLES on MariaDB, INNODB_TABLES on
  MySQL 8; they need the PROCESS privilege, as INNODB_TRX does) with the saved one:
  TRUNCATE gives the table a new id but keeps its CREATE_TIME;
- the AUTO_INCREMENT counter of an AUTO_INCREMENT check column with the highest id seen:
  a counter at or below it restarted;
- MAX(check column) with the MAX of the last probe: below it (or no rows at all), the
  newest rows are gone.

The load then reads the whole table and replaces the earlier loads, as `--full` does for
that table (`warehouse.mysql.plan.as_full`), with a WARNING naming the evidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from warehouse.mysql.connect import Driver, error_code
from warehouse.mysql.watermark import NO_INNODB_TRX

_UNKNOWN_TABLE = {1109, 1146}
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9_]+$")  # InnoDB's file name encoding keeps these as is


@dataclass(frozen=True)
class Identity:
    """What tells one incarnation of a table from the next (see the module)."""

    create_time: str | None = None
    table_id: int | None = None  # InnoDB's; None when unreadable
    auto_increment: int | None = None  # the next id, when the check column has one

    @property
    def saved(self) -> dict[str, Any]:
        """Return the TableState fields that record it."""
        return {"create_time": self.create_time, "table_id": self.table_id}


def read_identity(cur: Any, driver: Driver, database: str, table: str,
                  column: str) -> Identity:
    """Return the table's Identity (`column`: the check column); raises driver errors
    except for an unreadable InnoDB dictionary table."""
    bind = driver.with_params
    cur.execute(
        bind("SELECT CAST(t.CREATE_TIME AS CHAR), t.AUTO_INCREMENT, "
             "(SELECT COUNT(*) FROM information_schema.COLUMNS c WHERE c.TABLE_SCHEMA = "
             "t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME AND c.COLUMN_NAME = %s AND "
             "LOCATE('auto_increment', c.EXTRA) > 0) FROM information_schema.TABLES t "
             "WHERE t.TABLE_SCHEMA = %s AND t.TABLE_NAME = %s"),
        (column, database, table),
    )
    row = cur.fetchone()
    if not row:
        return Identity()
    created = _text(row[0]) if row[0] is not None else None
    auto = int(row[1]) if (row[1] is not None and int(row[2] or 0) > 0) else None
    return Identity(created, _table_id(cur, driver, database, table), auto)


def _table_id(cur: Any, driver: Driver, database: str, table: str) -> int | None:
    if not (_PLAIN_NAME.match(database) and _PLAIN_NAME.match(table)):
        return None  # InnoDB names other characters @XXXX-encoded: not worth guessing
    name = f"{database}/{table}"
    for view in ("INNODB_SYS_TABLES", "INNODB_TABLES"):  # MariaDB, MySQL 8
        try:
            cur.execute(driver.with_params(
                f"SELECT TABLE_ID FROM information_schema.{view} WHERE NAME = %s"), (name,))
            row = cur.fetchone()
        except driver.errors as exc:
            code = error_code(exc)
            if code in _UNKNOWN_TABLE:  # the other server's view
                continue
            if code in NO_INNODB_TRX:  # no PROCESS grant
                return None
            raise
        return int(row[0]) if row and row[0] is not None else None
    return None


@dataclass(frozen=True)
class Maxes:
    """MAX(check column) at the last probe and now, as the server compared them."""

    last: str | None
    now: str | None  # None: no row has a value
    below: bool  # now < last


def recreated(
    *, saved: Identity, now: Identity, seen_to: int | None, maxes: Maxes, column: str,
) -> str | None:
    """Return why the table is not the one the earlier loads copied, or None.

    `saved`: the CREATE_TIME and table id saved at the last load; `now`: the table's
    Identity; `seen_to`: the highest id seen (append on an integer column); `column`: the
    check column's name.
    """
    if saved.create_time is not None and now.create_time is not None \
            and now.create_time != saved.create_time:
        return f"its CREATE_TIME changed from {saved.create_time} to {now.create_time} " \
               "(dropped and re-created, or rebuilt)"
    if saved.table_id is not None and now.table_id is not None \
            and now.table_id != saved.table_id:
        return "its InnoDB table id changed (TRUNCATEd, or dropped and re-created)"
    if seen_to is not None and now.auto_increment is not None \
            and now.auto_increment <= seen_to:
        return f"its AUTO_INCREMENT counter ({now.auto_increment}) is at or below the " \
               f"highest {column} imported ({seen_to}) (TRUNCATEd, or re-created)"
    if maxes.last is not None and maxes.now is None:
        return f"it has no rows with a {column} any more (TRUNCATEd, or emptied)"
    if maxes.last is not None and maxes.below:
        return f"MAX({column}) = {maxes.now} is below the {maxes.last} of the last load " \
               "(TRUNCATEd, re-created, or its newest rows deleted)"
    return None


def _text(v: Any) -> str:
    return v.decode("utf-8") if isinstance(v, bytes | bytearray) else str(v)
