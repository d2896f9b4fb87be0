"""Keys read back from state files, run records and S3 listings, checked before any use.

A key the warehouse writes itself is a relative `/` path of plain segments under a known
prefix. Read back from a file (a parse state's objects, a table state's loads) or from an
S3 listing, it may be damaged or tampered with: `../victim.txt` or `/etc/x` would make a
delete reach outside the root, a string where a list belongs would be read letter by
letter. Every such key is checked here first; anything else is `CorruptState` (exit 5),
naming the file, before anything is read or deleted.
"""

from __future__ import annotations

from collections.abc import Sequence

from warehouse.errors import CorruptState

FIX = "nothing was deleted; check the file (damaged or tampered with?), then delete it and re-run"


def show(value: object, limit: int = 80) -> str:
    """Return `value` as a short one-line repr for an error message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def unsafe_reason(key: object, *, inner_empty: bool = False) -> str | None:
    """Return why `key` is not a safe relative key (not a string, absolute, an empty,
    `.` or `..` segment, a NUL), or None when it is one. `inner_empty` lets `a//b` pass
    (an S3 object a log shipper named so: not a path out of anywhere)."""
    if not isinstance(key, str):
        return f"is a {type(key).__name__}, not a string"
    if not key:
        return "is empty"
    if key.startswith("/"):
        return "is absolute"
    if "\x00" in key:
        return "holds a NUL byte"
    parts = key.split("/")
    if inner_empty and parts[-1]:
        parts = [p for p in parts if p]
    bad = next((part for part in parts if part in ("", ".", "..")), None)
    if bad is not None:
        return f"has {'an empty' if not bad else 'a ' + repr(bad)} segment"
    return None


def checked_key(key: object, prefixes: Sequence[str], where: str, fix: str = FIX) -> str:
    """Return `key` when it is a safe relative key under one of `prefixes`; raises
    CorruptState naming `where` (the file it was read from) otherwise."""
    why = unsafe_reason(key)
    if why is None and not str(key).startswith(tuple(prefixes)):
        why = f"is not under {' or '.join(prefixes)}"
    if why is not None:
        raise CorruptState(f"{where} is corrupt: key {show(key)} {why}; {fix}")
    return str(key)


def checked_keys(value: object, prefixes: Sequence[str], where: str, fix: str = FIX) -> list[str]:
    """Return `value` as a list of keys, each checked by `checked_key`; raises
    CorruptState naming `where` when it is not a list or a key is unsafe."""
    if not isinstance(value, list):
        raise CorruptState(
            f"{where} is corrupt: its keys are a {type(value).__name__}, not a list; {fix}"
        )
    return [checked_key(k, prefixes, where, fix) for k in value]


def checked_name(value: object, what: str, where: str, fix: str = FIX) -> str:
    """Return `value` when it is one safe path segment (a load stamp, a date); raises
    CorruptState naming `what` and `where` otherwise."""
    why = unsafe_reason(value)
    if why is None and "/" in str(value):
        why = "is not a single name"
    if why is not None:
        raise CorruptState(f"{where} is corrupt: {what} {show(value)} {why}; {fix}")
    return str(value)


def refuse_unsafe(key: str, root: str) -> str:
    """Return `key` (a key or a `/`-ended prefix, `""` for the root) unless it would reach
    outside `root` (absolute, or a `..` segment); raises CorruptState. The stores' last
    guard: callers check keys read from files first, naming the file."""
    if key.startswith("/") or "\x00" in key or ".." in key.split("/"):
        raise CorruptState(f"refusing key {show(key)}: it reaches outside {root}; {FIX}")
    return key
