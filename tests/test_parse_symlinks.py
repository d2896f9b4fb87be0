"""Symbolic links in a log folder are never followed out of it: a link to a file or a
folder outside is an input set aside (`unreadable input: link outside the input folder`,
exit 4), never read, so nothing of its target reaches ROOT/rejects; a link to a file
inside is read once, under its target's name; a linked folder inside is not walked twice
and a warning says so. Through the CLI, on a local root."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.test_pipeline import sample_lines, write_config
from warehouse.cli import cli

SECRET = b"root:$6$s3cretHash$abcdefghijklmnop:19000:0:99999:7:::\n"


def test_links_out_of_the_folder_are_set_aside_never_read(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lines = sample_lines()
    logs = tmp_path / "logs"
    (logs / "sub").mkdir(parents=True)
    (logs / "real.log").write_bytes(b"".join(lines[:100]))
    (logs / "sub" / "more.log").write_bytes(b"".join(lines[100:130]))
    (logs / "current.log").symlink_to(logs / "real.log")  # inside: read once, as real.log
    (logs / "linked-sub").symlink_to(logs / "sub")  # a folder inside: not walked twice
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "shadow").write_bytes(SECRET)
    (outside / "other.log").write_bytes(b"".join(lines[200:210]))
    (logs / "shadow.log").symlink_to(outside / "shadow")  # a file outside
    (logs / "relative.log").symlink_to("../elsewhere/other.log")
    (logs / "outdir").symlink_to(outside)  # a folder outside: reported, not skipped
    root = tmp_path / "root"
    conf = write_config(tmp_path / "w.toml", {
        "warehouse": {"root": str(root)}, "cron": {"lock_file": str(tmp_path / "run.lock")},
        "logs": {"format": "combined"},
    })
    r = CliRunner().invoke(cli, ["--config", str(conf), "parse", str(logs)])
    assert r.exit_code == 4, r.output
    out = r.output
    assert "130 lines" in out, out  # real.log once, sub/more.log once
    for name in ("shadow.log", "relative.log", "outdir"):
        assert f"input {logs / name}: link outside the input folder" in out, out
    assert any("linked-sub" in m and "not followed" in m for m in caplog.messages)
    records = [json.loads(x) for p in root.glob("rejects/*/*.json.gz")
               for x in gzip.decompress(p.read_bytes()).splitlines()]
    refused = [x for x in records if x["reason"] == "unreadable input"]
    assert sorted(x["source"] for x in refused) == sorted(
        str(logs / n) for n in ("outdir", "relative.log", "shadow.log")
    )
    assert all(x["lineno"] is None for x in refused)
    for p in root.rglob("*.gz"):
        assert b"s3cretHash" not in gzip.decompress(p.read_bytes()), p
