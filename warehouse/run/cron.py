"""The nightly crontab on the EMR master: render it, and install it as a marked block.

The block runs `warehouse -v run` under `flock -n -E 6 LOCK` (a second run exits 6 at
once instead of piling up; `run` takes the same lock itself, see warehouse/lock.py),
with PATH and the environment set explicitly (cron's own environment is nearly empty),
appending to a dated log file `LOG_DIR/run-YYYY-MM-DD.log`. With `catchup_days` > 1
each night re-runs the last N days: stages already complete are skipped, so a night
that failed is retried the next night. A weekly line deletes logs older than
`keep_log_days`.

`install_crontab` reads `crontab -l`, replaces the lines between the BEGIN and END
markers (or appends the block), and writes the result back with `crontab -`; lines
outside the block are kept byte for byte, so installing twice changes nothing.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from warehouse.config import CONFIG_ENV, ROOT_ENV, Config, cron_environment_problems
from warehouse.errors import ConfigError, SourceUnavailable

BEGIN = "# BEGIN warehouse nightly run (managed by `warehouse cron install`; edits inside are replaced)"
END = "# END warehouse nightly run"
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"


def _cron_escape(text: str) -> str:
    """Escape `%`, which cron turns into a newline in the command field."""
    return text.replace("%", "\\%")


def warehouse_executable(cfg: Config) -> str:
    """Return the `warehouse` executable cron should run ([cron] warehouse_bin or this one)."""
    if cfg.cron.warehouse_bin:
        return cfg.cron.warehouse_bin
    beside = Path(sys.executable).parent / "warehouse"
    if beside.exists():
        return str(beside)
    found = shutil.which("warehouse")
    if found:
        return str(Path(found).absolute())
    raise ConfigError("cannot find the warehouse executable; set [cron] warehouse_bin")


def _environment(cfg: Config, exe: str) -> list[tuple[str, str]]:
    """Return the variables the cron job sets, in a stable order."""
    bin_dir = str(Path(exe).parent)
    path = SYSTEM_PATH if bin_dir in SYSTEM_PATH.split(":") else f"{bin_dir}:{SYSTEM_PATH}"
    env = [("PATH", path), ("LC_ALL", "C.UTF-8")]
    if cfg.path is not None:
        env.append((CONFIG_ENV, str(cfg.path)))
    else:
        # Embedded defaults: the root would resolve against cron's cwd ($HOME); pin it.
        env.append((ROOT_ENV, cfg.root))
    secrets = cron_environment_problems(cfg)
    if secrets:
        raise ConfigError(secrets[0])
    for key, value in sorted(cfg.cron.environment.items()):
        if key in ("PATH", CONFIG_ENV, ROOT_ENV):
            raise ConfigError(f"[cron] environment may not set {key}; it is set from the config")
        env.append((key, value))
    return env


def password_env_warnings(cfg: Config) -> list[str]:
    """Return a warning per `password_env` the crontab leaves unset: secrets stay off the
    crontab line, so the nightly run sees such a variable only if cron's own environment
    has it (it usually does not)."""
    named = [(f"[mysql.{n}]", s.password_env) for n, s in cfg.mysql.items() if s.password_env]
    if cfg.hive is not None and cfg.hive.password_env:
        named.append(("[hive]", cfg.hive.password_env))
    return [
        f"{where} password_env = {var!r}: the crontab does not set ${var} (secrets stay off "
        "its line), so the nightly run sees it only if cron's own environment has it; "
        "use password_file instead"
        for where, var in named
        if var not in cfg.emr.environment  # set from a secret file by the CLI itself
    ]


def _dates_args(catchup_days: int) -> str:
    if catchup_days <= 1:
        return "--date yesterday"
    return f"--from \"$(date -u -d '{catchup_days} days ago' +%F)\" --to yesterday"


def _shell_path(path: str) -> str:
    """Quote a path for sh; a leading `~/` becomes "$HOME"/ (cron sets HOME, not ~)."""
    if path == "~" or path.startswith("~/"):
        rest = path[2:]
        return '"$HOME"' + (f"/{shlex.quote(rest)}" if rest else "")
    return shlex.quote(path)


def render_crontab(cfg: Config) -> str:
    """Return the crontab block (BEGIN/END markers included); raises ConfigError."""
    c = cfg.cron
    fields = c.schedule.split()
    if len(fields) != 5:
        raise ConfigError(
            f"[cron] schedule {c.schedule!r} must have 5 time fields, e.g. \"30 2 * * *\""
        )
    exe = warehouse_executable(cfg)
    log_dir = str(Path(c.log_dir).expanduser())
    q = shlex.quote
    env = " ".join(f"{k}={q(v)}" for k, v in _environment(cfg, exe))
    log_file = f"{q(log_dir)}/run-$(date -u +%F).log"
    lock, lock_dir = _shell_path(c.lock_file), _shell_path(str(Path(c.lock_file).parent))
    # flock(1) creates the file but not its folder; a new folder is private (0700), so no
    # other user can plant a symlink there or create the file first (see warehouse/lock.py)
    run = (
        f"mkdir -p {q(log_dir)} && mkdir -p -m 0700 {lock_dir} && /usr/bin/env {env} "
        f"flock -n -E 6 {lock} {q(exe)} -v run {_dates_args(c.catchup_days)} "
        f">> {log_file} 2>&1"
    )
    cleanup = (
        f"find {q(log_dir)} -maxdepth 1 -name 'run-*.log' -mtime +{c.keep_log_days} -delete"
    )
    lines = [
        BEGIN,
        f"# config: {cfg.path or '(embedded defaults)'}; root: {cfg.root}",
        f"# logs: {log_dir}/run-YYYY-MM-DD.log (UTC dates); lock: {c.lock_file} (exit 6 = a run "
        "is still going)",
        f"{' '.join(fields)} {_cron_escape(run)}",
        f"17 4 * * 0 {_cron_escape(cleanup)}",
        END,
    ]
    return "\n".join(lines) + "\n"


def replace_block(current: str, block: str) -> str:
    """Return `current` crontab text with the marked block replaced (or appended)."""
    lines = current.splitlines(keepends=True)
    begin = next((i for i, ln in enumerate(lines) if ln.rstrip("\n") == BEGIN), None)
    if begin is not None:
        end = next(
            (i for i in range(begin, len(lines)) if lines[i].rstrip("\n") == END), None
        )
        if end is None:
            raise ConfigError(
                "crontab has the warehouse BEGIN marker but no END marker; fix it with "
                "`crontab -e` and install again"
            )
        return "".join(lines[:begin]) + block + "".join(lines[end + 1 :])
    if current and not current.endswith("\n"):
        current += "\n"
    return current + block


def _crontab_argv(crontab: str | None) -> list[str]:
    return [crontab or "crontab"]


def read_crontab(crontab: str | None = None) -> str:
    """Return the user's crontab ('' when there is none); raises SourceUnavailable."""
    argv = [*_crontab_argv(crontab), "-l"]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise SourceUnavailable(
            f"{argv[0]} not found; install cron (cronie on Amazon Linux) first"
        ) from None
    if proc.returncode != 0:
        if "no crontab" in proc.stderr.lower():
            return ""
        raise SourceUnavailable(
            f"`{' '.join(argv)}` failed (exit {proc.returncode}): {proc.stderr.strip()[-300:]}"
        )
    return proc.stdout


def install_crontab(cfg: Config, *, crontab: str | None = None) -> str:
    """Install the block into the user's crontab; return a one-line message."""
    block = render_crontab(cfg)
    current = read_crontab(crontab)
    new = replace_block(current, block)
    if new == current:
        return "cron install: crontab already up to date"
    argv = [*_crontab_argv(crontab), "-"]
    try:
        proc = subprocess.run(argv, input=new, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise SourceUnavailable(f"{argv[0]} not found; install cron first") from None
    if proc.returncode != 0:
        raise SourceUnavailable(
            f"`{' '.join(argv)}` failed (exit {proc.returncode}): {proc.stderr.strip()[-300:]}"
        )
    verb = "replaced" if BEGIN in current else "added"
    return f"cron install: {verb} the warehouse block ({cfg.cron.schedule}); see `crontab -l`"
