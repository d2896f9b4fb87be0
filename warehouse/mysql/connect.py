"""Open MySQL sessions for imports with any of three drivers.

- `mysqlclient` (C, libmariadb): the fastest; no Linux wheel, so it needs a compiler and
  libmariadb-dev (the `mysql` extra).
- `mysql-connector` (mysql-connector-python's C extension, a manylinux wheel that ships
  its own client library): a plain `pip install` gets it; about half mysqlclient's fetch
  speed and over twice PyMySQL's (bench/results_import.md).
- `pymysql` (pure Python): the slowest, always importable.
`auto` picks the first of these that is installed (mysql-connector only with its C
extension); `resolve_driver` returns it as a `Driver`, which opens sessions and
streaming cursors and names the driver's exception classes. mysql-connector-python is
pinned below 9.7: from 9.7 its wheels bundle a libssl needing OpenSSL 3.5, which fails
to load once Python's ssl or hashlib has loaded the system's OpenSSL 3.0 (Debian 12,
Amazon Linux 2023).

All drivers return the same row tuples: integers as int, FLOAT/DOUBLE as float,
DECIMAL/DATE/DATETIME/TIMESTAMP/TIME as the server's text (str), character columns as
str, binary columns as bytes, BIT as bytes (mysql-connector: int). mysql-connector's C
layer would turn those texts into Decimal/datetime objects (a zero date into None), so
for it the engine selects them (and SET) as `CAST(... AS CHAR)`: see `Driver.casts_text`.
`text_bytes=True` returns character columns as bytes too (the engine then decodes them
with backslashreplace): the fallback when a column holds bytes that are not valid UTF-8.

Sessions run with `time_zone = '+00:00'`, a read timeout (a frozen bastion or server
surfaces as an error, not a hang) with a shorter `lock_wait_timeout` (a table locked by
another session fails as "Lock wait timeout", exit 5, not as a lost connection), a long `net_write_timeout` (the server may wait
while we compress) and no statement time limit (`max_statement_time` /
`max_execution_time` = 0: a server-wide limit would kill every long export). Errors never carry the password (`mask_secret`).
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, cast

from warehouse.config import MysqlSourceConfig, Secret, choices
from warehouse.errors import ConfigError, SourceUnavailable, mask_secret

log = logging.getLogger(__name__)

DRIVERS = choices(MysqlSourceConfig, "driver")
_MODULES = {"mysqlclient": "MySQLdb", "mysql-connector": "_mysql_connector", "pymysql": "pymysql"}
_INSTALL = {
    "mysqlclient": "mysqlclient (needs build-essential pkg-config libmariadb-dev)",
    "mysql-connector": "'mysql-connector-python>=9.4,<9.7' (its C extension)",
    "pymysql": "PyMySQL",
}

# MySQL field type codes (include/mysql_com.h), shared by both drivers
_T_DECIMAL, _T_TINY, _T_SHORT, _T_LONG, _T_FLOAT, _T_DOUBLE = 0, 1, 2, 3, 4, 5
_T_TIMESTAMP, _T_LONGLONG, _T_INT24, _T_DATE, _T_TIME, _T_DATETIME, _T_YEAR = 7, 8, 9, 10, 11, 12, 13
_T_NEWDATE, _T_NEWDECIMAL = 14, 246
_INTS = (_T_TINY, _T_SHORT, _T_LONG, _T_LONGLONG, _T_INT24, _T_YEAR)
_FLOATS = (_T_FLOAT, _T_DOUBLE)
_BACKQUOTED = re.compile(r"`(?:[^`]|``)*`")
_TEXTUAL = (_T_DECIMAL, _T_NEWDECIMAL, _T_TIMESTAMP, _T_DATE, _T_TIME, _T_DATETIME, _T_NEWDATE)


@dataclass(frozen=True)
class Endpoint:
    """Where and as whom to connect (the password travels only in memory)."""

    source: str
    host: str
    port: int
    user: str
    password: Secret = field(repr=False)  # prints as ****; reveal() for the driver only
    read_timeout: float  # [mysql.NAME] read_timeout_seconds
    connect_timeout: float = 15.0
    via: str = ""  # "through [ssh.NAME] ..." for messages

    def where(self) -> str:
        """Return `[mysql.NAME] user@host:port (via ...)` for messages."""
        via = f" {self.via}" if self.via else ""
        return f"[mysql.{self.source}] {self.user}@{self.host}:{self.port}{via}"


def _load_problem(driver: str) -> str | None:
    """Return why `driver` cannot be used here (not installed, or its C extension does not
    load), or None when it can."""
    if importlib.util.find_spec(_MODULES[driver]) is None:
        return "is not installed"
    if driver == "mysql-connector":  # the wheel's C extension may fail to load (OpenSSL)
        try:
            import _mysql_connector  # noqa: F401
        except ImportError as exc:
            return f"is installed but its C extension does not load ({exc})"
    return None


def _installed(driver: str) -> bool:
    return _load_problem(driver) is None


def resolve_driver(name: str) -> Driver:
    """Return the driver to use: `auto` picks mysqlclient, else mysql-connector, else PyMySQL."""
    if name not in DRIVERS:
        raise ConfigError(f"MySQL driver {name!r} unknown; use one of {', '.join(DRIVERS)}")
    if name == "auto":
        return Driver(next(d for d in DRIVERS[1:] if d == "pymysql" or _installed(d)))
    problem = _load_problem(name)
    if problem is not None:
        raise ConfigError(f"MySQL driver {name} {problem}; pip install {_INSTALL[name]}")
    return Driver(name)


@dataclass(frozen=True)
class Driver:
    """One of the DB-API drivers (`DRIVERS` but `auto`): sessions, cursors and errors.

    Picklable (it crosses into the split export's worker processes). Obtain it through
    `resolve_driver`, which checks that the driver is installed.
    """

    name: str

    def connect(self, ep: Endpoint, *, database: str | None = None,
                text_bytes: bool = False) -> Any:
        """Return an open session (autocommit off, UTC); raises SourceUnavailable."""
        return _connect(ep, self.name, database=database, text_bytes=text_bytes)

    @property
    def errors(self) -> tuple[type[BaseException], ...]:
        """The driver's base exception classes."""
        return _driver_errors(self.name)

    @property
    def casts_text(self) -> bool:
        """True when the export must select DECIMAL/temporal/SET columns as CHAR."""
        return self.name == "mysql-connector"

    def with_params(self, sql: str) -> str:
        """Return `sql` for an execute() WITH parameters: `%` inside backquoted identifiers
        doubled, as the format paramstyle of mysqlclient and PyMySQL needs (a column named
        `pct%` failed the statement). mysql-connector substitutes `%s` only: as is."""
        if self.name == "mysql-connector":
            return sql
        return _BACKQUOTED.sub(lambda m: m.group(0).replace("%", "%%"), sql)

    def stream_cursor(self, conn: Any) -> Any:
        """Return an unbuffered (server-side streaming) cursor of `conn`."""
        return _stream_cursor(conn, self.name)

    def batch_fetcher(self, conn: Any, cur: Any) -> Callable[[int], Sequence[Any]]:
        """Return fetch(n) -> up to n rows of `cur`'s result (empty at the end)."""
        return _batch_fetcher(conn, cur, self.name)


def _driver_errors(driver: str) -> tuple[type[BaseException], ...]:
    """Return the driver's base exception classes."""
    if driver == "mysqlclient":
        import MySQLdb

        return (MySQLdb.Error,)
    if driver == "mysql-connector":
        import mysql.connector

        return (mysql.connector.Error,)
    import pymysql

    return (pymysql.err.Error,)


def error_code(exc: BaseException) -> int | None:
    """Return the MySQL error number of a driver exception, if any."""
    args = getattr(exc, "args", ())
    if args and isinstance(args[0], int):
        return int(args[0])
    return None


# client-side codes that mean the server or the path to it is gone
UNAVAILABLE_CODES = {1040, 1044, 1045, 1049, 1129, 1130, 1203, 2002, 2003, 2005, 2006,
                     2013, 2026, 2055}


def describe_error(ep: Endpoint, exc: BaseException) -> str:
    """Return a one-line description of a driver error with the password masked."""
    code = error_code(exc)
    args: tuple[Any, ...] = tuple(getattr(exc, "args", ()))
    msg = getattr(exc, "msg", None)  # mysql-connector: args[1] repeats the code
    text = msg if isinstance(msg, str) else str(args[1]) if len(args) > 1 else str(exc)
    text = mask_secret(text, ep.password.reveal())
    if code == 1205:
        text += " (another session locks the table: LOCK TABLES, an ALTER TABLE; retry later)"
    return f"MySQL {ep.where()}: {'error ' + str(code) + ': ' if code else ''}{text}"


def _connect(
    ep: Endpoint, driver: str, *, database: str | None = None, text_bytes: bool = False
) -> Any:
    """Return an open session (autocommit off, UTC); raises SourceUnavailable naming the host."""
    try:
        if driver == "mysqlclient":
            conn = _mysqlclient(ep, database, text_bytes)
        elif driver == "mysql-connector":
            conn = _connector(ep, database, text_bytes)
        else:
            conn = _pymysql(ep, database, text_bytes)
    except _driver_errors(driver) as exc:
        code = error_code(exc)
        hint = {
            1045: "check user and password_file/password_env",
            1049: "check the databases list",
            2003: "check host/port (as seen from the bastion) and the tunnel",
            2013: "the connection dropped; check the tunnel and the server",
        }.get(code or 0, "check the server and the tunnel")
        raise SourceUnavailable(f"{describe_error(ep, exc)}; {hint}") from None
    try:
        cur = conn.cursor()
        try:
            # one round trip for all (each one is a trip through the tunnel)
            # a table locked by another session (LOCK TABLES, an ALTER) must fail as such
            # before the read timeout would report a lost connection (exit 3)
            wait = max(1, int(ep.read_timeout) - 2)
            base = ("SET SESSION time_zone = '+00:00', SESSION net_write_timeout = 3600, "
                    f"SESSION lock_wait_timeout = {wait}")
            try:
                cur.execute(base + _no_statement_limit(conn))
            except _driver_errors(driver) as exc:
                if error_code(exc) != 1193:  # a server whose version string misleads
                    raise
                cur.execute(base)
            cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        finally:
            cur.close()
    except _driver_errors(driver) as exc:
        conn.close()
        raise SourceUnavailable(describe_error(ep, exc)) from None
    return conn


def _no_statement_limit(conn: Any) -> str:
    """Return the SET clause lifting the server's statement time limit for this session.

    A server-wide `max_statement_time` (MariaDB) or `max_execution_time` (MySQL, SELECTs
    only), set by DBAs against runaway queries, kills every export longer than the limit:
    such a table could never be imported. Version comments keep older servers working;
    a server without the variable (error 1193) gets the SET without it.
    """
    # PyMySQL's server_version, mysql-connector's server_info (both deprecate
    # get_server_info), else mysqlclient's get_server_info()
    info = getattr(conn, "server_version", None)
    if not isinstance(info, str | bytes):
        info = getattr(conn, "server_info", None)
    if not isinstance(info, str | bytes):
        info = conn.get_server_info()
    text = info.decode("ascii", "replace") if isinstance(info, bytes) else str(info)
    if "mariadb" in text.lower():
        return " /*M!100101 , SESSION max_statement_time = 0 */"
    return " /*!50708 , SESSION max_execution_time = 0 */"


def _mysqlclient(ep: Endpoint, database: str | None, text_bytes: bool) -> Any:
    import MySQLdb
    from MySQLdb.converters import conversions

    # keep the default encoders (parameters), replace every decoder
    conv: dict[Any, Any] = {k: v for k, v in conversions.items() if not isinstance(k, int)}
    conv.update({t: int for t in _INTS})
    conv.update({t: float for t in _FLOATS})
    conv.update({t: str for t in _TEXTUAL})
    kwargs = _c_driver_kwargs(ep, database, text_bytes)
    kwargs.update(conv=conv, connect_timeout=max(1, int(ep.connect_timeout)))
    return MySQLdb.connect(**kwargs)


def _c_driver_kwargs(ep: Endpoint, database: str | None, text_bytes: bool) -> dict[str, Any]:
    """Return the connect() keywords mysqlclient and mysql-connector share."""
    kwargs: dict[str, Any] = {
        "host": ep.host,
        "port": ep.port,
        "user": ep.user,
        "password": ep.password.reveal(),
        "charset": "utf8mb4",
        "use_unicode": not text_bytes,
        "read_timeout": max(1, int(ep.read_timeout)),
        "write_timeout": max(1, int(ep.read_timeout)),
        "autocommit": False,
    }
    if database:
        kwargs["database"] = database
    return kwargs


def _ascii(v: bytes | str) -> str:
    return v.decode("ascii") if isinstance(v, bytes) else v


def _pymysql(ep: Endpoint, database: str | None, text_bytes: bool) -> Any:
    import pymysql
    from pymysql.converters import conversions

    conv: dict[Any, Any] = {k: v for k, v in conversions.items() if not isinstance(k, int)}
    conv.update({t: int for t in _INTS})
    conv.update({t: float for t in _FLOATS})
    conv.update({t: _ascii for t in _TEXTUAL})
    return pymysql.connect(
        host=ep.host,
        port=ep.port,
        user=ep.user,
        password=ep.password.reveal(),
        database=database,
        charset="utf8mb4",
        use_unicode=not text_bytes,
        conv=conv,
        connect_timeout=ep.connect_timeout,
        read_timeout=ep.read_timeout,
        write_timeout=ep.read_timeout,
        autocommit=False,
    )


def _connector(ep: Endpoint, database: str | None, text_bytes: bool) -> Any:
    import mysql.connector

    kwargs = _c_driver_kwargs(ep, database, text_bytes)
    kwargs.update(
        use_pure=False,
        connection_timeout=max(1, int(ep.connect_timeout)),
        # never buffered: a buffered connection makes its C layer store whole results
        # (the export's memory would grow with the table); consume_results lets the
        # small metadata cursors leave rows unread
        buffered=False,
        consume_results=True,
        get_warnings=False,
    )
    return mysql.connector.connect(**kwargs)


def _stream_cursor(conn: Any, driver: str) -> Any:
    """Return an unbuffered (server-side streaming) cursor of `conn`."""
    if driver == "mysqlclient":
        import MySQLdb.cursors

        return conn.cursor(MySQLdb.cursors.SSCursor)
    if driver == "mysql-connector":
        return conn.cursor(cursor_class=_connector_stream_class())
    import pymysql.cursors

    return conn.cursor(pymysql.cursors.SSCursor)


@functools.cache
def _connector_stream_class() -> Any:
    """Return mysql-connector's unbuffered cursor whose fetchmany ends with () as the others."""
    from mysql.connector.cursor_cext import CMySQLCursor

    class StreamCursor(CMySQLCursor):
        def fetchmany(self, size: int = 1) -> Any:
            return super().fetchmany(size) or ()

    return StreamCursor


def _batch_fetcher(conn: Any, cur: Any, driver: str) -> Callable[[int], Sequence[Any]]:
    """Return fetch(n) -> up to n rows of `cur`'s result (empty at the end).

    For mysql-connector the rows come straight from its C extension's documented
    `_mysql_connector.MySQL.fetch_row` (the connection's `_cmysql`), iterated in C: the
    cursor's fetchmany runs several Python calls per row and halves the export's speed.
    At the end the cursor reads the (empty) rest so its and the connection's state
    close as usual; errors become the driver's own exception classes.
    """
    if driver != "mysql-connector":
        return cast("Callable[[int], Sequence[Any]]", cur.fetchmany)
    import _mysql_connector
    from mysql.connector.errors import get_mysql_exception

    fetch_row = conn._cmysql.fetch_row

    def fetch(n: int) -> Sequence[Any]:
        try:
            rows = list(islice(iter(fetch_row, None), n))
        except _mysql_connector.MySQLInterfaceError as err:
            raise get_mysql_exception(
                getattr(err, "errno", 2013), msg=getattr(err, "msg", str(err)),
                sqlstate=getattr(err, "sqlstate", None),
            ) from None
        if len(rows) < n:
            cur.fetchall()
        return rows

    return fetch


def close_quietly(obj: Any) -> None:
    """Close a cursor or connection whose session may be broken, keeping the first error.

    An SSCursor closed after error 2013 raises (PyMySQL: AttributeError from close());
    callers close with this in `finally` so the real error is the one reported.
    """
    try:
        obj.close()
    except Exception as exc:  # the real error is already propagating
        log.debug("ignored while closing %r: %s", obj, exc)
    finally:
        _disarm_pymysql(obj)


def _disarm_pymysql(obj: Any) -> None:
    """Stop a PyMySQL cursor or connection from reading a lost stream again when collected.

    After a dropped connection, PyMySQL's SSCursor keeps its connection and its result
    stays `unbuffered_active`; their `__del__` (run whenever the garbage collector gets to
    them) then reads the closed socket and prints "Exception ignored ... AttributeError"
    with a traceback, dozens of lines after the one error line. Nothing is left to read.
    """
    if not type(obj).__module__.startswith("pymysql"):
        return
    conn = getattr(obj, "connection", None) if hasattr(obj, "fetchone") else obj
    for holder in (obj, conn):
        result = getattr(holder, "_result", None)
        if result is not None and getattr(result, "unbuffered_active", False):
            result.unbuffered_active = False
    if hasattr(obj, "fetchone"):  # a cursor: its close() already ran
        obj.connection = None
