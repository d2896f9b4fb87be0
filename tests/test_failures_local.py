"""Local faults through the CLI: a full disk, kill -9 leftovers, two aggregates at once.

The full disk is a real small tmpfs mounted over the warehouse root (needs root, as the
CI container runs); nothing is simulated inside the code under test.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures._util import service_missing
from tests.test_pipeline import DAY1, base_config, write_config, write_day_logs

WAREHOUSE_BIN = str(Path(sys.executable).parent / "warehouse")
BOUND = 120.0


def _warehouse(conf: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [WAREHOUSE_BIN, "--config", str(conf), *args],
        capture_output=True, text=True, timeout=BOUND, env={**os.environ, **(env or {})},
    )


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """Yield a folder on its own 2 MiB tmpfs (unmounted afterwards)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(mount)],
        capture_output=True, text=True,
    )
    if done.returncode != 0:
        service_missing(f"a small tmpfs (mount: {done.stderr.strip()})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(folder: Path) -> Path:
    """Fill the file system of `folder` to the last byte; return the filler file."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as f:
        for size in (65536, 4096, 1):  # down to the last byte
            try:
                while True:
                    f.write(b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
    return filler


def _tmp_leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.startswith("_tmp.")]


def _setup_day(tmp_path: Path, root: Path) -> Path:
    write_day_logs(tmp_path / "logs", [DAY1])
    data = base_config(tmp_path)
    data["warehouse"] = {"root": str(root)}
    conf = write_config(tmp_path / "w.toml", data)
    parsed = _warehouse(conf, "run", "--date", str(DAY1), "--only", "parse")
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr
    return conf


def test_full_disk_in_aggregate_is_one_line_exit_3_and_leaves_nothing(
    tmp_path: Path, small_disk: Path
) -> None:
    root = small_disk / "root"
    conf = _setup_day(tmp_path, root)
    filler = _fill(small_disk)
    proc = _warehouse(conf, "aggregate", "daily_actions", "--date", str(DAY1), "-r", "inline")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    line = proc.stdout.strip()
    assert "\n" not in line and "FAILED (exit 3)" in line and "No space left on device" in line
    assert "aggregates/daily_actions/dt=2015-05-18/part-00000.json.gz" in line
    assert _tmp_leftovers(root) == []
    filler.unlink()
    again = _warehouse(conf, "aggregate", "daily_actions", "--date", str(DAY1), "-r", "inline")
    assert again.returncode == 0, again.stdout + again.stderr


def test_full_disk_in_run_ends_with_the_run_summary(tmp_path: Path, small_disk: Path) -> None:
    root = small_disk / "root"
    conf = _setup_day(tmp_path, root)
    filler = _fill(small_disk)
    log = tmp_path / "nightly.log"
    with open(log, "w") as out:  # as cron writes it: stdout and stderr in one file
        proc = subprocess.run(
            [WAREHOUSE_BIN, "--config", str(conf), "-v", "run", "--date", str(DAY1), "--force"],
            stdout=out, stderr=subprocess.STDOUT, timeout=BOUND,
        )
    text = log.read_text()
    assert proc.returncode == 3, text
    assert "Traceback" not in text
    last = text.strip().splitlines()[-1]
    assert last.startswith("run 2015-05-18: parse failed (exit 3)"), last
    assert "No space left on device" in last
    assert _tmp_leftovers(root) == []
    filler.unlink()
    again = _warehouse(conf, "run", "--date", str(DAY1))
    assert again.returncode == 0, again.stdout + again.stderr


# --- leftovers of a killed aggregate ------------------------------------------------------


def _s3_day(tmp_path: Path, moto_server: str, bucket: str) -> Path:
    write_day_logs(tmp_path / "logs", [DAY1])
    data = base_config(tmp_path, runner="local")
    data["warehouse"] = {"root": f"s3://{bucket}/wh"}
    data["s3"] = {"endpoint_url": moto_server, "region": "us-east-1"}
    conf = write_config(tmp_path / "w.toml", data)
    parsed = _warehouse(conf, "run", "--date", str(DAY1), "--only", "parse")
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr
    return conf


def _scratch(tmpdir: Path, job: str) -> list[Path]:
    return sorted(tmpdir.glob(f"warehouse-{job}-*"))


def test_a_killed_aggregate_leaves_scratch_that_the_next_run_removes(
    tmp_path: Path, moto_server: str, s3_bucket: str
) -> None:
    conf = _s3_day(tmp_path, moto_server, s3_bucket)
    tmpdir = tmp_path / "scratch"
    tmpdir.mkdir()
    env = {"TMPDIR": str(tmpdir)}
    argv = [WAREHOUSE_BIN, "--config", str(conf), "aggregate", "sessions", "--date", str(DAY1),
            "-r", "local"]
    proc = subprocess.Popen(argv, env={**os.environ, **env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + BOUND
    staged: list[Path] = []
    while time.monotonic() < deadline and proc.poll() is None:
        staged = [p for d in _scratch(tmpdir, "sessions") for p in (d / "input").glob("*")]
        if staged:  # the S3 events copied to scratch: the job is under way
            break
        time.sleep(0.05)
    assert staged, "the aggregate ended before it staged its inputs"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    (left,) = _scratch(tmpdir, "sessions")
    assert f"-{proc.pid}-" in left.name and any((left / "input").iterdir())
    # a concurrent run's scratch (its pid is alive) must survive the clean-up
    alive = subprocess.Popen(["sleep", "300"])
    try:
        busy = tmpdir / f"warehouse-sessions-{alive.pid}-busy0000"
        busy.mkdir()
        done = _warehouse(conf, "aggregate", "sessions", "--date", str(DAY1), "-r", "local", env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert not left.exists()
        assert _scratch(tmpdir, "sessions") == [busy]
    finally:
        alive.kill()
        alive.wait()


# --- two aggregates of one partition --------------------------------------------------------


def test_two_aggregates_of_one_partition_at_once(tmp_path: Path) -> None:
    root = tmp_path / "root"
    conf = _setup_day(tmp_path, root)
    argv = [WAREHOUSE_BIN, "--config", str(conf), "aggregate", "daily_actions", "--date",
            str(DAY1), "-r", "inline"]
    part = root / "aggregates/daily_actions/dt=2015-05-18"
    # a writer in progress (a live process) keeps its file; a dead writer's file goes
    alive = subprocess.Popen(["sleep", "300"])
    dead = subprocess.Popen(["true"])
    dead.wait()
    try:
        part.mkdir(parents=True)
        live_tmp = part / f"_tmp.part-00000.json.gz.{alive.pid}-{'a' * 12}"
        dead_tmp = part / f"_tmp.part-00000.json.gz.{dead.pid}-{'b' * 12}"
        live_tmp.write_bytes(b"in progress")
        dead_tmp.write_bytes(b"abandoned")
        first = _warehouse(conf, "aggregate", "daily_actions", "--date", str(DAY1), "-r", "inline")
        assert first.returncode == 0, first.stdout + first.stderr
        assert live_tmp.exists() and not dead_tmp.exists()
    finally:
        alive.kill()
        alive.wait()
    live_tmp.unlink()
    expected = (part / "part-00000.json.gz").read_bytes()
    for _ in range(3):  # really concurrent: both succeed, one part, nothing left over
        procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
        outs = [p.communicate(timeout=BOUND) for p in procs]
        for p, (out, err) in zip(procs, outs, strict=True):
            assert p.returncode == 0, out + err
            assert "Traceback" not in err
        assert sorted(x.name for x in part.iterdir()) == ["part-00000.json.gz"]
        assert (part / "part-00000.json.gz").read_bytes() == expected


# --- a full scratch disk ($TMPDIR) under an mrjob runner ------------------------------------


@pytest.mark.parametrize("command", ["aggregate", "aggregate-s3", "parse"])
def test_full_scratch_disk_under_a_runner_is_one_line_exit_3(
    tmp_path: Path, small_disk: Path, command: str, request: pytest.FixtureRequest
) -> None:
    if command == "aggregate-s3":  # the S3 events are copied to scratch first
        moto = request.getfixturevalue("moto_server")
        conf = _s3_day(tmp_path, moto, request.getfixturevalue("s3_bucket"))
    else:
        conf = _setup_day(tmp_path, tmp_path / "root")
    scratch = small_disk / "tmp"
    scratch.mkdir()
    filler = _fill(small_disk)
    # room for Python's probe of TMPDIR (a full one is passed over for /tmp) and the job's
    # start (the jobs' zip), not for the job's files (with S3 events, not for their copy)
    room = 64 if command == "aggregate-s3" else 256
    os.truncate(filler, filler.stat().st_size - room * 1024)
    env = {"TMPDIR": str(scratch)}
    if command.startswith("aggregate"):
        args = ["aggregate", "daily_actions", "--date", str(DAY1), "-r", "local"]
    else:
        args = ["parse", str(tmp_path / "logs"), "-r", "local", "--root", str(tmp_path / "root2")]
    proc = _warehouse(conf, *args, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 3, out
    assert "Traceback" not in out
    (line,) = [x for x in out.splitlines() if "No space left on device" in x]
    assert "cannot write " in line and "free space there or point TMPDIR elsewhere" in line, line
    if command == "aggregate-s3":
        assert f"(a copy of s3://{request.getfixturevalue('s3_bucket')}/wh/events/" in line, line
    assert list(scratch.iterdir()) == []  # the scratch folder went with the failed run
    filler.unlink()
    roomy = tmp_path / "roomy"  # the 2 MiB disk is too small for the job even empty
    roomy.mkdir()
    again = _warehouse(conf, *args, env={"TMPDIR": str(roomy)})
    assert again.returncode == 0, again.stdout + again.stderr
