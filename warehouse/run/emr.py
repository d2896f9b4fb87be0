"""EMR helpers (boto3): the master's private address, clusters, steps, artifacts.

The client is created on first use from `[emr]` (region, endpoint_url) and can be
injected. Nothing here runs at import time. Tests talk to moto's server on 127.0.0.1.

- `master_private_address` is what `[ssh.NAME] bind_address` should be on the master in
  gateway mode: the tunnel listens there so Sqoop mappers on the core nodes reach it
  (the `ssh -g` lesson), instead of 127.0.0.1, which only the master itself can reach.
- `submit_run` adds `warehouse run` as a step (command-runner.jar) on the master.
- Deploying and launching (`warehouse emr ...`) live in warehouse/emr/.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import re
from dataclasses import dataclass
from typing import Any

from warehouse.awsclient import aws_client
from warehouse.config import Config
from warehouse.errors import ConfigError, SourceUnavailable

# Where the bootstrap actions put things on the cluster (bootstrap/README.md).
REMOTE_PREFIX = "/opt/warehouse"
REMOTE_BIN = "/usr/local/bin/warehouse"
REMOTE_CONFIG = "/etc/warehouse/warehouse.toml"
REMOTE_PYTHON = "/opt/warehouse/bin/python"  # mrjob's python_bin (conf/mrjob.conf)
ACTIVE_STATES = ("STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING")
STEP_ON_FAILURE = "CONTINUE"  # a failed run step leaves a long-running cluster up
_PRIVATE_DNS = re.compile(r"^ip-(\d+)-(\d+)-(\d+)-(\d+)(\.|$)")


@dataclass(frozen=True)
class ClusterInfo:
    """One EMR cluster as listed: id, name, state."""

    id: str
    name: str
    state: str


def _api_error(what: str, exc: Exception) -> Exception:
    """Map a botocore error to a WarehouseError naming the call and the cluster."""
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        msg = exc.response.get("Error", {}).get("Message", "")
        if code in ("InvalidRequestException", "ValidationException", "ResourceNotFoundException"):
            return ConfigError(f"EMR {what}: {code}: {msg}; check [emr] cluster_id")
        return SourceUnavailable(f"EMR {what}: {code}: {msg}")
    return SourceUnavailable(
        f"EMR {what}: {type(exc).__name__}: {exc} (after the [emr] timeouts and retries); "
        "check [emr] region/endpoint_url"
    )


class Emr:
    """The EMR API for one configuration; `client` is a boto3 EMR client (lazy default)."""

    def __init__(self, cfg: Config, *, client: Any = None) -> None:
        self.cfg = cfg
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            e = self.cfg.emr
            self._client = aws_client(
                "emr", region=e.region, endpoint_url=e.endpoint_url,
                connect_timeout=e.connect_timeout_seconds,
                read_timeout=e.read_timeout_seconds, max_attempts=e.max_attempts,
            )
        return self._client

    def call(self, what: str, method: str, **kwargs: Any) -> Any:
        """Call the EMR API method `method`; raises ConfigError/SourceUnavailable naming `what`."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, method)(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise _api_error(what, exc) from None

    def cluster_id(self, cluster_id: str | None = None) -> str:
        """Return the given cluster id or `[emr] cluster_id`; raises ConfigError."""
        cid = cluster_id or self.cfg.emr.cluster_id
        if not cid:
            raise ConfigError("no EMR cluster: set [emr] cluster_id or pass one")
        return cid

    def list_clusters(self, states: tuple[str, ...] = ACTIVE_STATES) -> list[ClusterInfo]:
        """Return the clusters in `states` (all pages), newest first as EMR lists them."""
        out: list[ClusterInfo] = []
        kwargs: dict[str, Any] = {"ClusterStates": list(states)}
        while True:
            page = self.call("ListClusters", "list_clusters", **kwargs)
            for c in page.get("Clusters", []):
                out.append(ClusterInfo(c["Id"], c.get("Name", ""), c["Status"]["State"]))
            marker = page.get("Marker")
            if not marker:
                return out
            kwargs["Marker"] = marker

    def master_private_address(self, cluster_id: str | None = None) -> str:
        """Return the master node's private IP; raises ConfigError/SourceUnavailable."""
        cid = self.cluster_id(cluster_id)
        from botocore.exceptions import BotoCoreError, ClientError

        errors: list[str] = []
        # Instance groups or instance fleets: each kind of cluster rejects the other query.
        for selector in ({"InstanceGroupTypes": ["MASTER"]}, {"InstanceFleetType": "MASTER"}):
            try:
                page = self.client.list_instances(ClusterId=cid, **selector)
            except (ClientError, BotoCoreError) as exc:
                errors.append(str(_api_error(f"ListInstances {cid}", exc)))
                continue
            for inst in page.get("Instances", []):
                state = inst.get("Status", {}).get("State", "")
                if inst.get("PrivateIpAddress") and state != "TERMINATED":
                    return str(inst["PrivateIpAddress"])
        desc = self.call(f"DescribeCluster {cid}", "describe_cluster", ClusterId=cid)["Cluster"]
        dns = desc.get("MasterPublicDnsName") or ""
        m = _PRIVATE_DNS.match(dns)
        if m:
            return ".".join(m.group(i) for i in range(1, 5))
        with contextlib.suppress(ValueError):
            return str(ipaddress.ip_address(dns))
        detail = f" ({errors[-1]})" if errors else ""
        raise SourceUnavailable(
            f"EMR cluster {cid}: no running master instance found{detail}, and its DNS name "
            f"{dns or '(none)'} does not name a private address; is the cluster up?"
        )

    def submit_run(
        self,
        dates: list[dt.date] | None = None,
        *,
        cluster_id: str | None = None,
        only: str | None = None,
        force: bool = False,
        action_on_failure: str = STEP_ON_FAILURE,
    ) -> str:
        """Add `warehouse run` as a step on the cluster; return the step id."""
        cid = self.cluster_id(cluster_id)
        step = run_step(dates, only=only, force=force, action_on_failure=action_on_failure)
        resp = self.call(f"AddJobFlowSteps {cid}", "add_job_flow_steps", JobFlowId=cid, Steps=[step])
        return str(resp["StepIds"][0])

    def step_state(self, step_id: str, cluster_id: str | None = None) -> str:
        """Return a step's state (PENDING, RUNNING, COMPLETED, FAILED, ...)."""
        cid = self.cluster_id(cluster_id)
        resp = self.call(f"DescribeStep {step_id}", "describe_step", ClusterId=cid, StepId=step_id)
        return str(resp["Step"]["Status"]["State"])


def run_step(
    dates: list[dt.date] | None, *, only: str | None = None, force: bool = False,
    action_on_failure: str = STEP_ON_FAILURE,
) -> dict[str, Any]:
    """Return the command-runner.jar step of `warehouse run` (AddJobFlowSteps and
    RunJobFlow take the same shape), named after its arguments."""
    args = run_step_args(dates, only=only, force=force)
    return {
        "Name": " ".join(args[args.index("run") :]),
        "ActionOnFailure": action_on_failure,
        "HadoopJarStep": {"Jar": "command-runner.jar", "Args": args},
    }


def run_step_args(
    dates: list[dt.date] | None, *, only: str | None = None, force: bool = False
) -> list[str]:
    """Return the command-runner.jar argv of `warehouse run` on the master."""
    args = [REMOTE_BIN, "--config", REMOTE_CONFIG, "-v", "run"]
    if dates:
        first, last = min(dates), max(dates)
        if first == last:
            args += ["--date", first.isoformat()]
        else:
            args += ["--from", first.isoformat(), "--to", last.isoformat()]
    if only:
        args += ["--only", only]
    if force:
        args.append("--force")
    return args
