"""Compile generated source so that tracebacks and `inspect.getsource` show its lines.

The generated hot paths (logs/classify.py's classifier, events/build.py's event builder,
mysql/rows.py's row encoder) each print their source; these functions compile it under
a `<...>` file name and register the text in `linecache` under that name. Standard
library only: logs/ (pure) imports it too (.importlinter's logs-pure contract).
"""

from __future__ import annotations

import linecache
from types import CodeType
from typing import Any


def compile_source(source: str, filename: str, namespace: dict[str, Any]) -> dict[str, Any]:
    """Run the module text `source` in `namespace` (registered as `filename`); return the
    namespace, which holds what it defines. Raises what compiling or running it raises."""
    exec(_compiled(source, filename, "exec"), namespace)
    return namespace


def compile_expression(source: str, filename: str, namespace: dict[str, Any]) -> Any:
    """Return the value of the expression `source` evaluated in `namespace` (registered as
    `filename`). Raises what compiling or evaluating it raises."""
    return eval(_compiled(source, filename, "eval"), namespace)


def _compiled(source: str, filename: str, mode: str) -> CodeType:
    """Register `source`'s lines under `filename` and compile it in `mode`."""
    lines = source.splitlines(True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    linecache.cache[filename] = (len(source), None, lines, filename)
    return compile(source, filename, mode)
