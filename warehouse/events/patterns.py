"""The URL-pattern dump file: read for the resolver, written by `warehouse urls dump`.

`warehouse.urls` stays pure (it is handed pattern lists and opens no files); this module
does the file I/O around it.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from typing import Any

from warehouse.errors import ConfigError, InputMissing
from warehouse.urls.resolver import DEFAULT_CACHE_SIZE, Resolver


def load_patterns(path: str) -> list[dict[str, Any]]:
    """Return the pattern list of a dump file; raises InputMissing or ConfigError."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError as e:
        raise InputMissing(
            f"URL-pattern dump {path} not found: create it with "
            f"`warehouse urls dump --urlconf MODULE -o {path}`"
        ) from e
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(
            f"URL-pattern dump {path} is not valid JSON ({e}): regenerate it with `warehouse urls dump`"
        ) from e
    except OSError as e:
        raise InputMissing(f"cannot read URL-pattern dump {path}: {e.strerror}") from e
    if not isinstance(data, list):
        raise ConfigError(
            f"URL-pattern dump {path} must be a JSON array of {{name, regex}} objects: "
            "regenerate it with `warehouse urls dump`"
        )
    return data


def load_resolver(path: str, cache_size: int = DEFAULT_CACHE_SIZE) -> Resolver:
    """Return a Resolver for a dump file (every regex validated, alternations compiled
    when first needed); raises InputMissing or ConfigError."""
    return Resolver(load_patterns(path), cache_size, source=path)


def write_patterns(patterns: list[dict[str, Any]], output: str | None) -> None:
    """Write the dump as JSON (one pattern per line) to `output` atomically, or to stdout."""
    lines = ",\n".join(json.dumps(p, ensure_ascii=False) for p in patterns)
    text = "[\n" + lines + "\n]\n" if patterns else "[]\n"
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        raise InputMissing(f"cannot write {output}: folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(output) + ".", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, output)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
