"""`/api/v2/leads…`: CONTRACT §1 over the local store."""

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any
from uuid import UUID

from django.db.models import Q
from django.http import HttpRequest, StreamingHttpResponse
from ninja import Query, Router

from leads import services
from leads.api.auth import ApiError, KeyAuth, require_bulk_plan
from leads.api.schemas import (
    ERRORS,
    NO_NUL,
    BulkAddIn,
    BulkAddOut,
    BulkStatusIn,
    BulkStatusOut,
    ErrorOut,
    LeadDetailOut,
    LeadListOut,
    LeadOut,
    ReciprocityOut,
    StatusIn,
)
from leads.exports import EXPORT_MAX_ROWS, stream_csv, stream_json
from leads.models import CustomGroup, Lead, Session
from leads.phones import search_needle
from leads.pipeline import InvalidTransition, Status
from leads.queries import NEWEST_FIRST, last_direct_message_at, leads_matching
from leads.serializers import lead_payload
from leads.totals import leads_per_day, totals_by_status

router = Router(tags=["leads"])

READ = KeyAuth("leads:read")
MANAGE = KeyAuth("leads:manage")


def _actor(request: HttpRequest) -> services.Actor:
    key = request.auth  # type: ignore[attr-defined]
    return services.Actor(kind="api_key", api_key_id=key.id, label=f"API key {key.name}")


def _get_lead(lead_id: UUID) -> Lead:
    lead = Lead.objects.select_related("source_group").filter(pk=lead_id).first()
    if lead is None:
        raise ApiError(404, f"Lead {lead_id} not found.")
    return lead


def _filtered(status: Status | None, source_group_id: UUID | None, search: str | None) -> Any:
    return leads_matching(status=status, source_group_id=source_group_id, search=search)


def _total(
    leads: Any, status: Status | None, source_group_id: UUID | None, search: str | None
) -> int:
    """CONTRACT's exact `total`: the kept totals when only the status and the group filter
    (no lead is counted: a COUNT of a million leads took longer than the page), else a COUNT
    of the matches."""
    if search_needle(search or ""):
        return int(leads.count())
    totals = totals_by_status(source_group_id)
    return totals[status] if status else sum(totals.values())


# From this many leads in, a page's first lead is found by its sort keys alone, then the page
# is read from there: an OFFSET builds every row it skips (half a million whole leads took
# 1.5 s at a million), while their keys come from the index (90 ms).
KEYS_FIRST_FROM = 1000


def _page(leads: Any, offset: int, limit: int, total: int) -> list[Lead]:
    """Newest first, `limit` leads from `offset` of `total`.

    An OFFSET walks every index entry before it: past the middle the page is read from the
    oldest end instead, so the last pages cost what the first ones do and no page walks more
    than half the matches.
    """
    if offset >= total:
        # Nothing to fetch; an offset beyond the database's integers would fail in SQL.
        return []
    end = min(offset + limit, total)
    if offset <= total - end:
        return _slice(leads, NEWEST_FIRST, offset, end)
    oldest_first = tuple(field.removeprefix("-") for field in NEWEST_FIRST)
    page = _slice(leads, oldest_first, total - end, total - offset)
    page.reverse()
    return page


def _slice(leads: Any, order: tuple[str, ...], start: int, stop: int) -> list[Lead]:
    """`leads` in `order` (a time and the id, both one way) from `start` to `stop`."""
    if start < KEYS_FIRST_FROM:
        return list(leads.order_by(*order)[start:stop])
    first = list(leads.order_by(*order).values_list("lead_detected_at", "id")[start : start + 1])
    if not first:  # fewer leads than counted a moment ago
        return []
    at, pk = first[0]
    if order[0].startswith("-"):
        bound, beyond = Q(lead_detected_at__lte=at), Q(lead_detected_at__lt=at) | Q(id__lte=pk)
    else:
        bound, beyond = Q(lead_detected_at__gte=at), Q(lead_detected_at__gt=at) | Q(id__gte=pk)
    return list(leads.filter(bound, beyond).order_by(*order)[: stop - start])


def _page_from_its_day(
    leads: Any, offset: int, limit: int, status: Status | None, group_id: UUID | None
) -> list[Lead]:
    """Newest first, `limit` leads from `offset`, when no search narrows `leads`.

    The kept per-day totals say which day the offset falls in; that day is read from its
    nearer end (`_page`), so no page walks more than half of one day's leads however deep it
    is, and a page that runs past the day goes on with the newest leads before it.
    """
    newer = 0  # leads detected after the day looked at
    for day, detected in leads_per_day(status, group_id):
        if offset < newer + detected:
            start = datetime.combine(day, time.min, tzinfo=UTC)
            that_day = leads.filter(
                lead_detected_at__gte=start, lead_detected_at__lt=start + timedelta(days=1)
            )
            page = _page(that_day, offset - newer, limit, detected)
            if len(page) < limit:
                before = leads.filter(lead_detected_at__lt=start).order_by(*NEWEST_FIRST)
                page += before[: limit - len(page)]
            return page
        newer += detected
    return []


@router.get("/leads", response={200: LeadListOut, **ERRORS}, auth=READ)
def list_leads(
    request: HttpRequest,
    status: Status | None = None,
    source_group_id: UUID | None = None,
    search: str | None = Query(None, max_length=200, pattern=NO_NUL),
    limit: int = Query(50, ge=1, le=100),
    offset: int = Query(0, ge=0),
) -> dict[str, Any]:
    leads = _filtered(status, source_group_id, search)
    total = _total(leads, status, source_group_id, search)
    if offset >= KEYS_FIRST_FROM and not search_needle(search or ""):
        page = _page_from_its_day(leads, offset, limit, status, source_group_id)
    else:
        page = _page(leads, offset, limit, total)
    return {
        "leads": [lead_payload(lead) for lead in page],
        "total": total,
        "limit": limit,
        "offset": offset,
    }


# Registered before `/leads/{lead_id}` routes so "export" and "bulk" never parse as ids.
@router.get(
    "/leads/export/csv",
    response={200: None, **ERRORS},
    auth=READ,
    openapi_extra={"responses": {200: {"description": "CSV file", "content": {"text/csv": {}}}}},
)
def export_csv(
    request: HttpRequest,
    status: Status | None = None,
    source_group_id: UUID | None = None,
    search: str | None = Query(None, max_length=200, pattern=NO_NUL),
) -> StreamingHttpResponse:
    rows = _export_rows(request, status, source_group_id, search)
    return _download(stream_csv(rows), "text/csv; charset=utf-8", "leads.csv")


@router.get("/leads/export/json", response={200: list[LeadOut], **ERRORS}, auth=READ)
def export_json(
    request: HttpRequest,
    status: Status | None = None,
    source_group_id: UUID | None = None,
    search: str | None = Query(None, max_length=200, pattern=NO_NUL),
) -> StreamingHttpResponse:
    rows = _export_rows(request, status, source_group_id, search)
    return _download(stream_json(rows), "application/json", "leads.json")


def _export_rows(
    request: HttpRequest, status: Status | None, group_id: UUID | None, search: str | None
) -> Iterator[Lead]:
    """The leads an export holds, newest first and capped; Pro plan or above."""
    require_bulk_plan(request, "Exporting leads")
    rows = _filtered(status, group_id, search).order_by(*NEWEST_FIRST)[:EXPORT_MAX_ROWS]
    return rows.iterator(chunk_size=1000)


def _download(body: Iterator[str], content_type: str, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@router.post("/leads/bulk/status", response={200: BulkStatusOut, **ERRORS}, auth=MANAGE)
def bulk_status(request: HttpRequest, body: BulkStatusIn) -> dict[str, Any]:
    require_bulk_plan(request, "Bulk operations")
    result = services.lead_bulk_change_status(body.lead_ids, body.status, _actor(request))
    return {
        "updated": len(result.updated),
        "failed": len(result.failed),
        "errors": [{"lead_id": f.lead_id, "detail": f.detail} for f in result.failed],
    }


@router.post(
    "/leads/bulk/add-to-group", response={200: BulkAddOut, 404: ErrorOut, **ERRORS}, auth=MANAGE
)
def bulk_add_to_group(request: HttpRequest, body: BulkAddIn) -> dict[str, Any]:
    require_bulk_plan(request, "Bulk operations")
    group = CustomGroup.objects.filter(pk=body.custom_group_id).first()
    if group is None:
        raise ApiError(404, f"Custom group {body.custom_group_id} not found.")
    result = services.custom_group_add_leads(group, body.lead_ids)
    return {"added": result.added, "skipped": result.skipped}


@router.get("/leads/{lead_id}", response={200: LeadDetailOut, 404: ErrorOut, **ERRORS}, auth=READ)
def get_lead(request: HttpRequest, lead_id: UUID) -> dict[str, Any]:
    return lead_payload(_get_lead(lead_id), detailed=True)


@router.patch(
    "/leads/{lead_id}/status",
    # 405: "/leads/bulk/status" is the bulk route, which takes POST only.
    response={200: LeadDetailOut, 400: ErrorOut, 404: ErrorOut, 405: ErrorOut, **ERRORS},
    auth=MANAGE,
)
def update_status(request: HttpRequest, lead_id: UUID, body: StatusIn) -> dict[str, Any]:
    try:
        lead = services.lead_change_status(lead_id, body.status, _actor(request))
    except services.LeadNotFound:
        raise ApiError(404, f"Lead {lead_id} not found.") from None
    except InvalidTransition as refused:
        raise ApiError(400, str(refused)) from None
    return lead_payload(lead, detailed=True)


@router.get(
    "/leads/{lead_id}/reciprocity",
    response={200: ReciprocityOut, 404: ErrorOut, **ERRORS},
    auth=READ,
)
def reciprocity(request: HttpRequest, lead_id: UUID, session_id: UUID) -> dict[str, Any]:
    lead = _get_lead(lead_id)
    if not Session.objects.filter(pk=session_id).exists():
        raise ApiError(404, f"Session {session_id} not found.")
    last = last_direct_message_at(lead, session_id)
    return {"lead_id": lead.id, "has_messaged_first": last is not None, "last_inbound_at": last}
