"""An import-linter contract type for DESIGN.md's "may import only ..." rules.

import-linter's own contracts forbid named modules; rules such as "logs/ imports nothing of
the package but errors" and "jobs/ import only the standard library, mrjob and orjson" are
allowlists, so that a module added later is forbidden without editing the contract.

    [importlinter:contract:NAME]
    type = allowed_imports
    source_modules = warehouse.logs
    allowed_modules = warehouse.errors      # plus the standard library, always

A source module may import its own package's modules, the standard library and the allowed
modules (and their submodules); `ignore_imports` lists exceptions, as in every contract.
Used by `lint-imports` (`.importlinter`), which `.ci/test` runs.
"""

from __future__ import annotations

import sys
from typing import Any

import grimp
from importlinter.application import output
from importlinter.domain import fields, helpers
from importlinter.domain.contract import Contract, ContractCheck


def _within(module: str, packages: set[str]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


class AllowedImportsContract(Contract):
    """Source modules import only the standard library, their own package and the allowed."""

    type_name = "allowed_imports"

    source_modules = fields.SetField(subfield=fields.ModuleExpressionField())
    allowed_modules = fields.SetField(subfield=fields.ModuleExpressionField(), required=False)
    ignore_imports = fields.SetField(subfield=fields.ImportExpressionField(), required=False)

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        if self.ignore_imports:  # type: ignore[attr-defined]
            helpers.pop_import_expressions(graph, self.ignore_imports)  # type: ignore[attr-defined]
        sources = {
            m.name
            for m in helpers.module_expressions_to_modules(graph, self.source_modules)  # type: ignore[attr-defined]
        }
        allowed = {
            e.expression
            for e in (self.allowed_modules or ())  # type: ignore[attr-defined]
        }
        illegal: list[dict[str, Any]] = []
        for importer in sorted(graph.modules):
            own = {s for s in sources if importer == s or importer.startswith(s + ".")}
            if not own:
                continue
            for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                top = imported.split(".")[0]
                if (
                    top in sys.stdlib_module_names
                    or top == "__future__"
                    or _within(imported, own | allowed)
                ):
                    continue
                lines = [
                    d["line_number"]
                    for d in graph.get_import_details(importer=importer, imported=imported)
                ]
                illegal.append({"importer": importer, "imported": imported, "lines": lines})
        return ContractCheck(kept=not illegal, metadata={"illegal": illegal})

    def render_broken_contract(self, check: ContractCheck) -> None:
        allowed = ", ".join(sorted(e.expression for e in (self.allowed_modules or ())))  # type: ignore[attr-defined]
        output.print_error(
            f"Imports outside the standard library and {allowed or 'the package itself'}:",
            bold=False,
        )
        output.new_line()
        for item in check.metadata["illegal"]:
            where = ", ".join(f"l.{n}" for n in item["lines"])
            output.print_error(f"- {item['importer']} -> {item['imported']} ({where})", bold=False)
        output.new_line()
