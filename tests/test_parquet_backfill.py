"""Turning `[events] parquet` on over a root aggregated without it: `warehouse events compact
--all` backfills the events' and the aggregates' Parquet copies (the aggregates' written
from their JSON parts, byte for byte what the publish writes), a kill -9 half-way and a
re-run completes it, a second re-run is a no-op; the nightly run fills the copies of the
dates it looks at; `hive apply` switches agg_<job> to Parquet without --replace."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.test_aggregate_corpus import make_corpus
from tests.test_aggregate_parquet import DAYS, _aggregate, _config, _duck, _fetch, _json_records
from warehouse.cli import cli
from warehouse.schema import JOBS


def _compact_all(config: Path, *extra: str) -> str:
    res = CliRunner().invoke(cli, ["--config", str(config), "events", "compact", "--all", *extra])
    assert res.exit_code == 0, res.output
    return res.output


def _copies(root: Path) -> list[Path]:
    return sorted((root / "aggregates_parquet").rglob("part-00000.parquet"))


def test_backfill_equals_the_publish_and_reruns_are_no_ops(tmp_path: Path) -> None:
    root, twin = tmp_path / "root", tmp_path / "twin"
    make_corpus(root, 3000, 3, seed=21)
    shutil.copytree(root / "events", twin / "events")
    _aggregate(_config(tmp_path, root, False))  # months of nights with the setting off
    _aggregate(_config(tmp_path, twin, True))  # what the publish writes with it on
    assert not (root / "aggregates_parquet").exists()
    on = _config(tmp_path, root, True)
    out = _compact_all(on)
    n = len(JOBS) * len(DAYS)
    assert out.startswith("events compact: 3 dates (3 written, 0 unchanged"), out
    assert f"aggregate copies: {n} partitions ({n} written from their JSON part, 0 present" in out
    for job in JOBS:
        assert _duck(root, job)[0] == _json_records(root, job), job
    # byte for byte the copies `warehouse aggregate` publishes with the setting on
    for copy, other in zip(_copies(root), _copies(twin), strict=True):
        assert copy.relative_to(root) == other.relative_to(twin)
        assert copy.read_bytes() == other.read_bytes(), copy
    before = {p: p.stat().st_mtime_ns for p in _copies(root)}
    again = _compact_all(on)
    assert again.startswith("events compact: 3 dates (0 written, 3 unchanged"), again
    assert f"(0 written from their JSON part, {n} present; 3 jobs)" in again, again
    assert {p: p.stat().st_mtime_ns for p in _copies(root)} == before
    # a lost copy is written again, alone
    _copies(root)[0].unlink()
    assert f"(1 written from their JSON part, {n - 1} present" in _compact_all(on)


def test_backfill_survives_kill_9(tmp_path: Path) -> None:
    """A backfill killed (SIGKILL) while it writes its fifth copy: the four written stay, the
    fifth is no copy a reader takes, and the re-run writes the rest."""
    root = tmp_path / "root"
    make_corpus(root, 1500, 3, seed=22)
    _aggregate(_config(tmp_path, root, False))
    on = _config(tmp_path, root, True)
    # the real command, in its own process, killed by the kernel half-way through a write
    child = (
        "import os, signal, sys\n"
        "import warehouse.aggregate.backfill as b\n"
        "real, calls = b.publish_copy, []\n"
        "def publish(store, job, day, records):\n"
        "    calls.append(day)\n"
        "    if len(calls) == 5:\n"
        "        with store.open_write(f'aggregates_parquet/{job}/dt={day}/part-00000.parquet') as out:\n"
        "            out.write(b'PAR1' + b'x' * 1000)\n"
        "            os.kill(os.getpid(), signal.SIGKILL)\n"
        "    return real(store, job, day, records)\n"
        "b.publish_copy = publish\n"
        "from warehouse.cli import main\n"
        "main(sys.argv[1:])\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", child, "--config", str(on), "events", "compact", "--all"],
        capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHONPATH": os.getcwd()},
    )  # fmt: skip
    assert proc.returncode == -9, (proc.returncode, proc.stdout, proc.stderr)
    assert len(_copies(root)) == 4
    n = len(JOBS) * len(DAYS)
    out = _compact_all(on)  # the run lock died with the process
    assert f"({n - 4} written from their JSON part, 4 present" in out, out
    for job in JOBS:
        assert _duck(root, job)[0] == _json_records(root, job), job
    leftovers = [p for p in (root / "aggregates_parquet").rglob("*") if p.is_file()]
    assert sorted(leftovers) == _copies(root), leftovers
    assert f"(0 written from their JSON part, {n} present" in _compact_all(on)


def test_backfill_on_s3(tmp_path: Path, moto_server: str, s3_client: Any, s3_bucket: str) -> None:
    local = tmp_path / "local"
    make_corpus(local, 600, 3, seed=23)
    _aggregate(_config(tmp_path, local, False))
    prefix = f"wh-{uuid.uuid4().hex[:8]}"
    for path in sorted(local.rglob("*.json.gz")):
        key = f"{prefix}/{path.relative_to(local).as_posix()}"
        s3_client.put_object(Bucket=s3_bucket, Key=key, Body=path.read_bytes())
    on = _config(tmp_path, Path("unused"), True, s3={"endpoint_url": moto_server})
    on.write_text(on.read_text().replace('root = "unused"', f'root = "s3://{s3_bucket}/{prefix}"'))
    n = len(JOBS) * len(DAYS)
    assert f"({n} written from their JSON part, 0 present" in _compact_all(on)
    assert f"(0 written from their JSON part, {n} present" in _compact_all(on)
    got = tmp_path / "got"
    listing = s3_client.list_objects_v2(Bucket=s3_bucket, Prefix=f"{prefix}/aggregates_parquet/")
    for obj in listing["Contents"]:
        dest = got / obj["Key"][len(prefix) + 1 :]
        dest.parent.mkdir(parents=True, exist_ok=True)
        s3_client.download_file(s3_bucket, obj["Key"], str(dest))
    for job in JOBS:
        assert _duck(got, job)[0] == _json_records(local, job), job


@pytest.mark.hive
def test_backfill_then_hive_apply_switches_agg_tables(tmp_path: Path, hive_server: Any) -> None:
    """agg_<job> made over JSON, the setting turned on, the backfill, then `hive apply`
    without --replace: the table is re-created STORED AS PARQUET and reads every date."""
    root = tmp_path / "root"
    make_corpus(root, 1500, 3, seed=24)
    db = f"pqbf_{uuid.uuid4().hex[:8]}"
    off = _config(tmp_path, root, False, hive=hive_server.hive_dict(db))
    _aggregate(off, "--register")
    on = _config(tmp_path, root, True, hive=hive_server.hive_dict(db))
    _compact_all(on)
    res = CliRunner().invoke(cli, ["--config", str(on), "hive", "apply"])
    assert res.exit_code == 0, res.output
    assert "storage follows [events] parquet" in res.output, res.output
    for job, spec in JOBS.items():
        table = f"agg_{job}"
        text = " ".join(str(v) for r in _fetch(hive_server, db, f"DESCRIBE FORMATTED {table}") for v in r)
        assert "parquet" in text.lower(), table
        cols = ", ".join(
            f"to_json({c.name})" if c.hive.startswith("ARRAY") else c.name for c in spec.columns
        )
        got = _norm(_fetch(hive_server, db, f"SELECT {cols} FROM {table}"))
        assert got == _norm(_json_records(root, job)) and got, table
    # and back: the setting off, `hive apply` makes the JSON tables again by itself
    res = CliRunner().invoke(cli, ["--config", str(off), "hive", "apply"])
    assert res.exit_code == 0 and "storage follows [events] parquet" in res.output, res.output
    got = _fetch(hive_server, db, "SELECT dt, slug, hits FROM agg_daily_actions")
    assert len(got) == len(_json_records(root, "daily_actions"))
    # on again, the backfill's own --register switches the tables (as the nightly run's
    # registration does), with every date's partition
    out = _compact_all(on, "--register", "--force")
    assert "json -> parquet: storage follows [events] parquet" in out, out
    text = " ".join(str(v) for r in _fetch(hive_server, db, "DESCRIBE FORMATTED agg_sessions") for v in r)
    assert "parquet" in text.lower()
    got = _fetch(hive_server, db, "SELECT dt, count(*) FROM agg_top_params GROUP BY dt")
    assert sorted(got) == sorted(
        (str(d), sum(r[0] == str(d) for r in _json_records(root, "top_params"))) for d in DAYS
    )


def _norm(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows as Spark's to_json and the JSON parts both say them: arrays parsed, a struct's
    null fields left out (to_json omits them), whole doubles as integers; sorted."""
    import json

    def one(v: Any) -> Any:
        if isinstance(v, str) and v.startswith("["):
            v = json.loads(v)
        if isinstance(v, list):
            return [{k: one(x) for k, x in d.items() if x is not None} for d in v]
        if isinstance(v, float) and v.is_integer():
            return int(v)
        return v

    return sorted((tuple(one(v) for v in r) for r in rows), key=repr)


def test_nightly_run_after_turning_it_on_fills_missing_copies(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Nights with the setting off, then on: the next `run` over those dates writes the
    aggregates' copies from their JSON parts (no job runs again) and compacts the events;
    the run after that has nothing left to do."""
    from tests.test_pipeline import DAY1, DAY2, base_config, write_config, write_day_logs

    write_day_logs(tmp_path / "logs", [DAY1, DAY2])
    data = base_config(tmp_path)
    data["aggregate"]["jobs"] = list(JOBS)
    root = tmp_path / "root"

    def run(parquet: bool) -> str:
        data["events"] = {"parquet": parquet}
        config = write_config(tmp_path / f"w-{parquet}.toml", data)
        res = CliRunner().invoke(
            cli, ["--config", str(config), "-v", "run", "--from", str(DAY1), "--to", str(DAY2)]
        )
        assert res.exit_code == 0, res.output
        return res.output

    run(False)
    assert not (root / "aggregates_parquet").exists()
    parts = {p: p.stat().st_mtime_ns for p in (root / "aggregates").rglob("*.json.gz")}
    def status(parquet: bool) -> str:
        config = write_config(tmp_path / f"w-{parquet}.toml", {**data, "events": {"parquet": parquet}})
        res = CliRunner().invoke(cli, ["--config", str(config), "status", "--from", str(DAY1),
                                       "--to", str(DAY2)])  # fmt: skip
        assert res.exit_code == 0, res.output
        return res.output

    assert "Parquet" not in status(False)
    lag = status(True)  # turned on: status tells, and what the next run does about it
    assert "have no Parquet copy ([events] parquet))" in lag, lag
    assert "; Parquet copies behind the JSON for 3 dates (2015-05-17..2015-05-19; " in lag, lag
    assert "daily_actions, events, sessions, top_params): warehouse events compact --all" in lag
    caplog.set_level("INFO", logger="warehouse")
    out = run(True)
    log = caplog.text
    assert "have no Parquet copy ([events] parquet): running it again" in log, log
    assert "resuming; done before: daily_actions, sessions, top_params" in log, log
    assert f"aggregate sessions: Parquet copy of {DAY1 - dt.timedelta(days=1)}" in log, log
    assert "aggregate 2 ok" in out and "parquet 2 ok" in out, out
    # the JSON parts stay as they were: the jobs did not run again
    assert {p: p.stat().st_mtime_ns for p in (root / "aggregates").rglob("*.json.gz")} == parts
    for job in JOBS:
        assert _duck(root, job)[0] == _json_records(root, job), job
    assert sorted((root / "events_parquet").glob("dt=*")), "the events' copies"
    before = {p: p.stat().st_mtime_ns for p in _copies(root)}
    caplog.clear()
    again = run(True)
    assert "have no Parquet copy" not in caplog.text
    assert "aggregate 2 complete" in again and "parquet 2 complete" in again, again
    assert {p: p.stat().st_mtime_ns for p in _copies(root)} == before
    assert "Parquet" not in status(True)


@pytest.mark.parametrize("how", ["hive apply", "compact --register"])
def test_glue_agg_tables_follow_the_setting_without_replace(
    tmp_path: Path, moto_server: str, how: str
) -> None:
    """Glue (moto): agg_<job> made over the JSON parts; the setting on, the backfill, then
    `hive apply` (or the backfill's own --register) re-creates each table over its Parquet
    copies with every date, no --replace; turned off again, back to JSON the same way."""
    from tests.test_glue_cli import _catalog
    from warehouse.hive.glue_input import PARQUET_SERDE

    root = tmp_path / "root"
    make_corpus(root, 600, 3, seed=25)
    database = f"wh_{uuid.uuid4().hex[:10]}"
    glue = {"glue": {"database": database, "endpoint_url": moto_server}}
    off, on = _config(tmp_path, root, False, **glue), _config(tmp_path, root, True, **glue)
    _aggregate(off, "--register")
    if how == "hive apply":
        _compact_all(on)
        res = CliRunner().invoke(cli, ["--config", str(on), "hive", "apply"])
        out = res.output
    else:
        out = _compact_all(on, "--register")
        res = None
    assert res is None or res.exit_code == 0, out
    assert "json -> parquet: storage follows [events] parquet" in out, out
    catalog = _catalog(moto_server, database)
    for job in JOBS:
        entry = catalog[f"agg_{job}"]
        sd = entry["table"]["StorageDescriptor"]
        assert sd["SerdeInfo"]["SerializationLibrary"] == PARQUET_SERDE, job
        assert sorted(entry["partitions"]) == [(str(d),) for d in DAYS], job
        for part in entry["partitions"].values():
            assert "/aggregates_parquet/" in part["StorageDescriptor"]["Location"]
    res = CliRunner().invoke(cli, ["--config", str(off), "hive", "apply"])
    assert res.exit_code == 0 and "parquet -> json: storage follows" in res.output, res.output
    entry = _catalog(moto_server, database)["agg_daily_actions"]
    assert entry["table"]["StorageDescriptor"]["Location"].rstrip("/").endswith("/aggregates/daily_actions")
    assert sorted(entry["partitions"]) == [(str(d),) for d in DAYS]
