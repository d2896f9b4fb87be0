"""What both tunnel backends share: their errors, how a bastion is named, the bind check."""

from __future__ import annotations

import ipaddress
import logging
import shlex
from typing import Protocol

from warehouse.config import SshConfig, choices
from warehouse.errors import ConfigError, SourceUnavailable

log = logging.getLogger("warehouse.tunnel")

BACKENDS = choices(SshConfig, "backend")


class HostKeyRefused(SourceUnavailable):
    """The bastion's host key is unknown or changed (exit 3; fix known_hosts)."""


class TunnelDown(SourceUnavailable):
    """The SSH tunnel dropped or stopped answering (exit 3)."""


class Forward(Protocol):
    """A running local forward, whichever backend runs it."""

    cfg: SshConfig
    address: tuple[str, int]
    error: str | None

    def start(self) -> tuple[str, int]:
        """Connect and listen; return (host, port); raises SourceUnavailable."""

    def close(self) -> None:
        """Stop forwarding and release everything the tunnel holds."""

    def check(self) -> None:
        """Raise TunnelDown when the tunnel dropped."""

    @property
    def alive(self) -> bool:
        """Return True while the tunnel is up and answering."""


class ForwardBase:
    """What every backend's tunnel records: its config, target, bind address and state."""

    def __init__(
        self,
        ssh_cfg: SshConfig,
        remote_host: str,
        remote_port: int,
        *,
        bind_address: str | None = None,
        bind_port: int = 0,
    ) -> None:
        self.cfg = ssh_cfg
        self.remote = (remote_host, remote_port)
        self.bind_address = bind_address or ssh_cfg.bind_address or "127.0.0.1"
        if self.bind_address == AUTO:  # resolved when the tunnel starts: the host's own
            self.bind_address = host_private_address()
            log.info("[ssh.%s] bind_address auto: %s", ssh_cfg.name, self.bind_address)
        self.bind_port = bind_port
        self.error: str | None = None
        self.address: tuple[str, int] = ("", 0)
        self._init_backend()

    def _init_backend(self) -> None:
        """Set up the backend's own state (its process, sockets, threads); none here."""


AUTO = "auto"


def _interface_addresses() -> list[str]:
    """Return the IPv4 address of each network interface (SIOCGIFADDR; no traffic)."""
    import fcntl
    import socket
    import struct

    out = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for _, name in socket.if_nameindex():
            try:
                packed = fcntl.ioctl(s.fileno(), 0x8915, struct.pack("256s", name[:15].encode()))
            except OSError:  # no IPv4 address on this interface
                continue
            out.append(socket.inet_ntoa(packed[20:24]))
    return out


def host_private_address(addresses: list[str] | None = None) -> str:
    """Return this host's private (RFC 1918 and the like) IPv4 address, the one Sqoop's
    mappers on other nodes can reach (the EMR master's); raises ConfigError when none."""
    found = _interface_addresses() if addresses is None else addresses
    for text in found:
        addr = ipaddress.ip_address(text)
        if addr.is_private and not (addr.is_loopback or addr.is_link_local or addr.is_unspecified):
            return text
    raise ConfigError(
        f"bind_address auto: this host has no private IPv4 address (found {', '.join(found) or 'none'}); "
        "set [ssh.NAME] bind_address to an address"
    )


def describe(ssh_cfg: SshConfig) -> str:
    """Return how a bastion is named in messages: `[ssh.NAME] user@host:port`."""
    return f"[ssh.{ssh_cfg.name}] {ssh_cfg.user}@{ssh_cfg.host}:{ssh_cfg.port}"


def check_bind(ssh_cfg: SshConfig, bind_address: str) -> None:
    """Refuse a bind address that is not an IP (ConfigError); warn about 0.0.0.0 / ::."""
    try:
        addr = ipaddress.ip_address(bind_address)
    except ValueError:
        raise ConfigError(
            f"[ssh.{ssh_cfg.name}] bind_address {bind_address!r} is not an IP address"
        ) from None
    if addr.is_unspecified:
        log.warning(
            "SSH tunnel %s listens on %s: every host that reaches this machine can use it; "
            "bind the EMR master's private address instead",
            describe(ssh_cfg),
            bind_address,
        )


def unknown_key_message(ssh_cfg: SshConfig, key: str) -> str:
    """Return the one-line refusal of an unknown host key (`key`: its type and fingerprint)."""
    if ssh_cfg.known_hosts:
        where, target = ssh_cfg.known_hosts, shlex.quote(ssh_cfg.known_hosts)
    else:
        where, target = "(no known_hosts configured)", "FILE, and set known_hosts = FILE"
    return (
        f"SSH bastion {describe(ssh_cfg)}: host key {key} is not in {where}; verify it and "
        f"add it (ssh-keyscan -p {ssh_cfg.port} {ssh_cfg.host} >> {target}), or set "
        "allow_unknown_host = true"
    )


def changed_key_message(ssh_cfg: SshConfig, key: str) -> str:
    """Return the one-line refusal of a changed host key (`key`: what the bastion offered)."""
    return (
        f"SSH bastion {describe(ssh_cfg)}: host key CHANGED (got {key}, known_hosts "
        f"{ssh_cfg.known_hosts} has another); someone may be intercepting; verify with the "
        "bastion's admin before replacing the known_hosts line"
    )


def frozen_message(ssh_cfg: SshConfig, seconds: float) -> str:
    """Return the message of a bastion that stopped answering keepalives."""
    return (
        f"SSH bastion {describe(ssh_cfg)} stopped answering keepalives for {seconds:g}s "
        "(frozen or unreachable)"
    )
