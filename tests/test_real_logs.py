"""Real logs from public repositories (tests/data/real_logs, sources in its README) read
by `warehouse parse` and, independently, by apachelogs or the reference nginx reader.

Every line the reference reads must become an event equal to the reference's, field by
field; every line it cannot read (another format) must be rejected; lines = events +
rejects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests._logcheck import Checked, check_log
from tests._reflogs import reader_for

DATA = Path(__file__).parent / "data" / "real_logs"
_COMBINED = '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"'
_COMMON = '%h %l %u %t "%r" %>s %b'
_NGINX = (
    '$remote_addr - $remote_user [$time_local] "$request" '
    '$status $body_bytes_sent "$http_referer" "$http_user_agent"'
)
# file -> (--format, reference, the format as the reference reads it, parse's exit code:
# 5 where more than half the lines are of other formats, above [logs] max_reject_ratio)
LOGS: dict[str, tuple[str, str, str, int]] = {
    "basjes-hackers-access.log.gz": ("combined", "apache", _COMBINED, 0),
    "beats-apache-darwin-2.4.23.log": ("common", "apache", _COMMON, 0),
    "beats-apache-test.log": ("combined", "apache", _COMBINED, 5),
    "beats-nginx-access.log": ("nginx", "nginx", _NGINX, 0),
    "beats-nginx-test.log": ("nginx", "nginx", _NGINX, 5),
}
@pytest.fixture(scope="module")
def checked(tmp_path_factory: Any) -> dict[str, Checked]:
    """Every bundled log read through the CLI and by its reference."""
    out = {}
    for name, (fmt, reference, ref_fmt, _) in LOGS.items():
        root = tmp_path_factory.mktemp("real") / "root"
        out[name] = check_log(DATA / name, fmt, root, reader_for(reference, ref_fmt))
    return out


def test_bundle_is_small_and_documented() -> None:
    files = sorted(p.name for p in DATA.iterdir() if p.name != "README.md")
    assert files == sorted(LOGS)
    assert sum((DATA / f).stat().st_size for f in files) < 1 << 20
    readme = (DATA / "README.md").read_text()
    assert all(f in readme for f in files)


@pytest.mark.parametrize("name", sorted(LOGS))
def test_every_line_agrees_with_the_reference(checked: dict[str, Checked], name: str) -> None:
    c = checked[name]
    assert len(c.lines) == c.n_events + len(c.rejects), c.output
    assert c.exit_code == LOGS[name][3], c.output
    assert (len(c.rejects) > len(c.lines) / 2) == (c.exit_code == 5), c.output
    assert any(e is not None for e in c.expected.values()), "the reference read nothing"
    problems = [c.problem(n) for n in range(1, len(c.lines) + 1)]
    problems = [p for p in problems if p]
    assert not problems, f"{len(problems)} lines differ:\n" + "\n".join(problems[:20])
