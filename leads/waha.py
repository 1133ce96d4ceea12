"""WAHA webhooks (CONTRACT §2): signature check, typed events, and what each event changes.

The view hands over raw bytes; this module checks the signature, turns the JSON into typed
events (raising `WahaPayloadError` for what it cannot read) and applies an event in one
transaction. Nothing above it reads WAHA's JSON.
"""

import hashlib
import hmac
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from leads.detection import GroupMessageIn, clean_text, ingest_group_message
from leads.models import InboundMessage, MonitoredGroup, Session
from leads.monitoring import record_seen_group
from leads.phones import jid_from_phone, phone_from_jid

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
DEFAULT_ALGORITHM = "sha512"
SIGNATURE_ALGORITHMS: dict[str, Callable[..., Any]] = {
    "sha512": hashlib.sha512,
    "sha256": hashlib.sha256,
}
MESSAGE_EVENTS = frozenset({"message", "message.any"})
# CONTRACT §2 lists STOPPED, STARTING, SCAN_QR_CODE, WORKING and FAILED. A newer WAHA may
# add others: those are kept as sent (a session status is only shown), if they look like one.
_STATUS_SHAPE = re.compile(r"[A-Z][A-Z_]{0,19}")


class WahaPayloadError(Exception):
    """An event this endpoint cannot read; the message is a sentence for the sender."""


class UnknownSession(Exception):
    """An event for a session nobody configured here (sessions are never made by events)."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(
            f"No session named {name[:100]!r} is configured here; add it first "
            "(POST /api/v2/sessions or the admin)."
        )


def signature_is_valid(
    secret: str, body: bytes, signature: str | None, algorithm: str | None
) -> bool:
    """True when `signature` is the hex HMAC of the raw `body` with `secret`.

    `algorithm` is the `X-Webhook-Hmac-Algorithm` header: sha512 when absent, sha256 also
    accepted, anything else refused.
    """
    digest = SIGNATURE_ALGORITHMS.get((algorithm or DEFAULT_ALGORITHM).strip().lower())
    if digest is None or not signature:
        return False
    expected = hmac.new(secret.encode(), body, digest).hexdigest()
    provided = signature.strip().lower()
    # compare_digest refuses non-ASCII str; such a header cannot be a hex digest anyway.
    return provided.isascii() and hmac.compare_digest(expected, provided)


def sign(secret: str, body: bytes, algorithm: str = DEFAULT_ALGORITHM) -> str:
    """The hex HMAC WAHA sends for `body` (for tests and for replaying events by hand)."""
    return hmac.new(secret.encode(), body, SIGNATURE_ALGORITHMS[algorithm]).hexdigest()


@dataclass(frozen=True)
class WahaMessage:
    id: str
    chat_jid: str
    sender_jid: str  # normalised: `<digits>@c.us` when it carries a phone
    sender_phone: str | None
    sender_name: str
    from_me: bool
    body: str
    sent_at: datetime

    @property
    def is_group(self) -> bool:
        return self.chat_jid.endswith("@g.us")

    @property
    def is_direct(self) -> bool:
        return self.chat_jid.endswith(("@c.us", "@s.whatsapp.net", "@lid"))


@dataclass(frozen=True)
class WahaEvent:
    kind: str
    session_name: str
    me_jid: str | None = None
    message: WahaMessage | None = None
    status: str | None = None


def own_ids(me: object) -> frozenset[str]:
    """Every id the envelope's `me` names the account by: its number and its hidden `@lid`.

    WAHA reports what the account sends from its phone into a group as `fromMe: false` from
    its own `@lid` (WAHA issue 1005); `me.lid` (WAHA issue 1015) is how it is recognised.
    """
    if not isinstance(me, dict):
        return frozenset()
    ids = (_text(me.get(field)) for field in ("id", "lid"))
    return frozenset(normalise_jid(clean_text(jid)) for jid in ids if jid and len(jid) <= 100)


def normalise_jid(jid: str) -> str:
    """One spelling per contact: `<digits>@c.us` for any JID carrying a phone number, and a
    hidden `<digits>@lid` without the device a linked phone adds (`…:31@lid`)."""
    phone = phone_from_jid(jid)
    if phone:
        return jid_from_phone(phone)
    user, at, server = jid.partition("@")
    return f"{user.split(':')[0]}{at}{server}" if server == "lid" else jid


def parse_event(data: object) -> WahaEvent | None:
    """A typed event from decoded JSON; None for an event this project does not use."""
    if not isinstance(data, dict):
        raise WahaPayloadError("The body must be a JSON object.")
    kind = data.get("event")
    if not isinstance(kind, str):
        raise WahaPayloadError("The event name is missing.")
    if kind not in MESSAGE_EVENTS and kind != "session.status":
        return None
    session_name = data.get("session")
    if not isinstance(session_name, str) or not session_name.strip():
        raise WahaPayloadError("The session name is missing.")
    session_name = clean_text(session_name.strip())
    if len(session_name) > 100:
        raise WahaPayloadError("The session name is longer than 100 characters.")
    me = data.get("me")
    me_jid = _text(me.get("id")) if isinstance(me, dict) else None
    me_jid = clean_text(me_jid) if me_jid else None
    payload = data.get("payload")
    if not isinstance(payload, dict):
        raise WahaPayloadError("The payload must be a JSON object.")
    if kind == "session.status":
        status = payload.get("status")
        if not isinstance(status, str) or not _STATUS_SHAPE.fullmatch(status):
            raise WahaPayloadError(f"Not a session status: {str(status)[:40]!r}.")
        return WahaEvent(kind=kind, session_name=session_name, me_jid=me_jid, status=status)
    return WahaEvent(
        kind=kind,
        session_name=session_name,
        me_jid=me_jid,
        message=_parse_message(payload, me_jid, own_ids(me)),
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _parse_message(
    payload: dict[str, Any], me_jid: str | None, own: frozenset[str] = frozenset()
) -> WahaMessage:
    message_id = payload.get("id")
    if isinstance(message_id, dict):  # some engines send the id as an object
        message_id = message_id.get("_serialized")
    if not isinstance(message_id, str) or not message_id or len(message_id) > 200:
        raise WahaPayloadError("The message id is missing or longer than 200 characters.")
    sender = _text(payload.get("from"))
    if sender is None or len(sender) > 100:
        raise WahaPayloadError("The message has no valid `from`.")
    from_me = payload.get("fromMe") is True
    to = _text(payload.get("to"))
    # For the account's own messages some engines put the account in `from` and the chat in `to`.
    chat = sender
    if from_me and not sender.endswith("@g.us") and to and to.endswith("@g.us"):
        chat = to
    if chat.endswith("@g.us"):
        # Some engines name a group message's sender only in `author`.
        participant = _text(payload.get("participant")) or _text(payload.get("author"))
        if participant is None and from_me and me_jid:
            participant = me_jid
        if participant is None or len(participant) > 100:
            raise WahaPayloadError(
                "A group message needs its sender in `participant` (or `author`)."
            )
        sender = participant
    sender = normalise_jid(clean_text(sender))
    if sender in own:
        from_me = True  # the account's own message even if the engine did not flag it
    body = payload.get("body")
    data = payload.get("_data")
    name = None
    if isinstance(data, dict):
        name = _text(data.get("notifyName")) or _text(data.get("pushName"))
    return WahaMessage(
        id=clean_text(message_id),
        chat_jid=clean_text(chat),
        sender_jid=sender,
        sender_phone=phone_from_jid(sender),
        sender_name=clean_text(name or "", 200),
        from_me=from_me,
        body=clean_text(body) if isinstance(body, str) else "",
        sent_at=_timestamp(payload.get("timestamp")),
    )


def _timestamp(value: object) -> datetime:
    """Seconds since the epoch (WAHA's payload timestamp); now when missing or absurd."""
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        if value > 10**11:  # milliseconds, as the envelope's own timestamp is
            value = value / 1000
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            pass
    return timezone.now()


def apply_event(event: WahaEvent) -> str:
    """Apply one event in one transaction; returns a short word on what happened."""
    with transaction.atomic():
        message = event.message
        # A monitored group's message (nearly every event) finds its group and session in
        # one query; anything else looks the session up by name.
        group = _monitored_group(event.session_name, message) if message else None
        session = _session_named(event.session_name, event.me_jid, group)
        if event.kind == "session.status":
            if session.status != event.status:
                session.status = event.status or session.status
                session.save(update_fields=["status"])
            return "session_status_updated"
        if message is None:
            return "ignored"
        if message.is_group:
            return _group_message(session, group, message)
        if message.is_direct:
            return _direct_message(session, message)
        return "ignored_chat_type"  # broadcasts, newsletters, status updates


def _monitored_group(session_name: str, message: WahaMessage) -> MonitoredGroup | None:
    """The active monitored group `message` was written in, with its session, or None."""
    if not message.is_group:
        return None
    try:
        # `get`, not `first`: a unique lookup needs no ORDER BY (this runs per webhook).
        return MonitoredGroup.objects.select_related("session").get(
            session__name=session_name, wa_group_id=message.chat_jid, is_active=True
        )
    except MonitoredGroup.DoesNotExist:
        return None


def _session_named(name: str, me_jid: str | None, group: MonitoredGroup | None = None) -> Session:
    """The configured session of that name (`group`'s when given); an event names no new ones
    (`UnknownSession`).

    The account's number is learnt once, from the first event that carries it: a later event
    claiming another number changes nothing (relinking a session is done by a person).
    """
    if group is not None:
        session = group.session
    else:
        try:
            session = Session.objects.get(name=name)
        except Session.DoesNotExist:
            raise UnknownSession(name) from None
    if me_jid and not session.me_jid and len(me_jid) <= 100:
        session.me_jid = me_jid
        session.phone_number = session.phone_number or phone_from_jid(me_jid) or ""
        session.save(update_fields=["me_jid", "phone_number"])
    elif me_jid and me_jid != session.me_jid:
        logger.warning("WAHA event for session %s names another account; ignored", name)
    return session


def _group_message(session: Session, group: MonitoredGroup | None, message: WahaMessage) -> str:
    if group is None:
        record_seen_group(session, message.chat_jid, min(message.sent_at, timezone.now()))
        return "group_not_monitored"
    outcome = ingest_group_message(
        group,
        GroupMessageIn(
            wa_message_id=message.id,
            sender_jid=message.sender_jid,
            sender_phone=message.sender_phone,
            sender_name=message.sender_name,
            body=message.body,
            sent_at=message.sent_at,
            from_me=message.from_me,
        ),
    )
    return outcome.value


def _direct_message(session: Session, message: WahaMessage) -> str:
    if message.from_me:
        return "ignored_own_message"  # only what a contact sends counts for reciprocity
    _, created = InboundMessage.objects.get_or_create(
        wa_message_id=message.id,
        defaults={
            "session": session,
            "contact_jid": message.sender_jid,
            "contact_phone": message.sender_phone,
            "body": message.body,
            "received_at": message.sent_at,
        },
    )
    return "inbound_stored" if created else "duplicate"
