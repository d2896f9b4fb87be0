"""Table specs: what a Hive table over part of the warehouse root looks like.

Specs are plain data built by whoever owns the dataset (events, aggregates, access_raw,
MySQL imports) and rendered to HQL by `warehouse.hive.render` for a dialect.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from warehouse.errors import ConfigError

StorageKind = Literal["json", "text", "regex", "parquet"]


@dataclass(frozen=True)
class Column:
    """One Hive column: name (lower-case identifier), Hive type, optional comment."""

    name: str
    type: str
    comment: str | None = None


@dataclass(frozen=True)
class TextFormat:
    """Delimited text as Sqoop writes it (the DDL must read exactly what was written)."""

    field_delim: str = "\x01"
    line_delim: str = "\n"
    escape: str | None = "\\"
    null_string: str = "\\N"


@dataclass(frozen=True)
class TableSpec:
    """An external table: columns, partition columns, storage kind and root-relative location.

    - `json`: gzipped JSON lines (events, aggregates, python-engine imports);
    - `text`: delimited text described by `text_format` (sqoop-engine imports);
    - `regex`: raw log lines read by RegexSerDe with `regex` (access_raw);
    - `parquet`: Parquet files (events_parquet).
    `location` is a key prefix inside the warehouse root (e.g. "events"); the renderer
    turns it into a URI (file:// locally, s3:// on EMR).
    """

    name: str
    columns: tuple[Column, ...]
    location: str
    storage: StorageKind = "json"
    partition_by: tuple[Column, ...] = ()
    text_format: TextFormat | None = None
    regex: str | None = None
    comment: str | None = None
    properties: Mapping[str, str] = field(default_factory=dict)

    @property
    def partition_names(self) -> tuple[str, ...]:
        """Return the partition column names in order."""
        return tuple(c.name for c in self.partition_by)


def by_values(
    spec: TableSpec, partitions: Sequence[Mapping[str, str]]
) -> dict[tuple[str, ...], dict[str, str]]:
    """Return `partitions` keyed by their values tuple (in `spec`'s partition order), each
    as {column: text}; raises ConfigError for one that does not give exactly its columns."""
    names = spec.partition_names
    out: dict[tuple[str, ...], dict[str, str]] = {}
    for values in partitions:
        if set(values) != set(names):
            raise ConfigError(
                f"table {spec.name}: partition {dict(values)} must give exactly "
                f"{', '.join(names) or 'no partition columns'}"
            )
        out[tuple(str(values[n]) for n in names)] = {n: str(values[n]) for n in names}
    return out


@dataclass(frozen=True)
class TableSync:
    """One table as the metastore should hold it.

    `partitions`: every partition it should have ({column: value} each; None leaves
    partitions alone); `locations` maps a partition's values tuple to a full URI when it
    is not `<root>/<location>/k=v`; `drop`: partitions to remove; `views`: (name, SELECT)
    pairs created or replaced after the table. `new`: when the table exists already, add
    only these (ADD IF NOT EXISTS, no SHOW PARTITIONS: the importer's new load); a table
    created or replaced gets every partition of `partitions`.
    """

    spec: TableSpec
    partitions: Sequence[Mapping[str, str]] | None = None
    locations: Mapping[tuple[str, ...], str] = field(default_factory=dict)
    drop: Sequence[Mapping[str, str]] = ()
    views: Sequence[tuple[str, str]] = ()
    new: Sequence[Mapping[str, str]] | None = None
