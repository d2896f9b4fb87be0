"""Aggregates and reports STORED AS PARQUET (`[events] parquet`, issue 24 item 3): the
Parquet copy of every aggregate partition equals the aggregate made with the setting off,
row for row and type for type, read with DuckDB and through HiveServer2 (Spark's Thrift
server); a report's table is STORED AS PARQUET and holds the same rows."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner

from tests.test_aggregate_corpus import START, make_corpus
from tests.test_pipeline import write_config
from warehouse.cli import cli
from warehouse.schema import DT, JOBS

DAYS = [START + dt.timedelta(days=i) for i in range(3)]
# the DuckDB type of each Hive type the jobs declare
DUCK = {"STRING": "VARCHAR", "BIGINT": "BIGINT", "INT": "INTEGER", "DOUBLE": "DOUBLE",
        "ARRAY<STRUCT<slug:STRING,n:BIGINT>>": "STRUCT(slug VARCHAR, n BIGINT)[]"}  # fmt: skip


def _config(tmp: Path, root: Path, parquet: bool, **sections: Any) -> Path:
    data: dict[str, Any] = {
        "warehouse": {"root": str(root)},
        "events": {"parquet": parquet},
        "aggregate": {"runner": "inline", "jobs": list(JOBS)},
        "cron": {"lock_file": str(tmp / "run.lock")},
        **sections,
    }
    return write_config(tmp / f"w-{uuid.uuid4().hex[:6]}.toml", data)


def _aggregate(config: Path, *extra: str) -> str:
    res = CliRunner().invoke(
        cli, ["--config", str(config), "aggregate", *JOBS, "--from", str(DAYS[0]),
              "--to", str(DAYS[-1]), *extra], catch_exceptions=False,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    return res.output


def _json_records(root: Path, job: str) -> list[tuple[Any, ...]]:
    """The aggregate as its JSON parts hold it (what `[events] parquet = false` makes)."""
    cols = [c.name for c in JOBS[job].columns]
    rows = []
    for part in sorted((root / "aggregates" / job).glob("dt=*/*.json.gz")):
        with gzip.open(part, "rt", encoding="utf-8") as f:
            rows += [tuple(json.loads(line)[c] for c in cols) for line in f]
    return sorted(rows, key=repr)


def _duck(root: Path, job: str) -> tuple[list[tuple[Any, ...]], dict[str, str]]:
    """The Parquet copy read with DuckDB: rows in the job's column order, and the types."""
    src = f"read_parquet('{root}/aggregates_parquet/{job}/*/*.parquet', hive_partitioning = true)"
    cols = ", ".join(f'"{c.name}"' for c in JOBS[job].columns if c.name != DT.name)
    con = duckdb.connect()
    rows = con.execute(f"SELECT CAST(dt AS VARCHAR) AS dt, {cols} FROM {src}")
    got = sorted((tuple(r) for r in rows.fetchall()), key=repr)
    types = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()}
    return got, types


def test_parquet_copy_equals_the_json_aggregate_in_duckdb(tmp_path: Path) -> None:
    off, on = tmp_path / "off", tmp_path / "on"
    make_corpus(off, 3000, 3, seed=11)
    shutil.copytree(off / "events", on / "events")
    _aggregate(_config(tmp_path, off, False))
    _aggregate(_config(tmp_path, on, True))
    assert not (off / "aggregates_parquet").exists()
    for job, spec in JOBS.items():
        want = _json_records(off, job)
        assert want and _json_records(on, job) == want  # the JSON part stays, the same
        got, types = _duck(on, job)
        assert got == want, job
        for c in spec.columns:
            if c.name != DT.name:
                assert types[c.name] == DUCK[c.hive], (job, c.name, types[c.name])
        files = sorted((on / "aggregates_parquet" / job).glob("dt=*/*"))
        assert [f.name for f in files] == ["part-00000.parquet"] * len(DAYS), files


def test_a_redone_aggregate_rewrites_its_copy_and_off_removes_it(tmp_path: Path) -> None:
    root = tmp_path / "root"
    make_corpus(root, 600, 3, seed=12)
    on = _config(tmp_path, root, True)
    _aggregate(on)
    copy = root / "aggregates_parquet" / "daily_actions" / f"dt={DAYS[1]}" / "part-00000.parquet"
    first = copy.read_bytes()
    # the day's events change (fewer of them): the redone aggregate's copy follows
    part = sorted((root / "events" / f"dt={DAYS[1]}").glob("*.json.gz"))[0]
    part.unlink()
    _aggregate(on)
    assert copy.read_bytes() != first
    assert _duck(root, "daily_actions")[0] == _json_records(root, "daily_actions")
    # a day whose events are all gone: both the JSON part and the copy are emptied
    for p in (root / "events" / f"dt={DAYS[1]}").iterdir():
        p.unlink()
    res = CliRunner().invoke(cli, ["--config", str(on), "aggregate", "daily_actions",
                                   "--from", str(DAYS[0]), "--to", str(DAYS[-1])])  # fmt: skip
    assert res.exit_code == 0, res.output
    rows = duckdb.sql(f"SELECT count(*) FROM read_parquet('{copy}')").fetchall()
    assert rows == [(0,)]
    # with the setting off, a redone partition loses its copy (never older than its JSON)
    _aggregate(_config(tmp_path, root, False))
    assert not any((root / "aggregates_parquet").rglob("*.parquet"))


# --- through HiveServer2 -----------------------------------------------------------------

REPORT = ("SELECT slug, count(*) AS n, sum(hits) AS hits, max(p95_ms) AS p95 "
          "FROM agg_daily_actions WHERE dt = '${dt}' GROUP BY slug")  # fmt: skip


def _fetch(hive_server: Any, db: str, sql: str) -> list[tuple[Any, ...]]:
    return hive_server.rows(db, sql)


def _run(tmp: Path, hive_server: Any, parquet: bool) -> tuple[Path, str]:
    """`warehouse run` of one day's log with a report over agg_daily_actions, every job;
    return (root, database)."""
    from tests.test_views_reports import DAY, PATTERNS, _log_lines, _write

    log = tmp / "access.log"
    log.write_text("\n".join(_log_lines()) + "\n")
    patterns = tmp / "urls.json"
    patterns.write_text(json.dumps(PATTERNS))
    root = tmp / ("on" if parquet else "off")
    reports = _write(tmp / "reports", {"by_slug.hql": REPORT})
    db = f"pqagg_{uuid.uuid4().hex[:8]}"
    config = _config(tmp, root, parquet, logs={"input": str(log), "patterns": str(patterns)},
                     hive=hive_server.hive_dict(db, reports=str(reports)))  # fmt: skip
    res = CliRunner().invoke(cli, ["--config", str(config), "run", "--date", DAY])
    assert res.exit_code == 0, res.output
    assert "reports ok (1 report)" in res.output, res.output
    return root, db


@pytest.mark.hive
def test_agg_and_report_tables_stored_as_parquet_equal_json(
    tmp_path: Path, hive_server: Any
) -> None:
    root_off, db_off = _run(tmp_path, hive_server, False)
    root_on, db_on = _run(tmp_path, hive_server, True)
    for table in [f"agg_{job}" for job in JOBS] + ["report_by_slug"]:
        formatted = _fetch(hive_server, db_on, f"DESCRIBE FORMATTED {table}")
        text = " ".join(str(v) for row in formatted for v in row).lower()
        assert "parquet" in text and "json" not in text, (table, formatted)
        plain = _fetch(hive_server, db_off, f"DESCRIBE FORMATTED {table}")
        assert "parquet" not in " ".join(str(v) for r in plain for v in r).lower(), table
        # type for type, then row for row (every column, arrays of structs as JSON)
        types = {r[0]: r[1] for r in _fetch(hive_server, db_on, f"DESCRIBE {table}")}
        assert types == {r[0]: r[1] for r in _fetch(hive_server, db_off, f"DESCRIBE {table}")}
        cols = ", ".join(
            f"to_json({n})" if t.startswith("array") else n
            for n, t in types.items() if n and not n.startswith("#")
        )
        sql = f"SELECT {cols} FROM {table}"
        on, off = _fetch(hive_server, db_on, sql), _fetch(hive_server, db_off, sql)
        assert off and sorted(on, key=repr) == sorted(off, key=repr), table
    # the report's files are Parquet under reports_parquet/, read the same by DuckDB
    got = duckdb.sql(
        f"SELECT CAST(dt AS VARCHAR), slug, n, hits, p95 FROM read_parquet("
        f"'{root_on}/reports_parquet/by_slug/*/*.parquet', hive_partitioning = true)"
    ).fetchall()
    want = _fetch(hive_server, db_off, "SELECT dt, slug, n, hits, p95 FROM report_by_slug")
    assert sorted(got, key=repr) == sorted(want, key=repr) and len(want) == 3
    assert not (root_on / "reports" / "by_slug").exists()
    # agg_daily_actions through Thrift equals the JSON part of the run with parquet off
    agg = _fetch(hive_server, db_on, "SELECT dt, slug, hits, users, ips, server_errors, "
                 "client_errors, p50_ms, p95_ms FROM agg_daily_actions")  # fmt: skip
    assert sorted(agg, key=repr) == _json_records(root_off, "daily_actions")


def test_glue_agg_tables_are_parquet_over_the_copies(tmp_path: Path, moto_server: str) -> None:
    """`[glue]` with [events] parquet: `hive apply` makes agg_<job> a ParquetHiveSerDe table
    over aggregates_parquet/<job>/ with a partition per copied day."""
    from tests.test_glue_cli import _catalog
    from warehouse.hive.glue_input import PARQUET_SERDE

    root = tmp_path / "root"
    make_corpus(root, 600, 3, seed=14)
    database = f"wh_{uuid.uuid4().hex[:10]}"
    config = _config(tmp_path, root, True, glue={"database": database, "endpoint_url": moto_server})
    _aggregate(config)
    res = CliRunner().invoke(cli, ["--config", str(config), "hive", "apply"])
    assert res.exit_code == 0, res.output
    catalog = _catalog(moto_server, database)
    for job in JOBS:
        entry = catalog[f"agg_{job}"]
        sd = entry["table"]["StorageDescriptor"]
        assert sd["SerdeInfo"]["SerializationLibrary"] == PARQUET_SERDE
        assert sd["Location"].rstrip("/").endswith(f"/aggregates_parquet/{job}")
        assert sorted(entry["partitions"]) == [(str(d),) for d in DAYS]
        for part in entry["partitions"].values():
            assert "/aggregates_parquet/" in part["StorageDescriptor"]["Location"]
