"""System checks: a misconfigured lead source fails `manage.py check` (and every start)."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from leads.sources import SOURCE_NAMES


@register()
def check_leads_source(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """LEADS_SOURCE names a source, and the moltflow source has its URL and key."""
    source = getattr(settings, "LEADS_SOURCE", "local")
    if source not in SOURCE_NAMES:
        return [
            Error(
                f"LEADS_SOURCE is {source!r}; it must be one of {', '.join(SOURCE_NAMES)}.",
                hint="Set the LEADS_SOURCE environment variable to local or moltflow.",
                id="leads.E001",
            )
        ]
    errors: list[CheckMessage] = []
    if source == "moltflow":
        for name in ("MOLTFLOW_API_URL", "MOLTFLOW_API_KEY"):
            if not str(getattr(settings, name, "") or "").strip():
                errors.append(
                    Error(
                        f"LEADS_SOURCE is 'moltflow' but {name} is empty.",
                        hint=f"Set the {name} environment variable.",
                        id="leads.E002",
                    )
                )
    return errors
