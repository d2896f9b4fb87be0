"""A new user's trial of Parquet imports on a schema the import was not written against:
a slice of MySQL's Sakila sample database (tests/fixtures/sakila.sql: YEAR, ENUM, SET,
DECIMAL(4,2)/(5,2), BLOB, BOOLEAN, TIMESTAMP defaults, two-column keys, a table without a
primary key) filled with odd values, imported with `format = "parquet"` through the CLI and
the SSH tunnel, read back through Spark's Thrift server and DuckDB and compared value for
value with MariaDB; then append and lastmodified loads with updates and deletes."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.test_mysql_answers import _maria
from tests.test_mysql_hive import _hive_rows
from tests.test_mysql_import import PASSWORD, USER
from tests.test_mysql_parquet import _import, _toml

pytestmark = [pytest.mark.mysql]

SCHEMA = Path(__file__).parent / "fixtures" / "sakila.sql"
TABLES = ["actor", "film", "film_actor", "staff", "payment", "rental", "salaries",
          "film_text_log"]
HUGE = 300_000  # characters of one description (4-byte emoji included)

# odd values, inserted in a session that allows zero dates and clips nothing silently
FILL = [
    "INSERT INTO actor SELECT seq, CASE seq % 5 WHEN 0 THEN 'PENÉLOPE' WHEN 1 THEN '' "
    "WHEN 2 THEN 'Zoë 😀' WHEN 3 THEN 'tab\\there' ELSE CONCAT('A', seq) END, "
    "CASE WHEN seq % 3 = 0 THEN 'GUINESS' ELSE REPEAT('ł', 45) END, "
    "CASE seq % 4 WHEN 0 THEN '1970-01-01 00:00:01' WHEN 1 THEN '2038-01-19 03:14:07' "
    "WHEN 2 THEN '0000-00-00 00:00:00' ELSE '2006-02-15 04:34:33' END FROM seq_1_to_3000",
    "INSERT INTO film SELECT seq, CONCAT('ACADEMY DINOSAUR ', seq), "
    "CASE seq % 4 WHEN 0 THEN NULL WHEN 1 THEN '' WHEN 2 THEN 'A Epic Drama of a Feminist' "
    "ELSE 'line\\nbreak \\\\N \\0 😀' END, "
    "CASE seq % 4 WHEN 0 THEN NULL WHEN 1 THEN 1901 WHEN 2 THEN 2155 ELSE 0 END, "
    "1 + seq % 6, IF(seq % 2 = 0, NULL, 255), seq % 256, "
    "CASE seq % 3 WHEN 0 THEN -99.99 WHEN 1 THEN 99.99 ELSE 0.99 END, "
    "IF(seq % 5 = 0, NULL, seq % 65536), "
    "CASE seq % 3 WHEN 0 THEN -999.99 WHEN 1 THEN 999.99 ELSE 19.99 END, "
    "ELT(1 + seq % 6, 'G', 'PG', 'PG-13', 'R', 'NC-17', NULL), "
    "ELT(1 + seq % 5, NULL, '', 'Trailers', 'Trailers,Deleted Scenes', "
    "'Trailers,Commentaries,Deleted Scenes,Behind the Scenes'), "
    "'2006-02-15 05:03:42' FROM seq_1_to_1000",
    f"UPDATE film SET description = REPEAT('x😀', {HUGE // 2}) WHERE film_id = 7",
    "INSERT INTO film_actor SELECT 1 + seq % 200, 1 + seq DIV 200, "
    "'2006-02-15 05:05:03' FROM seq_0_to_4999",
    "INSERT INTO staff VALUES (1, 'Mike', 'Hillyer', x'89504e470d0a1a0a00ff', "
    "'Mike.Hillyer@sakilastaff.com', TRUE, 'Mike', x'8cb2237d0679ca88db6464eac60da96345513964',"
    " '2006-02-15 03:57:16'), (2, 'Jon', 'Stephens', NULL, NULL, FALSE, 'Jon', NULL, "
    "'2006-02-15 03:57:16'), (3, '😀', '', '', '', TRUE, '', '', '1970-01-01 00:00:01')",
    "INSERT INTO payment SELECT seq, 1 + seq % 599, 1 + seq % 2, IF(seq % 10 = 0, NULL, seq), "
    "CASE seq % 4 WHEN 0 THEN -999.99 WHEN 1 THEN 999.99 WHEN 2 THEN 0 ELSE 2.99 END, "
    "IF(seq % 50 = 0, '0000-00-00 00:00:00', '2005-05-25 11:30:37' + INTERVAL seq MINUTE), "
    "IF(seq % 7 = 0, NULL, '2006-02-15 22:12:30') FROM seq_1_to_4000",
    "INSERT INTO rental SELECT seq, '2005-05-24 22:53:30' + INTERVAL seq SECOND, "
    "IF(seq = 1, 16777215, seq), 1 + seq % 599, "
    "IF(seq % 3 = 0, NULL, '2005-05-26 22:04:30' + INTERVAL seq HOUR), 1 + seq % 2, "
    "'2006-02-15 21:30:53.123' + INTERVAL seq MICROSECOND FROM seq_1_to_3000",
    "INSERT INTO salaries SELECT 10001 + seq DIV 10, IF(seq = 0, -2147483648, 60117 + seq), "
    "'1986-06-26' + INTERVAL (seq % 10) YEAR, IF(seq % 10 = 9, '9999-01-01', "
    "'1987-06-26' + INTERVAL (seq % 10) YEAR) FROM seq_0_to_4999",
    "INSERT INTO film_text_log SELECT seq % 7, IF(seq % 2 = 0, NULL, 'dup'), "
    "IF(seq % 3 = 0, NULL, '2024-02-29 23:59:59.999999') FROM seq_1_to_1000",
    # TEXT holds 65,535 bytes (the description above is cut there): MEDIUMTEXT holds this
    f"INSERT INTO film_text_log VALUES (7, REPEAT('x😀', {HUGE // 2}), NULL)",
]


def _sakila(mariadb, db: str) -> None:
    """Create database `db` from tests/fixtures/sakila.sql and fill it."""
    mariadb.create_database(db)
    for sql in SCHEMA.read_text().split(";"):
        body = "\n".join(x for x in sql.splitlines() if not x.startswith("--")).strip()
        if body:
            mariadb.execute(body, database=db)
    mariadb.execute_all(FILL, db, sql_mode="ALLOW_INVALID_DATES")
    mariadb.create_user(USER, PASSWORD, db)


_WHEN = re.compile(r"^\d{4}-\d\d-\d\d( \d\d:\d\d:\d\d(\.\d+)?)?$")


def canon(v: Any) -> Any:
    """One value in a form MariaDB, Spark and DuckDB agree on (dates as their text)."""
    if v is None:
        return None
    if isinstance(v, bytes | bytearray | memoryview):
        return bytes(v)
    if isinstance(v, dt.datetime):
        return v.isoformat(" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, bool):
        return Decimal(int(v))
    if isinstance(v, int | float | Decimal):
        return Decimal(str(v)).normalize()
    if isinstance(v, str) and _WHEN.match(v) and not v.startswith("0000"):
        try:
            return canon(dt.datetime.fromisoformat(v)) if " " in v else v
        except ValueError:  # an invalid date kept as text
            return v
    return v


def _maria_rows(mariadb, db: str, table: str) -> list[tuple[Any, ...]]:
    """Every row of `table` as MariaDB holds it, temporal columns as the server's text."""
    cols = _maria(mariadb, db, "SELECT column_name, data_type FROM information_schema.columns "
                  f"WHERE table_schema = '{db}' AND table_name = '{table}' "
                  "ORDER BY ordinal_position")
    sel = ", ".join(f"CAST(`{c}` AS CHAR)" if t in ("date", "datetime", "timestamp") else
                    f"`{c}`" for c, t in cols)
    return sorted((tuple(canon(v) for v in r) for r in
                   _maria(mariadb, db, f"SELECT {sel} FROM `{table}`")), key=repr)


def _names(mariadb, db: str, table: str) -> list[str]:
    return [r[0] for r in _maria(mariadb, db, "SELECT column_name FROM "
                                 f"information_schema.columns WHERE table_schema = '{db}' "
                                 f"AND table_name = '{table}' ORDER BY ordinal_position")]


def _duck(folder: Path, names: list[str]) -> list[tuple[Any, ...]]:
    import duckdb

    cols = ", ".join(f'"{n}"' for n in names)
    got = duckdb.sql(f"SELECT {cols} FROM read_parquet('{folder}/load=*/*.parquet', "
                     "hive_partitioning = false)").fetchall()
    return sorted((tuple(canon(v) for v in r) for r in got), key=repr)


def _spark(hive_server, db: str, table: str, names: list[str]) -> list[tuple[Any, ...]]:
    cols = ", ".join(f"`{n}`" for n in names)
    rows = _hive_rows(hive_server, db, f"SELECT {cols} FROM {table}")
    return sorted((tuple(canon(r[n]) for n in names) for r in rows), key=repr)


@pytest.mark.hive
def test_sakila_equals_mariadb_through_spark_and_duckdb(tmp_path, sshd, mariadb, hive_server):
    db = "sakila"
    _sakila(mariadb, db)
    toml = _toml(tmp_path, sshd, mariadb, db, hive_server.hive_dict(db),
                 {"src": 'format = "parquet"'})
    out = _import(toml)
    assert f"{len(TABLES)} tables ({len(TABLES)} ok, 0 failed)" in out, out
    assert _maria(mariadb, db, "SELECT max(char_length(note)) FROM film_text_log") == [(HUGE,)]
    for table in TABLES:
        want = _maria_rows(mariadb, db, table)
        names = _names(mariadb, db, table)
        folder = tmp_path / "root" / "mysql" / "src" / db / table
        assert _duck(folder, names) == want, table
        assert _spark(hive_server, db, f"mysql_src_{db}_{table}", names) == want, table


INC = ('incremental = {{ "{db}.payment" = {{ mode = "lastmodified", column = "last_update", '
       'deletes = true }}, "{db}.film_actor" = {{ mode = "lastmodified", column = '
       '"last_update", deletes = true }}, "{db}.rental" = {{ mode = "append", column = '
       '"rental_id" }} }}')
ROUNDS = [
    ["UPDATE payment SET amount = -0.01, payment_date = '2024-02-29 23:59:59' "
     "WHERE payment_id % 97 = 0",
     "DELETE FROM payment WHERE payment_id % 101 = 0",
     "INSERT INTO payment (customer_id, staff_id, rental_id, amount, payment_date) "
     "VALUES (1, 1, NULL, 999.99, '2024-03-01 00:00:00')",
     "UPDATE film_actor SET last_update = NOW() WHERE actor_id = 7",
     "DELETE FROM film_actor WHERE film_id = 3",
     "INSERT INTO rental (rental_date, inventory_id, customer_id, staff_id) "
     "VALUES ('2024-01-01 00:00:00', 1, 1, 1), ('2024-01-01 00:00:00', 2, 1, 1)"],
    ["DELETE FROM payment WHERE payment_id = 3",
     "INSERT INTO payment (payment_id, customer_id, staff_id, amount, payment_date) "
     "VALUES (101, 5, 2, 1.00, '2024-03-02 00:00:00')",
     "INSERT INTO film_actor (actor_id, film_id) VALUES (7, 3)",
     "INSERT INTO rental (rental_date, inventory_id, customer_id, return_date, staff_id) "
     "VALUES ('2024-01-02 00:00:00', 3, 2, '2024-01-03 00:00:00', 2)"],
]


@pytest.mark.hive
def test_sakila_latest_after_incremental_loads(tmp_path, sshd, mariadb, hive_server):
    """append and lastmodified loads (a nullable TIMESTAMP column, a two-column key) with
    updates and deletes: each `_latest` view equals MariaDB after every round."""
    db = "sakinc"
    _sakila(mariadb, db)
    toml = _toml(tmp_path, sshd, mariadb, db, hive_server.hive_dict(db),
                 {"src": f'format = "parquet"\ntables = ["payment", "film_actor", "rental"]\n'
                         f'{INC.format(db=db)}'})
    for statements in [[], *ROUNDS]:
        for sql in statements:
            mariadb.execute(sql, database=db)
        _import(toml)
        for table in ("payment", "film_actor", "rental"):
            names = _names(mariadb, db, table)
            want = _maria_rows(mariadb, db, table)
            assert _spark(hive_server, db, f"mysql_src_{db}_{table}_latest", names) == want, \
                table


def test_sakila_into_an_s3_root(tmp_path, sshd, mariadb, moto_server, s3_client, s3_bucket):
    """The same import into s3:// (moto's server), then an append load: every table's
    Parquet objects, read with DuckDB, equal MariaDB (rental as the union of its loads)."""
    db = "saks3"
    _sakila(mariadb, db)
    inc = f'incremental = {{ "{db}.rental" = {{ mode = "append", column = "rental_id" }} }}'
    toml = _toml(tmp_path, sshd, mariadb, db, None,
                 {"src": f'format = "parquet"\nsplit_workers = 2\n{inc}'})
    text = toml.read_text().replace(f'root = "{tmp_path / "root"}"',
                                    f'root = "s3://{s3_bucket}/wh"')
    toml.write_text(text + f'[s3]\nendpoint_url = "{moto_server}"\n')
    _import(toml)
    mariadb.execute(ROUNDS[0][-1], database=db)
    assert "2 rows" in _import(toml, f"src.{db}.rental")
    mirror = tmp_path / "mirror"
    paginator = s3_client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=s3_bucket, Prefix="wh/mysql/"):
        for obj in page["Contents"]:
            assert obj["Key"].endswith(".parquet"), obj["Key"]
            local = mirror / obj["Key"][len("wh/"):]
            local.parent.mkdir(parents=True, exist_ok=True)
            s3_client.download_file(s3_bucket, obj["Key"], str(local))
    for table in TABLES:
        folder = mirror / "mysql" / "src" / db / table
        assert _duck(folder, _names(mariadb, db, table)) == _maria_rows(mariadb, db, table), \
            table


@pytest.mark.hive
def test_hive_query_prints_binary_as_base64(tmp_path, hive_server):
    """A BINARY column (a Parquet import's BLOB) prints as base64 in every --format, the
    text its JSON twin holds, not as Python's b'...' repr."""
    from click.testing import CliRunner

    from warehouse.cli import cli

    toml = tmp_path / "warehouse.toml"
    hive = hive_server.hive_dict("default")
    toml.write_text(f'[warehouse]\nroot = "{tmp_path / "root"}"\n[hive]\n' + "".join(
        f'{k} = "{v}"\n' if isinstance(v, str) else f"{k} = {v}\n" for k, v in hive.items()))
    sql = "SELECT unhex('89504E470D0A00FF') AS picture, unhex('') AS empty, 'x' AS t"
    outs = {}
    for fmt in ("json", "tsv", "table"):
        res = CliRunner().invoke(cli, ["--config", str(toml), "hive", "query", sql,
                                       "--format", fmt])
        assert res.exit_code == 0, res.output
        assert "b'" not in res.output, res.output
        outs[fmt] = res.output
    assert outs["json"] == '{"picture": "iVBORw0KAP8=", "empty": "", "t": "x"}\n'
    assert outs["tsv"].splitlines()[1] == "iVBORw0KAP8=\t\tx"
    assert "iVBORw0KAP8=" in outs["table"]
