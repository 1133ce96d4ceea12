"""Phone numbers and WhatsApp ids (JIDs): read, stored, shown and searched in one place.

A number is stored in E.164 ("+4915112345678") and shown in its own country's international
format ("+49 1511 2345678"), both by the `phonenumbers` library (Google's libphonenumber
metadata): grouping digits by hand reads wrong in most countries. Every page, export and
screen that shows a number goes through `format_phone` or `mask_phone`.

A number typed without its country code is read as `settings.DEFAULT_PHONE_REGION` (empty:
such a number is not guessed at).
"""

import functools
import re

import phonenumbers
from django.conf import settings

_NON_DIGITS = re.compile(r"\D")
# What a person types for a number: digits, "+", spaces, dashes, dots, slashes, brackets.
_TYPED_NUMBER = re.compile(r"^\+?[\d\s\-\u2010\u2011\u2013().\/]+$")
# Shorter than this, a run of digits is as likely a keyword ("2024") as a number.
_MIN_DIGITS = 3


def default_region() -> str | None:
    """The region a number without a country code is read in (`DEFAULT_PHONE_REGION`)."""
    return getattr(settings, "DEFAULT_PHONE_REGION", "") or None


def _parse(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    """The number `text` spells, or None; "00" before a country code counts as "+"."""
    text = text.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        return phonenumbers.parse(text, None if text.startswith("+") else region)
    except phonenumbers.NumberParseException:
        return None


def normalise_phone(text: str, region: str | None = None) -> str | None:
    """E.164 ("+972521234567") from a number as written ("+972 52-123-4567"), else None.

    A number without a country code is read in `region` (default: `DEFAULT_PHONE_REGION`);
    with no region it is refused rather than guessed. A number of impossible length for its
    country is refused too.
    """
    number = _parse(text, region or default_region())
    if number is None or not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# A page shows the same numbers again and again, and parsing one is ~60 µs: a table of 50
# rows spent a third of its cells' time here. The answer depends on the number alone.
@functools.lru_cache(maxsize=8192)
def format_phone(phone: str | None) -> str:
    """An E.164 number in its country's international format: `+4915112345678` →
    `+49 1511 2345678`. "" for no number; anything unparseable is shown as it is."""
    if not phone:
        return ""
    number = _parse(phone, None)
    if number is None:
        return phone
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def mask_phone(phone: str | None) -> str:
    """Only the last four digits, for screens visitors read: `+972 52-123-4567` → `•••• 4567`."""
    digits = _NON_DIGITS.sub("", phone or "")
    if not digits:
        return "hidden number"
    return "•••• " + digits[-4:]


def search_needle(text: str) -> str:
    """What a search for `text` looks for in a lead's casefolded name, phone and keyword.

    A number is matched however it was typed: as shown (`+972 50-000-0300`), with dashes,
    brackets or dots, with or without "+", or in national format (`050-000-0300`, read in
    `DEFAULT_PHONE_REGION`). A whole number becomes its E.164 digits, a part of one its bare
    digits; both are substrings of the stored E.164. Any other text is matched casefolded.
    """
    text = text.strip()
    digits = _NON_DIGITS.sub("", text)
    if not _TYPED_NUMBER.match(text) or len(digits) < _MIN_DIGITS:
        return text.casefold()
    number = _parse(text, default_region())
    if number is not None and phonenumbers.is_valid_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]
    return digits.removeprefix("00") if text.startswith("00") else digits


def phone_from_jid(jid: str) -> str | None:
    """`12132132131@c.us` -> `+12132132131`; hidden (`@lid`) and group JIDs have no phone."""
    user, _, server = jid.partition("@")
    user = user.split(":")[0]
    if server in {"c.us", "s.whatsapp.net"} and user.isdigit() and 7 <= len(user) <= 15:
        return "+" + user
    return None


def jid_from_phone(phone: str) -> str:
    return phone.lstrip("+") + "@c.us"
