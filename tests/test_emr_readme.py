"""docs/emr.md "Deploying on EMR": its command block, run verbatim from a project folder against
moto (the installed `warehouse` entry point; ./warehouse.toml is the config)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

from tests._emr_project import REPO, WAREHOUSE_BIN, StepLogs, write_project


def _commands() -> list[str]:
    text = (REPO / "docs" / "emr.md").read_text()
    section = text[text.index("# Deploying on EMR"):]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the section's ```sh block"
    return [ln.split("#", 1)[0].strip() for ln in block.group(1).splitlines()]


def _ok(step: Any) -> tuple[str, str, str]:
    return "COMPLETED", "run 2015-05-18: parse ok; exit 0; records: x\n", ""


def test_readme_deploy_commands_verbatim(tmp_path: Path, moto_server: str, s3_client: Any,
                                         s3_bucket: str) -> None:
    conf = write_project(tmp_path, moto_server, s3_bucket)
    commands = _commands()
    assert commands[0] == "cd my-warehouse"
    project = conf.parent.rename(tmp_path / "my-warehouse")
    env = {**os.environ, "PATH": f"{WAREHOUSE_BIN.parent}:{os.environ['PATH']}"}
    env.pop("WAREHOUSE_CONFIG", None)
    env.pop("SHOP_DB_PASSWORD", None)
    outputs = []
    with StepLogs(s3_client, s3_bucket, _ok):
        for cmd in commands[1:]:
            argv = shlex.split(cmd)
            assert argv[0] == "warehouse"
            proc = subprocess.run(argv, cwd=project, env=env, capture_output=True, text=True, timeout=600)
            assert proc.returncode == 0, f"{cmd}: {proc.stdout}{proc.stderr}"
            outputs.append(proc.stdout)
    assert "emr deploy: " in outputs[0] and "WAITING" in outputs[1]
    assert "COMPLETED, exit 0" in outputs[2] and "1 active" in outputs[3]
    assert "terminating" in outputs[4]
