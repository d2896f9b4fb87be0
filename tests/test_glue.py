"""The Glue catalog backend against moto's Glue server (real boto3 over HTTP).

What Glue stores must be what the HiveServer2 path's DDL says (same columns, SerDe,
location, partition keys and fingerprint), re-runs change nothing, a changed table is
reported unless replaced, and partitions go in batches of 100.
"""

from __future__ import annotations

import socket
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from warehouse.config import Config, config_from_dict
from warehouse.errors import SourceUnavailable
from warehouse.hive.ddl import SPEC_PROPERTY, render_table, statements_fingerprint
from warehouse.hive.glue import GlueCatalog
from warehouse.hive.glue_input import (
    JSON_SERDE,
    PARQUET_INPUT_FORMAT,
    PARQUET_SERDE,
    REGEX_SERDE,
    TEXT_SERDE,
    table_input,
)
from warehouse.hive.render import location_uri
from warehouse.hive.spec import Column, TableSpec
from warehouse.hive.tables import access_raw_spec, aggregate_spec, events_spec
from warehouse.mysql.hive_tables import table_spec
from warehouse.mysql.schema import SourceColumn

ROOT = "s3://acme-warehouse/prod"


def _cfg(endpoint: str, **glue: Any) -> Config:
    db = f"wh_{uuid.uuid4().hex[:10]}"
    return config_from_dict({"glue": {"database": db, "endpoint_url": endpoint, **glue}})


def _glue(endpoint: str) -> Any:
    return boto3.client("glue", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def _mysql_spec(engine: str, table: str = "orders", format: str = "json") -> TableSpec:
    cols = [SourceColumn("id", "int", "int(11)", False),
            SourceColumn("total", "decimal", "decimal(12,2)", precision=12, scale=2),
            SourceColumn("note", "text", "text"), SourceColumn("b", "blob", "blob"),
            SourceColumn("at", "datetime", "datetime(6)")]
    return table_spec("shop", "shop", table, cols, engine=engine, format=format,
                      zero_dates=False)


def _specs() -> list[TableSpec]:
    return [events_spec(), access_raw_spec("combined"), aggregate_spec("sessions"),
            _mysql_spec("python"), _mysql_spec("sqoop", "audit"),
            _mysql_spec("python", "lines", "parquet")]


def test_table_input_is_the_hive_dialects_ddl() -> None:
    for spec in [*_specs(), aggregate_spec("sessions", parquet=True)]:
        got = table_input(spec, root_uri=ROOT, database="wh")
        ddl = render_table(spec, dialect="hive", root_uri=ROOT, database="wh")
        assert got["Parameters"][SPEC_PROPERTY] == statements_fingerprint(ddl)
        sd = got["StorageDescriptor"]
        assert sd["Location"] == location_uri(ROOT, spec.location)
        assert f"LOCATION '{sd['Location']}'" in ddl[0]
        assert [c["Name"] for c in sd["Columns"]] == [c.name for c in spec.columns]
        assert [c["Type"] for c in sd["Columns"]] == [c.type.lower() for c in spec.columns]
        assert [c["Name"] for c in got["PartitionKeys"]] == list(spec.partition_names)
        serde = sd["SerdeInfo"]["SerializationLibrary"]
        assert serde == {"json": JSON_SERDE, "regex": REGEX_SERDE, "text": TEXT_SERDE,
                         "parquet": PARQUET_SERDE}[spec.storage]
        if spec.storage == "parquet":
            assert sd["InputFormat"] == PARQUET_INPUT_FORMAT and "STORED AS PARQUET" in ddl[0]
        if spec.storage == "parquet" and spec.name.startswith("mysql_"):
            # an imported table: typed columns, binary as bytes
            assert [c["Type"] for c in sd["Columns"]] == [
                "int", "decimal(12,2)", "string", "binary", "timestamp"]
        if spec.storage == "json":
            assert f"'{serde}'" in ddl[0]
        if spec.storage == "regex":
            assert sd["SerdeInfo"]["Parameters"]["input.regex"] == spec.regex
        if spec.storage == "text":
            assert sd["SerdeInfo"]["Parameters"]["field.delim"] == "\x01"
            assert sd["SerdeInfo"]["Parameters"]["serialization.null.format"] == "\\N"


def test_projection_only_on_dt_tables() -> None:
    events = table_input(events_spec(), root_uri=ROOT, database="wh", projection_start="2015-01-01")
    params = events["Parameters"]
    assert params["projection.enabled"] == "true"
    assert params["projection.dt.range"] == "2015-01-01,NOW"
    assert params["storage.location.template"] == f"{ROOT}/events/dt=${{dt}}"
    mysql = table_input(_mysql_spec("python"), root_uri=ROOT, database="wh",
                        projection_start="2015-01-01")
    assert not any(k.startswith("projection.") for k in mysql["Parameters"])


def test_tables_are_created_once_and_changes_reported(moto_server: str) -> None:
    cfg = _cfg(moto_server)
    assert cfg.glue is not None
    catalog = GlueCatalog(cfg, ROOT)
    first = catalog.ensure_tables(_specs())
    assert sorted(first.created) == sorted(s.name for s in _specs()) and first.exit_code == 0
    again = catalog.ensure_tables(_specs())
    assert sorted(again.unchanged) == sorted(s.name for s in _specs()) and not again.created

    api = _glue(moto_server)
    got = api.get_table(DatabaseName=cfg.glue.database, Name="events")["Table"]
    assert got["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"] == JSON_SERDE
    assert got["StorageDescriptor"]["Location"] == f"{ROOT}/events"
    assert got["PartitionKeys"] == [{"Name": "dt", "Type": "string", "Comment": "UTC date, YYYY-MM-DD"}]
    assert got["TableType"] == "EXTERNAL_TABLE"

    wider = TableSpec(name="events", columns=(*events_spec().columns, Column("extra", "STRING")),
                      location="events", partition_by=events_spec().partition_by)
    changed = catalog.ensure_tables([wider])
    assert changed.exit_code == 5 and "+extra string" in changed.line()
    unchanged_cols = api.get_table(DatabaseName=cfg.glue.database, Name="events")["Table"]
    assert "extra" not in [c["Name"] for c in unchanged_cols["StorageDescriptor"]["Columns"]]
    replaced = catalog.ensure_tables([wider], replace=True)
    assert replaced.replaced == ["events"] and replaced.exit_code == 0
    cols = api.get_table(DatabaseName=cfg.glue.database, Name="events")["Table"]
    assert cols["StorageDescriptor"]["Columns"][-1]["Name"] == "extra"


def test_turning_projection_on_updates_the_table_in_place(moto_server: str) -> None:
    cfg = _cfg(moto_server)
    GlueCatalog(cfg, ROOT).ensure_tables([events_spec()])
    on = config_from_dict({"glue": {"database": cfg.glue.database if cfg.glue else "",
                                    "endpoint_url": moto_server, "projection": True,
                                    "projection_start": "2020-01-01"}})
    summary = GlueCatalog(on, ROOT).ensure_tables([events_spec()])
    assert summary.replaced == ["events"] and summary.exit_code == 0
    params = _glue(moto_server).get_table(DatabaseName=on.glue.database if on.glue else "",
                                          Name="events")["Table"]["Parameters"]
    assert params["projection.dt.range"] == "2020-01-01,NOW"
    assert GlueCatalog(on, ROOT).ensure_tables([events_spec()]).unchanged == ["events"]


def test_partitions_go_in_batches_and_rerun_adds_nothing(moto_server: str) -> None:
    cfg = _cfg(moto_server)
    catalog = GlueCatalog(cfg, ROOT)
    catalog.ensure_tables([events_spec()])
    days = [f"2024-{m:02d}-{d:02d}" for m in range(1, 10) for d in range(1, 29)][:250]
    added = catalog.add_partitions(events_spec(), [{"dt": d} for d in days])
    assert (added.found, added.added, added.present, added.statements) == (250, 250, 0, 3)
    again = catalog.add_partitions(events_spec(), [{"dt": d} for d in days])
    assert (again.added, again.present, again.statements) == (0, 250, 0)
    api = _glue(moto_server)
    pages = api.get_paginator("get_partitions").paginate(
        DatabaseName=cfg.glue.database if cfg.glue else "", TableName="events")
    parts = [p for page in pages for p in page["Partitions"]]
    assert sorted(p["Values"][0] for p in parts) == sorted(days)
    one = next(p for p in parts if p["Values"] == ["2024-01-05"])
    assert one["StorageDescriptor"]["Location"] == f"{ROOT}/events/dt=2024-01-05"
    assert one["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"] == JSON_SERDE


def test_explicit_locations_win(moto_server: str, tmp_path: Path) -> None:
    cfg = _cfg(moto_server)
    catalog = GlueCatalog(cfg, location_uri(str(tmp_path)))
    spec = access_raw_spec("combined")
    catalog.ensure_tables([spec])
    where = "s3://logs/access/2024/05/01"
    catalog.add_partitions(spec, [{"dt": "2024-05-01"}], locations={("2024-05-01",): where})
    got = _glue(moto_server).get_partition(DatabaseName=cfg.glue.database if cfg.glue else "",
                                           TableName="access_raw", PartitionValues=["2024-05-01"])
    assert got["Partition"]["StorageDescriptor"]["Location"] == where


def test_an_unreachable_catalog_is_exit_3_and_bounded() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = config_from_dict({"glue": {"endpoint_url": f"http://127.0.0.1:{port}",
                                     "timeout_seconds": 2}})
    t0 = time.monotonic()
    with pytest.raises(SourceUnavailable) as err:
        GlueCatalog(cfg, ROOT).ensure_tables([events_spec()])
    assert time.monotonic() - t0 < 60
    assert f"127.0.0.1:{port}" in str(err.value) and "\n" not in str(err.value)


def test_config_check_refuses_a_bad_glue_section() -> None:
    from warehouse.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        config_from_dict({"glue": {"database": "Bad-Name", "projection_start": "soon"}})
    assert "[glue] database" in str(err.value) and "[glue] projection_start" in str(err.value)
