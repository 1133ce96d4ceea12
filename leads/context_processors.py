"""Template context every dashboard page gets: what the user's role allows, and the live token."""

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from leads.events import LiveToken, current_token
from leads.roles import ACTIONS, can, user_role
from leads.sources import get_source


def _token(request: HttpRequest) -> LiveToken:
    return getattr(request, "live_token", None) or current_token()


def perms_ui(request: HttpRequest) -> dict[str, Any]:
    """`perms_ui.<action>` (True/False for each action of `leads.roles.ACTIONS`), `user_role`,
    and `live_token` (where the event log stood when the page's data was read).

    Lazy: a page that shows none of it (the wall, an error page) costs no query.
    """
    user = getattr(request, "user", None)
    return {
        "perms_ui": SimpleLazyObject(lambda: {action: can(user, action) for action in ACTIONS}),
        "user_role": SimpleLazyObject(lambda: user_role(user) or ""),
        "live_token": SimpleLazyObject(lambda: _token(request)),
    }


def source_health(request: HttpRequest) -> dict[str, Any]:
    """`source_health`: why and since when the lead source is failing (None while it answers).

    Lazy, so pages that do not show it cost nothing; for MoltFlow it is one shared-cache read.
    """
    return {"source_health": SimpleLazyObject(lambda: get_source().health() or "")}
