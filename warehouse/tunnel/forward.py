"""Open a local forward through `[ssh.NAME]` with the backend it names.

`backend = "openssh"` (the default) runs the system `ssh -N -L ...` as a child process;
`backend = "paramiko"` forwards inside this process. OpenSSH is the default because the
forwarding then runs in C in its own process: through paramiko's Python pump threads,
which share the interpreter lock with the import's row encoding, an import of 1M rows
took about a third longer (bench/results_import.md). Both backends refuse unknown and
changed host keys, detect a frozen bastion within a few keepalive intervals, keep
secrets off argv and exit 3 on every SSH failure; paramiko needs no `ssh` executable.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from warehouse.config import SshConfig
from warehouse.errors import ConfigError
from warehouse.tunnel.common import BACKENDS, Forward, TunnelDown, describe

if TYPE_CHECKING:
    from warehouse.tunnel.openssh import OpenSshTunnel
    from warehouse.tunnel.paramiko_forward import ParamikoTunnel


def make_tunnel(
    ssh_cfg: SshConfig,
    remote_host: str,
    remote_port: int,
    *,
    bind_address: str | None = None,
    bind_port: int = 0,
) -> Forward:
    """Return an unstarted tunnel of the configured backend; raises ConfigError."""
    backend: type[OpenSshTunnel | ParamikoTunnel]
    if ssh_cfg.backend == "openssh":
        from warehouse.tunnel.openssh import OpenSshTunnel as backend
    elif ssh_cfg.backend == "paramiko":  # imported only when used: paramiko is heavy
        from warehouse.tunnel.paramiko_forward import ParamikoTunnel as backend
    else:
        raise ConfigError(
            f"[ssh.{ssh_cfg.name}] backend {ssh_cfg.backend!r} unknown; use one of "
            f"{', '.join(BACKENDS)}"
        )
    return backend(
        ssh_cfg, remote_host, remote_port, bind_address=bind_address, bind_port=bind_port
    )


@contextmanager
def tunnel(
    ssh_cfg: SshConfig,
    remote_host: str,
    remote_port: int,
    *,
    bind_address: str | None = None,
    bind_port: int = 0,
) -> Iterator[Forward]:
    """Yield a started tunnel (with `.address`, `.alive`, `.error`, `.check()`).

    Raises HostKeyRefused / SourceUnavailable (exit 3) when the bastion cannot be used;
    an error raised inside the block while the tunnel is down becomes TunnelDown naming
    the bastion. The tunnel is closed (an OpenSSH child stopped) on every way out.
    """
    t = make_tunnel(
        ssh_cfg, remote_host, remote_port, bind_address=bind_address, bind_port=bind_port
    )
    t.start()
    try:
        yield t
    except TunnelDown:
        raise
    except Exception as exc:
        if t.error is not None or not t.alive:
            reason = t.error or f"SSH bastion {describe(ssh_cfg)} closed the connection"
            raise TunnelDown(f"{reason}; check the bastion and retry") from exc
        raise
    finally:
        t.close()


@contextmanager
def open_tunnel(
    ssh_cfg: SshConfig,
    remote_host: str,
    remote_port: int,
    *,
    bind_address: str | None = None,
    bind_port: int = 0,
) -> Iterator[tuple[str, int]]:
    """Yield (bound_host, bound_port) forwarding to remote_host:remote_port; see tunnel()."""
    with tunnel(
        ssh_cfg, remote_host, remote_port, bind_address=bind_address, bind_port=bind_port
    ) as t:
        yield t.address
