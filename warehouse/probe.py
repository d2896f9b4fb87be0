"""`warehouse config check --probe` (what `dbt debug` does): reach every configured
endpoint with the real credentials and say, one line each, what works.

- the root: list, write and delete a probe object (`_state/probe-*`, hidden);
- each `[ssh.NAME]` bastion: its host key is known and the login works (a forward opens);
- each `[mysql.NAME]` source: the login (through its tunnel), and a `SELECT ... LIMIT 0`
  on every table the config would import: the tables its globs select, the tables it
  names, and those imported before (a table the user lost its grant on is invisible in
  information_schema, so only a name or an earlier import can reveal it);
- HiveServer2 (`[hive]`) and the Glue catalog (`[glue]`): list the database's tables;
- EMR when `[emr] cluster_id` is set: describe the cluster.

Each call is bounded by the section's own timeouts. A failure is one line and the exit
code combines the failures' classes (3 for a source that cannot be reached or read).
Apart from `configcheck` because it opens connections; like it, above every layer.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from warehouse.config import Config, MysqlSourceConfig, SshConfig
from warehouse.errors import EXIT_UNAVAILABLE, WarehouseError, combined_exit_code
from warehouse.storage import store_for_config, write_bytes

if TYPE_CHECKING:
    from warehouse.mysql.selection import Listing

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Probe:
    """One endpoint's outcome: `what` it is, and `text` says what works or what failed."""

    what: str
    text: str
    exit_code: int = 0

    def line(self) -> str:
        """Return `ok    what: text` or `FAIL  what: text (exit N)`."""
        if self.exit_code:
            return f"FAIL  {self.what}: {self.text} (exit {self.exit_code})"
        return f"ok    {self.what}: {self.text}"


@dataclass
class ProbeSummary:
    """Every endpoint's Probe, in the order they were reached."""

    probes: list[Probe] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """Return the combined exit code of the failed probes (0 when all work)."""
        return combined_exit_code(p.exit_code for p in self.probes)

    def line(self) -> str:
        """Return the one-line summary."""
        bad = [p.what for p in self.probes if p.exit_code]
        n = len(self.probes)
        head = f"config check --probe: {n} endpoint{'' if n == 1 else 's'}, {len(bad)} failing"
        return head + (f" ({', '.join(bad)}); exit {self.exit_code}" if bad else "")


def probe_all(cfg: Config, echo: Callable[[str], None] | None = None) -> ProbeSummary:
    """Probe every configured endpoint (each line passed to `echo` as it is known);
    return the ProbeSummary. Never raises for an endpoint's failure."""
    summary = ProbeSummary()
    steps: list[tuple[str, Callable[[], str]]] = [("root", lambda: _root(cfg))]
    steps += [(f"ssh.{s.name}", _bind(_ssh, s)) for s in cfg.ssh.values()]
    steps += [(f"mysql.{s.name}", _bind(_mysql, cfg, s)) for s in cfg.mysql.values()]
    if cfg.hive is not None:
        steps.append(("hive", lambda: _hive(cfg)))
    if cfg.glue is not None:
        steps.append(("glue", lambda: _glue(cfg)))
    if cfg.emr.cluster_id:
        steps.append(("emr", lambda: _emr(cfg)))
    for what, step in steps:
        probe = _run(what, step)
        summary.probes.append(probe)
        if echo is not None:
            echo(probe.line())
    return summary


def _bind(fn: Callable[..., str], *args: Any) -> Callable[[], str]:
    return lambda: fn(*args)


def _run(what: str, step: Callable[[], str]) -> Probe:
    from warehouse.redact import redact

    try:
        return Probe(what, step())
    except WarehouseError as err:
        return Probe(what, redact(str(err)), err.exit_code or EXIT_UNAVAILABLE)
    except Exception as exc:  # botocore, sockets, drivers: the endpoint is not usable
        log.debug("probe %s", what, exc_info=True)
        first = (str(exc).strip().splitlines() or [""])[0]
        return Probe(what, redact(f"{type(exc).__name__}: {first}"), EXIT_UNAVAILABLE)


class _Failed(WarehouseError):
    """A probe that reached its endpoint and found it unusable (exit 3)."""

    exit_code = EXIT_UNAVAILABLE


def _root(cfg: Config) -> str:
    store = store_for_config(cfg)
    store.check_root()
    listed = next(iter(store.list("_state/", include_hidden=True)), None) is not None
    key = f"_state/probe-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    write_bytes(store, key, b"warehouse config check --probe\n")
    try:
        if not store.exists(key):
            raise _Failed(f"{store.uri(key)} written but not found after")
    finally:
        store.delete(key)
    if store.exists(key):
        raise _Failed(f"{store.uri(key)} could not be deleted; check the delete permission")
    seen = "state found" if listed else "no state yet"
    return f"list, write and delete work in {store.uri('')} ({seen})"


def _ssh(ssh: SshConfig) -> str:
    from warehouse.tunnel import tunnel

    with tunnel(ssh, "127.0.0.1", ssh.port):  # the forward is never used: the login is
        pass
    keys = f"host key in {ssh.known_hosts}" if ssh.known_hosts else "host key accepted"
    return f"{ssh.user}@{ssh.host}:{ssh.port} ({ssh.backend}): {keys}, login ok"


def _mysql(cfg: Config, src: MysqlSourceConfig) -> str:
    from warehouse.mysql import schema as sch
    from warehouse.mysql.connect import close_quietly, describe_error, error_code
    from warehouse.mysql.selection import list_source
    from warehouse.mysql.session import open_session

    password = src.password()
    store = store_for_config(cfg)
    with open_session(cfg, src, password, store=store) as session:
        conn = session.connect()
        denied: list[str] = []
        missing: list[str] = []
        readable = 0
        try:
            for db, listing in list_source(conn, src).items():
                if listing is None:
                    denied.append(f"{db}.*")
                for table in _tables_to_read(cfg, store, src, db, listing):
                    try:
                        with _cursor(conn) as cur:
                            cur.execute(f"SELECT 1 FROM {sch.qualified(db, table)} LIMIT 0")
                            cur.fetchall()
                        readable += 1
                    except session.driver.errors as exc:
                        code = error_code(exc)
                        if code in (1142, 1143):
                            denied.append(f"{db}.{table}")
                        elif code == 1146:
                            missing.append(f"{db}.{table}")
                        else:
                            raise _Failed(describe_error(session.endpoint, exc)) from None
        except session.driver.errors as exc:
            raise _Failed(describe_error(session.endpoint, exc)) from None
        finally:
            close_quietly(conn)
    where = session.endpoint.where().removeprefix(f"[mysql.{src.name}] ")
    whole = {d[:-2] for d in denied if d.endswith(".*")}  # a database not visible at all
    denied = [d for d in denied if d.endswith(".*") or d.split(".", 1)[0] not in whole]
    if denied:
        grants = "; ".join(f"GRANT SELECT ON {t} TO '{src.user}'" for t in denied[:3])
        raise _Failed(
            f"{where}: login ok; no SELECT on {', '.join(denied)} (not granted, or absent: "
            f"MySQL does not say which; {readable} readable): {grants}"
        )
    note = f" ({', '.join(missing)} named or imported before: no longer there)" if missing else ""
    return f"{where}: login ok, SELECT on {readable} table{'' if readable == 1 else 's'}{note}"


def _tables_to_read(
    cfg: Config, store: Any, src: MysqlSourceConfig, db: str, listing: Listing | None
) -> list[str]:
    """Return the tables of `db` an import would read: the visible ones it selects
    (`warehouse.mysql.selection`), and those of the ones it names outright or imported
    before (from the root's state; when the root cannot be read, from the catalog's
    `mysql_<source>_<db>_*` tables) that the same globs select."""
    from warehouse.mysql import schema as sch
    from warehouse.mysql.state import state_key

    # a plain name is this database's only when the source has one: MySQL answers "denied"
    # for a table that does not exist as for one not granted
    one = len(set(src.databases)) == 1
    named = [g.split(".", 1)[-1] for g in src.tables if not any(c in g for c in "*?[")
             and ("." in g or one)]
    named += [k.split(".", 1)[1] for k in src.incremental if k.split(".", 1)[0] == db.lower()]
    prefix = f"{state_key(src.name, db, 'x').rsplit('/', 1)[0]}/"
    try:
        before = [o.key[len(prefix):-len(".json")] for o in store.list(prefix, include_hidden=True)
                  if o.key.endswith(".json") and "/" not in o.key[len(prefix):]]
    except Exception as err:  # the root's own line says what is wrong with it
        log.info("probe [mysql.%s]: earlier imports not listed: %s", src.name, err)
        before = _catalog_tables(cfg, sch.hive_name(src.name, db, ""))
    visible = listing.tables if listing is not None else []
    known = {t.lower() for t in visible}
    extra = [t for t in (*named, *before) if t.lower() not in known]
    # the same include/exclude rules as the import (a name given for another database
    # does not match this one's "db.table"); both lists sorted, so is the whole
    selected = listing.selected if listing is not None else []
    return sorted(dict.fromkeys([*selected, *sch.select_tables(db, extra, src.tables,
                                                               src.exclude)]))


def _catalog_tables(cfg: Config, prefix: str) -> list[str]:
    """Return the MySQL table names behind the catalog's tables named `prefix*` (none when
    there is no catalog or it does not answer)."""
    if not cfg.has_catalog:
        return []
    try:
        if cfg.glue is not None:
            from warehouse.hive.glue import GlueCatalog

            names = set(GlueCatalog(cfg, cfg.root).tables())
        else:
            from warehouse.hive.client import connect
            from warehouse.hive.metastore import table_names

            with connect(cfg) as client:
                names = table_names(client, cfg.hive_or_default().database)
    except Exception as err:
        log.info("probe: catalog tables not listed: %s", err)
        return []
    found = [n[len(prefix):] for n in names if n.startswith(prefix)]
    aux = {f"{t}{suffix}" for t in found for suffix in ("_latest", "_deletes")}
    return [t for t in found if t not in aux]  # a table's `_latest` view, `_deletes` table


@contextmanager
def _cursor(conn: Any) -> Iterator[Any]:
    cur = conn.cursor()
    try:
        yield cur
    finally:
        cur.close()


def _hive(cfg: Config) -> str:
    from warehouse.hive.client import connect
    from warehouse.hive.metastore import table_names

    hc = cfg.hive_or_default()
    with connect(cfg) as client:
        dbs = {str(r[0]).lower() for r in client.execute("SHOW DATABASES").rows}
        via = f" via [ssh.{hc.tunnel}]" if hc.tunnel else ""
        where = f"HiveServer2 {hc.host}:{hc.port}{via} ({hc.dialect})"
        if hc.database.lower() not in dbs:
            return f"{where}: login ok; database {hc.database} not there yet (hive apply makes it)"
        n = len(table_names(client, hc.database))
    return f"{where}: database {hc.database} lists {n} tables"


def _glue(cfg: Config) -> str:
    from warehouse.hive.glue import GlueCatalog

    catalog = GlueCatalog(cfg, cfg.root)
    if not catalog.has_database():
        return f"{catalog.target}: reachable; database not there yet (hive apply makes it)"
    return f"{catalog.target}: lists {len(catalog.tables())} tables"


def _emr(cfg: Config) -> str:
    from warehouse.run.emr import Emr

    emr = Emr(cfg)
    cid = emr.cluster_id()
    c = emr.call(f"cluster {cid}", "describe_cluster", ClusterId=cid)["Cluster"]
    state = c.get("Status", {}).get("State", "?")
    text = f"cluster {cid} ({c.get('Name', '')}, {c.get('ReleaseLabel', '?')}) is {state}"
    if state.startswith("TERMINAT"):
        raise _Failed(f"{text}: set [emr] cluster_id to a running cluster")
    return text
