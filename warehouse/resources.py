"""Locate the files shipped beside the code: jobs/, hql/, conf/ and bootstrap/.

In a source checkout (or an editable install) they sit at the repository's top level; in
a wheel they are force-included under `warehouse/_bundled/` (see pyproject.toml).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

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


def jobs_on_path() -> Path:
    """Put jobs/ on sys.path, as the jobs see it on the nodes (they import their shared
    module `_common` as a top-level module); return the folder."""
    jobs_dir = resource_dir("jobs")
    if str(jobs_dir) not in sys.path:
        sys.path.append(str(jobs_dir))
    return jobs_dir


def jobs_common() -> ModuleType:
    """Return the jobs' shared module `_common` (EventParser: what a valid event is)."""
    jobs_on_path()
    return importlib.import_module("_common")
