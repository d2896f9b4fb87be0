"""The user's views (`[hive] views = "DIR"`): one `CREATE OR REPLACE VIEW` per `*.hql` file.

Each file holds exactly one statement `CREATE OR REPLACE VIEW name AS SELECT ...` over the
warehouse's tables by their plain names; it runs with `[hive] database` as the current
database. `hive apply` creates the views after the tables, dependencies first (a view
that names another view of the folder comes after it). A view whose SQL fails is
reported with its file and the server's message (exit 5); the others are still applied,
except those built on a failed view, which are reported as such.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from warehouse.config import Config
from warehouse.errors import ConfigError, QueryFailed
from warehouse.hive.client import HiveClient, split_statements
from warehouse.hive.metastore import table_names
from warehouse.hive.render import quote_ident
from warehouse.hive.summary import HiveSummary

__all__ = ["ViewFile", "apply_views", "load_views", "ordered", "references"]

_CREATE = re.compile(
    r"^\s*CREATE\s+OR\s+REPLACE\s+VIEW\s+((?:`[^`]+`|[\w]+)(?:\.(?:`[^`]+`|[\w]+))?)\s",
    re.IGNORECASE,
)
_NOISE = re.compile(r"--[^\n]*|/\*.*?\*/|'(?:\\.|[^'\\])*'|\"(?:\\.|[^\"\\])*\"", re.DOTALL)
_WORD = re.compile(r"`([^`]+)`|\b([A-Za-z_]\w*)\b")


@dataclass(frozen=True)
class ViewFile:
    """One view file: its path, the view's lower-case name and its statement."""

    path: Path
    name: str
    sql: str


def _name(text: str) -> str:
    last = re.split(r"\.(?=(?:[^`]*`[^`]*`)*[^`]*$)", text)[-1]
    return last.strip("`").lower()


def load_views(folder: str | Path) -> list[ViewFile]:
    """Return the views of `folder`'s `*.hql` files, sorted by file name.

    Raises ConfigError listing every file that is unreadable, holds no or several
    statements, or is not a `CREATE OR REPLACE VIEW`, and every name defined twice.
    """
    where = Path(folder)
    if not where.is_dir():
        raise ConfigError(f"[hive] views folder {where} does not exist")
    views: list[ViewFile] = []
    problems: list[str] = []
    for path in sorted(where.glob("*.hql")):
        try:
            statements = split_statements(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{path}: unreadable ({exc})")
            continue
        m = _CREATE.match(statements[0] + " ") if len(statements) == 1 else None
        if m is None:
            problems.append(
                f"{path}: must hold exactly one `CREATE OR REPLACE VIEW name AS SELECT ...`"
            )
            continue
        views.append(ViewFile(path, _name(m.group(1)), statements[0]))
    seen: dict[str, Path] = {}
    for v in views:
        if v.name in seen:
            problems.append(f"view {v.name} is defined twice: {seen[v.name]} and {v.path}")
        seen[v.name] = v.path
    if problems:
        raise ConfigError("; ".join(problems))
    return views


def references(view: ViewFile, names: set[str]) -> set[str]:
    """Return which of `names` the body of `view` mentions (comments and strings ignored)."""
    body = _NOISE.sub(" ", view.sql[_CREATE.match(view.sql + " ").end() :])  # type: ignore[union-attr]
    found = {(a or b).lower() for a, b in _WORD.findall(body)}
    return (found & names) - {view.name}


def ordered(views: Sequence[ViewFile]) -> list[ViewFile]:
    """Return `views` with every view after the views it uses; raises ConfigError on a cycle."""
    by_name = {v.name: v for v in views}
    deps = {v.name: references(v, set(by_name)) for v in views}
    out: list[ViewFile] = []
    state: dict[str, int] = {}  # 1: visiting, 2: done

    def visit(name: str, trail: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = " -> ".join([*trail[trail.index(name):], name])
            raise ConfigError(f"views depend on each other in a cycle: {cycle}")
        state[name] = 1
        for dep in sorted(deps[name]):
            visit(dep, [*trail, name])
        state[name] = 2
        out.append(by_name[name])

    for v in views:
        visit(v.name, [])
    return out


def apply_views(cfg: Config, client: HiveClient, summary: HiveSummary) -> None:
    """Create or replace the views of `[hive] views` through `client`, recording in `summary`."""
    folder = cfg.hive_or_default().views
    if not folder:
        return
    views = ordered(load_views(folder))
    database = cfg.hive_or_default().database
    existing = table_names(client, database)
    client.execute(f"USE {quote_ident(database)}")
    failed: set[str] = set()
    for view in views:
        broken = references(view, failed)
        if broken:
            summary.failed.append(
                f"view {view.name} ({view.path}): uses the failed view {', '.join(sorted(broken))}"
            )
            failed.add(view.name)
            continue
        try:
            client.execute(view.sql)
        except QueryFailed as exc:
            summary.failed.append(f"view {view.name} ({view.path}): {exc}")
            failed.add(view.name)
            continue
        (summary.replaced if view.name in existing else summary.created).append(f"view {view.name}")
