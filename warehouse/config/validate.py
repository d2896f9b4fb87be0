"""Cross-field checks of a built Config, and the secrets `[cron] environment` must not hold."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
from pathlib import Path

from warehouse.config.model import (
    NOTIFY_KINDS,
    NOTIFY_ON,
    Config,
    HiveConfig,
    MysqlSourceConfig,
    SshConfig,
    choices,
    one_of,
)
from warehouse.schema import JOB_ARG_KEYS, JOB_NAMES, RUNNERS


def validate(cfg: Config) -> list[str]:
    """Return the cross-field problems of a config (empty when it is consistent): one check
    per section, in the order `config check` prints them (every problem at once)."""
    checks = (
        _warehouse_problems, _logs_problems, _events_problems, _bounds_problems,
        _hive_problems, _glue_problems, _run_problems, _aggregate_problems, _cron_problems,
        _ssh_problems, _mysql_problems, _emr_problems,
    )
    return [problem for check in checks for problem in check(cfg)]


def _not_allowed(
    where: str, section: type, key: str, value: str, *, name_value: bool = True
) -> list[str]:
    """Return the problem of `value` when it is not one of option `key`'s choices."""
    allowed = choices(section, key)
    if value in allowed:
        return []
    return [f"{where} {key} must be {one_of(allowed)}" + (f", not {value!r}" if name_value else "")]


def _warehouse_problems(cfg: Config) -> list[str]:
    """Return what is wrong in `[warehouse]`: the root."""
    if re.match(r"s3://[^/]+", cfg.root) or "://" not in cfg.root:
        return []
    return [f"[warehouse] root {cfg.root!r} must be a local path or s3://bucket/prefix"]


def _logs_problems(cfg: Config) -> list[str]:
    """Return what is wrong in `[logs]` (its runner is checked with `[aggregate]`'s)."""
    problems = []
    if not 0.0 <= cfg.logs.max_reject_ratio <= 1.0:
        problems.append("[logs] max_reject_ratio must be between 0 and 1")
    if cfg.logs.workers < 1:
        problems.append("[logs] workers must be at least 1")
    return problems


def _events_problems(cfg: Config) -> list[str]:
    """Return what is wrong in `[events]`."""
    if cfg.events.row_group_rows < 1_000:
        return ["[events] row_group_rows must be at least 1000"]
    return []


_TIMEOUTS = ("connect_timeout_seconds", "read_timeout_seconds", "timeout_seconds",
             "query_timeout_seconds")
_ATTEMPTS = ("max_attempts", "connect_attempts")


def _bounds_problems(cfg: Config) -> list[str]:
    """Return the timeouts and attempt counts of `[s3]`, `[emr]` and `[hive]` out of range."""
    problems = []
    for name, sec in (("s3", cfg.s3), ("emr", cfg.emr), ("hive", cfg.hive)):
        if sec is None:
            continue
        problems += [f"[{name}] {key} must be more than 0" for key in _TIMEOUTS
                     if getattr(sec, key, 1.0) <= 0]
        problems += [f"[{name}] {key} must be at least 1" for key in _ATTEMPTS
                     if getattr(sec, key, 1) < 1]
    return problems


def _hive_problems(cfg: Config) -> list[str]:
    """Return what is wrong in `[hive]`: the dialect and the tunnel."""
    hive = cfg.hive
    if hive is None:
        return []
    problems = _not_allowed("[hive]", HiveConfig, "dialect", hive.dialect)
    if hive.tunnel and hive.tunnel not in cfg.ssh:
        problems.append(f"[hive] tunnel {hive.tunnel!r} has no [ssh.{hive.tunnel}]")
    return problems


def _glue_problems(cfg: Config) -> list[str]:
    """Return what is wrong in `[glue]` (Glue's database names: lower-case, <= 255 chars;
    the same database as `[hive]`'s when both are set)."""
    glue = cfg.glue
    if glue is None:
        return []
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
    if cfg.hive is not None and cfg.hive.database.lower() != glue.database:
        problems.append(
            f"[hive] database {cfg.hive.database!r} and [glue] database "
            f"{glue.database!r} differ: with both, Hive reads Glue's tables (EMR's "
            "Glue metastore), so name the same database"
        )
    return problems


_SNS_ARN = re.compile(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?")


def _run_problems(cfg: Config) -> list[str]:
    """Return what is wrong in `[run]`'s notifications: the targets and when they are used
    (its max_dates is checked with `[cron]`, whose catch-up it bounds)."""
    run = cfg.run
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


def _aggregate_problems(cfg: Config) -> list[str]:
    """Return what is wrong in `[aggregate]`: its jobs, the mrjob runners (`[logs]`'s too)
    and the job arguments."""
    problems = []
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
    return problems


def _cron_problems(cfg: Config) -> list[str]:
    """Return what is wrong in `[cron]`, and `[run] max_dates`, which its catch-up must fit."""
    cron = cfg.cron
    problems = []
    if cron.catchup_days < 1 or cron.keep_log_days < 1:
        problems.append("[cron] catchup_days and keep_log_days must be at least 1")
    if cfg.run.max_dates < 1:
        problems.append("[run] max_dates must be at least 1")
    elif cron.catchup_days > cfg.run.max_dates:
        problems.append(
            f"[cron] catchup_days {cron.catchup_days} is more than [run] max_dates "
            f"{cfg.run.max_dates}: every nightly run would be refused; lower one or raise the other"
        )
    if len(cron.schedule.split()) != 5:
        problems.append(f"[cron] schedule {cron.schedule!r} must have 5 time fields")
    return problems


def _ssh_problems(cfg: Config) -> list[str]:
    """Return what is wrong in each `[ssh.NAME]`."""
    return [problem for ssh in cfg.ssh.values() for problem in _one_ssh_problems(ssh)]


def _one_ssh_problems(ssh: SshConfig) -> list[str]:
    """Return what is wrong in one `[ssh.NAME]`: the bastion, the bind address, the key
    and known_hosts files, the backend."""
    where = f"[ssh.{ssh.name}]"
    problems = []
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
    problems += _not_allowed(where, SshConfig, "backend", ssh.backend)
    if not ssh.known_hosts and not ssh.allow_unknown_host:
        problems.append(f"{where} known_hosts is required (or allow_unknown_host = true)")
    return problems


def _mysql_problems(cfg: Config) -> list[str]:
    """Return what is wrong in each `[mysql.NAME]`."""
    return [
        problem for src in cfg.mysql.values()
        for problem in (*_mysql_source_problems(cfg, src), *_mysql_read_problems(src))
    ]


def _mysql_source_problems(cfg: Config, src: MysqlSourceConfig) -> list[str]:
    """Return what is wrong in the source part of one `[mysql.NAME]`: the engine (and the
    EMR release it needs), the format, the tunnel, the user and the databases."""
    where = f"[mysql.{src.name}]"
    problems = _not_allowed(where, MysqlSourceConfig, "engine", src.engine)
    if src.engine == "sqoop" and not release_has_sqoop(cfg.emr.release_label):
        problems.append(
            f"{where} engine sqoop: EMR {cfg.emr.release_label} has no Sqoop (removed in "
            "7.5); use engine = \"python\" or an emr-7.4 or older release"
        )
    problems += _format_problems(src, where)
    if src.tunnel and src.tunnel not in cfg.ssh:
        problems.append(f"{where} tunnel {src.tunnel!r} has no [ssh.{src.tunnel}] section")
    if not src.user:
        problems.append(f"{where} user is required")
    if not src.databases:
        problems.append(f"{where} databases must list at least one database")
    return problems


def _mysql_read_problems(src: MysqlSourceConfig) -> list[str]:
    """Return what is wrong in how one `[mysql.NAME]` is read: the password, the driver,
    the workers and the batch size."""
    where = f"[mysql.{src.name}]"
    problems = []
    if src.password_file and not os.access(src.password_file, os.R_OK):
        problems.append(f"{where} password_file {src.password_file} is missing or unreadable")
    if src.password_file and src.password_env:
        problems.append(f"{where} set password_file or password_env, not both")
    problems += _not_allowed(where, MysqlSourceConfig, "driver", src.driver, name_value=False)
    if src.workers < 1 or src.split_workers < 1:
        problems.append(f"{where} workers and split_workers must be at least 1")
    if src.batch_bytes < 1 << 20:
        problems.append(f"{where} batch_bytes must be at least 1048576 (1 MiB)")
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
    if src.format not in choices(MysqlSourceConfig, "format"):
        return _not_allowed(where, MysqlSourceConfig, "format", src.format)
    if src.format == "parquet" and src.engine == "sqoop":
        return [f'{where} format = "parquet" needs engine = "python" (Sqoop writes '
                'delimited text); set engine = "python" or format = "json"']
    return []
