"""Middleware for signed-in screens: idle session expiry, and the live token of each page.

**Idle expiry.** A session lasts `DASHBOARD_SESSION_IDLE_MINUTES` after the person's last
request (`SESSION_COOKIE_AGE`). Django's `SESSION_SAVE_EVERY_REQUEST` cannot be used for
that: an open screen polls `/live/events` every second and re-reads its regions on
every change, so a forgotten tab would keep its session alive for ever. Instead this
middleware renews the session on a person's own requests only — not on live polls, live
region refreshes (`X-Live-Refresh`, set by static/js/live.js) or the wall — and at most once a
minute, so a busy screen does not write its session row on every click.

**Live token.** A full page records where the event log stood *before* its view read any
data (`request.live_token`, rendered into base.html). A change committed while the page was
being built then makes the first poll differ, so the page re-reads it; reading the token
after the data could silently miss it.
"""

import time
from collections.abc import Callable

from django.contrib.auth import SESSION_KEY
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponseBase

from leads.events import current_token
from leads.live_lane import bump_ticket_epoch

# Session key holding the time (epoch seconds) the session was last renewed.
LAST_ACTIVE_KEY = "_leads_last_active"
RENEW_AFTER_SECONDS = 60
# Requests that are not a person acting: they never extend a session.
PASSIVE_PREFIXES = ("/live/", "/wall/", "/static/", "/healthz")
LIVE_REFRESH_HEADER = "X-Live-Refresh"


def is_passive(request: HttpRequest) -> bool:
    """True for requests a screen makes on its own (polls, live refreshes, the wall)."""
    return request.path.startswith(PASSIVE_PREFIXES) or LIVE_REFRESH_HEADER in request.headers


class IdleSessionMiddleware:
    """Renew a signed-in session on the person's own requests (at most once a minute)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is None or session.is_empty() or is_passive(request):
            return response
        if SESSION_KEY not in session:
            return response  # nobody is signed in: no session to keep alive
        now = int(time.time())
        last = session.get(LAST_ACTIVE_KEY, 0)
        if not isinstance(last, int) or now - last >= RENEW_AFTER_SECONDS:
            # Changing the session makes SessionMiddleware save it, which pushes both the
            # cookie's and the stored session's expiry SESSION_COOKIE_AGE into the future.
            session[LAST_ACTIVE_KEY] = now
        return response


class LiveTokenMiddleware:
    """Read the live token before a signed-in full-page GET runs its view."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if (
            request.method == "GET"
            and not getattr(request, "htmx", False)
            and not request.path.startswith(("/api/", "/static/", "/wall/", "/live/", "/admin/"))
            and request.user.is_authenticated
        ):
            request.live_token = current_token()  # type: ignore[attr-defined]
        return self.get_response(request)


@receiver(user_logged_in)
def _mark_fresh_login(sender: object, request: HttpRequest | None, **kwargs: object) -> None:
    # Signing in just saved the session with a full idle period: no renewal needed yet.
    if request is not None and hasattr(request, "session"):
        request.session[LAST_ACTIVE_KEY] = int(time.time())


@receiver(user_logged_out)
def _void_tickets_on_sign_out(sender: object, **kwargs: object) -> None:
    # The signed-out screen's next poll meets the session check instead of the fast lane.
    bump_ticket_epoch()
