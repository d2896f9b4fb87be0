"""The config as the EMR master gets it: the files it names gathered beside it, its relative
paths rewritten so they resolve there, and its secrets apart (`[emr] secrets_dir`).

On the master the bundle lands in /etc/warehouse/: `warehouse.toml`, `files/<where>/...`
(URL patterns, views and reports folders, mrjob.conf, known_hosts outside the secrets) and
`secrets/...` (the whole secrets_dir). A path that names a secret (`key_file`,
`password_file`, `[emr] environment` files) must lie under secrets_dir, so that it travels
with the secrets (SSE-KMS) and never with the config. Paths the master writes to
(`[cron] log_dir`, `lock_file`) or reads logs from (`[logs] input`) keep the text the file
has. Pure apart from reading the named files; nothing here talks to S3.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warehouse.config import Config
from warehouse.errors import ConfigError

CONFIG_NAME = "warehouse.toml"
SECRETS = "secrets"
# (section, key) of the files a config names that the master needs beside its config
_FILES = (("logs", "patterns"), ("hive", "views"), ("hive", "reports"),
          ("aggregate", "mrjob_conf"), ("aggregate", "wheel"))
_NAMED_FILES = {"ssh": ("known_hosts",)}
_NAMED_SECRETS = {"ssh": ("key_file",), "mysql": ("password_file",)}


@dataclass
class Bundle:
    """What goes to the master: config-bundle files (relative path -> bytes, the rewritten
    config among them) and the secret files (relative path -> local path)."""

    files: dict[str, bytes] = field(default_factory=dict)
    secrets: dict[str, Path] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        """Return the content digest of the config bundle (not of the secrets)."""
        return tree_digest(self.files)

    def secrets_digest(self) -> str:
        """Return the content digest of the secret files (read now)."""
        return tree_digest({k: p.read_bytes() for k, p in self.secrets.items()})


def tree_digest(files: dict[str, bytes]) -> str:
    """Return a sha256 over sorted (relative path, content digest) pairs: 16 hex digits."""
    h = hashlib.sha256()
    for rel in sorted(files):
        h.update(rel.encode() + b"\0" + hashlib.sha256(files[rel]).digest())
    return h.hexdigest()[:16]


def build_bundle(cfg: Config) -> Bundle:
    """Return the bundle of `cfg`'s file; raises ConfigError naming a missing file or a
    secret outside `[emr] secrets_dir`."""
    if cfg.path is None:
        raise ConfigError("emr: give the config file (--config FILE): it is what the cluster runs")
    raw = tomllib.loads(cfg.path.read_text(encoding="utf-8"))
    bundle = Bundle()
    secrets_dir = Path(cfg.emr.secrets_dir) if cfg.emr.secrets_dir else None
    if secrets_dir is not None:
        _add_secrets(bundle, secrets_dir)
        raw["emr"]["secrets_dir"] = SECRETS
    _rewrite_paths(cfg, raw, _Rewrite(bundle, secrets_dir))
    head = f"# written by `warehouse emr deploy` from {cfg.path.name}; edit that file, not this one\n"
    text = head + dump_toml(raw)
    bundle.files[CONFIG_NAME] = text.encode("utf-8")
    return bundle


def _add_secrets(bundle: Bundle, secrets_dir: Path) -> None:
    """Add every file under `secrets_dir` to the bundle's secrets; raises ConfigError when
    it is not a folder."""
    if not secrets_dir.is_dir():
        raise ConfigError(f"[emr] secrets_dir {secrets_dir} is not a folder; create it or fix the path")
    for p in sorted(secrets_dir.rglob("*")):
        if p.is_file():
            bundle.secrets[p.relative_to(secrets_dir).as_posix()] = p


def _rewrite_paths(cfg: Config, raw: dict[str, Any], ctx: _Rewrite) -> None:
    """Rewrite in `raw` (the parsed config file) each path the master needs to where the
    bundle puts its file; raises ConfigError as `_Rewrite` does."""
    for section, key in _FILES:
        value = getattr(getattr(cfg, section), key, None) if getattr(cfg, section) else None
        if value:
            raw[section][key] = ctx.plain(f"{section}.{key}", value)
    for section, keys in (*_NAMED_FILES.items(), *_NAMED_SECRETS.items()):
        for name, sub in getattr(cfg, section).items():
            for key in keys:
                value = getattr(sub, key)
                if not value:
                    continue
                where = f"{section}.{name}.{key}"
                secret = key in _NAMED_SECRETS.get(section, ())
                raw[section][name][key] = ctx.secret(where, value) if secret else ctx.plain(where, value)
    for var, file in cfg.emr.environment.items():
        raw["emr"]["environment"][var] = ctx.secret(f"emr.environment.{var}", file)


class _Rewrite:
    """Rewrites one path value and records the files it brings into the bundle."""

    def __init__(self, bundle: Bundle, secrets_dir: Path | None) -> None:
        self.bundle = bundle
        self.secrets_dir = secrets_dir

    def _in_secrets(self, path: Path) -> str | None:
        if self.secrets_dir is None:
            return None
        try:
            return path.resolve().relative_to(self.secrets_dir.resolve()).as_posix()
        except ValueError:
            return None

    def secret(self, where: str, value: str) -> str:
        rel = self._in_secrets(Path(value))
        if rel is None:
            home = self.secrets_dir or "(unset)"
            raise ConfigError(
                f"[{where.rsplit('.', 1)[0]}] {where.rsplit('.', 1)[1]} {value} is not under "
                f"[emr] secrets_dir {home}: move the file there (and set secrets_dir) so that "
                "`emr deploy` uploads it with the secrets"
            )
        if not Path(value).is_file():
            raise ConfigError(f"[{where}] {value} does not exist; create it before `emr deploy`")
        return f"{SECRETS}/{rel}"

    def plain(self, where: str, value: str) -> str:
        if "://" in value:
            return value
        path = Path(value)
        rel = self._in_secrets(path)
        if rel is not None:
            return f"{SECRETS}/{rel}"
        target = f"files/{where}"
        if path.is_file():
            self.bundle.files[f"{target}/{path.name}"] = path.read_bytes()
            return f"{target}/{path.name}"
        if path.is_dir():
            for p in sorted(path.rglob("*")):
                if p.is_file() and not p.name.startswith("."):
                    self.bundle.files[f"{target}/{p.relative_to(path).as_posix()}"] = p.read_bytes()
            return target
        raise ConfigError(f"[{where}] {value} does not exist; fix the path before `emr deploy`")


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(k: str) -> str:
    return k if _BARE_KEY.match(k) else _string(k)


def _string(s: str) -> str:
    # JSON's escapes are TOML's (\uXXXX for control characters); DEL must be escaped too
    return json.dumps(s, ensure_ascii=False).replace("\x7f", "\\u007f")


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        return ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + "}"
    raise ConfigError(f"emr deploy: cannot rewrite a config value of type {type(v).__name__}")


def dump_toml(data: dict[str, Any]) -> str:
    """Return TOML for a parsed config (tables of tables; nested tables inline), checked by
    parsing it back; raises ConfigError for a value TOML cannot carry here."""
    lines: list[str] = []

    def table(header: str, body: dict[str, Any]) -> None:
        lines.append(f"[{header}]")
        lines.extend(f"{_key(k)} = {_value(v)}" for k, v in body.items())
        lines.append("")

    for section, body in data.items():
        if not isinstance(body, dict):
            lines.insert(0, f"{_key(section)} = {_value(body)}")
        elif section in ("ssh", "mysql"):
            for name, sub in body.items():
                table(f"{section}.{_key(name)}", sub)
        else:
            table(_key(section), body)
    text = "\n".join(lines)
    if tomllib.loads(text) != data:  # pragma: no cover - a bug in the writer
        raise ConfigError("emr deploy: the rewritten config does not read back equal; report this")
    return text
