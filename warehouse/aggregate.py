"""`warehouse aggregate`: run an mrjob aggregation over event partitions.

Resolves ROOT/events/dt=D/*.json.gz for the requested dates, runs the job in jobs/ on the
chosen mrjob runner (the same code on inline, local, spark, hadoop and emr), reads the
runner's output and writes it via warehouse.storage as
ROOT/aggregates/<job>/dt=D/part-00000.json.gz (gzipped JSON lines).

Replacing a partition: nothing is written unless the job succeeded. Each partition's part
is written under its final, deterministic name with an atomic publish (local rename; one
S3 PUT or completed multipart upload), so a reader sees the old or the new part, never a
half-written one. Other objects left in the partition by older runs are deleted after the
new part is published; on S3 a reader listing in that short window may see both.

Each job's class, output columns (the Hive table `agg_<job>`), neighbour days and
arguments are its `JobSpec` in warehouse.schema; the jobs emit JSON objects with exactly
those keys.
"""

from __future__ import annotations

import datetime as dt
import errno
import importlib.util
import logging
import os
import shutil
import sys
import time
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson

from warehouse import schema
from warehouse.config import Config
from warehouse.errors import (
    EXIT_FAILED,
    EXIT_INPUT_MISSING,
    EXIT_OK,
    EXIT_UNAVAILABLE,
    ConfigError,
    SourceUnavailable,
    WarehouseError,
)
from warehouse.gzipcheck import damaged_input
from warehouse.resources import resource, resource_dir
from warehouse.schema import CLUSTER_RUNNERS, JOBS, RUNNERS
from warehouse.scratch import live_tmp_file, scratch_dir
from warehouse.storage import ObjectStore, open_gzip_write, store_for_config

log = logging.getLogger(__name__)

PART_NAME = "part-00000.json.gz"
MALFORMED_GROUP = "malformed events"
EVENTS_GROUP = "events"


@dataclass
class AggregateSummary:
    """What one `warehouse aggregate` run did; `line()` is the CLI's one-line report."""

    job: str
    runner: str
    dates: list[dt.date]
    output: str = ""
    partitions: set[str] = field(default_factory=set)
    records: int = 0
    inputs: int = 0
    events: int = 0
    malformed: dict[str, int] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    emptied: list[str] = field(default_factory=list)  # missing dates whose old output went
    dropped: int = 0
    counters_read: bool = True
    seconds: float = 0.0
    error: str | None = None
    exit_code: int = EXIT_OK

    def line(self) -> str:
        """Return the one-line summary: counts, rate, where output went, or the error."""
        span = _span(self.dates)
        head = f"aggregate {self.job} [{self.runner}] {span}"
        if self.error:
            return f"{head}: FAILED (exit {self.exit_code}): {self.error}"
        skipped = sum(self.malformed.values())
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(self.malformed.items()))
        rate = self.events / self.seconds if self.seconds > 0 else 0.0
        parts = [f"{len(self.partitions)} partitions, {self.records} records"]
        if self.counters_read:
            parts += [
                f"{self.events} events from {self.inputs} files ({rate:,.0f} events/s)",
                f"{skipped} malformed skipped" + (f" ({reasons})" if reasons else ""),
            ]
        else:  # e.g. emr with read_logs: false
            parts.append(f"{self.inputs} files; event and malformed counts not read (no counters)")
        if self.dropped:
            parts.append(f"{self.dropped} records of neighbouring dates not written")
        if self.missing:
            parts.append("no input for " + ", ".join(self.missing))
        if self.emptied:
            parts.append("earlier output emptied for " + ", ".join(self.emptied))
        return f"{head}: " + "; ".join(parts) + f" -> {self.output} in {self.seconds:.1f}s"


def _span(dates: Sequence[dt.date]) -> str:
    if not dates:
        return "(no dates)"
    first, last = min(dates), max(dates)
    return first.isoformat() if first == last else f"{first}..{last}"


# ---------------------------------------------------------------------------------------
# pure parts: input keys, runner arguments, output records


def event_prefix(day: dt.date) -> str:
    """Return the store key prefix of one events partition."""
    return f"events/dt={day.isoformat()}/"


def output_prefix(job: str, day: str) -> str:
    """Return the store key prefix of one aggregate partition."""
    return f"aggregates/{job}/dt={day}/"


def input_dates(job: str, dates: Sequence[dt.date]) -> list[dt.date]:
    """Return the event dates a job reads for `dates` (with its neighbour days)."""
    wanted = set(dates)
    span = JOBS[job].neighbour_days
    for day in dates:
        wanted.update(day + dt.timedelta(days=n) for n in range(-span, span + 1))
    return sorted(wanted)


def mrjob_conf_path(cfg: Config) -> str:
    """Return the mrjob.conf in use: `[aggregate] mrjob_conf`, else the shipped one."""
    return cfg.aggregate.mrjob_conf or str(resource("conf", "mrjob.conf"))


def _conf_sets(conf: str, runner: str, key: str) -> bool:
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
    if runner in ("local", "spark") and not _conf_sets(conf, runner, "python_bin"):
        # tasks on this machine use this interpreter (it has mrjob and orjson)
        args += ["--python-bin", sys.executable]
    for path in py_files:
        args += ["--py-files", path]
    for arg in JOBS[job].args:
        args += [arg.option, str(getattr(cfg.aggregate, arg.config_key))]
    args += list(extra_args)
    args += list(inputs)
    return args


def sort_key(record: dict[str, Any]) -> tuple[Any, ...]:
    """Return the order of records inside a part: by slug (null first), param, rank."""
    slug = record.get("slug")
    return (slug is not None, slug or "", record.get("param") or "", record.get("rank") or 0)


# ---------------------------------------------------------------------------------------
# running


def load_job(job: str) -> type[Any]:
    """Return the MRJob class of `job` from jobs/; raises KeyError for an unknown job."""
    cls_name = JOBS[job].cls
    jobs_dir = resource_dir("jobs")
    # the jobs import their shared module `_common` as a top-level module, as on EMR nodes
    if str(jobs_dir) not in sys.path:
        sys.path.append(str(jobs_dir))
    module: ModuleType | None = sys.modules.get(job)
    if module is None or getattr(module, "__file__", None) != str(jobs_dir / f"{job}.py"):
        spec = importlib.util.spec_from_file_location(job, jobs_dir / f"{job}.py")
        if spec is None or spec.loader is None:  # pragma: no cover - the file is shipped
            raise KeyError(job)
        module = importlib.util.module_from_spec(spec)
        sys.modules[job] = module  # mrjob finds the script via inspect.getsourcefile()
        spec.loader.exec_module(module)
    return getattr(module, cls_name)


def _common_zip(workdir: Path) -> str:
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
def _staged_inputs(
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
def _runner_env(cfg: Config, runner: str) -> Iterator[None]:
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


def _conf_problem(cfg: Config, runner: str) -> str | None:
    """Return why `runner` cannot start with this configuration, None when it can."""
    conf = Path(mrjob_conf_path(cfg))
    try:
        text = conf.read_text(encoding="utf-8")
    except OSError as exc:
        return f"mrjob config {conf} unreadable: {exc.strerror}; fix [aggregate] mrjob_conf"
    if runner == "emr" and "$WAREHOUSE_WHEEL" in text and not (cfg.aggregate.wheel or os.environ.get("WAREHOUSE_WHEEL")):
        return (
            f"{conf} bootstraps the nodes from a wheel: build one (python -m build --wheel) "
            "and set [aggregate] wheel or WAREHOUSE_WHEEL"
        )
    return None


def _spark_submit_args(runner: str) -> list[str]:
    """Point mrjob at the venv's spark-submit when it is not on PATH (pyspark installs it)."""
    if runner != "spark" or shutil.which("spark-submit"):
        return []
    beside = Path(sys.executable).parent / "spark-submit"
    return ["--spark-submit-bin", str(beside)] if beside.exists() else []


def _sum_counters(counters: Sequence[dict[str, dict[str, int]]], group: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for step in counters:
        for name, n in step.get(group, {}).items():
            out[name] = out.get(name, 0) + int(n)
    return out


def run_aggregate(
    cfg: Config,
    job: str,
    dates: list[dt.date],
    *,
    runner: str,
    store: ObjectStore | None = None,
    extra_args: Sequence[str] = (),
) -> AggregateSummary:
    """Run `job` for `dates` on `runner` and replace their output partitions.

    Raises ConfigError for an unknown job or runner or a runner set up wrongly (nothing
    runs). Returns an AggregateSummary whose exit_code is 4 when no input partition exists
    for any date, 3 when the store or scratch space fails, 5 when the job failed (nothing
    is written). `extra_args` go to mrjob as they are (e.g. --jobconf, --emr-endpoint).
    """
    started = time.monotonic()
    if job not in JOBS:
        raise ConfigError(f"unknown job {job!r}; known: {', '.join(sorted(JOBS))}")
    if runner not in RUNNERS:
        raise ConfigError(f"unknown runner {runner!r}; use one of {', '.join(RUNNERS)}")
    problem = _conf_problem(cfg, runner)
    if problem:
        raise ConfigError(problem)
    summary = AggregateSummary(job=job, runner=runner, dates=sorted(dates))
    store = store or store_for_config(cfg)
    summary.output = store.uri(f"aggregates/{job}/")
    wanted = {d.isoformat() for d in dates}
    try:
        store.check_root()  # a missing bucket or a hung endpoint: fail before any work
        return _run(cfg, job, dates, runner, store, summary, wanted, started, extra_args)
    except WarehouseError as err:
        summary.error = str(err)
        summary.exit_code = err.exit_code
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        # scratch space ($TMPDIR) full: mrjob's files, the staged inputs, the zip
        summary.error = (
            f"disk full writing {exc.filename or 'scratch files'}: {exc.strerror}; free space "
            "there or point TMPDIR elsewhere"
        )
        summary.exit_code = EXIT_UNAVAILABLE
    summary.seconds = time.monotonic() - started
    return summary


def _run(
    cfg: Config,
    job: str,
    dates: list[dt.date],
    runner: str,
    store: ObjectStore,
    summary: AggregateSummary,
    wanted: set[str],
    started: float,
    extra_args: Sequence[str],
) -> AggregateSummary:
    keys: list[str] = []
    present: set[str] = set()
    for day in input_dates(job, dates):
        found = [
            o.key
            for o in store.list(event_prefix(day))
            if o.key.endswith((".json.gz", ".json"))
        ]
        if found:
            present.add(day.isoformat())
            keys += found
    summary.missing = sorted(wanted - present)
    if not wanted & present:
        _empty_stale(store, job, summary)
        summary.error = (
            f"no event partitions under {store.uri('events/')} for {_span(dates)}; "
            "run `warehouse parse` for those dates first"
        )
        summary.exit_code = EXIT_INPUT_MISSING
        summary.seconds = time.monotonic() - started
        return summary
    summary.inputs = len(keys)

    job_cls = load_job(job)
    by_day: dict[str, list[dict[str, Any]]] = {d: [] for d in sorted(wanted & present)}
    # scratch: $TMPDIR/warehouse-<job>-<pid>-*, with mrjob's own temp files inside; what
    # a killed run leaves there is removed by the next aggregate of the same job
    with scratch_dir(job) as workdir:
        py_files = [] if runner == "inline" else [_common_zip(workdir)]
        with _staged_inputs(store, keys, runner, workdir) as inputs:
            damaged = damaged_input(store, runner, keys, inputs)
            if damaged:
                summary.error = damaged
                summary.exit_code = EXIT_FAILED
                summary.seconds = time.monotonic() - started
                return summary
            extra = [*_spark_submit_args(runner), "--local-tmp-dir", str(workdir / "mrjob")]
            extra += list(extra_args)
            argv = job_args(cfg, job, runner, inputs, py_files=py_files, extra_args=extra)
            log.info("mrjob %s %s", job, " ".join(argv[: len(argv) - len(inputs)]))
            mr_job = job_cls(argv)
            try:
                with _runner_env(cfg, runner), mr_job.make_runner() as mr_runner:
                    mr_runner.run()
                    for _, record in mr_job.parse_output(mr_runner.cat_output()):
                        day_records = by_day.get(record["dt"])
                        if day_records is None:
                            summary.dropped += 1
                        else:
                            day_records.append(record)
                    counters = mr_runner.counters()
            except Exception as exc:  # any runner or task failure: report, write nothing
                if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
                    raise  # a full scratch disk, not a job failure (exit 3 above)
                log.debug("job %s failed on runner %s", job, runner, exc_info=True)
                first = str(exc).splitlines()[0] if str(exc) else ""
                if len(first) > 240:  # mrjob puts whole spark-submit/hadoop commands here
                    first = first[:240] + "..."
                summary.error = (
                    f"job {job} failed on runner {runner}: {type(exc).__name__}: {first}; "
                    "the runner's log above has the cause (-vv for the traceback)"
                )
                summary.exit_code = EXIT_FAILED
                summary.seconds = time.monotonic() - started
                return summary

    summary.counters_read = any(counters)
    summary.malformed = _sum_counters(counters, MALFORMED_GROUP)
    summary.events = sum(_sum_counters(counters, EVENTS_GROUP).values())
    for out_day, records in by_day.items():
        records.sort(key=sort_key)
        write_partition(store, job, out_day, records)
        summary.partitions.add(out_day)
        summary.records += len(records)
    _empty_stale(store, job, summary)
    summary.seconds = time.monotonic() - started
    return summary


def _empty_stale(store: ObjectStore, job: str, summary: AggregateSummary) -> None:
    """Rewrite as empty the earlier output of requested dates that have no events left.

    A re-parse can remove a date's last events; its old aggregate would count events that
    no longer exist. The partition keeps existing (its metastore entry stays valid), with
    one empty part; dates that never had output get none."""
    for day in summary.missing:
        if any(True for _ in store.list(output_prefix(job, day))):
            log.info("%s has no events left: emptying its %s aggregate", day, job)
            write_partition(store, job, day, [])
            summary.partitions.add(day)
            summary.emptied.append(day)


def write_partition(store: ObjectStore, job: str, day: str, records: list[dict[str, Any]]) -> str:
    """Publish one partition's records as its single part, then delete stale objects."""
    prefix = output_prefix(job, day)
    key = prefix + PART_NAME
    with open_gzip_write(store, key) as out:
        for record in records:
            out.write(orjson.dumps(record) + b"\n")
    for obj in store.list(prefix, include_hidden=True):
        name = obj.key.rsplit("/", 1)[-1]
        # another aggregate of this partition may be writing its `_tmp.*` right now: its
        # file stays; stale parts and what crashed writers left go
        if obj.key != key and not live_tmp_file(name):
            store.delete(obj.key)
    return key
