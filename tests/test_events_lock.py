"""A manual `aggregate` beside a `parse` that publishes the same dates: the aggregate sees
each input's parts all before or all after its publish (the events lock), never half.

Real processes through the CLI, on a local root and on S3 (moto). N inputs each hold K events on each of 2015-05-17..20 and
filler on 2015-01-01 (so the parse takes a while); a `parse --replace` then replaces each
with M events on 17..19 only (its 20th part is deleted as stale) while `aggregate
daily_actions` runs in a loop. With s inputs re-published, every output must read
K*(N-s) hits on the 20th and K*(N-s) + M*s on the 17th..19th; an input half published
(some new parts, or its stale part not yet deleted) breaks one of these equations. At
least one aggregate must see 0 < s < N: it read while the parse was publishing.
"""

from __future__ import annotations

import fcntl
import gzip
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from tests.fixtures._util import sample_log
from warehouse.lock import item_lock_path

WAREHOUSE_BIN = str(Path(sys.executable).parent / "warehouse")
SAMPLE = Path(sample_log())
DAYS = ["17", "18", "19", "20"]
N, K, M, FILLER = 16, 3, 5, 20000  # filler: each input takes a while to parse, so that
# aggregates (which never read 2015-01-01) run many times while the inputs are published


def _conf(tmp_path: Path, root: str | None = None, s3: str = "") -> Path:
    conf = tmp_path / "w.toml"
    conf.write_text(
        f'[warehouse]\nroot = "{root or tmp_path / "root"}"\n'
        f'[cron]\nlock_file = "{tmp_path / "locks" / "run.lock"}"\n'
        + (f'[s3]\nendpoint_url = "{s3}"\nregion = "us-east-1"\n' if s3 else "")
    )
    return conf


def _inputs(tmp_path: Path, per_day: int, days: list[str]) -> list[Path]:
    lines = SAMPLE.read_bytes().splitlines(keepends=True)
    by_day = {d: [ln for ln in lines if f"[{d}/May/2015:".encode() in ln] for d in DAYS}
    filler = [ln.replace(b"/May/2015:", b"/Jan/2015:").replace(b"[17/", b"[01/")
              for ln in by_day["17"]]
    paths = []
    for i in range(N):
        body = [ln for d in days for ln in by_day[d][i : i + per_day]]
        body += (filler * (FILLER // len(filler) + 1))[:FILLER]
        path = tmp_path / "logs" / f"access-{i:02d}.log"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"".join(body))
        paths.append(path)
    return paths


def _hits(read: Callable[[str], bytes]) -> dict[str, int]:
    """Return the hits per day of the daily_actions output (`read`: the bytes of a key)."""
    out = {}
    for d in DAYS:
        part = read(f"aggregates/daily_actions/dt=2015-05-{d}/part-00000.json.gz")
        out[d] = sum(orjson.loads(line)["hits"] for line in gzip.decompress(part).splitlines())
    return out


def _aggregate(conf: Path, *pre: str) -> subprocess.CompletedProcess[str]:
    args = ["aggregate", "daily_actions", "--from", "2015-05-17", "--to", "2015-05-20",
            "-r", "inline"]
    cmd = [*pre, "--config", str(conf), *args] if pre else [WAREHOUSE_BIN, "--config",
                                                             str(conf), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


def _race(tmp_path: Path, conf: Path, read: Callable[[str], bytes]) -> None:
    first = _inputs(tmp_path, K, DAYS)
    done = subprocess.run([WAREHOUSE_BIN, "--config", str(conf), "parse", *map(str, first)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    _inputs(tmp_path, M, DAYS[:3])  # the same names, new content: 20th no longer there
    parse = subprocess.Popen(
        [WAREHOUSE_BIN, "--config", str(conf), "parse", "--replace", *map(str, first)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    seen: list[int] = []
    try:
        while True:
            running = parse.poll() is None
            agg = _aggregate(conf)
            out = agg.stdout + agg.stderr
            assert agg.returncode == 0 and "Traceback" not in out, out
            hits = _hits(read)
            s, rest = divmod(N * K - hits["20"], K)
            assert rest == 0 and 0 <= s <= N, hits
            want = K * (N - s) + M * s
            assert [hits[d] for d in DAYS[:3]] == [want] * 3, (hits, s)
            seen.append(s)
            if not running:
                break
        out, err = parse.communicate(timeout=600)
        assert parse.returncode == 0, out + err
    finally:
        if parse.poll() is None:
            parse.kill()
            parse.wait()
    print("re-published inputs seen by the aggregates:", seen)
    assert seen[-1] == N  # after the parse: every input re-published
    # the proof that they overlapped: an aggregate read between two inputs' publishes
    assert any(0 < s < N for s in seen), f"no aggregate ran during the publishing: {seen}"


def test_aggregates_beside_a_parse_see_each_input_whole(tmp_path: Path) -> None:
    _race(tmp_path, _conf(tmp_path), lambda key: (tmp_path / "root" / key).read_bytes())


def test_the_same_on_s3(tmp_path: Path, moto_server: str, s3_bucket: str,
                        s3_client: Any) -> None:
    # an S3 root: parse publishes by server-side copies, aggregate stages local copies
    conf = _conf(tmp_path, f"s3://{s3_bucket}/wh", moto_server)

    def read(key: str) -> bytes:
        body: bytes = s3_client.get_object(Bucket=s3_bucket, Key=f"wh/{key}")["Body"].read()
        return body

    _race(tmp_path, conf, read)


def _held(path: Path, op: int) -> int:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    fcntl.flock(fd, op | fcntl.LOCK_NB)
    return fd


def test_either_side_gives_up_after_its_wait_with_exit_6(tmp_path: Path) -> None:
    conf = _conf(tmp_path)
    logs = _inputs(tmp_path, K, DAYS)[:2]
    lock = item_lock_path(str(tmp_path / "locks" / "run.lock"), str(tmp_path / "root"),
                          "events", "publish")
    # the CLI itself, with the waits shortened to 1 s
    short = [sys.executable, "-c", "import sys; import warehouse.lock as L; "
             "L.READ_WAIT = L.PUBLISH_WAIT = 1.0; from warehouse.cli import main; "
             "sys.argv[0] = 'warehouse'; main()"]
    assert subprocess.run([*short, "--config", str(conf), "parse", str(logs[0])],
                          capture_output=True, timeout=600).returncode == 0
    before = {p: p.read_bytes() for p in (tmp_path / "root" / "events").rglob("*.gz")}
    fd = _held(lock, fcntl.LOCK_SH)  # an aggregate reading
    try:
        res = subprocess.run([*short, "--config", str(conf), "parse", *map(str, logs)],
                             capture_output=True, text=True, timeout=600)
    finally:
        os.close(fd)
    out = res.stdout + res.stderr
    assert res.returncode == 6 and "Traceback" not in out, out
    named = [ln for ln in out.splitlines() if "an aggregate is reading the events" in ln]
    assert named and all("re-run" in ln for ln in named), out
    after = {p: p.read_bytes() for p in (tmp_path / "root" / "events").rglob("*.gz")}
    assert after == before  # nothing published, the earlier run kept
    assert not list((tmp_path / "root").glob("_staging/parse/*/*"))

    fd = _held(lock, fcntl.LOCK_EX)  # a parse publishing
    try:
        agg = _aggregate(conf, *short)
    finally:
        os.close(fd)
    out = agg.stdout + agg.stderr
    assert agg.returncode == 6 and "Traceback" not in out, out
    assert f"a parse is publishing events (pid {os.getpid()})" in out, out
    assert not (tmp_path / "root" / "aggregates").exists()
    assert _aggregate(conf).returncode == 0  # the lock released: it runs
