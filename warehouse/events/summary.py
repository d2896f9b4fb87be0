"""What `warehouse parse` did: counts, rate, where output went, what was set aside."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from warehouse.errors import EXIT_FAILED, combined_exit_code
from warehouse.logs import NO_MATCH
from warehouse.textfmt import count, number, took


@dataclass(frozen=True)
class InputFailure:
    """One input whose run was not published: why (one line naming it) and its exit class.

    `set_aside`: the input could not be read to its end (corrupt, unreadable, empty
    compressed file); otherwise it was read but judged bad (too many rejects, or empty
    where its earlier run had events)."""

    message: str
    exit_code: int = EXIT_FAILED
    set_aside: bool = True


@dataclass
class ParseSummary:
    """What `parse` did: counts, rate, where output went, partitions touched, exit code.

    Every line read is counted once, as an event or a reject (`lines == events +
    rejected`); `held` of the events were not published because their input was judged
    bad. An input set aside whole adds a `corrupt input` or `unreadable input` record to
    the rejects output, counted in `failures`, not in `rejects`."""

    output: str
    inputs: int = 0
    lines: int = 0
    events: int = 0
    held: int = 0
    unmatched: int = 0
    seconds: float = 0.0
    rejects: Counter[str] = field(default_factory=Counter)
    partitions: set[str] = field(default_factory=set)
    # dates of the earlier runs' events of inputs judged bad: a later `--replace` of those
    # inputs may remove them, so their aggregates must be redone then (`run` does)
    held_partitions: set[str] = field(default_factory=set)
    patterns: str | None = None
    max_reject_ratio: float = 0.5
    rejects_output: str = ""
    format: str = ""
    runner: str | None = None  # the mrjob runner that ran the tasks; None: in process
    failures: list[InputFailure] = field(default_factory=list)
    looks_like: str | None = None  # the preset the "no match" lines match, if any

    @property
    def rejected(self) -> int:
        """Number of rejected lines."""
        return sum(self.rejects.values())

    @property
    def broken(self) -> list[str]:
        """Messages of the inputs set aside whole (corrupt or unreadable)."""
        return [f.message for f in self.failures if f.set_aside]

    @property
    def exit_code(self) -> int:
        """0, or the class of the worst failure (2, 3, 4 win over 5; see DESIGN.md)."""
        return combined_exit_code(f.exit_code for f in self.failures)

    def line(self) -> str:
        """Return the one-line summary printed by the CLI."""
        reasons = ", ".join(f"{r}: {number(n)}" for r, n in self.rejects.most_common())
        parts = sorted(self.partitions)
        if not parts:
            where = "no partitions"
        elif len(parts) <= 3:
            where = ("partition " if len(parts) == 1 else "partitions ") + " ".join(parts)
        else:
            where = f"{count(len(parts), 'partition')} {parts[0]}..{parts[-1]}"
        unmatched = count(self.unmatched, "unmatched path")
        if self.patterns is None:
            unmatched += " (no patterns: every slug is null)"
        held = f" ({number(self.held)} not published)" if self.held else ""
        broken = self.broken
        rejects = count(self.rejected, "reject")
        if reasons:
            rejects += f" ({reasons})"
        if broken:
            rejects += f" + {count(len(broken), 'set-aside input record')}"
        if reasons or broken:
            rejects += f" in {self.rejects_output}"
        head = f"parse [{self.runner}]" if self.runner else "parse"
        text = (
            f"{head}: {count(self.lines, 'line')} from {count(self.inputs, 'input')}, "
            f"{count(self.events, 'event')}{held}, {rejects}, {unmatched}; "
            f"{took(self.lines, self.seconds, 'lines')} -> {self.output} ({where}; "
            f"format {self.format})"
        )
        if self.looks_like is not None:
            text += (
                f"; the '{NO_MATCH}' lines match preset {self.looks_like!r}: "
                f"try --format {self.looks_like} (in a config: [logs] format = "
                f'"{self.looks_like}")'
            )
        if broken:
            text += f"; FAILED: {count(len(broken), 'input')} set aside: " + "; ".join(broken)
        judged = [f.message for f in self.failures if not f.set_aside]
        if judged:
            text += "; FAILED: " + "; ".join(judged)
        return text
