"""JSON-lines logs through `warehouse parse`: a real Caddy's access log (`--format caddy`)
and `--format json` with a `[logs.json]` mapping (nginx escape=json style lines).

Caddy (tests/fixtures/caddy.py) receives raw HTTP requests (odd targets, absolute-form,
percent escapes, headers present or not) and writes its own JSON log; each event is
compared with an independent reading of Caddy's JSON (json + urllib.parse) and slug and
params with Django's resolve() (tests/django_sample).
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from tests._awslogs import check_events, parse_cli
from tests.fixtures.caddy import Caddy
from warehouse.cli import cli


def _send(port: int, raw: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(raw)
        s.shutdown(socket.SHUT_WR)
        while s.recv(65536):
            pass


def _requests(port: int, paths: list[str]) -> list[bytes]:
    host = f"Host: 127.0.0.1:{port}\r\n"
    ua = "User-Agent: Mozilla/5.0 (X11; Linux x86_64) test agent\r\n"
    out = [
        f"GET / HTTP/1.1\r\n{host}{ua}Connection: close\r\n\r\n",
        f"GET /blog/?page=2&q=a%20b HTTP/1.1\r\n{host}{ua}Referer: http://r.example/x?y=1\r\n"
        "Connection: close\r\n\r\n",
        f"HEAD /missing/thing HTTP/1.1\r\n{host}Connection: close\r\n\r\n",  # no User-Agent
        f"POST /a%20b/%E2%82%AC HTTP/1.1\r\n{host}{ua}Content-Length: 3\r\n"
        "Connection: close\r\n\r\nabc",
        f"GET http://127.0.0.1:{port}/absolute/form/?x=1 HTTP/1.1\r\n{host}{ua}"
        "Connection: close\r\n\r\n",
        f"GET /old?x HTTP/1.0\r\n{host}\r\n",
    ]
    for p in paths:
        out.append(f"GET {p}?n=1 HTTP/1.1\r\n{host}{ua}Connection: close\r\n\r\n")
    return [r.encode("latin-1") for r in out]


def caddy_expected(line: str) -> dict[str, Any]:
    """The event of one line of Caddy's JSON log, read independently."""
    obj = json.loads(line)
    req = obj["request"]
    u = urlsplit(req["uri"])
    headers = req.get("headers", {})
    return {
        "ts": dt.datetime.fromtimestamp(int(obj["ts"]), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "ip": req["remote_ip"], "vhost": req["host"] or None, "user": None,
        "method": req["method"], "path": u.path or "/", "query": u.query or None,
        "protocol": req["proto"], "status": obj["status"], "bytes": obj["size"],
        "referer": headers.get("Referer", [None])[0],
        "user_agent": headers.get("User-Agent", [None])[0],
        "duration_ms": round(obj["duration"] * 1000, 3),
    }


def test_caddy_json_log(caddy: Caddy, url_site: Any, tmp_path: Path) -> None:
    dump, paths, answer = url_site
    sent = _requests(caddy.port, paths[:60])
    for raw in sent:
        _send(caddy.port, raw)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        lines = caddy.log.read_text(encoding="utf-8").splitlines() if caddy.log.exists() else []
        if len(lines) >= len(sent):
            break
        time.sleep(0.1)
    assert len(lines) == len(sent), caddy.log
    expected = [caddy_expected(x) for x in lines]
    assert any(e["user_agent"] is None for e in expected)
    assert any(e["path"] == "/absolute/form/" for e in expected)
    check_events(*parse_cli(tmp_path, "caddy", lines, "caddy", dump), expected, answer)


NGINX_JSON = [
    {"time": "2024-03-09T10:00:01+01:00", "remote_addr": "192.0.2.1", "status": "200",
     "request": "GET /blog/?p=1 HTTP/1.1", "body_bytes_sent": "512", "request_time": "0.004",
     "http_user_agent": "Mozilla/5.0 (X11) test", "http_referer": "", "host": "www.example.com"},
    {"time": "2024-03-09T23:30:00+00:00", "remote_addr": "192.0.2.2", "status": "404",
     "request": "GET  /docs/  HTTP/1.1", "body_bytes_sent": "0", "request_time": "1.250",
     "http_user_agent": "-", "http_referer": "http://r.example/", "host": ""},
    {"time": "2024-03-09T23:30:00+00:00", "remote_addr": "192.0.2.3", "status": 301,
     "request": "GET https://www.example.com:443/a%20b HTTP/1.1", "body_bytes_sent": 0,
     "request_time": 0.5, "http_user_agent": "curl/8", "http_referer": "-", "host": "-"},
]
NGINX_MAPPING = {
    "ts": "time", "ip": "remote_addr", "status": "status", "request": "request",
    "bytes": "body_bytes_sent", "duration_s": "request_time", "user_agent": "http_user_agent",
    "referer": "http_referer", "vhost": "host",
}


def _config(tmp_path: Path, mapping: dict[str, str]) -> Path:
    cfg = tmp_path / "warehouse.toml"
    body = "\n".join(f"{k} = {json.dumps(v)}" for k, v in mapping.items())
    cfg.write_text(f"[logs]\nformat = \"json\"\n\n[logs.json]\n{body}\n", encoding="utf-8")
    return cfg


def _events(root: Path) -> list[dict[str, Any]]:
    import gzip

    out = []
    for part in sorted((root / "events").rglob("*.json.gz")):
        with gzip.open(part, "rt", encoding="utf-8") as f:
            out.extend(json.loads(x) for x in f)
    return sorted(out, key=lambda e: (e["ts"], e["ip"]))


def test_json_format_with_a_logs_json_mapping(tmp_path: Path) -> None:
    log = tmp_path / "nginx.json"
    log.write_text("".join(json.dumps(x) + "\n" for x in NGINX_JSON), encoding="utf-8")
    cfg = _config(tmp_path, NGINX_MAPPING)
    root = tmp_path / "root"
    result = CliRunner().invoke(cli, ["--config", str(cfg), "--root", str(root), "parse", str(log)])
    assert result.exit_code == 0, result.output
    assert "3 events, 0 rejects" in result.output
    got = _events(root)
    assert [(e["ts"], e["path"], e["query"], e["protocol"], e["vhost"]) for e in got] == [
        ("2024-03-09T09:00:01Z", "/blog/", "p=1", "HTTP/1.1", "www.example.com"),
        ("2024-03-09T23:30:00Z", "/docs/", None, "HTTP/1.1", None),
        ("2024-03-09T23:30:00Z", "/a%20b", None, "HTTP/1.1", None),
    ]
    assert [(e["status"], e["bytes"], e["duration_ms"]) for e in got] == [
        (200, 512, 4.0), (404, 0, 1250.0), (301, 0, 500.0),
    ]
    assert [(e["user_agent"], e["referer"]) for e in got] == [
        ("Mozilla/5.0 (X11) test", None), (None, "http://r.example/"), ("curl/8", None),
    ]
    # the same mapping given on the command line's --format json
    root2 = tmp_path / "root2"
    again = CliRunner().invoke(
        cli, ["--config", str(cfg), "--root", str(root2), "parse", str(log), "--format", "json"]
    )
    assert again.exit_code == 0, again.output
    assert _events(root2) == got


@pytest.mark.parametrize(("encoding", "value"), [("epoch_s", 1709978401.9), ("epoch_ms", 1709978401999)])
def test_epoch_timestamps(tmp_path: Path, encoding: str, value: float) -> None:
    log = tmp_path / "app.json"
    log.write_text(json.dumps({"t": value, "r": {"code": 200, "path": "/x/?a=1"}}) + "\nnot json\n")
    cfg = _config(tmp_path, {"ts": "t", "ts_encoding": encoding, "status": "r.code", "path": "r.path"})
    root = tmp_path / "root"
    result = CliRunner().invoke(cli, ["--config", str(cfg), "--root", str(root), "parse", str(log)])
    assert result.exit_code == 0, result.output
    assert "1 event, 1 reject (no match for format: 1)" in result.output
    (ev,) = _events(root)
    assert (ev["ts"], ev["path"], ev["query"], ev["status"]) == ("2024-03-09T10:00:01Z", "/x/", "a=1", 200)


def test_json_without_a_mapping_is_a_usage_error(tmp_path: Path) -> None:
    log = tmp_path / "x.json"
    log.write_text("{}\n")
    result = CliRunner().invoke(cli, ["--root", str(tmp_path / "r"), "parse", str(log), "--format", "json"])
    assert result.exit_code == 2
    assert "[logs.json]" in result.output
    bad = _config(tmp_path, {"ts": "t", "colour": "c"})
    result = CliRunner().invoke(cli, ["--config", str(bad), "config", "check"])
    assert result.exit_code == 2
    assert "unknown event field 'colour'" in result.output and "needs status" in result.output
