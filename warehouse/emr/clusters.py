"""`warehouse emr create|run|status|terminate`: clusters and steps through the EMR API.

`create` checks the deployment (every object it names exists, the config is the deployed
one) before RunJobFlow; `--wait` polls until WAITING and fails with the cluster's own
state-change reason. `run` adds `warehouse run` as a command-runner step (or launches a
transient cluster that runs it and terminates); `--wait` follows the step and returns the
run's exit code, read from the summary line in the step's stdout under `[emr] log_uri`
(EMR copies step logs there), with the tail of its stderr on failure.
"""

from __future__ import annotations

import datetime as dt
import gzip
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from warehouse.config import Config
from warehouse.emr.deploy import load_deployment
from warehouse.emr.request import TAG_ARTIFACTS, job_flow
from warehouse.emr.s3 import get_object, s3_client
from warehouse.errors import EXIT_FAILED, EXIT_OK, ConfigError, JobFailed, RunInProgress
from warehouse.run.emr import ACTIVE_STATES, Emr

Progress = Callable[[str], None]
DONE_STEP = ("COMPLETED", "CANCELLED", "FAILED", "INTERRUPTED")
ENDED = ("TERMINATING", "TERMINATED", "TERMINATED_WITH_ERRORS")
_EXIT = re.compile(r"; exit (\d+)(;|$)")
STDERR_TAIL = 20


def _quiet(_: str) -> None:
    pass


def create_cluster(
    cfg: Config, *, transient: bool = False, dates: list[dt.date] | None = None,
    emr: Emr | None = None, s3: Any = None,
) -> tuple[str, bool]:
    """Launch a cluster for the deployed toolkit and config; return its id and True, or
    the id of this config's long-running cluster that is up already and False (two
    crontabs would run each night twice on one root). A transient run while another
    transient cluster of this config is up raises RunInProgress (exit 6). Raises
    InputMissing (not deployed), ConfigError, SourceUnavailable."""
    from warehouse.emr.s3 import Artifacts

    api = emr or Emr(cfg)
    mode = "transient" if transient else "long-running"
    same = [c for c in launched_clusters(cfg, emr=api, active_only=True) if c.mode == mode]
    if same and not transient:
        return same[0].id, False
    busy = [c for c in same if any(st in ("PENDING", "RUNNING") for _, _, st in c.steps)]
    if busy and dates is not None:
        raise RunInProgress(
            f"transient cluster {busy[0].id} of this config is running `{busy[0].steps[0][1]}`: "
            "wait for it (`warehouse emr status`) or terminate it"
        )
    dep = load_deployment(cfg, store=Artifacts.for_config(cfg, s3))
    req = job_flow(cfg, dep, transient=transient, dates=dates)
    resp = api.call("RunJobFlow", "run_job_flow", **req)
    return str(resp["JobFlowId"]), True


def wait_cluster(cfg: Config, cluster_id: str, *, emr: Emr | None = None,
                 progress: Progress = _quiet, timeout: float = 3600.0) -> str:
    """Wait until the cluster is WAITING (or RUNNING a step); return that state. Raises
    JobFailed with the cluster's state-change reason when it ends first."""
    api = emr or Emr(cfg)
    start = time.monotonic()
    last = ""
    while True:
        c = api.call(f"DescribeCluster {cluster_id}", "describe_cluster", ClusterId=cluster_id)["Cluster"]
        state = c["Status"]["State"]
        if state != last:
            progress(f"{cluster_id}: {state} ({time.monotonic() - start:.0f}s)")
            last = state
        if state in ("WAITING", "RUNNING"):
            return str(state)
        if state in ENDED:
            reason = c["Status"].get("StateChangeReason", {})
            raise JobFailed(
                f"EMR cluster {cluster_id} {state}: {reason.get('Code', '?')}: "
                f"{reason.get('Message', 'no reason given')}; see [emr] log_uri"
            )
        if time.monotonic() - start > timeout:
            raise JobFailed(f"EMR cluster {cluster_id} still {state} after {timeout:.0f}s")
        time.sleep(cfg.emr.poll_seconds)


@dataclass
class ClusterStatus:
    """One cluster this config launched: its state and its last steps."""

    id: str
    name: str
    state: str
    created: str
    mode: str
    steps: list[tuple[str, str, str]] = field(default_factory=list)  # (id, name, state)


def launched_clusters(cfg: Config, *, emr: Emr | None = None, active_only: bool = False,
                      steps: int = 3) -> list[ClusterStatus]:
    """Return the clusters tagged with this config's artifacts_uri (active, or ended in the
    last 7 days), newest first, with their last `steps` steps."""
    if not cfg.emr.artifacts_uri:
        raise ConfigError(
            "[emr] artifacts_uri is not set: it tags the clusters of this config (or pass --cluster ID)"
        )
    api = emr or Emr(cfg)
    states = ACTIVE_STATES if active_only else (*ACTIVE_STATES, *ENDED)
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=7)
    out = []
    for info in api.list_clusters(states):
        c = api.call(f"DescribeCluster {info.id}", "describe_cluster", ClusterId=info.id)["Cluster"]
        tags = {t["Key"]: t["Value"] for t in c.get("Tags", [])}
        if tags.get(TAG_ARTIFACTS) != cfg.emr.artifacts_uri:
            continue
        created = c["Status"].get("Timeline", {}).get("CreationDateTime")
        if isinstance(created, dt.datetime) and created < since and info.state in ENDED:
            continue
        st = ClusterStatus(info.id, info.name, info.state,
                           created.isoformat(timespec="seconds") if isinstance(created, dt.datetime) else "",
                           tags.get("warehouse:mode", ""))
        if steps:
            page = api.call(f"ListSteps {info.id}", "list_steps", ClusterId=info.id)
            st.steps = [(s["Id"], s["Name"], s["Status"]["State"]) for s in page.get("Steps", [])[:steps]]
        out.append(st)
    return out


def pick_cluster(cfg: Config, cluster_id: str | None, *, emr: Emr | None = None) -> str:
    """Return the cluster to act on: the given one, `[emr] cluster_id`, else the one active
    cluster this config launched; raises ConfigError when none or several."""
    if cluster_id or cfg.emr.cluster_id:
        return str(cluster_id or cfg.emr.cluster_id)
    active = launched_clusters(cfg, emr=emr, active_only=True, steps=0)
    if len(active) == 1:
        return active[0].id
    if not active:
        raise ConfigError(
            "no running cluster of this config: `warehouse emr create`, pass --cluster ID, "
            "set [emr] cluster_id, or use --transient"
        )
    ids = ", ".join(c.id for c in active)
    raise ConfigError(f"several clusters of this config are up ({ids}): pass --cluster ID")


@dataclass
class StepOutcome:
    """A finished `warehouse run` step: its state, the run's exit code and summary."""

    cluster_id: str
    step_id: str
    state: str
    exit_code: int
    summary: str = ""
    stderr_tail: list[str] = field(default_factory=list)

    def line(self) -> str:
        """Return the one-line summary."""
        text = f"emr run: step {self.step_id} on {self.cluster_id} {self.state}, exit {self.exit_code}"
        return text + (f"; {self.summary}" if self.summary else "")


def wait_step(cfg: Config, cluster_id: str, step_id: str, *, emr: Emr | None = None,
              s3: Any = None, progress: Progress = _quiet, log_wait: float = 600.0) -> StepOutcome:
    """Follow a step to its end; return its outcome (the run's exit code from the step's
    stdout summary; FAILED without one: 5, or the code the log names)."""
    api = emr or Emr(cfg)
    start = time.monotonic()
    last = ""
    while True:
        step = api.call(f"DescribeStep {step_id}", "describe_step", ClusterId=cluster_id,
                         StepId=step_id)["Step"]
        state = str(step["Status"]["State"])
        if state != last:
            progress(f"{cluster_id} step {step_id}: {state} ({time.monotonic() - start:.0f}s)")
            last = state
        if state in DONE_STEP:
            break
        time.sleep(cfg.emr.poll_seconds)
    out = StepOutcome(cluster_id, step_id, state, EXIT_OK if state == "COMPLETED" else EXIT_FAILED)
    stdout, stderr = _step_logs(cfg, cluster_id, step_id, s3=s3, wait=log_wait if state != "COMPLETED" else 0)
    summary = [ln for ln in stdout.splitlines() if ln.startswith("run ")]
    if summary:
        out.summary = summary[-1]
        m = _EXIT.search(out.summary)
        if m:
            out.exit_code = int(m.group(1))
    if state != "COMPLETED":
        out.stderr_tail = stderr.splitlines()[-STDERR_TAIL:]
        if out.exit_code == EXIT_OK:  # the step failed with no run summary (e.g. a config error)
            m = re.search(r"exiting with ret '(\d+)'", stderr)  # command-runner's last line
            out.exit_code = (int(m.group(1)) if m else EXIT_OK) or EXIT_FAILED
        if not stderr:
            out.stderr_tail = [f"(no step log under {cfg.emr.log_uri or '[emr] log_uri (unset)'})"]
    return out


def _step_logs(cfg: Config, cluster_id: str, step_id: str, *, s3: Any, wait: float) -> tuple[str, str]:
    """Return the step's stdout and stderr from `[emr] log_uri` ('' when absent); EMR copies
    them there within minutes of the step's end, so a failed step's logs are awaited."""
    if not cfg.emr.log_uri:
        return "", ""
    client = s3 or s3_client(cfg)
    base = f"{cfg.emr.log_uri.rstrip('/')}/{cluster_id}/steps/{step_id}/"
    deadline = time.monotonic() + wait
    while True:
        texts = []
        for name in ("stdout.gz", "stderr.gz"):
            data = get_object(client, base + name)
            texts.append("" if data is None else gzip.decompress(data).decode("utf-8", "replace"))
        if any(texts) or time.monotonic() >= deadline:
            return texts[0], texts[1]
        time.sleep(min(cfg.emr.poll_seconds, 10.0))


def add_run_step(cfg: Config, cluster_id: str, dates: list[dt.date], *, emr: Emr | None = None) -> str:
    """Add `warehouse run` for `dates` to a running cluster; return the step id."""
    api = emr or Emr(cfg)
    return api.submit_run(dates, cluster_id=cluster_id)


def first_step(cfg: Config, cluster_id: str, *, emr: Emr | None = None) -> str:
    """Return the id of a transient cluster's run step."""
    api = emr or Emr(cfg)
    steps = api.call(f"ListSteps {cluster_id}", "list_steps", ClusterId=cluster_id).get("Steps", [])
    if not steps:
        raise JobFailed(f"EMR cluster {cluster_id} has no step")
    return str(steps[-1]["Id"])  # EMR lists the newest first


def terminate(cfg: Config, cluster_id: str, *, emr: Emr | None = None) -> str:
    """Terminate the cluster (idempotent); return its state before."""
    api = emr or Emr(cfg)
    c = api.call(f"DescribeCluster {cluster_id}", "describe_cluster", ClusterId=cluster_id)["Cluster"]
    state = str(c["Status"]["State"])
    if state not in ENDED:
        api.call(f"TerminateJobFlows {cluster_id}", "terminate_job_flows", JobFlowIds=[cluster_id])
    return state
