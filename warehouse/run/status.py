"""`warehouse status`: what the nightly runs did, read back from the run records under
`ROOT/_state/runs/` (`warehouse.run.records`), and what the next run will redo.

Per date and stage: the outcome (ok, failed, running, damaged, not run, blocked,
skipped), the exit code and its class, the duration, the counts (lines, events,
rejects, rows), the first failure's message, and what the next run will redo, by the
same rules as the run itself (`warehouse.run.ledger`: a record not "ok" is redone; an
"ok" one when a stage it depends on ran again after it, or when it no longer covers the
work, `warehouse.run.stale`). Dates with a failure come first. A record that cannot be
read shows as damaged (the run redoes its stage), never as a traceback.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import socket
from dataclasses import asdict, dataclass, field
from typing import Any

from warehouse.config import Config
from warehouse.errors import (
    EXIT_CLASSES,
    EXIT_UNAVAILABLE,
    WarehouseError,
    combined_exit_code,
)
from warehouse.run.records import RUNS_PREFIX, StageRecord, load_record, record_key
from warehouse.run.stages import STAGE_TABLE, STAGES, unconfigured
from warehouse.run.stale import stale_reason
from warehouse.scratch import pid_alive
from warehouse.storage import ObjectStore

log = logging.getLogger(__name__)


# outcomes that make a date "failing" (listed first)
BAD = ("failed", "damaged")
_DATE_DIR = re.compile(r"^(\d{4}-\d{2}-\d{2})/[^/]+\.json$")
_ROWS = re.compile(r"([\d,]+) rows")


@dataclass
class StageStatus:
    """One (date, stage) as its run record tells it."""

    stage: str
    outcome: str  # ok | failed | running | damaged | not run | blocked | skipped
    exit_code: int | None = None
    exit_class: str | None = None
    seconds: float | None = None
    started: str | None = None
    ended: str | None = None
    host: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    next_run: str = ""  # what the next run does with it ("" = nothing: it is complete)
    record: str = ""


@dataclass
class DateStatus:
    """The stages of one date."""

    date: dt.date
    stages: list[StageStatus] = field(default_factory=list)

    @property
    def failing(self) -> bool:
        """Return True when a stage failed or its record is damaged."""
        return any(s.outcome in BAD for s in self.stages)

    @property
    def exit_code(self) -> int:
        """Return the date's combined exit code (0 when no stage failed)."""
        return combined_exit_code(s.exit_code or 0 for s in self.stages if s.outcome == "failed")


@dataclass
class StatusReport:
    """What `warehouse status` prints: the dates asked for, failing dates first."""

    records: str
    dates: list[DateStatus]
    # [events] parquet: the dates whose JSON has no Parquet copy, by table (events, jobs)
    parquet_lag: dict[str, list[str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Return the report as JSON-ready data."""
        return {
            "records": self.records,
            "dates": [
                {"date": d.date.isoformat(), "failing": d.failing, "exit_code": d.exit_code,
                 "stages": [asdict(s) for s in d.stages]}
                for d in self.dates
            ],
            "parquet_missing": self.parquet_lag,
        }

    def line(self) -> str:
        """Return the one-line summary."""
        if not self.dates:
            return f"status: no run records under {self.records}"
        days = sorted(d.date for d in self.dates)
        span = str(days[0]) if len(days) == 1 else f"{days[0]}..{days[-1]}"
        failing = [str(d.date) for d in self.dates if d.failing]
        redo = sum(1 for d in self.dates for s in d.stages if s.next_run.startswith("redo"))
        bad = f"{len(failing)} failing [{' '.join(failing)}]" if failing else "none failing"
        return (
            f"status: {_n(len(self.dates), 'date')} ({span}), {bad}, "
            f"{_n(redo, 'stage')} to redo{self._lag()}; "
            f"records: {self.records}"
        )

    def _lag(self) -> str:
        if not self.parquet_lag:
            return ""
        days = sorted({d for v in self.parquet_lag.values() for d in v})
        span = days[0] if len(days) == 1 else f"{days[0]}..{days[-1]}"
        return (
            f"; Parquet copies behind the JSON for {_n(len(days), 'date')} ({span}; "
            f"{', '.join(sorted(self.parquet_lag))}): warehouse events compact --all"
        )


def _n(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def record_dates(store: ObjectStore) -> list[dt.date]:
    """Return the dates that have run records, oldest first."""
    found: set[dt.date] = set()
    for obj in store.list(f"{RUNS_PREFIX}/"):
        m = _DATE_DIR.match(obj.key[len(RUNS_PREFIX) + 1:])
        if m:
            try:
                found.add(dt.date.fromisoformat(m.group(1)))
            except ValueError:
                continue
    return sorted(found)


def run_status(
    cfg: Config, store: ObjectStore, *, dates: list[dt.date] | None = None, last: int = 7
) -> StatusReport:
    """Return the status of `dates` (every one, records or not), or of the `last` dates
    that have run records; raises WarehouseError when the root cannot be listed."""
    if dates is None:
        dates = record_dates(store)[-last:] if last > 0 else []
    days = [_date_status(cfg, store, day) for day in sorted(set(dates), reverse=True)]
    days.sort(key=lambda d: not d.failing)  # stable: failing dates first, newest first
    lag: dict[str, list[str]] = {}
    if cfg.events.parquet:  # turned on after months of nights: copies missing
        from warehouse.aggregate.backfill import lagging_copies

        lag = lagging_copies(store, cfg.aggregate.jobs)
    return StatusReport(store.uri(RUNS_PREFIX), days, lag)


def _date_status(cfg: Config, store: ObjectStore, day: dt.date) -> DateStatus:
    recs: dict[str, StageRecord | None] = {}
    out = DateStatus(day)
    for stage in STAGES:
        rec, st = _read(store, day, stage)
        recs[stage] = rec
        out.stages.append(st)
    redo: dict[str, str] = {}
    for st in out.stages:
        st.next_run = _next_run(cfg, day, st, recs, redo, store)
        if st.next_run.startswith("redo") or st.next_run.startswith("run"):
            redo[st.stage] = st.next_run
    # the nightly run covers the `catchup_days` dates up to yesterday; an older date is
    # redone only when someone asks for it
    today = dt.datetime.now(dt.UTC).date()
    if redo and day < today - dt.timedelta(days=cfg.cron.catchup_days):
        for st in out.stages:
            if st.stage in redo:
                st.next_run += (f"; beyond the nightly catch-up ({cfg.cron.catchup_days} days):"
                                f" warehouse run --date {day}")
    return out


def _read(store: ObjectStore, day: dt.date, stage: str) -> tuple[StageRecord | None, StageStatus]:
    """Return the record of (day, stage) (None when absent or damaged) and its status."""
    key = record_key(day, stage)
    uri = store.uri(key)
    try:
        rec = load_record(store, day, stage)
        if rec is None:
            return None, StageStatus(stage, "not run")
        return rec, _from_record(stage, rec, uri)
    except WarehouseError as err:
        if err.exit_code == EXIT_UNAVAILABLE:
            raise
        return None, StageStatus(stage, "damaged", error=str(err), record=uri)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        return None, StageStatus(stage, "damaged", error=f"{uri} is damaged ({exc})", record=uri)


def _from_record(stage: str, rec: StageRecord, uri: str) -> StageStatus:
    """Return the status a record tells; raises ValueError for fields of the wrong type
    (`seconds`, and `status`'s value, are not checked when the record is read)."""
    status = rec.status
    if not isinstance(status, str) or status not in ("ok", "failed", "running", "skipped"):
        raise ValueError(f"status {status!r} is not ok, failed or running")
    code = rec.exit_code
    if code is not None and (isinstance(code, bool) or not isinstance(code, int)):
        raise ValueError(f"exit_code {code!r} is not a number")
    seconds = rec.seconds
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, int | float)):
        raise ValueError(f"seconds {seconds!r} is not a number")
    error = rec.error
    st = StageStatus(
        stage, status, exit_code=code, exit_class=None if code is None else EXIT_CLASSES.get(code, "?"),
        seconds=seconds, started=_text(rec.started), ended=_text(rec.ended),
        host=_text(rec.host), counts=_counts(stage, rec),
        error=None if error is None else str(error), record=uri,
    )
    if status == "running":
        st.error = _running_text(rec)
    return st


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _counts(stage: str, rec: StageRecord) -> dict[str, int]:
    """Return lines, events, rejects and rows where the record has them."""
    counts = rec.counts or {}
    out: dict[str, int] = {}

    def num(name: str, value: Any) -> None:
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[name] = int(value)

    num("lines", counts.get("lines"))
    num("events", counts.get("events"))
    if stage == "parse" and "lines" in out and "events" in out:
        out["rejects"] = out["lines"] - out["events"]  # every line: an event or a reject
    num("rows", counts.get("rows"))
    if stage == "aggregate" and rec.jobs is not None:
        rows = [j.counts.get("records") for j in rec.jobs.values() if isinstance(j.counts, dict)]
        if rows:
            out["rows"] = sum(int(r) for r in rows if isinstance(r, int | float))
    if "rows" not in out and stage in ("import", "reports") and isinstance(rec.summary, str):
        m = _ROWS.search(rec.summary)  # the import's counts are per table, in its line
        if m:
            out["rows"] = int(m.group(1).replace(",", ""))
    if isinstance(rec.partitions, list) and stage in ("parse", "events"):
        out["partitions"] = len(rec.partitions)
    return out


def _running_text(rec: StageRecord) -> str:
    host, pid = rec.host, rec.pid
    if host == socket.gethostname() and isinstance(pid, int) and pid_alive(pid):
        return f"running now (pid {pid} on {host}, since {rec.started})"
    return (f"left running by pid {pid} on {host} since {rec.started}: "
            "killed, or still running elsewhere")


def _next_run(
    cfg: Config, day: dt.date, st: StageStatus, recs: dict[str, StageRecord | None],
    redo: dict[str, str], store: ObjectStore | None = None,
) -> str:
    """Return what the next run does with (day, stage), by the run's own rules."""
    stage, rec = st.stage, recs[st.stage]
    if st.outcome == "damaged":
        return "redo (its record is damaged)"
    if rec is None:
        return _never_ran(cfg, st, recs.get("parse"), redo)
    if st.outcome == "failed":
        return "redo" + _jobs_left(cfg, rec)
    if st.outcome == "running":
        return "redo (the record says running: a killed run is redone)"
    for up in STAGE_TABLE[stage].needs:
        if up in redo and up != "import":
            return f"redo (after its {up})"
        why = _upstream_newer(rec, recs.get(up))
        if why:
            return f"redo ({up} ran again after it, {why})"
    try:
        why = stale_reason(cfg, day, stage, rec, store)
    except WarehouseError as err:
        return f"cannot tell ({err})"
    return f"redo ({why})" if why else ""


def _never_ran(
    cfg: Config, st: StageStatus, parse: StageRecord | None, redo: dict[str, str]
) -> str:
    """Return what the next run does with a stage that has no record (`st.outcome` made
    skipped, blocked or not run, as the run would tell it)."""
    skip = unconfigured(cfg, st.stage)
    if skip:
        st.outcome, st.error = "skipped", skip
        return ""
    if st.stage == "import":
        return "nothing (a run imports once, for its last date)"
    if st.stage != "parse" and (parse is None or parse.status != "ok") and "parse" in redo:
        st.outcome = "blocked" if parse is not None else "not run"
        return "run after its parse"
    return "run"


def _upstream_newer(rec: StageRecord, up: StageRecord | None) -> str | None:
    if not up or up.status != "ok":
        return None
    ended, started = str(up.ended or ""), str(rec.started or "")
    return ended if ended > started else None


def _jobs_left(cfg: Config, rec: StageRecord) -> str:
    """Return " (jobs left: ...; done: ...)" for a failed aggregate record with jobs."""
    jobs = rec.jobs
    if rec.stage != "aggregate" or jobs is None:
        return ""
    done = sorted(j for j, v in jobs.items() if v.status == "ok")
    left = [j for j in cfg.aggregate.jobs if j not in done]
    if not done:
        return ""
    return f" ({', '.join(left) or 'no job'}; done: {', '.join(done)})"
