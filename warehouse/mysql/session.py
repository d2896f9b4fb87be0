"""One source's import session: where MySQL is (through the tunnel), with which driver,
into which store and Hive session; the helpers every table's load shares.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

from warehouse.config import Config, MysqlSourceConfig, Secret
from warehouse.hive.registrar import HiveRegistrar
from warehouse.mysql.bounds import Bounds, plan_bounds
from warehouse.mysql.cancel import Cancellation, WatchedDriver
from warehouse.mysql.connect import Driver, Endpoint, close_quietly, resolve_driver
from warehouse.mysql.plan import LoadPlan
from warehouse.mysql.python_engine import export_error
from warehouse.storage import ObjectStore


@dataclass(frozen=True)
class SourceSession:
    """A `[mysql.NAME]` source opened for one import run."""

    cfg: Config
    src: MysqlSourceConfig
    endpoint: Endpoint
    driver: Driver
    store: ObjectStore
    tunnel: Any = None  # the open warehouse.tunnel forward, or None
    hive: HiveRegistrar | None = None  # the run's shared Hive session
    cancel: Cancellation | None = None  # Ctrl-C: breaks the sessions `driver` opened

    @property
    def name(self) -> str:
        """Return the source's name."""
        return self.src.name

    def connect(self, database: str | None = None, *, text_bytes: bool = False) -> Any:
        """Return an open session; raises SourceUnavailable naming the host."""
        return self.driver.connect(self.endpoint, database=database, text_bytes=text_bytes)

    def first_row(self, database: str, sql: str, params: Any = None) -> Any:
        """Return the first row of `sql` in `database` (None if none); raises ExportError."""
        conn = self.connect(database)
        try:
            cur = conn.cursor()
            try:
                cur.execute(self.driver.with_params(sql) if params else sql, params)
                row = cur.fetchone()
            finally:
                close_quietly(cur)
        except self.driver.errors as exc:
            raise export_error(self.endpoint, exc) from None
        finally:
            close_quietly(conn)
        return row

    def probe(self, plan: LoadPlan) -> Bounds:
        """Return an incremental table's Bounds (a session of its own); raises ExportError."""
        conn = self.connect(plan.table.database)
        try:
            return plan_bounds(conn, self.driver, plan)
        except self.driver.errors as exc:
            raise export_error(self.endpoint, exc) from None
        finally:
            close_quietly(conn)

    def tunnel_lost(self) -> str | None:
        """Return why the SSH tunnel closed, or None while it is up (or there is none)."""
        if self.tunnel is None or self.tunnel.alive:
            return None
        from warehouse.tunnel import describe

        reason: str = (self.tunnel.error
                       or f"SSH bastion {describe(self.tunnel.cfg)} closed the connection")
        return reason


@contextmanager
def open_session(
    cfg: Config, src: MysqlSourceConfig, password: Secret, *, store: ObjectStore,
    hive: HiveRegistrar | None = None,
) -> Iterator[SourceSession]:
    """Yield the source's session: the driver resolved (its sessions watched by the
    session's `cancel`), through its tunnel when it has one (closed on exit); raises
    ConfigError or SourceUnavailable."""
    cancel = Cancellation()
    driver = WatchedDriver(resolve_driver(src.driver).name, cancel)
    with _endpoint(cfg, src, password) as (ep, tunnel):
        yield SourceSession(cfg, src, ep, driver, store, tunnel, hive, cancel)


@contextmanager
def _endpoint(
    cfg: Config, src: MysqlSourceConfig, password: Secret
) -> Iterator[tuple[Endpoint, Any]]:
    """Yield (Endpoint, Tunnel or None): through the source's tunnel when it has one."""
    ssh = cfg.tunnel(src.tunnel)
    if ssh is None:
        yield Endpoint(src.name, src.host, src.port, src.user, password,
                       src.read_timeout_seconds), None
        return
    from warehouse.tunnel import tunnel as open_forward

    with ExitStack() as stack:
        t = stack.enter_context(open_forward(ssh, src.host, src.port))
        host, port = t.address
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1"
        via = f"via [ssh.{ssh.name}] {ssh.host}:{ssh.port} to {src.host}:{src.port}"
        yield Endpoint(src.name, host, port, src.user, password, src.read_timeout_seconds,
                       via=via), t
