"""The runner side of an mrjob run: the mrjob.conf in use, what it sets, runner problems
found before anything runs, the environment conf/mrjob.conf reads, spark-submit from the
venv, and the start of every job's command line."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from warehouse.config import Config
from warehouse.errors import ConfigError
from warehouse.resources import resource, resource_dir
from warehouse.schema import RUNNERS


def mrjob_conf_path(cfg: Config) -> str:
    """Return the mrjob.conf in use: `[aggregate] mrjob_conf`, else the shipped one."""
    return cfg.aggregate.mrjob_conf or str(resource("conf", "mrjob.conf"))


def conf_sets(conf: str, runner: str, key: str) -> bool:
    """Return True when the mrjob.conf `conf` sets `key` for `runner` (False if unreadable)."""
    import yaml  # mrjob's own dependency

    try:
        data = yaml.safe_load(Path(conf).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return False
    section = (data.get("runners") or {}).get(runner) or {}
    return isinstance(section, dict) and key in section


def runner_args(cfg: Config, runner: str) -> list[str]:
    """Return the start of a job's command line: the runner, the mrjob.conf in use and, for
    tasks on this machine (local, spark), this interpreter unless the conf names one."""
    conf = mrjob_conf_path(cfg)
    args = ["-r", runner, "--conf-path", conf]
    if runner in ("local", "spark") and not conf_sets(conf, runner, "python_bin"):
        # tasks on this machine use this interpreter (it has mrjob, orjson and the toolkit)
        args += ["--python-bin", sys.executable]
    return args


@contextmanager
def runner_env(cfg: Config, runner: str) -> Iterator[None]:
    """Set WAREHOUSE_RESOURCES and WAREHOUSE_WHEEL (used by conf/mrjob.conf) for one run."""
    values = {"WAREHOUSE_RESOURCES": str(resource_dir("bootstrap").parent)}
    if cfg.aggregate.wheel:
        values["WAREHOUSE_WHEEL"] = cfg.aggregate.wheel
    added = [k for k in values if k not in os.environ]
    for key in added:
        os.environ[key] = values[key]
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


def check_known_runner(runner: str) -> None:
    """Raise ConfigError when `runner` is not one of the runners (warehouse.schema.RUNNERS);
    the first check of parse -r and of aggregate, before their own."""
    if runner not in RUNNERS:
        raise ConfigError(f"unknown runner {runner!r}; use one of {', '.join(RUNNERS)}")


def conf_problem(cfg: Config, runner: str) -> str | None:
    """Return why `runner` cannot start with this configuration, None when it can."""
    conf = Path(mrjob_conf_path(cfg))
    try:
        text = conf.read_text(encoding="utf-8")
    except OSError as exc:
        return f"mrjob config {conf} unreadable: {exc.strerror}; fix [aggregate] mrjob_conf"
    if runner == "emr" and "$WAREHOUSE_WHEEL" in text and not (cfg.aggregate.wheel or os.environ.get("WAREHOUSE_WHEEL")):
        return (
            f"{conf} bootstraps the nodes from a wheel: build one (python -m pip wheel --no-deps -w dist .) "
            "and set [aggregate] wheel or WAREHOUSE_WHEEL"
        )
    return None


def spark_submit_args(runner: str) -> list[str]:
    """Point mrjob at the venv's spark-submit when it is not on PATH (pyspark installs it)."""
    if runner != "spark" or shutil.which("spark-submit"):
        return []
    beside = Path(sys.executable).parent / "spark-submit"
    return ["--spark-submit-bin", str(beside)] if beside.exists() else []
