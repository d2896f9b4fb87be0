"""What every command shares: the `warehouse` group and its global options (also accepted
after the subcommand), logging, the `Day` type and date options, and the exit path
(`finish`; a WarehouseError becomes one line on stderr and its exit code)."""

from __future__ import annotations

import datetime as dt
import inspect
import logging
import signal
import sys
from collections.abc import Callable
from typing import IO, Any

import click

from warehouse.config import CONFIG_ENV, ROOT_ENV, Config, apply_secret_environment, load_config
from warehouse.errors import (
    EXIT_INTERRUPTED,
    Summary,
    Terminated,
    WarehouseError,
    combined_exit_code,
    interrupted_by,
)

log = logging.getLogger("warehouse")


class State:
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
            apply_secret_environment(self._cfg.emr.environment)  # password_env on the master
            log.info("config: %s; root: %s", self._cfg.path or "(embedded defaults)", self._cfg.root)
        return self._cfg


pass_state = click.make_pass_decorator(State)


def setup_logging(verbose: int) -> None:
    """Log to stderr at WARNING, INFO (-v) or DEBUG (-vv); passwords and keys masked."""
    from warehouse.cli.draw import ConsoleHandler

    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = ConsoleHandler()  # log records never land on a progress line
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])
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


class _UsageError(click.UsageError):
    """A mistake on the command line as click shows it (the usage line, `Try ... for help.`,
    exit 2), with the prefix of every other error: `error: MESSAGE`, not click's `Error:`."""

    def __init__(self, err: click.UsageError) -> None:
        super().__init__(err.format_message(), err.ctx)  # BadParameter's text names the option

    def show(self, file: IO[Any] | None = None) -> None:
        ctx = self.ctx
        color = ctx.color if ctx is not None else None
        if ctx is not None:
            hint = ""
            if ctx.command.get_help_option(ctx) is not None:
                longest = max(ctx.command.get_help_option_names(ctx), key=len)
                hint = f"Try '{ctx.command_path} {longest}' for help.\n"
            click.echo(f"{ctx.get_usage()}\n{hint}", file=file, err=True, color=color)
        click.echo(f"error: {self.format_message()}", file=file, err=True, color=color)


def _usage_error(err: click.UsageError) -> click.UsageError:
    """Return `err` as a _UsageError; one shown another way (help for a bare group) as is."""
    if isinstance(err, _UsageError) or type(err).show is not click.UsageError.show:
        return err
    return _UsageError(err)


def _late_global(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """Apply a global option given after the subcommand (`parse LOG --root DIR`)."""
    if value is None or value == 0:
        return
    state = ctx.find_object(State)
    if state is None:  # pragma: no cover - the group always sets it
        return
    if param.name == "verbose":
        state.verbose += int(value)
        setup_logging(state.verbose)
    else:
        setattr(state, str(param.name), value)


class _Command(click.Command):
    """A subcommand that also accepts the global --config, --root and -v after its name, and
    whose docstring's `Examples:` paragraph is shown last, after the options (epilog)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        text = inspect.cleandoc(self.help or "")
        at = text.find("\b\nExample")
        if at > 0 and self.epilog is None:
            # what follows \f is for readers of the code, as in click's help
            self.help, self.epilog = text[:at].rstrip(), text[at:].partition("\f")[0].rstrip()
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
    """Click group that turns library errors into exit codes and shows usage mistakes with
    the same `error:` prefix (also under CliRunner)."""

    command_class = _Command
    group_class = type  # subgroups are _Groups too

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:  # the group's own options (the subcommands' are parsed within invoke)
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as err:
            raise _usage_error(err) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as err:
            raise _usage_error(err) from None
        except WarehouseError as err:
            log.debug("failed", exc_info=True)
            raise _CliError(err) from None
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (Terminated, see `main`)
            # Not click's "Aborted!" and exit 1 (the code of a bug): what finished is kept,
            # temporary files are removed by the next run.
            click.echo(f"\nerror: interrupted ({interrupted_by(exc)}); what finished is kept, "
                       "the next run redoes the rest", err=True)  # fmt: skip
            sys.exit(EXIT_INTERRUPTED)


def finish(summary: Summary) -> None:
    """Print a summary's line (stdout) and exit with its code."""
    click.echo(summary.line())
    if summary.exit_code:
        sys.exit(summary.exit_code)


def report_registered(cfg: Config, summary: Summary, table: str, partitions: set[str]) -> int:
    """Print the stage's line, then register `partitions` of `table` in Hive (--register)
    and print that line; return the worse of the two codes (2, 3, 4 win over 5), so a
    refused CREATE or ADD PARTITION is not exit 0."""
    click.echo(summary.line())
    codes = [summary.exit_code]
    if partitions:
        from warehouse.hive import register_partitions

        registered = register_partitions(cfg, table, sorted(partitions))
        click.echo(registered.line())
        codes.append(registered.exit_code)
    return combined_exit_code(codes)


def finish_registered(cfg: Config, summary: Summary, table: str, partitions: set[str]) -> None:
    """`report_registered`, then exit with its code."""
    code = report_registered(cfg, summary, table, partitions)
    if code:
        sys.exit(code)


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


def date_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--to", "end", type=DAY, metavar="D", help="last date of a range (inclusive)")(f)
    f = click.option("--from", "start", type=DAY, metavar="D", help="first date of a range")(f)
    f = click.option("--date", type=DAY, metavar="D", help="one UTC date: YYYY-MM-DD, today, yesterday")(f)
    return f


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
# the variables are read by warehouse.config alone (also for callers without the CLI);
# --help names them as click's envvar= would
@click.option(
    "--config", "config_file", metavar="FILE",
    help=f"TOML config (else ./warehouse.toml); also after the command  [env var: {CONFIG_ENV}]",
)
@click.option(
    "--root", metavar="ROOT",
    help="warehouse root: a directory or s3://bucket/prefix; also after the command  "
    f"[env var: {ROOT_ENV}]",
)
@click.option("-v", "--verbose", count=True, help="more logging on stderr (-vv for debug)")
@click.version_option(package_name="warehouse")
@click.pass_context
def cli(ctx: click.Context, config_file: str | None, root: str | None, verbose: int) -> None:
    """Build and feed a Hive warehouse: logs to behaviour, aggregates, MySQL imports."""
    setup_logging(verbose)
    ctx.obj = State(config_file, root, verbose)


def _on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM (kill PID, cron, systemd, timeout) stops the command as Ctrl-C does: the
    first raises Terminated (a KeyboardInterrupt) in the main thread; a later one, while
    the command stops, is ignored (its clean-up is not cut short)."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Terminated


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        cli.main(args=argv, prog_name="warehouse")
    except SystemExit as exc:
        if exc.code == EXIT_INTERRUPTED:
            # a second Ctrl-C (or SIGTERM) while the interpreter shuts down must not turn
            # exit 130 (the summary printed) into a death by a signal
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise

