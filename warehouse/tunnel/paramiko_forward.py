"""The `paramiko` tunnel backend: a local forward pumped by threads of this process.

`ParamikoTunnel` is the equivalent of `ssh -N -L bind:port:remote_host:remote_port
user@bastion` without an OpenSSH client (see `warehouse.tunnel.forward` for the choice).

Decisions (see DESIGN.md "MySQL import"):
- The bastion's host key must be in `known_hosts`; an unknown or changed key is refused
  (HostKeyRefused, exit 3) unless `allow_unknown_host = true`, which accepts an unknown
  key and records it in `known_hosts` (a changed key is always refused).
- The forward listens on `bind_address` (127.0.0.1 by default). On an EMR master, bind
  its private address so Sqoop's mappers on the worker nodes can connect (the `ssh -g`
  lesson); 0.0.0.0 works only because someone asked for it, and logs a warning.
- Each accepted connection becomes one `direct-tcpip` channel of the single SSH
  transport, pumped by its own thread, so many connections share one tunnel.
- A watchdog sends `keepalive@openssh.com` global requests and wants a reply within
  `keepalive_seconds`: a frozen bastion (no FIN) is detected in seconds, whereas
  paramiko's own keepalive expects no reply and leaves `is_active()` true forever. On a
  dead bastion the transport is closed, which closes every forwarded socket (clients see
  a lost connection at once) and `Tunnel.error` names the bastion.
"""

from __future__ import annotations

import os
import select
import socket
import threading
from contextlib import suppress
from typing import Any

import paramiko

from warehouse.config import SshConfig
from warehouse.errors import SourceUnavailable
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

_BUF = 256 * 1024
_WINDOW = 8 * 1024 * 1024  # a larger SSH window than paramiko's 2 MiB keeps bulk reads flowing
_PACKET = 32 * 1024


class _HostKeyPolicy(paramiko.MissingHostKeyPolicy):
    """Refuse unknown host keys with our message, or accept and record them when allowed."""

    def __init__(self, ssh_cfg: SshConfig) -> None:
        self._cfg = ssh_cfg

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: Any) -> None:
        cfg = self._cfg
        if not cfg.allow_unknown_host:
            raise HostKeyRefused(
                unknown_key_message(cfg, f"{key.get_name()} {key.get_fingerprint().hex()}")
            )
        log.warning("SSH bastion %s: accepting unknown host key %s", describe(cfg), key.get_name())
        client.get_host_keys().add(hostname, key.get_name(), key)
        if cfg.known_hosts:
            client.save_host_keys(cfg.known_hosts)


class ParamikoTunnel(ForwardBase):
    """A running local forward: `.address` is (host, port); `.error` is set once it dropped."""

    def _init_backend(self) -> None:
        self._client: paramiko.SSHClient | None = None
        self._transport: paramiko.Transport | None = None
        self._listener: socket.socket | None = None
        self._closing = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> tuple[str, int]:
        """Connect to the bastion and listen; return (host, port); raises SourceUnavailable."""
        check_bind(self.cfg, self.bind_address)
        self._connect()
        family = socket.AF_INET6 if ":" in self.bind_address else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((self.bind_address, self.bind_port))
        except OSError as exc:
            listener.close()
            self._close_transport()
            raise SourceUnavailable(
                f"SSH tunnel {describe(self.cfg)}: cannot listen on "
                f"{self.bind_address}:{self.bind_port}: {exc.strerror}; pick another "
                "bind_address (an address of this machine)"
            ) from None
        listener.listen(128)
        self._listener = listener
        host, port = listener.getsockname()[:2]
        self.address = (str(host), int(port))
        self._spawn(self._accept_loop, "tunnel-accept")
        if self.cfg.keepalive_seconds > 0:
            self._spawn(self._watchdog, "tunnel-watchdog")
        log.info(
            "SSH tunnel %s: %s:%d -> %s:%d",
            describe(self.cfg),
            self.address[0],
            self.address[1],
            *self.remote,
        )
        return self.address

    def close(self) -> None:
        """Stop listening, close every forwarded connection and the SSH session."""
        self._closing.set()
        if self._listener is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone would not
            _close_quietly(self._listener)
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            _close_quietly(conn)
        self._close_transport()
        for t in self._threads:
            if t is not threading.current_thread():
                t.join(timeout=5)

    def check(self) -> None:
        """Raise TunnelDown when the tunnel dropped; return None while it is healthy."""
        if self.error is None and self._transport is not None and not self._transport.is_active():
            self.error = f"SSH bastion {describe(self.cfg)} closed the connection"
        if self.error:
            raise TunnelDown(f"{self.error}; check the bastion and retry")

    @property
    def alive(self) -> bool:
        """Return True while the SSH session is up and answering."""
        return self.error is None and self._transport is not None and self._transport.is_active()

    # -- internals ---------------------------------------------------------------------

    def _spawn(self, target: Any, name: str, *args: Any) -> None:
        t = threading.Thread(target=target, args=args, name=name, daemon=True)
        t.start()
        self._threads.append(t)

    def _connect(self) -> None:
        cfg = self.cfg
        client = paramiko.SSHClient()
        if cfg.known_hosts and os.path.exists(cfg.known_hosts):
            try:
                client.load_host_keys(cfg.known_hosts)
            except (OSError, paramiko.SSHException) as exc:
                raise HostKeyRefused(
                    f"SSH bastion {describe(cfg)}: known_hosts {cfg.known_hosts} unreadable "
                    f"({exc}); fix the file"
                ) from None
        client.set_missing_host_key_policy(_HostKeyPolicy(cfg))
        key_file = os.path.expanduser(cfg.key_file) if cfg.key_file else None
        try:
            client.connect(
                cfg.host,
                port=cfg.port,
                username=cfg.user,
                key_filename=key_file,
                look_for_keys=key_file is None,
                allow_agent=key_file is None,
                timeout=cfg.connect_timeout_seconds,
                banner_timeout=cfg.connect_timeout_seconds,
                auth_timeout=cfg.connect_timeout_seconds,
                channel_timeout=cfg.connect_timeout_seconds,
            )
        except HostKeyRefused:
            client.close()
            raise
        except paramiko.BadHostKeyException as exc:
            client.close()
            got = f"{exc.key.get_name()} {exc.key.get_fingerprint().hex()}"
            raise HostKeyRefused(changed_key_message(cfg, got)) from None
        except paramiko.AuthenticationException as exc:
            client.close()
            raise SourceUnavailable(
                f"SSH bastion {describe(cfg)}: authentication failed ({exc}); check user "
                f"and key_file {cfg.key_file}"
            ) from None
        except (OSError, paramiko.SSHException, EOFError) as exc:
            client.close()
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise SourceUnavailable(
                f"SSH bastion {describe(cfg)} unreachable: {reason}; check host, port and "
                "network"
            ) from None
        transport = client.get_transport()
        if transport is None:  # pragma: no cover - connect() succeeded
            raise SourceUnavailable(f"SSH bastion {describe(cfg)}: no transport after connect")
        transport.default_window_size = _WINDOW
        self._client = client
        self._transport = transport

    def _close_transport(self) -> None:
        if self._client is not None:
            with suppress(Exception):  # closing a broken transport may raise anything
                self._client.close()

    def _fail(self, reason: str) -> None:
        if self.error is None:
            self.error = reason
            if not self._closing.is_set():
                log.error("%s", reason)
        # closing the transport closes every channel: clients see a lost connection now
        # instead of waiting for their read timeout.
        self._close_transport()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            _close_quietly(conn)

    def _accept_loop(self) -> None:
        listener = self._listener
        assert listener is not None
        while not self._closing.is_set():
            try:
                conn, peer = listener.accept()
            except OSError:
                return
            if self.error is not None:
                _close_quietly(conn)
                continue
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._spawn(self._serve, "tunnel-conn", conn, peer)

    def _serve(self, conn: socket.socket, peer: tuple[Any, ...]) -> None:
        transport = self._transport
        try:
            if transport is None or not transport.is_active():
                raise paramiko.SSHException("transport closed")
            chan = transport.open_channel(
                "direct-tcpip",
                self.remote,
                (str(peer[0]), int(peer[1])),
                window_size=_WINDOW,
                max_packet_size=_PACKET,
                timeout=self.cfg.connect_timeout_seconds,
            )
        except (paramiko.SSHException, OSError, EOFError) as exc:
            if transport is None or not transport.is_active():
                self._fail(f"SSH bastion {describe(self.cfg)} closed the connection")
            else:
                log.error(
                    "SSH tunnel %s: bastion cannot reach %s:%d (%s)",
                    describe(self.cfg),
                    *self.remote,
                    exc,
                )
            _close_quietly(conn)
            return
        with self._lock:
            self._conns.add(conn)
        try:
            _pump(conn, chan, self._closing)
        finally:
            with self._lock:
                self._conns.discard(conn)
            _close_quietly(chan)
            _close_quietly(conn)

    def _watchdog(self) -> None:
        interval = self.cfg.keepalive_seconds
        transport = self._transport
        assert transport is not None
        while not self._closing.wait(interval):
            if not transport.is_active():
                self._fail(f"SSH bastion {describe(self.cfg)} closed the connection")
                return
            answered = threading.Event()

            def probe(done: threading.Event = answered) -> None:
                try:
                    transport.global_request("keepalive@openssh.com", wait=True)
                except Exception:  # a dying transport raises varied errors
                    return
                if transport.is_active():
                    done.set()

            threading.Thread(target=probe, name="tunnel-probe", daemon=True).start()
            if not answered.wait(max(interval, 1.0)):
                if self._closing.is_set():
                    return
                self._fail(frozen_message(self.cfg, interval))
                return


def _pump(conn: socket.socket, chan: paramiko.Channel, closing: threading.Event) -> None:
    """Copy bytes both ways until either side closes."""
    while not closing.is_set():
        try:
            watched: list[Any] = [conn, chan]
            readable, _, _ = select.select(watched, [], [], 1.0)
        except (OSError, ValueError):
            return
        if conn in readable:
            try:
                data = conn.recv(_BUF)
            except OSError:
                return
            if not data:
                return
            try:
                chan.sendall(data)
            except (OSError, EOFError, paramiko.SSHException):
                return
        if chan in readable:
            try:
                data = chan.recv(_BUF)
            except (OSError, EOFError, paramiko.SSHException):
                return
            if not data:
                return
            try:
                conn.sendall(data)
            except OSError:
                return


def _close_quietly(obj: Any) -> None:
    with suppress(Exception):  # best effort on teardown
        if isinstance(obj, socket.socket):
            with suppress(OSError):
                obj.shutdown(socket.SHUT_RDWR)
        obj.close()
