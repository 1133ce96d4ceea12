"""Middleware: the mirror API's shared headers and shapes; the lead source's failures."""

import math
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers

from leads.client import process_clock
from leads.deadline import within
from leads.sources.errors import (
    Forbidden,
    NotFound,
    RateLimited,
    SourceError,
    Unavailable,
    Unsupported,
)


class ApiResponseMiddleware:
    """For `/api/v2/`: `X-RateLimit-*` on every response whose key was counted, and a JSON
    `{"detail": …}` body for the 405 that the router itself answers (every error is JSON)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if not request.path.startswith("/api/v2/"):
            return response
        if response.status_code == 405 and "json" not in response.get("Content-Type", ""):
            allowed = response.get("Allow", "")
            use = allowed or "another method"
            response = JsonResponse(
                {"detail": f"{request.method} is not allowed here; use {use}."},
                status=405,
                headers={"Allow": allowed} if allowed else None,
            )
        rate = getattr(request, "rate_limit", None)
        if rate is not None:
            for name, value in rate.headers().items():
                response[name] = value
        return response


class NoStoreMiddleware:
    """`Cache-Control: no-store` on everything a signed-in person or an API key is answered.

    Those pages, regions and exports carry full phone numbers and names; neither the browser
    (back button, disk cache on a shared computer) nor a proxy may keep them. Static files
    and the wall (whose views set their own headers) are left alone.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if request.path.startswith(("/wall/", "/static/")):
            return response  # never read the session there (the wall must not touch it)
        user = getattr(request, "user", None)
        if request.path.startswith("/api/") or (user is not None and user.is_authenticated):
            add_never_cache_headers(response)
        return response


class UpstreamMiddleware:
    """The lead source's failures, handled once for every page and action.

    A request's upstream calls share one total deadline (`MOLTFLOW_DEADLINE_SECONDS`), and a
    source error no view handled becomes a page that says what failed and when to retry —
    503 for an outage or a spent budget — never a 500.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        with within(float(settings.MOLTFLOW_DEADLINE_SECONDS), process_clock()):
            return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, SourceError) or request.path.startswith("/api/"):
            return None
        return source_error_page(request, exception)


# Retry hint when the upstream gave none: long enough for a blip to pass.
DEFAULT_RETRY_SECONDS = 30


def source_error_page(request: HttpRequest, error: SourceError) -> HttpResponse:
    """The page for a source error: what failed, since when, and when to try again."""
    status, retry_after = 502, None
    if isinstance(error, Unavailable | RateLimited):
        status = 503
        retry_after = math.ceil(error.retry_after or DEFAULT_RETRY_SECONDS)
    elif isinstance(error, Forbidden):
        status = 403
    elif isinstance(error, NotFound):
        status = 404
    elif isinstance(error, Unsupported):
        status = 400
    context = {
        "detail": error.detail,
        "since": getattr(error, "since", None),
        "retry_after": retry_after,
    }
    response = render(request, "leads/unavailable.html", context, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response
