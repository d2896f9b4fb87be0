"""How numbers read in summary lines, one way everywhere: thousands separators
("10,000 lines"), plurals that agree ("1 table"), durations with their unit, and a rate
only for work long enough to make it mean something (no "9,658,103 rows/s" for 50 rows).
"""

from __future__ import annotations

MIN_RATE_SECONDS = 1.0  # below this a rate says more about timer noise than about speed


def number(n: float) -> str:
    """Return `n` with thousands separators: `10,000`; a float rounded to a whole number."""
    return f"{n:,.0f}" if isinstance(n, float) else f"{n:,}"


def count(n: int, noun: str, plural: str | None = None) -> str:
    """Return `1 table`, `10,000 lines` (`plural` when adding an s is wrong)."""
    return f"{number(n)} {noun if n == 1 else plural or noun + 's'}"


def duration(seconds: float) -> str:
    """Return `0.42s`, `1.3s`, `12s`, `4m05s` or `2h03m`."""
    if seconds < 10:
        return f"{seconds:.2f}s" if seconds < 1 else f"{seconds:.1f}s"
    return elapsed(round(seconds))


def elapsed(seconds: float) -> str:
    """Return whole seconds as `45s`, `1m12s` or `2h03m` (a clock that ticks each second)."""
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def rate(n: float, seconds: float, unit: str) -> str:
    """Return `1,234 rows/s`, or "" when the work took under MIN_RATE_SECONDS."""
    if seconds < MIN_RATE_SECONDS:
        return ""
    per = n / seconds
    return f"{per:.1f} {unit}/s" if per < 10 else f"{number(per)} {unit}/s"  # not "0 rows/s"


def took(n: float, seconds: float, unit: str) -> str:
    """Return `in 12.3s (1,234 rows/s)`, or `in 0.04s` for work too short for a rate."""
    r = rate(n, seconds, unit)
    return f"in {duration(seconds)}" + (f" ({r})" if r else "")


def size(n: int) -> str:
    """Return a byte count in B, KiB, MiB or GiB: `263 B`, `141.8 MiB`."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{n:,} B" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    return f"{n:,} B"  # pragma: no cover
