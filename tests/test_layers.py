"""DESIGN.md's layers: `lint-imports` keeps every contract of `.importlinter` on this
checkout, and the allowlist contract type catches the imports it is meant to catch."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

from tests.importlinter_contracts import AllowedImportsContract

REPO = Path(__file__).resolve().parents[1]


def test_lint_imports_keeps_every_contract() -> None:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    done = subprocess.run([exe], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout
    for name in ("logs-pure", "urls-pure", "storage", "hive", "mysql", "jobs", "schema", "cli-top", "acyclic"):
        assert f"[importlinter:contract:{name}]" in (REPO / ".importlinter").read_text()


def _graph() -> grimp.ImportGraph:
    g = grimp.ImportGraph()
    for m in ("pkg", "pkg.logs", "pkg.logs.a", "pkg.logs.b", "pkg.errors", "pkg.config"):
        g.add_module(m)
    g.add_module("dateutil", is_squashed=True)
    g.add_import(importer="pkg.logs.a", imported="pkg.logs.b", line_number=1, line_contents="")
    g.add_import(importer="pkg.logs.a", imported="pkg.errors", line_number=2, line_contents="")
    return g


def _contract(**options: object) -> AllowedImportsContract:
    return AllowedImportsContract(
        name="t", session_options={}, contract_options={"source_modules": ["pkg.logs"], **options}
    )


def test_allowlist_kept_for_own_package_stdlib_and_allowed() -> None:
    g = _graph()
    g.add_module("json", is_squashed=True)
    g.add_import(importer="pkg.logs.b", imported="json", line_number=3, line_contents="")
    assert _contract(allowed_modules=["pkg.errors"]).check(g, verbose=False).kept


@pytest.mark.parametrize(
    ("imported", "line"),
    [("pkg.config", 7), ("dateutil", 9)],  # the rest of the package; an unlisted library
)
def test_allowlist_broken_by_anything_else(imported: str, line: int) -> None:
    g = _graph()
    g.add_import(importer="pkg.logs.b", imported=imported, line_number=line, line_contents="")
    check = _contract(allowed_modules=["pkg.errors"]).check(g, verbose=False)
    assert not check.kept
    assert check.metadata["illegal"] == [
        {"importer": "pkg.logs.b", "imported": imported, "lines": [line]}
    ]
    # an explicit ignore_imports entry keeps it (as in import-linter's own contracts)
    g2 = _graph()
    g2.add_import(importer="pkg.logs.b", imported=imported, line_number=line, line_contents="")
    ignored = _contract(allowed_modules=["pkg.errors"], ignore_imports=[f"pkg.logs.b -> {imported}"])
    assert ignored.check(g2, verbose=False).kept
