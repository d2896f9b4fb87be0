"""`plan_load`: what one table's load does, from literal state and settings (no I/O)."""

from __future__ import annotations

import dataclasses

import pytest

from warehouse.config import IncrementalConfig
from warehouse.errors import ConfigError, JobFailed
from warehouse.mysql.plan import Planned, Watermark, plan_load
from warehouse.mysql.schema import SourceColumn
from warehouse.mysql.state import TableState

COLUMNS = [
    SourceColumn("id", "bigint", "bigint(20) unsigned", False),
    SourceColumn("name", "varchar", "varchar(40)"),
    SourceColumn("updated_at", "datetime", "datetime(3)"),
    SourceColumn("blob_col", "blob", "blob"),
]
SIGNATURE = [["id", "bigint(20) unsigned"], ["name", "varchar(40)"],
             ["updated_at", "datetime(3)"], ["blob_col", "blob"]]
ORDERS = Planned("shop", "orders", COLUMNS, ["id"], True)
LASTMOD = IncrementalConfig("lastmodified", "updated_at", lag=300, deletes=True)
APPEND = IncrementalConfig("append", "id", lag=100)


def state(**kw: object) -> TableState:
    base: dict[str, object] = dict(
        engine="python", columns=SIGNATURE, mode="lastmodified", column="updated_at",
        last_value="2024-03-01 12:05:00.250", max_value="2024-03-01 12:06:00.000",
        loads=["20240301T000000000000Z", "20240302T000000000000Z"], key=["id"],
        deletes=True, deletes_loads=["20240302T000000000000Z"],
        keys_load="20240302T000000000000Z",
        window={"low": "2024-03-01 12:00:00.250", "high": "2024-03-01 12:06:00.000",
                "sum": "17"},
        writers=["42"],
    )
    base.update(kw)
    return TableState(**base)  # type: ignore[arg-type]


def test_first_load_of_a_full_table_reads_everything() -> None:
    plan = plan_load(None, None, ORDERS, False, source="src", engine="python", format="json")
    assert (plan.mode, plan.incremental, plan.key, plan.deletes) == ("full", False, ["id"], False)
    assert plan.name == "src.shop.orders" and plan.check is None and plan.drift is None
    assert (plan.loads, plan.deletes_loads, plan.kept_deletes) == ([], [], [])
    assert plan.watermark == Watermark() and plan.previous_keys is None
    assert not plan.deletes_toggled and not plan.had_keys


def test_lastmodified_reads_back_the_lag_window_from_the_watermark() -> None:
    plan = plan_load(state(), LASTMOD, ORDERS, False, source="src", engine="python", format="json")
    assert (plan.mode, plan.incremental, plan.deletes) == ("lastmodified", True, True)
    assert plan.check == COLUMNS[2] and plan.key == ["id"] and plan.drift is None
    assert plan.watermark == Watermark(
        last="2024-03-01 12:05:00.250",
        low="2024-03-01 12:00:00.250",  # 300 s behind, the server's text format kept
        seen_to=None,  # not an integer watermark
        missing=[],
        max_value="2024-03-01 12:06:00.000",
        window={"low": "2024-03-01 12:00:00.250", "high": "2024-03-01 12:06:00.000",
                "sum": "17"},
        writers=["42"],
    )
    assert plan.previous_keys == "20240302T000000000000Z"
    assert plan.loads == ["20240301T000000000000Z", "20240302T000000000000Z"]
    assert plan.kept_deletes == ["20240302T000000000000Z"]
    assert not plan.deletes_toggled and plan.had_keys


def test_full_flag_rereads_everything_and_keeps_no_deletes() -> None:
    plan = plan_load(state(), LASTMOD, ORDERS, True, source="src", engine="python", format="json")
    assert (plan.mode, plan.incremental) == ("full", False)
    assert plan.watermark == Watermark(writers=["42"])  # only the old writers still count
    assert plan.previous_keys is None and plan.kept_deletes == []
    assert plan.deletes_loads == ["20240302T000000000000Z"]  # removed after the load


def test_full_flag_skips_the_drift_checks() -> None:
    old = state(engine="sqoop", columns=SIGNATURE[:2])
    assert plan_load(old, LASTMOD, ORDERS, True, source="src",
                     engine="python", format="json").drift is None


def test_append_rereads_the_missing_ids_above_what_it_saw() -> None:
    old = state(mode="append", column="id", last_value="899", max_value="1000",
                missing=[[900, 910], [950, 950]], window=None, deletes=False,
                deletes_loads=[], keys_load=None)
    plan = plan_load(old, APPEND, ORDERS, False, source="src", engine="python", format="json")
    assert (plan.mode, plan.deletes, plan.key) == ("append", False, ["id"])
    assert plan.watermark.seen_to == 1000 and plan.watermark.low is None
    assert plan.watermark.missing == [[900, 910], [950, 950]]
    assert plan.deletes_toggled is False and plan.previous_keys is None


def test_switching_deletes_off_is_a_toggle() -> None:
    inc = IncrementalConfig("lastmodified", "updated_at", lag=300)
    plan = plan_load(state(), inc, ORDERS, False, source="src", engine="python", format="json")
    assert plan.deletes is False and plan.deletes_toggled and plan.had_keys


def test_append_without_a_key_uses_the_appended_column() -> None:
    heap = Planned("shop", "log", COLUMNS, [], True)
    plan = plan_load(None, APPEND, heap, False, source="src", engine="python", format="json")
    assert plan.key == ["id"] and plan.mode == "full"  # the first load reads everything


@pytest.mark.parametrize(
    ("old", "engine", "expected"),
    [
        (state(engine="sqoop"), "python", "engine changed from sqoop to python"),
        (state(columns=[*SIGNATURE[:1], ["name", "varchar(20)"], *SIGNATURE[2:3],
                        ["gone", "int"]]),
         "python", "schema changed since the last load (+blob_col, -gone, "
                   "name varchar(20)->varchar(40))"),
        (state(key=["name"]), "python", "key changed from name to id since the last load"),
    ],
)
def test_drift_since_the_last_load_asks_for_full(old: TableState, engine: str,
                                                 expected: str) -> None:
    plan = plan_load(old, LASTMOD, ORDERS, False, source="src", engine=engine, format="json")
    assert plan.drift is not None and expected in plan.drift
    assert plan.drift.startswith("table src.shop.orders: ")
    assert plan.drift.endswith("run `warehouse import src.shop.orders --full`")
    assert plan.mode == "lastmodified"  # the failed load is reported as what it was


@pytest.mark.parametrize(
    ("inc", "table", "error", "expected"),
    [
        (IncrementalConfig("append", "nope"), ORDERS, ConfigError,
         "[mysql.src] incremental shop.orders: column 'nope' not in the table"),
        (IncrementalConfig("append", "blob_col"), ORDERS, ConfigError,
         "column 'blob_col' is blob; a binary column cannot be a watermark"),
        (IncrementalConfig("lastmodified", "updated_at"), Planned("shop", "t", COLUMNS, [], True),
         ConfigError, "src.shop.t: lastmodified needs key"),
        (IncrementalConfig("lastmodified", "updated_at", key="id, nope"), ORDERS, ConfigError,
         "key column(s) nope not in the table"),
        (None, Planned("shop", "t", [*COLUMNS, SourceColumn("LOAD", "int", "int")], [], True),
         JobFailed, "column LOAD clashes with the Hive table's own `load` partition column"),
        (APPEND, Planned("shop", "t", [*COLUMNS, SourceColumn("wh_rank", "int", "int")], [],
                         True),
         JobFailed, "column wh_rank clashes"),
        (None, Planned("shop", "t", [], [], True), JobFailed, "no columns"),
    ],
)
def test_what_the_user_must_fix_raises(inc: IncrementalConfig | None, table: Planned,
                                       error: type[Exception], expected: str) -> None:
    with pytest.raises(error) as exc:
        plan_load(None, inc, table, False, source="src", engine="python", format="json")
    assert expected in str(exc.value)


def test_a_wh_rank_column_is_fine_in_a_full_table() -> None:
    table = Planned("shop", "t", [*COLUMNS, SourceColumn("wh_rank", "int", "int")], [], True)
    assert plan_load(None, None, table, False, source="src",
                     engine="python", format="json").key == []


# -- a changed incremental entry switches the table at its next load -------------------

FULL_STATE = state(mode="full", column=None, last_value=None, max_value=None, key=[],
                   deletes=False, deletes_loads=[], keys_load=None, window=None,
                   writers=None, loads=["20240301T000000000000Z"])


@pytest.mark.parametrize("inc", [APPEND, LASTMOD], ids=["append", "lastmodified"])
def test_full_to_incremental_reads_the_whole_table_and_replaces_the_full_load(
    inc: IncrementalConfig,
) -> None:
    plan = plan_load(FULL_STATE, inc, ORDERS, False, source="src", engine="python", format="json")
    assert plan.drift is None and not plan.keep_loads
    assert (plan.mode, plan.incremental, plan.inc) == ("full", False, inc)  # a whole read
    assert plan.watermark == Watermark()  # no watermark: like a first incremental load
    assert plan.loads == ["20240301T000000000000Z"]  # replaced once the state is saved
    assert (plan.previous_keys, plan.kept_deletes) == (None, [])
    assert plan.key == ["id"] and plan.deletes == inc.deletes
    assert plan.switch == (
        f"switching src.shop.orders from full to {inc.mode} on {inc.column}: this load reads "
        "the whole table and replaces the full load; the next ones read since its watermark")


def test_full_to_incremental_with_a_changed_engine_or_schema_is_still_a_switch() -> None:
    # the full load it replaces is the only one: neither its engine nor its columns matter
    old = dataclasses.replace(FULL_STATE, engine="sqoop", columns=SIGNATURE[:2])
    plan = plan_load(old, APPEND, ORDERS, False, source="src", engine="python", format="json")
    assert plan.drift is None and plan.switch is not None and not plan.keep_loads


def test_incremental_to_full_is_a_full_load_dropping_deletes_and_snapshots() -> None:
    plan = plan_load(state(), None, ORDERS, False, source="src", engine="python", format="json")
    assert plan.drift is None and not plan.keep_loads
    assert (plan.mode, plan.incremental, plan.inc, plan.key) == ("full", False, None, ["id"])
    assert plan.watermark == Watermark() and plan.previous_keys is None
    assert plan.kept_deletes == [] and plan.deletes_toggled and plan.had_keys
    assert plan.switch == (
        "switching src.shop.orders from lastmodified on updated_at to full: this load reads "
        "the whole table and replaces the earlier loads (its _latest view is no longer "
        "updated)")


@pytest.mark.parametrize(
    ("old", "inc", "before", "after"),
    [
        (state(), APPEND, "lastmodified on updated_at", "append on id"),
        (state(mode="append", column="id", last_value="899", window=None), LASTMOD,
         "append on id", "lastmodified on updated_at"),
        (state(column="name"), LASTMOD, "lastmodified on name", "lastmodified on updated_at"),
        (state(mode="append", column="id", last_value="899", window=None),
         IncrementalConfig("append", "updated_at"), "append on id", "append on updated_at"),
    ],
    ids=["lastmodified-append", "append-lastmodified", "lastmodified-column",
         "append-column"],
)
def test_a_changed_mode_or_column_rereads_the_table_and_keeps_the_earlier_loads(
    old: TableState, inc: IncrementalConfig, before: str, after: str,
) -> None:
    plan = plan_load(old, inc, ORDERS, False, source="src", engine="python", format="json")
    assert plan.drift is None and plan.keep_loads
    assert (plan.mode, plan.incremental) == ("full", False)  # the whole table, no watermark
    assert plan.watermark == Watermark(writers=["42"])
    assert plan.loads == ["20240301T000000000000Z", "20240302T000000000000Z"]
    # the same key: the deletes since the last key snapshot are still found
    assert plan.key == ["id"] and plan.previous_keys == "20240302T000000000000Z"
    assert plan.kept_deletes == ["20240302T000000000000Z"]
    assert plan.switch == (
        f"switching src.shop.orders from {before} to {after}: this load reads the whole table "
        "and keeps the earlier loads (_latest shows this load's copy of each key); the next "
        "ones read since its watermark")


def test_a_changed_mode_with_schema_drift_or_a_new_key_asks_for_full() -> None:
    # the earlier loads stay with a switched mode: they must still fit the table and key
    drifted = plan_load(state(columns=SIGNATURE[:3]), APPEND, ORDERS, False, source="src",
                        engine="python", format="json")
    assert drifted.drift is not None and "schema changed since the last load (+blob_col)" \
        in drifted.drift
    rekeyed = plan_load(state(), IncrementalConfig("append", "id", key="name"), ORDERS,
                        False, source="src", engine="python", format="json")
    assert rekeyed.drift == (
        "table src.shop.orders: key changed from id to name since the last load, so the "
        "earlier loads' copies cannot be matched (a --full load replaces them); run "
        "`warehouse import src.shop.orders --full`")


@pytest.mark.parametrize("inc", [APPEND, LASTMOD, None], ids=["append", "lastmodified", "full"])
def test_full_flag_on_a_switched_table_is_no_switch(inc: IncrementalConfig | None) -> None:
    for old in (FULL_STATE, state()):
        plan = plan_load(old, inc, ORDERS, True, source="src", engine="python", format="json")
        assert plan.switch is None and not plan.keep_loads and plan.drift is None
        assert plan.mode == "full" and plan.kept_deletes == []


def test_unchanged_settings_are_no_switch() -> None:
    assert plan_load(state(), LASTMOD, ORDERS, False, source="src",
                     engine="python", format="json").switch \
        is None
    assert plan_load(FULL_STATE, None, ORDERS, False, source="src",
                     engine="python", format="json").switch \
        is None
