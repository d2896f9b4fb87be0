"""Configuration loading and the CLI's global behaviour."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from warehouse.cli import cli, date_range
from warehouse.config import load_config
from warehouse.errors import ConfigError, combined_exit_code

REPO = Path(__file__).resolve().parent.parent


def test_example_config_is_valid() -> None:
    cfg = load_config(REPO / "conf" / "warehouse.example.toml")
    assert cfg.logs.format == "combined"
    # relative paths resolve against the config file's folder
    assert cfg.root == str(REPO / "conf" / "warehouse-data")


def test_env_and_cli_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "w.toml"
    f.write_text('[warehouse]\nroot = "data"\n')
    monkeypatch.setenv("WAREHOUSE_CONFIG", str(f))
    assert load_config().root == str(tmp_path / "data")
    monkeypatch.setenv("WAREHOUSE_ROOT", "s3://b/p")
    assert load_config().root == "s3://b/p"
    assert load_config(root=str(tmp_path / "cli")).root == str(tmp_path / "cli")


def test_every_problem_reported_at_once(tmp_path: Path) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(
        """
[logs]
workers = "two"
colour = 1
[aggregate]
jobs = ["daily_actions", "nope"]
[ssh.b]
host = "h"
user = "u"
bind_address = "not-an-ip"
key_file = "missing_key"
known_hosts = "missing_kh"
[mysql.shop]
user = "etl"
databases = ["shop"]
tunnel = "nowhere"
engine = "sqoop"
[emr]
release_label = "emr-7.5.0"
[bogus]
"""
    )
    with pytest.raises(ConfigError) as err:
        load_config(f)
    text = str(err.value)
    for needle in [
        "workers must be an integer",
        "unknown key 'colour'",
        "unknown nope",
        "not-an-ip",
        "missing_key is missing",
        "missing_kh is missing",
        "tunnel 'nowhere'",
        "no Sqoop",
        "unknown section [bogus]",
    ]:
        assert needle in text
    assert "\n" not in text


def test_config_check_exit_code(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[logs\n")
    result = CliRunner().invoke(cli, ["--config", str(bad), "config", "check"])
    assert result.exit_code == 2
    assert "not valid TOML" in result.output
    good = tmp_path / "good.toml"
    good.write_text('[warehouse]\nroot = "x"\n')
    result = CliRunner().invoke(cli, ["--config", str(good), "config", "check"])
    assert result.exit_code == 0, result.output
    assert "config check: ok" in result.output


def test_missing_config_file_is_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "nope.toml"), "config", "check"])
    assert result.exit_code == 2
    assert "not found" in result.output


def test_date_range() -> None:
    import datetime as dt

    assert date_range("2020-01-31", None, None) == [dt.date(2020, 1, 31)]
    assert len(date_range(None, "2020-02-27", "2020-03-01")) == 4
    with pytest.raises(ConfigError):
        date_range(None, "2020-02-27", "2020-02-01")
    with pytest.raises(ConfigError):
        date_range("2020-01-01", "2020-01-01", None)
    with pytest.raises(ConfigError):
        date_range("01/02/2020", None, None)


def test_combined_exit_code() -> None:
    assert combined_exit_code([0, 0]) == 0
    assert combined_exit_code([5, 3]) == 3
    assert combined_exit_code([5, 4, 2]) == 2
    assert combined_exit_code([5, 5]) == 5


def test_config_check_refuses_what_commands_refuse(tmp_path: Path) -> None:
    """`[logs] runner = "emr"` with a local root fails `config check` as it fails `parse`;
    an s3:// root without a bucket fails too."""
    conf = tmp_path / "w.toml"
    conf.write_text(f'[warehouse]\nroot = "{tmp_path / "root"}"\n[logs]\nrunner = "emr"\n')
    result = CliRunner().invoke(cli, ["--config", str(conf), "config", "check"])
    assert result.exit_code == 2, result.output
    assert "[logs] runner emr" in result.output and "use an s3:// root" in result.output
    conf.write_text('[warehouse]\nroot = "s3://"\n')
    result = CliRunner().invoke(cli, ["--config", str(conf), "config", "check"])
    assert result.exit_code == 2, result.output
    assert "[warehouse] root 's3://' must be a local path or s3://bucket/prefix" in result.output
    result = CliRunner().invoke(cli, ["--config", str(conf), "--root", "s3://b", "config", "check"])
    assert result.exit_code == 0, result.output


def test_config_check_shows_glue_and_warns_without_hive(tmp_path: Path) -> None:
    conf = tmp_path / "w.toml"
    conf.write_text('[warehouse]\nroot = "s3://b/w"\n[glue]\ndatabase = "dw"\n')
    result = CliRunner().invoke(cli, ["--config", str(conf), "config", "check"])
    assert result.exit_code == 0, result.output
    assert "[glue]\n" in result.stdout and "database = 'dw'" in result.stdout
    assert "warning: [glue] without [hive]" in result.stderr
    assert "_latest views" in result.stderr
    conf.write_text(conf.read_text() + '[hive]\ndatabase = "dw"\n')
    result = CliRunner().invoke(cli, ["--config", str(conf), "config", "check"])
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output
