"""`warehouse parse` failures: one line, a class exit code, nothing left behind (issue 11's
parse parts, issue 9 item 14's messages).

Faults are real: a file the process may not read (capabilities dropped with setpriv when
the tests run as root), the kernel's EIO, a full tmpfs in a private mount namespace, a low
RLIMIT_NOFILE, a named pipe, and an S3 download cut by a TCP proxy in front of moto.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import resource
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.fixtures._util import in_ci, sample_log
from tests.test_parse_reruns import REPO, counts, data, hidden_leftovers, records, run_cli
from warehouse.cli import cli
from warehouse.config import config_from_dict
from warehouse.events.parse import ParseRequest, parse_logs

SAMPLE = sample_log()
LINE = '10.0.0.1 - - [{d}/{m}/{y}:10:00:00 +0000] "GET /a HTTP/1.1" 200 5 "-" "ua"\n'


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        if in_ci():
            pytest.fail(f"{tool} is needed for this test")
        pytest.skip(f"{tool} not installed")
    return path


def one_error_line(stderr: bytes) -> str:
    text = stderr.decode("utf-8", "replace")
    assert "Traceback" not in text, text
    errors = [x for x in text.splitlines() if x.startswith("error:")]
    assert len(errors) <= 1, text
    return text


# --- unreadable inputs: the others are still parsed ---------------------------------------


def test_permission_denied_and_eio_inputs_are_set_aside(tmp_path: Path) -> None:
    lines = Path(SAMPLE).read_bytes().splitlines(keepends=True)
    a, secret, c = tmp_path / "a.log", tmp_path / "secret.log", tmp_path / "c.log"
    a.write_bytes(b"".join(lines[:30]))
    secret.write_bytes(b"".join(lines[30:60]))
    c.write_bytes(b"".join(lines[60:100]))
    secret.chmod(0)
    root = tmp_path / "wh"
    prefix: list[str] = []
    if os.geteuid() == 0:  # root reads anything: drop the capabilities that allow it
        prefix = [need("setpriv"), "--bounding-set=-dac_override,-dac_read_search"]
    res = run_cli(root, str(a), str(secret), str(c), prefix=prefix)
    out = res.stdout.decode()
    one_error_line(res.stderr)
    assert res.returncode == 4, out + res.stderr.decode()
    assert str(secret) in out and "Permission denied" in out and "1 input set aside" in out
    assert counts(out) == (70, 70, 0)
    assert len(records(data(root))) == 70 + 1  # the events, and the set-aside record
    # the kernel's EIO (reading /proc/self/mem at offset 0): exit 3, the others parsed
    res = run_cli(tmp_path / "wh2", str(a), "/proc/self/mem", str(c))
    out = res.stdout.decode()
    one_error_line(res.stderr)
    assert res.returncode == 3, out + res.stderr.decode()
    assert "/mem" in out and "Input/output error" in out and counts(out) == (70, 70, 0)


def test_fifo_by_name_is_read(tmp_path: Path) -> None:
    fifo = tmp_path / "access.pipe"
    os.mkfifo(fifo)
    body = Path(SAMPLE).read_bytes()

    def feed() -> None:
        with open(fifo, "wb") as f:
            f.write(gzip.compress(body))  # gzip through a pipe, told by its bytes

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    res = CliRunner().invoke(cli, ["--root", str(tmp_path / "wh"), "parse", str(fifo)])
    writer.join(10)
    assert res.exit_code == 0, res.output
    assert counts(res.output) == (10000, 9999, 1)


# --- output failures: a full disk, too many dates ----------------------------------------


@pytest.mark.parametrize("workers", ["1", "2"])
def test_full_disk_is_one_line_exit_3_and_leaves_no_tmp(tmp_path: Path, workers: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    unshare = need("unshare")
    logs = tmp_path / "logs"
    logs.mkdir()
    for name in ("a.log", "b.log"):
        (logs / name).write_bytes(Path(SAMPLE).read_bytes() * 3)
    root = tmp_path / "full"
    root.mkdir()
    # in a private mount namespace: a 192 KiB tmpfs as the root; the listing is taken
    # inside it (the mount goes away with the namespace)
    script = (
        f"mount -t tmpfs -o size=192k tmpfs {root} || exit 99; "
        f'"$0" -m warehouse.cli --root {root} parse {logs} --workers {workers}; echo "rc=$?"; '
        f"find {root} -type f"
    )
    res = subprocess.run(
        [unshare, "--mount", "--propagation", "private", "sh", "-c", script, sys.executable],
        capture_output=True, cwd=str(REPO), env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=300, check=False,
    )
    out = res.stdout.decode()
    if res.returncode == 99 and not in_ci():
        pytest.skip("tmpfs cannot be mounted here")
    err = one_error_line(res.stderr)
    assert "rc=3" in out, out + err
    assert "No space left on device" in err and str(root) in err
    files = [x for x in out.splitlines() if x.startswith(str(root))]
    assert not [f for f in files if "/_tmp." in f or "/_staging/" in f], files


def test_one_log_over_thousands_of_dates_with_few_file_descriptors(tmp_path: Path) -> None:
    import datetime as dt

    start = dt.date(2010, 1, 1)
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    days = [start + dt.timedelta(days=i) for i in range(1500)]
    text = "".join(LINE.format(d=f"{x.day:02d}", m=months[x.month - 1], y=x.year) for x in days)
    src = tmp_path / "long.log"
    src.write_text(text + text)  # every date twice: parts are reopened as segments

    def low_fd_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))

    root = tmp_path / "wh"
    res = run_cli(root, str(src), preexec_fn=low_fd_limit)
    one_error_line(res.stderr)
    assert res.returncode == 0, res.stdout.decode() + res.stderr.decode()
    assert counts(res.stdout.decode()) == (3000, 3000, 0)
    assert "1,500 partitions" in res.stdout.decode()
    events = data(root)
    assert len({k.split("/")[1] for k in events}) == 1500
    assert len(records(events)) == 3000
    before = data(root)
    again = run_cli(root, str(src), preexec_fn=low_fd_limit)  # same names: a no-op re-run
    assert again.returncode == 0 and data(root) == before and hidden_leftovers(root) == []


# --- S3: a download cut mid-read names the input -------------------------------------------


class _CuttingProxy:
    """A TCP proxy to moto that drops a connection once it has relayed `limit` bytes back."""

    def __init__(self, port: int, limit: int) -> None:
        self.port, self.limit = port, limit
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = self.listener.getsockname()
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.port), timeout=30)
            self.conns += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, None), daemon=True).start()
            threading.Thread(
                target=self._pump, args=(upstream, client, self.limit), daemon=True
            ).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket, limit: int | None) -> None:
        sent = 0
        with contextlib.suppress(OSError):
            while True:
                chunk = src.recv(65536)
                if not chunk:
                    break
                if limit is not None and sent + len(chunk) > limit:
                    dst.sendall(chunk[: limit - sent])
                    break
                dst.sendall(chunk)
                sent += len(chunk)
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def close(self) -> None:
        self.listener.close()
        for s in self.conns:
            s.close()


@pytest.fixture
def cutting_proxy(moto_server: str) -> Iterator[_CuttingProxy]:
    proxy = _CuttingProxy(int(moto_server.rsplit(":", 1)[1]), limit=300_000)
    try:
        yield proxy
    finally:
        proxy.close()


def test_s3_input_cut_mid_read_names_the_input(
    tmp_path: Path, s3_client: Any, s3_bucket: str, cutting_proxy: _CuttingProxy
) -> None:
    body = Path(SAMPLE).read_bytes()  # ~2 MB: cut after 300 kB, before any output part
    s3_client.put_object(Bucket=s3_bucket, Key="logs/a-big.log", Body=body)
    small = body[: body.rfind(b"\n", 0, 20_000) + 1]
    s3_client.put_object(Bucket=s3_bucket, Key="logs/b-small.log", Body=small)
    host, port = cutting_proxy.address
    cfg = config_from_dict(
        {"s3": {"endpoint_url": f"http://{host}:{port}"}}, root=f"s3://{s3_bucket}/wh"
    )
    summary = parse_logs(cfg, ParseRequest([f"s3://{s3_bucket}/logs/"]))
    line = summary.line()
    assert summary.exit_code == 3, line
    assert f"input s3://{s3_bucket}/logs/a-big.log" in line and "re-run" in line
    failed = line.split("FAILED", 1)[1]
    assert "unavailable" not in failed and "/wh/events" not in failed  # not the output
    assert summary.lines == summary.events + summary.rejected == small.count(b"\n")
    keys = [o["Key"] for o in s3_client.list_objects_v2(Bucket=s3_bucket, Prefix="wh/")["Contents"]]
    assert not [k for k in keys if "_staging" in k]
    assert len([k for k in keys if k.startswith("wh/events/")]) >= 1


# --- messages ----------------------------------------------------------------------------


def test_messages_say_what_happened(tmp_path: Path) -> None:
    runner = CliRunner()
    src = tmp_path / "access.log"
    src.write_bytes(Path(SAMPLE).read_bytes())
    root = str(tmp_path / "wh")
    # a first run that is bad: nothing earlier to keep, and the summary names the format
    res = runner.invoke(cli, ["--root", root, "parse", str(src), "--format", "common"])
    assert res.exit_code == 5 and "format common" in res.output
    assert "kept" not in res.output and "no earlier events to keep" in res.output
    res = runner.invoke(cli, ["--root", root, "parse", str(src)])
    assert res.exit_code == 0 and "format combined" in res.output
    res = runner.invoke(cli, ["--root", root, "parse", str(src), "--format", "%h %l %u %t"])
    assert res.exit_code == 5 and "format '%h %l %u %t'" in res.output
    assert "objects of its earlier run kept" in res.output
    # a corrupt .gz is set aside, not "too many rejects", and its record is named
    bad = tmp_path / "cut.log.gz"
    bad.write_bytes(gzip.compress(Path(SAMPLE).read_bytes())[:50_000])
    res = runner.invoke(cli, ["--root", root, "parse", str(bad)])
    assert res.exit_code == 5
    assert "max_reject_ratio" not in res.output and "rejected, more than" not in res.output
    assert "0 rejects + 1 set-aside input record in" in res.output and "rejects/dt=" in res.output
    assert "1 input set aside: input" in res.output


def test_input_template_typos_are_config_errors(tmp_path: Path) -> None:
    for template in ("{date.foo}/", "{date:%999999999Y}/", "{date!r:>99999999999}/", "{day}/"):
        conf = tmp_path / "warehouse.toml"
        conf.write_text(
            f'[warehouse]\nroot = "{tmp_path / "root"}"\n'
            f"[logs]\ninput = '{tmp_path}/{template}'\n"
            f'[cron]\nlock_file = "{tmp_path / "run.lock"}"\n'
        )
        res = CliRunner().invoke(
            cli, ["--config", str(conf), "run", "--date", "2020-01-02", "--only", "parse"]
        )
        assert res.exit_code == 2, (template, res.output)
        assert "[logs] input" in res.output and "{date:%Y/%m/%d}" in res.output
        assert res.exception is None or isinstance(res.exception, SystemExit)
