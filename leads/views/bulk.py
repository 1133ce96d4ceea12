"""`POST /leads/bulk/`: one form, several actions over the ticked leads or all matching ones."""

import uuid
from collections import Counter
from collections.abc import Sequence
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from leads.detection import clean_text
from leads.filters import MAX_IDS_IN_URL
from leads.pipeline import Status, is_status, refusal_reason
from leads.roles import MANAGER, role_required
from leads.sources import get_source, user_actor
from leads.sources.base import LeadSource
from leads.sources.errors import NotFound, SourceError
from leads.sources.records import BulkOutcome, LeadQuery
from leads.views.shared import bulk_refusal, read_table_request

# Over this many leads, the action is confirmed on its own page first.
CONFIRM_OVER = 500
# "All matching" stops here: past it, narrow the filter (the API's exports stop there too).
SELECT_ACROSS_MAX = 10_000


def _ticked_ids(values: Sequence[str]) -> list[uuid.UUID]:
    ids: list[uuid.UUID] = []
    for value in values:
        try:
            ids.append(uuid.UUID(value))
        except ValueError:
            continue  # a tampered checkbox value is ignored, not an error page
    return list(dict.fromkeys(ids))


def _matching_ids(source: LeadSource, query: LeadQuery, limit: int) -> list[uuid.UUID]:
    """Ids of every lead matching `query`, read page by page (the source's largest page)."""
    page_size = min(source.capabilities().max_page_size, 500)
    ids: list[uuid.UUID] = []
    offset = 0
    while len(ids) < limit:
        page = source.list_leads(query, offset=offset, limit=page_size)
        ids.extend(row.id for row in page.rows)
        if not page.has_next or not page.rows:
            break
        offset += len(page.rows)
    return ids[:limit]


def _table_url(filter_query: str, **extra: str) -> str:
    query = QueryDict(filter_query, mutable=True)
    for key, value in extra.items():
        query[key] = value
    encoded = query.urlencode()
    return reverse("leads:table") + (f"?{encoded}" if encoded else "")


def status_outcome_message(outcome: BulkOutcome, target: Status) -> str:
    """Say what happened, e.g. "18 moved to contacted; 2 not moved: converted is final"."""
    text = f"{len(outcome.updated)} moved to {target}"
    if outcome.failed:
        reasons = Counter(
            refusal_reason(failure.current_status, target)
            if failure.current_status
            else "not found"
            for failure in outcome.failed
        )
        parts = [
            reason if len(reasons) == 1 else f"{reason} ({count})"
            for reason, count in reasons.most_common()
        ]
        text += f"; {len(outcome.failed)} not moved: {', '.join(parts)}"
    return text


def _report_status_change(
    request: HttpRequest, outcome: BulkOutcome, target: Status, max_ids: int | None
) -> None:
    text = status_outcome_message(outcome, target)
    if not outcome.failed:
        messages.success(request, text + ".")
        return
    # The link filters by `ids`: no more than a URL carries, nor than the source looks up.
    cap = min(MAX_IDS_IN_URL, max_ids or MAX_IDS_IN_URL)
    not_moved = [str(failure.lead_id) for failure in outcome.failed][:cap]
    link = reverse("leads:table") + "?" + urlencode({"ids": ",".join(not_moved)})
    shown = "" if len(outcome.failed) <= cap else f" (the first {cap})"
    messages.warning(
        request,
        format_html('{}. <a href="{}">Show the leads not moved{}</a>', text, link, shown),
    )


def _confirm(request: HttpRequest, count: int) -> HttpResponse:
    fields: list[tuple[str, str]] = [
        (name, value)
        for name, values in request.POST.lists()
        if name != "csrfmiddlewaretoken"
        for value in values
    ]
    context: dict[str, Any] = {
        "count": count,
        "fields": fields,
        "action": request.POST.get("action"),
        "target": request.POST.get("status"),
        "back": _table_url(request.POST.get("query", "")),
    }
    return render(request, "leads/bulk_confirm.html", context)


@role_required(MANAGER)
@require_POST
def leads_bulk(request: HttpRequest) -> HttpResponse:
    """Change status or add to a custom group, then back to the same filtered table."""
    source = get_source()
    filter_query = request.POST.get("query", "")
    back = HttpResponseRedirect(_table_url(filter_query))
    table_request = read_table_request(QueryDict(filter_query), source)
    refused = bulk_refusal(request, table_request.capabilities)
    if refused:
        # Only the plan (or a source outage) can refuse a manager here.
        return render(
            request, "leads/refused.html", {"what": "Bulk actions", "reason": refused}, status=403
        )
    action = request.POST.get("action")
    if action not in {"status", "add_to_group"}:
        messages.error(request, "Choose an action: change status or add to a custom group.")
        return back
    try:
        if request.POST.get("select_across") == "1":
            ids = _matching_ids(source, table_request.query, SELECT_ACROSS_MAX + 1)
            if len(ids) > SELECT_ACROSS_MAX:
                messages.error(
                    request,
                    f"More than {SELECT_ACROSS_MAX:,} leads match; narrow the filter first.",
                )
                return back
        else:
            ids = _ticked_ids(request.POST.getlist("lead"))
        if not ids:
            messages.warning(request, "No leads selected: tick some rows first.")
            return back
        if len(ids) > CONFIRM_OVER and request.POST.get("confirmed") != "1":
            return _confirm(request, len(ids))
        if action == "status":
            target = request.POST.get("status", "")
            if not is_status(target):
                messages.error(request, "Choose a status to move the leads to.")
                return back
            outcome = source.bulk_change_status(ids, Status(target), actor=user_actor(request.user))
            _report_status_change(
                request, outcome, Status(target), table_request.capabilities.max_ids
            )
        else:
            _add_to_group(request, source, ids)
    except NotFound as missing:
        messages.error(request, missing.detail)
    except SourceError as error:
        messages.error(request, f"Nothing was changed: {error.detail}")
    return back


def _add_to_group(request: HttpRequest, source: LeadSource, ids: list[uuid.UUID]) -> None:
    group_id = request.POST.get("custom_group", "")
    new_name = clean_text(request.POST.get("new_group_name", "")).strip()  # NUL: see clean_text
    if group_id:
        try:
            group_uuid = uuid.UUID(group_id)
        except ValueError:
            messages.error(request, "That custom group does not exist.")
            return
        names = {group.id: group.name for group in source.list_custom_groups()}
        group_name = names.get(group_uuid, "the group")
    elif new_name:
        created = source.create_custom_group(new_name)
        group_uuid, group_name = created.id, created.name
    else:
        messages.error(request, "Pick a custom group, or type a name for a new one.")
        return
    outcome = source.add_to_custom_group(ids, group_uuid)
    messages.success(
        request,
        f"{outcome.added} added to {group_name}; {outcome.skipped} skipped "
        "(no phone number, or already in the group).",
    )
