"""`/leads/`: the leads table — filters, search, sort, pages, counts per status."""

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.views.decorators.http import require_GET

from leads.assignments import assignable_users, owners_of
from leads.exports import EXPORT_MAX_ROWS
from leads.filters import OWNER_MINE, PAGE_SIZES, LeadFilter, TableState
from leads.follow_ups import follow_ups_of
from leads.pipeline import STATUSES, allowed_targets, sources_of
from leads.roles import VIEWER, role_required, user_role
from leads.sources import get_source
from leads.sources.base import LeadSource
from leads.sources.errors import SourceError
from leads.sources.records import COUNT_CAP, TAB_COUNT_CAP, LeadRecord
from leads.tables import LeadTable, headers
from leads.views.rendering import htmx_region, render_region, render_shared_region
from leads.views.shared import (
    bulk_refusal,
    export_refusal,
    read_table_request,
    with_default_owner,
)

# The region an open table re-reads after a change (live.js, through its hidden trigger).
RESULTS = "leads-results"
REGIONS = ("leads", RESULTS)
SORT_LABELS = {
    "-detected_at": "newest first",
    "detected_at": "oldest first",
    "contact_name": "by name, A to Z",
    "-contact_name": "by name, Z to A",
    "status": "by status, pipeline order",
    "-status": "by status, reverse pipeline order",
    "-score": "highest score first",
    "score": "lowest score first",
    "group_name": "by group, A to Z",
    "-group_name": "by group, Z to A",
}


def _table_context(request: HttpRequest, source: LeadSource) -> dict[str, Any]:
    data = with_default_owner(request)
    table_request = read_table_request(data, source, request.user)
    state, query = table_request.state, table_request.query
    capabilities = table_request.capabilities
    # `?ids=` (the leads a bulk action did not move) is one more filter of the source's.
    # No COUNT for the page: the counts per status (kept totals, or capped) give the total.
    page = source.list_leads(query, offset=state.offset, limit=state.page_size, count_total=False)
    rows: list[LeadRecord] = list(page.rows)
    status_counts = source.count_by_status_capped(query, COUNT_CAP, TAB_COUNT_CAP)
    counts = status_counts.counts
    matching, matching_capped = status_counts.matching(query.status)
    all_count, all_capped = status_counts.matching(None)
    page_total = page.total if page.total is not None or matching_capped else matching
    has_next = page.has_next
    present = [status for status in STATUSES if counts.get(status)] or sorted(
        {row.status for row in rows}, key=STATUSES.index
    )
    # Offer only targets valid for at least one matching lead; data-from lets the page's
    # script narrow them further to the ticked rows.
    targets = [t for t in STATUSES if any(t in allowed_targets(s) for s in present)]
    refused_bulk = bulk_refusal(request, capabilities)
    ids = [row.id for row in rows]
    table = LeadTable(
        rows,
        selectable=not refused_bulk,
        owners=owners_of(ids),
        follow_ups=follow_ups_of(ids),
    )
    filter_query = data.copy()
    filter_query.pop("page", None)
    # The rows' own refresh asks for whose leads this page resolved ("My leads" or everyone's,
    # `owner` pinned): a rep who takes a first lead, or gives up a last one, must not see the
    # rows switch under an Owner box that still says otherwise.
    refresh_query = data.copy()
    refresh_query.setdefault("owner", "")
    return {
        "filterset": table_request.filterset,
        "state": state,
        "table": table,
        "rows": rows,
        "headers": headers(table, query.sort, capabilities.sorts),
        "sort_label": SORT_LABELS.get(query.sort, ""),
        "status_counts": [
            {"status": s, "count": counts.get(s, 0), "capped": s in status_counts.capped}
            for s in STATUSES
        ],
        "all_count": all_count,
        "all_capped": all_capped,
        "matching_count": matching,
        "matching_capped": matching_capped,
        # Exactly one lead matches: the export and bulk lines name it in the singular.
        "one_match": matching == 1 and not matching_capped,
        "page_total": page_total,
        "has_next": has_next,
        "previous_page": state.page - 1,
        "next_page": state.page + 1,
        "first_row": state.offset + 1,
        "last_row": state.offset + len(rows),
        "page_sizes": PAGE_SIZES,
        "date_filters": {"detected_from", "detected_to"} <= capabilities.filters,
        "score_filter": "min_score" in capabilities.filters,
        "bulk_refusal": refused_bulk,
        "bulk_targets": [{"status": t, "sources": sources_of(t)} for t in targets],
        "custom_groups": source.list_custom_groups() if not refused_bulk else (),
        "assignable": assignable_users() if not refused_bulk else (),
        "export_refusal": export_refusal(request, capabilities),
        "export_max_rows": EXPORT_MAX_ROWS,
        "filter_query": filter_query.urlencode(),
        "refresh_url": f"{request.path}?{refresh_query.urlencode()}",
    }


def _unavailable_context(request: HttpRequest, error: SourceError) -> dict[str, Any]:
    """An empty table with the reason, so the page still renders when the source fails."""
    state = TableState()
    return {
        "filterset": LeadFilter(request.GET),
        "state": state,
        "table": LeadTable([]),
        "rows": [],
        "headers": [],
        "status_counts": [],
        "page_sizes": PAGE_SIZES,
        "bulk_refusal": "the lead source is not answering.",
        "export_refusal": "the lead source is not answering.",
        "source_error": f"Leads could not be loaded: {error.detail}",
        "refresh_url": request.get_full_path(),
    }


def _shared_view(request: HttpRequest) -> tuple[object, ...]:
    """What the results depend on besides the data: the URL (the region's links and its own
    refresh repeat it), the role (bulk and export forms) and, for "My leads", who asks."""
    data = with_default_owner(request)
    mine = request.user.pk if data.get("owner") == OWNER_MINE else None
    return (request.get_full_path(), tuple(sorted(data.lists())), user_role(request.user), mine)


@role_required(VIEWER)
@require_GET
def leads_table(request: HttpRequest) -> HttpResponse:
    """The table page, or its `leads` / `leads-results` region for htmx."""
    source = get_source()
    try:
        if htmx_region(request, REGIONS) == RESULTS:
            # A live refresh shares one rendering between every screen showing this view:
            # a hundred open tables re-read their rows after each change.
            return render_shared_region(
                request,
                "leads/table.html",
                RESULTS,
                lambda: _table_context(request, source),
                varies_on=_shared_view(request),
            )
        context = _table_context(request, source)
    except SourceError as error:
        context = _unavailable_context(request, error)
    return render_region(request, "leads/table.html", context, regions=REGIONS)


@require_GET
def home(request: HttpRequest) -> HttpResponseRedirect:
    """`/` is the leads table."""
    return redirect("leads:table")
