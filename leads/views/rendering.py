"""How a dashboard view answers: the whole page, or the one region htmx asked for."""

import hashlib
import secrets
import time
from collections.abc import Callable, Collection
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.cache import patch_vary_headers
from django_htmx.middleware import HtmxDetails

from leads.events import current_token
from leads.live import is_live_refresh

# Stands in for the CSRF token in a shared rendering; each screen gets its own put back.
# Random per process, so nothing a group member writes can spell it.
_CSRF_STAND_IN = f"csrf{secrets.token_hex(16)}"
# A screen that finds another rendering the same view waits for it (checking the cache after
# 0.05 s, then less and less often), up to this many seconds: on a busy machine one rendering
# can take seconds, and a screen that gave up and rendered too would only add to the queue.
_WAIT_SECONDS = 10.0


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


def render_shared_region(
    request: HttpRequest,
    template_name: str,
    region: str,
    make_context: Callable[[], dict[str, Any]],
    *,
    varies_on: tuple[object, ...],
) -> HttpResponse:
    """`#<region>` for a screen's live refresh, rendered once per change and shared.

    After a change every open screen re-reads the same region within a second. Screens that
    show the same view (`varies_on`: the query, the role, whatever else the view reads) at
    the same live token get one rendering, kept in the shared cache for
    `LIVE_SHARED_RENDER_SECONDS` (ages on cards move with the clock alone); each gets its own
    CSRF token put back. The token is read before the data, so a rendering is never older
    than its key says. Anything else (a person's own request, pending messages) renders as
    usual. Exceptions from `make_context` reach the caller.
    """
    if not is_live_refresh(request) or len(messages.get_messages(request)):
        return render_region(request, template_name, make_context(), regions=(region,))
    token = current_token()
    view = repr((template_name, region, token.last, token.seen, varies_on))
    key = f"leads:shared-region:{hashlib.sha256(view.encode()).hexdigest()}"
    content = cache.get(key)
    if content is None:
        content = _render_once(
            key,
            lambda: render_to_string(
                f"{template_name}#{region}",
                {**make_context(), "csrf_token": _CSRF_STAND_IN},
                request=request,
            ),
        )
    response = HttpResponse(content.replace(_CSRF_STAND_IN, get_token(request)))
    patch_vary_headers(response, ("HX-Request",))
    return response


def _render_once(key: str, render_content: Callable[[], str]) -> str:
    """Render and share `key`, unless another request is rendering it: then wait for that."""
    lock = f"{key}:rendering"
    rendering_here = cache.add(lock, 1, timeout=_WAIT_SECONDS)
    if not rendering_here:
        if not connection.in_atomic_block:
            connection.close()  # a waiting request keeps no idle database connection
        step, waited = 0.05, 0.0
        while waited < _WAIT_SECONDS:
            time.sleep(step)
            waited += step
            if (content := cache.get(key)) is not None:
                return str(content)
            if cache.get(lock) is None:  # finished just now, or failed
                if (content := cache.get(key)) is not None:
                    return str(content)
                break  # the other rendering failed: this screen renders its own
            step = min(step * 1.5, 0.5)
    try:
        content = render_content()
        cache.set(key, content, getattr(settings, "LIVE_SHARED_RENDER_SECONDS", 30))
    finally:
        if rendering_here:
            cache.delete(lock)
    return content
