"""The inner URLconf: includes `outer` back."""

from __future__ import annotations

from django.urls import include, path, re_path

from tests.django_cycles.outer import app_urls
from tests.django_sample.views import detail, page

app_name = "inner"

urlpatterns = [
    path("normal/", page, name="in-normal"),
    re_path(r"^normal/(?P<a>[0-9]+)/(?P<b>[0-9]+)/$", detail, name="in-normal"),
    path("app3/", app_urls("app-ns3")),
    path("back/", include("tests.django_cycles.outer", namespace="back")),
    re_path(r"^(?P<tail>[a-z]+)/$", page, name="in-tail"),
]
