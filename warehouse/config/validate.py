"""Cross-field checks of a built Config, and the secrets `[cron] environment` must not hold."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
from pathlib import Path

from warehouse.config.model import (
    IMPORT_FORMATS,
    NOTIFY_KINDS,
    NOTIFY_ON,
    Config,
    GlueConfig,
    MysqlSourceConfig,
    RunConfig,
)
from warehouse.schema import JOB_ARG_KEYS, JOB_NAMES, RUNNERS


def _glue_problems(glue: GlueConfig) -> list[str]:
    """Return what is wrong in `[glue]` (Glue's database names: lower-case, <= 255 chars)."""
    problems = []
    if not re.fullmatch(r"[a-z0-9_]{1,255}", glue.database):
        problems.append(
            f"[glue] database {glue.database!r} must be lower-case letters, digits or _"
        )
    try:
        dt.date.fromisoformat(glue.projection_start)
    except ValueError:
        problems.append(f"[glue] projection_start {glue.projection_start!r} is not YYYY-MM-DD")
    if glue.timeout_seconds <= 0:
        problems.append("[glue] timeout_seconds must be positive")
    return problems


_SNS_ARN = re.compile(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?")


def _run_problems(run: RunConfig) -> list[str]:
    """Return what is wrong in `[run]` (the notify targets and when they are used)."""
    problems = []
    for target in run.notify:
        kind, _, value = target.partition(":")
        if kind not in NOTIFY_KINDS:
            problems.append(
                f'[run] notify {target!r}: use "sns:TOPIC_ARN" or "command:/path/to/program"'
            )
        elif kind == "sns" and not _SNS_ARN.fullmatch(value):
            problems.append(
                f"[run] notify {target!r}: {value!r} is not an SNS topic ARN "
                "(arn:aws:sns:REGION:ACCOUNT:NAME)"
            )
        elif kind == "command" and not value.strip():
            problems.append(f"[run] notify {target!r}: name the program after command:")
    if run.notify_on not in NOTIFY_ON:
        problems.append(
            f"[run] notify_on must be {' or '.join(map(repr, NOTIFY_ON))}, not {run.notify_on!r}"
        )
    if run.notify_timeout_seconds <= 0:
        problems.append("[run] notify_timeout_seconds must be more than 0")
    return problems


def validate(cfg: Config) -> list[str]:
    """Return the cross-field problems of a config (empty when it is consistent)."""
    problems: list[str] = []
    if not (re.match(r"s3://[^/]+", cfg.root) or "://" not in cfg.root):
        problems.append(f"[warehouse] root {cfg.root!r} must be a local path or s3://bucket/prefix")
    if not 0.0 <= cfg.logs.max_reject_ratio <= 1.0:
        problems.append("[logs] max_reject_ratio must be between 0 and 1")
    if cfg.logs.workers < 1:
        problems.append("[logs] workers must be at least 1")
    if cfg.events.row_group_rows < 1_000:
        problems.append("[events] row_group_rows must be at least 1000")
    bounds = [("s3", cfg.s3), ("emr", cfg.emr), ("hive", cfg.hive)]
    for name, sec in bounds:
        for key in (
            "connect_timeout_seconds", "read_timeout_seconds", "timeout_seconds",
            "query_timeout_seconds",
        ):
            if sec is not None and getattr(sec, key, 1.0) <= 0:
                problems.append(f"[{name}] {key} must be more than 0")
        for key in ("max_attempts", "connect_attempts"):
            if sec is not None and getattr(sec, key, 1) < 1:
                problems.append(f"[{name}] {key} must be at least 1")
    if cfg.hive is not None:
        if cfg.hive.dialect not in ("hive", "spark"):
            problems.append(f'[hive] dialect must be "hive" or "spark", not {cfg.hive.dialect!r}')
        if cfg.hive.tunnel and cfg.hive.tunnel not in cfg.ssh:
            problems.append(f"[hive] tunnel {cfg.hive.tunnel!r} has no [ssh.{cfg.hive.tunnel}]")
    if cfg.glue is not None:
        problems.extend(_glue_problems(cfg.glue))
        if cfg.hive is not None and cfg.hive.database.lower() != cfg.glue.database:
            problems.append(
                f"[hive] database {cfg.hive.database!r} and [glue] database "
                f"{cfg.glue.database!r} differ: with both, Hive reads Glue's tables (EMR's "
                "Glue metastore), so name the same database"
            )
    problems.extend(_run_problems(cfg.run))
    unknown = [j for j in cfg.aggregate.jobs if j not in JOB_NAMES]
    if unknown:
        problems.append(
            f"[aggregate] jobs: unknown {', '.join(unknown)} (known: {', '.join(JOB_NAMES)})"
        )
    if cfg.logs.runner is not None and cfg.logs.runner not in RUNNERS:
        problems.append(f"[logs] runner {cfg.logs.runner!r} is not a mrjob runner")
    if cfg.aggregate.runner not in RUNNERS:
        problems.append(f"[aggregate] runner {cfg.aggregate.runner!r} is not a mrjob runner")
    if any(getattr(cfg.aggregate, key) < 1 for key in JOB_ARG_KEYS):
        problems.append(f"[aggregate] {' and '.join(JOB_ARG_KEYS)} must be at least 1")
    if cfg.cron.catchup_days < 1 or cfg.cron.keep_log_days < 1:
        problems.append("[cron] catchup_days and keep_log_days must be at least 1")
    if cfg.run.max_dates < 1:
        problems.append("[run] max_dates must be at least 1")
    elif cfg.cron.catchup_days > cfg.run.max_dates:
        problems.append(
            f"[cron] catchup_days {cfg.cron.catchup_days} is more than [run] max_dates "
            f"{cfg.run.max_dates}: every nightly run would be refused; lower one or raise the other"
        )
    if len(cfg.cron.schedule.split()) != 5:
        problems.append(f"[cron] schedule {cfg.cron.schedule!r} must have 5 time fields")
    for ssh in cfg.ssh.values():
        where = f"[ssh.{ssh.name}]"
        if not ssh.host:
            problems.append(f"{where} host is required")
        if not ssh.user:
            problems.append(f"{where} user is required")
        if ssh.bind_address != "auto":
            try:
                ipaddress.ip_address(ssh.bind_address)
            except ValueError:
                problems.append(
                    f'{where} bind_address {ssh.bind_address!r} is not an IP address or "auto"'
                )
        for key in ("key_file", "known_hosts"):
            value = getattr(ssh, key)
            if value and not os.access(value, os.R_OK):
                problems.append(f"{where} {key} {value} is missing or unreadable")
        if ssh.backend not in ("openssh", "paramiko"):
            problems.append(f'{where} backend must be "openssh" or "paramiko", not {ssh.backend!r}')
        if not ssh.known_hosts and not ssh.allow_unknown_host:
            problems.append(f"{where} known_hosts is required (or allow_unknown_host = true)")
    for src in cfg.mysql.values():
        where = f"[mysql.{src.name}]"
        if src.engine not in ("python", "sqoop"):
            problems.append(f'{where} engine must be "python" or "sqoop", not {src.engine!r}')
        if src.engine == "sqoop" and not release_has_sqoop(cfg.emr.release_label):
            problems.append(
                f"{where} engine sqoop: EMR {cfg.emr.release_label} has no Sqoop (removed in "
                "7.5); use engine = \"python\" or an emr-7.4 or older release"
            )
        problems.extend(_format_problems(src, where))
        if src.tunnel and src.tunnel not in cfg.ssh:
            problems.append(f"{where} tunnel {src.tunnel!r} has no [ssh.{src.tunnel}] section")
        if not src.user:
            problems.append(f"{where} user is required")
        if not src.databases:
            problems.append(f"{where} databases must list at least one database")
        if src.password_file and not os.access(src.password_file, os.R_OK):
            problems.append(f"{where} password_file {src.password_file} is missing or unreadable")
        if src.password_file and src.password_env:
            problems.append(f"{where} set password_file or password_env, not both")
        if src.driver not in ("auto", "mysqlclient", "mysql-connector", "pymysql"):
            problems.append(
                f'{where} driver must be "auto", "mysqlclient", "mysql-connector" or "pymysql"'
            )
        if src.workers < 1 or src.split_workers < 1:
            problems.append(f"{where} workers and split_workers must be at least 1")
        if src.batch_bytes < 1 << 20:
            problems.append(f"{where} batch_bytes must be at least 1048576 (1 MiB)")
    problems.extend(_emr_problems(cfg))
    return problems


def _emr_problems(cfg: Config) -> list[str]:
    """Return what is wrong in `[emr]`: counts, the idle timeout, the secret variables."""
    e = cfg.emr
    problems = []
    if e.core_instance_count < 0:
        problems.append("[emr] core_instance_count must be 0 or more")
    if e.idle_timeout_seconds and not 60 <= e.idle_timeout_seconds <= 604800:
        problems.append("[emr] idle_timeout_seconds must be 0 (never) or 60..604800 (EMR's range)")
    if e.poll_seconds <= 0:
        problems.append("[emr] poll_seconds must be more than 0")
    for key in ("artifacts_uri", "log_uri"):
        value = getattr(e, key)
        if value and not re.match(r"s3://[^/]+", value):
            problems.append(f"[emr] {key} {value!r} must be s3://bucket/prefix")
    for name, file in e.environment.items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            problems.append(f"[emr] environment: {name!r} is not a variable name")
        elif not os.access(file, os.R_OK):
            problems.append(
                f"[emr] environment {name}: the file {file} holding its value is missing or "
                "unreadable"
            )
    return problems


def release_has_sqoop(label: str) -> bool:
    """Return True when EMR release `label` ships Sqoop (up to 7.4; removed in 7.5)."""
    return not _release_at_least(label, (7, 5))


# names that hold a secret: never on the crontab line (it is /usr/bin/env's argv, shown by
# `crontab -l` and ps); a name ending in _FILE holds a path to one and is allowed, and PWD
# alone is the shell's working directory
_SECRET_NAME_RE = re.compile(
    r"PASSW|PASSPHRASE|SECRET|TOKEN|KEY|CREDENTIAL|(?:^|_)(?:PASS|PWD|PW)(?:$|_)", re.IGNORECASE
)
# a URL with a password in it: mysql://user:PW@host/db, https://u:PW@host/
_URL_PASSWORD_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:[^/\s@]+@")


def _config_passwords(cfg: Config) -> list[tuple[str, str]]:
    """Return (where, password) for each password the config reads that can be read here:
    `password_file` contents and `password_env` values in this environment."""
    found: list[tuple[str, str]] = []
    for src in cfg.mysql.values():
        where = f"[mysql.{src.name}]"
        if src.password_file:
            try:
                text = Path(src.password_file).read_text(encoding="utf-8").rstrip("\r\n")
            except (OSError, UnicodeDecodeError):
                text = ""  # reported by `validate` when the config needs it
            found.append((f"{where} password_file", text))
        if src.password_env:
            found.append((f"{where} password_env", os.environ.get(src.password_env, "")))
    if cfg.hive is not None and cfg.hive.password_env:
        found.append(("[hive] password_env", os.environ.get(cfg.hive.password_env, "")))
    return [(where, pw) for where, pw in found if pw]


def _secret_reason(key: str, value: str, named: set[str],
                   passwords: list[tuple[str, str]]) -> str | None:
    """Return why `[cron] environment` KEY=VALUE holds a secret (never quoting VALUE)."""
    if key in named:
        return "is a password_env"
    if (_SECRET_NAME_RE.search(key) and not key.upper().endswith("_FILE")
            and key.upper() != "PWD"):
        return "looks like a secret"
    if _URL_PASSWORD_RE.search(value):
        return "holds a URL with a password (user:password@)"
    for where, pw in passwords:
        if value == pw or (len(pw) >= 6 and pw in value):
            return f"holds the password of {where}"
    return None


def cron_environment_problems(cfg: Config) -> list[str]:
    """Return a problem for each `[cron] environment` variable that holds a secret: one a
    `password_env` names, one named like a secret (PASSWORD, MYSQL_PWD, DB_PASS, SECRET,
    TOKEN, ...), a URL with a password in it, or a value holding a password the config
    reads (`password_file`, `password_env`). The messages never show the value."""
    named = {s.password_env for s in cfg.mysql.values() if s.password_env}
    if cfg.hive is not None and cfg.hive.password_env:
        named.add(cfg.hive.password_env)
    passwords = _config_passwords(cfg)
    problems = []
    for key in sorted(cfg.cron.environment):
        why = _secret_reason(key, cfg.cron.environment[key], named, passwords)
        if why is not None:
            problems.append(
                f"[cron] environment {key} {why}, and its value would be on the crontab line "
                "(visible in `crontab -l` and ps): remove it and use password_file (or export "
                "it from a private file the crontab sources)"
            )
    return problems


def _release_at_least(label: str, version: tuple[int, int]) -> bool:
    m = re.match(r"^emr-(\d+)\.(\d+)", label)
    if m is None:
        return False
    return (int(m.group(1)), int(m.group(2))) >= version


def _format_problems(src: MysqlSourceConfig, where: str) -> list[str]:
    """Return what is wrong with `[mysql.NAME] format` (Parquet: the python engine only)."""
    if src.format not in IMPORT_FORMATS:
        return [f'{where} format must be "json" or "parquet", not {src.format!r}']
    if src.format == "parquet" and src.engine == "sqoop":
        return [f'{where} format = "parquet" needs engine = "python" (Sqoop writes '
                'delimited text); set engine = "python" or format = "json"']
    return []
