"""Setting up: `config check`, `cron show|install` and `urls dump`."""

from __future__ import annotations

import click

from warehouse.cli.common import State, cli, finish, pass_state
from warehouse.urls.dump import DEFAULT_CYCLE_DEPTH


@cli.group()
def config() -> None:
    """Configuration."""


@config.command("check")
@click.option("--probe", is_flag=True,
              help="also reach every configured endpoint with the real credentials")
@pass_state
def config_check(state: State, probe: bool) -> None:
    """Validate the configuration, report every problem, print the active values (in TOML,
    each with its source: file, environment or default). With --probe, reach the root,
    each bastion, MySQL source (SELECT on every table to import), the catalog and EMR,
    one line each.

    \b
    Examples:
      warehouse config check
      warehouse --config /etc/warehouse/warehouse.toml config check --probe
    """
    from warehouse.config import describe, value_sources
    from warehouse.configcheck import check, warnings

    cfg = check(state.config_file, root=state.root)
    click.echo(describe(cfg, value_sources(state.config_file, root=state.root)))
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
    if probe:
        from warehouse.probe import probe_all

        finish(probe_all(cfg, echo=click.echo))


@cli.group()
def cron() -> None:
    """The nightly crontab on the EMR master."""


@cron.command("show")
@pass_state
def cron_show(state: State) -> None:
    """Print the crontab block for review.

    \b
    Example:
      warehouse --config ~/warehouse/warehouse.toml cron show
    """
    from warehouse.run.cron import password_env_warnings, render_crontab

    click.echo(render_crontab(state.cfg), nl=False)
    for warning in password_env_warnings(state.cfg):
        click.echo(f"warning: {warning}", err=True)


@cron.command("install")
@pass_state
def cron_install(state: State) -> None:
    """Install (or replace) the marked block in the user's crontab.

    \b
    Example:
      warehouse --config ~/warehouse/warehouse.toml cron install && crontab -l
    """
    from warehouse.run.cron import install_crontab, password_env_warnings

    click.echo(install_crontab(state.cfg))
    for warning in password_env_warnings(state.cfg):
        click.echo(f"warning: {warning}", err=True)


@cli.group()
def urls() -> None:
    """Django URL patterns."""


@urls.command("dump")
@click.option("--urlconf", required=True, metavar="MODULE", help="ROOT_URLCONF module, e.g. mysite.urls")
@click.option("--settings", metavar="MODULE", help="Django settings module of a real project")
@click.option("--pythonpath", "pythonpath", multiple=True, metavar="DIR", help="folder to put on sys.path")
@click.option("-o", "--output", metavar="FILE", help="write here instead of stdout")
@click.option(
    "--cycle-depth", type=click.IntRange(min=1), default=DEFAULT_CYCLE_DEPTH, show_default=True, metavar="N",
    help="a URLconf that includes itself is followed while it is on an include chain at most N times",
)  # fmt: skip
def urls_dump(
    urlconf: str, settings: str | None, pythonpath: tuple[str, ...], output: str | None, cycle_depth: int
) -> None:
    """Write the URL patterns of a Django project as JSON, in resolution order.

    \b
    Examples:
      warehouse urls dump --urlconf mysite.urls --pythonpath /srv/mysite -o conf/urls.json
      warehouse urls dump --urlconf mysite.urls --settings mysite.settings \\
          --pythonpath /srv/mysite -o conf/urls.json
    """
    from warehouse.events.patterns import write_patterns
    from warehouse.urls.dump import dump_patterns

    patterns = dump_patterns(
        urlconf, settings=settings, pythonpath=list(pythonpath), cycle_depth=cycle_depth
    )
    write_patterns(patterns, output)
    click.echo(f"urls dump: {len(patterns)} patterns from {urlconf} -> {output or 'stdout'}", err=True)
