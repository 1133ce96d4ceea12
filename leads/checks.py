"""System checks: a misconfigured lead source fails `manage.py check` (and every start);
a webhook open to guessing fails `manage.py check --deploy` (and `bash dev.sh prod`)."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

from leads.sources import SOURCE_NAMES
from leads.throttle import proxy_networks


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


@register()
def check_forwarded_allow_ips(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Every `FORWARDED_ALLOW_IPS` entry is an address or network, so no proxy is misread."""
    try:
        proxy_networks(tuple(entry for entry in settings.FORWARDED_ALLOW_IPS if entry != "*"))
    except ValueError as error:
        return [
            Error(
                f"FORWARDED_ALLOW_IPS has an entry that is not an address or network: {error}",
                hint="List your proxies' addresses or networks, comma-separated "
                "(10.0.0.2,10.1.0.0/16).",
                id="leads.E011",
            )
        ]
    return []
