"""What ships to an mrjob job's tasks as `--py-files`: one zip builder, two contents.

mrjob puts py_files on the tasks' PYTHONPATH. `jobs_zip` is what the aggregate jobs of
jobs/ import beside mrjob (on every runner but inline, whose tasks run in this process);
`toolkit_zip` is this very toolkit, for the parse job's tasks on the local and spark
runners (the hadoop and emr nodes run the toolkit the bootstrap installed).
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

from warehouse import schema
from warehouse.resources import resource

# the warehouse package (this module's grandparent folder)
_PACKAGE = Path(__file__).resolve().parent.parent


def code_zip(path: Path, entries: Sequence[tuple[str, str | Path | None]]) -> str:
    """Write the zip `path` of `entries` in their order, each (name in the zip, the file to
    store there, or None for a folder entry); return its path for --py-files."""
    with zipfile.ZipFile(path, "w") as zf:
        for arcname, source in entries:
            if source is None:
                zf.mkdir(arcname)
            else:
                zf.write(source, arcname=arcname)
    return str(path)


def jobs_zip(workdir: Path) -> str:
    """Zip jobs/_common.py and warehouse/schema.py into `workdir` for the aggregate jobs.

    The tasks' Python has the toolkit installed (the venv running `warehouse`; on EMR the
    bootstrap's), whose regular package `warehouse` wins; `warehouse/` here has no
    __init__.py, so it is only a namespace fallback that lets `import warehouse.schema` work
    where the toolkit is not installed.
    """
    return code_zip(workdir / "warehouse_jobs_common.zip", [
        ("_common.py", resource("jobs", "_common.py")),
        ("warehouse", None),  # zipimport finds a namespace package by its folder entry
        ("warehouse/schema.py", schema.__file__),
    ])


def toolkit_zip(workdir: Path) -> str:
    """Zip this toolkit's package into `workdir`, so local tasks import this very code."""
    files = sorted(_PACKAGE.rglob("*.py"))
    return code_zip(workdir / "warehouse-toolkit.zip", [
        (str(file.relative_to(_PACKAGE.parent)), file) for file in files
    ])
