"""The mrjob side of a job run: its command line, its MRJob class, what ships to the tasks.

Shared by `warehouse aggregate` and `warehouse parse -r RUNNER` (warehouse.events.runner):
the mrjob.conf in use and what it sets, runner problems found before anything runs, the
environment conf/mrjob.conf reads, and spark-submit from the venv.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from warehouse import schema
from warehouse.config import Config
from warehouse.errors import SourceUnavailable
from warehouse.resources import jobs_on_path, resource, resource_dir
from warehouse.schema import CLUSTER_RUNNERS, JOBS
from warehouse.storage import ObjectStore


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


def job_args(
    cfg: Config,
    job: str,
    runner: str,
    inputs: Sequence[str],
    *,
    py_files: Sequence[str] = (),
    extra_args: Sequence[str] = (),
) -> list[str]:
    """Return the mrjob command line for `job` on `runner` over `inputs` (paths or URIs)."""
    conf = mrjob_conf_path(cfg)
    args = ["-r", runner, "--conf-path", conf]
    if runner in ("local", "spark") and not conf_sets(conf, runner, "python_bin"):
        # tasks on this machine use this interpreter (it has mrjob and orjson)
        args += ["--python-bin", sys.executable]
    for path in py_files:
        args += ["--py-files", path]
    for arg in JOBS[job].args:
        args += [arg.option, str(getattr(cfg.aggregate, arg.config_key))]
    args += list(extra_args)
    args += list(inputs)
    return args


def load_job(job: str) -> type[Any]:
    """Return the MRJob class of `job` from jobs/; raises KeyError for an unknown job."""
    cls_name = JOBS[job].cls
    jobs_dir = jobs_on_path()
    module: ModuleType | None = sys.modules.get(job)
    if module is None or getattr(module, "__file__", None) != str(jobs_dir / f"{job}.py"):
        spec = importlib.util.spec_from_file_location(job, jobs_dir / f"{job}.py")
        if spec is None or spec.loader is None:  # pragma: no cover - the file is shipped
            raise KeyError(job)
        module = importlib.util.module_from_spec(spec)
        sys.modules[job] = module  # mrjob finds the script via inspect.getsourcefile()
        spec.loader.exec_module(module)
    return getattr(module, cls_name)


def common_zip(workdir: Path) -> str:
    """Zip jobs/_common.py and warehouse/schema.py for --py-files.

    mrjob puts py_files on the tasks' PYTHONPATH. The tasks' Python has the toolkit
    installed (the venv running `warehouse`; on EMR the bootstrap's), whose regular package
    `warehouse` wins; `warehouse/` here has no __init__.py, so it is only a namespace
    fallback that lets `import warehouse.schema` work where the toolkit is not installed.
    """
    path = workdir / "warehouse_jobs_common.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.write(resource("jobs", "_common.py"), arcname="_common.py")
        zf.mkdir("warehouse")  # zipimport finds a namespace package by its folder entry
        zf.write(schema.__file__, arcname="warehouse/schema.py")
    return str(path)


@contextmanager
def staged_inputs(
    store: ObjectStore, keys: Sequence[str], runner: str, workdir: Path
) -> Iterator[list[str]]:
    """Yield input paths/URIs for mrjob: the store's own, or local copies/links.

    hadoop/emr read s3:// themselves. inline/local get local copies of S3 objects. Spark
    gets links with plain names, because mrjob percent-encodes the `=` of dt=D into a
    file:// URI that Hadoop's file system then cannot find.
    """
    remote = store.remote
    if runner in CLUSTER_RUNNERS or (not remote and runner != "spark"):
        yield [store.uri(k) for k in keys]
        return
    folder = workdir / "input"
    folder.mkdir(parents=True, exist_ok=True)
    staged: list[str] = []
    for i, key in enumerate(keys):
        dest = folder / f"{i:06d}-{key.rsplit('/', 1)[-1].replace('=', '_')}"
        if remote:
            try:
                with store.open_read(key) as src, open(dest, "wb") as out:
                    shutil.copyfileobj(src, out, 1 << 20)
            except OSError as exc:  # a full scratch disk; S3 errors are WarehouseErrors
                raise SourceUnavailable(
                    f"cannot copy {store.uri(key)} to the scratch folder {folder}: "
                    f"{exc.strerror or exc}; free space there or set TMPDIR"
                ) from None
        else:
            dest.symlink_to(store.uri(key))
        staged.append(str(dest))
    yield staged


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


def first_line(exc: BaseException, limit: int = 240) -> str:
    """Return the first line of a runner's exception for a one-line error, cut at `limit`
    characters (mrjob puts whole spark-submit/hadoop commands in its messages)."""
    first = str(exc).splitlines()[0] if str(exc) else ""
    return first[:limit] + "..." if len(first) > limit else first


def sum_counters(counters: Sequence[dict[str, dict[str, int]]], group: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for step in counters:
        for name, n in step.get(group, {}).items():
            out[name] = out.get(name, 0) + int(n)
    return out
