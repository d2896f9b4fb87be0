"""The docs tell the truth where it can be checked here: README.md and docs/*.md link to
pages and anchors that exist, every `warehouse ...` command line they show parses with the
real CLI, the README's quick start runs, and the example config names every log preset."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from tests._docs import (
    REPO,
    SHELL_FENCES,
    Fence,
    anchors,
    check_command,
    check_synopsis,
    inline_code,
    is_synopsis,
    links,
    pages,
    rel,
    shell_commands,
    split_fences,
    warehouse_argv,
)
from warehouse.cli import cli

WAREHOUSE_BIN = Path(sys.executable).parent / "warehouse"
# Every Markdown file of the repository whose links are checked (pages() and the others).
OTHER_MD = ["bootstrap/README.md", "bench/RESULTS.md", "tests/data/real_logs/README.md"]
# Inline code that starts with `warehouse ` but is no command line.
NOT_COMMANDS = {
    'warehouse = "warehouse.cli:main"',  # the entry point in pyproject.toml
    "warehouse run D: exit N",  # the subject of an SNS alert
    "warehouse run D: interrupted (exit 130)",  # the subject of an interrupted run's alert
}


def _all_md() -> list[Path]:
    return [*pages(), *(REPO / p for p in OTHER_MD if (REPO / p).exists())]


def test_pages_exist() -> None:
    names = {p.name for p in (REPO / "docs").glob("*.md")}
    assert {"README.md", "configuration.md", "logs.md", "urls.md", "aggregates.md",
            "catalog.md", "mysql.md", "run.md", "emr.md", "operations.md", "failures.md",
            "development.md"} <= names
    assert len((REPO / "README.md").read_text().splitlines()) < 250


def test_links_and_anchors_resolve() -> None:
    problems = []
    for page in _all_md():
        for line, target in links(page):
            if re.match(r"^[a-z]+:", target):
                continue  # https:, mailto:
            path, _, anchor = target.partition("#")
            dest = (page.parent / path).resolve() if path else page
            where = f"{rel(page)}:{line}: {target}"
            if not dest.exists():
                problems.append(f"{where}: no file {path}")
            elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                problems.append(f"{where}: no heading with anchor #{anchor} in {rel(dest)}")
    assert not problems, "\n".join(problems)


def test_docs_named_by_the_code_exist() -> None:
    """Messages, comments and the example config that send a reader to a docs/ page."""
    texts = [*REPO.glob("warehouse/**/*.py"), *REPO.glob("conf/*.toml"), *REPO.glob("tests/*.py"),
             REPO / "bootstrap" / "README.md"]
    named = {(rel(f), m) for f in texts for m in re.findall(r"docs/[\w-]+\.md", f.read_text())}
    assert len(named) >= 3
    missing = sorted(f"{where}: {doc}" for where, doc in named if not (REPO / doc).exists())
    assert not missing, "\n".join(missing)


def test_every_page_is_linked_from_the_index() -> None:
    index = REPO / "docs" / "README.md"
    linked = {t.partition("#")[0] for _, t in links(index)}
    missing = [p.name for p in (REPO / "docs").glob("*.md")
               if p.name != "README.md" and p.name not in linked]
    assert not missing, f"docs/README.md does not link {missing}"


def _command_lines() -> list[tuple[str, str, list[str] | str]]:
    """(where, kind, argv or synopsis text) of every `warehouse` command line shown."""
    found: list[tuple[str, str, list[str] | str]] = []
    for page in pages():
        _, fences = split_fences(page.read_text())
        for fence in fences:
            if fence.info in SHELL_FENCES:
                for line, argv in shell_commands(fence):
                    args = warehouse_argv(argv)
                    if args is None:
                        continue
                    if any(a.startswith("[") for a in args):  # a synopsis: [--replace]
                        found.append((f"{rel(page)}:{line}", "synopsis",
                                      " ".join(["warehouse", *args])))
                    else:
                        found.append((f"{rel(page)}:{line}", "command", args))
            elif fence.info == "":  # usage synopses, their indented lines joined
                for i, text in enumerate(fence.lines):
                    if text.startswith("warehouse ") and is_synopsis(text):
                        for more in fence.lines[i + 1:]:
                            if not more[:1].isspace():
                                break
                            text += " " + more.strip()
                        found.append((f"{rel(page)}:{fence.start + i}", "synopsis", text))
        for line, text in inline_code(page):
            if text in NOT_COMMANDS:
                continue
            if not text.startswith("warehouse "):  # `cd X && warehouse ...`, a crontab line
                if not re.search(r"(&& |\| |; |/bin/)warehouse ", text):
                    continue
                span = Fence("sh", line, [re.sub(r"^([0-9*/,-]+ +){5}", "", text)])
                for _, argv in shell_commands(span):
                    args = warehouse_argv(argv)
                    if args is not None:
                        found.append((f"{rel(page)}:{line}", "command", args))
                continue
            where = f"{rel(page)}:{line}"
            if is_synopsis(text):
                found.append((where, "synopsis", text))
            else:
                found.append((where, "inline", text))
    return found


def test_command_lines_parse_with_the_cli() -> None:
    """An unknown option, a wrong argument count or a missing subcommand fails, naming
    the page and the line."""
    problems = []
    found = _command_lines()
    for where, kind, item in found:
        try:
            if kind == "synopsis":
                check_synopsis(cli, str(item))
            elif kind == "inline":
                words = shlex.split(str(item))
                path_only = all(not w.startswith("-") for w in words[1:]) and _is_path(words[1:])
                if path_only:
                    continue
                check_command(cli, words[1:])
            else:
                assert isinstance(item, list)
                check_command(cli, item)
        except click.UsageError as err:
            problems.append(f"{where}: {item!r}: {err.format_message()}")
    assert not problems, "\n".join(problems)
    assert sum(1 for _, kind, _ in found if kind == "command") >= 20  # the pages were read


def _is_path(words: list[str]) -> bool:
    """`warehouse hive apply` in prose names a command (no arguments to check): true when
    every word is a subcommand on the way down (which must exist)."""
    cmd: click.Command = cli
    for word in words:
        if not isinstance(cmd, click.Group):
            return False
        if word not in cmd.commands:
            return False
        cmd = cmd.commands[word]
    return True


def test_checker_catches_mistakes() -> None:
    """The checks fail where a page would be wrong."""
    check_command(cli, ["run", "--date", "D"])
    check_command(cli, ["--root", "DIR", "hive", "apply", "--replace"])
    check_command(cli, ["-v", "run", "--from", "$(date -u -d '3 days ago' +%F)", "--to", "D"])
    for bad in (["run", "--no-such-option"], ["urls", "nope"], ["status", "extra-arg"]):
        with pytest.raises(click.UsageError):
            check_command(cli, bad)
    check_synopsis(cli, "warehouse run [--date D | --from D --to D] [--force]")
    with pytest.raises(click.UsageError):
        check_synopsis(cli, "warehouse run [--dates D]")
    with pytest.raises(click.UsageError):
        check_synopsis(cli, "warehouse emr deploy|create|launch")


def _section(text: str, heading: str) -> str:
    start = text.index(f"\n{heading}\n")
    end = text.find("\n#", start + len(heading) + 2)
    return text[start:end if end > 0 else len(text)]


def _fence(section: str, info: str) -> str:
    m = re.search(rf"```{info}\n(.*?)```", section, re.S)
    assert m, f"a ```{info} block"
    return m.group(1)


def test_readme_quick_start_runs(tmp_path: Path) -> None:
    """The quick start's config, first parse and first night, run as written through the
    installed `warehouse` in a fresh folder holding the sample (as the clone does)."""
    readme = (REPO / "README.md").read_text()
    (tmp_path / "conf").mkdir()
    shutil.copytree(REPO / "conf" / "sample", tmp_path / "conf" / "sample")
    config = _fence(_section(readme, "### A minimal config"), "toml")
    (tmp_path / "warehouse.toml").write_text(config)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAREHOUSE_")}
    env["PATH"] = f"{WAREHOUSE_BIN.parent}:{env.get('PATH', '/usr/bin:/bin')}"
    env["HOME"] = str(tmp_path / "home")  # [cron] lock_file and log_dir default under ~

    def run(heading: str) -> str:
        script = _fence(_section(readme, heading), "sh")
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"README {heading}: exit {done.returncode}\n{done.stderr}"
        return done.stdout

    summary = re.compile(r"^parse: 10,?000 lines from 1 inputs?, 9,?999 events, 1 rejects? ",
                         re.M)
    out = run("### The first parse")
    assert summary.search(out), out
    assert "config check: ok" in out
    shown = re.search(r"The last line is the summary: `([^`]*)`", " ".join(readme.split()))
    assert shown and summary.search(shown.group(1)), "the README shows the summary line"
    days = sorted(p.name for p in (tmp_path / "warehouse-data" / "events").iterdir())
    assert days == [f"dt=2015-05-{d}" for d in (17, 18, 19, 20)]
    assert "dt=2015-05-17` to `dt=2015-05-20`" in readme

    out = run("### The first night")
    assert re.search(r"^run 2015-05-18: parse ok .*aggregate ok .*exit 0", out, re.M), out
    assert re.search(r"^status: 1 date \(2015-05-18\), none failing", out, re.M), out


def test_example_config_lists_every_preset() -> None:
    from warehouse.logs import PRESETS

    text = (REPO / "conf" / "warehouse.example.toml").read_text()
    logs = text[text.index("\n[logs]\n"):text.index("\n# [logs.json]")]
    comment = logs[logs.index("format ="):logs.index("patterns =")]
    named = set(re.findall(r"[a-z0-9_]+", comment))
    missing = sorted({*PRESETS, "json"} - named)
    assert not missing, f"conf/warehouse.example.toml [logs] format: add {missing}"


def test_example_config_has_each_section_once() -> None:
    """Uncommenting a section of the example never declares a table twice (a TOML error)."""
    text = (REPO / "conf" / "warehouse.example.toml").read_text()
    headers = re.findall(r"^#? ?(\[[\w.]+\])", text, re.M)
    twice = sorted({h for h in headers if headers.count(h) > 1})
    assert not twice, f"conf/warehouse.example.toml declares {twice} more than once"
