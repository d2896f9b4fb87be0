"""The bootstrap for real: `emr deploy` and `emr create` against moto, then the bootstrap
actions the cluster names, downloaded and run on this machine with the real AWS CLI
(AWS_ENDPOINT_URL = moto) into a scratch folder standing in for the master
(WAREHOUSE_BOOTSTRAP_ROOT), then the run step as EMR's command-runner would run it: the
installed `warehouse run --date D` with the downloaded config, parsing a day into the S3
root. `emr run --wait` follows that step and exits with its exit code.

Offline install: the test sets WAREHOUSE_BOOTSTRAP_SITE_PACKAGES (a test-only switch of
install-toolkit.sh, never set on EMR) to a folder of links to this venv's packages minus
warehouse itself; the script's venv sees it through a .pth file and pip installs the real
wheel with --no-index. The crontab is a stand-in (`crontab -l` / `crontab -`) so the
machine's own is untouched; its content must equal `warehouse cron show`.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

from tests._emr_project import StepLogs, build_test_wheel, write_project
from tests.fixtures._util import require_executable
from tests.test_pipeline import write_day_logs
from warehouse.cli import cli
from warehouse.config import load_config
from warehouse.emr import load_deployment
from warehouse.run.emr import REMOTE_BIN, REMOTE_CONFIG

DAY = "2015-05-18"
CRONTAB = """#!/bin/bash
table="$(dirname "$0")/crontab.table"
case "$1" in
  -l) if [ -f "$table" ]; then cat "$table"; else echo "no crontab for $(id -un)" >&2; exit 1; fi ;;
  -) cat > "$table" ;;
esac
"""


def _deps_dir(tmp: Path) -> Path:
    """Links to this venv's installed packages, warehouse itself left out."""
    site = Path(sysconfig.get_paths()["purelib"])
    deps = tmp / "deps"
    deps.mkdir()
    for p in site.iterdir():
        n = p.name.lower()
        if n.startswith(("warehouse", "_warehouse", "__editable__")) or n.endswith(".pth"):
            continue
        (deps / p.name).symlink_to(p)
    return deps


@pytest.fixture
def env(tmp_path: Path, moto_server: str) -> dict[str, str]:
    aws = shutil.which("aws", path=str(Path(sys.executable).parent)) or require_executable("aws")
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    (stubs / "crontab").write_text(CRONTAB)
    (stubs / "crontab").chmod(0o755)
    master = tmp_path / "master"
    info = master / "mnt/var/lib/info"
    info.mkdir(parents=True)
    (info / "instance.json").write_text('{"isMaster": true}\n')
    py = Path(sys.executable).parent  # python3.11 and aws; the venv module uses the base Python
    return {
        "PATH": f"{stubs}:{py}:{Path(aws).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "LC_ALL": "C.UTF-8",
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "WAREHOUSE_BOOTSTRAP_ROOT": str(master),
        "WAREHOUSE_BOOTSTRAP_SITE_PACKAGES": str(_deps_dir(tmp_path)),
        "STUBS": str(stubs),
    }


def _bootstrap(action: dict[str, Any], env: dict[str, str], tmp: Path) -> subprocess.CompletedProcess[str]:
    """Download a bootstrap action's script from S3 and run it with its arguments, as EMR does."""
    script = tmp / Path(action["ScriptPath"]).name
    subprocess.run(["aws", "s3", "cp", "--only-show-errors", action["ScriptPath"], str(script)],
                   env=env, check=True, timeout=120)
    return subprocess.run(["bash", str(script), *action["Args"]], env=env, capture_output=True,
                          text=True, timeout=600)


def test_bootstrap_installs_and_the_step_parses_a_day(
    tmp_path: Path, moto_server: str, s3_client: Any, s3_bucket: str, env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHOP_DB_PASSWORD", "")
    monkeypatch.delenv("SHOP_DB_PASSWORD")
    conf = write_project(tmp_path, moto_server, s3_bucket)
    write_day_logs(tmp_path / "logs", [dt_day()])
    s3_client.upload_file(str(tmp_path / "logs/2015/05/18/access.log.gz"), s3_bucket,
                          "access/2015/05/18/access.log.gz")
    wheel = build_test_wheel(tmp_path / "dist")
    runner = CliRunner()
    assert runner.invoke(cli, ["--config", str(conf), "emr", "deploy", "--wheel", str(wheel)]).exit_code == 0
    created = runner.invoke(cli, ["--config", str(conf), "emr", "create"])
    assert created.exit_code == 0, created.output
    cid = created.output.splitlines()[0]
    emr = boto3.client("emr", endpoint_url=moto_server, region_name="us-east-1")
    actions = emr.list_bootstrap_actions(ClusterId=cid)["BootstrapActions"]

    master = Path(env["WAREHOUSE_BOOTSTRAP_ROOT"])
    for action in actions:
        proc = _bootstrap(action, env, tmp_path)
        assert proc.returncode == 0, proc.stderr[-3000:]
    assert "not checked at bootstrap" in proc.stderr
    exe = master / "usr/local/bin/warehouse"
    etc = master / "etc/warehouse"
    assert (etc / "files/logs.patterns/urls.json").read_bytes() == (conf.parent / "urls.json").read_bytes()
    assert stat.S_IMODE((etc / "secrets/shop_db_password").stat().st_mode) == 0o600
    # the crontab equals `cron show` of the installed toolkit with the downloaded config
    show = subprocess.run([str(exe), "--config", str(etc / "warehouse.toml"), "cron", "show"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert show.returncode == 0, show.stderr
    assert (Path(env["STUBS"]) / "crontab.table").read_text() == show.stdout
    assert str(master / "opt/warehouse/bin/warehouse") in show.stdout
    assert "SHOP_DB_PASSWORD" not in show.stdout and "s3cret" not in show.stdout
    # a second bootstrap (e.g. a re-run action) changes nothing
    again = _bootstrap(actions[0], env, tmp_path)
    assert again.returncode == 0 and "already installed" in again.stderr
    # an upgrade with the same version number (a new build): deployed anew, reinstalled
    newer = tmp_path / "newer" / wheel.name
    newer.parent.mkdir()
    shutil.copy(wheel, newer)
    with zipfile.ZipFile(newer, "a") as z:
        z.writestr("warehouse/_build_marker.py", "BUILD = 2\n")
    deployed = runner.invoke(cli, ["--config", str(conf), "emr", "deploy", "--wheel", str(newer)])
    assert deployed.exit_code == 0 and "/wheels/" in deployed.output.split("already there")[0]
    new_uri = load_deployment(load_config(conf)).wheel
    assert new_uri != actions[0]["Args"][1]
    upgrade = _bootstrap({**actions[0], "Args": ["--wheel", new_uri]}, env, tmp_path)
    assert upgrade.returncode == 0, upgrade.stderr[-2000:]
    marker = subprocess.run([str(master / "opt/warehouse/bin/python"), "-c",
                             "import warehouse._build_marker as m; print(m.BUILD)"],
                            env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert marker.stdout == "2\n", marker.stderr

    def run_on_master(step: Any) -> tuple[str, str, str]:
        args = [str(exe) if a == REMOTE_BIN else str(etc / "warehouse.toml") if a == REMOTE_CONFIG
                else a for a in step.args]
        proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
        return ("COMPLETED" if proc.returncode == 0 else "FAILED"), proc.stdout, proc.stderr

    with StepLogs(s3_client, s3_bucket, run_on_master, adopt=cid) as harness:
        res = runner.invoke(cli, ["--config", str(conf), "emr", "run", "--date", DAY, "--wait"])
    # parse (and aggregate, Glue) ok; the import cannot reach the bastion here: exit 3
    assert "parse ok" in res.output and "aggregate ok" in res.output, res.output
    assert res.exit_code == 3, res.output
    assert "[ssh.bastion]" in res.output  # the tail of the step's stderr names the failure
    assert "s3cret" not in res.output
    assert len(harness.steps) == 1
    keys = [o["Key"] for o in s3_client.list_objects_v2(
        Bucket=s3_bucket, Prefix=f"warehouse/events/dt={DAY}/").get("Contents", [])]
    assert keys and all(k.endswith(".json.gz") for k in keys)
    assert os.path.isdir(master / "opt/warehouse/lib")


def dt_day() -> Any:
    import datetime as dt

    return dt.date.fromisoformat(DAY)
