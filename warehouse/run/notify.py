"""Alerts at the end of `warehouse run` (`[run] notify`, `notify_on`).

Each target gets the same text: the run's summary line, then one line per failed (date,
stage). An interrupted run (Ctrl-C, or SIGTERM from cron, systemd or `kill`; exit 130) is
told as such, not as a failure: its first line is `run D: interrupted (SIGTERM), exit 130:
...` and the SNS subject `warehouse run D: interrupted (exit 130)`. `notify_on = "failure"`
(the default) covers it: a nightly run that did not finish is something to hear about. `sns:TOPIC_ARN` publishes it (boto3 through `warehouse.awsclient`: bounded by
`notify_timeout_seconds`, one retry); `command:PROGRAM [ARGS]` runs the program with the
text on stdin and `WAREHOUSE_RUN_EXIT` (the run's exit code) and `WAREHOUSE_RUN_OUTCOME`
(`ok`, `failed` or `interrupted`) in its environment, killed
with its process group after `notify_timeout_seconds`. A notification that fails is
logged in one line and changes nothing else: the run's exit code stands.
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import signal
import subprocess
from collections.abc import Iterable
from contextlib import suppress
from pathlib import Path

from warehouse.config import Config
from warehouse.errors import EXIT_CLASSES, EXIT_INTERRUPTED, EXIT_OK
from warehouse.run.summary import RunSummary

log = logging.getLogger(__name__)

_SNS_MAX = 200_000  # bytes of message; SNS takes 256 KiB
_SUBJECT_MAX = 99


def run_text(summary: RunSummary) -> str:
    """Return the text the targets get: the summary line (after a headline saying so for
    an interrupted run), then each failure."""
    lines = [summary.line()]
    if summary.interrupted:
        first, last = summary.dates[0], summary.dates[-1]
        span = first.isoformat() if first == last else f"{first}..{last}"
        lines.insert(0, f"run {span}: interrupted ({summary.interrupted_by}), exit "
                        f"{EXIT_INTERRUPTED}: what finished is kept, the next run does the rest")
    for r in summary.failed():
        cls = EXIT_CLASSES.get(r.exit_code, "?")
        lines.append(f"{r.day} {r.stage}: exit {r.exit_code} ({cls}): {r.detail}")
    return "\n".join(lines) + "\n"


def error_text(dates: Iterable[object], message: str, code: int) -> str:
    """Return the text for a run that stopped before its stages (a lock held, S3 down)."""
    days = sorted(str(d) for d in dates)
    span = days[0] if len(days) == 1 else f"{days[0]}..{days[-1]}"
    return f"run {span}: exit {code} ({EXIT_CLASSES.get(code, '?')}): {message}\n"


def notify(cfg: Config, text: str, exit_code: int) -> list[str]:
    """Send `text` to every `[run] notify` target when `notify_on` asks for it; return the
    targets that failed (each logged in one line). Never raises for a target's failure."""
    run = cfg.run
    if not run.notify or (exit_code == EXIT_OK and run.notify_on != "always"):
        return []
    failed = []
    for target in run.notify:
        kind, _, value = target.partition(":")
        try:
            if kind == "sns":
                _publish(cfg, value, text, exit_code)
            else:
                _command(cfg, value, text, exit_code)
        except Exception as exc:  # an alert must never change the run's outcome
            from warehouse.redact import redact

            log.warning("notify %s failed: %s", target, redact(_one_line(exc)))
            failed.append(target)
        else:
            log.info("notify %s: sent", target)
    return failed


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def _publish(cfg: Config, arn: str, text: str, exit_code: int) -> None:
    from warehouse.awsclient import aws_client

    region = arn.split(":")[3]
    timeout = cfg.run.notify_timeout_seconds
    client = aws_client(
        "sns", region=region, endpoint_url=cfg.run.sns_endpoint_url,
        connect_timeout=timeout, read_timeout=timeout, max_attempts=2,
    )
    first = text.splitlines()[0]
    head = {EXIT_OK: "ok", EXIT_INTERRUPTED: f"interrupted (exit {exit_code})"}.get(
        exit_code, f"exit {exit_code}"
    )
    subject = f"warehouse {first.split(':')[0]}: {head}"[:_SUBJECT_MAX]
    message = text.encode()[:_SNS_MAX].decode(errors="ignore")
    client.publish(TopicArn=arn, Subject=subject.encode("ascii", "replace").decode(),
                   Message=message)


def command_argv(cfg: Config, value: str) -> list[str]:
    """Return the argv of a `command:` target (a relative program path resolves against
    the config's folder); raises ValueError when it cannot be split."""
    argv = shlex.split(value)
    if not argv:
        raise ValueError("no program named")
    prog = argv[0]
    if "/" in prog and not os.path.isabs(prog):
        argv[0] = str(cfg.base_dir / prog)
    elif "/" not in prog:
        argv[0] = shutil.which(prog) or prog
    return argv


def command_problem(cfg: Config, value: str) -> str | None:
    """Return why the program of a `command:` target cannot run, or None."""
    try:
        prog = command_argv(cfg, value)[0]
    except ValueError as exc:
        return str(exc)
    path = Path(prog)
    if not path.is_file() or not os.access(path, os.X_OK):
        return f"{prog} is not an executable file"
    return None


def _command(cfg: Config, value: str, text: str, exit_code: int) -> None:
    argv = command_argv(cfg, value)
    outcome = {EXIT_OK: "ok", EXIT_INTERRUPTED: "interrupted"}.get(exit_code, "failed")
    env = dict(os.environ, WAREHOUSE_RUN_EXIT=str(exit_code), WAREHOUSE_RUN_OUTCOME=outcome)
    timeout = cfg.run.notify_timeout_seconds
    proc = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env=env, start_new_session=True,  # its own group: killed whole on a timeout
    )
    try:
        _, err = proc.communicate(text.encode(), timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise TimeoutError(f"{argv[0]} still running after {timeout:g}s; killed") from None
    except BaseException:  # Ctrl-C while it runs: its own session would outlive the run
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    if proc.returncode:
        tail = err.decode(errors="replace").strip().splitlines()
        raise RuntimeError(
            f"{argv[0]} exited {proc.returncode}" + (f": {tail[-1]}" if tail else "")
        )
