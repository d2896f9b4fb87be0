"""Re-runs and bad inputs never cost good data (issue 9, items 7-11 and 13).

Every test runs the real code path: the `warehouse` CLI (in this process or as a
subprocess where a kill, a non-UTF-8 argv or a pipe is needed) or `parse_logs`, against a
local root or moto's S3 server. Lines = events + rejects is checked on stored objects.
"""

from __future__ import annotations

import bz2
import datetime as dt
import gzip
import json
import lzma
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.fixtures._util import sample_log, wait_for
from warehouse.cli import cli
from warehouse.config import config_from_dict
from warehouse.events.inputs import expand_inputs
from warehouse.events.parse import ParseRequest, Seams, parse_logs

SAMPLE = sample_log()
REPO = Path(__file__).resolve().parent.parent
SUMMARY = re.compile(r"parse: ([\d,]+) lines? from [\d,]+ inputs?, ([\d,]+) events?.*?, ([\d,]+) rejects?")


def cli_cmd(root: Path, *args: str | bytes) -> list[str | bytes]:
    return [sys.executable, "-m", "warehouse.cli", "--root", str(root), "parse", *args]


def run_cli(
    root: Path, *args: str | bytes, input: bytes | None = None, prefix: list[str] | None = None,
    **kw: Any,
) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [*(prefix or []), *cli_cmd(root, *args)], input=input, capture_output=True,
        cwd=str(REPO), env=env, timeout=300, check=False, **kw,
    )


def objects(root: Path) -> dict[str, bytes]:
    """Return {key: bytes} of every file under root (hidden ones too)."""
    if not root.exists():
        return {}
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def data(root: Path) -> dict[str, bytes]:
    """Return {key: bytes} of the events and rejects under root (not the state)."""
    return {k: v for k, v in objects(root).items() if k.startswith(("events/", "rejects/"))}


def visible(root: Path, sub: str) -> dict[str, bytes]:
    return {k: v for k, v in objects(root).items() if k.startswith(sub + "/")}


def records(blobs: dict[str, bytes]) -> list[dict[str, Any]]:
    return [json.loads(x) for b in blobs.values() for x in gzip.decompress(b).splitlines()]


def counts(output: str) -> tuple[int, int, int]:
    m = SUMMARY.search(output)
    assert m, output
    lines, events, rejects = (int(g.replace(",", "")) for g in m.groups())
    assert events + rejects == lines, output
    return lines, events, rejects


def hidden_leftovers(root: Path) -> list[str]:
    """Temporary or staged files anywhere under root."""
    return [k for k in objects(root) if "/_tmp." in "/" + k or k.startswith("_staging/")]


def nul_lines(text: bytes, share: float = 0.6) -> bytes:
    """The log after a power loss: `share` of its lines turned into NUL bytes."""
    lines = text.splitlines(keepends=True)
    cut = int(len(lines) * share)
    return b"".join(b"\x00" * (len(x) - 1) + b"\n" for x in lines[:cut]) + b"".join(lines[cut:])


# --- item 7: a re-run whose input went bad leaves the earlier run exactly as it was ------


def test_rerun_of_an_input_gone_bad_keeps_the_earlier_objects(tmp_path: Path) -> None:
    src, root = tmp_path / "access.log", tmp_path / "wh"
    good = Path(SAMPLE).read_bytes()
    src.write_bytes(good)
    runner = CliRunner()
    first = runner.invoke(cli, ["--root", str(root), "parse", str(src)])
    assert first.exit_code == 0, first.output
    assert counts(first.output) == (10000, 9999, 1)
    before = data(root)
    src.write_bytes(nul_lines(good))
    bad = runner.invoke(cli, ["--root", str(root), "parse", str(src)])
    assert bad.exit_code == 5, bad.output
    lines, events, rejects = counts(bad.output)
    assert lines == 10000 and rejects >= 6000
    assert f"{events:,} not published" in bad.output and "max_reject_ratio" in bad.output
    assert "5 objects of its earlier run kept" in bad.output
    after = data(root)
    # every object of the earlier run (events and rejects) is byte for byte as it was
    assert {k: after[k] for k in before if k in after} == before
    assert set(before) - set(after) == set()
    assert visible(root, "events") == {k: v for k, v in before.items() if k.startswith("events/")}
    new = {k: v for k, v in after.items() if k not in before}
    assert all(k.startswith("rejects/") and k.endswith("-failed.json.gz") for k in new)
    assert len(records(new)) == rejects
    # the next good run cleans up after both
    src.write_bytes(good)
    again = runner.invoke(cli, ["--root", str(root), "parse", str(src)])
    assert again.exit_code == 0, again.output
    assert data(root) == before and hidden_leftovers(root) == []


def test_s3_rerun_of_an_input_gone_bad_keeps_the_earlier_objects(
    moto_server: str, s3_client: Any, s3_bucket: str
) -> None:
    good = Path(SAMPLE).read_bytes()
    s3_client.put_object(Bucket=s3_bucket, Key="logs/access.log", Body=good)
    cfg = config_from_dict({"s3": {"endpoint_url": moto_server}}, root=f"s3://{s3_bucket}/wh")

    def stored() -> dict[str, bytes]:
        listing = s3_client.list_objects_v2(Bucket=s3_bucket, Prefix="wh/").get("Contents", [])
        return {
            o["Key"]: s3_client.get_object(Bucket=s3_bucket, Key=o["Key"])["Body"].read()
            for o in listing
        }

    first = parse_logs(cfg, ParseRequest([f"s3://{s3_bucket}/logs/access.log"]))
    assert first.exit_code == 0 and first.events == 9999
    before = {k: v for k, v in stored().items() if "/_state/" not in k}
    assert not [k for k in before if "_staging" in k]
    s3_client.put_object(Bucket=s3_bucket, Key="logs/access.log", Body=nul_lines(good))
    bad = parse_logs(cfg, ParseRequest([f"s3://{s3_bucket}/logs/access.log"]))
    assert bad.exit_code == 5 and bad.held == bad.events and bad.partitions == set()
    assert bad.lines == bad.events + bad.rejected == 10000
    after = stored()
    assert {k: after[k] for k in before} == before
    new = {k: v for k, v in after.items() if k not in before and "/_state/" not in k}
    assert new and all(k.endswith("-failed.json.gz") for k in new)
    assert len(records(new)) == bad.rejected
    assert not [k for k in after if "_staging" in k]
    # a run killed mid-upload leaves an incomplete multipart upload in its staging: the
    # next run of the input aborts it
    (src,) = expand_inputs(cfg, [f"s3://{s3_bucket}/logs/access.log"])
    key = f"wh/_staging/parse/{src.part_id}/events/dt=2015-05-17/{src.part_id}-0000.json.gz"
    s3_client.create_multipart_upload(Bucket=s3_bucket, Key=key)
    assert parse_logs(cfg, ParseRequest([f"s3://{s3_bucket}/logs/access.log"])).exit_code == 5
    assert s3_client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []


# --- item 8: a zero-byte .gz is set aside, not read as an empty log -----------------------


@pytest.mark.parametrize("name", ["access.log.gz", "access.log"])
def test_zero_byte_input_does_not_delete_the_earlier_events(tmp_path: Path, name: str) -> None:
    src, root = tmp_path / name, tmp_path / "wh"
    log = Path(SAMPLE).read_bytes()
    src.write_bytes(gzip.compress(log) if name.endswith(".gz") else log)
    runner = CliRunner()
    assert runner.invoke(cli, ["--root", str(root), "parse", str(src)]).exit_code == 0
    before = data(root)
    src.write_bytes(b"")  # cut by rotation
    res = runner.invoke(cli, ["--root", str(root), "parse", str(src)])
    assert res.exit_code == 5, res.output
    assert str(src) in res.output and "empty" in res.output and "kept" in res.output
    assert counts(res.output) == (0, 0, 0)
    after = data(root)
    assert {k: after[k] for k in before} == before
    assert visible(root, "events") == {k: v for k, v in before.items() if k.startswith("events/")}
    if name.endswith(".gz"):  # set aside with a reason
        new = {k: v for k, v in after.items() if k not in before and k.startswith("rejects/")}
        (rec,) = records(new)
        assert rec["reason"] == "corrupt input" and "empty" in rec["line"]
        assert "FAILED: 1 input set aside" in res.output


# --- item 9: publish, state and clean-up are crash-safe in every order --------------------

_DYING = r"""
import datetime as dt, os, signal, sys
from warehouse.config import config_from_dict
from warehouse.events.parse import ParseRequest, Seams, parse_logs
from warehouse.storage import LocalStore

root, src, day, kill_at = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])


class Dying(LocalStore):
    # the root's store as parse_logs uses it to publish, delete and record state; it
    # SIGKILLs this process at its kill_at-th change
    steps = 0

    def _step(self):
        Dying.steps += 1
        if Dying.steps == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    def publish(self, a, b):
        self._step()
        super().publish(a, b)

    def delete(self, key):
        self._step()
        super().delete(key)

    def open_write(self, key):
        self._step()
        return super().open_write(key)


cfg = config_from_dict({}, root=root)
parse_logs(
    cfg, ParseRequest([src], replace=True),
    seams=Seams(run_date=dt.date.fromisoformat(day), store=Dying(root)),
)
print(Dying.steps)
"""


@pytest.mark.parametrize("second", ["shrunk", "gone bad"])
def test_a_kill_at_every_step_of_publishing_orphans_nothing(tmp_path: Path, second: str) -> None:
    text = Path(SAMPLE).read_text(encoding="utf-8", errors="backslashreplace")
    src = tmp_path / "in.log"
    src.write_text(text, encoding="utf-8")
    first = src.read_bytes()
    base = tmp_path / "base"
    parse_logs(
        config_from_dict({}, root=str(base)),
        ParseRequest([str(src)]),
        seams=Seams(run_date=dt.date(2020, 1, 1)),
    )
    # the re-run on a later day: the input now holds one date and one bad line, or went
    # bad (published: its rejects only); the run after it, on a third day, is clean. Both
    # accept fewer lines (--replace): without it a shrunk input is judged bad
    if second == "shrunk":
        src.write_text(
            "".join(x + "\n" for x in text.splitlines() if "17/May/2015" in x) + "junk\n"
        )
        third = src.read_bytes()
    else:
        src.write_bytes(nul_lines(first))
        third = first
    rerun = src.read_bytes()
    ref = tmp_path / "ref"
    src.write_bytes(third)
    parse_logs(
        config_from_dict({}, root=str(ref)),
        ParseRequest([str(src)]),
        seams=Seams(run_date=dt.date(2020, 1, 3)),
    )
    expected = objects(ref)
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    def dying(root: Path, kill_at: int) -> subprocess.CompletedProcess[str]:
        src.write_bytes(rerun)
        return subprocess.run(
            [sys.executable, "-c", _DYING, str(root), str(src), "2020-01-02", str(kill_at)],
            capture_output=True, text=True, cwd=str(REPO), env=env, timeout=120, check=False,
        )

    shutil.copytree(base, tmp_path / "count")
    counted = dying(tmp_path / "count", 0)
    assert counted.returncode == 0, counted.stderr
    steps = int(counted.stdout.split()[-1])
    # shrunk: intent, 2 publishes, 4 stale deletes, state; gone bad: intent, 1 publish,
    # the staged events dropped, state
    assert steps >= (7 if second == "shrunk" else 4)
    for k in range(1, steps + 1):
        root = tmp_path / f"kill{k}"
        shutil.copytree(base, root)
        died = dying(root, k)
        assert died.returncode == -signal.SIGKILL, (k, died.stderr)
        state = json.loads(next((root / "_state" / "parse").glob("*.json")).read_bytes())
        listed = set(state["keys"])
        present = set(data(root))
        assert present <= listed, (k, present - listed)  # nothing the next run cannot see
        if second == "gone bad":  # the earlier run's events were never touched
            assert visible(root, "events") == visible(base, "events"), k
        # the next run, on a later day, leaves exactly what a clean run leaves
        src.write_bytes(third)
        parse_logs(
            config_from_dict({}, root=str(root)),
            ParseRequest([str(src)], replace=True),
            seams=Seams(run_date=dt.date(2020, 1, 3)),
        )
        assert objects(root) == expected, k


# --- item 10: file names that are not UTF-8 -----------------------------------------------


def test_non_utf8_file_name_and_source_name(tmp_path: Path) -> None:
    logs, root = tmp_path / "logs", tmp_path / "wh"
    logs.mkdir()
    lines = Path(SAMPLE).read_bytes().splitlines(keepends=True)
    latin1 = os.fsencode(logs) + b"/caf\xe9.log"
    with open(latin1, "wb") as f:
        f.write(b"".join(lines[:100]) + b"junk\n")
    (logs / "later.log").write_bytes(b"".join(lines[100:150]))
    res = run_cli(root, latin1, str(logs / "later.log"))
    err = res.stderr.decode("utf-8", "replace")
    assert res.returncode == 0, err
    assert "Traceback" not in err
    assert counts(res.stdout.decode()) == (151, 150, 1)
    (rej,) = records(visible(root, "rejects"))
    assert rej["source"] == str(logs) + "/caf\\xe9.log"
    states = [json.loads(p.read_bytes()) for p in (root / "_state" / "parse").glob("*.json")]
    assert sorted(s["source"] for s in states) == sorted(
        [str(logs) + "/caf\\xe9.log", str(logs / "later.log")]
    )
    before = objects(root)
    again = run_cli(root, str(logs))  # the directory walk finds it too; the re-run is a no-op
    assert again.returncode == 0 and objects(root) == before
    piped = run_cli(root, "-", "--source-name", b"\xff", input=b"".join(lines[:20]) + b"junk\n")
    assert piped.returncode == 0, piped.stderr
    assert b"Traceback" not in piped.stderr and counts(piped.stdout.decode()) == (21, 20, 1)
    sources = {r["source"] for r in records(visible(root, "rejects"))}
    assert "stdin:\\xff" in sources


# --- item 11: compressed inputs are told by their bytes ------------------------------------


def test_gzip_bz2_xz_by_magic_bytes_on_every_input_kind(
    tmp_path: Path, moto_server: str, s3_client: Any, s3_bucket: str
) -> None:
    log = Path(SAMPLE).read_bytes()
    plain_root = tmp_path / "plain"
    parse_logs(config_from_dict({}, root=str(plain_root)), ParseRequest([SAMPLE]))
    want = sorted(json.dumps(r, sort_keys=True) for r in records(visible(plain_root, "events")))
    assert len(want) == 9999

    def events_of(root: Path) -> list[str]:
        return sorted(json.dumps(r, sort_keys=True) for r in records(visible(root, "events")))

    packed = {"gz": gzip.compress(log), "bz2": bz2.compress(log), "xz": lzma.compress(log)}
    for ext, blob in packed.items():
        # local, under its own name and under a plain name
        for name in (f"a.log.{ext}", f"mislabelled-{ext}.log"):
            (tmp_path / name).write_bytes(blob)
            root = tmp_path / f"root-{name}"
            res = CliRunner().invoke(cli, ["--root", str(root), "parse", str(tmp_path / name)])
            assert res.exit_code == 0, res.output
            assert events_of(root) == want, name
        # stdin without a telling --source-name
        root = tmp_path / f"stdin-{ext}"
        res = CliRunner().invoke(
            cli, ["--root", str(root), "parse", "-", "--source-name", "web1"], input=blob
        )
        assert res.exit_code == 0, res.output
        assert events_of(root) == want, f"stdin {ext}"
        # S3, named plainly
        s3_client.put_object(Bucket=s3_bucket, Key=f"logs/{ext}/access.log", Body=blob)
    cfg = config_from_dict({"s3": {"endpoint_url": moto_server}}, root=str(tmp_path / "s3root"))
    for ext in packed:
        summary = parse_logs(cfg, ParseRequest([f"s3://{s3_bucket}/logs/{ext}/access.log"]))
        assert summary.exit_code == 0 and summary.events == 9999, ext
    # a kind parse does not read is set aside with a reason that names it
    (tmp_path / "z.log").write_bytes(b"\x28\xb5\x2f\xfd" + b"\x00" * 40)
    res = CliRunner().invoke(cli, ["--root", str(tmp_path / "z"), "parse", str(tmp_path / "z.log")])
    assert res.exit_code == 5 and "zstd" in res.output and "1 input set aside" in res.output


# --- item 13: leftovers of a killed run are removed by the next run of that input ---------


def test_kill_9_leftovers_are_removed_by_the_next_run(tmp_path: Path) -> None:
    big, root = tmp_path / "big.log", tmp_path / "wh"
    big.write_bytes(Path(SAMPLE).read_bytes() * 20)
    # a good run first; then a re-run killed while it writes
    assert parse_logs(config_from_dict({}, root=str(root)), ParseRequest([str(big)])).exit_code == 0
    before = data(root)
    proc = subprocess.Popen(
        cli_cmd(root, str(big)), cwd=str(REPO), stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        wait_for(lambda: bool(hidden_leftovers(root)), 60, "a part file in progress")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert hidden_leftovers(root)
    after_kill = data(root)
    assert {k: after_kill[k] for k in before} == before  # the killed run published nothing
    # an older version left `_tmp.*` files inside partitions: those go too
    part = next(k for k in before if k.startswith("events/"))
    stray = root / Path(part).parent / f"_tmp.{Path(part).name}.0123456789ab"
    stray.write_bytes(b"partial")
    after = parse_logs(config_from_dict({}, root=str(root)), ParseRequest([str(big)]))
    assert after.lines == 200_000 and after.events == 199_980
    assert hidden_leftovers(root) == []
    assert data(root) == before


def test_a_killed_worker_process_is_one_line_and_exit_5(tmp_path: Path) -> None:
    """A worker killed under `--workers` (the OOM killer, kill -9) broke the pool: exit 1
    with a traceback. It is a failed parse: one line, exit 5, the earlier run kept."""
    big, root = tmp_path / "big.log", tmp_path / "wh"
    big.write_bytes(Path(SAMPLE).read_bytes() * 20)
    other = tmp_path / "other.log"
    other.write_bytes(Path(SAMPLE).read_bytes() * 20)
    cfg = config_from_dict({}, root=str(root))
    assert parse_logs(cfg, ParseRequest([str(big), str(other)])).exit_code == 0
    before = data(root)
    proc = subprocess.Popen(
        cli_cmd(root, str(big), str(other), "--workers", "2"), cwd=str(REPO),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        # a worker is writing once a part file is in progress; kill it (not the parent)
        wait_for(lambda: bool(hidden_leftovers(root)), 60, "a part file in progress")
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        assert children
        os.kill(int(children[0]), signal.SIGKILL)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 5, err.decode()
    text = err.decode().strip()
    assert "Traceback" not in text and len(text.splitlines()) == 1
    assert "a parse worker process died" in text and "earlier runs kept" in text
    assert data(root) == before
    assert hidden_leftovers(root) == []
