"""The warehouse's schema and job registry: event columns, aggregate jobs, mrjob runners.

Every other place reads these declarations: the event builder (warehouse.events.build) emits
the event keys in `EVENT_COLUMNS` order; the Hive/Glue specs (warehouse.hive.tables)
take the types and comments; `warehouse aggregate` takes each job's class, neighbour
days and arguments from `JOBS`; the config and the CLI take the job and runner names; the
jobs in jobs/ take their output keys and options from their `JobSpec`.

Standard library only: the jobs import it on the EMR nodes (the toolkit's wheel is
installed there by bootstrap/install-toolkit.sh; `warehouse aggregate` also ships this
file in the jobs' --py-files zip), so it imports nothing else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    """One column: name, Hive type, Hive comment (None: none), JSON kind in the files.

    `json` is the value's kind in the JSON lines: "string", "int", "number", "object"
    (of strings), "array", with "|null" when the value may be null.
    """

    name: str
    hive: str
    comment: str | None = None
    json: str = "string|null"


@dataclass(frozen=True)
class JobArg:
    """An integer option of a job: its mrjob option and the `[aggregate]` key feeding it."""

    option: str  # e.g. "--top-n"; mrjob's dest is the option without dashes, "_" for "-"
    config_key: str  # the AggregateConfig field whose value `warehouse aggregate` passes
    default: int
    help: str

    @property
    def dest(self) -> str:
        """Return the attribute name of the option in the job's `self.options`."""
        return self.option.lstrip("-").replace("-", "_")


@dataclass(frozen=True)
class JobSpec:
    """One aggregate job: jobs/<name>.py holds MRJob class `cls`, whose records carry
    exactly `columns` (in this order; `dt` first, also the partition of `agg_<name>`).

    `neighbour_days`: event days read on each side of the requested dates as context
    (records of those days are dropped). `args`: the job's options, fed from [aggregate].
    """

    name: str
    cls: str
    columns: tuple[Column, ...]
    neighbour_days: int = 0
    args: tuple[JobArg, ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        """Return the output keys in record order."""
        return tuple(c.name for c in self.columns)

    def arg(self, config_key: str) -> JobArg:
        """Return the job's option fed from `[aggregate] config_key`; KeyError if none."""
        for arg in self.args:
            if arg.config_key == config_key:
                return arg
        raise KeyError(config_key)


# DESIGN.md's event schema, in the order of the keys in every event line
EVENT_COLUMNS: tuple[Column, ...] = (
    Column("ts", "STRING", "request time, UTC, ISO 8601 with Z", "string"),
    Column("ip", "STRING", None, "string"),
    Column("vhost", "STRING"),
    Column("user", "STRING"),
    Column("method", "STRING"),
    Column("path", "STRING", "without the query string, as logged"),
    Column("query", "STRING"),
    Column("protocol", "STRING"),
    Column("status", "INT", None, "int"),
    Column("bytes", "BIGINT", None, "int|null"),
    Column("referer", "STRING"),
    Column("user_agent", "STRING"),
    Column("duration_ms", "DOUBLE", None, "number|null"),
    Column("slug", "STRING", "Django view name; NULL when no pattern matched"),
    Column("params", "MAP<STRING,STRING>", "captured URL kwargs", "object"),
)
EVENT_KEYS: tuple[str, ...] = tuple(c.name for c in EVENT_COLUMNS)

# UTC date, YYYY-MM-DD: the partition of events and aggregates, and every record's first key
DT = Column("dt", "STRING", "UTC date, YYYY-MM-DD", "string")

_TOP_LIST = "ARRAY<STRUCT<slug:STRING,n:BIGINT>>"
_DT = Column("dt", "STRING", None, "string")


def _count(name: str) -> Column:
    return Column(name, "BIGINT", None, "int")


TOP_N = "top_n"  # [aggregate] key shared by two jobs
GAP_MINUTES = "session_gap_minutes"

JOBS: dict[str, JobSpec] = {
    spec.name: spec
    for spec in (
        JobSpec(
            "daily_actions",
            "DailyActions",
            (
                _DT,
                Column("slug", "STRING"),  # view name, null where no URL pattern matched
                _count("hits"),  # events
                _count("users"),  # distinct non-null `user`
                _count("ips"),  # distinct client `ip`
                _count("server_errors"),  # events with status >= 500
                _count("client_errors"),  # events with 400 <= status <= 499
                Column("p50_ms", "DOUBLE", None, "number|null"),  # nearest-rank median
                Column("p95_ms", "DOUBLE", None, "number|null"),  # nearest-rank 95th pct
            ),
        ),
        JobSpec(
            "sessions",
            "Sessions",
            (
                _DT,  # UTC date of the sessions' first events
                _count("sessions"),  # sessions starting on dt
                _count("visitors"),  # distinct visitors with a session starting on dt
                Column("mean_session_s", "DOUBLE", None, "number"),  # mean length, seconds
                Column("median_session_s", "DOUBLE", None, "number"),  # nearest-rank median
                Column("mean_actions", "DOUBLE", None, "number"),  # mean events per session
                Column("top_entry", _TOP_LIST, None, "array"),  # --top-n entry slugs
                Column("top_exit", _TOP_LIST, None, "array"),  # --top-n exit slugs
            ),
            neighbour_days=1,  # a session crossing midnight needs the day before and after
            args=(
                JobArg("--gap-minutes", GAP_MINUTES, 30, "inactivity that splits a session"),
                JobArg("--top-n", TOP_N, 10, "entry/exit slugs kept per date"),
            ),
        ),
        JobSpec(
            "top_params",
            "TopParams",
            (
                _DT,
                Column("slug", "STRING", None, "string"),  # view name
                Column("param", "STRING", None, "string"),  # parameter name
                Column("value", "STRING", None, "string"),  # value as captured from the path
                _count("hits"),  # events with this value
                Column("rank", "INT", None, "int"),  # 1 = most frequent
            ),
            args=(JobArg("--top-n", TOP_N, 10, "values kept per (dt, slug, param)"),),
        ),
    )
}
JOB_NAMES: tuple[str, ...] = tuple(JOBS)
# the [aggregate] keys that feed job options (integers >= 1), in first-use order
JOB_ARG_KEYS: tuple[str, ...] = tuple(
    dict.fromkeys(arg.config_key for spec in JOBS.values() for arg in spec.args)
)

# mrjob runners of `warehouse parse -r` and `warehouse aggregate -r`
RUNNERS: tuple[str, ...] = ("inline", "local", "spark", "hadoop", "emr")
# runners whose tasks run on other machines and read s3:// themselves
CLUSTER_RUNNERS: tuple[str, ...] = ("hadoop", "emr")


def job_default(config_key: str) -> int:
    """Return the default of the job option fed from `[aggregate] config_key`."""
    for spec in JOBS.values():
        for arg in spec.args:
            if arg.config_key == config_key:
                return arg.default
    raise KeyError(config_key)


def input_dates(job: str, dates: Sequence[dt.date]) -> list[dt.date]:
    """Return the event dates `job` reads for `dates` (with its neighbour days), sorted."""
    wanted = set(dates)
    span = JOBS[job].neighbour_days
    for day in dates:
        wanted.update(day + dt.timedelta(days=n) for n in range(-span, span + 1))
    return sorted(wanted)
