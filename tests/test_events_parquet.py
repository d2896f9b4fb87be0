"""The Parquet copy of the events (`[events] parquet`, `warehouse events compact`, run's
parquet stage): read back with DuckDB (an independent reader) and through HiveServer2
(Spark's Thrift server), it equals the JSON events row for row; it is rebuilt when a
day's events change, removed when they are gone, and a corrupt part keeps the old copy."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import uuid
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner

from tests.test_aggregate_corpus import MALFORMED_LINES, START, make_corpus
from tests.test_pipeline import DAY1, DAY2, base_config, write_day_logs
from warehouse.cli import cli
from warehouse.config import config_from_dict
from warehouse.events.compact import compact_events
from warehouse.run.pipeline import run_nightly
from warehouse.schema import EVENT_KEYS

DAYS = [START + dt.timedelta(days=i) for i in range(3)]

# Valid events with the odd values the parser can write (quotes, backslashes, unicode,
# NUL escapes, huge byte counts, fractional and offset times, empty and odd params).
ODD = [
    {"ts": f"{START}T00:00:00Z", "ip": "::1", "vhost": "ex.com", "user": "a b", "method": "GET",
     "path": "/caf\u00e9/\"q\"\\x", "query": "a=%00&b=\u2713", "protocol": "HTTP/1.1",
     "status": 200, "bytes": 2**62, "referer": None, "user_agent": "Mozilla \"x\" \\ \x01",
     "duration_ms": 0.001, "slug": "blog:post", "params": {"slug": "caf\u00e9", "id": "0012"}},
    {"ts": f"{START}T23:59:59.999999Z", "ip": "10.0.0.1", "vhost": None, "user": None,
     "method": None, "path": None, "query": None, "protocol": None, "status": 999,
     "bytes": None, "referer": "", "user_agent": None, "duration_ms": None, "slug": None,
     "params": {}},
    {"ts": f"{START}T10:00:00+05:45", "ip": "10.0.0.2", "vhost": None, "user": None,
     "method": "BREW", "path": "*", "query": "", "protocol": "HTTP/2", "status": -1,
     "bytes": 0, "referer": None, "user_agent": "", "duration_ms": 12, "slug": "x",
     "params": {"": "", "k=v": "a\tb\nc"}},
]  # fmt: skip


def _utc(ts: str) -> dt.datetime:
    return dt.datetime.fromisoformat(ts).astimezone(dt.UTC).replace(tzinfo=None)


def _expected(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The rows a reader must see: each event's values, ts as naive UTC, params sorted."""
    out = []
    for ev in events:
        row = [ev.get(k) for k in EVENT_KEYS]
        row[0] = _utc(ev["ts"])
        row[12] = None if row[12] is None else float(row[12])
        row[14] = sorted(ev["params"].items())
        out.append(tuple(row))
    return sorted(out, key=repr)


def _duckdb_rows(root: Path, where: str = "") -> list[tuple[Any, ...]]:
    cols = ", ".join(f'"{k}"' for k in EVENT_KEYS)
    rows = duckdb.sql(
        f"SELECT {cols} FROM read_parquet('{root}/events_parquet/*/*.parquet', "
        f"hive_partitioning = true) {where}"
    ).fetchall()
    out = []
    for r in rows:
        row = list(r)
        row[14] = sorted(row[14].items())
        out.append(tuple(row))
    return sorted(out, key=repr)


def _write_part(root: Path, day: dt.date, name: str, events: list[dict[str, Any]]) -> None:
    folder = root / "events" / f"dt={day}"
    folder.mkdir(parents=True, exist_ok=True)
    with gzip.open(folder / name, "wb") as f:
        for ev in events:
            f.write(json.dumps(ev).encode() + b"\n")


def _compact(root: Path, *args: str) -> tuple[int, str]:
    res = CliRunner().invoke(
        cli, ["--root", str(root), "events", "compact", "--from", str(DAYS[0]),
              "--to", str(DAYS[-1]), *args],
    )  # fmt: skip
    return res.exit_code, res.output


def test_compact_equals_the_json_events_in_duckdb(tmp_path: Path) -> None:
    root = tmp_path / "root"
    events = make_corpus(root, 3000, 3, seed=5)
    _write_part(root, START, "odd.json.gz", ODD)
    code, out = _compact(root)
    assert code == 0, out
    assert out.startswith("events compact: 3 dates (3 written, 0 unchanged")
    assert f"{len(events) + len(ODD):,} rows, {len(MALFORMED_LINES):,} malformed skipped" in out
    assert _duckdb_rows(root) == _expected(events + ODD)
    # the column types a scanner sees
    types = dict(
        duckdb.sql(
            f"DESCRIBE SELECT * FROM read_parquet('{root}/events_parquet/*/*.parquet')"
        ).fetchall()[i][:2]
        for i in range(len(EVENT_KEYS))
    )
    assert types["ts"] == "TIMESTAMP" and types["status"] == "INTEGER"
    assert types["bytes"] == "BIGINT" and types["duration_ms"] == "DOUBLE"
    assert types["params"] == "MAP(VARCHAR, VARCHAR)" and types["slug"] == "VARCHAR"
    # per day, the copy holds exactly that day's events
    per_day = duckdb.sql(
        f"SELECT CAST(dt AS VARCHAR), count(*) FROM read_parquet("
        f"'{root}/events_parquet/*/*.parquet', hive_partitioning = true) GROUP BY 1 ORDER BY 1"
    ).fetchall()
    want: dict[str, int] = {}
    for ev in events + ODD:
        day = _utc(ev["ts"]).date().isoformat()
        want[day] = want.get(day, 0) + 1
    assert per_day == sorted(want.items())


def test_rebuilt_when_events_change_removed_when_gone(tmp_path: Path) -> None:
    root = tmp_path / "root"
    make_corpus(root, 600, 3, seed=3)
    assert _compact(root)[0] == 0
    copies = {d: (root / "events_parquet" / f"dt={d}" / "events.parquet") for d in DAYS}
    before = {d: p.read_bytes() for d, p in copies.items()}
    code, out = _compact(root)
    assert code == 0 and "(0 written, 3 unchanged" in out, out
    # late lines of the second day: only that day is rebuilt, with them
    late = [dict(ODD[1], ts=f"{DAYS[1]}T12:00:00Z", ip=f"10.9.9.{i}") for i in range(5)]
    _write_part(root, DAYS[1], "late.json.gz", late)
    code, out = _compact(root)
    assert code == 0 and "(1 written, 2 unchanged" in out, out
    assert copies[DAYS[0]].read_bytes() == before[DAYS[0]]
    ips = {r[1] for r in _duckdb_rows(root, f"WHERE dt = '{DAYS[1]}'")}
    assert {f"10.9.9.{i}" for i in range(5)} <= ips
    # a day whose events are gone loses its copy
    for p in (root / "events" / f"dt={DAYS[2]}").iterdir():
        p.unlink()
    code, out = _compact(root)
    assert code == 0 and "1 removed" in out, out
    assert not copies[DAYS[2]].exists()
    # --force rewrites the copies, byte for byte the same for the same events
    unchanged = copies[DAYS[0]].read_bytes()
    code, out = _compact(root, "--force")
    assert code == 0 and "(2 written" in out, out
    assert copies[DAYS[0]].read_bytes() == unchanged


def test_a_corrupt_part_fails_its_day_and_keeps_the_copy(tmp_path: Path) -> None:
    root = tmp_path / "root"
    make_corpus(root, 600, 3, seed=4)
    assert _compact(root)[0] == 0
    copy = root / "events_parquet" / f"dt={DAYS[0]}" / "events.parquet"
    kept = copy.read_bytes()
    part = sorted((root / "events" / f"dt={DAYS[0]}").glob("*.json.gz"))[0]
    part.write_bytes(part.read_bytes()[:-40])  # truncated gzip
    code, out = _compact(root)
    assert code == 5, out
    assert f"FAILED: {DAYS[0]}: events part" in out and part.name in out and "re-parse" in out
    assert "(0 written, 2 unchanged" in out
    assert copy.read_bytes() == kept


def test_compact_on_s3(moto_server: str, s3_client: Any, s3_bucket: str, tmp_path: Path) -> None:
    local = tmp_path / "local"
    events = make_corpus(local, 400, 3, seed=6)
    prefix = f"wh-{uuid.uuid4().hex[:8]}"
    for path in sorted((local / "events").rglob("*.json.gz")):
        key = f"{prefix}/{path.relative_to(local).as_posix()}"
        s3_client.put_object(Bucket=s3_bucket, Key=key, Body=path.read_bytes())
    cfg = config_from_dict(
        {"warehouse": {"root": f"s3://{s3_bucket}/{prefix}"}, "s3": {"endpoint_url": moto_server},
         "cron": {"lock_file": str(tmp_path / "run.lock")}}
    )  # fmt: skip
    summary = compact_events(cfg, DAYS)
    assert summary.exit_code == 0, summary.line()
    out = tmp_path / "copy"
    for day in DAYS:
        key = f"{prefix}/events_parquet/dt={day}/events.parquet"
        (out / "events_parquet" / f"dt={day}").mkdir(parents=True)
        s3_client.download_file(s3_bucket, key, str(out / "events_parquet" / f"dt={day}" / "events.parquet"))
    assert _duckdb_rows(out) == _expected(events)
    assert compact_events(cfg, DAYS).line().startswith("events compact: 3 dates (0 written, 3 unchanged")


@pytest.mark.hive
def test_run_stage_and_hive_table(tmp_path: Path, hive_server: Any) -> None:
    """run with [events] parquet and [hive]: events_parquet through HiveServer2 equals events;
    `hive apply` on a fresh database makes it again with its partitions."""
    write_day_logs(tmp_path / "logs", [DAY1, DAY2])
    database = f"pq_{uuid.uuid4().hex[:8]}"
    data = base_config(tmp_path, hive=hive_server.hive_dict(database), events={"parquet": True})
    data["aggregate"]["jobs"] = ["daily_actions"]
    summary = run_nightly(config_from_dict(data), [DAY1, DAY2])
    assert summary.exit_code == 0, summary.line()
    assert "parquet 2 ok" in summary.line(), summary.line()

    def both(db: str, sql: str) -> tuple[list[Any], list[Any]]:
        conn = hive_server.connect(db)
        try:
            cur = conn.cursor()
            out = []
            for table in ("events", "events_parquet"):
                cur.execute(sql.format(table=table))
                out.append(sorted(cur.fetchall(), key=repr))
            return out[0], out[1]
        finally:
            conn.close()

    per_slug = "SELECT dt, slug, count(*), sum(bytes), sum(status) FROM {table} GROUP BY dt, slug"
    a, b = both(database, per_slug)
    assert a and a == b
    rows = ("SELECT unix_timestamp(to_timestamp(ts)) AS t, ip, path, query, status, bytes, "
            "user_agent, duration_ms, slug, to_json(params), dt FROM {table}")  # fmt: skip
    a, b = both(database, rows)
    assert len(a) > 1000 and a == b
    # a second run: nothing to do; --force rewrites the same rows
    again = run_nightly(config_from_dict(data), [DAY1, DAY2])
    assert "parquet 2 complete" in again.line(), again.line()
    fresh = f"pq_{uuid.uuid4().hex[:8]}"
    res = CliRunner().invoke(
        cli, ["--config", str(_toml(tmp_path, {**data, "hive": hive_server.hive_dict(fresh)})),
              "hive", "apply"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert both(fresh, per_slug) == both(database, per_slug)


def _toml(tmp: Path, data: dict[str, Any]) -> Path:
    from tests.test_pipeline import write_config

    return write_config(tmp / f"w-{uuid.uuid4().hex[:6]}.toml", data)


def test_mysql_connector_still_loads_after_a_compaction(tmp_path: Path) -> None:
    """`run` compacts (pyarrow) before it imports: mysql-connector's C extension must still
    load in that process (after pyarrow alone it fails for want of static TLS)."""
    import subprocess
    import sys

    root = tmp_path / "root"
    make_corpus(root, 50, 1, seed=2)
    code = (
        "import datetime as dt, sys\n"
        "from warehouse.config import config_from_dict\n"
        "from warehouse.events.compact import compact_events\n"
        "from warehouse.mysql.connect import resolve_driver\n"
        f"cfg = config_from_dict({{'warehouse': {{'root': {str(root)!r}}}, "
        f"'cron': {{'lock_file': {str(tmp_path / 'run.lock')!r}}}}})\n"
        "assert compact_events(cfg, [dt.date.fromisoformat(sys.argv[1])]).exit_code == 0\n"
        "print(resolve_driver('mysql-connector').name)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(START)], capture_output=True,
                          text=True, timeout=300, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "mysql-connector"
