"""Deleted keys of an incremental table (`deletes = true`), found with SELECT grants only.

Each load streams the key columns only (`SELECT k1, k2 FROM t ORDER BY ...`, in binary
order) and merges them with the sorted key snapshot of the previous load: keys in the
old snapshot and not in the new one were deleted since. Memory stays constant (two
sorted streams). Layout, under the table's folder and the state folder:

- `ROOT/mysql/<source>/<database>/<table>/_deletes/load=<stamp>/part-00000.json.gz`: the
  keys deleted before load `<stamp>`, one JSON object per line with the key columns
  encoded as in the table's files (the `_` prefix keeps the folder out of the table's own
  partitions). Hive table `mysql_<source>_<database>_<table>_deletes`.
- `ROOT/_state/mysql/<source>/<database>/<table>.keys/<stamp>.json.gz`: the key
  snapshot of load `<stamp>` (JSON arrays, binary key parts as base64), referenced by
  the state file; older snapshots are removed once the state is saved.

A delete at load D hides the copies of that key from loads up to D; a copy from a later
load (the key inserted again) shows. The python engine reads the keys in the same
snapshot as the rows; Sqoop and `split_workers > 1` read them in their own snapshot
after the export (a row inserted and deleted during that export can then stay visible
until the next `--full`).
"""

from __future__ import annotations

import base64
import gzip
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import orjson

from warehouse.errors import JobFailed
from warehouse.mysql import schema as sch
from warehouse.mysql.connect import (
    UNAVAILABLE_CODES,
    close_quietly,
    connect,
    describe_error,
    driver_errors,
    error_code,
    stream_cursor,
)
from warehouse.mysql.python_engine import ExportError, begin_snapshot
from warehouse.storage import ObjectStore
from warehouse.storage.base import open_gzip_write

Key = tuple[Any, ...]


def keys_folder(source: str, database: str, table: str) -> str:
    """Return the state folder of a table's key snapshots."""
    return f"_state/mysql/{source}/{database}/{table}.keys"


def check_key_columns(columns: Sequence[sch.SourceColumn], key: Sequence[str],
                      where: str) -> list[sch.SourceColumn]:
    """Return the key's SourceColumns; raises JobFailed for types keys cannot be compared in."""
    by = {c.name.lower(): c for c in columns}
    cols = [by[k.lower()] for k in key]
    bad = [c.name for c in cols if c.kind in ("float", "bit")]
    if bad:
        raise JobFailed(
            f"{where}: deletes = true needs a key of integer, text, decimal, date/time or "
            f"binary columns; {', '.join(bad)} cannot be compared exactly (set key = ...)"
        )
    return cols


def _expr(col: sch.SourceColumn) -> str:
    q = sch.quote(col.name)
    if col.kind in ("int", "b64"):
        return q
    # utf8mb4 bytes order like Python's str (code points), whatever the collation
    return f"CAST(CONVERT({q} USING utf8mb4) AS BINARY)"


def keys_sql(database: str, table: str, cols: Sequence[sch.SourceColumn]) -> str:
    """Return the SELECT of the key columns in the order the merge expects."""
    exprs = ", ".join(_expr(c) for c in cols)
    nulls = " AND ".join(f"{sch.quote(c.name)} IS NOT NULL" for c in cols)
    return (f"SELECT {exprs} FROM {sch.qualified(database, table)} WHERE {nulls} "
            f"ORDER BY {exprs}")


def _decoders(cols: Sequence[sch.SourceColumn]) -> list[Callable[[Any], Any]]:
    def as_int(v: Any) -> Any:
        return int(v)

    def as_bytes(v: Any) -> Any:
        return bytes(v) if not isinstance(v, str) else v.encode("utf-8")

    def as_str(v: Any) -> Any:
        return v.decode("utf-8") if isinstance(v, bytes | bytearray) else str(v)

    return [as_int if c.kind == "int" else as_bytes if c.kind == "b64" else as_str for c in cols]


def _to_json(key: Key) -> list[Any]:
    return [base64.b64encode(v).decode("ascii") if isinstance(v, bytes) else v for v in key]


def _from_json(values: list[Any], cols: Sequence[sch.SourceColumn]) -> Key:
    return tuple(base64.b64decode(v) if c.kind == "b64" else v
                 for v, c in zip(values, cols, strict=True))


def deleted_keys(old: Iterable[Key], new: Iterable[Key]) -> Iterator[Key]:
    """Yield the keys of `old` absent from `new` (both ascending; raises JobFailed if not)."""
    it = iter(new)
    cur = next(it, None)
    prev_old: Key | None = None
    for k in old:
        if prev_old is not None and k <= prev_old:
            raise JobFailed("key snapshot is not in ascending order; run with --full")
        prev_old = k
        while cur is not None and cur < k:
            cur = next(it, None)
        if cur != k:
            yield k


def _checked(keys: Iterable[Key], where: str) -> Iterator[Key]:
    prev: Key | None = None
    for k in keys:
        if prev is not None and k <= prev:
            raise JobFailed(
                f"{where}: the server returned keys out of binary order ({prev!r}, {k!r}); "
                "deletes cannot be reconciled for this key (set key = ... or deletes = false)"
            )
        prev = k
        yield k


class KeyReconciler:
    """Reads a table's keys once and writes the new snapshot and the deleted keys.

    Call it with an open session inside a transaction (`reconciler(conn)`), or `.run()`
    for a snapshot of its own. `.deleted` is the number of keys written to `deletes_key`.
    """

    def __init__(self, store: ObjectStore, database: str, table: str,
                 cols: Sequence[sch.SourceColumn], driver: str, *, previous: str | None,
                 snapshot: str, deletes_key: str, where: str) -> None:
        self.store, self.database, self.table = store, database, table
        self.cols, self.driver = list(cols), driver
        self.previous, self.snapshot, self.deletes_key = previous, snapshot, deletes_key
        self.where = where
        self.deleted = 0
        self.done = False

    def __call__(self, conn: Any) -> None:
        """Stream the keys in `conn`'s current transaction; write snapshot and deletes."""
        decode = _decoders(self.cols)
        cur = stream_cursor(conn, self.driver)
        try:
            cur.execute(keys_sql(self.database, self.table, self.cols))
            rows = (tuple(f(v) for f, v in zip(decode, r, strict=True))
                    for batch in iter(lambda: cur.fetchmany(10_000), ()) for r in batch)
            self._write(_checked(rows, self.where))
        finally:
            close_quietly(cur)
        self.done = True

    def run(self, ep: Any) -> None:
        """Read the keys in a consistent snapshot of their own; raises ExportError."""
        conn = connect(ep, self.driver, database=self.database)
        try:
            begin_snapshot(conn)
            self(conn)
            conn.commit()
        except driver_errors(self.driver) as exc:
            code = error_code(exc)
            raise ExportError(describe_error(ep, exc), code, code in UNAVAILABLE_CODES) from None
        finally:
            close_quietly(conn)

    def _old(self) -> Iterator[Key]:
        if self.previous is None or not self.store.exists(self.previous):
            return
        with self.store.open_read(self.previous) as raw, gzip.open(raw, "rb") as f:
            for line in f:
                yield _from_json(orjson.loads(line), self.cols)

    def _write(self, keys: Iterable[Key]) -> None:
        names = [c.name.lower() for c in self.cols]
        self.deleted = 0
        with open_gzip_write(self.store, self.snapshot) as snap:

            def tee() -> Iterator[Key]:
                for k in keys:
                    snap.write(orjson.dumps(_to_json(k)) + b"\n")
                    yield k

            new = tee()
            if self.previous is not None:
                with open_gzip_write(self.store, self.deletes_key) as out:
                    for k in deleted_keys(self._old(), new):
                        row = dict(zip(names, _to_json(k), strict=True))
                        out.write(orjson.dumps(row) + b"\n")
                        self.deleted += 1
            for _ in new:  # the keys after the last old one belong to the snapshot too
                pass
        if self.previous is not None and self.deleted == 0:
            self.store.delete(self.deletes_key)


def remove_old_snapshots(store: ObjectStore, folder: str, keep: str | None) -> None:
    """Delete the key snapshots other than `keep` (older ones, or left by a crash)."""
    wanted = f"{folder}/{keep}.json.gz" if keep else None
    for obj in list(store.list(folder + "/", include_hidden=True)):
        if obj.key != wanted:
            store.delete(obj.key)
