"""Loading pyarrow for the Parquet writers (events' and aggregates' copies, imports).

mysql-connector's C extension needs static TLS that pyarrow's libstdc++ leaves too little
of: loaded after pyarrow it fails ("cannot allocate memory in static TLS block"), and
`run` writes Parquet before it imports. Loaded first, both work.
"""

from __future__ import annotations

import importlib.util
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
