"""Loading: the TOML file, per-key type coercion, `WAREHOUSE_ROOT`, `load_config` and
`config_from_dict` (every problem found is collected; `validate` adds the cross-field ones)."""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from warehouse.config.model import (
    CONFIG_ENV,
    DEFAULT_ROOT,
    ROOT_ENV,
    AggregateConfig,
    Config,
    CronConfig,
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
)
from warehouse.config.secret import Environment
from warehouse.config.validate import validate
from warehouse.errors import ConfigError

_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_\-]*$")
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
    """Return `value` as option `key` of `[section]` holds it, or _BAD after appending why."""
    where = f"[{section}] {key}"
    if key == "incremental":
        return _incremental(where, value, problems)
    if section == "logs" and key == "json":
        # checked in full where the format compiles (warehouse.logs.jsonfmt)
        if not _string_table(value):
            problems.append('[logs.json] must be a table of event field = "dotted.path"')
            return _BAD
        return dict(value)
    if key in ("environment", "tags"):
        if not _string_table(value):
            problems.append(f"{where} must be a table of strings")
            return _BAD
        if key == "tags":
            return dict(value)
        if section == "emr":  # NAME = a file holding the secret value
            return Environment({k: _resolve_path(v, base) for k, v in value.items()})
        return Environment(value)
    return _typed(where, f, value, base, problems)


def _string_table(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


# the scalar kinds by their default's type (bool first: a bool is an int): what a TOML
# value must be, the problem otherwise, and how it is stored
_SCALARS: tuple[tuple[type, Callable[[Any], bool], str, Callable[[Any], Any]], ...] = (
    (bool, lambda v: isinstance(v, bool), "must be true or false", lambda v: v),
    (int, lambda v: isinstance(v, int) and not isinstance(v, bool), "must be an integer",
     lambda v: v),
    (float, lambda v: isinstance(v, int | float) and not isinstance(v, bool),
     "must be a number", float),
)


def _typed(
    where: str, f: dataclasses.Field[Any], value: Any, base: Path, problems: list[str]
) -> Any:
    """Return `value` coerced to the type of the option's default (a list of strings, a
    bool, an int, a float, else a string, resolved when it names a path), or _BAD."""
    default = f.default if f.default is not dataclasses.MISSING else None
    if isinstance(default, tuple):
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problems.append(f"{where} must be a list of strings")
            return _BAD
        return tuple(value)
    for kind, accepts, problem, store in _SCALARS:
        if isinstance(default, kind):
            if not accepts(value):
                problems.append(f"{where} {problem}")
                return _BAD
            return store(value)
    if not isinstance(value, str):
        problems.append(f"{where} must be a string")
        return _BAD
    return _resolve_path(value, base) if f.metadata.get("path") else value


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
    "events": EventsConfig,
    "cron": CronConfig,
    "run": RunConfig,
    "emr": EmrConfig,
}


def find_config_file(explicit: str | None) -> Path | None:
    """Return the config file to use (`--config`, `$WAREHOUSE_CONFIG`, ./warehouse.toml);
    the one place that reads `$WAREHOUSE_CONFIG` (the CLI's --help only names it)."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(CONFIG_ENV)
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


def _environment_root() -> str | None:
    """Return `$WAREHOUSE_ROOT` (None when unset or empty): the one place that reads it."""
    return os.environ.get(ROOT_ENV) or None


def value_sources(path: str | Path | None = None, *, root: str | None = None) -> dict[str, dict[str, str]]:
    """Return where each value set outside the defaults comes from, {section: {key:
    source}}: "file", "environment WAREHOUSE_ROOT" or "command line --root" (the root);
    raises ConfigError for a file that cannot be read."""
    _, data = _read_file(path)
    out: dict[str, dict[str, str]] = {}
    for section, table in data.items():
        if not isinstance(table, dict):
            continue
        if section in ("ssh", "mysql"):
            for name, sub in table.items():
                if isinstance(sub, dict):
                    out[f"{section}.{name}"] = dict.fromkeys(sub, "file")
        else:
            out[section] = dict.fromkeys(table, "file")
    env_root = _environment_root()
    if root and root != env_root:
        out.setdefault("warehouse", {})["root"] = "command line --root"
    elif root or env_root:
        out.setdefault("warehouse", {})["root"] = f"environment {ROOT_ENV}"
    return out


def load_config(path: str | Path | None = None, *, root: str | None = None) -> Config:
    """Load and validate the configuration; raises ConfigError listing every problem."""
    cfg, problems = load_config_and_problems(path, root=root)
    if problems:
        raise problems_error(cfg.path, problems)
    return cfg


def load_config_and_problems(
    path: str | Path | None = None, *, root: str | None = None
) -> tuple[Config, list[str]]:
    """Load the configuration without refusing it: return the Config (embedded defaults where
    a value is bad) and every problem found, so a caller can add its own checks and report
    them all in one line (`problems_error`). Raises ConfigError only for a file that cannot
    be read or parsed."""
    file, data = _read_file(path)
    return _config_and_problems(data, path=file, root=root)


def config_from_dict(
    data: Mapping[str, Any], *, path: Path | None = None, root: str | None = None
) -> Config:
    """Build a Config from parsed TOML; raises ConfigError listing every problem."""
    cfg, problems = _config_and_problems(data, path=path, root=root)
    if problems:
        raise problems_error(path, problems)
    return cfg


def problems_error(path: Path | None, problems: list[str]) -> ConfigError:
    """Return the one-line ConfigError of a config file's problems (all of them, `; `-joined)."""
    where = f"config {path}" if path else "config"
    if len(problems) == 1:
        return ConfigError(f"{where}: {problems[0]}")
    return ConfigError(f"{where}: {len(problems)} problems: " + "; ".join(problems))


def _config_and_problems(
    data: Mapping[str, Any], *, path: Path | None, root: str | None
) -> tuple[Config, list[str]]:
    """Build a Config (defaults where a value is bad) and return it with every problem."""
    base = path.parent if path else Path.cwd()
    problems: list[str] = []
    kwargs: dict[str, Any] = {"path": path}
    for section, value in data.items():
        if section == "warehouse":
            file_root = _file_root(value, base, problems)
            if file_root is not None:
                kwargs["root"] = file_root
        elif section in _SECTIONS:
            kwargs[section] = _build(_SECTIONS[section], section, value, base, problems)
        elif section in ("ssh", "mysql"):
            named = _named_sections(section, value, base, problems)
            if named is not None:
                kwargs[section] = named
        else:
            problems.append(f"unknown section [{section}]")
    chosen = root or _environment_root()  # --root, else $WAREHOUSE_ROOT, else the file's
    if chosen:
        kwargs["root"] = _resolve_path(chosen, Path.cwd())
    elif "root" not in kwargs:
        kwargs["root"] = _resolve_path(DEFAULT_ROOT, Path.cwd())
    cfg = Config(**kwargs)
    problems.extend(validate(cfg))
    return cfg, problems


def _file_root(value: Any, base: Path, problems: list[str]) -> str | None:
    """Return the root `[warehouse]` sets (None: not set), appending its problems."""
    if not isinstance(value, dict):
        problems.append("[warehouse] must be a table")
        return None
    found = None
    for key, item in value.items():
        if key == "root" and isinstance(item, str):
            found = _resolve_path(item, base)
        else:
            problems.append(f"[warehouse] unknown or invalid key {key!r}")
    return found


def _named_sections(
    section: str, value: Any, base: Path, problems: list[str]
) -> dict[str, Any] | None:
    """Return the `[ssh.NAME]` or `[mysql.NAME]` tables built (None when `[section]` is not
    a table of them), appending their problems."""
    if not isinstance(value, dict):
        problems.append(f"[{section}] must hold named tables like [{section}.NAME]")
        return None
    cls = SshConfig if section == "ssh" else MysqlSourceConfig
    named: dict[str, Any] = {}
    for name, sub in value.items():
        if not _NAME_RE.match(name):
            problems.append(f"[{section}.{name}] name must be letters, digits, _ or -")
            continue
        named[name] = _build(cls, f"{section}.{name}", sub, base, problems, name=name)
    return named
