"""`urls dump` and the resolver checked against Django itself.

For every path of a large corpus (paths sampled from every pattern's regex, near-misses
made from them, percent-encoded and unicode variants, junk), the resolver must answer
what `django.urls.resolve(unquote(path))` answers: the same view_name (or None for
Resolver404) and the same captured kwargs (our text equal after Django's converter).
Two URLconfs: tests/django_sample (hand-written, ~350 patterns, every Django feature)
and the 300-pattern one from bench/generate.py.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests._urls_oracle import (
    corpus,
    django_in_subprocess,
    django_params,
    dump_in_subprocess,
    generate,
    project,
    same,
)
from warehouse.cli import cli
from warehouse.errors import ConfigError, InputMissing
from warehouse.events.patterns import load_resolver, write_patterns
from warehouse.urls.dump import dump_patterns
from warehouse.urls.resolver import NaiveResolver, Resolver

REPO = Path(__file__).resolve().parents[1]
SAMPLE = "tests.django_sample.urls"


@pytest.fixture(scope="module")
def django_resolve() -> Callable[..., tuple[str | None, dict[str, Any]]]:
    """Return Django's answer for a raw path: (view_name or None, params), where params
    are what DESIGN.md says: `ResolverMatch.kwargs` without the keys of `extra_kwargs`."""
    import django
    from django.conf import settings as dj_settings

    if not dj_settings.configured:
        dj_settings.configure(ROOT_URLCONF=SAMPLE, INSTALLED_APPS=[], SECRET_KEY="test")
        django.setup()
    from django.urls import Resolver404, resolve

    def answer(path: str, urlconf: str) -> tuple[str | None, dict[str, Any]]:
        try:
            m = resolve(unquote(path), urlconf=urlconf)
        except Resolver404:
            return None, {}
        return m.view_name, django_params(m)

    return answer


@pytest.fixture(scope="module")
def sample_patterns(django_resolve: Any) -> list[dict[str, Any]]:
    return dump_patterns(SAMPLE)


FIXED = [
    "",
    "*",
    "/",
    "//",
    "http://example.com/blog/",
    "/%",
    "/%zz",
    "/%FF",
    "/blog/%FF/",
    "/caf%C3%A9/x/",
    "/café/x/",
    "/stra%C3%9Fe/",
    "/strasse/",
    "/ids/7/p/0012/",
    "/ids/7/q/",
    "/opt/12/end/",
    "/opt/12/vab/stop/",
    "/opt/12/v/end/",
    "/aaab/",
    "/aab/",
    "/ab/",
    "/b/",
    "/aaab",
    "/blog/0012/",
    "/blog/0012/07/x/",
    "/blog/" + "9" * 5000 + "/",
    "/blog/id/" + "9" * 5000 + "/",
    "/exact",
    "/exact\n",
    "/prefix-onlyanything/at/all",
    "/x/12/",
    "/y/12/",
    "/z/12/",
    "/CASE/Word/",
    "/case/word/",
    "/x/feed.xml",
    "/feed.xml",
    "/x/y/rss.xml",
    "/atom.xml",
    "/AB-12",
    "/ABCD-12",
    "/wp-login.php",
    "/a/b/c.php",
    "/blog/twice/ab-ab/",
    "/blog/twice/ab-ba/",
    "/blog/echo/echo/",
    "/blog/ab/ab/",
    "/accounts/bob/posts/twice/x-x/",
    "/api/v7/anything/here",
    "/api/v2/users/3/a/b",
    "/news/popular/",
    "/blog/popular/",
    "/en/about/",
    "/x/old-site/page/7/",
    "/old-site/page/07/",
    "/a/b/old-site/page/7/x",
    "/mixed/exact/",
    "/MIXED/EXACT/",
    "/en-us/welcome/",
    "/verbose/12/",
    "/verbose/12",
    "/verbose/ 12/",
    "/v2/ab/x/",
    "/v2/ab/x",
    "/start/",
    "/begin/",
    "/begin/\n",
    "/go/5",
    "/go/5/x",
    "/x/go/5",
    "/mirror-5",
    "/x/y/mirror-5/z",
    "/en/welcome/",
    "/de/welcome/",
    "/de/%C3%BCber-uns/",
    "/blog/2013/",
    "/blog/2013/05/",
    "/blog/2013/05/17/",
]


def _corpus(patterns: list[dict[str, Any]], seed: int, per_pattern: int) -> list[str]:
    return corpus(patterns, seed, per_pattern, FIXED)


def _check_all(
    paths: list[str], patterns: list[dict[str, Any]], urlconf: str, django_resolve: Any
) -> tuple[int, int]:
    fast, fast_cached, naive = (
        Resolver(patterns, cache_size=0),
        Resolver(patterns),
        NaiveResolver(patterns),
    )
    bad = []
    matched = 0
    for p in paths:
        theirs = django_resolve(p, urlconf)
        ours = fast.resolve(p)
        matched += ours[0] is not None
        if not (same(ours, theirs) and naive.resolve(p) == ours and fast_cached.resolve(p) == ours):
            bad.append((p[:200], ours, theirs))
    assert not bad, f"{len(bad)} of {len(paths)} paths differ from Django, e.g. {bad[:5]}"
    return len(paths), matched


def test_sample_dump_shape(sample_patterns: list[dict[str, Any]]) -> None:
    by_name = {p["name"]: p for p in sample_patterns}
    assert len(sample_patterns) > 300
    assert (
        by_name["api:v2:users-field"]["regex"] == r"^/api/v2/users/(?P<pk>[0-9]+)/(?P<field>.+)\Z"
    )
    assert by_name["api:v2:users-field"]["convert"] == {"pk": "int"}
    assert not any("from_prefix" in p for p in sample_patterns)  # prefix captures are params
    assert by_name["about"]["regex"] == r"^/about/\Z" and "extra" not in by_name["about"]
    assert by_name["shadowed"]["extra"] == ["pk"]  # path()'s extra kwarg replaces the capture
    assert by_name["tenant-item"]["extra"] == ["tenant"]  # include()'s extra kwarg does too
    # The outer "id" stays as the fallback for an inner "id" that does not participate.
    assert by_name["opt"]["outer"] == {"_wh1_id": "id"}
    assert by_name["opt"]["regex"] == (
        r"^/(?>opt/(?P<_wh1_id>[0-9]+)/)(?:v(?P<id>[a-z]+)/)?(?P<tail>end|stop)/$\Z"
    )
    assert by_name["inner-id"]["outer"] == {"_wh1_id": "id"}
    r = Resolver(sample_patterns)
    assert r.resolve("/opt/12/end/") == ("opt", {"id": "12", "tail": "end"})
    assert r.resolve("/opt/12/vab/stop/") == ("opt", {"id": "ab", "tail": "stop"})
    assert by_name["blog:year"]["convert"] == {"year": "int"}  # custom, found to act as int
    assert "convert" not in by_name["blog:author"]  # custom, found to keep the text
    assert "accounts:user-blog:post" in by_name and "news:post" in by_name
    assert by_name["functools.partial"]["regex"] == r"^/legal/\Z"
    assert "tests.django_sample.views.Feed" in by_name
    assert "blog:tests.django_sample.views.listing" in by_name  # unnamed view in a namespace
    # Django's own semantics: prefixes are atomic, unanchored re_path regexes are searched.
    assert by_name["greedy-ab"]["regex"] == r"^/(?>(?P<a>a+))ab/\Z"
    assert by_name["any-feed"]["regex"] == r"^/[\s\S]*?(?P<kind>rss|atom)\.xml\Z"
    assert by_name["case-insensitive"]["regex"] == r"^/(?i:case/(?P<word>[a-z]+)/$\Z)"
    assert by_name["old-page"]["regex"] == r"^/(?>[\s\S]*?old-site/)page/(?P<n>[0-9]+)/\Z"
    assert by_name["mixed-exact"]["regex"] == r"^/(?>(?i:MiXeD/))exact/\Z"
    assert by_name["welcome"]["regex"] == r"^/en\-us/welcome/\Z"
    assert by_name["start"]["regex"] == r"^/(?:start/$|begin/$)\Z"
    assert by_name["mixed-anchor"]["regex"] == (
        r"^/(?:(?:go/(?P<x>\d+)|mirror-(\d+))|[\s\S]+?mirror-(?:\d+))"
    )
    names = [p["name"] for p in sample_patterns]
    assert names.index("localized") < names.index("blog:index") < names.index("vanity")


def test_sample_agrees_with_django(
    sample_patterns: list[dict[str, Any]], django_resolve: Any
) -> None:
    paths = _corpus(sample_patterns, seed=7, per_pattern=4)
    total, matched = _check_all(paths, sample_patterns, SAMPLE, django_resolve)
    assert total > 10_000
    assert 0.2 * total < matched < 0.95 * total  # both hits and misses are exercised


@pytest.fixture(scope="module")
def generated(
    tmp_path_factory: pytest.TempPathFactory, django_resolve: Any
) -> tuple[str, list[dict[str, Any]]]:
    folder = tmp_path_factory.mktemp("gen")
    (folder / "gen_urls_300.py").write_text(generate.generate_urls_py(300, 11), encoding="utf-8")
    sys.path.insert(0, str(folder))
    try:
        return "gen_urls_300", dump_patterns("gen_urls_300")
    finally:
        sys.path.remove(str(folder))


def test_generated_agrees_with_django(
    generated: tuple[str, list[dict[str, Any]]], django_resolve: Any
) -> None:
    urlconf, patterns = generated
    assert len(patterns) == 300
    paths = _corpus(patterns, seed=3, per_pattern=2)
    total, matched = _check_all(paths, patterns, urlconf, django_resolve)
    assert total > 5_000 and matched > 0.2 * total


@st.composite
def _raw_paths(draw: st.DrawFn, patterns: list[dict[str, Any]]) -> str:
    kind = draw(st.integers(0, 3))
    if kind == 3:
        return draw(st.text(alphabet="/abcxyz0123456789-_.%éAZ\n", max_size=30))
    rx = patterns[draw(st.integers(0, len(patterns) - 1))]["regex"]
    path = draw(st.from_regex(rx.replace("(?>", "(?:"), fullmatch=False))
    if kind == 1:
        path = quote(path, safe="/")
    elif kind == 2:
        i = draw(st.integers(0, len(path)))
        path = path[:i] + draw(st.text(alphabet="/a0-%.", max_size=3)) + path[i:]
    return path


def test_hypothesis_agrees_with_django(
    sample_patterns: list[dict[str, Any]], django_resolve: Any
) -> None:
    fast, naive = Resolver(sample_patterns), NaiveResolver(sample_patterns)

    @settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
    @given(_raw_paths(sample_patterns))
    def check(path: str) -> None:
        theirs = django_resolve(path, SAMPLE)
        ours = fast.resolve(path)
        assert same(ours, theirs), (path, ours, theirs)
        assert naive.resolve(path) == ours

    check()


# --- CLI and errors ---------------------------------------------------------------------


def test_cli_dump_to_file(tmp_path: Path, sample_patterns: list[dict[str, Any]]) -> None:
    out = tmp_path / "urls.json"
    result = CliRunner().invoke(
        cli, ["urls", "dump", "--urlconf", SAMPLE, "--pythonpath", str(REPO), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert f"{len(sample_patterns)} patterns from {SAMPLE} -> {out}" in result.output
    assert json.loads(out.read_text(encoding="utf-8")) == sample_patterns
    assert [p.name for p in tmp_path.iterdir()] == ["urls.json"]  # no temp file left
    r = load_resolver(str(out))
    assert r.resolve("/blog/2013/05/") == ("blog:month", {"year": "2013", "month": "5"})


def test_cli_dump_stdout_from_pythonpath(tmp_path: Path, django_resolve: Any) -> None:
    (tmp_path / "mysite_cli_urls.py").write_text(
        "from django.urls import path, include\n"
        "def v(request, **kw): pass\n"
        "urlpatterns = [path('shop/<int:pk>/', v, name='item'),\n"
        "               path('x/', include(([path('<slug:s>/', v)], 'x')))]\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        cli, ["urls", "dump", "--urlconf", "mysite_cli_urls", "--pythonpath", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {"name": "item", "regex": r"^/shop/(?P<pk>[0-9]+)/\Z", "convert": {"pk": "int"}},
        {"name": "x:mysite_cli_urls.v", "regex": r"^/x/(?P<s>[-a-zA-Z0-9_]+)/\Z"},
    ]
    assert "urls dump: 2 patterns from mysite_cli_urls -> stdout" in result.stderr


def test_cli_dump_missing_module(tmp_path: Path, django_resolve: Any) -> None:
    result = CliRunner().invoke(
        cli, ["urls", "dump", "--urlconf", "no_such_urls_mod", "-o", str(tmp_path / "o.json")]
    )
    assert result.exit_code == InputMissing.exit_code
    assert "cannot import URLconf 'no_such_urls_mod'" in result.output
    assert "--pythonpath" in result.output
    assert not (tmp_path / "o.json").exists()


def test_dump_broken_module(tmp_path: Path, django_resolve: Any) -> None:
    (tmp_path / "broken_urls_mod.py").write_text(
        "import nonexistent_dependency_xyz\n", encoding="utf-8"
    )
    with pytest.raises(InputMissing, match="nonexistent_dependency_xyz"):
        dump_patterns("broken_urls_mod", pythonpath=[str(tmp_path)])
    (tmp_path / "bad_urls_mod.py").write_text("urlpatterns = 5\n", encoding="utf-8")
    with pytest.raises(
        ConfigError, match=r"URLconf 'bad_urls_mod' failed to load: ImproperlyConfigured"
    ):
        dump_patterns("bad_urls_mod", pythonpath=[str(tmp_path)])


def test_dump_without_django_says_how_to_install(tmp_path: Path) -> None:
    # -S leaves site-packages (and so Django) out; warehouse.urls.dump needs only the stdlib
    # until it imports Django.
    code = (
        f"import sys; sys.path.insert(0, {str(REPO)!r})\n"
        "from warehouse.urls.dump import dump_patterns\n"
        "from warehouse.errors import ConfigError\n"
        "try:\n    dump_patterns('x.urls')\n"
        "except ConfigError as e:\n    print(e.exit_code, e)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-S", "-c", code], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == (
        "2 `urls dump` needs Django, which is not installed: pip install 'warehouse[django]'"
    )


def test_write_patterns_atomic_and_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pats = [{"name": "café", "regex": r"^/café/\Z"}]
    out = tmp_path / "u.json"
    write_patterns(pats, str(out))
    assert json.loads(out.read_text(encoding="utf-8")) == pats
    assert "café" in out.read_text(encoding="utf-8")  # UTF-8, not \u escapes
    write_patterns(pats, None)
    assert json.loads(capsys.readouterr().out) == pats
    with pytest.raises(InputMissing, match="does not exist"):
        write_patterns(pats, str(tmp_path / "missing" / "u.json"))
    assert os.listdir(tmp_path) == ["u.json"]


# --- the bundled sample site --------------------------------------------------------------


def test_sample_site_dump_is_current_and_agrees_on_the_sample_log(django_resolve: Any) -> None:
    conf = REPO / "conf" / "sample"
    patterns = dump_patterns("sample_site.urls", pythonpath=[str(conf)])
    committed = json.loads((conf / "urls.json").read_text(encoding="utf-8"))
    assert patterns == committed, "regenerate conf/sample/urls.json with `warehouse urls dump`"
    with gzip.open(
        conf / "access-combined-10k.log.gz", "rt", encoding="utf-8", errors="replace"
    ) as f:
        paths = [line.split('"')[1].split(" ")[1].split("?")[0] for line in f]
    sys.path.insert(0, str(conf))
    try:
        distinct, _ = _check_all(sorted(set(paths)), patterns, "sample_site.urls", django_resolve)
    finally:
        sys.path.remove(str(conf))
    assert distinct > 1000
    r = load_resolver(str(conf / "urls.json"))
    hits = sum(1 for p in paths if r.resolve(p)[0] is not None)
    assert hits > 0.95 * len(paths)
    assert r.resolve("/blog/geekery/ssl-latency.html") == (
        "blog:post",
        {"category": "geekery", "slug": "ssl-latency"},
    )
    assert r.resolve("/blog/tags/jquery%20mobile") == ("blog:tag", {"tag": "jquery mobile"})


def test_dump_warns_where_a_regex_cannot_be_followed(
    tmp_path: Path, django_resolve: Any, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "warn_urls_mod.py").write_text(
        "from django.urls import re_path\n"
        "def v(request, **kw): pass\n"
        "urlpatterns = [re_path(r'(?:^a|b)/$', v, name='inner-anchor'),\n"
        "               re_path(r'^c(?P<n>1)|d(?P<m>2)', v, name='mixed-named')]\n",
        encoding="utf-8",
    )
    with caplog.at_level("WARNING", logger="warehouse.urls.dump"):
        patterns = dump_patterns("warn_urls_mod", pythonpath=[str(tmp_path)])
    assert [p["name"] for p in patterns] == ["inner-anchor", "mixed-named"]
    assert "uses ^ or \\A after its start" in caplog.text
    assert "mixes alternatives with and without ^" in caplog.text


def test_prefix_captures_reach_the_events(tmp_path: Path, django_resolve: Any) -> None:
    """The issue's case, through both commands: `urls dump`, then `parse` writes events
    whose params hold the include() prefix's user_id beside the endpoint's order_id."""
    (tmp_path / "shop_prefix_urls.py").write_text(
        "from django.urls import include, path\n"
        "def v(request, **kw): pass\n"
        "account_urls = [path('orders/<int:order_id>/', v, name='order'),\n"
        "                path('edit/', v, {'user_id': 0}, name='edit')]\n"
        "urlpatterns = [path('users/<int:user_id>/', include(account_urls))]\n",
        encoding="utf-8",
    )
    dump, root = tmp_path / "urls.json", tmp_path / "root"
    runner = CliRunner()
    res = runner.invoke(cli, ["urls", "dump", "--urlconf", "shop_prefix_urls",
                              "--pythonpath", str(tmp_path), "-o", str(dump)])  # fmt: skip
    assert res.exit_code == 0, res.output
    log = tmp_path / "access.log"
    log.write_text(
        "".join(
            f'10.0.0.1 - - [14/Jan/2012:14:25:0{i} +0000] "GET {p} HTTP/1.1" 200 5 "-" "ua"\n'
            for i, p in enumerate(["/users/0042/orders/7/", "/users/42/edit/", "/users/x/"])
        ),
        encoding="utf-8",
    )
    res = runner.invoke(cli, ["--root", str(root), "parse", str(log), "--patterns", str(dump),
                              "--format", "combined"])  # fmt: skip
    assert res.exit_code == 0, res.output
    events = [
        json.loads(line)
        for part in sorted(root.glob("events/dt=2012-01-14/*.json.gz"))
        for line in gzip.decompress(part.read_bytes()).decode("utf-8").splitlines()
    ]
    got = sorted((e["path"], e["slug"], e["params"]) for e in events)
    assert got == [
        ("/users/0042/orders/7/", "order", {"user_id": "42", "order_id": "7"}),
        ("/users/42/edit/", "edit", {}),  # the extra kwarg replaces the capture in Django
        ("/users/x/", None, {}),
    ]
    for path, slug, params in got:
        assert same((slug, params), django_resolve(path, "shop_prefix_urls"))


def test_dump_warns_for_converters_it_cannot_reproduce_and_i18n(
    tmp_path: Path, django_resolve: Any, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "conv_urls_mod.py").write_text(
        "from django.conf.urls.i18n import i18n_patterns\n"
        "from django.urls import path, register_converter\n"
        "class Upper:\n"
        "    regex = '[a-z]+'\n"
        "    def to_python(self, value): return value.upper()\n"
        "    def to_url(self, value): return value.lower()\n"
        "class NoZero:\n"
        "    regex = '[0-9]+'\n"
        "    def to_python(self, value):\n"
        "        if int(value) == 0: raise ValueError(value)\n"
        "        return int(value)\n"
        "    def to_url(self, value): return str(value)\n"
        "class Year:\n"
        "    regex = '[0-9]{4}'\n"
        "    def to_python(self, value): return int(value)\n"
        "    def to_url(self, value): return '%04d' % value\n"
        "register_converter(Upper, 'wh_upper')\n"
        "register_converter(NoZero, 'wh_nozero')\n"
        "register_converter(Year, 'wh_year')\n"
        "def v(request, **kw): pass\n"
        "urlpatterns = [path('u/<wh_upper:word>/', v, name='upper'),\n"
        "               path('n/<wh_nozero:n>/', v, name='nozero'),\n"
        "               path('y/<wh_year:y>/', v, name='year'),\n"
        "               *i18n_patterns(path('hello/', v, name='hello'))]\n",
        encoding="utf-8",
    )
    with caplog.at_level("WARNING", logger="warehouse.urls.dump"):
        patterns = dump_patterns("conv_urls_mod", pythonpath=[str(tmp_path)])
    by_name = {p["name"]: p for p in patterns}
    assert by_name["year"]["convert"] == {"y": "int"}  # found to act as int: reproduced
    assert "convert" not in by_name["upper"] and "convert" not in by_name["nozero"]
    warnings = [r.getMessage() for r in caplog.records]
    assert any("'u/<wh_upper:word>/' [name='upper']" in w and "conv_urls_mod.Upper" in w
               for w in warnings), warnings  # fmt: skip
    assert any("'n/<wh_nozero:n>/' [name='nozero']" in w for w in warnings), warnings
    assert not any("wh_year" in w for w in warnings)
    assert any(w.startswith("i18n_patterns ('hello/' [name='hello'])") and "'/en-us/'" in w
               for w in warnings), warnings  # fmt: skip
    assert len(warnings) == 3


def test_real_project_with_settings_agrees(tmp_path: Path) -> None:
    """A project with --settings (admin, auth): dump via the CLI, Django in its own process."""
    project(
        tmp_path,
        "realsite",
        "INSTALLED_APPS = ['django.contrib.admin', 'django.contrib.auth',\n"
        "    'django.contrib.contenttypes', 'django.contrib.sessions', 'django.contrib.messages']\n",
        "from django.contrib import admin\n"
        "from django.urls import include, path\n"
        "urlpatterns = [path('admin/', admin.site.urls),\n"
        "               path('accounts/', include('django.contrib.auth.urls'))]\n",
    )
    patterns, _, dump = dump_in_subprocess(tmp_path, "realsite")
    names = {p["name"] for p in patterns}
    assert {"admin:index", "admin:auth_user_change", "password_reset_confirm"} <= names
    paths = _corpus(patterns, seed=5, per_pattern=4)
    theirs = django_in_subprocess(tmp_path, "realsite", paths)
    r = load_resolver(str(dump))
    bad = [
        (p, r.resolve(p), t)
        for p, t in zip(paths, theirs, strict=True)
        if not same(r.resolve(p), t)
    ]
    assert not bad, f"{len(bad)} of {len(paths)} differ, e.g. {bad[:5]}"
    assert sum(1 for t in theirs if t[0]) > len(paths) // 3


def test_cli_dump_bad_settings_module(tmp_path: Path) -> None:
    # In a subprocess: --settings configures Django for the whole process.
    (tmp_path / "bad_settings_mod.py").write_text("raise KeyError('DB_URL')\n", encoding="utf-8")
    argv = [sys.executable, "-c", "from warehouse.cli import main; main()", "urls", "dump",
            "--settings", "bad_settings_mod", "--urlconf", "x.urls",
            "--pythonpath", str(tmp_path)]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == ConfigError.exit_code
    assert proc.stderr.strip() == (
        "error: cannot import Django settings 'bad_settings_mod': KeyError: 'DB_URL'; "
        "check --settings and --pythonpath"
    )
