"""The catalog: tables over the root. DDL rendered from table specs (hql/), HiveServer2 or
Glue as the catalog, partitions found under the root, the user's views and the
materialised reports. One public entry point per operation:

- `apply(cfg, replace=, imported=)`: `hive apply`, the root made into tables;
- `register_partitions(cfg, table, dates, imported=)`: `hive partitions`, `--register`,
  `run` (a table that is not there and that the root cannot make: `TableMissing`);
- `HiveRegistrar` and `register_load(registrar, items)`: an import's loads;
- `ensure_view(cfg, name, select)`, `run_query(cfg, sql)`, `list_catalog(cfg, table)`
  (`hive ls`), `run_reports(cfg, day)`.

`imported` is how another package's tables come in (`ImportedSource`: hive/ never imports
mysql/; the CLI passes `warehouse.mysql.hive_tables.imported_tables`).
"""

from warehouse.hive.errors import TableMissing
from warehouse.hive.imported import ImportedSource, ImportedTables
from warehouse.hive.listing import list_catalog
from warehouse.hive.manage import apply, ensure_view, format_result, run_query
from warehouse.hive.partitions import register_partitions
from warehouse.hive.registrar import HiveRegistrar, register_load
from warehouse.hive.reports import run_reports

__all__ = [
    "HiveRegistrar",
    "ImportedSource",
    "ImportedTables",
    "TableMissing",
    "apply",
    "ensure_view",
    "format_result",
    "list_catalog",
    "register_load",
    "register_partitions",
    "run_query",
    "run_reports",
]
