"""`parse` inputs: expand specs (files, compressed files, directories, globs, named pipes,
s3:// keys and prefixes, `-`) into `InputSource`s; reading is in `warehouse.events.inputread`.

Each input becomes an `InputSource` with a canonical name (absolute path, `s3://` URI, or
`stdin:<source-name>`): part files are named from a hash of that name, so the same input
always lands in the same objects. Directories and prefixes are walked recursively in
sorted order, skipping names that start with `_` or `.` (work in progress).
Symbolic links are never followed out of the input's own folder (the directory walked;
for a file or glob, the folder holding the link): such a link is an input set aside,
never read (`refused`); a link to a file inside is read under its target's name (once,
however many links name it); a linked folder inside is not walked (its files are, under
their own path) and a warning says so. What an input
holds (plain text, gzip, bz2, xz, or a kind not read here) is told by its first bytes.
"""

from __future__ import annotations

import fnmatch
import glob
import hashlib
import logging
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from warehouse.config import Config
from warehouse.errors import (
    ConfigError,
    InputMissing,
)
from warehouse.storage import is_hidden, is_remote, open_store, split_uri

_GLOB_CHARS = "*?["

log = logging.getLogger(__name__)


_BY_NAME = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz"}


def compression_by_name(name: str) -> str | None:
    """Return the compression a name claims by its ending (.gz, .bz2, .xz), else None."""
    return next((kind for ext, kind in _BY_NAME.items() if name.endswith(ext)), None)


def printable(text: str) -> str:
    """Return `text` with undecodable bytes (a non-UTF-8 file name) shown as \\xNN."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


@dataclass(frozen=True)
class InputSource:
    """One input: canonical name, the store root and key that hold it, and its size.

    `compression` is what the first bytes said (regular local files) or what the name
    claims (S3, stdin, FIFOs); the reader sniffs the bytes again and they win.
    Stdin and named pipes (size None) are read once, from the start. `alias` is the name
    of an earlier input this one is, renamed (`warehouse run` recognises a rotated log by
    its first line): its parts and state keep that name's hash, so its lines replace the
    earlier input's events instead of coming a second time."""

    name: str
    root: str
    key: str
    size: int | None
    stdin: bool = False
    compression: str | None = None
    alias: str | None = None
    refused: str | None = None  # why it is never read (a link outside its folder)

    @property
    def gz(self) -> bool:
        """True when the input is compressed (gzip, bz2 or xz): one range, unknown length."""
        return self.compression is not None

    @property
    def label(self) -> str:
        """The name as shown in messages, rejects and state (undecodable bytes as \\xNN)."""
        return printable(self.name)

    @property
    def part_id(self) -> str:
        """Return the hash that names this input's part files (16 hex digits)."""
        name = self.alias or self.name
        return hashlib.sha1(name.encode("utf-8", "surrogateescape")).hexdigest()[:16]


def expand_inputs(
    cfg: Config, specs: list[str], *, source_name: str | None = None
) -> list[InputSource]:
    """Return the inputs named by `specs`, in order, without duplicates.

    Raises ConfigError (stdin without a source name, nothing given) or InputMissing (a
    path, glob, key or prefix that matches nothing).
    """
    if not specs:
        raise ConfigError("give at least one INPUT: a file, .gz, directory, glob, s3:// or -")
    out: list[InputSource] = []
    seen: set[str] = set()
    for spec in specs:
        for src in _expand_one(cfg, spec, source_name):
            if src.name not in seen:
                seen.add(src.name)
                out.append(src)
    return out


def _expand_one(cfg: Config, spec: str, source_name: str | None) -> list[InputSource]:
    if spec == "-":
        if not source_name:
            raise ConfigError("reading stdin (-) needs --source-name NAME to name its part files")
        name = f"stdin:{source_name}"
        return [
            InputSource(
                name, "", "-", None, stdin=True,
                compression=compression_by_name(name),
            )
        ]
    if is_remote(spec):
        return _expand_s3(cfg, spec)
    return _expand_local(spec)


def _expand_local(spec: str) -> list[InputSource]:
    path = Path(spec).expanduser()
    if any(c in spec for c in _GLOB_CHARS) and not path.exists():
        return _globbed(spec, path)
    if path.is_dir():
        return _folder(spec, path)
    if path.is_file():
        return _link(path, path.parent.resolve()) if path.is_symlink() else [_local(path)]
    return [_stream(spec, path)]


def _globbed(spec: str, path: Path) -> list[InputSource]:
    """Return the files a glob matches; raises InputMissing when none."""
    names = sorted(glob.glob(str(path), recursive=True))
    files = [Path(n) for n in names if os.path.isfile(n) or os.path.islink(n)]
    found = [
        x for p in files
        for x in (_link(p, p.parent.resolve()) if p.is_symlink() else [_local(p)])
    ]
    if not found:
        raise InputMissing(f"input {printable(spec)}: the glob matches no files")
    return found


def _folder(spec: str, path: Path) -> list[InputSource]:
    """Return the files under a folder, hidden ones left out; raises InputMissing when none."""
    folder = path.resolve()
    found = []
    for p in sorted(path.rglob("*")):
        if is_hidden(str(p.relative_to(path))):
            continue
        if p.is_symlink():
            found.extend(_link(p, folder))
        elif p.is_file():
            found.append(_local(p))
    if not found:
        raise InputMissing(f"input {printable(spec)}: the directory holds no files")
    return found


def _stream(spec: str, path: Path) -> InputSource:
    """Return a named pipe (or /dev/stdin) as one stream; raises InputMissing for anything
    else that is not a file or folder, or nothing at all."""
    try:
        mode = path.stat().st_mode
    except OSError:
        mode = 0
    if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode):
        full = path.absolute()
        name = str(full)
        return InputSource(
            name, str(full.parent), full.name, None, compression=compression_by_name(name),
        )
    if mode:
        raise InputMissing(f"input {printable(spec)} is not a file, directory or pipe")
    raise InputMissing(f"input {printable(spec)} does not exist; check the path")


def _local(path: Path) -> InputSource:
    full = path.resolve()
    name = str(full)
    return InputSource(
        name, str(full.parent), full.name, full.stat().st_size,
        compression=sniff_file(name) or compression_by_name(name),
    )


def _link(path: Path, folder: Path) -> list[InputSource]:
    """Return the input a symbolic link in `folder` gives: its target's when that is a
    file inside `folder`, else one set aside (`refused`) under the link's own name;
    nothing for a linked folder inside (walked under its own path), with a warning."""
    target = Path(os.path.realpath(path))
    inside = target.is_relative_to(folder) and target != folder
    if inside and target.is_file():
        return [_local(target)]
    if inside and target.is_dir():
        log.warning("input %s: a link to the folder %s, not followed (its files are read "
                    "under their own path)", printable(str(path)), printable(str(target)))
        return []
    full = path.absolute()
    what = "folder" if target.is_dir() else "file"
    why = (
        f"link outside the input folder ({what} {printable(str(target))}), never read; "
        "copy or move the log into the folder, or remove the link"
        if not inside else "link to something that is not a file, never read; remove it"
    )
    return [InputSource(str(full), str(full.parent), full.name, 0, refused=why)]


def _expand_s3(cfg: Config, spec: str) -> list[InputSource]:
    root, key = split_uri(spec)  # the bucket, and the key or prefix in it
    store = open_store(root, cfg.s3)
    pattern = None
    if any(c in key for c in _GLOB_CHARS):
        cut = min(key.find(c) for c in _GLOB_CHARS if c in key)
        pattern, key = key, key[:cut]
    elif key and not key.endswith("/") and store.exists(key):
        size = next((o.size for o in store.list(key) if o.key == key), None)
        name = f"{root}/{key}"
        return [InputSource(name, root, key, size, compression=compression_by_name(name))]
    out = []
    for obj in store.list(key):
        if pattern is not None and not fnmatch.fnmatchcase(obj.key, pattern):
            continue
        if is_hidden(obj.key[len(key) :]) or obj.key.endswith("/"):
            continue
        name = f"{root}/{obj.key}"
        out.append(InputSource(name, root, obj.key, obj.size, compression=compression_by_name(name)))
    if not out:
        raise InputMissing(f"input {spec}: no objects under that key or prefix")
    return out


# --- what the bytes are -------------------------------------------------------------------

# what the first bytes of a file are; strict enough that a text log never matches (gzip:
# deflate method; bz2: a block or the end-of-stream marker after the header)
_MAGIC = re.compile(
    rb"(?P<gzip>\x1f\x8b\x08)|(?P<bz2>BZh[1-9](?:1AY&SY|\x17rE8P\x90))|(?P<xz>\xfd7zXZ\x00)"
    rb"|(?P<zstd>\x28\xb5\x2f\xfd)|(?P<zip>PK\x03\x04)|(?P<lz4>\x04\x22\x4d\x18)"
    rb"|(?P<sevenzip>7z\xbc\xaf\x27\x1c)|(?P<compress>\x1f\x9d)"
)
_KIND_NAMES = {"sevenzip": "7z", "compress": "compress (.Z)"}
READABLE = ("gzip", "bz2", "xz")
HEAD = 10  # bytes needed to tell them apart


def sniff(head: bytes) -> str | None:
    """Return what data starting with `head` is (gzip, bz2, xz, zstd, zip, ...) or None."""
    m = _MAGIC.match(head)
    if m is None or m.lastgroup is None:
        return None
    return _KIND_NAMES.get(m.lastgroup, m.lastgroup)


def sniff_file(path: str) -> str | None:
    """Return `sniff` of a regular file's first bytes (None when unreadable or plain)."""
    try:
        with open(path, "rb") as f:
            return sniff(f.read(HEAD))
    except OSError:
        return None  # reported when the input is read
