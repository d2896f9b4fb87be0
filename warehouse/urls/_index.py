"""The resolver's moving parts: dump entries, marker alternations, the segment index.

Kept apart from `resolver.py` (the public API and the pattern checks) so each stays small.
Nothing compiles at construction: each entry is tokenized once (the cheap check of its
regex, and what the index and the alternation need), and a node's alternation compiles
the first time a path needs it, once, however many nodes lie below it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from warehouse.errors import ConfigError
from warehouse.urls._regex import analyse, tokenize

# A transform turns the matched text of a group into its param text; ValueError means
# Django's converter rejects the match (the next pattern is tried).
Transform = Callable[[str], str]

_EMPTY: dict[str, str] = {}  # the params of a match without named groups (read-only)


class Entry:
    """One dump entry: what the index needs (its literal leading segments), its regex in
    alternation form, and how its groups become params. Its own compiled regex is made
    only when it has to run alone."""

    __slots__ = (
        "_regex",
        "alt",
        "convs",
        "drop",
        "groups",
        "index",
        "name",
        "outer",
        "post",
        "segments",
        "source",
        "text",
    )

    def __init__(
        self,
        index: int,
        name: str,
        text: str,
        convs: tuple[tuple[str, Transform], ...],
        drop: frozenset[str],
        source: str,
        outer: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.index = index
        self.name = name
        self.text = text
        self.convs = convs
        self.drop = drop  # named groups that are not params (Django's extra kwargs)
        self.outer = outer  # (private group, the name it stands in for), innermost first
        self.post = bool(convs or drop or outer)  # whether params() has work to do
        self.source = source
        self._regex: re.Pattern[str] | None = None
        # The cheap check at load: the tokenizer finds unterminated classes, groups and
        # escapes and unbalanced parentheses; what only `re` itself rejects is reported,
        # naming the entry, when a path first needs this entry's alternation.
        try:
            tokens = tokenize(text)
        except ValueError as e:
            raise ConfigError(f"{source}: entry {index} ({name}) has an invalid regex: {e}") from e
        # Whether the regex has named groups (Django passes only those as kwargs).
        self.groups = any(t.kind == "named" for t in tokens)
        segments, alt = analyse(tokens)
        self.segments = tuple(segments)
        # (regex, group names) for a combined alternation, or None: run it alone.
        self.alt = alt

    @property
    def regex(self) -> re.Pattern[str]:
        """This entry's own compiled regex; raises ConfigError naming it when invalid."""
        if self._regex is None:
            try:
                self._regex = re.compile(self.text)
            except (re.error, RecursionError, OverflowError) as e:
                raise ConfigError(
                    f"{self.source}: entry {self.index} ({self.name}) has an invalid regex: "
                    f"{e}: fix or regenerate it with `warehouse urls dump`"
                ) from e
        return self._regex

    def params_of(self, m: re.Match[str]) -> dict[str, str] | None:
        """Return the params of a match of this entry's own regex, or None when a converter
        rejects them."""
        if not self.groups:
            return _EMPTY
        return self.params({k: v for k, v in m.groupdict().items() if v is not None})

    def params(self, found: dict[str, str]) -> dict[str, str] | None:
        """Return the params from the participating named groups, or None when a
        converter rejects them (Django then tries the next pattern)."""
        for k, fn in self.convs:
            v = found.get(k)
            if v is not None:
                try:
                    found[k] = fn(v)
                except ValueError:
                    return None
        for private, k in self.outer:
            v = found.pop(private, None)
            if v is not None and k not in found:
                found[k] = v
        for k in self.drop:
            found.pop(k, None)
        return found


@dataclass(frozen=True)
class Chunk:
    """One compiled regex of a chain: a single entry (solo) or an alternation of entries.

    For an alternation, `table[m.lastindex]` gives the winning entry and where its named
    groups are in the combined regex, so its params come from the same match.
    """

    regex: re.Pattern[str]
    entries: tuple[Entry, ...]
    solo: bool
    table: tuple[tuple[Entry, tuple[tuple[str, int], ...]] | None, ...] = ()


Hit = tuple[Entry, "dict[str, str] | None"]


def first_match(chain: tuple[Chunk, ...], path: str) -> Hit | None:
    """Return the first entry of `chain` whose regex matches `path`, with its params."""
    for chunk in chain:
        m = chunk.regex.match(path)
        if m is None:
            continue
        if chunk.solo:
            entry = chunk.entries[0]
            return entry, entry.params_of(m)
        entry, where = chunk.table[m.lastindex]  # type: ignore[index,misc]
        if not where:
            return entry, _EMPTY
        found = {k: v for k, i in where if (v := m.group(i)) is not None}
        if entry.post:
            return entry, entry.params(found)
        return entry, found
    return None


def chain(entries: Sequence[Entry]) -> tuple[Chunk, ...]:
    """Group consecutive alternation-safe entries into one compiled regex each."""
    chunks: list[Chunk] = []
    run: list[Entry] = []

    def flush() -> None:
        if not run:
            return
        parts: list[str] = []
        table: list[tuple[Entry, tuple[tuple[str, int], ...]] | None] = [None]
        for e in run:
            alt, names = e.alt or ("", ())  # only entries with an alternation form get here
            base = len(table)
            where = tuple((n, base + k) for k, n in enumerate(names))
            table.extend([None] * len(names))
            table.append((e, where))  # the marker group closes last: m.lastindex
            parts.append(f"(?:{alt})()")
        try:
            combined = re.compile("|".join(parts))
        except (re.error, RecursionError, OverflowError):
            # Run them one by one; an invalid regex raises ConfigError naming its entry.
            chunks.extend(Chunk(e.regex, (e,), True) for e in run)
        else:
            chunks.append(Chunk(combined, tuple(run), False, tuple(table)))
        run.clear()

    for e in entries:
        if e.alt is None:
            flush()
            chunks.append(Chunk(e.regex, (e,), True))
        else:
            run.append(e)
    flush()
    return tuple(chunks)


class Node:
    """A node of the literal-segment index: the patterns whose regex starts with exactly
    the segments on the way here, their chain (compiled when first needed), and the plan
    of a path whose segments stop here: the chains of the nodes on its way."""

    __slots__ = ("candidates", "chain", "children", "entries", "parent", "plan")

    def __init__(self, parent: Node | None) -> None:
        self.parent = parent
        self.children: dict[str, Node] = {}
        self.entries: list[Entry] = []  # in dump order
        self.chain: tuple[Chunk, ...] | None = None
        self.candidates: list[Entry] = []  # own + ancestors' entries, in dump order
        # (smallest entry index, chain) of every node on the way that holds patterns,
        # sorted by that index: the earliest matching pattern of all of them wins.
        self.plan: tuple[tuple[int, tuple[Chunk, ...]], ...] | None = None

    def build(self) -> tuple[tuple[int, tuple[Chunk, ...]], ...]:
        """Compile (once per node) what a path whose segments lead here must try."""
        parts: list[tuple[int, tuple[Chunk, ...]]] = []
        for node in self.way():
            if node.entries:
                if node.chain is None:
                    node.chain = chain(node.entries)
                parts.append((node.entries[0].index, node.chain))
        parts.sort(key=lambda p: p[0])
        found = [e for n in self.way() for e in n.entries]
        self.candidates = sorted(found, key=_index)
        self.plan = tuple(parts)
        return self.plan

    def way(self) -> Iterator[Node]:
        """This node and its ancestors."""
        node: Node | None = self
        while node is not None:
            yield node
            node = node.parent

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children.values():
            yield from child.walk()

    def collapse(self, limit: int) -> int:
        """Fold small subtrees into their top node (fewer, larger alternations to compile:
        a pattern kept higher up is merely tried on more paths); return the subtree size."""
        size = len(self.entries) + sum(c.collapse(limit) for c in self.children.values())
        if self.parent is not None and size <= limit and self.children:
            self.entries = sorted((e for n in self.walk() for e in n.entries), key=_index)
            self.children = {}
        return size


def _index(e: Entry) -> int:
    return e.index
