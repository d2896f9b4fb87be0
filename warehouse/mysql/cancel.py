"""Stopping an import at Ctrl-C within seconds, whatever its tables are doing.

A KeyboardInterrupt reaches only the main thread, while the tables run on the import's
pool threads, each maybe blocked for hours in one streaming SELECT. `Cancellation.cancel()`
(called by the main thread) sets an event that the export's row loop checks between
batches (`check()` raises `Interrupted`), and breaks every open session of the source at
once: the socket is shut down under the driver (PyMySQL, mysqlclient), or the session is
killed with `KILL CONNECTION` through a second session (mysql-connector, whose C layer
does not expose its socket). The blocked read then fails at once; the export's writer
aborts its upload (S3 `abort_multipart_upload`, the local temporary file removed) on
the way out, and the table ends as interrupted (exit 130).

`WatchedDriver` is the session's driver with every connection it opens registered here,
so the planning, probing, exporting and deleted-keys sessions are all covered.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from warehouse.errors import EXIT_INTERRUPTED, WarehouseError
from warehouse.mysql.connect import Driver, Endpoint, close_quietly

log = logging.getLogger(__name__)


class Interrupted(WarehouseError):
    """The import was interrupted (Ctrl-C) while this table was running or waiting."""

    exit_code = EXIT_INTERRUPTED


@dataclass(frozen=True)
class _Session:
    """How to break one watched session: its driver, endpoint and (mysqlclient) socket."""

    driver: Driver
    ep: Endpoint
    fd: int = -1  # mysqlclient: read at connect time (its guard refuses fileno() mid-query)
    addresses: tuple[Any, Any] | None = None  # the socket's, to tell a reused fd apart


class Cancellation:
    """One import's stop signal and the sessions to break when it is given."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._open: weakref.WeakKeyDictionary[Any, _Session] = weakref.WeakKeyDictionary()

    def is_set(self) -> bool:
        """Return True once the import is being stopped."""
        return self._event.is_set()

    def check(self) -> None:
        """Return while the import goes on; raises Interrupted once it is being stopped."""
        if self._event.is_set():
            raise Interrupted("interrupted (Ctrl-C)")

    def watch(self, conn: Any, driver: Driver, ep: Endpoint) -> None:
        """Break `conn` when the import is stopped (at once if it already is)."""
        session = _Session(driver, ep)
        if driver.name == "mysqlclient":
            fd = conn.fileno()
            session = _Session(driver, ep, fd, _addresses(fd))
        with self._lock:
            self._open[conn] = session
        if self._event.is_set():
            _break(conn, session)

    def cancel(self) -> None:
        """Stop the import: set the event, break every open session (never raises)."""
        self._event.set()
        with self._lock:
            sessions = list(self._open.items())
        for conn, session in sessions:
            _break(conn, session)


@dataclass(frozen=True)
class WatchedDriver(Driver):
    """A Driver whose sessions `cancel` breaks; pickles as the plain Driver (the split
    export's worker processes die of the same Ctrl-C on their own)."""

    cancel: Cancellation = field(default_factory=Cancellation, compare=False, repr=False)

    def connect(self, ep: Endpoint, *, database: str | None = None,
                text_bytes: bool = False) -> Any:
        """Return an open, watched session; raises Interrupted once the import is stopped."""
        self.cancel.check()
        conn = super().connect(ep, database=database, text_bytes=text_bytes)
        self.cancel.watch(conn, Driver(self.name), ep)
        return conn

    def __reduce__(self) -> tuple[Any, ...]:
        return (Driver, (self.name,))


def _addresses(fd: int) -> tuple[Any, Any] | None:
    """Return (local, peer) address of the socket on `fd`, or None when it is not one."""
    try:
        sock = socket.socket(fileno=os.dup(fd))
    except OSError:
        return None
    try:
        return sock.getsockname(), sock.getpeername()
    except OSError:
        return None
    finally:
        sock.close()


def _break(conn: Any, s: _Session) -> None:
    """Make a session's blocked read fail now; never raises (a closed one is left alone)."""
    try:
        if s.driver.name == "pymysql":
            sock = getattr(conn, "_sock", None)
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)
        elif s.driver.name == "mysqlclient":
            # closed meanwhile, its fd maybe reused by another socket: leave that alone
            if getattr(conn, "open", False) and s.addresses is not None \
                    and _addresses(s.fd) == s.addresses:
                # shutdown acts on the socket, which the duplicate shares: the C read fails
                dup = socket.socket(fileno=os.dup(s.fd))
                try:
                    dup.shutdown(socket.SHUT_RDWR)
                finally:
                    dup.close()
        else:
            _kill(conn, s.driver, s.ep)
    except Exception as exc:  # closed meanwhile: nothing to break
        log.debug("breaking a %s session: %s", s.driver.name, exc)


def _kill(conn: Any, driver: Driver, ep: Endpoint) -> None:
    """End a mysql-connector session from the server's side (KILL through a new session)."""
    cmysql = getattr(conn, "_cmysql", None)
    if cmysql is None or not cmysql.connected():
        return
    thread_id = int(conn.connection_id)
    killer = driver.connect(Endpoint(ep.source, ep.host, ep.port, ep.user, ep.password,
                                     read_timeout=5.0, connect_timeout=5.0, via=ep.via))
    try:
        cur = killer.cursor()
        with contextlib.suppress(*driver.errors):  # ended meanwhile (unknown thread id)
            cur.execute(f"KILL CONNECTION {thread_id}")
        close_quietly(cur)
    finally:
        close_quietly(killer)


def first_ctrl_c_only() -> Callable[[], None]:
    """Make a Ctrl-C after the first one a warning while the import stops (the first
    raises KeyboardInterrupt as usual: the running tables then remove their partial
    loads, which a second one must not cut short); return the function restoring the
    previous handler. Only the main thread may do so: elsewhere nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.getsignal(signal.SIGINT)
    if previous is not signal.default_int_handler:  # SIG_IGN, or the caller's own
        return lambda: None
    seen = False

    def handler(signum: int, frame: object) -> None:
        nonlocal seen
        if not seen:
            seen = True
            raise KeyboardInterrupt
        log.warning("still stopping: removing the partial loads of the running tables")

    signal.signal(signal.SIGINT, handler)

    def restore() -> None:
        signal.signal(signal.SIGINT, previous)

    return restore
