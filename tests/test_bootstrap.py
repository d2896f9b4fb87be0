"""bootstrap/*.sh: shellcheck, and real runs in a scratch root with stubbed package managers.

Every system path in the scripts is prefixed with WAREHOUSE_BOOTSTRAP_ROOT (a temp
dir here), and PATH holds only stubs (dnf, yum, aws, curl, sudo, systemctl, and what
the stubs "install": python3.11, crontab) plus links to a few coreutils, so the scripts
never touch the real system. The stubs log their argv so tests can see what ran.
`setup-cron.sh` drives the real `warehouse cron install` against a fake crontab; the
installed block is compared with one written out here, not with the renderer's output.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures._util import require_executable, wait_for

BOOTSTRAP = Path(__file__).resolve().parent.parent / "bootstrap"
SCRIPTS = sorted(BOOTSTRAP.glob("*.sh"))
WAREHOUSE_BIN = Path(sys.executable).parent / "warehouse"

TOOLS = ["bash", "sh", "cat", "mkdir", "ln", "tee", "mktemp", "basename", "dirname", "grep", "sed", "id", "rm", "cp", "chmod", "chown", "mv", "sha256sum", "sleep", "touch", "env", "head", "date", "find", "nohup", "readlink"]

STUB_HEAD = '#!/bin/bash\necho "$(basename "$0") $*" >> "$STUB_LOG"\n'
STUBS = {
    "sudo": 'exec "$@"\n',
    "systemctl": "",
    "yum": "exit 1\n",
    "dnf": r"""
for pkg in "$@"; do
  case "$pkg" in
    python3.11) cp "$STUB_DIR/.python3.11" "$STUB_DIR/python3.11" ;;
    cronie) cp "$STUB_DIR/.crontab" "$STUB_DIR/crontab" ;;
    sqoop) mkdir -p "$WAREHOUSE_BOOTSTRAP_ROOT/usr/lib/sqoop/lib" ;;
  esac
done
""",
    "aws": r"""
[ "$1 $2" = "s3 cp" ] || exit 3
shift 2; rec=0; args=()
for a in "$@"; do case "$a" in --only-show-errors) ;; --recursive) rec=1 ;; *) args+=("$a") ;; esac; done
src="${args[0]}"; dst="${args[1]}"
[[ "$src" == s3://* ]] && src="$FAKE_S3/${src#s3://}"
[ -e "$src" ] || { echo "fatal error: $src not found" >&2; exit 1; }
if [ "$rec" = 1 ]; then mkdir -p "$dst"; cp -R "$src/." "$dst"; else cp "$src" "$dst"; fi
""",
    "curl": r"""
while [ $# -gt 0 ]; do case "$1" in -o) out="$2"; shift 2 ;; -*) shift ;; *) url="$1"; shift ;; esac; done
printf 'jar from %s\n' "$url" > "$out"
""",
    # installed by the dnf stub, kept hidden until then
    ".python3.11": r"""
[ "$1 $2" = "-m venv" ] || exit 3
mkdir -p "$3/bin"
cp "$STUB_DIR/.venv-python" "$3/bin/python"
""",
    ".venv-python": r"""
[ "$1 $2 $3" = "-m pip install" ] || exit 3
printf '#!/bin/sh\necho warehouse stub\n' > "$(dirname "$0")/warehouse"
chmod +x "$(dirname "$0")/warehouse"
""",
    ".crontab": r"""
table="$STUB_DIR/crontab.table"
case "$1" in
  -l) if [ -f "$table" ]; then cat "$table"; else echo "no crontab for $(id -un)" >&2; exit 1; fi ;;
  -) cat > "$table" ;;
esac
""",
}


@dataclass
class Scratch:
    root: Path
    stubs: Path
    s3: Path
    env: dict[str, str]

    def run(self, script: str, *args: str, check: int | None = 0) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            ["/bin/bash", str(BOOTSTRAP / script), *args],
            env=self.env, capture_output=True, text=True, timeout=120,
        )
        if check is not None:
            assert proc.returncode == check, proc.stderr
        return proc

    def calls(self) -> list[str]:
        log = Path(self.env["STUB_LOG"])
        return log.read_text().splitlines() if log.exists() else []

    def clear(self) -> None:
        Path(self.env["STUB_LOG"]).unlink(missing_ok=True)

    def node(self, master: bool) -> None:
        info = self.root / "mnt/var/lib/info"
        info.mkdir(parents=True, exist_ok=True)
        (info / "instance.json").write_text(
            '{"isMaster": %s, "isRunningNameNode": false}\n' % ("true" if master else "false")
        )

    def install(self, name: str) -> None:
        shutil.copy(self.stubs / f".{name}", self.stubs / name)


@pytest.fixture
def scratch(tmp_path: Path) -> Scratch:
    stubs, sysbin, root, s3 = (tmp_path / d for d in ("stubs", "sysbin", "root", "s3"))
    for d in (stubs, sysbin, root, s3):
        d.mkdir()
    for tool in TOOLS:
        real = shutil.which(tool)
        if real is None:
            require_executable(tool)
        (sysbin / tool).symlink_to(str(real))
    for name, body in STUBS.items():
        f = stubs / name
        f.write_text(STUB_HEAD + body)
        f.chmod(f.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    env = {
        "PATH": f"{stubs}:{sysbin}",
        "HOME": str(tmp_path),
        "STUB_LOG": str(tmp_path / "calls.log"),
        "STUB_DIR": str(stubs),
        "FAKE_S3": str(s3),
        "WAREHOUSE_BOOTSTRAP_ROOT": str(root),
        "LC_ALL": "C.UTF-8",
    }
    return Scratch(root, stubs, s3, env)


def test_shellcheck_passes() -> None:
    shellcheck = require_executable("shellcheck")
    assert {p.name for p in SCRIPTS} == {"install-toolkit.sh", "install-sqoop.sh", "setup-cron.sh"}
    proc = subprocess.run([shellcheck, "-x", *map(str, SCRIPTS)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout
    for script in SCRIPTS:
        text = script.read_text()
        assert text.startswith("#!/usr/bin/env bash\n") and "set -euo pipefail" in text
        assert os.access(script, os.X_OK)


def test_install_toolkit_from_wheel_is_idempotent(scratch: Scratch) -> None:
    wheel = "s3://artifacts/warehouse-0.1.0-py3-none-any.whl"
    (scratch.s3 / "artifacts").mkdir()
    (scratch.s3 / "artifacts" / "warehouse-0.1.0-py3-none-any.whl").write_bytes(b"PK wheel")
    scratch.run("install-toolkit.sh", "--wheel", wheel)
    venv = scratch.root / "opt/warehouse"
    calls = scratch.calls()
    assert calls[0] == "dnf install -y -q python3.11 python3.11-pip"
    assert f"python3.11 -m venv {venv}" in calls
    assert any(c.startswith(f"aws s3 cp --only-show-errors {wheel} ") for c in calls)
    (pip,) = [c for c in calls if c.startswith("python -m pip install")]
    assert pip.endswith("/warehouse-0.1.0-py3-none-any.whl")
    link = scratch.root / "usr/local/bin/warehouse"
    assert os.readlink(link) == str(venv / "bin/warehouse")
    assert subprocess.run([str(link)], capture_output=True, text=True).stdout == "warehouse stub\n"

    scratch.clear()
    second = scratch.run("install-toolkit.sh", "--wheel", wheel)
    assert scratch.calls() == []  # nothing installed, created or downloaded again
    assert "already installed" in second.stderr

    scratch.run("install-toolkit.sh", "--version", "0.2.0")
    assert scratch.calls() == ["python -m pip install -q --no-input --disable-pip-version-check warehouse==0.2.0"]
    assert (venv / ".warehouse-installed").read_text() == "warehouse==0.2.0\n"


def test_install_toolkit_arguments(scratch: Scratch) -> None:
    assert "give --wheel" in scratch.run("install-toolkit.sh", check=2).stderr
    assert "not both" in scratch.run(
        "install-toolkit.sh", "--wheel", "x.whl", "--version", "1", check=2
    ).stderr
    # Python already there: no package manager call
    scratch.install("python3.11")
    scratch.run("install-toolkit.sh", "--version", "0.1.0")
    assert not [c for c in scratch.calls() if c.startswith(("dnf", "yum"))]
    # a wheel that is not there fails the action (EMR then fails the cluster launch)
    proc = scratch.run("install-toolkit.sh", "--wheel", "s3://nope/warehouse-9-py3-none-any.whl", check=None)
    assert proc.returncode != 0 and "not found" in proc.stderr


def test_install_sqoop_worker_and_new_release_do_nothing(scratch: Scratch) -> None:
    assert "not an EMR node" in scratch.run("install-sqoop.sh", check=2).stderr
    scratch.node(master=False)
    assert "not the master" in scratch.run("install-sqoop.sh").stderr
    scratch.node(master=True)
    proc = scratch.run("install-sqoop.sh", "--release", "emr-7.5.0")
    assert "has no Sqoop" in proc.stderr
    info = scratch.root / "mnt/var/lib/info/extraInstanceData.json"
    info.write_text('{"instanceRole": "master", "releaseLabel": "emr-7.10.0"}\n')
    assert "emr-7.10.0 has no Sqoop" in scratch.run("install-sqoop.sh").stderr
    assert scratch.calls() == []


def test_install_sqoop_links_driver(scratch: Scratch) -> None:
    scratch.node(master=True)
    jar_bytes = b"mysql connector jar"
    (scratch.s3 / "b").mkdir()
    (scratch.s3 / "b" / "mysql-connector-j-8.4.0.jar").write_bytes(jar_bytes)
    digest = hashlib.sha256(jar_bytes).hexdigest()
    lib = scratch.root / "usr/lib/sqoop/lib"
    lib.mkdir(parents=True)
    args = ["--release", "emr-7.4.0", "--jdbc-uri", "s3://b/mysql-connector-j-8.4.0.jar", "--jdbc-sha256", digest]
    scratch.run("install-sqoop.sh", *args)
    jar = scratch.root / "opt/warehouse/jdbc/mysql-connector-j-8.4.0.jar"
    assert jar.read_bytes() == jar_bytes
    assert os.readlink(lib / jar.name) == str(jar)
    scratch.clear()
    assert "already present" in scratch.run("install-sqoop.sh", *args).stderr
    assert scratch.calls() == []
    # a wrong digest is refused and leaves nothing behind
    jar.unlink()
    bad = scratch.run("install-sqoop.sh", *args[:-1], "0" * 64, check=2)
    assert "does not match" in bad.stderr and not jar.exists()
    assert not list(jar.parent.glob("*.part"))


def test_install_sqoop_default_driver_and_package(scratch: Scratch) -> None:
    scratch.node(master=True)
    scratch.run("install-sqoop.sh", "--sqoop-package")
    calls = scratch.calls()
    assert any(c.startswith("curl ") and "repo1.maven.org" in c for c in calls)
    assert "dnf install -y -q sqoop" in calls
    lib = scratch.root / "usr/lib/sqoop/lib"
    assert (lib / "mysql-connector-j-8.4.0.jar").is_symlink()


def test_install_sqoop_waits_for_the_application(scratch: Scratch) -> None:
    scratch.node(master=True)
    proc = scratch.run("install-sqoop.sh", "--wait-seconds", "60", "--poll-seconds", "0.1")
    assert "waiting up to 60s" in proc.stderr
    jdbc = scratch.root / "opt/warehouse/jdbc"
    pid = int((jdbc / "sqoop-wait.pid").read_text())
    try:
        # a second bootstrap run does not start a second waiter
        assert "already running" in scratch.run("install-sqoop.sh").stderr
        lib = scratch.root / "usr/lib/sqoop/lib"
        lib.mkdir(parents=True)  # EMR installs the Sqoop application
        wait_for(lambda: (lib / "mysql-connector-j-8.4.0.jar").is_symlink(), 20, "driver link")
        wait_for(lambda: not Path(f"/proc/{pid}").exists(), 20, "waiter exit")
        assert "linked" in (jdbc / "sqoop-wait.log").read_text()
    finally:
        if Path(f"/proc/{pid}").exists():
            os.kill(pid, 15)


def test_setup_cron_installs_real_crontab_block(scratch: Scratch, tmp_path: Path) -> None:
    scratch.node(master=False)
    assert "not the master" in scratch.run("setup-cron.sh").stderr
    scratch.node(master=True)
    assert "install-toolkit.sh first" in scratch.run("setup-cron.sh", check=2).stderr
    bin_dir = scratch.root / "usr/local/bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "warehouse").symlink_to(WAREHOUSE_BIN)  # the real CLI
    conf_dir = scratch.s3 / "acme" / "conf"
    conf_dir.mkdir(parents=True)
    secrets = scratch.s3 / "acme" / "secrets"
    secrets.mkdir()
    (secrets / "shop.pass").write_text("s3cret\n")
    (conf_dir / "warehouse.toml").write_text(
        '[warehouse]\nroot = "s3://acme-dw/warehouse"\n'
        '[cron]\nwarehouse_bin = "/usr/local/bin/warehouse"\nlog_dir = "/var/log/warehouse"\n'
        f'lock_file = "{tmp_path / "run.lock"}"\n'
    )
    args = ["--config-uri", "s3://acme/conf/warehouse.toml", "--secrets-uri", "s3://acme/secrets/"]
    proc = scratch.run("setup-cron.sh", *args)
    assert "ok: nightly run installed" in proc.stderr
    calls = scratch.calls()
    assert "dnf install -y -q cronie" in calls and "systemctl enable --now crond" in calls
    etc = scratch.root / "etc/warehouse"
    assert stat.S_IMODE(etc.stat().st_mode) == 0o700
    assert stat.S_IMODE((etc / "secrets" / "shop.pass").stat().st_mode) == 0o600
    table = scratch.stubs / "crontab.table"
    conf, lock = etc / "warehouse.toml", tmp_path / "run.lock"
    expected = f"""\
# BEGIN warehouse nightly run (managed by `warehouse cron install`; edits inside are replaced)
# config: {conf}; root: s3://acme-dw/warehouse
# logs: /var/log/warehouse/run-YYYY-MM-DD.log (UTC dates); lock: {lock} (exit 6 = a run is still going)
30 2 * * * mkdir -p /var/log/warehouse && mkdir -p -m 0700 {tmp_path} && /usr/bin/env PATH=/usr/local/bin:/usr/bin:/bin LC_ALL=C.UTF-8 WAREHOUSE_CONFIG={conf} flock -n -E 6 {lock} /usr/local/bin/warehouse -v run --from "$(date -u -d '3 days ago' +\\%F)" --to yesterday >> /var/log/warehouse/run-$(date -u +\\%F).log 2>&1
17 4 * * 0 find /var/log/warehouse -maxdepth 1 -name 'run-*.log' -mtime +30 -delete
# END warehouse nightly run
"""
    assert table.read_text() == expected
    scratch.clear()
    again = scratch.run("setup-cron.sh", *args)
    assert "already up to date" in again.stdout
    assert table.read_text() == expected
    assert not [c for c in scratch.calls() if c.startswith(("dnf", "systemctl"))]
    # a broken config fails the bootstrap action with the config's own message
    (conf_dir / "warehouse.toml").write_text("[aggregate]\njobs = ['nope']\n")
    bad = scratch.run("setup-cron.sh", *args, check=2)
    assert "unknown nope" in bad.stderr


def test_setup_cron_no_cron_for_transient_clusters(scratch: Scratch, tmp_path: Path) -> None:
    """--no-cron (a transient cluster): config, files and secrets in place, checked, no crontab."""
    scratch.node(master=True)
    bin_dir = scratch.root / "usr/local/bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "warehouse").symlink_to(WAREHOUSE_BIN)
    bundle = scratch.s3 / "acme" / "config" / "d1"
    (bundle / "files" / "logs.patterns").mkdir(parents=True)
    (bundle / "files" / "logs.patterns" / "urls.json").write_text('[{"name": "home", "regex": "^/$"}]')
    (bundle / "warehouse.toml").write_text(
        '[warehouse]\nroot = "s3://acme-dw/warehouse"\n'
        '[logs]\npatterns = "files/logs.patterns/urls.json"\n'
        '[emr]\nsecrets_dir = "secrets"\nenvironment = { SHOP_DB_PASSWORD = "secrets/shop.pass" }\n'
    )
    secrets = scratch.s3 / "acme" / "secrets" / "d2"
    secrets.mkdir(parents=True)
    (secrets / "shop.pass").write_text("s3cret\n")
    (secrets / ".index").write_text("shop.pass\n")
    proc = scratch.run("setup-cron.sh", "--config-uri", "s3://acme/config/d1/warehouse.toml",
                       "--secrets-uri", "s3://acme/secrets/d2/.index", "--no-cron")
    assert "--no-cron: no crontab" in proc.stderr and "not checked at bootstrap" in proc.stderr
    etc = scratch.root / "etc/warehouse"
    assert (etc / "files/logs.patterns/urls.json").is_file()
    assert (etc / "secrets/shop.pass").read_text() == "s3cret\n"
    assert not (scratch.stubs / "crontab.table").exists()
    assert not [c for c in scratch.calls() if c.startswith(("dnf", "systemctl"))]
