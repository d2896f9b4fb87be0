"""The Hive client without a server: a down server is exit 3, one line naming host:port."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.fixtures._util import free_port
from warehouse.cli import cli
from warehouse.config import config_from_dict
from warehouse.errors import ConfigError, SourceUnavailable
from warehouse.hive import manage
from warehouse.hive.client import Result


def _config(tmp_path: Path, port: int) -> Path:
    conf = tmp_path / "w.toml"
    conf.write_text(
        f'[warehouse]\nroot = "{tmp_path / "root"}"\n\n'
        f'[hive]\nhost = "127.0.0.1"\nport = {port}\ndialect = "spark"\n',
        encoding="utf-8",
    )
    return conf


@pytest.mark.parametrize(
    "args",
    [
        ["hive", "query", "SELECT 1"],
        ["hive", "apply"],
        ["hive", "partitions", "--table", "events", "--all"],
    ],
)
def test_down_server_is_exit_3_with_one_line(tmp_path: Path, args: list[str]) -> None:
    port = free_port()  # nothing listens here
    result = CliRunner().invoke(cli, ["--config", str(_config(tmp_path, port)), *args])
    assert result.exit_code == 3, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"127.0.0.1:{port}" in lines[0] and "unreachable" in lines[0]


def test_password_comes_from_the_environment_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = config_from_dict(
        {
            "warehouse": {"root": str(tmp_path)},
            "hive": {"port": free_port(), "auth": "LDAP", "password_env": "WH_TEST_HIVE_PW"},
        }
    )
    monkeypatch.delenv("WH_TEST_HIVE_PW", raising=False)
    with pytest.raises(ConfigError, match=r"\$WH_TEST_HIVE_PW is not set"):
        manage.run_query(cfg, "SELECT 1")
    monkeypatch.setenv("WH_TEST_HIVE_PW", "s3cret-value")
    with pytest.raises(SourceUnavailable) as err:
        manage.run_query(cfg, "SELECT 1")
    assert "s3cret-value" not in str(err.value)


def test_empty_sql_and_bad_dates_are_usage_errors(tmp_path: Path) -> None:
    cfg = config_from_dict({"warehouse": {"root": str(tmp_path)}, "hive": {"port": free_port()}})
    with pytest.raises(ConfigError, match="no SQL"):
        manage.run_query(cfg, "-- nothing\n;")
    with pytest.raises(ConfigError, match="bad partition date"):
        manage.register_partitions(cfg, "events", ["2012-13-45"])


def test_format_result_shapes() -> None:
    result = Result(columns=("t.a", "b"), rows=((1, "x|y"), (None, "line\nbreak")))
    assert manage.format_result(result, "table").splitlines() == [
        "   a | b",
        "-----+------------",
        "   1 | x|y",
        "NULL | line\\nbreak",
        "(2 rows)",
    ]
    assert manage.format_result(result, "tsv") == "a\tb\n1\tx|y\n\\N\tline\\nbreak\n"
    assert manage.format_result(result, "json") == (
        '{"a": 1, "b": "x|y"}\n{"a": null, "b": "line\\nbreak"}\n'
    )
    assert (
        manage.format_result(Result(statements=2), "table") == "OK (2 statements, no result set)\n"
    )
    assert manage.format_result(Result(), "json") == ""
    with pytest.raises(ConfigError):
        manage.format_result(result, "xml")


def test_missing_hql_file_is_exit_4(tmp_path: Path) -> None:
    conf = _config(tmp_path, free_port())
    result = CliRunner().invoke(
        cli, ["--config", str(conf), "hive", "query", "-f", str(tmp_path / "nope.hql")]
    )
    assert result.exit_code == 4
    assert "nope.hql" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    both = CliRunner().invoke(
        cli, ["--config", str(conf), "hive", "query", "SELECT 1", "-f", "x.hql"]
    )
    assert both.exit_code == 2


def test_partitions_are_found_on_s3_without_work_in_progress(
    moto_server: str, s3_bucket: str
) -> None:
    """The listing side of `register_partitions` on an S3 root (moto's server, real boto3)."""
    from warehouse.hive.manage import find_partitions
    from warehouse.hive.render import location_uri, render_add_partitions
    from warehouse.hive.tables import aggregate_spec, events_spec
    from warehouse.storage import store_for_config, write_bytes

    cfg = config_from_dict(
        {"warehouse": {"root": f"s3://{s3_bucket}/wh"}, "s3": {"endpoint_url": moto_server}}
    )
    store = store_for_config(cfg)
    write_bytes(store, "events/dt=2012-01-14/a1.json.gz", b"x")
    write_bytes(store, "events/dt=2012-01-14/_tmp.a2.json.gz", b"x")
    write_bytes(store, "events/dt=2012-01-15/_tmp.a1.json.gz", b"x")  # still being written
    write_bytes(store, "events/dt=2012-01-16/.a1.json.gz", b"x")
    write_bytes(store, "events/stray.json.gz", b"x")  # not in a partition folder
    write_bytes(store, "aggregates/sessions/dt=2012-01-14/p.json.gz", b"x")
    spec = events_spec()
    assert find_partitions(store, spec) == [{"dt": "2012-01-14"}]
    assert find_partitions(store, spec, ["2012-01-15", "2012-01-16"]) == []
    assert find_partitions(store, aggregate_spec("sessions"), ["2012-01-14"]) == [
        {"dt": "2012-01-14"}
    ]
    (statement,) = render_add_partitions(
        spec, [{"dt": "2012-01-14"}], root_uri=location_uri(store.uri("")), database="w"
    )
    assert f"LOCATION 's3://{s3_bucket}/wh/events/dt=2012-01-14'" in statement
