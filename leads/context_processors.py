"""Template context every dashboard page gets: what the user's role allows, the live token
and the ticket its polls carry (see `leads.live_lane`)."""

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from leads.events import LiveToken, current_token
from leads.live_lane import issue_ticket, user_scope
from leads.roles import ACTIONS, can, user_role
from leads.sources import get_source


def _token(request: HttpRequest) -> LiveToken:
    return getattr(request, "live_token", None) or current_token()


def _ticket(request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    return issue_ticket(user_scope(user.pk), request) if user and user.is_authenticated else ""


def source_budget(request: HttpRequest) -> dict[str, Any]:
    """`source_budget`: the upstream's remaining requests, for those allowed to see it."""
    user = getattr(request, "user", None)
    return {
        "source_budget": SimpleLazyObject(
            lambda: (get_source().budget() or "") if can(user, "budget") else ""
        )
    }


def perms_ui(request: HttpRequest) -> dict[str, Any]:
    """`perms_ui.<action>` (True/False for each action of `leads.roles.ACTIONS`), `user_role`,
    `live_token` (where the event log stood when the page's data was read), `live_ticket`
    (what lets its polls skip the session, see `leads.live_lane`), `live_poll_ms`,
    `live_hold_seconds` and `live_spread_ms` (how static/js/live.js paces itself).

    Lazy: a page that shows none of it (the wall, an error page) costs no query.
    """
    user = getattr(request, "user", None)
    return {
        "perms_ui": SimpleLazyObject(lambda: {action: can(user, action) for action in ACTIONS}),
        "user_role": SimpleLazyObject(lambda: user_role(user) or ""),
        "live_token": SimpleLazyObject(lambda: _token(request)),
        "live_ticket": SimpleLazyObject(lambda: _ticket(request)),
        "live_poll_ms": getattr(settings, "LIVE_POLL_MS", 1000),
        "live_hold_seconds": getattr(settings, "LIVE_HOLD_SECONDS", 20),
        "live_spread_ms": getattr(settings, "LIVE_REFRESH_SPREAD_MS", 500),
    }


def source_health(request: HttpRequest) -> dict[str, Any]:
    """`source_health`: why and since when the lead source is failing (None while it answers).

    Lazy, so pages that do not show it cost nothing; for MoltFlow it is one shared-cache read.
    """
    return {"source_health": SimpleLazyObject(lambda: get_source().health() or "")}
