"""The `openssh` tunnel backend: the system `ssh -N -L` as a child process.

`ssh_argv()` (pure) builds the command; `OpenSshTunnel` runs it and keeps the paramiko
backend's guarantees:
- host keys: `StrictHostKeyChecking=yes` against `known_hosts` only
  (`UserKnownHostsFile=<known_hosts>`, `GlobalKnownHostsFile=/dev/null`, `-F /dev/null`
  so no ~/.ssh/config or /etc/ssh/ssh_config changes the rules); `allow_unknown_host`
  becomes `accept-new` (records an unknown key, still refuses a changed one). Refusals
  are HostKeyRefused (exit 3) with the same one-line messages as paramiko's.
- `BatchMode=yes`: never a prompt; `IdentitiesOnly=yes -i key_file` offers only that key.
- the forward listens on `bind_address` (`-L BIND:PORT:HOST:PORT`: OpenSSH honours an
  explicit local bind address, the `ssh -g` lesson), `ExitOnForwardFailure=yes`; with
  bind_port 0 a free port is picked here and the start retried if another process takes
  it first. `start()` returns once the ssh process owns a listening socket on that port
  (read from /proc; elsewhere a TCP connect probe), polling with a deadline.
- a frozen bastion: `ServerAliveInterval=<keepalive_seconds>` (whole seconds, at least 1)
  and `ServerAliveCountMax=2`: ssh exits after about three unanswered intervals, which
  closes every forwarded connection; a monitor thread then sets `.error`.
- no secret on argv (none exists: the key is a file path, MySQL passwords never reach
  ssh), nor in its environment: ssh gets only PATH, HOME, USER, LOGNAME, LANG and, when
  no key_file is set, SSH_AUTH_SOCK (a `password_env` variable stays with us). stderr
  goes to an unlinked temporary file, read only to explain a failure.
- the child is its own process group (a terminal's Ctrl-C reaches us, not it, so
  we stop it in order) and gets SIGTERM if this process dies (Linux PR_SET_PDEATHSIG);
  `close()` stops the group by PID: SIGTERM, then SIGKILL after 5 s. PR_SET_PDEATHSIG
  follows the thread that started the tunnel: start it in a thread that outlives it.
"""

from __future__ import annotations

import ctypes
import math
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from contextlib import suppress
from typing import IO, Any

from warehouse.config import SshConfig
from warehouse.errors import ConfigError, SourceUnavailable
from warehouse.tunnel.common import (
    ForwardBase,
    HostKeyRefused,
    TunnelDown,
    changed_key_message,
    check_bind,
    describe,
    frozen_message,
    log,
    unknown_key_message,
)
from warehouse.tunnel.procnet import free_port, listening

ALIVE_COUNT_MAX = 2
_CIPHERS = ",".join([
    "aes128-gcm@openssh.com", "chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com",
    "aes128-ctr", "aes192-ctr", "aes256-ctr",
])
_PORT_ATTEMPTS = 3
_POLL = 0.005  # a /proc/PID/fd listing costs ~50 us: poll often, ssh is ready sooner than 20 ms


def keepalive_interval(ssh_cfg: SshConfig) -> int:
    """Return ServerAliveInterval in whole seconds (0: keepalives off)."""
    if ssh_cfg.keepalive_seconds <= 0:
        return 0
    return max(1, math.ceil(ssh_cfg.keepalive_seconds))


def _host(addr: str) -> str:
    return f"[{addr}]" if ":" in addr else addr


def _opt_value(value: str) -> str:
    # ssh -o splits its value on whitespace unless quoted
    return f'"{value}"' if any(c.isspace() for c in value) else value


def _path(value: str) -> str:
    # ssh expands %-tokens (%h, %u, ...) in known-hosts and identity paths
    return os.path.expanduser(value).replace("%", "%%")


def ssh_argv(
    ssh_cfg: SshConfig,
    ssh_bin: str,
    bind_address: str,
    bind_port: int,
    remote_host: str,
    remote_port: int,
) -> list[str]:
    """Return the `ssh -N -L` argv of this forward (no secret is ever part of it)."""
    known = ssh_cfg.known_hosts or "/dev/null"
    strict = "accept-new" if ssh_cfg.allow_unknown_host else "yes"
    opts = {
        "BatchMode": "yes",
        "StrictHostKeyChecking": strict,
        "UserKnownHostsFile": _opt_value(_path(known)),
        "GlobalKnownHostsFile": "/dev/null",
        "HashKnownHosts": "no",
        "UpdateHostKeys": "no",
        "CheckHostIP": "no",
        "ExitOnForwardFailure": "yes",
        "ConnectTimeout": str(max(1, math.ceil(ssh_cfg.connect_timeout_seconds))),
        "ConnectionAttempts": "1",
        "PasswordAuthentication": "no",
        "KbdInteractiveAuthentication": "no",
        "ClearAllForwardings": "no",
        # AES-GCM first: with AES-NI it costs ssh and sshd ~25% less CPU than chacha20
        # (the default first choice); every name here exists since OpenSSH 6.5
        "Ciphers": _CIPHERS,
        "LogLevel": "INFO",
    }
    interval = keepalive_interval(ssh_cfg)
    if interval:
        opts["ServerAliveInterval"] = str(interval)
        opts["ServerAliveCountMax"] = str(ALIVE_COUNT_MAX)
    if ssh_cfg.key_file:
        opts["IdentitiesOnly"] = "yes"
    argv = [ssh_bin, "-N", "-F", "/dev/null"]
    for key, value in opts.items():
        argv += ["-o", f"{key}={value}"]
    if ssh_cfg.key_file:
        argv += ["-i", _path(ssh_cfg.key_file)]
    forward = f"{_host(bind_address)}:{bind_port}:{_host(remote_host)}:{remote_port}"
    argv += ["-L", forward, "-p", str(ssh_cfg.port), "-l", ssh_cfg.user, "--", ssh_cfg.host]
    return argv


def find_ssh(ssh_cfg: SshConfig) -> str:
    """Return the path of the OpenSSH client; raises ConfigError when there is none."""
    found = shutil.which("ssh")
    if found is None:
        raise ConfigError(
            f"[ssh.{ssh_cfg.name}] backend openssh needs the OpenSSH client `ssh` on PATH; "
            'install it (apt install openssh-client) or set backend = "paramiko"'
        )
    return found


_ENV_KEEP = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL")


def ssh_env(ssh_cfg: SshConfig, environ: dict[str, str] | None = None) -> dict[str, str]:
    """Return the environment of the ssh child: the few variables ssh needs, nothing more."""
    source = dict(os.environ) if environ is None else environ
    keep = _ENV_KEEP if ssh_cfg.key_file else (*_ENV_KEEP, "SSH_AUTH_SOCK")
    return {k: source[k] for k in keep if k in source}


def _parent_death_hook() -> Any:
    """Return a preexec_fn that asks Linux to SIGTERM the child when we die (None elsewhere)."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def hook() -> None:  # runs in the child between fork and exec: nothing that may lock
        prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG

    return hook


_PORT_TAKEN = re.compile(r"Address already in use|cannot listen to port|Could not request local")


class OpenSshTunnel(ForwardBase):
    """A running `ssh -N -L`: `.address` is (host, port); `.error` is set once it dropped."""

    def _init_backend(self) -> None:
        self.argv: list[str] = []
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._closing = threading.Event()
        self._lock = threading.Lock()
        self._monitor: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        """Return the ssh process id while it runs."""
        return self._proc.pid if self._proc is not None else None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> tuple[str, int]:
        """Start ssh and wait until it listens; return (host, port); raises SourceUnavailable."""
        check_bind(self.cfg, self.bind_address)
        ssh_bin = find_ssh(self.cfg)
        attempts = _PORT_ATTEMPTS if self.bind_port == 0 else 1
        for attempt in range(attempts):
            port = self.bind_port or self._pick_port()
            self.argv = ssh_argv(self.cfg, ssh_bin, self.bind_address, port, *self.remote)
            try:
                self._run_until_listening(port)
            except _PortTaken as exc:
                if attempt + 1 < attempts:
                    log.info("SSH tunnel %s: port %d taken meanwhile; retrying",
                             describe(self.cfg), port)
                    continue
                raise SourceUnavailable(
                    f"SSH tunnel {describe(self.cfg)}: cannot listen on "
                    f"{self.bind_address}:{port}: {exc}; pick another bind_address (an "
                    "address of this machine) or a free port"
                ) from None
            self.address = (self.bind_address, port)
            break
        self._monitor = threading.Thread(target=self._watch, name="tunnel-ssh", daemon=True)
        self._monitor.start()
        log.info(
            "SSH tunnel %s (openssh, pid %s): %s:%d -> %s:%d",
            describe(self.cfg), self.pid, self.address[0], self.address[1], *self.remote,
        )
        return self.address

    def close(self) -> None:
        """Stop the ssh process (its process group, by PID) and wait for it."""
        self._closing.set()
        proc = self._proc
        if proc is not None and proc.poll() is None:
            _signal_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                _signal_group(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        if self._monitor is not None and self._monitor is not threading.current_thread():
            self._monitor.join(timeout=5)
        with self._lock:
            if self._stderr is not None:
                self._stderr.close()
                self._stderr = None

    def check(self) -> None:
        """Raise TunnelDown when the tunnel dropped; return None while it is healthy."""
        if self.error is None and not self.alive:
            self.error = self._exit_reason()
        if self.error:
            raise TunnelDown(f"{self.error}; check the bastion and retry")

    @property
    def alive(self) -> bool:
        """Return True while ssh runs and holds its listener (asked after errors only).

        ssh closes the forwarded connections while it exits, a moment before the process
        can be reaped: a client may see its connection drop first. So a running ssh that
        no longer holds its listener counts as dying: wait for it (2 s at most) and keep
        the reason it gave (a keepalive timeout, say) in `.error`.
        """
        proc = self._proc
        if self.error is not None or proc is None:
            return False
        if proc.poll() is None and listening(proc.pid, self.bind_address, self.address[1]):
            return True
        with suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=2)
        if self.error is None and not self._closing.is_set():
            self.error = self._exit_reason()
        return False

    # -- internals ---------------------------------------------------------------------

    def _pick_port(self) -> int:
        try:
            return free_port(self.bind_address)
        except OSError as exc:
            raise SourceUnavailable(
                f"SSH tunnel {describe(self.cfg)}: cannot listen on {self.bind_address}: "
                f"{exc.strerror}; pick another bind_address (an address of this machine)"
            ) from None

    def _run_until_listening(self, port: int) -> None:
        if self._stderr is not None:
            self._stderr.close()
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as ssh
        self._proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            env=ssh_env(self.cfg),
            start_new_session=True,
            preexec_fn=_parent_death_hook(),
        )
        deadline = time.monotonic() + self.cfg.connect_timeout_seconds + 5
        while True:
            if self._proc.poll() is not None:
                self._raise_start_failure()
            if listening(self._proc.pid, self.bind_address, port):
                return
            if time.monotonic() > deadline:
                said = self._stderr_tail() or "ssh said nothing"
                self.close()
                raise SourceUnavailable(
                    f"SSH bastion {describe(self.cfg)}: no forward after "
                    f"{self.cfg.connect_timeout_seconds + 5:g}s ({said}); check host, port "
                    "and network"
                )
            time.sleep(_POLL)

    def _stderr_text(self) -> str:
        with self._lock:
            if self._stderr is None:
                return ""
            self._stderr.seek(0)
            return self._stderr.read().decode("utf-8", "backslashreplace")

    def _stderr_tail(self, lines: int = 3) -> str:
        text = [ln.strip() for ln in self._stderr_text().splitlines() if ln.strip()]
        text = [ln for ln in text if not set(ln) <= {"@"}]
        return "; ".join(text[-lines:])

    def _raise_start_failure(self) -> None:
        cfg, text = self.cfg, self._stderr_text()
        code = self._proc.returncode if self._proc is not None else None
        if "REMOTE HOST IDENTIFICATION HAS CHANGED" in text or "has changed and you" in text:
            m = re.search(r"fingerprint for the (\S+) key sent by the remote host is\s+(\S+)", text)
            got = f"{m.group(1)} {m.group(2).rstrip('.')}" if m else ""
            raise HostKeyRefused(changed_key_message(cfg, got or "another key"))
        m = re.search(r"No (\S+) host key is known for", text)
        if m or "Host key verification failed" in text:
            raise HostKeyRefused(unknown_key_message(cfg, m.group(1) if m else "(unverified)"))
        if "Permission denied" in text or "Too many authentication failures" in text:
            raise SourceUnavailable(
                f"SSH bastion {describe(cfg)}: authentication failed ({self._stderr_tail(1)}); "
                f"check user and key_file {cfg.key_file}"
            )
        if _PORT_TAKEN.search(text):
            raise _PortTaken(self._stderr_tail(1))
        if re.search(r"Load key|no such identity|bad permissions", text, re.I):
            raise SourceUnavailable(
                f"SSH bastion {describe(cfg)}: key_file {cfg.key_file} unusable "
                f"({self._stderr_tail(1)}); fix the key file or its permissions"
            )
        reason = self._stderr_tail(1) or f"ssh exited with code {code}"
        raise SourceUnavailable(
            f"SSH bastion {describe(cfg)} unreachable: {reason}; check host, port and network"
        )

    def _exit_reason(self) -> str:
        text = self._stderr_text()
        if re.search(r"Timeout, server .* not responding", text):
            return frozen_message(self.cfg, keepalive_interval(self.cfg))
        tail = self._stderr_tail(1)
        code = self._proc.returncode if self._proc is not None else None
        return (
            f"SSH bastion {describe(self.cfg)} closed the connection (ssh exited with code "
            f"{code}{': ' + tail if tail else ''})"
        )

    def _watch(self) -> None:
        proc = self._proc
        if proc is None:
            return
        proc.wait()
        if self._closing.is_set():
            return
        if self.error is None:
            self.error = self._exit_reason()
            log.error("%s", self.error)


class _PortTaken(Exception):
    """ssh could not listen on the port (someone took it after we picked it)."""


def _signal_group(pid: int, sig: int) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)  # the group ssh leads (start_new_session): only ours
