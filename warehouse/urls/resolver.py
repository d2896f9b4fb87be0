"""Resolve logged request paths to Django view names, exactly as Django would, but fast.

`Resolver(patterns)` takes the list written by `warehouse urls dump` (read from the file by
`warehouse.events.patterns.load_resolver`; this package opens no files) (dicts with `name`,
`regex` and optionally `convert`, `extra` and `outer`) and answers `resolve(path) -> (slug, params)`
for the raw, percent-encoded path of a log line (no query string):

- the path is decoded with `urllib.parse.unquote` (invalid or non-UTF-8 escapes become
  U+FFFD), then matched: the answer equals `django.urls.resolve(unquote(path))`:
  `slug` is its `view_name`, or None where Django raises Resolver404 (an empty path, `*`,
  anything not starting with `/`);
- `params` holds every keyword argument the path captured, at every include() level:
  Django's `ResolverMatch.kwargs` without the keys of its `extra_kwargs` (the dump's
  `extra` lists the captured names that an extra kwarg shadows). Groups that did not
  participate are left out; a name captured at two levels keeps the inner value (the
  outer one, under the private name the dump's `outer` lists, when the inner group did
  not participate).
  Values are the matched text, passed through what Django's converter does to it where
  that changes the text (the dump's `convert`): `int` gives the canonical decimal text
  ("0012" -> "12", what Django's converter turns into the same int; over 4300 digits
  `int()` fails, so the pattern fails, as in Django, and the next one is tried), and
  Django REST framework's format-suffix converter strips the dot and slash (".json/" ->
  "json"). Every other converter Django ships keeps the text (uuid: the same UUID).
- the returned dict may be shared between calls (cached): treat it as read-only.

How it stays fast and nearly flat in the number of patterns: every pattern whose regex
starts with literal path segments (`^/blog/...`, `^/api/v1/users/...`, `^/robots\\.txt\\Z`)
sits in an index node for those segments (a trie; a node is split by the next segment only
when it holds more than 32 patterns); the rest form a fallback list at the root. Each
node's patterns are compiled into one alternation whose alternatives end in an empty
marker group `()`: `m.lastindex` names the first pattern that matched (Python's `re` tries
alternatives in order), and the params are read from that pattern's own groups in the same
match (named groups are renumbered, so names may repeat across alternatives). A path
follows its own segments down the index and runs the alternations of the nodes on its way
(usually one or two, the fallback list's included); the earliest match in the dump's order
wins (so a fallback pattern listed before an indexed one still wins). A long fallback list
is thus compiled once, not into every node below it. Patterns that cannot be put in an
alternation (back-references, inline global flags, verbose mode) are tried on their own
at their place in the order.

Start-up stays flat: the constructor tokenizes each regex once (the cheap check: an
unterminated class, group or escape, or unbalanced parentheses, is a ConfigError naming the
entry) and builds the index; nothing is compiled until a path needs it, and then only the
alternations of the nodes on that path's way. `compile_all()` compiles every one, which
also finds a regex that only Python's `re` rejects (else that ConfigError, naming the
entry, comes when a path first reaches it). Results go to an LRU cache keyed on the raw
path: a hit costs tens of nanoseconds.

`NaiveResolver` is the straightforward loop over every regex (the 2013 approach): the
benchmark's baseline and the tests' second opinion.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import unquote

from warehouse.errors import ConfigError
from warehouse.urls._index import Entry, Hit, Node, Transform, first_match

__all__ = ["CONVERTERS", "DEFAULT_CACHE_SIZE", "NaiveResolver", "Resolver"]

Resolution = tuple[str | None, dict[str, str]]

_EMPTY: dict[str, str] = {}
_MISS: Resolution = (None, _EMPTY)
DEFAULT_CACHE_SIZE = 1 << 16
# An index node is split by the next path segment only when its subtree holds more
# patterns than this: deep enough for sites with everything under /api/v1/, without
# compiling thousands of tiny alternations for ordinary ones.
_SPLIT_ABOVE = 32


def _canonical_int(text: str) -> str:
    return str(int(text))


def _format_suffix(text: str) -> str:
    return text.strip("./")


# The dump's `convert` kinds: what a Django converter does to the matched text, where
# that is not the text itself. `urls dump` writes these names; nothing else may appear.
CONVERTERS: dict[str, Transform] = {
    "int": _canonical_int,  # django.urls.converters.IntConverter (and subclasses)
    "drf_format_suffix": _format_suffix,  # rest_framework.urlpatterns' FormatSuffixConverter
    "unquote": unquote,  # a converter whose to_python is urllib.parse.unquote
}


class _Base:
    """Pattern loading and the Django-faithful extraction of params shared by both resolvers."""

    def __init__(self, patterns: Sequence[Mapping[str, Any]], *, source: str = "patterns") -> None:
        self._patterns = [dict(p) for p in patterns]
        self._source = source
        self._entries = [_entry(i, p, source) for i, p in enumerate(self._patterns)]

    def __len__(self) -> int:
        return len(self._entries)

    def _scan(self, entries: Sequence[Entry], path: str) -> Resolution:
        for entry in entries:
            m = entry.regex.match(path)
            if m is None:
                continue
            params = entry.params_of(m)
            if params is not None:
                return entry.name, params
        return _MISS


class NaiveResolver(_Base):
    """Try every pattern's regex in order for every path (the 2013 loop); same answers."""

    def resolve(self, path: str) -> Resolution:
        """Return (view name or None, params) for a raw percent-encoded path."""
        if "%" in path:
            path = unquote(path)
        if not path.startswith("/"):
            return _MISS
        return self._scan(self._entries, path)


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
        source: str = "patterns",
    ) -> None:
        super().__init__(patterns, source=source)
        self._cache_size = cache_size
        self._root = Node(None)  # its entries: the fallback list
        for e in self._entries:
            node = self._root
            for seg in e.segments:
                child = node.children.get(seg)
                if child is None:
                    child = node.children[seg] = Node(node)
                node = child
            node.entries.append(e)
        self._root.collapse(_SPLIT_ABOVE)
        if cache_size > 0:
            self.resolve = functools.lru_cache(maxsize=cache_size)(self._resolve)
        else:
            self.resolve = self._resolve

    def compile_all(self) -> None:
        """Compile every index node's alternations now (start-up does not need to)."""
        for node in self._root.walk():
            if node.plan is None:
                node.build()

    def __getstate__(self) -> dict[str, Any]:
        # Compiled chains and the cache are rebuilt in the receiving process.
        return {"patterns": self._patterns, "cache_size": self._cache_size, "source": self._source}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(  # type: ignore[misc]
            state["patterns"], state["cache_size"], source=state["source"]
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
            up: Node | None = n
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
        plan = node.plan or node.build()
        hit: Hit | None = None
        for first, chain in plan:
            if hit is not None and first > hit[0].index:
                break  # parts are sorted by their first entry: none can win any more
            found = first_match(chain, path)
            if found is not None and (hit is None or found[0].index < hit[0].index):
                hit = found
        if hit is None:
            return _MISS
        entry, params = hit
        if params is not None:
            return entry.name, params
        # A converter rejected the winner (Django then tries the next pattern).
        candidates = node.candidates
        return self._scan(candidates[candidates.index(entry) + 1 :], path)


def _entry(i: int, p: Any, source: str) -> Entry:
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
    convs: list[tuple[str, Transform]] = []
    for k, kind in convert.items():
        fn = CONVERTERS.get(kind) if isinstance(kind, str) else None
        if fn is None:
            raise ConfigError(
                f"{source}: entry {i} ({name}): unknown converter {kind!r} for {k!r} "
                f"(known: {', '.join(CONVERTERS)}): regenerate it with this version's "
                "`warehouse urls dump`"
            )
        if f"(?P<{k}>" in rx:
            convs.append((k, fn))
    extra = p.get("extra") or []
    if not isinstance(extra, list) or not all(isinstance(n, str) for n in extra):
        raise ConfigError(f"{source}: entry {i} ({name}): `extra` must be a list of names")
    outer = p.get("outer") or {}
    if not isinstance(outer, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in outer.items()
    ):
        raise ConfigError(f"{source}: entry {i} ({name}): `outer` must map group names to names")
    # `from_prefix` (dumps of earlier versions) named prefix captures to leave out; params
    # now keep them, so it is ignored.
    return Entry(i, name, rx, tuple(convs), frozenset(extra), source, tuple(outer.items()))
