"""A damaged or tampered state file never makes a command touch anything outside its root
(issue 21, item 3): every key read back from a parse state, a table state or an S3
listing is checked before anything is read or deleted; anything else fails that input or
table with exit 5 and one line naming the file, and nothing is deleted.

Through the CLI, on a local root and on S3 served by moto; the import against MariaDB.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from warehouse.cli import cli
from warehouse.mysql.state import state_key

LOG = b"".join(
    b'10.0.0.%d - - [17/May/2015:10:%02d:00 +0000] "GET /items/%d HTTP/1.1" 200 512 "-" "t"\n'
    % (i % 250, i % 60, i)
    for i in range(200)
)


def _conf(tmp_path: Path, root: str, s3: str = "", extra: str = "") -> Path:
    conf = tmp_path / "w.toml"
    conf.write_text(
        f'[warehouse]\nroot = "{root}"\n'
        f'[cron]\nlock_file = "{tmp_path / "locks" / "run.lock"}"\n'
        + (f'[s3]\nendpoint_url = "{s3}"\nregion = "us-east-1"\n' if s3 else "")
        + extra
    )
    return conf


def _parse(conf: Path, log: str) -> Any:
    return CliRunner().invoke(cli, ["--config", str(conf), "parse", log])


def _failure_lines(output: str) -> list[str]:
    return [ln for ln in output.splitlines() if "is corrupt" in ln and "ERROR" not in ln]


TAMPERED = [
    pytest.param(lambda keys, victim: [*keys, "../victim.txt"], id="dotdot"),
    pytest.param(lambda keys, victim: [*keys, str(victim)], id="absolute"),
    pytest.param(lambda keys, victim: [*keys, "events/dt=2015-05-17/../../../victim.txt"],
                 id="dotdot-inside"),
    pytest.param(lambda keys, victim: "ab/c", id="string"),
    pytest.param(lambda keys, victim: [*keys, 7], id="number"),
    pytest.param(lambda keys, victim: [*keys, "events/dt=2015-05-17/other-0000.json.gz"],
                 id="another-inputs-part"),
]


@pytest.mark.parametrize("tamper", TAMPERED)
def test_tampered_parse_state_deletes_nothing_local(tmp_path: Path, tamper: Any) -> None:
    root = tmp_path / "wh"
    log = tmp_path / "logs" / "access.log"
    log.parent.mkdir()
    log.write_bytes(LOG)
    conf = _conf(tmp_path, str(root))
    first = _parse(conf, str(log))
    assert first.exit_code == 0, first.output
    # victims: a file beside the root, one in a folder of its own (emptied parents go too),
    # and one-letter names inside the root (a string read as a list of keys)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    deep = tmp_path / "other" / "sub" / "victim.txt"
    deep.parent.mkdir(parents=True)
    deep.write_text("keep me too")
    for letter in "abc":
        (root / letter).write_text("keep")
    (state,) = (root / "_state" / "parse").glob("*.json")
    data = json.loads(state.read_text())
    published = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.json.gz"))
    assert data["keys"] == published
    data["keys"] = tamper(data["keys"], deep)
    state.write_text(json.dumps(data))
    before = sorted(p for p in tmp_path.rglob("*"))

    second = _parse(conf, str(log))
    assert second.exit_code == 5, second.output
    (line,) = _failure_lines(second.output)
    assert f"parse state {state} is corrupt" in line and "nothing was deleted" in line
    assert "Traceback" not in second.output
    assert victim.read_text() == "keep me" and deep.read_text() == "keep me too"
    assert all((root / letter).exists() for letter in "abc")
    assert sorted(p for p in tmp_path.rglob("*")) == before  # nothing deleted, nothing added


@pytest.mark.parametrize("bad", ["../victim.txt", "/victim.txt", "../../victim.txt"])
def test_tampered_parse_state_deletes_nothing_s3(
    tmp_path: Path, moto_server: str, s3_client: Any, s3_bucket: str, bad: str
) -> None:
    s3_client.put_object(Bucket=s3_bucket, Key="logs/access.log", Body=LOG)
    s3_client.put_object(Bucket=s3_bucket, Key="victim.txt", Body=b"keep me")
    s3_client.put_object(Bucket=s3_bucket, Key="wh/victim.txt", Body=b"keep me")
    conf = _conf(tmp_path, f"s3://{s3_bucket}/wh/inner", s3=moto_server)
    log = f"s3://{s3_bucket}/logs/access.log"
    assert _parse(conf, log).exit_code == 0

    def listing() -> dict[str, str]:
        got = s3_client.list_objects_v2(Bucket=s3_bucket).get("Contents", [])
        return {o["Key"]: o["ETag"] for o in got}

    (key,) = [k for k in listing() if k.startswith("wh/inner/_state/parse/")]
    data = json.loads(s3_client.get_object(Bucket=s3_bucket, Key=key)["Body"].read())
    data["keys"].append(bad)
    s3_client.put_object(Bucket=s3_bucket, Key=key, Body=json.dumps(data).encode())
    before = listing()

    second = _parse(conf, log)
    assert second.exit_code == 5, second.output
    (line,) = _failure_lines(second.output)
    assert f"s3://{s3_bucket}/{key} is corrupt" in line
    assert listing() == before


def test_s3_listing_with_a_dotdot_key_deletes_nothing(
    tmp_path: Path, moto_server: str, s3_client: Any, s3_bucket: str
) -> None:
    """An object whose key holds `..` segments, listed under the input's staging prefix
    (where `parse` removes what a killed run left), fails the input: nothing deleted."""
    s3_client.put_object(Bucket=s3_bucket, Key="logs/access.log", Body=LOG)
    s3_client.put_object(Bucket=s3_bucket, Key="victim.txt", Body=b"keep me")
    conf = _conf(tmp_path, f"s3://{s3_bucket}/wh", s3=moto_server)
    log = f"s3://{s3_bucket}/logs/access.log"
    assert _parse(conf, log).exit_code == 0
    got = s3_client.list_objects_v2(Bucket=s3_bucket, Prefix="wh/_state/parse/")["Contents"]
    part_id = got[0]["Key"].rsplit("/", 1)[1][: -len(".json")]
    odd = f"wh/_staging/parse/{part_id}/../../../victim.txt"
    s3_client.put_object(Bucket=s3_bucket, Key=odd, Body=b"odd")
    keys = {o["Key"] for o in s3_client.list_objects_v2(Bucket=s3_bucket)["Contents"]}
    assert odd in keys  # stored as named: S3 keys are not paths

    second = _parse(conf, log)
    assert second.exit_code == 5, second.output
    (line,) = [ln for ln in second.output.splitlines() if "listed object key" in ln
               and "ERROR" not in ln]
    assert "'..' segment" in line and "nothing was deleted" in line
    after = {o["Key"] for o in s3_client.list_objects_v2(Bucket=s3_bucket)["Contents"]}
    assert after == keys
    body = s3_client.get_object(Bucket=s3_bucket, Key="victim.txt")["Body"].read()
    assert body == b"keep me"


# -- a table state's loads ---------------------------------------------------------------

USER, PASSWORD = "etl_state", "st4te-Pa55"


@pytest.mark.mysql
@pytest.mark.parametrize("loads", [["../../../../victim"], "ab", [["x"]], ["a/b"]])
def test_tampered_import_state_deletes_nothing(
    tmp_path: Path, mariadb: Any, loads: Any
) -> None:
    db = mariadb.create_database("statesafety")
    mariadb.execute("CREATE TABLE t (id INT PRIMARY KEY, v INT)", database=db)
    mariadb.execute("INSERT INTO t VALUES (1, 1), (2, 2)", database=db)
    mariadb.create_user(USER, PASSWORD, db)
    (tmp_path / "db.pass").write_text(PASSWORD + "\n")
    root = tmp_path / "root"
    conf = _conf(tmp_path, str(root), extra=(
        f'[mysql.src]\nhost = "127.0.0.1"\nport = {mariadb.port}\nuser = "{USER}"\n'
        f'password_file = "{tmp_path / "db.pass"}"\ndatabases = ["{db}"]\n'
    ))
    runner = CliRunner()
    first = runner.invoke(cli, ["--config", str(conf), "import"])
    assert first.exit_code == 0, first.output
    victim = tmp_path / "victim" / "data.txt"
    victim.parent.mkdir()
    victim.write_text("keep me")
    state = root / state_key("src", db, "t")
    data = json.loads(state.read_text())
    data["loads"] = loads
    state.write_text(json.dumps(data))
    before = sorted(p for p in tmp_path.rglob("*"))

    second = runner.invoke(cli, ["--config", str(conf), "import"])
    assert second.exit_code == 5, second.output
    assert f"import state {state} is corrupt" in second.output
    assert "Traceback" not in second.output
    assert victim.read_text() == "keep me"
    assert sorted(p for p in tmp_path.rglob("*")) == before
