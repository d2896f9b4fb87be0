"""The blog app: path converters, overlapping routes, re_path with optional groups."""

from __future__ import annotations

from django.urls import path, re_path

from tests.django_sample import views

app_name = "blog"

urlpatterns = [
    path("", views.listing, name="index"),
    # Order matters: "archive" is a valid slug, so the slug route below shadows nothing
    # only because "archive/" comes first.
    path("archive/", views.listing, name="archive"),
    path("<slug:slug>/", views.detail, name="post-by-slug"),
    path("<yyyy:year>/", views.listing, name="year"),
    path("<yyyy:year>/<int:month>/", views.listing, name="month"),
    path("<yyyy:year>/<int:month>/<slug:slug>/", views.ArticleView.as_view(), name="post"),
    path("<int:year>/<int:month>/<slug:slug>/", views.detail, name="post-loose"),
    path("id/<int:pk>/", views.detail, name="post"),  # duplicate name: both resolve
    path("tag/<str:tag>/", views.listing, name="tag"),
    path("tag/<str:tag>/page/<int:page>/", views.listing, name="tag"),
    path("by/<hex:author>/", views.listing, name="author"),
    path("popular/", views.listing, {"order": "hits", "slug": "fixed"}, name="popular"),
    re_path(r"^page/(?P<page>\d+)?/?$", views.listing, name="page"),
    re_path(
        r"^(?P<year>\d{4})/(?:(?P<month>\d{2})/(?:(?P<day>\d{2})/)?)?$", views.listing, name="date"
    ),
    re_path(r"^old/(\d+)/$", views.detail, name="old-positional"),
    re_path(r"^mixed/(\d+)/(?P<slug>[-\w]+)/$", views.detail, name="old-mixed"),
    re_path(r"^(?P<slug>[-\w]+)\.(?P<fmt>html|txt|json)$", views.detail, name="post-format"),
    path("feed/", views.Feed(), name="feed"),
    path("<slug:slug>/comments/", views.listing),  # unnamed
    re_path(r"^(?P<w>[a-z]+)/(?P=w)/$", views.detail, name="echo"),
    re_path(r"^twice/(\w+)-\1/$", views.detail, name="twice"),
]
