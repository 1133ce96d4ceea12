"""Error pages: the API answers in its own JSON shape, people get a plain page."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import server_error as html_server_error


def server_error(request: HttpRequest) -> HttpResponse:
    """500: JSON under /api/ (clients parse `detail`), Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"detail": "Internal server error; the request was not applied. Try again later."},
            status=500,
        )
    return html_server_error(request)
