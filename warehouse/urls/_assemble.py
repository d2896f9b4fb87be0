"""Join the pieces of every include() level into the dump's one full-path regex.

Pure (no Django). Numeric back-references are renumbered past the groups of the outer
levels; a group name used again by an inner level is the inner one's (Django's inner
kwargs override the outer ones), and the outer group is renamed to a private name listed
in the entry's `outer` (private -> name, innermost first), whose value params take when
the inner group does not participate (Django then keeps the outer value).
"""

from __future__ import annotations

import logging
import re
from typing import NamedTuple

from warehouse.urls._pieces import Piece
from warehouse.urls._regex import Token, has_backrefs, render

# Every warning of the dump is logged under the name users know from `urls dump`.
log = logging.getLogger("warehouse.urls.dump")


class FullPath(NamedTuple):
    """One endpoint's full-path regex and what the dump entry says of its groups."""

    regex: str
    convert: dict[str, str]  # convert kind by group name, sorted by name
    names: set[str]  # every param name the regex captures
    outer: dict[str, str]  # private group name -> the name it stands in for, innermost first


def assemble(pieces: list[Piece]) -> FullPath:
    """Join the levels' pieces, outermost first, into one regex anchored at `^`."""
    offsets: list[int] = []
    total = 0
    taken: set[str] = set()
    for piece in pieces:
        offsets.append(total)
        total += sum(1 for t in piece.tokens if t.kind in ("cap", "named"))
        taken |= {t.name for t in piece.tokens if t.kind == "named"}
    seen: set[str] = set()
    parts: list[str] = []
    convert: dict[str, str] = {}
    outer: dict[str, str] = {}
    # Innermost first: a name is the innermost level's that captures it.
    for level, piece, offset in zip(
        range(len(pieces) - 1, -1, -1), reversed(pieces), reversed(offsets), strict=True
    ):
        tokens = list(piece.tokens)
        if has_backrefs(tokens) and offset:
            tokens = [_renumber(t, offset) for t in tokens]
        names = set()
        renamed: dict[str, str] = {}
        if not piece.opaque:
            for i, t in enumerate(tokens):
                if t.kind == "named" and t.name in seen:
                    private = renamed.get(t.name) or _private(t.name, level, taken)
                    renamed[t.name] = private
                    tokens[i] = Token("named", f"(?P<{private}>", name=private)
                elif t.kind == "named":
                    names.add(t.name)
                elif t.kind == "backref" and t.name in renamed:
                    tokens[i] = Token("backref", f"(?P={renamed[t.name]})", name=renamed[t.name])
        else:
            names = set(re.compile(render(tokens)).groupindex) - seen
        for name, kind in piece.converters.items():
            convert.setdefault(renamed.get(name, name), kind)
        outer.update((private, name) for name, private in renamed.items())
        seen |= names
        parts.append(render(tokens))
    return FullPath("^" + "".join(reversed(parts)), dict(sorted(convert.items())), seen, outer)


def _private(name: str, level: int, taken: set[str]) -> str:
    """A group name for an outer level's `name`, used by no level of this pattern."""
    private = f"_wh{level}_{name}"
    while private in taken:
        private = "_" + private
    taken.add(private)
    return private


def _renumber(t: Token, offset: int) -> Token:
    if t.kind == "backref" and t.number:
        n = t.number + offset
        if n > 99:
            log.warning("back-reference %s cannot be renumbered past 99", t.text)
            return t
        return Token("backref", f"\\{n}(?:)", number=n)
    if t.kind == "cond" and t.name.isdigit():
        n = int(t.name) + offset
        return Token("cond", f"(?({n})", name=str(n))
    return t
