"""What one table's load does, decided from its stored state and settings: no I/O.

`plan_load` answers, before MySQL is probed: a full or an incremental read, from which
watermark (and how far back the lag window re-reads), which append ids are re-read, the
row key of the `_latest` view, whether deleted keys are reconciled, and which earlier
loads stay. It raises for what the user must fix in the config or the table: a column
clashing with the Hive table's own columns (JobFailed), a bad incremental entry
(ConfigError); schema or engine drift since the last load, and a changed row key, are
reported in `LoadPlan.drift` (the load then fails, asking for `--full`).

A changed incremental entry switches the table at this load (`LoadPlan.switch` says
how): full -> append/lastmodified reads the whole table and replaces the full load, as a
first incremental load does; incremental -> full is a full load; append <-> lastmodified
or another check column reads the whole table and keeps the earlier loads (rows since
deleted in MySQL stay in the Hive table, each key's newest copy is this load's).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from warehouse.config import IncrementalConfig, MysqlSourceConfig
from warehouse.errors import ConfigError, JobFailed
from warehouse.mysql import collation as coll
from warehouse.mysql import schema as sch
from warehouse.mysql import watermark as wm
from warehouse.mysql.state import TableState, signature


@dataclass
class Planned:
    """A selected table as the metadata session read it."""

    database: str
    table: str
    columns: list[sch.SourceColumn]
    key: list[str]
    zero_dates: bool


@dataclass(frozen=True)
class Watermark:
    """Where an incremental read starts; empty for a full read (see `watermark`)."""

    last: str | None = None  # the stored watermark (last value read)
    low: str | None = None  # lastmodified: `last` minus the lag window, re-read from here
    seen_to: int | None = None  # append on an integer column: the highest id seen
    missing: list[list[int]] = field(default_factory=list)  # append: id ranges re-read
    max_value: str | None = None  # MAX(check column) at the last probe
    window: dict[str, Any] | None = None  # the re-read window's checksum at the last load
    writers: list[str] | None = None  # write transactions open at the last probe
    create_time: str | None = None  # the table's CREATE_TIME at the last load
    table_id: int | None = None  # its InnoDB table id then (warehouse.mysql.recreated)


@dataclass(frozen=True)
class LoadPlan:
    """One table's load, before any I/O."""

    source: str
    table: Planned
    engine: str
    inc: IncrementalConfig | None  # the table's incremental entry (None: full tables)
    incremental: bool  # read since the watermark (False: every row)
    key: list[str]  # the _latest view's row identity ([] for full tables)
    deletes: bool  # reconcile deleted keys (`deletes = true`)
    previous_keys: str | None  # the key snapshot (load stamp) the deletes compare with
    loads: list[str]  # the loads the state lists
    deletes_loads: list[str]  # the deletes loads the state lists
    kept_deletes: list[str]  # of those, the ones this load keeps
    deletes_toggled: bool  # `deletes` switched on or off since the last load
    had_keys: bool  # the state references a key snapshot
    watermark: Watermark = field(default_factory=Watermark)
    drift: str | None = None  # why the state no longer fits (the load fails: run --full)
    switch: str | None = None  # the incremental entry changed: what this load does about it
    keep_loads: bool = False  # a whole-table read that adds a load instead of replacing
    # the Hive type of the date columns at the last load: STRING (True), DATE/TIMESTAMP
    # (False), None without a state (warehouse.mysql.zerodates)
    dates_were_string: bool | None = None
    # the key's text columns compared by collation weight (warehouse.mysql.collation)
    weights: dict[str, str] = field(default_factory=dict)
    weights_switch: bool = False  # the switch reads the whole table for the key weights
    format: str = "json"  # the files written: [mysql.NAME] format (warehouse.mysql.parquet)

    @property
    def name(self) -> str:
        """Return `source.database.table`."""
        return f"{self.source}.{self.table.database}.{self.table.table}"

    @property
    def mode(self) -> str:
        """Return what this load reads: `full`, `append` or `lastmodified`."""
        return self.inc.mode if (self.incremental and self.inc) else "full"

    @property
    def identity(self) -> list[str]:
        """Return the columns identifying a row (`key` with weight columns for text)."""
        return coll.identity(self.key, self.weights)

    @property
    def check(self) -> sch.SourceColumn | None:
        """Return the incremental (check) column."""
        if self.inc is None:
            return None
        return next(c for c in self.table.columns if c.name.lower() == self.inc.column.lower())


def incremental_for(src: MysqlSourceConfig, database: str, table: str) -> IncrementalConfig | None:
    """Return the table's `[mysql.NAME.incremental]` entry (`db.table` before `table`)."""
    inc = src.incremental
    return inc.get(f"{database}.{table}".lower()) or inc.get(table.lower())


def plan_load(
    state: TableState | None,
    incremental: IncrementalConfig | None,
    columns: Planned,
    full: bool,
    *,
    source: str,
    engine: str,
    format: str,
) -> LoadPlan:
    """Return the table's LoadPlan; raises ConfigError or JobFailed (see the module)."""
    p, inc = columns, incremental
    name = f"{source}.{p.database}.{p.table}"
    if not p.columns:
        raise JobFailed(f"table {name}: no columns (dropped while importing?)")
    _check_reserved(p, inc, name)
    key = _key(p, inc, source, name) if inc is not None else list(p.key)
    switch, keep = (None, False) if (state is None or full) else _switch(state, inc, name)
    weights = coll.key_weights(p.columns, key) if (inc is not None and engine == "python") \
        else {}
    reads_since = inc is not None and state is not None and not full and switch is None
    drifted = None
    if (reads_since or keep) and state is not None and inc is not None:
        drifted = _drift_error(state, p, inc, key, engine, name) or _format_drift(
            state, format, name)
    # loads kept must identify rows alike: other key weights (an older root, a collation
    # changed by ALTER TABLE) make this load a whole-table read that replaces them
    weights_switch = (reads_since or keep) and drifted is None and state is not None \
        and (state.key_weights or {}) != weights
    if weights_switch:
        switch = (f"{name}: its key is compared as MySQL compares it from now on "
                  f"({', '.join(f'{k} {c}' for k, c in weights.items()) or 'exactly'}): "
                  "this load reads the whole table and replaces the earlier loads")
        reads_since = keep = False
    keeps = reads_since or keep  # the earlier loads, deletes and key snapshot stay
    deletes = inc is not None and inc.deletes
    return LoadPlan(
        source=source,
        table=p,
        engine=engine,
        inc=inc,
        incremental=reads_since,
        key=key,
        deletes=deletes,
        previous_keys=state.keys_load if (keeps and state is not None) else None,
        loads=list(state.loads) if state else [],
        deletes_loads=list(state.deletes_loads) if state else [],
        kept_deletes=list(state.deletes_loads) if (state and keeps) else [],
        deletes_toggled=state is not None and state.deletes != deletes,
        had_keys=bool(state and state.keys_load),
        watermark=_watermark(state, inc, reads_since),
        drift=drifted,
        switch=switch,
        keep_loads=keep,
        weights=weights,
        weights_switch=weights_switch,
        format=format,
        dates_were_string=None if state is None else bool(
            (state.schema or {}).get("zero_dates", True)),
    )


def _switch(state: TableState, inc: IncrementalConfig | None, name: str) -> tuple[str | None, bool]:
    """Return (what this load does, whether the earlier loads stay) when the table's
    incremental entry changed since its last load, else (None, False)."""
    old = state.mode if state.mode == "full" else f"{state.mode} on {state.column}"
    if inc is None:
        if state.mode == "full":
            return None, False
        return (f"switching {name} from {old} to full: this load reads the whole table and "
                "replaces the earlier loads (its _latest view is no longer updated)"), False
    new = f"{inc.mode} on {inc.column}"
    if state.mode == "full":
        return (f"switching {name} from full to {new}: this load reads the whole table and "
                "replaces the full load; the next ones read since its watermark"), False
    if state.mode == inc.mode and (state.column or "") == inc.column:
        return None, False
    return (f"switching {name} from {old} to {new}: this load reads the whole table and "
            "keeps the earlier loads (_latest shows this load's copy of each key); the next "
            "ones read since its watermark"), True


def _check_reserved(p: Planned, inc: IncrementalConfig | None, name: str) -> None:
    reserved = ["load"] + (["wh_rank"] if inc is not None else [])
    taken = [c.name for c in p.columns if c.name.lower() in reserved]
    if taken:
        raise JobFailed(
            f"table {name}: column {', '.join(taken)} clashes with the Hive table's own "
            "`load` partition column (or the _latest view's `wh_rank`); exclude the table "
            "or import a view of it that renames the column"
        )


def _key(p: Planned, inc: IncrementalConfig, source: str, name: str) -> list[str]:
    """Check the incremental entry against the columns; return the row key."""
    cols = {c.name.lower(): c for c in p.columns}
    where = f"[mysql.{source}] incremental {p.database}.{p.table}"
    if inc.column.lower() not in cols:
        raise ConfigError(f"{where}: column {inc.column!r} not in the table")
    check = cols[inc.column.lower()]
    if check.kind in ("b64", "bit"):
        raise ConfigError(
            f"{where}: column {inc.column!r} is {check.column_type}; a binary column cannot "
            "be a watermark (use an integer, decimal, date/time or text column, or drop the "
            "incremental entry)"
        )
    key = [k.strip() for k in (inc.key or "").split(",") if k.strip()] or p.key
    if inc.mode == "append" and not key:
        key = [inc.column]  # the _latest view's identity: the appended id
    if inc.mode == "lastmodified" and not key:
        raise ConfigError(f"{name}: lastmodified needs key = \"...\" (no primary key)")
    unknown = [k for k in key if k.lower() not in cols]
    if unknown:
        raise ConfigError(f"{where}: key column(s) {', '.join(unknown)} not in the table")
    return list(key)


def _drift_error(
    state: TableState, p: Planned, inc: IncrementalConfig, key: list[str], engine: str,
    name: str,
) -> str | None:
    """Return why the stored state no longer fits an incremental load, or None."""
    again = f"run `warehouse import {name} --full`"
    if state.engine != engine:
        return (f"table {name}: engine changed from {state.engine} to {engine} since the "
                f"last load; {again}")
    if state.columns != signature(p.columns):
        return (f"table {name}: schema changed since the last load "
                f"({drift(state.columns, p.columns)}); {again}")
    if state.key and state.key != key:
        return (f"table {name}: key changed from {', '.join(state.key)} to {', '.join(key)} "
                "since the last load, so the earlier loads' copies cannot be matched (a "
                f"--full load replaces them); {again}")
    return None


def _format_drift(state: TableState, format: str, name: str) -> str | None:
    """Return why loads of another file format cannot be kept (one Hive table reads one
    format), or None."""
    if state.format == format:
        return None
    return (f"table {name}: format changed from {state.format} to {format} since the last "
            f"load (its loads are read as one format); run `warehouse import {name} --full`")


def drift(before: list[list[str]], columns: Sequence[sch.SourceColumn]) -> str:
    """Return the columns added (+), removed (-) and retyped since `before`."""
    now = signature(columns)
    b, a = dict((n, t) for n, t in before), dict((n, t) for n, t in now)
    notes = [f"+{n}" for n in a if n not in b] + [f"-{n}" for n in b if n not in a]
    notes += [f"{n} {b[n]}->{a[n]}" for n in a if n in b and a[n] != b[n]]
    return ", ".join(notes) or "column order"


def _watermark(
    state: TableState | None, inc: IncrementalConfig | None, reads_since: bool
) -> Watermark:
    if state is None or inc is None:
        return Watermark()
    if not reads_since:  # a full read of an incremental table: only the old writers count
        return Watermark(writers=state.writers)
    last = state.last_value
    return Watermark(
        last=last,
        low=wm.lower_bound(last, inc.lag_value)
        if (last is not None and inc.mode == "lastmodified") else None,
        seen_to=_int(state.max_value or state.last_value),
        missing=[list(r) for r in (state.missing or [])],
        max_value=state.max_value,
        window=state.window,
        writers=state.writers,
        create_time=state.create_time,
        table_id=state.table_id,
    )


def as_full(plan: LoadPlan) -> LoadPlan:
    """Return `plan` as the whole-table read that replaces every earlier load (what
    `plan_load` returns with `full`): for a table re-created or truncated since its last
    load (`warehouse.mysql.recreated`)."""
    return replace(plan, incremental=False, previous_keys=None, kept_deletes=[],
                   watermark=Watermark(writers=plan.watermark.writers), switch=None,
                   keep_loads=False)


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None
