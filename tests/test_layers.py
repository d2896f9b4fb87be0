"""DESIGN.md's layers: `lint-imports` keeps every contract of `.importlinter` on this
checkout, refuses each contract's planted violation in a copy of it, and the allowlist
contract type catches the imports it is meant to catch."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

from tests.importlinter_contracts import AllowedImportsContract

REPO = Path(__file__).resolve().parents[1]


_LINT = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
# contract id -> {file: text appended (a new file when missing)}, in a copy of the checkout:
# an import that only that contract refuses
_PLANTS: dict[str, dict[str, str]] = {
    "logs-pure": {"warehouse/logs/_planted.py": "import boto3\n"},
    "urls-pure": {"warehouse/urls/_planted.py": "import warehouse.logs\n"},
    "storage": {"warehouse/storage/_planted.py": "import warehouse.logs\n"},
    "hive": {"warehouse/hive/_planted.py": "import jobs.daily_actions\n"},
    "mysql": {"warehouse/mysql/_planted.py": "import jobs.daily_actions\n"},
    "jobs": {"jobs/_planted.py": "import boto3\n"},
    "schema": {"warehouse/schema.py": "\nimport orjson\n"},
    "cli-top": {"warehouse/_planted.py": "import warehouse.cli\n"},
    "acyclic": {"warehouse/_cycle_a.py": "import warehouse._cycle_b\n",
                "warehouse/_cycle_b.py": "import warehouse._cycle_a\n"},
    "events-not-aggregate": {"warehouse/events/_planted.py": "import warehouse.aggregate.runners\n"},
    "run-dates": {"warehouse/run/dates.py": "\nimport warehouse.aggregate.plan\n"},
}
# contracts a plant breaks besides its own: aggregate/ imports events/ (backfill.py
# compacts the events), so events/ importing aggregate/ is a cycle too
_ALSO = {"events-not-aggregate": {"acyclic"}}


def _contracts() -> dict[str, str]:
    ini = configparser.ConfigParser()
    ini.read(REPO / ".importlinter")
    prefix = "importlinter:contract:"
    return {s[len(prefix):]: ini[s]["name"] for s in ini.sections() if s.startswith(prefix)}


def _lint(where: Path) -> tuple[int, str, set[str]]:
    """Run lint-imports in `where`; return its code, output and the names of broken contracts."""
    env = {**os.environ, "PYTHONPATH": str(where), "COLUMNS": "1000", "NO_COLOR": "1"}
    done = subprocess.run([_LINT, "--no-cache"], cwd=where, capture_output=True, text=True,
                          timeout=300, env=env)
    out = done.stdout + done.stderr
    broken = {ln.removesuffix("BROKEN").strip() for ln in out.splitlines() if ln.endswith("BROKEN")}
    return done.returncode, out, broken


def test_lint_imports_keeps_every_contract_on_this_checkout() -> None:
    assert set(_PLANTS) == set(_contracts())  # a new contract gets its planted violation here
    code, out, broken = _lint(REPO)
    assert code == 0 and not broken and f"{len(_PLANTS)} kept, 0 broken" in out, out


@pytest.mark.parametrize("contract", sorted(_PLANTS))
def test_lint_imports_refuses_a_planted_violation(tmp_path: Path, contract: str) -> None:
    copy = tmp_path / "repo"
    copy.mkdir()
    for name in ("warehouse", "jobs"):
        shutil.copytree(REPO / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "tests").mkdir()
    for name in ("__init__.py", "importlinter_contracts.py"):
        shutil.copy(REPO / "tests" / name, copy / "tests" / name)
    shutil.copy(REPO / ".importlinter", copy / ".importlinter")
    for name, text in _PLANTS[contract].items():
        with open(copy / name, "a", encoding="utf-8") as f:
            f.write(text)
    code, out, broken = _lint(copy)
    names = _contracts()
    assert code != 0 and broken == {names[c] for c in {contract, *_ALSO.get(contract, ())}}, out


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
