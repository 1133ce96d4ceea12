"""The project's URLs plus two views that fail, to see the project's own 500 handler answer."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from dashboard.urls import handler400, handler500
from dashboard.urls import urlpatterns as project_urlpatterns

__all__ = ["handler400", "handler500", "urlpatterns"]

SECRET_DETAIL = "s3cret-detail-that-must-not-leak"


def fail(request: HttpRequest) -> HttpResponse:
    raise RuntimeError(SECRET_DETAIL)


urlpatterns = [
    path("api/v2/test-failure", fail),
    path("leads/test-failure", fail),
    *project_urlpatterns,
]
