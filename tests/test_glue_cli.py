"""`[glue]` through the CLI: after parse, aggregate, import and `hive apply`, the Glue
catalog (moto's server, real boto3 over HTTP) lists exactly the tables and partitions the
root holds, with Athena-readable SerDes and types; a second `hive apply` changes nothing;
a partition still being written is not listed; no HiveServer2 is needed.
"""

from __future__ import annotations

import gzip
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

from tests.test_athena_types import ATHENA_SERDES, is_athena_type
from tests.test_mysql_import import INCREMENTAL, PASSWORD, USER, _insert, make_inc_db
from tests.test_pipeline import write_config
from warehouse.cli import cli
from warehouse.resources import resource_dir

SAMPLE = resource_dir("conf") / "sample"


def _glue(endpoint: str) -> Any:
    return boto3.client("glue", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def _catalog(endpoint: str, database: str) -> dict[str, dict[str, Any]]:
    api = _glue(endpoint)
    tables = {}
    for page in api.get_paginator("get_tables").paginate(DatabaseName=database):
        for t in page["TableList"]:
            parts = [p for pg in api.get_paginator("get_partitions").paginate(
                DatabaseName=database, TableName=t["Name"]) for p in pg["Partitions"]]
            tables[t["Name"]] = {"table": t, "partitions": {tuple(p["Values"]): p for p in parts}}
    return tables


def _root_partitions(root: Path, location: str, key: str) -> set[tuple[str, ...]]:
    folder = root / location
    return {
        (d.name.split("=", 1)[1],)
        for d in folder.glob(f"{key}=*")
        if any(not f.name.startswith(("_", ".")) for f in d.iterdir())
    }


def _run(config: Path, *args: str) -> Any:
    result = CliRunner().invoke(cli, ["--config", str(config), *args])
    assert result.exit_code == 0, (args, result.output)
    return result


@pytest.mark.mysql
def test_glue_catalog_holds_what_the_root_holds(tmp_path: Path, moto_server: str, sshd,
                                                 mariadb) -> None:
    db = make_inc_db(mariadb)
    _insert(mariadb, db, "items", [{"id": 1, "name": "one", "modified": "2024-01-01 00:00:00"},
                                   {"id": 2, "name": "two", "modified": "2024-01-02 00:00:00"}])
    _insert(mariadb, db, "plain", [{"id": 1, "v": 10}])
    password = tmp_path / "db.pass"
    password.write_text(PASSWORD)
    root = tmp_path / "root"
    database = f"wh_{uuid.uuid4().hex[:10]}"
    config = write_config(tmp_path / "warehouse.toml", {
        "warehouse": {"root": str(root)},
        "logs": {"patterns": str(SAMPLE / "urls.json")},
        "aggregate": {"runner": "inline", "jobs": ["daily_actions"]},
        "glue": {"database": database, "endpoint_url": moto_server},
        "ssh": {"bastion": sshd.ssh_section()},
        "mysql": {"src": mariadb.mysql_section([db], USER, str(password), tunnel="bastion",
                                               tables=["items", "plain"],
                                               incremental=INCREMENTAL)},
    })

    parsed = _run(config, "parse", str(SAMPLE / "access-combined-10k.log.gz"),
                  "--source-name", "sample", "--register")
    assert "Glue database" in parsed.output
    _run(config, "aggregate", "daily_actions", "--date", "2015-05-18", "--register")
    _run(config, "import")
    _insert(mariadb, db, "items", [{"id": 3, "name": "three", "modified": "2024-01-05 00:00:00"}])
    _run(config, "import")  # a second load of the lastmodified table
    # a partition still being written: only a temporary name in it
    writing = root / "events" / "dt=2099-01-01"
    writing.mkdir()
    (writing / "_tmp.part.json.gz").write_bytes(b"")

    applied = _run(config, "hive", "apply")
    assert "Glue database" in applied.output and "0 changed" in applied.output
    assert "not made" in applied.output and "items_latest" in applied.output  # no [hive]
    # the views Glue cannot hold: their Athena SQL, printed before the summary line
    items = f"mysql_src_{db}_items"
    athena = [x for x in applied.output.splitlines() if x.startswith("CREATE OR REPLACE VIEW")]
    assert athena and athena[0].startswith(
        f'CREATE OR REPLACE VIEW "{database}"."{items}_latest" AS SELECT ')
    assert f'FROM "{database}"."{items}")' in athena[0] and "`" not in athena[0]
    assert athena[0].endswith(";") and applied.output.splitlines()[-1].startswith("hive apply")

    # `hive ls` without HiveServer2: every table, its location and partition count
    listed = _run(config, "hive", "ls").output.splitlines()
    assert listed[-1].startswith("hive ls: ") and f"Glue database {database}" in listed[-1]
    events = next(x for x in listed if x.startswith("events "))
    assert f"{root.as_uri()}/events" in events and events.endswith(" partitions")
    one = _run(config, "hive", "ls", "events").output.splitlines()
    assert one[0] == f"table events at {root.as_uri()}/events"
    assert "  ts string" in one and "  dt string  (partition key)" in one
    dts = sorted(p.name for p in (root / "events").glob("dt=*") if p.name != "dt=2099-01-01")
    assert [x.strip() for x in one[one.index(next(x for x in one if x.startswith("partitions ("))) + 1:-1]] == dts
    missing = CliRunner().invoke(cli, ["--config", str(config), "hive", "ls", "nope"])
    assert missing.exit_code == 2 and "table nope is not in Glue database" in missing.output

    catalog = _catalog(moto_server, database)
    imported = {f"mysql_src_{db}_items", f"mysql_src_{db}_plain"}
    own = {"events", "access_raw", "agg_daily_actions"}
    assert own | imported <= set(catalog)
    assert set(catalog) - own - imported <= {f"mysql_src_{db}_items_deletes"}
    assert set(catalog["events"]["partitions"]) == _root_partitions(root, "events", "dt")
    assert ("2099-01-01",) not in catalog["events"]["partitions"]
    assert set(catalog["agg_daily_actions"]["partitions"]) == _root_partitions(
        root, "aggregates/daily_actions", "dt")
    for name in imported:
        loads = _root_partitions(root, f"mysql/src/{db}/{name.rsplit('_', 1)[1]}", "load")
        assert set(catalog[name]["partitions"]) == loads, name
    assert len(catalog[f"mysql_src_{db}_items"]["partitions"]) == 2

    for name, got in catalog.items():
        sd = got["table"]["StorageDescriptor"]
        serde = sd["SerdeInfo"]["SerializationLibrary"]
        assert serde in ATHENA_SERDES, (name, serde)
        cols = [*sd["Columns"], *got["table"].get("PartitionKeys", [])]
        assert all(is_athena_type(c["Type"]) for c in cols), (name, cols)
        assert got["table"]["Parameters"]["warehouse.spec"]
        for values, part in got["partitions"].items():
            assert part["StorageDescriptor"]["Location"].startswith(sd["Location"] + "/"), values

    again = _run(config, "hive", "apply")
    assert "0 created" in again.output and "0 changed" in again.output, again.output
    assert _catalog(moto_server, database).keys() == catalog.keys()
    assert {k: set(v["partitions"]) for k, v in _catalog(moto_server, database).items()} == {
        k: set(v["partitions"]) for k, v in catalog.items()}


def test_glue_partitions_and_projection_without_hive(tmp_path: Path, moto_server: str) -> None:
    root = tmp_path / "root"
    database = f"wh_{uuid.uuid4().hex[:10]}"
    config = write_config(tmp_path / "warehouse.toml", {
        "warehouse": {"root": str(root)},
        "logs": {"patterns": str(SAMPLE / "urls.json")},
        "glue": {"database": database, "endpoint_url": moto_server, "projection": True,
                 "projection_start": "2015-01-01"},
    })
    _run(config, "parse", str(SAMPLE / "access-combined-10k.log.gz"), "--source-name", "s")
    first = _run(config, "hive", "partitions", "-t", "events", "--all")
    assert "partitions in the root" in first.output
    second = _run(config, "hive", "partitions", "-t", "events", "--all")
    assert " 0 added" in second.output, second.output
    table = _glue(moto_server).get_table(DatabaseName=database, Name="events")["Table"]
    assert table["Parameters"]["projection.dt.range"] == "2015-01-01,NOW"
    assert table["Parameters"]["storage.location.template"].endswith("/events/dt=${dt}")
    unknown = CliRunner().invoke(cli, ["--config", str(config), "hive", "partitions", "-t",
                                       "someone_elses", "--all"])
    assert unknown.exit_code == 2 and "not one of the warehouse's tables" in unknown.output


def test_with_glue_and_hive_tables_go_to_glue_and_only_views_to_hive(
    tmp_path: Path, moto_server: str
) -> None:
    """EMR's Hive on the Glue metastore: Glue writes tables and partitions, HiveServer2
    only the views. A HiveServer2 that is down is not needed until a view is."""
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    root = tmp_path / "root"
    database = f"wh_{uuid.uuid4().hex[:10]}"
    sections: dict[str, dict[str, Any]] = {
        "warehouse": {"root": str(root)},
        "logs": {"patterns": str(SAMPLE / "urls.json")},
        "glue": {"database": database, "endpoint_url": moto_server},
        "hive": {"host": "127.0.0.1", "port": dead, "database": database,
                 "timeout_seconds": 2},
    }
    config = write_config(tmp_path / "warehouse.toml", sections)
    _run(config, "parse", str(SAMPLE / "access-combined-10k.log.gz"), "--source-name", "s",
         "--register")
    applied = _run(config, "hive", "apply")
    assert "views via HiveServer2" in applied.output
    assert {"events", "access_raw"} <= set(_catalog(moto_server, database))

    views = tmp_path / "views"
    views.mkdir()
    (views / "v.hql").write_text("CREATE OR REPLACE VIEW v AS SELECT slug FROM events")
    sections["hive"]["views"] = str(views)
    config = write_config(tmp_path / "warehouse.toml", sections)
    down = CliRunner().invoke(cli, ["--config", str(config), "hive", "apply"])
    assert down.exit_code == 3 and f"127.0.0.1:{dead}" in down.output, down.output


def test_hive_and_glue_databases_must_match(tmp_path: Path) -> None:
    config = write_config(tmp_path / "warehouse.toml", {"glue": {"database": "wh"}, "hive": {"database": "other"}})
    result = CliRunner().invoke(cli, ["--config", str(config), "config", "check"])
    assert result.exit_code == 2 and "[glue] database 'wh' differ" in result.output


def test_apply_on_a_new_catalog_registers_access_raw_days_read_in_place(
    tmp_path: Path, moto_server: str
) -> None:
    """With a per-day `[logs] input` folder, `run` registers each day's folder as an
    access_raw partition; `hive apply` on a new catalog registers them again, for the dates
    the root has events for (nothing under ROOT/raw/), and a second apply adds nothing."""
    logs = tmp_path / "logs"
    day_lines: dict[str, list[str]] = {}
    with gzip.open(SAMPLE / "access-combined-10k.log.gz", "rt", encoding="latin-1") as f:
        for line in f:
            day = line.split("[", 1)[1][:11]  # 17/May/2015
            day_lines.setdefault(day, []).append(line)
    wanted = {"17/May/2015": "2015-05-17", "18/May/2015": "2015-05-18"}
    for stamp, iso in wanted.items():
        (logs / iso).mkdir(parents=True)
        (logs / iso / "access.log").write_text("".join(day_lines[stamp]), encoding="latin-1")
    (logs / "2015-05-19").mkdir()  # a day folder without a log and without events
    root = tmp_path / "root"
    database = f"wh_{uuid.uuid4().hex[:10]}"
    config = write_config(tmp_path / "warehouse.toml", {
        "warehouse": {"root": str(root)},
        "logs": {"input": str(logs) + "/{date:%Y-%m-%d}/", "patterns": str(SAMPLE / "urls.json")},
        "glue": {"database": database, "endpoint_url": moto_server},
    })
    for day in wanted.values():
        _run(config, "parse", str(logs / day))
    assert not (root / "raw").exists()

    first = _run(config, "hive", "apply")
    raw = _catalog(moto_server, database)["access_raw"]["partitions"]
    assert sorted(raw) == [("2015-05-17",), ("2015-05-18",)], first.output
    for (day,), part in raw.items():
        assert part["StorageDescriptor"]["Location"].rstrip("/") == (logs / day).as_uri()
    again = _run(config, "hive", "apply")
    assert "0 added" in again.output, again.output
