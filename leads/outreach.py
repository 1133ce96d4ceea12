"""Outreach: one WhatsApp message to a lead, sent safely, and what it changes.

The order is the rule: a hidden number (`@lid`) cannot be messaged; a contact who never wrote
to us needs an explicit confirmation (a cold message risks WhatsApp's spam detection); the
session's pace (`OUTREACH_PER_MINUTE`) is checked under a lock; then the gateway sends. Only a
confirmed send is recorded: the message goes on the timeline and a `new` lead becomes
`contacted` through the source (history: who, "via WhatsApp message"). A failed send says why
and changes nothing.

Gateways: MoltFlow's `POST /messages/send` in moltflow mode, WAHA's `POST /api/sendText` in
local mode when `WAHA_API_URL` is set, otherwise none (the page offers a wa.me link).
"""

import logging
import re
import urllib.parse
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from leads.assignments import timeline_entry, user_label
from leads.models import (
    OutreachMessage,
    OutreachPace,
    Session,
    TimelineKind,
)
from leads.pipeline import Status
from leads.sources import user_actor
from leads.sources.base import LeadSource
from leads.sources.errors import InvalidTransition, SourceError
from leads.sources.records import LeadDetail

logger = logging.getLogger(__name__)

MESSAGE_MAX_LENGTH = 2000
HISTORY_REASON = "via WhatsApp message"
WAHA_TIMEOUT = httpx.Timeout(10.0, connect=3.0)
PLACEHOLDER = re.compile(r"\{(first_name|keyword|group)\}")


class SendRefused(Exception):
    """The message was not sent; the text says why in words a rep can act on."""


class NeedsConfirmation(SendRefused):
    """A cold message (the contact never wrote to us): send only when the rep confirms."""


class Gateway(Protocol):
    name: str

    def send(self, lead: LeadDetail, chat_id: str, text: str) -> None:
        """Send or raise `SendRefused` saying why not."""


@dataclass(frozen=True)
class Sent:
    """A confirmed send, and whether it moved the lead to `contacted`."""

    message: OutreachMessage
    moved: bool


def fill_template(body: str, lead: LeadDetail) -> str:
    """The template with its placeholders filled from the lead; nothing else is evaluated.

    (Never `str.format`: a template is user-written, and `{x.__class__}` must stay text.)
    """
    first_name = (lead.contact_name or "").split(" ")[0] if lead.contact_name else ""
    values = {
        "first_name": first_name or "there",
        "keyword": lead.matched_keyword or "",
        "group": lead.source_group.name,
    }
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], body)


def chat_id_for(lead: LeadDetail) -> str:
    """WhatsApp's chat id for the lead's number; refused when WhatsApp hid the number."""
    digits = (lead.contact_phone or "").lstrip("+")
    if not digits.isdigit():
        raise SendRefused(
            "WhatsApp hides this contact's number (an @lid member), so they cannot be "
            "messaged directly: reply to them in the group instead."
        )
    return f"{digits}@c.us"


def wa_me_link(lead: LeadDetail, text: str) -> str:
    """A `https://wa.me/<number>?text=…` link: the rep sends from their own WhatsApp."""
    digits = chat_id_for(lead).removesuffix("@c.us")
    return f"https://wa.me/{digits}?text={urllib.parse.quote(text)}"


class WahaGateway:
    """WAHA's `POST {WAHA_API_URL}/api/sendText` for the lead's session (local mode)."""

    name = "WAHA"

    def __init__(self, base_url: str, api_key: str, transport: Any = None) -> None:
        self.base_url, self.api_key, self.transport = base_url.rstrip("/"), api_key, transport

    def send(self, lead: LeadDetail, chat_id: str, text: str) -> None:
        session = Session.objects.filter(pk=lead.session_id).values_list("name", flat=True)
        body = {"session": session.first() or "default", "chatId": chat_id, "text": text}
        headers = {"X-Api-Key": self.api_key} if self.api_key else {}
        try:
            with httpx.Client(timeout=WAHA_TIMEOUT, transport=self.transport) as client:
                response = client.post(f"{self.base_url}/api/sendText", json=body, headers=headers)
        except httpx.TimeoutException:
            raise SendRefused("WAHA did not answer in time; the message may not be sent.") from None
        except httpx.HTTPError:
            raise SendRefused(f"WAHA could not be reached at {self.base_url}.") from None
        if not response.is_success:
            detail = response.text.strip()[:200] or response.reason_phrase
            raise SendRefused(f"WAHA refused the message (HTTP {response.status_code}: {detail}).")


class MoltflowGateway:
    """MoltFlow's `POST /messages/send` (scope `messages:send`) through the source's client."""

    name = "MoltFlow"

    def __init__(self, client: Any) -> None:
        self.client = client

    def send(self, lead: LeadDetail, chat_id: str, text: str) -> None:
        body = {"session_id": str(lead.session_id), "chat_id": chat_id, "message": text}
        try:
            self.client.send("POST", "/messages/send", body)
        except SourceError as error:
            raise SendRefused(f"MoltFlow did not send it: {error.detail}") from None


def gateway_for(source: LeadSource) -> Gateway | None:
    """Where messages go for this source, or None (the page offers a wa.me link)."""
    if source.name == "moltflow":
        return MoltflowGateway(source.client)  # type: ignore[attr-defined]
    if settings.WAHA_API_URL:
        return WahaGateway(settings.WAHA_API_URL, settings.WAHA_API_KEY)
    return None


def is_cold(source: LeadSource, lead: LeadDetail) -> bool:
    """True unless the contact has written to the lead's session directly (unknown: cold)."""
    try:
        return not source.reciprocity(lead.id, lead.session_id).has_messaged_first
    except SourceError:
        return True


def _reserve(lead: LeadDetail, chat_id: str, text: str, user: Any, now: datetime) -> int:
    """Take one of the session's slots of the minute, or refuse saying when to retry."""
    key = str(lead.session_id)
    limit = settings.OUTREACH_PER_MINUTE
    with transaction.atomic():
        OutreachPace.objects.get_or_create(session_key=key)
        OutreachPace.objects.select_for_update().get(session_key=key)
        window = OutreachMessage.objects.filter(
            session_key=key, sent_at__gt=now - timedelta(minutes=1)
        )
        oldest = list(window.order_by("sent_at").values_list("sent_at", flat=True)[:limit])
        if len(oldest) >= limit:
            wait = max(1, int((oldest[0] + timedelta(minutes=1) - now).total_seconds()) + 1)
            raise SendRefused(
                f"This WhatsApp number has sent {limit} messages in the last minute; "
                f"try again in {wait} s (sending faster risks a ban)."
            )
        return OutreachMessage.objects.create(
            lead_id=lead.id, session_key=key, chat_id=chat_id, text=text, user=user, sent_at=now
        ).pk


def lead_send_message(
    source: LeadSource,
    lead: LeadDetail,
    text: str,
    user: Any,
    *,
    cold_confirmed: bool,
    gateway: Gateway,
    now: datetime | None = None,
) -> Sent:
    """Send `text` to the lead and record it; `SendRefused` (changing nothing) otherwise."""
    now = now or timezone.now()
    text = text.strip()
    if not text:
        raise SendRefused("Write a message first.")
    if len(text) > MESSAGE_MAX_LENGTH:
        raise SendRefused(f"A message is at most {MESSAGE_MAX_LENGTH} characters.")
    chat_id = chat_id_for(lead)
    if not cold_confirmed and is_cold(source, lead):
        raise NeedsConfirmation(
            "They have never written to this number: a cold message risks WhatsApp's spam "
            "detection. Confirm that you want to send it anyway."
        )
    reserved = _reserve(lead, chat_id, text, user, now)
    try:
        gateway.send(lead, chat_id, text)
    except SendRefused:
        OutreachMessage.objects.filter(pk=reserved).delete()  # the slot was not used
        raise
    message = OutreachMessage.objects.get(pk=reserved)
    timeline_entry(lead.id, TimelineKind.MESSAGE, f"sent on WhatsApp: {text}", user, now).save()
    logger.info("Outreach to lead %s via %s by %s", lead.id, gateway.name, user_label(user))
    return Sent(message=message, moved=_mark_contacted(source, lead, user))


def _mark_contacted(source: LeadSource, lead: LeadDetail, user: Any) -> bool:
    """A first message makes a `new` lead `contacted`; a lead someone moved meanwhile stays."""
    if lead.status != Status.NEW:
        return False
    try:
        source.change_status(
            uuid.UUID(str(lead.id)),
            Status.CONTACTED,
            actor=user_actor(user),
            expected_status=Status.NEW,
            reason=HISTORY_REASON,
        )
    except (InvalidTransition, SourceError):
        return False
    return True
