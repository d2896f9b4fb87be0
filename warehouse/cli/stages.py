"""The commands that run a stage: parse, aggregate, import and the nightly run."""

from __future__ import annotations

import datetime as dt
import sys

import click

from warehouse.cli.common import State, cli, date_options, date_range, finish, pass_state
from warehouse.cli.draw import terminal_progress
from warehouse.config import Config
from warehouse.errors import Summary, combined_exit_code
from warehouse.run.summary import STAGES
from warehouse.schema import RUNNERS


@cli.command()
@click.argument("inputs", nargs=-1, metavar="[INPUT ...]")
@click.option("--patterns", metavar="FILE", help="URL-pattern dump (default: [logs] patterns)")
@click.option("--format", "fmt", metavar="NAME|FORMAT", help="preset or LogFormat (default: [logs] format)")
@click.option("--workers", type=click.IntRange(min=1), help="parser processes (default: [logs] workers)")
@click.option(
    "--source-name", metavar="NAME", help="name of stdin input (required for -; NAME.gz: gzip)"
)
@click.option("--register", is_flag=True, help="register the touched partitions in Hive")
@click.option(
    "-r", "--runner", type=click.Choice(RUNNERS),
    help="run as a map-only mrjob job on this runner (default: [logs] runner, else in process)",
)
@click.option(
    "--replace", is_flag=True,
    help="publish inputs that now have fewer lines than their last run (else exit 5)",
)
@pass_state
def parse(
    state: State,
    inputs: tuple[str, ...],
    patterns: str | None,
    fmt: str | None,
    workers: int | None,
    source_name: str | None,
    register: bool,
    runner: str | None,
    replace: bool,
) -> None:
    """Parse access logs into behaviour events under ROOT/events/dt=YYYY-MM-DD/."""
    from warehouse.events.parse import parse_logs

    cfg = state.cfg
    with terminal_progress() as progress:
        summary = parse_logs(
            cfg,
            list(inputs),
            patterns=patterns,
            fmt=fmt,
            workers=workers,
            source_name=source_name,
            progress=progress,
            runner=runner,
            replace=replace,
        )
    _finish_registering(cfg, summary, "events", summary.partitions if register else set())


@cli.command()
@click.argument("job")
@date_options
@click.option("-r", "--runner", type=click.Choice(RUNNERS), help="mrjob runner (default: [aggregate] runner)")
@click.option("--register", is_flag=True, help="register the output partitions in Hive")
@pass_state
def aggregate(
    state: State,
    job: str,
    date: dt.date | None,
    start: dt.date | None,
    end: dt.date | None,
    runner: str | None,
    register: bool,
) -> None:
    """Run an mrjob aggregation over event partitions into ROOT/aggregates/JOB/ (default
    date: yesterday UTC, as for `run`)."""
    from warehouse.aggregate import run_aggregate

    cfg = state.cfg
    dates = date_range(date, start, end, default="yesterday")
    with terminal_progress() as progress:
        summary = run_aggregate(
            cfg, job, dates, runner=runner or cfg.aggregate.runner, progress=progress
        )
    _finish_registering(
        cfg, summary, f"agg_{job}", summary.partitions if register else set()
    )


def _finish_registering(cfg: Config, summary: Summary, table: str, partitions: set[str]) -> None:
    """Print the stage's line, then register `partitions` of `table` in Hive (--register)
    and print that line; exit with the worse of the two codes (2, 3, 4 win over 5), so a
    refused CREATE or ADD PARTITION is not exit 0."""
    click.echo(summary.line())
    codes = [summary.exit_code]
    if partitions:
        from warehouse.hive.partitions import register_partitions

        registered = register_partitions(cfg, table, sorted(partitions))
        click.echo(registered.line())
        codes.append(registered.exit_code)
    code = combined_exit_code(codes)
    if code:
        sys.exit(code)


@cli.command("import")
@click.argument("selector", required=False, metavar="[SOURCE[.DATABASE[.TABLE]]]")
@click.option("--engine", type=click.Choice(["python", "sqoop"]), help="override [mysql.*] engine")
@click.option("--full", is_flag=True, help="full reload, resetting watermarks")
@pass_state
def import_(state: State, selector: str | None, engine: str | None, full: bool) -> None:
    """Copy MySQL tables into the warehouse and give each a Hive table."""
    from warehouse.mysql.importer import run_import

    with terminal_progress() as progress:
        summary = run_import(state.cfg, selector, engine=engine, full=full, progress=progress)
    finish(summary)


@cli.command()
@date_options
@click.option("--only", type=click.Choice(STAGES), help="run one stage")
@click.option("--force", is_flag=True, help="redo stages already complete")
@pass_state
def run(
    state: State,
    date: dt.date | None,
    start: dt.date | None,
    end: dt.date | None,
    only: str | None,
    force: bool,
) -> None:
    """The nightly run: parse, register, aggregate, import (default date: yesterday UTC)."""
    from warehouse.run.pipeline import run_nightly

    dates = date_range(date, start, end, default="yesterday")
    with terminal_progress() as progress:
        summary = run_nightly(state.cfg, dates, only=only, force=force, progress=progress)
    finish(summary)
