"""bench/: every benchmark script still imports, names only modules that exist, and the
ones that need no server run to their ratios in their tiniest mode.

A module moved or renamed (issue 12 grouped the flat modules into events/ and run/) must
break here, not months later when someone reruns a benchmark. Three checks, none timed:

- every bench/*.py imports (its top level: the toolkit names it uses directly);
- every `from warehouse... import NAME` / `import warehouse...` / `-m warehouse...` in a
  script's text, code run in a child process (a string) included, names a module and
  attribute that exist (an import under `except ModuleNotFoundError:` is a fallback for
  an older checkout and is skipped);
- the scripts that need no MariaDB, sshd or Spark Thrift server run end to end on a few
  thousand lines and print their ratios. bench_import, bench_deletes, bench_hive and
  bench_hive_import start those servers (tens of seconds each) and bench_resolve dumps
  a 3,000-pattern URLconf through Django: they are only imported and checked here, as is
  bench_config (fresh interpreters importing pydantic: seconds for a check the scan does).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
SCRIPTS = sorted(p.name for p in BENCH.glob("*.py"))

FROM = re.compile(r"\bfrom (warehouse(?:\.\w+)*) import (\([^)]*\)|[^;\"'#\n]+)")
IMPORT = re.compile(r"(?:^[ \t]*|;[ \t]*)import ((?:warehouse(?:\.\w+)*(?:, *)?)+)", re.M)
DASH_M = re.compile(r"""["']-m["'], *["'](warehouse(?:\.\w+)*)["']""")
FALLBACK = re.compile(r"except (?:ModuleNotFoundError|ImportError)\b")


def test_every_script_is_covered() -> None:
    assert {"generate.py", "bench_parse.py", "bench_run.py", "bench_aggregate.py"} <= set(
        SCRIPTS
    )
    assert set(SCRIPTS) == set(RUNS) | set(IMPORT_ONLY), "add the new script to RUNS or IMPORT_ONLY"


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_imports(script: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "path", [str(REPO), *sys.path])  # the scripts extend it
    spec = importlib.util.spec_from_file_location(f"bench_smoke_{script[:-3]}", BENCH / script)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look it up
    spec.loader.exec_module(module)
    assert callable(module.main)


def _named_imports(text: str) -> list[tuple[int, str, list[str]]]:
    """(line, module, names) for every toolkit import in the text, strings included."""
    lines = text.splitlines()
    found: list[tuple[int, str, list[str]]] = []

    def line_of(pos: int) -> int:
        return text.count("\n", 0, pos) + 1

    def fallback(n: int) -> bool:
        return n >= 2 and bool(FALLBACK.search(lines[n - 2]))

    for m in FROM.finditer(text):
        n = line_of(m.start())
        if fallback(n):
            continue
        names = [part.split(" as ")[0].strip() for part in m.group(2).strip("() \t").split(",")]
        found.append((n, m.group(1), [x for x in names if x]))
    for m in IMPORT.finditer(text):
        n = line_of(m.start(1))
        for mod in m.group(1).split(","):
            found.append((n, mod.strip(), []))
    for m in DASH_M.finditer(text):
        found.append((line_of(m.start()), m.group(1), []))
    return found


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_names_existing_modules(script: str) -> None:
    text = (BENCH / script).read_text(encoding="utf-8")
    missing = []
    for line, module, names in _named_imports(text):
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            missing.append(f"{script}:{line}: no module {module} ({e})")
            continue
        for name in names:
            if hasattr(mod, name):
                continue
            package = hasattr(mod, "__path__")
            if not package or importlib.util.find_spec(f"{module}.{name}") is None:
                missing.append(f"{script}:{line}: {module} has no {name}")
    assert not missing, "\n".join(missing)


def test_the_import_scan_sees_strings_and_skips_fallbacks() -> None:
    text = (
        'CHILD = """\nfrom warehouse.config import Secret, config_from_dict\n'
        "try:\n    from warehouse.events.parse import parse_logs\n"
        "except ModuleNotFoundError:\n    from warehouse.parse import parse_logs\n"
        '"""\nCLI = "import sys; from warehouse.mysql import rows as r, python_engine; x()"\n'
        'argv = [sys.executable, "-m", "warehouse.cli"]\nimport warehouse.progress\n'
    )
    assert _named_imports(text) == [
        (2, "warehouse.config", ["Secret", "config_from_dict"]),
        (4, "warehouse.events.parse", ["parse_logs"]),
        (8, "warehouse.mysql", ["rows", "python_engine"]),
        (10, "warehouse.progress", []),
        (9, "warehouse.cli", []),
    ]


# Tiniest modes: a few thousand lines or rows, one round; the files go under tmp.
RUNS: dict[str, tuple[list[str], str]] = {
    "generate.py": (["--patterns", "30", "--lines", "2000", "--out", "{tmp}/gen"],
                    r"generate: 30 patterns .* 2000 lines"),
    "bench_parse.py": (["--lines", "3000", "--patterns", "30", "--apachelogs-lines", "500",
                        "--repeat", "1"],
                       r"ours / apachelogs, parse-only on the same subset: [\d.]+x"),
    "bench_parse_ab.py": (["--before", str(REPO), "--lines", "2000", "--rounds", "1"],
                          r"\| plain \| [\d,]+ \| [\d,]+ \| [\d.]+x \|"),
    "bench_parse_runner.py": (["--lines", "2000", "--patterns", "30", "--rounds", "1"],
                              r"local runner / in process: [\d.]+x wall"),
    "bench_progress.py": (["--lines", "2000", "--rounds", "1"],
                          r"\| gz \| [\d.]+ \| [\d.]+ \| [\d.]+x \|"),
    "bench_e2e.py": (["--lines", "2000", "--sizes", "30", "--repeat", "1"],
                     r"Flatness, the same log at every size: .* \*\*[\d.]+x\*\*"),
    "bench_row_encoder.py": (["--rows", "2000", "--wide-rows", "500", "--repeat", "1",
                              "--import-rows", "0"],
                             r"\| wide table, 21 kinds \| 500 \| .* \*\*[\d.]+x\*\* \|"),
    "bench_run.py": (["--days", "2", "--copies", "1"],
                     r"loop of `run --date D` \| [\d.]+ \| [\d.]+x \|[\s\S]*identical "
                     r"between the two variants: True"),
    "bench_parquet.py": (["--days", "2", "--lines-per-day", "2000", "--patterns", "30",
                          "--repeat", "1", "--direct", "--spark"],
                         r"count by slug over the week \(two columns\) \| .* \*\*[\d.]+x\*\*"
                         r"[\s\S]*Spark SQL[\s\S]*count by slug over the week \(two columns\) "
                         r"\| [\d.]+ \| [\d.]+ \| \*\*[\d.]+x\*\*"),
    "bench_aggregate.py": (["--events", "2000", "--days", "2", "--runners", "inline",
                            "--workdir", "{tmp}/agg"],
                           r"mrjob inline .* [\d.]+x +\(output identical to the plain loop\)"),
}
IMPORT_ONLY = {"bench_import.py", "bench_deletes.py", "bench_hive.py", "bench_hive_import.py",
               "bench_resolve.py", "bench_config.py", "bench_classify_ab.py",
               "bench_import_memory.py", "bench_parquet_spark.py"}


@pytest.mark.parametrize("script", sorted(RUNS))
def test_script_runs_to_its_ratios(
    script: str, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    args, expect = RUNS[script]
    data = tmp_path_factory.getbasetemp() / "bench-data"  # shared by the scripts' runs
    env = {**os.environ, "PYTHONPATH": str(REPO), "BENCH_DATA": str(data)}
    argv = [sys.executable, str(BENCH / script), *(a.format(tmp=tmp_path) for a in args)]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=REPO,
                          timeout=600, check=False)  # --spark starts a JVM: minutes on a busy CI machine
    assert proc.returncode == 0, f"{script} failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
    assert re.search(expect, proc.stdout), f"{script} printed no ratio:\n{proc.stdout[-3000:]}"
