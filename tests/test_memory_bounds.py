"""Memory is bounded by configuration, not by input. Parse: a 200 MiB line (no newline in it) in
a plain file (cut into byte ranges) or a gzip, parsed through the CLI in a child process,
costs a peak RSS far below the line's size; the reject keeps its first 65,536 characters
("line too long"). The peak is measured by a helper process around the command, with
resource.getrusage(RUSAGE_CHILDREN), so nothing else this test session ran counts."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.test_pipeline import WAREHOUSE_BIN, write_config

LINE_MIB = 200
PEAK_MIB = 120  # the documented bound of one parse process, with room for the interpreter

_MEASURE = """
import resource, subprocess, sys
r = subprocess.run(sys.argv[1:], stdin=sys.stdin, capture_output=True)
sys.stderr.buffer.write(r.stdout[-2000:] + r.stderr[-2000:])
print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)
"""

GOOD = b'1.2.3.4 - - [18/May/2015:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "x"\n'


def _write_long(path: Path, gz: bool) -> None:
    chunk = b"a" * (1 << 20)
    opener = gzip.open if gz else open
    with opener(path, "wb") as f:
        f.write(GOOD)
        for _ in range(LINE_MIB):
            f.write(chunk)
        f.write(b"\n" + GOOD)


def _peak(argv: list[str], stdin_path: Path | None = None) -> tuple[int, int, str]:
    """Run `argv` under the measuring helper; return (exit code, peak RSS MiB, output)."""
    with open(stdin_path or "/dev/null", "rb") as stdin:
        r = subprocess.run([sys.executable, "-c", _MEASURE, *argv], stdin=stdin,
                           capture_output=True, text=True, timeout=600)
    code, peak = r.stdout.split()
    return int(code), int(peak), r.stderr


@pytest.mark.parametrize("kind", ["plain", "gzip", "stdin"])
def test_a_huge_line_costs_bounded_memory(tmp_path: Path, kind: str) -> None:
    log = tmp_path / ("big.log.gz" if kind == "gzip" else "big.log")
    _write_long(log, kind == "gzip")
    root = tmp_path / "root"
    conf = write_config(tmp_path / "w.toml", {
        "warehouse": {"root": str(root)}, "cron": {"lock_file": str(tmp_path / "run.lock")},
        "logs": {"format": "combined"},
    })
    argv = [WAREHOUSE_BIN, "--config", str(conf), "parse", "--workers", "2"]
    if kind == "stdin":
        code, peak, out = _peak([*argv, "--source-name", "big", "-"], log)
    else:
        code, peak, out = _peak([*argv, str(log)])
    assert code == 0, out
    assert "2 events, 1 reject (line too long: 1)" in out, out
    assert peak < PEAK_MIB, f"peak RSS {peak} MiB for a {LINE_MIB} MiB line"
    rejects = [json.loads(x) for p in root.glob("rejects/*/*.json.gz")
               for x in gzip.decompress(p.read_bytes()).splitlines()]
    assert [(r["reason"], r["lineno"], len(r["line"])) for r in rejects] == [
        ("line too long", 2, 65536)
    ]


@pytest.mark.mysql
def test_import_of_wide_rows_costs_bounded_memory(tmp_path: Path, sshd: Any, mariadb: Any) -> None:
    """`[mysql.NAME] batch_bytes` bounds the python engine's rows in flight: 60 rows of
    3 MiB each (180 MiB of blobs, 240 MiB as base64 JSON) import through the real tunnel
    with a peak RSS far below the table's size (1,000 rows a fetch: 661 MiB)."""
    from tests.test_mysql_import import PASSWORD, USER, _toml_config

    db = mariadb.create_database("widerows")
    mariadb.execute("CREATE TABLE w (id INT PRIMARY KEY, b LONGBLOB)", database=db)
    mariadb.execute("INSERT INTO w SELECT seq, REPEAT(CHAR(65 + seq % 26), 3145728) "
                    "FROM seq_1_to_60", database=db)
    mariadb.create_user(USER, PASSWORD, db)
    (tmp_path / "db.pass").write_text(PASSWORD + "\n")
    root = tmp_path / "root"
    conf = _toml_config(tmp_path, sshd, mariadb, root, db,
                        extra="batch_bytes = 16777216\nworkers = 1\n")
    with conf.open("a") as f:
        f.write(f'[cron]\nlock_file = "{tmp_path / "run.lock"}"\n')
    code, peak, out = _peak([WAREHOUSE_BIN, "--config", str(conf), "import"])
    assert code == 0, out
    assert peak < 160, f"peak RSS {peak} MiB importing 180 MiB of rows"
    rows = [json.loads(x) for p in root.glob("mysql/src/*/w/load=*/*.json.gz")
            for x in gzip.decompress(p.read_bytes()).splitlines()]
    assert sorted(r["id"] for r in rows) == list(range(1, 61))
