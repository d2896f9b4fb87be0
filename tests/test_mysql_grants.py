"""A table the user can no longer see (its SELECT grant revoked, or dropped) fails through
the CLI, against the real MariaDB reached through the real sshd tunnel: information_schema
hides such a table, and the warehouse must not keep serving its last load with exit 0."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.test_mysql_import import _read_rows, _toml_config
from warehouse.cli import cli

pytestmark = pytest.mark.mysql

DB, USER, PASSWORD = "gr_shop", "gr_etl", "gr-Pa55-word-9"
LINE = (f"user {USER} cannot see {DB}.orders: no SELECT grant, or dropped? list it in "
        "[mysql.src] exclude if it is gone")


def _invoke(toml: Path, *args: str) -> tuple[int, str]:
    res = CliRunner().invoke(cli, ["--config", str(toml), *args])
    assert PASSWORD not in res.output and "Traceback" not in res.output
    return res.exit_code, res.output


def _setup(tmp_path: Path, sshd, mariadb, tables: str = "") -> Path:
    """Two tables, a user with a SELECT grant on each table (not on the database)."""
    mariadb.create_database(DB)
    for t in ("orders", "customers"):
        mariadb.execute(f"CREATE TABLE {t} (id INT PRIMARY KEY, v VARCHAR(10))", database=DB)
        mariadb.execute(f"INSERT INTO {t} VALUES (1, 'a'), (2, 'b')", database=DB)
    mariadb.execute(f"DROP USER IF EXISTS '{USER}'@'%'")
    mariadb.execute(f"CREATE USER '{USER}'@'%%' IDENTIFIED BY %s", (PASSWORD,))
    for t in ("orders", "customers"):
        mariadb.execute(f"GRANT SELECT ON `{DB}`.`{t}` TO '{USER}'@'%'")
    (tmp_path / "db.pass").write_text(PASSWORD + "\n")
    toml = _toml_config(tmp_path, sshd, mariadb, tmp_path / "root", DB, tables)
    toml.write_text(toml.read_text().replace('user = "etl"', f'user = "{USER}"'))
    return toml


def _exclude(toml: Path, *globs: str) -> None:
    text = toml.read_text().replace('exclude = ["*_tmp"]', f"exclude = {json.dumps(globs)}")
    toml.write_text(text)


def test_a_revoked_grant_fails_the_table_in_import_and_run(tmp_path, sshd, mariadb):
    toml = _setup(tmp_path, sshd, mariadb)
    code, out = _invoke(toml, "import")
    assert code == 0 and "2 tables (2 ok, 0 failed)" in out, out
    mariadb.execute(f"REVOKE SELECT ON `{DB}`.`orders` FROM '{USER}'@'%'")
    mariadb.execute("UPDATE orders SET v = 'new' WHERE id = 1", database=DB)

    code, out = _invoke(toml, "import")
    assert code == 5, out
    assert "2 tables (1 ok, 1 failed)" in out and LINE in out, out
    assert f"src.{DB}.customers [python full] 2 rows" in out, out
    # the last load is left as it was (not removed, not updated)
    assert sorted(r["v"] for r in _read_rows(tmp_path / "root", "src", DB, "orders")) == [
        "a", "b"]

    code, out = _invoke(toml, "import", f"src.{DB}.orders")  # by name: the same failure
    assert code == 5 and LINE in out, out

    code, out = _invoke(toml, "run", "--date", "2024-03-01", "--only", "import")
    assert code == 5 and LINE in out, out
    rec = json.loads((tmp_path / "root/_state/runs/2024-03-01/import.json").read_text())
    assert rec["status"] == "failed" and rec["exit_code"] == 5 and LINE in rec["error"], rec

    _exclude(toml, "*_tmp", "orders")  # the user says it is gone: the others import
    code, out = _invoke(toml, "import")
    assert code == 0 and "1 table (1 ok, 0 failed)" in out and "orders" not in out, out
    code, out = _invoke(toml, "run", "--date", "2024-03-01", "--only", "import")
    assert code == 0, out


def test_a_table_the_config_names_must_be_visible(tmp_path, sshd, mariadb):
    toml = _setup(tmp_path, sshd, mariadb, 'tables = ["customers", "orders", "gr_shop.nope"]')
    mariadb.execute(f"REVOKE SELECT ON `{DB}`.`orders` FROM '{USER}'@'%'")
    code, out = _invoke(toml, "import")  # never imported, but named: not a silent skip
    assert code == 5 and "3 tables (1 ok, 2 failed)" in out and LINE in out, out
    assert f"user {USER} cannot see {DB}.nope: no SELECT grant" in out, out
    _exclude(toml, "orders", "nope")
    code, out = _invoke(toml, "import")
    assert code == 0 and "1 table (1 ok, 0 failed)" in out, out
    # a glob that matches nothing names no table: still only said, exit 0
    toml.write_text(toml.read_text().replace(
        'tables = ["customers", "orders", "gr_shop.nope"]', 'tables = ["cust*", "z*"]'))
    code, out = _invoke(toml, "import")
    assert code == 0 and "1 table (1 ok, 0 failed)" in out, out
