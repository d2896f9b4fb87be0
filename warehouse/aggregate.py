"""`warehouse aggregate`: run an mrjob aggregation over event partitions.

The output schema of every job is fixed here (`JOB_COLUMNS`) for the Hive tables
`agg_<job>`; the jobs in jobs/ emit JSON objects with exactly these keys.
"""

from __future__ import annotations

_TOP_LIST = "ARRAY<STRUCT<slug:STRING,n:BIGINT>>"

# (key, Hive type) per job, in output order. `dt` (UTC date, YYYY-MM-DD) is in every
# record and is also the partition column of the Hive table (ROOT/aggregates/<job>/dt=D/).
JOB_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "daily_actions": [
        ("dt", "STRING"),
        ("slug", "STRING"),
        ("hits", "BIGINT"),
        ("users", "BIGINT"),
        ("ips", "BIGINT"),
        ("server_errors", "BIGINT"),
        ("client_errors", "BIGINT"),
        ("p50_ms", "DOUBLE"),
        ("p95_ms", "DOUBLE"),
    ],
    "sessions": [
        ("dt", "STRING"),
        ("sessions", "BIGINT"),
        ("visitors", "BIGINT"),
        ("mean_session_s", "DOUBLE"),
        ("median_session_s", "DOUBLE"),
        ("mean_actions", "DOUBLE"),
        ("top_entry", _TOP_LIST),
        ("top_exit", _TOP_LIST),
    ],
    "top_params": [
        ("dt", "STRING"),
        ("slug", "STRING"),
        ("param", "STRING"),
        ("value", "STRING"),
        ("hits", "BIGINT"),
        ("rank", "INT"),
    ],
}
