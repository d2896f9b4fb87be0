"""Expand `parse` inputs (files, .gz, directories, globs, s3:// keys and prefixes, `-`).

Each input becomes an `InputSource` with a canonical name (absolute path, `s3://` URI, or
`stdin:<source-name>`): part files are named from a hash of that name, so the same input
always lands in the same objects. Directories and prefixes are walked recursively in
sorted order, skipping names that start with `_` or `.` (work in progress).
"""

from __future__ import annotations

import fnmatch
import glob
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from warehouse.config import Config
from warehouse.errors import ConfigError, InputMissing
from warehouse.storage import is_hidden, open_store

_GLOB_CHARS = "*?["


@dataclass(frozen=True)
class InputSource:
    """One input: canonical name, the store root and key that hold it, and its size."""

    name: str
    root: str
    key: str
    size: int | None
    stdin: bool = False

    @property
    def gz(self) -> bool:
        """True when the input is gzip-compressed (by its `.gz` name)."""
        return self.key.endswith(".gz") or self.name.endswith(".gz")

    @property
    def part_id(self) -> str:
        """Return the hash that names this input's part files (16 hex digits)."""
        return hashlib.sha1(self.name.encode("utf-8", "surrogateescape")).hexdigest()[:16]


def expand_inputs(
    cfg: Config, specs: list[str], *, source_name: str | None = None
) -> list[InputSource]:
    """Return the inputs named by `specs`, in order, without duplicates.

    Raises ConfigError (stdin without a source name, nothing given) or InputMissing (a
    path, glob, key or prefix that matches nothing).
    """
    if not specs:
        raise ConfigError("give at least one INPUT: a file, .gz, directory, glob, s3:// or -")
    out: list[InputSource] = []
    seen: set[str] = set()
    for spec in specs:
        for src in _expand_one(cfg, spec, source_name):
            if src.name not in seen:
                seen.add(src.name)
                out.append(src)
    return out


def _expand_one(cfg: Config, spec: str, source_name: str | None) -> list[InputSource]:
    if spec == "-":
        if not source_name:
            raise ConfigError("reading stdin (-) needs --source-name NAME to name its part files")
        return [InputSource(f"stdin:{source_name}", "", "-", None, stdin=True)]
    if spec.startswith("s3://"):
        return _expand_s3(cfg, spec)
    return _expand_local(spec)


def _expand_local(spec: str) -> list[InputSource]:
    path = Path(spec).expanduser()
    if any(c in spec for c in _GLOB_CHARS) and not path.exists():
        names = sorted(glob.glob(str(path), recursive=True))
        files = [Path(n) for n in names if os.path.isfile(n)]
        if not files:
            raise InputMissing(f"input {spec}: the glob matches no files")
        return [_local(p) for p in files]
    if path.is_dir():
        files = sorted(
            p for p in path.rglob("*") if p.is_file() and not is_hidden(str(p.relative_to(path)))
        )
        if not files:
            raise InputMissing(f"input {spec}: the directory holds no files")
        return [_local(p) for p in files]
    if path.is_file():
        return [_local(path)]
    raise InputMissing(f"input {spec} does not exist; check the path")


def _local(path: Path) -> InputSource:
    full = path.resolve()
    return InputSource(str(full), str(full.parent), full.name, full.stat().st_size)


def _expand_s3(cfg: Config, spec: str) -> list[InputSource]:
    bucket, _, key = spec[len("s3://") :].partition("/")
    root = f"s3://{bucket}"
    store = open_store(root, cfg.s3)
    pattern = None
    if any(c in key for c in _GLOB_CHARS):
        cut = min(key.find(c) for c in _GLOB_CHARS if c in key)
        pattern, key = key, key[:cut]
    elif key and not key.endswith("/") and store.exists(key):
        size = next((o.size for o in store.list(key) if o.key == key), None)
        return [InputSource(f"{root}/{key}", root, key, size)]
    out = []
    for obj in store.list(key):
        if pattern is not None and not fnmatch.fnmatchcase(obj.key, pattern):
            continue
        if is_hidden(obj.key[len(key) :]) or obj.key.endswith("/"):
            continue
        out.append(InputSource(f"{root}/{obj.key}", root, obj.key, obj.size))
    if not out:
        raise InputMissing(f"input {spec}: no objects under that key or prefix")
    return out
