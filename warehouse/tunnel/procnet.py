"""Is a child process listening yet? Read from /proc (Linux), else a connect probe."""

from __future__ import annotations

import os
import socket
from contextlib import suppress
from pathlib import Path


def free_port(bind_address: str) -> int:
    """Return a TCP port that is free on `bind_address` now (the kernel's pick)."""
    family = socket.AF_INET6 if ":" in bind_address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((bind_address, 0))
        return int(s.getsockname()[1])


def _listen_inodes(port: int) -> set[str] | None:
    """Return the inodes of TCP sockets listening on `port` (None: no /proc/net/tcp)."""
    found: set[str] = set()
    seen = False
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        seen = True
        for line in lines:
            f = line.split()
            if len(f) > 9 and f[3] == "0A" and int(f[1].rsplit(":", 1)[1], 16) == port:
                found.add(f[9])
    return found if seen else None


def _socket_inodes(pid: int) -> set[str]:
    out: set[str] = set()
    with suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with suppress(OSError):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:["):
                    out.add(link[8:-1])
    return out


def listening(pid: int, bind_address: str, port: int) -> bool:
    """Return True once process `pid` holds a socket listening on `port`."""
    owned = _socket_inodes(pid)
    if len(owned) < 2 and os.path.isdir(f"/proc/{pid}/fd"):
        return False  # only the connection to the bastion so far: skip reading the TCP table
    inodes = _listen_inodes(port)
    if inodes is not None:
        return bool(inodes & owned)
    host = "127.0.0.1" if bind_address in ("0.0.0.0", "::") else bind_address
    try:  # no /proc: a connect probe (opens one channel the bastion closes at once)
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        return False
    return True
