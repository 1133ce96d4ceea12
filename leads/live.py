"""Middleware for signed-in screens: idle session expiry, and the live token of each page.

**Idle expiry.** A session lasts `DASHBOARD_SESSION_IDLE_MINUTES` after the person's last
request (`SESSION_COOKIE_AGE`). Django's `SESSION_SAVE_EVERY_REQUEST` cannot be used for
that: an open screen polls `/live/events` every second and re-reads its regions on
every change, so a forgotten tab would keep its session alive for ever. Instead this
middleware renews the session on a person's own requests only — not on live polls, live
region refreshes (`X-Live-Refresh`, set by static/js/live.js) or the wall — at most once a
step (a tenth of the idle time, at most a minute), so a busy screen does not write its
session row on every click; each renewal adds that step to the session's life, so a click
that did not renew still has the whole idle time after it (`renew`).

**Live token.** A full page records where the event log stood *before* its view read any
data (`request.live_token`, rendered into base.html). A change committed while the page was
being built then makes the first poll differ, so the page re-reads it; reading the token
after the data could silently miss it.
"""

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.contrib.sessions.backends.base import SessionBase
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponseBase

from leads.events import current_token
from leads.live_lane import bump_ticket_epoch

# Session key holding the time (epoch seconds) the session was last renewed.
LAST_ACTIVE_KEY = "_leads_last_active"
# Requests that are not a person acting: they never extend a session.
PASSIVE_PREFIXES = ("/live/", "/wall/", "/static/", "/healthz")
LIVE_REFRESH_HEADER = "X-Live-Refresh"


def is_live_refresh(request: HttpRequest) -> bool:
    """True for a screen re-reading a region after a change (static/js/live.js marks it)."""
    return LIVE_REFRESH_HEADER in request.headers


def is_passive(request: HttpRequest) -> bool:
    """True for requests a screen makes on its own (polls, live refreshes, the wall)."""
    return request.path.startswith(PASSIVE_PREFIXES) or is_live_refresh(request)


def renewal_step() -> int:
    """Seconds between renewals: a tenth of the idle time, at most a minute, at least 1 s."""
    return max(1, min(60, settings.SESSION_COOKIE_AGE // 10))


def renew(session: SessionBase, now: int) -> None:
    """Let the session live the idle time plus one step from now.

    A request within a step of the last renewal does not renew, so the session must outlast
    the idle time by that step: then a person's last click always has the full idle time
    after it, and an idle session ends at most one step later than the setting says.
    Changing the session makes SessionMiddleware save it (cookie and stored expiry alike).
    """
    session[LAST_ACTIVE_KEY] = now
    session.set_expiry(settings.SESSION_COOKIE_AGE + renewal_step())


class IdleSessionMiddleware:
    """Renew a signed-in session on the person's own requests (at most once a step)."""

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
        if not isinstance(last, int) or now - last >= renewal_step():
            renew(session, now)
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
    # Signing in starts a full idle period (plus one step, as every renewal does).
    if request is not None and hasattr(request, "session"):
        renew(request.session, int(time.time()))


@receiver(user_logged_out)
def _void_tickets_on_sign_out(sender: object, **kwargs: object) -> None:
    # The signed-out screen's next poll meets the session check instead of the fast lane.
    bump_ticket_epoch()
