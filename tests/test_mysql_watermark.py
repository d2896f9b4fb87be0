"""Pure parts of late-commit and delete handling: lag parsing, bounds, gaps, key merge, view."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from tests.test_mysql_units import COLS
from warehouse.config import DEFAULT_LAG, config_from_dict, parse_span
from warehouse.errors import ConfigError, JobFailed
from warehouse.mysql.deletes import check_key_columns, deleted_keys, keys_sql
from warehouse.mysql.hive_tables import deletes_spec, latest_view_sql, table_spec
from warehouse.mysql.schema import SourceColumn
from warehouse.mysql.watermark import (
    find_missing,
    held_watermark,
    lower_bound,
    prune_missing,
    ranges_sql,
)


def _inc(spec: dict) -> dict:
    raw = {"mysql": {"s": {"user": "u", "databases": ["d"], "incremental": {"d.t": spec}}}}
    return config_from_dict(raw).mysql["s"].incremental["d.t"]


def test_lag_and_deletes_keys_parse_with_defaults():
    assert parse_span("15m") == 900 and parse_span("2h") == 7200 and parse_span(90) == 90
    assert parse_span("1d") == 86400 and parse_span("1.5s") == 1.5
    assert parse_span("-1") is None and parse_span("soon") is None and parse_span(True) is None
    lm = _inc({"mode": "lastmodified", "column": "m"})
    assert lm.lag is None and lm.lag_value == DEFAULT_LAG["lastmodified"] == 900
    assert not lm.deletes
    assert _inc({"mode": "lastmodified", "column": "m", "lag": "10m"}).lag_value == 600
    ap = _inc({"mode": "append", "column": "id", "lag": 50, "deletes": True})
    assert ap.lag_value == 50 and ap.deletes
    assert _inc({"mode": "append", "column": "id"}).lag_value == 1000


@pytest.mark.parametrize(("spec", "message"), [
    ({"mode": "append", "column": "id", "lag": "10m"}, "whole number of ids"),
    ({"mode": "append", "column": "id", "lag": -1}, "whole number of ids"),
    ({"mode": "lastmodified", "column": "m", "lag": "soon"}, "time span"),
    ({"mode": "lastmodified", "column": "m", "deletes": "yes"}, "deletes must be true or false"),
    ({"mode": "lastmodified", "column": "m", "key": ""}, "key must be"),
    ({"mode": "lastmodified", "column": "m", "lagg": 1}, "unknown keys ['lagg']"),
])
def test_bad_incremental_keys_are_config_errors(spec, message):
    with pytest.raises(ConfigError) as err:
        _inc(spec)
    assert message in str(err.value) and "d.t" in str(err.value)


def test_lower_bound_keeps_the_column_format():
    assert lower_bound("2024-01-02 00:10:00", 900) == "2024-01-01 23:55:00"
    assert lower_bound("2024-01-02 00:10:00.123456", 0.5) == "2024-01-02 00:09:59.623456"
    assert lower_bound("2024-01-02 00:10:00.120", 60) == "2024-01-02 00:09:00.120"
    assert lower_bound("2024-01-02", 900) == "2024-01-01"
    assert lower_bound("0000-00-00 00:00:00", 900) == "0000-00-00 00:00:00"  # kept as is
    assert lower_bound("12345", 900) == "12345"  # not a time: no lag applies
    assert lower_bound("0001-01-01 00:00:00", 900) == "0001-01-01 00:00:00"


def test_held_watermark_stays_below_open_transactions():
    now = dt.datetime(2024, 1, 2, 12, 0, 0)
    started = dt.datetime(2024, 1, 2, 11, 0, 0, 500000)
    assert held_watermark("2024-01-02 11:30:00", now, None) == "2024-01-02 11:30:00"
    assert held_watermark("2024-01-02 11:30:00.000", now, started) == "2024-01-02 11:00:00.500"
    assert held_watermark("2024-01-02 11:30:00", now, started) == "2024-01-02 11:00:00"
    assert held_watermark("2024-01-03 00:00:00", now, None) == "2024-01-02 12:00:00"  # future
    assert held_watermark("2024-01-03", now, started) == "2024-01-02"
    assert held_watermark("77", now, started) == "77"


def test_find_missing_streams_ids_once():
    assert find_missing([], [[1, 5]]) == [[1, 5]]
    assert find_missing([1, 2, 3], [[1, 3]]) == []
    assert find_missing([2, 4, 5, 9], [[1, 6], [9, 9], [12, 13]]) == [[1, 1], [3, 3], [6, 6],
                                                                       [12, 13]]
    assert find_missing(iter([10, 11]), [[5, 11]]) == [[5, 9]]
    assert ranges_sql("`id`", [[3, 3], [5, 9]]) == "(`id` = 3 OR `id` BETWEEN 5 AND 9)"
    assert ranges_sql("`id`", []) == "1 = 0"


def test_prune_missing_keeps_what_an_open_transaction_may_still_commit():
    gaps = [[4, 4], [50, 52], [98, 98]]
    # INNODB_TRX unreadable: only the lag (ids within `lag` of MAX) keeps them
    assert prune_missing(gaps, upper=100, lag=10, seen_to=90, writers=None,
                         old_writers=None) == [[98, 98]]
    # no writer open: every gap is final, except within the lag
    assert prune_missing(gaps, upper=100, lag=0, seen_to=90, writers=[],
                         old_writers=["7"]) == []
    # a writer of the previous probe still open: every gap may still fill
    assert prune_missing(gaps, upper=100, lag=0, seen_to=90, writers=["7", "8"],
                         old_writers=["7"]) == gaps
    # only new writers: the gaps above the previous MAX may fill
    assert prune_missing(gaps, upper=100, lag=0, seen_to=51, writers=["8"],
                         old_writers=["7"]) == [[52, 52], [98, 98]]
    # a full load with a writer open: everything is kept
    assert prune_missing(gaps, upper=100, lag=0, seen_to=None, writers=["8"],
                         old_writers=None) == gaps


def _batches(keys: list, size: int) -> list[list]:
    return [keys[i:i + size] for i in range(0, len(keys), size)]


def test_deleted_keys_merges_sorted_streams():
    old = [(1, "a"), (1, "b"), (2, "a"), (3, "z")]
    new = [(1, "a"), (2, "a"), (2, "b"), (4, "q")]
    flat = [k for b in deleted_keys(_batches(old, 2), _batches(new, 3)) for k in b]
    assert flat == [(1, "b"), (3, "z")]
    assert [k for b in deleted_keys([old], []) for k in b] == old
    assert list(deleted_keys([], [new])) == []


@pytest.mark.parametrize("seed", range(20))
def test_deleted_keys_equals_a_set_difference_with_any_batching_and_window(seed):
    rng = random.Random(seed)
    old = sorted(rng.sample(range(2000), rng.randint(0, 400)))
    new = sorted(set(rng.sample(old, len(old) // 2) if old else [])
                 | set(rng.sample(range(3000), rng.randint(0, 900))))
    got = [k[0] for b in deleted_keys(_batches([(k,) for k in old], rng.randint(1, 50)),
                                      _batches([(k,) for k in new], rng.randint(1, 50)),
                                      window=rng.randint(1, 60)) for k in b]
    assert got == sorted(set(old) - set(new))


def test_keys_out_of_order_are_refused():
    from warehouse.mysql.deletes import _ascending

    with pytest.raises(JobFailed, match="not in ascending binary order"):
        list(_ascending([[(1,), (3,)], [(2,)]], "keys"))
    with pytest.raises(JobFailed):
        list(_ascending([[(2,), (1,)]], "keys"))


def test_key_select_orders_in_binary_and_refuses_floats():
    cols = [SourceColumn("a", "int", "int"), SourceColumn("B", "varchar", "varchar(10)"),
            SourceColumn("h", "binary", "binary(16)")]
    sql = keys_sql("d", "t", cols)
    assert sql == (
        "SELECT `a`, CAST(CONVERT(`B` USING utf8mb4) AS BINARY), `h` FROM `d`.`t` WHERE "
        "`a` IS NOT NULL AND `B` IS NOT NULL AND `h` IS NOT NULL ORDER BY `a`, "
        "CAST(CONVERT(`B` USING utf8mb4) AS BINARY), `h`"
    )
    with pytest.raises(JobFailed, match="cannot be compared exactly"):
        check_key_columns([SourceColumn("f", "double", "double")], ["f"], "table s.d.t")


def test_latest_view_leaves_out_deleted_keys():
    spec = table_spec("shop", "main", "orders", COLS, engine="python", format="json")
    gone = deletes_spec(spec, ["id", "name"])
    assert gone.name == "mysql_shop_main_orders_deletes"
    assert gone.location == "mysql/shop/main/orders/_deletes"
    assert [c.name for c in gone.columns] == ["id", "name"]
    assert [c.type for c in gone.columns] == ["DECIMAL(20,0)", "STRING"]
    sql = latest_view_sql("wh", spec, ["id", "name"], "created", gone)
    assert "PARTITION BY `id`, `name` ORDER BY `load` DESC, `created` DESC" in sql
    assert ("LEFT JOIN (SELECT `id`, `name`, MAX(`load`) AS `wh_deleted` FROM "
            "`wh`.`mysql_shop_main_orders_deletes` GROUP BY `id`, `name`) `gone` ON "
            "`ranked`.`id` = `gone`.`id` AND `ranked`.`name` = `gone`.`name`") in sql
    assert sql.endswith("(`gone`.`wh_deleted` IS NULL OR `gone`.`wh_deleted` < "
                        "`ranked`.`load`)")
    assert sql.startswith("SELECT `ranked`.`id`, `ranked`.`name`,")


def test_config_check_names_bad_incremental_keys(tmp_path):
    from click.testing import CliRunner

    from warehouse.cli import cli

    path = tmp_path / "warehouse.toml"
    path.write_text(
        '[mysql.shop]\nuser = "etl"\ndatabases = ["shop"]\nincremental = { "shop.orders" = '
        '{ mode = "lastmodified", column = "modified", lag = "soon", deletes = 1 }, '
        '"shop.audit" = { mode = "append", column = "id", lag = "5m" } }\n'
    )
    result = CliRunner().invoke(cli, ["--config", str(path), "config", "check"])
    assert result.exit_code == 2, result.output
    assert "3 problems" in result.output
    assert 'incremental.shop.orders lag must be a time span such as "15m"' in result.output
    assert "incremental.shop.orders deletes must be true or false" in result.output
    assert "incremental.shop.audit lag must be a whole number of ids" in result.output


def test_imported_objects_from_a_saved_state():
    from warehouse.mysql.hive_tables import imported_objects
    from warehouse.mysql.state import TableState

    spec = table_spec("shop", "main", "orders", COLS, engine="python", format="json")
    state = TableState(engine="python", columns=[], mode="lastmodified", column="created",
                       key=["id"], deletes=True, deletes_loads=["20240101T000000000000Z"])
    objs = imported_objects("wh", spec, state)
    assert [(t.name, parts) for t, parts in objs.tables] == [
        ("mysql_shop_main_orders_deletes", ("20240101T000000000000Z",))]
    assert objs.views == (("mysql_shop_main_orders_latest", latest_view_sql(
        "wh", spec, ["id"], "created", deletes_spec(spec, ["id"]))),)
    plain = TableState(engine="python", columns=[], mode="append", column="id", key=["id"])
    assert imported_objects("wh", spec, plain).tables == ()
    assert "LEFT JOIN" not in imported_objects("wh", spec, plain).views[0][1]
    assert imported_objects("wh", spec, TableState(engine="python", columns=[])).views == ()
