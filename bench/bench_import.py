"""Benchmark the whole `warehouse import` command against what an operator types instead.

Starts a private MariaDB and sshd (the test fixtures' recipes) and fills a 7-column
table of N rows (INT key, INT, VARCHAR, DATETIME, nullable DATETIME, DECIMAL, nullable
TEXT with tabs, newlines and non-ASCII text). Then, in one run, rotating the variants
`--repeat` times and keeping each one's best wall time:
- anchor: OpenSSH `ssh -N -L` started, waited for, then
  `mariadb --batch --quick ... | gzip -1 > out`, then ssh stopped: timed from starting
  ssh to its exit (the whole pipeline as an operator runs it; lossy: NULL and the string
  'NULL' look alike, \\r stays raw);
- ours: the `warehouse import` command as a process (interpreter start to exit, tunnel,
  metadata, snapshot, export, state), once per tunnel backend and MySQL driver.
Every run gets a fresh root; CPU seconds come from wait4() and peak RSS from GNU time's
%M (the process and the children it reaped: ssh, gzip; not mariadbd or sshd). Ratios are anchor time /
our time (above 1 = faster than the anchor), from each variant's best and median wall.

    python bench/bench_import.py [--rows 1000000] [--repeat 2] [--backends openssh,paramiko]
                                 [--drivers mysqlclient,mysql-connector,pymysql]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT_DIR))

from tests.fixtures._util import free_port, port_open, wait_for  # noqa: E402
from tests.fixtures.mariadb import start_mariadb  # noqa: E402
from tests.fixtures.sshd import start_sshd  # noqa: E402

USER, PASSWORD, DB = "bench", "bench-Pw-1", "benchdb"

DDL = """
CREATE TABLE t (
  id INT PRIMARY KEY, a INT NOT NULL, name VARCHAR(64) NOT NULL,
  created DATETIME NOT NULL, updated DATETIME NULL, amount DECIMAL(12,2) NOT NULL,
  note TEXT NULL
)
"""
FILL = """
INSERT INTO t SELECT seq, seq % 1000, CONCAT('user-', seq, '-', MD5(seq)),
  '2020-01-01' + INTERVAL seq SECOND,
  IF(seq % 3 = 0, NULL, '2021-06-01' + INTERVAL seq MINUTE),
  (seq % 100000) / 100,
  CASE seq % 4 WHEN 0 THEN NULL WHEN 1 THEN CONCAT('tab\\there ', seq)
    WHEN 2 THEN CONCAT('line1\\nline2 ü ✓ ', seq) ELSE 'plain text' END
FROM seq_1_to_{n}
"""


def run_measured(argv: list[str], env: dict[str, str]) -> tuple[float, float, float, bytes]:
    """Run argv; return (wall seconds, CPU seconds, peak RSS MiB, output).

    The peak RSS comes from GNU time's %M: a child started from this (large) process
    inherits its RSS high-water mark across exec, so wait4's ru_maxrss would report at
    least this process's size; GNU time's own small fork does not.
    """
    with tempfile.NamedTemporaryFile("r") as rss_file:
        wrapped = [TIME, "-f", "%M", "-o", rss_file.name, *argv] if TIME else argv
        t0 = time.perf_counter()
        proc = subprocess.Popen(wrapped, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                env=env)
        assert proc.stdout is not None
        out = proc.stdout.read()
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise SystemExit(f"{argv[:3]} failed ({proc.returncode}): {out.decode()[-2000:]}")
        text = rss_file.read().split()
        rss = int(text[-1]) / 1024 if TIME and text else float("nan")
    return wall, ru.ru_utime + ru.ru_stime, rss, out


TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None  # GNU time (apt time)


def anchor(ssh, db_port: int, out: Path) -> tuple[float, float, float, int]:
    """OpenSSH tunnel + `mariadb --batch --quick | gzip -1`, ssh start to ssh exit."""
    port = free_port()
    script = f"""
set -euo pipefail
ssh -N -o BatchMode=yes -o ExitOnForwardFailure=yes -o StrictHostKeyChecking=yes \\
  -o UserKnownHostsFile={ssh.known_hosts} -o IdentitiesOnly=yes -i {ssh.key_file} \\
  -L 127.0.0.1:{port}:127.0.0.1:{db_port} -p {ssh.port} {ssh.user}@127.0.0.1 &
SSH=$!
for _ in $(seq 1000); do (exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null && break; sleep 0.01; done
mariadb --no-defaults --batch --quick -h 127.0.0.1 -P {port} -u {USER} {DB} \\
  -e 'SELECT * FROM t' | gzip -1 > {out}
kill $SSH; wait $SSH || true
"""
    env = dict(os.environ, MYSQL_PWD=PASSWORD)  # not on argv
    wall, cpu, rss, _ = run_measured(["bash", "-c", script], env)
    return wall, cpu, rss, out.stat().st_size


def write_config(base: Path, ssh, db_port: int, backend: str, driver: str) -> Path:
    pw = base / "db.pass"
    pw.write_text(PASSWORD)
    toml = base / f"{backend}-{driver}.toml"
    toml.write_text(
        f"""[warehouse]
root = "{base / 'root'}"
[ssh.bastion]
host = "127.0.0.1"
port = {ssh.port}
user = "{ssh.user}"
key_file = "{ssh.key_file}"
known_hosts = "{ssh.known_hosts}"
backend = "{backend}"
[mysql.src]
host = "127.0.0.1"
port = {db_port}
user = "{USER}"
password_file = "{pw}"
tunnel = "bastion"
databases = ["{DB}"]
driver = "{driver}"
"""
    )
    return toml


def ours(base: Path, toml: Path, rows: int) -> tuple[float, float, float, int]:
    """The whole `warehouse import` command; return (wall, cpu, rss MiB, output bytes)."""
    shutil.rmtree(base / "root", ignore_errors=True)
    exe = shutil.which("warehouse")
    argv = [exe] if exe else [sys.executable, "-m", "warehouse.cli"]
    env = dict(os.environ, PYTHONPATH=str(ROOT_DIR))
    try:
        wall, cpu, rss, out = run_measured([*argv, "--config", str(toml), "import"], env)
    except SystemExit as e:
        if "is not installed" in str(e):  # the command cannot load this driver here
            raise DriverMissing(str(e).strip().splitlines()[-1]) from None
        raise
    m = re.search(rb"([\d,]+) rows", out)
    got = int(m.group(1).replace(b",", b"")) if m else -1
    if got != rows:
        raise SystemExit(f"expected {rows} rows, the command said: {out.decode()[-500:]}")
    size = sum(p.stat().st_size for p in (base / "root").rglob("*.json.gz"))
    return wall, cpu, rss, size


class DriverMissing(Exception):
    """The command says its MySQL driver cannot be loaded: the variant is left out."""


def drivers() -> list[str]:
    found = []
    if importlib.util.find_spec("MySQLdb"):
        found.append("mysqlclient")
    try:
        import _mysql_connector  # noqa: F401

        found.append("mysql-connector")
    except ImportError:
        pass
    return [*found, "pymysql"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=2,
                    help="rotate through every variant N times; keep each one's best time")
    ap.add_argument("--backends", default="openssh,paramiko")
    ap.add_argument("--drivers", default=",".join(drivers()))
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="wh-bench-import-"))
    db = start_mariadb(base / "db")
    ssh = start_sshd(base / "ssh")
    try:
        db.create_database(DB)
        db.execute(DDL, database=DB)
        t0 = time.perf_counter()
        db.execute(FILL.format(n=args.rows), database=DB)
        db.create_user(USER, PASSWORD, DB)
        wait_for(lambda: port_open(db.port), 10, "mariadb")
        print(f"filled {args.rows:,} rows in {time.perf_counter() - t0:.1f}s", flush=True)
        runs: dict[str, object] = {
            "anchor: ssh -L + mariadb --batch --quick | gzip -1":
                lambda: anchor(ssh, db.port, base / "cli.tsv.gz"),
        }
        for backend in args.backends.split(","):
            for driver in args.drivers.split(","):
                toml = write_config(base, ssh, db.port, backend, driver)
                runs[f"warehouse import, {backend}, {driver}"] = (
                    lambda toml=toml: ours(base, toml, args.rows))
        best: dict[str, tuple[float, float, float, int]] = {}
        walls: dict[str, list[float]] = {name: [] for name in runs}
        for i in range(args.repeat):
            for name, fn in list(runs.items()):
                try:
                    res = fn()  # type: ignore[operator]
                except DriverMissing as e:
                    # e.g. the mysql-connector wheel's libssl needs a newer libcrypto than
                    # the one the command has loaded (hashlib) when it imports the driver
                    print(f"  left out: {name}: {e}", flush=True)
                    del runs[name], walls[name]
                    continue
                print(f"  round {i + 1}: {name}: {res[0]:.2f}s", flush=True)
                walls[name].append(res[0])
                if name not in best or res[0] < best[name][0]:
                    best[name] = res
        first = next(iter(best))
        anchor_best, anchor_median = best[first][0], statistics.median(walls[first])
        print("\n| run | best wall s | rows/s | CPU s | peak RSS MiB | output MB | vs anchor "
              "(best) | vs anchor (median) |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for name, (wall, cpu, rss, size) in best.items():
            median = statistics.median(walls[name])
            label = name.replace("|", "\\|")
            print(f"| {label} | {wall:.2f} | {args.rows / wall:,.0f} | {cpu:.2f} | {rss:.0f} | "
                  f"{size / 1e6:.1f} | {anchor_best / wall:.2f}x | {anchor_median / median:.2f}x |")
    finally:
        ssh.stop()
        db.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
