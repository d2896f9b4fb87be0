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
import re
import socket
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warehouse.config import Config, HiveConfig, Secret
from warehouse.errors import ConfigError, InputMissing, QueryFailed, SourceUnavailable

log = logging.getLogger(__name__)


class HiveUnavailable(SourceUnavailable):
    """HiveServer2 cannot be reached or stopped answering (exit 3)."""


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
    """Return the server's error message from a PyHive exception, as one line."""
    message = ""
    for arg in getattr(exc, "args", ()):
        status = getattr(arg, "status", None)
        if status is not None and getattr(status, "errorMessage", None):
            message = str(status.errorMessage)
            break
    return _first_line(message or str(exc), type(exc).__name__)


def _first_line(message: str, fallback: str) -> str:
    """Return a server error message as one line (or `fallback` when it has none).

    Java class names and Spark's repeated error class are dropped; the SQL excerpt and
    the plan that Spark appends after the first message line go to the debug log only.
    """
    log.debug("server error: %s", message)
    text = _JAVA_CLASS.sub("", _PREFIX.sub("", message))
    for line in (ln.strip() for ln in text.splitlines()):
        if line and not re.fullmatch(r"\[[A-Z_.]+\]", line):
            return _CODE_TWICE.sub(r"\1 ", line)[:500]
    return fallback


def _short(sql: str, limit: int = 80) -> str:
    one = " ".join(sql.split())
    return one if len(one) <= limit else one[: limit - 3] + "..."


# operation states (TCLIService TOperationState) that end the polling of a statement
_DONE, _CANCELED, _CLOSED, _ERROR, _TIMEDOUT = 2, 3, 4, 5, 8


@dataclass(frozen=True)
class ClientSettings:
    """Who opens a HiveServer2 session and how long each step may take (`[hive]`'s keys:
    `from_hive` reads them, so their defaults are declared once, in the config)."""

    username: str
    database: str
    auth: str
    password: Secret | None = field(repr=False)
    timeout: float  # connect
    read_timeout: float  # every Thrift call
    attempts: int  # tries to open the session
    query_timeout: float  # a statement still running after it is cancelled

    @classmethod
    def from_hive(cls, hc: HiveConfig) -> ClientSettings:
        """Return the settings of `[hive]`; raises ConfigError for a password it needs and
        cannot read (`HiveConfig.password`)."""
        return cls(
            username=hc.username,
            database=hc.database,
            auth=hc.auth,
            password=hc.password(),
            timeout=hc.timeout_seconds,
            read_timeout=hc.read_timeout_seconds,
            attempts=hc.connect_attempts,
            query_timeout=hc.query_timeout_seconds,
        )


class HiveClient:
    """A HiveServer2 session over PyHive; connects lazily, closes with `close()` or `with`.

    Every Thrift call is bounded by `read_timeout` (a server that accepts TCP and never
    answers fails after it), and statements run asynchronously and are polled, so a long
    query never holds one call open. Opening the session is tried `attempts` times.
    """

    def __init__(
        self, host: str, port: int, settings: ClientSettings | None = None, *,
        label: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        settings = settings or ClientSettings.from_hive(HiveConfig())
        self.username = settings.username
        self.database = settings.database
        self.auth = settings.auth
        self._password = settings.password
        self.timeout = settings.timeout
        self.read_timeout = settings.read_timeout
        self.attempts = max(1, settings.attempts)
        self.query_timeout = settings.query_timeout
        self.label = label or f"{host}:{port}"
        self._conn: Any = None

    @classmethod
    def from_config(
        cls, cfg: Config, address: tuple[str, int] | None = None, *, label: str | None = None
    ) -> HiveClient:
        """Return a (not yet connected) client for `[hive]`: at its host and port, or at
        `address` (the local end of its tunnel); raises ConfigError for a password it
        needs and cannot read."""
        hc = cfg.hive_or_default()
        host, port = address or (hc.host, hc.port)
        return cls(host, port, ClientSettings.from_hive(hc), label=label)

    def __enter__(self) -> HiveClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _unavailable(self, why: str) -> HiveUnavailable:
        return HiveUnavailable(
            f"HiveServer2 at {self.label} unreachable ({why}); start it or check "
            "[hive] host, port and tunnel"
        )

    def _transport(self) -> Any:
        """Return PyHive's transport for `auth` over a TSocket with connect/read timeouts."""
        from pyhive.hive import get_installed_sasl
        from thrift.transport.TSocket import TSocket
        from thrift.transport.TTransport import TBufferedTransport

        sock = TSocket(self.host, self.port)
        sock.setTimeout(self.read_timeout * 1000.0)
        if self.auth == "NOSASL":
            return TBufferedTransport(sock)
        if self.auth not in ("NONE", "LDAP", "CUSTOM", "KERBEROS"):
            raise ConfigError(f"[hive] auth {self.auth!r}: use NONE, NOSASL, LDAP, CUSTOM or KERBEROS")
        import thrift_sasl

        host, username = self.host, self.username
        mech = "GSSAPI" if self.auth == "KERBEROS" else "PLAIN"
        service = "hive" if self.auth == "KERBEROS" else None  # EMR's hive/_HOST; untested here
        # NONE still speaks PLAIN SASL; its password only has to be non-empty
        secret = self._password if self.auth in ("LDAP", "CUSTOM") else None
        password = secret.reveal() if secret is not None else "x"
        return thrift_sasl.TSaslClientTransport(
            lambda: get_installed_sasl(
                host=host, sasl_auth=mech, service=service, username=username, password=password
            ),
            mech,
            sock,
        )

    def _open(self) -> Any:
        from pyhive import hive
        from thrift.transport.TTransport import TTransportException

        # PyHive's own socket has no timeout: probe first so a dead host fails fast.
        try:
            with socket.create_connection((self.host, self.port), timeout=self.timeout):
                pass
        except OSError as exc:
            raise self._unavailable(exc.strerror or type(exc).__name__) from None
        try:
            return hive.connect(thrift_transport=self._transport(), username=self.username)
        except (TTransportException, OSError, EOFError) as exc:
            why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if "timed out" in why or "timeout" in why:
                why = f"no answer within {self.read_timeout:g}s ([hive] read_timeout_seconds)"
            raise self._unavailable(why) from None
        except ConfigError:
            raise
        except Exception as exc:  # PyHive raises bare Thrift/SASL errors on a bad handshake
            raise self._unavailable(_error_line(exc)) from None

    def _connection(self) -> Any:
        if self._conn is not None:
            return self._conn
        for attempt in range(1, self.attempts + 1):
            try:
                self._conn = self._open()
                break
            except SourceUnavailable as err:
                if attempt == self.attempts:
                    raise
                log.info("%s; retrying (%d of %d)", err, attempt + 1, self.attempts)
                time.sleep(min(2.0 * attempt, 10.0))
        if self.database != "default":
            # USE fails until the database exists; callers creating it run it themselves.
            try:
                self._raw_execute(f"USE `{self.database}`")
            except QueryFailed:
                log.debug("database %s does not exist yet", self.database)
        return self._conn

    def _wait(self, cursor: Any, sql: str) -> None:
        """Poll an asynchronous statement until it ends; raises QueryFailed unless it finished,
        or when it is still running after `query_timeout` seconds (it is cancelled then, so a
        stuck query never holds the run lock night after night)."""
        delay = 0.02
        deadline = time.monotonic() + self.query_timeout
        while True:
            if time.monotonic() >= deadline:
                self._cancel(cursor)
                raise QueryFailed(
                    f"query on {self.label} still running after {self.query_timeout:g}s "
                    f"([hive] query_timeout_seconds); cancelled it [in: {_short(sql)}]"
                )
            status = cursor.poll(get_progress_update=False)
            state = status.operationState
            if state == _DONE:
                return
            if state in (_ERROR, _CANCELED, _CLOSED, _TIMEDOUT):
                message = str(getattr(status, "errorMessage", "") or "")
                why = _first_line(message, f"operation state {state}")
                raise QueryFailed(f"query failed on {self.label}: {why} [in: {_short(sql)}]")
            time.sleep(max(0.0, min(delay, deadline - time.monotonic())))
            delay = min(delay * 2, 1.0)

    def _cancel(self, cursor: Any) -> None:
        """Ask the server to cancel a statement (best effort: it may be gone already)."""
        try:
            cursor.cancel()
        except Exception:
            log.debug("cancelling a statement on %s failed", self.label, exc_info=True)

    def _raw_execute(self, sql: str, max_rows: int | None = None) -> Result:
        from thrift.transport.TTransport import TTransportException

        cursor = self._conn.cursor()
        try:
            cursor.execute(sql, async_=True)
            self._wait(cursor, sql)
            if cursor.description is None:
                return Result(sql=sql)
            columns = tuple(str(d[0]) for d in cursor.description)
            try:
                fetched = self._fetch(cursor, sql, max_rows)
            except TypeError:
                # Spark 3.5 declares a `Result` column for DDL, then sends no column data,
                # which PyHive 0.7 cannot unwrap: that is a statement without a result set.
                return Result(sql=sql)
            rows = tuple(tuple(r) for r in fetched)
            return Result(columns=columns, rows=rows, sql=sql)
        except (TTransportException, ConnectionError, EOFError, TimeoutError) as exc:
            self._drop()
            why = _error_line(exc)
            if "timed out" in why or "timeout" in why or isinstance(exc, TimeoutError):
                why = f"no answer within {self.read_timeout:g}s ([hive] read_timeout_seconds)"
            raise self._unavailable(f"connection lost: {why}") from None
        except Exception as exc:
            from pyhive.exc import Error as PyHiveError

            if isinstance(exc, PyHiveError):
                raise QueryFailed(
                    f"query failed on {self.label}: {_error_line(exc)} [in: {_short(sql)}]"
                ) from None
            raise
        finally:
            if self._conn is not None:
                try:
                    cursor.close()
                except Exception:
                    log.debug("closing a cursor failed", exc_info=True)

    def _drop(self) -> None:
        """Forget a broken connection without talking to the server again."""
        conn, self._conn = self._conn, None
        transport = getattr(conn, "_transport", None)
        if transport is not None:
            try:
                transport.close()
            except Exception:
                log.debug("closing a broken transport failed", exc_info=True)

    def _fetch(self, cursor: Any, sql: str, max_rows: int | None) -> list[Any]:
        """Return the rows of a result; more than `max_rows` (None: no bound) is a
        QueryFailed, read no further than one row past it (memory stays bounded)."""
        if max_rows is None:
            return list(cursor.fetchall())
        rows: list[Any] = []
        while len(rows) <= max_rows:
            batch = cursor.fetchmany(min(10_000, max_rows + 1 - len(rows)))
            if not batch:
                return rows
            rows.extend(batch)
        self._cancel(cursor)
        raise QueryFailed(
            f"query on {self.label} returns more than [hive] max_rows ({max_rows:,}) rows: add "
            f"a LIMIT, or raise [hive] max_rows [in: {_short(sql)}]"
        )

    def execute(self, sql: str, max_rows: int | None = None) -> Result:
        """Run one statement and return its result (more than `max_rows` rows: QueryFailed);
        raises QueryFailed or SourceUnavailable."""
        self._connection()
        log.debug("hive: %s", sql)
        return self._raw_execute(sql, max_rows)

    def execute_many(self, statements: Sequence[str], max_rows: int | None = None) -> Result:
        """Run statements in order and return the last result (empty Result for none)."""
        last = Result(statements=0)
        for sql in statements:
            last = self.execute(sql, max_rows)
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


@contextmanager
def connect(cfg: Config) -> Iterator[HiveClient]:
    """Yield a HiveClient for `[hive]` (through its SSH tunnel if set); closed on exit."""
    hc = cfg.hive_or_default()
    ssh = cfg.tunnel(hc.tunnel)
    if ssh is None:
        with HiveClient.from_config(cfg) as client:
            yield client
        return
    from warehouse.tunnel import open_tunnel  # lazily: only when a tunnel is configured

    with ExitStack() as stack:
        hc.password()  # a missing password is a ConfigError before the tunnel opens
        try:
            address = stack.enter_context(open_tunnel(ssh, hc.host, hc.port))
        except SourceUnavailable as exc:  # the bastion unreachable, its host key refused
            # HiveServer2 cannot be reached: an outage, which a run remembers
            # (warehouse.hive.outage) instead of waiting out the SSH timeout at every call
            raise HiveUnavailable(f"HiveServer2 {hc.host}:{hc.port}: {exc}") from None
        client = stack.enter_context(HiveClient.from_config(
            cfg, address, label=f"{hc.host}:{hc.port} via [ssh.{ssh.name}]"))
        yield client
