"""Loading pyarrow for the Parquet writers (events' and aggregates' copies, imports), and
the Arrow type each writes for a Hive column type (`arrow_type`).

mysql-connector's C extension needs static TLS that pyarrow's libstdc++ leaves too little
of: loaded after pyarrow it fails ("cannot allocate memory in static TLS block"), and
`run` writes Parquet before it imports. Loaded first, both work.
"""

from __future__ import annotations

import importlib.util
import re
from contextlib import suppress
from typing import Any

from warehouse.errors import ConfigError


def load_pyarrow(setting: str = "[events] parquet") -> Any:
    """Return the pyarrow module (with pyarrow.parquet loaded); ConfigError naming the
    `setting` that needs it when it is missing."""
    if importlib.util.find_spec("_mysql_connector") is not None:
        with suppress(ImportError):
            import _mysql_connector  # noqa: F401
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise ConfigError(
            f"{setting} needs pyarrow, which is not installed: pip install 'warehouse[parquet]'"
        ) from None
    import pyarrow as pa

    return pa


_SCALARS = {
    "STRING": "string", "BOOLEAN": "bool_", "TINYINT": "int8", "SMALLINT": "int16",
    "INT": "int32", "BIGINT": "int64", "FLOAT": "float32", "DOUBLE": "float64",
    "DATE": "date32", "BINARY": "binary",
}  # fmt: skip
_NESTED = re.compile(r"(ARRAY|MAP|STRUCT)\s*<(.*)>", re.IGNORECASE | re.DOTALL)
_DECIMAL = re.compile(r"DECIMAL\((\d+),(\d+)\)", re.IGNORECASE)


def arrow_type(hive: str) -> Any:
    """Return the Arrow type a Parquet writer uses for the Hive type `hive`: the scalars,
    DECIMAL(p,s), TIMESTAMP (microseconds, no zone), ARRAY, MAP and STRUCT of them.
    Raises ValueError for a type with no Parquet form here."""
    pa = load_pyarrow()
    text = hive.strip()
    upper = text.upper()
    if upper in _SCALARS:
        return getattr(pa, _SCALARS[upper])()
    if upper == "TIMESTAMP":
        return pa.timestamp("us")
    m = _DECIMAL.fullmatch(text)
    if m:
        return pa.decimal128(int(m.group(1)), int(m.group(2)))
    m = _NESTED.fullmatch(text)
    kind, inner = (m.group(1).upper(), _split(m.group(2))) if m else ("", [])
    if kind == "ARRAY" and len(inner) == 1:
        return pa.list_(arrow_type(inner[0]))
    if kind == "MAP" and len(inner) == 2:
        return pa.map_(arrow_type(inner[0]), arrow_type(inner[1]))
    if kind == "STRUCT":
        fields = [item.partition(":") for item in inner]
        return pa.struct([pa.field(name.strip(), arrow_type(typ)) for name, _, typ in fields])
    raise ValueError(f"no Parquet type for Hive type {hive!r}")


def _split(text: str) -> list[str]:
    """Split a type list at its top-level commas."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch == "<"
        depth -= ch == ">"
        if ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]
