"""The user's views (`[hive] views`) and nightly reports (`[hive] reports`).

Pure parts (file loading, dependency order) with literal inputs; then, on Spark's Thrift
server, MariaDB and sshd: a users table imported through the tunnel, a log whose paths
carry user ids (and lines with %u users), the shipped views applied by `hive apply`, a
GROUP BY over the view equal to a brute-force join in Python, and `run` materialising
the shipped report (a second run duplicates nothing).
"""

from __future__ import annotations

import gzip
import json
import shutil
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.test_mysql_import import PASSWORD, USER, _insert
from tests.test_pipeline import write_config
from warehouse.cli import cli
from warehouse.errors import ConfigError
from warehouse.hive.reports import load_reports
from warehouse.hive.userviews import ViewFile, load_views, ordered, references
from warehouse.resources import resource_dir


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


# --- pure -------------------------------------------------------------------------------


def test_views_are_ordered_by_what_they_use(tmp_path: Path) -> None:
    folder = _write(tmp_path / "v", {
        "a_top.hql": "CREATE OR REPLACE VIEW top AS SELECT * FROM middle -- uses middle\n;",
        "b_middle.hql": "create or replace view `Middle` as select x from base_v join events",
        "c_base.hql": "CREATE OR REPLACE VIEW base_v AS SELECT 'top' AS x FROM events",
        "notes.txt": "not a view",
    })
    views = load_views(folder)
    assert [v.name for v in views] == ["top", "middle", "base_v"]
    assert [v.name for v in ordered(views)] == ["base_v", "middle", "top"]
    # a name inside a string or a comment is not a use
    assert references(views[2], {"top", "middle"}) == set()


def test_a_cycle_and_bad_files_are_config_errors(tmp_path: Path) -> None:
    cycle = [ViewFile(Path("a.hql"), "a", "CREATE OR REPLACE VIEW a AS SELECT * FROM b"),
             ViewFile(Path("b.hql"), "b", "CREATE OR REPLACE VIEW b AS SELECT * FROM a")]
    with pytest.raises(ConfigError, match="cycle: a -> b -> a"):
        ordered(cycle)
    folder = _write(tmp_path / "bad", {
        "one.hql": "SELECT 1",
        "two.hql": "CREATE OR REPLACE VIEW x AS SELECT 1; CREATE OR REPLACE VIEW y AS SELECT 2",
        "three.hql": "CREATE OR REPLACE VIEW x AS SELECT 3",
        "four.hql": "CREATE OR REPLACE VIEW x AS SELECT 4",
    })
    with pytest.raises(ConfigError) as err:
        load_views(folder)
    text = str(err.value)
    assert "one.hql: must hold exactly one" in text and "two.hql" in text
    assert "view x is defined twice" in text
    with pytest.raises(ConfigError, match="does not exist"):
        load_views(tmp_path / "missing")


def test_reports_need_one_select_with_the_placeholder(tmp_path: Path) -> None:
    good = _write(tmp_path / "r", {"by_day.hql": "WITH t AS (SELECT 1 AS n) SELECT n FROM t "
                                                 "WHERE '${dt}' > ''"})
    assert [r.table for r in load_reports(good)] == ["report_by_day"]
    bad = _write(tmp_path / "b", {"Bad-Name.hql": "SELECT '${dt}'", "nodt.hql": "SELECT 1",
                                  "drop.hql": "DROP TABLE events"})
    with pytest.raises(ConfigError) as err:
        load_reports(bad)
    assert all(s in str(err.value) for s in ("Bad-Name.hql", "nodt.hql: has no ${dt}",
                                            "drop.hql: must hold exactly one SELECT"))


def test_the_shipped_examples_load() -> None:
    views = ordered(load_views(resource_dir("conf") / "views"))
    assert views[0].name == "user_activity"
    assert {v.name for v in views} >= {"user_activity", "daily_activity_by_country",
                                       "daily_activity_by_cohort"}
    assert [r.name for r in load_reports(resource_dir("conf") / "reports")] == ["country_day"]


# --- on Spark's Thrift server -------------------------------------------------------------


def _invoke(config: Path, *args: str) -> Any:
    result = CliRunner().invoke(cli, ["--config", str(config), *args])
    return result


@pytest.mark.hive
def test_views_apply_in_order_and_a_failing_view_is_reported(tmp_path: Path, hive_server) -> None:
    db = f"views_{uuid.uuid4().hex[:8]}"
    folder = _write(tmp_path / "views", {
        "a.hql": "CREATE OR REPLACE VIEW a_uses_b AS SELECT n + 1 AS n FROM b_base",
        "b.hql": "CREATE OR REPLACE VIEW b_base AS SELECT 1 AS n",
        "c.hql": "CREATE OR REPLACE VIEW c_broken AS SELECT n FROM no_such_table",
        "d.hql": "CREATE OR REPLACE VIEW d_on_broken AS SELECT n FROM c_broken",
    })
    config = write_config(tmp_path / "warehouse.toml", {
        "warehouse": {"root": str(tmp_path / "root")},
        "hive": hive_server.hive_dict(db, views=str(folder)),
    })
    checked = _invoke(config, "config", "check")
    assert checked.exit_code == 0, checked.output
    assert "b_base, a_uses_b, c_broken, d_on_broken" in checked.output

    first = _invoke(config, "hive", "apply")
    assert first.exit_code == 5, first.output
    assert "view c_broken (" in first.output and "c.hql" in first.output
    assert "no_such_table" in first.output
    assert "view d_on_broken" in first.output and "uses the failed view c_broken" in first.output
    conn = hive_server.connect(db)
    try:
        cur = conn.cursor()
        cur.execute("SELECT n FROM a_uses_b")
        assert cur.fetchall() == [(2,)]
    finally:
        conn.close()

    (folder / "c.hql").write_text("CREATE OR REPLACE VIEW c_broken AS SELECT n FROM b_base")
    second = _invoke(config, "hive", "apply")
    assert second.exit_code == 0, second.output
    again = _invoke(config, "hive", "apply")
    assert again.exit_code == 0 and "0 created" in again.output, again.output


USERS = [
    (1, "DE", "f", "2024-01-03"),
    (2, "FR", "m", "2024-02-11"),
    (3, "DE", "m", "2024-02-20"),
    (4, "US", None, "2023-12-01"),
    (5, "BR", "f", "2024-03-30"),  # never seen in the log
]
PATTERNS = [
    {"name": "home", "regex": "^/\\Z"},
    {"name": "users:profile", "regex": "^/users/(?P<user_id>[0-9]+)/\\Z"},
    {"name": "users:orders:detail",
     "regex": "^/users/(?P<user_id>[0-9]+)/orders/(?P<order_id>[0-9]+)/\\Z"},
]
DAY = "2024-05-01"


def _log_lines() -> list[str]:
    lines = []
    hits = [("-", "/users/1/"), ("-", "/users/1/orders/7/"), ("-", "/users/2/"),
            ("3", "/"), ("3", "/users/3/"), ("-", "/users/99/"), ("-", "/"),
            ("4", "/users/4/orders/12/"), ("alice", "/"), ("2", "/users/1/")]
    for i, (user, path) in enumerate(hits * 3):
        second = i % 60
        lines.append(
            f'10.0.0.{i % 7} - {user} [01/May/2024:10:{i // 60:02d}:{second:02d} +0000] '
            f'"GET {path} HTTP/1.1" 200 {100 + i} "-" "tester/1.0"'
        )
    return lines


def _events(root: Path) -> list[dict[str, Any]]:
    out = []
    for part in sorted((root / "events").glob("dt=*/*.json.gz")):
        with gzip.open(part, "rt", encoding="utf-8") as f:
            out += [json.loads(line) for line in f]
    return out


def _rows(hive_server, db: str, sql: str) -> list[tuple[Any, ...]]:
    return hive_server.rows(db, sql)


@pytest.mark.hive
@pytest.mark.mysql
@pytest.mark.slow
def test_behaviour_meets_relational_data(tmp_path: Path, sshd, mariadb, hive_server) -> None:
    source_db = mariadb.create_database("viewshop")
    mariadb.execute("CREATE TABLE users (id INT PRIMARY KEY, country CHAR(2), gender CHAR(1), "
                    "signup_date DATE)", database=source_db)
    _insert(mariadb, source_db, "users", [
        {"id": i, "country": c, "gender": g, "signup_date": s} for i, c, g, s in USERS])
    mariadb.create_user(USER, PASSWORD, source_db)
    users_table = f"mysql_src_{source_db}_users"

    log = tmp_path / "access.log"
    log.write_text("\n".join(_log_lines()) + "\n")
    patterns = tmp_path / "urls.json"
    patterns.write_text(json.dumps(PATTERNS))
    views = tmp_path / "views"
    views.mkdir()
    for shipped in (resource_dir("conf") / "views").glob("*.hql"):  # pointed at our table
        (views / shipped.name).write_text(
            shipped.read_text().replace("mysql_shop_shop_users", users_table))
    reports = tmp_path / "reports"
    shutil.copytree(resource_dir("conf") / "reports", reports)
    password = tmp_path / "db.pass"
    password.write_text(PASSWORD)
    root = tmp_path / "root"
    hive_db = f"behaviour_{uuid.uuid4().hex[:8]}"
    config = write_config(tmp_path / "warehouse.toml", {
        "warehouse": {"root": str(root)},
        "logs": {"input": str(log), "patterns": str(patterns)},
        "hive": hive_server.hive_dict(hive_db, views=str(views), reports=str(reports)),
        "aggregate": {"runner": "inline", "jobs": ["daily_actions"]},
        "cron": {"lock_file": str(tmp_path / "run.lock")},
        "ssh": {"bastion": sshd.ssh_section()},
        "mysql": {"src": mariadb.mysql_section([source_db], USER, str(password),
                                               tunnel="bastion")},
    })

    imported = _invoke(config, "import")
    assert imported.exit_code == 0, imported.output
    parsed = _invoke(config, "parse", str(log))
    assert parsed.exit_code == 0, parsed.output
    applied = _invoke(config, "hive", "apply")
    assert applied.exit_code == 0, applied.output
    assert "6 created" in applied.output  # events, access_raw, agg_daily_actions, 3 views
    registered = _invoke(config, "hive", "partitions", "-t", "events", "--all")
    assert registered.exit_code == 0, registered.output

    # brute force: every event whose user key (URL's user_id, else %u) is a known user
    by_id = {str(i): (c, g, s) for i, c, g, s in USERS}
    events = _events(root)
    assert len(events) == 30
    joined = [(e, by_id[k]) for e in events
              if (k := e["params"].get("user_id") or e["user"]) in by_id]
    want = Counter(u[0] for _, u in joined)
    assert want == {"DE": 15, "FR": 3, "US": 3}

    got = _invoke(config, "hive", "query",
                  "SELECT country, count(*) AS n FROM user_activity GROUP BY country",
                  "--format", "json")
    assert got.exit_code == 0, got.output
    rows = [json.loads(line) for line in got.output.splitlines() if line.startswith("{")]
    assert {r["country"]: r["n"] for r in rows} == dict(want)
    cohorts = _rows(hive_server, hive_db,
                    "SELECT cohort, events FROM daily_activity_by_cohort ORDER BY cohort")
    want_cohorts = Counter(u[2][:7] for _, u in joined)
    assert dict(cohorts) == dict(want_cohorts)

    # the nightly run materialises the report for the day; a second run duplicates nothing
    ran = _invoke(config, "run", "--date", DAY)
    assert ran.exit_code == 0, ran.output
    assert "reports ok (1 report)" in ran.output
    users_per_country: dict[str, set[str]] = defaultdict(set)
    for e, u in joined:
        users_per_country[u[0]].add(e["params"].get("user_id") or e["user"])
    expected = sorted((c, n, len(users_per_country[c])) for c, n in want.items())
    report_sql = (f"SELECT country, events, users FROM report_country_day WHERE dt = '{DAY}' "
                  "ORDER BY country")
    assert _rows(hive_server, hive_db, report_sql) == expected
    files = sorted((root / "reports" / "country_day" / f"dt={DAY}").iterdir())
    assert any(not f.name.startswith(("_", ".")) for f in files)
    again = _invoke(config, "run", "--date", DAY)
    assert again.exit_code == 0 and "reports complete" in again.output, again.output
    forced = _invoke(config, "run", "--date", DAY, "--only", "reports", "--force")
    assert forced.exit_code == 0, forced.output
    assert _rows(hive_server, hive_db, report_sql) == expected
    record = json.loads((root / "_state" / "runs" / DAY / "reports.json").read_text())
    assert record["status"] == "ok" and record["tables"] == ["report_country_day"]
    # a report added to the folder is made for the day done before (not skipped as complete)
    shutil.copy(reports / "country_day.hql", reports / "country_day_copy.hql")
    added = _invoke(config, "run", "--date", DAY)
    assert added.exit_code == 0 and "reports ok (2 reports)" in added.output, added.output
    assert _rows(hive_server, hive_db, report_sql.replace("_day WHERE", "_day_copy WHERE")) == expected


@pytest.mark.hive
def test_run_makes_the_views_its_reports_read_on_a_new_metastore(
    tmp_path: Path, hive_server
) -> None:
    """A new cluster's metastore has none of the user's views: `run` alone (no `hive
    apply`) creates them before its reports, which would otherwise fail on a missing view."""
    views = _write(tmp_path / "views", {
        "hits.hql": "CREATE OR REPLACE VIEW hits AS SELECT dt, slug FROM events",
        "hits_named.hql": "CREATE OR REPLACE VIEW hits_named AS "
                          "SELECT dt, COALESCE(slug, '-') AS slug FROM hits",
    })
    reports = _write(tmp_path / "reports", {
        "by_slug.hql": "SELECT slug, count(*) AS n FROM hits_named WHERE dt = '${dt}' GROUP BY slug",
    })
    log = tmp_path / "access.log"
    log.write_text("\n".join(_log_lines()) + "\n")
    patterns = tmp_path / "urls.json"
    patterns.write_text(json.dumps(PATTERNS))
    root = tmp_path / "root"
    hive_db = f"fresh_{uuid.uuid4().hex[:8]}"
    config = write_config(tmp_path / "warehouse.toml", {
        "warehouse": {"root": str(root)},
        "logs": {"input": str(log), "patterns": str(patterns)},
        "hive": hive_server.hive_dict(hive_db, views=str(views), reports=str(reports)),
        "aggregate": {"runner": "inline", "jobs": ["daily_actions"]},
        "cron": {"lock_file": str(tmp_path / "run.lock")},
    })

    ran = _invoke(config, "run", "--date", DAY)
    assert ran.exit_code == 0, ran.output
    assert "reports ok (1 report)" in ran.output
    record = json.loads((root / "_state" / "runs" / DAY / "reports.json").read_text())
    assert "2 views of [hive] views created or replaced first" in record["summary"]
    want = sorted(Counter(e["slug"] or "-" for e in _events(root)).items())
    assert len(want) == 3
    got = _rows(hive_server, hive_db, f"SELECT slug, n FROM report_by_slug WHERE dt = '{DAY}' "
                                      "ORDER BY slug")
    assert got == want

    # a broken view fails the stage (exit 5) naming its file; the next run retries it
    (views / "hits_named.hql").write_text("CREATE OR REPLACE VIEW hits_named AS SELECT x FROM nope")
    broken = _invoke(config, "run", "--date", DAY, "--only", "reports", "--force")
    assert broken.exit_code == 5, broken.output
    assert "view hits_named (" in broken.output and "hits_named.hql" in broken.output
