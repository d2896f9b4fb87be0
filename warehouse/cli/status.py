"""Operations: `warehouse status` (what the nightly runs did, from the run records)."""

from __future__ import annotations

import datetime as dt
import json

import click

from warehouse.cli.common import State, cli, date_options, date_range, pass_state
from warehouse.run.status import DateStatus, StageStatus, StatusReport


@cli.command()
@click.option("--last", type=click.IntRange(min=1), metavar="N",
              help="the last N dates that have run records (default 7)")
@date_options
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
@pass_state
def status(
    state: State, last: int | None, date: dt.date | None, start: dt.date | None,
    end: dt.date | None, as_json: bool,
) -> None:
    """What the last runs did, per date and stage (failures first), and what the next
    run will redo; read from ROOT/_state/runs/.

    \b
    Examples:
      warehouse status
      warehouse status --from 2026-12-01 --to 2026-12-05 --json
    """
    from warehouse.run.status import run_status
    from warehouse.storage import store_for_config

    if last is not None and (date or start or end):
        raise click.UsageError("give --last N, --date D or --from D --to D, not several")
    dates = date_range(date, start, end) if (date or start or end) else None
    cfg = state.cfg
    report = run_status(cfg, store_for_config(cfg), dates=dates, last=last or 7)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=1))
        return
    for text in render(report):
        click.echo(text)
    click.echo(report.line())


def render(report: StatusReport) -> list[str]:
    """Return the report's lines: a heading per date, one line per stage."""
    out: list[str] = []
    for day in report.dates:
        out.append(_heading(day))
        for st in day.stages:
            out.extend(_stage_lines(st))
    return out


def _heading(day: DateStatus) -> str:
    if day.exit_code:
        from warehouse.errors import EXIT_CLASSES

        code = day.exit_code
        return f"{day.date}  FAILED (exit {code}: {EXIT_CLASSES.get(code, '?')})"
    if day.failing:
        return f"{day.date}  DAMAGED (a run record cannot be read)"
    if all(s.outcome in ("ok", "skipped") for s in day.stages):
        return f"{day.date}  ok"
    return f"{day.date}  incomplete"


def _stage_lines(st: StageStatus) -> list[str]:
    bits = [f"  {st.stage:<9} {st.outcome:<8}"]
    if st.exit_code:
        bits.append(f"exit {st.exit_code} ({st.exit_class})")
    if st.seconds is not None:
        bits.append(_duration(st.seconds))
    if st.counts:
        bits.append(", ".join(f"{v:,} {k}" for k, v in st.counts.items()))
    if st.error:
        bits.append(st.error if st.outcome != "failed" else f"error: {st.error}")
    lines = ["  ".join(bits).rstrip()]
    if st.next_run:
        lines.append(f"  {'':<9} next run: {st.next_run}")
    return lines


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"
