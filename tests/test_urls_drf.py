"""Django REST framework URLconfs: routers and format suffixes, checked against Django.

A real project (DRF installed, DefaultRouter with regex routes and with path() routes,
format_suffix_patterns with and without `allowed`, a prefix capture above suffixed
routes): `urls dump` runs as the command, Django resolves the same paths in the project's
own process, and the resolver must give the same view names and params (Django's kwargs
without extra kwargs), e.g. `/v2/.json/` -> format "json" (DRF's converter strips the dot
and the slash).
"""

from __future__ import annotations

from pathlib import Path

from tests._urls_oracle import corpus, django_in_subprocess, dump_in_subprocess, project, same
from warehouse.events.patterns import load_resolver

SETTINGS = """
INSTALLED_APPS = ['django.contrib.contenttypes', 'django.contrib.auth', 'rest_framework']
"""

URLS = """
from django.urls import include, path, re_path
from rest_framework import routers, viewsets
from rest_framework.decorators import action, api_view
from rest_framework.response import Response
from rest_framework.urlpatterns import format_suffix_patterns


class ItemViewSet(viewsets.ViewSet):
    def list(self, request, format=None):
        return Response([])

    def retrieve(self, request, pk=None, format=None):
        return Response({})

    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None, format=None):
        return Response({})

    @action(detail=False)
    def recent(self, request, format=None):
        return Response([])


class UserViewSet(viewsets.ViewSet):
    lookup_field = "username"

    def list(self, request, format=None):
        return Response([])

    def retrieve(self, request, username=None, format=None):
        return Response({})


class TicketViewSet(viewsets.ViewSet):
    lookup_value_converter = "int"

    def list(self, request, format=None):
        return Response([])

    def retrieve(self, request, pk=None, format=None):
        return Response({})


@api_view(["GET"])
def ping(request, format=None, **kwargs):
    return Response({})


regex_router = routers.DefaultRouter()
regex_router.register("items", ItemViewSet, basename="item")
regex_router.register("users", UserViewSet, basename="user")

path_router = routers.DefaultRouter(use_regex_path=False)
path_router.register("items", ItemViewSet, basename="item")
path_router.register("users", UserViewSet, basename="user")
path_router.register("tickets", TicketViewSet, basename="ticket")

account = format_suffix_patterns([
    path("orders/<int:order_id>/", ping, name="order"),
    path("profile/", ping, {"section": "main"}, name="profile"),
])
limited = format_suffix_patterns([path("only/<slug:s>/", ping, name="only")], allowed=["json", "html"])
legacy = format_suffix_patterns([re_path(r"^legacy/(?P<pk>[0-9]+)/$", ping, name="legacy")])

urlpatterns = [
    path("api/", include(regex_router.urls)),
    path("v2/", include((path_router.urls, "v2"))),
    path("users/<int:user_id>/", include(account)),
    path("x/", include(limited)),
    path("", include(legacy)),
]
"""

FIXED = [
    "/api/",
    "/api/.json",
    "/api/.json/",
    "/api/items.json",
    "/api/items/5.api",
    "/api/items/5/publish.json",
    "/v2/",
    "/v2/.json",
    "/v2/.json/",
    "/v2/.api/",
    "/v2/.JSON/",
    "/v2/items.json",
    "/v2/items.json/",
    "/v2/items/5.json",
    "/v2/items/5/publish.json/",
    "/v2/items/recent.api",
    "/v2/users/bob.json",
    "/v2/users/bob.smith.json",
    "/v2/tickets/0012.json",
    "/v2/tickets/0012/",
    "/users/42/orders/7/",
    "/users/0042/orders/007.json",
    "/users/42/profile.json",
    "/users/42/profile/",
    "/x/only/abc.json",
    "/x/only/abc.html/",
    "/x/only/abc.xml",
    "/legacy/12.json",
    "/legacy/12/",
]


def test_drf_routers_and_format_suffixes_agree_with_django(tmp_path: Path) -> None:
    project(tmp_path, "drfsite", SETTINGS, URLS)
    patterns, stderr, dump = dump_in_subprocess(tmp_path, "drfsite")
    assert "cannot reproduce" not in stderr and "WARNING" not in stderr, stderr
    by_name = {p["name"]: p for p in patterns}
    assert by_name["v2:api-root"]["convert"] == {"format": "drf_format_suffix"}
    assert by_name["v2:ticket-detail"]["convert"]["pk"] == "int"
    assert "extra" not in by_name["profile"]  # its extra kwarg names no capture

    r = load_resolver(str(dump))
    assert r.resolve("/v2/.json/") == ("v2:api-root", {"format": "json"})
    assert r.resolve("/v2/items/5/publish.json") == (
        "v2:item-publish",
        {"pk": "5", "format": "json"},
    )
    assert r.resolve("/users/0042/orders/007.json") == (
        "order",
        {"user_id": "42", "order_id": "7", "format": "json"},
    )
    assert r.resolve("/users/42/profile.json") == ("profile", {"user_id": "42", "format": "json"})
    assert r.resolve("/x/only/abc.xml") == (None, {})

    paths = corpus(patterns, seed=9, per_pattern=4, fixed=FIXED)
    theirs = django_in_subprocess(tmp_path, "drfsite", paths)
    bad = [
        (p, r.resolve(p), t)
        for p, t in zip(paths, theirs, strict=True)
        if not same(r.resolve(p), t)
    ]
    assert not bad, f"{len(bad)} of {len(paths)} differ, e.g. {bad[:5]}"
    matched = sum(1 for t in theirs if t[0])
    assert len(paths) // 4 < matched < len(paths)
    assert sum(1 for t in theirs if "format" in t[1]) > 50  # suffixed routes are exercised
