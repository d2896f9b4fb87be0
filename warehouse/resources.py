"""Locate the files shipped beside the code: jobs/, hql/, conf/ and bootstrap/.

In a source checkout (or an editable install) they sit at the repository's top level; in
a wheel they are force-included under `warehouse/_bundled/` (see pyproject.toml).
"""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """Return the folder `name` (jobs, hql, conf, bootstrap); raises FileNotFoundError."""
    for candidate in (_PKG.parent / name, _PKG / "_bundled" / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"{name}/ is missing from this installation of warehouse")


def resource(name: str, *parts: str) -> Path:
    """Return the path of a shipped file, e.g. resource("hql", "events.hql")."""
    return resource_dir(name).joinpath(*parts)
