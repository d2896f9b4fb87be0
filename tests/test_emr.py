"""warehouse/run/emr.py against moto's EMR and S3 server on 127.0.0.1 (real boto3 over HTTP)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig

from tests.fixtures._util import free_port
from warehouse.config import config_from_dict
from warehouse.errors import ConfigError, SourceUnavailable
from warehouse.run.emr import (
    REMOTE_BIN,
    SCRIPTS,
    Emr,
    bootstrap_actions,
    run_step_args,
    upload_artifacts,
)

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def emr_client(moto_server: str) -> Any:
    return boto3.client(
        "emr", endpoint_url=moto_server, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )


def _launch(client: Any, name: str = "warehouse", **extra: Any) -> str:
    resp = client.run_job_flow(
        Name=name,
        ReleaseLabel="emr-7.4.0",
        Applications=[{"Name": "Hadoop"}, {"Name": "Hive"}, {"Name": "Sqoop"}],
        Instances={
            "InstanceGroups": [
                {"Name": "master", "InstanceRole": "MASTER", "InstanceType": "m5.xlarge", "InstanceCount": 1},
                {"Name": "core", "InstanceRole": "CORE", "InstanceType": "m5.xlarge", "InstanceCount": 2},
            ],
            "KeepJobFlowAliveWhenNoSteps": True,
        },
        JobFlowRole="EMR_EC2_DefaultRole",
        ServiceRole="EMR_DefaultRole",
        **extra,
    )
    return str(resp["JobFlowId"])


def _cfg(moto_server: str, **emr: Any):
    return config_from_dict(
        {"s3": {"endpoint_url": moto_server}, "emr": {"endpoint_url": moto_server, **emr}}
    )


def test_master_private_address_and_clusters(moto_server: str, emr_client: Any) -> None:
    cid = _launch(emr_client)
    gone = _launch(emr_client, name="old")
    emr_client.terminate_job_flows(JobFlowIds=[gone])
    # the client is created lazily from [emr] (no injection): region + endpoint_url
    emr = Emr(_cfg(moto_server, cluster_id=cid))
    ids = {c.id for c in emr.list_clusters()}
    assert cid in ids and gone not in ids
    addr = emr.master_private_address()
    (master,) = emr_client.list_instances(ClusterId=cid, InstanceGroupTypes=["MASTER"])["Instances"]
    assert addr == master["PrivateIpAddress"]
    assert ipaddress.ip_address(addr).is_private
    cores = emr_client.list_instances(ClusterId=cid, InstanceGroupTypes=["CORE"])["Instances"]
    assert addr not in {c["PrivateIpAddress"] for c in cores}


def test_cluster_id_required(moto_server: str) -> None:
    with pytest.raises(ConfigError, match="cluster_id"):
        Emr(_cfg(moto_server)).master_private_address()


def test_submit_run_as_step(moto_server: str, emr_client: Any) -> None:
    cid = _launch(emr_client)
    emr = Emr(_cfg(moto_server, cluster_id=cid), client=emr_client)
    step_id = emr.submit_run([dt.date(2024, 3, 2), dt.date(2024, 3, 1)], force=True)
    step = emr_client.describe_step(ClusterId=cid, StepId=step_id)["Step"]
    assert step["Config"]["Jar"] == "command-runner.jar"
    assert step["Config"]["Args"] == [
        REMOTE_BIN, "--config", "/etc/warehouse/warehouse.toml", "-v", "run",
        "--from", "2024-03-01", "--to", "2024-03-02", "--force",
    ]
    assert step["Name"] == "run --from 2024-03-01 --to 2024-03-02 --force"
    assert step["ActionOnFailure"] == "CONTINUE"
    assert emr.step_state(step_id) in ("PENDING", "RUNNING")


def test_run_step_args() -> None:
    assert run_step_args(None)[-1] == "run"  # no dates: the run's default, yesterday
    assert run_step_args([dt.date(2024, 1, 5)], only="import")[-4:] == [
        "--date", "2024-01-05", "--only", "import",
    ]


def test_unreachable_endpoint_is_source_unavailable() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    client = boto3.client(
        "emr", endpoint_url=url, region_name="us-east-1",
        aws_access_key_id="t", aws_secret_access_key="t",
        config=BotoConfig(retries={"max_attempts": 1}, connect_timeout=2),
    )
    cfg = config_from_dict({"emr": {"endpoint_url": url, "cluster_id": "j-NOPE"}})
    with pytest.raises(SourceUnavailable, match="EMR ListClusters"):
        Emr(cfg, client=client).list_clusters()


def _build_wheel(out: Path) -> Path:
    """Build this project's wheel offline with hatchling (a test dependency)."""
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(out)],
        cwd=REPO, check=True, capture_output=True, timeout=300,
    )
    (wheel,) = out.glob("warehouse-*.whl")
    return wheel


def test_upload_artifacts_and_bootstrap_actions(
    moto_server: str, emr_client: Any, s3_client: Any, s3_bucket: str, tmp_path: Path
) -> None:
    wheel = _build_wheel(tmp_path / "dist")
    names = set(zipfile.ZipFile(wheel).namelist())
    # an installed toolkit finds its bootstrap scripts (and jobs, hql, conf) in the wheel
    for script in SCRIPTS:
        assert f"warehouse/_bundled/bootstrap/{script}" in names
    cfg = _cfg(moto_server, artifacts_uri=f"s3://{s3_bucket}/artifacts")
    uris = upload_artifacts(cfg, wheel=wheel)
    assert set(uris) == {*SCRIPTS, wheel.name}
    for name, uri in uris.items():
        assert uri == f"s3://{s3_bucket}/artifacts/{name}"
        body = s3_client.get_object(Bucket=s3_bucket, Key=f"artifacts/{name}")["Body"].read()
        local = wheel if name == wheel.name else REPO / "bootstrap" / name
        assert body == local.read_bytes()
    assert upload_artifacts(cfg, wheel=wheel) == uris  # re-running overwrites the same keys

    actions = bootstrap_actions(uris, config_uri=f"s3://{s3_bucket}/conf/warehouse.toml")
    cid = _launch(emr_client, BootstrapActions=actions)
    listed = emr_client.list_bootstrap_actions(ClusterId=cid)["BootstrapActions"]
    assert [a["ScriptPath"] for a in listed] == [uris[s] for s in SCRIPTS]
    assert listed[0]["Args"] == ["--wheel", uris[wheel.name]]
    assert listed[1]["Args"] == ["--release", "emr-7.4.0"]
    # EMR 7.5 and later have no Sqoop: no Sqoop action
    later = bootstrap_actions(uris, release_label="emr-7.5.0")
    assert [a["ScriptBootstrapAction"]["Path"] for a in later] == [
        uris["install-toolkit.sh"], uris["setup-cron.sh"],
    ]


def test_upload_needs_artifacts_uri(moto_server: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="artifacts_uri"):
        upload_artifacts(_cfg(moto_server))
    cfg = _cfg(moto_server, artifacts_uri=str(tmp_path / "art"))
    with pytest.raises(ConfigError, match="not a wheel"):
        upload_artifacts(cfg, wheel=tmp_path / "x.tar.gz")
    # a local artifacts folder works the same way (the store hides the difference)
    uris = upload_artifacts(cfg)
    assert (tmp_path / "art" / "install-toolkit.sh").read_bytes() == (
        REPO / "bootstrap" / "install-toolkit.sh"
    ).read_bytes()
    assert set(uris) == set(SCRIPTS)
