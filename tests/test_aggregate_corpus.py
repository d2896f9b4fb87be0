"""A generated event corpus and brute-force aggregates to check the mrjob jobs against.

`make_corpus()` writes ROOT/events/dt=D/*.json.gz the way `warehouse parse` does, with
sessions that cross midnight, timestamps produced from local times with timezone offsets
(normalised to Z, plus a few left with an explicit offset), fractional seconds, missing
durations, null users and slugs, and malformed lines of every kind. The `brute_*`
functions compute the three aggregates in plain Python, independently of jobs/ (no
shared code), so tests can compare the jobs' output exactly. The bench reuses both.
"""

from __future__ import annotations

import datetime as dt
import gzip
import itertools
import json
import math
import random
from collections import Counter, defaultdict
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path
from typing import Any

START = dt.date(2024, 3, 8)
SLUGS: list[str | None] = [
    "home",
    "shop:product",
    "shop:category",
    "shop:cart",
    "blog:post",
    "blog:index",
    "accounts:login",
    "accounts:profile",
    "api:item",
    "search",
    None,
]
PARAMS = {
    "shop:product": ("product_id",),
    "shop:category": ("category",),
    "blog:post": ("year", "slug"),
    "api:item": ("item_id",),
    "accounts:profile": ("username",),
}
OFFSETS = [dt.timedelta(hours=h, minutes=m) for h, m in ((0, 0), (5, 30), (-8, 0), (1, 0), (-3, -30), (9, 0))]
AGENTS = ["Mozilla/5.0 (X11)", "Mozilla/5.0 (Mac)", "curl/8.0", None, "Googlebot/2.1"]

MALFORMED_LINES = [
    b"this is not json",
    b"[1, 2, 3]",
    b'{"ip": "10.0.0.1", "status": 200, "slug": null, "params": {}}',  # no ts
    b'{"ts": "2024-03-09T10:00:00", "ip": "10.0.0.1", "status": 200, "params": {}}',  # naive
    b'{"ts": "2024-02-30T10:00:00Z", "ip": "10.0.0.1", "status": 200, "params": {}}',  # no such day
    b'{"ts": "2024-03-09T25:00:00Z", "ip": "10.0.0.1", "status": 200, "params": {}}',
    b'{"ts": "2024-03-09T10:00:00Z", "ip": "10.0.0.1", "status": "200", "params": {}}',
    b'{"ts": "2024-03-09T10:00:00Z", "ip": "10.0.0.1", "status": 200, "duration_ms": -4, "params": {}}',
    b'{"ts": "2024-03-09T10:00:00Z", "ip": "10.0.0.1", "status": 200, "params": {"id": 12}}',
    b'{"ts": "2024-03-09T10:00:00Z", "status": 200, "params": {}}',  # no ip
    b'{"ts": "2024-03-09T10:00:00Z", "ip": "10.0.0.1", "user": 7, "status": 200, "params": {}}',
    b'{"ts": "2024-03-09T10:00:00Z", "ip": "10.0.0.1", "status": true, "params": {}}',
    b'{"ts": "2024-03-09T10:00:00Z", "ip": "10.0.0.1", "status": 200}',  # no params
    b'{"ts": 1710000000, "ip": "10.0.0.1", "status": 200, "params": {}}',
    b"\xff\xfe not utf-8",
]


def _iso(when: dt.datetime, rng: random.Random) -> str:
    """Return `when` (UTC) as the parser writes it; a few keep a local offset or fraction."""
    roll = rng.random()
    if roll < 0.02:
        off = rng.choice(OFFSETS[1:])
        local = when.astimezone(dt.timezone(off))
        return local.isoformat()
    if roll < 0.05:
        return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond:06d}Z"
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def generate_events(n: int, days: int, seed: int = 7) -> list[dict[str, Any]]:
    """Return about `n` valid events over `days` UTC days, in visits of 1-40 actions."""
    rng = random.Random(seed)
    users = [f"user{i}" for i in range(max(20, n // 60))]
    anon = [(f"10.{i // 250}.{i % 250}.{rng.randint(1, 254)}", rng.choice(AGENTS)) for i in range(max(20, n // 40))]
    start = dt.datetime.combine(START, dt.time(), tzinfo=dt.UTC)
    span = days * 86400
    events: list[dict[str, Any]] = []
    while len(events) < n:
        if rng.random() < 0.55:
            user: str | None = rng.choice(users)
            ip, agent = f"192.168.{rng.randint(0, 3)}.{rng.randint(1, 254)}", rng.choice(AGENTS)
        else:
            user = None
            ip, agent = rng.choice(anon)
        if rng.random() < 0.15:  # deliberately near UTC midnight
            day = rng.randrange(days)
            t = start + dt.timedelta(days=day, seconds=86400 - rng.randint(1, 1800))
        else:
            t = start + dt.timedelta(seconds=rng.randrange(span))
        for _ in range(rng.randint(1, 40)):
            if t >= start + dt.timedelta(seconds=span):
                break
            slug = rng.choice(SLUGS)
            params = {}
            for p in PARAMS.get(slug or "", ()):
                params[p] = str(int(rng.paretovariate(1.2))) if p != "slug" else rng.choice("abcdef")
            status = rng.choices([200, 301, 304, 404, 403, 500, 503], [80, 5, 5, 5, 1, 3, 1])[0]
            roll = rng.random()
            duration: float | int | None
            if roll < 0.1:
                duration = None
            elif roll < 0.2:
                duration = round(rng.uniform(0.5, 900.0), 3)
            else:
                duration = rng.randint(1, 2000)
            events.append(
                {
                    "ts": _iso(t, rng),
                    "ip": ip,
                    "vhost": None,
                    "user": user,
                    "method": "GET",
                    "path": "/" + (slug or "nowhere").replace(":", "/"),
                    "query": None,
                    "protocol": "HTTP/1.1",
                    "status": status,
                    "bytes": rng.randint(100, 50000),
                    "referer": None,
                    "user_agent": agent,
                    "duration_ms": duration,
                    "slug": slug,
                    "params": params,
                }
            )
            # mostly short gaps, sometimes beyond the 30 minute session gap, sometimes exactly it
            gap = rng.choice([rng.randint(0, 300), rng.randint(0, 300), rng.randint(1700, 2000), 1800])
            t += dt.timedelta(seconds=gap, microseconds=rng.choice([0, 0, 0, rng.randint(0, 999999)]))
    return events[:n]


def utc_date(ts: str) -> dt.date:
    """Return the UTC date of an ISO timestamp (Z or offset)."""
    return dt.datetime.fromisoformat(ts).astimezone(dt.UTC).date()


def write_events(
    root: Path, events: Iterable[dict[str, Any]], malformed: Iterable[bytes] = (), parts: int = 2
) -> list[str]:
    """Write events partitioned by UTC date into ROOT/events (gzip); return the dates."""
    by_day: dict[str, list[bytes]] = defaultdict(list)
    for ev in events:
        by_day[utc_date(ev["ts"]).isoformat()].append(json.dumps(ev).encode())
    days = sorted(by_day)
    for i, line in enumerate(malformed):
        by_day[days[i % len(days)]].append(line)
    for day, lines in by_day.items():
        folder = root / "events" / f"dt={day}"
        folder.mkdir(parents=True, exist_ok=True)
        for p in range(parts):
            with gzip.open(folder / f"part-{p:03d}.json.gz", "wb", compresslevel=1) as f:
                for line in lines[p::parts]:
                    f.write(line + b"\n")
    return days


def make_corpus(root: Path, n: int, days: int, seed: int = 7, parts: int = 2) -> list[dict[str, Any]]:
    """Write a corpus of `n` valid events plus every malformed kind; return the events."""
    events = generate_events(n, days, seed)
    write_events(root, events, MALFORMED_LINES, parts=parts)
    return events


# ---------------------------------------------------------------------------------------
# brute force, written without looking at jobs/


def read_partition_lines(root: Path, days: Iterable[str]) -> list[bytes]:
    """Return every line of the events partitions of `days`."""
    lines: list[bytes] = []
    for day in days:
        for path in sorted((root / "events" / f"dt={day}").glob("*.json.gz")):
            with gzip.open(path, "rb") as f:
                lines += f.read().splitlines()
    return lines


def valid_events(lines: Iterable[bytes]) -> tuple[list[dict[str, Any]], int]:
    """Return (events that pass the schema checks, number of malformed lines)."""
    good, bad = [], 0
    for line in lines:
        try:
            ev = json.loads(line)
            ts = dt.datetime.fromisoformat(ev["ts"])
            ok = (
                ts.tzinfo is not None
                and isinstance(ev["ts"], str)
                and isinstance(ev.get("ip"), str)
                and ev["ip"] != ""
                and type(ev.get("status")) is int
                and all(ev.get(k) is None or isinstance(ev.get(k), str) for k in ("user", "slug", "user_agent"))
                and (ev.get("duration_ms") is None or (type(ev["duration_ms"]) in (int, float) and ev["duration_ms"] >= 0))
                and isinstance(ev.get("params"), dict)
                and all(isinstance(v, str) for v in ev["params"].values())
            )
        except (ValueError, TypeError, KeyError):
            ok = False
        if not ok:
            bad += 1
            continue
        when = ts.astimezone(dt.UTC)
        ev["_when"] = when
        ev["_dt"] = when.date().isoformat()
        good.append(ev)
    return good, bad


def _rank(sorted_values: list[Any], pct: int) -> Any:
    if not sorted_values:
        return None
    return sorted_values[math.ceil(Fraction(pct * len(sorted_values), 100)) - 1]


def brute_daily_actions(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return daily_actions records computed one group at a time."""
    groups: dict[tuple[str, str | None], list[dict[str, Any]]] = defaultdict(list)
    for ev in events:
        groups[(ev["_dt"], ev["slug"])].append(ev)
    out = []
    for (day, slug), evs in groups.items():
        durations = sorted(e["duration_ms"] for e in evs if e["duration_ms"] is not None)
        out.append(
            {
                "dt": day,
                "slug": slug,
                "hits": len(evs),
                "users": len({e["user"] for e in evs if e["user"]}),
                "ips": len({e["ip"] for e in evs}),
                "server_errors": sum(1 for e in evs if e["status"] >= 500),
                "client_errors": sum(1 for e in evs if 400 <= e["status"] <= 499),
                "p50_ms": _rank(durations, 50),
                "p95_ms": _rank(durations, 95),
            }
        )
    return out


def _slug_key(slug: str | None) -> tuple[int, str]:
    return (0, "") if slug is None else (1, slug)


def brute_sessions(events: list[dict[str, Any]], gap_minutes: int = 30, top_n: int = 10) -> list[dict[str, Any]]:
    """Return sessions records: per visitor, walk the sorted events and cut at long gaps."""
    by_visitor: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for ev in events:
        visitor = ("user", ev["user"]) if ev["user"] else ("anon", ev["ip"], ev["user_agent"])
        by_visitor[visitor].append(ev)
    gap = dt.timedelta(minutes=gap_minutes)
    days: dict[str, dict[str, Any]] = {}
    for visitor, evs in by_visitor.items():
        evs.sort(key=lambda e: (e["_when"], _slug_key(e["slug"])))
        sessions: list[list[dict[str, Any]]] = [[evs[0]]]
        for prev, cur in itertools.pairwise(evs):
            if cur["_when"] - prev["_when"] > gap:
                sessions.append([])
            sessions[-1].append(cur)
        for s in sessions:
            d = days.setdefault(s[0]["_dt"], {"lengths": [], "actions": 0, "visitors": set(), "entry": Counter(), "exit": Counter()})
            d["lengths"].append((s[-1]["_when"] - s[0]["_when"]).total_seconds())
            d["actions"] += len(s)
            d["visitors"].add(visitor)
            d["entry"][s[0]["slug"]] += 1
            d["exit"][s[-1]["slug"]] += 1

    def top(c: Counter[Any]) -> list[dict[str, Any]]:
        ranked = sorted(c.items(), key=lambda kv: (-kv[1], _slug_key(kv[0])))[:top_n]
        return [{"slug": s, "n": n} for s, n in ranked]

    out = []
    for day, d in days.items():
        lengths = sorted(d["lengths"])
        out.append(
            {
                "dt": day,
                "sessions": len(lengths),
                "visitors": len(d["visitors"]),
                "mean_session_s": sum(lengths) / len(lengths),
                "median_session_s": _rank(lengths, 50),
                "mean_actions": d["actions"] / len(lengths),
                "top_entry": top(d["entry"]),
                "top_exit": top(d["exit"]),
            }
        )
    return out


def brute_top_params(events: list[dict[str, Any]], top_n: int = 10) -> list[dict[str, Any]]:
    """Return top_params records: count every (dt, slug, param, value), rank per group."""
    counts: dict[tuple[Any, ...], Counter[str]] = defaultdict(Counter)
    for ev in events:
        for param, value in ev["params"].items():
            counts[(ev["_dt"], ev["slug"], param)][value] += 1
    out = []
    for (day, slug, param), c in counts.items():
        ranked = sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[:top_n]
        for rank, (value, hits) in enumerate(ranked, 1):
            out.append({"dt": day, "slug": slug, "param": param, "value": value, "hits": hits, "rank": rank})
    return out


BRUTE = {"daily_actions": brute_daily_actions, "sessions": brute_sessions, "top_params": brute_top_params}


def canonical(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return records in one order (dt, slug null first, param, rank) for comparison."""
    return sorted(
        records,
        key=lambda r: (r["dt"], _slug_key(r.get("slug")), r.get("param") or "", r.get("rank") or 0),
    )


def assert_same(got: Iterable[dict[str, Any]], want: Iterable[dict[str, Any]]) -> None:
    """Assert equal record lists: same keys in the same order, floats within 1e-9 relative."""
    g, w = canonical(got), canonical(want)
    assert len(g) == len(w), f"{len(g)} records, expected {len(w)}"
    for a, b in zip(g, w, strict=True):
        assert list(a) == list(b), f"keys {list(a)} != {list(b)}"
        for key in a:
            x, y = a[key], b[key]
            if isinstance(x, float) or isinstance(y, float):
                assert y is not None and x is not None, (key, a, b)
                assert math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9), (key, a, b)
            else:
                assert x == y, (key, a, b)


def read_output(root: Path, job: str) -> dict[str, list[dict[str, Any]]]:
    """Return the records of every written aggregate partition, by dt."""
    out: dict[str, list[dict[str, Any]]] = {}
    for folder in sorted((root / "aggregates" / job).glob("dt=*")):
        records = []
        for path in sorted(folder.glob("*.json.gz")):
            with gzip.open(path, "rb") as f:
                records += [json.loads(line) for line in f]
        out[folder.name[3:]] = records
    return out


# ---------------------------------------------------------------------------------------
# the corpus has what the correctness tests rely on


def test_corpus_covers_the_hard_cases(tmp_path: Path) -> None:
    events = make_corpus(tmp_path, 5000, 3)
    lines = read_partition_lines(tmp_path, sorted(p.name[3:] for p in (tmp_path / "events").iterdir()))
    good, bad = valid_events(lines)
    assert len(good) == 5000
    assert bad == len(MALFORMED_LINES)
    assert any("+" in e["ts"][10:] or "-" in e["ts"][10:] for e in events), "offset timestamps"
    assert any("." in e["ts"] for e in events), "fractional seconds"
    sessions = brute_sessions(good)
    assert {r["dt"] for r in sessions} == {"2024-03-08", "2024-03-09", "2024-03-10"}
    # some visitor has events on both sides of a UTC midnight within one session gap
    by_visitor: dict[Any, list[dt.datetime]] = defaultdict(list)
    for e in good:
        by_visitor[e["user"] or (e["ip"], e["user_agent"])].append(e["_when"])
    crossings = 0
    for times in by_visitor.values():
        times.sort()
        crossings += sum(
            1 for a, b in itertools.pairwise(times)
            if a.date() != b.date() and b - a <= dt.timedelta(minutes=30)
        )
    assert crossings > 5
    assert any(e["slug"] is None for e in good) and any(e["user"] is None for e in good)
    assert any(e["duration_ms"] is None for e in good)
