"""The outer URLconf: includes `inner` four ways and itself once."""

from __future__ import annotations

from typing import Any

from django.urls import include, path, re_path

from tests.django_sample.views import detail, page

app_name = "outer"


def app_urls(namespace: str) -> Any:
    """A pattern list included with its own app name and `namespace`."""
    return include(
        (
            [
                path("inner/", page, name="app-view"),
                re_path(r"^inner/(?P<a>[0-9]+)/(?P<b>[0-9]+)/$", detail, name="app-view"),
            ],
            "someapp",
        ),
        namespace=namespace,
    )


urlpatterns = [
    path("normal/", page, name="normal"),
    re_path(r"^normal/(?P<a>[0-9]+)/(?P<b>[0-9]+)/$", detail, name="normal"),
    path("app1/", app_urls("app-ns1")),
    re_path(r"^in[135]/", include("tests.django_cycles.inner", namespace="in-ns1")),
    path("in2/", include("tests.django_cycles.inner", namespace="in-ns2")),
    re_path(
        r"^in-outer/(?P<outer>[0-9]+)/", include("tests.django_cycles.inner", namespace="in-o")
    ),
    path("self/", include("tests.django_cycles.outer", namespace="self")),
    path("last/", page, name="last"),
]
