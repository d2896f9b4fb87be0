"""Operating the catalog on HiveServer2 (Spark's Thrift server), through the CLI: `hive ls`
lists what a night registered, `config check --probe` lists the database, and `hive
apply` refuses a root that is not the one the tables are over (exit 2) unless --replace."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.test_pipeline import DAY1, base_config, write_config, write_day_logs
from warehouse.cli import cli


def _cli(conf: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, ["--config", str(conf), *args])


@pytest.mark.hive
def test_hive_ls_probe_and_a_foreign_root(tmp_path: Path, hive_server: Any) -> None:
    write_day_logs(tmp_path / "logs", [DAY1])
    database = f"ops_{uuid.uuid4().hex[:8]}"
    data = base_config(tmp_path, hive=hive_server.hive_dict(database))
    data["aggregate"]["jobs"] = ["daily_actions"]
    conf = write_config(tmp_path / "w.toml", data)
    r = _cli(conf, "run", "--date", str(DAY1))
    assert r.exit_code == 0 and "events ok" in r.output, r.output
    root = tmp_path / "root"

    r = _cli(conf, "hive", "ls")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[-1] == f"hive ls: 3 tables, 0 views in database {database} at 127.0.0.1:{hive_server.port} (spark)"
    rows = {x.split()[0]: x for x in lines[:-1]}
    assert set(rows) == {"events", "access_raw", "agg_daily_actions"}
    assert rows["events"].endswith("2 partitions") and "/events" in rows["events"]
    r = _cli(conf, "hive", "ls", "events")
    assert r.exit_code == 0, r.output
    one = r.output.splitlines()
    assert one[0].startswith("table events at file:") and one[0].endswith("/events")
    assert "  dt string  (partition key)" in one
    assert one[one.index("partitions (2):") + 1:-1] == ["  dt=2015-05-17", "  dt=2015-05-18"]
    assert _cli(conf, "hive", "ls", "nope").exit_code == 2

    r = _cli(conf, "config", "check", "--probe")
    assert r.exit_code == 0, r.output
    assert f"ok    hive: HiveServer2 127.0.0.1:{hive_server.port} (spark): database {database} lists 3 tables" in r.output

    other = tmp_path / "other"
    r = _cli(conf, "--root", str(other), "hive", "apply")
    assert r.exit_code == 2, r.output
    assert f"the root {other.as_uri()} is not the catalog's" in r.output
    assert f"table events is at file:{root}/events" in r.output.replace("file:///", "file:/")
    assert not other.exists()
    r = _cli(conf, "--root", str(other), "hive", "apply", "--replace")  # moved on purpose
    assert r.exit_code == 0, r.output
    r = _cli(conf, "hive", "ls", "events")
    assert r.output.splitlines()[0] == f"table events at {other.as_uri()}/events".replace("file:///", "file:/")
