"""A small tokenizer for Python regular expressions, enough to rewrite groups safely.

The dump needs to join the regexes of nested include() levels into one full-path regex
(renumbering back-references, renaming duplicate group names); the resolver needs to turn
every capturing group into a non-capturing one before it puts a pattern into a combined
alternation. Both only have to know where escapes, character classes and group openings
are, which is what `tokenize` yields. The resolver's index also asks which literal leading
path segments every match of a regex has (`literal_segments`) and whether it can join a
combined alternation (`alternation_form`: not with verbose mode, where `#` starts a
comment, inline global flags or back-references).
"""

from __future__ import annotations

import re
from typing import NamedTuple


class Token(NamedTuple):
    """One lexical unit of a regex: `kind` says what it is, `text` is its exact source."""

    kind: str
    text: str
    name: str = ""
    number: int = 0


# Token kinds:
#   char      a literal or meta character outside classes (".", "^", "$", "|", "*", ...)
#   esc       a backslash escape that is not a back-reference
#   backref   \N (number) or (?P=name) (name)
#   class     a whole character class [...]
#   cap       "(" opening a plain capturing group
#   named     "(?P<name>" opening a named group
#   open      any other "(?..." opening: (?: (?= (?! (?<= (?<! (?> (?flags:
#   flags     a global inline-flag group such as "(?i)"
#   cond      "(?(id)" opening a conditional group (name or number)
#   comment   "(?#...)"
#   close     ")"


# One alternative per token kind, tried in this order at each position (the group
# name says the kind; plain characters first, the common case); `bad` catches what
# cannot start a valid token.
_TOKEN_RE = re.compile(
    r"""
    (?P<char>[^\\\[()])
  | (?P<esc_octal>\\[1-7][0-7]{2})
  | (?P<backref>\\[1-9][0-9]?)
  | (?P<esc>\\[\s\S])
  | (?P<klass>\[\^?+\]?+(?:[^\]\\]|\\[\s\S])*+\])
  | (?P<named>\(\?P<(?P<gname>[^>]*)>)
  | (?P<nbackref>\(\?P=(?P<bname>[^)]*)\))
  | (?P<comment>\(\?\#[^)]*\))
  | (?P<cond>\(\?\((?P<cname>[^)]*)\))
  | (?P<flags>\(\?(?P<fl>[aiLmsux]+)\))
  | (?P<open>\(\?(?:<=|<!|[:=!>]|[^:)]*[:)]?))
  | (?P<cap>\()
  | (?P<close>\))
  | (?P<bad>\\|\[)
    """,
    re.VERBOSE,
)


# the Token kind of each _TOKEN_RE alternative, and the group holding its `name` ("": none)
_KINDS: dict[str, tuple[str, str]] = {
    "char": ("char", ""), "esc": ("esc", ""), "esc_octal": ("esc", ""),
    "named": ("named", "gname"), "cap": ("cap", ""), "open": ("open", ""),
    "close": ("close", ""), "klass": ("class", ""), "backref": ("backref", ""),
    "nbackref": ("backref", "bname"), "cond": ("cond", "cname"), "flags": ("flags", "fl"),
    "comment": ("comment", ""),
}
# how a token of each kind changes the group depth
_DEPTH = {"named": 1, "cap": 1, "open": 1, "cond": 1, "close": -1}


def tokenize(rx: str) -> list[Token]:
    """Return the tokens of regex `rx`; raises ValueError on an unterminated construct or
    unbalanced parentheses."""
    out: list[Token] = []
    depth = 0
    for m in _TOKEN_RE.finditer(rx):
        group, text = m.lastgroup or "bad", m.group()
        if group == "bad":
            what = "trailing backslash" if text == "\\" else "unterminated character class"
            raise ValueError(f"{what} in {rx!r}")
        kind, name = _KINDS[group]
        number = int(text[1:]) if group == "backref" else 0
        out.append(Token(kind, text, m.group(name) if name else "", number))
        depth += _DEPTH.get(kind, 0)
        if depth < 0:
            raise ValueError(f"unbalanced parenthesis in {rx!r}")
    if depth:
        raise ValueError(f"missing ), unterminated group in {rx!r}")
    return out


def render(tokens: list[Token]) -> str:
    """Return the regex text of `tokens`."""
    return "".join(t.text for t in tokens)


def has_backrefs(tokens: list[Token]) -> bool:
    """Return True when the regex refers to its own groups (back-references, conditionals)."""
    return any(t.kind in ("backref", "cond") for t in tokens)


def split_branches(tokens: list[Token]) -> list[list[Token]]:
    """Return the regex's top-level alternatives (split at each `|` outside every group)."""
    out: list[list[Token]] = [[]]
    depth = 0
    for t in tokens:
        if t.kind in ("cap", "named", "open", "cond"):
            depth += 1
        elif t.kind == "close":
            depth -= 1
        elif depth == 0 and t.kind == "char" and t.text == "|":
            out.append([])
            continue
        out[-1].append(t)
    return out


def is_literal(tokens: list[Token]) -> bool:
    """Return True when the regex matches exactly one fixed string (no metacharacters)."""
    for t in tokens:
        if t.kind == "char":
            if t.text in ".^$*+?{}|":
                return False
        elif t.kind == "esc":
            if t.text[1].isalnum():
                return False
        else:
            return False
    return True


# --- analysis used by the resolver's index ---------------------------------------------


_META = frozenset(".^$*+?{}[]|()")
_QUANT = frozenset("?*+{")


def _literal(t: Token) -> str | None:
    if t.kind == "char":
        return None if t.text in _META else t.text
    if t.kind == "esc" and not t.text[1].isalnum():
        return t.text[1]
    return None


def _quantified(tokens: list[Token], i: int) -> bool:
    return i < len(tokens) and tokens[i].kind == "char" and tokens[i].text in _QUANT


def _group_end(tokens: list[Token], i: int) -> int | None:
    """Return the index of the `)` closing the group opened at `i`, or None if it has a `|`."""
    depth = 0
    for j in range(i, len(tokens)):
        t = tokens[j]
        if t.kind in ("cap", "named", "open", "cond"):
            depth += 1
        elif t.kind == "close":
            depth -= 1
            if depth == 0:
                return j
        elif depth == 1 and t.kind == "char" and t.text == "|":
            return None
    return None


def _facts(tokens: list[Token]) -> tuple[bool, bool, bool]:
    """Return (top-level `|`, inline flags or verbose mode, back-references) in one pass."""
    depth = 0
    pipe = flags = refs = False
    for t in tokens:
        kind = t.kind
        if kind == "char":
            if depth == 0 and t.text == "|":
                pipe = True
        elif kind == "close":
            depth -= 1
        elif kind in ("cap", "named"):
            depth += 1
        elif kind == "open":
            depth += 1
            if t.text.endswith(":") and "x" in t.text[2:-1].split("-", 1)[0]:
                flags = True  # verbose mode inside a scoped group
        elif kind == "cond":
            depth += 1
            refs = True
        elif kind == "flags":
            flags = True
        elif kind == "backref":
            refs = True
    return pipe, flags, refs


def analyse(tokens: list[Token]) -> tuple[list[str], tuple[str, tuple[str, ...]] | None]:
    """Return `literal_segments(tokens)` and `alternation_form(tokens)` in one go."""
    facts = _facts(tokens)
    return _segments(tokens, facts), _alternation(tokens, facts)


def literal_segments(tokens: list[Token]) -> list[str]:
    """Return the literal leading path segments every match of a full-path regex has.

    `^/api/v1/(?P<pk>...)` gives ["api", "v1"]; `^/robots\\.txt\\Z` gives ["robots.txt"];
    `^/\\Z` gives [""]; anything not anchored at a literal `/` gives []. Conservative: a
    segment counts only when a literal `/` (or the end of the regex) closes it.
    """
    return _segments(tokens, _facts(tokens))


def _segments(tokens: list[Token], facts: tuple[bool, bool, bool]) -> list[str]:
    if not tokens or tokens[0].text not in ("^", "\\A") or tokens[0].kind not in ("char", "esc"):
        return []
    pipe, flags, _ = facts
    if pipe or flags:
        return []
    text, i = _literal_run(tokens)
    if not text.startswith("/"):
        return []
    parts = text[1:].split("/")
    # The text after the last "/" is a whole segment only when the regex ends right there
    # (a `$` alone would also allow a trailing newline).
    rest = [t.text for t in tokens[i:] if t.kind != "close"][:2]
    if rest[:1] == ["\\Z"] or rest[:2] == ["$", "\\Z"]:
        return parts
    return parts[:-1]


def _literal_run(tokens: list[Token]) -> tuple[str, int]:
    """Return the literal text every match has after the anchor `tokens[0]`, and the index
    of the first token past it."""
    chars: list[str] = []
    i, n = 1, len(tokens)
    while i < n:
        t = tokens[i]
        if t.kind in ("cap", "named") or (t.kind == "open" and t.text in ("(?:", "(?>")):
            # A plain, unquantified group without alternatives: its content is required in
            # sequence, so the literal run continues inside it.
            end = _group_end(tokens, i)
            if end is None or _quantified(tokens, end + 1):
                break
        elif t.kind != "close":  # a close: the end of a group entered above
            lit = _literal(t)
            if lit is None or _quantified(tokens, i + 1):
                break
            chars.append(lit)
        i += 1
    return "".join(chars), i


def bucket_key(regex: str) -> str | None:
    """Return the literal first path segment every match of `regex` has, or None."""
    try:
        segments = literal_segments(tokenize(regex))
    except ValueError:
        return None
    return segments[0] if segments else None


def alternation_form(tokens: list[Token]) -> tuple[str, tuple[str, ...]] | None:
    """Return the regex for a combined alternation and its group names in order, or None.

    Named groups become plain numbered groups (names may repeat across alternatives),
    unnamed ones non-capturing (Django ignores them once a named group exists, and without
    named groups there are no params). None means the entry must run on its own.
    """
    return _alternation(tokens, _facts(tokens))


def _alternation(
    tokens: list[Token], facts: tuple[bool, bool, bool]
) -> tuple[str, tuple[str, ...]] | None:
    _, flags, refs = facts
    if flags or refs:
        return None
    out: list[Token] = []
    names: list[str] = []
    for t in tokens:
        if t.kind == "named":
            names.append(t.name)
            out.append(Token("cap", "("))
        elif t.kind == "cap":
            out.append(Token("open", "(?:"))
        else:
            out.append(t)
    return render(out), tuple(names)
