"""What the metastore holds: table names, table properties and DESCRIBE FORMATTED."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from warehouse.hive.client import HiveClient
from warehouse.hive.render import parse_partition_spec, quote_ident, statement, table_ref
from warehouse.hive.spec import TableSpec

__all__ = [
    "Described",
    "describe",
    "norm_type",
    "parse_describe",
    "registered_partitions",
    "table_names",
    "table_properties",
]


def table_names(client: HiveClient, database: str) -> set[str]:
    """Return the lower-cased names of the tables and views in `database`."""
    result = client.execute(f"SHOW TABLES IN {quote_ident(database)}")
    # Hive: (tab_name); Spark: (namespace, tableName, isTemporary)
    return {str(row[1] if len(row) >= 2 else row[0]).lower() for row in result.rows}


def registered_partitions(
    client: HiveClient, database: str, spec: TableSpec
) -> set[tuple[str, ...]]:
    """Return the values tuples (in `spec`'s partition order) of the partitions `spec`'s
    table has in the metastore."""
    result = client.execute(statement("show_partitions.hql", table=table_ref(database, spec.name)))
    out = set()
    for row in result.rows:
        values = parse_partition_spec(str(row[0]))
        out.add(tuple(values.get(n, "") for n in spec.partition_names))
    return out


def table_properties(client: HiveClient, database: str, name: str) -> dict[str, str]:
    """Return the TBLPROPERTIES of table `name` in `database`."""
    result = client.execute(f"SHOW TBLPROPERTIES {table_ref(database, name)}")
    return {str(r[0]).strip(): str(r[1]).strip() for r in result.rows if len(r) >= 2}


def norm_type(t: str) -> str:
    """Return column type `t` without whitespace, lower-cased (for comparing types)."""
    return re.sub(r"\s+", "", t).lower()


@dataclass(frozen=True)
class Described:
    """A table as DESCRIBE FORMATTED shows it: columns, partition names and location."""

    columns: tuple[tuple[str, str], ...]
    partitions: tuple[str, ...]
    location: str


def describe(client: HiveClient, database: str, name: str) -> Described:
    """Return a table's columns (partition columns included), partition names and location."""
    return parse_describe(client.execute(f"DESCRIBE FORMATTED {table_ref(database, name)}").rows)


def parse_describe(rows: Sequence[Sequence[Any]]) -> Described:
    """Return columns, partition names and location from DESCRIBE FORMATTED rows (Hive or Spark)."""
    columns: list[tuple[str, str]] = []
    partitions: list[tuple[str, str]] = []
    location = ""
    section = "columns"
    for row in rows:
        key = str(row[0] or "").strip()
        value = str(row[1] or "").strip() if len(row) > 1 else ""
        if key.startswith("# Partition Information"):
            section = "partitions"
            continue
        if key.startswith("# Detailed Table Information") or key.startswith("# Storage"):
            section = "details"
            continue
        if key.startswith("#"):
            continue
        if section == "columns" and key:
            columns.append((key.lower(), norm_type(value)))
        elif section == "columns" and not key and columns:
            section = "gap"  # Hive leaves a blank row before the partition section
        elif section == "partitions" and key:
            partitions.append((key.lower(), norm_type(value)))
        elif section == "details" and key.rstrip(":") == "Location":
            location = value
    # Spark lists partition columns among the columns too; Hive only in its own section.
    named = {n for n, _ in columns}
    columns += [p for p in partitions if p[0] not in named]
    return Described(tuple(columns), tuple(n for n, _ in partitions), location)
