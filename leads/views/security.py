"""The CSRF failure answer: a plain explanation, or for htmx the `#messages` region."""

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string

TEXT = (
    "Your form was refused because this page is out of date or your session changed "
    "(for example, you signed out, or signed in again in another tab). "
    "Reload the page and try again."
)


@dataclass(frozen=True)
class Note:
    """A message shaped like the messages framework's, for pages that may have no session."""

    text: str
    tags: str = "error"

    def __str__(self) -> str:
        return self.text


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """403 for a POST without a valid CSRF token (settings.CSRF_FAILURE_VIEW)."""
    if request.headers.get("HX-Request") == "true":
        body = render_to_string("base.html#messages", {"messages": [Note(TEXT)]})
        response = HttpResponse(body, status=403)
        response["HX-Retarget"] = "#messages"
        response["HX-Reswap"] = "outerHTML"
        return response
    context = {"text": TEXT, "title": "Form refused"}
    return render(request, "leads/forbidden.html", context, status=403)
