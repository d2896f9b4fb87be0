"""`warehouse aggregate -r emr` against moto's S3 + EMR server on 127.0.0.1.

moto accepts the cluster and the steps but never runs them. The harness below plays the
cluster: when a step appears, it computes that step's output with the inline runner over
the same events, writes it where the step's `-output` points (in moto's S3) and marks the
step COMPLETED. What is checked against conf/mrjob.conf: the uploads (job script, shared
module zip, bootstrap script, wheel, inputs), the cluster request (release label,
applications, instance types and count, bootstrap action, python_bin) and the step list.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests._fake_emr import REGION, FakeEmr
from tests.test_aggregate_corpus import (
    BRUTE,
    START,
    assert_same,
    make_corpus,
    read_output,
    read_partition_lines,
    valid_events,
)
from warehouse import schema
from warehouse.aggregate import run_aggregate
from warehouse.aggregate.runners import load_job
from warehouse.config import config_from_dict
from warehouse.errors import ConfigError
from warehouse.resources import resource


class FakeCluster(FakeEmr):
    """Drive moto's EMR steps: compute each step's output inline, then mark it COMPLETED."""

    def __init__(
        self, s3: Any, events_root: Path, job: str, n_steps: int, *, fail: bool = False
    ) -> None:
        super().__init__(fail=fail)
        self.s3, self.events_root, self.job, self.n_steps = s3, events_root, job, n_steps
        self.uploads: dict[str, bytes] = {}  # what S3 held when the step started

    def run_step(self, cluster: Any, step: Any, steps: list[Any]) -> None:
        if f"--step-num={self.n_steps - 1} " in " ".join(step.args):
            self._run_job(steps[0].args, step.args)  # the job's output lands in the last step's

    def _run_job(self, first_args: list[str], args: list[str]) -> None:
        output = args[args.index("-output") + 1]
        bucket = output[len("s3://"):].split("/", 1)[0]
        for obj in self.s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            body = self.s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            self.uploads[obj["Key"]] = body
        inputs = [
            u for i, a in enumerate(first_args) if a == "-input" for u in first_args[i + 1].split(",")
        ]
        local = []
        for uri in inputs:  # the uploaded copies in moto's S3, as a node would read them
            bucket, key = uri[len("s3://"):].split("/", 1)
            path = self.events_root / "_fetched" / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read())
            local.append(str(path))
        mr_job = load_job(self.job)(["-r", "inline", "--no-conf", *local])
        with mr_job.make_runner() as runner:
            runner.run()
            lines = b"".join(runner.cat_output())
        bucket, prefix = output[len("s3://"):].split("/", 1)
        self.s3.put_object(Bucket=bucket, Key=prefix.rstrip("/") + "/part-00000", Body=lines)
        self.s3.put_object(Bucket=bucket, Key=prefix.rstrip("/") + "/_SUCCESS", Body=b"")


@pytest.fixture
def emr_setup(tmp_path: Path, moto_server: str, s3_client: Any, s3_bucket: str) -> Iterator[dict[str, Any]]:
    root = tmp_path / "root"
    make_corpus(root, 3000, 2, seed=5)
    wheel = tmp_path / "warehouse-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:  # a wheel-shaped archive; the nodes are simulated
        zf.write(resource("jobs", "daily_actions.py"), "jobs/daily_actions.py")
    conf = tmp_path / "mrjob.test.conf"
    conf.write_text(
        yaml.safe_dump(
            {
                "include": str(resource("conf", "mrjob.conf")),
                "runners": {
                    "emr": {
                        "emr_endpoint": moto_server,
                        "s3_endpoint": moto_server,
                        "iam_instance_profile": "EMR_EC2_DefaultRole",
                        "iam_service_role": "EMR_DefaultRole",
                        "cloud_tmp_dir": f"s3://{s3_bucket}/tmp/",
                        "check_cluster_every": 0.1,
                    }
                },
            }
        )
    )
    cfg = config_from_dict(
        {
            "warehouse": {"root": str(root)},
            "aggregate": {"mrjob_conf": str(conf), "wheel": str(wheel)},
        }
    )
    yield {"cfg": cfg, "root": root, "bucket": s3_bucket, "s3": s3_client, "endpoint": moto_server}


@pytest.mark.parametrize(("job", "n_steps"), [("daily_actions", 1), ("sessions", 2)])
def test_emr_runner_against_moto(emr_setup: dict[str, Any], job: str, n_steps: int) -> None:
    import boto3

    cfg, root, s3, bucket = emr_setup["cfg"], emr_setup["root"], emr_setup["s3"], emr_setup["bucket"]
    dates = [START, START + dt.timedelta(days=1)]
    with FakeCluster(s3, root, job, n_steps) as cluster:
        summary = run_aggregate(cfg, job, dates, runner="emr")
    assert not cluster.errors
    assert summary.exit_code == 0, summary.line()
    assert summary.partitions == {d.isoformat() for d in dates}
    assert len(cluster.done) == n_steps
    # read_logs: false in conf/mrjob.conf: no counters, and the summary says so
    assert not summary.counters_read and "counts not read" in summary.line()

    # the output came back from S3 through mrjob's cat_output and matches brute force
    days = [d.isoformat() for d in dates]
    good, _ = valid_events(read_partition_lines(root, days))
    got = read_output(root, job)
    assert_same([r for recs in got.values() for r in recs], BRUTE[job](good))

    # uploads (as the step found them; mrjob cleans up afterwards): job script, _common
    # zip, bootstrap script, wheel, every input file
    keys = list(cluster.uploads)
    names = {k.rsplit("/", 1)[-1] for k in keys}
    assert {f"{job}.py", "warehouse_jobs_common.zip", "install-toolkit.sh",
            "warehouse-0.1.0-py3-none-any.whl"} <= names
    inputs = sorted(p.name for p in (root / "events").glob("dt=*/*.json.gz"))
    assert sum(1 for k in keys if k.endswith(".json.gz")) == len(inputs)
    common_zip = next(k for k in keys if k.endswith("warehouse_jobs_common.zip"))
    # the jobs' shared module, and the schema as a namespace fallback (no __init__.py)
    shipped = zipfile.ZipFile(io.BytesIO(cluster.uploads[common_zip]))
    assert shipped.namelist() == ["_common.py", "warehouse/", "warehouse/schema.py"]
    assert shipped.read("warehouse/schema.py") == Path(schema.__file__).read_bytes()

    # the cluster request is what conf/mrjob.conf says
    conf = yaml.safe_load(resource("conf", "mrjob.conf").read_text())["runners"]["emr"]
    emr = boto3.client("emr", endpoint_url=emr_setup["endpoint"], region_name=REGION)
    desc = emr.describe_cluster(ClusterId=cluster.cluster_id)["Cluster"]
    assert desc["ReleaseLabel"] == conf["release_label"] == "emr-7.4.0"
    assert [a["Name"] for a in desc["Applications"]] == conf["applications"]
    groups = emr.list_instance_groups(ClusterId=desc["Id"])["InstanceGroups"]
    by_role = {g["InstanceGroupType"]: g for g in groups}
    assert by_role["MASTER"]["InstanceType"] == conf["instance_type"]
    assert by_role["CORE"]["InstanceType"] == conf["instance_type"]
    assert by_role["CORE"]["RequestedInstanceCount"] == conf["num_core_instances"]
    assert {"Key": "project", "Value": "warehouse"} in desc["Tags"]
    actions = emr.list_bootstrap_actions(ClusterId=desc["Id"])["BootstrapActions"]
    (master_bootstrap,) = actions
    script_key = master_bootstrap["ScriptPath"].split(f"s3://{bucket}/", 1)[1]
    script = cluster.uploads[script_key].decode()
    assert "bash " in script and "install-toolkit.sh --wheel " in script
    assert "warehouse-0.1.0-py3-none-any.whl" in script

    # streaming steps in order, run by the toolkit's Python 3.11, with the job's options
    steps = emr.list_steps(ClusterId=desc["Id"])["Steps"][::-1]  # newest first in the API
    assert len(steps) == n_steps
    for num, step in enumerate(steps):
        args = step["Config"]["Args"]
        assert step["Status"]["State"] == "COMPLETED"
        assert args[0] == "hadoop-streaming" or "streaming" in " ".join(args[:2])
        reducer = args[args.index("-reducer") + 1]
        assert conf["python_bin"] in reducer
        assert f"{job}.py --step-num={num} --reducer" in reducer
        if job == "sessions":
            assert "--gap-minutes 30" in reducer and "--top-n 10" in reducer
    first = steps[0]["Config"]["Args"]
    assert f"{job}.py --step-num=0 --mapper" in first[first.index("-mapper") + 1]


def test_emr_runner_without_a_wheel_is_a_config_error(emr_setup: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WAREHOUSE_WHEEL", raising=False)
    cfg = config_from_dict(
        {"warehouse": {"root": str(emr_setup["root"])}}
    )
    with pytest.raises(ConfigError) as err:
        run_aggregate(cfg, "daily_actions", [START], runner="emr")
    assert err.value.exit_code == 2
    assert "wheel" in str(err.value) and "WAREHOUSE_WHEEL" in str(err.value)
    assert "python -m pip wheel --no-deps -w dist ." in str(err.value)  # as the README says


def test_emr_step_failure_writes_nothing(emr_setup: dict[str, Any]) -> None:
    cfg, root, s3 = emr_setup["cfg"], emr_setup["root"], emr_setup["s3"]
    old = root / "aggregates" / "daily_actions" / f"dt={START}" / "part-00000.json.gz"
    old.parent.mkdir(parents=True)
    old.write_bytes(b"previous run")
    with FakeCluster(s3, root, "daily_actions", 1, fail=True):
        summary = run_aggregate(cfg, "daily_actions", [START], runner="emr")
    assert summary.exit_code == 5
    assert "failed on runner emr" in summary.line() and not summary.partitions
    assert old.read_bytes() == b"previous run"


def test_emr_reads_an_s3_root_in_place(emr_setup: dict[str, Any]) -> None:
    import gzip
    import json

    import boto3

    root, s3, bucket = emr_setup["root"], emr_setup["s3"], emr_setup["bucket"]
    for path in (root / "events").rglob("*.json.gz"):
        s3.put_object(Bucket=bucket, Key=f"wh/{path.relative_to(root)}", Body=path.read_bytes())
    cfg = config_from_dict(
        {
            "warehouse": {"root": f"s3://{bucket}/wh"},
            "s3": {"endpoint_url": emr_setup["endpoint"]},
            "aggregate": {
                "mrjob_conf": emr_setup["cfg"].aggregate.mrjob_conf,
                "wheel": emr_setup["cfg"].aggregate.wheel,
            },
        }
    )
    with FakeCluster(s3, root, "daily_actions", 1) as cluster:
        summary = run_aggregate(cfg, "daily_actions", [START], runner="emr")
    assert summary.exit_code == 0, summary.line()
    emr = boto3.client("emr", endpoint_url=emr_setup["endpoint"], region_name=REGION)
    (step,) = emr.list_steps(ClusterId=cluster.cluster_id)["Steps"]
    args = step["Config"]["Args"]
    inputs = [args[i + 1] for i, a in enumerate(args) if a == "-input"]
    assert inputs and all(u.startswith(f"s3://{bucket}/wh/events/dt={START}/") for u in inputs)
    assert not [k for k in cluster.uploads if k.startswith("tmp/") and k.endswith(".json.gz")]
    key = f"wh/aggregates/daily_actions/dt={START}/part-00000.json.gz"
    body = gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    good, _ = valid_events(read_partition_lines(root, [START.isoformat()]))
    assert_same([json.loads(x) for x in body.splitlines()], BRUTE["daily_actions"](good))
