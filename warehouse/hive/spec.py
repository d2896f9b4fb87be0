"""Table specs: what a Hive table over part of the warehouse root looks like.

Specs are plain data built by whoever owns the dataset (events, aggregates, access_raw,
MySQL imports) and rendered to HQL by `warehouse.hive.render` for a dialect.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

StorageKind = Literal["json", "text", "regex"]


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
    - `regex`: raw log lines read by RegexSerDe with `regex` (access_raw).
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
