"""Resolve logged request paths to Django view names, exactly as Django would, but fast.

`Resolver(patterns)` takes the list written by `warehouse urls dump` (dicts with `name`,
`regex` and optionally `convert`) and answers `resolve(path) -> (slug, params)` for the
raw, percent-encoded path of a log line (no query string):

- the path is decoded with `urllib.parse.unquote` (invalid or non-UTF-8 escapes become
  U+FFFD), then matched: the answer equals `django.urls.resolve(unquote(path))`:
  `slug` is its `view_name`, or None where Django raises Resolver404 (an empty path, `*`,
  anything not starting with `/`);
- `params` equals Django's `ResolverMatch.captured_kwargs`: the keyword arguments the
  endpoint pattern captured (groups that did not participate are left out), never the
  extra kwargs given to path(). Captures of include() prefixes (the dump's `from_prefix`)
  are left out as Django leaves them out of `captured_kwargs`; `prefix_params=True` adds
  them (then params equal Django's `kwargs` minus the extra kwargs; inner levels win).
  Values are the matched text, except for
  Django's `int` converter whose value is the canonical decimal text ("0012" -> "12"),
  which Django's converter turns into the same int. A value too long for `int()`
  (over 4300 digits) makes the pattern fail, as in Django, and the next one is tried.
- the returned dict may be shared between calls (cached): treat it as read-only.

How it stays fast and nearly flat in the number of patterns: every pattern whose regex
starts with literal path segments (`^/blog/...`, `^/api/v1/users/...`, `^/robots\\.txt\\Z`)
sits in an index node for those segments (a trie; a node is split by the next segment only
when it holds more than 32 patterns); the rest form a fallback list at the root. A path
follows its own segments down the index; its candidates are the patterns of the nodes on
the way plus the fallback list, merged in the dump's order (so a fallback pattern listed
before an indexed one still wins), compiled into one alternation whose alternatives end in
an empty marker group `()`: `m.lastindex` names the first pattern that matched (Python's
`re` tries alternatives in order), and the params are read from that pattern's own groups
in the same match (named groups are renumbered, so names may repeat across alternatives).
Patterns that cannot be put in an alternation (back-references, inline global flags,
verbose mode) are tried on their own at their place in the order. Index nodes compile
lazily (`compile_all()` does all of them; from_file calls it, which also validates every
regex). Results go to an LRU cache keyed on the raw path: a hit costs tens of nanoseconds.

`NaiveResolver` is the straightforward loop over every regex (the 2013 approach): the
benchmark's baseline and the tests' second opinion.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from warehouse.errors import ConfigError, InputMissing
from warehouse.urls._regex import alternation_form, bucket_key, literal_segments, tokenize

__all__ = ["DEFAULT_CACHE_SIZE", "NaiveResolver", "Resolver", "bucket_key", "load_patterns"]

Resolution = tuple[str | None, dict[str, str]]

_EMPTY: dict[str, str] = {}
_MISS: Resolution = (None, _EMPTY)
DEFAULT_CACHE_SIZE = 1 << 16
# An index node is split by the next path segment only when its subtree holds more
# patterns than this: deep enough for sites with everything under /api/v1/, without
# compiling thousands of tiny alternations for ordinary ones.
_SPLIT_ABOVE = 32


class _Entry:
    """One dump entry; its own regex is compiled only when needed (winners, solos)."""

    __slots__ = (
        "alt", "drop", "groups", "index", "ints", "name", "regex", "segments", "source", "text",
    )  # fmt: skip

    def __init__(
        self,
        index: int,
        name: str,
        text: str,
        ints: tuple[str, ...],
        drop: frozenset[str],
        source: str,
    ) -> None:
        self.index = index
        self.name = name
        self.text = text
        self.ints = ints
        self.drop = drop  # named groups left out of params (include() prefix captures)
        self.source = source
        self.regex: re.Pattern[str] | None = None
        try:
            tokens = tokenize(text)
        except ValueError:
            tokens = None
        # Whether the regex has named groups (Django passes only those as kwargs).
        self.groups = "(?P<" in text
        self.segments = tuple(literal_segments(tokens)) if tokens else ()
        self.alt = alternation_form(tokens) if tokens else None  # (regex, group names) or None

    def compile(self) -> re.Pattern[str]:
        """Return the compiled regex; raises ConfigError naming the entry when it is invalid."""
        if self.regex is None:
            try:
                self.regex = re.compile(self.text)
            except re.error as e:
                raise ConfigError(
                    f"{self.source}: entry {self.index} ({self.name}) has an invalid regex: {e}"
                ) from e
        return self.regex


@dataclass(frozen=True)
class _Chunk:
    """One compiled regex of a chain: a single entry (solo) or an alternation of entries.

    For an alternation, `table[m.lastindex]` gives the winning entry and where its named
    groups are in the combined regex, so its params come from the same match.
    """

    regex: re.Pattern[str]
    entries: tuple[_Entry, ...]
    solo: bool
    table: tuple[tuple[_Entry, tuple[tuple[str, int], ...]] | None, ...] = ()


class _Base:
    """Pattern loading and the Django-faithful extraction of params shared by both resolvers."""

    def __init__(
        self,
        patterns: Sequence[Mapping[str, Any]],
        *,
        prefix_params: bool = False,
        source: str = "patterns",
    ) -> None:
        self._patterns = [dict(p) for p in patterns]
        self._source = source
        self._prefix_params = prefix_params
        self._entries = [_entry(i, p, source, prefix_params) for i, p in enumerate(self._patterns)]

    def __len__(self) -> int:
        return len(self._entries)

    def _params(self, entry: _Entry, path: str) -> dict[str, str] | None:
        """Return the params of `entry` on `path`, or None when a converter rejects them."""
        if not entry.groups:
            return _EMPTY
        m = (entry.regex or entry.compile()).match(path)
        if m is None:  # pragma: no cover - callers only pass matching entries
            return None
        return _convert(entry, _kept(m))

    def _scan(self, entries: Sequence[_Entry], path: str) -> Resolution:
        for entry in entries:
            if (entry.regex or entry.compile()).match(path):
                params = self._params(entry, path)
                if params is not None:
                    return entry.name, params
        return _MISS


def _kept(m: re.Match[str]) -> dict[str, str]:
    """The participating named groups of a match."""
    return {k: v for k, v in m.groupdict().items() if v is not None}


def _convert(entry: _Entry, params: dict[str, str]) -> dict[str, str] | None:
    """Apply Django's int converter to `params` (canonical text), None when it would fail;
    then leave out the include() prefix captures unless they were asked for."""
    if entry.ints:
        for k in entry.ints:
            v = params.get(k)
            if v is not None:
                try:
                    params[k] = str(int(v))
                except ValueError:  # e.g. more digits than int() accepts: Django moves on
                    return None
    if entry.drop:
        for k in entry.drop:
            params.pop(k, None)
    return params


class NaiveResolver(_Base):
    """Try every pattern's regex in order for every path (the 2013 loop); same answers."""

    def __init__(
        self,
        patterns: Sequence[Mapping[str, Any]],
        *,
        prefix_params: bool = False,
        source: str = "patterns",
    ) -> None:
        super().__init__(patterns, prefix_params=prefix_params, source=source)
        for e in self._entries:
            e.compile()

    def resolve(self, path: str) -> Resolution:
        """Return (view name or None, params) for a raw percent-encoded path."""
        if "%" in path:
            path = unquote(path)
        if not path.startswith("/"):
            return _MISS
        return self._scan(self._entries, path)


class _Node:
    """A node of the literal-segment index: patterns whose regex starts with exactly the
    segments on the way here, and the alternations for paths that stop here."""

    __slots__ = ("candidates", "chain", "children", "entries", "parent")

    def __init__(self, parent: _Node | None) -> None:
        self.parent = parent
        self.children: dict[str, _Node] = {}
        self.entries: list[_Entry] = []
        self.candidates: list[_Entry] | None = None  # own + ancestors' entries, in order
        self.chain: tuple[_Chunk, ...] | None = None

    def build(self) -> tuple[_Chunk, ...]:
        """Compile the candidates of a path whose segments lead here (and no further)."""
        found: list[_Entry] = []
        node: _Node | None = self
        while node is not None:
            found.extend(node.entries)
            node = node.parent
        self.candidates = sorted(found, key=lambda e: e.index)
        self.chain = _chain(self.candidates)
        return self.chain

    def walk(self) -> Iterator[_Node]:
        yield self
        for child in self.children.values():
            yield from child.walk()

    def collapse(self, limit: int) -> int:
        """Fold small subtrees into their top node (fewer, larger alternations to compile:
        a pattern kept higher up is merely tried on more paths); return the subtree size."""
        size = len(self.entries) + sum(c.collapse(limit) for c in self.children.values())
        if self.parent is not None and size <= limit and self.children:
            self.entries = [e for n in self.walk() for e in n.entries]
            self.children = {}
        return size


class Resolver(_Base):
    """Fast resolver over a URL-pattern dump: segment index, marker alternations, LRU cache.

    `resolve(path) -> (slug, params)` is the only call the pipeline needs; see the module
    docstring for the exact semantics. `cache_size=0` turns the cache off.
    """

    resolve: Callable[[str], Resolution]

    def __init__(
        self,
        patterns: Sequence[Mapping[str, Any]],
        cache_size: int = DEFAULT_CACHE_SIZE,
        *,
        prefix_params: bool = False,
        source: str = "patterns",
    ) -> None:
        super().__init__(patterns, prefix_params=prefix_params, source=source)
        self._cache_size = cache_size
        self._root = _Node(None)  # its entries: the fallback list
        for e in self._entries:
            node = self._root
            for seg in e.segments:
                child = node.children.get(seg)
                if child is None:
                    child = node.children[seg] = _Node(node)
                node = child
            node.entries.append(e)
        self._root.collapse(_SPLIT_ABOVE)
        self._root.build()  # the fallback chain, also validating those regexes
        if cache_size > 0:
            self.resolve = functools.lru_cache(maxsize=cache_size)(self._resolve)
        else:
            self.resolve = self._resolve

    @classmethod
    def from_file(
        cls, path: str, cache_size: int = DEFAULT_CACHE_SIZE, *, prefix_params: bool = False
    ) -> Resolver:
        """Return a compiled Resolver for a dump file; raises InputMissing or ConfigError."""
        resolver = cls(load_patterns(path), cache_size, prefix_params=prefix_params, source=path)
        resolver.compile_all()
        return resolver

    def compile_all(self) -> None:
        """Compile every index node now (validates every regex; do it before forking)."""
        for node in self._root.walk():
            if node.chain is None:
                node.build()

    def __getstate__(self) -> dict[str, Any]:
        # Compiled chains and the cache are rebuilt in the receiving process.
        return {
            "patterns": self._patterns,
            "cache_size": self._cache_size,
            "prefix_params": self._prefix_params,
            "source": self._source,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(  # type: ignore[misc]
            state["patterns"],
            state["cache_size"],
            prefix_params=state["prefix_params"],
            source=state["source"],
        )

    def cache_info(self) -> Any:
        """Return functools' CacheInfo(hits, misses, maxsize, currsize), or None without cache."""
        info = getattr(self.resolve, "cache_info", None)
        return info() if info else None

    def stats(self) -> dict[str, int]:
        """Return the index shape: patterns, index nodes holding patterns, fallback patterns,
        and the most candidates a single path can meet."""
        nodes = [n for n in self._root.walk() if n.entries and n is not self._root]
        most = 0
        for n in self._root.walk():
            count = 0
            up: _Node | None = n
            while up is not None:
                count += len(up.entries)
                up = up.parent
            most = max(most, count)
        return {
            "patterns": len(self._entries),
            "prefixes": len(nodes),
            "fallback": len(self._root.entries),
            "most_candidates": most,
        }

    def _resolve(self, path: str) -> Resolution:
        if "%" in path:
            path = unquote(path)
        if not path.startswith("/"):
            return _MISS
        # Follow the path's segments down the index as far as it has them.
        node = self._root
        start = 1
        while node.children:
            end = path.find("/", start)
            child = node.children.get(path[start:end] if end >= 0 else path[start:])
            if child is None:
                break
            node = child
            if end < 0:
                break
            start = end + 1
        chain = node.chain or node.build()
        for chunk in chain:
            m = chunk.regex.match(path)
            if m is None:
                continue
            params: dict[str, str] | None
            if chunk.solo:
                entry = chunk.entries[0]
                params = _convert(entry, _kept(m))
            else:
                entry, where = chunk.table[m.lastindex]  # type: ignore[index,misc]
                if where:
                    params = {k: v for k, i in where if (v := m.group(i)) is not None}
                    if entry.ints or entry.drop:
                        params = _convert(entry, params)
                else:
                    params = _EMPTY
            if params is not None:
                return entry.name, params
            # A converter rejected the winner (Django then tries the next pattern).
            candidates = node.candidates or []
            return self._scan(candidates[candidates.index(entry) + 1 :], path)
        return _MISS


def load_patterns(path: str) -> list[dict[str, Any]]:
    """Return the pattern list of a dump file; raises InputMissing or ConfigError."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError as e:
        raise InputMissing(
            f"URL-pattern dump {path} not found: create it with "
            f"`warehouse urls dump --urlconf MODULE -o {path}`"
        ) from e
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(
            f"URL-pattern dump {path} is not valid JSON ({e}): regenerate it with `warehouse urls dump`"
        ) from e
    except OSError as e:
        raise InputMissing(f"cannot read URL-pattern dump {path}: {e.strerror}") from e
    if not isinstance(data, list):
        raise ConfigError(
            f"URL-pattern dump {path} must be a JSON array of {{name, regex}} objects: "
            "regenerate it with `warehouse urls dump`"
        )
    return data


def _entry(i: int, p: Any, source: str, prefix_params: bool) -> _Entry:
    if (
        not isinstance(p, Mapping)
        or not isinstance(p.get("name"), str)
        or not isinstance(p.get("regex"), str)
    ):
        raise ConfigError(
            f"{source}: entry {i} must be an object with string `name` and `regex`: "
            "regenerate it with `warehouse urls dump`"
        )
    name, rx = p["name"], p["regex"]
    convert = p.get("convert") or {}
    if not isinstance(convert, Mapping):
        raise ConfigError(f"{source}: entry {i} ({name}): `convert` must be an object")
    ints = tuple(k for k, v in convert.items() if v == "int" and f"(?P<{k}>" in rx)
    from_prefix = p.get("from_prefix") or []
    if not isinstance(from_prefix, list) or not all(isinstance(n, str) for n in from_prefix):
        raise ConfigError(f"{source}: entry {i} ({name}): `from_prefix` must be a list of names")
    drop: frozenset[str] = frozenset() if prefix_params else frozenset(from_prefix)
    return _Entry(i, name, rx, ints, drop, source)


def _chain(entries: Sequence[_Entry]) -> tuple[_Chunk, ...]:
    """Group consecutive alternation-safe entries into one compiled regex each."""
    chunks: list[_Chunk] = []
    run: list[_Entry] = []

    def flush() -> None:
        if not run:
            return
        parts: list[str] = []
        table: list[tuple[_Entry, tuple[tuple[str, int], ...]] | None] = [None]
        for e in run:
            alt, names = e.alt  # type: ignore[misc]
            base = len(table)
            where = tuple((n, base + k) for k, n in enumerate(names))
            table.extend([None] * len(names))
            table.append((e, where))  # the marker group closes last: m.lastindex
            parts.append(f"(?:{alt})()")
        try:
            combined = re.compile("|".join(parts))
        except re.error:
            for e in run:  # name the broken entry; else run them one by one
                chunks.append(_Chunk(e.compile(), (e,), True))
        else:
            chunks.append(_Chunk(combined, tuple(run), False, tuple(table)))
        run.clear()

    for e in entries:
        if e.alt is None:
            flush()
            chunks.append(_Chunk(e.compile(), (e,), True))
        else:
            run.append(e)
    flush()
    return tuple(chunks)
