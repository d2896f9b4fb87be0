"""One level of a Django URL pattern as a piece of the dump's full-path regex.

Pure (no Django): `warehouse.urls.dump` hands over each level's regex text. How each
level's Django semantics become a piece:
- path() routes are anchored at the start of what is left of the path; endpoints end in
  `\\Z` (Django's own translation).
- re_path() regexes are *searched* (Django calls `regex.search`), so a regex that does not
  start with `^` may skip text: it becomes `[\\s\\S]*?(?:regex)`. An endpoint regex ending
  in `$` is full-matched by Django: it becomes `(?:regex)\\Z` anchored at its start. A `^`
  at the start of each top-level alternative is handled (`^a/$|^b/$`, and mixes of
  anchored and unanchored alternatives when the unanchored ones have no named groups).
- include() prefixes are matched once and never revisited when the included patterns fail,
  so non-literal prefixes are wrapped in an atomic group `(?>...)`.
- Leading inline flags `(?i)` become scoped groups `(?i:...)`; regexes in verbose mode
  `(?x)` are embedded as they are (an opaque piece, never rewritten).
`warehouse.urls._assemble` joins the pieces of every level into one regex.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from warehouse.urls._regex import Token, has_backrefs, is_literal, split_branches, tokenize

# Every warning of the dump is logged under the name users know from `urls dump`.
log = logging.getLogger("warehouse.urls.dump")

_LEADING_FLAGS = re.compile(r"\(\?([aiLmsux]+)\)")
_ANCHORS = ("^", "\\A")


@dataclass
class Piece:
    """One level's regex, rewritten to be embedded in the full-path regex."""

    tokens: list[Token]
    converters: dict[str, str]  # group name -> convert kind (resolver.CONVERTERS)
    opaque: bool = False  # verbose mode: kept as it is, never rewritten


def literal_piece(text: str) -> Piece:
    """Return the piece matching exactly `text` (an i18n_patterns language prefix)."""
    return Piece(tokenize(re.escape(text)), {})


def route_piece(rx: str, converters: dict[str, str], *, endpoint: bool) -> Piece:
    """Return the piece of a path() route whose Django regex is `rx` (`^...`, `\\Z` ended
    for endpoints); raises ValueError when `rx` does not tokenize."""
    # Always searched from the start, so it is anchored: the leading ^ goes.
    body = tokenize(rx)
    if body and body[0].kind == "char" and body[0].text == "^":
        body = body[1:]
    return Piece(body if endpoint else _atomic(body), converters)


def regex_piece(rx: str, *, endpoint: bool) -> Piece:
    """Return the piece of a re_path() regex `rx` (searched by Django, full-matched for
    endpoints ending in `$`); raises ValueError when `rx` does not tokenize."""
    original = rx
    flags = ""
    while m := _LEADING_FLAGS.match(rx):
        flags += m.group(1)
        rx = rx[m.end() :]
    fullmatch = endpoint and original.endswith("$")
    if "x" in flags:
        return Piece(_verbose(rx, flags, fullmatch, endpoint), {}, opaque=True)
    # Each top-level alternative that starts with ^ (or \A) is anchored at the start of
    # what is left of the path; inside the full-path regex that anchor must go.
    branches = split_branches(tokenize(rx))
    anchored = [bool(b) and _is_anchor(b[0]) for b in branches]
    branches = [b[1:] if a else b for b, a in zip(branches, anchored, strict=True)]
    if any(_is_anchor(t) for b in branches for t in b):
        log.warning(
            "regex %r uses ^ or \\A after its start; Django matches it against the rest of "
            "the path, the full-path regex cannot (the pattern may never match)",
            original,
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
                original,
            )
            tokens = [*_SKIP, *every]
        else:
            rest = [Token("open", "(?:") if t.kind == "cap" else t for t in rest]
            tokens = _group("(?:", [*every, Token("char", "|"), *_SKIP_ONE, *rest])
    if flags:
        tokens = _group(f"(?{flags}:", tokens)
    return Piece(tokens if endpoint else _atomic(tokens), {})


def _is_anchor(t: Token) -> bool:
    return t.kind in ("char", "esc") and t.text in _ANCHORS


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
