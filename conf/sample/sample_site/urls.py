"""Root URLconf of the sample site (a personal website with a blog, articles, projects,
slides and downloads). Assets the web server usually serves (images, icons, css) are
listed too, so that the events show them under their own names."""

from __future__ import annotations

from django.urls import include, path, re_path

from sample_site import sections, views

urlpatterns = [
    path("", views.home, name="home"),
    path("about/", views.page, {"page": "about"}, name="about"),
    path("robots.txt", views.robots_txt, name="robots"),
    path("favicon.ico", views.favicon, name="favicon"),
    re_path(r"^resume\.(?P<format>xml|xsl|css)$", views.resume, name="resume"),
    re_path(r"^(?P<name>[-\w]+)\.css$", views.stylesheet, name="stylesheet"),
    re_path(r"^(?P<kind>images|icons)/(?P<name>.+)$", views.asset, name="asset"),
    path("blog/", include("sample_site.blog")),
    path("articles/", include(sections.articles)),
    path("projects/", include(sections.projects)),
    path("presentations/", include(sections.presentations)),
    path("files/", views.index, {"section": "files"}, name="files"),
    path("files/<path:path>", views.download, name="download"),
    path("scripts/", views.index, {"section": "scripts"}, name="scripts"),
    path("scripts/<path:path>", views.script, name="script"),
    path("misc/<path:path>", views.misc, name="misc"),
    path("kibana/", views.page, {"page": "kibana"}, name="kibana"),  # a hosted demo
]
