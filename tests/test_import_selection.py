"""`warehouse import SOURCE.DATABASE.TABLE` of a table that `[mysql.NAME] exclude` leaves
out: a warning and nothing imported, unless `--include-excluded` (through the CLI, real
MariaDB behind sshd)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests._tty import run_cli
from tests.test_mysql_import import PASSWORD, USER, _toml_config


@pytest.mark.mysql
def test_an_excluded_table_named_on_the_command_line_needs_include_excluded(
    tmp_path: Path, sshd: Any, mariadb: Any
) -> None:
    db = mariadb.create_database("seldb")
    mariadb.execute("CREATE TABLE keep (id INT PRIMARY KEY)", database=db)
    mariadb.execute("CREATE TABLE scratch_tmp (id INT PRIMARY KEY)", database=db)
    mariadb.execute("INSERT INTO scratch_tmp VALUES (1), (2), (3)", database=db)
    mariadb.create_user(USER, PASSWORD, db)
    (tmp_path / "db.pass").write_text(PASSWORD + "\n")
    root = tmp_path / "root"
    conf = _toml_config(tmp_path, sshd, mariadb, root, db)  # exclude = ["*_tmp"]
    table = f"src.{db}.scratch_tmp"

    rc, out, err = run_cli(["--config", str(conf), "import", table], tty=False)
    assert rc == 0, err
    assert f"WARNING warehouse.mysql.importer: {table} is excluded by [mysql.src] exclude " \
           "('*_tmp'): skipped; add --include-excluded to import it anyway" in err, err
    assert out.strip().splitlines()[-1].endswith(
        f"(nothing selected: {table} is excluded by the config's exclude; "
        "--include-excluded imports it)"), out
    assert not (root / "mysql" / "src" / db / "scratch_tmp").exists()

    rc, out, err = run_cli(["--config", str(conf), "import", table, "--include-excluded"],
                           tty=False)
    assert rc == 0, err
    assert f"{table} [python full] 3 rows" in out, out
    assert list((root / "mysql" / "src" / db / "scratch_tmp").glob("load=*/*.json.gz"))

    # a table the excludes do not touch needs no flag; a whole database still skips them
    rc, out, err = run_cli(["--config", str(conf), "import", f"src.{db}"], tty=False)
    assert rc == 0 and f"src.{db}.keep [python full]" in out and "scratch_tmp" not in out, out
