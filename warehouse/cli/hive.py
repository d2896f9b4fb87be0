"""`warehouse hive`: apply the tables, register partitions, run a query, list the catalog."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from warehouse.cli.common import State, cli, date_options, date_range, finish, pass_state
from warehouse.errors import InputMissing


@cli.group()
def hive() -> None:
    """Hive tables over the warehouse."""


@hive.command("apply")
@click.option("--replace", is_flag=True, help="drop and re-create tables whose spec changed (files stay)")
@pass_state
def hive_apply(state: State, replace: bool) -> None:
    """Create every table the root holds (events, access_raw, agg_*, imported MySQL tables
    and their views) and register every partition (idempotent; changed specs are reported).

    \b
    Examples:
      warehouse hive apply                  # a new metastore or Glue catalog
      warehouse hive apply --replace        # after a changed table spec (files stay)
    """
    from warehouse.hive import apply
    from warehouse.mysql.hive_tables import imported_tables

    summary = apply(state.cfg, replace=replace, imported=imported_tables)
    if summary.athena_sql:
        click.echo("-- views a Glue-only catalog cannot hold: run these in Athena")
        for sql in summary.athena_sql:
            click.echo(sql + ";")
    finish(summary)


@hive.command("partitions")
@click.option("--table", "-t", required=True, metavar="T", help="events, access_raw, agg_JOB or mysql_...")
@date_options
@click.option("--all", "all_", is_flag=True, help="every partition found in the root")
@pass_state
def hive_partitions(
    state: State,
    table: str,
    date: dt.date | None,
    start: dt.date | None,
    end: dt.date | None,
    all_: bool,
) -> None:
    """Register partitions present in the root and missing from the metastore.

    \b
    Examples:
      warehouse hive partitions -t events --date 2026-11-28
      warehouse hive partitions -t agg_sessions --all
    """
    from warehouse.hive import register_partitions
    from warehouse.mysql.hive_tables import imported_tables

    if all_ and (date or start or end):
        raise click.UsageError("give --all or dates, not both")
    if not (all_ or date or start or end):
        raise click.UsageError("give --date D, --from D --to D, or --all")
    dates = None if all_ else date_range(date, start, end)
    finish(register_partitions(state.cfg, table, dates, imported=imported_tables))


@hive.command("query")
@click.argument("sql", required=False)
@click.option("-f", "--file", "file", metavar="FILE", help="run the statements of an .hql file")
@click.option("--format", "fmt", type=click.Choice(["table", "tsv", "json"]), default="table", show_default=True)
@pass_state
def hive_query(state: State, sql: str | None, file: str | None, fmt: str) -> None:
    """Run SQL (or a file of statements) and print the last result.

    \b
    Examples:
      warehouse hive query "SELECT slug, count(*) FROM events WHERE dt='2026-11-28' GROUP BY slug"
      warehouse hive query -f reports/weekly.hql --format tsv
    """
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


@hive.command("ls")
@click.argument("table", required=False)
@pass_state
def hive_ls(state: State, table: str | None) -> None:
    """List the catalog's tables (Glue with [glue], else HiveServer2): location and
    partition count each; with TABLE, its columns and partitions.

    \b
    Examples:
      warehouse hive ls
      warehouse hive ls events
    """
    from warehouse.hive.listing import list_catalog

    listing = list_catalog(state.cfg, table)
    if table is None:
        width = max([len(t.name) for t in listing.tables] or [0])
        for t in listing.tables:
            parts = "" if t.partitions is None else f"  {t.partitions} partitions"
            where = t.location or "(view)"
            click.echo(f"{t.name:<{width}}  {where}{parts}")
    else:
        t = listing.tables[0]
        click.echo(f"{t.kind} {t.name}" + (f" at {t.location}" if t.location else ""))
        for name, typ in t.columns:
            key = "  (partition key)" if name in t.partition_keys else ""
            click.echo(f"  {name} {typ}{key}")
        if t.partitions is not None:
            click.echo(f"partitions ({t.partitions}):")
            for value in t.partition_values:
                click.echo(f"  {value}")
    finish(listing)
