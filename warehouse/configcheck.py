"""`warehouse config check`: load the configuration and find, in one pass, everything the
commands would refuse later (the log format, files named by the config, password variables).

Apart from `warehouse.config` because it consults the log-format engine (`warehouse.events.build`):
the config model stays at the bottom of the layers, importable by storage/ without pulling
in logs/ (DESIGN.md "Layers").
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from warehouse.config import (
    RUNNERS,
    Config,
    apply_secret_environment,
    cron_environment_problems,
    load_config_and_problems,
    problems_error,
)
from warehouse.errors import ConfigError
from warehouse.events.build import format_problems
from warehouse.events.runner import check_runner
from warehouse.run.notify import command_problem
from warehouse.storage import is_remote


def check(path: str | Path | None = None, *, root: str | None = None) -> Config:
    """Load the configuration and check everything at once; raises ConfigError listing
    every problem (keys, types, cross-field rules, and what commands would refuse later).

    Beyond loading, this compiles `[logs] format` with `ip`/`user`, requires the
    `patterns` and `mrjob_conf` files, requires the password variables (`password_env`)
    to be set, refuses secrets in `[cron] environment` and runs `parse`'s runner check
    for `[logs] runner`, so a config that `parse`, `aggregate`, `import` or the
    EMR launch would refuse fails here, in one pass.
    """
    cfg, problems = load_config_and_problems(path, root=root)
    with contextlib.suppress(ConfigError):  # an unreadable file is among `problems` already
        apply_secret_environment(cfg.emr.environment)
    problems.extend(_command_problems(cfg))
    if problems:
        raise problems_error(cfg.path, problems)
    return cfg


def _command_problems(cfg: Config) -> list[str]:
    problems = format_problems(cfg.logs.format_text(), cfg.logs.ip, cfg.logs.user)
    problems.extend(cron_environment_problems(cfg))
    if cfg.logs.runner in RUNNERS:
        try:  # what `parse` refuses at run time (e.g. -r emr with a local root)
            check_runner(cfg, cfg.logs.runner, stdin=False)
        except ConfigError as exc:
            problems.append(f"[logs] runner {cfg.logs.runner}: {exc}")
    for key, value in (
        ("[logs] patterns", cfg.logs.patterns),
        ("[aggregate] mrjob_conf", cfg.aggregate.mrjob_conf),
    ):
        if value and "://" not in value and not os.path.isfile(value):
            problems.append(f"{key} file {value} does not exist")
    if cfg.glue is not None and not is_remote(cfg.root):
        problems.append(
            f"[glue] with the local root {cfg.root}: Glue's tables would point at this "
            "machine's folder, which Athena and EMR cannot read; use an s3:// root "
            "([warehouse] root, --root, WAREHOUSE_ROOT) or remove [glue]"
        )
    for target in cfg.run.notify:
        kind, _, value = target.partition(":")
        why = command_problem(cfg, value) if kind == "command" and value.strip() else None
        if why:
            problems.append(f"[run] notify {target!r}: {why}")
    envs = [(f"[mysql.{s.name}]", s.password_env) for s in cfg.mysql.values()]
    if cfg.hive is not None and cfg.hive.auth in ("LDAP", "CUSTOM"):
        if not cfg.hive.password_env:
            problems.append(f"[hive] auth {cfg.hive.auth} needs password_env")
        envs.append(("[hive]", cfg.hive.password_env))
    for where, var in envs:
        if var and os.environ.get(var) is None:
            problems.append(f"{where} password_env: ${var} is not set in this environment")
    return problems


def warnings(cfg: Config) -> list[str]:
    """Return what `config check` warns about without failing: settings that work but do
    less than one might expect."""
    found = []
    if cfg.glue is not None and cfg.hive is None:
        found.append(
            "[glue] without [hive]: tables and partitions go to Glue, but the _latest views "
            "and [hive] views are not made (Glue holds a view only as an engine writes it); "
            "add [hive] to make them"
        )
    if cfg.logs.input is not None and "{date" not in cfg.logs.input:
        found.append(
            f"[logs] input {cfg.logs.input!r} has no {{date:...}}: `run` parses that same "
            "input for every date, and a log rotated under that name fails (exit 5: it no "
            "longer begins with the first line parsed); name each day's logs, e.g. "
            "logs/{date:%Y/%m/%d}/ or access.log-{date:%Y%m%d}.gz"
        )
    return found
