"""The catalog's own error: a table it was asked about does not exist."""

from __future__ import annotations

from warehouse.errors import ConfigError

__all__ = ["TableMissing"]


class TableMissing(ConfigError):
    """A table the command names is not in the catalog, nor one the root can make (exit 2,
    as any ConfigError: caught by type where a caller has another way to make it)."""
