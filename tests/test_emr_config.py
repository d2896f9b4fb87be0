"""The config side of issue 22: `[emr] environment` feeds `password_env` (config check, cron),
`bind_address = "auto"` resolves to the host's private address when a tunnel starts."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from click.testing import CliRunner

from warehouse.cli import cli
from warehouse.config import load_config
from warehouse.errors import ConfigError
from warehouse.tunnel.common import ForwardBase, host_private_address

CONFIG = """[warehouse]
root = "{root}"
[ssh.bastion]
host = "127.0.0.1"
user = "etl"
allow_unknown_host = true
bind_address = "auto"
[mysql.shop]
user = "etl"
password_env = "SHOP_DB_PASSWORD"
tunnel = "bastion"
databases = ["shop"]
[cron]
warehouse_bin = "/usr/local/bin/warehouse"
[emr]
secrets_dir = "secrets"
"""


@pytest.fixture(autouse=True)
def _no_password_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_DB_PASSWORD", "")
    monkeypatch.delenv("SHOP_DB_PASSWORD")


def _write(tmp: Path, extra: str = "") -> Path:
    (tmp / "secrets").mkdir(exist_ok=True)
    (tmp / "secrets" / "shop_db_password").write_text("pa55-w0rd\n")
    conf = tmp / "warehouse.toml"
    conf.write_text(CONFIG.format(root=tmp / "root") + extra)
    return conf


def test_password_env_comes_from_emr_environment(tmp_path: Path) -> None:
    bare = _write(tmp_path)
    res = CliRunner().invoke(cli, ["--config", str(bare), "config", "check"])
    assert res.exit_code == 2 and "$SHOP_DB_PASSWORD is not set" in res.output
    conf = _write(tmp_path, 'environment = { SHOP_DB_PASSWORD = "secrets/shop_db_password" }\n')
    res = CliRunner().invoke(cli, ["--config", str(conf), "config", "check"])
    assert res.exit_code == 0, res.output
    assert "pa55-w0rd" not in res.output and "SHOP_DB_PASSWORD" in res.output
    show = CliRunner().invoke(cli, ["--config", str(conf), "cron", "show"])
    assert show.exit_code == 0 and "pa55-w0rd" not in show.output
    assert "warning:" not in show.output  # no password_env warning: the CLI sets it from the file
    from warehouse.config import Secret

    assert load_config(conf).mysql["shop"].password() == Secret("pa55-w0rd")
    missing = _write(tmp_path, 'environment = { SHOP_DB_PASSWORD = "secrets/nope" }\n')
    res = CliRunner().invoke(cli, ["--config", str(missing), "config", "check"])
    assert res.exit_code == 2 and "secrets/nope holding its value is missing" in res.output


def test_bind_address_auto(tmp_path: Path) -> None:
    assert host_private_address(["127.0.0.1", "169.254.0.9", "10.0.3.17"]) == "10.0.3.17"
    with pytest.raises(ConfigError, match="no private IPv4 address"):
        host_private_address(["127.0.0.1"])
    cfg = load_config(_write(tmp_path, 'environment = { SHOP_DB_PASSWORD = "secrets/shop_db_password" }\n'))
    ssh = cfg.ssh["bastion"]
    assert ssh.bind_address == "auto"
    fwd = ForwardBase(ssh, "db.internal", 3306)  # what both backends resolve when they start
    addr = ipaddress.ip_address(fwd.bind_address)
    assert addr.is_private and not addr.is_loopback
    bad = tmp_path / "bad.toml"
    bad.write_text(CONFIG.format(root=tmp_path / "root").replace('"auto"', '"master"'))
    res = CliRunner().invoke(cli, ["--config", str(bad), "config", "check"])
    assert res.exit_code == 2 and 'is not an IP address or "auto"' in res.output
