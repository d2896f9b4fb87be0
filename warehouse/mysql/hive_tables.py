"""Hive side of an imported table: its TableSpec, the `_latest` view and load registration.

Tables are `mysql_<source>_<database>_<table>` (lower-case), EXTERNAL, partitioned by
`load` (the UTC timestamp folder of each load), stored as JSON (python engine) or as
Sqoop's delimited text (`TEXT_FORMAT`). Lastmodified tables also get the view
`<table>_latest`: the newest row per key (ties: the later load).
"""

from __future__ import annotations

from collections.abc import Sequence

from warehouse.config import Config, IncrementalConfig
from warehouse.errors import JobFailed
from warehouse.hive.spec import Column, TableSpec
from warehouse.mysql import schema as sch
from warehouse.mysql.sqoop import TEXT_FORMAT
from warehouse.mysql.state import data_prefix


def table_spec(
    source: str,
    database: str,
    table: str,
    columns: Sequence[sch.SourceColumn],
    *,
    engine: str,
    zero_dates: bool = True,
) -> TableSpec:
    """Return the Hive TableSpec of an imported table (partitioned by `load`)."""
    return TableSpec(
        name=sch.hive_name(source, database, table),
        columns=tuple(Column(c.name.lower(), sch.hive_type(c, zero_dates=zero_dates))
                      for c in columns),
        location=data_prefix(source, database, table),
        storage="json" if engine == "python" else "text",
        partition_by=(Column("load", "STRING"),),
        text_format=TEXT_FORMAT if engine == "sqoop" else None,
        comment=f"MySQL {source}.{database}.{table} ({engine} engine)",
    )


def latest_view_sql(database: str, spec: TableSpec, key: Sequence[str], column: str) -> str:
    """Return the SELECT of the `<table>_latest` view: the newest row per key."""
    from warehouse.hive.render import quote_ident, table_ref

    cols = ", ".join(quote_ident(c.name) for c in (*spec.columns, *spec.partition_by))
    part = ", ".join(quote_ident(k.lower()) for k in key)
    order = f"{quote_ident(column.lower())} DESC, {quote_ident('load')} DESC"
    return (
        f"SELECT {cols} FROM (SELECT {cols}, ROW_NUMBER() OVER (PARTITION BY {part} "
        f"ORDER BY {order}) AS {quote_ident('wh_rank')} FROM {table_ref(database, spec.name)}) "
        f"{quote_ident('ranked')} WHERE {quote_ident('wh_rank')} = 1"
    )


def register_load(
    cfg: Config,
    spec: TableSpec,
    stamp: str,
    *,
    dropped: Sequence[str],
    replace: bool,
    view: tuple[IncrementalConfig, list[str]] | None,
) -> None:
    """Create the Hive table, add the load partition, drop replaced ones, refresh the view."""
    from warehouse.hive.client import connect as hive_connect
    from warehouse.hive.manage import ensure_tables, ensure_view
    from warehouse.hive.partitions import add_partitions
    from warehouse.hive.render import quote_string, table_ref

    hc = cfg.hive_or_default()
    with hive_connect(cfg) as client:
        made = ensure_tables(cfg, [spec], replace=replace, client=client)
        if made.exit_code:
            raise JobFailed(f"Hive table {spec.name}: {made.line()}")
        added = add_partitions(cfg, spec, [{"load": stamp}], client=client)
        if added.exit_code:
            raise JobFailed(f"Hive table {spec.name}: {added.line()}")
        for old in dropped:
            client.execute(
                f"ALTER TABLE {table_ref(hc.database, spec.name)} DROP IF EXISTS "
                f"PARTITION (`load` = {quote_string(old)})"
            )
        if view is not None:
            inc, key = view
            made_view = ensure_view(
                cfg, f"{spec.name}_latest", latest_view_sql(hc.database, spec, key, inc.column),
                client=client,
            )
            if made_view.exit_code:
                raise JobFailed(f"Hive view {spec.name}_latest: {made_view.line()}")


