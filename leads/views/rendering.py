"""How a dashboard view answers: the whole page, or the one region htmx asked for."""

from collections.abc import Collection
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.cache import patch_vary_headers
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """A request as views see it: django-htmx's middleware (on for every view) adds `htmx`."""

    htmx: HtmxDetails


def htmx_region(request: HttpRequest, regions: Collection[str]) -> str | None:
    """The region (DOM id = partial name) to render alone, or None for the whole page.

    Only a plain htmx request that targets one of this page's regions gets a fragment: a
    boosted navigation or a history restore (cache miss after Back) needs the whole page.
    """
    htmx = getattr(request, "htmx", None)
    if not htmx or htmx.boosted or htmx.history_restore_request:
        return None
    return htmx.target if htmx.target in regions else None


def render_region(
    request: HttpRequest,
    template_name: str,
    context: dict[str, Any],
    *,
    regions: Collection[str],
    status: int = 200,
) -> HttpResponse:
    """Render `template_name`, or only its `#<region>` partial for an htmx request.

    A fragment carries pending messages out of band, so a refusal is never lost. The response
    always varies on HX-Request: a cache must never hand a fragment to a full-page load.
    """
    region = htmx_region(request, regions)
    if region is None:
        response = render(request, template_name, context, status=status)
    else:
        response = render(request, f"{template_name}#{region}", context, status=status)
        if len(messages.get_messages(request)):
            response.content += render_to_string("base.html#messages", request=request).encode()
    patch_vary_headers(response, ("HX-Request",))
    return response
