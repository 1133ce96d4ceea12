"""How long a lead has waited, said briefly: "30 s", "4 min", "3 h", "2 d".

Cards, the stale-move refusal and the wall read ages the same way; one place words them.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from leads.pipeline import Status


def short_age(then: datetime, now: datetime | None = None) -> str:
    """The time since `then` in its largest whole unit ("0 s" for the future, clock skew)."""
    seconds = max(0, int(((now or timezone.now()) - then).total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


def waiting_threshold() -> timedelta:
    """How long a new lead may wait for first contact before it is flagged."""
    return timedelta(minutes=settings.LEADS_WAITING_THRESHOLD_MINUTES)


def is_waiting_too_long(status: str, detected_at: datetime, now: datetime | None = None) -> bool:
    """True for a lead still `new` (nobody contacted it) for longer than the threshold."""
    return status == Status.NEW and (now or timezone.now()) - detected_at > waiting_threshold()
