"""Ctrl-C: `warehouse run` interrupted by SIGINT to its process group (what a terminal
sends) ends within seconds with exit 130 and its summary line, leaves no lock and no
process behind, and the next run finishes the work."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fixtures._util import interrupt, interruptible
from tests.test_pipeline import DAY1, base_config, write_config, write_day_logs


def _wait_for(path: Path, status: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the run ended before it could be interrupted"
        try:
            if json.loads(path.read_text()).get("status") == status:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"{path} never said {status!r}")


@pytest.mark.parametrize("stage", ["parse", "aggregate"])
def test_ctrl_c_during_run_exits_130_with_its_summary(tmp_path: Path, stage: str) -> None:
    write_day_logs(tmp_path / "logs", [DAY1])
    folder = tmp_path / "logs" / DAY1.strftime("%Y/%m/%d")
    day = gzip.decompress((folder / "access.log.gz").read_bytes())
    with open(folder / "big.log", "wb") as f:  # long enough to be interrupted in its parse
        for _ in range(150):
            f.write(day)
    conf = write_config(tmp_path / "w.toml", base_config(tmp_path))
    argv = [sys.executable, "-m", "warehouse.cli", "--config", str(conf), "run", "--date", str(DAY1)]
    record = tmp_path / "root" / "_state" / "runs" / str(DAY1) / f"{stage}.json"
    with interruptible(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        _wait_for(record, "running", proc, 300)
        time.sleep(0.5)
        out, err, took = interrupt(proc)
    text = out.decode() + err.decode()
    assert proc.returncode == 130, text
    assert took < 10, took
    assert "Traceback" not in text and "Aborted!" not in text, text
    line = out.decode().strip().splitlines()[-1]
    assert line.startswith(f"run {DAY1}: ") and "INTERRUPTED (Ctrl-C)" in line and "exit 130" in line
    assert f"{stage} failed (exit 130)" in line, line
    if stage == "aggregate":  # what finished before it is in the summary
        assert "parse ok" in line, line
    # the stage's record says so (`status` shows it); the next run does it again
    rec = json.loads(record.read_text())
    assert (rec["status"], rec["exit_code"], rec["error"]) == ("failed", 130, "interrupted (Ctrl-C)")
    # nothing of its session is left running
    left = subprocess.run(["pgrep", "-s", str(proc.pid)], capture_output=True, text=True, check=False)
    assert left.stdout.strip() == "", left.stdout
    # the lock is free and the next run parses the day in full
    again = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"{stage} ok" in again.stdout, again.stdout  # the interrupted stage is redone
    staged = [p for p in (tmp_path / "root" / "_staging").rglob("*") if p.is_file()]
    assert staged == [], staged  # the interrupted parse's staged parts are gone
