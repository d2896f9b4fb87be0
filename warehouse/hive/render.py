"""Render table specs to HQL for a dialect: pure functions over the templates in hql/.

Dialects:
- `hive`: EMR's Hive 3.1. JSON tables use `org.apache.hive.hcatalog.data.JsonSerDe` (Athena and
  Trino read it too).
- `spark`: Spark's Thrift server. JSON tables are `USING json` data-source tables
  (Hive's JSON SerDes are not in pyspark's jars); delimited text and RegexSerDe tables
  are Hive-format tables rendered exactly as for `hive`.

Every identifier is backquoted (`user`, `load` and `date` are keywords) and every string
literal is escaped for Hive's and Spark's literal rules (backslash escapes), so a regex
or a delimiter reaches the SerDe unchanged. Statements carry no trailing `;`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from string import Template

from warehouse.config import DIALECTS, Dialect
from warehouse.hive.spec import Column, TableSpec
from warehouse.resources import resource

PARTITIONS_PER_STATEMENT = 100


@functools.cache
def _template(name: str) -> Template:
    text = resource("hql", name).read_text(encoding="utf-8")
    body = [line for line in text.splitlines() if not line.startswith("--")]
    return Template("\n".join(body).strip("\n"))


def _render(name: str, **values: str) -> str:
    """Fill a template and drop the lines of optional clauses that came out empty."""
    text = _template(name).substitute(values)
    return "\n".join(line for line in text.splitlines() if line.strip())


def statement(name: str, **values: str) -> str:
    """Return hql/`name` filled with `values` as given (quoted by the caller): a statement
    without optional clauses, whose values (a report's SELECT) keep every line."""
    return _template(name).substitute(values)


def quote_ident(name: str) -> str:
    """Return `name` backquoted for Hive and Spark (backquotes inside are doubled)."""
    return "`" + name.replace("`", "``") + "`"


def table_ref(database: str, name: str) -> str:
    """Return the qualified, quoted name `db`.`table`."""
    return f"{quote_ident(database)}.{quote_ident(name)}"


_ESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0"}


def quote_string(value: str) -> str:
    """Return a single-quoted HQL string literal that Hive and Spark read back as `value`.

    Both unescape backslash sequences in literals, so backslashes and quotes are escaped;
    other control characters become three-digit octal escapes (`\\001`), which both read.
    """
    out = []
    for ch in value:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 32:
            out.append(f"\\{ord(ch):03o}")
        else:
            out.append(ch)
    return "'" + "".join(out) + "'"


def location_uri(root_uri: str, key: str = "") -> str:
    """Return the URI of `key` under the warehouse root: file:///... locally, s3://... on S3."""
    root = root_uri
    if root.startswith("/"):
        root = Path(root).as_uri()
    root = root.rstrip("/")
    key = key.strip("/")
    return f"{root}/{key}" if key else root


def _column(col: Column) -> str:
    text = f"  {quote_ident(col.name)} {col.type}"
    if col.comment:
        text += f" COMMENT {quote_string(col.comment)}"
    return text


def _columns(cols: Iterable[Column]) -> str:
    return ",\n".join(_column(c) for c in cols)


def _properties(props: Mapping[str, str]) -> str:
    if not props:
        return ""
    items = ", ".join(f"{quote_string(k)} = {quote_string(v)}" for k, v in sorted(props.items()))
    return f"TBLPROPERTIES ({items})"


def render_database(database: str) -> str:
    """Return `CREATE DATABASE IF NOT EXISTS` for `database`."""
    return _render("create_database.hql", database=quote_ident(database))


def render_create(spec: TableSpec, *, dialect: Dialect, root_uri: str, database: str) -> list[str]:
    """Return the statements that create `spec`'s table (idempotent: IF NOT EXISTS).

    Raises ValueError for a spec the dialect cannot express (unknown storage, a regex table
    without a regex, an unknown dialect).
    """
    if dialect not in DIALECTS:
        raise ValueError(f"unknown Hive dialect {dialect!r}: use {' or '.join(DIALECTS)}")
    common = {
        "table": table_ref(database, spec.name),
        "location": quote_string(location_uri(root_uri, spec.location)),
        "comment": f"COMMENT {quote_string(spec.comment)}" if spec.comment else "",
        "properties": _properties(spec.properties),
    }
    template, fields = _create_fields(spec, dialect)
    return [_render(template, **fields, **common)]


def _create_fields(spec: TableSpec, dialect: Dialect) -> tuple[str, dict[str, str]]:
    """Return the template that creates `spec`'s table in `dialect` and the fields its
    storage fills in; raises ValueError as `render_create`."""
    hive_partitions = (
        f"PARTITIONED BY (\n{_columns(spec.partition_by)}\n)" if spec.partition_by else ""
    )
    if spec.storage in ("json", "parquet") and dialect == "spark":
        names = ", ".join(quote_ident(n) for n in spec.partition_names)
        return f"create_{spec.storage}.spark.hql", {
            "columns": _columns((*spec.columns, *spec.partition_by)),
            "partitioned_by": f"PARTITIONED BY ({names})" if names else "",
        }
    fields = {"columns": _columns(spec.columns), "partitioned_by": hive_partitions}
    if spec.storage in ("json", "parquet"):
        return f"create_{spec.storage}.hive.hql", fields
    if spec.storage == "text":
        fmt = spec.text_format
        if fmt is None:
            raise ValueError(f"table {spec.name}: text storage needs a text_format")
        return "create_text.hql", {
            **fields,
            "field_delim": quote_string(fmt.field_delim),
            "escaped_by": f" ESCAPED BY {quote_string(fmt.escape)}" if fmt.escape else "",
            "line_delim": quote_string(fmt.line_delim),
            "null_string": quote_string(fmt.null_string),
        }
    if spec.storage == "regex":
        if not spec.regex:
            raise ValueError(f"table {spec.name}: regex storage needs a regex")
        return "create_regex.hql", {**fields, "regex": quote_string(spec.regex)}
    raise ValueError(f"table {spec.name}: unknown storage {spec.storage!r}")


def partition_path(spec: TableSpec, values: Mapping[str, str]) -> str:
    """Return the root-relative folder of one partition: `<location>/k1=v1/k2=v2`."""
    missing = [n for n in spec.partition_names if n not in values]
    if missing or len(values) != len(spec.partition_names):
        raise ValueError(
            f"table {spec.name}: partition {dict(values)} must give exactly "
            f"{', '.join(spec.partition_names) or 'no columns'}"
        )
    parts = [f"{n}={values[n]}" for n in spec.partition_names]
    return "/".join([spec.location.strip("/"), *parts])


def render_add_partitions(
    spec: TableSpec,
    partitions: Sequence[Mapping[str, str]],
    *,
    root_uri: str,
    database: str,
    per_statement: int = PARTITIONS_PER_STATEMENT,
    locations: Sequence[str | None] | None = None,
) -> list[str]:
    """Return `ALTER TABLE ... ADD IF NOT EXISTS PARTITION ... LOCATION ...` statements.

    Up to `per_statement` partitions go in each statement; each gets an explicit LOCATION:
    `locations[i]` (a full URI) when given, else `<table location>/k=v/...` under the
    root. Raises ValueError when a partition misses a column.
    """
    if locations is not None and len(locations) != len(partitions):
        raise ValueError(
            f"table {spec.name}: {len(locations)} locations for {len(partitions)} partitions"
        )
    statements = []
    for start in range(0, len(partitions), per_statement):
        lines = []
        for i in range(start, min(start + per_statement, len(partitions))):
            values = partitions[i]
            where = location_uri(root_uri, partition_path(spec, values))
            if locations is not None and locations[i]:
                where = location_uri(locations[i] or "")
            cols = ", ".join(
                f"{quote_ident(n)} = {quote_string(values[n])}" for n in spec.partition_names
            )
            lines.append(f"  PARTITION ({cols}) LOCATION {quote_string(where)}")
        statements.append(
            _render(
                "add_partitions.hql",
                table=table_ref(database, spec.name),
                partitions="\n".join(lines),
            )
        )
    return statements


def render_view(database: str, name: str, select_sql: str) -> str:
    """Return `CREATE OR REPLACE VIEW db.name AS select_sql`."""
    select = select_sql.strip().rstrip(";").strip()
    if not select:
        raise ValueError(f"view {name}: empty SELECT")
    return _render("create_view.hql", view=table_ref(database, name), select=select)


_PARTITION_SEGMENT = re.compile(r"^([^=/]+)=(.*)$")


def parse_partition_spec(text: str) -> dict[str, str]:
    """Return {column: value} from SHOW PARTITIONS text like `dt=2012-01-14/load=x`.

    Hive and Spark escape special characters in values as %XX; they are decoded here.
    """
    from urllib.parse import unquote

    out: dict[str, str] = {}
    for seg in text.split("/"):
        m = _PARTITION_SEGMENT.match(seg)
        if m:
            out[unquote(m.group(1))] = unquote(m.group(2))
    return out
