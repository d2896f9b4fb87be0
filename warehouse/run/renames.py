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
from typing import TYPE_CHECKING, Any

from warehouse.config import Config
from warehouse.errors import WarehouseError
from warehouse.run.records import StageRecord
from warehouse.storage import ObjectStore

if TYPE_CHECKING:
    from warehouse.events.inputs import InputSource

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
    from warehouse.events.inputs import expand_inputs

    try:
        now = expand_inputs(cfg, [inp])
    except WarehouseError:
        return {}  # the parse says what is wrong
    names = {src.name for src in now}
    out = {name: aliases[name] for name in names if name in before and name in aliases}
    look = _Heads(cfg, store, aliases)
    new = [src for src in now if src.name not in before]
    heads = look.moved(before, now, names, rotated=bool(new))
    moved: set[str] = set()
    for src in new:
        if not heads:
            break
        head = look.first(src)
        old = heads.pop(head, None) if head is not None else None
        if old is None:
            continue
        out[src.name] = aliases.get(old, old)
        moved.add(old)
        log.info("%s parse: input %s is %s renamed (same first line): read in its place, "
                 "its lines not counted twice", day, src.label, old)
        if old in names:  # rotated in place: the name starts afresh, under a new identity
            out[old] = look.fresh_identity(old)
    for old in sorted(set(before) - names - moved):
        log.warning("%s parse: input %s is gone since its parse (removed, or renamed "
                    "with another first line); its events stand", day, old)
    return out


class _Heads:
    """The first lines of a day's inputs: as read now, and as their parse states recorded."""

    def __init__(self, cfg: Config, store: ObjectStore, aliases: dict[str, str]) -> None:
        self.cfg, self.store, self.aliases = cfg, store, aliases
        self._firsts: dict[str, str | None] = {}

    def first(self, src: InputSource) -> str | None:
        """Return the first line of `src` now (None when it cannot be read)."""
        from warehouse.events.task import input_head

        if src.name not in self._firsts:
            try:
                self._firsts[src.name] = input_head(src, self.cfg.s3)
            except WarehouseError:
                self._firsts[src.name] = None  # the parse sets it aside, with the reason
        return self._firsts[src.name]

    def recorded(self, name: str) -> str | None:
        """Return the first line the parse state of the input `name` recorded."""
        from warehouse.events.state import recorded_head

        return recorded_head(self.store, self.aliases.get(name, name))

    def moved(
        self, before: dict[str, Any], now: list[InputSource], names: set[str], *, rotated: bool,
    ) -> dict[str, str]:
        """Return {first line: earlier name} of the identities whose content may have
        moved to a new name: the inputs gone, and (when there are new names: `rotated`)
        the ones that changed size and now begin with another line."""
        heads: dict[str, str] = {}
        for old in sorted(set(before) - names):
            head = self.recorded(old)
            if head is not None:
                heads.setdefault(head, old)
        if rotated:
            for src in now:
                if src.name in before and src.size != before[src.name] and not src.refused:
                    head = self.recorded(src.name)
                    if head is not None and self.first(src) != head:
                        heads.setdefault(head, src.name)
        return heads

    def fresh_identity(self, name: str) -> str:
        """Return `NAME#N`, N the first with no parse state."""
        from warehouse.events.inputs import InputSource
        from warehouse.events.state import state_key

        n = 1
        while self.store.exists(state_key(InputSource(f"{name}#{n}", "", "", None))):
            n += 1
        return f"{name}#{n}"
