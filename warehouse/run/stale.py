"""When a stage's "ok" run record no longer covers the work: the day's logs changed since
its parse (late lines, a file added), or the config asks for more than was done (a job
added to `[aggregate] jobs`, a report added to `[hive] reports`). Without this, the
nightly catch-up would skip such a day as complete, and the new work would never be done.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from warehouse.config import Config
from warehouse.errors import WarehouseError
from warehouse.run.dates import day_input
from warehouse.storage import ObjectStore

log = logging.getLogger(__name__)

OK = "ok"


def input_fingerprint(cfg: Config, inp: str) -> dict[str, int | None]:
    """Return {input name: size} of the files a day's `[logs] input` names now; raises
    WarehouseError (InputMissing when it names nothing)."""
    from warehouse.events.inputs import expand_inputs

    return {src.name: src.size for src in expand_inputs(cfg, [inp])}


def stale_reason(cfg: Config, day: dt.date, stage: str, rec: dict[str, Any]) -> str | None:
    """Return why the "ok" record `rec` of (day, stage) is out of date, else None."""
    if stage == "parse":
        return _parse_stale(cfg, day, rec)
    if stage == "aggregate" and rec.get("partitions") != []:  # [] = no events that day
        done = {j for j, v in (rec.get("jobs") or {}).items() if isinstance(v, dict)
                and v.get("status") == OK}
        new = [j for j in cfg.aggregate.jobs if j not in done]
        return f"job(s) {', '.join(new)} not run for it" if new else None
    if stage == "reports" and cfg.hive is not None and cfg.hive.reports:
        from warehouse.hive.reports import load_reports

        try:
            tables = [r.table for r in load_reports(cfg.hive.reports)]
        except WarehouseError:
            return None  # the stage itself will say what is wrong with the folder
        new = [t for t in tables if t not in (rec.get("tables") or [])]
        return f"report(s) {', '.join(new)} not made for it" if new else None
    return None


def _parse_stale(cfg: Config, day: dt.date, rec: dict[str, Any]) -> str | None:
    before = rec.get("inputs")
    if not isinstance(before, dict) or cfg.logs.input is None:
        return None  # a record written before inputs were recorded: taken as it says
    try:
        now = input_fingerprint(cfg, day_input(cfg.logs.input, day))
    except WarehouseError as err:
        # the logs were removed after their parse (retention): the events stand
        log.info("%s parse: done before; its input cannot be listed now (%s)", day, err)
        return None
    added = sorted(set(now) - set(before))
    changed = sorted(k for k in now if k in before and now[k] != before[k])
    removed = sorted(set(before) - set(now))
    if not (added or changed):
        for name in removed:  # retention, or a log moved away: its events stand
            log.warning("%s parse: input %s is gone since its parse; its events stand",
                        day, name)
        return None
    # each input is judged on its own by the parse: a grown or new one is read, a renamed
    # one (logrotate's gzip) is recognised by its first line (`find_renames`)
    bits = [f"{len(added)} new file(s)"] if added else []
    bits += [f"{len(changed)} file(s) changed size"] if changed else []
    bits += [f"{len(removed)} gone"] if removed else []
    return "its logs changed since (" + ", ".join(bits) + ")"


def find_renames(
    cfg: Config, store: ObjectStore, day: dt.date, rec: dict[str, Any], inp: str
) -> dict[str, str]:
    """Return {name: the earlier input's name it is parsed as} for the inputs of `inp`
    that are inputs of the day's earlier parse renamed (`rec`: that parse's record, its
    `inputs` {name: size} and `renamed`, this function's earlier answer: a log renamed
    again, web.log -> web.log.1 -> web.log.2.gz, keeps its first identity). A name
    is a rename of one that is gone when the parse state of that one records the first
    line it begins with (a log gzipped or moved by logrotate; a gzip's bytes differ, its
    lines do not). The parse reads it in the earlier one's place, so its lines are not
    counted twice (and a copy with fewer lines than the earlier run read is judged bad,
    the earlier events kept). Logs a warning naming each earlier input gone, not renamed."""
    before, earlier = rec.get("inputs"), rec.get("renamed")
    if not isinstance(before, dict):
        return {}
    aliases = {k: v for k, v in (earlier if isinstance(earlier, dict) else {}).items()
               if isinstance(k, str) and isinstance(v, str)}
    from warehouse.events.inputs import expand_inputs
    from warehouse.events.state import recorded_head
    from warehouse.events.task import input_head

    try:
        now = expand_inputs(cfg, [inp])
    except WarehouseError:
        return {}  # the parse says what is wrong
    names = {src.name for src in now}
    gone = sorted(set(before) - names)
    heads: dict[str, str] = {}
    for old in gone:
        head = recorded_head(store, aliases.get(old, old))
        if head is not None:
            heads.setdefault(head, old)
    out = {name: aliases[name] for name in names if name in before and name in aliases}
    renamed: set[str] = set()
    for src in now:
        if src.name in before or not heads:
            continue
        try:
            head = input_head(src, cfg.s3)
        except WarehouseError:
            continue  # the parse sets it aside, with the reason
        old = heads.pop(head, None) if head is not None else None
        if old is not None:
            out[src.name] = aliases.get(old, old)
            renamed.add(old)
            log.info("%s parse: input %s is %s renamed (same first line): read in its place, "
                     "its lines not counted twice", day, src.label, old)
    for old in gone:
        if old not in renamed:
            log.warning("%s parse: input %s is gone since its parse (removed, or renamed "
                        "with another first line); its events stand", day, old)
    return out
