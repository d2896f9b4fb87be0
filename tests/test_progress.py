"""Progress: the callback `parse_logs` reports to, and the CLI drawing it on a terminal."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests._tty import run_cli
from tests.fixtures._util import shared_path
from warehouse.config import config_from_dict
from warehouse.events.parse import parse_logs
from warehouse.progress import ProgressEvent

LOG = shared_path("data", "apache-combined-10k.log")


def _parse(root: Path, **kwargs: object) -> list[ProgressEvent]:
    events: list[ProgressEvent] = []
    cfg = config_from_dict({"warehouse": {"root": str(root)}})
    summary = parse_logs(cfg, [LOG], progress=events.append, **kwargs)  # type: ignore[arg-type]
    assert summary.lines == 10_000
    return events


def test_parse_reports_every_byte_and_line_of_a_real_log(tmp_path: Path) -> None:
    events = _parse(tmp_path / "root")
    size = os.path.getsize(LOG)
    assert {e.label for e in events} == {"parse"} and {e.unit for e in events} == {"bytes"}
    assert events[0].total == size and events[0].advance == 0
    assert sum(e.advance for e in events) == size
    assert sum(e.lines for e in events) == 10_000
    assert events[-1].final and not any(e.final for e in events[:-1])
    assert len(events) < 20  # per block of about 1 MiB, never per line


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_worker_processes_report_through_the_parent(tmp_path: Path, method: str) -> None:
    """--workers N: the tasks of worker processes reach the callback as they finish."""
    size = os.path.getsize(LOG)
    events = _parse(tmp_path / "root", workers=2, range_bytes=-(-size // 4), start_method=method)
    assert len([e for e in events if e.advance]) == 4  # one per range, as each finishes
    assert sum(e.advance for e in events) == size
    assert sum(e.lines for e in events) == 10_000
    assert events[0].total == size and events[-1].final


def test_cli_draws_progress_only_on_a_terminal(tmp_path: Path) -> None:
    rc, out, err = run_cli(["--root", str(tmp_path / "a"), "parse", LOG], tty=True)
    assert rc == 0, err
    assert out.startswith("parse: 10000 lines from 1 inputs")  # the summary stays on stdout
    assert "\r" in err and "parse  [" in err and "100%" in err and "10,000 lines" in err
    assert "parse:" not in err
    rc, out, err = run_cli(["--root", str(tmp_path / "b"), "parse", LOG], tty=False)
    assert rc == 0, err
    assert out.startswith("parse: 10000 lines from 1 inputs")
    assert err == ""


def test_cli_status_line_when_the_total_is_unknown(tmp_path: Path) -> None:
    """A gzip input has no known text size: a status line instead of a bar."""
    import gzip

    gz = tmp_path / "access.log.gz"
    gz.write_bytes(gzip.compress(Path(LOG).read_bytes()))
    rc, out, err = run_cli(["--root", str(tmp_path / "a"), "parse", str(gz)], tty=True)
    assert rc == 0, err
    assert out.startswith("parse: 10000 lines from 1 inputs")
    last = err.replace("\r\n", "\n").split("\r")[-1]
    assert last.startswith("parse: ") and "10,000 lines" in last and last.endswith("\n")
    assert "[" not in err and "%" not in err
