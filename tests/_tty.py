"""Run the `warehouse` command with its stderr on a pseudo-terminal (progress is drawn
only there) or on a pipe, and return what it wrote."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import threading


def run_cli(
    args: list[str], *, tty: bool, timeout: float = 300, both: bool = False
) -> tuple[int, str, str]:
    """Run `python -m warehouse.cli ARGS`; return (exit code, stdout, stderr).

    With `tty`, stderr is the slave side of a pty (stdout stays a pipe), read from the
    master while the command runs; with `both` too, stdout goes to the same terminal (as
    in an interactive shell) and what the terminal showed is returned as stderr."""
    argv = [sys.executable, "-m", "warehouse.cli", *args]
    env = {**os.environ, "COLUMNS": "100"}
    if not tty:
        proc = subprocess.run(argv, capture_output=True, timeout=timeout, env=env, check=False)
        return proc.returncode, proc.stdout.decode(), proc.stderr.decode()
    master, slave = pty.openpty()
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the slave side closed
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        proc = subprocess.run(
            argv, stdout=slave if both else subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL,
            timeout=timeout, env=env, check=False,
        )
    finally:
        os.close(slave)
        reader.join(timeout=10)
        os.close(master)
    out = b"" if both else proc.stdout
    return proc.returncode, out.decode(), b"".join(chunks).decode(errors="replace")
