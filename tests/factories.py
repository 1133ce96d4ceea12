"""Small builders for test data. Keep them plain: one function per thing."""

import itertools
from datetime import datetime, timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from leads.import_jobs import queue_import
from leads.models import (
    Account,
    ApiKey,
    GroupMessage,
    ImportJob,
    Lead,
    MonitoredGroup,
    Session,
    SetAsideMessage,
    build_search_text,
)

_counter = itertools.count(1)


def make_session(name: str | None = None) -> Session:
    return Session.objects.create(name=name or f"session-{next(_counter)}", status="WORKING")


def make_group(
    session: Session | None = None,
    *,
    name: str | None = None,
    keywords: list[str] | None = None,
    mode: str = "keywords",
) -> MonitoredGroup:
    n = next(_counter)
    return MonitoredGroup.objects.create(
        session=session or make_session(),
        wa_group_id=f"1203630{n:05d}@g.us",
        name=name or f"Group {n}",
        monitor_mode=mode,
        monitor_keywords=keywords if keywords is not None else ["looking for", "price"],
    )


def make_lead(
    group: MonitoredGroup | None = None,
    *,
    status: str = "new",
    name: str | None = "Dana Levi",
    phone: str | None = None,
    keyword: str | None = "price",
    preview: str = "What's the price?",
    detected_at: datetime | None = None,
) -> Lead:
    n = next(_counter)
    phone = phone if phone is not None else f"+1555{n:07d}"
    lead = Lead(
        source_group=group or make_group(),
        contact_jid=f"{phone.lstrip('+')}@c.us" if phone else f"{n}@lid",
        contact_phone=phone or None,
        contact_name=name,
        lead_status=status,
        matched_keyword=keyword,
        message_preview=preview,
        lead_detected_at=detected_at or timezone.now() - timedelta(minutes=n),
        search_text=build_search_text(name, phone, keyword),
    )
    lead.save()
    return lead


def make_api_key(scopes: list[str] | None = None, **kwargs: object) -> tuple[ApiKey, str]:
    return ApiKey.issue(f"key-{next(_counter)}", scopes, **kwargs)  # type: ignore[arg-type]


def make_set_aside(group: MonitoredGroup | None = None) -> SetAsideMessage:
    """A keyword message intent mode set aside, waiting for a manager's second look."""
    n = next(_counter)
    stored = GroupMessage.objects.create(
        group=group or make_group(mode="intent"),
        wa_message_id=f"set-aside-{n}",
        sender_jid=f"1555{n:07d}@c.us",
        sender_phone=f"+1555{n:07d}",
        sender_name="Seller",
        body="Selling my bike, price 100",
        sent_at=timezone.now() - timedelta(minutes=n),
    )
    return SetAsideMessage.objects.create(
        message=stored, matched_keyword="price", reasons=["offers something"]
    )


def make_import_job(
    group: MonitoredGroup | None = None, data: bytes = b"", name: str = "chat.txt"
) -> ImportJob:
    """A queued import of `data`, as the upload page leaves it."""
    upload = SimpleUploadedFile(name, data)
    return queue_import(group or make_group(), upload, None)


def set_plan(plan: str) -> None:
    """The mirrored account's plan (its gates and counts) for the rest of the test."""
    account = Account.current()
    account.plan = plan
    account.save()
