"""A new user's trial of the Parquet events on a corpus the parser was not written against:
CloudFront standard logs (W3C, AWS's documented field list and example values) spanning
five UTC days with odd values and rejects, through `parse`, `events compact` and `hive
apply` on the CLI; `events_parquet` through Spark's Thrift server and DuckDB equals the JSON
events (counts per day and slug, every whole row)."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import random
import uuid
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner

from tests._awslogs import CF_FIELDS
from warehouse.cli import cli
from warehouse.schema import EVENT_KEYS

SAMPLE = Path(__file__).parents[1] / "conf" / "sample"
PATHS = ["/", "/favicon.ico", "/blog/tags/puppet", "/projects/xdotool/",
         "/blog/geekery/ssl-latency.html", "/articles/ssh-security/", "/presentations/logstash-1/",
         "/blog/caf%C3%A9/%F0%9F%98%80.html", "/projects/keynav/", "/nope/%ZZ", "/a%20b/"]
QUERIES = ["-", "flav=rss20", "utm_source=feedburner&utm_campaign=Feed%3A+x+%28y%29", "a=%00",
           "q=%E2%9C%93&q=2", "="]
AGENTS = ["Mozilla/5.0%20(Windows%20NT%2010.0;%20Win64;%20x64)%20AppleWebKit/537.36", "-",
          "curl/7.46.0", "Zo%C3%AB%20%22bot%22%5C"]
START = dt.datetime(2024, 2, 28, 21, 0, 0)
DAYS = 5


def cloudfront_log(rng: random.Random, n: int) -> bytes:
    """`n` CloudFront lines (every 97 s from START) plus headers and a few broken lines."""
    out = ["#Version: 1.0", CF_FIELDS]
    for i in range(n):
        t = START + dt.timedelta(seconds=97 * i)
        status = rng.choice(["200", "200", "304", "404", "502", "000"])
        fields = [
            t.strftime("%Y-%m-%d"), t.strftime("%H:%M:%S"), rng.choice(["LAX1", "SEA19-C1"]),
            rng.choice(["392", "0", "-", "9223372036854775807"]),
            rng.choice(["192.0.2.100", "2001:db8::1", "198.51.100.7"]),
            rng.choice(["GET", "POST", "HEAD", "OPTIONS"]), "d111111abcdef8.cloudfront.net",
            rng.choice(PATHS), status, rng.choice(["-", "http://www.example.com/"]),
            rng.choice(AGENTS), rng.choice(QUERIES), "-",
            rng.choice(["Hit", "Miss", "Error"]), f"req{i:08d}==", "www.example.com",
            rng.choice(["http", "https", "ws"]), "675",
            rng.choice(["0.001", "0.102", "12.5", "0.000"]), "-", "TLSv1.2",
            "ECDHE-RSA-AES128-GCM-SHA256", "Hit", rng.choice(["HTTP/1.1", "HTTP/2.0"]), "-",
            "-", "11040", "0.001", "Hit", "text/html", "78", "-", "-",
        ]
        out.append("\t".join(fields))
        if i % 250 == 3:
            out.append("garbage line that is not CloudFront")
        if i % 400 == 7:
            out.append("\t".join(fields[:9]))  # truncated
    return gzip.compress(("\n".join(out) + "\n").encode())


def _cli(*args: str) -> str:
    res = CliRunner().invoke(cli, list(args))
    assert res.exit_code == 0, res.output
    return res.output


def _json_rows(root: Path) -> list[tuple[Any, ...]]:
    """Every JSON event as DuckDB reads it (ts as a naive UTC timestamp, params sorted)."""
    cols = ", ".join("CAST(ts AS TIMESTAMP)" if k == "ts" else f'"{k}"' for k in EVENT_KEYS)
    schema = ("{ts: 'VARCHAR', ip: 'VARCHAR', vhost: 'VARCHAR', user: 'VARCHAR', method: "
              "'VARCHAR', path: 'VARCHAR', query: 'VARCHAR', protocol: 'VARCHAR', status: "
              "'INTEGER', bytes: 'BIGINT', referer: 'VARCHAR', user_agent: 'VARCHAR', "
              "duration_ms: 'DOUBLE', slug: 'VARCHAR', params: 'MAP(VARCHAR, VARCHAR)'}")
    rows = duckdb.sql(f"SELECT {cols}, CAST(dt AS VARCHAR) FROM read_json("
                      f"'{root}/events/*/*.json.gz', columns = {schema}, "
                      "format = 'newline_delimited', hive_partitioning = true)").fetchall()
    return sorted((_row(r) for r in rows), key=repr)


def _row(r: tuple[Any, ...]) -> tuple[Any, ...]:
    row = list(r)
    row[14] = sorted((row[14] or {}).items())
    return tuple(row)


def _parquet_rows(root: Path) -> list[tuple[Any, ...]]:
    cols = ", ".join(f'"{k}"' for k in EVENT_KEYS)
    rows = duckdb.sql(f"SELECT {cols}, CAST(dt AS VARCHAR) FROM read_parquet("
                      f"'{root}/events_parquet/*/*.parquet', hive_partitioning = true)")
    return sorted((_row(r) for r in rows.fetchall()), key=repr)


def _hive(hive_server: Any, database: str, sql: str) -> list[tuple[Any, ...]]:
    return hive_server.rows(database, sql)


@pytest.mark.hive
def test_cloudfront_days_events_parquet_equals_json(tmp_path: Path, hive_server: Any) -> None:
    log = tmp_path / "E2EXAMPLE.2024-02-28-21.a1b2c3d4.gz"
    log.write_bytes(cloudfront_log(random.Random(24), 3600))
    root = tmp_path / "root"
    database = f"trial_{uuid.uuid4().hex[:8]}"
    hive = hive_server.hive_dict(database)
    toml = tmp_path / "warehouse.toml"
    toml.write_text(f'[warehouse]\nroot = "{root}"\n[events]\nparquet = true\n[hive]\n'
                    + "".join(f'{k} = "{v}"\n' if isinstance(v, str) else f"{k} = {v}\n"
                              for k, v in hive.items()))
    out = _cli("--config", str(toml), "parse", str(log), "--format", "cloudfront",
               "--patterns", str(SAMPLE / "urls.json"))
    assert "3,600 events" in out and "rejects" in out, out
    days = sorted(p.name[3:] for p in (root / "events").iterdir())
    assert len(days) == DAYS, days
    out = _cli("--config", str(toml), "events", "compact", "--from", days[0], "--to", days[-1])
    assert f"{DAYS} dates ({DAYS} written" in out and "3,600 rows" in out, out
    want = _json_rows(root)
    assert len(want) == 3600
    assert _parquet_rows(root) == want
    _cli("--config", str(toml), "hive", "apply")
    per = "SELECT dt, slug, count(*) FROM {} GROUP BY dt, slug"
    by_day_slug = sorted(_hive(hive_server, database, per.format("events")), key=repr)
    assert sorted(_hive(hive_server, database, per.format("events_parquet")),
                  key=repr) == by_day_slug
    counted: dict[tuple[str, Any], int] = {}
    for r in want:
        counted[(r[-1], r[13])] = counted.get((r[-1], r[13]), 0) + 1
    assert sorted(((d, s, n) for (d, s), n in counted.items()), key=repr) == by_day_slug
    cols = ", ".join(f"`{k}`" for k in EVENT_KEYS if k not in ("ts", "params"))
    sample = ("SELECT CAST(ts AS STRING), {c}, params, dt FROM {t} "
              "WHERE pmod(hash(path, ip, `bytes`), 7) = 0")

    def hive_rows(table: str) -> list[tuple[Any, ...]]:
        got = _hive(hive_server, database, sample.format(c=cols, t=table))
        return sorted(((r[0][:19].replace("T", " "), *r[1:-2],
                        sorted(json.loads(r[-2] or "{}").items()), r[-1]) for r in got),
                      key=repr)

    rows = hive_rows("events")
    assert len(rows) > 300
    assert hive_rows("events_parquet") == rows


def test_run_with_parquet_on_cloudfront_days(tmp_path: Path) -> None:
    """`warehouse run` with `[events] parquet = true` over the CloudFront file: each
    touched day's events_parquet equals its JSON events, and every aggregate's Parquet
    copy equals its JSON parts (DuckDB)."""
    from tests.test_aggregate_parquet import _duck, _json_records
    from tests.test_pipeline import write_config
    from warehouse.schema import JOBS

    day = START.date()
    logs = tmp_path / "logs" / day.strftime("%Y/%m/%d")
    logs.mkdir(parents=True)
    (logs / "E2EXAMPLE.2024-02-28-21.a1b2c3d4.gz").write_bytes(
        cloudfront_log(random.Random(7), 3600))
    root = tmp_path / "root"
    toml = write_config(tmp_path / "warehouse.toml", {
        "warehouse": {"root": str(root)},
        "logs": {"input": str(tmp_path / "logs") + "/{date:%Y/%m/%d}/",
                 "patterns": str(SAMPLE / "urls.json"), "format": "cloudfront"},
        "events": {"parquet": True},
        "aggregate": {"runner": "inline", "jobs": list(JOBS)},
        "cron": {"lock_file": str(tmp_path / "run.lock")},
    })
    res = CliRunner().invoke(cli, ["--config", str(toml), "run", "--date", str(day)])
    assert res.exit_code == 0, res.output
    assert f"parquet ok ({DAYS} partitions)" in res.output, res.output
    want = _json_rows(root)
    assert len(want) == 3600 and len({r[-1] for r in want}) == DAYS
    assert _parquet_rows(root) == want
    for job in JOBS:
        records = _json_records(root, job)
        assert records and _duck(root, job)[0] == records, job
