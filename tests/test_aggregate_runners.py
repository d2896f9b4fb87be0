"""`warehouse aggregate` end to end: local and spark runners against brute force, the CLI,
re-runs that replace partitions, failures that write nothing, and an S3 warehouse root."""

from __future__ import annotations

import datetime as dt
import gzip
import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.test_aggregate_corpus import (
    BRUTE,
    START,
    assert_same,
    make_corpus,
    read_output,
    read_partition_lines,
    valid_events,
)
from warehouse.aggregate import run_aggregate
from warehouse.cli import cli
from warehouse.config import config_from_dict
from warehouse.schema import JOBS

DAYS = 3
DATES = [START + dt.timedelta(days=i) for i in range(DAYS)]


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    root = tmp_path_factory.mktemp("small")
    make_corpus(root, 4000, DAYS, seed=3)
    good, _ = valid_events(read_partition_lines(root, [d.isoformat() for d in DATES]))
    return root, good


def _fresh_root(src: Path, dest: Path) -> Path:
    """Copy only the events of a corpus, so each runner writes its own aggregates."""
    for path in (src / "events").rglob("*.json.gz"):
        target = dest / path.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    return dest


def _check(root: Path, good: list[dict[str, Any]], job: str) -> None:
    got = read_output(root, job)
    assert set(got) == {d.isoformat() for d in DATES}
    assert_same([r for recs in got.values() for r in recs], BRUTE[job](good))


@pytest.mark.parametrize("job", sorted(JOBS))
def test_local_runner_matches_brute_force(small: Any, tmp_path: Path, job: str) -> None:
    root = _fresh_root(small[0], tmp_path)
    cfg = config_from_dict({"warehouse": {"root": str(root)}})
    summary = run_aggregate(cfg, job, DATES, runner="local")
    assert summary.exit_code == 0, summary.line()
    assert summary.events == 4000 and sum(summary.malformed.values()) > 0
    _check(root, small[1], job)


def test_local_tasks_without_the_toolkit_import_the_schema_from_the_zip(
    small: Any, tmp_path: Path
) -> None:
    # tasks whose Python has mrjob and orjson but no `warehouse` package (python_bin set in
    # mrjob.conf): jobs/_common.py finds warehouse.schema in the --py-files zip
    deps = tmp_path / "deps"
    deps.mkdir()
    for name in ("mrjob", "orjson", "yaml"):
        mod = importlib.import_module(name)
        src = Path(mod.__file__ or "").parent
        (deps / src.name).symlink_to(src)
    repo = Path(__file__).resolve().parents[1]
    seen = tmp_path / "task-pythonpath"
    python = tmp_path / "python-without-toolkit"
    python.write_text(
        "#!/bin/sh\n"
        "# no site-packages (-S), no checkout on the path: only the task's zips and deps\n"
        f"PYTHONPATH=$(printf %s \"$PYTHONPATH\" | tr : '\\n' | grep -vx '{repo}' | paste -sd:)"
        f":{deps}\n"
        f"export PYTHONPATH\nprintf '%s\\n' \"$PYTHONPATH\" >> {seen}\n"
        f'exec {sys.executable} -S "$@"\n'
    )
    python.chmod(0o755)
    conf = tmp_path / "mrjob.conf"
    conf.write_text(f"runners:\n  local:\n    python_bin: {python}\n")
    root = _fresh_root(small[0], tmp_path / "root")
    cfg = config_from_dict(
        {"warehouse": {"root": str(root)}, "aggregate": {"mrjob_conf": str(conf)}}
    )
    summary = run_aggregate(cfg, "top_params", DATES, runner="local")
    assert summary.exit_code == 0, summary.line()
    _check(root, small[1], "top_params")
    # the tasks ran there, and that Python finds no `warehouse` but the zip's
    paths = seen.read_text().split()
    assert paths
    for path in paths:
        plain = ":".join(p for p in path.split(":") if not p.endswith(".zip"))
        out = subprocess.run(
            [sys.executable, "-S", "-c", "import importlib.util as u; print(u.find_spec('warehouse'))"],
            env={"PYTHONPATH": plain}, cwd=tmp_path, capture_output=True, text=True, check=True,
        )
        assert out.stdout.strip() == "None"


@pytest.mark.spark
@pytest.mark.parametrize("job", sorted(JOBS))
def test_spark_runner_matches_brute_force(
    small: Any, tmp_path: Path, job: str, spark_runner_args: list[str]
) -> None:
    root = _fresh_root(small[0], tmp_path)
    cfg = config_from_dict({"warehouse": {"root": str(root)}})
    summary = run_aggregate(cfg, job, DATES, runner="spark", extra_args=spark_runner_args)
    assert summary.exit_code == 0, summary.line()
    assert summary.events == 4000 and sum(summary.malformed.values()) > 0
    _check(root, small[1], job)


def test_cli_aggregate_prints_a_summary_and_exits_0(small: Any, tmp_path: Path) -> None:
    root = _fresh_root(small[0], tmp_path)
    result = CliRunner().invoke(
        cli,
        ["--root", str(root), "aggregate", "top_params", "--from", str(DATES[0]),
         "--to", str(DATES[-1]), "-r", "inline"],
    )
    assert result.exit_code == 0, result.output
    line = result.output.strip().splitlines()[-1]
    assert line.startswith(f"aggregate top_params [inline] {DATES[0]}..{DATES[-1]}: 3 partitions")
    assert "4,000 events from" in line and "malformed skipped" in line
    _check(root, small[1], "top_params")


def test_cli_aggregate_without_a_job_runs_every_configured_job(small: Any, tmp_path: Path) -> None:
    root = _fresh_root(small[0], tmp_path)
    conf = tmp_path / "w.toml"
    conf.write_text(
        f'[warehouse]\nroot = "{root}"\n'
        '[aggregate]\nrunner = "inline"\njobs = ["daily_actions", "top_params"]\n',
        encoding="utf-8",
    )
    span = ["--from", str(DATES[0]), "--to", str(DATES[-1])]
    result = CliRunner().invoke(cli, ["--config", str(conf), "aggregate", *span])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert [ln.split(" [")[0] for ln in lines[:-1]] == ["aggregate daily_actions", "aggregate top_params"]
    assert lines[-1].startswith("aggregate: 2 jobs, 2 ok in ")  # the total, last
    _check(root, small[1], "daily_actions")
    _check(root, small[1], "top_params")
    # named jobs run in the order given, each once; one failing job sets the exit code
    result = CliRunner().invoke(
        cli, ["--config", str(conf), "aggregate", "sessions", "top_params", "sessions",
              "--date", "2001-01-01"],
    )  # fmt: skip
    assert result.exit_code == 4, result.output
    lines = result.output.strip().splitlines()
    assert [ln.split(" [")[0] for ln in lines[:-1]] == ["aggregate sessions", "aggregate top_params"]
    assert lines[-1].startswith("aggregate: 2 jobs, 0 ok, 2 failed (exit 4) in ")
    unknown = CliRunner().invoke(cli, ["--config", str(conf), "aggregate", "sessions", "weekly"])
    assert unknown.exit_code == 2 and "unknown job 'weekly'" in unknown.output
    assert "aggregate sessions [" not in unknown.output  # nothing ran


def test_cli_exit_codes_for_missing_input_and_unknown_job(tmp_path: Path) -> None:
    (tmp_path / "events").mkdir()
    missing = CliRunner().invoke(
        cli, ["--root", str(tmp_path), "aggregate", "daily_actions", "--date", "2024-01-01", "-r", "inline"]
    )
    assert missing.exit_code == 4
    assert "no event partitions" in missing.output and "warehouse parse" in missing.output
    unknown = CliRunner().invoke(
        cli, ["--root", str(tmp_path), "aggregate", "weekly", "--date", "2024-01-01", "-r", "inline"]
    )
    assert unknown.exit_code == 2 and "unknown job 'weekly'" in unknown.output
    assert not (tmp_path / "aggregates").exists()


def test_rerun_replaces_the_partition_and_removes_stale_parts(small: Any, tmp_path: Path) -> None:
    root = _fresh_root(small[0], tmp_path)
    cfg = config_from_dict({"warehouse": {"root": str(root)}})
    part = root / "aggregates" / "daily_actions" / f"dt={DATES[1]}"
    part.mkdir(parents=True)
    (part / "part-00007.json.gz").write_bytes(gzip.compress(b'{"dt": "stale"}\n'))
    (part / "_tmp.part-00000.json.gz").write_bytes(b"left by a crash")
    first = run_aggregate(cfg, "daily_actions", [DATES[1]], runner="inline")
    before = gzip.decompress((part / "part-00000.json.gz").read_bytes())
    second = run_aggregate(cfg, "daily_actions", [DATES[1]], runner="inline")
    assert first.partitions == second.partitions == {DATES[1].isoformat()}
    assert sorted(p.name for p in part.iterdir()) == ["part-00000.json.gz"]
    assert gzip.decompress((part / "part-00000.json.gz").read_bytes()) == before
    assert not (root / "aggregates" / "daily_actions" / f"dt={DATES[0]}").exists()


def test_partial_dates_run_and_report_the_missing_ones(small: Any, tmp_path: Path) -> None:
    root = _fresh_root(small[0], tmp_path)
    cfg = config_from_dict({"warehouse": {"root": str(root)}})
    later = DATES[-1] + dt.timedelta(days=5)
    summary = run_aggregate(cfg, "daily_actions", [DATES[0], later], runner="inline")
    assert summary.exit_code == 0
    assert summary.partitions == {DATES[0].isoformat()}
    assert f"no input for {later}" in summary.line()


def test_corrupt_input_fails_the_job_and_writes_nothing(small: Any, tmp_path: Path) -> None:
    root = _fresh_root(small[0], tmp_path)
    cfg = config_from_dict({"warehouse": {"root": str(root)}})
    run_aggregate(cfg, "daily_actions", [DATES[0]], runner="inline")
    out = root / "aggregates" / "daily_actions" / f"dt={DATES[0]}" / "part-00000.json.gz"
    before = out.read_bytes()
    victim = next((root / "events" / f"dt={DATES[0]}").glob("*.json.gz"))
    data = bytearray(victim.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = b"\xff" * 64  # a corrupted block
    victim.write_bytes(bytes(data))
    summary = run_aggregate(cfg, "daily_actions", [DATES[0]], runner="inline")
    assert summary.exit_code == 5
    assert f"events part {victim} is corrupt" in summary.line()
    assert out.read_bytes() == before


@pytest.mark.parametrize("runner", ["inline", "local"])
def test_truncated_or_concatenated_events_fail_instead_of_counting_a_part(
    small: Any, tmp_path: Path, runner: str
) -> None:
    """mrjob's inline and local runners read a truncated .gz up to where it breaks, and
    only the first member of concatenated gzip files, without an error: an aggregate of
    such a part counted some of its events with exit 0, over the good partition."""
    root = _fresh_root(small[0], tmp_path)
    good = small[1]
    conf = tmp_path / "w.toml"
    conf.write_text(f'[warehouse]\nroot = "{root}"\n')
    args = ["--config", str(conf), "aggregate", "daily_actions", "-r", runner,
            "--date", str(DATES[0])]  # fmt: skip
    assert CliRunner().invoke(cli, args).exit_code == 0
    out = root / "aggregates" / "daily_actions" / f"dt={DATES[0]}" / "part-00000.json.gz"
    before = out.read_bytes()
    victim = next((root / "events" / f"dt={DATES[0]}").glob("*.json.gz"))
    whole = victim.read_bytes()
    lines = gzip.decompress(whole).splitlines(keepends=True)
    half = len(lines) // 2
    damaged = {
        "is truncated": whole[: len(whole) // 2],
        "holds several gzip members": gzip.compress(b"".join(lines[:half]))
        + gzip.compress(b"".join(lines[half:])),
    }
    for why, data in damaged.items():
        victim.write_bytes(data)
        r = CliRunner().invoke(cli, args)
        assert r.exit_code == 5, r.output
        assert f"events part {victim} {why}" in r.output and "nothing written" in r.output
        assert out.read_bytes() == before
    # recompressed whole, it is read whole (zero padding after the end is accepted)
    victim.write_bytes(gzip.compress(b"".join(lines)) + b"\0" * 512)
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    want = [x for x in BRUTE["daily_actions"](good) if x["dt"] == DATES[0].isoformat()]
    assert_same(read_output(root, "daily_actions")[DATES[0].isoformat()], want)


def test_s3_root_inline(small: Any, moto_server: str, s3_client: Any, s3_bucket: str) -> None:
    src, good = small
    for path in (src / "events").rglob("*.json.gz"):
        key = "wh/" + str(path.relative_to(src))
        s3_client.put_object(Bucket=s3_bucket, Key=key, Body=path.read_bytes())
    cfg = config_from_dict(
        {"warehouse": {"root": f"s3://{s3_bucket}/wh"}, "s3": {"endpoint_url": moto_server}}
    )
    summary = run_aggregate(cfg, "sessions", DATES, runner="inline")
    assert summary.exit_code == 0, summary.line()
    assert summary.output == f"s3://{s3_bucket}/wh/aggregates/sessions/"
    records = []
    for day in DATES:
        keys = [o["Key"] for o in s3_client.list_objects_v2(
            Bucket=s3_bucket, Prefix=f"wh/aggregates/sessions/dt={day}/")["Contents"]]
        assert keys == [f"wh/aggregates/sessions/dt={day}/part-00000.json.gz"]
        body = s3_client.get_object(Bucket=s3_bucket, Key=keys[0])["Body"].read()
        records += [json.loads(line) for line in gzip.decompress(body).splitlines()]
    assert_same(records, BRUTE["sessions"](good))


def test_cli_aggregate_prints_every_job_when_one_job_raises(small: Any, tmp_path: Path) -> None:
    """A WarehouseError of one job (here its --register: HiveServer2 refuses connections)
    hid the lines of the jobs before it and stopped the later ones: every job's line is
    printed, the failure in one line, then the total; the exit code is the combined one."""
    from tests.fixtures._util import free_port

    root = _fresh_root(small[0], tmp_path)
    port = free_port()  # nothing listens there
    conf = tmp_path / "w.toml"
    conf.write_text(
        f'[warehouse]\nroot = "{root}"\n[aggregate]\nrunner = "inline"\n'
        f'[hive]\nhost = "127.0.0.1"\nport = {port}\ndialect = "spark"\n',
        encoding="utf-8",
    )
    args = ["--config", str(conf), "aggregate", "daily_actions", "top_params", "sessions",
            "--from", str(DATES[0]), "--to", str(DATES[-1]), "--register"]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 3, result.output
    lines = result.output.strip().splitlines()
    for job in ("daily_actions", "top_params", "sessions"):
        assert any(ln.startswith(f"aggregate {job} [inline] ") and ": 3 partitions" in ln
                   for ln in lines), result.output  # fmt: skip
        _check(root, small[1], job)  # every job ran
    failed = [ln for ln in lines if "agg_daily_actions" in ln]
    assert len(failed) == 1 and f"127.0.0.1:{port}" in failed[0], result.output
    assert sum("not tried again" in ln for ln in lines) == 2, result.output
    assert lines[-1].startswith("aggregate: 3 jobs, 3 ok; 3 not registered (exit 3)"), result.output
    assert "Traceback" not in result.output
