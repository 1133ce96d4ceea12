"""Response headers that several views share."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase


class RateLimitHeadersMiddleware:
    """Adds `X-RateLimit-*` to every mirror-API response whose key was counted."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        rate = getattr(request, "rate_limit", None)
        if rate is not None:
            for name, value in rate.headers().items():
                response[name] = value
        return response
