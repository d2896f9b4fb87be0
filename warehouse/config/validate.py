"""Cross-field checks of a built Config, and the secrets `[cron] environment` must not hold."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re

from warehouse.config.model import Config, GlueConfig
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


def validate(cfg: Config) -> list[str]:
    """Return the cross-field problems of a config (empty when it is consistent)."""
    problems: list[str] = []
    if not (re.match(r"s3://[^/]+", cfg.root) or "://" not in cfg.root):
        problems.append(f"[warehouse] root {cfg.root!r} must be a local path or s3://bucket/prefix")
    if not 0.0 <= cfg.logs.max_reject_ratio <= 1.0:
        problems.append("[logs] max_reject_ratio must be between 0 and 1")
    if cfg.logs.workers < 1:
        problems.append("[logs] workers must be at least 1")
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
    if len(cfg.cron.schedule.split()) != 5:
        problems.append(f"[cron] schedule {cfg.cron.schedule!r} must have 5 time fields")
    for ssh in cfg.ssh.values():
        where = f"[ssh.{ssh.name}]"
        if not ssh.host:
            problems.append(f"{where} host is required")
        if not ssh.user:
            problems.append(f"{where} user is required")
        try:
            addr = ipaddress.ip_address(ssh.bind_address)
        except ValueError:
            problems.append(f"{where} bind_address {ssh.bind_address!r} is not an IP address")
        else:
            del addr
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
        if src.engine == "sqoop" and _release_at_least(cfg.emr.release_label, (7, 5)):
            problems.append(
                f"{where} engine sqoop: EMR {cfg.emr.release_label} has no Sqoop (removed in "
                "7.5); use engine = \"python\" or an emr-7.4 or older release"
            )
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
    return problems


# names that hold a secret: never on the crontab line (it is /usr/bin/env's argv, shown by
# `crontab -l` and ps); a name ending in _FILE holds a path to one and is allowed
_SECRET_NAME_RE = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|KEY", re.IGNORECASE)


def cron_environment_problems(cfg: Config) -> list[str]:
    """Return a problem for each `[cron] environment` variable that holds a secret: one a
    `password_env` names, or one whose name looks like a secret (PASSWORD, SECRET, ...)."""
    named = {s.password_env for s in cfg.mysql.values() if s.password_env}
    if cfg.hive is not None and cfg.hive.password_env:
        named.add(cfg.hive.password_env)
    problems = []
    for key in sorted(cfg.cron.environment):
        secret = key in named or (
            _SECRET_NAME_RE.search(key) is not None and not key.upper().endswith("_FILE")
        )
        if secret:
            problems.append(
                f"[cron] environment {key} looks like a secret, and its value would be on the "
                "crontab line (visible in `crontab -l` and ps): remove it and use password_file "
                "(or export it from a private file the crontab sources)"
            )
    return problems


def _release_at_least(label: str, version: tuple[int, int]) -> bool:
    m = re.match(r"^emr-(\d+)\.(\d+)", label)
    if m is None:
        return False
    return (int(m.group(1)), int(m.group(2))) >= version
