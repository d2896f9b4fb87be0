"""warehouse/run/emr.py against moto's EMR and S3 server on 127.0.0.1 (real boto3 over HTTP)."""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig

from tests.fixtures._util import free_port
from warehouse.config import config_from_dict
from warehouse.errors import ConfigError, SourceUnavailable
from warehouse.run.emr import REMOTE_BIN, REMOTE_PYTHON, Emr, run_step_args

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


def test_one_python_bin_everywhere() -> None:
    """mrjob's python_bin (both runners) and the bootstrap README name the venv's python."""
    import yaml

    conf = yaml.safe_load((REPO / "conf" / "mrjob.conf").read_text())
    assert {r.get("python_bin") for n, r in conf["runners"].items() if n in ("emr", "hadoop")} == {REMOTE_PYTHON}
    assert f"`{REMOTE_PYTHON}` is mrjob's `python_bin`" in (REPO / "bootstrap" / "README.md").read_text()
    assert "python3.11`" not in (REPO / "docs" / "aggregates.md").read_text().split("python_bin")[1][:80]
