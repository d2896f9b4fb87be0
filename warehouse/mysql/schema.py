"""Source schema: identifiers, table selection, information_schema columns and Hive types.

Pure functions over plain data, plus `read_columns` / `list_tables` that take an open
DB-API connection (any driver). The MySQL -> Hive type mapping (DESIGN.md "Decisions >
MySQL import"):

| MySQL | Hive | file value (python engine, JSON) |
|---|---|---|
| TINYINT, SMALLINT, MEDIUMINT, INT, BIGINT | TINYINT, SMALLINT, INT, INT, BIGINT (UNSIGNED widens one step) | number |
| BIGINT UNSIGNED | DECIMAL(20,0) | number |
| DECIMAL(p,s), p <= 38 | DECIMAL(p,s) | string with all digits |
| DECIMAL(p,s), p > 38 | STRING | string with all digits |
| FLOAT, DOUBLE | FLOAT, DOUBLE | number |
| YEAR | SMALLINT | number |
| DATE / DATETIME, TIMESTAMP | DATE / TIMESTAMP, or STRING where zero dates are possible (`zerodates`) | MySQL's text (`0000-00-00` kept) |
| TIME | STRING | `[-]HHH:MM:SS[.ffffff]` |
| CHAR, VARCHAR, TEXT, ENUM, SET, JSON | STRING | string |
| UUID, INET4, INET6 (MariaDB) | STRING | the server's text |
| BIT(n) | STRING | n binary digits, e.g. `00101` |
| BINARY, VARBINARY, BLOB, GEOMETRY | STRING | base64 |
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from warehouse.errors import ConfigError

_IDENT_RE = re.compile(r"^[A-Za-z0-9_$][A-Za-z0-9_$\-]{0,63}$")

INT_TYPES = {"tinyint", "smallint", "mediumint", "int", "integer", "bigint"}
BINARY_TYPES = {
    "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob",
    "geometry", "point", "linestring", "polygon", "multipoint", "multilinestring",
    "multipolygon", "geometrycollection",
}
_HIVE_INT = {"tinyint": "TINYINT", "smallint": "SMALLINT", "mediumint": "INT",
             "int": "INT", "integer": "INT", "bigint": "BIGINT"}
_HIVE_UINT = {"tinyint": "SMALLINT", "smallint": "INT", "mediumint": "INT",
              "int": "BIGINT", "integer": "BIGINT", "bigint": "DECIMAL(20,0)"}


def check_ident(kind: str, name: str) -> str:
    """Return `name` if it is a safe MySQL identifier from config; raises ConfigError."""
    if not _IDENT_RE.match(name):
        raise ConfigError(
            f"{kind} name {name!r} is not a plain identifier (letters, digits, _, $, -); "
            "rename it in the config"
        )
    return name


def quote(name: str) -> str:
    """Return `name` backquoted for MySQL (backquotes doubled)."""
    return "`" + name.replace("`", "``") + "`"


def qualified(database: str, table: str) -> str:
    """Return `db`.`table`, quoted."""
    return f"{quote(database)}.{quote(table)}"


@dataclass(frozen=True)
class SourceColumn:
    """One column as information_schema describes it."""

    name: str
    data_type: str  # lower-case DATA_TYPE: int, varchar, decimal, ...
    column_type: str  # full COLUMN_TYPE: "int(10) unsigned", "enum('a','b')", ...
    nullable: bool = True
    precision: int | None = None
    scale: int | None = None
    collation: str | None = None  # COLLATION_NAME of text columns
    weight_of: str | None = None  # an exported key weight (warehouse.mysql.collation)

    @property
    def unsigned(self) -> bool:
        """Return True for UNSIGNED numeric columns."""
        return "unsigned" in self.column_type.lower()

    @property
    def kind(self) -> str:
        """Return how the python engine writes this column: int, float, text, b64, bit, raw."""
        t = self.data_type
        if t in INT_TYPES or t == "year":
            return "int"
        if t in ("float", "double", "real"):
            return "float"
        if t in BINARY_TYPES:
            return "b64"
        if t == "bit":
            return "bit"
        if t in ("decimal", "numeric", "date", "datetime", "timestamp", "time"):
            return "raw"  # ASCII text from the server, kept as is
        return "text"

    @property
    def bit_width(self) -> int:
        """Return n of BIT(n) (1 when absent)."""
        m = re.search(r"\((\d+)\)", self.column_type)
        return int(m.group(1)) if m else 1


def hive_type(col: SourceColumn, *, zero_dates: bool = True) -> str:
    """Return the Hive type for a source column (see the module table)."""
    t = col.data_type
    if t in INT_TYPES:
        return (_HIVE_UINT if col.unsigned else _HIVE_INT)[t]
    if t == "year":
        return "SMALLINT"
    if t in ("decimal", "numeric"):
        p, s = col.precision or 10, col.scale or 0
        return f"DECIMAL({p},{s})" if p <= 38 else "STRING"
    if t == "float":
        return "FLOAT"
    if t in ("double", "real"):
        return "DOUBLE"
    if t == "date":
        return "STRING" if zero_dates else "DATE"
    if t in ("datetime", "timestamp"):
        return "STRING" if zero_dates else "TIMESTAMP"
    return "STRING"


def folder_safe(table: str) -> bool:
    """Return False for table names that cannot be one folder of the layout (`a/b`, `..`):
    they would write into another table's folder, or above their database's."""
    return "/" not in table and table not in (".", "..")


def hive_name(source: str, database: str, table: str) -> str:
    """Return the Hive table name `mysql_<source>_<database>_<table>` (lower-case, [a-z0-9_])."""
    raw = f"mysql_{source}_{database}_{table}".lower()
    return re.sub(r"[^a-z0-9_]", "_", raw)


def zero_dates_allowed(sql_mode: str) -> bool:
    """Return True unless the server's sql_mode forbids zero dates in strict mode."""
    modes = {m.strip().upper() for m in sql_mode.split(",")}
    strict = bool(modes & {"STRICT_TRANS_TABLES", "STRICT_ALL_TABLES", "TRADITIONAL"})
    forbids = {"NO_ZERO_DATE", "NO_ZERO_IN_DATE"} <= modes or "TRADITIONAL" in modes
    return not (strict and forbids)


def select_tables(
    database: str,
    tables: Iterable[str],
    include: Sequence[str],
    exclude: Sequence[str],
) -> list[str]:
    """Return the tables of `database` matched by `include` and not by `exclude` (sorted).

    Globs match "db.table" or just "table" (case-insensitive).
    """

    def hit(name: str, globs: Sequence[str]) -> bool:
        full = f"{database}.{name}".lower()
        return any(
            fnmatch.fnmatchcase(full, g.lower()) or fnmatch.fnmatchcase(name.lower(), g.lower())
            for g in globs
        )

    return sorted(t for t in tables if hit(t, include) and not hit(t, exclude))


def database_exists(conn: Any, database: str) -> bool:
    """Return True when `database` exists and the session's user can see it."""
    with _cursor(conn) as cur:
        cur.execute(
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s",
            (database,),
        )
        return cur.fetchone() is not None


# MariaDB reports a system-versioned table as 'SYSTEM VERSIONED', not 'BASE TABLE': a
# plain SELECT reads its current rows like any table's
TABLE_TYPES = ("BASE TABLE", "SYSTEM VERSIONED")
SKIPPED_TYPES = ("VIEW", "SEQUENCE")


def list_tables(conn: Any, database: str) -> list[str]:
    """Return the base tables of `database` (system-versioned ones included)."""
    return _list_names(conn, database, TABLE_TYPES)


def list_views(conn: Any, database: str) -> list[str]:
    """Return the views and sequences of `database` (not imported: only tables are)."""
    return _list_names(conn, database, SKIPPED_TYPES)


def _list_names(conn: Any, database: str, table_types: Sequence[str]) -> list[str]:
    marks = ", ".join("%s" for _ in table_types)
    with _cursor(conn) as cur:
        cur.execute(
            "SELECT TABLE_NAME FROM information_schema.TABLES "
            f"WHERE TABLE_SCHEMA = %s AND TABLE_TYPE IN ({marks})",
            (database, *table_types),
        )
        return sorted(_text(r[0]) for r in cur.fetchall())


def read_columns(conn: Any, database: str, table: str) -> list[SourceColumn]:
    """Return the columns of `database.table` in ordinal order (empty when it is absent)."""
    with _cursor(conn) as cur:
        cur.execute(
            "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, NUMERIC_PRECISION, "
            "NUMERIC_SCALE, COLLATION_NAME FROM information_schema.COLUMNS "
            "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION",
            (database, table),
        )
        rows = cur.fetchall()
    return [
        SourceColumn(
            name=_text(r[0]),
            data_type=_text(r[1]).lower(),
            column_type=_text(r[2]),
            nullable=_text(r[3]) == "YES",
            precision=int(r[4]) if r[4] is not None else None,
            scale=int(r[5]) if r[5] is not None else None,
            collation=_text(r[6]) if r[6] is not None else None,
        )
        for r in rows
    ]


def primary_key(conn: Any, database: str, table: str) -> list[str]:
    """Return the primary key columns of `database.table` in key order."""
    with _cursor(conn) as cur:
        cur.execute(
            "SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE "
            "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s AND CONSTRAINT_NAME = 'PRIMARY' "
            "ORDER BY ORDINAL_POSITION",
            (database, table),
        )
        return [_text(r[0]) for r in cur.fetchall()]


def _text(v: Any) -> str:
    return v.decode("utf-8") if isinstance(v, bytes | bytearray) else str(v)


class _cursor:
    """A plain cursor closed on exit, without masking the real error (see engine notes)."""

    def __init__(self, conn: Any) -> None:
        self.cur = conn.cursor()

    def __enter__(self) -> Any:
        return self.cur

    def __exit__(self, *exc: Any) -> None:
        try:
            self.cur.close()
        except Exception:  # closing after a lost connection raises; keep the first error
            if exc[0] is None:
                raise
