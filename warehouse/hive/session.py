"""A Hive session for `[hive]` (or an injected client), with the root and target it serves."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from warehouse.config import Config
from warehouse.hive.client import HiveClient, connect
from warehouse.hive.glue import glue_target
from warehouse.hive.render import location_uri
from warehouse.storage import ObjectStore, store_for_config

__all__ = ["catalog_database", "session", "target", "warehouse_root_uri"]


@contextmanager
def session(cfg: Config, client: HiveClient | None) -> Iterator[HiveClient]:
    """Yield `client` when given, else a new connection to `[hive]` closed on exit."""
    if client is not None:
        yield client
        return
    with connect(cfg) as opened:
        yield opened


def warehouse_root_uri(cfg: Config, store: ObjectStore | None = None) -> str:
    """Return the location URI of the warehouse root (of `store`, else the configured one)."""
    return location_uri((store or store_for_config(cfg)).uri(""))


def catalog_database(cfg: Config) -> str:
    """Return the database that holds the tables (views name it): Glue's when `[glue]` is
    set, else `[hive] database`."""
    return cfg.glue.database if cfg.glue is not None else cfg.hive_or_default().database


def target(cfg: Config) -> str:
    """Return the configured database, server, tunnel and dialect, for summaries (the Glue
    catalog when `[glue]` is set: it holds the tables)."""
    hc = cfg.hive_or_default()
    if cfg.glue is not None:
        views = f"; views via HiveServer2 at {hc.host}:{hc.port}" if cfg.hive else ""
        return glue_target(cfg.glue) + views
    via = f" via [ssh.{hc.tunnel}]" if hc.tunnel else ""
    return f"database {hc.database} at {hc.host}:{hc.port}{via} ({hc.dialect})"
