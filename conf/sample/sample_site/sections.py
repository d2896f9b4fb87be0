"""/articles/, /projects/, /presentations/: an index, a page per item, files below it."""

from __future__ import annotations

from django.urls import path, re_path

from sample_site import views

articles = (
    [
        path("", views.index, name="index"),
        path("<slug:slug>/", views.article, name="article"),
        path("<slug:slug>/<path:file>", views.article_file, name="file"),
    ],
    "articles",
)

projects = (
    [
        path("", views.index, name="index"),
        path("<slug:project>/", views.project, name="project"),
        path("<slug:project>/<path:file>", views.project_file, name="file"),
    ],
    "projects",
)

presentations = (
    [
        path("", views.index, name="index"),
        # "logstash-metrics-sf-2012.10" has a dot: not a slug, so <str:...>.
        re_path(r"^(?P<slug>[^/]+)\.pdf$", views.presentation_pdf, name="pdf"),
        path("<str:slug>/", views.presentation, name="show"),
        path("<str:slug>/<path:file>", views.presentation_file, name="file"),
    ],
    "presentations",
)
