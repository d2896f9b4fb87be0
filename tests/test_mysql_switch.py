"""Switching a table between full and incremental imports (or its mode) through the
config, through the CLI against the real MariaDB reached through the real sshd tunnel:
the next import switches, with nothing lost and nothing doubled in `_latest`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.test_mysql_import import _query, _state
from tests.test_mysql_incremental import _json_lines, copies, latest_from_files
from tests.test_mysql_review import _cli, _setup
from warehouse.cli import cli

pytestmark = pytest.mark.mysql

T = "CREATE TABLE t (id INT PRIMARY KEY AUTO_INCREMENT, v VARCHAR(10), m TIMESTAMP(3) NOT " \
    "NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3))"


def _with(toml: Path, incremental: str) -> None:
    """Replace the config's incremental entry of `[mysql.src]` ('' removes it)."""
    lines = [x for x in toml.read_text().splitlines() if not x.startswith("incremental")]
    at = next(i for i, x in enumerate(lines) if x.startswith("exclude = ")) + 1
    toml.write_text("\n".join([*lines[:at], incremental, *lines[at:]]) + "\n")


def _loads(root: Path, db: str) -> list[str]:
    return sorted(p.name for p in (root / "mysql" / "src" / db / "t").glob("load=*"))


def _source(mariadb, db: str) -> dict[int, str]:
    return dict(_query(mariadb, db, "SELECT id, v FROM t"))


def _latest(root: Path, db: str) -> dict[int, str]:
    """What `_latest` shows, computed from the files: each key once, its newest copy."""
    return {k[0]: r["v"] for k, r in latest_from_files(root, db, "t", ["id"]).items()}


def _files(root: Path, db: str) -> list[tuple[Any, Any]]:
    """Every row of the table's files (duplicates kept), as (id, v)."""
    folder = root / "mysql" / "src" / db / "t"
    return sorted((r["id"], r["v"]) for p in folder.glob("load=*/*.json.gz")
                  for r in _json_lines(p))


@pytest.mark.parametrize("mode", ["append", "lastmodified"])
def test_full_to_incremental_switches_at_the_next_import(tmp_path, sshd, mariadb, caplog,
                                                         mode):
    db = f"sw_full_{mode}"
    toml = _setup(tmp_path, sshd, mariadb, db, T,
                  "INSERT INTO t (v) VALUES ('a'), ('b'), ('c')")
    root = tmp_path / "root"
    code, out = _cli(toml)  # nightly, in full
    assert code == 0 and "3 rows" in out, out
    assert _files(root, db) == [(1, "a"), (2, "b"), (3, "c")]
    first = _loads(root, db)
    assert len(first) == 1 and _state(root, "src", db, "t")["mode"] == "full"

    mariadb.execute("UPDATE t SET v = 'a2' WHERE id = 1", database=db)
    mariadb.execute("INSERT INTO t (v) VALUES ('d')", database=db)
    column = "id" if mode == "append" else "m"
    _with(toml, f'incremental = {{ "{db}.t" = {{ mode = "{mode}", column = "{column}" }} }}')
    caplog.set_level(logging.INFO)
    code, out = _cli(toml, "-v")  # the switch: the whole table, replacing the full load
    assert code == 0 and "1 table (1 ok, 0 failed), 4 rows" in out, out
    assert (f"switching src.{db}.t from full to {mode} on {column}: this load reads the "
            "whole table") in caplog.text
    switched = _loads(root, db)
    assert len(switched) == 1 and switched != first
    assert _files(root, db) == [(1, "a2"), (2, "b"), (3, "c"), (4, "d")]
    assert _latest(root, db) == _source(mariadb, db)
    st = _state(root, "src", db, "t")
    assert (st["mode"], st["column"], st["key"], st["loads"]) == (mode, column, ["id"],
                                                                   [switched[0][5:]])
    assert st["last_value"] is not None

    mariadb.execute("INSERT INTO t (v) VALUES ('e')", database=db)
    if mode == "lastmodified":
        mariadb.execute("UPDATE t SET v = 'b2' WHERE id = 2", database=db)
    caplog.clear()
    code, out = _cli(toml)  # incremental from now on: a load added, not the whole table
    assert code == 0 and "switching" not in caplog.text, out
    assert len(_loads(root, db)) == 2 and _loads(root, db)[0] == switched[0]
    assert _latest(root, db) == _source(mariadb, db)
    if mode == "append":
        assert copies(root, db, "t", "id") == [1, 2, 3, 4, 5]  # each id once
        assert "1 row," in out, out
    else:  # the lag window re-reads recent rows: more copies, still one per key in _latest
        assert {r for r in copies(root, db, "t", "id")} == {1, 2, 3, 4, 5}


def test_incremental_to_full_switches_at_the_next_import(tmp_path, sshd, mariadb, caplog):
    db = "sw_inc_full"
    toml = _setup(tmp_path, sshd, mariadb, db, T,
                  "INSERT INTO t (v) VALUES ('a'), ('b'), ('c')")
    root = tmp_path / "root"
    _with(toml, f'incremental = {{ "{db}.t" = {{ mode = "lastmodified", column = "m", '
                'deletes = true } }')
    code, out = _cli(toml)
    assert code == 0 and "3 rows" in out, out
    mariadb.execute("UPDATE t SET v = 'a2' WHERE id = 1", database=db)
    mariadb.execute("DELETE FROM t WHERE id = 3", database=db)
    code, out = _cli(toml)
    assert code == 0, out
    folder = root / "mysql" / "src" / db / "t"
    assert len(_loads(root, db)) == 2 and list((folder / "_deletes").glob("load=*"))
    assert _latest(root, db) == _source(mariadb, db) == {1: "a2", 2: "b"}
    assert (3, "c") in _files(root, db)  # the table keeps every copy a load read

    _with(toml, "")  # the entry removed: nightly full loads again
    caplog.set_level(logging.WARNING)
    code, out = _cli(toml)
    assert code == 0 and "1 table (1 ok, 0 failed), 2 rows" in out, out
    assert (f"switching src.{db}.t from lastmodified on m to full: this load reads the whole "
            "table and replaces the earlier loads") in caplog.text
    assert len(_loads(root, db)) == 1
    assert _files(root, db) == [(1, "a2"), (2, "b")]  # the table as MySQL holds it
    assert not list(folder.glob("_deletes/load=*/*"))
    assert not list((root / "_state" / "mysql" / "src" / db).glob("t.keys/*"))
    st = _state(root, "src", db, "t")
    assert (st["mode"], st["column"], st["key"], st["deletes"], st["deletes_loads"],
            st["keys_load"]) == ("full", None, [], False, [], None)

    caplog.clear()
    mariadb.execute("INSERT INTO t (v) VALUES ('d')", database=db)
    code, out = _cli(toml)  # an ordinary full load
    assert code == 0 and "3 rows" in out and "switching" not in caplog.text, out
    assert _files(root, db) == [(1, "a2"), (2, "b"), (4, "d")]


def test_a_changed_mode_rereads_the_table_and_keeps_the_earlier_loads(tmp_path, sshd,
                                                                        mariadb, caplog):
    db = "sw_mode"
    toml = _setup(tmp_path, sshd, mariadb, db, T,
                  "INSERT INTO t (v) VALUES ('a'), ('b'), ('c')")
    root = tmp_path / "root"
    _with(toml, f'incremental = {{ "{db}.t" = {{ mode = "append", column = "id" }} }}')
    code, out = _cli(toml)
    assert code == 0 and "3 rows" in out, out
    mariadb.execute("DELETE FROM t WHERE id = 3", database=db)  # deletes are not tracked
    mariadb.execute("UPDATE t SET v = 'a2' WHERE id = 1", database=db)
    _with(toml, f'incremental = {{ "{db}.t" = {{ mode = "lastmodified", column = "m" }} }}')
    caplog.set_level(logging.WARNING)
    code, out = _cli(toml)
    assert code == 0 and "2 rows" in out, out
    assert (f"switching src.{db}.t from append on id to lastmodified on m: this load reads "
            "the whole table and keeps the earlier loads") in caplog.text
    assert len(_loads(root, db)) == 2
    assert _files(root, db) == [(1, "a"), (1, "a2"), (2, "b"), (2, "b"), (3, "c")]
    assert _latest(root, db) == {1: "a2", 2: "b", 3: "c"}  # 3 kept: deletes are invisible
    st = _state(root, "src", db, "t")
    assert (st["mode"], st["column"], len(st["loads"])) == ("lastmodified", "m", 2)

    _with(toml, f'incremental = {{ "{db}.t" = {{ mode = "lastmodified", column = "m", '
                'key = "v" } }')
    code, out = _cli(toml)  # a new row key cannot be matched with the earlier loads
    assert code == 5 and "key changed from id to v since the last load" in out, out
    assert len(_loads(root, db)) == 2


@pytest.mark.hive
@pytest.mark.slow
def test_hive_follows_a_switch_and_hive_apply_rebuilds_it(tmp_path, sshd, mariadb,
                                                          hive_server):
    """full -> lastmodified with deletes -> full again: after each import the Hive table
    (and `_latest`) equal MariaDB, and `hive apply` on a fresh database from the root
    makes the same table."""
    from tests.test_mysql_hive import _hive_rows

    db = "sw_hive"
    toml = _setup(tmp_path, sshd, mariadb, db, T,
                  "INSERT INTO t (v) VALUES ('a'), ('b'), ('c')")
    with toml.open("a") as f:
        f.write(f'[hive]\nhost = "{hive_server.host}"\nport = {hive_server.port}\n'
                'username = "test"\ndatabase = "sw_hive"\ndialect = "spark"\n')
    root = tmp_path / "root"

    def hive(sql: str, database: str = "sw_hive") -> list[tuple[Any, ...]]:
        return sorted(tuple(r.values()) for r in _hive_rows(hive_server, database, sql))

    table = f"mysql_src_{db}_t"
    assert _cli(toml)[0] == 0
    assert hive(f"SELECT id, v FROM {table}") == [(1, "a"), (2, "b"), (3, "c")]

    _with(toml, f'incremental = {{ "{db}.t" = {{ mode = "lastmodified", column = "m", '
                'deletes = true } }')
    mariadb.execute("UPDATE t SET v = 'a2' WHERE id = 1", database=db)
    assert _cli(toml)[0] == 0  # the switch: one whole-table load
    assert hive(f"SELECT id, v FROM {table}") == [(1, "a2"), (2, "b"), (3, "c")]
    mariadb.execute("DELETE FROM t WHERE id = 3", database=db)
    mariadb.execute("UPDATE t SET v = 'b2' WHERE id = 2", database=db)
    assert _cli(toml)[0] == 0
    want = sorted(_source(mariadb, db).items())
    assert hive(f"SELECT id, v FROM {table}_latest") == want == sorted(_latest(root, db).items())

    _with(toml, "")  # back to full loads
    mariadb.execute("INSERT INTO t (v) VALUES ('d')", database=db)
    assert _cli(toml)[0] == 0
    want = sorted(_source(mariadb, db).items())
    assert hive(f"SELECT id, v FROM {table}") == want == _files(root, db)
    assert hive(f"SELECT id, v FROM {table}_latest") == want  # left, still right

    fresh = toml.read_text().replace('database = "sw_hive"', 'database = "sw_hive_fresh"')
    toml.write_text(fresh)
    res = CliRunner().invoke(cli, ["--config", str(toml), "hive", "apply"])
    assert res.exit_code == 0, res.output
    assert hive(f"SELECT id, v FROM {table}", "sw_hive_fresh") == want
