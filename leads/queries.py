"""Read-side helpers over the store: the one definition of the leads filters."""

import uuid
from collections.abc import Sequence
from datetime import datetime

from django.db.models import Exists, Max, OuterRef, Q, QuerySet

from leads.models import InboundMessage, Lead, LeadAssignment, LeadFollowUp
from leads.phones import search_needle

NEWEST_FIRST = ("-lead_detected_at", "-id")


def leads_matching(
    *,
    status: str | None = None,
    source_group_id: uuid.UUID | str | None = None,
    search: str | None = None,
    detected_from: datetime | None = None,
    detected_to: datetime | None = None,
    ids: Sequence[uuid.UUID] = (),
    min_score: int | None = None,
    owner_id: int | None = None,
    unassigned: bool | None = None,
    due_from: datetime | None = None,
    due_before: datetime | None = None,
    noted: Sequence[uuid.UUID] = (),
) -> QuerySet[Lead]:
    """Leads filtered as CONTRACT §1 describes (`search`: name, phone or keyword, any case).

    `ids` (the dashboard's own filter, not the API's) keeps only those leads; `owner_id` and
    `unassigned` read the owners kept beside the leads, `due_from` and `due_before` the
    follow-ups (an indexed lookup per row, so a page of newest leads stays a page's work).
    `noted` (the dashboard's) are leads a search finds by their notes: OR-ed by primary key,
    so PostgreSQL still combines two indexes rather than scanning.
    """
    leads = Lead.objects.select_related("source_group")
    if status:
        leads = leads.filter(lead_status=status)
    if source_group_id:
        # The plugin wants a UUID; Django's UUIDField takes its text form as well.
        leads = leads.filter(source_group_id=source_group_id)  # type: ignore[misc]
    needle = search_needle(search or "")
    if needle:
        found = Q(search_text__contains=needle)
        if noted:
            found |= Q(pk__in=noted)
        leads = leads.filter(found)
    if detected_from:
        leads = leads.filter(lead_detected_at__gte=detected_from)
    if detected_to:
        leads = leads.filter(lead_detected_at__lt=detected_to)
    if ids:
        leads = leads.filter(pk__in=ids)
    if min_score is not None:
        leads = leads.filter(lead_score__gte=min_score)
    assigned = LeadAssignment.objects.filter(lead_id=OuterRef("pk"))
    if owner_id is not None:
        leads = leads.filter(Exists(assigned.filter(owner_id=owner_id)))
    if unassigned:
        leads = leads.filter(~Exists(assigned))
    if due_from is not None or due_before is not None:
        due = LeadFollowUp.objects.filter(lead_id=OuterRef("pk"))
        if due_from is not None:
            due = due.filter(due_at__gte=due_from)
        if due_before is not None:
            due = due.filter(due_at__lt=due_before)
        leads = leads.filter(Exists(due))
    return leads


def last_direct_message_at(lead: Lead, session_id: uuid.UUID) -> datetime | None:
    """When the lead's contact last wrote to the session directly (None: never).

    Matched by phone number, or by WhatsApp id where WhatsApp hides the number.
    """
    inbound = InboundMessage.objects.filter(session_id=session_id)
    if lead.contact_phone:
        inbound = inbound.filter(contact_phone=lead.contact_phone)
    else:
        inbound = inbound.filter(contact_jid=lead.contact_jid)
    last: datetime | None = inbound.aggregate(last=Max("received_at"))["last"]
    return last
