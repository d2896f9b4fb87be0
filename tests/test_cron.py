"""`warehouse cron show|install`: golden crontab blocks, idempotent install, flock exit 6.

Installation runs against a fake `crontab` executable in a temp dir (it keeps the table
in a file), and once against Debian's real crontab(1) in a private mount namespace with
its own empty spool: never the machine's crontabs. Expected blocks are written out here
or in tests/golden/cron/, never taken from render_crontab().
"""

from __future__ import annotations

import fcntl
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.fixtures._util import require_executable, service_missing
from warehouse.cli import cli
from warehouse.config import config_from_dict
from warehouse.errors import ConfigError
from warehouse.run.cron import BEGIN, END, install_crontab, render_crontab, replace_block

GOLDEN = Path(__file__).parent / "golden" / "cron"
WAREHOUSE_BIN = str(Path(sys.executable).parent / "warehouse")

FAKE_CRONTAB = """#!/bin/sh
# A stand-in for crontab(1): the table lives in $(dirname $0)/table.
table="$(dirname "$0")/table"
case "$1" in
  -l) if [ -f "$table" ]; then cat "$table"; else echo "no crontab for $(id -un)" >&2; exit 1; fi ;;
  -) cat > "$table" ;;
  *) echo "fake crontab: unsupported $*" >&2; exit 2 ;;
esac
"""


def _cfg(data: dict, path: str | None = "/etc/warehouse/warehouse.toml"):
    return config_from_dict(data, path=Path(path) if path else None)


CASES = {
    "default": (
        {
            "warehouse": {"root": "s3://acme-dw/warehouse"},
            "cron": {"warehouse_bin": "/opt/warehouse/bin/warehouse", "log_dir": "/var/log/warehouse"},
        },
        "/etc/warehouse/warehouse.toml",
    ),
    "one_day_env": (
        {
            "warehouse": {"root": "s3://acme-dw/warehouse"},
            "cron": {
                "schedule": "5 1 * * 1-5",
                "catchup_days": 1,
                "keep_log_days": 7,
                "lock_file": "/run/lock/warehouse run.lock",
                "warehouse_bin": "/usr/local/bin/warehouse",
                "log_dir": "/mnt/var/log/warehouse",
                "environment": {"AWS_DEFAULT_REGION": "eu-west-1", "SHOP_DB_PASSWORD_FILE": "/etc/x y"},
            },
        },
        "/home/hadoop/warehouse.toml",
    ),
    "embedded_defaults": (
        {"cron": {"warehouse_bin": "/opt/warehouse/bin/warehouse", "log_dir": "/var/log/warehouse"}},
        None,
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_render_golden(name: str, tmp_path: Path) -> None:
    data, path = CASES[name]
    if path is None:
        data = {**data, "warehouse": {"root": "/srv/warehouse-data"}}
        cfg = config_from_dict(data, path=None)
    else:
        cfg = _cfg(data, path)
    text = render_crontab(cfg)
    golden = GOLDEN / f"{name}.crontab"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text()
    assert text.startswith(BEGIN + "\n") and text.endswith(END + "\n")
    run_line = next(ln for ln in text.splitlines() if " run " in ln and not ln.startswith("#"))
    # cron turns a bare % into a newline: every % in the command must be escaped
    assert not re.search(r"(?<!\\)%", run_line)
    assert "flock -n -E 6" in run_line


def test_render_rejects_bad_schedule() -> None:
    with pytest.raises(ConfigError, match="5 time fields"):
        _cfg({"cron": {"schedule": "@daily", "warehouse_bin": "/x/warehouse"}})


def test_environment_cannot_override_path() -> None:
    cfg = _cfg({"cron": {"warehouse_bin": "/x/warehouse", "environment": {"PATH": "/evil"}}})
    with pytest.raises(ConfigError, match="may not set PATH"):
        render_crontab(cfg)


def test_replace_block_keeps_other_lines() -> None:
    block = f"{BEGIN}\n1 2 * * * new\n{END}\n"
    assert replace_block("", block) == block
    assert replace_block("MAILTO=ops\n0 * * * * other", block) == f"MAILTO=ops\n0 * * * * other\n{block}"
    old = f"MAILTO=ops\n{BEGIN}\n9 9 * * * old\n{END}\n# after\n0 * * * * other\n"
    assert replace_block(old, block) == f"MAILTO=ops\n{block}# after\n0 * * * * other\n"
    with pytest.raises(ConfigError, match="no END marker"):
        replace_block(f"{BEGIN}\n9 9 * * * old\n", block)


@pytest.fixture
def fake_crontab(tmp_path: Path) -> Path:
    d = tmp_path / "fakebin"
    d.mkdir()
    exe = d / "crontab"
    exe.write_text(FAKE_CRONTAB)
    exe.chmod(0o755)
    return exe


def test_install_is_idempotent_and_keeps_user_lines(fake_crontab: Path) -> None:
    table = fake_crontab.parent / "table"
    cfg = _cfg(CASES["default"][0])
    # no crontab yet: "no crontab for USER" counts as empty
    assert "added" in install_crontab(cfg, crontab=str(fake_crontab))
    assert table.read_text() == (GOLDEN / "default.crontab").read_text()
    table.write_text("MAILTO=ops@example.com\n" + table.read_text() + "0 * * * * /usr/bin/true\n")
    before = table.read_text()
    assert "already up to date" in install_crontab(cfg, crontab=str(fake_crontab))
    assert table.read_text() == before
    changed = _cfg({**CASES["default"][0], "cron": {**CASES["default"][0]["cron"], "schedule": "0 3 * * *"}})
    assert "replaced" in install_crontab(changed, crontab=str(fake_crontab))
    text = table.read_text()
    assert text.startswith("MAILTO=ops@example.com\n") and text.endswith("0 * * * * /usr/bin/true\n")
    assert text.count(BEGIN) == 1 and "\n0 3 * * * mkdir" in text and "\n30 2 * * *" not in text


def test_cli_cron_show_and_install_use_path(fake_crontab: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    conf = tmp_path / "w.toml"
    conf.write_text(f'[warehouse]\nroot = "data"\n[cron]\nwarehouse_bin = "{WAREHOUSE_BIN}"\n'
                    f'log_dir = "{tmp_path / "logs"}"\n')
    monkeypatch.setenv("PATH", f"{fake_crontab.parent}:{os.environ['PATH']}")
    shown = CliRunner().invoke(cli, ["--config", str(conf), "cron", "show"])
    assert shown.exit_code == 0, shown.output
    assert f"WAREHOUSE_CONFIG={conf}" in shown.output
    for _ in range(2):
        result = CliRunner().invoke(cli, ["--config", str(conf), "cron", "install"])
        assert result.exit_code == 0, result.output
    assert "already up to date" in result.output
    logs, bin_dir = tmp_path / "logs", Path(WAREHOUSE_BIN).parent
    expected = f"""\
# BEGIN warehouse nightly run (managed by `warehouse cron install`; edits inside are replaced)
# config: {conf}; root: {tmp_path / "data"}
# logs: {logs}/run-YYYY-MM-DD.log (UTC dates); lock: ~/.local/state/warehouse/run.lock (exit 6 = a run is still going)
30 2 * * * mkdir -p {logs} && mkdir -p -m 0700 "$HOME"/.local/state/warehouse && /usr/bin/env PATH={bin_dir}:/usr/local/bin:/usr/bin:/bin LC_ALL=C.UTF-8 WAREHOUSE_CONFIG={conf} flock -n -E 6 "$HOME"/.local/state/warehouse/run.lock {WAREHOUSE_BIN} -v run --from "$(date -u -d '3 days ago' +\\%F)" --to yesterday >> {logs}/run-$(date -u +\\%F).log 2>&1
17 4 * * 0 find {logs} -maxdepth 1 -name 'run-*.log' -mtime +30 -delete
# END warehouse nightly run
"""
    assert shown.output == expected
    assert (fake_crontab.parent / "table").read_text() == expected


def test_install_through_the_real_crontab_keeps_user_lines(tmp_path: Path) -> None:
    """`warehouse cron install` through Debian's crontab(1) (apt cron), twice, beside the
    user's own lines; in a private mount namespace whose cron spool is an empty tmpfs, so
    the machine's crontabs are never touched (root: the mount)."""
    crontab = require_executable("crontab")
    unshare = require_executable("unshare")
    if os.geteuid() != 0:
        service_missing("root (a private tmpfs over the cron spool for crontab(1))")
    spool = "/var/spool/cron/crontabs"
    conf = tmp_path / "w.toml"
    logs = tmp_path / "logs"
    conf.write_text(f'[warehouse]\nroot = "data"\n[cron]\nwarehouse_bin = "{WAREHOUSE_BIN}"\n'
                    f'log_dir = "{logs}"\nschedule = "15 3 * * *"\n')
    script = (
        f"set -e; mount -t tmpfs -o mode=1730 tmpfs {spool}; "
        f"printf 'MAILTO=ops@example.com\\n0 * * * * /usr/bin/true\\n' | {crontab} -; "
        f'"$0" --config {conf} cron install; "$0" --config {conf} cron install; '
        f"echo ===; {crontab} -l"
    )
    done = subprocess.run([unshare, "--mount", "--propagation", "private", "sh", "-c", script,
                           WAREHOUSE_BIN], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    said, table = done.stdout.split("===\n")
    assert said == ("cron install: added the warehouse block (15 3 * * *); see `crontab -l`\n"
                    "cron install: crontab already up to date\n")
    bin_dir = Path(WAREHOUSE_BIN).parent
    assert table == f"""\
MAILTO=ops@example.com
0 * * * * /usr/bin/true
# BEGIN warehouse nightly run (managed by `warehouse cron install`; edits inside are replaced)
# config: {conf}; root: {tmp_path / "data"}
# logs: {logs}/run-YYYY-MM-DD.log (UTC dates); lock: ~/.local/state/warehouse/run.lock (exit 6 = a run is still going)
15 3 * * * mkdir -p {logs} && mkdir -p -m 0700 "$HOME"/.local/state/warehouse && /usr/bin/env PATH={bin_dir}:/usr/local/bin:/usr/bin:/bin LC_ALL=C.UTF-8 WAREHOUSE_CONFIG={conf} flock -n -E 6 "$HOME"/.local/state/warehouse/run.lock {WAREHOUSE_BIN} -v run --from "$(date -u -d '3 days ago' +\\%F)" --to yesterday >> {logs}/run-$(date -u +\\%F).log 2>&1
17 4 * * 0 find {logs} -maxdepth 1 -name 'run-*.log' -mtime +30 -delete
# END warehouse nightly run
"""


def test_install_reports_missing_crontab(tmp_path: Path) -> None:
    cfg = _cfg(CASES["default"][0])
    from warehouse.errors import SourceUnavailable

    with pytest.raises(SourceUnavailable, match="not found"):
        install_crontab(cfg, crontab=str(tmp_path / "no-such-crontab"))


def _command_of(line: str) -> str:
    """Return what cron would hand to /bin/sh for a crontab line (fields dropped, \\% -> %)."""
    return line.split(None, 5)[5].replace("\\%", "%")


def test_rendered_command_runs_and_flock_blocks_overlap(tmp_path: Path) -> None:
    """The rendered line really runs `warehouse run` under flock; a held lock gives exit 6."""
    require_executable("flock")
    lock = tmp_path / "run.lock"
    logs = tmp_path / "logs"
    conf = tmp_path / "w.toml"
    # no [logs] input: the run gets as far as the parse stage and fails it with exit 2,
    # which proves the inner lock accepted the descriptor inherited from flock(1)
    conf.write_text(
        f'[warehouse]\nroot = "{tmp_path / "root"}"\n'
        f'[cron]\nwarehouse_bin = "{WAREHOUSE_BIN}"\nlog_dir = "{logs}"\nlock_file = "{lock}"\n'
        "catchup_days = 2\n"
    )
    from warehouse.config import load_config

    text = render_crontab(load_config(conf))
    line = next(ln for ln in text.splitlines() if "flock" in ln)
    cmd = _command_of(line)
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}  # cron's sparse environment

    done = subprocess.run(["/bin/sh", "-c", cmd], env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 2
    (log_file,) = logs.glob("run-*.log")
    assert re.fullmatch(r"run-\d{4}-\d{2}-\d{2}\.log", log_file.name)
    out = log_file.read_text()
    assert "parse failed (exit 2)" not in out  # two dates: the range form
    assert re.search(r"run \d{4}-\d{2}-\d{2}\.\.\d{4}-\d{2}-\d{2} \(2 dates\): parse 2 failed", out), out
    assert "[logs] input is not set" in out

    with open(lock, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        blocked = subprocess.run(["/bin/sh", "-c", cmd], env=env, cwd=tmp_path, timeout=120)
        assert blocked.returncode == 6
        # and `warehouse run` by hand (no flock wrapper) also refuses with exit 6
        # (a subprocess: in this process the held descriptor would count as inherited)
        by_hand = subprocess.run(
            [WAREHOUSE_BIN, "--config", str(conf), "run", "--date", "2024-01-01"],
            capture_output=True, text=True, timeout=120,
        )
        assert by_hand.returncode == 6, by_hand.stderr
        assert "another warehouse run holds" in by_hand.stderr
    after = CliRunner().invoke(cli, ["--config", str(conf), "run", "--date", "2024-01-01"])
    assert after.exit_code == 2, after.output


def test_secret_in_cron_environment_never_printed(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A `[cron] environment` secret stays off the crontab line (/usr/bin/env's argv) and out
    of `config check`: both refuse it by name and say to use password_file."""
    monkeypatch.setenv("SHOP_DB_PASSWORD", "hunter2secret")
    conf = tmp_path / "w.toml"
    base = (f'[warehouse]\nroot = "data"\n[cron]\nwarehouse_bin = "{WAREHOUSE_BIN}"\n'
            f'log_dir = "{tmp_path / "logs"}"\n')
    # named by a password_env, and (second case) merely named like a secret
    cases = [
        ('[cron.environment]\nSHOP_DB_PASSWORD = "hunter2secret"\n'
         '[mysql.shop]\nuser = "etl"\ndatabases = ["shop"]\npassword_env = "SHOP_DB_PASSWORD"\n',
         "SHOP_DB_PASSWORD"),
        ('[cron.environment]\nAPI_TOKEN = "hunter2secret"\n', "API_TOKEN"),
    ]
    for extra, name in cases:
        conf.write_text(base + extra)
        for argv in (["cron", "show"], ["config", "check"]):
            result = CliRunner().invoke(cli, ["--config", str(conf), *argv])
            assert result.exit_code == 2, result.output
            assert "hunter2secret" not in result.output
            assert f"[cron] environment {name}" in result.output
            assert "password_file" in result.output


def test_config_check_masks_cron_environment(tmp_path: Path) -> None:
    conf = tmp_path / "w.toml"
    conf.write_text(f'[warehouse]\nroot = "data"\n[cron]\nwarehouse_bin = "{WAREHOUSE_BIN}"\n'
                    '[cron.environment]\nAWS_DEFAULT_REGION = "eu-west-1"\n'
                    'SHOP_DB_PASSWORD_FILE = "/etc/shop.pw"\n')
    result = CliRunner().invoke(cli, ["--config", str(conf), "config", "check"])
    assert result.exit_code == 0, result.output
    assert 'environment = { AWS_DEFAULT_REGION = "***", SHOP_DB_PASSWORD_FILE = "***" }' in result.output
    assert "eu-west-1" not in result.output and "/etc/shop.pw" not in result.output
    shown = CliRunner().invoke(cli, ["--config", str(conf), "cron", "show"])
    assert shown.exit_code == 0, shown.output
    assert "AWS_DEFAULT_REGION=eu-west-1 SHOP_DB_PASSWORD_FILE=/etc/shop.pw" in shown.output


def test_cron_warns_that_a_password_env_is_not_in_the_crontab(
    fake_crontab: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The crontab never carries secrets, so a password_env the operator exported in their
    shell is not there at night: `cron show` and `cron install` say so (stderr, exit 0)."""
    conf = tmp_path / "w.toml"
    conf.write_text(
        f'[warehouse]\nroot = "data"\n[cron]\nwarehouse_bin = "{WAREHOUSE_BIN}"\n'
        f'log_dir = "{tmp_path / "logs"}"\n'
        '[mysql.shop]\nhost = "db"\nuser = "etl"\npassword_env = "SHOP_DB_PASSWORD"\n'
        'databases = ["shop"]\n'
    )
    monkeypatch.setenv("SHOP_DB_PASSWORD", "hunter2-secret")
    monkeypatch.setenv("PATH", f"{fake_crontab.parent}:{os.environ['PATH']}")
    for command in ("show", "install"):
        result = CliRunner().invoke(cli, ["--config", str(conf), "cron", command])
        assert result.exit_code == 0, result.output
        assert "[mysql.shop] password_env = 'SHOP_DB_PASSWORD': the crontab does not set " \
            "$SHOP_DB_PASSWORD" in result.stderr
        assert "use password_file" in result.stderr
        assert "SHOP_DB_PASSWORD" not in result.stdout and "hunter2" not in result.output
    assert "SHOP_DB_PASSWORD" not in (fake_crontab.parent / "table").read_text()


SECRET_VALUE = "Zx9-very-secret-value"
SECRET_ENV_CASES = [
    pytest.param('MYSQL_PWD = "Zx9-very-secret-value"\n', "MYSQL_PWD", id="mysql-pwd"),
    pytest.param('DB_PASS = "Zx9-very-secret-value"\n', "DB_PASS", id="db-pass"),
    pytest.param('SHOP_PW = "Zx9-very-secret-value"\n', "SHOP_PW", id="pw"),
    pytest.param('ssh_passphrase = "Zx9-very-secret-value"\n', "ssh_passphrase", id="lower"),
    pytest.param('DATABASE_URL = "mysql://etl:Zx9-very-secret-value@db.internal:3306/shop"\n',
                 "DATABASE_URL", id="url-with-password"),
    # named innocently, but holding the password the config reads from its file / variable
    pytest.param('EXTRA = "Zx9-very-secret-value"\n', "EXTRA", id="password-file-content"),
    pytest.param('JAVA_OPTS = "-Dpw=Zx9-very-secret-value"\n', "JAVA_OPTS",
                 id="password-file-inside"),
    pytest.param('OTHER = "Env-Zx9-secret"\n', "OTHER", id="password-env-value"),
]


@pytest.mark.parametrize(("env", "name"), SECRET_ENV_CASES)
def test_secret_values_in_cron_environment_are_refused(
    fake_crontab: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: str, name: str
) -> None:
    """Issue 21 item 6: a secret by name (MYSQL_PWD, DB_PASS), a URL with a password, or
    the value of a password the config reads is refused by `cron show`, `cron install`
    and `config check` (exit 2, pointing to password_file), and never printed."""
    pw = tmp_path / "shop.pass"
    pw.write_text(SECRET_VALUE + "\n")
    monkeypatch.setenv("BILLING_DB", "Env-Zx9-secret")
    monkeypatch.setenv("PATH", f"{fake_crontab.parent}:{os.environ['PATH']}")
    conf = tmp_path / "w.toml"
    conf.write_text(
        f'[warehouse]\nroot = "data"\n[cron]\nwarehouse_bin = "{WAREHOUSE_BIN}"\n'
        f'log_dir = "{tmp_path / "logs"}"\n[cron.environment]\nAWS_DEFAULT_REGION = "eu-west-1"\n'
        f'PWD = "/home/etl"\nREPORT_URL = "https://etl@example.com/x"\n{env}'
        f'[mysql.shop]\nuser = "etl"\ndatabases = ["shop"]\npassword_file = "{pw}"\n'
        '[mysql.billing]\nuser = "etl"\ndatabases = ["b"]\npassword_env = "BILLING_DB"\n'
    )
    table = fake_crontab.parent / "table"
    for argv in (["cron", "show"], ["cron", "install"], ["config", "check"]):
        result = CliRunner().invoke(cli, ["--config", str(conf), *argv])
        assert result.exit_code == 2, result.output
        assert SECRET_VALUE not in result.output and "Env-Zx9-secret" not in result.output
        said = [ln for ln in result.output.splitlines() if f"[cron] environment {name} " in ln]
        assert len(said) == 1 and "password_file" in said[0], result.output
        # the innocent ones beside it are not refused
        for fine in ("AWS_DEFAULT_REGION", "PWD", "REPORT_URL"):
            assert f"[cron] environment {fine} " not in result.output
    assert not table.exists()  # nothing installed


def test_innocent_cron_environment_is_installed(
    fake_crontab: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", f"{fake_crontab.parent}:{os.environ['PATH']}")
    conf = tmp_path / "w.toml"
    conf.write_text(
        f'[warehouse]\nroot = "data"\n[cron]\nwarehouse_bin = "{WAREHOUSE_BIN}"\n'
        f'log_dir = "{tmp_path / "logs"}"\n[cron.environment]\nPWD = "/home/etl"\n'
        'REPORT_URL = "https://etl@example.com/x"\nSHOP_DB_PASSWORD_FILE = "/etc/pw"\n'
    )
    result = CliRunner().invoke(cli, ["--config", str(conf), "cron", "install"])
    assert result.exit_code == 0, result.output
    assert "REPORT_URL=https://etl@example.com/x" in (fake_crontab.parent / "table").read_text()
