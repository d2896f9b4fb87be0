"""Deterministic benchmark data: a Django urls.py with N patterns, its dump, an access log.

Usage (also importable by the other benchmarks and tests):

    python bench/generate.py --patterns 300 --lines 1000000 --out bench/_data/p300 [--gz]

writes OUT/urls.py, OUT/urls.json (the `warehouse urls dump` of it, made in a
subprocess so Django's global settings never leak) and OUT/access.log (or .log.gz).

- `generate_urls_py(n, seed)`: a realistic URLconf: top-level pages, apps under
  include() with namespaces (some nested, e.g. "api:v1:..."), path() converters
  (int/str/slug/uuid/path and a custom four-digit "yyyy"), re_path() with optional and
  non-capturing groups, unnamed views, extra kwargs, and a few catch-alls without a
  literal first segment (the resolver's fallback list), one of them early.
- `dump_urls_py(text)`: the JSON dump of such a file.
- `generate_log(path, n_lines, seed, patterns, gz=False)`: combined-format lines with a
  Zipf-like popularity over the dumped patterns (concrete paths sampled from each
  pattern's regex and checked against it), ~5% unmatched paths, ~8% static assets, query
  strings, percent-encoded non-ASCII paths, IPv4/IPv6 clients, timestamps spanning four
  days in several UTC offsets (midnight crossings), ~0.1% malformed lines.
Same arguments, same bytes.
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any
from urllib.parse import quote

from isal import igzip  # ISA-L gzip, a project dependency: much faster than zlib level 6

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# --- urls.py ----------------------------------------------------------------------------

_APP_WORDS = [
    "blog",
    "shop",
    "accounts",
    "docs",
    "forum",
    "events",
    "news",
    "jobs",
    "wiki",
    "help",
    "photos",
    "videos",
    "music",
    "store",
    "support",
    "community",
    "learn",
    "courses",
    "projects",
    "talks",
    "careers",
    "press",
    "partners",
    "legal",
    "labs",
    "dashboard",
    "recipes",
    "travel",
    "reviews",
    "tickets",
    "catalog",
    "library",
    "gallery",
    "podcasts",
    "newsletter",
    "groups",
    "maps",
    "billing",
    "reports",
    "teams",
]
_APP_SUFFIXES = ["", "-de", "-fr", "-es", "-it", "-nl", "-pl", "-jp", "-br", "-us", "-uk", "-in"]
_SITE_TOP = [
    'path("", views.home, name="home")',
    'path("about/", views.page, {"page": "about"}, name="about")',
    'path("contact/", views.page, {"page": "contact"}, name="contact")',
    'path("robots.txt", views.robots)',
    're_path(r"^sitemap(?:-(?P<section>[a-z]+))?\\.xml$", views.sitemap, name="sitemap")',
    'path("<slug:section>/rss/", views.feed, name="section-feed")',  # a fallback, mid-list
]
_SITE_BOTTOM = [
    're_path(r"^(?P<lang>[a-z]{2})/(?P<page>[-\\w]+)/$", views.page, name="localized-page")',
    're_path(r"(?i)^legacy/(?P<rest>.+)\\.html$", views.legacy)',
]

# (route code, weight); {v} is the view expression, {n} an optional name=... argument.
_APP_ROUTES = [
    ('path("", {v}{n})', 6, "index"),
    ('path("<int:pk>/", {v}{n})', 6, "detail"),
    ('path("<int:pk>/edit/", {v}{n})', 3, "edit"),
    ('path("<slug:slug>/", {v}{n})', 5, "by-slug"),
    ('path("<yyyy:year>/<int:month>/<slug:slug>/", {v}{n})', 3, "post"),
    ('path("<yyyy:year>/", {v}{n})', 2, "year"),
    ('path("tag/<str:tag>/", {v}{n})', 3, "tag"),
    ('path("item/<uuid:uid>/", {v}{n})', 2, "item"),
    ('path("download/<path:file>", {v}{n})', 2, "download"),
    (
        're_path(r"^archive/(?P<year>[0-9]{{4}})/(?:(?P<month>[0-9]{{2}})/)?$", {v}{n})',
        3,
        "archive",
    ),
    ('re_path(r"^page/(?P<page>\\d+)/?$", {v}{n})', 2, "page"),
    ('re_path(r"^search/(?:q-(?P<q>[^/]+)/)?$", {v}{n})', 2, "search"),
    ('re_path(r"^(?P<slug>[-\\w]+)-(?P<pk>\\d+)\\.html$", {v}{n})', 2, "legacy"),
    ('path("popular/", {v}, {{"order": "hits"}}{n})', 2, "popular"),
    ('path("feed.xml", {v}{n})', 2, "feed"),
    ('path("<int:pk>/comments/<int:comment>/", {v}{n})', 2, "comment"),
    ('path("<str:user>/settings/<slug:tab>/", {v}{n})', 1, "settings"),
    ('path("rss/", {v}{n})', 1, "rss"),  # shadowed by "section-feed" in apps listed after it
]


def generate_urls_py(n_patterns: int, seed: int, prefix: str = "") -> str:
    """Return the text of a realistic Django urls.py with exactly `n_patterns` endpoints.

    `prefix` (e.g. "api/v1/") puts every app under one include() with that route, like an
    API-only project: then every path shares its first segments.
    """
    rng = random.Random(seed)
    lines = [
        f'"""Generated URLconf: {n_patterns} patterns, seed {seed} (bench/generate.py)."""',
        "from django.http import HttpResponse",
        "from django.urls import include, path, re_path, register_converter",
        "from django.urls.converters import get_converters",
        "",
        "",
        "class FourDigitYear:",
        '    regex = "[0-9]{4}"',
        "",
        "    def to_python(self, value):",
        "        return int(value)",
        "",
        "    def to_url(self, value):",
        '        return "%04d" % value',
        "",
        "",
        'if "yyyy" not in get_converters():  # another generated URLconf in this process',
        '    register_converter(FourDigitYear, "yyyy")',
        "",
        "",
        "class views:",
        "    @staticmethod",
        "    def _v(request, *args, **kwargs):",
        '        return HttpResponse("ok")',
        "",
        "    home = page = robots = sitemap = feed = legacy = _v",
        "",
        "",
        "class ListView:",
        "    def __call__(self, request, *args, **kwargs):",
        '        return HttpResponse("ok")',
        "",
        "",
        "def detail(request, *args, **kwargs):",
        '    return HttpResponse("ok")',
        "",
        "",
        "def listing(request, *args, **kwargs):",
        '    return HttpResponse("ok")',
        "",
    ]
    top = list(_SITE_TOP)
    bottom = list(_SITE_BOTTOM)
    budget = max(n_patterns - len(top) - len(bottom), 0)
    if n_patterns < len(top) + len(bottom):
        top = top[: max(n_patterns - 1, 0)]
        bottom = bottom[: n_patterns - len(top)]
    app_blocks: list[str] = []
    app_entries: list[str] = []
    names = [w + s for s in _APP_SUFFIXES for w in _APP_WORDS]
    k = 0
    while budget > 0:
        base = names[k % len(names)] + (str(k // len(names)) if k >= len(names) else "")
        ident = "app_" + re.sub(r"\W", "_", base)
        size = min(budget, rng.randint(4, 16))
        budget -= size
        routes = _pick_routes(rng, size)
        nested = size >= 8 and rng.random() < 0.25
        body: list[str] = []
        used: set[str] = set()
        for j, (code, label) in enumerate(routes):
            if nested and j == len(routes) - 2:
                # A nested include with its own namespace: "<app>:api:<name>".
                inner = routes[j:]
                inner_code = ",\n        ".join(_route_line(rng, c, lbl, set()) for c, lbl in inner)
                body.append(
                    f'path("api/v<int:version>/", include(([\n        {inner_code},\n    ], "api")))'
                )
                break
            body.append(_route_line(rng, code, label, used))
        app_blocks.append(f"{ident} = [\n    " + ",\n    ".join(body) + ",\n]\n")
        app_entries.append(f'path("{base}/", include(({ident}, "{base}")))')
        k += 1
    lines.extend(app_blocks)
    # Apps listed alphabetically, as many projects do: the apps of a smaller generated
    # URLconf (same seed) are spread through a larger one instead of all coming first.
    app_entries.sort()
    if prefix:
        lines.append("apps = [\n    " + ",\n    ".join(app_entries) + ",\n]\n")
        app_entries = [f'path("{prefix}", include(apps))']
    entries = top[:-1] + app_entries[: len(app_entries) // 3] + top[-1:]
    entries += app_entries[len(app_entries) // 3 :] + bottom
    lines.append("urlpatterns = [\n    " + ",\n    ".join(entries) + ",\n]\n")
    return "\n".join(lines)


def _pick_routes(rng: random.Random, size: int) -> list[tuple[str, str]]:
    weights = [w for _, w, _ in _APP_ROUTES]
    out: list[tuple[str, str]] = []
    while len(out) < size:
        code, _, label = rng.choices(_APP_ROUTES, weights=weights)[0]
        out.append((code, label))
    return out


def _route_line(rng: random.Random, code: str, label: str, used: set[str]) -> str:
    view = rng.choice(["detail", "listing", "ListView()"])
    if rng.random() < 0.12:
        name = ""  # unnamed: Django's view_name is the view's dotted path
    else:
        # Duplicate names happen in real projects (the first one wins in reverse()).
        name = f', name="{label}"'
        used.add(label)
    return code.format(v=view, n=name)


def dump_urls_py(
    text: str, *, module: str = "gen_urls", python: str = sys.executable
) -> list[dict[str, Any]]:
    """Return the `warehouse urls dump` of a urls.py text saved as `module` (Django runs in
    a subprocess); unnamed views are named after `module`."""
    with tempfile.TemporaryDirectory(prefix="gen-urls-") as tmp:
        Path(tmp, f"{module}.py").write_text(text, encoding="utf-8")
        out = Path(tmp, "urls.json")
        _run_dump(python, module, tmp, out)
        data: list[dict[str, Any]] = json.loads(out.read_text(encoding="utf-8"))
        return data


def _run_dump(python: str, module: str, folder: str, out: Path) -> None:
    code = "from warehouse.cli import main; main()"
    argv = [
        python,
        "-c",
        code,
        "urls",
        "dump",
        "--urlconf",
        module,
        "--pythonpath",
        folder,
        "-o",
        str(out),
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    if proc.returncode:
        raise RuntimeError(f"urls dump failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")


# --- sampling paths from a regex ----------------------------------------------------------

_WORDS = [
    "hello-world",
    "django",
    "python-tips",
    "release-notes",
    "2013",
    "summer",
    "data",
    "warehouse",
    "hive",
    "emr",
    "aws",
    "intro",
    "faq",
    "getting-started",
    "v2",
    "alpha",
    "caching",
    "tests",
    "news",
    "spain",
    "berlin",
    "zurich",
    "report",
    "index",
    "guide",
]
_UNICODE_WORDS = ["café", "zürich", "naïve", "日本", "москва", "straße"]
_MAX_REPEAT = 12


class _Sampler:
    """Random strings matching a regex, biased to word-like text; None where it gives up."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def sample(self, parsed: Any) -> str | None:
        """Return one random string for an `sre_parse.parse` result, or None."""
        try:
            return self._seq(parsed, {})
        except _GiveUp:
            return None

    def _seq(self, items: Any, groups: dict[int, str]) -> str:
        out = []
        for op, av in items:
            out.append(self._one(op, av, groups))
        return "".join(out)

    def _one(self, op: Any, av: Any, groups: dict[int, str]) -> str:
        name = str(op)
        rng = self.rng
        if name == "LITERAL":
            return chr(av)
        if name == "NOT_LITERAL":
            return "x" if av != ord("x") else "y"
        if name == "ANY":
            return rng.choice("abcxyz019")
        if name == "IN":
            return self._class(av, 1)
        if name == "AT":
            return ""
        if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            lo, hi, sub = av
            if len(sub) == 1 and str(sub[0][0]) == "IN" and hi > 1:
                return self._class_repeat(sub[0][1], lo, hi)
            if lo == 0 and hi == 1:
                n = 1 if rng.random() < 0.6 else 0
            else:
                n = rng.randint(lo, max(lo, min(hi, lo + 3)))
            return "".join(self._seq(sub, groups) for _ in range(n))
        if name == "SUBPATTERN":
            gid, _add, _del, sub = av
            text = self._seq(sub, groups)
            if gid:
                groups[gid] = text
            return text
        if name == "ATOMIC_GROUP":
            return self._seq(av, groups)
        if name == "BRANCH":
            return self._seq(rng.choice(av[1]), groups)
        if name == "GROUPREF":
            return groups.get(av, "")
        raise _GiveUp(name)

    def _fits(self, items: Any, text: str) -> bool:
        return bool(re.fullmatch(_class_regex(items) + "+", text)) if text else False

    def _class_repeat(self, items: Any, lo: int, hi: int) -> str:
        rng = self.rng
        hi = min(hi, lo + 40)
        if rng.random() < 0.8:
            pool = _UNICODE_WORDS if rng.random() < 0.05 else _WORDS
            for _ in range(4):
                w = rng.choice(pool)
                if lo <= len(w) <= hi and self._fits(items, w):
                    return w
            if self._fits(items, "7"):
                digits = str(rng.randint(1, 10 ** min(hi, 6) - 1)).zfill(lo)
                if len(digits) <= hi:
                    return digits
        n = rng.randint(max(lo, 1) if hi else 0, max(lo, min(hi, _MAX_REPEAT)))
        return self._class(items, n)

    def _class(self, items: Any, n: int) -> str:
        rx = re.compile(_class_regex(items))
        alphabet = [c for c in "abcdefghijklmnopqrstuvwxyz0123456789-_." if rx.match(c)]
        if not alphabet:
            alphabet = [c for c in map(chr, range(32, 127)) if rx.match(c)]
        if not alphabet:
            raise _GiveUp("class")
        return "".join(self.rng.choice(alphabet) for _ in range(n))


class _GiveUp(Exception):
    pass


def _class_regex(items: Any) -> str:
    """Rebuild a character class regex from sre_parse IN items."""
    parts = []
    neg = ""
    for op, av in items:
        name = str(op)
        if name == "NEGATE":
            neg = "^"
        elif name == "LITERAL":
            parts.append(re.escape(chr(av)))
        elif name == "RANGE":
            parts.append(f"{re.escape(chr(av[0]))}-{re.escape(chr(av[1]))}")
        elif name == "CATEGORY":
            parts.append(
                {
                    "CATEGORY_DIGIT": r"\d",
                    "CATEGORY_NOT_DIGIT": r"\D",
                    "CATEGORY_SPACE": r"\s",
                    "CATEGORY_NOT_SPACE": r"\S",
                    "CATEGORY_WORD": r"\w",
                    "CATEGORY_NOT_WORD": r"\W",
                }[str(av)]
            )
        else:
            raise _GiveUp(name)
    return f"[{neg}{''.join(parts)}]"


def sample_paths(
    patterns: Sequence[dict[str, Any]], seed: int, per_pattern: int = 8
) -> list[list[str]]:
    """Return, per pattern, up to `per_pattern` distinct decoded paths its regex matches."""
    rng = random.Random(seed)
    sampler = _Sampler(rng)
    out: list[list[str]] = []
    for p in patterns:
        rx = re.compile(p["regex"])
        parsed = sre_parse.parse(p["regex"])
        found: list[str] = []
        for _ in range(per_pattern * 3):
            s = sampler.sample(parsed)
            if s is not None and s.startswith("/") and rx.match(s) and s not in found:
                found.append(s)
            if len(found) >= per_pattern:
                break
        out.append(found)
    return out


# --- access log ---------------------------------------------------------------------------

_UAS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "curl/8.4.0",
    "python-requests/2.31.0",
    'Mozilla/5.0 (compatible; "quoted" agent; back\\slash)',  # Apache escapes both
    "-",
]
_STATIC = [
    "/static/css/site.css",
    "/static/css/print.css",
    "/static/js/app.js",
    "/static/js/vendor.min.js",
    "/static/img/logo.png",
    "/static/img/hero.jpg",
    "/favicon.ico",
    "/robots.txt",
    "/media/uploads/2013/05/photo.jpg",
    "/static/fonts/inter.woff2",
    "/apple-touch-icon.png",
]
_JUNK = [
    "/wp-login.php",
    "/wp-admin/",
    "/.env",
    "/phpmyadmin/index.php",
    "/xmlrpc.php",
    "/cgi-bin/test.cgi",
    "/admin/config.php",
    "/.git/config",
    "/vendor/phpunit/eval-stdin.php",
    "/%E2%80%8B",
    "/old-site/index.asp",
    "*",
    "/a//b",
    "/%zz/bad-escape",
    "/%FF%FE/binary",
]
# Apache writes " and \ inside quoted fields as \" and \\.
_UAS_LOGGED = [ua.replace("\\", "\\\\").replace('"', '\\"') for ua in _UAS]
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_OFFSETS = [(0, "+0000"), (-5 * 3600, "-0500"), (3600, "+0100"), (19800, "+0530")]
_START = 1_362_000_000  # 2013-02-27T21:20:00Z: the era of the original toolkit
_SPAN = 4 * 86400


def generate_log(
    path: str | os.PathLike[str],
    n_lines: int,
    seed: int,
    patterns: Sequence[dict[str, Any]],
    gz: bool = False,
    variety: int = 32,
) -> dict[str, int]:
    """Write a combined-format access log of `n_lines` lines; return counts of line kinds.

    Each pattern contributes up to `variety` distinct concrete paths (popular ones more
    often), so the log repeats paths the way real traffic does.
    """
    rng = random.Random(seed)
    pools = [p for p in sample_paths(patterns, seed, per_pattern=variety) if p]
    if not pools:
        raise ValueError("no pattern yielded a sample path")
    order = list(range(len(pools)))
    rng.shuffle(order)
    cum: list[float] = []
    acc = 0.0
    for rank in range(1, len(order) + 1):
        acc += 1.0 / rank**1.07
        cum.append(acc)
    clients = _clients(rng, max(50, n_lines // 40))
    ccum: list[float] = []
    acc = 0.0
    for rank in range(1, len(clients) + 1):
        acc += 1.0 / rank**0.9
        ccum.append(acc)
    counts = {"lines": n_lines, "pattern": 0, "static": 0, "junk": 0, "malformed": 0}
    opener: Any = _open_gz if gz else open
    step = _SPAN / max(n_lines, 1)
    fmt_cache: dict[tuple[int, int], str] = {}
    rand = rng.random
    with opener(path, "wb") as f:
        buf: list[bytes] = []
        for i in range(n_lines):
            r = rand()
            if r < 0.001:
                counts["malformed"] += 1
                buf.append(_malformed(rng, i))
                continue
            t = int(_START + i * step + rand() * 2)
            off_s, off = _OFFSETS[0] if rand() < 0.7 else rng.choice(_OFFSETS)
            key = (t, off_s)
            ts = fmt_cache.get(key)
            if ts is None:
                if len(fmt_cache) > 4096:
                    fmt_cache.clear()
                ts = _fmt_time(t + off_s, off)
                fmt_cache[key] = ts
            if r < 0.051:
                counts["junk"] += 1
                target = rng.choice(_JUNK)
                status = 404
            elif r < 0.131:
                counts["static"] += 1
                target = rng.choice(_STATIC)
                status = 200 if rand() < 0.8 else 304
            else:
                counts["pattern"] += 1
                idx = order[bisect.bisect(cum, rand() * cum[-1])]
                pool = pools[idx]
                target = quote(pool[int(len(pool) * rand() ** 2)], safe="/-_.~:@!$&'()*+,;=")
                if rand() < 0.15:
                    target += (
                        f"?page={rng.randint(1, 20)}&utm_source={rng.choice(['tw', 'fb', 'mail'])}"
                    )
                status = 200 if rand() < 0.9 else rng.choice([301, 302, 304, 403, 500])
            method = "GET" if rand() < 0.9 else rng.choice(["POST", "HEAD", "PUT", "OPTIONS"])
            host = clients[bisect.bisect(ccum, rand() * ccum[-1])]
            size = "-" if status == 304 else str(int(200 + rand() * 60000))
            ref = (
                "-"
                if rand() < 0.5
                else rng.choice(
                    ["https://www.google.com/", "https://example.org/blog/", "https://t.co/x1y2"]
                )
            )
            ua = _UAS_LOGGED[int(len(_UAS) * rand() ** 1.5)]
            user = "-" if rand() < 0.95 else rng.choice(["alice", "bob", "carol"])
            buf.append(
                f'{host} - {user} [{ts}] "{method} {target} HTTP/1.1" {status} {size} "{ref}" "{ua}"\n'.encode()
            )
            if len(buf) >= 8192:
                f.write(b"".join(buf))
                buf.clear()
        f.write(b"".join(buf))
    return counts


def _open_gz(path: str | os.PathLike[str], mode: str) -> Any:
    # mtime=0 keeps the gzip header, and so the whole file, identical across runs.
    return igzip.IGzipFile(path, mode, compresslevel=1, mtime=0)


def _clients(rng: random.Random, n: int) -> list[str]:
    out = []
    for _ in range(n):
        if rng.random() < 0.12:
            a, b, c = rng.randrange(65536), rng.randrange(65536), rng.randrange(1, 65536)
            out.append(f"2001:db8:{a:x}:{b:x}::{c:x}")
        else:
            a, b, c, d = (
                rng.randint(1, 223),
                rng.randrange(256),
                rng.randrange(256),
                rng.randint(1, 254),
            )
            out.append(f"{a}.{b}.{c}.{d}")
    return out


def _fmt_time(local: int, off: str) -> str:
    tm = time.gmtime(local)
    return f"{tm.tm_mday:02d}/{_MONTHS[tm.tm_mon - 1]}/{tm.tm_year}:{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d} {off}"


def _malformed(rng: random.Random, i: int) -> bytes:
    kind = rng.randrange(5)
    if kind == 0:
        return b"10.0.0.1 - - [27/Feb/2013:21:20:0" + b"\n"  # truncated mid-timestamp
    if kind == 1:
        return bytes(rng.randrange(256) for _ in range(40)).replace(b"\n", b" ") + b"\n"
    if kind == 2:
        return b'10.0.0.2 - - [99/Foo/2013:25:61:61 +0000] "GET / HTTP/1.1" 200 12 "-" "-"\n'
    if kind == 3:
        return b"\n"
    return f"garbage line {i} without any fields\n".encode()


# --- CLI ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Write OUT/urls.py, OUT/urls.json and OUT/access.log[.gz]."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patterns", type=int, default=300, help="URL patterns (default 300)")
    ap.add_argument("--lines", type=int, default=1_000_000, help="log lines (default 1M)")
    ap.add_argument("--seed", type=int, default=2013, help="same seed, same bytes")
    ap.add_argument("--out", default=str(HERE / "_data" / "p300"), help="output folder")
    ap.add_argument("--prefix", default="", help='put every app under one route, e.g. "api/v1/"')
    ap.add_argument("--gz", action="store_true", help="gzip the access log")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    text = generate_urls_py(args.patterns, args.seed, prefix=args.prefix)
    (out / "urls.py").write_text(text, encoding="utf-8")
    _run_dump(sys.executable, "urls", str(out), out / "urls.json")
    patterns = json.loads((out / "urls.json").read_text(encoding="utf-8"))
    t1 = time.perf_counter()
    log = out / ("access.log.gz" if args.gz else "access.log")
    counts = generate_log(log, args.lines, args.seed, patterns, gz=args.gz)
    t2 = time.perf_counter()
    print(
        f"generate: {len(patterns)} patterns -> {out / 'urls.json'} ({t1 - t0:.1f}s); "
        f"{counts['lines']} lines -> {log} ({t2 - t1:.1f}s; pattern {counts['pattern']}, "
        f"static {counts['static']}, junk {counts['junk']}, malformed {counts['malformed']})"
    )


if __name__ == "__main__":
    main()
