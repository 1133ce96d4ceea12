"""The only code that writes follow-ups: when someone should get back to a lead.

A follow-up is our own data beside the source's (`LeadFollowUp`, keyed by the lead's id), so
it works the same in moltflow mode and survives a sync. One per lead: setting it again moves
it, clearing it deletes it, and every change writes one timeline entry. "Due today" is the
person's calendar day in the configured time zone; "overdue" is anything due before now.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from leads.assignments import timeline_entry
from leads.events import announce_details_changed
from leads.models import LeadAssignment, LeadFollowUp, TimelineKind
from leads.services import unique_ids

DUE_TODAY, OVERDUE = "today", "overdue"
DUE_CHOICES = ((DUE_TODAY, "Due today"), (OVERDUE, "Overdue"))
# The dates a follow-up may fall on: the same range the table's date filters accept.
EARLIEST, LATEST = date(1900, 1, 2), date(2999, 12, 30)


@dataclass(frozen=True)
class FollowUp:
    """When a lead is due, as screens show it; `overdue` judged at the `now` given."""

    due_at: datetime
    overdue: bool


class BadDueTime(ValueError):
    """A due time that cannot be read, or falls outside any sensible date."""


def parse_due(raw: str) -> datetime:
    """A `datetime-local` value ("2026-12-03T10:00") read in the current time zone."""
    try:
        naive = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise BadDueTime(f"{raw[:40]!r} is not a date and time (YYYY-MM-DD HH:MM).") from None
    if not EARLIEST <= naive.date() <= LATEST:
        raise BadDueTime(f"Choose a date from {EARLIEST} to {LATEST}.")
    if naive.tzinfo is not None:
        return naive
    return timezone.make_aware(naive.replace(second=0, microsecond=0))


def due_field_value(follow_up: FollowUp | None) -> str:
    """A follow-up as a `datetime-local` field's value, in local time ("" when none)."""
    if follow_up is None:
        return ""
    return timezone.localtime(follow_up.due_at).strftime("%Y-%m-%dT%H:%M")


def due_window(kind: str, now: datetime) -> tuple[datetime | None, datetime | None]:
    """The due times `kind` selects: [from, before). Today is the local calendar day."""
    if kind == OVERDUE:
        return None, now
    if kind == DUE_TODAY:
        start = timezone.make_aware(datetime.combine(timezone.localdate(now), time.min))
        return start, start + timedelta(days=1)
    return None, None


def _describe(due_at: datetime) -> str:
    return timezone.localtime(due_at).strftime("%a %d %b %Y, %H:%M")


def lead_set_follow_up(
    lead_id: uuid.UUID | str, due_at: datetime | None, by: Any, *, now: datetime | None = None
) -> FollowUp | None:
    """Set (or with None clear) the lead's follow-up; one timeline entry when it changed."""
    now = now or timezone.now()
    lead_id = uuid.UUID(str(lead_id))
    with transaction.atomic():
        current = LeadFollowUp.objects.select_for_update().filter(lead_id=lead_id).first()
        if (current.due_at if current else None) == due_at:
            return follow_up_of(lead_id, now)  # already so: nothing to log
        if due_at is None:
            LeadFollowUp.objects.filter(lead_id=lead_id).delete()
            text = "cleared the follow-up"
        else:
            LeadFollowUp.objects.update_or_create(
                lead_id=lead_id, defaults={"due_at": due_at, "set_at": now, "set_by": by}
            )
            text = f"set a follow-up for {_describe(due_at)}"
        timeline_entry(lead_id, TimelineKind.FOLLOW_UP, text, by, now).save()
        announce_details_changed([lead_id])
    return follow_up_of(lead_id, now)


def follow_up_of(lead_id: uuid.UUID | str, now: datetime | None = None) -> FollowUp | None:
    """The lead's follow-up, or None when none is set."""
    return follow_ups_of([lead_id], now).get(uuid.UUID(str(lead_id)))


def follow_ups_of(
    lead_ids: Iterable[uuid.UUID | str], now: datetime | None = None
) -> dict[uuid.UUID, FollowUp]:
    """Follow-ups of many leads in one query (a page of the table, the board's cards)."""
    now = now or timezone.now()
    rows = LeadFollowUp.objects.filter(lead_id__in=unique_ids(lead_ids))
    return {
        row.lead_id: FollowUp(due_at=row.due_at, overdue=row.due_at < now)
        for row in rows.only("lead_id", "due_at")
    }


def kept_lead_ids(
    *,
    owner_id: int | None,
    due_from: datetime | None,
    due_before: datetime | None,
    limit: int,
) -> list[uuid.UUID]:
    """Ids of leads matching our own data's filters, for a source that cannot filter by them.

    Due filters list the soonest due first; an owner alone, the most recently assigned.
    At most `limit` ids (MoltFlow reads each one by one).
    """
    if due_from is None and due_before is None:
        assert owner_id is not None
        rows = LeadAssignment.objects.filter(owner_id=owner_id).order_by("-assigned_at")
        return list(rows.values_list("lead_id", flat=True)[:limit])
    due = LeadFollowUp.objects.order_by("due_at", "lead_id")
    if due_from is not None:
        due = due.filter(due_at__gte=due_from)
    if due_before is not None:
        due = due.filter(due_at__lt=due_before)
    if owner_id is not None:
        owned = LeadAssignment.objects.filter(owner_id=owner_id).values("lead_id")
        due = due.filter(lead_id__in=owned)
    return list(due.values_list("lead_id", flat=True)[:limit])
