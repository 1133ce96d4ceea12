"""Phone numbers and WhatsApp ids (JIDs)."""

import re

_NON_DIGITS = re.compile(r"\D")


def normalise_phone(text: str) -> str | None:
    """E.164 ("+972521234567") from a formatted number ("+972 52-123-4567"), else None.

    Only numbers written with their country code (a leading "+" or "00") are accepted:
    a local number cannot be placed in E.164 without guessing the country.
    """
    text = text.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    if not text.startswith("+"):
        return None
    digits = _NON_DIGITS.sub("", text)
    if not 7 <= len(digits) <= 15 or digits.startswith("0"):
        return None
    return "+" + digits


def phone_from_jid(jid: str) -> str | None:
    """`12132132131@c.us` -> `+12132132131`; hidden (`@lid`) and group JIDs have no phone."""
    user, _, server = jid.partition("@")
    user = user.split(":")[0]
    if server in {"c.us", "s.whatsapp.net"} and user.isdigit() and 7 <= len(user) <= 15:
        return "+" + user
    return None


def jid_from_phone(phone: str) -> str:
    return phone.lstrip("+") + "@c.us"
