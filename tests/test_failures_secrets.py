"""No secret in any output at any verbosity: real boto3 with a session token against moto,
and a MySQL password from the environment against MariaDB, through the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.test_pipeline import DAY1, PATTERNS, write_day_logs

WAREHOUSE_BIN = str(Path(sys.executable).parent / "warehouse")
KEY_ID = "AKIAWAREHOUSETEST0001"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYwarehouseKEY"
TOKEN = "FQoGZXIvYXdzEJr//////////wEaDwarehouseSESSIONtoken+abc/def=="
DB_PASSWORD = "db-Pa55word-that-must-not-leak"
VERBOSITY = ([], ["-v"], ["-vv"])


def _run(conf: Path, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [WAREHOUSE_BIN, "--config", str(conf), *args],
        capture_output=True, text=True, timeout=300, env={**os.environ, **env},
    )


def _assert_clean(proc: subprocess.CompletedProcess[str], *secrets: str) -> None:
    text = proc.stdout + proc.stderr
    for secret in secrets:
        assert secret not in text
        # nor a recognisable piece of it (the token's tail, the key's tail)
        assert secret[-16:] not in text


@pytest.mark.parametrize("verbosity", VERBOSITY, ids=["quiet", "v", "vv"])
def test_aws_keys_and_session_token_never_logged(
    tmp_path: Path, moto_server: str, s3_client: Any, s3_bucket: str, verbosity: list[str]
) -> None:
    import json

    write_day_logs(tmp_path / "logs", [DAY1])
    patterns = tmp_path / "urls.json"
    patterns.write_text(json.dumps(PATTERNS))
    conf = tmp_path / "w.toml"
    conf.write_text(
        f'[warehouse]\nroot = "s3://{s3_bucket}/wh"\n'
        f'[s3]\nendpoint_url = "{moto_server}"\nregion = "us-east-1"\n'
        f'[logs]\npatterns = "{patterns}"\n'
    )
    env = {"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
           "AWS_SESSION_TOKEN": TOKEN}
    log = tmp_path / "logs" / DAY1.strftime("%Y/%m/%d") / "access.log.gz"
    parse = _run(conf, [*verbosity, "parse", str(log)], env)
    assert parse.returncode == 0, parse.stderr[-2000:]
    agg = _run(conf, [*verbosity, "aggregate", "daily_actions", "--date", str(DAY1), "-r", "inline"], env)
    assert agg.returncode == 0, agg.stderr[-2000:]
    missing = _run(conf, [*verbosity, "--root", "s3://no-such-bucket-x/wh", "parse", str(log)], env)
    assert missing.returncode == 3
    for proc in (parse, agg, missing):
        _assert_clean(proc, KEY_ID, SECRET_KEY, TOKEN)
    if verbosity == ["-vv"]:
        # the debug output that used to carry them is there, masked
        assert "x-amz-security-token:****" in parse.stderr.lower()
        assert "'Authorization': b'****'" in agg.stderr or "Authorization': ****" in agg.stderr


@pytest.mark.parametrize("verbosity", VERBOSITY, ids=["quiet", "v", "vv"])
def test_mysql_password_from_the_environment_never_logged(
    tmp_path: Path, mariadb: Any, verbosity: list[str]
) -> None:
    db = mariadb.create_database("secretsdb")
    mariadb.execute("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))", database=db)
    mariadb.execute("INSERT INTO t VALUES (1, 'a'), (2, 'b')", database=db)
    mariadb.create_user("wh_secrets", DB_PASSWORD, db)
    conf = tmp_path / "w.toml"
    conf.write_text(
        f'[warehouse]\nroot = "{tmp_path / "root"}"\n'
        f'[mysql.src]\nhost = "{mariadb.host}"\nport = {mariadb.port}\nuser = "wh_secrets"\n'
        f'password_env = "WH_TEST_DB_PASSWORD"\ndatabases = ["{db}"]\n'
    )
    ok = _run(conf, [*verbosity, "import"], {"WH_TEST_DB_PASSWORD": DB_PASSWORD})
    assert ok.returncode == 0, ok.stdout + ok.stderr[-2000:]
    wrong = _run(conf, [*verbosity, "import"], {"WH_TEST_DB_PASSWORD": DB_PASSWORD + "-wrong"})
    assert wrong.returncode == 3, wrong.stderr[-2000:]  # MariaDB refused the login: unavailable
    for proc in (ok, wrong):
        _assert_clean(proc, DB_PASSWORD)
