"""What a Hive operation did: HiveSummary, its one-line text and its exit code."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from warehouse.errors import EXIT_FAILED, EXIT_INPUT_MISSING, combined_exit_code
from warehouse.textfmt import count, number

__all__ = ["HiveSummary"]


@dataclass
class HiveSummary:
    """What a Hive operation did; `.line()` for the CLI, `.exit_code` for cron."""

    action: str
    target: str
    created: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    # replaced because [events] parquet changed their storage (`hive.tables.storage_twin`)
    switched: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    found: int = 0
    added: int = 0
    present: int = 0
    statements: int = 0
    no_data: list[str] = field(default_factory=list)
    partitions_mode: bool = False
    skipped: list[str] = field(default_factory=list)
    # views a Glue-only catalog cannot hold: the Athena statements that make them
    athena_sql: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """Return 5 if a table failed or drifted from its spec, 4 if no requested date had data."""
        codes = []
        if self.failed or self.changed:
            codes.append(EXIT_FAILED)
        if self.partitions_mode and self.no_data and not self.found:
            codes.append(EXIT_INPUT_MISSING)
        return combined_exit_code(codes)

    def line(self) -> str:
        """Return the one-line summary."""
        if self.partitions_mode:
            text = (
                f"{self.action}: {count(self.found, 'partition')} in the root, "
                f"{number(self.added)} added, {number(self.present)} already registered "
                f"({count(self.statements, 'statement')}; {self.target})"
            )
            if self.no_data:
                text += f"; no data for {number(len(self.no_data))}: {_few(self.no_data)}"
        else:
            total = sum(
                map(len, (self.created, self.unchanged, self.replaced, self.changed, self.failed))
            )
            text = (
                f"{self.action}: {count(total, 'object')} in {self.target}: "
                f"{number(len(self.created))} created, {number(len(self.unchanged))} unchanged, "
                f"{number(len(self.changed))} changed"
            )
            if self.replaced:
                text += f", {number(len(self.replaced))} replaced"
            if self.found:
                text += (
                    f"; {count(self.found, 'partition')} in the root, {number(self.added)} "
                    f"added, {number(self.present)} already registered "
                    f"({count(self.statements, 'statement')})"
                )
            if self.changed:
                text += (
                    f"; differ from their spec (left as they are): {'; '.join(self.changed)}"
                    " - `warehouse hive apply --replace` re-creates them (external tables:"
                    " the files stay)"
                )
        if self.switched:
            text += (
                f"; {', '.join(self.switched)}: storage follows [events] parquet, re-created "
                "over their files in the root without --replace"
            )
        if self.skipped:
            text += f"; {number(len(self.skipped))} not made: {'; '.join(self.skipped)}"
        if self.failed:
            text += f"; {number(len(self.failed))} failed: {'; '.join(self.failed)}"
        return text


def _few(items: Sequence[str], n: int = 5) -> str:
    shown = ", ".join(items[:n])
    return shown + (f" and {len(items) - n} more" if len(items) > n else "")
