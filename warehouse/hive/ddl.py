"""A table's DDL as every catalog writes it: the rendered CREATE and its fingerprint.

HiveServer2 runs the statements; the Glue catalog stores the same columns, SerDe and
location, and the same fingerprint in the table property `warehouse.spec`, so either
catalog tells an unchanged table from a changed one the same way.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import replace

from warehouse.hive.render import Dialect, render_create
from warehouse.hive.spec import TableSpec

SPEC_PROPERTY = "warehouse.spec"

__all__ = ["SPEC_PROPERTY", "fingerprint", "render_table", "statements_fingerprint"]


def fingerprint(spec: TableSpec, *, dialect: Dialect, root_uri: str, database: str) -> str:
    """Return the 16-hex-digit digest of `spec`'s rendered DDL (without the property itself)."""
    plain = render_create(spec, dialect=dialect, root_uri=root_uri, database=database)
    return hashlib.sha256("\n".join(plain).encode("utf-8")).hexdigest()[:16]


def render_table(spec: TableSpec, *, dialect: Dialect, root_uri: str, database: str) -> list[str]:
    """Return the CREATE statements for `spec` with its DDL fingerprint in TBLPROPERTIES."""
    digest = fingerprint(spec, dialect=dialect, root_uri=root_uri, database=database)
    stamped = replace(spec, properties={**spec.properties, SPEC_PROPERTY: digest})
    return render_create(stamped, dialect=dialect, root_uri=root_uri, database=database)


def statements_fingerprint(statements: Sequence[str]) -> str:
    """Return the fingerprint stamped in rendered statements ("" when there is none)."""
    m = re.search(rf"'{re.escape(SPEC_PROPERTY)}' = '([0-9a-f]+)'", "\n".join(statements))
    return m.group(1) if m else ""
