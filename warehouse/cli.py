"""The `warehouse` command line: argument parsing and wiring only.

Each command loads the configuration once, calls one library function, prints that
function's one-line summary and exits with its code. Library errors (WarehouseError)
become one line on stderr and their exit code; anything else keeps its traceback.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import click

from warehouse.config import Config, load_config
from warehouse.errors import InputMissing, Summary, WarehouseError
from warehouse.run.summary import STAGES
from warehouse.schema import RUNNERS

log = logging.getLogger("warehouse")


class _State:
    """What the group hands to subcommands: the global options and the loaded config."""

    def __init__(self, config_file: str | None, root: str | None, verbose: int) -> None:
        self.config_file = config_file
        self.root = root
        self.verbose = verbose
        self._cfg: Config | None = None

    @property
    def cfg(self) -> Config:
        if self._cfg is None:
            self._cfg = load_config(self.config_file, root=self.root)
            log.info("config: %s; root: %s", self._cfg.path or "(embedded defaults)", self._cfg.root)
        return self._cfg


pass_state = click.make_pass_decorator(_State)


def _setup_logging(verbose: int) -> None:
    """Log to stderr at WARNING, INFO (-v) or DEBUG (-vv); passwords and keys masked."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(level)  # again when -v comes after the subcommand
    # paramiko's transport thread logs a failed handshake as an ERROR with a traceback;
    # we report that failure ourselves in one line (the traceback shows at -vv)
    logging.getLogger("paramiko").setLevel(logging.CRITICAL if verbose < 2 else logging.NOTSET)
    from warehouse.redact import install

    install()  # every handler masks passwords, AWS keys and tokens, at any verbosity


class _CliError(click.ClickException):
    """A WarehouseError on its way out: one line on stderr, the error's exit code."""

    def __init__(self, err: WarehouseError) -> None:
        super().__init__(str(err))
        self.exit_code = err.exit_code  # type: ignore[misc]

    def show(self, file: IO[Any] | None = None) -> None:
        from warehouse.redact import redact

        click.echo(f"error: {redact(self.message)}", err=True)


def _late_global(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """Apply a global option given after the subcommand (`parse LOG --root DIR`)."""
    if value is None or value == 0:
        return
    state = ctx.find_object(_State)
    if state is None:  # pragma: no cover - the group always sets it
        return
    if param.name == "verbose":
        state.verbose += int(value)
        _setup_logging(state.verbose)
    else:
        setattr(state, str(param.name), value)


class _Command(click.Command):
    """A subcommand that also accepts the global --config, --root and -v after its name."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        def late(*decls: str, **kw: Any) -> click.Option:
            return click.Option(
                list(decls), callback=_late_global, expose_value=False,
                help="as before the command", **kw,
            )

        self.params += [
            late("--config", "config_file", metavar="FILE"),
            late("--root", metavar="ROOT"),
            late("-v", "--verbose", count=True),
        ]


class _Group(click.Group):
    """Click group that turns library errors into exit codes (also under CliRunner)."""

    command_class = _Command
    group_class = type  # subgroups are _Groups too

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except WarehouseError as err:
            log.debug("failed", exc_info=True)
            raise _CliError(err) from None


def _finish(summary: Summary) -> None:
    """Print a summary's line (stdout) and exit with its code."""
    click.echo(summary.line())
    if summary.exit_code:
        sys.exit(summary.exit_code)


def parse_day(text: str) -> dt.date:
    """Return the date named by ISO `YYYY-MM-DD`, `today` or `yesterday` (UTC); raises
    ValueError."""
    today = dt.datetime.now(dt.UTC).date()
    if text == "today":
        return today
    if text == "yesterday":
        return today - dt.timedelta(days=1)
    return dt.date.fromisoformat(text)


class Day(click.ParamType):
    """A UTC date on the command line: YYYY-MM-DD, today or yesterday."""

    name = "date"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> dt.date:
        if isinstance(value, dt.date):
            return value
        try:
            return parse_day(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a date: use YYYY-MM-DD, today or yesterday", param, ctx)


DAY = Day()


def date_range(
    date: dt.date | str | None,
    start: dt.date | str | None,
    end: dt.date | str | None,
    *,
    default: str | None = None,
) -> list[dt.date]:
    """Return the dates of `--date D` or `--from D --to D` (inclusive); raises
    click.UsageError (exit 2, with the usage line)."""
    day, first, last = (None if v is None else DAY.convert(v, None, None) for v in (date, start, end))
    if day and (first or last):
        raise click.UsageError("give --date or --from/--to, not both")
    if day:
        return [day]
    if first or last:
        if not (first and last):
            raise click.UsageError("--from and --to go together")
        if last < first:
            raise click.UsageError(f"--to {last} is before --from {first}")
        return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    if default:
        return [DAY.convert(default, None, None)]
    raise click.UsageError("give --date D or --from D --to D")


def _date_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--to", "end", type=DAY, metavar="D", help="last date of a range (inclusive)")(f)
    f = click.option("--from", "start", type=DAY, metavar="D", help="first date of a range")(f)
    f = click.option("--date", type=DAY, metavar="D", help="one UTC date: YYYY-MM-DD, today, yesterday")(f)
    return f


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config", "config_file", metavar="FILE", envvar="WAREHOUSE_CONFIG", show_envvar=True,
    help="TOML config (else ./warehouse.toml); also after the command",
)
@click.option(
    "--root", metavar="ROOT", envvar="WAREHOUSE_ROOT", show_envvar=True,
    help="warehouse root: a directory or s3://bucket/prefix; also after the command",
)
@click.option("-v", "--verbose", count=True, help="more logging on stderr (-vv for debug)")
@click.version_option(package_name="warehouse")
@click.pass_context
def cli(ctx: click.Context, config_file: str | None, root: str | None, verbose: int) -> None:
    """Build and feed a Hive warehouse: logs to behaviour, aggregates, MySQL imports."""
    _setup_logging(verbose)
    ctx.obj = _State(config_file, root, verbose)


# --- urls -------------------------------------------------------------------------------


@cli.group()
def urls() -> None:
    """Django URL patterns."""


@urls.command("dump")
@click.option("--urlconf", required=True, metavar="MODULE", help="ROOT_URLCONF module, e.g. mysite.urls")
@click.option("--settings", metavar="MODULE", help="Django settings module of a real project")
@click.option("--pythonpath", "pythonpath", multiple=True, metavar="DIR", help="folder to put on sys.path")
@click.option("-o", "--output", metavar="FILE", help="write here instead of stdout")
def urls_dump(urlconf: str, settings: str | None, pythonpath: tuple[str, ...], output: str | None) -> None:
    """Write the URL patterns of a Django project as JSON, in resolution order."""
    from warehouse.events.patterns import write_patterns
    from warehouse.urls.dump import dump_patterns

    patterns = dump_patterns(urlconf, settings=settings, pythonpath=list(pythonpath))
    write_patterns(patterns, output)
    if output:
        click.echo(f"urls dump: {len(patterns)} patterns from {urlconf} -> {output}", err=True)


# --- parse ------------------------------------------------------------------------------


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
    state: _State,
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
    summary = parse_logs(
        cfg,
        list(inputs),
        patterns=patterns,
        fmt=fmt,
        workers=workers,
        source_name=source_name,
        progress=sys.stderr.isatty(),
        runner=runner,
        replace=replace,
    )
    click.echo(summary.line())
    if register and summary.partitions:
        from warehouse.hive.partitions import register_partitions

        click.echo(register_partitions(cfg, "events", sorted(summary.partitions)).line())
    if summary.exit_code:
        sys.exit(summary.exit_code)


# --- aggregate --------------------------------------------------------------------------


@cli.command()
@click.argument("job")
@_date_options
@click.option("-r", "--runner", type=click.Choice(RUNNERS), help="mrjob runner (default: [aggregate] runner)")
@click.option("--register", is_flag=True, help="register the output partitions in Hive")
@pass_state
def aggregate(
    state: _State,
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
    summary = run_aggregate(cfg, job, dates, runner=runner or cfg.aggregate.runner)
    click.echo(summary.line())
    if register and summary.partitions:
        from warehouse.hive.partitions import register_partitions

        click.echo(register_partitions(cfg, f"agg_{job}", sorted(summary.partitions)).line())
    if summary.exit_code:
        sys.exit(summary.exit_code)


# --- hive -------------------------------------------------------------------------------


@cli.group()
def hive() -> None:
    """Hive tables over the warehouse."""


@hive.command("apply")
@click.option("--replace", is_flag=True, help="drop and re-create tables whose spec changed (files stay)")
@pass_state
def hive_apply(state: _State, replace: bool) -> None:
    """Create every table the root holds (events, access_raw, agg_*, imported MySQL tables
    and their views) and register every partition (idempotent; changed specs are reported)."""
    from warehouse.catalog import apply

    _finish(apply(state.cfg, replace=replace))


@hive.command("partitions")
@click.option("--table", "-t", required=True, metavar="T", help="events, access_raw, agg_JOB or mysql_...")
@_date_options
@click.option("--all", "all_", is_flag=True, help="every partition found in the root")
@pass_state
def hive_partitions(
    state: _State,
    table: str,
    date: dt.date | None,
    start: dt.date | None,
    end: dt.date | None,
    all_: bool,
) -> None:
    """Register partitions present in the root and missing from the metastore."""
    from warehouse.catalog import register_partitions

    if all_ and (date or start or end):
        raise click.UsageError("give --all or dates, not both")
    dates = None if all_ else date_range(date, start, end)
    _finish(register_partitions(state.cfg, table, dates))


@hive.command("query")
@click.argument("sql", required=False)
@click.option("-f", "--file", "file", metavar="FILE", help="run the statements of an .hql file")
@click.option("--format", "fmt", type=click.Choice(["table", "tsv", "json"]), default="table", show_default=True)
@pass_state
def hive_query(state: _State, sql: str | None, file: str | None, fmt: str) -> None:
    """Run SQL (or a file of statements) and print the last result."""
    from warehouse.hive.manage import format_result, run_query

    if bool(sql) == bool(file):
        raise click.UsageError("give SQL or -f FILE")
    if sql:
        text = sql
    else:
        try:
            text = Path(file or "").read_text(encoding="utf-8")
        except OSError as exc:
            raise InputMissing(f"cannot read HQL file {file}: {exc.strerror}") from None
    result = run_query(state.cfg, text)
    click.echo(format_result(result, fmt), nl=False)


# --- import -----------------------------------------------------------------------------


@cli.command("import")
@click.argument("selector", required=False, metavar="[SOURCE[.DATABASE[.TABLE]]]")
@click.option("--engine", type=click.Choice(["python", "sqoop"]), help="override [mysql.*] engine")
@click.option("--full", is_flag=True, help="full reload, resetting watermarks")
@pass_state
def import_(state: _State, selector: str | None, engine: str | None, full: bool) -> None:
    """Copy MySQL tables into the warehouse and give each a Hive table."""
    from warehouse.mysql.importer import run_import

    _finish(run_import(state.cfg, selector, engine=engine, full=full, progress=sys.stderr.isatty()))


# --- run / cron -------------------------------------------------------------------------


@cli.command()
@_date_options
@click.option("--only", type=click.Choice(STAGES), help="run one stage")
@click.option("--force", is_flag=True, help="redo stages already complete")
@pass_state
def run(
    state: _State,
    date: dt.date | None,
    start: dt.date | None,
    end: dt.date | None,
    only: str | None,
    force: bool,
) -> None:
    """The nightly run: parse, register, aggregate, import (default date: yesterday UTC)."""
    from warehouse.run.pipeline import run_nightly

    dates = date_range(date, start, end, default="yesterday")
    _finish(run_nightly(state.cfg, dates, only=only, force=force))


@cli.group()
def cron() -> None:
    """The nightly crontab on the EMR master."""


@cron.command("show")
@pass_state
def cron_show(state: _State) -> None:
    """Print the crontab block for review."""
    from warehouse.run.cron import render_crontab

    click.echo(render_crontab(state.cfg), nl=False)


@cron.command("install")
@pass_state
def cron_install(state: _State) -> None:
    """Install (or replace) the marked block in the user's crontab."""
    from warehouse.run.cron import install_crontab

    click.echo(install_crontab(state.cfg))


# --- config -----------------------------------------------------------------------------


@cli.group()
def config() -> None:
    """Configuration."""


@config.command("check")
@pass_state
def config_check(state: _State) -> None:
    """Validate the configuration, report every problem, print the active values."""
    from warehouse.config import describe
    from warehouse.configcheck import check, warnings

    cfg = check(state.config_file, root=state.root)
    click.echo(describe(cfg))
    for warning in warnings(cfg):
        click.echo(f"warning: {warning}", err=True)
    hc = cfg.hive
    if hc is not None and hc.views:
        from warehouse.hive.userviews import load_views, ordered

        views = ordered(load_views(hc.views))
        click.echo(f"# views in {hc.views}, in the order hive apply creates them: "
                   + (", ".join(v.name for v in views) or "none"))
    if hc is not None and hc.reports:
        from warehouse.hive.reports import load_reports

        reports = load_reports(hc.reports)
        click.echo(f"# reports in {hc.reports}: " + (", ".join(r.table for r in reports) or "none"))
    click.echo(f"config check: ok ({cfg.path or 'embedded defaults'})")


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=argv, prog_name="warehouse")


if __name__ == "__main__":  # pragma: no cover
    main()
