"""System checks: a misconfigured lead source fails `manage.py check` (and every start);
a webhook open to guessing fails `manage.py check --deploy` (and `bash dev.sh prod`)."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

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


# Shorter secrets can be guessed or were typed by hand; `bash dev.sh serve` makes 43 characters.
MIN_WEBHOOK_SECRET_LENGTH = 32
WEBHOOK_SECRETS = ("WAHA_WEBHOOK_SECRET", "MOLTFLOW_WEBHOOK_SECRET")


@register(Tags.security, deploy=True)
def check_webhook_secrets(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Each webhook is either closed (no secret) or guarded by a secret too long to guess."""
    errors: list[CheckMessage] = []
    for name in WEBHOOK_SECRETS:
        secret = getattr(settings, name, "") or ""
        if secret and (len(secret) < MIN_WEBHOOK_SECRET_LENGTH or secret != secret.strip()):
            errors.append(
                Error(
                    f"{name} is set but shorter than {MIN_WEBHOOK_SECRET_LENGTH} characters: "
                    "its webhook is open to anyone who guesses it.",
                    hint=f"Set {name} to a long random string (python -c 'import secrets; "
                    "print(secrets.token_urlsafe(32))'), the same one the sender signs with; "
                    "or leave it empty to keep the webhook closed.",
                    id="leads.E010",
                )
            )
    return errors
