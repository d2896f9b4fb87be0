"""`warehouse emr deploy|create|run|status|terminate`: the toolkit on EMR from one config."""

from __future__ import annotations

import datetime as dt
import sys
from typing import NoReturn

import click

from warehouse.cli.common import State, cli, date_options, date_range, pass_state
from warehouse.errors import EXIT_INTERRUPTED


def _progress(line: str) -> None:
    """Draw a progress line on stderr: redrawn in place on a terminal, else one per change."""
    if sys.stderr.isatty():
        click.echo(f"\r\033[K{line}", err=True, nl=False)
    else:
        click.echo(line, err=True)


def _end_progress() -> None:
    if sys.stderr.isatty():
        click.echo("", err=True)


def _interrupted(what: str) -> NoReturn:
    """Ctrl-C during --wait: stop waiting (exit 130); the cluster and its steps go on."""
    _end_progress()
    click.echo(f"interrupted: stopped waiting; {what} goes on (`warehouse emr status`)", err=True)
    sys.exit(EXIT_INTERRUPTED)


@cli.group()
def emr() -> None:
    """Deploy to S3, launch EMR clusters, run the nightly run as a step."""


@emr.command("deploy")
@click.option("--wheel", metavar="PATH", help="this toolkit's wheel (default: built from the source)")
@pass_state
def emr_deploy(state: State, wheel: str | None) -> None:
    """Upload the wheel, bootstrap scripts, config (with the files it names) and secrets to
    [emr] artifacts_uri, content-addressed: what is there already is not uploaded again.

    \b
    Examples:
      warehouse --config warehouse.toml emr deploy
      warehouse --config warehouse.toml emr deploy --wheel dist/warehouse-0.9.0-py3-none-any.whl
    """
    from warehouse.emr import deploy

    result = deploy(state.cfg, wheel=wheel)
    for uri in result.uploaded:
        click.echo(f"uploaded       {uri}")
    for uri in result.present:
        click.echo(f"already there  {uri}")
    click.echo(result.line())


@emr.command("create")
@click.option("--transient", is_flag=True, help="no crontab on the master: steps come from `emr run`; "
              "[emr] idle_timeout_seconds ends it")
@click.option("--wait", is_flag=True, help="wait until the cluster is WAITING")
@pass_state
def emr_create(state: State, transient: bool, wait: bool) -> None:
    """Launch a cluster with the deployed toolkit and config; print its id.

    \b
    Examples:
      warehouse --config warehouse.toml emr create --wait
      warehouse --config warehouse.toml emr create --transient
    """
    from warehouse.emr import create_cluster, wait_cluster

    cfg = state.cfg
    cid, new = create_cluster(cfg, transient=transient)
    click.echo(cid)
    if not new:
        click.echo(f"emr create: {cid} of this config is up already (terminate it to replace it)")
        return
    if wait:
        try:
            final = wait_cluster(cfg, cid, progress=_progress)
        except KeyboardInterrupt:
            _interrupted(f"cluster {cid}")
        finally:
            _end_progress()
        click.echo(f"emr create: {cid} {final}")
    else:
        click.echo(f"emr create: {cid} starting; `warehouse emr status` shows its state")


@emr.command("run")
@date_options
@click.option("--cluster", "cluster_id", metavar="ID", help="the cluster (default: [emr] cluster_id, "
              "else the one running cluster of this config)")
@click.option("--transient", is_flag=True, help="launch a cluster that runs this and terminates")
@click.option("--wait", is_flag=True, help="follow the step; exit with the run's exit code")
@pass_state
def emr_run(state: State, date: dt.date | None, start: dt.date | None, end: dt.date | None,
            cluster_id: str | None, transient: bool, wait: bool) -> None:
    """Run `warehouse run` on EMR as a command-runner step.

    \b
    Examples:
      warehouse --config warehouse.toml emr run --date yesterday --wait
      warehouse --config warehouse.toml emr run --date 2026-11-28 --transient --wait
    """
    from warehouse.emr import add_run_step, create_cluster, first_step, pick_cluster, wait_step

    dates = date_range(date, start, end)
    if transient and cluster_id:
        raise click.UsageError("give --cluster or --transient, not both")
    cfg = state.cfg
    if transient:
        cid, _ = create_cluster(cfg, transient=True, dates=dates)
        step_id = first_step(cfg, cid)
        click.echo(f"emr run: transient cluster {cid}, step {step_id}")
    else:
        cid = pick_cluster(cfg, cluster_id)
        step_id = add_run_step(cfg, cid, dates)
        click.echo(f"emr run: step {step_id} on {cid}")
    if not wait:
        return
    try:
        outcome = wait_step(cfg, cid, step_id, progress=_progress)
    except KeyboardInterrupt:
        _interrupted(f"step {step_id} on {cid}")
    finally:
        _end_progress()
    for line in outcome.stderr_tail:
        click.echo(f"  {line}", err=True)
    click.echo(outcome.line())
    if outcome.exit_code:
        sys.exit(outcome.exit_code)


@emr.command("status")
@pass_state
def emr_status(state: State) -> None:
    """Show the clusters this config launched (the last 7 days), their state and last steps.

    \b
    Example:
      warehouse --config warehouse.toml emr status
    """
    from warehouse.emr import launched_clusters
    from warehouse.emr.clusters import ENDED

    clusters = launched_clusters(state.cfg)
    for c in clusters:
        click.echo(f"{c.id}  {c.state:<22} {c.mode or '-':<12} {c.created}  {c.name}")
        for sid, name, st in c.steps:
            click.echo(f"    {sid}  {st:<11} {name}")
    active = sum(c.state not in ENDED for c in clusters)
    click.echo(f"emr status: {len(clusters)} clusters of {state.cfg.emr.artifacts_uri}, {active} active")


@emr.command("terminate")
@click.option("--cluster", "cluster_id", metavar="ID", help="the cluster (default: [emr] cluster_id, "
              "else the one running cluster of this config)")
@pass_state
def emr_terminate(state: State, cluster_id: str | None) -> None:
    """Terminate a cluster (nothing to do when it has ended already).

    \b
    Examples:
      warehouse --config warehouse.toml emr terminate
      warehouse --config warehouse.toml emr terminate --cluster j-2AXXXXXXGAPLF
    """
    from warehouse.emr import pick_cluster, terminate
    from warehouse.emr.clusters import ENDED

    cid = pick_cluster(state.cfg, cluster_id)
    before = terminate(state.cfg, cid)
    verb = "was already" if before in ENDED else "terminating; it was"
    click.echo(f"emr terminate: {cid} {verb} {before}")
