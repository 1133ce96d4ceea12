"""Announcements that something changed in the store, for every open screen.

Each announcement is one row in `LeadEvent`, in the one shared database, so a screen served
by any app process sees it on its next poll of `/live/events` (or of its wall link). Nothing
is kept in process memory: that would only reach screens served by the same process.

Where it is written, and why that is safe:
- `leads.services` writes the row inside the transaction that changes the status, so the
  event commits (or rolls back) with the change.
- detection and the MoltFlow sync call `announce_*` from `transaction.on_commit`, so nothing
  is announced that could still roll back.

A screen only needs to know *that* something changed, then re-reads its own regions; a bulk
change is therefore one row (`lead_id` empty), whatever the number of leads.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from leads.models import LeadEvent, LeadEventKind

# Rows counted behind the newest id in the live token. A transaction that took its id before
# another but committed after it does not move the newest id; it does change this count,
# so screens still hear about it. Pruning never touches this tail.
SEEN_WINDOW = 256
# The most rows one prune deletes, so a prune after a long pause stays a short statement.
PRUNE_BATCH = 5000


@dataclass(frozen=True)
class LiveToken:
    """Where the event log stands: the newest id, and how many rows sit in the tail behind it.

    Two tokens differ exactly when a screen holding the older one has something to re-read.
    """

    last: int
    seen: int


def announce_lead_created(lead_id: uuid.UUID) -> None:
    """Tell live screens that a lead appeared."""
    _announce(LeadEventKind.CREATED, lead_id)


def announce_leads_created(lead_ids: Sequence[uuid.UUID]) -> None:
    """Tell live screens that leads appeared: one row each, written in one INSERT (a chunk of
    an imported chat makes many at once)."""
    # Old rows are pruned by the screens' token reader (leads.live_lane), not here.
    LeadEvent.objects.bulk_create(
        LeadEvent(kind=LeadEventKind.CREATED, lead_id=lead_id) for lead_id in lead_ids
    )


def announce_status_changed(lead_id: uuid.UUID | None) -> None:
    """Tell live screens that a lead (or, with None, several leads) changed status."""
    _announce(LeadEventKind.STATUS_CHANGED, lead_id)


def announce_details_changed(lead_ids: Sequence[uuid.UUID]) -> None:
    """Tell live screens that leads' owner, follow-up or notes changed (one row however many;
    none when none did). Written in the caller's transaction, like a status change."""
    if lead_ids:
        _announce(LeadEventKind.DETAILS_CHANGED, lead_ids[0] if len(lead_ids) == 1 else None)


def _announce(kind: str, lead_id: uuid.UUID | None) -> None:
    # One INSERT: old rows are pruned by the screens' token reader (leads.live_lane), not here.
    LeadEvent.objects.create(kind=kind, lead_id=lead_id)


def prune_events(newest_id: int | None = None, batch: int = PRUNE_BATCH) -> int:
    """Delete up to `batch` of the oldest events older than `LIVE_EVENTS_KEEP_HOURS`, keeping
    the newest tail; returns how many.

    Screens compare tokens, never replay events, so old rows carry no information; the tail
    is kept so that the newest id and the count behind it stay stable through a prune.
    """
    if newest_id is None:
        newest_id = current_token().last
    keep_hours = getattr(settings, "LIVE_EVENTS_KEEP_HOURS", 24)
    cutoff = timezone.now() - timedelta(hours=keep_hours)
    oldest = LeadEvent.objects.filter(created_at__lt=cutoff, id__lte=newest_id - SEEN_WINDOW)
    ids = oldest.order_by("id").values("id")[:batch]
    deleted, _ = LeadEvent.objects.filter(id__in=ids).delete()
    return deleted


def current_token() -> LiveToken:
    """The live token now, in one query on the primary key index."""
    table = connection.ops.quote_name(LeadEvent._meta.db_table)
    # One statement on both SQLite and PostgreSQL: the newest id, then a count over the
    # index range just behind it (at most SEEN_WINDOW entries).
    sql = (
        f"SELECT newest.last, (SELECT COUNT(*) FROM {table} WHERE id > newest.last - %s) "  # noqa: S608
        f"FROM (SELECT COALESCE(MAX(id), 0) AS last FROM {table}) AS newest"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [SEEN_WINDOW])
        last, seen = cursor.fetchone()
    return LiveToken(last=int(last), seen=int(seen))
