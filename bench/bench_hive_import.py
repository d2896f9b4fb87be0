"""Hive registration of MySQL imports: per-table sessions (main) vs one shared session.

Starts Spark's Thrift server on 127.0.0.1 (the test fixture's recipe) and times, for N
imported tables (half of them lastmodified, with a `_latest` view), the Hive part of two
imports in a row (first load, then one more load per table), as `warehouse import`
performs it:

- before: the code of a git revision (default `main`, unpacked with `git archive`): per
  table a new HiveServer2 session, CREATE DATABASE / SHOW TABLES / SHOW TBLPROPERTIES /
  SHOW PARTITIONS / ALTER TABLE ADD / view statements;
- after: this checkout: one session for the whole run, what it learnt cached, partitions
  batched (`warehouse.mysql.hive_tables.HiveRegistrar`).

Then (this checkout only) `warehouse hive apply` on an empty metastore over a root whose
state lists every table's loads, and its no-op re-run. Each variant runs in its own
process against the same server, on its own database.
Usage: .venv/bin/python bench/bench_hive_import.py [--tables 22] [--rev main]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent


def _cfg(root: str, port: int, database: str) -> Any:
    from warehouse.config import config_from_dict

    return config_from_dict({
        "warehouse": {"root": root},
        "hive": {"host": "127.0.0.1", "port": port, "dialect": "spark", "database": database,
                 "username": "bench"},
    })


def _source_columns() -> list[Any]:
    from warehouse.mysql.schema import SourceColumn

    return [SourceColumn("id", "int", "int(11)", False),
            SourceColumn("name", "varchar", "varchar(50)"),
            SourceColumn("price", "decimal", "decimal(10,2)", True, 10, 2),
            SourceColumn("modified", "datetime", "datetime(6)")]


def _tables(n: int) -> list[tuple[str, Any, bool]]:
    from warehouse.mysql.hive_tables import table_spec

    cols = _source_columns()
    return [(f"t{i:02d}", table_spec("src", "db", f"t{i:02d}", cols, engine="python",
                                       format="json"), i % 2 == 0)
            for i in range(n)]


def worker(args: argparse.Namespace) -> None:
    """Time the registration of two imports with the code found first on sys.path."""
    import inspect

    from warehouse.config import IncrementalConfig
    from warehouse.mysql import hive_tables

    cfg = _cfg(args.root, args.port, args.database)
    inc = IncrementalConfig("lastmodified", "modified", "id")
    tables = _tables(args.tables)
    params = inspect.signature(hive_tables.register_load).parameters
    shared = "registrar" in params
    reg = hive_tables.HiveRegistrar(cfg) if shared else None
    out: dict[str, float] = {}
    loads: list[str] = []
    for step, stamp in (("first import", "20240101T000000000000Z"),
                        ("second import", "20240102T000000000000Z")):
        loads.append(stamp)
        t0 = time.perf_counter()
        for _, spec, lastmod in tables:
            if reg is not None:
                hive_tables.register_load(reg, spec, list(loads), dropped=[], new=[stamp],
                                          view=("modified", ["id"]) if lastmod else None)
            else:  # the before revision's: view=(IncrementalConfig, key) until issue 10
                view = ((inc if "deletes" not in params else "modified"), ["id"])
                old_register: Any = hive_tables.register_load
                old_register(cfg, spec, stamp, dropped=[], replace=False,
                             view=view if lastmod else None)
        out[step] = time.perf_counter() - t0
    if reg is not None:
        reg.close()
    from warehouse.hive.client import connect

    with connect(cfg) as hive:  # both loads of every table registered, either way
        for _, spec, _ in tables:
            n = len(hive.execute(f"SHOW PARTITIONS `{args.database}`.`{spec.name}`").rows)
            assert n == len(loads), (spec.name, n)
    print(json.dumps(out))


def apply_worker(args: argparse.Namespace) -> None:
    """Write a root with N imported tables (2 loads each) and time `hive apply` twice."""
    from warehouse.hive.manage import apply
    from warehouse.mysql.hive_tables import imported_tables, schema_record
    from warehouse.mysql.state import TableState, save_state, signature
    from warehouse.storage import store_for_config

    cfg = _cfg(args.root, args.port, args.database)
    store = store_for_config(cfg)
    cols = _source_columns()
    for name, _, lastmod in _tables(args.tables):
        state = TableState(
            engine="python", columns=signature(cols), mode="lastmodified" if lastmod else "full",
            column="modified" if lastmod else None,
            loads=["20240101T000000000000Z", "20240102T000000000000Z"] if lastmod
            else ["20240102T000000000000Z"],
            schema=schema_record(cols, zero_dates=True), key=["id"] if lastmod else [],
        )
        save_state(store, "src", "db", name, state)
    out: dict[str, float] = {}
    for step in ("hive apply, empty metastore", "hive apply, re-run"):
        t0 = time.perf_counter()
        summary = apply(cfg, imported=imported_tables)
        out[step] = time.perf_counter() - t0
        assert summary.exit_code == 0, summary.line()
    print(json.dumps(out))


def _run(code: Path, mode: str, port: int, database: str, root: Path, tables: int) -> Any:
    proc = subprocess.run(
        [sys.executable, str(HERE / "bench" / "bench_hive_import.py"), f"--{mode}",
         "--code", str(code), "--port", str(port), "--database", database,
         "--root", str(root), "--tables", str(tables)],
        capture_output=True, text=True, check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{mode} with {code} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tables", type=int, default=22)
    ap.add_argument("--rev", default="main", help="git revision of the 'before' code")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--apply", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--code", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--database", help=argparse.SUPPRESS)
    ap.add_argument("--root", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker or args.apply:
        sys.path.insert(0, args.code)
        (worker if args.worker else apply_worker)(args)
        return
    sys.path.insert(0, str(HERE))
    from tests.fixtures.hive import start_thrift_server, stop_thrift_server

    work = Path(tempfile.mkdtemp(prefix="bench-hive-import-"))
    before = work / "before"
    before.mkdir()
    archive = subprocess.run(["git", "-C", str(HERE), "archive", args.rev, "warehouse", "hql"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(before)], input=archive, check=True)
    server = start_thrift_server(work / "server")
    try:
        root = work / "root"
        old = _run(before, "worker", server.port, "bench_before", root, args.tables)
        new = _run(HERE, "worker", server.port, "bench_after", root, args.tables)
        applied = _run(HERE, "apply", server.port, "bench_apply", work / "root2", args.tables)
    finally:
        stop_thrift_server(server._proc)  # type: ignore[attr-defined]
        shutil.rmtree(work, ignore_errors=True)
    print(f"{args.tables} tables ({(args.tables + 1) // 2} lastmodified with a view), "
          f"Spark Thrift server, local files; before = {args.rev}, after = this checkout")
    for step in old:
        print(f"{step:>14}: before {old[step]:6.2f} s ({old[step] / args.tables:.2f} s/table)"
              f"  after {new[step]:6.2f} s ({new[step] / args.tables:.2f} s/table)"
              f"  -> {old[step] / new[step]:.1f}x")
    for step, secs in applied.items():
        print(f"{step}: {secs:.2f} s")


if __name__ == "__main__":
    main()
