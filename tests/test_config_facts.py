"""One declaration per fact: the allowed values of an option, read by validation and by the
CLI's click.Choice, and `validate`'s one check per section reporting every problem in the
order `config check` has always printed them."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from warehouse.cli import cli
from warehouse.config import (
    HiveConfig,
    MysqlSourceConfig,
    SshConfig,
    choices,
    load_config_and_problems,
)

# a problem in every section that has a check, several in most
BAD = """[warehouse]
root = "http://x/y"
[s3]
connect_timeout_seconds = 0
max_attempts = 0
[logs]
max_reject_ratio = 2.0
workers = 0
runner = "nope"
[events]
row_group_rows = 5
[hive]
dialect = "presto"
tunnel = "gone"
database = "Other"
timeout_seconds = -1
query_timeout_seconds = 0
connect_attempts = 0
[glue]
database = "Bad-DB"
projection_start = "2020-13-01"
timeout_seconds = 0
[aggregate]
jobs = ["sessions", "bogus"]
runner = "weird"
top_n = 0
[cron]
catchup_days = 0
schedule = "1 2 3"
[run]
notify = ["sns:nope", "command: ", "mail:x"]
notify_on = "sometimes"
notify_timeout_seconds = 0
max_dates = 0
[emr]
release_label = "emr-7.5.0"
core_instance_count = -1
idle_timeout_seconds = 5
poll_seconds = 0
artifacts_uri = "http://a"
log_uri = "nope"
read_timeout_seconds = 0
environment = { "1BAD" = "/x", GOOD = "/nonexistent/file" }
[ssh.b1]
host = ""
bind_address = "not-ip"
key_file = "/nonexistent/key"
backend = "putty"
[ssh.b2]
host = "h"
user = "u"
known_hosts = "/nonexistent/kh"
backend = "paramiko"
[mysql.m1]
engine = "sqoop"
tunnel = "missing"
password_file = "/nonexistent/pw"
password_env = "X_PW"
driver = "odbc"
workers = 0
batch_bytes = 10
[mysql.m2]
engine = "perl"
user = "u"
databases = ["d"]
driver = "pymysql"
"""

EXPECTED = [
    "[warehouse] root 'http://x/y' must be a local path or s3://bucket/prefix",
    "[logs] max_reject_ratio must be between 0 and 1",
    "[logs] workers must be at least 1",
    "[events] row_group_rows must be at least 1000",
    "[s3] connect_timeout_seconds must be more than 0",
    "[s3] max_attempts must be at least 1",
    "[emr] read_timeout_seconds must be more than 0",
    "[hive] timeout_seconds must be more than 0",
    "[hive] query_timeout_seconds must be more than 0",
    "[hive] connect_attempts must be at least 1",
    "[hive] dialect must be \"hive\" or \"spark\", not 'presto'",
    "[hive] tunnel 'gone' has no [ssh.gone]",
    "[glue] database 'Bad-DB' must be lower-case letters, digits or _",
    "[glue] projection_start '2020-13-01' is not YYYY-MM-DD",
    "[glue] timeout_seconds must be positive",
    "[hive] database 'Other' and [glue] database 'Bad-DB' differ: with both, Hive reads Glue's tables (EMR's Glue metastore), so name the same database",
    "[run] notify 'sns:nope': 'nope' is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)",
    "[run] notify 'command: ': name the program after command:",
    "[run] notify 'mail:x': use \"sns:TOPIC_ARN\" or \"command:/path/to/program\"",
    "[run] notify_on must be 'failure' or 'always', not 'sometimes'",
    "[run] notify_timeout_seconds must be more than 0",
    "[aggregate] jobs: unknown bogus (known: daily_actions, sessions, top_params)",
    "[logs] runner 'nope' is not a mrjob runner",
    "[aggregate] runner 'weird' is not a mrjob runner",
    "[aggregate] session_gap_minutes and top_n must be at least 1",
    "[cron] catchup_days and keep_log_days must be at least 1",
    "[run] max_dates must be at least 1",
    "[cron] schedule '1 2 3' must have 5 time fields",
    "[ssh.b1] host is required",
    "[ssh.b1] user is required",
    "[ssh.b1] bind_address 'not-ip' is not an IP address or \"auto\"",
    "[ssh.b1] key_file /nonexistent/key is missing or unreadable",
    "[ssh.b1] backend must be \"openssh\" or \"paramiko\", not 'putty'",
    "[ssh.b1] known_hosts is required (or allow_unknown_host = true)",
    "[ssh.b2] known_hosts /nonexistent/kh is missing or unreadable",
    "[mysql.m1] engine sqoop: EMR emr-7.5.0 has no Sqoop (removed in 7.5); use engine = \"python\" or an emr-7.4 or older release",
    "[mysql.m1] tunnel 'missing' has no [ssh.missing] section",
    "[mysql.m1] user is required",
    "[mysql.m1] databases must list at least one database",
    "[mysql.m1] password_file /nonexistent/pw is missing or unreadable",
    "[mysql.m1] set password_file or password_env, not both",
    "[mysql.m1] driver must be \"auto\", \"mysqlclient\", \"mysql-connector\" or \"pymysql\"",
    "[mysql.m1] workers and split_workers must be at least 1",
    "[mysql.m1] batch_bytes must be at least 1048576 (1 MiB)",
    "[mysql.m2] engine must be \"python\" or \"sqoop\", not 'perl'",
    "[emr] core_instance_count must be 0 or more",
    "[emr] idle_timeout_seconds must be 0 (never) or 60..604800 (EMR's range)",
    "[emr] poll_seconds must be more than 0",
    "[emr] artifacts_uri 'http://a' must be s3://bucket/prefix",
    "[emr] log_uri 'nope' must be s3://bucket/prefix",
    "[emr] environment: '1BAD' is not a variable name",
    "[emr] environment GOOD: the file /nonexistent/file holding its value is missing or unreadable",
]


def test_every_problem_in_the_order_config_check_prints_them(tmp_path: Path) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(BAD)
    _, problems = load_config_and_problems(f)
    assert problems == EXPECTED


def test_config_check_prints_them_in_one_line(tmp_path: Path) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(BAD)
    res = CliRunner().invoke(cli, ["--config", str(f), "config", "check"])
    assert res.exit_code == 2
    assert "; ".join(EXPECTED) in res.output


def test_choices_are_read_where_the_option_is_declared() -> None:
    from warehouse.hive.render import DIALECTS
    from warehouse.mysql.connect import DRIVERS
    from warehouse.tunnel import BACKENDS

    assert choices(HiveConfig, "dialect") == DIALECTS == ("hive", "spark")
    assert choices(SshConfig, "backend") == BACKENDS == ("openssh", "paramiko")
    assert choices(MysqlSourceConfig, "driver") == DRIVERS
    assert DRIVERS == ("auto", "mysqlclient", "mysql-connector", "pymysql")
    assert choices(MysqlSourceConfig, "engine") == ("python", "sqoop")


def test_import_engine_choice_is_the_configs(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["--root", str(tmp_path), "import", "--engine", "perl"])
    assert res.exit_code == 2
    assert "'perl' is not one of 'python', 'sqoop'" in res.output
    help_text = CliRunner().invoke(cli, ["import", "--help"], terminal_width=200).output
    assert "--engine [python|sqoop]" in help_text
