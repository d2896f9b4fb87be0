"""A manual `warehouse parse DIR` after logrotate renamed a log it had parsed: the renamed
log has no parse state of its own, so parse reads it as a new input and its lines come a
second time (only `run` aliases renames, through its records). Parse says so, in one
warning line naming both files and what to do. Through the CLI, on a local root."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.test_pipeline import sample_lines
from warehouse.cli import cli


def _parse(root: Path, folder: Path) -> int:
    r = CliRunner().invoke(cli, ["--root", str(root), "parse", str(folder), "--format", "combined"])
    assert "Traceback" not in r.output, r.output
    return r.exit_code


@pytest.mark.parametrize("rotated", ["web.log.1", "web.log-20150518.gz", "web.log.2.gz"])
def test_parse_warns_of_a_renamed_log_it_parsed_before(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, rotated: str
) -> None:
    root, logs = tmp_path / "root", tmp_path / "logs"
    logs.mkdir()
    lines = sample_lines()
    first = "web.log.1" if rotated == "web.log.2.gz" else "web.log"  # rotated a second time
    (logs / first).write_bytes(b"".join(lines[:500]))
    (logs / "other.log").write_bytes(b"".join(lines[500:600]))
    assert _parse(root, logs) == 0
    # logrotate: the log renamed (and gzipped), a fresh one with new lines in its place
    data = (logs / first).read_bytes()
    (logs / first).unlink()
    (logs / rotated).write_bytes(gzip.compress(data) if rotated.endswith(".gz") else data)
    (logs / "web.log").write_bytes(b"".join(lines[1000:1100]))
    (logs / "new.log").write_bytes(b"".join(lines[2000:2100]))  # a new log: no warning
    caplog.clear()
    assert _parse(root, logs) in (0, 5)  # web.log begins with another line: held unless --replace
    warned = [m for m in caplog.messages if f"{logs / rotated} " in m]
    assert len(warned) == 1, caplog.messages
    assert f"{logs / first} " in warned[0] and "renamed" in warned[0], warned
    assert "counted twice" in warned[0] and "warehouse run" in warned[0], warned
    assert "\n" not in warned[0]
