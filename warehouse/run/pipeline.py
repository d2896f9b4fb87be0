"""The nightly run: parse a day's logs, register events, aggregate, import MySQL, reports.

Stages run stage by stage over the requested dates (a backfill parses every date first,
then aggregates the union of the dates the parses touched once per job). Each (date,
stage) writes a run record to `ROOT/_state/runs/<date>/<stage>.json`:

    {"stage", "date", "status": "running" | "ok" | "failed" | "skipped", "started",
     "ended", "seconds", "exit_code", "summary", "error", "counts", "partitions", ...}

A stage whose record says "ok" is skipped on a re-run unless `--force`, or unless a
stage it depends on ran again in this invocation (a re-parsed day is re-aggregated), or
unless the record no longer covers the work (`warehouse.run.stale`: the day's logs grew or
gained a file, a job or report was added to the config).
A record left "running" by a killed run counts as not done. The aggregate stage also
records each job as it finishes, so a run killed half-way resumes with the jobs that
had not finished (their outputs replace the partitions, so the result is the same).

The events stage registers the touched `events` partitions and the day's `access_raw`
partition (the raw log folder of that day, when `[logs] input` names a folder per day).
Dependencies: events and aggregate need that day's parse; import needs nothing (it
copies MySQL's current state, so a backfill imports once, for its last date).
The reports stage materialises `[hive] reports` for each date (after aggregate and
import, which it re-runs after); it needs that day's parse.
Stages whose section is absent ([hive], [mysql.*], [hive] reports) are skipped and said so.

At the end, `[run] notify` hears of the outcome (`warehouse.run.notify`: on a failure, or
always), also when no stage could start (the run lock held, the root unreachable), and when
the run was interrupted (Ctrl-C or SIGTERM; told as such, exit 130).

Here: the entry point (checks, the run lock, the alerts). The stages: `warehouse.run.stages`; their
records and results: `warehouse.run.ledger`; a day's input and a job's dates:
`warehouse.run.dates`.
"""

from __future__ import annotations

import datetime as dt
import logging

from warehouse.config import Config
from warehouse.errors import (
    EXIT_UNEXPECTED,
    ConfigError,
    SourceUnavailable,
    WarehouseError,
    interrupted_by,
)
from warehouse.hive.outage import CatalogWatch
from warehouse.lock import run_lock
from warehouse.progress import Progress
from warehouse.run.dates import check_dates
from warehouse.run.notify import error_text, notify, run_text
from warehouse.run.stages import STAGES, Night
from warehouse.run.summary import RunSummary
from warehouse.storage import ObjectStore, store_for_config

log = logging.getLogger(__name__)


def run_nightly(
    cfg: Config,
    dates: list[dt.date],
    *,
    only: str | None = None,
    force: bool = False,
    store: ObjectStore | None = None,
    progress: Progress | None = None,
) -> RunSummary:
    """Run the stages for `dates` under the run lock; raises RunInProgress, ConfigError.

    `progress` hears of each (date, stage) as it ends ("run", stages; see `Night.run`);
    the stages' own parse, aggregate and import report nothing (no nested bars)."""
    if not dates:
        raise ConfigError("warehouse run needs at least one date")
    if only is not None and only not in STAGES:
        raise ConfigError(f"--only {only!r}: choose one of {', '.join(STAGES)}")
    store = store or store_for_config(cfg)
    try:
        check_dates(dates, cfg.run.max_dates)  # refused dates (a bad catch-up) are told too
        with run_lock(cfg.cron.lock_file):
            store.check_root()  # a missing bucket or a hung endpoint: fail before any stage
            night = Night(cfg, sorted(set(dates)), store, only=only, force=force, progress=progress)
            if only != "parse":
                _check_catalog_root(cfg, store, night.catalog)
            try:
                night.run()
            except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (errors.Terminated)
                # The stage in progress ends "failed" with exit 130 (redone next time),
                # the lock is released on the way out, and what finished is summed up.
                night.summary.interrupted = True
                night.summary.interrupted_by = interrupted_by(exc)
    except WarehouseError as err:  # no stage ran: the alert says why
        notify(cfg, error_text(dates, str(err), err.exit_code), err.exit_code)
        raise
    except Exception as exc:  # a bug: exit 1 with its traceback, told all the same
        error = f"unexpected {type(exc).__name__}: {exc}"
        notify(cfg, error_text(dates, error, EXIT_UNEXPECTED), EXIT_UNEXPECTED)
        raise
    notify(cfg, run_text(night.summary), night.summary.exit_code)
    return night.summary


def _check_catalog_root(cfg: Config, store: ObjectStore, watch: CatalogWatch) -> None:
    """Refuse (exit 2) a root that is not the one the [glue] catalog's tables are over
    (`--root DIR` with a shared Glue database): every registration would find nothing. A
    catalog that does not answer is left to the stages: `watch` remembers the outage, so
    they fail at once (exit 3) instead of waiting out its timeouts again. A HiveServer2
    metastore lives and dies with its cluster: `hive apply` checks it, `run` does not
    open a session for it up front."""
    if cfg.glue is None:
        return
    from warehouse.hive.rootcheck import check_catalog_root

    try:
        watch.call(check_catalog_root, cfg, store)
    except SourceUnavailable as err:
        log.info("catalog not checked against the root: %s", err)
