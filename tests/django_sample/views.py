"""Views of the sample project: only their identity matters (unnamed patterns use their dotted path)."""

from __future__ import annotations

import functools
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views import View


def page(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    return HttpResponse("page")


def detail(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    return HttpResponse("detail")


def listing(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    return HttpResponse("listing")


class ArticleView(View):
    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return HttpResponse("article")


class Feed:
    """A callable instance (like django.contrib.syndication's Feed)."""

    def __call__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return HttpResponse("feed")


def _render(request: HttpRequest, template: str, **kwargs: Any) -> HttpResponse:
    return HttpResponse(template)


legal = functools.partial(_render, template="legal.html")
