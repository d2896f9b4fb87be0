"""`warehouse parse -r emr` against moto's S3 + EMR server on 127.0.0.1 (and -r local on an S3 root).

moto accepts the cluster and the step but never runs them. The harness plays the nodes:
for the step's input manifest it fetches each listed input from moto's S3 as the manifest
wrapper would, runs the job's mapper on it as a node does (`parsejob.py --step-num=0
--mapper ... LOCAL_COPY URI`, with the plan and patterns files the step uploaded), writes
the mapper output where the step's `-output` points and marks the step COMPLETED. The
tasks write to the S3 root themselves (moto), so the published objects are compared with
an in-process parse into another prefix of the same bucket, byte for byte. Checked against
conf/mrjob.conf: the uploads, the cluster request and the map-only step.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests._fake_emr import REGION, FakeEmr
from tests.fixtures._util import sample_log
from warehouse.config import config_from_dict
from warehouse.errors import JobFailed
from warehouse.events.inputs import InputSource
from warehouse.events.parse import ParseRequest, Seams, parse_logs
from warehouse.events.parsejob import ParseJob
from warehouse.events.state import staging_prefix
from warehouse.resources import resource

RUN_DATE = dt.date(2026, 1, 2)
URLS = [{"name": "home", "regex": "^/\\Z"}, {"name": "talk", "regex": "^/presentations/(?P<t>[^/]+)/"}]


class FakeNodes(FakeEmr):
    """Drive moto's EMR step: run each map task of the manifest in process, then COMPLETE."""

    def __init__(self, s3: Any, work: Path, *, fail: bool = False) -> None:
        super().__init__(fail=fail)
        self.s3, self.work = s3, work
        self.uploads: dict[str, bytes] = {}

    def run_step(self, cluster: Any, step: Any, steps: list[Any]) -> None:
        self._run_step(step.args)

    def _get(self, uri: str) -> bytes:
        bucket, key = uri[len("s3://"):].split("/", 1)
        return bytes(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read())

    def _run_step(self, args: list[str]) -> None:
        output = args[args.index("-output") + 1]
        bucket = output[len("s3://"):].split("/", 1)[0]
        for obj in self.s3.list_objects_v2(Bucket=bucket, Prefix="tmp/").get("Contents", []):
            self.uploads[obj["Key"]] = self._get(f"s3://{bucket}/{obj['Key']}")
        # the node's working dir: the uploaded files under their '#' names
        wd = self.work / "node"
        wd.mkdir(parents=True, exist_ok=True)
        for i, a in enumerate(args):
            if a == "-files":
                for item in args[i + 1].split(","):
                    uri, _, name = item.partition("#")
                    (wd / (name or uri.rsplit("/", 1)[-1])).write_bytes(self._get(uri))
        # a killed first attempt of task 0 left an incomplete multipart upload in staging
        plan = json.loads((wd / "plan.json").read_bytes())
        src = InputSource(**plan["tasks"][0]["source"])
        root_prefix = plan["settings"]["root"][len(f"s3://{bucket}/"):]
        self.s3.create_multipart_upload(
            Bucket=bucket, Key=f"{root_prefix}/{staging_prefix(src)}events/dt=2015-05-17/x.json.gz"
        )
        mapper = shlex.split(args[args.index("-mapper") + 1])
        opts = mapper[mapper.index("--mapper") + 1 :]
        out = io.BytesIO()
        manifest = self._get(args[args.index("-input") + 1]).decode()
        for n, uri in enumerate(manifest.split()):
            copy = wd / f"input-{n}"
            copy.write_bytes(self._get(uri))
            opts_here = [str(wd / o) if (wd / o).is_file() else o for o in opts]
            job = ParseJob(["--step-num=0", "--mapper", *opts_here, str(copy), uri])
            job.sandbox(stdin=io.BytesIO(b""), stdout=out)
            job.execute()
        prefix = output[len(f"s3://{bucket}/"):].rstrip("/")
        self.s3.put_object(Bucket=bucket, Key=f"{prefix}/part-00000", Body=out.getvalue())
        self.s3.put_object(Bucket=bucket, Key=f"{prefix}/_SUCCESS", Body=b"")


@pytest.fixture
def emr_parse(
    tmp_path: Path, moto_server: str, s3_client: Any, s3_bucket: str,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, Any]:
    from moto.emr import models

    # EMR reports each application's version (Hadoop 3.4.0 on emr-7.4.0); moto reports
    # none, and mrjob needs Hadoop's to name mapreduce.job.reduces=0 for a map-only step
    init = models.Application.__init__

    def with_version(self: Any, name: str, version: str, **kw: Any) -> None:
        init(self, name=name, version=version or ("3.4.0" if name == "Hadoop" else ""), **kw)

    monkeypatch.setattr(models.Application, "__init__", with_version)
    lines = Path(sample_log()).read_bytes().splitlines(True)
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "a.log").write_bytes(b"".join(lines[:2500]) + b"junk line\n")
    (logs / "b.log.gz").write_bytes(gzip.compress(b"".join(lines[2500:5000])))
    (logs / "c.log.gz").write_bytes(gzip.compress(b"".join(lines[5000:6000]))[:3000])  # cut
    s3_client.put_object(Bucket=s3_bucket, Key="logs/d.log", Body=b"".join(lines[6000:]))
    patterns = tmp_path / "urls.json"
    patterns.write_text(json.dumps(URLS))
    wheel = tmp_path / "warehouse-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"PK\x05\x06" + b"\0" * 18)  # wheel-shaped; the nodes are simulated
    conf = tmp_path / "mrjob.test.conf"
    conf.write_text(yaml.safe_dump({
        "include": str(resource("conf", "mrjob.conf")),
        "runners": {"emr": {
            "emr_endpoint": moto_server, "s3_endpoint": moto_server,
            "iam_instance_profile": "EMR_EC2_DefaultRole", "iam_service_role": "EMR_DefaultRole",
            "cloud_tmp_dir": f"s3://{s3_bucket}/tmp/", "check_cluster_every": 0.1,
        }},
    }))

    def cfg(prefix: str) -> Any:
        return config_from_dict({
            "warehouse": {"root": f"s3://{s3_bucket}/{prefix}"},
            "s3": {"endpoint_url": moto_server},
            "logs": {"patterns": str(patterns)},
            "aggregate": {"mrjob_conf": str(conf), "wheel": str(wheel)},
        })

    inputs = [str(logs), f"s3://{s3_bucket}/logs/d.log"]
    return {"cfg": cfg, "inputs": inputs, "s3": s3_client, "bucket": s3_bucket,
            "endpoint": moto_server, "work": tmp_path}


def _objects(s3: Any, bucket: str, prefix: str) -> dict[str, bytes]:
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            out[obj["Key"][len(prefix):]] = body
    return out


def test_emr_runner_against_moto(emr_parse: dict[str, Any]) -> None:
    import boto3

    s3, bucket, inputs = emr_parse["s3"], emr_parse["bucket"], emr_parse["inputs"]
    want = parse_logs(emr_parse["cfg"]("ref"), ParseRequest(inputs), seams=Seams(run_date=RUN_DATE))
    assert want.exit_code == 5 and len(want.failures) == 1 and want.rejected >= 1
    with FakeNodes(s3, emr_parse["work"]) as nodes:
        got = parse_logs(
            emr_parse["cfg"]("wh"),
            ParseRequest(inputs, runner="emr"),
            seams=Seams(run_date=RUN_DATE),
        )
    assert not nodes.errors
    assert got.line().startswith("parse [emr]: ")
    assert (got.lines, got.events, got.unmatched, dict(got.rejects), got.partitions) == (
        want.lines, want.events, want.unmatched, dict(want.rejects), want.partitions)
    assert [f.exit_code for f in got.failures] == [5] and got.exit_code == 5
    mine, ref = _objects(s3, bucket, "wh/"), _objects(s3, bucket, "ref/")
    assert sorted(mine) == sorted(ref) and len([k for k in ref if k.startswith("events/")]) >= 4
    assert [k for k in ref if mine[k] != ref[k]] == []
    assert not s3.list_multipart_uploads(Bucket=bucket, Prefix="wh/").get("Uploads")

    # uploads: the job script, plan, patterns, bootstrap, wheel, the local inputs (under
    # their task names; the S3 input is read in place, its task gets an empty stub)
    names = sorted(k.rsplit("/", 1)[-1] for k in nodes.uploads)
    assert {"parsejob.py", "plan.json", "urls.json", "install-toolkit.sh",
            "warehouse-0.1.0-py3-none-any.whl", "input-manifest.txt"} <= set(names)
    stubs = {k.rsplit("/", 1)[-1]: v for k, v in nodes.uploads.items() if k.endswith(".input")}
    assert len(stubs) == 4 and sorted(len(v) == 0 for v in stubs.values()) == [False] * 3 + [True]
    plan = json.loads(next(v for k, v in nodes.uploads.items() if k.endswith("plan.json")))
    assert plan["settings"]["root"] == f"s3://{bucket}/wh" and "patterns" not in plan["settings"]

    # the cluster request is what conf/mrjob.conf says; one map-only streaming step
    conf = yaml.safe_load(resource("conf", "mrjob.conf").read_text())["runners"]["emr"]
    emr = boto3.client("emr", endpoint_url=emr_parse["endpoint"], region_name=REGION)
    desc = emr.describe_cluster(ClusterId=nodes.cluster_id)["Cluster"]
    assert desc["ReleaseLabel"] == conf["release_label"]
    assert [a["Name"] for a in desc["Applications"]] == conf["applications"]
    (action,) = emr.list_bootstrap_actions(ClusterId=desc["Id"])["BootstrapActions"]
    script_key = action["ScriptPath"].split(f"s3://{bucket}/", 1)[1]
    assert "install-toolkit.sh --wheel " in nodes.uploads[script_key].decode()
    (step,) = emr.list_steps(ClusterId=desc["Id"])["Steps"]
    args = step["Config"]["Args"]
    mapper = args[args.index("-mapper") + 1]
    assert conf["python_bin"] in mapper and "parsejob.py --step-num=0 --mapper" in mapper
    assert "--mode raw" in mapper and "-reducer" not in args
    assert "mapreduce.job.reduces=0" in " ".join(args)
    assert "mapreduce.map.speculative=false" in " ".join(args)  # from conf/mrjob.conf


def test_emr_step_failure_publishes_nothing(emr_parse: dict[str, Any]) -> None:
    s3, bucket = emr_parse["s3"], emr_parse["bucket"]
    with FakeNodes(s3, emr_parse["work"], fail=True), pytest.raises(JobFailed, match="emr"):
        parse_logs(
            emr_parse["cfg"]("wh"),
            ParseRequest(emr_parse["inputs"], runner="emr"),
            seams=Seams(run_date=RUN_DATE),
        )
    assert [k for k in _objects(s3, bucket, "wh/") if not k.startswith("_")] == []


def test_local_runner_with_an_s3_root_and_s3_input(emr_parse: dict[str, Any]) -> None:
    """The local runner's tasks read an S3 input in place (a stub as the job input) and
    write to an S3 root: the same objects as in process."""
    s3, bucket, inputs = emr_parse["s3"], emr_parse["bucket"], emr_parse["inputs"]
    want = parse_logs(emr_parse["cfg"]("ref"), ParseRequest(inputs), seams=Seams(run_date=RUN_DATE))
    got = parse_logs(
        emr_parse["cfg"]("wh"),
        ParseRequest(inputs, runner="local"),
        seams=Seams(run_date=RUN_DATE),
    )
    assert (got.lines, got.events, dict(got.rejects), got.exit_code) == (
        want.lines, want.events, dict(want.rejects), want.exit_code)
    mine, ref = _objects(s3, bucket, "wh/"), _objects(s3, bucket, "ref/")
    assert sorted(mine) == sorted(ref) and [k for k in ref if mine[k] != ref[k]] == []
