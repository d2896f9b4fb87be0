"""`warehouse events compact`: the Parquet copy of the events ([events] parquet), and with
the setting on the aggregates' copies (a backfill after turning it on: --all)."""

from __future__ import annotations

import datetime as dt
import sys

import click

from warehouse.cli.common import State, cli, date_options, date_range, pass_state
from warehouse.cli.draw import terminal_progress
from warehouse.errors import combined_exit_code


@cli.group()
def events() -> None:
    """Copies of the behaviour events."""


@events.command("compact")
@date_options
@click.option("--all", "all_", is_flag=True, help="every date the root holds events or aggregates for")
@click.option("--force", is_flag=True, help="rebuild copies that are up to date")
@click.option("--register", is_flag=True, help="register the written partitions (events_parquet, agg_JOB)")
@pass_state
def events_compact(
    state: State,
    date: dt.date | None,
    start: dt.date | None,
    end: dt.date | None,
    all_: bool,
    force: bool,
    register: bool,
) -> None:
    """Write each day's events as Parquet under ROOT/events_parquet/dt=D/ (table
    events_parquet): rebuilt when the day's events changed, removed when they are gone.
    With [events] parquet = true, also each aggregate partition's missing Parquet copy
    (ROOT/aggregates_parquet/JOB/dt=D/, what agg_JOB reads), written from its JSON part
    without running the job: after turning the setting on, `--all` backfills the root.
    Holds the run lock; a re-run does only what is missing.

    \b
    Examples:
      warehouse events compact --date 2026-11-28
      warehouse events compact --from 2026-11-01 --to 2026-11-30 --register
      warehouse events compact --all        # after turning [events] parquet on
    """
    from warehouse.aggregate.backfill import backfill_parquet

    if all_ and (date or start or end):
        raise click.UsageError("give --all or dates, not both")
    cfg = state.cfg
    days = None if all_ else date_range(date, start, end)
    with terminal_progress() as progress:
        summary = backfill_parquet(cfg, days, force=force, progress=progress)
    click.echo(summary.line())
    codes = [summary.exit_code]
    if register:
        from warehouse.hive import register_partitions

        written = sorted(d.day.isoformat() for d in summary.events.days if d.status == "written")
        tables = {"events_parquet": written} if written else {}
        for job, day in summary.copies.written if summary.copies else []:
            tables.setdefault(f"agg_{job}", []).append(day)
        for table, days_written in tables.items():
            registered = register_partitions(cfg, table, days_written)
            click.echo(registered.line())
            codes.append(registered.exit_code)
    code = combined_exit_code(codes)
    if code:
        sys.exit(code)
