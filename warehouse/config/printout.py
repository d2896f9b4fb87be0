"""`describe()`: the active configuration in TOML syntax, secrets only named."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from warehouse.config.model import Config
from warehouse.config.secret import Environment


def describe(cfg: Config, sources: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """Return the active configuration in TOML syntax: secrets are never held, only named
    (`password_file`, `password_env`), and `[cron] environment` prints as names only.

    With `sources` ({section: {key: "file" | "environment ..." | ...}}, see
    `load.value_sources`) each value ends with a comment saying where it came from (keys
    not named there are defaults); unset values print commented out."""
    lines = [f"# config file: {cfg.path or '(none: embedded defaults)'}", "[warehouse]"]
    lines.append(_line("root", cfg.root, sources, "warehouse"))
    sections: list[tuple[str, Any]] = [
        ("s3", cfg.s3),
        ("logs", cfg.logs),
        ("hive", cfg.hive),
        ("glue", cfg.glue),
        ("aggregate", cfg.aggregate),
        ("events", cfg.events),
        ("cron", cfg.cron),
        ("run", cfg.run),
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
            if f.name != "name":
                lines.append(_line(f.name, getattr(obj, f.name), sources, name))
    return "\n".join(lines)


def _line(key: str, value: Any, sources: Mapping[str, Mapping[str, str]] | None,
          section: str) -> str:
    text = f"# {key} = (unset)" if value is None else f"{key} = {toml_value(value)}"
    if sources is None:
        return text
    return f"{text}  # {sources.get(section, {}).get(key, 'default')}"


def toml_value(value: Any) -> str:
    """Return `value` written in TOML syntax (strings quoted, lists, inline tables);
    `[cron] environment` as its names only."""
    if isinstance(value, Environment):
        return "{ " + ", ".join(f"{_toml_key(k)} = \"***\"" for k in value) + " }" if value else "{}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str | Path):
        return json.dumps(str(value), ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{_toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        items = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return toml_value({k: v for k, v in items.items() if v is not None})
    return json.dumps(str(value))


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)
