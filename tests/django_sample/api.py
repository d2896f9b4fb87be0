"""A versioned API with nested namespaces ("api:v1:...", "api:v2:...")."""

from __future__ import annotations

from django.urls import include, path, re_path

from tests.django_sample import views

RESOURCES = [
    "users",
    "orders",
    "products",
    "invoices",
    "coupons",
    "reviews",
    "carts",
    "payments",
    "shipments",
    "refunds",
    "stores",
    "webhooks",
]


def _resource(name: str, version: int) -> list:
    routes = [
        path(f"{name}/", views.listing, name=f"{name}-list"),
        path(f"{name}/<int:pk>/", views.detail, name=f"{name}-detail"),
        path(f"{name}/<uuid:uid>/", views.detail, name=f"{name}-by-uuid"),
        path(f"{name}/<int:pk>/history/", views.listing, name=f"{name}-history"),
    ]
    if version == 2:
        routes.append(path(f"{name}/<int:pk>/<path:field>", views.detail, name=f"{name}-field"))
    return routes


v1 = ([r for n in RESOURCES for r in _resource(n, 1)], "v1")
v2 = ([r for n in RESOURCES for r in _resource(n, 2)], "v2")

app_name = "api"
urlpatterns = [
    path("v1/", include(v1)),
    path("v2/", include(v2)),
    re_path(
        r"^v(?P<version>[3-9])/",
        include(([path("<path:rest>", views.detail, name="future")], "vx")),
    ),
    path("", views.listing, name="root"),
]
