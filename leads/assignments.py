"""The only code that writes who owns a lead, and the notes on its timeline.

Owners are our own data beside the source's (`LeadAssignment`, keyed by the lead's id), so
they work the same with either lead source. A change of owner is a compare-and-set against
the owner the caller saw: "Take it" on a lead someone took a moment ago is refused
(`OwnerChanged`, saying who and when), never silently overwritten. Every change writes one
timeline entry. A bulk assignment (managers) is a constant number of statements.
"""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from leads.events import announce_details_changed
from leads.models import LeadAssignment, LeadTimelineEntry, TimelineKind
from leads.roles import MANAGER, REP
from leads.services import unique_ids

NOTE_MAX_LENGTH = 5000
# How many leads' notes a search may add to the table's matches (ids go into one IN list).
NOTE_SEARCH_MAX = 1000


@dataclass(frozen=True)
class Owner:
    """Who owns a lead and since when, as screens show it."""

    user_id: int
    label: str
    since: datetime


class OwnerChanged(Exception):
    """The lead's owner is no longer the one the caller saw; `owner` says who has it now."""

    def __init__(self, lead_id: uuid.UUID | str, owner: Owner | None) -> None:
        self.lead_id = lead_id
        self.owner = owner
        who = f"{owner.label} since {owner.since:%Y-%m-%d %H:%M}" if owner else "nobody"
        super().__init__(f"Lead {lead_id} is now owned by {who}")


def user_label(user: Any) -> str:
    """How a person is named on screens: full name when set, else the username."""
    return (user.get_full_name() or user.get_username())[:200]


def _owner(row: LeadAssignment) -> Owner:
    return Owner(user_id=row.owner_id, label=user_label(row.owner), since=row.assigned_at)


def assignable_users() -> QuerySet[Any]:
    """Who may own leads: active reps and managers (superusers count as managers), by name."""
    users = get_user_model().objects.filter(is_active=True)
    return (
        users.filter(Q(groups__name__in=(REP, MANAGER)) | Q(is_superuser=True))
        .distinct()
        .order_by("first_name", "username")
    )


def owner_of(lead_id: uuid.UUID | str) -> Owner | None:
    """The lead's owner, or None when it is unassigned."""
    row = LeadAssignment.objects.select_related("owner").filter(lead_id=lead_id).first()
    return _owner(row) if row else None


def owners_of(lead_ids: Iterable[uuid.UUID | str]) -> dict[uuid.UUID, Owner]:
    """Owners of many leads in one query (a page of the table, a board column)."""
    rows = LeadAssignment.objects.select_related("owner").filter(lead_id__in=unique_ids(lead_ids))
    return {row.lead_id: _owner(row) for row in rows}


def timeline_entry(
    lead_id: uuid.UUID | str,
    kind: str,
    text: str,
    by: Any,
    now: datetime,
    *,
    label: str | None = None,
) -> LeadTimelineEntry:
    """One timeline line, not yet saved: what was done to the lead, when, and by whom (the
    person `by`, or `label` for the system's own work)."""
    return LeadTimelineEntry(
        lead_id=uuid.UUID(str(lead_id)),
        kind=kind,
        text=text,
        user=by,
        actor_label=label or (user_label(by) if by is not None else "system"),
        created_at=now,
    )


def _log_owner_change(
    lead_ids: Sequence[uuid.UUID | str], owner: Any | None, by: Any, now: datetime
) -> None:
    text = f"assigned to {user_label(owner)}" if owner is not None else "unassigned"
    if owner is not None and by is not None and owner.pk == by.pk:
        text = "took it"
    LeadTimelineEntry.objects.bulk_create(
        timeline_entry(lead_id, TimelineKind.ASSIGNED, text, by, now) for lead_id in lead_ids
    )
    announce_details_changed([uuid.UUID(str(lead_id)) for lead_id in lead_ids])


def lead_assign(
    lead_id: uuid.UUID | str,
    owner: Any | None,
    by: Any | None,
    *,
    expected_owner_id: int | None,
    now: datetime | None = None,
) -> Owner | None:
    """Give a lead to `owner` (None: unassign), only if its owner is still `expected_owner_id`.

    `expected_owner_id=None` means "I saw it unassigned": the insert on the lead's primary
    key lets exactly one of two simultaneous takers win. Raises `OwnerChanged` otherwise.
    Returns the new owner. Role rules (who may assign whom) are the caller's.
    """
    now = now or timezone.now()
    lead_id = uuid.UUID(str(lead_id))
    if (owner.pk if owner is not None else None) == expected_owner_id:
        current = owner_of(lead_id)
        if (current.user_id if current else None) != expected_owner_id:
            raise OwnerChanged(lead_id, current)
        return current  # already so: nothing to change, nothing to log
    try:
        with transaction.atomic():
            if expected_owner_id is None:
                assert owner is not None  # unassigning a lead nobody owns returned above
                LeadAssignment.objects.create(
                    lead_id=lead_id, owner=owner, assigned_at=now, assigned_by=by
                )
            else:
                seen = LeadAssignment.objects.filter(lead_id=lead_id, owner_id=expected_owner_id)
                if owner is None:
                    changed = seen.delete()[0]
                else:
                    changed = seen.update(owner=owner, assigned_at=now, assigned_by=by)
                if not changed:
                    raise OwnerChanged(lead_id, owner_of(lead_id))
            _log_owner_change([lead_id], owner, by, now)
    except IntegrityError:
        # Someone else inserted first, between the caller's read and our insert.
        raise OwnerChanged(lead_id, owner_of(lead_id)) from None
    return owner_of(lead_id)


def lead_take(lead_id: uuid.UUID | str, user: Any, *, now: datetime | None = None) -> Owner:
    """A rep takes an unassigned lead; `OwnerChanged` when anyone else has it already."""
    try:
        taken = lead_assign(lead_id, user, user, expected_owner_id=None, now=now)
    except OwnerChanged as refused:
        if refused.owner is not None and refused.owner.user_id == user.pk:
            return refused.owner  # a second click of their own: it is theirs already
        raise
    assert taken is not None  # an insert for `user` succeeded
    return taken


def lead_bulk_assign(
    lead_ids: Sequence[uuid.UUID | str], owner: Any | None, by: Any, *, now: datetime | None = None
) -> int:
    """A manager gives many leads to `owner` (None: unassigns them), whoever had them.

    A constant number of statements: one upsert (or delete) and one insert of timeline
    entries for the leads whose owner really changed. Returns how many changed.
    """
    now = now or timezone.now()
    ids = [uuid.UUID(lead_id) for lead_id in unique_ids(lead_ids)]
    with transaction.atomic():
        before = dict(
            LeadAssignment.objects.select_for_update()
            .filter(lead_id__in=ids)
            .values_list("lead_id", "owner_id")
        )
        new_owner_id = owner.pk if owner is not None else None
        changed = [lead_id for lead_id in ids if before.get(lead_id) != new_owner_id]
        if owner is None:
            LeadAssignment.objects.filter(lead_id__in=changed).delete()
        elif changed:
            LeadAssignment.objects.bulk_create(
                [
                    LeadAssignment(lead_id=lead_id, owner=owner, assigned_at=now, assigned_by=by)
                    for lead_id in changed
                ],
                update_conflicts=True,
                unique_fields=["lead_id"],
                update_fields=["owner", "assigned_at", "assigned_by"],
            )
        _log_owner_change(changed, owner, by, now)
    return len(changed)


def owns_leads(user_id: int | None) -> bool:
    """Whether the person owns any lead (one indexed lookup; nobody signed in owns none)."""
    return LeadAssignment.objects.filter(owner_id=user_id).exists()


# --- notes ----------------------------------------------------------------------------------


def lead_add_note(
    lead_id: uuid.UUID | str, text: str, by: Any, *, now: datetime | None = None
) -> LeadTimelineEntry:
    """Write a plain-text note on the lead's timeline (escaped when shown, like all input)."""
    text = text.strip()[:NOTE_MAX_LENGTH]
    if not text:
        raise ValueError("A note needs some text.")
    note = timeline_entry(lead_id, TimelineKind.NOTE, text, by, now or timezone.now())
    note.search_text = text.casefold()
    with transaction.atomic():
        note.save()
        announce_details_changed([uuid.UUID(str(lead_id))])
    return note


def timeline_entries(lead_id: uuid.UUID | str, limit: int = 200) -> QuerySet[LeadTimelineEntry]:
    """The lead's notes, owner changes, follow-ups and messages, newest first."""
    return LeadTimelineEntry.objects.filter(lead_id=lead_id).order_by("-created_at", "-id")[:limit]


def leads_with_notes_matching(needle: str) -> list[uuid.UUID]:
    """Ids of leads with a note containing `needle` (casefolded), at most `NOTE_SEARCH_MAX`."""
    needle = needle.strip().casefold()
    if not needle:
        return []
    notes = LeadTimelineEntry.objects.filter(kind=TimelineKind.NOTE, search_text__contains=needle)
    return list(notes.order_by().values_list("lead_id", flat=True).distinct()[:NOTE_SEARCH_MAX])
