"""Run a log through `warehouse parse` (the CLI) and pair its events with the log's lines.

Used by the cross-checks against real servers' logs and real logs from public
repositories: `check_log()` returns, per line, the event the pipeline made (or its reject
reason) beside the reference's event (or None when the reference cannot read the line).
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from tests._reflogs import EVENT_FIELDS, Fields, to_event
from warehouse.cli import cli

# README (parse): a line over 65,536 characters is rejected as "line too long"
MAX_LINE = 65536
_CLF_TIME = re.compile(r"\[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\]")
_ISO_TIME = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d)")


@dataclass
class Checked:
    """A log read by the CLI and by the reference, line by line (1-based)."""

    lines: list[str]  # raw bytes of each line as latin-1 text
    exit_code: int
    output: str
    events: dict[int, dict[str, Any]] = field(default_factory=dict)
    rejects: dict[int, str] = field(default_factory=dict)
    expected: dict[int, dict[str, Any] | None] = field(default_factory=dict)
    n_events: int = 0

    def problem(self, n: int) -> str | None:
        """Return what is wrong with line `n` (None when pipeline and reference agree)."""
        line, want = self.lines[n - 1], self.expected[n]
        if want is None:
            if n in self.rejects:
                return None
            return f"line {n} the reference cannot read became {self.events.get(n)}: {line[:300]!r}"
        if n in self.rejects:
            if self.rejects[n] == "line too long" and len(_utf8(line)) > MAX_LINE:
                return None
            return f"line {n} rejected ({self.rejects[n]}): {line[:300]!r}"
        got = self.events[n]
        diff = {
            k: (got.get(k), want[k])
            for k in EVENT_FIELDS
            if got.get(k) != want[k] and not _close(k, got.get(k), want[k])
        }
        if diff or set(got) != set(EVENT_FIELDS):
            return f"line {n} {line[:300]!r}: (ours, reference) {diff}"
        return None


def _utf8(line: str) -> str:
    return line.encode("latin-1").decode("utf-8", "backslashreplace")


def _close(key: str, a: Any, b: Any) -> bool:
    return key == "duration_ms" and a is not None and b is not None and abs(a - b) < 1e-6


def _read_gz_tree(base: Path) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for p in sorted(base.rglob("*.json.gz")) if base.exists() else []:
        with gzip.open(p, "rt", encoding="utf-8") as f:
            out[p.relative_to(base).as_posix()] = [json.loads(x) for x in f]
    return out


def read_lines(path: Path) -> list[str]:
    """Return the lines of a log (gzip or plain) as latin-1 text, without LF or CRLF ends.

    Servers escape a CR inside a field, so a CR before the LF is the line end (Apache on
    Windows writes CRLF).
    """
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    lines = data.decode("latin-1").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def _day(line: str, expected: dict[str, Any] | None) -> str:
    """The UTC date of a line: the reference's, else read from the first time stamp."""
    if expected is not None:
        return str(expected["ts"][:10])
    m = _CLF_TIME.search(line)
    if m:
        when = dt.datetime.strptime(m.group(1), "%d/%b/%Y:%H:%M:%S %z")
        return when.astimezone(dt.UTC).date().isoformat()
    m = _ISO_TIME.search(line)
    return dt.datetime.fromisoformat(m.group(1)).astimezone(dt.UTC).date().isoformat() if m else "?"


def check_log(
    path: Path,
    fmt: str,
    root: Path,
    reader: Callable[[str], Fields],
    *,
    ip: str | None = None,
) -> Checked:
    """Run `warehouse parse PATH --format FMT` (with [logs] ip) and read it with `reader`."""
    args = ["--root", str(root)]
    if ip is not None:
        cfg = root.parent / f"{root.name}.toml"
        cfg.write_text(f"[logs]\nip = {json.dumps(ip)}\n")
        args += ["--config", str(cfg)]
    result = CliRunner().invoke(cli, [*args, "parse", str(path), "--format", fmt])
    lines = read_lines(path)
    out = Checked(lines, result.exit_code, result.output)
    for n, line in enumerate(lines, 1):
        try:
            out.expected[n] = to_event(reader(line), ip_from_xff=ip is not None)
        except ValueError:  # apachelogs' InvalidEntryError is one too
            out.expected[n] = None
    for rs in _read_gz_tree(root / "rejects").values():
        out.rejects.update((r["lineno"], r["reason"]) for r in rs)
    parts = _read_gz_tree(root / "events")
    out.n_events = sum(len(v) for v in parts.values())
    # each partition holds its lines' events in line order
    by_day: dict[str, list[int]] = {}
    for n, line in enumerate(lines, 1):
        if n not in out.rejects:
            by_day.setdefault(_day(line, out.expected[n]), []).append(n)
    for key, events in parts.items():
        numbers = by_day.get(key.split("/")[0].removeprefix("dt="), [])
        if len(numbers) != len(events):
            raise AssertionError(f"{key}: {len(events)} events for {len(numbers)} lines")
        out.events.update(zip(numbers, events, strict=True))
    return out
