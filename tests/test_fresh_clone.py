"""A clone with nothing beside it passes its own tests: the suite reads only the checkout.

The fixtures' helpers are run under an audit hook that records every file they open; a
path outside the repository fails the test. A scan of tests/, bench/, .ci/ and conf/ also
refuses references to the `../shared` folder the suite once read its sample log from.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures import _util
from tests.fixtures._util import REPO, SAMPLE_GZ, sample_log

_opened: list[str] | None = None  # set while a test records opens; the hook lives forever


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _opened is not None and event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        _opened.append(os.path.realpath(os.fsdecode(args[0])))


sys.addaudithook(_audit)


def _opens(call: Callable[[], object]) -> list[str]:
    """Return the real paths of the files `call` opened."""
    global _opened
    _opened = []
    try:
        call()
        return _opened
    finally:
        _opened = None


@pytest.fixture
def cold_cache() -> Iterator[Path]:
    """A cache folder inside the checkout that does not exist yet."""
    path = _util.CACHE / f"guard-{os.getpid()}"
    shutil.rmtree(path, ignore_errors=True)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_the_audit_hook_sees_an_open_outside_the_repository(tmp_path: Path) -> None:
    outside = tmp_path / "x.log"
    outside.write_text("x")
    assert str(outside.resolve()) in _opens(outside.read_text)


def test_the_sample_log_helper_opens_only_files_in_the_repository(cold_cache: Path) -> None:
    sample_log(cold_cache)  # first call: imports and caches warm up outside the audit
    shutil.rmtree(cold_cache)
    opened = _opens(lambda: Path(sample_log(cold_cache)).read_bytes())  # decompresses again
    opened += _opens(lambda: Path(sample_log(cold_cache)).read_bytes())  # reads the cached copy
    assert opened, "the audit hook recorded nothing"
    root = str(REPO) + os.sep
    outside = [p for p in opened if not p.startswith(root)]
    assert outside == [], f"the fixtures' helpers opened paths outside {REPO}: {outside}"
    assert Path(sample_log(cold_cache)).read_bytes() == gzip.decompress(SAMPLE_GZ.read_bytes())


def test_the_sample_log_is_the_real_10k_line_log() -> None:
    data = Path(sample_log()).read_bytes()
    assert data.count(b"\n") == 10_000 and b'"GET /' in data


_ESCAPES = re.compile(r"\.\./shared|[\"']shared[\"']\s*\)|/work/shared|shared_path\(")


def test_nothing_in_tests_bench_ci_or_conf_names_a_folder_beside_the_checkout() -> None:
    found = []
    for top in ("tests", "bench", ".ci", "conf"):
        for path in sorted((REPO / top).rglob("*")):
            if not path.is_file() or path.suffix in (".gz", ".pyc") or ".cache" in path.parts:
                continue
            if path == Path(__file__).resolve():
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            found += [f"{path.relative_to(REPO)}: {m.group(0)}" for m in _ESCAPES.finditer(text)]
    assert found == [], f"paths outside the checkout: {found}"
