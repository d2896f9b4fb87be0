"""`warehouse emr`: deploy the toolkit and config to S3, launch clusters, run the nightly
`warehouse run` as a step, follow it (`deploy`, `bundle`, `request`, `clusters`, `s3`)."""

from warehouse.emr.bundle import Bundle, build_bundle, dump_toml
from warehouse.emr.clusters import (
    ClusterStatus,
    StepOutcome,
    add_run_step,
    create_cluster,
    first_step,
    launched_clusters,
    pick_cluster,
    terminate,
    wait_cluster,
    wait_step,
)
from warehouse.emr.deploy import (
    SCRIPTS,
    Deployment,
    DeployResult,
    build_wheel,
    deploy,
    load_deployment,
)
from warehouse.emr.request import applications, bootstrap_actions, job_flow, needs_sqoop

__all__ = [
    "SCRIPTS",
    "Bundle",
    "ClusterStatus",
    "DeployResult",
    "Deployment",
    "StepOutcome",
    "add_run_step",
    "applications",
    "bootstrap_actions",
    "build_bundle",
    "build_wheel",
    "create_cluster",
    "deploy",
    "dump_toml",
    "first_step",
    "job_flow",
    "launched_clusters",
    "load_deployment",
    "needs_sqoop",
    "pick_cluster",
    "terminate",
    "wait_cluster",
    "wait_step",
]
