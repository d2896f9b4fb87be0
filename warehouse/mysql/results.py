"""What `warehouse import` reports: one TableResult per table and the ImportSummary."""

from __future__ import annotations

from dataclasses import dataclass, field

from warehouse.errors import EXIT_INTERRUPTED, combined_exit_code
from warehouse.textfmt import count, duration, size, took


@dataclass
class TableResult:
    """One table's outcome."""

    source: str
    database: str
    table: str
    engine: str  # the source's [mysql.NAME] engine, or --engine
    mode: str = "full"
    rows: int = 0
    bytes: int = 0
    seconds: float = 0.0
    load: str | None = None
    hive_table: str | None = None
    non_utf8: int = 0
    deleted: int = 0  # keys found deleted since the last load (deletes = true)
    error: str | None = None
    exit_code: int = 0

    @property
    def name(self) -> str:
        """Return `source.database.table`."""
        return f"{self.source}.{self.database}.{self.table}"

    @property
    def interrupted(self) -> bool:
        """Return True when Ctrl-C stopped the table (or kept it from starting)."""
        return self.exit_code == EXIT_INTERRUPTED

    def line(self) -> str:
        """Return one line: name, mode, rows, bytes, time and the error if any."""
        head = f"{self.name} [{self.engine} {self.mode}]"
        if self.interrupted:
            return f"{head} INTERRUPTED after {duration(self.seconds)}: {self.error}"
        if self.error:
            return f"{head} FAILED after {duration(self.seconds)}: {self.error}"
        extra = f", {count(self.non_utf8, 'non-UTF-8 value')} escaped" if self.non_utf8 else ""
        extra += f", {count(self.deleted, 'deleted key')}" if self.deleted else ""
        return (
            f"{head} {count(self.rows, 'row')}, {size(self.bytes)} "
            f"{took(self.rows, self.seconds, 'rows')}"
            f" -> load={self.load or '(no new rows)'}{extra}"
        )


@dataclass
class ImportSummary:
    """All tables of one `warehouse import`; `.line()` for the CLI, `.exit_code` for cron."""

    root: str
    tables: list[TableResult] = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False  # Ctrl-C: the tables (and sources) after these did not run
    excluded: str | None = None  # the table named on the command line that exclude skipped

    @property
    def failed(self) -> list[TableResult]:
        """Return the tables (or sources) that failed (not those Ctrl-C stopped)."""
        return [t for t in self.tables if t.error and not t.interrupted]

    @property
    def stopped(self) -> list[TableResult]:
        """Return the tables Ctrl-C stopped or kept from starting."""
        return [t for t in self.tables if t.interrupted]

    @property
    def exit_code(self) -> int:
        """Return 0, or 130 (Ctrl-C) over 2/3 (config, source unavailable) over 5 (a table
        failed)."""
        return combined_exit_code(
            [*(t.exit_code for t in self.tables), EXIT_INTERRUPTED if self.interrupted else 0]
        )

    def line(self) -> str:
        """Return the total line: tables, rows, bytes, time, where; the failed tables'
        lines after `FAILED:` (one line: what `run` records and reports)."""
        rows = sum(t.rows for t in self.tables)
        ok = len(self.tables) - len(self.failed) - len(self.stopped)
        stopped = f", {len(self.stopped)} interrupted" if self.stopped else ""
        text = (
            f"import: {count(len(self.tables), 'table')} ({ok} ok, {len(self.failed)} failed"
            f"{stopped}), {count(rows, 'row')}, {size(sum(t.bytes for t in self.tables))} "
            f"{took(rows, self.seconds, 'rows')} -> {self.root.rstrip('/')}/mysql"
        )
        if self.interrupted:
            names = ", ".join(t.name for t in self.stopped)
            text += (f"; INTERRUPTED (Ctrl-C): {names} not finished, the next import redoes it"
                     if names else "; INTERRUPTED (Ctrl-C): the next import redoes what did "
                     "not finish")
        if self.excluded:
            return (text + f" (nothing selected: {self.excluded} is excluded by the config's "
                           "exclude; --include-excluded imports it)")
        if not self.tables:
            return text + " (nothing selected)"
        if self.failed:
            text += "; FAILED: " + " | ".join(t.line() for t in self.failed)
        return text

    def lines(self) -> list[str]:
        """Return what `warehouse import` prints: one line per table, the total line last."""
        return [*(t.line() for t in self.tables), self.line()]
