"""The commands that run a stage: parse, aggregate, import and the nightly run."""

from __future__ import annotations

import datetime as dt
import sys
import time
from typing import TYPE_CHECKING

import click

from warehouse.cli.common import (
    State,
    cli,
    date_options,
    date_range,
    finish,
    finish_registered,
    pass_state,
    report_registered,
)
from warehouse.cli.draw import terminal_progress
from warehouse.config import Config, MysqlSourceConfig, choices
from warehouse.errors import ConfigError, SourceUnavailable, WarehouseError, combined_exit_code
from warehouse.progress import Progress
from warehouse.redact import redact

if TYPE_CHECKING:
    from warehouse.aggregate.summary import AggregateSummary
from warehouse.run.stages import STAGES
from warehouse.schema import JOB_NAMES, RUNNERS


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
    """Parse access logs into behaviour events under ROOT/events/dt=YYYY-MM-DD/.

    \b
    Examples:
      warehouse parse /var/log/nginx/access.log-20261128.gz --patterns conf/urls.json
      zcat access.log.gz | warehouse parse - --source-name web1-20261128 --format main
    \f
    One parameter per click option (click passes each by name); they become a ParseRequest.
    """
    from warehouse.events.parse import ParseRequest, parse_logs

    cfg = state.cfg
    request = ParseRequest(
        inputs, patterns=patterns, fmt=fmt, workers=workers, source_name=source_name,
        runner=runner, replace=replace,
    )
    with terminal_progress() as progress:
        summary = parse_logs(cfg, request, progress=progress)
    finish_registered(cfg, summary, "events", summary.partitions if register else set())


@cli.command()
@click.argument("jobs", nargs=-1, metavar="[JOB ...]")
@date_options
@click.option("-r", "--runner", type=click.Choice(RUNNERS), help="mrjob runner (default: [aggregate] runner)")
@click.option("--register", is_flag=True, help="register the output partitions in Hive")
@pass_state
def aggregate(
    state: State,
    jobs: tuple[str, ...],
    date: dt.date | None,
    start: dt.date | None,
    end: dt.date | None,
    runner: str | None,
    register: bool,
) -> None:
    """Run mrjob aggregations over event partitions into ROOT/aggregates/JOB/: the JOBs
    named, else every job of [aggregate] jobs, one after another (default date: yesterday
    UTC, as for `run`). One summary line per job (one job's failure does not stop the
    others), then for several jobs the total; the exit code is the worst of them.

    \b
    Examples:
      warehouse aggregate --date 2026-11-28             # every configured job
      warehouse aggregate sessions --from 2026-11-01 --to 2026-11-30 -r local --register
    """
    cfg = state.cfg
    dates = date_range(date, start, end, default="yesterday")
    names = list(dict.fromkeys(jobs)) or list(cfg.aggregate.jobs)
    if not names:
        raise click.UsageError("name a JOB: [aggregate] jobs is empty")
    unknown = [j for j in names if j not in JOB_NAMES]
    if unknown:
        raise click.UsageError(f"unknown job {', '.join(map(repr, unknown))} (known: {', '.join(JOB_NAMES)})")
    runner = runner or cfg.aggregate.runner
    started = time.monotonic()
    summaries: list[AggregateSummary] = []
    try:
        with terminal_progress() as progress:
            for job in names:
                summaries.append(_aggregate_job(cfg, job, dates, runner, progress))
    except (ConfigError, KeyboardInterrupt):
        # a config error applies to every job, Ctrl-C stops them all: what finished is
        # printed (not registered: stop now), then the error's own line and exit code
        _report_jobs(cfg, summaries, False, len(names), started)
        raise
    code = _report_jobs(cfg, summaries, register, len(names), started)
    if code:
        sys.exit(code)


def _aggregate_job(
    cfg: Config, job: str, dates: list[dt.date], runner: str, progress: Progress | None
) -> AggregateSummary:
    """Run one job; the WarehouseError of this job alone becomes its FAILED summary (a
    ConfigError, which applies to every job, is raised)."""
    from warehouse.aggregate import run_aggregate
    from warehouse.aggregate.summary import AggregateSummary

    try:
        return run_aggregate(cfg, job, dates, runner=runner, progress=progress)
    except ConfigError:
        raise
    except WarehouseError as err:
        return AggregateSummary(
            job=job, runner=runner, dates=sorted(dates), error=str(err), exit_code=err.exit_code
        )


def _report_jobs(
    cfg: Config, summaries: list[AggregateSummary], register: bool, planned: int, started: float
) -> int:
    """Print each job's line and register its partitions (--register), then, for several
    jobs, the total; return the combined exit code. A catalog that cannot be reached is
    not tried again for the later jobs."""
    from warehouse.aggregate.summary import total_line

    codes: list[int] = []
    unregistered = 0
    down: SourceUnavailable | None = None
    for summary in summaries:
        table = f"agg_{summary.job}"
        parts = summary.partitions if register else set()
        if down is not None and parts:
            click.echo(summary.line())
            codes += [summary.exit_code, down.exit_code]
            unregistered += 1
            click.echo(f"error: {table} not registered: not tried again after: {redact(str(down))}", err=True)
            continue
        try:
            codes.append(report_registered(cfg, summary, table, parts))
        except WarehouseError as err:  # the job's line is out; its registration failed
            codes += [summary.exit_code, err.exit_code]
            unregistered += 1
            click.echo(f"error: {table} not registered: {redact(str(err))}", err=True)
            if isinstance(err, SourceUnavailable):
                down = err
    code = combined_exit_code(codes)
    if planned > 1 and summaries:
        click.echo(total_line(summaries, planned, unregistered, code, time.monotonic() - started))
    return code


@cli.command("import")
@click.argument("selector", required=False, metavar="[SOURCE[.DATABASE[.TABLE]]]")
@click.option("--engine", type=click.Choice(choices(MysqlSourceConfig, "engine")), help="override [mysql.*] engine")
@click.option("--full", is_flag=True, help="full reload, resetting watermarks")
@click.option(
    "--include-excluded", is_flag=True,
    help="import SOURCE.DATABASE.TABLE even if [mysql.NAME] exclude leaves it out",
)
@pass_state
def import_(
    state: State, selector: str | None, engine: str | None, full: bool, include_excluded: bool
) -> None:
    """Copy MySQL tables into the warehouse and give each a Hive table. Without an
    argument, every table of every [mysql.NAME] source; SOURCE, SOURCE.DATABASE or
    SOURCE.DATABASE.TABLE narrows it. A table that [mysql.NAME] exclude leaves out is
    skipped with a warning, even when named, unless --include-excluded. Ctrl-C stops
    within seconds (exit 130): the finished tables are kept, the next import redoes the
    rest.

    \b
    Examples:
      warehouse import                      # every source
      warehouse import shop.billing.invoices --full
    """
    from warehouse.mysql.importer import run_import

    with terminal_progress() as progress:
        summary = run_import(state.cfg, selector, engine=engine, full=full, progress=progress,
                             include_excluded=include_excluded)
    for line in summary.lines()[:-1]:  # one line per table; finish prints the total last
        click.echo(line)
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
    """The nightly run: parse, register, aggregate, import (default date: yesterday UTC).

    \b
    Examples:
      warehouse run                         # yesterday, what cron runs
      warehouse run --from 2026-11-01 --to 2026-11-30 --only aggregate --force
    """
    from warehouse.run.pipeline import run_nightly

    dates = date_range(date, start, end, default="yesterday")
    with terminal_progress() as progress:
        summary = run_nightly(state.cfg, dates, only=only, force=force, progress=progress)
    finish(summary)
