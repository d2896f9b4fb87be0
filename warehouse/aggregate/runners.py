"""The aggregate side of a job run: its command line, its MRJob class, its staged inputs.

The mrjob plumbing it shares with `warehouse parse -r RUNNER` (the mrjob.conf, the
--py-files zip, running a job) is `warehouse.mr`.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from warehouse.config import Config
from warehouse.errors import SourceUnavailable
from warehouse.mr import runner_args, scratch_full
from warehouse.resources import jobs_on_path
from warehouse.schema import CLUSTER_RUNNERS, JOBS
from warehouse.storage import ObjectStore


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
    args = runner_args(cfg, runner)
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
            except OSError as exc:  # the scratch disk; S3 errors are WarehouseErrors
                raise scratch_full(exc, f"{dest} (a copy of {store.uri(key)})") or SourceUnavailable(
                    f"cannot copy {store.uri(key)} to the scratch folder {folder}: "
                    f"{exc.strerror or exc}; free space there or set TMPDIR"
                ) from None
        else:
            dest.symlink_to(store.uri(key))
        staged.append(str(dest))
    yield staged


def sum_counters(counters: Sequence[dict[str, dict[str, int]]], group: str) -> dict[str, int]:
    """Return the counters of `group` summed over the job's steps."""
    out: dict[str, int] = {}
    for step in counters:
        for name, n in step.get(group, {}).items():
            out[name] = out.get(name, 0) + int(n)
    return out
