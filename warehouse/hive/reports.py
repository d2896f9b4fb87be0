"""Nightly reports (`[hive] reports = "DIR"`): a SELECT per `*.hql` file, materialised by Hive.

A file `NAME.hql` holds one `SELECT` (or `WITH ... SELECT`) with the placeholder `${dt}`
(write it inside quotes: `WHERE dt = '${dt}'`), replaced by the day (YYYY-MM-DD). For
each day, `run_reports` materialises every report into the external table
`report_NAME`, partitioned by `dt`, under `ROOT/reports/NAME/dt=D/`:

1. the day's SELECT becomes a scratch view `report_NAME__src`, whose DESCRIBE gives the
   columns and their types (every column needs a plain name: alias expressions);
2. `report_NAME` is created when missing (the dialect's JSON table, as for the other
   tables); when the SELECT's columns changed, the table is created again (EXTERNAL: the
   files stay) and the partitions found under its folder are registered again;
3. `INSERT OVERWRITE TABLE report_NAME PARTITION (dt='D') SELECT ...` replaces that day's
   partition, so a re-run never duplicates rows;
4. the scratch view is dropped.

Hive (or Spark's Thrift server) runs the join, so a report scales with the cluster. A
failing report is reported with its file and the server's message (exit 5); the others
still run. Reports usually read the user's views (`[hive] views`): with `views=True`
(what `run` passes for the first day it reports) they are created or replaced first, as
`hive apply` does, so a run on a new metastore needs no `hive apply` before its reports.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from warehouse.config import Config
from warehouse.errors import EXIT_FAILED, ConfigError, QueryFailed
from warehouse.hive.client import HiveClient, split_statements
from warehouse.hive.manage import ensure_tables
from warehouse.hive.metastore import describe
from warehouse.hive.partitions import add_partitions, find_partitions
from warehouse.hive.render import (
    quote_ident,
    quote_string,
    render_database,
    statement,
    table_ref,
)
from warehouse.hive.session import session, target
from warehouse.hive.spec import Column, TableSpec
from warehouse.hive.summary import HiveSummary
from warehouse.hive.tables import DT
from warehouse.hive.userviews import apply_views
from warehouse.storage import store_for_config

__all__ = ["ReportFile", "ReportSummary", "load_reports", "report_spec", "run_reports"]

PLACEHOLDER = "${dt}"
_NAME = re.compile(r"^[a-z0-9_]+$")
_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SELECT = re.compile(r"^\s*(?:SELECT|WITH)\b", re.IGNORECASE)


@dataclass(frozen=True)
class ReportFile:
    """One report: its file, its name (the file's stem) and its SELECT."""

    path: Path
    name: str
    sql: str

    @property
    def table(self) -> str:
        """Return the name of the table the report fills."""
        return f"report_{self.name}"


@dataclass
class ReportSummary:
    """What `run_reports` did for one day; `.line()` for the CLI and run records."""

    day: str
    target: str
    done: list[str] = field(default_factory=list)
    rows: int = 0
    failed: list[str] = field(default_factory=list)
    views: int = 0

    @property
    def exit_code(self) -> int:
        """Return 5 when a report failed, else 0."""
        return EXIT_FAILED if self.failed else 0

    def line(self) -> str:
        """Return the one-line summary."""
        text = (
            f"reports {self.day}: {len(self.done)} materialised ({self.rows} rows: "
            f"{', '.join(self.done) or 'none'}) in {self.target}"
        )
        if self.views:
            text += f"; {self.views} views of [hive] views created or replaced first"
        if self.failed:
            text += f"; {len(self.failed)} failed: {'; '.join(self.failed)}"
        return text


def load_reports(folder: str | Path) -> list[ReportFile]:
    """Return the reports of `folder`'s `*.hql` files, sorted by name.

    Raises ConfigError listing every file that is unreadable, is not one SELECT, lacks
    `${dt}`, or whose name is not lower-case letters, digits and `_`.
    """
    where = Path(folder)
    if not where.is_dir():
        raise ConfigError(f"[hive] reports folder {where} does not exist")
    reports: list[ReportFile] = []
    problems: list[str] = []
    for path in sorted(where.glob("*.hql")):
        name = path.stem
        if not _NAME.match(name):
            problems.append(f"{path}: a report's file name must be lower-case letters, digits or _")
            continue
        try:
            statements = split_statements(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{path}: unreadable ({exc})")
            continue
        if len(statements) != 1 or not _SELECT.match(statements[0]):
            problems.append(f"{path}: must hold exactly one SELECT (or WITH ... SELECT)")
            continue
        if PLACEHOLDER not in statements[0]:
            problems.append(f"{path}: has no {PLACEHOLDER} placeholder (e.g. WHERE dt = '{PLACEHOLDER}')")
            continue
        reports.append(ReportFile(path, name, statements[0]))
    if problems:
        raise ConfigError("; ".join(problems))
    return reports


def report_spec(report: ReportFile, columns: tuple[Column, ...], parquet: bool = False) -> TableSpec:
    """Return the spec of `report_<name>`: JSON under reports/<name>/, partitioned by dt;
    with `parquet` ([events] parquet), STORED AS PARQUET under reports_parquet/<name>/."""
    return TableSpec(
        name=report.table,
        columns=columns,
        location=f"reports_parquet/{report.name}" if parquet else f"reports/{report.name}",
        storage="parquet" if parquet else "json",
        partition_by=(DT,),
        comment=f"nightly report {report.name} ({report.path.name})",
    )


def run_reports(
    cfg: Config, day: dt.date | str, views: bool = False, *, client: HiveClient | None = None
) -> ReportSummary:
    """Materialise every report of `[hive] reports` for `day`; return a ReportSummary.

    With `views`, the views of `[hive] views` are created or replaced first (in dependency
    order; a failing view is reported in `.failed`, exit 5), since reports read them.

    Raises ConfigError when the folder is unset or holds a bad file, SourceUnavailable
    when HiveServer2 cannot be reached.
    """
    folder = cfg.hive_or_default().reports
    if not folder:
        raise ConfigError("[hive] reports is not set: name a folder of report .hql files")
    text = day.isoformat() if isinstance(day, dt.date) else dt.date.fromisoformat(day).isoformat()
    reports = load_reports(folder)
    summary = ReportSummary(text, target(cfg))
    database = cfg.hive_or_default().database
    with session(cfg, client) as hive:
        hive.execute(render_database(database))
        hive.execute(statement("use_database.hql", database=quote_ident(database)))
        if views and cfg.hive_or_default().views:
            made = HiveSummary("views", summary.target)
            apply_views(cfg, hive, made)
            summary.views = len(made.created) + len(made.replaced)
            summary.failed += made.failed
        for report in reports:
            try:
                summary.rows += _materialise(cfg, hive, report, text)
                summary.done.append(report.table)
            except (QueryFailed, ConfigError) as exc:
                summary.failed.append(f"{report.table} ({report.path}): {exc}")
    return summary


def _materialise(cfg: Config, hive: HiveClient, report: ReportFile, day: str) -> int:
    """Replace `day`'s partition of the report's table; return its row count."""
    database = cfg.hive_or_default().database
    scratch = table_ref(database, f"{report.table}__src")
    hive.execute(statement("create_report_source.hql", view=scratch,
                           select=report.sql.replace(PLACEHOLDER, day)))
    try:
        described = describe(hive, database, f"{report.table}__src")
        bad = [n for n, _ in described.columns if not _COLUMN.match(n)]
        if bad:
            raise ConfigError(f"give these columns a plain name with AS: {', '.join(bad)}")
        columns = tuple(Column(n.lower(), t) for n, t in described.columns if n.lower() != "dt")
        spec = report_spec(report, columns, cfg.events.parquet)
        made = ensure_tables(cfg, [spec], client=hive)
        if made.changed:  # the SELECT's columns changed: the table follows, the files stay
            made = ensure_tables(cfg, [spec], replace=True, client=hive)
            old = find_partitions(store_for_config(cfg), spec)
            if old:
                add_partitions(cfg, spec, old, client=hive)
        if made.failed:
            raise QueryFailed("; ".join(made.failed))
        names = ", ".join(quote_ident(c.name) for c in columns)
        table = table_ref(database, spec.name)
        dt_column, value = quote_ident("dt"), quote_string(day)
        hive.execute(statement("insert_partition.hql", table=table, column=dt_column,
                               value=value, columns=names, source=scratch))
        counted = hive.execute(statement("count_partition.hql", table=table, column=dt_column,
                                         value=value))
        return int(counted.rows[0][0]) if counted.rows else 0
    finally:
        hive.execute(statement("drop_view.hql", view=scratch))
