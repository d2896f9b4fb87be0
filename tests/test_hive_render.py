"""Pure HQL rendering: golden files pin both dialects; literals round-trip the escapes.

Regenerate the golden files after an intended change with
`WAREHOUSE_UPDATE_GOLDEN=1 pytest tests/test_hive_render.py` and review the diff.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from warehouse.hive.client import split_statements
from warehouse.hive.manage import render_table
from warehouse.hive.render import (
    location_uri,
    parse_partition_spec,
    quote_string,
    render_add_partitions,
    render_create,
    render_database,
    render_view,
)
from warehouse.hive.spec import Column, TableSpec, TextFormat
from warehouse.hive.tables import aggregate_spec, events_spec

GOLDEN = Path(__file__).parent / "golden" / "hive"
S3_ROOT = "s3://acme-warehouse/prod"
LOCAL_ROOT = "/srv/warehouse data"

# A MySQL import table as the importer builds it (sqoop engine: delimited text).
SQOOP_SPEC = TableSpec(
    name="mysql_shop_shop_orders",
    columns=(
        Column("id", "BIGINT"),
        Column("total", "DECIMAL(12,2)"),
        Column("note", "STRING", "free text; may hold tabs"),
    ),
    location="mysql/shop/shop/orders",
    storage="text",
    partition_by=(Column("load", "STRING"),),
    text_format=TextFormat(),
)
# A raw-log table with a literal regex (quotes, backslashes), independent of the parser.
REGEX_SPEC = TableSpec(
    name="access_common",
    columns=tuple(
        Column(n, "STRING") for n in ("host", "ident", "user", "time", "request", "status", "bytes")
    ),
    location="raw",
    storage="regex",
    regex=r'^(\S+) (\S+) (\S+) \[([^\]]+)\] "((?:[^"\\]|\\.)*)" (\d{3}) (\S+)$',
    partition_by=(Column("dt", "STRING"),),
    comment="Apache 'common' lines",
)


def _specs() -> dict[str, TableSpec]:
    return {
        "events": events_spec(),
        "agg_daily_actions": aggregate_spec("daily_actions"),
        "agg_sessions": aggregate_spec("sessions"),
        "agg_top_params": aggregate_spec("top_params"),
        "mysql_text": SQOOP_SPEC,
        "regex_literal": REGEX_SPEC,
    }


def _check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("WAREHOUSE_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden file {path}; set WAREHOUSE_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), f"HQL differs from {path}"


@pytest.mark.parametrize("dialect", ["hive", "spark"])
@pytest.mark.parametrize("key", sorted(_specs()))
def test_create_matches_golden(key: str, dialect: str) -> None:
    spec = _specs()[key]
    statements = render_table(spec, dialect=dialect, root_uri=S3_ROOT, database="warehouse")  # type: ignore[arg-type]
    _check_golden(f"{key}.{dialect}.hql", ";\n\n".join(statements) + ";\n")


def test_access_raw_from_the_parser_format_matches_golden() -> None:
    from warehouse import logs
    from warehouse.hive.tables import access_raw_spec

    spec = access_raw_spec("combined")
    compiled = logs.compile_format("combined")
    assert spec.regex == compiled.serde_regex()
    assert [c.name for c in spec.columns] == list(compiled.serde_columns())
    for dialect in ("hive", "spark"):
        statements = render_table(spec, dialect=dialect, root_uri=S3_ROOT, database="warehouse")  # type: ignore[arg-type]
        text = ";\n\n".join(statements) + ";\n"
        # The regex and columns are the parser's to change; the golden file pins the rest.
        literal = quote_string(spec.regex)
        assert text.count(literal) == 1
        text = text.replace(literal, "'<input.regex from compile_format>'")
        text = re.sub(r"'warehouse.spec' = '[0-9a-f]+'", "'warehouse.spec' = '<fingerprint>'", text)
        cols = ",\n".join(f"  `{c.name}` STRING" for c in spec.columns)
        assert text.count(cols) == 1
        text = text.replace(cols, "  <serde_columns() as STRING>")
        _check_golden(f"access_raw_combined.{dialect}.hql", text)


def test_add_partitions_and_view_match_golden() -> None:
    parts = [{"dt": f"2012-01-{d:02d}"} for d in range(1, 6)]
    statements = render_add_partitions(
        events_spec(), parts, root_uri=S3_ROOT, database="warehouse", per_statement=2
    )
    assert len(statements) == 3  # 2 + 2 + 1
    view = render_view(
        "warehouse",
        "mysql_shop_shop_orders_latest",
        "SELECT * FROM mysql_shop_shop_orders_loads;",
    )
    _check_golden("add_partitions_and_view.hql", ";\n\n".join([*statements, view]) + ";\n")


def test_spark_json_lists_partition_columns_last_and_hive_uses_json_serde() -> None:
    spark = render_create(events_spec(), dialect="spark", root_uri=S3_ROOT, database="w")[0]
    hive = render_create(events_spec(), dialect="hive", root_uri=S3_ROOT, database="w")[0]
    assert "USING json" in spark and "PARTITIONED BY (`dt`)" in spark
    assert spark.index("`params`") < spark.index("`dt` STRING")
    assert "org.apache.hive.hcatalog.data.JsonSerDe" in hive and "CREATE EXTERNAL TABLE" in hive
    assert "`user` STRING" in hive  # a keyword: backquoted
    assert "LOCATION 's3://acme-warehouse/prod/events'" in hive


def test_local_root_becomes_a_file_uri() -> None:
    assert location_uri(LOCAL_ROOT, "events") == "file:///srv/warehouse%20data/events"
    assert location_uri("s3://b/p/", "/events/") == "s3://b/p/events"
    assert location_uri("file:///x/y") == "file:///x/y"


@pytest.mark.parametrize(
    ("raw", "literal"),
    [
        ("plain", "'plain'"),
        ("it's", "'it\\'s'"),
        ("a\\d+", "'a\\\\d+'"),
        ("\x01", "'\\001'"),
        ("\\N", "'\\\\N'"),
        ("tab\there\n", "'tab\\there\\n'"),
    ],
)
def test_quote_string(raw: str, literal: str) -> None:
    assert quote_string(raw) == literal


def test_fingerprint_changes_with_the_spec_only() -> None:
    a = render_table(events_spec(), dialect="hive", root_uri=S3_ROOT, database="w")
    b = render_table(events_spec(), dialect="hive", root_uri=S3_ROOT, database="w")
    other = TableSpec(
        name="events",
        columns=(*events_spec().columns, Column("extra", "STRING")),
        location="events",
        partition_by=events_spec().partition_by,
    )
    c = render_table(other, dialect="hive", root_uri=S3_ROOT, database="w")
    assert a == b
    assert a != c and "'warehouse.spec'" in c[0]


def test_bad_specs_are_refused() -> None:
    with pytest.raises(ValueError, match="regex"):
        render_create(
            TableSpec(name="r", columns=(), location="r", storage="regex"),
            dialect="hive",
            root_uri=S3_ROOT,
            database="w",
        )
    with pytest.raises(ValueError, match="text_format"):
        render_create(
            TableSpec(name="t", columns=(), location="t", storage="text"),
            dialect="spark",
            root_uri=S3_ROOT,
            database="w",
        )
    with pytest.raises(ValueError, match="dialect"):
        render_create(events_spec(), dialect="presto", root_uri=S3_ROOT, database="w")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="must give exactly"):
        render_add_partitions(events_spec(), [{"day": "x"}], root_uri=S3_ROOT, database="w")
    with pytest.raises(ValueError, match="empty"):
        render_view("w", "v", " ; ")


def test_database_and_partition_text() -> None:
    assert render_database("warehouse") == "CREATE DATABASE IF NOT EXISTS `warehouse`"
    assert parse_partition_spec("load=2024-01-01T00%3A00%3A00Z/dt=2012-01-14") == {
        "load": "2024-01-01T00:00:00Z",
        "dt": "2012-01-14",
    }


def test_split_statements_respects_quotes_and_comments() -> None:
    text = """
    -- a comment; with a semicolon
    SELECT 'a;b' AS x;  SELECT "c;\\"d" ; -- trailing
    SELECT `we;ird` FROM t
    ;;
    """
    assert split_statements(text) == [
        "SELECT 'a;b' AS x",
        'SELECT "c;\\"d"',
        "SELECT `we;ird` FROM t",
    ]
    assert split_statements(" ;\n-- only a comment\n") == []


def test_parse_describe_reads_hive_and_spark_layouts() -> None:
    from warehouse.hive.manage import parse_describe

    hive3 = [  # Hive 3.1 DESCRIBE FORMATTED: partition columns only in their own section
        ("# col_name            ", "data_type           ", "comment             "),
        ("ts", "string", ""),
        ("params", "map<string,string>", ""),
        ("", None, None),
        ("# Partition Information", None, None),
        ("# col_name            ", "data_type           ", "comment             "),
        ("dt", "string", ""),
        ("", None, None),
        ("# Detailed Table Information", None, None),
        ("Database:           ", "warehouse           ", None),
        ("Location:           ", "s3://b/p/events     ", None),
        ("Table Type:         ", "EXTERNAL_TABLE      ", None),
    ]
    spark = [
        ("ts", "string", None),
        ("params", "map<string,string>", None),
        ("dt", "string", None),
        ("# Partition Information", "", ""),
        ("# col_name", "data_type", "comment"),
        ("dt", "string", None),
        ("", "", ""),
        ("# Detailed Table Information", "", ""),
        ("Location", "file:/srv/w/events", ""),
    ]
    for rows, where in ((hive3, "s3://b/p/events"), (spark, "file:/srv/w/events")):
        got = parse_describe(rows)
        assert got.columns == (("ts", "string"), ("params", "map<string,string>"), ("dt", "string"))
        assert got.partitions == ("dt",)
        assert got.location == where


def test_text_and_regex_tables_render_the_same_in_both_dialects() -> None:
    """Only JSON tables differ; the executed spark text/regex DDL is the hive DDL."""
    for spec in (SQOOP_SPEC, REGEX_SPEC):
        hive = render_table(spec, dialect="hive", root_uri=S3_ROOT, database="w")
        spark = render_table(spec, dialect="spark", root_uri=S3_ROOT, database="w")
        assert hive == spark


def test_one_statement_files_render_as_written() -> None:
    """The statements of hql/ that sync.py and reports.py run, filled as given: a report's
    SELECT keeps its blank lines and `$` signs (render_table's line dropping is not for
    these)."""
    from warehouse.hive.render import statement

    t = "`db`.`t`"
    select = "WITH a AS (\n  SELECT '${x}' AS x\n\n)\nSELECT * FROM a\n"
    assert statement("show_partitions.hql", table=t) == "SHOW PARTITIONS `db`.`t`"
    assert statement("drop_table.hql", table=t) == "DROP TABLE IF EXISTS `db`.`t`"
    assert statement("drop_partitions.hql", table=t, partitions="PARTITION (`load` = 'x')") \
        == "ALTER TABLE `db`.`t` DROP IF EXISTS PARTITION (`load` = 'x')"
    assert statement("set_property.hql", table=t, key="'k'", value="'v'") \
        == "ALTER TABLE `db`.`t` SET TBLPROPERTIES ('k' = 'v')"
    assert statement("use_database.hql", database="`db`") == "USE `db`"
    assert statement("create_report_source.hql", view=t, select=select) \
        == "CREATE OR REPLACE VIEW `db`.`t` AS " + select
    assert statement("insert_partition.hql", table=t, column="`dt`", value="'2020-01-01'",
                     columns="`a`, `b`", source="`db`.`s`") == (
        "INSERT OVERWRITE TABLE `db`.`t` PARTITION (`dt` = '2020-01-01') "
        "SELECT `a`, `b` FROM `db`.`s`")
    assert statement("count_partition.hql", table=t, column="`dt`", value="'2020-01-01'") \
        == "SELECT count(*) FROM `db`.`t` WHERE `dt` = '2020-01-01'"
    assert statement("drop_view.hql", view=t) == "DROP VIEW IF EXISTS `db`.`t`"
