"""Which of a day's logs are earlier logs renamed (logrotate), so `run` parses each input
on its own without counting a rotated log's lines twice.

An input's parts and state are named by the hash of its identity: its canonical name, or
the identity of the earlier input it is a rename of (`InputSource.alias`). The parse
record keeps `renamed` {name: identity} for the names that are not their own identity,
so a log renamed again (web.log -> web.log.1 -> web.log.2.gz) keeps its first one.
A log is recognised by its first line: the parse state of each identity records a
fingerprint of the first line its last good run read (a gzip's bytes differ from the
plain file's, its lines do not), and the parse then checks the rest (a copy with fewer
lines than that run read is held, exit 5, its earlier events kept).
"""

from __future__ import annotations

import datetime as dt
import logging

from warehouse.config import Config
from warehouse.errors import WarehouseError
from warehouse.run.records import StageRecord
from warehouse.storage import ObjectStore

log = logging.getLogger(__name__)


def find_renames(
    cfg: Config, store: ObjectStore, day: dt.date, rec: StageRecord, inp: str
) -> dict[str, str]:
    """Return {name: identity} for the inputs `inp` names now whose identity is not their
    name, given `rec`, the day's earlier parse record (its `inputs` {name: size} and
    `renamed`). A new name takes the identity of an earlier input whose first line it
    begins with, when that input is gone (moved, gzipped: `create`-less rotation) or now
    begins with another line (rotated in place: logrotate's `create` or `copytruncate`);
    a log rotated in place then gets a fresh identity (`NAME#N`, N the first with no
    state). Logs a warning naming each earlier input gone and not renamed."""
    before, earlier = rec.inputs, rec.renamed
    if not isinstance(before, dict):
        return {}
    aliases = {k: v for k, v in (earlier if isinstance(earlier, dict) else {}).items()
               if isinstance(k, str) and isinstance(v, str)}
    from warehouse.events.inputs import InputSource, expand_inputs
    from warehouse.events.state import recorded_head, state_key
    from warehouse.events.task import input_head

    try:
        now = expand_inputs(cfg, [inp])
    except WarehouseError:
        return {}  # the parse says what is wrong
    names = {src.name for src in now}
    out = {name: aliases[name] for name in names if name in before and name in aliases}
    firsts: dict[str, str | None] = {}

    def first(src: InputSource) -> str | None:
        if src.name not in firsts:
            try:
                firsts[src.name] = input_head(src, cfg.s3)
            except WarehouseError:
                firsts[src.name] = None  # the parse sets it aside, with the reason
        return firsts[src.name]

    # identities whose content may have moved to a new name: {first line: earlier name}
    heads: dict[str, str] = {}
    for old in sorted(set(before) - names):
        head = recorded_head(store, aliases.get(old, old))
        if head is not None:
            heads.setdefault(head, old)
    new = [src for src in now if src.name not in before]
    if new:
        for src in now:
            if src.name in before and src.size != before[src.name] and not src.refused:
                head = recorded_head(store, aliases.get(src.name, src.name))
                if head is not None and first(src) != head:
                    heads.setdefault(head, src.name)
    moved: set[str] = set()
    for src in new:
        if not heads:
            break
        head = first(src)
        found = heads.pop(head, None) if head is not None else None
        if found is None:
            continue
        old = found
        out[src.name] = aliases.get(old, old)
        moved.add(old)
        log.info("%s parse: input %s is %s renamed (same first line): read in its place, "
                 "its lines not counted twice", day, src.label, old)
        if old in names:  # rotated in place: the name starts afresh, under a new identity
            n = 1
            while store.exists(state_key(InputSource(f"{old}#{n}", "", "", None))):
                n += 1
            out[old] = f"{old}#{n}"
    for old in sorted(set(before) - names - moved):
        log.warning("%s parse: input %s is gone since its parse (removed, or renamed "
                    "with another first line); its events stand", day, old)
    return out
