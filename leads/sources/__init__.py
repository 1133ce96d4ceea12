"""Where the dashboard's leads come from: `get_source()` returns the configured `LeadSource`.

`LEADS_SOURCE=local` reads this deployment's own store; `LEADS_SOURCE=moltflow` reads the
MoltFlow account at `MOLTFLOW_API_URL` with `MOLTFLOW_API_KEY`.
"""

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from leads.models import ActorKind
from leads.services import Actor
from leads.sources.base import LeadSource

SOURCE_NAMES = ("local", "moltflow")


def get_source() -> LeadSource:
    """The source `settings.LEADS_SOURCE` names (cheap: the HTTP pool is per process)."""
    name = settings.LEADS_SOURCE
    if name == "local":
        from leads.sources.local import LocalSource

        return LocalSource()
    if name == "moltflow":
        from leads.sources.moltflow import MoltflowSource

        return MoltflowSource.from_settings()
    raise ImproperlyConfigured(
        f"LEADS_SOURCE must be one of {', '.join(SOURCE_NAMES)}, not {name!r}."
    )


def user_actor(user: Any) -> Actor:
    """The actor for a change a logged-in person makes from the dashboard."""
    return Actor(kind=ActorKind.USER, user_id=user.pk, label=user.get_username())


__all__ = ["Actor", "LeadSource", "get_source", "user_actor"]
