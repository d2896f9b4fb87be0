"""URLconfs that include themselves: `urls dump` terminates, warns naming the include chain,
and every path within the dump's depth resolves as Django resolves it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.test_urls_django import REPO, _check_all, _corpus
from tests.test_urls_django import django_resolve as django_resolve
from warehouse.errors import ConfigError
from warehouse.urls.dump import dump_patterns
from warehouse.urls.resolver import Resolver

OUTER = "tests.django_cycles.outer"
DEEP = "/in1/back/in1/app3/inner/42/37/"  # outer -> inner -> outer -> inner -> app
DEEPER = "/in1/back/in1/back/normal/"  # outer three times on the chain


def test_self_including_urlconf_dumps_to_its_depth(
    django_resolve: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level("WARNING", logger="warehouse.urls.dump"):
        patterns = dump_patterns(OUTER)
    warnings = [r.getMessage() for r in caplog.records]
    # One warning per cycle, naming the include()s that close it.
    assert any(
        w.startswith(f"URLconf {OUTER} includes itself ({OUTER} -> {OUTER} 'self/')")
        for w in warnings
    ), warnings
    assert any(
        w.startswith(f"URLconf {OUTER} includes itself ({OUTER} -> tests.django_cycles.inner "
                     f"'^in[135]/' -> {OUTER} 'back/')") for w in warnings
    ), warnings  # fmt: skip
    assert len(warnings) == 2, warnings
    resolver = Resolver(patterns)
    assert resolver.resolve(DEEP) == django_resolve(DEEP, OUTER)
    assert resolver.resolve(DEEP) == ("in-ns1:back:in-ns1:app-ns3:app-view", {"a": "42", "b": "37"})
    # Deeper than the dump: Django still resolves it; the dump's documented limit is null.
    assert django_resolve(DEEPER, OUTER)[0] == "in-ns1:back:in-ns1:back:normal"
    assert resolver.resolve(DEEPER) == (None, {})
    deeper = Resolver(dump_patterns(OUTER, cycle_depth=3))
    assert deeper.resolve(DEEPER) == django_resolve(DEEPER, OUTER)
    assert len(dump_patterns(OUTER, cycle_depth=1)) < len(patterns)


def test_self_including_urlconf_agrees_with_django(django_resolve: Any) -> None:
    """Every path sampled from the dump (and its near-misses) resolves as in Django."""
    patterns = dump_patterns(OUTER)
    total, matched = _check_all(
        _corpus(patterns, seed=11, per_pattern=3), patterns, OUTER, django_resolve
    )
    assert matched > len(patterns)  # most sampled paths match something
    assert total > 3 * len(patterns)


def test_cli_cycle_depth(tmp_path: Path) -> None:
    """The command ends (in its own process, bounded in time) and takes --cycle-depth."""
    out = tmp_path / "urls.json"
    argv = [sys.executable, "-m", "warehouse.cli", "urls", "dump", "--urlconf", OUTER,
            "--pythonpath", str(REPO), "--cycle-depth", "3", "-o", str(out)]  # fmt: skip
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=REPO, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "includes itself" in proc.stderr and "3 time(s) deep" in proc.stderr
    assert len(json.loads(out.read_text(encoding="utf-8"))) == len(
        dump_patterns(OUTER, cycle_depth=3)
    )
    bad = subprocess.run([*argv[:-2], "--cycle-depth", "0"], capture_output=True, text=True,
                         timeout=120, cwd=REPO, check=False)  # fmt: skip
    assert bad.returncode == 2 and "--cycle-depth" in bad.stderr


def test_cycle_depth_below_one_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="cycle-depth 0"):
        dump_patterns(OUTER, cycle_depth=0)


def test_cli_dump_without_settings_suggests_settings(tmp_path: Path) -> None:
    """A URLconf with the admin fails under the dump's minimal settings: the one error line
    says to pass --settings."""
    (tmp_path / "admin_urls_mod.py").write_text(
        "from django.contrib import admin\nfrom django.urls import path\n"
        "urlpatterns = [path('admin/', admin.site.urls)]\n",
        encoding="utf-8",
    )
    argv = [sys.executable, "-m", "warehouse.cli", "urls", "dump", "--urlconf", "admin_urls_mod",
            "--pythonpath", str(tmp_path)]  # fmt: skip
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=REPO, check=False)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "admin_urls_mod" in lines[0], proc.stderr
    assert "pass --settings mysite.settings" in lines[0]
