"""The `warehouse` command line: argument parsing and wiring only (nothing imports it).

Each command loads the configuration once, calls one library function, prints that
function's one-line summary and exits with its code. Library errors (WarehouseError)
become one line on stderr and their exit code; anything else keeps its traceback.

`common` holds the group, the global options, the `Day` type and the exit path; the
commands live in `stages` (parse, aggregate, import, run), `hive` (hive apply,
partitions, query, ls), `admin` (config check, cron, urls dump), `status`, `events`
(compact) and `emr` (deploy, create, run, status, terminate); `draw` draws the library's
progress events on a terminal.
"""

from warehouse.cli import admin, emr, events, hive, stages, status  # noqa: F401  (registers the commands)
from warehouse.cli.common import DAY, Day, cli, date_range, main, parse_day

__all__ = ["DAY", "Day", "cli", "date_range", "main", "parse_day"]
