"""A small HiveServer2 client; the only module that imports PyHive.

`HiveClient` runs statements and returns `Result`s; `connect(cfg)` opens one from the
`[hive]` section, through the `[hive] tunnel` SSH forward when one is configured.
Failures become one-line WarehouseErrors: SourceUnavailable (exit 3) naming host:port
when the server cannot be reached, QueryFailed (exit 5) with the server's first error
line when a statement fails. Switching to another driver (e.g. impyla) touches only
this file.
"""

from __future__ import annotations

import logging
import os
import re
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warehouse.config import Config, HiveConfig
from warehouse.errors import ConfigError, InputMissing, QueryFailed, SourceUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Result:
    """The outcome of a statement: column names and rows (both empty for DDL)."""

    columns: tuple[str, ...] = ()
    rows: tuple[tuple[Any, ...], ...] = ()
    statements: int = 1
    sql: str = field(default="", repr=False)


def split_statements(text: str) -> list[str]:
    """Return the `;`-separated statements of `text`, without comments or empty ones.

    Semicolons inside quotes (', ", `) do not split; `--` comments run to the end of
    the line (outside quotes) and are dropped.
    """
    statements: list[str] = []
    buf: list[str] = []
    quote: str | None = None
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if quote:
            buf.append(ch)
            if ch == "\\" and quote != "`" and i + 1 < n:
                buf.append(text[i + 1])
                i += 2
                continue
            if ch == quote:
                quote = None
        elif ch in ("'", '"', "`"):
            quote = ch
            buf.append(ch)
        elif ch == "-" and text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        elif ch == ";":
            statements.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
        i += 1
    statements.append("".join(buf))
    return [s.strip() for s in statements if s.strip()]


_PREFIX = re.compile(r"^\s*(Error running query:|Error while compiling statement:)\s*")
_JAVA_CLASS = re.compile(r"\b(?:org|java|com)\.[\w.$]+(?:Exception|Error)\b:?\s*")
_CODE_TWICE = re.compile(r"^(\[[A-Z_.]+\])\s+\1\s*")


def _error_line(exc: BaseException) -> str:
    """Return the server's error message from a PyHive exception, as one line.

    Java class names and Spark's repeated error class are dropped; the SQL excerpt and
    the plan that Spark appends after the first message line go to the debug log only.
    """
    message = ""
    for arg in getattr(exc, "args", ()):
        status = getattr(arg, "status", None)
        if status is not None and getattr(status, "errorMessage", None):
            message = str(status.errorMessage)
            break
    if not message:
        message = str(exc) or type(exc).__name__
    log.debug("server error: %s", message)
    text = _JAVA_CLASS.sub("", _PREFIX.sub("", message))
    for line in (ln.strip() for ln in text.splitlines()):
        if line and not re.fullmatch(r"\[[A-Z_.]+\]", line):
            return _CODE_TWICE.sub(r"\1 ", line)[:500]
    return type(exc).__name__


def _short(sql: str, limit: int = 80) -> str:
    one = " ".join(sql.split())
    return one if len(one) <= limit else one[: limit - 3] + "..."


class HiveClient:
    """A HiveServer2 session over PyHive; connects lazily, closes with `close()` or `with`."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        username: str = "hadoop",
        database: str = "default",
        auth: str = "NONE",
        password: str | None = None,
        timeout: float = 30.0,
        label: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.username = username
        self.database = database
        self.auth = auth
        self._password = password
        self.timeout = timeout
        self.label = label or f"{host}:{port}"
        self._conn: Any = None

    def __enter__(self) -> HiveClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _unavailable(self, why: str) -> SourceUnavailable:
        return SourceUnavailable(
            f"HiveServer2 at {self.label} unreachable ({why}); start it or check "
            "[hive] host, port and tunnel"
        )

    def _connection(self) -> Any:
        if self._conn is not None:
            return self._conn
        # PyHive's socket has no connect timeout: probe first so a dead host fails fast.
        try:
            with socket.create_connection((self.host, self.port), timeout=self.timeout):
                pass
        except OSError as exc:
            raise self._unavailable(exc.strerror or type(exc).__name__) from None
        from pyhive import hive
        from thrift.transport.TTransport import TTransportException

        kwargs: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "username": self.username,
            "database": "default",
            "auth": self.auth,
        }
        if self.auth in ("LDAP", "CUSTOM"):
            kwargs["password"] = self._password
        elif self.auth == "KERBEROS":
            kwargs["kerberos_service_name"] = "hive"  # EMR's principal hive/_HOST; untested here
        try:
            self._conn = hive.connect(**kwargs)
        except TTransportException as exc:
            raise self._unavailable(str(exc).splitlines()[0] if str(exc) else "transport") from None
        except Exception as exc:  # PyHive raises bare Thrift/SASL errors on a bad handshake
            raise self._unavailable(_error_line(exc)) from None
        if self.database != "default":
            # USE fails until the database exists; callers creating it run it themselves.
            try:
                self._raw_execute(f"USE `{self.database}`")
            except QueryFailed:
                log.debug("database %s does not exist yet", self.database)
        return self._conn

    def _raw_execute(self, sql: str) -> Result:
        from thrift.transport.TTransport import TTransportException

        cursor = self._conn.cursor()
        try:
            cursor.execute(sql)
            if cursor.description is None:
                return Result(sql=sql)
            columns = tuple(str(d[0]) for d in cursor.description)
            try:
                fetched = cursor.fetchall()
            except TypeError:
                # Spark 3.5 declares a `Result` column for DDL, then sends no column data,
                # which PyHive 0.7 cannot unwrap: that is a statement without a result set.
                return Result(sql=sql)
            rows = tuple(tuple(r) for r in fetched)
            return Result(columns=columns, rows=rows, sql=sql)
        except (TTransportException, ConnectionError, EOFError) as exc:
            self._conn = None
            raise self._unavailable(f"connection lost: {_error_line(exc)}") from None
        except Exception as exc:
            from pyhive.exc import Error as PyHiveError

            if isinstance(exc, PyHiveError):
                raise QueryFailed(
                    f"query failed on {self.label}: {_error_line(exc)} [in: {_short(sql)}]"
                ) from None
            raise
        finally:
            try:
                cursor.close()
            except Exception:
                log.debug("closing a cursor failed", exc_info=True)

    def execute(self, sql: str) -> Result:
        """Run one statement and return its result; raises QueryFailed or SourceUnavailable."""
        self._connection()
        log.debug("hive: %s", sql)
        return self._raw_execute(sql)

    def execute_many(self, statements: Sequence[str]) -> Result:
        """Run statements in order and return the last result (empty Result for none)."""
        last = Result(statements=0)
        for sql in statements:
            last = self.execute(sql)
        return Result(last.columns, last.rows, statements=len(statements), sql=last.sql)

    def execute_script(self, text: str) -> Result:
        """Run every `;`-separated statement of `text`; return the last result."""
        return self.execute_many(split_statements(text))

    def execute_file(self, path: str | Path) -> Result:
        """Run the statements of an .hql file; raises InputMissing when it cannot be read."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise InputMissing(f"cannot read HQL file {path}: {exc.strerror}") from None
        return self.execute_script(text)

    def close(self) -> None:
        """Close the session (safe to call twice)."""
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                log.debug("closing the Hive connection failed", exc_info=True)
            self._conn = None


def _password(hc: HiveConfig) -> str | None:
    if hc.auth not in ("LDAP", "CUSTOM"):
        return None
    if not hc.password_env:
        raise ConfigError(f"[hive] auth {hc.auth} needs password_env (a variable holding it)")
    value = os.environ.get(hc.password_env)
    if value is None:
        raise ConfigError(f"[hive] password_env: ${hc.password_env} is not set")
    return value


@contextmanager
def connect(cfg: Config) -> Iterator[HiveClient]:
    """Yield a HiveClient for `[hive]` (through its SSH tunnel if set); closed on exit."""
    hc = cfg.hive_or_default()
    password = _password(hc)
    ssh = cfg.tunnel(hc.tunnel)
    if ssh is None:
        with HiveClient(
            hc.host,
            hc.port,
            username=hc.username,
            database=hc.database,
            auth=hc.auth,
            password=password,
            timeout=hc.timeout_seconds,
        ) as client:
            yield client
        return
    from warehouse.tunnel import open_tunnel  # lazily: only when a tunnel is configured

    with (
        open_tunnel(ssh, hc.host, hc.port) as (host, port),
        HiveClient(
            host,
            port,
            username=hc.username,
            database=hc.database,
            auth=hc.auth,
            password=password,
            timeout=hc.timeout_seconds,
            label=f"{hc.host}:{hc.port} via [ssh.{ssh.name}]",
        ) as client,
    ):
        yield client
