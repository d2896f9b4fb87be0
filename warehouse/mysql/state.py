"""Per-table import state (the watermark) in the warehouse root.

`ROOT/_state/mysql/<source>/<database>/<table>.json` holds the engine and file format, the column
signature of the last load (schema drift detection), the incremental mode/column, the
last value read (the watermark), the `load=` partitions that belong to the table and
the source schema (columns, zero-date mode, row key) from which `warehouse hive apply`
renders the Hive table on a fresh metastore without contacting MySQL. It
is written (atomically, by the store) only after a load's files are complete AND the
load is registered in Hive (when `[hive]` is configured): a failed or interrupted import
leaves the previous state, so the next run repeats the same range.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from warehouse.errors import CorruptState
from warehouse.mysql.schema import SourceColumn
from warehouse.storage import ObjectStore
from warehouse.storage.base import read_bytes, write_bytes
from warehouse.storage.keys import checked_name

VERSION = 2
# the stored fields whose type a use relies on (iterated, joined into keys, compared)
_TYPES: dict[str, type | tuple[type, ...]] = {
    "engine": str, "format": str, "columns": list, "mode": str, "loads": list, "missing": list,
    "key": list, "deletes": bool, "deletes_loads": list, "keys_load": (str, type(None)),
}


def state_key(source: str, database: str, table: str) -> str:
    """Return the store key of a table's state file."""
    return f"_state/mysql/{source}/{database}/{table}.json"


def data_prefix(source: str, database: str, table: str) -> str:
    """Return the root-relative folder of a table's loads."""
    return f"mysql/{source}/{database}/{table}"


def signature(columns: Sequence[SourceColumn]) -> list[list[str]]:
    """Return the column signature compared for drift: [[name, COLUMN_TYPE], ...]."""
    return [[c.name, c.column_type.lower()] for c in columns]


@dataclass
class TableState:
    """A table's state as stored; `last_value` is text (as the server printed it)."""

    engine: str
    columns: list[list[str]]
    mode: str = "full"  # full, append, lastmodified
    column: str | None = None
    last_value: str | None = None
    loads: list[str] = field(default_factory=list)
    updated: str = ""
    # what `hive apply` needs to render the Hive table without MySQL (with `key` below
    # for the views): {"columns": [SourceColumn fields...], "zero_dates": bool}; absent
    # in states written before it was recorded (see warehouse.mysql.hive_tables)
    schema: dict[str, Any] | None = None
    version: int = VERSION
    # late commits (warehouse.mysql.watermark): MAX at the last probe, append ids still
    # missing, write transactions open at the probe (None: INNODB_TRX unreadable), and
    # the checksum of the window the next lastmodified load re-reads
    max_value: str | None = None
    missing: list[list[int]] = field(default_factory=list)
    writers: list[str] | None = None
    window: dict[str, Any] | None = None
    # the row identity of the _latest view, and deletes (warehouse.mysql.deletes)
    key: list[str] = field(default_factory=list)
    deletes: bool = False
    deletes_loads: list[str] = field(default_factory=list)
    keys_load: str | None = None
    # the table's identity at the last load: a re-created or truncated table is read in
    # full (warehouse.mysql.recreated)
    create_time: str | None = None
    table_id: int | None = None
    # the key's text columns identified by their collation weight, {column: collation}
    # (warehouse.mysql.collation); None in states written before
    key_weights: dict[str, str] | None = None
    # the files' format, [mysql.NAME] format ("json" in states written before it existed)
    format: str = "json"

    def to_json(self) -> bytes:
        """Return the state as pretty JSON bytes."""
        return json.dumps(asdict(self), indent=2, sort_keys=True).encode("utf-8") + b"\n"

    @classmethod
    def from_json(cls, data: bytes, where: str) -> TableState:
        """Parse stored state; raises CorruptState (a JobFailed) naming the file when it is
        unreadable, of the wrong types, or names a load that is not one folder name (a
        `../x` would be deleted outside the table's folder)."""
        fix = "nothing was deleted; fix it or delete it and run with --full"
        try:
            raw = json.loads(data)
            if not isinstance(raw, dict):
                raise TypeError("not a JSON object")
            for name, kind in _TYPES.items():
                if name in raw and not isinstance(raw[name], kind):
                    raise TypeError(f"{name} is a {type(raw[name]).__name__}")
            state = cls(**{k: v for k, v in raw.items() if k in cls.__dataclass_fields__})
        except (ValueError, TypeError) as exc:
            raise CorruptState(f"import state {where} is corrupt ({exc}); {fix}") from None
        for stamp in [*state.loads, *state.deletes_loads, *filter(None, [state.keys_load])]:
            checked_name(stamp, "load", f"import state {where}", fix)
        return state


def load_state(store: ObjectStore, source: str, database: str, table: str) -> TableState | None:
    """Return the stored state, or None before the first successful load."""
    key = state_key(source, database, table)
    if not store.exists(key):
        return None
    return TableState.from_json(read_bytes(store, key), store.uri(key))


def save_state(
    store: ObjectStore, source: str, database: str, table: str, state: TableState
) -> None:
    """Write the state atomically."""
    write_bytes(store, state_key(source, database, table), state.to_json())
