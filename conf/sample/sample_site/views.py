"""Views of the sample site. Only their names matter to the dump; bodies are placeholders."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse


def _ok(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    return HttpResponse(status=200)


home = page = robots_txt = favicon = stylesheet = resume = asset = _ok
index = post = tag = archive = category = series = series_post = _ok
article = article_file = project = project_file = _ok
presentation = presentation_file = presentation_pdf = download = script = misc = _ok
