"""The configuration model: one frozen dataclass per TOML section, each option declared once
(`_opt`: its default, help text and allowed values); `describe` prints the active values."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from warehouse.config.secret import Environment, Secret
from warehouse.errors import ConfigError
from warehouse.schema import GAP_MINUTES, JOB_NAMES, TOP_N, job_default

DEFAULT_ROOT = "./warehouse-data"
# the variables that name the config file and the root (read by `load`, named in --help)
CONFIG_ENV = "WAREHOUSE_CONFIG"
ROOT_ENV = "WAREHOUSE_ROOT"


def _opt(
    default: Any, help: str, *, path: bool = False, choices: tuple[str, ...] | None = None
) -> Any:
    """Declare one option: its default, its help text, whether it names a local path and
    its allowed values (`choices`, read by validation and by the CLI's click.Choice)."""
    return field(default=default, metadata={"help": help, "path": path, "choices": choices})


def choices(section: type, key: str) -> tuple[str, ...]:
    """Return the allowed values of option `key` of a section dataclass (its `_opt`
    choices); raises KeyError for an option declared without them."""
    for f in dataclasses.fields(section):
        if f.name == key and f.metadata.get("choices"):
            return tuple(f.metadata["choices"])
    raise KeyError(f"{section.__name__}.{key} declares no choices")


def one_of(values: tuple[str, ...]) -> str:
    """Return allowed values as messages name them: `"a", "b" or "c"`."""
    quoted = [f'"{v}"' for v in values]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


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
    json: Mapping[str, str] | None = _opt(
        None, 'for format "json": [logs.json] event field = "dotted.path", ts_encoding'
    )

    def format_text(self, fmt: str | None = None) -> str:
        """Return the log format to compile: `fmt` (--format) or `format`, with a bare
        `json` given its [logs.json] mapping (`json {...}`, what compile_format reads)."""
        text = fmt or self.format
        if text.strip().lower() == "json" and self.json:
            return "json " + json.dumps(self.json, sort_keys=True)
        return text


Dialect = Literal["hive", "spark"]  # the SQL the catalog speaks: `[hive] dialect`
DIALECTS: tuple[Dialect, ...] = get_args(Dialect)


@dataclass(frozen=True)
class HiveConfig:
    """`[hive]`: the HiveServer2 that holds the warehouse tables."""

    host: str = _opt("127.0.0.1", "HiveServer2 host (as seen from the tunnel, if any)")
    port: int = _opt(10000, "HiveServer2 port")
    username: str = _opt("hadoop", "user name sent to HiveServer2")
    database: str = _opt("warehouse", "database holding the warehouse tables")
    dialect: str = _opt(
        "hive", '"hive" (EMR Hive 3) or "spark" (Spark Thrift server)', choices=DIALECTS
    )
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
    max_rows: int = _opt(
        1_000_000, "`hive query`: a result with more rows fails (exit 5) instead of filling memory"
    )
    views: str | None = _opt(
        None, "folder of *.hql files, one CREATE OR REPLACE VIEW each (hive apply)", path=True
    )
    reports: str | None = _opt(
        None, "folder of *.hql files, a SELECT with ${dt} each (run materialises report_<name>)",
        path=True,
    )

    def password(self) -> Secret | None:
        """Return the password from `password_env` for LDAP/CUSTOM (None for the other
        mechanisms); raises ConfigError when it is needed and not there."""
        if self.auth not in ("LDAP", "CUSTOM"):
            return None
        if not self.password_env:
            raise ConfigError(f"[hive] auth {self.auth} needs password_env (a variable holding it)")
        value = os.environ.get(self.password_env)
        if value is None:
            raise ConfigError(f"[hive] password_env: ${self.password_env} is not set")
        return Secret(value)


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
class EventsConfig:
    """`[events]`: copies of the events besides the gzipped JSON lines."""

    parquet: bool = _opt(
        False,
        "also keep a Parquet copy of each day under events_parquet/ (run's parquet stage); "
        "agg_<job> and report tables are then STORED AS PARQUET",
    )
    row_group_rows: int = _opt(
        262_144, "rows per Parquet row group; the compaction holds about one group in memory"
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
        "openssh", '"openssh" (the system ssh -N -L, default) or "paramiko" (in process)',
        choices=("openssh", "paramiko"),
    )


DEFAULT_LAG = {"lastmodified": 900.0, "append": 1000.0}  # 15 minutes; 1000 ids


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
    engine: str = _opt(
        "python", '"python" (streaming, default) or "sqoop"', choices=("python", "sqoop")
    )
    format: str = _opt(
        "json", 'python engine: "json" (gzipped JSON lines, default) or "parquet" (zstd; '
        "types kept where Parquet and Athena can: docs/mysql.md)", choices=("json", "parquet"))
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
    batch_bytes: int = _opt(
        64 << 20, "python engine: the most bytes of rows fetched and encoded at once (memory "
        "is bounded by bytes in flight, not rows; values of 1 MiB or more go in chunks)")
    sqoop_mappers: int = _opt(4, "sqoop -m")
    read_timeout_seconds: float = _opt(600.0, "MySQL read timeout (detects a frozen bastion)")
    driver: str = _opt(
        "auto",
        '"auto" (the fastest installed), "mysqlclient", "mysql-connector" or "pymysql"',
        choices=("auto", "mysqlclient", "mysql-connector", "pymysql"),
    )
    sqoop_direct: bool = _opt(False, "sqoop --direct (mysqldump; values as mysqldump prints them)")
    sqoop_bin: str = _opt("sqoop", "the sqoop executable on the EMR master")

    def password(self) -> Secret:
        """Return the password from `password_file` or `password_env` (empty when neither
        is set); raises ConfigError."""
        if self.password_file:
            try:
                value = Path(self.password_file).read_text(encoding="utf-8").rstrip("\r\n")
            except OSError as exc:
                raise ConfigError(
                    f"[mysql.{self.name}] password_file {self.password_file} unreadable: "
                    f"{exc.strerror}; fix the path or its permissions"
                ) from None
            return Secret(value)
        if self.password_env:
            env = os.environ.get(self.password_env)
            if env is None:
                raise ConfigError(
                    f"[mysql.{self.name}] environment variable {self.password_env} is not set"
                )
            return Secret(env)
        return Secret("")


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
        default_factory=Environment,
        metadata={"help": "extra environment variables for cron (printed as names only)"},
    )
    catchup_days: int = _opt(3, "each night re-runs this many days up to yesterday (done stages skip)")
    keep_log_days: int = _opt(30, "run logs older than this are deleted weekly")


NOTIFY_KINDS = ("sns", "command")
NOTIFY_ON = ("failure", "always")


@dataclass(frozen=True)
class RunConfig:
    """`[run]`: the nightly run."""

    notify: tuple[str, ...] = _opt(
        (), 'where `run` reports its outcome: "sns:TOPIC_ARN" or "command:/path/to/program" '
        "(the text on its stdin, WAREHOUSE_RUN_EXIT in its environment)"
    )
    notify_on: str = _opt("failure", '"failure" (a run that exits non-zero) or "always"')
    notify_timeout_seconds: float = _opt(
        30.0, "bound of each notification (an SNS call, a command)"
    )
    sns_endpoint_url: str | None = _opt(None, "SNS API endpoint (test server); unset for AWS")
    max_dates: int = _opt(
        400, "the most dates one `run` may cover (a longer --from/--to is refused, exit 2)"
    )


@dataclass(frozen=True)
class EmrConfig:
    """`[emr]`: the cluster the toolkit runs on, and what `warehouse emr` deploys and launches."""

    region: str = _opt("us-east-1", "EMR region")
    endpoint_url: str | None = _opt(None, "EMR API endpoint (test server)")
    release_label: str = _opt("emr-7.4.0", "EMR release of the cluster")
    cluster_id: str | None = _opt(None, "running cluster to submit steps to")
    artifacts_uri: str | None = _opt(
        None, "s3:// prefix where `emr deploy` puts the wheel, scripts, config and secrets"
    )
    log_uri: str | None = _opt(None, "s3:// prefix of the cluster's logs (step stderr for --wait)")
    secrets_dir: str | None = _opt(
        None, "folder of password and key files; uploaded by `emr deploy`, copied to the master",
        path=True,
    )
    kms_key_id: str | None = _opt(None, "KMS key id/ARN: the secrets are uploaded with SSE-KMS")
    master_instance_type: str = _opt("m5.xlarge", "EC2 type of the master node")
    core_instance_type: str = _opt("m5.xlarge", "EC2 type of the core nodes")
    core_instance_count: int = _opt(2, "core nodes (0: the master alone)")
    subnet_id: str | None = _opt(None, "EC2 subnet of the cluster (the one that reaches MySQL)")
    key_name: str | None = _opt(None, "EC2 key pair for SSH to the master")
    service_role: str = _opt("EMR_DefaultRole", "EMR service role")
    instance_profile: str = _opt("EMR_EC2_DefaultRole", "EC2 instance profile of the nodes")
    idle_timeout_seconds: int = _opt(
        3600, "an idle long-running cluster terminates itself after this (0: never)"
    )
    tags: Mapping[str, str] = field(
        default_factory=dict, metadata={"help": "tags of the clusters `emr create` launches"}
    )
    environment: Mapping[str, str] = field(
        default_factory=Environment,
        metadata={
            "help": "secret variables: NAME = file (under secrets_dir) holding its value; "
            "set for every command when NAME is unset (password_env on the master)",
        },
    )
    poll_seconds: float = _opt(15.0, "seconds between EMR API polls of --wait")
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
    events: EventsConfig = field(default_factory=EventsConfig)
    ssh: Mapping[str, SshConfig] = field(default_factory=dict)
    mysql: Mapping[str, MysqlSourceConfig] = field(default_factory=dict)
    cron: CronConfig = field(default_factory=CronConfig)
    run: RunConfig = field(default_factory=RunConfig)
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
