"""The openssh backend's pure parts: the ssh argv, its environment, the backend choice."""

from __future__ import annotations

import pytest

from warehouse.config import SshConfig, config_from_dict
from warehouse.errors import ConfigError
from warehouse.tunnel import make_tunnel
from warehouse.tunnel.openssh import OpenSshTunnel, keepalive_interval, ssh_argv, ssh_env
from warehouse.tunnel.paramiko_forward import ParamikoTunnel


def _cfg(**section):
    base = {"host": "bastion.example.com", "port": 2222, "user": "etl",
            "key_file": "/keys/etl key", "known_hosts": "/conf/known_hosts"}
    base.update(section)
    return SshConfig(name="b", **base)  # the files need not exist for the argv


def _opts(argv: list[str]) -> dict[str, str]:
    return dict(argv[i + 1].split("=", 1) for i, a in enumerate(argv) if a == "-o")


def test_argv_is_strict_batch_and_forwards_on_the_bind_address():
    argv = ssh_argv(_cfg(keepalive_seconds=2.5), "/usr/bin/ssh", "10.0.0.5", 3307, "db.internal", 3306)
    assert argv[:4] == ["/usr/bin/ssh", "-N", "-F", "/dev/null"]
    opts = _opts(argv)
    assert opts["StrictHostKeyChecking"] == "yes" and opts["BatchMode"] == "yes"
    assert opts["UserKnownHostsFile"] == "/conf/known_hosts"
    assert opts["GlobalKnownHostsFile"] == "/dev/null"
    assert opts["ExitOnForwardFailure"] == "yes" and opts["IdentitiesOnly"] == "yes"
    assert opts["ServerAliveInterval"] == "3" and opts["ServerAliveCountMax"] == "2"
    assert argv[argv.index("-i") + 1] == "/keys/etl key"  # one argv item: no quoting needed
    assert argv[argv.index("-L") + 1] == "10.0.0.5:3307:db.internal:3306"
    assert argv[-6:] == ["-p", "2222", "-l", "etl", "--", "bastion.example.com"]


def test_argv_variants():
    opts = _opts(ssh_argv(_cfg(allow_unknown_host=True, keepalive_seconds=0,
                               known_hosts="/a b/kh"), "ssh", "::1", 1, "fd00::5", 3306))
    assert opts["StrictHostKeyChecking"] == "accept-new"  # a changed key is still refused
    assert opts["UserKnownHostsFile"] == '"/a b/kh"'
    assert "ServerAliveInterval" not in opts
    argv = ssh_argv(_cfg(key_file=None), "ssh", "::1", 1, "fd00::5", 3306)
    assert "-i" not in argv and "IdentitiesOnly" not in _opts(argv)
    assert argv[argv.index("-L") + 1] == "[::1]:1:[fd00::5]:3306"
    assert keepalive_interval(_cfg(keepalive_seconds=0.2)) == 1
    argv = ssh_argv(_cfg(key_file="/k/100%", known_hosts="/k/%h"), "ssh", "127.0.0.1", 1, "h", 2)
    assert argv[argv.index("-i") + 1] == "/k/100%%" and _opts(argv)["UserKnownHostsFile"] == "/k/%%h"


def test_ssh_environment_keeps_no_secret():
    env = {"PATH": "/bin", "HOME": "/h", "SHOP_DB_PASSWORD": "s3cret", "SSH_AUTH_SOCK": "/a"}
    assert ssh_env(_cfg(), env) == {"PATH": "/bin", "HOME": "/h"}
    assert ssh_env(_cfg(key_file=None), env) == {"PATH": "/bin", "HOME": "/h", "SSH_AUTH_SOCK": "/a"}


def test_backend_choice_and_validation():
    assert _cfg().backend == "openssh"
    assert isinstance(make_tunnel(_cfg(), "db", 3306), OpenSshTunnel)
    assert isinstance(make_tunnel(_cfg(backend="paramiko"), "db", 3306), ParamikoTunnel)
    with pytest.raises(ConfigError, match="backend 'putty' unknown"):
        make_tunnel(_cfg(backend="putty"), "db", 3306)
    with pytest.raises(ConfigError, match='backend must be "openssh" or "paramiko"'):
        config_from_dict({"ssh": {"b": {"host": "h", "user": "u", "backend": "putty",
                                        "allow_unknown_host": True}}})
