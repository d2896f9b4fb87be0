"""`warehouse run` after logrotate: each input of a day is judged on its own. Lines
appended to one log are parsed while another is gzipped (renamed) beside it; the gzipped
log is recognised by its first line and not counted twice; a log that is gone is reported
and its events stand. Through the CLI, on a local root and on an S3 root (moto's server),
with the day's logs on the same kind of store."""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.test_pipeline import DAY1, base_config, sample_lines, write_config
from warehouse.cli import cli


class Logs:
    """A day's log folder, in a local directory or under an S3 prefix."""

    def __init__(self, tmp: Path, s3: Any = None, bucket: str | None = None) -> None:
        self.s3, self.bucket = s3, bucket
        self.folder = tmp / "logs" / DAY1.strftime("%Y/%m/%d")
        self.prefix = "access/" + DAY1.strftime("%Y/%m/%d") + "/"
        if s3 is None:
            self.folder.mkdir(parents=True)

    def put(self, name: str, data: bytes) -> None:
        if self.s3 is None:
            (self.folder / name).write_bytes(data)
        else:
            self.s3.put_object(Bucket=self.bucket, Key=self.prefix + name, Body=data)

    def remove(self, name: str) -> None:
        if self.s3 is None:
            (self.folder / name).unlink()
        else:
            self.s3.delete_object(Bucket=self.bucket, Key=self.prefix + name)


def _events(root: Any, s3: Any, bucket: str | None) -> int:
    """Return the number of events under ROOT/events (local folder or S3 prefix)."""
    if s3 is None:
        return sum(gzip.decompress(p.read_bytes()).count(b"\n")
                   for p in Path(root).glob("events/dt=*/*.json.gz"))
    n = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="wh/events/"):
        for obj in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            n += gzip.decompress(body).count(b"\n")
    return n


@pytest.fixture(params=["local", "s3"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, Logs, Any, str | None]:
    """Return (config, logs, s3 client or None, bucket or None)."""
    data = base_config(tmp_path)
    if request.param == "local":
        logs = Logs(tmp_path)
        return write_config(tmp_path / "w.toml", data), logs, None, None
    moto = request.getfixturevalue("moto_server")
    s3 = request.getfixturevalue("s3_client")
    bucket = request.getfixturevalue("s3_bucket")
    data["warehouse"]["root"] = f"s3://{bucket}/wh"
    data["logs"]["input"] = f"s3://{bucket}/access/{{date:%Y/%m/%d}}/"
    data["s3"] = {"endpoint_url": moto}
    return write_config(tmp_path / "w.toml", data), Logs(tmp_path, s3, bucket), s3, bucket


def _run(conf: Path) -> tuple[int, str]:
    r = CliRunner().invoke(cli, ["--config", str(conf), "-v", "run", "--date", str(DAY1),
                                 "--only", "parse"])
    return r.exit_code, r.output.strip().splitlines()[-1]


def test_appended_and_gzipped_logs_after_a_run(
    where: tuple[Path, Logs, Any, str | None], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    conf, logs, s3, bucket = where
    root = tmp_path / "root" if s3 is None else None
    lines = sample_lines()
    web1, web2, late = lines[:1000], lines[1000:1800], lines[2000:2500]
    logs.put("web1.log", b"".join(web1))
    logs.put("web2.log", b"".join(web2))
    code, line = _run(conf)
    assert code == 0 and "parse ok" in line, line
    assert _events(root, s3, bucket) == 1800

    # logrotate: 500 lines appended to web1.log, web2.log gzipped (another name, other bytes)
    logs.put("web1.log", b"".join(web1 + late))
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb") as f:
        f.write(b"".join(web2))
    logs.put("web2.log.gz", buf.getvalue())
    logs.remove("web2.log")
    caplog.clear()
    code, line = _run(conf)
    assert code == 0 and "parse ok" in line, line
    assert _events(root, s3, bucket) == 2300  # the 500 late lines, web2's 800 once
    assert any("web2.log.gz is" in m and "renamed" in m for m in caplog.messages)

    code, line = _run(conf)  # nothing changed since
    assert code == 0 and "parse complete" in line, line

    # a log gone (retention, moved away) is reported by name; its events stand
    logs.remove("web2.log.gz")
    caplog.clear()
    code, line = _run(conf)
    assert code == 0 and "parse complete" in line, line
    assert any("web2.log.gz is gone" in m for m in caplog.messages), caplog.messages
    assert _events(root, s3, bucket) == 2300

    # a new log and a gone one together: the new one is read, the gone one reported
    logs.put("web3.log", b"".join(lines[3000:3100]))
    logs.remove("web1.log")
    caplog.clear()
    code, line = _run(conf)
    assert code == 0 and "parse ok" in line, line
    assert any("web1.log is gone" in m for m in caplog.messages), caplog.messages
    assert _events(root, s3, bucket) == 2400

    # a log rotated twice (web3.log -> web3.log.1 -> web3.log.2.gz) keeps its first name's
    # identity: counted once each time
    web3 = b"".join(lines[3000:3100])
    logs.put("web3.log.1", web3)
    logs.remove("web3.log")
    code, line = _run(conf)
    assert code == 0 and "parse ok" in line, line
    logs.put("web3.log.2.gz", gzip.compress(web3))
    logs.remove("web3.log.1")
    code, line = _run(conf)
    assert code == 0 and "parse ok" in line, line
    assert _events(root, s3, bucket) == 2400
    code, line = _run(conf)
    assert code == 0 and "parse complete" in line, line

    # logrotate's `create`: web4.log (read before) moves to web4.log.1 with 50 lines more,
    # and a new web4.log begins: the old lines once, the 50 and the new 20 once each
    base = _events(root, s3, bucket)
    web4 = lines[4000:4300]
    logs.put("web4.log", b"".join(web4))
    code, line = _run(conf)
    assert code == 0 and "parse ok" in line, line
    logs.put("web4.log.1", b"".join(web4 + lines[4300:4350]))
    logs.put("web4.log", b"".join(lines[5000:5020]))
    code, line = _run(conf)
    assert code == 0 and "parse ok" in line, line
    assert _events(root, s3, bucket) == base + 300 + 50 + 20
    logs.put("web4.log", b"".join(lines[5000:5030]))  # the new log grows the next night
    code, line = _run(conf)
    assert code == 0 and "parse ok" in line, line
    assert _events(root, s3, bucket) == base + 300 + 50 + 30
    code, line = _run(conf)
    assert code == 0 and "parse complete" in line, line
