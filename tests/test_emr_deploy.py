"""`warehouse emr deploy|create|run|status|terminate` through the CLI against moto's S3, KMS
and EMR server on 127.0.0.1 (real boto3 over HTTP). moto accepts clusters and steps but runs
nothing: `StepLogs` moves the steps and writes their logs where EMR would."""

from __future__ import annotations

import dataclasses
import gzip
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

from tests._emr_project import StepLogs, build_test_wheel, write_project
from warehouse.cli import cli
from warehouse.config import HiveConfig, load_config
from warehouse.emr import SCRIPTS, job_flow, load_deployment
from warehouse.emr.request import GLUE_FACTORY
from warehouse.run.emr import REMOTE_BIN, REMOTE_CONFIG

DAY = "2015-05-18"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_test_wheel(tmp_path_factory.mktemp("dist"))


@pytest.fixture
def emr_client(moto_server: str) -> Any:
    return boto3.client("emr", endpoint_url=moto_server, region_name="us-east-1")


@pytest.fixture
def kms_key(moto_server: str) -> str:
    kms = boto3.client("kms", endpoint_url=moto_server, region_name="us-east-1")
    return str(kms.create_key(Description="warehouse secrets")["KeyMetadata"]["KeyId"])


@pytest.fixture(autouse=True)
def _no_password_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # the CLI sets it from [emr] environment; restore the absence after each test
    monkeypatch.setenv("SHOP_DB_PASSWORD", "")
    monkeypatch.delenv("SHOP_DB_PASSWORD")


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _get(s3: Any, uri: str) -> bytes:
    bucket, _, key = uri[len("s3://"):].partition("/")
    return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def _exists(s3: Any, uri: str) -> bool:
    bucket, _, key = uri[len("s3://"):].partition("/")
    return bool(s3.list_objects_v2(Bucket=bucket, Prefix=key).get("KeyCount"))


def test_deploy_is_content_addressed_and_idempotent(
    tmp_path: Path, moto_server: str, s3_client: Any, s3_bucket: str, wheel: Path, kms_key: str
) -> None:
    hive = '\n[hive]\ndialect = "hive"\nviews = "views/"\nreports = "reports"\n'
    conf = write_project(tmp_path, moto_server, s3_bucket, kms_key_id=kms_key, extra=hive)
    first = invoke("--config", str(conf), "emr", "deploy", "--wheel", str(wheel))
    assert first.exit_code == 0, first.output
    assert not [ln for ln in first.output.splitlines() if ln.startswith("already there")]
    assert first.output.strip().splitlines()[-1].startswith("emr deploy: ")
    cfg = load_config(conf)
    dep = load_deployment(cfg)
    assert _get(s3_client, dep.wheel) == wheel.read_bytes()
    assert dep.wheel.endswith("/" + wheel.name) and "/wheels/" in dep.wheel
    names = set(zipfile.ZipFile(wheel).namelist())  # an installed toolkit ships the scripts
    assert {f"warehouse/_bundled/bootstrap/{s}" for s in SCRIPTS} <= names
    for name in SCRIPTS:
        assert _get(s3_client, dep.scripts[name]) == (Path("bootstrap") / name).read_bytes()
    # the config as the master reads it: relative paths into the bundle and the secrets
    uploaded = tomllib.loads(_get(s3_client, dep.config + "warehouse.toml").decode())
    assert uploaded["logs"]["patterns"] == "files/logs.patterns/urls.json"
    assert uploaded["emr"]["secrets_dir"] == "secrets"
    assert uploaded["ssh"]["bastion"]["key_file"] == "secrets/etl_ed25519"
    assert uploaded["ssh"]["bastion"]["bind_address"] == "auto"
    assert uploaded["emr"]["environment"] == {"SHOP_DB_PASSWORD": "secrets/shop_db_password"}
    assert uploaded["cron"]["log_dir"] == "/var/log/warehouse"  # a path on the master: kept
    assert _get(s3_client, dep.config + "files/logs.patterns/urls.json") == (conf.parent / "urls.json").read_bytes()
    assert uploaded["hive"]["views"] == "files/hive.views" and uploaded["hive"]["reports"] == "files/hive.reports"
    for folder, name in (("views", "daily_hits.hql"), ("reports", "top.hql")):
        assert _get(s3_client, f"{dep.config}files/hive.{folder}/{name}") == (conf.parent / folder / name).read_bytes()
    # secrets apart, with SSE-KMS; never inside the config bundle
    assert dep.secrets and "/secrets/" in dep.secrets
    bucket, _, key = (dep.secrets + "shop_db_password")[5:].partition("/")
    head = s3_client.head_object(Bucket=bucket, Key=key)
    assert head["ServerSideEncryption"] == "aws:kms" and kms_key in head["SSEKMSKeyId"]
    assert not _exists(s3_client, dep.config + "secrets")
    assert "s3cret" not in first.output

    again = invoke("--config", str(conf), "emr", "deploy", "--wheel", str(wheel))
    assert again.exit_code == 0, again.output
    assert "uploaded " not in again.output and "emr deploy: 0 uploaded" in again.output

    (conf.parent / "urls.json").write_text('[{"name": "home", "regex": "^/$"}]')
    assert invoke("--config", str(conf), "emr", "create").exit_code == 2  # config changed
    third = invoke("--config", str(conf), "emr", "deploy", "--wheel", str(wheel))
    changed = [ln.split()[-1] for ln in third.output.splitlines() if ln.startswith("uploaded")]
    assert changed and all("/config/" in u or u.endswith("deploy.json") for u in changed), changed


def test_deploy_builds_the_wheel_and_refuses_stray_secrets(
    tmp_path: Path, moto_server: str, s3_client: Any, s3_bucket: str
) -> None:
    conf = write_project(tmp_path, moto_server, s3_bucket, mysql=False)
    res = invoke("--config", str(conf), "emr", "deploy")  # no --wheel: built from the source
    assert res.exit_code == 0, res.output
    dep = load_deployment(load_config(conf))
    assert dep.wheel.endswith("-py3-none-any.whl") and _exists(s3_client, dep.wheel)
    stray = tmp_path / "shop.pass"
    stray.write_text("x\n")
    text = conf.read_text() + f'\n[mysql.shop]\nuser = "etl"\ndatabases = ["shop"]\npassword_file = "{stray}"\n'
    conf.write_text(text)
    bad = CliRunner().invoke(cli, ["--config", str(conf), "emr", "deploy"])
    assert bad.exit_code == 2 and "not under [emr] secrets_dir" in bad.output


def test_create_request_and_bootstrap_objects(
    tmp_path: Path, moto_server: str, s3_client: Any, s3_bucket: str, wheel: Path, emr_client: Any
) -> None:
    conf = write_project(tmp_path, moto_server, s3_bucket, extra='\n[hive]\ndialect = "hive"\n')
    assert invoke("--config", str(conf), "emr", "deploy", "--wheel", str(wheel)).exit_code == 0
    res = invoke("--config", str(conf), "emr", "create", "--wait")
    assert res.exit_code == 0, res.output
    cid = res.output.splitlines()[0]
    assert f"emr create: {cid} WAITING" in res.output
    c = emr_client.describe_cluster(ClusterId=cid)["Cluster"]
    assert [a["Name"] for a in c["Applications"]] == ["Hadoop", "Hive"]  # python engine: no Sqoop
    assert c["Configurations"] == [  # [glue]: Hive's metastore is the Glue Data Catalog
        {"Classification": "hive-site", "Properties": {"hive.metastore.client.factory.class": GLUE_FACTORY}}
    ]
    assert c["ReleaseLabel"] == "emr-7.4.0" and c["AutoTerminate"] is False
    tags = {t["Key"]: t["Value"] for t in c["Tags"]}
    assert tags["team"] == "data" and tags["warehouse:artifacts"] == f"s3://{s3_bucket}/artifacts"
    actions = emr_client.list_bootstrap_actions(ClusterId=cid)["BootstrapActions"]
    assert [a["ScriptPath"].rsplit("/", 1)[1] for a in actions] == ["install-toolkit.sh", "setup-cron.sh"]
    named = [u for a in actions for u in (a["ScriptPath"], *a["Args"]) if u.startswith("s3://")]
    assert len(named) == 5  # 2 scripts, the wheel, the config, the secrets' index
    for uri in named:  # every object a bootstrap action names exists (an object, not a prefix)
        bucket, _, key = uri[len("s3://"):].partition("/")
        s3_client.head_object(Bucket=bucket, Key=key)
    assert "--no-cron" not in actions[1]["Args"]
    # Glue as the metastore once Hive is there; Sqoop only with engine = "sqoop" on <= 7.4
    cfg = load_config(conf)
    dep = load_deployment(cfg)
    spark = dataclasses.replace(cfg, hive=HiveConfig(dialect="spark"))
    req = job_flow(spark, dep, transient=False)
    assert [a["Name"] for a in req["Applications"]] == ["Hadoop", "Spark"]
    assert [c["Classification"] for c in req["Configurations"]] == ["spark-hive-site"]
    assert req["AutoTerminationPolicy"] == {"IdleTimeout": 3600}
    sqoop = conf.read_text().replace('databases = ["shop"]', 'databases = ["shop"]\nengine = "sqoop"')
    conf.write_text(sqoop)
    req = job_flow(load_config(conf), dep, transient=True)
    assert [a["Name"] for a in req["Applications"]] == ["Hadoop", "Hive", "Sqoop"]
    assert [b["ScriptBootstrapAction"]["Path"].rsplit("/", 1)[1] for b in req["BootstrapActions"]] == [
        "install-toolkit.sh", "install-sqoop.sh", "setup-cron.sh"]
    assert req["BootstrapActions"][2]["ScriptBootstrapAction"]["Args"][-1] == "--no-cron"
    sqoop_cfg = load_config(conf)
    later = dataclasses.replace(sqoop_cfg, emr=dataclasses.replace(sqoop_cfg.emr, release_label="emr-7.5.0"))
    req = job_flow(later, dep, transient=False)  # 7.5+ has no Sqoop: neither app nor action
    assert "Sqoop" not in [a["Name"] for a in req["Applications"]]
    assert len(req["BootstrapActions"]) == 2


def test_create_without_deploy_and_a_failed_cluster(
    tmp_path: Path, moto_server: str, s3_bucket: str, wheel: Path, emr_client: Any
) -> None:
    conf = write_project(tmp_path, moto_server, s3_bucket, mysql=False)
    res = CliRunner().invoke(cli, ["--config", str(conf), "emr", "create"])
    assert res.exit_code == 4 and "emr deploy" in res.output
    assert invoke("--config", str(conf), "emr", "deploy", "--wheel", str(wheel)).exit_code == 0

    from moto.emr.models import emr_backends

    class Fails(StepLogs):  # a bootstrap action fails: EMR ends the cluster with a reason
        def _loop(self) -> None:
            while not self._stop.wait(0.02):
                for cid, cl in list(emr_backends["123456789012"]["us-east-1"].clusters.items()):
                    if cid not in self._before and cl.state == "WAITING":
                        cl.state = "TERMINATED_WITH_ERRORS"
                        cl.last_state_change_reason = "bootstrap action 1 returned a non-zero return code"

    with Fails(None, s3_bucket, None):
        res = CliRunner().invoke(cli, ["--config", str(conf), "emr", "create", "--wait"])
    assert res.exit_code == 5, res.output
    assert "TERMINATED_WITH_ERRORS" in res.output


def _ok(step: Any) -> tuple[str, str, str]:
    return "COMPLETED", f"run {DAY}: parse ok (3 partitions), aggregate ok; exit 0; records: x\n", "log\n"


def test_run_on_the_cluster_then_status_and_terminate(
    tmp_path: Path, moto_server: str, s3_client: Any, s3_bucket: str, wheel: Path, emr_client: Any
) -> None:
    conf = write_project(tmp_path, moto_server, s3_bucket, mysql=False)
    assert invoke("--config", str(conf), "emr", "deploy", "--wheel", str(wheel)).exit_code == 0
    no_cluster = CliRunner().invoke(cli, ["--config", str(conf), "emr", "run", "--date", DAY])
    assert no_cluster.exit_code == 2 and "emr create" in no_cluster.output
    cid = invoke("--config", str(conf), "emr", "create").output.splitlines()[0]
    again = invoke("--config", str(conf), "emr", "create")  # one nightly cluster per config
    assert again.exit_code == 0 and again.output.startswith(f"{cid}\n") and "up already" in again.output
    with StepLogs(s3_client, s3_bucket, _ok, adopt=cid) as harness:
        res = invoke("--config", str(conf), "emr", "run", "--date", DAY, "--wait")
    assert res.exit_code == 0, res.output
    assert f"on {cid} COMPLETED, exit 0; run {DAY}: parse ok" in res.output
    (step,) = harness.steps
    assert step.jar == "command-runner.jar"
    assert step.args == [REMOTE_BIN, "--config", REMOTE_CONFIG, "-v", "run", "--date", DAY]

    def fails(step: Any) -> tuple[str, str, str]:
        out = "run 2015-05-18..2015-05-19 (2 dates): parse failed; exit 4; first failure: x\n"
        err = "".join(f"line {i}\n" for i in range(40)) + "error: s3://logs/2015/05/19/ is empty\n"
        return "FAILED", out, err

    with StepLogs(s3_client, s3_bucket, fails, adopt=cid):
        res = CliRunner().invoke(cli, ["--config", str(conf), "emr", "run", "--from", DAY,
                                       "--to", "2015-05-19", "--cluster", cid, "--wait"])
    assert res.exit_code == 4, res.output
    assert "error: s3://logs/2015/05/19/ is empty" in res.output and "line 5\n" not in res.output

    status = invoke("--config", str(conf), "emr", "status")
    assert status.exit_code == 0, status.output
    assert cid in status.output and "run --from 2015-05-18 --to 2015-05-19" in status.output
    assert "FAILED" in status.output and "1 active" in status.output
    term = invoke("--config", str(conf), "emr", "terminate")
    assert term.exit_code == 0 and f"{cid} terminating" in term.output
    assert emr_client.describe_cluster(ClusterId=cid)["Cluster"]["Status"]["State"] == "TERMINATED"
    again = invoke("--config", str(conf), "emr", "terminate", "--cluster", cid)
    assert "was already TERMINATED" in again.output


def test_run_transient_waits_for_its_step(
    tmp_path: Path, moto_server: str, s3_client: Any, s3_bucket: str, wheel: Path, emr_client: Any
) -> None:
    conf = write_project(tmp_path, moto_server, s3_bucket)
    assert invoke("--config", str(conf), "emr", "deploy", "--wheel", str(wheel)).exit_code == 0
    with StepLogs(s3_client, s3_bucket, _ok) as harness:
        res = invoke("--config", str(conf), "emr", "run", "--transient", "--date", DAY, "--wait")
    assert res.exit_code == 0, res.output
    assert harness.errors == []
    cid = harness.cluster_id
    # a second transient run while the first one's step runs is refused (exit 6)
    from moto.emr.models import emr_backends

    (moto_step,) = emr_backends["123456789012"]["us-east-1"].clusters[cid].steps
    moto_step.state = "RUNNING"
    busy = CliRunner().invoke(cli, ["--config", str(conf), "emr", "run", "--transient", "--date", DAY])
    assert busy.exit_code == 6 and cid in busy.output
    moto_step.state = "COMPLETED"
    c = emr_client.describe_cluster(ClusterId=cid)["Cluster"]
    assert c["AutoTerminate"] is True
    tags = {t["Key"]: t["Value"] for t in c["Tags"]}
    assert tags["warehouse:mode"] == "transient"
    (action,) = [a for a in emr_client.list_bootstrap_actions(ClusterId=cid)["BootstrapActions"]
                 if a["ScriptPath"].endswith("setup-cron.sh")]
    assert action["Args"][-1] == "--no-cron"
    (step,) = emr_client.list_steps(ClusterId=cid)["Steps"]
    assert step["ActionOnFailure"] == "TERMINATE_CLUSTER"
    assert step["Config"]["Args"][-2:] == ["--date", DAY]
    log = gzip.decompress(s3_client.get_object(
        Bucket=s3_bucket, Key=f"emr-logs/{cid}/steps/{step['Id']}/stdout.gz")["Body"].read())
    assert b"exit 0" in log


def test_ctrl_c_stops_waiting_with_130(
    tmp_path: Path, moto_server: str, s3_bucket: str, wheel: Path
) -> None:
    """SIGINT during `emr run --wait` stops the waiting (exit 130); the step goes on."""
    import signal
    import subprocess

    from tests._emr_project import WAREHOUSE_BIN
    from tests.fixtures._util import sigint_default, wait_for

    conf = write_project(tmp_path, moto_server, s3_bucket, mysql=False)
    assert invoke("--config", str(conf), "emr", "deploy", "--wheel", str(wheel)).exit_code == 0
    cid = invoke("--config", str(conf), "emr", "create").output.splitlines()[0]
    log = tmp_path / "err.txt"
    with open(log, "w") as err:  # moto leaves the step RUNNING: the wait would never end
        proc = subprocess.Popen([str(WAREHOUSE_BIN), "--config", str(conf), "emr", "run", "--date", DAY,
                                 "--wait"], stdout=subprocess.PIPE, stderr=err, text=True,
                                preexec_fn=sigint_default)
        try:
            wait_for(lambda: "RUNNING" in log.read_text(), 60, "the step's progress line")
            proc.send_signal(signal.SIGINT)
            proc.communicate(timeout=60)
        finally:
            proc.kill()
    assert proc.returncode == 130, log.read_text()
    assert f"on {cid} goes on" in log.read_text() and "Traceback" not in log.read_text()


def test_deploy_ships_the_file_root_and_a_damaged_manifest_is_one_line(
    tmp_path: Path, moto_server: str, s3_bucket: str, wheel: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The master runs the config file: a root given by WAREHOUSE_ROOT that the file does
    not name is refused (exit 2); a deploy.json damaged in S3 is one line (exit 5)."""
    conf = write_project(tmp_path, moto_server, s3_bucket, mysql=False)
    monkeypatch.setenv("WAREHOUSE_ROOT", f"s3://{s3_bucket}/elsewhere")
    res = CliRunner().invoke(cli, ["--config", str(conf), "emr", "deploy", "--wheel", str(wheel)])
    assert res.exit_code == 2 and "set the root in the file" in res.output, res.output
    monkeypatch.delenv("WAREHOUSE_ROOT")
    assert invoke("--config", str(conf), "emr", "deploy", "--wheel", str(wheel)).exit_code == 0
    cfg = load_config(conf)
    s3 = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1")
    art = str(cfg.emr.artifacts_uri).removeprefix("s3://").rstrip("/")
    bucket, _, prefix = art.partition("/")
    s3.put_object(Bucket=bucket, Key=f"{prefix}/deploy.json".lstrip("/"), Body=b"{not json")
    res = CliRunner().invoke(cli, ["--config", str(conf), "emr", "create"])
    assert res.exit_code == 5 and "deploy.json is damaged" in res.output, res.output
    assert "Traceback" not in res.output and "emr deploy" in res.output
