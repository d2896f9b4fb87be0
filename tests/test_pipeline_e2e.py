"""End to end: `warehouse run` over two days of logs, a MariaDB source through the sshd
tunnel, and HiveServer2 (Spark's Thrift server), on the embedded defaults otherwise.

Proves: everything lands once (files and Hive agree); a second run is a no-op; --force
redoes a day without duplicating anything (Hive counts unchanged, the incremental import
adds only new rows); killing the CLI in the middle of the aggregate stage and re-running
gives the same result as the uninterrupted run.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.test_pipeline import (
    DAY1,
    DAY2,
    WAREHOUSE_BIN,
    _wait_for_partial_aggregate,
    base_config,
    events_by_partition,
    tree,
    write_config,
    write_day_logs,
)
from warehouse.config import config_from_dict
from warehouse.run.pipeline import run_nightly
from warehouse.run.records import load_record
from warehouse.storage import LocalStore

pytestmark = [pytest.mark.slow, pytest.mark.hive, pytest.mark.mysql]

USER, PASSWORD = "etl_e2e", "e2e-Pa55-word"
JOBS = ("daily_actions", "sessions", "top_params")


def _hive(hive_server: Any, database: str, sql: str) -> list[tuple[Any, ...]]:
    return hive_server.rows(database, sql)


def _snapshot(hive_server: Any, database: str, mysql_db: str) -> dict[str, Any]:
    """Return what a Hive user sees: counts per partition and every aggregate row."""
    snap: dict[str, Any] = {
        "events": _hive(hive_server, database, "SELECT dt, count(*) FROM events GROUP BY dt ORDER BY dt"),
        "access_raw": _hive(
            hive_server, database,
            "SELECT dt, count(*) FROM access_raw WHERE remote_host IS NOT NULL GROUP BY dt ORDER BY dt",
        ),
        "customers": _hive(hive_server, database, f"SELECT id, name FROM mysql_shop_{mysql_db}_customers ORDER BY id"),
        "orders": _hive(hive_server, database, f"SELECT id, customer_id, total FROM mysql_shop_{mysql_db}_orders ORDER BY id"),
    }
    for job in JOBS:
        snap[job] = sorted(
            map(str, _hive(hive_server, database, f"SELECT * FROM agg_{job}"))
        )
        snap[f"{job}_partitions"] = _hive(hive_server, database, f"SHOW PARTITIONS agg_{job}")
    return snap


@pytest.fixture
def shop(mariadb: Any) -> str:
    db = mariadb.create_database(f"shop_{uuid.uuid4().hex[:8]}")
    mariadb.execute("CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(50) NULL)", database=db)
    mariadb.execute(
        "CREATE TABLE orders (id INT PRIMARY KEY, customer_id INT, total DECIMAL(10,2))", database=db
    )
    mariadb.execute("INSERT INTO customers VALUES (1, 'Ada'), (2, NULL), (3, 'tab\\there')", database=db)
    mariadb.execute("INSERT INTO orders VALUES (1, 1, 9.99), (2, 3, 120.00)", database=db)
    mariadb.create_user(USER, PASSWORD, db)
    return db


def test_nightly_run_end_to_end(
    tmp_path: Path, hive_server: Any, mariadb: Any, sshd: Any, shop: str
) -> None:
    counts = write_day_logs(tmp_path / "logs", [DAY1, DAY2])
    pw = tmp_path / "shop.pass"
    pw.write_text(PASSWORD + "\n")
    pw.chmod(0o600)
    database = f"e2e_{uuid.uuid4().hex[:8]}"
    data = base_config(
        tmp_path,
        runner="local",  # a few seconds per job: room to kill the CLI mid-aggregate
        hive=hive_server.hive_dict(database),
        ssh={"bastion": sshd.ssh_section()},
        mysql={
            "shop": mariadb.mysql_section(
                [shop], USER, str(pw), tunnel="bastion",
                incremental={f"{shop}.orders": {"mode": "append", "column": "id"}},
            )
        },
    )
    # the CLI runs (step 4) use the local runner; in-process runs the inline one (same output)
    conf = write_config(tmp_path / "warehouse.toml", data)
    cfg = config_from_dict({**data, "aggregate": {"runner": "inline"}})
    root = tmp_path / "root"
    store = LocalStore(root)

    # 1. everything lands once
    first = run_nightly(cfg, [DAY1, DAY2])
    assert first.exit_code == 0, first.line()
    assert "parse 2 ok" in first.line() and "events 2 ok" in first.line()
    assert "aggregate 2 ok" in first.line()
    assert "import 1 ok 1 skipped (a backfill imports once, for its last date)" in first.line()
    files = events_by_partition(root)
    snap = _snapshot(hive_server, database, shop)
    assert snap["events"] == [(dt_.split("=")[1], len(lines)) for dt_, lines in sorted(files.items())]
    assert [r[0] for r in snap["events"]] == ["2015-05-17", "2015-05-18", "2015-05-19"]
    assert snap["customers"] == [(1, "Ada"), (2, None), (3, "tab\there")]
    # access_raw: one partition per log day, over that day's raw folder, every line readable
    assert snap["access_raw"] == [(str(DAY1), counts[DAY1]), (str(DAY2), counts[DAY2])]
    assert [r[0] for r in snap["orders"]] == [1, 2]
    for job in JOBS:
        assert len(snap[f"{job}_partitions"]) == 3, job
    assert snap["daily_actions"], "daily_actions has rows in Hive"
    aggregates = tree(root, "aggregates")
    loads = sorted(p.name for p in (root / "mysql" / "shop" / shop / "orders").glob("load=*"))

    # 2. a second run is a no-op
    second = run_nightly(cfg, [DAY1, DAY2])
    assert second.exit_code == 0, second.line()
    for stage in ("parse", "events", "aggregate"):
        assert f"{stage} 2 complete" in second.line()
    assert "import 1 complete 1 skipped (a backfill imports once, for its last date)" in second.line()
    assert _snapshot(hive_server, database, shop) == snap
    assert sorted(p.name for p in (root / "mysql" / "shop" / shop / "orders").glob("load=*")) == loads

    # 3. --force redoes a day without duplicating; the import brings only the new order
    mariadb.execute("INSERT INTO orders VALUES (3, 2, 5.00)", database=shop)
    forced = run_nightly(cfg, [DAY2], force=True)
    assert forced.exit_code == 0, forced.line()
    assert forced.line().startswith("run 2015-05-19: parse ok (2 partitions), events ok")
    after = _snapshot(hive_server, database, shop)
    assert [r[0] for r in after["orders"]] == [1, 2, 3]
    assert {k: v for k, v in after.items() if k != "orders"} == {
        k: v for k, v in snap.items() if k != "orders"
    }
    assert events_by_partition(root) == files and tree(root, "aggregates") == aggregates
    snap = after

    # 4. kill the CLI in the middle of the aggregate stage, re-run: same result
    proc = subprocess.Popen(
        [WAREHOUSE_BIN, "--config", str(conf), "-v", "run", "--date", str(DAY2), "--force"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        _wait_for_partial_aggregate(proc, root / "_state/runs" / str(DAY2) / "aggregate.json", 300)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    rec = load_record(store, DAY2, "aggregate")
    assert rec is not None and rec.status == "running"
    again = subprocess.run(
        [WAREHOUSE_BIN, "--config", str(conf), "-v", "run", "--date", str(DAY2)],
        capture_output=True, text=True, timeout=600,
    )
    assert again.returncode == 0, again.stderr[-3000:]
    out = again.stdout
    assert "parse complete" in out and "events complete" in out and "aggregate ok (3 jobs)" in out
    assert "import complete" in out
    assert "resuming; done before:" in again.stderr
    assert tree(root, "aggregates") == aggregates
    assert _snapshot(hive_server, database, shop) == snap
    recs = {s: load_record(store, DAY2, s) for s in ("parse", "events", "aggregate", "import")}
    status = {s: r.status if r else None for s, r in recs.items()}
    assert status == dict.fromkeys(status, "ok")
    # the run records are plain JSON an operator can read
    rec = json.loads((root / "_state/runs" / str(DAY2) / "import.json").read_text())
    assert rec["stage"] == "import" and rec["exit_code"] == 0 and rec["counts"]
    assert dt.datetime.fromisoformat(rec["ended"].replace("Z", "+00:00")) >= dt.datetime.fromisoformat(
        rec["started"].replace("Z", "+00:00")
    )
