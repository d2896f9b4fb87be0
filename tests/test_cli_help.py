"""Every command's --help ends with an example or two that a user can copy."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from warehouse.cli import cli


def _leaves(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, cmd in sorted(group.commands.items()):
        if isinstance(cmd, click.Group):
            yield from _leaves(cmd, (*path, name))
        else:
            yield (*path, name)


@pytest.mark.parametrize("command", list(_leaves(cli)), ids=" ".join)
def test_help_ends_with_examples(command: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0, result.output
    lines = result.output.rstrip("\n").splitlines()
    head = next(i for i, ln in enumerate(lines) if ln.strip() in ("Examples:", "Example:"))
    assert head > next(i for i, ln in enumerate(lines) if ln.startswith("Options:"))
    examples = [ln.strip() for ln in lines[head + 1 :]]
    assert 1 <= sum(ln.startswith("warehouse ") for ln in examples) <= 3, examples
    assert all(ln.startswith(("warehouse ", "zcat ", "--")) for ln in examples), examples
