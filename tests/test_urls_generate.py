"""bench/generate.py, the shared benchmark data generator: deterministic and as described."""

from __future__ import annotations

import gzip
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests._bench import load_generate
from warehouse.urls.resolver import Resolver

REPO = Path(__file__).resolve().parents[1]
COMBINED = re.compile(
    rb"^(?P<host>\S+) \S+ \S+ \[(?P<day>\d\d)/(?P<mon>\w{3})/(?P<year>\d{4}):(?P<hour>\d\d):\d\d:\d\d "
    rb'(?P<tz>[+-]\d{4})\] "(?P<method>[A-Z]+) (?P<target>\S+) HTTP/1\.1" (?P<status>\d{3}) '
    rb'(?:\d+|-) "[^"]*" "(?:[^"\\]|\\.)*"\n$'
)


gen = load_generate()


@pytest.fixture(scope="module")
def patterns() -> list[dict[str, Any]]:
    return gen.dump_urls_py(gen.generate_urls_py(120, 5), module="gen_urls_120")


def test_urls_py_is_deterministic_and_has_n_patterns(patterns: list[dict[str, Any]]) -> None:
    assert gen.generate_urls_py(120, 5) == gen.generate_urls_py(120, 5)
    assert gen.generate_urls_py(120, 5) != gen.generate_urls_py(120, 6)
    assert len(patterns) == 120
    names = [p["name"] for p in patterns]
    assert any(":api:" in n for n in names)  # nested namespaces
    assert any(n.split(":")[-1].startswith("gen_urls_120.") for n in names)  # unnamed views
    assert any("convert" in p for p in patterns)  # int converters
    assert sum(1 for p in patterns if Resolver([p]).stats()["fallback"]) >= 3  # catch-alls


def test_log_is_deterministic_and_shaped_like_traffic(
    tmp_path: Path, patterns: list[dict[str, Any]]
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a, b = tmp_path / "a" / "access.log.gz", tmp_path / "b" / "access.log.gz"
    counts = gen.generate_log(a, 20_000, 9, patterns, gz=True)
    gen.generate_log(b, 20_000, 9, patterns, gz=True)
    assert a.read_bytes() == b.read_bytes()  # byte-identical, gzip header included
    data = gzip.decompress(a.read_bytes())
    assert data.endswith(b"\n")
    lines = [line + b"\n" for line in data[:-1].split(b"\n")]  # b"\r" may occur in junk
    assert len(lines) == counts["lines"] == 20_000
    assert counts["junk"] + counts["static"] + counts["pattern"] + counts["malformed"] == 20_000
    assert 0.03 < counts["junk"] / 20_000 < 0.07
    assert 0.0003 < counts["malformed"] / 20_000 < 0.003
    parsed = [m for m in map(COMBINED.match, lines) if m]
    assert len(lines) - len(parsed) <= counts["malformed"]  # only the malformed ones fail
    hosts = {m["host"] for m in parsed}
    assert any(b":" in h for h in hosts) and any(b"." in h for h in hosts)  # IPv6 and IPv4
    assert len({m["tz"] for m in parsed}) >= 3
    assert len({(m["year"], m["mon"], m["day"]) for m in parsed}) >= 4  # days and midnights
    targets = [m["target"].decode() for m in parsed]
    assert sum("?" in t for t in targets) > 0.05 * len(targets)
    assert any("%" in t for t in targets)  # percent-encoded non-ASCII paths
    r = Resolver(patterns)
    slugs = Counter(r.resolve(t.split("?", 1)[0])[0] for t in targets)
    unmatched = slugs.pop(None) / len(targets)
    assert 0.05 < unmatched < 0.25  # junk plus static files plus near-misses
    hits = [n for _, n in slugs.most_common()]
    assert hits[0] > 5 * hits[len(hits) // 2]  # Zipf-like popularity
