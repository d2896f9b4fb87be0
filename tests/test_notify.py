"""`[run] notify`: a failing night publishes to SNS (moto's server, read back through an
SQS subscription) and runs a real command with the text on stdin; a notification that
fails is one log line and leaves the run's exit code alone. Through the CLI."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.test_pipeline import DAY1, base_config, write_config, write_day_logs
from warehouse.cli import cli

DAY3 = "2015-05-20"  # no logs that day: its parse fails, exit 4


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def _queue(moto_server: str, topic_name: str) -> tuple[str, Any, str]:
    """Return (topic ARN, SQS client, queue URL): a queue subscribed to a new topic."""
    import boto3

    kw: dict[str, Any] = {"endpoint_url": moto_server, "region_name": "us-east-1"}
    sns, sqs = boto3.client("sns", **kw), boto3.client("sqs", **kw)
    arn = sns.create_topic(Name=topic_name)["TopicArn"]
    url = sqs.create_queue(QueueName=f"{topic_name}-q")["QueueUrl"]
    qarn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=qarn,
                  Attributes={"RawMessageDelivery": "false"})
    return arn, sqs, url


def _messages(sqs: Any, url: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        out.extend(json.loads(m["Body"]) for m in got.get("Messages", []))
        if out:
            break
    return out


def _config(tmp_path: Path, moto_server: str, notify: list[str], **run: Any) -> Path:
    write_day_logs(tmp_path / "logs", [DAY1])
    data = base_config(tmp_path)
    data["run"] = {"notify": notify, "sns_endpoint_url": moto_server,
                   "notify_timeout_seconds": 5.0, **run}
    return write_config(tmp_path / "w.toml", data)


def test_a_failing_night_publishes_to_sns_and_runs_the_command(
    tmp_path: Path, moto_server: str
) -> None:
    arn, sqs, url = _queue(moto_server, "wh-fail")
    out = tmp_path / "alert.txt"
    prog = _script(tmp_path / "page-me", f'cat > {out}\necho "exit=$WAREHOUSE_RUN_EXIT" >> {out}\n')
    conf = _config(tmp_path, moto_server, [f"sns:{arn}", f"command:{prog}"])

    # a good night: notify_on = "failure" (the default) sends nothing
    r = CliRunner().invoke(cli, ["--config", str(conf), "run", "--date", str(DAY1)])
    assert r.exit_code == 0, r.output
    assert not out.exists()
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages") is None

    r = CliRunner().invoke(cli, ["--config", str(conf), "run", "--date", DAY3])
    assert r.exit_code == 4, r.output
    summary = r.output.strip().splitlines()[-1]
    text = out.read_text().splitlines()
    assert text[0] == summary
    assert text[1].startswith(f"{DAY3} parse: exit 4 (input missing): input ")
    assert text[-1] == "exit=4"
    msgs = _messages(sqs, url)
    assert len(msgs) == 1
    assert msgs[0]["Subject"] == f"warehouse run {DAY3}: exit 4"
    assert msgs[0]["Message"].splitlines() == text[:-1]

    # no sns_endpoint_url: boto3's own AWS_ENDPOINT_URL applies (as for the AWS CLI)
    conf.write_text(conf.read_text().replace(f'sns_endpoint_url = "{moto_server}"\n', ""))
    assert "sns_endpoint_url" not in conf.read_text()
    r = CliRunner().invoke(cli, ["--config", str(conf), "run", "--date", DAY3],
                           env={"AWS_ENDPOINT_URL": moto_server})
    assert r.exit_code == 4, r.output
    assert len(_messages(sqs, url)) == 1


def test_a_run_that_cannot_start_is_notified_too(tmp_path: Path, moto_server: str,
                                                 s3_client: Any) -> None:
    out = tmp_path / "alert.txt"
    prog = _script(tmp_path / "alert", f'cat > {out}\necho "exit=$WAREHOUSE_RUN_EXIT" >> {out}\n')
    conf = _config(tmp_path, moto_server, ["command:./alert"])  # relative to the config
    data = (tmp_path / "w.toml").read_text()
    data = data.replace(f'root = "{tmp_path / "root"}"', 'root = "s3://no-such-bucket-wh/x"')
    conf.write_text(data + f'[s3]\nendpoint_url = "{moto_server}"\n')
    r = CliRunner().invoke(cli, ["--config", str(conf), "run", "--date", str(DAY1)])
    assert r.exit_code == 3, r.output
    text = out.read_text()
    assert text.startswith(f"run {DAY1}: exit 3 (source unavailable): ") and "no-such-bucket-wh" in text
    assert prog.exists() and text.endswith("exit=3\n")


def test_a_failing_notification_is_one_line_and_keeps_the_exit_code(
    tmp_path: Path, moto_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    fail = _script(tmp_path / "fail", "echo 'mail server down' >&2\nexit 7\n")
    hang = _script(tmp_path / "hang", "sleep 60 &\nsleep 60\n")
    ok = tmp_path / "ok.txt"
    good = _script(tmp_path / "good", f'cat > {ok}\n')
    missing = "arn:aws:sns:us-east-1:123456789012:no-such-topic"
    conf = _config(tmp_path, moto_server,
                   [f"sns:{missing}", f"command:{fail}", f"command:{hang}", f"command:{good}"],
                   notify_on="always", notify_timeout_seconds=1.0)
    t0 = time.monotonic()
    r = CliRunner().invoke(cli, ["--config", str(conf), "run", "--date", str(DAY1)])
    assert r.exit_code == 0, r.output
    assert time.monotonic() - t0 < 60
    warned = [m for m in caplog.messages if m.startswith("notify ")]
    assert len(warned) == 3, warned
    assert all("\n" not in m for m in warned)
    assert "no-such-topic" in warned[0]
    assert f"{fail} exited 7: mail server down" in warned[1]
    assert "still running after 1s; killed" in warned[2]
    assert ok.read_text().startswith(f"run {DAY1}: parse ok")  # the others still run


def test_config_check_validates_notify(tmp_path: Path, moto_server: str) -> None:
    conf = _config(tmp_path, moto_server,
                   ["sns:not-an-arn", "mail:ops@example.com", f"command:{tmp_path / 'nope'}"],
                   notify_on="sometimes")
    r = CliRunner().invoke(cli, ["--config", str(conf), "config", "check"])
    assert r.exit_code == 2, r.output
    assert "'not-an-arn' is not an SNS topic ARN" in r.output
    assert "'mail:ops@example.com': use \"sns:TOPIC_ARN\"" in r.output
    assert "notify_on must be 'failure' or 'always', not 'sometimes'" in r.output
    assert f"{tmp_path / 'nope'} is not an executable file" in r.output
    assert os.environ.get("WAREHOUSE_RUN_EXIT") is None


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_an_interrupted_run_is_notified_as_interrupted(
    tmp_path: Path, moto_server: str, how: str
) -> None:
    """Ctrl-C (SIGINT to the process group, what a terminal sends) or SIGTERM to the run's
    pid alone (`kill PID`: cron, systemd, timeout): the run ends with exit 130, and the SNS
    subject, the text's first line and the command's environment say "interrupted" (an
    interrupted night is told under notify_on = "failure", worded as what it is)."""
    import gzip
    import signal
    import subprocess

    from tests.fixtures._util import sigint_default
    from tests.test_interrupt import _wait_for
    from tests.test_pipeline import WAREHOUSE_BIN

    arn, sqs, url = _queue(moto_server, f"wh-int-{how}")
    out = tmp_path / "alert.txt"
    prog = _script(tmp_path / "page-me", f'cat > {out}\necho "exit=$WAREHOUSE_RUN_EXIT '
                                         f'outcome=$WAREHOUSE_RUN_OUTCOME" >> {out}\n')
    conf = _config(tmp_path, moto_server, [f"sns:{arn}", f"command:{prog}"])
    folder = tmp_path / "logs" / DAY1.strftime("%Y/%m/%d")
    day = gzip.decompress((folder / "access.log.gz").read_bytes())
    with open(folder / "big.log", "wb") as f:  # long enough to be interrupted in its parse
        for _ in range(150):
            f.write(day)
    proc = subprocess.Popen([WAREHOUSE_BIN, "--config", str(conf), "run", "--date", str(DAY1)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, preexec_fn=sigint_default)  # fmt: skip
    try:
        _wait_for(tmp_path / "root/_state/runs" / str(DAY1) / "parse.json", "running", proc, 300)
        time.sleep(0.5)
        if how == "ctrl-c":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            os.kill(proc.pid, signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    word = "Ctrl-C" if how == "ctrl-c" else "SIGTERM"
    assert proc.returncode == 130, stdout.decode() + stderr.decode()
    summary = stdout.decode().strip().splitlines()[-1]
    assert f"INTERRUPTED ({word})" in summary, summary
    text = out.read_text().splitlines()
    assert text[0].startswith(f"run {DAY1}: interrupted ({word}), exit 130: "), text
    assert text[1] == summary
    assert text[-1] == "exit=130 outcome=interrupted"
    msgs = _messages(sqs, url)
    assert len(msgs) == 1
    assert msgs[0]["Subject"] == f"warehouse run {DAY1}: interrupted (exit 130)"
    assert msgs[0]["Message"].splitlines() == text[:-1]
    assert "Traceback" not in stderr.decode()
    rec = json.loads((tmp_path / "root/_state/runs" / str(DAY1) / "parse.json").read_text())
    assert (rec["status"], rec["exit_code"]) == ("failed", 130), rec  # redone next time
    # the lock was released: the next run finishes the day
    again = subprocess.run([WAREHOUSE_BIN, "--config", str(conf), "run", "--date", str(DAY1)],
                           capture_output=True, text=True, timeout=600, check=False)
    assert again.returncode == 0, again.stdout + again.stderr
