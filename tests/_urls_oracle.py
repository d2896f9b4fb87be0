"""Django as the oracle of the URL tests: its params, path corpora, whole projects in a subprocess.

Params are what DESIGN.md says the resolver must give: Django's `ResolverMatch.kwargs`
without the keys of its `extra_kwargs` (every URL capture of every include() level).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tests._bench import load_generate

REPO = Path(__file__).resolve().parents[1]
generate = load_generate()


def django_params(m: Any) -> dict[str, Any]:
    """Return the params DESIGN.md defines for a ResolverMatch."""
    extra = m.extra_kwargs or {}
    return {k: v for k, v in m.kwargs.items() if k not in extra}


def same(ours: tuple[str | None, dict[str, str]], theirs: Any) -> bool:
    """True when slugs are equal and each param's text equals Django's converted value."""
    if ours[0] != theirs[0] or set(ours[1]) != set(theirs[1]):
        return False
    for k, v in theirs[1].items():
        text = ours[1][k]
        if isinstance(v, int):
            # Django's int converters: "0012" and "12" both give 12, but ours is canonical.
            if text != str(v):
                return False
        elif isinstance(v, uuid.UUID):
            if uuid.UUID(text) != v:
                return False
        elif text != v:
            return False
    return True


def variants(path: str) -> Iterator[str]:
    """Raw (as logged) variants of a decoded path: encodings and near-misses."""
    yield quote(path, safe="/-_.~:@!$&'()*+,;=")
    yield path  # raw unicode in the log
    yield quote(path, safe="")  # even the slashes encoded
    yield path[:-1]
    yield path + "x"
    yield path + "/"
    yield path + "\n"
    yield path.upper()
    yield path.replace("/", "//", 1)
    yield path.replace("/", "%2F")
    yield path[1:]  # no leading slash
    yield "".join("a" if c.isdigit() else c for c in path)
    yield "".join("0" + c if c.isdigit() else c for c in path)  # leading zeros for ints
    yield path.rstrip("/") + "/extra/"


def corpus(
    patterns: list[dict[str, Any]], seed: int, per_pattern: int, fixed: Iterable[str] = ()
) -> list[str]:
    """Return distinct raw paths: `fixed`, then samples of every pattern and their variants."""
    samples = generate.sample_paths(patterns, seed, per_pattern=per_pattern)
    paths = list(fixed)
    for group in samples:
        for p in group:
            paths.extend(variants(p))
    return list(dict.fromkeys(paths))


_ORACLE = """
import json, sys
import django
from urllib.parse import unquote
django.setup()
from django.urls import Resolver404, resolve
out = []
for path in json.load(open(sys.argv[1], encoding="utf-8")):
    try:
        m = resolve(unquote(path))
    except Resolver404:
        out.append([None, {}])
        continue
    extra = m.extra_kwargs or {}
    params = {k: v for k, v in m.kwargs.items() if k not in extra}
    out.append([m.view_name, {k: v if isinstance(v, int) else str(v) for k, v in params.items()}])
json.dump(out, open(sys.argv[2], "w", encoding="utf-8"))
"""


def project(tmp_path: Path, name: str, settings: str, urls: str) -> None:
    """Write a Django project package `name` (settings.py, urls.py) under tmp_path."""
    site = tmp_path / name
    site.mkdir()
    (site / "__init__.py").write_text("", encoding="utf-8")
    (site / "settings.py").write_text(
        f"SECRET_KEY = 'test-only'\nROOT_URLCONF = '{name}.urls'\n{settings}", encoding="utf-8"
    )
    (site / "urls.py").write_text(urls, encoding="utf-8")


def dump_in_subprocess(tmp_path: Path, name: str) -> tuple[list[dict[str, Any]], str, Path]:
    """Run `warehouse urls dump --settings NAME.settings` as a command; return the patterns,
    its stderr and the dump file."""
    env = {
        **os.environ,
        "PYTHONPATH": f"{tmp_path}{os.pathsep}{REPO}",
        "DJANGO_SETTINGS_MODULE": "",
    }
    dump = tmp_path / f"{name}.json"
    argv = [sys.executable, "-c", "from warehouse.cli import main; main()", "urls", "dump",
            "--settings", f"{name}.settings", "--urlconf", f"{name}.urls",
            "--pythonpath", str(tmp_path), "-o", str(dump)]  # fmt: skip
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(dump.read_text(encoding="utf-8")), proc.stderr, dump


def django_in_subprocess(tmp_path: Path, name: str, paths: list[str]) -> list[Any]:
    """Return Django's [view_name, params] for every path, resolved in the project's own process."""
    env = {
        **os.environ,
        "PYTHONPATH": f"{tmp_path}{os.pathsep}{REPO}",
        "DJANGO_SETTINGS_MODULE": f"{name}.settings",
    }
    src, out = tmp_path / f"{name}-paths.json", tmp_path / f"{name}-django.json"
    src.write_text(json.dumps(paths), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-c", _ORACLE, str(src), str(out)],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result: list[Any] = json.loads(out.read_text(encoding="utf-8"))
    return result
