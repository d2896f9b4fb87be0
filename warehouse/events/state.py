"""How one input's run of `parse` becomes visible: stage, judge, publish, retire, record.

The workers write every object of an input (hash H) under `ROOT/_staging/parse/H/`, a
hidden tree that mirrors the final keys. Only when all of the input's ranges are done and
the input is judged good are the staged objects published (a rename on local disks, a
server-side copy on S3) over the same-named objects of the earlier run. The order is
crash-safe at every step:

1. `prepare`: read the state `ROOT/_state/parse/H.json` (every object the input's runs may
   have left) and remove what a killed run of this input left: its staging tree (and, on
   S3, its unfinished multipart uploads), and `_tmp.*` files of its parts beside the
   objects the state lists and of the state itself.
2. the workers stage their objects (a crash here leaves only staging, removed by step 1 of
   the next run; the earlier run's objects are untouched).
3. `finish`: when the new run names objects the state does not list yet, the state is first
   rewritten to list old and new (an intent), then the objects are published, then the
   earlier run's objects this run did not write are deleted, then the state is written
   with the new objects only. A crash anywhere leaves a state that lists a superset of
   what exists, so the next run of the input deletes whatever it does not write itself.

A run judged bad (an input set aside, or over `max_reject_ratio`) leaves the earlier run's
objects exactly as they were: its rejects are published as `H-NNNN-failed.json.gz` (never
over a name of the earlier run), its events only when the input has no earlier events to
keep (a first run over `max_reject_ratio`), and the state lists old and new, so the next
good run cleans up after both. The state also records the line and event counts of the last
run published as good (`Earlier.lines`, `.events`) and a fingerprint of its first line
(`.head`): `parse` judges a re-run that reads fewer lines than that, or that begins with
another line (a log rotated or replaced under the same name), bad unless told `--replace`.
A state written before the counts were recorded gets them once, by counting the records of
the objects it lists. Two runs of the same input at the same time would remove each other's
staging tree: `parse` holds the input's item lock (`warehouse.lock.item_lock`)
around all of this, so a second process on the same machine leaves the input alone; and
it holds the root's events lock (`warehouse.lock.events_lock`) exclusively around `finish`,
so an aggregate on the same machine (shared) lists and reads the input's parts before or
after the publish and the stale deletes, never between.
"""

from __future__ import annotations

import gzip
import logging
import posixpath
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import orjson

from warehouse.errors import CorruptState
from warehouse.events.inputs import InputSource, printable
from warehouse.events.summary import InputFailure
from warehouse.storage import ObjectStore, read_bytes, write_bytes
from warehouse.storage.keys import FIX, checked_key, checked_keys, show

log = logging.getLogger(__name__)

STAGING = "_staging/parse"
_PART_SUFFIX = ".json.gz"
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def staging_prefix(src: InputSource) -> str:
    """Return the hidden prefix under which the input's objects are written first."""
    return f"{STAGING}/{src.part_id}/"


def state_key(src: InputSource) -> str:
    """Return the key of the input's state file."""
    return f"_state/parse/{src.part_id}.json"


def failed_name(key: str) -> str:
    """Return the name a rejects part of a run judged bad is published under."""
    return key[: -len(_PART_SUFFIX)] + "-failed" + _PART_SUFFIX


@dataclass(frozen=True)
class Earlier:
    """What the input's state says of its earlier runs: the objects they may have left,
    and the line and event counts of the last run published as good (None: not known;
    `recorded` False: counted from the objects, not yet in the state)."""

    keys: list[str]
    lines: int | None = None
    events: int | None = None
    head: str | None = None  # fingerprint of the first line that run read
    recorded: bool = True


def prepare(store: ObjectStore, src: InputSource) -> Earlier:
    """Return what the input's earlier runs left (from its state) after removing the
    leftovers of a killed or failed run of this input."""
    earlier = _read_state(store, src)
    old = earlier.keys
    leftovers = [o.key for o in store.list(staging_prefix(src), include_hidden=True)]
    prefixes = {f"_state/parse/_tmp.{src.part_id}.json."}
    prefixes |= {f"{posixpath.dirname(k)}/_tmp.{src.part_id}-" for k in old}
    for prefix in sorted(prefixes):
        leftovers += [o.key for o in store.list(prefix, include_hidden=True)]
    for key in leftovers:
        log.info("removing %s (left by an interrupted run of %s)", store.uri(key), src.label)
        store.delete(key)
    if store.abort_uploads(staging_prefix(src)):
        log.info("aborted the unfinished uploads of an interrupted run of %s", src.label)
    return earlier


def prepare_inputs(
    store: ObjectStore, sources: list[InputSource], failures: list[InputFailure]
) -> dict[str, Earlier]:
    """Return `prepare` of each input by name; an input whose state is corrupt is left
    out (unparsed, nothing of it deleted) and added to `failures` (exit 5, logged)."""
    earlier: dict[str, Earlier] = {}
    for src in sources:
        try:
            earlier[src.name] = prepare(store, src)
        except CorruptState as exc:
            log.error("%s", exc)
            failures.append(InputFailure(str(exc), exc.exit_code, set_aside=False))
    return earlier


@dataclass(frozen=True)
class Outcome:
    """What `finish` did: objects published, earlier objects removed or kept."""

    published: list[str]
    removed: int
    kept: int


class Judged(Protocol):
    """What `finish` reads of an input's judgement (`warehouse.events.judge.Judgement`)."""

    @property
    def good(self) -> bool:
        """True when the input is published over its earlier run."""

    @property
    def publish(self) -> bool:
        """True when its events are published."""

    @property
    def lines(self) -> int:
        """The lines this run read."""

    @property
    def events(self) -> int:
        """The events this run found."""

    @property
    def head(self) -> str | None:
        """The fingerprint of the input's first line (None: none read)."""


def finish(
    store: ObjectStore, src: InputSource, staged: list[str], earlier_run: Earlier, judged: Judged
) -> Outcome:
    """Publish the input's staged objects (all when `judged.good`; else rejects only, under
    failed names, and events only when `judged.publish`), retire the earlier run's objects
    when good, and record the state: with this run's lines, events and the fingerprint of
    its first line when good, else with the earlier run's."""
    good, events = judged.good, judged.publish
    old = earlier_run.keys
    before = (earlier_run.lines, earlier_run.events, earlier_run.head)
    counted: tuple[int | None, int | None, str | None] = (
        (judged.lines, judged.events, judged.head) if good else before
    )
    stage = staging_prefix(src)
    plan: list[tuple[str, str]] = []
    drop: list[str] = []
    for key in staged:  # a runner's task results name them: checked like a state's keys
        checked_key(key, (stage + "events/", stage + "rejects/"), f"the results of {src.label}")
        final = key[len(stage) :]
        if good or (events and final.startswith("events/")):
            plan.append((key, final))
        elif final.startswith("rejects/"):
            plan.append((key, failed_name(final)))
        else:
            drop.append(key)
    new = {final for _, final in plan}
    earlier = set(old)
    if not new <= earlier:  # the intent: a crash from here on leaves nothing unlisted
        _write_state(
            store, src, sorted(earlier | new), before, pending=True,
        )
    for key, final in plan:
        store.publish(key, final)
    stale = sorted(earlier - new) if good else []
    for key in stale:
        log.info("removing stale %s (earlier run of %s)", store.uri(key), src.label)
        store.delete(key)
    keep = new if good else earlier | new
    if (
        keep != earlier or not new <= earlier or not earlier_run.recorded
        or counted != before
    ):
        _write_state(store, src, sorted(keep), counted)
    for key in drop:
        store.delete(key)
    # the input's staging folder is its own (its item lock): no empty tree left per input
    store.prune(stage, itself=True)
    return Outcome(sorted(new), len(stale), 0 if good else len(earlier - new))


def _read_state(store: ObjectStore, src: InputSource) -> Earlier:
    """Return what the input's state file says; raises CorruptState naming the file when
    it is not JSON, not an object, or lists a key that is not one of this input's objects
    (`events/dt=D/H-...`, `rejects/dt=D/H-...`): nothing is deleted on its say-so."""
    key = state_key(src)
    if not store.exists(key):
        return Earlier([])
    where = f"parse state {store.uri(key)}"
    try:
        state = orjson.loads(read_bytes(store, key))
    except orjson.JSONDecodeError as exc:
        raise CorruptState(f"{where} is corrupt: not JSON ({exc}); {FIX}") from None
    if not isinstance(state, dict):
        raise CorruptState(f"{where} is corrupt: not a JSON object; {FIX}")
    keys = checked_keys(state.get("keys", []), ("events/dt=", "rejects/dt="), where)
    for k in keys:
        folder, _, name = k.partition("/dt=")[2].partition("/")
        if not _DATE.fullmatch(folder) or "/" in name or not name.startswith(f"{src.part_id}-"):
            raise CorruptState(
                f"{where} is corrupt: key {show(k)} is not an object of input {src.label} "
                f"(events/dt=YYYY-MM-DD/{src.part_id}-...); {FIX}"
            )
    lines, events, head = state.get("lines"), state.get("events"), state.get("head")
    earlier = Earlier(
        keys,
        lines if isinstance(lines, int) else None,
        events if isinstance(events, int) else None,
        head if isinstance(head, str) else None,
    )
    if earlier.lines is None and earlier.keys and not state.get("pending"):
        return _counted(store, earlier)
    return earlier


def _counted(store: ObjectStore, earlier: Earlier) -> Earlier:
    """Return `earlier` with the counts of a state written before they were recorded: the
    records of its event objects, and of its rejects (one per rejected line), as long as
    every object it lists is there, whole, and none is a bad run's (-failed) rejects. An
    object that cannot be read whole (truncated, corrupt) leaves the counts unknown: the
    re-run then replaces it, instead of every parse of the input failing on it."""
    counts = {"events/": 0, "rejects/": 0}
    for key in earlier.keys:
        kind = next((k for k in counts if key.startswith(k)), None)
        if kind is None or key.endswith("-failed" + _PART_SUFFIX) or not store.exists(key):
            return earlier
        try:
            with store.open_read(key) as raw, gzip.GzipFile(fileobj=raw, mode="rb") as f:
                counts[kind] += sum(1 for _ in f)
        except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
            log.warning("cannot count the records of %s (%s); its input's earlier counts "
                        "are unknown", store.uri(key), exc)
            return earlier
    events = counts["events/"]
    return Earlier(earlier.keys, events + counts["rejects/"], events, recorded=False)


def _write_state(
    store: ObjectStore, src: InputSource, keys: list[str],
    counts: tuple[int | None, int | None, str | None], *, pending: bool = False,
) -> None:
    state: dict[str, object] = {"source": src.label, "keys": keys}
    if counts[0] is not None:  # of the last run published as good
        state["lines"], state["events"] = counts[:2]
    if counts[2] is not None:
        state["head"] = counts[2]
    if pending:
        state["pending"] = True  # publishing in progress: keys is a superset of what exists
    write_bytes(store, state_key(src), orjson.dumps(state, option=orjson.OPT_INDENT_2))


def recorded_head(store: ObjectStore, name: str) -> str | None:
    """Return the first-line fingerprint the state of the input named `name` records
    (None: no state, an unreadable one, or none recorded)."""
    key = state_key(InputSource(name, "", "", None))
    if not store.exists(key):
        return None
    try:
        head = orjson.loads(read_bytes(store, key)).get("head")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return head if isinstance(head, str) else None


_COMPRESSED = re.compile(r"\.(?:gz|bz2|xz)$")
_ROTATION = re.compile(r"(?:\.(?P<n>\d{1,4})|-\d{8}(?:\d{2})?)$")


def rotated_names(name: str) -> list[str]:
    """Return the names logrotate may have renamed the log `name` from: `web.log` for
    `web.log.1`, `web.log-20261128.gz`; also `web.log.1` and `web.log.1.gz` for
    `web.log.2.gz` (rotated again). Empty for a name that is no rotated log's."""
    plain = _COMPRESSED.sub("", name)
    m = _ROTATION.search(plain)
    if m is None:
        return []
    base = plain[: m.start()]
    out = [base]
    n = int(m["n"]) if m["n"] else 0
    if n > 1:
        out += [f"{base}.{n - 1}", f"{base}.{n - 1}.gz"]
    return out


def warn_renamed(store: ObjectStore, src: InputSource, first: Callable[[], str | None]) -> None:
    """Warn in one line naming both files when `src`, an input with no state of its own, is
    a log parsed before under a name logrotate renames from (`rotated_names`) and begins
    with the first line that parse recorded (`first()` reads its fingerprint, only when
    there is one to compare): parse reads it as new, only `run` follows renames. At most
    three small state files are read, none for a name that is no rotated log's."""
    if src.alias is not None or src.stdin or src.refused:
        return
    mine: list[str | None] = []  # read once, when there is a head to compare
    for old in rotated_names(src.name):
        head = recorded_head(store, old)
        if head is not None and not mine:
            mine.append(first())
        if head is not None and head == mine[0]:
            log.warning(
                "input %s begins with the first line of %s, parsed before: renamed by "
                "logrotate? parse reads it as a new input, so the lines parsed from %s are "
                "counted twice; let `warehouse run` read rotated logs (it recognises "
                "renames) or leave renamed logs out of `warehouse parse`",
                src.label, printable(old), printable(old),
            )
            return
