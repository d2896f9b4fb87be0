"""Root URLconf of the sample project: a few hundred patterns covering what Django offers.

include() with prefixes and namespaces (nested), every built-in path converter plus two
custom ones, re_path with optional and non-capturing groups, unnamed views of every kind,
duplicate names, extra kwargs, patterns whose order decides the winner, re_path regexes
without `^` (Django *searches* them), inline flags, back-references, unicode routes.
"""

from __future__ import annotations

from django.conf.urls.i18n import i18n_patterns
from django.urls import include, path, re_path, register_converter

from tests.django_sample import converters, views

register_converter(converters.FourDigitYearConverter, "yyyy")
register_converter(converters.HexConverter, "hex")

DOC_TOPICS = [
    "intro",
    "install",
    "tutorial",
    "models",
    "queries",
    "forms",
    "templates",
    "views",
    "urls",
    "admin",
    "auth",
    "cache",
    "i18n",
    "logging",
    "migrations",
    "security",
    "signals",
    "testing",
    "deploy",
    "settings",
    "middleware",
    "sessions",
    "files",
    "email",
    "pagination",
    "serialization",
    "async",
    "checks",
    "sitemaps",
    "feeds",
]
SHOP_CATEGORIES = [
    "books",
    "music",
    "games",
    "garden",
    "kitchen",
    "toys",
    "tools",
    "sports",
    "health",
    "beauty",
    "office",
    "pets",
    "baby",
    "auto",
]

docs = (
    [
        p
        for t in DOC_TOPICS
        for p in (
            path(f"{t}/", views.page, name=f"{t}"),
            path(f"{t}/<slug:section>/", views.page, name=f"{t}-section"),
            re_path(rf"^{t}/(?P<section>[-\w]+)/(?P<anchor>[-\w]+)\.html$", views.page),
        )
    ],
    "docs",
)

shop = (
    [
        p
        for c in SHOP_CATEGORIES
        for p in (
            path(f"{c}/", views.listing, name=f"{c}"),
            path(f"{c}/<int:pk>-<slug:slug>/", views.detail, name=f"{c}-item"),
            path(f"{c}/brand/<str:brand>/", views.listing, name=f"{c}-brand"),
            re_path(rf"^{c}/page-(?P<page>[0-9]+)/(?:sort-(?P<sort>price|name)/)?$", views.listing),
        )
    ]
    + [
        path("cart/", views.page, name="cart"),
        path("checkout/<uuid:order>/", views.page, name="checkout"),
    ],
    "shop",
)

accounts = (
    [
        path("login/", views.page, name="login"),
        path("logout/", views.page, name="logout"),
        path("<str:username>/", views.detail, name="profile"),
        path("<str:username>/settings/<slug:tab>/", views.page, name="settings"),
        path("<str:username>/posts/", include("tests.django_sample.blog", namespace="user-blog")),
    ],
    "accounts",
)

# A prefix capturing "id" and an inner route capturing "id" again: Django keeps the inner.
nested_ids = [
    path("p/<int:id>/", views.detail, name="inner-id"),
    path("q/", views.page, name="outer-id"),
]

greedy = [path("ab/", views.page, name="greedy-ab"), path("b/", views.page, name="greedy-b")]

urlpatterns = [
    path("", views.page, name="home"),
    path("about/", views.page, {"page": "about"}, name="about"),
    path("legal/", views.legal),  # functools.partial: view_name "functools.partial"
    path("robots.txt", views.page, name="robots"),
    path("favicon.ico", views.page),
    # Extra kwargs named like a capture: Django's kwargs hold the extra value, not the text.
    path("shadow/<int:pk>/<slug:s>/", views.detail, {"pk": 0}, name="shadowed"),
    path(
        "t/<slug:tenant>/",
        include([path("<int:pk>/", views.detail, name="tenant-item")]),
        {"tenant": "fixed"},
    ),
    # A catch-all without a literal first segment, listed early: it shadows later routes.
    re_path(r"^(?P<lang>en|de|fr)/(?P<page>[-\w]+)/$", views.page, name="localized"),
    # Listed before the apps: wins over blog:feed, news:feed... (first match wins).
    re_path(r"^(?P<section>[a-z]+)/feed/$", views.Feed(), name="section-feed"),
    path("blog/", include("tests.django_sample.blog")),
    path("news/", include("tests.django_sample.blog", namespace="news"), {"section": "news"}),
    path("api/", include("tests.django_sample.api")),
    path("docs/", include(docs)),
    path("shop/", include(shop)),
    path("accounts/", include(accounts)),
    path("files/<path:name>", views.detail, name="file"),
    path("ids/<str:id>/", include(nested_ids)),
    # The inner "id" is optional: when it does not take part, Django keeps the outer one.
    re_path(
        r"^opt/(?P<id>[0-9]+)/",
        include([re_path(r"^(?:v(?P<id>[a-z]+)/)?(?P<tail>end|stop)/$", views.detail, name="opt")]),
    ),
    re_path(r"^(?P<a>a+)", include(greedy)),  # Django never backtracks into a prefix
    path("café/<str:name>/", views.page, name="cafe"),
    path("straße/", views.page, name="strasse"),
    re_path(r"(?i)^case/(?P<word>[a-z]+)/$", views.page, name="case-insensitive"),
    re_path(r"feed\.xml$", views.Feed()),  # ends in $: Django full-matches it, ^ or not
    re_path(r"(?P<kind>rss|atom)\.xml\Z", views.Feed(), name="any-feed"),  # searched: /x/rss.xml
    re_path(r"^exact$", views.page, name="exact"),
    re_path(r"^prefix-only", views.page, name="prefix-only"),  # no $: anything after
    re_path(r"^(?:x|y)/(?P<n>\d+)/$", views.page, name="xy"),
    re_path(r"^blog/", views.page, name="blog-shadowed"),  # after blog include: rarely wins
    path("<slug:user>/", views.detail, name="vanity"),
    re_path(r"^(?P<code>[A-Z]{2,3})-(?P<num>\d+)$", views.detail, name="ticket"),
    path("<path:anything>.php", views.page, name="php"),
    # No ^ on an include() prefix: Django searches it, so it may start anywhere.
    re_path(r"old-site/", include([path("page/<int:n>/", views.page, name="old-page")])),
    # Inline flags on a prefix apply to the prefix only.
    re_path(r"(?i)^MiXeD/", include([path("exact/", views.page, name="mixed-exact")])),
    # Anchors at the start of each alternative: full-matched, then searched.
    re_path(r"^start/$|^begin/$", views.page, name="start"),
    re_path(r"^go/(?P<x>\d+)|mirror-(\d+)", views.page, name="mixed-anchor"),
    re_path(
        r"""(?x)
        ^verbose/        # the section
        (?P<num>\d+)     # a number
        /$""",
        views.page,
        name="verbose",
    ),
    re_path(r"(?x) ^ v2/ (?P<a> [a-z]+ ) / ", include([path("x/", views.page, name="v2x")])),
    # The active language's prefix only (settings.LANGUAGE_CODE while dumping).
    *i18n_patterns(path("welcome/", views.page, name="welcome")),
]
