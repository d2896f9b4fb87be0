"""The resolver on literal dumps (no Django): index, ordering, decoding, params, errors."""

from __future__ import annotations

import json
import pickle
import re
import warnings
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warehouse.errors import ConfigError, InputMissing
from warehouse.events.patterns import load_resolver
from warehouse.urls._regex import (
    alternation_form,
    bucket_key,
    is_literal,
    render,
    split_branches,
    tokenize,
)
from warehouse.urls.resolver import NaiveResolver, Resolver

PATTERNS = [
    {"name": "home", "regex": r"^/\Z"},
    {"name": "robots", "regex": r"^/robots\.txt\Z"},
    {"name": "lang", "regex": r"^/(?P<lang>en|de)/(?P<page>[-\w]+)/$\Z"},
    {"name": "blog:post", "regex": r"^/blog/(?P<pk>[0-9]+)/\Z", "convert": {"pk": "int"}},
    {"name": "blog:slug", "regex": r"^/blog/(?P<slug>[-a-zA-Z0-9_]+)/\Z"},
    {"name": "blog:old", "regex": r"^/blog/old/(\d+)/$\Z"},
    {"name": "echo", "regex": r"^/echo/(?P<w>[a-z]+)/(?P=w)/\Z"},
    {"name": "flags", "regex": r"(?i)^/CASE/(?P<x>[a-z]+)/\Z"},
    {"name": "catchall", "regex": r"^/(?P<rest>.+)\.php\Z"},
    {"name": "blog:late", "regex": r"^/blog/late\.php\Z"},
    {"name": "prefix", "regex": r"^/pre(?P<tail>fix)?"},
]


@pytest.fixture(params=["fast", "fast-nocache", "naive"])
def resolver(request: pytest.FixtureRequest) -> Resolver | NaiveResolver:
    if request.param == "naive":
        return NaiveResolver(PATTERNS)
    return Resolver(PATTERNS, cache_size=0 if request.param == "fast-nocache" else 128)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/", ("home", {})),
        ("", (None, {})),
        ("*", (None, {})),
        ("robots.txt", (None, {})),
        ("http://example.com/", (None, {})),
        ("/robots.txt", ("robots", {})),
        ("/robots.txt\n", (None, {})),
        ("/en/about/", ("lang", {"lang": "en", "page": "about"})),
        ("/en/about/\n", (None, {})),
        ("/blog/0012/", ("blog:post", {"pk": "12"})),
        ("/blog/hello/", ("blog:slug", {"slug": "hello"})),
        ("/blog/old/7/", ("blog:old", {})),
        ("/blog/old/x/", (None, {})),
        ("/echo/ab/ab/", ("echo", {"w": "ab"})),
        ("/echo/ab/ba/", (None, {})),
        ("/case/Word/", ("flags", {"x": "Word"})),
        ("/Case/word/", ("flags", {"x": "word"})),
        # A fallback pattern listed before a bucket pattern wins.
        ("/blog/late.php", ("catchall", {"rest": "blog/late"})),
        ("/prefix/anything/else", ("prefix", {"tail": "fix"})),
        ("/pre", ("prefix", {})),
        # Percent-decoding first (unquote): %2F is a slash, invalid escapes stay, bad UTF-8 -> U+FFFD.
        ("%2F", ("home", {})),
        ("/blog/%68ello/", ("blog:slug", {"slug": "hello"})),
        ("/en/caf%C3%A9/", ("lang", {"lang": "en", "page": "café"})),
        ("/en/%FF/", (None, {})),
        ("/en/%zz/", (None, {})),
        ("/blog/1%2F2/", (None, {})),
    ],
)
def test_resolve(resolver: Resolver | NaiveResolver, path: str, expected: tuple) -> None:
    assert resolver.resolve(path) == expected


def test_int_converter_overflow_moves_to_next_pattern(resolver: Resolver | NaiveResolver) -> None:
    # int() refuses more than 4300 digits: Django's converter raises ValueError and the
    # next pattern is tried (here blog:slug, whose slug regex accepts digits).
    digits = "9" * 5000
    assert resolver.resolve(f"/blog/{digits}/") == ("blog:slug", {"slug": digits})


def test_index_shape() -> None:
    r = Resolver(PATTERNS)
    assert r.stats() == {"patterns": 11, "prefixes": 4, "fallback": 4, "most_candidates": 8}
    assert len(r) == 11


@pytest.mark.parametrize(
    ("regex", "key"),
    [
        (r"^/blog/(?P<pk>[0-9]+)/\Z", "blog"),
        (r"^/robots\.txt\Z", "robots.txt"),
        (r"^/robots\.txt$", None),  # `$` also matches before a trailing newline
        (r"^/robots\.txt$\Z", "robots.txt"),
        (r"^/\Z", ""),
        (r"^/blogs?/", None),  # the last literal is optional
        (r"^/blog", None),  # the segment may continue
        (r"^/(?>blog/(?P<x>\d+))/", "blog"),
        (r"^/(?:blog/)x", "blog"),
        (r"^/(?:blog|news)/", None),
        (r"(?i)^/blog/", None),
        (r"^/(?i:blog)/", None),
        (r"/blog/", None),  # not anchored
        (r"^/[\s\S]*?feed/", None),
        ("^/café/", "café"),
        (r"^/caf\u00e9/", None),  # escapes other than \. \- ...: conservatively unbucketed
        (r"^/(?:blog/)?x", None),
        (r"^/(?:robots\.txt)\Z", "robots.txt"),
        (r"^/blog/?x", None),
    ],
)
def test_bucket_key(regex: str, key: str | None) -> None:
    assert bucket_key(regex) == key


def test_cache_hits_and_info() -> None:
    r = Resolver(PATTERNS, cache_size=16)
    first = r.resolve("/blog/0012/")
    assert r.resolve("/blog/0012/") is first
    info = r.cache_info()
    assert (info.hits, info.misses, info.maxsize) == (1, 1, 16)
    assert Resolver(PATTERNS, cache_size=0).cache_info() is None


def test_pickle_rebuilds_index() -> None:
    r = pickle.loads(pickle.dumps(Resolver(PATTERNS, cache_size=8)))
    assert r.resolve("/blog/0012/") == ("blog:post", {"pk": "12"})
    assert r.cache_info().maxsize == 8


def test_from_file(tmp_path: Path) -> None:
    f = tmp_path / "urls.json"
    f.write_text(json.dumps(PATTERNS), encoding="utf-8")
    assert load_resolver(str(f)).resolve("/en/x/") == ("lang", {"lang": "en", "page": "x"})


def test_from_file_missing(tmp_path: Path) -> None:
    with pytest.raises(
        InputMissing, match=r"nope\.json not found: create it with `warehouse urls dump"
    ):
        load_resolver(str(tmp_path / "nope.json"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", r"is not valid JSON"),
        ('{"name": "x"}', r"must be a JSON array"),
        ('[{"name": "x"}]', r"entry 0 must be an object with string `name` and `regex`"),
        ('[{"name": "x", "regex": "^/(unclosed"}]', r"entry 0 \(x\) has an invalid regex"),
        (
            '[{"name": "x", "regex": "^/", "convert": [1]}]',
            r"entry 0 \(x\): `convert` must be an object",
        ),
    ],
)
def test_from_file_malformed(tmp_path: Path, content: str, message: str) -> None:
    f = tmp_path / "urls.json"
    f.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_resolver(str(f))


def test_tokenizer_rewrites() -> None:
    rx = r"^/a\(b[)(\]]+(?P<n>x(y))(?:z)(?=q)\1"
    tokens = tokenize(rx)
    assert "".join(t.text for t in tokens) == rx
    kinds = [t.kind for t in tokens]
    assert kinds.count("cap") == 1 and kinds.count("named") == 1 and kinds.count("backref") == 1
    assert alternation_form(tokens) is None  # a back-reference: must run on its own
    assert alternation_form(tokenize(r"^/a[(]+(?P<n>x(y))(?P<m>z)")) == (
        r"^/a[(]+(x(?:y))(z)",
        ("n", "m"),
    )
    assert len(split_branches(tokenize("a|b"))) == 2
    assert len(split_branches(tokenize("(a|b)"))) == 1
    assert is_literal(tokenize(r"blog\-x/")) and not is_literal(tokenize(r"\d/"))
    assert tokenize(r"\101")[0].kind == "esc"  # three octal digits: a character


POOL = [
    r"^/blog/(?P<pk>[0-9]+)/\Z",
    r"^/blog/(?P<slug>[-\w]+)/\Z",
    r"^/blog/(?P<w>[a-z]+)/(?P=w)/\Z",  # back-reference: runs on its own
    r"(?i)^/blog/(?P<x>[a-z]+)/\Z",  # global flag: runs on its own
    r"^/(?P<s>[a-z]+)/(?P<pk>[0-9]+)/\Z",  # no literal segment: fallback
    r"^/[\s\S]*?(?P<kind>rss|atom)\.xml\Z",
    r"^/shop/\Z",
    r"^/shop/(?P<a>a+)?(?P<b>b)?/\Z",
    r"^/(?>shop/(?P<cat>[a-z]+))/(?P<pk>[0-9]+)\Z",
    r"^/\Z",
    r"^/(?:x|y)/\Z",
    r"^/x/(\d+)-\1/\Z",
    r"^/shop",
]
PATHS = st.text(alphabet="/abxyshopblogrssatom.xml0129-AB%", max_size=24).map(lambda s: "/" + s)


@settings(max_examples=400, deadline=None)
@given(
    order=st.permutations(range(len(POOL))),
    ints=st.sets(st.sampled_from(["pk", "a"])),
    paths=st.lists(PATHS, min_size=1, max_size=30),
)
def test_fast_equals_naive_for_any_order(
    order: list[int], ints: set[str], paths: list[str]
) -> None:
    pats = [{"name": f"p{i}", "regex": POOL[i], "convert": {k: "int" for k in ints}} for i in order]
    fast, naive = Resolver(pats, cache_size=0), NaiveResolver(pats)
    for p in [*paths, "/blog/12/", "/blog/ab/ab/", "/x/3-3/", "/shop/ab/", "/q/rss.xml"]:
        assert fast.resolve(p) == naive.resolve(p), p


PREFIXED = [
    {
        "name": "org:repo",
        "regex": r"^/(?>(?P<org>[-\w]+)/v(?P<v>[0-9]+)/)repo/(?P<pk>[0-9]+)/\Z",
        "convert": {"v": "int", "pk": "int"},
        "from_prefix": ["org", "v"],
    },
    {"name": "any", "regex": r"^/(?P<rest>.+)\Z"},
]


@pytest.mark.parametrize("make", [Resolver, NaiveResolver])
def test_prefix_captures_are_params(make: type) -> None:
    # Every level's captures, as the view receives them (Django's kwargs); the
    # `from_prefix` of older dumps is ignored.
    assert make(PREFIXED).resolve("/acme/v02/repo/007/") == (
        "org:repo",
        {"org": "acme", "v": "2", "pk": "7"},
    )
    # A prefix's int converter still decides whether the pattern matches at all.
    huge = "/acme/v" + "9" * 5000 + "/repo/1/"
    assert make(PREFIXED).resolve(huge) == ("any", {"rest": huge[1:]})


@pytest.mark.parametrize("make", [Resolver, NaiveResolver])
def test_extra_kwargs_and_format_suffix(make: type) -> None:
    pats = [
        {"name": "shadow", "regex": r"^/s/(?P<pk>[0-9]+)/(?P<x>[a-z]+)/\Z", "extra": ["pk"]},
        {
            "name": "api-root",
            "regex": r"^/api/(?P<format>\.(?:json|api)/?)\Z",
            "convert": {"format": "drf_format_suffix"},
        },
    ]
    r = make(pats)
    assert r.resolve("/s/12/ab/") == ("shadow", {"x": "ab"})
    assert r.resolve("/api/.json/") == ("api-root", {"format": "json"})
    assert r.resolve("/api/.api") == ("api-root", {"format": "api"})
    # An outer capture stands in for an inner group of the same name that did not take part.
    outer = make([{
        "name": "o",
        "regex": r"^/(?>(?P<_wh1_id>[0-9]+)/)(?:x(?P<id>[a-z]+)/)?\Z",
        "convert": {"_wh1_id": "int"},
        "outer": {"_wh1_id": "id"},
    }])  # fmt: skip
    assert outer.resolve("/007/") == ("o", {"id": "7"})
    assert outer.resolve("/007/xab/") == ("o", {"id": "ab"})


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"extra": "pk"}, r"entry 0 \(x\): `extra` must be a list of names"),
        ({"convert": {"pk": "float"}}, r"entry 0 \(x\): unknown converter 'float' for 'pk'"),
        ({"convert": ["pk"]}, r"entry 0 \(x\): `convert` must be an object"),
        ({"outer": ["pk"]}, r"entry 0 \(x\): `outer` must map group names to names"),
    ],
)
def test_bad_entry_keys(entry: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Resolver([{"name": "x", "regex": "^/(?P<pk>.)", **entry}])


def test_deep_index_keeps_order_and_prefix_heavy_sites_flat() -> None:
    # Everything under /api/v1/: the index goes down to the resource segment.
    pats = [{"name": "first", "regex": r"^/api/(?P<any>[a-z0-9]+)/users/\Z"}]
    for i in range(400):
        pats.append({"name": f"r{i}:list", "regex": rf"^/api/v1/r{i}/\Z"})
        pats.append({"name": f"r{i}:one", "regex": rf"^/api/v1/r{i}/(?P<pk>[0-9]+)/\Z"})
    pats.append({"name": "late", "regex": r"^/api/v1/(?P<res>[a-z0-9]+)/(?P<pk>[0-9]+)/\Z"})
    r = Resolver(pats, cache_size=0)
    assert r.stats()["most_candidates"] == 4  # first + late + the resource's own two
    assert r.resolve("/api/v1/users/") == ("first", {"any": "v1"})  # the earlier pattern wins
    assert r.resolve("/api/v1/r7/12/") == ("r7:one", {"pk": "12"})
    assert r.resolve("/api/v1/zz/12/") == ("late", {"res": "zz", "pk": "12"})
    assert r.resolve("/api/v1/r7") == (None, {})
    naive = NaiveResolver(pats)
    for p in ["/api/v1/r399/", "/api/v2/r1/", "/api/v1/", "/api/v1/r1/x/", "/api/", "/api"]:
        assert r.resolve(p) == naive.resolve(p)


def test_start_up_compiles_nothing_and_finds_bad_regexes_by_name() -> None:
    # The tokenizer's check at load: an unterminated group is refused at once.
    with pytest.raises(ConfigError, match=r"entry 1 \(broken\) has an invalid regex"):
        Resolver([{"name": "ok", "regex": r"^/a/\Z"}, {"name": "broken", "regex": r"^/b/(x"}])
    # What only `re` refuses is found when a path first needs it (or by compile_all),
    # named the same way; other branches of the index keep working.
    pats = [
        {"name": "a", "regex": r"^/a/(?P<n>[0-9]+)/\Z"},
        {"name": "bad-repeat", "regex": r"^/b/x{2,1}/\Z"},
    ]
    r = Resolver(pats, cache_size=0)
    assert r.resolve("/a/12/") == ("a", {"n": "12"})
    with pytest.raises(ConfigError, match=r"entry 1 \(bad-repeat\) has an invalid regex"):
        r.resolve("/b/xx/")
    with pytest.raises(ConfigError, match=r"entry 1 \(bad-repeat\)"):
        Resolver(pats).compile_all()


def test_long_fallback_list_keeps_order_with_indexed_patterns() -> None:
    # Half the patterns have no literal first segment (a captured tenant): they form one
    # long fallback chain, run beside each index node's own; the dump's order still decides.
    pats: list[dict[str, str]] = []
    for i in range(150):
        pats.append({"name": f"t{i}", "regex": rf"^/(?P<tenant>[a-z]+)/r{i}/(?P<pk>[0-9]+)/\Z"})
        pats.append({"name": f"r{i}", "regex": rf"^/r{i}/(?P<pk>[0-9]+)/\Z"})
        pats.append({"name": f"s{i}", "regex": rf"^/s{i}/(?P<rest>.*)\Z"})
    pats.insert(40, {"name": "early", "regex": r"^/(?P<a>[a-z0-9]+)/(?P<b>[0-9]+)/\Z"})
    fast, naive = Resolver(pats, cache_size=0), NaiveResolver(pats)
    assert fast.stats()["fallback"] == 151
    paths = [
        f"/{p}{i}/{n}/" for p in ("r", "s", "t", "x") for i in range(0, 150, 7) for n in (1, 22)
    ]
    paths += [f"/acme/r{i}/5/" for i in range(0, 150, 11)] + ["/r3/", "/s3/", "/", "/acme/"]
    for p in paths:
        assert fast.resolve(p) == naive.resolve(p), p
    assert fast.resolve("/r1/5/") == ("r1", {"pk": "5"})  # listed before "early"
    assert fast.resolve("/r99/5/") == ("early", {"a": "r99", "b": "5"})  # after "early"


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet="()[]\\?P<>=!#:|^$*+.{},0123456789abixsZAd-/_", max_size=16))
def test_tokenizer_never_refuses_what_re_accepts(text: str) -> None:
    # The load-time check must not refuse a valid regex; what it accepts renders back as is.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # "possible nested set"
            re.compile(text)
    except (re.error, RecursionError, OverflowError):
        valid = False
    else:
        valid = True
    try:
        tokens = tokenize(text)
    except ValueError:
        assert not valid, text
    else:
        assert render(tokens) == text
