"""`POST /leads/bulk/`: one form, several actions over the ticked leads or all matching ones."""

import uuid
from collections import Counter
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from leads.assignments import assignable_users, lead_bulk_assign, user_label
from leads.detection import clean_text
from leads.filters import MAX_IDS_IN_URL
from leads.pipeline import Status, can_transition, is_status, refusal_reason
from leads.roles import MANAGER, role_required
from leads.sources import get_source, user_actor
from leads.sources.base import LeadSource
from leads.sources.errors import NotFound, SourceError
from leads.sources.records import BulkFailure, BulkOutcome
from leads.views.shared import bulk_refusal, read_table_request

# Over this many leads, the action is confirmed on its own page first.
CONFIRM_OVER = 500
# "All matching" stops here: past it, narrow the filter (the API's exports stop there too).
SELECT_ACROSS_MAX = 10_000


def ticked_ids(post: QueryDict) -> list[uuid.UUID]:
    """The ticked leads, in the order ticked, each once.

    The page's script sends them in one field, `ids` (comma-separated), and so does the
    confirm page: a thousand checkboxes would be a thousand form fields, past what Django
    accepts (`DATA_UPLOAD_MAX_NUMBER_FIELDS`). Without JavaScript each ticked box arrives as
    its own `lead` field, which works for any page the table shows (at most 100 rows).
    """
    ids: list[uuid.UUID] = []
    for value in [*post.get("ids", "").replace(",", " ").split(), *post.getlist("lead")]:
        try:
            ids.append(uuid.UUID(value))
        except ValueError:
            continue  # a tampered value is ignored, not an error page
    return list(dict.fromkeys(ids))


def _table_url(filter_query: str, **extra: str) -> str:
    query = QueryDict(filter_query, mutable=True)
    for key, value in extra.items():
        query[key] = value
    encoded = query.urlencode()
    return reverse("leads:table") + (f"?{encoded}" if encoded else "")


def status_outcome_message(outcome: BulkOutcome, target: Status) -> str:
    """Say what happened, e.g. "18 moved to contacted; 2 not moved: converted is final"."""
    if outcome.confirmed_after:
        # The answer was lost: every number here comes from reading the leads back, which
        # shows where they are, not whether this change or an earlier one put them there.
        text = (
            f"{len(outcome.updated)} are {target} now, confirmed by reading them back after "
            f"MoltFlow's answer was lost ({outcome.confirmed_after.rstrip('.')})"
        )
    else:
        text = f"{len(outcome.updated)} moved to {target}"
    if outcome.failed:
        reasons = Counter(_failure_reason(failure, target) for failure in outcome.failed)
        parts = [
            reason if len(reasons) == 1 else f"{reason} ({count})"
            for reason, count in reasons.most_common()
        ]
        text += f"; {len(outcome.failed)} not moved: {', '.join(parts)}"
    if outcome.unconfirmed:
        text += (
            f"; {len(outcome.unconfirmed)} not confirmed: MoltFlow's answer was lost and they "
            "could not be read back, reload to see where they are"
        )
    return text


def _failure_reason(failure: BulkFailure, target: Status) -> str:
    current = failure.current_status
    if current is None:
        # Our own sentences (not sent, never reached MoltFlow) say why; anything else is an
        # id the source does not know.
        return failure.detail.rstrip(".") if failure.detail.startswith("Not ") else "not found"
    if can_transition(current, target):
        return f"still {current}"  # allowed, yet it did not happen (its answer was lost)
    return refusal_reason(current, target)


def _report_status_change(
    request: HttpRequest, outcome: BulkOutcome, target: Status, max_ids: int | None
) -> None:
    text = status_outcome_message(outcome, target)
    if not outcome.failed and not outcome.unconfirmed:
        messages.success(request, text + ".")
        return
    # The link filters by `ids`: no more than a URL carries, nor than the source looks up.
    cap = min(MAX_IDS_IN_URL, max_ids or MAX_IDS_IN_URL)
    not_moved = [str(failure.lead_id) for failure in outcome.failed]
    not_moved = [*not_moved, *map(str, outcome.unconfirmed)][:cap]
    link = reverse("leads:table") + "?" + urlencode({"ids": ",".join(not_moved)})
    unsettled = len(outcome.failed) + len(outcome.unconfirmed)
    shown = "" if unsettled <= cap else f" (the first {cap})"
    messages.warning(
        request,
        format_html('{}. <a href="{}">Show the leads not moved{}</a>', text, link, shown),
    )


# What the confirm page carries over besides the leads (which go as one `ids` field).
CONFIRMED_FIELDS = ("action", "status", "custom_group", "new_group_name", "query", "select_across")


def _confirm(request: HttpRequest, ids: list[uuid.UUID], across: bool) -> HttpResponse:
    """Ask first, on a page that posts the same request back: the filter when the action is
    over all matching leads (they are found again on confirmation), else the ids, in one
    field however many there are."""
    fields = [(name, request.POST[name]) for name in CONFIRMED_FIELDS if name in request.POST]
    if not across:
        fields.append(("ids", ",".join(str(lead_id) for lead_id in ids)))
    context: dict[str, Any] = {
        "count": len(ids),
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
    table_request = read_table_request(QueryDict(filter_query), source, request.user)
    refused = bulk_refusal(request, table_request.capabilities)
    if refused:
        # Only the plan (or a source outage) can refuse a manager here.
        return render(
            request, "leads/refused.html", {"what": "Bulk actions", "reason": refused}, status=403
        )
    action = request.POST.get("action")
    if action not in {"status", "add_to_group", "assign"}:
        messages.error(request, "Choose an action: change status, add to a custom group or assign.")
        return back
    across = request.POST.get("select_across") == "1"
    try:
        if across:
            ids = source.matching_ids(table_request.query, SELECT_ACROSS_MAX + 1)
        else:
            ids = ticked_ids(request.POST)
        if len(ids) > SELECT_ACROSS_MAX:
            what = "leads match" if across else "leads are selected"
            messages.error(
                request, f"More than {SELECT_ACROSS_MAX:,} {what}; narrow the filter first."
            )
            return back
        if not ids:
            messages.warning(request, "No leads selected: tick some rows first.")
            return back
        if len(ids) > CONFIRM_OVER and request.POST.get("confirmed") != "1":
            return _confirm(request, ids, across)
        if action == "status":
            target = request.POST.get("status", "")
            if not is_status(target):
                messages.error(request, "Choose a status to move the leads to.")
                return back
            outcome = source.bulk_change_status(ids, Status(target), actor=user_actor(request.user))
            _report_status_change(
                request, outcome, Status(target), table_request.capabilities.max_ids
            )
        elif action == "assign":
            _assign(request, ids)
        else:
            _add_to_group(request, source, ids)
    except NotFound as missing:
        messages.error(request, missing.detail)
    except SourceError as error:
        # Raised only before anything reached the source (a lost answer is read back).
        messages.error(request, f"Nothing was changed: {error.detail}")
    return back


def _assign(request: HttpRequest, ids: list[uuid.UUID]) -> None:
    """Give the leads to one person (or to nobody), whoever had them: a manager's call."""
    raw = request.POST.get("owner", "")
    owner = assignable_users().filter(pk=int(raw)).first() if raw.isdigit() else None
    if raw and owner is None:
        messages.error(request, "Leads can be assigned to active reps and managers only.")
        return
    changed = lead_bulk_assign(ids, owner, request.user)
    who = user_label(owner) if owner is not None else "nobody"
    kept = len(ids) - changed
    already = f" ({kept} already were)" if kept else ""
    messages.success(request, f"{changed} assigned to {who}{already}.")


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
        format_html(
            '{} added to <a href="{}">{}</a>; {} skipped (no phone number, or already in the '
            "group).",
            outcome.added,
            reverse("leads:custom-group", kwargs={"custom_group_id": group_uuid}),
            group_name,
            outcome.skipped,
        ),
    )
