"""Export one load's rows with the table's engine: python (one snapshot, or key ranges
in parallel processes) or Sqoop."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from warehouse.mysql import schema as sch
from warehouse.mysql.bounds import Bounds
from warehouse.mysql.collation import weight_columns
from warehouse.mysql.deletes import KeyReconciler
from warehouse.mysql.plan import LoadPlan
from warehouse.mysql.python_engine import ExportJob, export, export_split
from warehouse.mysql.rows import Query
from warehouse.mysql.session import SourceSession
from warehouse.mysql.sqoop import SqoopPlan, password_file, run_sqoop, sqoop_argv

SPLIT_MIN_SPAN = 10_000  # key ranges only for tables whose key spans more than this


@dataclass
class Exported:
    """What the export wrote."""

    rows: int = 0
    bytes: int = 0
    non_utf8: int = 0
    files: list[str] = field(default_factory=list)
    bad_dates: list[str] = field(default_factory=list)  # columns with zero/invalid dates


def export_load(
    s: SourceSession, plan: LoadPlan, bounds: Bounds, prefix: str, *,
    on_rows: Callable[[int], None] | None = None, keys: KeyReconciler | None = None,
) -> Exported:
    """Write the rows `bounds` selects under `prefix` with the plan's engine."""
    if bounds.skip:
        return Exported()
    if plan.engine != "python":
        return _sqoop(s, plan, bounds, prefix)
    p = plan.table
    job = ExportJob(
        endpoint=s.endpoint, driver=s.driver, database=p.database, table=p.table,
        columns=(*p.columns, *weight_columns(plan.weights)), store_root=s.store.uri(""),
        s3=s.cfg.s3, prefix=prefix, query=bounds.query, batch_bytes=s.src.batch_bytes,
        format=plan.format, zero_dates=_string_dates(plan),
    )
    key = _int_key(plan)
    if s.src.split_workers > 1 and key is not None:
        lo, hi = _key_bounds(s, plan, key, job.query)
        if lo is not None and hi is not None and hi - lo > SPLIT_MIN_SPAN:
            out = export_split(job, key, lo, hi, s.src.split_workers)
            return Exported(out.rows, out.bytes, out.non_utf8, out.files, out.bad_dates)
    out = export(job, store=s.store, on_rows=on_rows, in_snapshot=keys)
    return Exported(out.rows, out.bytes, out.non_utf8, out.files, out.bad_dates)


def _string_dates(plan: LoadPlan) -> bool:
    """Return whether a Parquet load writes its dates as STRING before reading a row: the
    server allows zero dates, or a load the table keeps has them as STRING
    (`warehouse.mysql.zerodates`; a zero date found while writing re-reads the table)."""
    adds = plan.mode != "full" or plan.keep_loads
    return plan.table.zero_dates or (bool(plan.dates_were_string) and adds)


def _int_key(plan: LoadPlan) -> str | None:
    """Return the table's primary key when it is one integer column."""
    p = plan.table
    if len(p.key) != 1:
        return None
    col = next((c for c in p.columns if c.name == p.key[0]), None)
    return p.key[0] if col is not None and col.kind == "int" else None


def _key_bounds(
    s: SourceSession, plan: LoadPlan, key: str, query: Query
) -> tuple[int | None, int | None]:
    p = plan.table
    sql = f"SELECT MIN({sch.quote(key)}), MAX({sch.quote(key)}) FROM " \
          f"{sch.qualified(p.database, p.table)}"
    if query.where:
        sql += f" WHERE {query.where}"
    row = s.first_row(p.database, sql, query.params or None)
    if not row or row[0] is None:
        return None, None
    return int(row[0]), int(row[1])


def _sqoop(s: SourceSession, plan: LoadPlan, bounds: Bounds, prefix: str) -> Exported:
    p, inc, ep, src = plan.table, plan.inc, s.endpoint, s.src
    key = p.key[0] if len(p.key) == 1 else None
    with password_file(ep.password.reveal()) as pw_uri:
        job = SqoopPlan(
            jdbc_host=ep.host, jdbc_port=ep.port, database=p.database, table=p.table,
            username=ep.user, password_file=pw_uri, target_dir=s.store.uri(prefix),
            columns=tuple(p.columns), mappers=src.sqoop_mappers, split_by=key,
            incremental=inc.mode if (inc and bounds.sqoop_last is not None) else None,
            check_column=inc.column if inc else None, last_value=bounds.sqoop_last,
            upper_bound=bounds.upper, include_nulls=not plan.incremental,
            extra_where=bounds.sqoop_where,
            direct=src.sqoop_direct,
            job_name=f"warehouse-import-{src.name}-{p.database}-{p.table}",
        )
        argv = sqoop_argv(job, sqoop_bin=src.sqoop_bin)
        tail = run_sqoop(argv, secrets=[ep.password.reveal()])
    m = re.search(r"Retrieved (\d+) records", tail)
    files = [o.key for o in s.store.list(prefix)]
    size = sum(o.size for o in s.store.list(prefix))
    return Exported(rows=int(m.group(1)) if m else 0, bytes=size, files=files)
