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
  snapshot of load `<stamp>` (per line up to 10,000 keys, column by column: one JSON
  array per key column; binary key parts as base64), referenced by the state file; older
  snapshots are removed once the state is saved.

A delete at load D hides the copies of that key from loads up to D; a copy from a later
load (the key inserted again) shows. The python engine reads the keys in the same
snapshot as the rows; Sqoop and `split_workers > 1` read them in their own snapshot
after the export (a row inserted and deleted during that export can then stay visible
until the next `--full`).
"""

from __future__ import annotations

import base64
import bisect
import gzip
import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from warehouse.errors import JobFailed
from warehouse.mysql import schema as sch
from warehouse.mysql.collation import weight_sql
from warehouse.mysql.connect import Driver, close_quietly
from warehouse.mysql.python_engine import begin_snapshot, export_error
from warehouse.mysql.state import data_prefix
from warehouse.storage import ObjectStore
from warehouse.storage.base import open_gzip_write

Key = tuple[Any, ...]
BATCH = 10_000  # keys per fetch and per snapshot line


def keys_folder(source: str, database: str, table: str) -> str:
    """Return the state folder of a table's key snapshots."""
    return f"_state/mysql/{source}/{database}/{table}.keys"


@dataclass(frozen=True)
class KeyFiles:
    """The objects one load of a `deletes = true` table reads and writes (see the module)."""

    previous: str | None  # the previous load's key snapshot (None: the first load)
    snapshot: str  # this load's key snapshot
    deletes: str  # the keys deleted since the previous load

    @classmethod
    def of(cls, source: str, database: str, table: str, stamp: str,
           previous: str | None) -> KeyFiles:
        """Return the KeyFiles of load `stamp` after the load `previous` (a stamp)."""
        folder = keys_folder(source, database, table)
        return cls(
            previous=f"{folder}/{previous}.json.gz" if previous else None,
            snapshot=f"{folder}/{stamp}.json.gz",
            deletes=f"{data_prefix(source, database, table)}/_deletes/load={stamp}/"
                    "part-00000.json.gz",
        )


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
    if col.weight_of is not None:  # the collation's weight (warehouse.mysql.collation)
        return f"CAST({weight_sql(col.weight_of, col.collation or '')} AS BINARY)"
    q = sch.quote(col.name)
    if col.kind in ("int", "b64"):
        return q
    # utf8mb4 bytes order like Python's str (code points), whatever the collation
    return f"CAST(CONVERT({q} USING utf8mb4) AS BINARY)"


def keys_sql(database: str, table: str, cols: Sequence[sch.SourceColumn]) -> str:
    """Return the SELECT of the key columns in the order the merge expects."""
    exprs = ", ".join(_expr(c) for c in cols)
    nulls = " AND ".join(f"{sch.quote(c.weight_of or c.name)} IS NOT NULL" for c in cols)
    return (f"SELECT {exprs} FROM {sch.qualified(database, table)} WHERE {nulls} "
            f"ORDER BY {exprs}")


def _row_decoder(cols: Sequence[sch.SourceColumn]) -> Callable[[Sequence[Any]], list[Key]]:
    """Return driver rows -> key tuples (ints as they come; text as str; binary as bytes)."""
    kinds = ["int" if c.kind == "int" else "b64" if c.kind == "b64" else "str" for c in cols]
    if all(k == "int" for k in kinds):
        return lambda rows: [tuple(r) for r in rows]

    def one(v: Any, kind: str) -> Any:
        if kind == "int":
            return int(v)
        if kind == "b64":
            return bytes(v) if not isinstance(v, str) else v.encode("utf-8")
        return v.decode("utf-8") if isinstance(v, bytes | bytearray) else str(v)

    return lambda rows: [tuple(one(v, k) for v, k in zip(r, kinds, strict=True)) for r in rows]


def _to_json(key: Key) -> list[Any]:
    return [base64.b64encode(v).decode("ascii") if isinstance(v, bytes) else v for v in key]


def _dump_batch(keys: list[Key], binary: Sequence[bool]) -> bytes:
    """Return one snapshot line: the batch column by column (flat arrays parse fastest)."""
    columns = [list(map(operator.itemgetter(i), keys)) for i in range(len(binary))]
    return orjson.dumps([
        [base64.b64encode(v).decode("ascii") for v in col] if is_bin else col
        for col, is_bin in zip(columns, binary, strict=True)
    ]) + b"\n"


def _load_batch(line: bytes, binary: Sequence[bool]) -> list[Key]:
    columns = [
        [base64.b64decode(v) for v in col] if is_bin else col
        for col, is_bin in zip(orjson.loads(line), binary, strict=True)
    ]
    return list(zip(*columns, strict=True))


def _ascending(batches: Iterable[list[Key]], what: str) -> Iterator[list[Key]]:
    """Yield the batches, checking that keys strictly ascend; raises JobFailed."""
    prev: Key | None = None
    for batch in batches:
        if not batch:
            continue
        if (prev is not None and batch[0] <= prev) or not all(
            map(operator.lt, batch, batch[1:])
        ):
            raise JobFailed(
                f"{what} are not in ascending binary order; deletes cannot be reconciled "
                "for this key (set key = ... or deletes = false, then --full)"
            )
        prev = batch[-1]
        yield batch


MERGE_WINDOW = 200_000  # new keys held at most while one batch of old keys is compared


def deleted_keys(old: Iterable[list[Key]], new: Iterable[list[Key]], *,
                 window: int = MERGE_WINDOW) -> Iterator[list[Key]]:
    """Yield batches of the keys of `old` absent from `new` (batches of ascending keys).

    Compares a batch of old keys with a set of the new keys up to its last key, so the
    work is in C (set lookups) and memory stays bounded by about `window` new keys.
    """
    new_it = iter(new)
    pending: list[Key] = []
    exhausted = False
    for batch in old:
        i = 0
        while i < len(batch):
            top = batch[-1]
            while not exhausted and (not pending or pending[-1] < top) \
                    and len(pending) < window:
                nxt = next(new_it, None)
                if nxt is None:
                    exhausted = True
                else:
                    pending.extend(nxt)
            covered = exhausted or (bool(pending) and pending[-1] >= top)
            hi = top if covered else pending[-1]
            j = bisect.bisect_right(batch, hi, lo=i)
            cut = bisect.bisect_right(pending, hi)
            seen = set(pending[:cut])
            del pending[:cut]
            gone = sorted(set(batch[i:j]).difference(seen))  # set work, no Python loop
            if gone:
                yield gone
            i = j


class KeyReconciler:
    """Reads a table's keys once and writes the new snapshot and the deleted keys.

    Call it with an open session inside a transaction (`reconciler(conn)`), or `.run()`
    for a snapshot of its own. `.deleted` is the number of keys written to `files.deletes`;
    `cols`: the key columns; `where`: "table SOURCE.DB.TABLE" for messages.
    """

    def __init__(self, store: ObjectStore, driver: Driver, database: str, table: str,
                 cols: Sequence[sch.SourceColumn], *, files: KeyFiles, where: str) -> None:
        self.store, self.database, self.table = store, database, table
        self.cols, self.driver = list(cols), driver
        self.previous, self.snapshot, self.deletes_key = (files.previous, files.snapshot,
                                                          files.deletes)
        self.where = where
        self.deleted = 0
        self.done = False

    def __call__(self, conn: Any) -> None:
        """Stream the keys in `conn`'s current transaction; write snapshot and deletes."""
        decode = _row_decoder(self.cols)
        cur = self.driver.stream_cursor(conn)
        try:
            cur.execute(keys_sql(self.database, self.table, self.cols))
            batches = (decode(rows) for rows in iter(lambda: cur.fetchmany(BATCH), ()))
            self._write(_ascending(batches, f"{self.where}: the keys the server returned"))
        finally:
            close_quietly(cur)
        self.done = True

    def run(self, ep: Any) -> None:
        """Read the keys in a consistent snapshot of their own; raises ExportError."""
        conn = self.driver.connect(ep, database=self.database)
        try:
            begin_snapshot(conn)
            self(conn)
            conn.commit()
        except self.driver.errors as exc:
            raise export_error(ep, exc) from None
        finally:
            close_quietly(conn)

    def _old(self) -> Iterator[list[Key]]:
        if self.previous is None or not self.store.exists(self.previous):
            return
        with self.store.open_read(self.previous) as raw, gzip.open(raw, "rb") as f:
            for line in f:
                yield _load_batch(line, [c.kind == "b64" for c in self.cols])

    def _write(self, batches: Iterable[list[Key]]) -> None:
        names = [c.name.lower() for c in self.cols]
        binary = [c.kind == "b64" for c in self.cols]
        self.deleted = 0
        with open_gzip_write(self.store, self.snapshot) as snap:

            def tee() -> Iterator[list[Key]]:
                for batch in batches:
                    snap.write(_dump_batch(batch, binary))
                    yield batch

            new = tee()
            if self.previous is not None:
                old = _ascending(self._old(), f"{self.where}: the key snapshot {self.previous}")
                with open_gzip_write(self.store, self.deletes_key) as out:
                    for gone in deleted_keys(old, new):
                        out.write(b"".join(
                            orjson.dumps(dict(zip(names, _to_json(k), strict=True))) + b"\n"
                            for k in gone))
                        self.deleted += len(gone)
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
