"""The Hive names of imported tables, and the one check that no two tables share one.

An imported table `source.database.table` is the Hive table
`mysql_<source>_<database>_<table>` (lower-case, other characters as `_`), plus, when
incremental, the view `<name>_latest`, and with `deletes = true` the table
`<name>_deletes`. Different tables can end up with one name: `Orders` and `orders`;
`my-table` and `my_table`; `[mysql.s]` database `c1_x` and `[mysql.s_c1]` database `x`
(both `mysql_s_c1_x_t` for a table `t`); a real table `o_deletes` beside `o` with
deletes. Each would overwrite the other's Hive object. `name_clashes` finds them; `hive
apply` (over the root's states) and `import` / `run` (over the tables they plan, the
other sources' and the root's states, before anything is registered) both call it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from warehouse.config import MysqlSourceConfig
from warehouse.errors import JobFailed
from warehouse.mysql import schema as sch
from warehouse.mysql.plan import incremental_for
from warehouse.mysql.state import TableState, state_key
from warehouse.storage import ObjectStore
from warehouse.storage.base import read_bytes

STATE_PREFIX = state_key("s", "d", "t").split("/s/", 1)[0] + "/"  # "_state/mysql/"
_KINDS = {"": "table", "_deletes": "_deletes table", "_latest": "_latest view"}


@dataclass(frozen=True)
class Owner:
    """An imported (or to be imported) table, as the Hive objects it has or will have."""

    source: str
    database: str
    table: str
    latest: bool = False  # incremental: the `_latest` view
    deletes: bool = False  # deletes = true: the `_deletes` table
    held: bool = False  # its state is in the root: its names are taken already

    @property
    def label(self) -> str:
        """Return `source.database.table`."""
        return f"{self.source}.{self.database}.{self.table}"

    def names(self) -> dict[str, str]:
        """Return each Hive name of the table -> its suffix ('', '_deletes', '_latest')."""
        base = sch.hive_name(self.source, self.database, self.table)
        out = {base: ""}
        if self.deletes:
            out[f"{base}_deletes"] = "_deletes"
        if self.latest:
            out[f"{base}_latest"] = "_latest"
        return out


def from_config(src: MysqlSourceConfig, database: str, table: str) -> Owner:
    """Return the Owner of a table the config selects (its incremental entry, if any)."""
    inc = incremental_for(src, database, table)
    return Owner(src.name, database, table, latest=inc is not None,
                 deletes=bool(inc is not None and inc.deletes))


def from_state(source: str, database: str, table: str, state: TableState) -> Owner:
    """Return the Owner of a table as its stored state describes it (held)."""
    latest = state.mode != "full"
    return Owner(source, database, table, latest=latest, deletes=latest and state.deletes,
                 held=True)


def root_owners(store: ObjectStore, near: Collection[str] = ()) -> list[Owner]:
    """Return an Owner per table whose state is in the root (held).

    A state file is read only when its table's `_deletes` or `_latest` name is in `near`
    or the base name of another state (the names that could clash: a suffixed name
    meets another suffixed one only when their base names are equal already); an
    unreadable one counts as having both.
    """
    found: list[tuple[str, str, str, str]] = []
    for obj in store.list(STATE_PREFIX, include_hidden=True):
        parts = obj.key[len(STATE_PREFIX):].split("/")
        if len(parts) == 3 and parts[2].endswith(".json") and not parts[2].startswith("_tmp."):
            found.append((parts[0], parts[1], parts[2][: -len(".json")], obj.key))
    bases = {sch.hive_name(s, d, t) for s, d, t, _ in found} | set(near)
    out: list[Owner] = []
    for s, d, t, key in found:
        base = sch.hive_name(s, d, t)
        if f"{base}_deletes" not in bases and f"{base}_latest" not in bases:
            out.append(Owner(s, d, t, held=True))
            continue
        try:
            out.append(from_state(s, d, t, TableState.from_json(read_bytes(store, key),
                                                                store.uri(key))))
        except JobFailed:
            out.append(Owner(s, d, t, latest=True, deletes=True, held=True))
    return out


def merge(owners: Iterable[Owner]) -> list[Owner]:
    """Return one Owner per label: the first one's, with the names of all and held by any
    (a table selected now and imported before keeps the names it had)."""
    by: dict[str, Owner] = {}
    for o in owners:
        got = by.get(o.label)
        by[o.label] = o if got is None else dataclasses.replace(
            got, latest=got.latest or o.latest, deletes=got.deletes or o.deletes,
            held=got.held or o.held)
    return list(by.values())


def name_clashes(owners: Sequence[Owner]) -> dict[str, str]:
    """Return label -> one line, for each table that must not be imported or registered
    because another table has one of its Hive names (see the module docstring).

    Of two tables where only one holds the name in the root already (its state), the
    newcomer fails and the other goes on; otherwise (both new, or both held) both fail.
    `owners`: one per label (`merge`).
    """
    by_name: dict[str, list[tuple[Owner, str]]] = {}
    for o in owners:
        for name, suffix in o.names().items():
            by_name.setdefault(name, []).append((o, suffix))
    out: dict[str, str] = {}
    for name, group in sorted(by_name.items()):
        if len(group) < 2:
            continue
        holders = {o.label for o, _ in group if o.held}
        losers = group if len(holders) in (0, len(group)) else [
            (o, s) for o, s in group if o.label not in holders]
        sections = " or ".join(sorted({f"[mysql.{o.source}]" for o, _ in group}))
        for o, suffix in losers:
            others = "; ".join(
                f"the {_KINDS[s]} of {x.label}{' (imported before)' if x.held else ''}"
                for x, s in group if x.label != o.label)
            out.setdefault(o.label, (
                f"Hive name {name} of the {_KINDS[suffix]} of {o.label} is shared with "
                f"{others}; list one of them in {sections} exclude, or rename it"))
    return out
