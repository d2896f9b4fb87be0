"""`warehouse config check --probe` against real endpoints: MariaDB through sshd (a grant
REVOKEd after an import), moto's S3 (a wrong bucket), Glue and EMR; and `config check`
printing TOML with each value's source."""

from __future__ import annotations

import tomllib
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

from tests.test_mysql_import import PASSWORD
from tests.test_pipeline import write_config
from warehouse.cli import cli

USER = "probe_etl"


def _check(conf: Path, *extra: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(cli, ["--config", str(conf), *extra, "config", "check", "--probe"],
                              env=env)


@pytest.mark.mysql
def test_probe_names_a_revoked_grant_and_a_dead_bastion(
    tmp_path: Path, sshd, sshd_factory, mariadb
) -> None:
    db = mariadb.create_database("probedb")
    for t in ("a", "b", "c"):
        mariadb.execute(f"CREATE TABLE {t} (id INT PRIMARY KEY)", database=db)
    mariadb.execute(f"CREATE USER IF NOT EXISTS '{USER}'@'%%' IDENTIFIED BY %s", (PASSWORD,))
    for t in ("a", "b", "c"):
        mariadb.execute(f"GRANT SELECT ON `{db}`.`{t}` TO '{USER}'@'%'")
    (tmp_path / "db.pass").write_text(PASSWORD + "\n")
    data: dict[str, Any] = {
        "warehouse": {"root": str(tmp_path / "root")},
        "cron": {"lock_file": str(tmp_path / "run.lock")},
        "ssh": {"bastion": sshd.ssh_section()},
        "mysql": {"src": mariadb.mysql_section([db], USER, str(tmp_path / "db.pass"),
                                               tunnel="bastion")},
    }
    conf = write_config(tmp_path / "w.toml", data)
    r = CliRunner().invoke(cli, ["--config", str(conf), "import"])
    assert r.exit_code == 0, r.output
    r = _check(conf)
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert [x.split(":")[0] for x in lines if x.startswith(("ok ", "FAIL "))] == [
        "ok    root", "ok    ssh.bastion", "ok    mysql.src"]
    assert "login ok, SELECT on 3 tables" in r.output

    mariadb.execute(f"REVOKE SELECT ON `{db}`.`b` FROM '{USER}'@'%'")
    r = _check(conf)
    assert r.exit_code == 3, r.output
    fail = [x for x in r.output.splitlines() if x.startswith("FAIL")]
    assert len(fail) == 1 and fail[0].startswith("FAIL  mysql.src: ")
    assert f"no SELECT on {db}.b (not granted, or absent: MySQL does not say which; 2 readable)" in fail[0]
    assert f"GRANT SELECT ON {db}.b TO '{USER}'" in fail[0] and PASSWORD not in r.output
    assert r.output.splitlines()[-1] == (
        "config check --probe: 3 endpoints, 1 failing (mysql.src); exit 3")

    # a table the config names is probed without an earlier import (a fresh root)
    fresh = dict(data, warehouse={"root": str(tmp_path / "fresh")})
    fresh["mysql"] = {"src": dict(data["mysql"]["src"], tables=[f"{db}.b", "a", "gone"])}
    r = _check(write_config(tmp_path / "fresh.toml", fresh))
    assert r.exit_code == 3 and f"no SELECT on {db}.b, {db}.gone (not granted" in r.output, r.output
    assert "1 readable" in r.output

    # every grant gone: the database itself is named
    for t in ("a", "c"):
        mariadb.execute(f"REVOKE SELECT ON `{db}`.`{t}` FROM '{USER}'@'%'")
    r = _check(conf)
    assert r.exit_code == 3 and f"no SELECT on {db}.*" in r.output, r.output

    # a bastion that is gone: its line and the source behind it fail, in seconds
    dead = sshd_factory()
    data["ssh"]["bastion"] = dead.ssh_section()
    dead.kill()
    conf = write_config(tmp_path / "w.toml", data)
    r = _check(conf)
    assert r.exit_code == 3, r.output
    fail = [x for x in r.output.splitlines() if x.startswith("FAIL")]
    assert [x.split(":")[0] for x in fail] == ["FAIL  ssh.bastion", "FAIL  mysql.src"]
    assert str(dead.port) in fail[0]


def test_probe_a_wrong_bucket_glue_and_emr(tmp_path: Path, moto_server: str, s3_client: Any,
                                           s3_bucket: str) -> None:
    kw: dict[str, Any] = {"endpoint_url": moto_server, "region_name": "us-east-1"}
    glue = boto3.client("glue", **kw)
    database = f"wh_{uuid.uuid4().hex[:8]}"
    glue.create_database(DatabaseInput={"Name": database})
    cluster = boto3.client("emr", **kw).run_job_flow(
        Name="probe", ReleaseLabel="emr-7.4.0", Applications=[{"Name": "Hadoop"}],
        Instances={"MasterInstanceType": "m5.xlarge", "InstanceCount": 1,
                   "KeepJobFlowAliveWhenNoSteps": True},
        JobFlowRole="EMR_EC2_DefaultRole", ServiceRole="EMR_DefaultRole",
    )["JobFlowId"]
    data: dict[str, Any] = {
        "warehouse": {"root": f"s3://{s3_bucket}/wh"},
        "s3": {"endpoint_url": moto_server, "max_attempts": 1},
        "glue": {"database": database, "endpoint_url": moto_server},
        "emr": {"endpoint_url": moto_server, "cluster_id": cluster},
    }
    conf = write_config(tmp_path / "w.toml", data)
    r = _check(conf)
    assert r.exit_code == 0, r.output
    assert f"ok    root: list, write and delete work in s3://{s3_bucket}/wh/" in r.output
    assert f"database {database}" in r.output and "lists 0 tables" in r.output
    assert f"ok    emr: cluster {cluster} (probe, emr-7.4.0) is " in r.output
    assert "Contents" not in s3_client.list_objects_v2(Bucket=s3_bucket)  # nothing left

    data["warehouse"]["root"] = "s3://no-such-bucket-probe/wh"
    data["glue"]["database"] = "absent_db"
    conf = write_config(tmp_path / "w.toml", data)
    r = _check(conf)
    assert r.exit_code == 3, r.output
    fail = [x for x in r.output.splitlines() if x.startswith("FAIL")]
    assert len(fail) == 1 and fail[0].startswith("FAIL  root: ") and "no-such-bucket-probe" in fail[0]
    assert "database not there yet (hive apply makes it)" in r.output


def test_config_check_prints_toml_with_sources(tmp_path: Path) -> None:
    conf = write_config(tmp_path / "w.toml", {
        "warehouse": {"root": str(tmp_path / "root")},
        "logs": {"format": "combined", "max_reject_ratio": 0.25},
        "run": {"notify": ["command:/bin/true"]},
        "cron": {"environment": {"AWS_DEFAULT_REGION": "eu-west-1"}},
    })
    r = CliRunner().invoke(cli, ["--config", str(conf), "config", "check"],
                           env={"WAREHOUSE_ROOT": str(tmp_path / "env-root")})
    assert r.exit_code == 0, r.output
    text = r.output.split("config check: ok")[0]
    assert f'root = "{tmp_path / "env-root"}"  # environment WAREHOUSE_ROOT' in text
    assert 'format = "combined"  # file' in text
    assert "max_reject_ratio = 0.25  # file" in text
    assert 'notify = ["command:/bin/true"]  # file' in text
    assert 'notify_on = "failure"  # default' in text
    assert "# endpoint_url = (unset)  # default" in text
    assert 'environment = { AWS_DEFAULT_REGION = "***" }  # file' in text
    assert "eu-west-1" not in text and "'" not in text
    parsed = tomllib.loads(text)  # it is TOML
    assert parsed["logs"]["max_reject_ratio"] == 0.25 and parsed["run"]["notify_on"] == "failure"
    r = CliRunner().invoke(cli, ["--config", str(conf), "--root", str(tmp_path / "x"),
                                 "config", "check"])
    assert f'root = "{tmp_path / "x"}"  # command line --root' in r.output


@pytest.mark.mysql
def test_probe_names_a_revoked_grant_and_a_wrong_bucket_at_once(
    tmp_path: Path, sshd, mariadb, moto_server: str, s3_bucket: str
) -> None:
    """The root unreadable (a wrong bucket): the tables imported before come from the
    catalog (Glue, moto), so the revoked one is still named."""
    db = mariadb.create_database("probedb2")
    for t in ("a", "b"):
        mariadb.execute(f"CREATE TABLE {t} (id INT PRIMARY KEY)", database=db)
    mariadb.execute(f"CREATE USER IF NOT EXISTS '{USER}'@'%%' IDENTIFIED BY %s", (PASSWORD,))
    for t in ("a", "b"):
        mariadb.execute(f"GRANT SELECT ON `{db}`.`{t}` TO '{USER}'@'%'")
    (tmp_path / "db.pass").write_text(PASSWORD + "\n")
    data: dict[str, Any] = {
        "warehouse": {"root": f"s3://{s3_bucket}/wh"},
        "s3": {"endpoint_url": moto_server, "max_attempts": 1},
        "glue": {"database": f"p{uuid.uuid4().hex[:8]}", "endpoint_url": moto_server},
        "ssh": {"bastion": sshd.ssh_section()},
        "mysql": {"src": mariadb.mysql_section([db], USER, str(tmp_path / "db.pass"),
                                               tunnel="bastion")},
    }
    conf = write_config(tmp_path / "w.toml", data)
    r = CliRunner().invoke(cli, ["--config", str(conf), "import"])
    assert r.exit_code == 0, r.output
    mariadb.execute(f"REVOKE SELECT ON `{db}`.`b` FROM '{USER}'@'%'")
    data["warehouse"]["root"] = "s3://no-such-bucket-probe2/wh"
    r = _check(write_config(tmp_path / "w.toml", data))
    assert r.exit_code == 3, r.output
    fail = [x for x in r.output.splitlines() if x.startswith("FAIL")]
    assert [x.split(":")[0] for x in fail] == ["FAIL  root", "FAIL  mysql.src"], r.output
    assert "no-such-bucket-probe2" in fail[0]
    assert f"no SELECT on {db}.b (not granted" in fail[1] and "1 readable" in fail[1]
