"""`warehouse parse --register` exits with the worse of the parse's and the registration's
codes (real HiveServer2: Spark's Thrift server, fixture hive_server)."""

from __future__ import annotations

import gzip
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.fixtures._util import SAMPLE_GZ
from warehouse.cli import cli

pytestmark = pytest.mark.hive


def _setup(hive_server: Any, tmp_path: Path) -> tuple[str, Path, Path]:
    db = f"t_{uuid.uuid4().hex[:10]}"
    root = tmp_path / "root"
    conf = tmp_path / "w.toml"
    conf.write_text(
        f'[warehouse]\nroot = "{root}"\n\n[hive]\nhost = "{hive_server.host}"\n'
        f'port = {hive_server.port}\nusername = "test"\ndatabase = "{db}"\ndialect = "spark"\n',
        encoding="utf-8",
    )
    log = tmp_path / "access.log"
    log.write_bytes(b"".join(gzip.decompress(SAMPLE_GZ.read_bytes()).splitlines(True)[:300]))
    return db, conf, log


def test_a_refused_add_partition_fails_parse_register(hive_server: Any, tmp_path: Path) -> None:
    db, conf, log = _setup(hive_server, tmp_path)
    conn = hive_server.connect()
    try:  # `events` already there, partitioned by another column: ADD PARTITION (dt=...) fails
        cur = conn.cursor()
        cur.execute(f"CREATE DATABASE {db}")
        cur.execute(
            f"CREATE TABLE {db}.events (ts STRING, day STRING) USING json PARTITIONED BY (day) "
            f"LOCATION 'file://{tmp_path}/elsewhere'"
        )
    finally:
        conn.close()
    res = CliRunner().invoke(cli, ["--config", str(conf), "parse", str(log), "--register"])
    lines = res.output.splitlines()
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert res.exit_code == 5, res.output  # the parse itself was fine (its code 0)
    assert lines[0].startswith("parse:") and "300 lines" in lines[0], res.output
    assert f"hive partitions {db}.events" in res.output and "failed" in res.output, res.output


def test_parse_register_exits_0_when_both_succeed(hive_server: Any, tmp_path: Path) -> None:
    db, conf, log = _setup(hive_server, tmp_path)
    res = CliRunner().invoke(cli, ["--config", str(conf), "parse", str(log), "--register"])
    assert res.exit_code == 0, res.output
    assert f"hive partitions {db}.events" in res.output and "added" in res.output, res.output
