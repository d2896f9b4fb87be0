"""`warehouse events compact`: the Parquet copy of the events ([events] parquet)."""

from __future__ import annotations

import datetime as dt

import click

from warehouse.cli.common import State, cli, date_options, date_range, finish_registered, pass_state


@cli.group()
def events() -> None:
    """Copies of the behaviour events."""


@events.command("compact")
@date_options
@click.option("--force", is_flag=True, help="rebuild days whose copy is up to date")
@click.option("--register", is_flag=True, help="register the written partitions of events_parquet")
@pass_state
def events_compact(
    state: State,
    date: dt.date | None,
    start: dt.date | None,
    end: dt.date | None,
    force: bool,
    register: bool,
) -> None:
    """Write each day's events as Parquet under ROOT/events_parquet/dt=D/ (table
    events_parquet): rebuilt when the day's events changed, removed when they are gone.

    \b
    Examples:
      warehouse events compact --date 2026-11-28
      warehouse events compact --from 2026-11-01 --to 2026-11-30 --register
    """
    from warehouse.events.compact import compact_events

    cfg = state.cfg
    summary = compact_events(cfg, date_range(date, start, end), force=force)
    written = {d.day.isoformat() for d in summary.days if d.status == "written"}
    finish_registered(cfg, summary, "events_parquet", written if register else set())
