"""TOML configuration loaded into frozen dataclasses.

Precedence: command line > `WAREHOUSE_*` environment > file > embedded default. The file is
`--config`, else `$WAREHOUSE_CONFIG`, else `./warehouse.toml` when it exists, else none
(embedded defaults: a local `./warehouse-data` root). Relative paths in a file resolve
against the file's folder, because cron runs from `$HOME`.

Each option is declared once, as a dataclass field with its default and a `help` text in
the field metadata; `describe()` prints the active values with secrets masked.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warehouse.errors import ConfigError
from warehouse.schema import GAP_MINUTES, JOB_ARG_KEYS, JOB_NAMES, RUNNERS, TOP_N, job_default

DEFAULT_ROOT = "./warehouse-data"
_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_\-]*$")


def _opt(default: Any, help: str, *, path: bool = False) -> Any:
    """Declare one option: its default, its help text and whether it names a local path."""
    return field(default=default, metadata={"help": help, "path": path})


@dataclass(frozen=True)
class S3Config:
    """`[s3]`: how to reach S3 (or an S3-compatible test server)."""

    endpoint_url: str | None = _opt(None, "S3 endpoint URL; unset for AWS itself")
    region: str = _opt("us-east-1", "AWS region of the buckets")
    connect_timeout_seconds: float = _opt(10.0, "S3 connect timeout per attempt")
    read_timeout_seconds: float = _opt(30.0, "S3 read timeout per attempt (a hung endpoint)")
    max_attempts: int = _opt(3, "attempts per S3 call, the first included")


@dataclass(frozen=True)
class LogsConfig:
    """`[logs]`: where access logs are, their format, and how paths resolve."""

    input: str | None = _opt(
        None, "where `run` finds a day's logs; {date:%Y/%m/%d} is expanded", path=True
    )
    format: str = _opt("combined", "preset name or Apache/nginx LogFormat string")
    patterns: str | None = _opt(None, "URL-pattern dump from `warehouse urls dump`", path=True)
    user: str = _opt("%u", "field that identifies the user: %u, %{NAME}C or %{NAME}i")
    ip: str = _opt("%h", "client address: %h, %a or %{X-Forwarded-For}i (first hop)")
    max_reject_ratio: float = _opt(0.5, "above this share of rejected lines `parse` exits 5")
    workers: int = _opt(1, "parser processes")
    runner: str | None = _opt(
        None, "parse as a map-only mrjob job on this runner: inline, local, spark, hadoop or emr"
        " (unset: in this process)"
    )


@dataclass(frozen=True)
class HiveConfig:
    """`[hive]`: the HiveServer2 that holds the warehouse tables."""

    host: str = _opt("127.0.0.1", "HiveServer2 host (as seen from the tunnel, if any)")
    port: int = _opt(10000, "HiveServer2 port")
    username: str = _opt("hadoop", "user name sent to HiveServer2")
    database: str = _opt("warehouse", "database holding the warehouse tables")
    dialect: str = _opt("hive", '"hive" (EMR Hive 3) or "spark" (Spark Thrift server)')
    tunnel: str | None = _opt(None, "reach HiveServer2 through this [ssh.NAME] tunnel")
    auth: str = _opt("NONE", "PyHive auth mechanism: NONE, LDAP, CUSTOM or KERBEROS")
    password_env: str | None = _opt(None, "environment variable holding the Hive password")
    timeout_seconds: float = _opt(30.0, "connect timeout")
    read_timeout_seconds: float = _opt(
        120.0, "bound of every call to HiveServer2 (a hung server fails after it)"
    )
    connect_attempts: int = _opt(2, "tries to open a session before giving up (exit 3)")
    query_timeout_seconds: float = _opt(
        14400.0, "a statement still running after this is cancelled and fails (exit 5)"
    )
    views: str | None = _opt(
        None, "folder of *.hql files, one CREATE OR REPLACE VIEW each (hive apply)", path=True
    )
    reports: str | None = _opt(
        None, "folder of *.hql files, a SELECT with ${dt} each (run materialises report_<name>)",
        path=True,
    )


@dataclass(frozen=True)
class GlueConfig:
    """`[glue]`: the AWS Glue Data Catalog that holds the tables (no HiveServer2 needed)."""

    database: str = _opt("warehouse", "Glue database holding the warehouse tables")
    region: str = _opt("us-east-1", "AWS region of the catalog")
    endpoint_url: str | None = _opt(None, "Glue API endpoint (test server); unset for AWS")
    catalog_id: str | None = _opt(None, "AWS account id of the catalog; unset: the caller's")
    projection: bool = _opt(
        False, "write Athena partition projection on dt-partitioned tables (no partition calls)"
    )
    projection_start: str = _opt("2000-01-01", "first dt that partition projection covers")
    timeout_seconds: float = _opt(30.0, "connect and read timeout of each Glue call")


@dataclass(frozen=True)
class AggregateConfig:
    """`[aggregate]`: which mrjob jobs run and where."""

    runner: str = _opt("local", "mrjob runner: inline, local, spark, hadoop or emr")
    jobs: tuple[str, ...] = _opt(JOB_NAMES, "jobs that `run` executes")
    mrjob_conf: str | None = _opt(None, "mrjob.conf for the emr/hadoop runners", path=True)
    session_gap_minutes: int = _opt(job_default(GAP_MINUTES), "inactivity that splits a session")
    top_n: int = _opt(job_default(TOP_N), "values kept per (slug, param) by top_params")
    wheel: str | None = _opt(
        None, "wheel of this toolkit that the emr runner's bootstrap installs on the nodes", path=True
    )


@dataclass(frozen=True)
class SshConfig:
    """`[ssh.NAME]`: an SSH bastion used for local port forwards."""

    name: str
    host: str = _opt("", "bastion host name or address")
    port: int = _opt(22, "bastion SSH port")
    user: str = _opt("", "SSH user")
    key_file: str | None = _opt(None, "private key file", path=True)
    known_hosts: str | None = _opt(None, "known_hosts file that must hold the host key", path=True)
    bind_address: str = _opt(
        "127.0.0.1", "local address the forward listens on; the EMR master's private IP for -g"
    )
    allow_unknown_host: bool = _opt(False, "accept (and record) an unknown host key")
    keepalive_seconds: float = _opt(15.0, "keepalive probe interval; 0 disables the watchdog")
    connect_timeout_seconds: float = _opt(15.0, "TCP/SSH handshake timeout")
    backend: str = _opt(
        "openssh", '"openssh" (the system ssh -N -L, default) or "paramiko" (in process)'
    )


DEFAULT_LAG = {"lastmodified": 900.0, "append": 1000.0}  # 15 minutes; 1000 ids
_SPAN_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_span(value: Any) -> float | None:
    """Return a time span in seconds from `90`, `"90s"`, `"15m"`, `"2h"` or `"1d"` (None if bad)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if value >= 0 else None
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", value.lower())
        if m:
            return float(m.group(1)) * _SPAN_UNITS[m.group(2) or "s"]
    return None


@dataclass(frozen=True)
class IncrementalConfig:
    """One table's incremental mode: append by an id, or lastmodified by a timestamp.

    `lag` is the re-read window behind the watermark: seconds for lastmodified (a time
    column), ids for append (an integer column); `deletes` reconciles primary keys.
    """

    mode: str
    column: str
    key: str | None = None
    lag: float | None = None  # None: DEFAULT_LAG[mode]
    deletes: bool = False

    @property
    def lag_value(self) -> float:
        """Return the lag in effect (the mode's default when not set)."""
        return DEFAULT_LAG[self.mode] if self.lag is None else self.lag


@dataclass(frozen=True)
class MysqlSourceConfig:
    """`[mysql.NAME]`: one MySQL server and the tables to copy from it."""

    name: str
    host: str = _opt("127.0.0.1", "MySQL host as seen from the bastion (or directly)")
    port: int = _opt(3306, "MySQL port")
    user: str = _opt("", "MySQL user")
    password_file: str | None = _opt(None, "file holding the password", path=True)
    password_env: str | None = _opt(None, "environment variable holding the password")
    tunnel: str | None = _opt(None, "reach MySQL through this [ssh.NAME] tunnel")
    engine: str = _opt("python", '"python" (streaming, default) or "sqoop"')
    databases: tuple[str, ...] = _opt((), "databases to import")
    tables: tuple[str, ...] = _opt(("*",), 'globs matched as "db.table" or "table"')
    exclude: tuple[str, ...] = _opt((), "globs to leave out")
    incremental: Mapping[str, IncrementalConfig] = field(
        default_factory=dict,
        metadata={
            "help": '{"db.table" = {mode, column, key, lag, deletes}} for incremental loads; '
            "key defaults to the primary key; lag (re-read window) defaults to 15m for "
            "lastmodified and 1000 ids for append; deletes = true records deleted keys"
        },
    )
    workers: int = _opt(4, "tables imported at once")
    split_workers: int = _opt(1, "parallel primary-key ranges per table (separate snapshots)")
    sqoop_mappers: int = _opt(4, "sqoop -m")
    read_timeout_seconds: float = _opt(600.0, "MySQL read timeout (detects a frozen bastion)")
    driver: str = _opt(
        "auto",
        '"auto" (the fastest installed), "mysqlclient", "mysql-connector" or "pymysql"',
    )
    sqoop_direct: bool = _opt(False, "sqoop --direct (mysqldump; values as mysqldump prints them)")
    sqoop_bin: str = _opt("sqoop", "the sqoop executable on the EMR master")

    def password(self) -> str:
        """Return the password from `password_file` or `password_env`; raises ConfigError."""
        from warehouse.redact import register_secret

        if self.password_file:
            try:
                value = Path(self.password_file).read_text(encoding="utf-8").rstrip("\r\n")
            except OSError as exc:
                raise ConfigError(
                    f"[mysql.{self.name}] password_file {self.password_file} unreadable: "
                    f"{exc.strerror}; fix the path or its permissions"
                ) from None
            register_secret(value)
            return value
        if self.password_env:
            env = os.environ.get(self.password_env)
            if env is None:
                raise ConfigError(
                    f"[mysql.{self.name}] environment variable {self.password_env} is not set"
                )
            register_secret(env)
            return env
        return ""


@dataclass(frozen=True)
class CronConfig:
    """`[cron]`: the nightly schedule on the EMR master."""

    schedule: str = _opt("30 2 * * *", "crontab time fields of the nightly run (UTC)")
    log_dir: str = _opt("~/warehouse-logs", "folder of the dated run logs", path=True)
    lock_file: str = _opt(
        "~/.local/state/warehouse/run.lock",
        "flock file that prevents overlap; its folder must be writable by you only",
        path=True,
    )
    warehouse_bin: str | None = _opt(None, "absolute path of the `warehouse` executable")
    environment: Mapping[str, str] = field(
        default_factory=dict, metadata={"help": "extra environment variables for cron"}
    )
    catchup_days: int = _opt(3, "each night re-runs this many days up to yesterday (done stages skip)")
    keep_log_days: int = _opt(30, "run logs older than this are deleted weekly")


@dataclass(frozen=True)
class EmrConfig:
    """`[emr]`: the cluster the toolkit runs on."""

    region: str = _opt("us-east-1", "EMR region")
    endpoint_url: str | None = _opt(None, "EMR API endpoint (test server)")
    release_label: str = _opt("emr-7.4.0", "EMR release of the cluster")
    cluster_id: str | None = _opt(None, "running cluster to submit steps to")
    artifacts_uri: str | None = _opt(None, "s3:// prefix for the wheel and bootstrap scripts")
    connect_timeout_seconds: float = _opt(10.0, "EMR API connect timeout per attempt")
    read_timeout_seconds: float = _opt(30.0, "EMR API read timeout per attempt")
    max_attempts: int = _opt(3, "attempts per EMR API call, the first included")


@dataclass(frozen=True)
class Config:
    """The whole configuration; sections that are absent from the file are None."""

    path: Path | None = None
    root: str = DEFAULT_ROOT
    s3: S3Config = field(default_factory=S3Config)
    logs: LogsConfig = field(default_factory=LogsConfig)
    hive: HiveConfig | None = None
    glue: GlueConfig | None = None
    aggregate: AggregateConfig = field(default_factory=AggregateConfig)
    ssh: Mapping[str, SshConfig] = field(default_factory=dict)
    mysql: Mapping[str, MysqlSourceConfig] = field(default_factory=dict)
    cron: CronConfig = field(default_factory=CronConfig)
    emr: EmrConfig = field(default_factory=EmrConfig)

    @property
    def base_dir(self) -> Path:
        """Folder that relative paths resolve against: the config file's, else the cwd."""
        return self.path.parent if self.path else Path.cwd()

    @property
    def has_catalog(self) -> bool:
        """Return True when tables are registered somewhere: `[hive]` and/or `[glue]`."""
        return self.hive is not None or self.glue is not None

    def hive_or_default(self) -> HiveConfig:
        """Return `[hive]`, or the embedded defaults when the section is absent."""
        return self.hive or HiveConfig()

    def tunnel(self, name: str | None) -> SshConfig | None:
        """Return the `[ssh.NAME]` section, None for no tunnel; raises ConfigError if unknown."""
        if name is None:
            return None
        try:
            return self.ssh[name]
        except KeyError:
            raise ConfigError(f"tunnel {name!r} has no [ssh.{name}] section") from None


# ---------------------------------------------------------------------------------------
# loading


def _field_names(cls: type) -> dict[str, dataclasses.Field[Any]]:
    return {f.name: f for f in dataclasses.fields(cls) if f.name != "name"}


def _resolve_path(value: str, base: Path) -> str:
    """Resolve a local path against the config folder; URIs and ~ are kept (~ expanded)."""
    if "://" in value:
        return value
    p = Path(value).expanduser()
    return str(p if p.is_absolute() else (base / p))


def _build(
    cls: type, section: str, data: Any, base: Path, problems: list[str], **fixed: Any
) -> Any:
    """Build one section dataclass, appending every problem found to `problems`."""
    if not isinstance(data, dict):
        problems.append(f"[{section}] must be a table")
        return cls(**fixed)
    fields = _field_names(cls)
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        f = fields.get(key)
        if f is None:
            known = ", ".join(sorted(fields))
            problems.append(f"[{section}] unknown key {key!r} (known: {known})")
            continue
        kwargs[key] = _coerce(section, key, f, value, base, problems)
    try:
        obj = cls(**fixed, **{k: v for k, v in kwargs.items() if v is not _BAD})
    except TypeError as exc:  # pragma: no cover - guarded by the checks above
        problems.append(f"[{section}] {exc}")
        obj = cls(**fixed)
    return obj


_BAD = object()


def _coerce(
    section: str, key: str, f: dataclasses.Field[Any], value: Any, base: Path, problems: list[str]
) -> Any:
    default = f.default if f.default is not dataclasses.MISSING else None
    where = f"[{section}] {key}"
    if key == "incremental":
        return _incremental(where, value, problems)
    if key == "environment":
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            problems.append(f"{where} must be a table of strings")
            return _BAD
        return dict(value)
    if isinstance(default, tuple):
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problems.append(f"{where} must be a list of strings")
            return _BAD
        return tuple(value)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            problems.append(f"{where} must be true or false")
            return _BAD
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{where} must be an integer")
            return _BAD
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(f"{where} must be a number")
            return _BAD
        return float(value)
    if not isinstance(value, str):
        problems.append(f"{where} must be a string")
        return _BAD
    if f.metadata.get("path"):
        return _resolve_path(value, base)
    return value


def _incremental(where: str, value: Any, problems: list[str]) -> Any:
    if not isinstance(value, dict):
        problems.append(f"{where} must be a table of {{mode, column, key}}")
        return _BAD
    out: dict[str, IncrementalConfig] = {}
    for table, spec in value.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("column"), str):
            problems.append(f"{where}.{table} needs column = \"...\"")
            continue
        mode = spec.get("mode", "append")
        if mode not in ("append", "lastmodified"):
            problems.append(f"{where}.{table} mode must be append or lastmodified, not {mode!r}")
            continue
        extra = set(spec) - {"mode", "column", "key", "lag", "deletes"}
        if extra:
            problems.append(f"{where}.{table} unknown keys {sorted(extra)}")
        key = spec.get("key")  # default: the table's primary key (checked per table)
        if key is not None and not (isinstance(key, str) and key.strip(" ,")):
            problems.append(f'{where}.{table} key must be "col" or "col1,col2"')
            continue
        lag = _lag(f"{where}.{table}", mode, spec.get("lag"), problems)
        deletes = spec.get("deletes", False)
        if not isinstance(deletes, bool):
            problems.append(f"{where}.{table} deletes must be true or false")
            continue
        if lag is _BAD:
            continue
        out[table.lower()] = IncrementalConfig(
            mode=mode, column=spec["column"], key=key, lag=lag, deletes=deletes
        )
    return out


def _lag(where: str, mode: str, value: Any, problems: list[str]) -> Any:
    """Return the lag of one incremental table (None: the default), or _BAD."""
    if value is None:
        return None
    if mode == "append":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            problems.append(f"{where} lag must be a whole number of ids (>= 0) for append")
            return _BAD
        return float(value)
    span = parse_span(value)
    if span is None:
        problems.append(
            f'{where} lag must be a time span such as "15m", "2h", "1d" or seconds (>= 0)'
        )
        return _BAD
    return span


_SECTIONS: dict[str, type] = {
    "s3": S3Config,
    "logs": LogsConfig,
    "hive": HiveConfig,
    "glue": GlueConfig,
    "aggregate": AggregateConfig,
    "cron": CronConfig,
    "emr": EmrConfig,
}


def find_config_file(explicit: str | None) -> Path | None:
    """Return the config file to use (`--config`, `$WAREHOUSE_CONFIG`, ./warehouse.toml)."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("WAREHOUSE_CONFIG")
    if env:
        return Path(env)
    local = Path("warehouse.toml")
    return local if local.is_file() else None


def _read_file(path: str | Path | None) -> tuple[Path | None, dict[str, Any]]:
    """Return the config file in use and its parsed TOML; raises ConfigError (one line)."""
    file = find_config_file(str(path) if path else None)
    if file is None:
        return None, {}
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {file} not found; pass --config FILE") from None
    except OSError as exc:
        raise ConfigError(f"config file {file} unreadable: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"config file {file} is not UTF-8 (byte 0x{exc.object[exc.start]:02x} at offset "
            f"{exc.start}); TOML must be UTF-8: re-save it so"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {file} is not valid TOML: {exc}") from None
    return file.resolve(), data


def load_config(path: str | Path | None = None, *, root: str | None = None) -> Config:
    """Load and validate the configuration; raises ConfigError listing every problem."""
    file, data = _read_file(path)
    return config_from_dict(data, path=file, root=root)


def config_from_dict(
    data: Mapping[str, Any], *, path: Path | None = None, root: str | None = None
) -> Config:
    """Build a Config from parsed TOML; raises ConfigError listing every problem."""
    cfg, problems = _config_and_problems(data, path=path, root=root)
    if problems:
        raise ConfigError(_join(path, problems))
    return cfg


def _config_and_problems(
    data: Mapping[str, Any], *, path: Path | None, root: str | None
) -> tuple[Config, list[str]]:
    """Build a Config (defaults where a value is bad) and return it with every problem."""
    base = path.parent if path else Path.cwd()
    problems: list[str] = []
    kwargs: dict[str, Any] = {"path": path}
    for section, value in data.items():
        if section == "warehouse":
            if not isinstance(value, dict):
                problems.append("[warehouse] must be a table")
                continue
            for key, item in value.items():
                if key == "root" and isinstance(item, str):
                    kwargs["root"] = _resolve_path(item, base)
                else:
                    problems.append(f"[warehouse] unknown or invalid key {key!r}")
        elif section in _SECTIONS:
            kwargs[section] = _build(_SECTIONS[section], section, value, base, problems)
        elif section in ("ssh", "mysql"):
            cls = SshConfig if section == "ssh" else MysqlSourceConfig
            named: dict[str, Any] = {}
            if not isinstance(value, dict):
                problems.append(f"[{section}] must hold named tables like [{section}.NAME]")
                continue
            for name, sub in value.items():
                if not _NAME_RE.match(name):
                    problems.append(f"[{section}.{name}] name must be letters, digits, _ or -")
                    continue
                named[name] = _build(cls, f"{section}.{name}", sub, base, problems, name=name)
            kwargs[section] = named
        else:
            problems.append(f"unknown section [{section}]")
    env_root = os.environ.get("WAREHOUSE_ROOT")
    if root:
        kwargs["root"] = _resolve_path(root, Path.cwd())
    elif env_root:
        kwargs["root"] = _resolve_path(env_root, Path.cwd())
    elif "root" not in kwargs:
        kwargs["root"] = _resolve_path(DEFAULT_ROOT, Path.cwd())
    cfg = Config(**kwargs)
    problems.extend(validate(cfg))
    return cfg, problems


def _join(path: Path | None, problems: list[str]) -> str:
    where = f"config {path}" if path else "config"
    if len(problems) == 1:
        return f"{where}: {problems[0]}"
    return f"{where}: {len(problems)} problems: " + "; ".join(problems)


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


def describe(cfg: Config) -> str:
    """Return the active configuration as TOML-like text; secrets are never held, only named."""
    lines = [f"# config file: {cfg.path or '(none: embedded defaults)'}", "[warehouse]"]
    lines.append(f"root = {cfg.root!r}")
    sections: list[tuple[str, Any]] = [
        ("s3", cfg.s3),
        ("logs", cfg.logs),
        ("hive", cfg.hive),
        ("glue", cfg.glue),
        ("aggregate", cfg.aggregate),
        ("cron", cfg.cron),
        ("emr", cfg.emr),
    ]
    sections += [(f"ssh.{k}", v) for k, v in cfg.ssh.items()]
    sections += [(f"mysql.{k}", v) for k, v in cfg.mysql.items()]
    for name, obj in sections:
        if obj is None:
            lines.append(f"# [{name}] absent")
            continue
        lines.append(f"[{name}]")
        for f in dataclasses.fields(obj):
            if f.name == "name":
                continue
            value = getattr(obj, f.name)
            if obj is cfg.cron and f.name == "environment":
                value = {k: "***" for k in value}  # values may be secrets: names only
            lines.append(f"{f.name} = {value!r}")
    return "\n".join(lines)
