"""Configuration loading and the CLI's global behaviour."""

from __future__ import annotations

from pathlib import Path

import click
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
batch_bytes = 1000
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
        "batch_bytes must be at least 1048576",
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
    assert date_range(None, dt.date(2020, 2, 27), dt.date(2020, 2, 28)) == [
        dt.date(2020, 2, 27), dt.date(2020, 2, 28)
    ]
    with pytest.raises(click.UsageError, match="before --from"):
        date_range(None, "2020-02-27", "2020-02-01")
    with pytest.raises(click.UsageError, match="not both"):
        date_range("2020-01-01", "2020-01-01", None)
    with pytest.raises(click.UsageError, match="go together"):
        date_range(None, "2020-01-01", None)
    with pytest.raises(click.BadParameter, match="YYYY-MM-DD"):
        date_range("01/02/2020", None, None)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--date", "01/02/2020"], "Invalid value for '--date': '01/02/2020' is not a date: use YYYY-MM-DD"),
        (["aggregate", "daily_actions", "--from", "2020-02-30", "--to", "2020-03-01"], "Invalid value for '--from': '2020-02-30' is not a date"),
        (["run", "--date", "2020-01-01", "--to", "2020-01-02"], "give --date or --from/--to, not both"),
        (["run", "--from", "2020-01-02", "--to", "2020-01-01"], "--to 2020-01-01 is before --from 2020-01-02"),
        (["hive", "partitions", "-t", "events"], "give --date D, --from D --to D, or --all"),
        (["hive", "partitions", "-t", "events", "--all", "--date", "today"], "give --all or dates, not both"),
        (["hive", "query"], "give SQL or -f FILE"),
    ],
)
def test_usage_mistakes_are_exit_2_with_the_usage_line(
    tmp_path: Path, argv: list[str], message: str
) -> None:
    result = CliRunner().invoke(cli, ["--root", str(tmp_path / "root"), *argv], prog_name="warehouse")
    assert result.exit_code == 2, result.output
    command = " ".join(a for a in argv[:2] if not a.startswith("-") and a not in ("daily_actions",))
    assert f"Usage: warehouse {command} [OPTIONS]" in result.output
    assert f"Try 'warehouse {command} --help' for help.\n\nerror: {message}" in result.output
    assert "Error:" not in result.output  # one prefix: a WarehouseError's "error:"
    assert not (tmp_path / "root").exists()  # nothing ran


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bogus"], "No such option '--bogus'. Did you mean '--verbose'?"),
        (["nope"], "No such command 'nope'."),
        (["status", "extra"], "Got unexpected extra argument (extra)"),
    ],
)
def test_usage_mistakes_of_the_command_have_the_lowercase_prefix(
    args: list[str], message: str
) -> None:
    import subprocess
    import sys

    argv = [sys.executable, "-m", "warehouse.cli", *args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == "", done.stderr
    where = "warehouse" if args[0] != "status" else "warehouse status"
    usage = "[OPTIONS] COMMAND [ARGS]..." if args[0] != "status" else "[OPTIONS]"
    assert done.stderr == (
        f"Usage: {where} {usage}\nTry '{where} --help' for help.\n\nerror: {message}\n"
    )


def test_global_options_after_the_subcommand(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = tmp_path / "w.toml"
    conf.write_text('[warehouse]\nroot = "from-file"\n')
    before = CliRunner().invoke(cli, ["--config", str(conf), "--root", str(tmp_path / "a"), "config", "check"])
    after = CliRunner().invoke(cli, ["config", "check", "--config", str(conf), "--root", str(tmp_path / "a")])
    assert before.exit_code == after.exit_code == 0, after.output
    assert f'root = "{tmp_path / "a"}"' in after.output
    assert before.output == after.output
    # after the subcommand wins over before it, and over the environment
    monkeypatch.setenv("WAREHOUSE_ROOT", str(tmp_path / "env"))
    both = CliRunner().invoke(cli, ["--root", str(tmp_path / "a"), "config", "check", "--root", str(tmp_path / "b")])
    assert f'root = "{tmp_path / "b"}"' in both.output
    # `warehouse parse LOG --root DIR`: the events land under DIR
    log = tmp_path / "access.log"
    log.write_text(
        '127.0.0.1 - - [10/Oct/2023:13:55:36 +0000] "GET /a HTTP/1.1" 200 2326 "-" "curl/8"\n'
    )
    parsed = CliRunner().invoke(cli, ["parse", str(log), "--format", "combined", "--root", str(tmp_path / "p")])
    assert parsed.exit_code == 0, parsed.output
    assert list((tmp_path / "p" / "events").glob("dt=2023-10-10/*"))
    assert not (tmp_path / "env").exists()


def test_environment_variables_are_the_global_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = tmp_path / "w.toml"
    conf.write_text('[warehouse]\nroot = "from-file"\n')
    monkeypatch.setenv("WAREHOUSE_CONFIG", str(conf))
    result = CliRunner().invoke(cli, ["config", "check"])
    assert result.exit_code == 0, result.output
    assert f'root = "{tmp_path / "from-file"}"' in result.output
    monkeypatch.setenv("WAREHOUSE_ROOT", str(tmp_path / "env"))
    result = CliRunner().invoke(cli, ["config", "check"])
    assert f'root = "{tmp_path / "env"}"' in result.output
    help_text = CliRunner().invoke(cli, ["--help"]).output
    assert "WAREHOUSE_CONFIG" in help_text and "WAREHOUSE_ROOT" in help_text


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
    assert "[glue]\n" in result.stdout and 'database = "dw"  # file' in result.stdout
    assert "warning: [glue] without [hive]" in result.stderr
    assert "_latest views" in result.stderr
    conf.write_text(conf.read_text() + '[hive]\ndatabase = "dw"\n')
    result = CliRunner().invoke(cli, ["--config", str(conf), "config", "check"])
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output


def test_config_check_warns_of_a_logs_input_without_a_date(tmp_path: Path) -> None:
    conf = tmp_path / "w.toml"
    conf.write_text('[logs]\ninput = "/var/log/nginx/access.log.1"\n')
    result = CliRunner().invoke(cli, ["--config", str(conf), "config", "check"])
    assert result.exit_code == 0, result.output
    assert "warning: [logs] input '/var/log/nginx/access.log.1' has no {date:...}" in (
        result.stderr
    )
    conf.write_text('[logs]\ninput = "/var/log/nginx/access.log-{date:%Y%m%d}.gz"\n')
    result = CliRunner().invoke(cli, ["--config", str(conf), "config", "check"])
    assert result.exit_code == 0 and "warning" not in result.output, result.output


def test_verbose_after_the_subcommand(tmp_path: Path) -> None:
    import subprocess
    import sys

    argv = [sys.executable, "-m", "warehouse.cli", "cron", "show", "--root", str(tmp_path)]
    quiet = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    loud = subprocess.run([*argv, "-v"], capture_output=True, text=True, timeout=60)
    assert quiet.returncode == loud.returncode == 0, loud.stderr
    assert "INFO" not in quiet.stderr
    assert f"INFO warehouse: config: (embedded defaults); root: {tmp_path}" in loud.stderr
