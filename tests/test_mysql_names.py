"""Two tables, one catalog name: a real `o_deletes` beside `o` with deletes, a real
`p_latest` beside incremental `p`, and `[mysql.nm]` `c1_nx.t` beside `[mysql.nm_c1]`
`nx.t` (both `mysql_nm_c1_nx_t`). `import`, `run` and `hive apply` fail them with exit 5
and one line naming both, before anything is registered; through the CLI against the
real MariaDB behind the real sshd, with the Glue catalog on moto's server."""

from __future__ import annotations

import json
import re
import shutil
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

from tests.test_mysql_import import PASSWORD, USER
from tests.test_pipeline import write_config
from warehouse.cli import cli
from warehouse.mysql.state import state_key

pytestmark = pytest.mark.mysql



def _timeless(out: str) -> str:
    """`out` with each table line's time (`after 0.02s`) as `after Ns`."""
    return re.sub(r"after [\d.]+(?:s|m\d+s|h\d+m)", "after Ns", out)

def _invoke(toml: Path, *args: str) -> tuple[int, str]:
    res = CliRunner().invoke(cli, ["--config", str(toml), *args])
    assert PASSWORD not in res.output and "Traceback" not in res.output
    return res.exit_code, res.output


def _glue_tables(endpoint: str, database: str) -> set[str]:
    api = boto3.client("glue", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    try:
        return {t["Name"] for page in api.get_paginator("get_tables").paginate(
            DatabaseName=database) for t in page["TableList"]}
    except api.exceptions.EntityNotFoundException:
        return set()


def _config(tmp_path: Path, sshd, mariadb, moto_server: str, glue_db: str,
            sources: dict[str, dict[str, Any]]) -> Path:
    pw = tmp_path / "db.pass"
    pw.write_text(PASSWORD + "\n")
    mysql = {name: mariadb.mysql_section(dbs, USER, str(pw), tunnel="bastion", **extra)
             for name, (dbs, extra) in sources.items()}
    return write_config(tmp_path / "warehouse.toml", {
        "warehouse": {"root": str(tmp_path / "root")},
        "glue": {"database": glue_db, "endpoint_url": moto_server},
        "ssh": {"bastion": sshd.ssh_section()},
        "mysql": mysql,
    })


def _set_exclude(toml: Path, globs: list[str]) -> None:
    lines = [x for x in toml.read_text().splitlines() if not x.startswith("exclude = ")]
    at = lines.index("[mysql.src]") + 1
    toml.write_text("\n".join([*lines[:at], f"exclude = {json.dumps(globs)}", *lines[at:]])
                    + "\n")


def test_deletes_and_latest_names_clash_with_real_tables(tmp_path, sshd, mariadb,
                                                           moto_server):
    db = mariadb.create_database("nm_del")
    for sql in ("CREATE TABLE o (id INT PRIMARY KEY, v INT)", "INSERT INTO o VALUES (1, 1)",
                "CREATE TABLE o_deletes (id INT PRIMARY KEY)",
                "CREATE TABLE p (id INT PRIMARY KEY)", "INSERT INTO p VALUES (1)",
                "CREATE TABLE p_latest (id INT PRIMARY KEY)",
                "CREATE TABLE ok1 (id INT PRIMARY KEY)", "INSERT INTO ok1 VALUES (7)"):
        mariadb.execute(sql, database=db)
    mariadb.create_user(USER, PASSWORD, db)
    glue_db = f"wh_{uuid.uuid4().hex[:10]}"
    inc = {"o": {"mode": "append", "column": "id", "deletes": True},
           "p": {"mode": "append", "column": "id"}}
    toml = _config(tmp_path, sshd, mariadb, moto_server, glue_db,
                   {"src": ([db], {"incremental": inc})})
    root = tmp_path / "root"

    code, out = _invoke(toml, "import")
    assert code == 5 and "5 tables (1 ok, 4 failed)" in out, out
    assert (f"src.{db}.o_deletes [python full] FAILED after Ns: Hive name "
            f"mysql_src_{db}_o_deletes of the table of src.{db}.o_deletes is shared with "
            f"the _deletes table of src.{db}.o; list one of them in [mysql.src] exclude, or "
            "rename it") in _timeless(out), out
    assert (f"mysql_src_{db}_p_latest of the _latest view of src.{db}.p is shared with the "
            f"table of src.{db}.p_latest") in out, out
    # nothing of the four written or registered; the other table was
    assert sorted(p.name for p in (root / "mysql" / "src" / db).iterdir()) == ["ok1"]
    assert {t for t in _glue_tables(moto_server, glue_db) if t.startswith("mysql_")} == {
        f"mysql_src_{db}_ok1"}

    code, out = _invoke(toml, "run", "--date", "2024-03-01", "--only", "import")
    assert code == 5, out
    rec = json.loads((root / "_state/runs/2024-03-01/import.json").read_text())
    assert rec["exit_code"] == 5 and f"mysql_src_{db}_o_deletes" in rec["error"], rec

    _set_exclude(toml, ["o_deletes", "p_latest"])
    code, out = _invoke(toml, "import")
    assert code == 0 and "3 tables (3 ok, 0 failed)" in out, out
    # the real tables come back: the names are held by o and p, which go on
    _set_exclude(toml, [])
    code, out = _invoke(toml, "import")
    assert code == 5 and "5 tables (3 ok, 2 failed)" in out, out
    assert f"the _deletes table of src.{db}.o (imported before)" in out, out
    assert f"the _latest view of src.{db}.p (imported before)" in out, out

    code, out = _invoke(toml, "hive", "apply")  # the root has no clash: all made
    assert code == 0, out


def test_two_sources_one_name(tmp_path, sshd, mariadb, moto_server):
    # [mysql.nm] c1_nx.t and [mysql.nm_c1] nx.t are both mysql_nm_c1_nx_t
    dbs = [mariadb.create_database("c1_nx"), mariadb.create_database("nx")]
    for db in dbs:
        mariadb.execute("CREATE TABLE t (id INT PRIMARY KEY)", database=db)
        mariadb.execute(f"CREATE TABLE own_{db} (id INT PRIMARY KEY)", database=db)
    mariadb.create_user(USER, PASSWORD, *dbs)
    glue_db = f"wh_{uuid.uuid4().hex[:10]}"
    toml = _config(tmp_path, sshd, mariadb, moto_server, glue_db,
                   {"nm": (["c1_nx"], {}), "nm_c1": (["nx"], {})})
    root = tmp_path / "root"

    code, out = _invoke(toml, "import")
    assert code == 5 and "4 tables (2 ok, 2 failed)" in out, out
    assert ("nm.c1_nx.t [python full] FAILED after Ns: Hive name mysql_nm_c1_nx_t of the "
            "table of nm.c1_nx.t is shared with the table of nm_c1.nx.t; list one of them in "
            "[mysql.nm] or [mysql.nm_c1] exclude, or rename it") in _timeless(out), out
    assert "nm_c1.nx.t [python full] FAILED" in out, out
    assert not (root / "mysql" / "nm" / "c1_nx" / "t").exists()
    assert not (root / "mysql" / "nm_c1" / "nx" / "t").exists()
    assert "mysql_nm_c1_nx_t" not in _glue_tables(moto_server, glue_db)
    code, out = _invoke(toml, "run", "--date", "2024-03-01", "--only", "import")
    assert code == 5 and "mysql_nm_c1_nx_t" in out, out

    # one source alone does not see the other's tables: it takes the name, which it then
    # holds; the other source's table fails from now on
    code, out = _invoke(toml, "import", "nm")
    assert code == 0, out
    code, out = _invoke(toml, "import")
    assert code == 5 and "3 ok, 1 failed" in out, out
    assert "the table of nm.c1_nx.t (imported before)" in out, out

    # a root holding both (written before this check): hive apply makes neither, exit 5
    shutil.copy(root / state_key("nm", "c1_nx", "t"), root / state_key("nm_c1", "nx", "t"))
    code, out = _invoke(toml, "hive", "apply")
    assert code == 5, out
    assert ("Hive name mysql_nm_c1_nx_t of the table of nm.c1_nx.t is shared with the table "
            "of nm_c1.nx.t (imported before)") in out, out
