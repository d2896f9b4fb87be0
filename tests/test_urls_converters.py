"""Custom path() converters as real projects write them: `urls dump` classifies them by
calling their `to_python` on probes (percent-escapes, case, digests of 32/36/40/64
characters, texts built from their own regex) and the resolver then agrees with Django."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.test_urls_django import _check_all
from tests.test_urls_django import django_resolve as django_resolve
from warehouse.urls.dump import dump_patterns
from warehouse.urls.resolver import Resolver

URLS = '''
from urllib.parse import quote, unquote
from django.urls import path, register_converter

class QuoteConverter:  # healthchecks' converter for tags: the view gets the text unquoted
    regex = "[^/]+"
    def to_python(self, value): return unquote(value)
    def to_url(self, value): return quote(value, safe="")

class SHA1Converter:  # no fixed probe is 40 hex digits of this alphabet
    regex = "[0-9a-f]{40}"
    def to_python(self, value): return value
    def to_url(self, value): return value

class Sha256Upper:  # upper-case digests, kept as text
    regex = "[0-9A-F]{64}"
    def to_python(self, value): return value
    def to_url(self, value): return value

class Lower:  # turns the text into something the dump cannot reproduce
    regex = "[A-Za-z]+"
    def to_python(self, value): return value.lower()
    def to_url(self, value): return value

class Ticket:  # matched only by texts built from its regex
    regex = "TCK-[0-9]{3}-[a-z]{2}"
    def to_python(self, value): return value
    def to_url(self, value): return value

register_converter(QuoteConverter, "quoted")
register_converter(SHA1Converter, "sha1")
register_converter(Sha256Upper, "sha256u")
register_converter(Lower, "lower")
register_converter(Ticket, "ticket")

def v(request, **kw): pass

urlpatterns = [
    path("tags/<quoted:tag>/", v, name="tag"),
    path("tags/<quoted:tag>/<quoted:other>/", v, name="tag-pair"),
    *[path(f"c{i}/<sha1:commit>/", v, name=f"commit{i}") for i in range(7)],
    path("blob/<sha256u:digest>/", v, name="blob"),
    path("w/<lower:word>/", v, name="word"),
    path("w2/<lower:word>/", v, name="word2"),
    path("t/<ticket:t>/", v, name="ticket"),
]
'''

PATHS = [
    "/tags/my%2520tag/",  # the log's %25 is decoded once by the server, once by the converter
    "/tags/my%20tag/",
    "/tags/plain/",
    "/tags/100%2525/",
    "/tags/a%252Fb/",
    "/tags/%25E2%259C%2593/",
    "/tags/%25zz/",
    "/tags/x%2520y/z%2520w/",
    "/c3/" + "da39a3ee5e6b4b0d3255bfef95601890afd80709" + "/",
    "/c3/" + "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709" + "/",
    "/blob/" + "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855" + "/",
    "/t/TCK-123-ab/",
    "/t/TCK-12-ab/",
]


@pytest.fixture()
def converters_urls(tmp_path: Path) -> str:
    (tmp_path / "wh_conv_urls.py").write_text(URLS, encoding="utf-8")
    return "wh_conv_urls"


def test_custom_converters_are_classified_and_resolve_as_django(
    tmp_path: Path, converters_urls: str, django_resolve: Any, caplog: pytest.LogCaptureFixture
) -> None:
    import sys

    sys.path.insert(0, str(tmp_path))
    try:
        with caplog.at_level("WARNING", logger="warehouse.urls.dump"):
            patterns = dump_patterns(converters_urls)
        by_name = {p["name"]: p for p in patterns}
        assert by_name["tag"]["convert"] == {"tag": "unquote"}
        assert by_name["tag-pair"]["convert"] == {"tag": "unquote", "other": "unquote"}
        assert all("convert" not in by_name[f"commit{i}"] for i in range(7))
        assert "convert" not in by_name["blob"] and "convert" not in by_name["ticket"]
        warnings = [r.getMessage() for r in caplog.records]
        # Only Lower cannot be reproduced, and it is warned about once for its two patterns.
        assert len(warnings) == 1, warnings
        assert "'w/<lower:word>/' [name='word']" in warnings[0]
        assert "wh_conv_urls.Lower" in warnings[0]
        resolver = Resolver(patterns)
        assert resolver.resolve("/tags/my%2520tag/") == ("tag", {"tag": "my tag"})
        _check_all(PATHS, patterns, converters_urls, django_resolve)
    finally:
        sys.path.remove(str(tmp_path))
