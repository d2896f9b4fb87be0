"""Reading the Markdown pages (README.md, docs/*.md) for tests/test_docs.py: headings and
their GitHub anchors, links, fenced blocks, inline code, and `warehouse ...` command lines
checked against the real click CLI (parsed, never invoked)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click

REPO = Path(__file__).resolve().parent.parent
SHELL_FENCES = {"sh", "console", "bash", "shell"}
# Placeholders the pages use for values whose type click checks while parsing.
PLACEHOLDERS = {"D": "2026-11-28", "D1": "2026-11-01", "D2": "2026-11-28",
                "DATE": "2026-11-28", "YYYY-MM-DD": "2026-11-28", "N": "3"}
_DATE_OPTIONS = {"--date", "--from", "--to"}
_CONTROL = {"|", "||", "&&", ";", "&", "(", ")"}
_REDIRECT = re.compile(r"^(\d*[<>]+|&>+)$")
# `>> FILE`, `2>&1`, `< FILE` (before splitting: shlex cuts `2>&1` into three tokens)
_REDIRECTION = re.compile(r"(?<![^\s])\d*(?:>>?|<|&>)(?:&\d+|\s*(?:\$\([^)]*\)|[^\s;&|<>])+)")


def pages() -> list[Path]:
    """README.md and every page under docs/."""
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def rel(path: Path) -> str:
    return str(path.relative_to(REPO))


@dataclass(frozen=True)
class Fence:
    info: str
    start: int  # 1-based line number of the first line inside the fence
    lines: list[str]


def split_fences(text: str) -> tuple[list[str], list[Fence]]:
    """The page's lines with fenced blocks blanked (line numbers kept), and the fences."""
    prose: list[str] = []
    fences: list[Fence] = []
    current: Fence | None = None
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith("```"):
            if current is None:
                current = Fence(line[3:].strip().lower(), n + 1, [])
            else:
                fences.append(current)
                current = None
            prose.append("")
        elif current is not None:
            current.lines.append(line)
            prose.append("")
        else:
            prose.append(line)
    return prose, fences


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, markup and punctuation dropped, spaces to
    hyphens (underscores and hyphens kept)."""
    text = re.sub(r"`|\*|<[^>]+>", "", heading.strip().lower())
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every anchor the page's headings give, with GitHub's -1, -2 for repeated ones."""
    prose, _ = split_fences(path.read_text())
    seen: dict[str, int] = {}
    out: set[str] = set()
    for line in prose:
        m = re.match(r"#{1,6} (.*)", line)
        if not m:
            continue
        base = slug(m.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        out.add(base if count == 0 else f"{base}-{count}")
    return out


def _no_code(line: str) -> str:
    return re.sub(r"`[^`]*`", "", line)


def links(path: Path) -> Iterator[tuple[int, str]]:
    """(line, target) of every Markdown link outside code."""
    prose, _ = split_fences(path.read_text())
    for n, line in enumerate(prose, 1):
        for m in re.finditer(r"\]\(([^)\s]+)\)", _no_code(line)):
            yield n, m.group(1)


def inline_code(path: Path) -> Iterator[tuple[int, str]]:
    """(line, text) of every inline code span outside fences, spans across a line break
    joined with a space; `\\|` (a pipe inside a table cell) read as `|`."""
    prose, _ = split_fences(path.read_text())
    text = "\n".join(prose)
    for m in re.finditer(r"(?<!`)`([^`]+)`(?!`)", text):
        line = text.count("\n", 0, m.start()) + 1
        yield line, m.group(1).replace("\n", " ").replace("\\|", "|")


def shell_commands(fence: Fence) -> Iterator[tuple[int, list[str]]]:
    """(line, argv) of every simple command in a shell fence: `\\` continuations joined,
    comments dropped, split at pipes and lists, redirections removed; in a console fence
    only the `$ ` lines."""
    logical: list[tuple[int, str]] = []
    pending = ""
    start = 0
    for i, raw in enumerate(fence.lines):
        line = raw
        if fence.info == "console":
            if not pending and not line.startswith("$ "):
                continue
            if not pending:
                line = line[2:]
        if not pending:
            start = fence.start + i
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        logical.append((start, pending + line))
        pending = ""
    for n, line in logical:
        line = _REDIRECTION.sub(" ", line)
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        argv: list[str] = []
        skip = False
        for tok in lexer:
            if skip:
                skip = False
            elif tok in _CONTROL:
                if argv:
                    yield n, argv
                argv = []
            elif _REDIRECT.match(tok):
                skip = not tok.endswith("&") and tok not in {">&"}
            else:
                argv.append(tok)
        if argv:
            yield n, argv


def warehouse_argv(argv: list[str]) -> list[str] | None:
    """The arguments after `warehouse` when argv runs it (after VAR=value assignments,
    as `.venv/bin/warehouse` too), else None."""
    words = list(argv)
    while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
        words.pop(0)
    if words and (words[0] == "warehouse" or words[0].endswith("/bin/warehouse")):
        return words[1:]
    return None


def check_command(cli: click.Group, args: list[str]) -> None:
    """Parse `warehouse ARGS` as click would, down the subcommand path, without invoking
    anything: an unknown option, a wrong argument count or a bad subcommand raises
    click.UsageError (Exit 0 for --help passes)."""
    args = [PLACEHOLDERS.get(a, a) for a in args]
    # a date the shell computes: --from "$(date -u -d '3 days ago' +%F)"
    args = [PLACEHOLDERS["D"] if "$" in a and i and args[i - 1] in _DATE_OPTIONS else a
            for i, a in enumerate(args)]
    cmd: click.Command = cli
    name = "warehouse"
    parent: click.Context | None = None
    while True:
        try:
            ctx = cmd.make_context(name, list(args), parent=parent)
        except click.exceptions.Exit as done:
            if done.exit_code == 0:
                return
            raise
        if not isinstance(cmd, click.Group):
            return
        rest = [*ctx._protected_args, *ctx.args]
        if not rest:
            return
        sub_name, sub, args = cmd.resolve_command(ctx, rest)
        if sub is None or sub_name is None:  # pragma: no cover - resolve_command raises
            raise click.UsageError(f"no command {rest[0]!r}")
        cmd, name, parent = sub, sub_name, ctx


def check_synopsis(cli: click.Group, text: str) -> None:
    """A usage synopsis (`warehouse run [--date D | --from D --to D] [--force]`): the
    subcommand path exists (each of `a|b|c`), and every option it names is the command's."""
    words = re.sub(r"[][()]|\.\.\.", " ", text).split()
    assert words[0] == "warehouse"
    cmd: click.Command = cli
    names = words[1:]
    while names and isinstance(cmd, click.Group):
        word = names[0]
        if word.startswith("-") or word.isupper():
            names.pop(0)  # a global option or its value: [--root ROOT]
            continue
        alternatives = word.split("|")
        for alt in alternatives:
            if alt not in cmd.commands:
                raise click.UsageError(f"no command {alt!r} under {cmd.name!r}")
        names.pop(0)
        if len(alternatives) > 1:
            return
        cmd = cmd.commands[word]
    known = {opt for p in cmd.params for opt in [*p.opts, *p.secondary_opts]}
    for word in names:
        for part in word.split("|"):
            opt = part.split("=", 1)[0]
            if re.match(r"^--?[A-Za-z]", opt) and opt not in known:
                raise click.UsageError(f"no option {opt} for {cmd.name!r}")


def is_synopsis(text: str) -> bool:
    return bool(re.search(r"\[|\]|(?<!\|)\|(?!\|)|\.\.\.", text))
