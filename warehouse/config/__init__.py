"""TOML configuration loaded into frozen dataclasses.

Precedence: command line > `WAREHOUSE_*` environment > file > embedded default. The file is
`--config`, else `$WAREHOUSE_CONFIG`, else `./warehouse.toml` when it exists, else none
(embedded defaults: a local `./warehouse-data` root). Relative paths in a file resolve
against the file's folder, because cron runs from `$HOME`.

Each option is declared once, as a dataclass field with its default, a `help` text and its
allowed values (`choices`) in the field metadata; `describe()` prints the active values
with secrets masked.

The package: `model` (the dataclasses), `printout` (`describe`: the active values), `load`
(reading, coercion, environment overrides), `validate` (cross-field problems, one check per
section) and `secret` (`Secret`: the passwords the config resolves, printed as a mask); the
names below are its public interface.
"""

from __future__ import annotations

from warehouse.config.load import (
    config_from_dict,
    find_config_file,
    load_config,
    load_config_and_problems,
    parse_span,
    problems_error,
    value_sources,
)
from warehouse.config.model import (
    CONFIG_ENV,
    DEFAULT_LAG,
    DEFAULT_ROOT,
    DIALECTS,
    ROOT_ENV,
    AggregateConfig,
    Config,
    CronConfig,
    Dialect,
    EmrConfig,
    EventsConfig,
    GlueConfig,
    HiveConfig,
    IncrementalConfig,
    LogsConfig,
    MysqlSourceConfig,
    RunConfig,
    S3Config,
    SshConfig,
    choices,
    one_of,
)
from warehouse.config.printout import describe
from warehouse.config.secret import Environment, Secret, apply_secret_environment
from warehouse.config.validate import cron_environment_problems, release_has_sqoop, validate
from warehouse.schema import RUNNERS

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_LAG",
    "DEFAULT_ROOT",
    "DIALECTS",
    "ROOT_ENV",
    "RUNNERS",
    "AggregateConfig",
    "Config",
    "CronConfig",
    "Dialect",
    "EmrConfig",
    "Environment",
    "EventsConfig",
    "GlueConfig",
    "HiveConfig",
    "IncrementalConfig",
    "LogsConfig",
    "MysqlSourceConfig",
    "RunConfig",
    "S3Config",
    "Secret",
    "SshConfig",
    "apply_secret_environment",
    "choices",
    "config_from_dict",
    "cron_environment_problems",
    "describe",
    "find_config_file",
    "load_config",
    "load_config_and_problems",
    "one_of",
    "parse_span",
    "problems_error",
    "release_has_sqoop",
    "validate",
    "value_sources",
]
