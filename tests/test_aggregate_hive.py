"""The sessions and top_params outputs read back through Hive (Spark's Thrift server):
warehouse.schema.JOBS' types, including ARRAY<STRUCT<slug,n>> and null slugs, match the files."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.test_aggregate_corpus import START, make_corpus, read_output
from warehouse.cli import cli
from warehouse.hive import manage

pytestmark = pytest.mark.hive


def test_sessions_and_top_params_read_back_in_hive(hive_server: Any, tmp_path: Path) -> None:
    root = tmp_path / "root"
    make_corpus(root, 3000, 2, seed=9)
    db = f"t_{uuid.uuid4().hex[:10]}"
    hive = hive_server.hive_dict(db)
    conf = tmp_path / "w.toml"
    conf.write_text(
        f'[warehouse]\nroot = "{root}"\n\n[hive]\n'
        + "".join(f"{k} = {v!r}\n".replace("'", '"') if isinstance(v, str) else f"{k} = {v}\n"
                  for k, v in hive.items()),
        encoding="utf-8",
    )
    cfg = hive_server.config(root, db)
    last = (START + dt.timedelta(days=1)).isoformat()
    for job in ("sessions", "top_params"):
        res = CliRunner().invoke(
            cli, ["--config", str(conf), "aggregate", job, "--from", str(START), "--to", last,
                  "-r", "inline", "--register"], catch_exceptions=False,
        )
        assert res.exit_code == 0, res.output

    files = read_output(root, "sessions")
    rows = manage.run_query(
        cfg, "SELECT dt, sessions, visitors, mean_session_s, median_session_s, mean_actions, "
        "size(top_entry), top_entry[0].slug, top_entry[0].n, top_exit[0].slug FROM agg_sessions",
    ).rows
    assert len(rows) == 2
    for row in rows:
        (want,) = files[row[0]]
        assert row[1:3] == (want["sessions"], want["visitors"])
        assert row[3] == pytest.approx(want["mean_session_s"], rel=1e-9)
        assert row[4] == pytest.approx(want["median_session_s"], rel=1e-9)
        assert row[5] == pytest.approx(want["mean_actions"], rel=1e-9)
        assert row[6] == len(want["top_entry"])
        assert (row[7], row[8]) == (want["top_entry"][0]["slug"], want["top_entry"][0]["n"])
        assert row[9] == want["top_exit"][0]["slug"]

    params = read_output(root, "top_params")
    got = manage.run_query(cfg, "SELECT dt, slug, param, value, hits, rank FROM agg_top_params").rows
    want = [(r["dt"], r["slug"], r["param"], r["value"], r["hits"], r["rank"])
            for recs in params.values() for r in recs]
    assert sorted(got, key=str) == sorted(want, key=str) and len(want) > 20
