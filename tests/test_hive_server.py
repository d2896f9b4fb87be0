"""`warehouse hive` against a real HiveServer2 (Spark's Thrift server, fixture hive_server).

Every test uses its own database and warehouse root, so they share one server.
"""

from __future__ import annotations

import gzip
import json
import random
import uuid
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from tests.test_pipeline import PATTERNS  # URL patterns of the sample log
from warehouse.cli import cli
from warehouse.hive import manage
from warehouse.hive.spec import Column, TableSpec, TextFormat
from warehouse.storage import open_gzip_write, store_for_config

pytestmark = pytest.mark.hive

DAYS = ("2012-01-14", "2012-01-15")
SLUGS = ("home", "blog:post", "blog:index", "shop:item", None)


def _db() -> str:
    return f"t_{uuid.uuid4().hex[:10]}"


def _write_config(path: Path, root: Path, hive: dict[str, Any], extra: str = "") -> Path:
    lines = ["[warehouse]", f'root = "{root}"', "", "[hive]"]
    for key, value in hive.items():
        lines.append(
            f"{key} = {value!r}".replace("'", '"') if isinstance(value, str) else f"{key} = {value}"
        )
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return path


def _cli(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _events(n: int, seed: int = 7) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        day = DAYS[i % 2]
        slug = rnd.choice(SLUGS)
        out.append(
            {
                "ts": f"{day}T{rnd.randrange(24):02d}:{rnd.randrange(60):02d}:00Z",
                "ip": f"10.0.0.{rnd.randrange(50)}",
                "vhost": None,
                "user": rnd.choice([None, "ann", "bob", "cy"]),
                "method": "GET",
                "path": f"/p/{i}",
                "query": None,
                "protocol": "HTTP/1.1",
                "status": rnd.choice([200, 200, 304, 404, 500]),
                "bytes": rnd.choice([None, 512, 2048]),
                "referer": None,
                "user_agent": "test",
                "duration_ms": rnd.choice([None, 1.5, 20.0]),
                "slug": slug,
                "params": {"id": str(i % 7)} if slug == "blog:post" else {},
            }
        )
    return out


def _write_events(cfg: Any, events: list[dict[str, Any]], parts: int = 2) -> None:
    """Write events the way the parser lays them out: events/dt=D/<part>.json.gz."""
    store = store_for_config(cfg)
    by_day: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        by_day.setdefault(e["ts"][:10], []).append(e)
    for day, rows in by_day.items():
        for p in range(parts):
            with open_gzip_write(store, f"events/dt={day}/part-{p:04d}.json.gz") as f:
                for e in rows[p::parts]:
                    f.write(orjson.dumps(e) + b"\n")


def _partitions(hive_server: Any, db: str, table: str) -> list[str]:
    conn = hive_server.connect(db)
    try:
        cur = conn.cursor()
        cur.execute(f"SHOW PARTITIONS `{db}`.`{table}`")
        return sorted(r[0] for r in cur.fetchall())
    finally:
        conn.close()


def _metastore_state(hive_server: Any, db: str) -> list[Any]:
    """Tables, their DDL-relevant description and partitions (creation times left out)."""
    conn = hive_server.connect(db)
    state: list[Any] = []
    try:
        cur = conn.cursor()
        cur.execute(f"SHOW TABLES IN `{db}`")
        for row in sorted(cur.fetchall()):
            name = row[1]
            cur.execute(f"DESCRIBE FORMATTED `{db}`.`{name}`")
            desc = [r for r in cur.fetchall() if r[0] not in ("Created Time", "Last Access")]
            desc = [r for r in desc if not str(r[1]).startswith("[transient_lastDdlTime")]
            state.append((name, desc))
            if any(r[0] == "# Partition Information" for r in desc):
                cur.execute(f"SHOW PARTITIONS `{db}`.`{name}`")
                state.append(sorted(cur.fetchall()))
    finally:
        conn.close()
    return state


# --- apply ------------------------------------------------------------------------------


def test_apply_is_idempotent(hive_server: Any, tmp_path: Path) -> None:
    db = _db()
    conf = _write_config(tmp_path / "w.toml", tmp_path / "root", hive_server.hive_dict(db))
    first = _cli("--config", str(conf), "hive", "apply")
    assert first.exit_code == 0, first.output
    assert "5 created, 0 unchanged, 0 changed" in first.output
    state = _metastore_state(hive_server, db)
    names = [s[0] for s in state if isinstance(s, tuple)]
    assert names == ["access_raw", "agg_daily_actions", "agg_sessions", "agg_top_params", "events"]
    second = _cli("--config", str(conf), "hive", "apply")
    assert second.exit_code == 0, second.output
    assert "0 created, 5 unchanged, 0 changed" in second.output
    assert _metastore_state(hive_server, db) == state


def test_a_changed_spec_is_reported_not_dropped(hive_server: Any, tmp_path: Path) -> None:
    cfg = hive_server.config(tmp_path / "root", _db())
    spec = TableSpec(
        name="things",
        columns=(Column("a", "STRING"), Column("n", "BIGINT")),
        location="things",
        partition_by=(Column("dt", "STRING"),),
    )
    assert manage.ensure_tables(cfg, [spec]).created == ["things"]
    _write_events_like(cfg, "things/dt=2012-01-14/part-0.json.gz", [{"a": "x", "n": 1}])
    assert manage.register_partitions(cfg, "things", None).added == 1

    changed = TableSpec(
        name="things",
        columns=(Column("a", "STRING"), Column("n", "INT"), Column("b", "STRING")),
        location="things",
        partition_by=(Column("dt", "STRING"),),
    )
    summary = manage.ensure_tables(cfg, [changed])
    assert summary.exit_code == 5
    assert summary.changed and "+b string" in summary.line() and "n bigint->int" in summary.line()
    assert "--replace" in summary.line()
    # Left alone: the old columns and the data are still there.
    rows = manage.run_query(cfg, "SELECT a, n, dt FROM things").rows
    assert rows == (("x", 1, "2012-01-14"),)

    replaced = manage.ensure_tables(cfg, [changed], replace=True)
    assert replaced.replaced == ["things"] and replaced.exit_code == 0
    assert manage.register_partitions(cfg, "things", None).added == 1
    rows = manage.run_query(cfg, "SELECT a, n, b, dt FROM things").rows
    assert rows == (("x", 1, None, "2012-01-14"),)  # EXTERNAL: the files survived the drop
    assert manage.ensure_tables(cfg, [changed]).unchanged == ["things"]


def _write_events_like(cfg: Any, key: str, rows: list[dict[str, Any]]) -> None:
    with open_gzip_write(store_for_config(cfg), key) as f:
        for r in rows:
            f.write(orjson.dumps(r) + b"\n")


# --- partitions and events ----------------------------------------------------------------


def test_events_columns_read_back(hive_server: Any, tmp_path: Path) -> None:
    db = _db()
    root = tmp_path / "root"
    conf = _write_config(tmp_path / "w.toml", root, hive_server.hive_dict(db))
    cfg = hive_server.config(root, db)
    events = _events(3000)
    _write_events(cfg, events)
    applied = _cli("--config", str(conf), "hive", "apply")  # tables and their partitions
    assert applied.exit_code == 0 and "2 partitions in the root, 2 added" in applied.output
    reg = _cli("--config", str(conf), "hive", "partitions", "--table", "events", "--all")
    assert reg.exit_code == 0, reg.output
    assert "2 partitions in the root, 0 added, 2 already registered" in reg.output

    got = manage.run_query(
        cfg, "SELECT dt, slug, count(*) AS hits FROM events GROUP BY dt, slug"
    ).rows
    expected = Counter((e["ts"][:10], e["slug"]) for e in events)
    assert {(d, s): n for d, s, n in got} == dict(expected)
    # The map column and the backquoted `user` column read back too.
    posts = manage.run_query(
        cfg,
        "SELECT params['id'] AS id, count(*) FROM events WHERE slug = 'blog:post' GROUP BY 1",
    ).rows
    want = Counter(e["params"]["id"] for e in events if e["slug"] == "blog:post")
    assert dict(posts) == dict(want)
    users = manage.run_query(cfg, "SELECT count(DISTINCT `user`) FROM events").rows
    assert users == ((3,),)
    sums = manage.run_query(
        cfg,
        "SELECT sum(bytes), count(bytes), sum(duration_ms), count(duration_ms), sum(status),"
        " count(vhost), min(ts), max(ts) FROM events",
    ).rows[0]
    bytes_ = [e["bytes"] for e in events if e["bytes"] is not None]
    durations = [e["duration_ms"] for e in events if e["duration_ms"] is not None]
    assert sums == (
        sum(bytes_),
        len(bytes_),
        pytest.approx(sum(durations), rel=1e-9),
        len(durations),
        sum(e["status"] for e in events),
        0,
        min(e["ts"] for e in events),
        max(e["ts"] for e in events),
    )


def _sample_log() -> Path:
    from warehouse.resources import resource

    return resource("conf", "sample", "access-combined-10k.log.gz")


def test_parsed_events_group_by_equals_daily_actions(hive_server: Any, tmp_path: Path) -> None:
    db = _db()
    root = tmp_path / "root"
    patterns = tmp_path / "urls.json"
    patterns.write_text(json.dumps(PATTERNS))
    conf = _write_config(
        tmp_path / "w.toml",
        root,
        hive_server.hive_dict(db),
        extra=f'\n[logs]\nformat = "combined"\npatterns = "{patterns}"\n',
    )
    parsed = _cli("--config", str(conf), "parse", str(_sample_log()), "--register")
    assert parsed.exit_code == 0, parsed.output
    assert "hive partitions" in parsed.output and "added" in parsed.output

    cfg = hive_server.config(root, db)
    got = manage.run_query(
        cfg, "SELECT dt, slug, count(*) AS hits FROM events GROUP BY dt, slug"
    ).rows
    # Independently: count the event files the parser wrote.
    store = store_for_config(cfg)
    expected: Counter[tuple[str, str | None]] = Counter()
    for obj in store.list("events/"):
        with gzip.open(root / obj.key, "rb") as f:
            for line in f:
                e = orjson.loads(line)
                expected[(e["ts"][:10], e["slug"])] += 1
    assert sum(expected.values()) > 9000
    assert {(d, s): n for d, s, n in got} == dict(expected)
    assert any(s == "blog:post" for _, s in expected) and any(s is None for _, s in expected)

    days = sorted({d for d, _ in expected})
    agg = _cli(
        "--config", str(conf), "aggregate", "daily_actions",
        "--from", days[0], "--to", days[-1], "-r", "inline", "--register",
    )  # fmt: skip
    assert agg.exit_code == 0, agg.output
    assert f"{len(days)} added" in agg.output
    daily = manage.run_query(cfg, "SELECT dt, slug, hits FROM agg_daily_actions").rows
    assert sorted(daily, key=str) == sorted(got, key=str)
    # Other aggregate columns agree with Hive's own arithmetic over the same events.
    check = manage.run_query(
        cfg,
        """SELECT a.dt, a.slug, a.ips, e.ips, a.client_errors, e.client_errors
           FROM agg_daily_actions a JOIN (
             SELECT dt, slug, count(DISTINCT ip) AS ips,
                    sum(CASE WHEN status BETWEEN 400 AND 499 THEN 1 ELSE 0 END) AS client_errors
             FROM events GROUP BY dt, slug) e
           ON a.dt = e.dt AND a.slug <=> e.slug""",
    ).rows
    assert len(check) == len(got)
    assert all(r[2] == r[3] and r[4] == r[5] for r in check), check


def test_partitions_skip_work_in_progress_and_are_idempotent(
    hive_server: Any, tmp_path: Path
) -> None:
    db = _db()
    root = tmp_path / "root"
    conf = _write_config(tmp_path / "w.toml", root, hive_server.hive_dict(db))
    cfg = hive_server.config(root, db)
    events = _events(200)
    _write_events(cfg, events)
    # A third day still being written: only temporary names so far.
    wip = root / "events" / "dt=2012-01-16"
    wip.mkdir(parents=True)
    with gzip.open(wip / "_tmp.part-0000.json.gz", "wb") as f:
        f.write(orjson.dumps({**events[0], "ts": "2012-01-16T00:00:00Z"}) + b"\n")
    (wip / ".part-0001.json.gz.inprogress").write_bytes(b"")
    # A temporary file inside a finished partition must not be read either.
    with gzip.open(root / "events" / "dt=2012-01-14" / "_tmp.extra.json.gz", "wb") as f:
        f.write(orjson.dumps(events[0]) + b"\n")
    first = _cli("--config", str(conf), "hive", "partitions", "-t", "events", "--all")
    assert first.exit_code == 0 and "2 partitions in the root, 2 added" in first.output
    after_first = _metastore_state(hive_server, db)
    assert _partitions(hive_server, db, "events") == ["dt=2012-01-14", "dt=2012-01-15"]
    again = _cli("--config", str(conf), "hive", "partitions", "-t", "events", "--all")
    assert again.exit_code == 0 and "0 added, 2 already registered" in again.output
    assert _metastore_state(hive_server, db) == after_first
    count = manage.run_query(cfg, "SELECT count(*) FROM events").rows
    assert count == ((len(events),),)

    none = _cli("--config", str(conf), "hive", "partitions", "-t", "events", "--date", "2012-01-16")
    assert none.exit_code == 4 and "no data for 1: 2012-01-16" in none.output
    span = _cli(
        "--config", str(conf), "hive", "partitions", "-t", "events",
        "--from", "2012-01-13", "--to", "2012-01-16",
    )  # fmt: skip
    assert span.exit_code == 0, span.output
    assert "2 partitions in the root, 0 added" in span.output and "no data for 2" in span.output

    # The writer publishes: now the day counts.
    (wip / "_tmp.part-0000.json.gz").rename(wip / "part-0000.json.gz")
    done = _cli("--config", str(conf), "hive", "partitions", "-t", "events", "--date", "2012-01-16")
    assert done.exit_code == 0 and "1 added" in done.output
    assert manage.run_query(cfg, "SELECT count(*) FROM events").rows == ((len(events) + 1,),)


def test_partitions_many_per_statement_and_tables_we_do_not_own(
    hive_server: Any, tmp_path: Path
) -> None:
    cfg = hive_server.config(tmp_path / "root", _db())
    spec = TableSpec(
        name="mysql_src_shop_orders",
        columns=(Column("id", "BIGINT"), Column("note", "STRING")),
        location="mysql/src/shop/orders",
        partition_by=(Column("load", "STRING"),),
    )
    manage.ensure_tables(cfg, [spec])
    loads = [f"20240101T{h:02d}0000Z" for h in range(12)]
    for i, load in enumerate(loads):
        _write_events_like(
            cfg, f"mysql/src/shop/orders/load={load}/part-0.json.gz", [{"id": i, "note": "n"}]
        )
    # Found through the metastore (the importer owns the spec), 12 in one statement.
    summary = manage.register_partitions(cfg, "mysql_src_shop_orders", None)
    assert (summary.found, summary.added, summary.statements) == (12, 12, 1)
    assert manage.run_query(cfg, "SELECT count(*), sum(id) FROM mysql_src_shop_orders").rows == (
        (12, sum(range(12))),
    )
    explicit = manage.add_partitions(cfg, spec, [{"load": loads[0]}, {"load": "20250101T000000Z"}])
    assert (explicit.added, explicit.present) == (1, 1)
    with pytest.raises(Exception, match="not dt"):
        manage.register_partitions(cfg, "mysql_src_shop_orders", ["2024-01-01"])
    unknown = _cli(
        "--root", str(tmp_path / "root"), "--config",
        str(_write_config(tmp_path / "w.toml", tmp_path / "root", hive_server.hive_dict(cfg.hive.database))),
        "hive", "partitions", "-t", "nope", "--all",
    )  # fmt: skip
    assert unknown.exit_code == 2 and "does not exist" in unknown.output
    # caught by type, not by its text: a mysql_ name no import in the root has, either
    from warehouse.hive import TableMissing
    from warehouse.mysql.hive_tables import imported_tables

    with pytest.raises(TableMissing, match="does not exist"):
        manage.register_partitions(cfg, "nope", None)
    with pytest.raises(TableMissing, match="no import in the root has this name"):
        manage.register_partitions(cfg, "mysql_src_shop_nope", None, imported=imported_tables)


def test_delimited_text_table_reads_what_sqoop_writes(hive_server: Any, tmp_path: Path) -> None:
    cfg = hive_server.config(tmp_path / "root", _db())
    spec = TableSpec(
        name="mysql_src_shop_notes",
        columns=(
            Column("id", "BIGINT"),
            Column("note", "STRING"),
            Column("amount", "DECIMAL(38,10)"),
        ),
        location="mysql/src/shop/notes",
        storage="text",
        text_format=TextFormat(),
    )
    assert manage.ensure_tables(cfg, [spec]).exit_code == 0
    folder = tmp_path / "root" / "mysql" / "src" / "shop" / "notes"
    folder.mkdir(parents=True, exist_ok=True)  # the server may have made it
    lines = [
        b"1\x01plain\x011.5",
        b"2\x01\\N\x01\\N",  # NULLs
        b"3\x01\x010",  # empty string
        b"4\x01a\\\x01b\x01-2.25",  # an escaped field delimiter inside the value
        b"5\x01tab\there\x011234567890123456789012345678.0123456789",
    ]
    (folder / "part-m-00000").write_bytes(b"\n".join(lines) + b"\n")
    rows = manage.run_query(
        cfg, "SELECT id, note, CAST(amount AS STRING) FROM mysql_src_shop_notes ORDER BY id"
    ).rows
    assert rows == (
        (1, "plain", "1.5000000000"),
        (2, None, None),
        (3, "", rows[2][2]),
        (4, "a\x01b", "-2.2500000000"),
        (5, "tab\there", "1234567890123456789012345678.0123456789"),
    )
    assert Decimal(rows[2][2]) == 0  # Spark 3.5 prints 0E-10, Spark 4 0.0000000000


def test_view_is_created_and_replaced(hive_server: Any, tmp_path: Path) -> None:
    db = _db()
    cfg = hive_server.config(tmp_path / "root", db)
    _write_events(cfg, _events(100))
    manage.apply(cfg)
    manage.register_partitions(cfg, "events", None)
    select = f"SELECT dt, count(*) AS n FROM `{db}`.`events` GROUP BY dt"
    first = manage.ensure_view(cfg, "events_per_day", select)
    assert first.created == ["events_per_day"] and first.exit_code == 0
    second = manage.ensure_view(cfg, "events_per_day", select + ";")
    assert second.replaced == ["events_per_day"] and second.exit_code == 0
    rows = manage.run_query(cfg, "SELECT * FROM events_per_day ORDER BY dt").rows
    assert rows == ((DAYS[0], 50), (DAYS[1], 50))
    bad = manage.ensure_view(cfg, "broken", "SELECT nope FROM nowhere")
    assert bad.exit_code == 5 and "broken" in bad.line()


# --- access_raw -------------------------------------------------------------------------


def test_access_raw_matches_the_parser_on_plain_and_gz_logs(
    hive_server: Any, tmp_path: Path
) -> None:
    from warehouse.logs import Classifier, compile_format, split_request, unescape

    with gzip.open(_sample_log(), "rb") as f:
        lines = f.read().decode("utf-8", "backslashreplace").splitlines()
    garbage = ["this is not a log line", "", "1.2.3.4 - - [bad"]
    plain, gz = lines[:4000] + garbage, lines[4000:]
    db = _db()
    root = tmp_path / "root"
    cfg = hive_server.config(root, db)
    (root / "raw" / "dt=2015-05-17").mkdir(parents=True)
    (root / "raw" / "dt=2015-05-17" / "access.log").write_text("\n".join(plain) + "\n")
    (root / "raw" / "dt=2015-05-18").mkdir(parents=True)
    with gzip.open(root / "raw" / "dt=2015-05-18" / "access.log.gz", "wt") as f:
        f.write("\n".join(gz) + "\n")
    applied = manage.apply(cfg)
    assert applied.exit_code == 0 and applied.added == 2  # access_raw's two days
    assert manage.register_partitions(cfg, "access_raw", None).added == 0

    fmt = compile_format("combined")
    parser = Classifier(fmt)
    columns = fmt.serde_columns()
    expected: Counter[tuple[str, str, str | None]] = Counter()
    for day, chunk in (("2015-05-17", plain), ("2015-05-18", gz)):
        for line in chunk:
            rec = parser.record(line)
            if isinstance(rec, str):
                continue
            path = split_request(rec["request"])[1]
            expected[(day, str(rec["status"]), path)] += 1
    not_all_null = " OR ".join(f"`{c}` IS NOT NULL" for c in columns)
    rows = manage.run_query(
        cfg, f"SELECT dt, status, request FROM access_raw WHERE {not_all_null}"
    ).rows
    got = Counter((d, s, split_request(unescape(r))[1]) for d, s, r in rows)
    assert sum(got.values()) == sum(expected.values()) >= len(lines) - 10
    assert got == expected
    # Every line is a row; the ones the regex cannot split (the garbage, and whatever the
    # parser rejects as no match) are the all-NULL rows.
    total = manage.run_query(cfg, "SELECT count(*) FROM access_raw").rows[0][0]
    assert total == len(plain) + len(gz)
    no_match = sum(1 for line in (*plain, *gz) if isinstance(parser.classify(line), str))
    assert total - sum(got.values()) == no_match >= len(garbage)


# --- query ------------------------------------------------------------------------------


def test_query_formats_files_and_bad_sql(hive_server: Any, tmp_path: Path) -> None:
    db = _db()
    root = tmp_path / "root"
    conf = _write_config(tmp_path / "w.toml", root, hive_server.hive_dict(db))
    hql = tmp_path / "q.hql"
    hql.write_text(
        f"CREATE DATABASE IF NOT EXISTS `{db}`;\n"
        "-- a comment; with a semicolon\n"
        f"CREATE TABLE IF NOT EXISTS `{db}`.`kv` (k STRING, v INT) USING parquet;\n"
        f"INSERT INTO `{db}`.`kv` VALUES ('a;b', 1), ('c', NULL), ('tab\\there', 3);\n"
        f"SELECT k, v FROM `{db}`.`kv` ORDER BY k\n"
    )
    table = _cli("--config", str(conf), "hive", "query", "-f", str(hql))
    assert table.exit_code == 0, table.output
    assert table.output.splitlines() == [
        "k        |    v",
        "---------+-----",
        "a;b      |    1",
        "c        | NULL",
        "tab\there |    3",
        "(3 rows)",
    ]
    tsv = _cli(
        "--config",
        str(conf),
        "hive",
        "query",
        "--format",
        "tsv",
        f"SELECT k, v FROM `{db}`.`kv` ORDER BY k",
    )
    assert tsv.output == "k\tv\na;b\t1\nc\t\\N\ntab\\there\t3\n"
    js = _cli(
        "--config",
        str(conf),
        "hive",
        "query",
        "--format",
        "json",
        f"SELECT k, v FROM `{db}`.`kv` WHERE v = 1",
    )
    assert js.output == '{"k": "a;b", "v": 1}\n'

    bad = _cli("--config", str(conf), "hive", "query", "SELEC 1")
    assert bad.exit_code == 5
    assert bad.stdout == ""
    err = bad.stderr.strip().splitlines()
    assert len(err) == 1 and "query failed" in err[0] and "SELEC" in err[0], bad.stderr
    missing = _cli("--config", str(conf), "hive", "query", "SELECT * FROM no_such_table")
    assert missing.exit_code == 5 and "no_such_table" in missing.stderr


def test_hive_through_the_ssh_tunnel(hive_server: Any, sshd: Any, tmp_path: Path) -> None:
    from warehouse.config import config_from_dict

    cfg = config_from_dict(
        {
            "warehouse": {"root": str(tmp_path / "root")},
            "hive": hive_server.hive_dict(_db(), tunnel="bastion"),
            "ssh": {"bastion": sshd.ssh_section()},
        }
    )
    summary = manage.apply(cfg)
    assert summary.exit_code == 0 and "via [ssh.bastion]" in summary.line()
    assert manage.run_query(cfg, "SELECT 40 + 2").rows == ((42,),)


def test_access_raw_reads_the_days_log_folder_in_place(hive_server: Any, tmp_path: Path) -> None:
    from warehouse.config import config_from_dict

    with gzip.open(_sample_log(), "rb") as f:
        lines = f.read().splitlines()[:500]
    logs = tmp_path / "logs"
    day_dir = logs / "2015" / "05" / "19"
    day_dir.mkdir(parents=True)
    (day_dir / "access.log").write_bytes(b"\n".join(lines[:300]) + b"\n")
    with gzip.open(day_dir / "access.log.1.gz", "wb") as f:
        f.write(b"\n".join(lines[300:]) + b"\n")
    (logs / "2015" / "05" / "20").mkdir(parents=True)
    (logs / "2015" / "05" / "20" / ".access.log.swp").write_bytes(b"x")  # nothing final
    db = _db()
    cfg = config_from_dict(
        {
            "warehouse": {"root": str(tmp_path / "root")},
            "hive": hive_server.hive_dict(db),
            "logs": {"input": str(logs) + "/{date:%Y/%m/%d}/", "format": "combined"},
        }
    )
    summary = manage.register_partitions(cfg, "access_raw", ["2015-05-19", "2015-05-20"])
    assert (summary.found, summary.added, summary.no_data) == (1, 1, ["2015-05-20"])
    assert summary.exit_code == 0
    rows = manage.run_query(
        cfg, "SELECT dt, count(*), count(status) FROM access_raw GROUP BY dt"
    ).rows
    assert rows == (("2015-05-19", 500, 500),)
    parts = manage.run_query(cfg, "DESCRIBE FORMATTED access_raw PARTITION (dt='2015-05-19')")
    where = [r[1] for r in parts.rows if str(r[0]).strip() == "Location"]
    assert where and where[0].rstrip("/").endswith("logs/2015/05/19")
    again = manage.register_partitions(cfg, "access_raw", ["2015-05-19"])
    assert (again.added, again.present) == (0, 1)


def test_hive_dialect_json_ddl_gets_past_the_parser(hive_server: Any, tmp_path: Path) -> None:
    """EMR's Hive cannot run here: Spark's HiveQL grammar accepts the `hive` dialect's JSON
    DDL and stops only at the SerDe class, which pyspark does not ship."""
    from warehouse.errors import QueryFailed
    from warehouse.hive.client import HiveClient
    from warehouse.hive.render import location_uri
    from warehouse.hive.tables import aggregate_spec, events_spec

    db = _db()
    with HiveClient(hive_server.host, hive_server.port) as client:
        client.execute(f"CREATE DATABASE `{db}`")
        for spec in (events_spec(), aggregate_spec("sessions")):
            (statement,) = manage.render_table(
                spec, dialect="hive", root_uri=location_uri(str(tmp_path)), database=db
            )
            with pytest.raises(QueryFailed) as err:
                client.execute(statement)
            assert "org.apache.hive.hcatalog.data.JsonSerDe not found" in str(err.value)
            assert "PARSE_SYNTAX_ERROR" not in str(err.value)


def test_apply_reports_a_new_log_format_and_replaces_on_request(
    hive_server: Any, tmp_path: Path
) -> None:
    db = _db()
    root = tmp_path / "root"
    hive = hive_server.hive_dict(db)
    combined = _write_config(
        tmp_path / "a.toml", root, hive, extra='\n[logs]\nformat = "combined"\n'
    )
    common = _write_config(tmp_path / "b.toml", root, hive, extra='\n[logs]\nformat = "common"\n')
    assert _cli("--config", str(combined), "hive", "apply").exit_code == 0
    changed = _cli("--config", str(common), "hive", "apply")
    assert changed.exit_code == 5
    assert (
        "4 unchanged, 1 changed" in changed.output
        and "access_raw (columns -referer" in changed.output
    )
    replaced = _cli("--config", str(common), "hive", "apply", "--replace")
    assert replaced.exit_code == 0 and "1 replaced" in replaced.output
    again = _cli("--config", str(common), "hive", "apply")
    assert again.exit_code == 0 and "5 unchanged" in again.output


def test_stuck_query_is_cancelled_after_query_timeout(hive_server: Any, tmp_path: Path) -> None:
    """A statement still RUNNING after `[hive] query_timeout_seconds` is cancelled: exit 5,
    one line naming the server, and the server still answers afterwards."""
    conf = _write_config(
        tmp_path / "w.toml", tmp_path / "root",
        hive_server.hive_dict("default", query_timeout_seconds=2),
    )
    slow = "SELECT reflect('java.lang.Thread', 'sleep', CAST(120000 AS BIGINT))"
    # the query sleeps 120 s: only the deadline path can end it with this message
    result = CliRunner().invoke(cli, ["--config", str(conf), "hive", "query", slow])
    assert result.exit_code == 5, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"{hive_server.host}:{hive_server.port} still running after 2s" in lines[0]
    assert "[hive] query_timeout_seconds" in lines[0]
    again = CliRunner().invoke(cli, ["--config", str(conf), "hive", "query", "SELECT 1"])
    assert again.exit_code == 0, again.output
