"""A user's project folder for the `warehouse emr` tests: a config on an S3 root (moto),
Glue, one MySQL source through a bastion with password_env (its value from `[emr]
environment`), bind_address = "auto", URL patterns, views and reports folders, secrets."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests._fake_emr import FakeEmr
from tests.fixtures._util import free_port

REPO = Path(__file__).resolve().parent.parent
WAREHOUSE_BIN = Path(sys.executable).parent / "warehouse"


def build_test_wheel(out: Path) -> Path:
    """Build this project's wheel offline (hatchling, a test dependency)."""
    from warehouse.emr import build_wheel

    out.mkdir(parents=True, exist_ok=True)
    return build_wheel(out)


def write_project(tmp: Path, moto: str, bucket: str, *, kms_key_id: str | None = None,
                  mysql: bool = True, extra: str = "") -> Path:
    """Write the project under `tmp/project`; return the config file."""
    from tests.test_pipeline import PATTERNS

    proj = tmp / "project"
    (proj / "views").mkdir(parents=True)
    (proj / "reports").mkdir()
    (proj / "secrets").mkdir()
    (proj / "urls.json").write_text(json.dumps(PATTERNS))
    (proj / "views" / "daily_hits.hql").write_text(
        "CREATE OR REPLACE VIEW daily_hits AS SELECT dt, count(*) AS n FROM events GROUP BY dt\n"
    )
    (proj / "reports" / "top.hql").write_text("SELECT slug, count(*) AS n FROM events WHERE dt = '${dt}' GROUP BY slug\n")
    (proj / "secrets" / "etl_ed25519").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n")
    (proj / "secrets" / "known_hosts").write_text(f"[127.0.0.1]:{free_port()} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI\n")
    (proj / "secrets" / "shop_db_password").write_text("s3cret-pa55\n")
    kms = f'kms_key_id = "{kms_key_id}"\n' if kms_key_id else ""
    mysql_text = f"""
[ssh.bastion]
host = "127.0.0.1"
port = {free_port()}
user = "etl"
key_file = "secrets/etl_ed25519"
known_hosts = "secrets/known_hosts"
bind_address = "auto"

[mysql.shop]
host = "db.internal"
user = "etl"
password_env = "SHOP_DB_PASSWORD"
tunnel = "bastion"
databases = ["shop"]
""" if mysql else ""
    env = '\nenvironment = { SHOP_DB_PASSWORD = "secrets/shop_db_password" }' if mysql else ""
    cfg = proj / "warehouse.toml"
    cfg.write_text(f"""[warehouse]
root = "s3://{bucket}/warehouse"

[s3]
endpoint_url = "{moto}"

[logs]
input = "s3://{bucket}/access/{{date:%Y/%m/%d}}/"
patterns = "urls.json"

[glue]
database = "warehouse"
endpoint_url = "{moto}"

[aggregate]
runner = "inline"
jobs = ["daily_actions"]
{mysql_text}
[cron]
log_dir = "/var/log/warehouse"
lock_file = "/tmp/warehouse-emr-test/run.lock"

[emr]
endpoint_url = "{moto}"
release_label = "emr-7.4.0"
artifacts_uri = "s3://{bucket}/artifacts"
log_uri = "s3://{bucket}/emr-logs/"
secrets_dir = "secrets"
core_instance_count = 1
poll_seconds = 0.05
tags = {{ team = "data" }}{env}
{kms}{extra}""")
    return cfg


def cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed `warehouse` (the production entry point) in a subprocess."""
    return subprocess.run([str(WAREHOUSE_BIN), *args], capture_output=True, text=True,
                          timeout=600, env=env, cwd=cwd)


class StepLogs(FakeEmr):
    """Finish each step with `outcome(step)` -> (state, stdout, stderr), writing the logs
    where EMR copies them: LOG_URI/CLUSTER/steps/STEP/{stdout,stderr}.gz."""

    def __init__(self, s3: Any, bucket: str, outcome: Any, *, adopt: str = "") -> None:
        super().__init__()
        self.s3, self.bucket, self.outcome = s3, bucket, outcome
        self.steps: list[Any] = []
        self.adopt = adopt  # a cluster created before the harness started, whose steps it runs

    def __enter__(self) -> Any:
        super().__enter__()
        self._before.discard(self.adopt)
        return self

    def run_step(self, cluster: Any, step: Any, steps: list[Any]) -> None:
        state, out, err = self.outcome(step)
        self.steps.append(step)
        for name, text in (("stdout", out), ("stderr", err)):
            key = f"emr-logs/{cluster.id}/steps/{step.id}/{name}.gz"
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=gzip.compress(text.encode()))
        if state != "COMPLETED":
            raise RuntimeError(state)  # FakeEmr marks the step FAILED
