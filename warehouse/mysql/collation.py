"""Row keys compared as the source compares them: a weight column beside each text key.

Under `utf8mb4_general_ci`, `UPDATE t SET k = 'A' WHERE k = 'a'` (or `'b '` for `'b'`)
changes the spelling of a key, not the row: MariaDB holds one row, and a `_latest` view
keyed on the text showed both spellings. So the python engine exports, beside each text
column of an incremental table's key whose collation is not exact, the hex of the
server's own `WEIGHT_STRING` of it as `wh_w_<column>`; the `_latest` view, the
`_deletes` table and the key snapshots use that column as the key's identity (the
view's output leaves it out). PAD SPACE collations (every MariaDB collation without
`nopad` in its name, `_bin` included: `'b' = 'b '`) weigh the value without its trailing
spaces; NO PAD ones (`..._nopad_...`, MySQL 8's `..._0900_...`) weigh it as it is.
`_nopad_bin` / `_0900_bin` and binary columns compare byte for byte: their key stays the
value itself.

The state records the weighted key columns and their collations (`key_weights`); a table
whose recorded weights differ (an older root without them, a collation changed by ALTER)
is read again in full once, so that every load it keeps carries the same identity.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from warehouse.mysql import schema as sch

WEIGHT_PREFIX = "wh_w_"
TEXT_TYPES = ("char", "varchar", "tinytext", "text", "mediumtext", "longtext")


def _exact(collation: str) -> bool:
    c = collation.lower()
    return c == "binary" or (c.endswith("_bin") and ("nopad" in c or "_0900_" in c))


def pad_space(collation: str) -> bool:
    """Return True for PAD SPACE collations (trailing spaces do not count)."""
    c = collation.lower()
    return "nopad" not in c and "_0900_" not in c


def key_weights(columns: Sequence[sch.SourceColumn], key: Sequence[str]) -> dict[str, str]:
    """Return {key column: collation} for the key's text columns that need a weight."""
    by = {c.name.lower(): c for c in columns}
    out: dict[str, str] = {}
    for k in key:
        col = by.get(k.lower())
        if col is not None and col.data_type in TEXT_TYPES and col.collation \
                and not _exact(col.collation):
            out[col.name] = col.collation
    return out


def weight_name(column: str) -> str:
    """Return the name of `column`'s weight column (lower-case, as Hive names it)."""
    return f"{WEIGHT_PREFIX}{column.lower()}"


def weight_sql(column: str, collation: str) -> str:
    """Return the SELECT expression of `column`'s weight: hex text, ordered as bytes."""
    q = sch.quote(column)
    value = f"TRIM(TRAILING ' ' FROM {q})" if pad_space(collation) else q
    return f"HEX(WEIGHT_STRING({value}))"


def weight_columns(weights: Mapping[str, str]) -> list[sch.SourceColumn]:
    """Return the exported weight columns (after the table's own)."""
    return [sch.SourceColumn(weight_name(name), "varchar", "varchar", True,
                             weight_of=name, collation=coll)
            for name, coll in weights.items()]


def identity(key: Sequence[str], weights: Mapping[str, str] | None) -> list[str]:
    """Return the columns that identify a row: the key with weighted columns replaced."""
    lower = {k.lower() for k in (weights or {})}
    return [weight_name(k) if k.lower() in lower else k for k in key]


def identity_columns(columns: Sequence[sch.SourceColumn], key: Sequence[str],
                     weights: Mapping[str, str]) -> list[sch.SourceColumn]:
    """Return the SourceColumns of `identity(key, weights)` (the deleted keys' scan)."""
    by = {c.name.lower(): c for c in [*columns, *weight_columns(weights)]}
    return [by[k.lower()] for k in identity(key, weights)]
