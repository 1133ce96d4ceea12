"""Response headers and shapes the mirror API shares across its endpoints."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase, JsonResponse


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
