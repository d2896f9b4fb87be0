"""`hive query` holds at most `[hive] max_rows` rows (memory bounded by configuration, not
by the query): a larger result fails with one line and exit 5, having read one row past
the bound. Real HiveServer2 (Spark's Thrift server, fixture hive_server)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.test_hive_server import _cli, _db, _write_config


def test_a_result_over_max_rows_fails_in_one_line(hive_server: Any, tmp_path: Path) -> None:
    hive = {**hive_server.hive_dict(_db()), "max_rows": 40}
    conf = _write_config(tmp_path / "w.toml", tmp_path / "root", hive)
    ok = _cli("--config", str(conf), "hive", "query", "--format", "tsv",
              "SELECT id FROM range(40)")
    assert ok.exit_code == 0, ok.output
    assert ok.output.splitlines() == ["id", *(str(i) for i in range(40))]
    big = _cli("--config", str(conf), "hive", "query", "SELECT id FROM range(100000)")
    assert big.exit_code == 5, big.output
    err = big.stderr.strip().splitlines()
    assert len(err) == 1 and "more than [hive] max_rows (40) rows" in err[0], big.stderr
    assert big.stdout == ""
