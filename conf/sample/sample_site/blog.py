"""/blog/: categorised posts (`geekery/ssl-latency.html`), series, tags, date archives."""

from __future__ import annotations

from django.urls import path, re_path

from sample_site import views

app_name = "blog"

urlpatterns = [
    path("", views.index, name="index"),
    # "/blog/tags/puppet", "/blog/tags/jquery%20mobile": no trailing slash on this site.
    re_path(r"^tags/(?P<tag>[^/]+)/?$", views.tag, name="tag"),
    # "/blog/2007/Jan/31": year, then optional month and day.
    re_path(
        r"^(?P<year>[0-9]{4})/(?:(?P<month>[A-Z][a-z]{2})/?(?:(?P<day>[0-9]{1,2})/?)?)?$",
        views.archive,
        name="archive",
    ),
    # "/blog/growing-logstash-value.html": a post outside any category.
    re_path(r"^(?P<slug>[-\w.]+)\.html$", views.post, name="page"),
    path("<slug:category>/", views.category, name="category"),
    # "/blog/geekery/ssl-latency.html", also the older links without ".html".
    re_path(r"^(?P<category>[-\w]+)/(?P<slug>[-\w.]+?)(?:\.html)?$", views.post, name="post"),
    # "/blog/articles/week-of-unix-tools/day-5-xargs.html", "/blog/projects/xdotool/".
    path("<slug:category>/<slug:series>/", views.series, name="series"),
    re_path(
        r"^(?P<category>[-\w]+)/(?P<series>[-\w]+)/(?P<slug>[-\w.]+)\.html$",
        views.series_post,
        name="series-post",
    ),
]
