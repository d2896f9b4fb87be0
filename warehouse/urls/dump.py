"""Dump a Django project's URL patterns as full-path regexes, in Django's resolution order.

`dump_patterns` walks Django's own resolver tree (the root `URLResolver(RegexPattern("^/"))`
that `django.urls.resolve` uses) and joins the regex of every level into one Python regex
over the whole path, leading slash included. Each entry is

    {"name": "<view_name>", "regex": "<full-path regex>"}                   (always)
    {..., "convert": {"pk": "int"}}                                            (when needed)
    {..., "extra": ["pk"]}                                                     (when needed)
    {..., "outer": {"_wh0_id": "id"}}                                          (when needed)

`name` is exactly `resolve(path).view_name` (namespaces joined with ":", or the view's
dotted path for unnamed patterns): it is computed by Django's own `ResolverMatch`.
`convert` names, per path() parameter, what its converter does to the matched text where
that changes it (the kinds of `warehouse.urls.resolver.CONVERTERS`): `int` for Django's
int converter and converters that behave like it, `drf_format_suffix` for Django REST
framework's format suffixes (".json/" -> "json"). Converters that keep the text (str,
slug, path, uuid, and custom ones found to) need nothing. `extra` lists captured names that
an extra kwarg of path()/include() shadows: Django's `kwargs` hold the extra value there,
so they are not params. Every other named group of every level is a param.

How each level's Django semantics become one regex:
- path() routes are anchored at the start of what is left of the path; endpoints end in
  `\\Z` (Django's own translation).
- re_path() regexes are *searched* (Django calls `regex.search`), so a regex that does not
  start with `^` may skip text: it becomes `[\\s\\S]*?(?:regex)`. An endpoint regex ending
  in `$` is full-matched by Django: it becomes `(?:regex)\\Z` anchored at its start. A `^`
  at the start of each top-level alternative is handled (`^a/$|^b/$`, and mixes of
  anchored and unanchored alternatives when the unanchored ones have no named groups).
- include() prefixes are matched once and never revisited when the included patterns fail,
  so non-literal prefixes are wrapped in an atomic group `(?>...)`.
- Leading inline flags `(?i)` become scoped groups `(?i:...)`; numeric back-references are
  renumbered; a group name used again by an inner level is the inner one's (Django's inner
  kwargs override the outer ones); the outer group is renamed to a private name listed in
  `outer` (private -> name, innermost first), whose value params take when the inner group
  does not participate (Django then keeps the outer value).

Documented limits (where the dump cannot reproduce Django without running Python code):
- custom converters whose `to_python` raises ValueError for some text their regex matches
  (Django then tries the next pattern; the dump only has the regex), or turns the text
  into something other than itself or an int: the dump warns, naming the pattern, and
  params hold the matched text. A custom converter is classified by calling its
  `to_python` on a few sample texts its regex matches;
- `i18n_patterns`: the language prefix is the one active while dumping
  (settings.LANGUAGE_CODE), not every language; the dump warns, naming the patterns;
- `^`/`\\A` anywhere but at the start of a re_path regex or of its top-level alternatives,
  and look-behinds reaching into an include() prefix (Django matches each level on its own
  substring); the dump logs a warning when it sees such a `^`;
- regexes in verbose mode `(?x)` are copied as they are (group renumbering and the
  resolver's index skip them; they still resolve, one by one);
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from warehouse.errors import ConfigError, InputMissing, WarehouseError
from warehouse.urls._converters import UNKNOWN, converter_kind
from warehouse.urls._regex import (
    Token,
    has_backrefs,
    is_literal,
    render,
    split_branches,
    tokenize,
)

log = logging.getLogger(__name__)

_LEADING_FLAGS = re.compile(r"\(\?([aiLmsux]+)\)")
_INSTALL_HINT = "pip install 'warehouse[django]'"


@dataclass
class _Piece:
    """One level's regex, rewritten to be embedded in the full-path regex."""

    tokens: list[Token]
    converters: dict[str, str]
    opaque: bool = False  # verbose mode: kept as it is, never rewritten


def dump_patterns(
    urlconf: str, *, settings: str | None = None, pythonpath: list[str] | None = None
) -> list[dict[str, Any]]:
    """Return the URL patterns of `urlconf` in resolution order; raises ConfigError/InputMissing."""
    with _sys_path(pythonpath or []):
        _setup_django(urlconf, settings)
        from django.urls import get_resolver

        root = get_resolver(urlconf)
        try:
            top = list(root.url_patterns)
        except ModuleNotFoundError as e:
            raise InputMissing(
                f"cannot import URLconf {urlconf!r} (module {e.name!r} not found): "
                "check --urlconf and add its folder with --pythonpath DIR"
            ) from e
        except Exception as e:
            raise ConfigError(
                f"URLconf {urlconf!r} failed to load: {type(e).__name__}: {_one_line(e)}"
            ) from e
        out: list[dict[str, Any]] = []
        try:
            _walk(top, [_piece(root.pattern, endpoint=False)], [], [], out)
        except WarehouseError:
            raise
        except Exception as e:
            raise ConfigError(
                f"URLconf {urlconf!r} (or one of its include()s) is invalid: "
                f"{type(e).__name__}: {_one_line(e)}"
            ) from e
        return out


# --- Django -----------------------------------------------------------------------------


@contextmanager
def _sys_path(dirs: list[str]) -> Iterator[None]:
    """Put `dirs` first on sys.path while the URLconf is imported, then restore it."""
    saved = list(sys.path)
    sys.path[:0] = [os.path.abspath(d) for d in dirs]
    try:
        yield
    finally:
        sys.path[:] = saved


def _setup_django(urlconf: str, settings_module: str | None) -> None:
    """Configure Django: the given settings module, else minimal settings with ROOT_URLCONF."""
    try:
        import django
        from django.conf import settings
    except ImportError as e:
        raise ConfigError(
            f"`urls dump` needs Django, which is not installed: {_INSTALL_HINT}"
        ) from e
    if settings.configured:
        # Another dump in this process configured Django already; get_resolver(urlconf)
        # does not depend on ROOT_URLCONF, so that is enough.
        return
    if settings_module:
        try:
            importlib.import_module(settings_module)
        except Exception as e:
            raise ConfigError(
                f"cannot import Django settings {settings_module!r}: "
                f"{type(e).__name__}: {_one_line(e)}; check --settings and --pythonpath"
            ) from e
        os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    else:
        settings.configure(
            ROOT_URLCONF=urlconf,
            INSTALLED_APPS=[],
            USE_I18N=True,
            DEBUG=False,
            SECRET_KEY="warehouse-urls-dump",  # not a secret: nothing is signed while dumping
        )
    try:
        django.setup()
    except Exception as e:
        raise ConfigError(f"Django setup failed: {type(e).__name__}: {_one_line(e)}") from e


def _walk(
    patterns: list[Any],
    pieces: list[_Piece],
    app_names: list[str | None],
    namespaces: list[str | None],
    out: list[dict[str, Any]],
    extras: frozenset[str] = frozenset(),
) -> None:
    from django.urls import URLPattern, URLResolver
    from django.urls.resolvers import LocalePrefixPattern, ResolverMatch

    for p in patterns:
        if isinstance(p, URLResolver):
            inner = list(p.url_patterns)
            if isinstance(p.pattern, LocalePrefixPattern):
                log.warning(
                    "i18n_patterns (%s%s): only the prefix of the language active while "
                    "dumping (%r) is in the dump; paths under other languages' prefixes get "
                    "no slug (null)",
                    ", ".join(q.pattern.describe() for q in inner[:3]),
                    ", ..." if len(inner) > 3 else "",
                    "/" + p.pattern.language_prefix,
                )
            _walk(
                inner,
                [*pieces, _piece(p.pattern, endpoint=False)],
                [*app_names, p.app_name],
                [*namespaces, p.namespace],
                out,
                extras | set(p.default_kwargs or ()),
            )
        elif isinstance(p, URLPattern):
            match = ResolverMatch(
                p.callback, (), {}, p.pattern.name, app_names=app_names, namespaces=namespaces
            )
            regex, convert, names, outer = _assemble([*pieces, _piece(p.pattern, endpoint=True)])
            try:
                re.compile(regex)
            except re.error as e:
                raise ConfigError(
                    f"URL pattern {p.pattern.describe()} of view {match.view_name} "
                    f"gives an invalid full-path regex ({e}): please report it"
                ) from e
            entry: dict[str, Any] = {"name": match.view_name, "regex": regex}
            if convert:
                entry["convert"] = convert
            shadowed = (extras | set(p.default_args or ())) & names
            if shadowed:
                entry["extra"] = sorted(shadowed)
            if outer:
                entry["outer"] = outer
            out.append(entry)
        else:
            log.warning("skipping unknown URL entry %r (neither URLPattern nor URLResolver)", p)


def _piece(pattern: Any, *, endpoint: bool) -> _Piece:
    """Rewrite one level's pattern so it can be embedded after the previous levels."""
    from django.urls.resolvers import LocalePrefixPattern, RoutePattern

    if isinstance(pattern, LocalePrefixPattern):
        return _Piece(tokenize(re.escape(pattern.language_prefix)), {})
    rx: str = pattern.regex.pattern
    converters: dict[str, str] = {}
    if isinstance(pattern, RoutePattern):
        for name, conv in pattern.converters.items():
            kind = converter_kind(conv)
            if kind == UNKNOWN:
                cls = type(conv)
                log.warning(
                    "URL pattern %s: converter %s.%s of <%s> turns the matched text into a "
                    "value the dump cannot reproduce (or rejects some matches); params hold "
                    "the matched text",
                    pattern.describe(), cls.__module__, cls.__qualname__, name,
                )  # fmt: skip
            elif kind is not None:
                converters[name] = kind
        # Django's own translation: "^" + route + ("\Z" for endpoints), always searched
        # from the start, so it is anchored.
        body = tokenize(rx)
        if body and body[0].kind == "char" and body[0].text == "^":
            body = body[1:]
        return _Piece(_atomic(body) if not endpoint else body, converters)

    flags = ""
    while m := _LEADING_FLAGS.match(rx):
        flags += m.group(1)
        rx = rx[m.end() :]
    fullmatch = endpoint and pattern.regex.pattern.endswith("$")
    if "x" in flags:
        return _Piece(_verbose(rx, flags, fullmatch, endpoint), converters, opaque=True)
    # Each top-level alternative that starts with ^ (or \A) is anchored at the start of
    # what is left of the path; inside the full-path regex that anchor must go.
    branches = split_branches(tokenize(rx))
    anchored = [
        bool(b) and b[0].kind in ("char", "esc") and b[0].text in ("^", "\\A") for b in branches
    ]
    branches = [b[1:] if a else b for b, a in zip(branches, anchored, strict=True)]
    if any(t.text in ("^", "\\A") and t.kind in ("char", "esc") for b in branches for t in b):
        log.warning(
            "regex %r uses ^ or \\A after its start; Django matches it against the rest of "
            "the path, the full-path regex cannot (the pattern may never match)",
            pattern.regex.pattern,
        )
    every = _join(branches)
    if fullmatch:
        # Django full-matches: anchored at the start whatever the regex says.
        tokens = [*every, Token("esc", "\\Z")]
    elif all(anchored):
        tokens = every
    elif not any(anchored):
        # Django searches: the match may start anywhere (leftmost first).
        tokens = [*_SKIP, *every]
    else:
        # Mixed: at the start every alternative may match, further on only unanchored ones,
        # which must then appear twice: possible only without named groups or back-refs.
        rest = _join([b for b, a in zip(branches, anchored, strict=True) if not a])
        if any(t.kind in ("named", "backref", "cond") for t in rest) or has_backrefs(every):
            log.warning(
                "regex %r mixes alternatives with and without ^ and has named groups; "
                "the alternatives with ^ are treated as unanchored",
                pattern.regex.pattern,
            )
            tokens = [*_SKIP, *_join(branches)]
        else:
            rest = [Token("open", "(?:") if t.kind == "cap" else t for t in rest]
            tokens = _group("(?:", [*every, Token("char", "|"), *_SKIP_ONE, *rest])
    if flags:
        tokens = _group(f"(?{flags}:", tokens)
    return _Piece(tokens if endpoint else _atomic(tokens), converters)


def _verbose(rx: str, flags: str, fullmatch: bool, endpoint: bool) -> list[Token]:
    """Embed a verbose-mode regex as it is (comments and spaces kept, a newline ends them)."""
    m = re.match(r"\s*(\^|\\A)", rx)
    body = rx[m.end() :] if m else rx
    text = f"(?{flags}:(?:{body}\n)"
    if fullmatch:
        text += "\\Z"
    elif not m:
        text = "[\\s\\S]*?" + text
    text += ")"
    tokens = [Token("char", c) for c in text]  # opaque: never rewritten, only concatenated
    return tokens if endpoint else _group("(?>", tokens)


_SKIP = tokenize("[\\s\\S]*?")
_SKIP_ONE = tokenize("[\\s\\S]+?")


def _join(branches: list[list[Token]]) -> list[Token]:
    """Join alternatives with `|`, grouped when there are several."""
    if len(branches) == 1:
        return branches[0]
    joined: list[Token] = []
    for i, b in enumerate(branches):
        if i:
            joined.append(Token("char", "|"))
        joined.extend(b)
    return _group("(?:", joined)


def _group(opening: str, tokens: list[Token]) -> list[Token]:
    return [Token("open", opening), *tokens, Token("close", ")")]


def _atomic(tokens: list[Token]) -> list[Token]:
    """Wrap an include() prefix so the full regex never backtracks into it (Django doesn't)."""
    return tokens if is_literal(tokens) else _group("(?>", tokens)


def _assemble(pieces: list[_Piece]) -> tuple[str, dict[str, str], set[str], dict[str, str]]:
    """Join the levels into one regex: renumber back-references, rename outer duplicate names.

    A name captured again by an inner level is the inner level's (Django's inner kwargs
    override the outer ones); the outer group gets a private name, kept as the fallback for
    when the inner group does not participate (Django then keeps the outer value). Returns
    the regex, the converter kinds by group name, every param name it captures, and the
    private names with the name each stands in for, innermost first.
    """
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
    return "^" + "".join(reversed(parts)), dict(sorted(convert.items())), seen, outer


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


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__
