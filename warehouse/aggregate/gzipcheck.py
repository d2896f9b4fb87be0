"""Tell whether a gzip file would be read whole by mrjob's inline and local runners.

mrjob reads `.gz` inputs on those runners with its own decompressor
(`mrjob.cat.gunzip_stream`), which stops without an error at the end of a truncated file
and ignores every gzip member after the first (`cat a.gz b.gz`, which gzip, Hive, Spark and
Athena all read whole). An events part damaged or concatenated that way would be
aggregated in part, with exit 0. `aggregate` checks the inputs of those runners with
`gzip_problem` first and fails instead (exit 5, nothing written). The spark, hadoop and emr
runners read through Hadoop's gzip codec instead, which reads every member.
"""

from __future__ import annotations

from collections.abc import Sequence

from isal import isal_zlib  # ISA-L's inflate: ~3x zlib's, the same API

from warehouse.storage import ObjectStore

_GZIP_MAGIC = b"\x1f\x8b"


def gzip_problem(path: str, chunk: int = 1 << 20) -> str | None:
    """Return why a one-member reader would not read all of the gzip file `path`
    (truncated, corrupt, several members, data after its end), or None when it would.
    Zero bytes after the end (padding) are accepted, as gzip accepts them."""
    d = isal_zlib.decompressobj(16 + isal_zlib.MAX_WBITS)
    tail = b""
    with open(path, "rb") as f:
        while data := f.read(chunk):
            try:
                while True:  # output bounded per call: memory stays small
                    out = d.decompress(data, chunk)
                    data = d.unconsumed_tail
                    if d.eof or (not data and len(out) < chunk):  # else output is pending
                        break
            except Exception as exc:  # isal_zlib.error (its stub types it as an instance)
                return f"is corrupt ({exc})"
            if d.eof:
                tail = d.unused_data[:16] + data[:16]
                if len(tail) < 16:
                    tail += f.read(16 - len(tail))
                break
    if not d.eof:
        return "is truncated (its gzip stream ends early)"
    if tail.startswith(_GZIP_MAGIC):
        return "holds several gzip members (concatenated files)"
    if tail.strip(b"\0"):
        return "has data after the end of its gzip stream"
    return None


def damaged_input(
    store: ObjectStore, runner: str, keys: Sequence[str], paths: Sequence[str]
) -> str | None:
    """Return why one of an aggregate's inputs (`keys` of `store`, read by the job at the
    local `paths`) would be read in part, on the runners that read them with mrjob's own
    decompressor (inline, local); else None."""
    if runner not in ("inline", "local"):
        return None
    for key, path in zip(keys, paths, strict=True):
        try:
            why = gzip_problem(path) if path.endswith(".gz") else None
        except FileNotFoundError:  # deleted since the listing: by another machine's parse
            return (
                f"events part {store.uri(key)} was deleted while aggregate read it (a parse "
                "on another machine re-published its input?); nothing written: re-run it"
            )
        if why:
            return (
                f"events part {store.uri(key)} {why}: the {runner} runner would read only "
                "part of it (nothing written); re-run `warehouse parse` for its input, or "
                "recompress it (zcat | gzip) if it is whole"
            )
    return None
