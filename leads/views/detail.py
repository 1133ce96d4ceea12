"""`/leads/<uuid>/`: one lead — its message, group, history, moves and reciprocity.

A page of its own, and the `lead-panel` region the table opens beside itself.
"""

import uuid
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from leads.assignments import assignable_users, owner_of
from leads.detection import clean_text
from leads.follow_ups import due_field_value, follow_up_of
from leads.pipeline import Status, is_status, refusal_reason
from leads.roles import REP, VIEWER, can, role_required
from leads.sources import get_source, user_actor
from leads.sources.base import LeadSource
from leads.sources.errors import (
    InvalidTransition,
    NotFound,
    NotMoved,
    SourceError,
    StaleStatus,
)
from leads.sources.records import LeadDetail, Reciprocity
from leads.timeline import lead_timeline
from leads.views import board
from leads.views.rendering import HtmxHttpRequest, render_region
from leads.waiting import short_age

REGIONS = ("lead-panel", "reciprocity")


def load_lead(source: LeadSource, lead_id: uuid.UUID) -> LeadDetail:
    try:
        return source.get_lead(lead_id)
    except NotFound:
        raise Http404("No such lead.") from None


def _sessions(source: LeadSource) -> list[dict[str, Any]]:
    """Our WhatsApp numbers, labelled by name and number, for the reciprocity question."""
    return [
        {"id": s.id, "label": f"{s.name} ({s.phone_number})" if s.phone_number else s.name}
        for s in source.list_sessions()
    ]


def safe_next(request: HttpRequest, candidate: str | None) -> str | None:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return None


def render_lead(
    request: HttpRequest,
    source: LeadSource,
    lead: LeadDetail,
    reciprocity: Reciprocity | None = None,
) -> HttpResponse:
    follow_up = follow_up_of(lead.id)
    context = {
        "lead": lead,
        "sessions": _sessions(source),
        "reciprocity": reciprocity,
        "capabilities": source.capabilities(),
        "next": safe_next(request, request.GET.get("next")),
        # Sales work (issue 16): owner, timeline, who a manager may assign it to.
        "owner": owner_of(lead.id),
        "follow_up": follow_up,
        # What the date-and-time field shows: the current due time, in local time.
        "follow_up_value": due_field_value(follow_up),
        "timeline": lead_timeline(lead),
        "assignable": assignable_users() if can(request.user, "assign") else (),
    }
    return render_region(request, "leads/detail.html", context, regions=REGIONS)


@role_required(VIEWER)
@require_GET
def lead_detail(request: HttpRequest, lead_id: uuid.UUID) -> HttpResponse:
    """The lead page, or its `lead-panel` region for the table's side panel."""
    source = get_source()
    return render_lead(request, source, load_lead(source, lead_id))


@role_required(VIEWER)
@require_GET
def lead_reciprocity(request: HttpRequest, lead_id: uuid.UUID) -> HttpResponse:
    """Has this contact written to us directly? (A cold first message risks a spam flag.)"""
    source = get_source()
    lead = load_lead(source, lead_id)
    try:
        session_id = uuid.UUID(request.GET["session"]) if request.GET.get("session") else None
    except ValueError:
        return HttpResponseBadRequest("That is not a session id.")
    try:
        answer = source.reciprocity(lead_id, session_id)
    except NotFound as missing:
        raise Http404(missing.detail) from None
    except SourceError as error:
        messages.error(request, f"Could not check: {error.detail}")
        answer = None
    return render_lead(request, source, lead, answer)


def _refusal_text(refused: InvalidTransition) -> str:
    if isinstance(refused, StaleStatus):
        # "moved to qualified 30 s ago by Dana": what happened, how recently, and who to ask.
        when = f" {short_age(refused.changed_at)} ago" if refused.changed_at else ""
        who = f" by {refused.changed_by}" if refused.changed_by else ""
        return (
            f"Not moved: it was moved to {refused.current}{when}{who} "
            f"(your screen showed {refused.expected})."
        )
    return f"Not moved: {refusal_reason(refused.current, refused.target)}."


def _moved_text(moved: LeadDetail, target: str) -> str:
    if moved.confirmed_after:
        # The answer was lost, so say how we know: the lead was read back.
        return (
            f"Moved to {target} — confirmed by reading the lead back after "
            f"MoltFlow's answer was lost ({moved.confirmed_after.rstrip('.')})."
        )
    return f"Moved to {target}."


@role_required(REP)
@require_POST
def lead_change_status(request: HtmxHttpRequest, lead_id: uuid.UUID) -> HttpResponse:
    """Move one lead; stale or invalid moves are refused, naming the status it really has.

    The panel, the board's card buttons and the board's drag-and-drop all post here. An
    optional `reason` (the board asks for one on `lost`) is kept in the status history.
    """
    target = request.POST.get("status", "")
    expected = request.POST.get("expected_status", "")
    if not is_status(target) or (expected and not is_status(expected)):
        return HttpResponseBadRequest("Unknown status.")
    # clean_text drops NUL, which PostgreSQL cannot store (a 500 otherwise).
    reason = " ".join(clean_text(request.POST.get("reason", "")).split())[: board.REASON_MAX_LENGTH]
    source = get_source()
    outcome: dict[str, str] = {"id": str(lead_id), "status": target}
    try:
        moved = source.change_status(
            lead_id,
            Status(target),
            actor=user_actor(request.user),
            expected_status=Status(expected) if expected else None,
            reason=reason,
        )
        messages.success(request, _moved_text(moved, target))
    except NotFound:
        raise Http404("No such lead.") from None
    except InvalidTransition as refused:
        outcome = {"id": str(lead_id), "status": refused.current, "reason": _refusal_text(refused)}
        messages.error(request, outcome["reason"])
    except NotMoved as not_moved:
        outcome = {"id": str(lead_id), "reason": not_moved.detail}
        if not_moved.current:
            outcome["status"] = not_moved.current
        messages.error(request, outcome["reason"])
    except SourceError as error:
        # Unconfirmed, or a failure no source should let through: never shown as done.
        outcome = {
            "id": str(lead_id),
            "reason": f"Not confirmed: {error.detail} Reload to see whether it moved.",
        }
        messages.error(request, outcome["reason"])
    if request.htmx and request.htmx.target == board.MOVE_TARGET:
        # A move from the board: answer with the columns as a fresh GET of the board would
        # draw them (same filters, same cards loaded), so the card lands where the lead
        # really is whether the move went through or not.
        response = board.columns_after_move(request, request.POST.get("board_query", ""))
        event = "lead-move-refused" if "reason" in outcome else "lead-moved"
        return trigger_client_event(response, event, outcome)
    if request.htmx:
        # View restart: the panel re-reads the lead as a fresh GET would, so it shows the
        # truth either way, and the table refreshes its rows on the event.
        response = render_lead(request, source, load_lead(source, lead_id))
        return trigger_client_event(response, "lead-status-changed", {"id": str(lead_id)})
    next_url = safe_next(request, request.POST.get("next"))
    return redirect(next_url) if next_url else redirect("leads:detail", lead_id)
