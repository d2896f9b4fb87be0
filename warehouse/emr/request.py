"""The RunJobFlow request of `warehouse emr create|run --transient`, built from `[emr]` and the
rest of the config (pure: no AWS call).

- Applications: Hadoop always; Hive for `[hive] dialect = "hive"`; Spark for the `spark`
  dialect or a spark runner; Sqoop only where a source has `engine = "sqoop"` and the
  release still ships it (`release_has_sqoop`).
- Bootstrap actions, in order: install-toolkit.sh (every node), install-sqoop.sh (only with
  Sqoop), setup-cron.sh (the master: config, secrets and, unless transient, the crontab).
- Configurations: Hive and Spark use the Glue Data Catalog when `[glue]` is set.
- Tags: `[emr] tags` plus `warehouse:artifacts` (how `emr status` finds the clusters this
  config launched), `warehouse:config` (the deployed config digest) and `warehouse:mode`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from warehouse.config import Config, release_has_sqoop
from warehouse.emr.deploy import Deployment
from warehouse.run.emr import run_step

GLUE_FACTORY = "com.amazonaws.glue.catalog.metastore.AWSGlueDataCatalogHiveClientFactory"
TAG_ARTIFACTS = "warehouse:artifacts"
TAG_CONFIG = "warehouse:config"
TAG_MODE = "warehouse:mode"


def needs_sqoop(cfg: Config) -> bool:
    """Return True when a source imports with Sqoop and the release has it."""
    sqoop = any(src.engine == "sqoop" for src in cfg.mysql.values())
    return sqoop and release_has_sqoop(cfg.emr.release_label)


def applications(cfg: Config) -> list[str]:
    """Return the EMR applications the config needs, Hadoop first."""
    apps = ["Hadoop"]
    dialect = cfg.hive.dialect if cfg.hive is not None else None
    if dialect == "hive":
        apps.append("Hive")
    if dialect == "spark" or "spark" in (cfg.logs.runner, cfg.aggregate.runner):
        apps.append("Spark")
    if needs_sqoop(cfg):
        apps.append("Sqoop")
    return apps


def configurations(cfg: Config) -> list[dict[str, Any]]:
    """Return the cluster configurations: Glue as the metastore of Hive and Spark."""
    if cfg.glue is None:
        return []
    props = {"hive.metastore.client.factory.class": GLUE_FACTORY}
    if cfg.glue.catalog_id:
        props["hive.metastore.glue.catalogid"] = cfg.glue.catalog_id
    apps = applications(cfg)
    out = []
    if "Hive" in apps:
        out.append({"Classification": "hive-site", "Properties": dict(props)})
    if "Spark" in apps:
        out.append({"Classification": "spark-hive-site", "Properties": dict(props)})
    return out


def bootstrap_actions(cfg: Config, dep: Deployment, *, transient: bool) -> list[dict[str, Any]]:
    """Return the BootstrapActions that install the deployment `dep`."""
    def action(name: str, script: str, args: list[str]) -> dict[str, Any]:
        return {"Name": name, "ScriptBootstrapAction": {"Path": dep.scripts[script], "Args": args}}

    actions = [action("install warehouse toolkit", "install-toolkit.sh", ["--wheel", dep.wheel])]
    if needs_sqoop(cfg):
        actions.append(action("install Sqoop JDBC driver (master)", "install-sqoop.sh",
                              ["--release", cfg.emr.release_label]))
    master = ["--config-uri", dep.config_file]
    if dep.secrets_index:
        master += ["--secrets-uri", dep.secrets_index]
    if transient:
        master.append("--no-cron")
    label = "config and secrets (master)" if transient else "config, secrets, nightly crontab (master)"
    actions.append(action(label, "setup-cron.sh", master))
    return actions


def tags(cfg: Config, dep: Deployment, *, transient: bool) -> list[dict[str, str]]:
    """Return the cluster tags: the configured ones and the warehouse:* ones."""
    items = dict(cfg.emr.tags)
    items[TAG_ARTIFACTS] = str(cfg.emr.artifacts_uri)
    items[TAG_CONFIG] = dep.config_digest
    items[TAG_MODE] = "transient" if transient else "long-running"
    return [{"Key": k, "Value": v} for k, v in items.items()]


def job_flow(
    cfg: Config, dep: Deployment, *, transient: bool, dates: list[dt.date] | None = None
) -> dict[str, Any]:
    """Return the RunJobFlow keyword arguments. Transient: no crontab on the master; with
    `dates`, the cluster runs `warehouse run` for them as its one step and terminates, else
    it waits for steps until `[emr] idle_timeout_seconds`."""
    e = cfg.emr
    instances: dict[str, Any] = {
        "InstanceGroups": [
            {"Name": "master", "InstanceRole": "MASTER", "InstanceType": e.master_instance_type,
             "InstanceCount": 1},
        ],
        "KeepJobFlowAliveWhenNoSteps": dates is None,
        "TerminationProtected": False,
    }
    if e.core_instance_count:
        instances["InstanceGroups"].append(
            {"Name": "core", "InstanceRole": "CORE", "InstanceType": e.core_instance_type,
             "InstanceCount": e.core_instance_count}
        )
    if e.subnet_id:
        instances["Ec2SubnetId"] = e.subnet_id
    if e.key_name:
        instances["Ec2KeyName"] = e.key_name
    req: dict[str, Any] = {
        "Name": f"warehouse {'transient' if transient else 'nightly'} ({cfg.path.name if cfg.path else 'config'})",
        "ReleaseLabel": e.release_label,
        "Applications": [{"Name": a} for a in applications(cfg)],
        "Instances": instances,
        "BootstrapActions": bootstrap_actions(cfg, dep, transient=transient),
        "JobFlowRole": e.instance_profile,
        "ServiceRole": e.service_role,
        "VisibleToAllUsers": True,
        "Tags": tags(cfg, dep, transient=transient),
    }
    if e.log_uri:
        req["LogUri"] = e.log_uri
    conf = configurations(cfg)
    if conf:
        req["Configurations"] = conf
    if dates is not None:  # `emr run --transient`: the run is the cluster's one step
        req["Steps"] = [run_step(dates, action_on_failure="TERMINATE_CLUSTER")]
    elif e.idle_timeout_seconds:
        req["AutoTerminationPolicy"] = {"IdleTimeout": e.idle_timeout_seconds}
    return req
