"""Passwords: a manager sets a temporary one; the person chooses their own at next sign-in.

- A manager sets someone's password (not their own: that is the change page, which asks for
  the current one; a superuser's only if a superuser, as `leads.people` rules). The person
  is marked (`PasswordChangeRequired`) until they choose their own.
- While marked, every page sends them to the change page (`PasswordChangeMiddleware`). The
  mark is read once, at sign-in, into the session: a request costs no query. API keys are
  not sessions and are unaffected.
- A new password ends the person's other sessions: Django ties each session to a hash of
  the password, so those sessions are signed out at their next request; the live screens'
  poll tickets are voided at once. The session that made the change stays signed in.
"""

import logging
from collections.abc import Callable
from typing import Any

from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django_htmx.http import HttpResponseClientRedirect

from leads.live_lane import bump_ticket_epoch
from leads.models import PasswordChangeRequired
from leads.people import check_may_change

logger = logging.getLogger(__name__)

SESSION_FLAG = "leads_must_change_password"
# Where a marked person may still go: the change page itself, and out.
_OPEN_URL_NAMES = ("leads:password", "leads:logout", "leads:login")
# Not pages a person reads: machines (keys, signatures, wall links), files, live polls.
_OPEN_PREFIXES = ("/api/", "/webhooks/", "/wall/", "/static/", "/live/", "/healthz")


def set_temporary_password(by: Any, person: Any, password: str) -> None:
    """Give `person` a password `by` chose, to be changed at their next sign-in.

    Raises `PersonChangeRefused` for one's own account or another's superuser.
    """
    check_may_change(
        by, person, own="Change your own password on your password page, with the current one."
    )
    with transaction.atomic():
        person.set_password(password)
        person.save(update_fields=["password"])
        PasswordChangeRequired.objects.update_or_create(
            user=person, defaults={"set_by": by, "set_at": timezone.now()}
        )
    bump_ticket_epoch()
    logger.info("%s set a temporary password for %s", by.get_username(), person.get_username())


def must_change_password(user: Any) -> bool:
    return PasswordChangeRequired.objects.filter(user=user).exists()


def password_changed(request: HttpRequest, user: Any) -> None:
    """After a person chose their own password (already saved): the mark goes, this session
    stays signed in, the others end."""
    PasswordChangeRequired.objects.filter(user=user).delete()
    update_session_auth_hash(request, user)
    request.session.pop(SESSION_FLAG, None)
    bump_ticket_epoch()
    logger.info("%s changed their password", user.get_username())


@receiver(user_logged_in)
def _remember_the_mark(
    sender: object, request: HttpRequest | None, user: Any, **kwargs: object
) -> None:
    if request is not None and hasattr(request, "session") and must_change_password(user):
        request.session[SESSION_FLAG] = True


class PasswordChangeMiddleware:
    """Until a marked person has chosen their password, every page is the change page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.open_paths: frozenset[str] | None = None

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        # The path first: reading the session would make the wall's and the API's answers
        # vary by cookie (and cost the live lane a session read).
        session = getattr(request, "session", None)
        if self._open(request.path) or session is None or not session.get(SESSION_FLAG):
            return self.get_response(request)
        if not request.user.is_authenticated:
            # A session another device's password change ended: Django signs it out here.
            return self.get_response(request)
        change = reverse("leads:password")
        if getattr(request, "htmx", False):
            return HttpResponseClientRedirect(change)
        return redirect(f"{change}?{urlencode({'next': request.get_full_path()})}")

    def _open(self, path: str) -> bool:
        if self.open_paths is None:
            self.open_paths = frozenset(reverse(name) for name in _OPEN_URL_NAMES)
        return path in self.open_paths or path.startswith(_OPEN_PREFIXES)
