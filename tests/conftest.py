"""Load every service fixture module in tests/fixtures as a plugin."""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path

# mysql-connector's C extension needs static TLS that the libstdc++ of pyarrow and DuckDB
# uses up: loaded after them in this process (tests/test_events_parquet.py reads with
# DuckDB here) it cannot load. Loaded first, all of them work; `warehouse events compact`
# does the same in production (tests/test_events_parquet.py checks it in its own process).
with suppress(ImportError):
    import _mysql_connector  # noqa: F401

pytest_plugins = sorted(
    f"tests.fixtures.{p.stem}"
    for p in (Path(__file__).parent / "fixtures").glob("*.py")
    if not p.name.startswith("_")
)
