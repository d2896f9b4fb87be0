"""Both tunnel backends (openssh, paramiko) against a real OpenSSH sshd on 127.0.0.1."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures._util import wait_for
from warehouse.config import config_from_dict
from warehouse.errors import EXIT_UNAVAILABLE, SourceUnavailable
from warehouse.tunnel import HostKeyRefused, TunnelDown, open_tunnel, tunnel

pytestmark = pytest.mark.mysql


@pytest.fixture(params=["openssh", "paramiko"])
def backend(request: pytest.FixtureRequest) -> str:
    """Every guarantee below is checked against both backends."""
    return str(request.param)


@pytest.fixture(scope="module")
def echo_server() -> Iterator[int]:
    """A TCP echo server on 127.0.0.1 (the 'database' behind the bastion)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    stop = threading.Event()

    def handle(conn: socket.socket) -> None:
        with conn:
            while True:
                try:
                    data = conn.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                conn.sendall(data)

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    yield srv.getsockname()[1]
    stop.set()
    srv.close()


def _ssh(sshd, backend: str, **overrides):
    section = sshd.ssh_section(backend=backend, **overrides)
    return config_from_dict({"ssh": {"bastion": section}}).ssh["bastion"]


def _roundtrip(host: str, port: int, payload: bytes) -> bytes:
    with socket.create_connection((host, port), timeout=20) as s:
        got = bytearray()

        def reader() -> None:
            while len(got) < len(payload):
                chunk = s.recv(65536)
                if not chunk:
                    return
                got.extend(chunk)

        t = threading.Thread(target=reader)
        t.start()
        s.sendall(payload)
        t.join(timeout=30)
        return bytes(got)


def test_forwards_many_concurrent_connections(backend, sshd, echo_server):
    cfg = _ssh(sshd, backend)
    with open_tunnel(cfg, "127.0.0.1", echo_server) as (host, port):
        assert host == "127.0.0.1"
        results: dict[int, bool] = {}

        def worker(i: int) -> None:
            payload = os.urandom(200_000) + bytes([i])
            results[i] = _roundtrip(host, port, payload) == payload

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(24)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert results == {i: True for i in range(24)}
    # closed: nothing listens any more
    with pytest.raises(OSError):
        socket.create_connection((host, port), timeout=2).close()


def test_unknown_host_key_is_refused(backend, sshd, echo_server, tmp_path: Path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    cfg = _ssh(sshd, backend, known_hosts=str(empty))
    with pytest.raises(HostKeyRefused) as err, open_tunnel(cfg, "127.0.0.1", echo_server):
        pass
    msg = str(err.value)
    assert err.value.exit_code == EXIT_UNAVAILABLE
    assert f"[ssh.bastion] {sshd.user}@127.0.0.1:{sshd.port}" in msg
    assert "not in" in msg and str(empty) in msg
    # the fix names the configured file, not a generic "known_hosts"
    assert f"ssh-keyscan -p {sshd.port} 127.0.0.1 >> {empty})" in msg
    assert empty.read_text() == ""  # nothing recorded


def test_changed_host_key_is_refused(backend, sshd, echo_server, tmp_path: Path):
    other = tmp_path / "other"
    os.system(f"ssh-keygen -q -t ed25519 -N '' -f {other}")
    key_type, b64 = (tmp_path / "other.pub").read_text().split()[:2]
    kh = tmp_path / "known_hosts"
    kh.write_text(f"[127.0.0.1]:{sshd.port} {key_type} {b64}\n")
    cfg = _ssh(sshd, backend, known_hosts=str(kh))
    with pytest.raises(HostKeyRefused, match="CHANGED"), open_tunnel(cfg, "127.0.0.1", echo_server):
        pass


def test_allow_unknown_host_records_the_key(backend, sshd, echo_server, tmp_path: Path):
    kh = tmp_path / "known_hosts"
    kh.write_text("")
    cfg = _ssh(sshd, backend, known_hosts=str(kh), allow_unknown_host=True)
    with open_tunnel(cfg, "127.0.0.1", echo_server) as (host, port):
        assert _roundtrip(host, port, b"hello") == b"hello"
    recorded = kh.read_text().split()
    assert recorded[0] == f"[127.0.0.1]:{sshd.port}"
    assert recorded[1:3] == sshd.host_key_line.split()[1:3]


def test_wrong_client_key_is_source_unavailable(backend, sshd, echo_server, tmp_path: Path):
    other = tmp_path / "other"
    os.system(f"ssh-keygen -q -t ed25519 -N '' -f {other}")
    cfg = _ssh(sshd, backend, key_file=str(other))
    with pytest.raises(SourceUnavailable, match="authentication failed"), open_tunnel(
        cfg, "127.0.0.1", echo_server
    ):
        pass


def test_unreachable_bastion_names_it(backend, sshd, echo_server):
    from tests.fixtures._util import free_port

    dead = free_port()
    cfg = _ssh(sshd, backend, port=dead)
    with pytest.raises(SourceUnavailable) as err, open_tunnel(cfg, "127.0.0.1", echo_server):
        pass
    assert f"127.0.0.1:{dead} unreachable" in str(err.value)


def test_bind_all_interfaces_warns(backend, sshd, echo_server, caplog):
    cfg = _ssh(sshd, backend, bind_address="0.0.0.0")
    with caplog.at_level(logging.WARNING, logger="warehouse.tunnel"), open_tunnel(
        cfg, "127.0.0.1", echo_server
    ) as (host, port):
        assert host == "0.0.0.0"
        assert _roundtrip("127.0.0.1", port, b"x" * 1000) == b"x" * 1000
    assert any("0.0.0.0" in r.getMessage() for r in caplog.records)


def test_bind_address_explicit_port(backend, sshd, echo_server):
    from tests.fixtures._util import free_port

    want = free_port()
    cfg = _ssh(sshd, backend)
    with open_tunnel(cfg, "127.0.0.1", echo_server, bind_port=want) as (host, port):
        assert (host, port) == ("127.0.0.1", want)


def test_killed_bastion_surfaces_as_tunnel_down(backend, sshd_factory, echo_server):
    server = sshd_factory()
    cfg = _ssh(server, backend)
    with pytest.raises(TunnelDown) as err, tunnel(cfg, "127.0.0.1", echo_server) as t:
        host, port = t.address
        s = socket.create_connection((host, port), timeout=10)
        s.sendall(b"ping")
        assert s.recv(4) == b"ping"
        server.kill()
        # the forwarded socket is closed promptly rather than hanging
        s.settimeout(10)
        assert s.recv(4) == b""
        wait_for(lambda: not t.alive, 10, "tunnel notices the dead bastion")
        raise ConnectionError("client saw the connection drop")
    assert f"127.0.0.1:{server.port}" in str(err.value)
    assert err.value.exit_code == EXIT_UNAVAILABLE


def test_frozen_bastion_detected_by_watchdog(backend, sshd_factory, echo_server):
    server = sshd_factory()
    cfg = _ssh(server, backend, keepalive_seconds=1.0)
    try:
        with tunnel(cfg, "127.0.0.1", echo_server) as t:
            host, port = t.address
            s = socket.create_connection((host, port), timeout=10)
            s.sendall(b"ping")
            assert s.recv(4) == b"ping"
            server.freeze()
            start = time.monotonic()
            s.settimeout(15)
            assert s.recv(4) == b""  # closed by the watchdog, not a hang
            assert time.monotonic() - start < 10
            wait_for(lambda: not t.alive, 10, "tunnel notices the frozen bastion")
            with pytest.raises(TunnelDown, match="stopped answering keepalives"):
                t.check()
    finally:
        server.stop()


def test_mariadb_through_the_tunnel(backend, sshd, mariadb, tmp_path: Path):
    import pymysql

    mariadb.create_database("tunnel_probe")
    mariadb.create_user("probe", "probe-secret", "tunnel_probe")
    cfg = _ssh(sshd, backend)
    with open_tunnel(cfg, mariadb.host, mariadb.port) as (host, port):
        conns = [
            pymysql.connect(host=host, port=port, user="probe", password="probe-secret",
                            database="tunnel_probe")
            for _ in range(8)
        ]
        try:
            for c in conns:
                with c.cursor() as cur:
                    cur.execute("SELECT CONNECTION_ID(), DATABASE()")
                    row = cur.fetchone()
                    assert row is not None and row[1] == "tunnel_probe"
            ids = set()
            for c in conns:
                with c.cursor() as cur:
                    cur.execute("SELECT CONNECTION_ID()")
                    ids.add(cur.fetchone())
            assert len(ids) == 8
        finally:
            for c in conns:
                c.close()


def test_gateway_bind_address_listens_only_there(backend, sshd, echo_server):
    """bind_address = the master's private address (127.0.0.2 stands in for it here)."""
    cfg = _ssh(sshd, backend, bind_address="127.0.0.2")
    with open_tunnel(cfg, "127.0.0.1", echo_server) as (host, port):
        assert host == "127.0.0.2"
        assert _roundtrip("127.0.0.2", port, b"from a worker node") == b"from a worker node"
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
