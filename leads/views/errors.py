"""Error pages: the API answers in its own JSON shape, people get a plain page."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.defaults import bad_request as html_bad_request
from django.views.defaults import server_error as html_server_error

from leads.filters import DayOutOfRange


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """400: a filter we can explain says what to change; anything else gets Django's page."""
    if isinstance(exception, DayOutOfRange):
        context = {"what": "This filter", "reason": str(exception)}
        return render(request, "leads/refused.html", context, status=400)
    return html_bad_request(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """500: JSON under /api/ (clients parse `detail`), Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"detail": "Internal server error; the request was not applied. Try again later."},
            status=500,
        )
    return html_server_error(request)
