"""The pure parts of issue 25's answers: zero dates, re-created tables, key weights."""

from __future__ import annotations

import pytest

from warehouse.hive.spec import Column, TableSpec
from warehouse.mysql import collation as coll
from warehouse.mysql.hive_tables import latest_view_sql, table_spec
from warehouse.mysql.recreated import Identity, Maxes, recreated
from warehouse.mysql.schema import SourceColumn
from warehouse.mysql.zerodates import DateCheck, unsafe_date


@pytest.mark.parametrize(("text", "unsafe"), [
    ("2020-01-01", False), ("2020-12-31 23:59:59.999999", False), ("2020-02-29", False),
    ("2000-02-29", False), ("0000-00-00", True), ("0000-00-00 00:00:00", True),
    ("2020-00-15", True), ("2020-01-00", True), ("2021-02-29", True), ("1900-02-29", True),
    ("2021-02-30", True), ("2020-04-31", True), ("0000-01-01", True),
])
def test_unsafe_dates(text, unsafe):
    assert unsafe_date(text) is unsafe


def test_date_check_notes_the_columns_and_passes_values_through():
    check = DateCheck()
    d, b = check.converter("d", text_bytes=False), check.converter("b", text_bytes=True)
    assert [d("2020-01-01"), d(None), b(b"2020-01-01")] == ["2020-01-01", None, "2020-01-01"]
    assert check.bad == set()
    assert d("2020-00-01") == "2020-00-01" and b(b"0000-00-00") == "0000-00-00"
    assert check.bad == {"d", "b"}


def _why(**kw):
    base = dict(create_time="2024-01-01 00:00:00", table_id=7, seen_to=100, last_max="100",
                now=Identity("2024-01-01 00:00:00", 7, 101), upper="100", below=False,
                column="id")
    a = {**base, **kw}
    return recreated(saved=Identity(a["create_time"], a["table_id"]), now=a["now"],
                     seen_to=a["seen_to"], maxes=Maxes(a["last_max"], a["upper"], a["below"]),
                     column=a["column"])


def test_recreated_evidence():
    assert _why() is None
    assert "CREATE_TIME changed" in _why(now=Identity("2024-02-01 00:00:00", 7, 101))
    assert "table id changed" in _why(now=Identity("2024-01-01 00:00:00", 8, 101))
    assert "AUTO_INCREMENT counter (3)" in _why(now=Identity("2024-01-01 00:00:00", 7, 3))
    assert "no rows" in _why(upper=None)
    assert "MAX(id) = 2 is below the 100" in _why(upper="2", below=True)
    # unknown before (an older state): no evidence from it
    assert _why(create_time=None, table_id=None,
                now=Identity("2030-01-01 00:00:00", 9, None)) is None


def _text(name: str, collation: str | None, data_type: str = "varchar") -> SourceColumn:
    return SourceColumn(name, data_type, f"{data_type}(10)", collation=collation)


def test_key_weights_per_collation():
    cols = [SourceColumn("id", "int", "int(11)"), _text("g", "utf8mb4_general_ci"),
            _text("nb", "utf8mb4_nopad_bin"), _text("b", "utf8mb4_bin"),
            _text("n", "utf8mb4_general_nopad_ci"), _text("m8", "utf8mb4_0900_ai_ci"),
            _text("e", "utf8mb4_general_ci", "enum")]
    assert coll.key_weights(cols, ["id", "g", "nb", "b", "n", "m8", "e"]) == {
        "g": "utf8mb4_general_ci", "b": "utf8mb4_bin", "n": "utf8mb4_general_nopad_ci",
        "m8": "utf8mb4_0900_ai_ci"}
    assert coll.weight_sql("g", "utf8mb4_general_ci") == \
        "HEX(WEIGHT_STRING(TRIM(TRAILING ' ' FROM `g`)))"
    assert coll.weight_sql("n", "utf8mb4_general_nopad_ci") == "HEX(WEIGHT_STRING(`n`))"
    assert coll.identity(["id", "G"], {"g": "utf8mb4_general_ci"}) == ["id", "wh_w_g"]


def test_latest_view_identifies_by_weight_and_does_not_show_it():
    cols = [SourceColumn("k", "varchar", "varchar(10)", collation="utf8mb4_general_ci"),
            SourceColumn("m", "datetime", "datetime")]
    spec = table_spec("s", "d", "t", cols, engine="python", weights=["k"], format="json")
    assert [c.name for c in spec.columns] == ["k", "m", "wh_w_k"]
    gone = TableSpec("mysql_s_d_t_deletes", (Column("wh_w_k", "STRING"),), "x",
                     partition_by=(Column("load", "STRING"),))
    for deletes in (None, gone):
        sql = latest_view_sql("db", spec, ["wh_w_k"], "m", deletes)
        head = sql.split(" FROM ", 1)[0]
        assert "wh_w_k" not in head and "PARTITION BY `wh_w_k`" in sql
