"""`/wall/<token>/`: the office screen — no login, read-only, revocable.

Three answers, none of which ever involves a session, a login page or an error page:
- `/wall/<token>/` — the whole display (first picture rendered on the server);
- `/wall/<token>/events?after=&seen=[&ticket=]` — the live token, polled every second (a
  poll with a good ticket is answered by `leads.live_lane`; this view hands tickets out);
- `/wall/<token>/snapshot` — the `wall-content` region, fetched when the token moves.

A revoked link answers 410 and an unknown one 404, each with a JSON body that says so
(`{"revoked": true}` / `{"unknown": true}`); static/js/wall.js blanks the screen only on
those bodies, so a proxy's error page during a deploy never blanks a working wall.

The page may be framed only by the origins in `WALL_FRAME_ANCESTORS` (none by default).
"""

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_GET

from leads.events import current_token
from leads.live_lane import TICKET_HEADER, issue_ticket, token_answer, wall_scope
from leads.models import WallLink, hash_wall_token
from leads.sources import get_source
from leads.sources.errors import SourceError
from leads.wall import cached_snapshot, present

ROTATE_SECONDS = 20
# How often a wall records that it is alive (seen on the wall links page).
SEEN_EVERY = timedelta(minutes=1)


def _framing(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Allow framing by `WALL_FRAME_ANCESTORS` (read per request), else keep 'none'/DENY."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        allowed = list(getattr(settings, "WALL_FRAME_ANCESTORS", []))
        if not allowed:
            return view(request, *args, **kwargs)
        policy = {**settings.SECURE_CSP, "frame-ancestors": allowed}
        return xframe_options_exempt(csp_override(policy)(view))(request, *args, **kwargs)

    return wrapped


def _link(token: str) -> WallLink | None:
    # Looked up by the token's hash: nothing secret is compared, so no timing leaks.
    return WallLink.objects.filter(token_hash=hash_wall_token(token)).first()


def _gone(request: HttpRequest, link: WallLink | None, *, json: bool) -> HttpResponse:
    status = 410 if link is not None else 404
    if json:
        key = "revoked" if link is not None else "unknown"
        return JsonResponse({key: True}, status=status)
    return render(request, "leads/wall_gone.html", {"revoked": link is not None}, status=status)


def _mark_seen(link: WallLink) -> None:
    now = timezone.now()
    if link.last_seen_at is None or now - link.last_seen_at > SEEN_EVERY:
        WallLink.objects.filter(pk=link.pk).update(last_seen_at=now)


def _content(link: WallLink) -> dict[str, Any]:
    try:
        return {"wall": present(cached_snapshot(get_source()), link), "source_error": ""}
    except SourceError as error:
        return {"wall": None, "source_error": error.detail}


@require_GET
@never_cache
@_framing
def wall_page(request: HttpRequest, token: str) -> HttpResponse:
    """The whole display, with its first picture."""
    link = _link(token)
    if link is None or link.is_revoked:
        return _gone(request, link, json=False)
    _mark_seen(link)
    live = current_token()
    context = {
        "link": link,
        "token": token,
        "live": live,
        "ticket": issue_ticket(wall_scope(token), request),
        "poll_ms": getattr(settings, "LIVE_POLL_MS", 1000),
        "hold_seconds": getattr(settings, "LIVE_HOLD_SECONDS", 20),
        "rotate_seconds": ROTATE_SECONDS if link.rotate else 0,
        **_content(link),
    }
    return render(request, "leads/wall.html", context)


@require_GET
@never_cache
def wall_events(request: HttpRequest, token: str) -> HttpResponse:
    """The live token for this wall: 204 unchanged, JSON when moved, 410 once revoked."""
    link = _link(token)
    if link is None or link.is_revoked:
        return _gone(request, link, json=True)
    _mark_seen(link)
    response = token_answer(request, current_token())
    response[TICKET_HEADER] = issue_ticket(wall_scope(token), request)
    return response


@require_GET
@never_cache
def wall_snapshot(request: HttpRequest, token: str) -> HttpResponse:
    """The `wall-content` region; 503 (kept off screen by wall.js) when the source fails."""
    link = _link(token)
    if link is None or link.is_revoked:
        return _gone(request, link, json=True)
    content = _content(link)
    status = 503 if content["source_error"] else 200
    response = render(
        request, "leads/wall.html#wall-content", {"link": link, **content}, status=status
    )
    response["X-Wall-Snapshot"] = "1"
    return response
