"""SSH local port forwards through a bastion, for MySQL sources and HiveServer2.

`with tunnel(ssh_cfg, host, port) as t:` / `with open_tunnel(...) as (host, port):`;
the backend (`openssh` or `paramiko`) comes from `[ssh.NAME] backend`.
"""

from warehouse.tunnel.common import BACKENDS, HostKeyRefused, TunnelDown, describe
from warehouse.tunnel.forward import make_tunnel, open_tunnel, tunnel

__all__ = [
    "BACKENDS",
    "HostKeyRefused",
    "TunnelDown",
    "describe",
    "make_tunnel",
    "open_tunnel",
    "tunnel",
]
